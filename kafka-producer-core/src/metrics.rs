//! The producer's metrics, named and computed as the Java client names and
//! computes them, updated from the `now` the core is given (no clock, no
//! atomics) and read as a [`Metrics`] snapshot by
//! [`Producer::metrics`](crate::Producer::metrics).
//!
//! # Groups
//! - `producer-metrics` (tag `client-id`): records sent, retried and failed,
//!   batch and record sizes, compression, queue time, requests and their
//!   latency, throttling, bytes, connections, buffer memory, metadata age,
//!   and with transactions the `txn-*-time-ns-total` ones.
//! - `producer-topic-metrics` (tags `client-id`, `topic`): records sent,
//!   retried and failed, bytes and compression per topic.
//! - `producer-node-metrics` (tags `client-id`, `node-id` = `node-N`):
//!   requests, responses, bytes and produce latency per broker.
//!
//! # How values are computed (Java's `SampledStat`)
//! `-total` metrics are plain sums since the producer was made. `-avg`,
//! `-max` and `-rate` metrics are computed over `metrics.num.samples`
//! samples (default 2) of `metrics.sample.window.ms` each (default 30 s):
//! a value goes into the current sample, and a new sample starts (replacing
//! the oldest) once the current one is a window old; samples older than
//! `num.samples` windows are left out. `-avg` is the mean of the values in
//! the samples left, `-max` their largest (`NaN` for both with none, as in
//! Java); `-rate` is their sum divided by the time since the oldest sample
//! began, counted as at least `num.samples - 1` whole windows, per second.
//! Java computes in whole milliseconds; here time is exact. Taking a
//! snapshot changes nothing (Java resets expired samples while measuring,
//! which only moves where the next value lands).
//!
//! Where a number has a different source here: `record-send-total` counts
//! records in the Produce requests made (as Java's, so a retried record
//! counts again); `outgoing-byte-total` counts bytes handed to the driver
//! for writing; `batch-split-total` stays 0 (batches are not split: a batch
//! over the broker's limit fails as `MESSAGE_TOO_LARGE`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::hash::Map;

/// How Java's sampled statistics are windowed: `metrics.num.samples`
/// samples of `metrics.sample.window.ms` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Windows {
    pub(crate) samples: usize,
    pub(crate) window: Duration,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            samples: 2,
            window: Duration::from_secs(30),
        }
    }
}

impl Windows {
    /// How old a sample may be and still count.
    fn expiry(self) -> Duration {
        self.window
            .saturating_mul(u32::try_from(self.samples).unwrap_or(u32::MAX))
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    start: Instant,
    count: u64,
    sum: f64,
    max: f64,
}

impl Sample {
    fn new(start: Instant) -> Sample {
        Sample {
            start,
            count: 0,
            sum: 0.0,
            max: f64::NEG_INFINITY,
        }
    }
}

/// A sampled statistic (Java's `SampledStat`): count, sum and maximum per
/// sample, from which `-avg`, `-max` and `-rate` are read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sampled {
    samples: Vec<Sample>,
    current: usize,
}

impl Sampled {
    /// Adds `value` at `now`.
    pub(crate) fn record(&mut self, w: Windows, value: f64, now: Instant) {
        let Some(current) = self.samples.get(self.current) else {
            self.samples.push(Sample::new(now));
            self.current = self.samples.len() - 1;
            return self.add(value);
        };
        if now.saturating_duration_since(current.start) >= w.window {
            self.current = (self.current + 1) % w.samples.max(1);
            match self.samples.get_mut(self.current) {
                Some(s) => *s = Sample::new(now),
                None => {
                    self.samples.push(Sample::new(now));
                    self.current = self.samples.len() - 1;
                }
            }
        }
        self.add(value);
    }

    fn add(&mut self, value: f64) {
        if let Some(s) = self.samples.get_mut(self.current) {
            s.count += 1;
            s.sum += value;
            s.max = s.max.max(value);
        }
    }

    fn live(&self, w: Windows, now: Instant) -> impl Iterator<Item = &Sample> {
        let expiry = w.expiry();
        self.samples
            .iter()
            .filter(move |s| now.saturating_duration_since(s.start) < expiry)
    }

    /// The sum of the values in the live samples.
    pub(crate) fn sum(&self, w: Windows, now: Instant) -> f64 {
        self.live(w, now).map(|s| s.sum).sum()
    }

