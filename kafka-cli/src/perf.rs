//! `kprod perf`: a producer load generator in the manner of Kafka's
//! `kafka-producer-perf-test`.
//!
//! Sends `--num-records` records, at most `--throughput` records per second
//! (-1: as fast as possible), with `send_with_callback`; a record's latency
//! runs from its `send` to its callback. The values are, as with Kafka's
//! tool, exactly one of: `--record-size N` random uppercase bytes;
//! `--payload-file FILE`, whose pieces (split at `--payload-delimiter`, a
//! newline by default) are picked at random for each record; or
//! `--payload-monotonic`, the record's number in decimal. The first
//! `--warmup-records` records are sent but left out of the results (their
//! outcomes still count as failures if they fail): throughput and latency
//! are measured from the first record after them.
//!
//! Long runs print a progress line every 5 s (to stdout, or to stderr with
//! `--json` so stdout stays one JSON object). The final line has the fields
//! of Kafka's tool in its order (latencies in milliseconds with two
//! decimals), then the failures:
//!
//! ```text
//! N records sent, X records/sec (Y MB/sec), A ms avg latency, MAX ms max latency, P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th. F failed; of the failed, W possibly written.
//! ```
//!
//! N counts the records delivered (as Kafka's tool does since it stopped
//! counting failures), and the rates are of those. With `--json`: one object
//! with keys `records` (N), `records_attempted`, `records_per_sec`,
//! `mb_per_sec`, `latency_avg_ms`, `latency_p50_ms`, `latency_p95_ms`,
//! `latency_p99_ms`, `latency_p999_ms`, `latency_max_ms`, `failed`,
//! `possibly_written`, `warmup_records` and `stopped_by` (`null`,
//! `"SIGINT"` or `"SIGTERM"`). F (`failed`) counts the records that failed or
//! were refused, W (`possibly_written`) those of them that may be in the
//! log anyway (a request carrying them got no definite answer). Exit status
//! 0, or 1 if any record failed. A closed stdout (`kprod perf ... | head -1`)
//! ends the output quietly.
//!
//! Ctrl-C (SIGINT) or SIGTERM stops the load: no more records are made,
//! the producer is closed with `delivery.timeout.ms` as its timeout (what
//! is buffered is delivered), the final line counts the records sent until
//! then, and the exit status is 130 (SIGINT) or 143 (SIGTERM), whatever the
//! outcomes. A second signal exits at once with that status.
//!
//! `--print-metrics` prints the producer's metrics after the final line, as
//! Kafka's tool does (`GROUP:NAME:{client-id=ID[, topic=T | , node-id=node-N]} : VALUE`,
//! one per line, sorted, Java's groups, names and tags); with `--json` they
//! are the key `"metrics"` of the object instead: each metric of the
//! `producer-metrics` group by its Java name, mapped to its number (`null`
//! for an average or maximum of nothing, which Java shows as NaN).
//! `--prometheus FILE` writes the final metrics to FILE in the Prometheus
//! text format (see `kafka_runtime_common::prometheus`).

use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_runtime_common::{DeliveryHandler, ProducerRecord};
use serde_json::json;

use crate::client::{Connect, Job, RuntimeChoice, Sink, run_on};
use crate::interrupt::{Interrupt, Signal};

/// Kafka's perf tool keeps at most this many latency samples, taking every
/// k-th record on longer runs, so memory stays bounded.
const MAX_SAMPLES: u64 = 500_000;

/// How often a progress line is printed.
const REPORT_INTERVAL: Duration = Duration::from_secs(5);

/// MB here is MiB, as in Kafka's tool.
const MB: f64 = 1024.0 * 1024.0;

/// How far ahead of the target rate the sender may get before sleeping:
/// sleeping per record would cap the rate at the timer's resolution.
const THROTTLE_SLACK: Duration = Duration::from_millis(2);

/// Errors printed one by one; beyond that only counted.
const MAX_REPORTED_ERRORS: u64 = 10;

/// How long `close` may keep delivering after the last send.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(120);

