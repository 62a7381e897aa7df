//! `kprod produce`: the console producer. Each line of stdin (or FILE)
//! becomes one record whose value is the line (without its line ending);
//! with `--key-separator`, the text before the first separator is the key
//! and the rest the value. `--property` (or `--reader-property`) takes the
//! console producer's reader properties (`parse.key`, `key.separator`,
//! `parse.headers`, `headers.delimiter`, `headers.separator`,
//! `headers.key.separator`, `null.marker`, `ignore.error`) for headers per
//! line and null keys and values; see `line_format`. A line that breaks the
//! format is one failed record, named in the error.
//!
//! At the end a summary goes to stderr:
//!
//! ```text
//! produced N records to T (M failed); of the failed, P possibly written
//! ```
//!
//! N counts acknowledged records, M the records that failed or were refused,
//! P those of the M that may be in the log anyway (a request carrying them
//! got no definite answer). Exit status 0, or 1 if any record failed.
//!
//! With `--transactional-id ID --transaction-size N [--abort-every K]` the
//! records go in transactions: transactions are initialized (fencing an
//! older producer with the same id), every N lines form one transaction,
//! committed when complete (the last one at the end of the input), and every
//! K-th transaction is aborted instead (after its records were written).
//! The summary then has a second line:
//!
//! ```text
//! transactions: C committed, A aborted
//! ```
//!
//! and the exit status is 1 if a transaction failed (a commit refused, a
//! fenced producer), as for any failed record.
//!
//! Ctrl-C (SIGINT) or SIGTERM stops the input: nothing more is read, every
//! complete line already read is still sent, the producer is closed with
//! `delivery.timeout.ms` as its timeout (what is buffered is delivered, as
//! Java's console producer does in its shutdown hook), the summary is
//! printed with `; stopped by SIGINT` (or SIGTERM) at its end, and the exit
//! status is 130 (SIGINT) or 143 (SIGTERM), whatever the outcomes. A second
//! signal exits at once with that status, without waiting. A send that
//! waits for metadata or buffer space is not cut short by the first signal
//! (it waits at most `max.block.ms`); after such a wait fails, the lines
//! left are counted as failed without being sent.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_lite::future;

use kafka_runtime_common::{ProducerRecord, SendError};

use crate::client::{Connect, Job, RuntimeChoice, Sink, parse_property, run_on};
use crate::input::{Input, Lines};
use crate::interrupt::{Interrupt, Signal};
use crate::line_format::{LineFormat, Parts, parse_header};

/// Failures printed one by one before the summary; beyond that only counted,
/// so a dead broker does not flood the terminal with one line per record.
const MAX_REPORTED_ERRORS: u64 = 10;

/// How long `close` may keep delivering after the input ends.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long initializing, committing or aborting a transaction may take.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Arguments of `kprod produce`.
#[derive(clap::Args)]
pub(crate) struct ProduceArgs {
    #[command(flatten)]
    connect: Connect,
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
    /// A reader property of Kafka's console producer (parse.key,
    /// key.separator, parse.headers, headers.delimiter, headers.separator,
    /// headers.key.separator, null.marker, ignore.error). Repeatable.
    #[arg(long = "property", visible_alias = "reader-property", value_name = "KEY=VALUE",
          value_parser = parse_property)]
    reader_properties: Vec<(String, String)>,
    /// Write every record to this partition instead of letting the
    /// partitioner choose.
    #[arg(long)]
    partition: Option<i32>,
    /// Produce in transactions with this `transactional.id` (needs
    /// `--transaction-size`).
    #[arg(long, value_name = "ID", requires = "transaction_size")]
    transactional_id: Option<String>,
    /// Lines per transaction; the last transaction takes what is left.
    #[arg(long, value_name = "N", requires = "transactional_id",
          value_parser = clap::value_parser!(u64).range(1..))]
    transaction_size: Option<u64>,
    /// Abort every K-th transaction instead of committing it.
    #[arg(long, value_name = "K", requires = "transactional_id",
          value_parser = clap::value_parser!(u64).range(1..))]
    abort_every: Option<u64>,
    /// Read lines from FILE instead of stdin.
    file: Option<PathBuf>,
}