    /// The mean of the values in the live samples (`NaN` without any).
    pub(crate) fn avg(&self, w: Windows, now: Instant) -> f64 {
        let (count, sum) = self
            .live(w, now)
            .fold((0u64, 0.0), |(c, t), s| (c + s.count, t + s.sum));
        if count == 0 {
            f64::NAN
        } else {
            sum / count as f64
        }
    }

    /// The largest value in the live samples (`NaN` without any).
    pub(crate) fn max(&self, w: Windows, now: Instant) -> f64 {
        self.live(w, now)
            .filter(|s| s.count > 0)
            .map(|s| s.max)
            .reduce(f64::max)
            .unwrap_or(f64::NAN)
    }

    /// Java's `Rate`: the live samples' sum per second of the time since
    /// the oldest of them began, plus a whole window for each of the
    /// `samples - 1` windows not yet complete, and at least 1 ms.
    pub(crate) fn rate(&self, w: Windows, now: Instant) -> f64 {
        let oldest = self.live(w, now).map(|s| s.start).min().unwrap_or(now);
        let mut elapsed = now.saturating_duration_since(oldest);
        let full = elapsed.as_nanos() / w.window.as_nanos().max(1);
        let min_full = w.samples.saturating_sub(1) as u128;
        if full < min_full {
            elapsed += w
                .window
                .saturating_mul(u32::try_from(min_full - full).unwrap_or(u32::MAX));
        }
        // At least 1 ms, as Java's, so a rate is never over no time.
        let seconds = elapsed.max(Duration::from_millis(1)).as_secs_f64();
        self.sum(w, now) / seconds
    }
}

/// Java's `Meter`: a total since the start and a windowed rate of the same
/// values; the samples also give the values' mean.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meter {
    total: f64,
    window: Sampled,
}

impl Meter {
    pub(crate) fn record(&mut self, w: Windows, value: f64, now: Instant) {
        self.total += value;
        self.window.record(w, value, now);
    }

    pub(crate) fn total(&self) -> f64 {
        self.total
    }

    pub(crate) fn rate(&self, w: Windows, now: Instant) -> f64 {
        self.window.rate(w, now)
    }

    pub(crate) fn avg(&self, w: Windows, now: Instant) -> f64 {
        self.window.avg(w, now)
    }
}

/// Per-topic counts (`producer-topic-metrics`).
#[derive(Debug, Clone, Default)]
pub(crate) struct TopicMetrics {
    pub(crate) send: Meter,
    pub(crate) bytes: Meter,
    pub(crate) compression: Sampled,
    pub(crate) retry: Meter,
    pub(crate) error: Meter,
}

/// One direction of traffic: messages (requests or responses) and bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Traffic {
    pub(crate) messages: Meter,
    pub(crate) bytes: Meter,
}

impl Traffic {
    /// `bytes` bytes holding `messages` whole messages (none is not a
    /// message event).
    fn record(&mut self, w: Windows, messages: f64, bytes: f64, now: Instant) {
        if messages > 0.0 {
            self.messages.record(w, messages, now);
        }
        self.bytes.record(w, bytes, now);
    }
}

/// Per-broker counts (`producer-node-metrics`).
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeMetrics {
    /// Requests and their bytes.
    pub(crate) out: Traffic,
    /// Responses and their bytes.
    pub(crate) inbound: Traffic,
    pub(crate) latency: Sampled,
}

/// The network half, kept by `Nodes`: connections, requests, responses,
/// bytes and produce latency, for the producer and per broker.
#[derive(Debug, Clone, Default)]
pub(crate) struct NetMetrics {
    pub(crate) windows: Windows,
    pub(crate) connection_creation: Meter,
    pub(crate) connection_close: Meter,
    /// Authentications and re-authentications of connections already gone.
    pub(crate) retired_authentications: u64,
    pub(crate) retired_reauthentications: u64,
    /// Requests and their bytes, to every broker.
    pub(crate) out: Traffic,
    /// Responses and their bytes, from every broker.
    pub(crate) inbound: Traffic,
    pub(crate) latency: Sampled,
    pub(crate) nodes: Map<i32, NodeMetrics>,
}

impl NetMetrics {
    fn node(&mut self, node: i32) -> &mut NodeMetrics {
        self.nodes.entry(node).or_default()
    }

