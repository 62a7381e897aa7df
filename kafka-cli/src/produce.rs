//! `kprod produce`: the console producer. Each line of stdin (or FILE)
//! becomes one record whose value is the line (without its line ending);
//! with `--key-separator`, the text before the first separator is the key
//! and the rest the value.
//!
//! At the end a summary goes to stderr: `produced N records to T (M
//! failed)`, N counting acknowledged records; exit status 1 if any record
//! failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use std::io::{BufRead, BufReader, Read};

use kafka_runtime_common::ProducerRecord;

use crate::client::{Job, RuntimeChoice, Sink, parse_property, run_on};

/// Failures printed one by one before the summary; beyond that only counted,
/// so a dead broker does not flood the terminal with one line per record.
const MAX_REPORTED_ERRORS: u64 = 10;

/// How long `close` may keep delivering after the input ends.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(60);

/// Arguments of `kprod produce`.
#[derive(clap::Args)]
pub(crate) struct ProduceArgs {
    /// The broker(s) to bootstrap from: `host:port[,host:port...]`.
    #[arg(short = 'b', long = "bootstrap-servers", value_name = "HOST:PORT")]
    bootstrap_servers: String,
    /// The topic to produce to.
    #[arg(short = 't', long)]
    topic: String,
    /// Split each line at the first occurrence of SEP into key and value;
    /// a line without SEP becomes a record with a null key.
    #[arg(long, value_name = "SEP")]
    key_separator: Option<String>,
    /// A header added to every record: `key=value`, or `key` for a null
    /// value. Repeatable.
    #[arg(long = "header", value_name = "K=V")]
    headers: Vec<String>,
    /// Write every record to this partition instead of letting the
    /// partitioner choose.
    #[arg(long)]
    partition: Option<i32>,
    /// A producer property (`linger.ms=5`, `compression.type=zstd`, ...).
    /// Repeatable.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_property)]
    properties: Vec<(String, String)>,
    /// Read lines from FILE instead of stdin.
    file: Option<PathBuf>,
}

/// Outcome counts shared with the delivery callbacks.
#[derive(Default)]
struct Tally {
    delivered: u64,
    failed: u64,
}

impl Tally {
    fn fail(&mut self, what: &dyn std::fmt::Display) {
        self.failed += 1;
        if self.failed <= MAX_REPORTED_ERRORS {
            eprintln!("kprod produce: record not delivered: {what}");
        }
    }
}

/// Runs the console producer on the chosen runtime.
pub(crate) fn run(args: ProduceArgs, runtime: RuntimeChoice) -> ExitCode {
    match produce(&args, runtime) {
        Ok(tally) => {
            eprintln!(
                "produced {} records to {} ({} failed)",
                tally.delivered, args.topic, tally.failed
            );
            if tally.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(msg) => {
            eprintln!("kprod produce: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn produce(args: &ProduceArgs, runtime: RuntimeChoice) -> Result<Tally, String> {
    let input: Box<dyn Read> = match &args.file {
        Some(path) => {
            Box::new(std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => Box::new(std::io::stdin()),
    };
    let job = Lines {
        args,
        input: BufReader::new(input),
    };
    run_on(runtime, &args.bootstrap_servers, &args.properties, job)?
}

/// The input's lines as records, on any runtime.
struct Lines<'a> {
    args: &'a ProduceArgs,
    input: BufReader<Box<dyn Read>>,
}

impl Job for Lines<'_> {
    type Output = Result<Tally, String>;

    async fn run<P: Sink>(self, producer: P) -> Result<Tally, String> {
        let Lines { args, mut input } = self;
        let headers: Vec<(String, Option<Bytes>)> = args
            .headers
            .iter()
            .map(|h| match h.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(Bytes::copy_from_slice(v.as_bytes()))),
                None => (h.clone(), None),
            })
            .collect();
        let topic: Arc<str> = Arc::from(args.topic.as_str());
        let separator = args.key_separator.as_deref().map(str::as_bytes);
        let tally = Arc::new(Mutex::new(Tally::default()));
        let mut line = Vec::new();
        let mut result = Ok(());
        loop {
            line.clear();
            // A blocking read: this future has its thread to itself (see
            // `client`), the producer's driver runs elsewhere.
            match input.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    result = Err(format!("reading input: {e}"));
                    break;
                }
            }
            let record = make_record(&topic, strip_line_ending(&line), separator, &headers);
            let record = match args.partition {
                Some(p) => record.partition(p),
                None => record,
            };
            let outcome = Arc::clone(&tally);
            let sent = producer
                .send_with_callback(record, move |result| {
                    let mut t = outcome.lock().unwrap_or_else(PoisonError::into_inner);
                    match result {
                        Ok(_) => t.delivered += 1,
                        Err(e) => t.fail(&e),
                    }
                })
                .await;
            if let Err(e) = sent {
                tally
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .fail(&e);
            }
        }
        // What was read before an input error is still delivered.
        producer.flush().await;
        producer.close(CLOSE_TIMEOUT).await;
        result?;
        let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(PoisonError::into_inner));
        Ok(tally)
    }
}

/// The line without its `\n` or `\r\n`, as Kafka's console producer strips
/// it.
fn strip_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn make_record(
    topic: &Arc<str>,
    line: &[u8],
    separator: Option<&[u8]>,
    headers: &[(String, Option<Bytes>)],
) -> ProducerRecord {
    let split = separator.filter(|s| !s.is_empty()).and_then(|sep| {
        line.windows(sep.len())
            .position(|w| w == sep)
            .map(|at| (&line[..at], &line[at + sep.len()..]))
    });
    let record = ProducerRecord::new(Arc::clone(topic));
    let record = match split {
        Some((key, value)) => record
            .key(Bytes::copy_from_slice(key))
            .value(Bytes::copy_from_slice(value)),
        None => record.value(Bytes::copy_from_slice(line)),
    };
    headers
        .iter()
        .fold(record, |r, (k, v)| r.header(k.clone(), v.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_are_stripped_once() {
        assert_eq!(strip_line_ending(b"a\r\n"), b"a");
        assert_eq!(strip_line_ending(b"a\n"), b"a");
        assert_eq!(strip_line_ending(b"a"), b"a");
        assert_eq!(strip_line_ending(b"a\n\n"), b"a\n");
    }

    #[test]
    fn key_is_the_text_before_the_first_separator() {
        let topic: Arc<str> = Arc::from("t");
        let r = make_record(&topic, b"k::v::w", Some(b"::"), &[]);
        assert_eq!(r, ProducerRecord::new("t").key("k").value("v::w"));
        let r = make_record(&topic, b"no separator", Some(b"::"), &[]);
        assert_eq!(r, ProducerRecord::new("t").value("no separator"));
    }
}