/// Outcome counts shared with the delivery callbacks.
#[derive(Default)]
struct Tally {
    delivered: u64,
    failed: u64,
    /// Of `failed`: those that may have been written anyway.
    possibly_written: u64,
}

impl Tally {
    fn fail(&mut self, what: &dyn std::fmt::Display, possibly_written: bool) {
        self.failed += 1;
        if possibly_written {
            self.possibly_written += 1;
        }
        if self.failed <= MAX_REPORTED_ERRORS {
            eprintln!("kprod produce: record not delivered: {what}");
        }
    }
}

/// Transactions done (with `--transactional-id`).
#[derive(Default)]
struct Transactions {
    committed: u64,
    aborted: u64,
    /// A transaction failed (its records may be lost or left aborted).
    failed: bool,
}

/// How the run ended.
struct Outcome {
    tally: Tally,
    transactions: Option<Transactions>,
    /// The signal that stopped the input, if one did.
    stopped_by: Option<Signal>,
}

/// Runs the console producer on the chosen runtime.
pub(crate) fn run(args: ProduceArgs, runtime: RuntimeChoice) -> ExitCode {
    match produce(&args, runtime) {
        Ok(Outcome {
            tally,
            transactions,
            stopped_by,
        }) => {
            let stopped = stopped_by
                .map(|s| format!("; stopped by {}", s.name()))
                .unwrap_or_default();
            eprintln!(
                "produced {} records to {} ({} failed); of the failed, {} possibly written{stopped}",
                tally.delivered, args.topic, tally.failed, tally.possibly_written
            );
            let txn_failed = transactions.as_ref().is_some_and(|t| t.failed);
            if let Some(t) = &transactions {
                eprintln!(
                    "transactions: {} committed, {} aborted",
                    t.committed, t.aborted
                );
            }
            match stopped_by {
                Some(signal) => ExitCode::from(signal.exit_code()),
                None if tally.failed == 0 && !txn_failed => ExitCode::SUCCESS,
                None => ExitCode::FAILURE,
            }
        }
        Err(msg) => {
            eprintln!("kprod produce: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn produce(args: &ProduceArgs, runtime: RuntimeChoice) -> Result<Outcome, String> {
    let format = LineFormat::new(args.key_separator.as_deref(), &args.reader_properties)?;
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, String>>()?;
    // The handler first: input starts being read at once, and a signal
    // that comes once it is read must find the handler in place (under load
    // the reader drained the pipe before it was, and SIGINT killed kprod).
    let interrupt = Interrupt::install("produce")?;
    let input = match &args.file {
        Some(path) => Input::start(
            std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )?,
        None => Input::start(std::io::stdin())?,
    };
    let mut connect = args.connect.clone();
    if let Some(id) = &args.transactional_id {
        connect.push("transactional.id", id);
    }
    let job = Console {
        args,
        format,
        headers,
        input,
        interrupt,
        close_timeout: connect.delivery_timeout(),
    };
    run_on(runtime, &connect, job)?
}

/// The input's lines as records, on any runtime.
struct Console<'a> {
    args: &'a ProduceArgs,
    format: LineFormat,
    headers: Vec<(String, Option<Bytes>)>,
    input: Input,
    interrupt: Interrupt,
    /// How long `close` may deliver after a signal.
    close_timeout: Duration,
}

/// What the input loop saw last.
enum Next {
    Read(Option<Result<Vec<u8>, String>>),
    Stop(Signal),
}

impl Job for Console<'_> {
    type Output = Result<Outcome, String>;

    async fn run<P: Sink>(self, producer: P) -> Result<Outcome, String> {
        let Console {
            args,
            format,
            headers,
            input,
            interrupt,
            close_timeout,
        } = self;
        let mut sender = LineSender {
            producer,
            format,
            line_number: 0,
            headers,
            topic: Arc::from(args.topic.as_str()),
            args,
            tally: Arc::new(Mutex::new(Tally::default())),
            gave_up: false,
            txn: args.transaction_size.map(|size| TxnPlan {
                size,
                abort_every: args.abort_every,
                open: 0,
                done: Transactions::default(),
            }),
        };
        if sender.txn.is_some() {
            if let Err(e) = sender.producer.init_transactions(TRANSACTION_TIMEOUT).await {
                return Err(format!("cannot initialize transactions: {e}"));
            }
        }
        let mut lines = Lines::default();
        let mut result = Ok(());
        let mut stopped_by = None;
        loop {
            let next = match interrupt.signal() {
                // Checked first too, or a fast input would never let the
                // stop be seen.
                Some(signal) => Next::Stop(signal),
                None => {
                    future::or(async { Next::Read(input.next().await) }, async {
                        Next::Stop(interrupt.wait().await)
                    })
                    .await
                }
            };
            match next {
                Next::Read(Some(Ok(chunk))) => {
                    lines.push(&chunk);
                    while let Some(line) = lines.next_line() {
                        sender.send(line).await;
                    }
                }
                Next::Read(None) => {
                    // As at the end of a file: the last line needs no `\n`.
                    if let Some(line) = lines.take_partial() {
                        sender.send(&line).await;
                    }
                    break;
                }
                Next::Read(Some(Err(e))) => {
                    result = Err(e);
                    break;
                }
                Next::Stop(signal) => {
                    stopped_by = Some(signal);
                    eprintln!(
                        "kprod produce: {}: stopped reading input; delivering what was read \
                         (waiting at most {} s; {} again exits at once)",
                        signal.name(),
                        close_timeout.as_secs(),
                        signal.name()
                    );
                    let (rest, _) = input.stop();
                    lines.push(&rest);
                    while let Some(line) = lines.next_line() {
                        sender.send(line).await;
                    }
                    if let Some(partial) = lines.take_partial() {
                        eprintln!(
                            "kprod produce: the last line read was incomplete ({} bytes without \
                             a line ending): not sent",
                            partial.len()
                        );
                    }
                    break;
                }
            }
        }
        // The last transaction takes what is left of the input.
        sender.end_transaction().await;
        let LineSender {
            producer,
            tally,
            txn,
            ..
        } = sender;
        if stopped_by.is_some() {
            // close delivers what is buffered without waiting for linger.ms.
            producer.close(close_timeout).await;
        } else {
            // What was read before an input error is still delivered.
            producer.flush().await;
            producer.close(CLOSE_TIMEOUT).await;
        }
        result?;
        let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(PoisonError::into_inner));
        Ok(Outcome {
            tally,
            transactions: txn.map(|t| t.done),
            // A signal during the final flush changed nothing but is still
            // reported (and sets the exit status).
            stopped_by: stopped_by.or_else(|| interrupt.signal()),
        })
    }
}

