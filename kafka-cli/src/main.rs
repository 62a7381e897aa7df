//! `kprod`: command-line tools for Kafka producers.
//!
//! - `kprod dump FILE`: decodes a file of record batches (any magic, any
//!   codec; a log segment or a saved Fetch/Produce payload) and prints one
//!   JSON object per record, with its batch's attributes.
//!
//! The console producer (`kprod produce`), the perf tool (`kprod perf`) and
//! `kprod topic create` arrive with the Tokio runtime.

mod dump;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line tools for Kafka producers.
#[derive(Parser)]
#[command(name = "kprod", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a file of record batches (magic 0, 1 or 2, any codec) and print
    /// one JSON object per record.
    Dump(dump::DumpArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Dump(args) => dump::run(&args),
    }
}