/// Arguments of `kprod perf`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("payload").required(true).multiple(false)))]
pub(crate) struct PerfArgs {
    #[command(flatten)]
    connect: Connect,
    /// The topic to produce to.
    #[arg(short = 't', long)]
    topic: String,
    /// How many records to send.
    #[arg(long)]
    num_records: u64,
    /// The size of each record's value, in bytes (random uppercase letters).
    #[arg(long, group = "payload")]
    record_size: Option<usize>,
    /// Values picked at random from this file's pieces (UTF-8 text split at
    /// --payload-delimiter).
    #[arg(long, value_name = "FILE", group = "payload")]
    payload_file: Option<std::path::PathBuf>,
    /// What separates the pieces of --payload-file (\n by default; "\n"
    /// and "\t" may be written so).
    #[arg(long, default_value = "\\n", value_name = "DELIMITER")]
    payload_delimiter: String,
    /// Values are the record's number in decimal: 0, 1, 2, ...
    #[arg(long, group = "payload")]
    payload_monotonic: bool,
    /// Send this many records first without counting them in the results.
    #[arg(long, default_value_t = 0, value_name = "N")]
    warmup_records: u64,
    /// The most records per second to send; -1 for no limit.
    #[arg(long, allow_negative_numbers = true)]
    throughput: f64,
    /// Give records keys cycling through this many distinct values; without
    /// it, keys are null.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    key_cardinality: Option<u64>,
    /// Print the final result as one JSON object.
    #[arg(long)]
    json: bool,
    /// Print the producer's metrics at the end (Java's names).
    #[arg(long)]
    print_metrics: bool,
    /// Write the producer's final metrics to FILE in the Prometheus text
    /// format (OpenMetrics; `kafka_producer_` names).
    #[arg(long, value_name = "FILE")]
    prometheus: Option<std::path::PathBuf>,
}

/// Latencies are kept in microseconds, reported in milliseconds.
#[derive(Default)]
struct Window {
    count: u64,
    bytes: u64,
    latency_sum_us: u64,
    latency_max_us: u64,
}

impl Window {
    fn record(&mut self, latency_us: u64, bytes: usize) {
        self.count += 1;
        self.bytes += bytes as u64;
        self.latency_sum_us += latency_us;
        self.latency_max_us = self.latency_max_us.max(latency_us);
    }
}

/// Microseconds from `epoch` to `at`, in 32 bits (wrapping).
fn stamp(epoch: Instant, at: Instant) -> u32 {
    at.saturating_duration_since(epoch).as_micros() as u32
}

/// What the delivery handler needs of a record, packed into the number the
/// record is sent with (`send_with_handler`: nothing is allocated per
/// record, and the buffered records' reports take 24 bytes each): its send
/// time (a [`stamp()`]), its value's size, and whether it counts and is
/// sampled for the percentiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    at: u32,
    /// Bytes of the value, at most [`Sent::MAX_BYTES`] (far above any
    /// record a broker takes).
    bytes: u32,
    /// Past the warm-up: in the results.
    counted: bool,
    /// One of the records whose latency goes into the percentiles.
    sampled: bool,
}

impl Sent {
    const MAX_BYTES: u32 = (1 << 30) - 1;

    fn pack(self) -> u64 {
        (u64::from(self.at) << 32)
            | (u64::from(self.bytes.min(Self::MAX_BYTES)) << 2)
            | (u64::from(self.counted) << 1)
            | u64::from(self.sampled)
    }

    fn unpack(number: u64) -> Sent {
        Sent {
            at: (number >> 32) as u32,
            bytes: ((number >> 2) as u32) & Self::MAX_BYTES,
            counted: number & 2 != 0,
            sampled: number & 1 != 0,
        }
    }
}

/// Shared with the delivery handler.
struct Stats {
    total: Window,
    window: Window,
    window_start: Instant,
    failed: u64,
    /// Of `failed`: those that may have been written anyway.
    possibly_written: u64,
    /// Latencies in microseconds, as the stamps are (half the memory of
    /// u64 for Kafka's 500,000 samples).
    samples: Vec<u32>,
    sampling: u64,
    /// Send times are kept as microseconds since this instant, in 32 bits
    /// (wrapping: latencies up to 71 minutes are told right), so that a
    /// record's report fits in [`Sent`]: the reports of every buffered
    /// record are part of the memory a run measures.
    epoch: Instant,
}