/// Turns lines into records and sends them, counting the outcomes.
struct LineSender<'a, P> {
    producer: P,
    args: &'a ProduceArgs,
    format: LineFormat,
    /// Lines read so far.
    line_number: u64,
    headers: Vec<(String, Option<Bytes>)>,
    topic: Arc<str>,
    tally: Arc<Mutex<Tally>>,
    /// A send waited for `max.block.ms` in vain (or the producer failed):
    /// the lines left are counted as failed without trying them, so that a
    /// dead cluster does not cost `max.block.ms` per line.
    gave_up: bool,
    /// Transactions, with `--transactional-id`.
    txn: Option<TxnPlan>,
}

/// How lines are grouped in transactions.
struct TxnPlan {
    /// Lines per transaction.
    size: u64,
    abort_every: Option<u64>,
    /// Lines sent in the open transaction (0: none is open).
    open: u64,
    done: Transactions,
}

impl<P: Sink> LineSender<'_, P> {
    /// Ends the open transaction, if any: aborts it when it is a K-th one
    /// (after flushing, so its records were written), commits it otherwise.
    async fn end_transaction(&mut self) {
        let Some(plan) = self.txn.as_mut() else {
            return;
        };
        if plan.open == 0 {
            return;
        }
        plan.open = 0;
        if self.gave_up {
            // The producer failed: the failure is reported already.
            return;
        }
        let number = plan.done.committed + plan.done.aborted + 1;
        let abort = plan.abort_every.is_some_and(|k| number % k == 0);
        let result = if abort {
            self.producer.flush().await;
            self.producer.abort_transaction(TRANSACTION_TIMEOUT).await
        } else {
            self.producer.commit_transaction(TRANSACTION_TIMEOUT).await
        };
        let Some(plan) = self.txn.as_mut() else {
            return;
        };
        match result {
            Ok(()) if abort => plan.done.aborted += 1,
            Ok(()) => plan.done.committed += 1,
            Err(e) if e.is_abortable() => {
                eprintln!("kprod produce: transaction {number} failed, aborting it: {e}");
                plan.done.failed = true;
                match self.producer.abort_transaction(TRANSACTION_TIMEOUT).await {
                    Ok(()) => plan.done.aborted += 1,
                    Err(e) => {
                        eprintln!("kprod produce: abort of transaction {number} failed: {e}");
                        self.gave_up = true;
                    }
                }
            }
            Err(e) => {
                eprintln!("kprod produce: transaction {number} failed: {e}");
                plan.done.failed = true;
                self.gave_up = true;
            }
        }
    }

    async fn send(&mut self, line: &[u8]) {
        if let Some(plan) = self.txn.as_mut() {
            if !self.gave_up && plan.open == 0 {
                if let Err(e) = self.producer.begin_transaction() {
                    eprintln!("kprod produce: cannot begin a transaction: {e}");
                    plan.done.failed = true;
                    self.gave_up = true;
                }
            }
        }
        self.send_line(line).await;
        if let Some(plan) = self.txn.as_mut() {
            plan.open += 1;
            if plan.open >= plan.size {
                self.end_transaction().await;
            }
        }
    }

    async fn send_line(&mut self, line: &[u8]) {
        self.line_number += 1;
        if self.gave_up {
            self.tally
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .failed += 1;
            return;
        }
        let parts = match self.format.parse(strip_line_ending(line), self.line_number) {
            Ok(parts) => parts,
            Err(e) => {
                // Never sent: certainly not written.
                self.tally
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .fail(&e, false);
                return;
            }
        };
        let record = make_record(&self.topic, parts, &self.headers);
        let record = match self.args.partition {
            Some(p) => record.partition(p),
            None => record,
        };
        let outcome = Arc::clone(&self.tally);
        let sent = self
            .producer
            .send_with_callback(record, move |result| {
                let mut t = outcome.lock().unwrap_or_else(PoisonError::into_inner);
                match result {
                    Ok(_) => t.delivered += 1,
                    Err(e) => t.fail(&e, e.possibly_written),
                }
            })
            .await;
        if let Err(e) = sent {
            // A refused record was never queued: certainly not written.
            self.tally
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .fail(&e, false);
            self.gave_up = matches!(
                e,
                SendError::TopicUnavailable { .. }
                    | SendError::BufferTimeout { .. }
                    | SendError::Closed
                    | SendError::Fatal(_)
                    | SendError::Transaction(_)
            );
        }
    }
}