    /// `requests` requests of `bytes` bytes were handed out for `node`.
    pub(crate) fn sent(&mut self, node: i32, requests: u32, bytes: usize, now: Instant) {
        let (w, requests, bytes) = (self.windows, f64::from(requests), bytes as f64);
        self.out.record(w, requests, bytes, now);
        self.node(node).out.record(w, requests, bytes, now);
    }

    /// `bytes` bytes holding `responses` whole responses came from `node`.
    pub(crate) fn received(&mut self, node: i32, responses: usize, bytes: usize, now: Instant) {
        let (w, responses, bytes) = (self.windows, responses as f64, bytes as f64);
        self.inbound.record(w, responses, bytes, now);
        self.node(node).inbound.record(w, responses, bytes, now);
    }

    /// A Produce request to `node` was answered after `latency`.
    pub(crate) fn produce_latency(&mut self, node: i32, latency: Duration, now: Instant) {
        let w = self.windows;
        let ms = latency.as_secs_f64() * 1e3;
        self.latency.record(w, ms, now);
        self.node(node).latency.record(w, ms, now);
    }
}

/// The producer's half: records, batches and transactions, overall and per
/// topic.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProducerMetrics {
    pub(crate) windows: Windows,
    /// Records per Produce request: `record-send-*` and
    /// `records-per-request-avg`.
    pub(crate) send: Meter,
    pub(crate) retry: Meter,
    pub(crate) error: Meter,
    pub(crate) batch_size: Sampled,
    pub(crate) compression: Sampled,
    pub(crate) queue_time: Sampled,
    pub(crate) record_size: Sampled,
    pub(crate) throttle: Sampled,
    pub(crate) topics: Map<Arc<str>, TopicMetrics>,
    /// Nanoseconds spent in each transaction step, from the call to its
    /// outcome: init, begin, send offsets, commit, abort.
    pub(crate) txn_ns: [f64; 5],
    /// When the step's call still waiting for its outcome came.
    pub(crate) txn_started: [Option<Instant>; 5],
    /// Nanoseconds sends waited for buffer memory (told by the driver).
    pub(crate) buffer_wait_ns: f64,
}

impl From<crate::transaction::TransactionOp> for TxnStep {
    fn from(op: crate::transaction::TransactionOp) -> TxnStep {
        use crate::transaction::TransactionOp;
        match op {
            TransactionOp::Init => TxnStep::Init,
            TransactionOp::SendOffsets => TxnStep::SendOffsets,
            TransactionOp::Commit => TxnStep::Commit,
            TransactionOp::Abort => TxnStep::Abort,
        }
    }
}

/// Which `txn-*-time-ns-total` a transaction step adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnStep {
    Init = 0,
    Begin = 1,
    SendOffsets = 2,
    Commit = 3,
    Abort = 4,
}

impl ProducerMetrics {
    fn topic(&mut self, topic: &Arc<str>) -> &mut TopicMetrics {
        if !self.topics.contains_key(topic) {
            self.topics.insert(topic.clone(), TopicMetrics::default());
        }
        self.topics.get_mut(topic).expect("inserted above")
    }

    /// A batch goes out in a Produce request: its size on the wire, its
    /// uncompressed size, its largest record, its age and its records.
    pub(crate) fn batch_sent(&mut self, topic: &Arc<str>, batch: BatchFigures, now: Instant) {
        let w = self.windows;
        let ratio = if batch.uncompressed > 0 {
            batch.wire as f64 / batch.uncompressed as f64
        } else {
            1.0
        };
        self.batch_size.record(w, batch.wire as f64, now);
        self.compression.record(w, ratio, now);
        self.queue_time
            .record(w, batch.queued.as_secs_f64() * 1e3, now);
        self.record_size.record(w, f64::from(batch.max_record), now);
        let t = self.topic(topic);
        t.send.record(w, f64::from(batch.records), now);
        t.bytes.record(w, batch.wire as f64, now);
        t.compression.record(w, ratio, now);
    }

    /// A Produce request of `records` records was made.
    pub(crate) fn request_made(&mut self, records: u32, now: Instant) {
        self.send.record(self.windows, f64::from(records), now);
    }

    pub(crate) fn retried(&mut self, topic: &Arc<str>, records: u32, now: Instant) {
        let w = self.windows;
        self.retry.record(w, f64::from(records), now);
        self.topic(topic).retry.record(w, f64::from(records), now);
    }