impl Stats {
    fn new(num_records: u64) -> Stats {
        let sampling = (num_records / MAX_SAMPLES).max(1);
        Stats {
            total: Window::default(),
            window: Window::default(),
            window_start: Instant::now(),
            failed: 0,
            possibly_written: 0,
            samples: Vec::with_capacity(usize::try_from(num_records.min(MAX_SAMPLES)).unwrap_or(0)),
            sampling,
            epoch: Instant::now(),
        }
    }

    /// The record `sent` was delivered at `done`.
    fn delivered(&mut self, sent: Sent, done: Instant) {
        let elapsed = stamp(self.epoch, done).wrapping_sub(sent.at);
        let us = u64::from(elapsed);
        let bytes = sent.bytes as usize;
        self.window.record(us, bytes);
        if !sent.counted {
            return;
        }
        self.total.record(us, bytes);
        if sent.sampled {
            self.samples.push(elapsed);
        }
    }

    fn fail(&mut self, what: &dyn std::fmt::Display, possibly_written: bool) {
        self.failed += 1;
        if possibly_written {
            self.possibly_written += 1;
        }
        if self.failed <= MAX_REPORTED_ERRORS {
            eprintln!("kprod perf: record not delivered: {what}");
        }
    }

    /// The progress line for the window since the last one; starts a new
    /// window.
    fn take_window(&mut self) -> String {
        let now = Instant::now();
        let secs = now
            .duration_since(self.window_start)
            .as_secs_f64()
            .max(1e-9);
        let w = std::mem::take(&mut self.window);
        self.window_start = now;
        let rate = w.count as f64 / secs;
        format!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency.",
            w.count,
            rate,
            w.bytes as f64 / secs / MB,
            avg_ms(&w),
            w.latency_max_us as f64 / 1000.0,
        )
    }
}

fn avg_ms(w: &Window) -> f64 {
    if w.count == 0 {
        0.0
    } else {
        w.latency_sum_us as f64 / w.count as f64 / 1000.0
    }
}

/// The `p` quantile (0..1) of sorted samples, in milliseconds.
fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * p) as usize).min(sorted.len() - 1);
    f64::from(sorted[index]) / 1000.0
}

/// A fixed-seed xorshift, so runs are comparable.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Random uppercase letters, like Kafka's tool.
fn payload(size: usize) -> Bytes {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for_the_run((0..size).map(|_| b'A' + (rng.next() % 26) as u8).collect())
}

/// A payload that every record of the run shares, kept until the process
/// ends: a static `Bytes` is handed to each record without touching a
/// reference count (a shared one costs two atomic operations per record,
/// measurable at millions of records a second). Made once per run.
fn for_the_run(bytes: Vec<u8>) -> Bytes {
    Bytes::from_static(Box::leak(bytes.into_boxed_slice()))
}

/// The keys of `--key-cardinality K`: `0 .. K-1` in decimal. Up to
/// [`Keys::MADE_AHEAD`] of them are written once, side by side in one
/// buffer kept for the run, and handed out as static `Bytes` (no allocation
/// or formatting per record, as for the values); more are formatted per
/// record.
struct Keys {
    made: Vec<Bytes>,
}

impl Keys {
    const MADE_AHEAD: u64 = 1 << 20;

    fn new(cardinality: u64) -> Keys {
        if cardinality > Self::MADE_AHEAD {
            return Keys { made: Vec::new() };
        }
        let mut text = Vec::new();
        let mut ends = Vec::with_capacity(cardinality as usize);
        for k in 0..cardinality {
            text.extend_from_slice(k.to_string().as_bytes());
            ends.push(text.len());
        }
        let all = for_the_run(text);
        let mut start = 0;
        let made = ends
            .into_iter()
            .map(|end| {
                let key = all.slice(start..end);
                start = end;
                key
            })
            .collect();
        Keys { made }
    }

    fn get(&self, k: u64) -> Bytes {
        match self.made.get(k as usize) {
            Some(key) => key.clone(),
            None => Bytes::from(k.to_string()),
        }
    }
}

/// Where record values come from.
enum Payloads {
    /// The same random letters for every record (`--record-size`).
    Fixed(Bytes),
    /// Pieces of a file, picked at random (`--payload-file`).
    Pieces(Vec<Bytes>, XorShift),
    /// The record's number (`--payload-monotonic`).
    Monotonic,
}