/// The line (already without its `\n`) without the `\r` of a `\r\n`, as
/// Kafka's console producer strips it.
fn strip_line_ending(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The record of a line's parts, with the `--header` headers after the
/// line's own.
fn make_record(
    topic: &Arc<str>,
    parts: Parts,
    headers: &[(String, Option<Bytes>)],
) -> ProducerRecord {
    let mut record = ProducerRecord::new(Arc::clone(topic));
    if let Some(key) = parts.key {
        record = record.key(key);
    }
    if let Some(value) = parts.value {
        record = record.value(value);
    }
    parts
        .headers
        .into_iter()
        .chain(headers.iter().cloned())
        .fold(record, |r, (k, v)| r.header(k, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cr_of_a_crlf_is_stripped_once() {
        assert_eq!(strip_line_ending(b"a\r"), b"a");
        assert_eq!(strip_line_ending(b"a"), b"a");
        assert_eq!(strip_line_ending(b"a\r\r"), b"a\r");
    }

    #[test]
    fn key_is_the_text_before_the_first_separator() {
        let topic: Arc<str> = Arc::from("t");
        let format = LineFormat::new(Some("::"), &[]).unwrap();
        let r = make_record(&topic, format.parse(b"k::v::w", 1).unwrap(), &[]);
        assert_eq!(r, ProducerRecord::new("t").key("k").value("v::w"));
        let r = make_record(&topic, format.parse(b"no separator", 2).unwrap(), &[]);
        assert_eq!(r, ProducerRecord::new("t").value("no separator"));
    }
}