    /// The ledger reported a failure of `records` records of `topic`
    /// (`None`: nothing failed with this report).
    pub(crate) fn failed(&mut self, topic: &Arc<str>, records: Option<u32>, now: Instant) {
        let Some(records) = records else {
            return;
        };
        let w = self.windows;
        self.error.record(w, f64::from(records), now);
        self.topic(topic).error.record(w, f64::from(records), now);
    }

    pub(crate) fn throttled(&mut self, ms: i32, now: Instant) {
        self.throttle.record(self.windows, f64::from(ms), now);
    }

    /// A transactional call at `now` (a repeated call of one still
    /// running keeps the first time, as it waits for the same outcome).
    pub(crate) fn txn_call(&mut self, step: TxnStep, now: Instant) {
        self.txn_started[step as usize].get_or_insert(now);
    }

    /// The step's outcome is known at `now`.
    pub(crate) fn txn_finished(&mut self, step: TxnStep, now: Instant) {
        if let Some(start) = self.txn_started[step as usize].take() {
            self.txn_ns[step as usize] += now.saturating_duration_since(start).as_nanos() as f64;
        }
    }
}

/// What [`ProducerMetrics::batch_sent`] reads of a batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchFigures {
    pub(crate) wire: usize,
    pub(crate) uncompressed: usize,
    pub(crate) max_record: u32,
    pub(crate) records: u32,
    pub(crate) queued: Duration,
}

/// One metric: its Java group, name and tags, what it means, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The Java client's metric group: `producer-metrics`,
    /// `producer-topic-metrics` or `producer-node-metrics`.
    pub group: &'static str,
    /// The Java client's metric name (`record-send-total`, ...).
    pub name: &'static str,
    /// The tags, in Java's order: `client-id`, then `topic` or `node-id`.
    pub tags: Vec<(&'static str, String)>,
    /// What it measures.
    pub description: &'static str,
    /// Its value now (`NaN` for an average or maximum of nothing, as in
    /// Java).
    pub value: f64,
}

/// A snapshot of the producer's metrics, from
/// [`Producer::metrics`](crate::Producer::metrics).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    metrics: Vec<Metric>,
}

