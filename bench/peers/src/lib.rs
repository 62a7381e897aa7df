//! What the peer `perf` programs share: their arguments (those of
//! `kprod perf` that the harness uses), the payload and keys, latency
//! samples and the JSON result line, so every client is driven and measured
//! the same way.
//!
//! Latency runs from the call that hands a record to the client to the
//! delivery callback; throughput counts the records delivered over the time
//! from the first send to the last delivery (after the final flush), as Kafka's
//! `ProducerPerformance` does. Latencies are sampled as that tool samples
//! them: at most 500,000 samples, every `n / 500,000`-th record.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most latency samples kept (Kafka's tool keeps as many).
const MAX_SAMPLES: u64 = 500_000;

/// The command line: `--bootstrap-servers H:P --topic T --num-records N
/// --record-size S --throughput R [--key-cardinality K] [-X key=value]...`.
#[derive(Debug, Clone)]
pub struct Args {
    /// `bootstrap.servers`.
    pub bootstrap: String,
    /// The topic.
    pub topic: String,
    /// How many records.
    pub num_records: u64,
    /// Each value's size in bytes.
    pub record_size: usize,
    /// At most this many records per second; negative: no limit.
    pub throughput: f64,
    /// Keys `0..K` in decimal, record `i` taking `i % K`; none without it.
    pub key_cardinality: Option<u64>,
    /// Client properties, in the client's own names.
    pub props: Vec<(String, String)>,
}

impl Args {
    /// Parses `std::env::args`; exits with status 2 and a message when they
    /// are wrong.
    pub fn parse() -> Args {
        let mut a = Args {
            bootstrap: String::new(),
            topic: String::new(),
            num_records: 0,
            record_size: 100,
            throughput: -1.0,
            key_cardinality: None,
            props: Vec::new(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
            };
            match flag.as_str() {
                "-b" | "--bootstrap-servers" => a.bootstrap = value(),
                "-t" | "--topic" => a.topic = value(),
                "--num-records" => a.num_records = number(&value()),
                "--record-size" => a.record_size = number(&value()) as usize,
                "--throughput" => {
                    a.throughput = value()
                        .parse()
                        .unwrap_or_else(|_| usage("bad --throughput"))
                }
                "--key-cardinality" => a.key_cardinality = Some(number(&value()).max(1)),
                "-X" => {
                    let kv = value();
                    let (k, v) = kv
                        .split_once('=')
                        .unwrap_or_else(|| usage("-X takes key=value"));
                    a.props.push((k.to_owned(), v.to_owned()));
                }
                "--json" => {}
                other => usage(&format!("unknown argument {other}")),
            }
        }
        if a.bootstrap.is_empty() || a.topic.is_empty() || a.num_records == 0 {
            usage("--bootstrap-servers, --topic and --num-records are needed");
        }
        a
    }

    /// One value of `record_size` random uppercase letters, sent with every
    /// record (as Kafka's tool does with `--record-size`).
    pub fn payload(&self) -> Vec<u8> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..self.record_size)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b'A' + (x % 26) as u8
            })
            .collect()
    }

    /// The key of record `i`, written into `buf`; `None` without keys.
    pub fn key<'a>(&self, i: u64, buf: &'a mut String) -> Option<&'a [u8]> {
        use std::fmt::Write;
        let k = self.key_cardinality?;
        buf.clear();
        let _ = write!(buf, "{}", i % k);
        Some(buf.as_bytes())
    }
}

fn number(s: &str) -> u64 {
    s.parse()
        .unwrap_or_else(|_| usage(&format!("not a number: {s}")))
}

fn usage(why: &str) -> ! {
    eprintln!(
        "{why}\nusage: PROGRAM --bootstrap-servers H:P --topic T --num-records N --record-size S \
         --throughput R [--key-cardinality K] [-X key=value]..."
    );
    std::process::exit(2)
}

/// Paces sends to `throughput` records per second.
#[derive(Debug)]
pub struct Pacer {
    start: Instant,
    per_record: Option<Duration>,
}

impl Pacer {
    /// Starts pacing now.
    pub fn new(throughput: f64) -> Pacer {
        Pacer {
            start: Instant::now(),
            per_record: (throughput > 0.0).then(|| Duration::from_secs_f64(1.0 / throughput)),
        }
    }