impl Payloads {
    fn from_args(args: &PerfArgs) -> Result<Payloads, String> {
        if let Some(size) = args.record_size {
            return Ok(Payloads::Fixed(payload(size)));
        }
        if let Some(path) = &args.payload_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--payload-file {}: {e}", path.display()))?;
            let delimiter = args
                .payload_delimiter
                .replace("\\n", "\n")
                .replace("\\t", "\t");
            if delimiter.is_empty() {
                return Err("--payload-delimiter must not be empty".to_owned());
            }
            let pieces: Vec<Bytes> = text
                .split(delimiter.as_str())
                .filter(|p| !p.is_empty())
                .map(|p| for_the_run(p.as_bytes().to_vec()))
                .collect();
            if pieces.is_empty() {
                return Err(format!(
                    "--payload-file {}: no payloads in it",
                    path.display()
                ));
            }
            return Ok(Payloads::Pieces(pieces, XorShift(0x2545_F491_4F6C_DD1D)));
        }
        Ok(Payloads::Monotonic)
    }

    fn next(&mut self, index: u64) -> Bytes {
        match self {
            Payloads::Fixed(value) => value.clone(),
            Payloads::Pieces(pieces, rng) => {
                let i = (rng.next() % pieces.len() as u64) as usize;
                pieces[i].clone()
            }
            Payloads::Monotonic => Bytes::from(index.to_string()),
        }
    }
}

/// Prints a line to stdout; a closed stdout (`| head -1`) ends the output
/// quietly instead of panicking.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Set once stdout is gone.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs the load on the chosen runtime.
pub(crate) fn run(args: PerfArgs, runtime: RuntimeChoice) -> ExitCode {
    let payloads = match Payloads::from_args(&args) {
        Ok(payloads) => payloads,
        Err(msg) => {
            eprintln!("kprod perf: {msg}");
            return ExitCode::FAILURE;
        }
    };
    let stats = Arc::new(Mutex::new(Stats::new(args.num_records)));
    let interrupt = match Interrupt::install("perf") {
        Ok(interrupt) => interrupt,
        Err(msg) => {
            eprintln!("kprod perf: {msg}");
            return ExitCode::FAILURE;
        }
    };
    let job = Load {
        args: &args,
        payloads,
        stats: Arc::clone(&stats),
        interrupt,
        close_timeout: args.connect.delivery_timeout(),
    };
    let run = match run_on(runtime, &args.connect, job) {
        Ok(run) => run,
        Err(msg) => {
            eprintln!("kprod perf: {msg}");
            return ExitCode::FAILURE;
        }
    };
    report(&args, &stats, &run)
}

/// The load itself, on any runtime.
struct Load<'a> {
    args: &'a PerfArgs,
    payloads: Payloads,
    stats: Arc<Mutex<Stats>>,
    interrupt: Interrupt,
    /// How long `close` may deliver after a signal.
    close_timeout: Duration,
}

/// What the load did.
struct Run {
    /// Records handed to the producer.
    sent: u64,
    /// Seconds from the first send to the end of the flush (or of the
    /// close, after a signal).
    elapsed: f64,
    /// The signal that stopped the load, if one did.
    stopped_by: Option<Signal>,
    /// The producer's metrics after it closed.
    metrics: kafka_runtime_common::Metrics,
}