impl Metrics {
    /// The value of the `producer-metrics` metric `name` (a Java name such
    /// as `"record-send-total"`), if this producer has it.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.group == PRODUCER && m.name == name)
            .map(|m| m.value)
    }

    /// The value of the metric `name` of `group` whose tags include
    /// `tag = value` (e.g. `("producer-topic-metrics", "record-send-total",
    /// "topic", "orders")`).
    pub fn get_tagged(&self, group: &str, name: &str, tag: &str, value: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| {
                m.group == group
                    && m.name == name
                    && m.tags.iter().any(|(k, v)| *k == tag && v == value)
            })
            .map(|m| m.value)
    }

    /// Every metric: the `producer-metrics` group by name, then each topic's
    /// and each broker's.
    pub fn iter(&self) -> impl Iterator<Item = &Metric> {
        self.metrics.iter()
    }

    pub(crate) fn push(
        &mut self,
        group: &'static str,
        tags: &[(&'static str, &str)],
        name: &'static str,
        description: &'static str,
        value: f64,
    ) {
        self.metrics.push(Metric {
            group,
            name,
            tags: tags.iter().map(|&(k, v)| (k, v.to_owned())).collect(),
            description,
            value,
        });
    }
}

/// The producer's group.
pub(crate) const PRODUCER: &str = "producer-metrics";
/// The per-topic group.
pub(crate) const TOPIC: &str = "producer-topic-metrics";
/// The per-broker group.
pub(crate) const NODE: &str = "producer-node-metrics";

/// The gauges only the producer knows when a snapshot is taken.
pub(crate) struct Gauges {
    pub(crate) connection_count: usize,
    pub(crate) authentications: u64,
    pub(crate) reauthentications: u64,
    pub(crate) requests_in_flight: usize,
    pub(crate) buffer_total: usize,
    pub(crate) buffer_available: usize,
    pub(crate) metadata_age: Option<Duration>,
    pub(crate) transactional: bool,
}

/// Builds the snapshot.
pub(crate) fn snapshot(
    client_id: &str,
    p: &ProducerMetrics,
    net: &NetMetrics,
    g: &Gauges,
    now: Instant,
) -> Metrics {
    let w = p.windows;
    let nw = net.windows;
    let mut m = Metrics::default();
    let tags = [("client-id", client_id)];
    let mut put = |name, description, value| m.push(PRODUCER, &tags, name, description, value);
    put(
        "batch-size-avg",
        "The average number of bytes sent per partition per request.",
        p.batch_size.avg(w, now),
    );
    put(
        "batch-size-max",
        "The largest number of bytes sent per partition per request.",
        p.batch_size.max(w, now),
    );
    put(
        "batch-split-rate",
        "Batches split per second (batches are never split here).",
        0.0,
    );
    put(
        "batch-split-total",
        "Batches split (batches are never split here).",
        0.0,
    );
    put(
        "buffer-available-bytes",
        "Bytes of buffer.memory not in use.",
        g.buffer_available as f64,
    );
    put(
        "buffer-total-bytes",
        "buffer.memory: the most bytes records may hold while they wait.",
        g.buffer_total as f64,
    );
    put(
        "bufferpool-wait-time-ns-total",
        "Nanoseconds sends waited for buffer memory, in all.",
        p.buffer_wait_ns,
    );
    put(
        "compression-rate-avg",
        "The average compression rate of record batches: compressed bytes over uncompressed.",
        p.compression.avg(w, now),
    );
    put(
        "connection-close-rate",
        "Connections closed per second.",
        net.connection_close.rate(nw, now),
    );
    put(
        "connection-close-total",
        "Connections closed, by either side.",
        net.connection_close.total(),
    );
    put(
        "connection-count",
        "The current number of connections.",
        g.connection_count as f64,
    );
    put(
        "connection-creation-rate",
        "Connections opened per second.",
        net.connection_creation.rate(nw, now),
    );
    put(
        "connection-creation-total",
        "Connections opened.",
        net.connection_creation.total(),
    );
    put(
        "incoming-byte-rate",
        "Bytes received per second from all brokers.",
        net.inbound.bytes.rate(nw, now),
    );
    put(
        "incoming-byte-total",
        "Bytes received from all brokers.",
        net.inbound.bytes.total(),
    );
    put(
        "metadata-age",
        "Seconds since the last successful metadata update (NaN before the first).",
        g.metadata_age.map_or(f64::NAN, |a| a.as_secs_f64()),
    );
    put(
        "outgoing-byte-rate",
        "Bytes of requests handed out for sending per second, to all brokers.",
        net.out.bytes.rate(nw, now),
    );
    put(
        "outgoing-byte-total",
        "Bytes of requests handed out for sending, to all brokers.",
        net.out.bytes.total(),
    );
    put(
        "produce-throttle-time-avg",
        "The average time in ms a Produce request was throttled by a broker.",
        p.throttle.avg(w, now),
    );
    put(
        "produce-throttle-time-max",
        "The longest time in ms a Produce request was throttled by a broker.",
        p.throttle.max(w, now),
    );
    put(
        "record-error-rate",
        "Records per second whose sends ended in errors.",
        p.error.rate(w, now),
    );
    put(
        "record-error-total",
        "Records whose sends ended in errors.",
        p.error.total(),
    );
    put(
        "record-queue-time-avg",
        "The average time in ms record batches spent in the send buffer.",
        p.queue_time.avg(w, now),
    );
    put(
        "record-queue-time-max",
        "The longest time in ms a record batch spent in the send buffer.",
        p.queue_time.max(w, now),
    );
    put(
        "record-retry-rate",
        "Retried record sends per second.",
        p.retry.rate(w, now),
    );
    put(
        "record-retry-total",
        "Retried record sends.",
        p.retry.total(),
    );
    put(
        "record-send-rate",
        "Records sent per second (in Produce requests; a retried record counts again).",
        p.send.rate(w, now),
    );
    put(
        "record-send-total",
        "Records sent (in Produce requests; a retried record counts again).",
        p.send.total(),
    );
    put(
        "record-size-avg",
        "The average of each batch's largest record size in bytes.",
        p.record_size.avg(w, now),
    );
    put(
        "record-size-max",
        "The largest record size in bytes.",
        p.record_size.max(w, now),
    );
    put(
        "records-per-request-avg",
        "The average number of records per Produce request.",
        p.send.avg(w, now),
    );
    put(
        "request-latency-avg",
        "The average time in ms from a Produce request to its response.",
        net.latency.avg(nw, now),
    );
    put(
        "request-latency-max",
        "The longest time in ms from a Produce request to its response.",
        net.latency.max(nw, now),
    );
    put(
        "request-rate",
        "Requests sent per second, to all brokers.",
        net.out.messages.rate(nw, now),
    );
    put(
        "request-total",
        "Requests sent, to all brokers.",
        net.out.messages.total(),
    );
    put(
        "requests-in-flight",
        "Requests sent and not yet answered.",
        g.requests_in_flight as f64,
    );
    put(
        "response-rate",
        "Responses received per second.",
        net.inbound.messages.rate(nw, now),
    );
    put(
        "response-total",
        "Responses received.",
        net.inbound.messages.total(),
    );
    put(
        "successful-authentication-total",
        "SASL authentications that succeeded (re-authentications included).",
        g.authentications as f64,
    );
    put(
        "successful-reauthentication-total",
        "SASL re-authentications (KIP-368) that succeeded.",
        g.reauthentications as f64,
    );
    if g.transactional {
        let steps = [
            (
                "txn-init-time-ns-total",
                "Nanoseconds spent initializing transactions.",
            ),
            (
                "txn-begin-time-ns-total",
                "Nanoseconds spent beginning transactions.",
            ),
            (
                "txn-send-offsets-time-ns-total",
                "Nanoseconds spent sending offsets to transactions.",
            ),
            (
                "txn-commit-time-ns-total",
                "Nanoseconds spent committing transactions.",
            ),
            (
                "txn-abort-time-ns-total",
                "Nanoseconds spent aborting transactions.",
            ),
        ];
        for (i, (name, description)) in steps.into_iter().enumerate() {
            put(name, description, p.txn_ns[i]);
        }
    }

    let mut topics: Vec<_> = p.topics.iter().collect();
    topics.sort_by(|a, b| a.0.cmp(b.0));
    for (topic, t) in topics {
        let tags = [("client-id", client_id), ("topic", &**topic)];
        let mut put = |name, description, value| m.push(TOPIC, &tags, name, description, value);
        put(
            "byte-rate",
            "Bytes sent per second for the topic.",
            t.bytes.rate(w, now),
        );
        put("byte-total", "Bytes sent for the topic.", t.bytes.total());
        put(
            "compression-rate",
            "The average compression rate of the topic's batches.",
            t.compression.avg(w, now),
        );
        put(
            "record-error-rate",
            "Records per second of the topic whose sends ended in errors.",
            t.error.rate(w, now),
        );
        put(
            "record-error-total",
            "Records of the topic whose sends ended in errors.",
            t.error.total(),
        );
        put(
            "record-retry-rate",
            "Retried record sends per second for the topic.",
            t.retry.rate(w, now),
        );
        put(
            "record-retry-total",
            "Retried record sends for the topic.",
            t.retry.total(),
        );
        put(
            "record-send-rate",
            "Records sent per second for the topic.",
            t.send.rate(w, now),
        );
        put(
            "record-send-total",
            "Records sent for the topic.",
            t.send.total(),
        );
    }

    let mut nodes: Vec<_> = net.nodes.iter().collect();
    nodes.sort_by_key(|(id, _)| **id);
    for (id, n) in nodes {
        let node_id = format!("node-{id}");
        let tags = [("client-id", client_id), ("node-id", node_id.as_str())];
        let mut put = |name, description, value| m.push(NODE, &tags, name, description, value);
        put(
            "incoming-byte-rate",
            "Bytes received per second from the broker.",
            n.inbound.bytes.rate(nw, now),
        );
        put(
            "incoming-byte-total",
            "Bytes received from the broker.",
            n.inbound.bytes.total(),
        );
        put(
            "outgoing-byte-rate",
            "Bytes handed out for sending per second to the broker.",
            n.out.bytes.rate(nw, now),
        );
        put(
            "outgoing-byte-total",
            "Bytes handed out for sending to the broker.",
            n.out.bytes.total(),
        );
        put(
            "request-latency-avg",
            "The average time in ms from a Produce request to the broker to its response.",
            n.latency.avg(nw, now),
        );
        put(
            "request-latency-max",
            "The longest time in ms from a Produce request to the broker to its response.",
            n.latency.max(nw, now),
        );
        put(
            "request-rate",
            "Requests sent per second to the broker.",
            n.out.messages.rate(nw, now),
        );
        put(
            "request-total",
            "Requests sent to the broker.",
            n.out.messages.total(),
        );
        put(
            "response-rate",
            "Responses received per second from the broker.",
            n.inbound.messages.rate(nw, now),
        );
        put(
            "response-total",
            "Responses received from the broker.",
            n.inbound.messages.total(),
        );
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w() -> Windows {
        Windows::default()
    }

    #[test]
    fn a_snapshot_finds_metrics_by_java_name_and_tags() {
        let mut m = Metrics::default();
        m.push(
            PRODUCER,
            &[("client-id", "c")],
            "record-send-total",
            "",
            3.0,
        );
        m.push(
            TOPIC,
            &[("client-id", "c"), ("topic", "t")],
            "record-send-total",
            "",
            2.0,
        );
        assert_eq!(m.get("record-send-total"), Some(3.0));
        assert_eq!(m.get("nope"), None);
        assert_eq!(
            m.get_tagged(TOPIC, "record-send-total", "topic", "t"),
            Some(2.0)
        );
        assert_eq!(m.get_tagged(TOPIC, "record-send-total", "topic", "u"), None);
    }

    #[test]
    fn averages_and_maxima_are_nan_without_values_as_in_java() {
        let s = Sampled::default();
        let t0 = crate::testing::t0();
        assert!(s.avg(w(), t0).is_nan());
        assert!(s.max(w(), t0).is_nan());
        // No values: 0 over one (samples - 1) window.
        assert_eq!(s.rate(w(), t0), 0.0);
        assert!(s.avg(w(), t0).is_nan() && s.max(w(), t0).is_nan());
    }

    /// Java's Rate over two 30 s samples: 60 values in the first 10 s are
    /// 60 / 40 s (a whole window is added while fewer than one is
    /// complete); later the elapsed time itself; samples older than 60 s
    /// drop out.
    #[test]
    fn rates_follow_javas_sampled_windows() {
        let t0 = crate::testing::t0();
        let s = |secs: u64| t0 + Duration::from_secs(secs);
        let mut m = Meter::default();
        for i in 0..60u64 {
            m.record(w(), 1.0, t0 + Duration::from_millis(i * 166));
        }
        assert_eq!(m.total(), 60.0);
        assert!(
            (m.rate(w(), s(10)) - 1.5).abs() < 1e-9,
            "{}",
            m.rate(w(), s(10))
        );
        // At 45 s: one sample (0..30 s) of 60, elapsed 45 s.
        assert!((m.rate(w(), s(45)) - 60.0 / 45.0).abs() < 1e-9);
        // A value at 40 s starts the second sample.
        m.record(w(), 30.0, s(40));
        assert!((m.rate(w(), s(50)) - 90.0 / 50.0).abs() < 1e-9);
        // At 61 s the first sample (from 0 s) is over two windows old; the
        // one from 40 s has 21 s, less than a whole window: 21 + 30 s.
        assert!((m.rate(w(), s(61)) - 30.0 / 51.0).abs() < 1e-9);
        // At 75 s a value replaces the oldest sample (the current one,
        // from 40 s, is a window old).
        m.record(w(), 5.0, s(75));
        assert!((m.rate(w(), s(80)) - 35.0 / 40.0).abs() < 1e-9);
        assert_eq!(m.total(), 95.0);
    }

    #[test]
    fn avg_and_max_cover_the_live_samples() {
        let t0 = crate::testing::t0();
        let mut s = Sampled::default();
        s.record(w(), 10.0, t0);
        s.record(w(), 30.0, t0 + Duration::from_secs(1));
        assert_eq!(s.avg(w(), t0 + Duration::from_secs(2)), 20.0);
        assert_eq!(s.max(w(), t0 + Duration::from_secs(2)), 30.0);
        s.record(w(), 2.0, t0 + Duration::from_secs(31));
        assert_eq!(s.max(w(), t0 + Duration::from_secs(32)), 30.0);
        // The first sample (0 s) expires at 60 s.
        assert_eq!(s.max(w(), t0 + Duration::from_secs(60)), 2.0);
        assert_eq!(s.avg(w(), t0 + Duration::from_secs(60)), 2.0);
        assert!(s.avg(w(), t0 + Duration::from_secs(91)).is_nan());
    }
}
