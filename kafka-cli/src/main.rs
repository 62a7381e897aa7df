//! `kprod`: command-line tools for Kafka producers.
//!
//! - `kprod dump FILE`: decodes a file of record batches (any magic, any
//!   codec; a log segment or a saved Fetch/Produce payload) and prints one
//!   JSON object per record, with its batch's attributes.
//!
//! - `kprod produce`: the console producer, one record per input line.
//! - `kprod perf`: a load generator like Kafka's producer perf test.
//! - `kprod topic create NAME`: creates a topic.
//!
//! The last three run the producer on the runtime `--runtime` names:
//! `tokio` (the default), `async-std` or `mio`. `produce` and `perf` stop
//! cleanly on Ctrl-C or SIGTERM: they deliver what they have buffered,
//! print their summary and exit with 130 or 143 (see [`interrupt`]).
//!
//! Logs (the producer's `tracing` events) go to stderr: warnings and errors
//! by default, more with `-v` (info), `-vv` (debug), `-vvv` (trace), or any
//! filter in `RUST_LOG` (which wins over `-v`), e.g.
//! `RUST_LOG=kafka_producer_core=debug`.

mod client;
mod dump;
mod input;
mod interrupt;
mod line_format;
mod perf;
mod produce;
mod topic;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line tools for Kafka producers.
#[derive(Parser)]
#[command(name = "kprod", version, about)]
struct Cli {
    /// The runtime that drives the producer: tokio (the default), async-std
    /// or mio. For produce and perf only.
    #[arg(long, global = true, value_enum)]
    runtime: Option<client::RuntimeChoice>,
    /// Log more to stderr: -v info, -vv debug, -vvv trace (RUST_LOG wins).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a file of record batches (magic 0, 1 or 2, any codec) and print
    /// one JSON object per record.
    Dump(dump::DumpArgs),
    /// Produce each line of stdin (or FILE) as one record.
    Produce(produce::ProduceArgs),
    /// Measure producer throughput and latency.
    Perf(perf::PerfArgs),
    /// Manage topics.
    Topic {
        #[command(subcommand)]
        command: topic::TopicCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = cli.runtime.unwrap_or_default();
    match cli.command {
        Command::Produce(args) => produce::run(args, runtime),
        Command::Perf(args) => perf::run(args, runtime),
        _ if cli.runtime.is_some() => {
            eprintln!("kprod: --runtime applies to produce and perf only");
            ExitCode::from(2)
        }
        Command::Dump(args) => dump::run(&args),
        Command::Topic { command } => topic::run(command),
    }
}

/// Sends the libraries' `tracing` events to stderr: `RUST_LOG` if set (an
/// `EnvFilter` directive list), else a level from the `-v` count (warn by
/// default). Colours only when stderr is a terminal.
fn init_logging(verbose: u8) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;

    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::new(directives),
        _ => EnvFilter::new(match verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .init();
}