impl Job for Load<'_> {
    type Output = Run;

    async fn run<P: Sink>(self, producer: P) -> Run {
        let Load {
            args,
            mut payloads,
            stats,
            interrupt,
            close_timeout,
        } = self;
        let topic: Arc<str> = Arc::from(args.topic.as_str());
        let keys = Keys::new(args.key_cardinality.unwrap_or(0));
        let progress = Progress::start(Arc::clone(&stats), args.json);
        let mut start = Instant::now();
        let mut sent = 0;
        let (epoch, sampling) = {
            let s = stats.lock().unwrap_or_else(PoisonError::into_inner);
            (s.epoch, s.sampling)
        };
        let outcome = Arc::clone(&stats);
        let handler: DeliveryHandler = Arc::new(move |number, result| {
            let done = Instant::now();
            let mut s = outcome.lock().unwrap_or_else(PoisonError::into_inner);
            match result {
                Ok(_) => s.delivered(Sent::unpack(number), done),
                Err(e) => s.fail(&e, e.possibly_written),
            }
        });
        for i in 0..args.num_records {
            if interrupt.is_raised() {
                break;
            }
            if i == args.warmup_records && i > 0 {
                // The measured part starts here.
                start = Instant::now();
            }
            if args.throughput > 0.0 {
                let due = start + Duration::from_secs_f64(i as f64 / args.throughput);
                let now = Instant::now();
                // This future runs on a thread of its own (see `client`),
                // so it may sleep: the driver goes on. A signal ends the
                // sleep.
                if due > now + THROTTLE_SLACK && interrupt.sleep(due - now) {
                    break;
                }
            }
            let value = payloads.next(i);
            let bytes = u32::try_from(value.len()).unwrap_or(u32::MAX);
            let mut record = ProducerRecord::new(Arc::clone(&topic)).value(value);
            if let Some(k) = args.key_cardinality {
                record = record.key(keys.get(i % k));
            }
            let sent_at = Sent {
                at: stamp(epoch, Instant::now()),
                bytes,
                counted: i >= args.warmup_records,
                sampled: i % sampling == 0,
            };
            let queued = producer
                .send_with_handler(record, &handler, sent_at.pack())
                .await;
            sent = i + 1;
            if let Err(e) = queued {
                // A refused record was never queued: certainly not written.
                stats
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .fail(&e, false);
            }
        }
        let elapsed = match interrupt.signal() {
            Some(signal) => {
                eprintln!(
                    "kprod perf: {}: stopped after {sent} of {} records; delivering what is \
                     buffered (waiting at most {} s; {} again exits at once)",
                    signal.name(),
                    args.num_records,
                    close_timeout.as_secs(),
                    signal.name()
                );
                // close delivers what is buffered without waiting for
                // linger.ms.
                producer.close(close_timeout).await;
                start.elapsed().as_secs_f64().max(1e-9)
            }
            None => {
                producer.flush().await;
                let elapsed = start.elapsed().as_secs_f64().max(1e-9);
                producer.close(CLOSE_TIMEOUT).await;
                elapsed
            }
        };
        progress.stop();
        Run {
            metrics: producer.metrics(),
            sent,
            elapsed,
            // A signal during the final flush changed nothing but is still
            // reported (and sets the exit status).
            stopped_by: interrupt.signal(),
        }
    }
}

/// The progress line every [`REPORT_INTERVAL`], from a thread of its own
/// (so it works the same on every runtime).
struct Progress {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Progress {
    fn start(stats: Arc<Mutex<Stats>>, json: bool) -> Progress {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(REPORT_INTERVAL)
            {
                let line = stats
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take_window();
                if json {
                    eprintln!("{line}");
                } else {
                    say(format_args!("{line}"));
                }
            }
        });
        Progress { stop, thread }
    }

    fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}