    /// How long to wait before sending record `i`, if at all.
    pub fn wait_before(&self, i: u64) -> Option<Duration> {
        let due = self.start + self.per_record? * u32::try_from(i).unwrap_or(u32::MAX);
        due.checked_duration_since(Instant::now())
            .filter(|d| *d > Duration::from_micros(50))
    }
}

/// Outcomes, shared between the sending loop and the delivery callbacks.
#[derive(Debug)]
pub struct Stats {
    inner: Mutex<Inner>,
    sampling: u64,
    start: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    delivered: u64,
    bytes: u64,
    failed: u64,
    latency_sum_us: u64,
    latency_max_us: u64,
    samples: Vec<u32>,
    first_error: Option<String>,
}

impl Stats {
    /// Stats for a run of `num_records`, starting now.
    pub fn new(num_records: u64) -> Stats {
        Stats {
            inner: Mutex::new(Inner {
                samples: Vec::with_capacity(num_records.min(MAX_SAMPLES) as usize),
                ..Inner::default()
            }),
            sampling: (num_records / MAX_SAMPLES).max(1),
            start: Instant::now(),
        }
    }

    /// The instant the run started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Microseconds since the run started: a record's send time, as
    /// [`delivered`](Self::delivered) takes it.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Whether record `i`'s latency is one of the samples.
    pub fn sampled(&self, i: u64) -> bool {
        i % self.sampling == 0
    }

    /// A record of `bytes`, sent at `sent_us` (from [`now_us`](Self::now_us)),
    /// was delivered now; `sampled` from [`sampled`](Self::sampled).
    pub fn delivered(&self, sampled: bool, sent_us: u64, bytes: usize) {
        let us = self.now_us().saturating_sub(sent_us);
        let mut s = self.inner.lock().unwrap();
        s.delivered += 1;
        s.bytes += bytes as u64;
        s.latency_sum_us += us;
        s.latency_max_us = s.latency_max_us.max(us);
        if sampled {
            s.samples.push(u32::try_from(us).unwrap_or(u32::MAX));
        }
    }

    /// A record failed.
    pub fn failed(&self, why: &dyn std::fmt::Display) {
        let mut s = self.inner.lock().unwrap();
        s.failed += 1;
        if s.first_error.is_none() {
            s.first_error = Some(why.to_string());
        }
    }

    /// Prints the JSON result (the keys of `kprod perf --json`) and returns
    /// the exit status: 1 if any record failed.
    pub fn finish(&self, attempted: u64) -> i32 {
        let elapsed = self.start.elapsed().as_secs_f64();
        let mut s = self.inner.lock().unwrap();
        s.samples.sort_unstable();
        let pct = |p: f64| -> f64 {
            if s.samples.is_empty() {
                return 0.0;
            }
            let i = ((p * s.samples.len() as f64) as usize).min(s.samples.len() - 1);
            f64::from(s.samples[i]) / 1000.0
        };
        let avg = if s.delivered == 0 {
            0.0
        } else {
            s.latency_sum_us as f64 / s.delivered as f64 / 1000.0
        };
        if let Some(e) = &s.first_error {
            eprintln!("first failure: {e}");
        }
        println!(
            "{{\"records\": {}, \"records_attempted\": {attempted}, \"records_per_sec\": {:.1}, \
             \"mb_per_sec\": {:.3}, \"latency_avg_ms\": {avg:.3}, \"latency_p50_ms\": {:.3}, \
             \"latency_p95_ms\": {:.3}, \"latency_p99_ms\": {:.3}, \"latency_p999_ms\": {:.3}, \
             \"latency_max_ms\": {:.3}, \"failed\": {}, \"elapsed_s\": {elapsed:.3}}}",
            s.delivered,
            s.delivered as f64 / elapsed,
            s.bytes as f64 / elapsed / (1024.0 * 1024.0),
            pct(0.5),
            pct(0.95),
            pct(0.99),
            pct(0.999),
            s.latency_max_us as f64 / 1000.0,
            s.failed,
        );
        i32::from(s.failed > 0)
    }
}