/// Prints the final line (or JSON object); fails if any record failed.
fn report(args: &PerfArgs, stats: &Mutex<Stats>, run: &Run) -> ExitCode {
    if let Some(path) = &args.prometheus {
        let written = kafka_runtime_common::prometheus::encode(&run.metrics)
            .map_err(|e| e.to_string())
            .and_then(|text| std::fs::write(path, text).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("kprod: cannot write the metrics to {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let mut s = stats.lock().unwrap_or_else(PoisonError::into_inner);
    s.samples.sort_unstable();
    let delivered = s.total.count;
    let records_per_sec = delivered as f64 / run.elapsed;
    let mb_per_sec = s.total.bytes as f64 / run.elapsed / MB;
    let avg = avg_ms(&s.total);
    let p50 = percentile_ms(&s.samples, 0.5);
    let p95 = percentile_ms(&s.samples, 0.95);
    let p99 = percentile_ms(&s.samples, 0.99);
    let p999 = percentile_ms(&s.samples, 0.999);
    let max = s.total.latency_max_us as f64 / 1000.0;
    let metrics: serde_json::Map<String, serde_json::Value> = run
        .metrics
        .iter()
        .filter(|m| m.group == "producer-metrics")
        .map(|m| (m.name.to_owned(), json!(m.value)))
        .collect();
    if args.json {
        let mut object = json!({
                "records": delivered,
                "records_attempted": run.sent,
                "records_per_sec": records_per_sec,
                "mb_per_sec": mb_per_sec,
                "latency_avg_ms": avg,
                "latency_p50_ms": p50,
                "latency_p95_ms": p95,
                "latency_p99_ms": p99,
                "latency_p999_ms": p999,
                "latency_max_ms": max,
                "failed": s.failed,
                "possibly_written": s.possibly_written,
                "warmup_records": args.warmup_records.min(run.sent),
                "stopped_by": run.stopped_by.map(Signal::name),
        });
        if args.print_metrics {
            object["metrics"] = serde_json::Value::Object(metrics);
        }
        say(format_args!("{object}"));
    } else {
        say(format_args!(
            "{delivered} records sent, {records_per_sec:.1} records/sec ({mb_per_sec:.2} MB/sec), \
             {avg:.2} ms avg latency, {max:.2} ms max latency, {p50:.2} ms 50th, \
             {p95:.2} ms 95th, {p99:.2} ms 99th, {p999:.2} ms 99.9th. {} failed; of the failed, \
             {} possibly written.",
            s.failed, s.possibly_written
        ));
        if args.print_metrics {
            // As Kafka's tools print them: `group:name:{tag=value, ...}`,
            // sorted by that text, values with three decimals.
            let mut lines: Vec<(String, f64)> = run
                .metrics
                .iter()
                .map(|m| {
                    let tags: Vec<String> =
                        m.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    (
                        format!("{}:{}:{{{}}}", m.group, m.name, tags.join(", ")),
                        m.value,
                    )
                })
                .collect();
            lines.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, value) in lines {
                say(format_args!("{name} : {value:.3}"));
            }
        }
    }
    match run.stopped_by {
        Some(signal) => ExitCode::from(signal.exit_code()),
        None if s.failed == 0 => ExitCode::SUCCESS,
        None => ExitCode::FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_numbers_in_decimal_made_ahead_or_not() {
        let keys = Keys::new(1000);
        for k in [0, 9, 10, 99, 100, 999] {
            assert_eq!(keys.get(k), Bytes::from(k.to_string()));
        }
        assert_eq!(keys.made.len(), 1000);
        // Past what was made (a cardinality too large to make ahead).
        assert_eq!(keys.get(123_456), Bytes::from("123456"));
        let many = Keys::new(Keys::MADE_AHEAD + 1);
        assert!(many.made.is_empty());
        assert_eq!(
            many.get(Keys::MADE_AHEAD),
            Bytes::from(Keys::MADE_AHEAD.to_string())
        );
    }

    #[test]
    fn a_sent_record_packs_into_its_number_and_back() {
        for sent in [
            Sent {
                at: u32::MAX,
                bytes: 100,
                counted: true,
                sampled: false,
            },
            Sent {
                at: 0,
                bytes: Sent::MAX_BYTES,
                counted: false,
                sampled: true,
            },
            Sent {
                at: 123_456,
                bytes: 0,
                counted: true,
                sampled: true,
            },
        ] {
            assert_eq!(Sent::unpack(sent.pack()), sent);
        }
        // Larger values saturate rather than spill into the flags.
        let big = Sent {
            at: 1,
            bytes: u32::MAX,
            counted: false,
            sampled: false,
        };
        assert_eq!(Sent::unpack(big.pack()).bytes, Sent::MAX_BYTES);
        assert!(!Sent::unpack(big.pack()).counted);
    }

    #[test]
    fn percentiles_index_into_sorted_samples() {
        let samples: Vec<u32> = (1..=1000).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&samples, 0.5), 501.0);
        assert_eq!(percentile_ms(&samples, 0.999), 1000.0);
        assert_eq!(percentile_ms(&[], 0.99), 0.0);
    }

    #[test]
    fn payload_is_uppercase_letters_of_the_asked_size() {
        let p = payload(1000);
        assert_eq!(p.len(), 1000);
        assert!(p.iter().all(u8::is_ascii_uppercase));
    }
}
