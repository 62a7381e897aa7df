//! Every runtime (Tokio, async-std, mio) against librdkafka's mock cluster
//! with faults injected: leader moves, brokers going down and up, retriable
//! errors and dropped connections on Produce, added latency, and faults that
//! outlast `delivery.timeout.ms`. What landed is read back with
//! confluent-kafka. One scenario list, run on each runtime by `suite!` (see
//! `runtimes/mod.rs`); each test starts its own mock cluster.
//!
//! The producer connects straight to the mock's brokers. That needs the two
//! allowances Java's client makes too (and the core now makes): the mock
//! answers ApiVersions v3+ with UNSUPPORTED_VERSION in a body that is neither
//! v0 nor the request's version (the producer falls back to v0), and ends
//! its Metadata v12 answer with a byte more than the message (ignored);
//! `the_producer_reaches_the_mock_cluster_directly` checks both on their own.
//!
//! Mock cluster facts the assertions rely on (librdkafka 2.16):
//! - it checks sequence numbers only for transactional producers, so it
//!   never de-duplicates a retried idempotent batch: a batch appended by an
//!   attempt whose answer the producer never saw is stored again by the
//!   retry;
//! - an injected error (cluster-wide `errors`, per-partition `perrors`, and
//!   `-195`, which drops the connection) is decided before the append, so
//!   the failed attempt stores nothing;
//! - `rtt` delays the answer, not the append;
//! - a broker that is `down` closes its connections and refuses new ones;
//! - it answers every successful Produce with LogAppendTime 1234, so the
//!   reported timestamps are not compared (the stored ones are).
//!
//! Scenario bodies wait only through the runtime-free helpers of
//! `runtimes` ([`sleep`], [`timeout`]), delivery futures, and a single
//! non-blocking [`poll_now`]. The mock's commands are blocking round trips
//! to its process, made from the scenario's own thread: every runtime
//! drives the producer elsewhere (Tokio's workers, the async-std crate's
//! executor thread, mio's driver thread), so they hold up nothing.

mod runtimes;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use kafka_integration_tests::{MockCluster, Tool, require_tools};
use kafka_runtime_common::partitioner::partition_for_key;
use kafka_runtime_common::{
    DeliveryErrorKind, DeliveryFuture, DeliveryResult, ErrorCode, ProducerBuilder, ProducerRecord,
    RecordMetadata,
};
use runtimes::read_back::{ReadRecord, read_back};
use runtimes::{Rt, TestProducer, sleep, timeout};

// ---------------------------------------------------------------------------
// Runtime-free helpers
// ---------------------------------------------------------------------------

/// Polls `future` once, without registering interest: its output if ready.
fn poll_now<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    match Pin::new(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

/// Polls `condition` every 50 ms until it holds; panics with `what` after
/// `limit`.
async fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------
// The mock cluster
// ---------------------------------------------------------------------------

/// One request the mock cluster saw (request tracking).
#[derive(Debug, Clone, Copy)]
struct SeenRequest {
    broker: i32,
    api_key: i16,
    /// The mock's monotonic clock, in microseconds.
    at_us: i64,
}

const PRODUCE: i16 = 0;
const API_VERSIONS: i16 = 18;

fn seen_requests(cluster: &mut MockCluster) -> Vec<SeenRequest> {
    cluster
        .cmd("requests")
        .iter()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert!(f.len() == 4 && f[0] == "REQ", "unexpected line {line:?}");
            SeenRequest {
                broker: f[1].parse().expect("broker id"),
                api_key: f[2].parse().expect("api key"),
                at_us: f[3].parse().expect("timestamp"),
            }
        })
        .collect()
}

fn api_versions_requests(cluster: &mut MockCluster) -> usize {
    let seen = seen_requests(cluster);
    seen.iter().filter(|r| r.api_key == API_VERSIONS).count()
}

fn produce_requests(cluster: &mut MockCluster) -> Vec<SeenRequest> {
    let mut all = seen_requests(cluster);
    all.retain(|r| r.api_key == PRODUCE);
    all
}

/// Makes `leaders[p]` the leader of partition `p` (the mock assigns them
/// itself otherwise; the scenarios need to know which broker leads what).
fn set_leaders(cluster: &mut MockCluster, topic: &str, leaders: &[i32]) {
    for (p, b) in leaders.iter().enumerate() {
        cluster.cmd(&format!("leader {topic} {p} {b}"));
    }
}

/// `errors`/`perrors` arguments for these codes.
fn codes(errors: &[ErrorCode]) -> String {
    errors
        .iter()
        .map(|e| e.0.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// librdkafka's `_TRANSPORT`: the mock closes the connection on the request
/// instead of answering it.
const TRANSPORT: i32 = -195;

// ---------------------------------------------------------------------------
// The record stream
// ---------------------------------------------------------------------------

const BASE_TIMESTAMP: i64 = 1_700_000_000_000;

fn producer<T: Rt>(cluster: &MockCluster) -> ProducerBuilder<T::R> {
    // Small batches: every fault meets several batches per partition in
    // flight (max.in.flight stays at its default of 5).
    ProducerBuilder::<T::R>::new()
        .bootstrap_servers(cluster.bootstrap())
        .client_id(&format!("{}-faults", T::NAME))
        .batch_size(2048)
        .request_timeout(Duration::from_secs(5))
        .delivery_timeout(Duration::from_secs(30))
}

/// Record `i`: two in three keyed (37 keys), the rest keyless (sticky
/// partitioner); the value starts with the index so a copy can be traced
/// back; every fifth has a header.
fn stream_record(topic: &Arc<str>, i: usize) -> ProducerRecord {
    let mut r = ProducerRecord::new(topic.clone())
        .timestamp(BASE_TIMESTAMP + i as i64)
        .value(format!("{i:06}:{}", "v".repeat(i % 41)));
    if i % 3 != 0 {
        r = r.key(format!("key-{}", i % 37));
    }
    if i % 5 == 0 {
        r = r.header("n", Some(i.to_string()));
    }
    r
}

fn index_of(value: &[u8]) -> usize {
    std::str::from_utf8(&value[..6])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a stream value: {value:?}"))
}

/// The records a scenario sent, in send order, with their outcomes.
struct Stream {
    topic: Arc<str>,
    partitions: i32,
    records: Vec<ProducerRecord>,
    pending: Vec<Option<DeliveryFuture>>,
    outcomes: Vec<Option<DeliveryResult>>,
}

impl Stream {
    async fn new(producer: &impl TestProducer, topic: &str) -> Stream {
        let partitions = producer
            .partitions_for(topic)
            .await
            .unwrap_or_else(|e| panic!("metadata of {topic}: {e}"))
            .len() as i32;
        Stream {
            topic: topic.into(),
            partitions,
            records: Vec::new(),
            pending: Vec::new(),
            outcomes: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.records.len()
    }

    /// Sends the next `n` records of the stream.
    async fn send(&mut self, producer: &impl TestProducer, n: usize) {
        for _ in 0..n {
            let record = stream_record(&self.topic, self.records.len());
            let delivery = producer
                .send(record.clone())
                .await
                .unwrap_or_else(|e| panic!("send {}: {e}", self.records.len()));
            self.records.push(record);
            self.pending.push(Some(delivery));
            self.outcomes.push(None);
        }
    }

    /// The partition a keyed record must go to; `None` for keyless ones.
    fn keyed_partition(&self, i: usize) -> Option<i32> {
        self.records[i]
            .key
            .as_deref()
            .map(|k| partition_for_key(k, self.partitions))
    }

    /// Collects the outcomes that are ready, without waiting.
    fn collect_ready(&mut self) {
        for (slot, outcome) in self.pending.iter_mut().zip(&mut self.outcomes) {
            if let Some(future) = slot {
                if let Some(result) = poll_now(future) {
                    *outcome = Some(result);
                    *slot = None;
                }
            }
        }
    }

    fn is_done(&self, i: usize) -> bool {
        self.outcomes[i].is_some()
    }

    /// Panics if an outcome collected so far is a failure.
    fn assert_no_failure_yet(&self) {
        if let Some((i, Some(Err(e)))) = self
            .outcomes
            .iter()
            .enumerate()
            .find(|(_, o)| matches!(o, Some(Err(_))))
        {
            panic!("record {i} failed: {e}");
        }
    }

    /// Waits for the outcome of every record before `end`.
    async fn await_until(&mut self, end: usize) {
        for i in 0..end {
            if let Some(future) = self.pending[i].take() {
                self.outcomes[i] = Some(future.await);
            }
        }
    }

    async fn await_all(&mut self) {
        self.await_until(self.len()).await;
    }

    /// Every record's metadata; panics (with a summary) unless every record
    /// was delivered.
    fn delivered(&self) -> Vec<RecordMetadata> {
        let mut failures: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let mut metas = Vec::with_capacity(self.len());
        for (i, outcome) in self.outcomes.iter().enumerate() {
            match outcome {
                Some(Ok(meta)) => metas.push(meta.clone()),
                Some(Err(e)) => failures.entry(e.to_string()).or_insert((i, 0)).1 += 1,
                None => failures.entry("no outcome".into()).or_insert((i, 0)).1 += 1,
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} records not delivered; error: (first record, count): {failures:?}",
            self.len() - metas.len(),
            self.len()
        );
        metas
    }
}

/// What [`verify`] tolerates in the stored log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copies {
    /// Every stored record is one the producer reported, once.
    Forbidden,
    /// Extra stored copies of records are counted, not failed (for faults
    /// where the mock stores an attempt whose answer was lost, see the
    /// module doc); they must precede the acknowledged write.
    Counted,
}

/// Whether [`verify`] asserts that offsets grow in send order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Per partition, a record sent later is written later.
    Kept,
    /// Records written out of send order are counted, not failed: when an
    /// injected error fails one request while a later request for the same
    /// partition is in flight, the later one is written first. A Kafka
    /// broker refuses it (OUT_OF_ORDER_SEQUENCE_NUMBER, so the producer
    /// resends it after the failed one); the mock does not check sequences.
    NotEnforcedByMock,
}

/// What [`verify`] found that the mock allows and Kafka would not.
#[derive(Debug, Default)]
struct Found {
    /// Extra stored copies ([`Copies::Counted`]).
    copies: usize,
    /// Records reported at a lower offset than a record of the same
    /// partition sent before them ([`Order::NotEnforcedByMock`]).
    out_of_order: usize,
}

/// Checks the producer's reports and reads back what the cluster stored:
/// every record delivered once, at distinct offsets, keyed records on their
/// murmur2 partition, offsets growing in send order per partition; the
/// record read at each reported offset is the one sent there, intact, and
/// nothing was lost.
fn verify(cluster: &MockCluster, stream: &Stream, copies: Copies, order: Order) -> Found {
    let mut found_faults = Found::default();
    let metas = stream.delivered();
    let mut at: HashMap<(i32, i64), usize> = HashMap::new();
    let mut last: HashMap<i32, (usize, i64)> = HashMap::new();
    let mut log_end: BTreeMap<i32, i64> = BTreeMap::new();
    for (i, meta) in metas.iter().enumerate() {
        assert_eq!(meta.topic, stream.topic, "record {i}");
        assert!(meta.offset >= 0, "record {i}: {meta:?}");
        if let Some(p) = stream.keyed_partition(i) {
            assert_eq!(meta.partition, p, "keyed record {i} on the wrong partition");
        }
        if let Some(j) = at.insert((meta.partition, meta.offset), i) {
            panic!("records {j} and {i} both reported at {meta:?}");
        }
        match last.get(&meta.partition) {
            Some(&(j, offset)) if offset > meta.offset => {
                assert!(
                    order == Order::NotEnforcedByMock,
                    "partition {}: record {i} at offset {} after record {j} at {offset}",
                    meta.partition,
                    meta.offset
                );
                found_faults.out_of_order += 1;
            }
            _ => {
                last.insert(meta.partition, (i, meta.offset));
            }
        }
        let end = log_end.entry(meta.partition).or_default();
        *end = (*end).max(meta.offset + 1);
    }
    // The last write to each partition is an acknowledged one, so the
    // highest reported offset bounds the log.
    let stored: i64 = log_end.values().sum();
    if copies == Copies::Forbidden {
        assert_eq!(
            stored,
            stream.len() as i64,
            "the log holds records no delivery reported (ends {log_end:?})"
        );
    }
    let got = read_back(
        cluster.bootstrap(),
        &stream.topic,
        usize::try_from(stored).expect("a count"),
        &[],
    );
    assert_eq!(got.len() as i64, stored);
    let mut found = vec![false; stream.len()];
    let mut extra = 0;
    for g in &got {
        match at.get(&(g.partition, g.offset)) {
            Some(&i) => {
                assert_intact(&stream.records[i], g);
                found[i] = true;
            }
            None => {
                let value = g.value.as_deref().expect("a value");
                let i = index_of(value);
                assert!(
                    copies == Copies::Counted,
                    "{}/{} holds a copy of record {i}, reported at {:?}",
                    g.partition,
                    g.offset,
                    metas.get(i)
                );
                assert_intact(&stream.records[i], g);
                assert_eq!(g.partition, metas[i].partition, "copy of {i}");
                assert!(
                    g.offset < metas[i].offset,
                    "a copy of record {i} at {} after its acknowledged write at {}",
                    g.offset,
                    metas[i].offset
                );
                extra += 1;
            }
        }
    }
    let lost: Vec<usize> = (0..stream.len()).filter(|&i| !found[i]).collect();
    assert!(
        lost.is_empty(),
        "{} reported records not read back: {lost:?}",
        lost.len()
    );
    found_faults.copies = extra;
    println!("{}: {found_faults:?}", stream.topic);
    found_faults
}

fn assert_intact(sent: &ProducerRecord, got: &ReadRecord) {
    let i = index_of(got.value.as_deref().unwrap_or_default());
    assert_eq!(got.key.as_deref(), sent.key.as_deref(), "key of {i}");
    assert_eq!(got.value.as_deref(), sent.value.as_deref(), "value of {i}");
    assert_eq!(Some(got.timestamp), sent.timestamp, "timestamp of {i}");
    let headers: Vec<(String, Option<Vec<u8>>)> = sent
        .headers
        .iter()
        .map(|h| (h.key.to_string(), h.value.as_ref().map(|v| v.to_vec())))
        .collect();
    assert_eq!(got.headers, headers, "headers of {i}");
}

/// Sends `records` and waits for all their outcomes.
async fn send_all(
    producer: &impl TestProducer,
    records: Vec<ProducerRecord>,
) -> Vec<DeliveryResult> {
    let mut pending = Vec::with_capacity(records.len());
    for record in records {
        pending.push(producer.send(record).await.expect("queued"));
    }
    let mut outcomes = Vec::with_capacity(pending.len());
    for delivery in pending {
        outcomes.push(delivery.await);
    }
    outcomes
}

/// Sends one record to each partition in turn and returns how many Produce
/// requests each took: 1 each when no injected error is left.
async fn produce_requests_per_probe(
    cluster: &mut MockCluster,
    producer: &impl TestProducer,
    topic: &str,
    partitions: i32,
) -> Vec<usize> {
    let mut counts = Vec::new();
    for partition in 0..partitions {
        cluster.cmd("track clear");
        let probe = ProducerRecord::new(topic)
            .partition(partition)
            .value("probe");
        producer
            .send(probe)
            .await
            .unwrap()
            .await
            .unwrap_or_else(|e| panic!("probe to partition {partition}: {e}"));
        counts.push(produce_requests(cluster).len());
    }
    counts
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

/// 1. The leaders of half the partitions move after every wave of records,
///    ten times, while the previous wave is still in flight.
async fn leader_moves_mid_stream<T: Rt>() {
    const TOPIC: &str = "faults-leaders";
    let mut cluster = MockCluster::start(3, &[(TOPIC, 6, 3)]);
    let mut leaders = [1, 2, 3, 1, 2, 3];
    set_leaders(&mut cluster, TOPIC, &leaders);
    let p = producer::<T>(&cluster).build().unwrap();
    let mut stream = Stream::new(&p, TOPIC).await;
    cluster.cmd("track start");
    for wave in 0..10 {
        stream.send(&p, 300).await;
        for partition in [wave % 6, (wave + 2) % 6, (wave + 4) % 6] {
            leaders[partition] = leaders[partition] % 3 + 1;
            cluster.cmd(&format!(
                "leader {TOPIC} {partition} {}",
                leaders[partition]
            ));
        }
        // Pace the stream so that the moves meet records in flight.
        stream.await_until(stream.len() - 300).await;
    }
    stream.await_all().await;
    p.close(Duration::from_secs(5)).await;
    let produce = produce_requests(&mut cluster);
    for broker in 1..=3 {
        assert!(
            produce.iter().any(|r| r.broker == broker),
            "no Produce reached broker {broker}"
        );
    }
    println!("{} Produce requests", produce.len());
    verify(&cluster, &stream, Copies::Forbidden, Order::Kept);
}

/// 2a. The leader of two partitions goes down mid-stream: its records wait
///     while the others are delivered, and come through once it is up.
async fn broker_down_then_up<T: Rt>() {
    const TOPIC: &str = "faults-down-up";
    let mut cluster = MockCluster::start(3, &[(TOPIC, 4, 3)]);
    set_leaders(&mut cluster, TOPIC, &[1, 2, 3, 1]);
    let p = producer::<T>(&cluster).build().unwrap();
    let mut stream = Stream::new(&p, TOPIC).await;
    stream.send(&p, 1000).await;
    stream.await_all().await;

    cluster.cmd("down 1");
    let first = stream.len();
    stream.send(&p, 1000).await;
    let on_down: Vec<usize> = (first..stream.len())
        .filter(|&i| matches!(stream.keyed_partition(i), Some(0 | 3)))
        .collect();
    let elsewhere: Vec<usize> = (first..stream.len())
        .filter(|&i| matches!(stream.keyed_partition(i), Some(1 | 2)))
        .collect();
    assert!(!on_down.is_empty() && !elsewhere.is_empty());
    wait_until(
        Duration::from_secs(10),
        "records for brokers 2 and 3 delivered while broker 1 is down",
        || {
            stream.collect_ready();
            elsewhere.iter().all(|&i| stream.is_done(i))
        },
    )
    .await;
    // The fault lasts: the producer keeps trying the dead broker.
    sleep(Duration::from_millis(1500)).await;
    stream.collect_ready();
    stream.assert_no_failure_yet();
    let early = on_down.iter().filter(|&&i| stream.is_done(i)).count();
    assert_eq!(early, 0, "records for a down leader have outcomes");

    cluster.cmd("up 1");
    stream.send(&p, 500).await;
    stream.await_all().await;
    p.close(Duration::from_secs(5)).await;
    verify(&cluster, &stream, Copies::Forbidden, Order::Kept);
}

/// 2b. The leader goes down and, while it is down, its partitions move to
///     the other brokers: the waiting records follow them without the old
///     leader ever coming back.
async fn broker_down_and_leadership_moves_away<T: Rt>() {
    const TOPIC: &str = "faults-down-move";
    let mut cluster = MockCluster::start(3, &[(TOPIC, 4, 3)]);
    set_leaders(&mut cluster, TOPIC, &[1, 2, 3, 1]);
    let p = producer::<T>(&cluster).build().unwrap();
    let mut stream = Stream::new(&p, TOPIC).await;
    stream.send(&p, 1000).await;
    stream.await_all().await;

    cluster.cmd("down 1");
    let first = stream.len();
    stream.send(&p, 1000).await;
    let on_down: Vec<usize> = (first..stream.len())
        .filter(|&i| matches!(stream.keyed_partition(i), Some(0 | 3)))
        .collect();
    sleep(Duration::from_millis(1000)).await;
    stream.collect_ready();
    stream.assert_no_failure_yet();
    let early = on_down.iter().filter(|&&i| stream.is_done(i)).count();
    assert_eq!(early, 0, "records for a down leader have outcomes");
    cluster.cmd(&format!("leader {TOPIC} 0 2"));
    cluster.cmd(&format!("leader {TOPIC} 3 3"));
    stream.await_all().await;
    stream.send(&p, 500).await;
    stream.await_all().await;
    p.close(Duration::from_secs(5)).await;
    cluster.cmd("up 1");
    verify(&cluster, &stream, Copies::Forbidden, Order::Kept);
}

/// 3. Retriable errors injected on Produce, cluster-wide (`errors`) and per
///    partition (`perrors`), in the middle of a stream; then, on an idle
///    producer, exact counts: each injected error costs one Produce request
///    more. Run with one request in flight per connection (order must hold
///    even though the mock checks no sequences) and with the default five
///    (order is then up to the broker's sequence check, see
///    [`Order::NotEnforcedByMock`]).
///
///    Per-partition errors are used sparingly: the mock takes each code of a
///    `perrors` command as a separate round trip to its thread, up to half a
///    second each on an idle cluster.
async fn retriable_errors_on_produce<T: Rt>(errors: &[ErrorCode]) {
    let mut cluster =
        MockCluster::start(3, &[("faults-errors-1", 4, 3), ("faults-errors-5", 4, 3)]);
    let injected = codes(errors);
    let per_partition = codes(&errors[..errors.len().min(2)]);
    cluster.cmd("track start");
    for in_flight in [1, 5] {
        let topic = format!("faults-errors-{in_flight}");
        set_leaders(&mut cluster, &topic, &[1, 2, 3, 1]);
        let p = producer::<T>(&cluster)
            .max_in_flight(in_flight)
            .build()
            .unwrap();
        let mut stream = Stream::new(&p, &topic).await;
        cluster.cmd("track clear");
        stream.send(&p, 500).await;
        cluster.cmd(&format!("errors {PRODUCE} {injected}"));
        stream.send(&p, 1000).await;
        cluster.cmd(&format!("perrors {topic} 1 {PRODUCE} {per_partition}"));
        stream.send(&p, 1000).await;
        stream.await_until(1500).await;
        cluster.cmd(&format!("errors {PRODUCE} {injected}"));
        stream.send(&p, 500).await;
        stream.await_all().await;
        let produced = produce_requests(&mut cluster).len();
        println!(
            "in flight {in_flight}: {produced} Produce requests for {} records",
            stream.len()
        );
        let order = if in_flight == 1 {
            Order::Kept
        } else {
            Order::NotEnforcedByMock
        };
        verify(&cluster, &stream, Copies::Forbidden, order);

        // The stream consumed every injected error (the probes find none
        // left) and every record was delivered: each failed request was
        // retried.
        assert_eq!(
            produce_requests_per_probe(&mut cluster, &p, &topic, 4).await,
            [1, 1, 1, 1],
            "Produce requests per probe: injected errors left over"
        );
        if in_flight == 5 {
            cluster.cmd(&format!("errors {PRODUCE} {injected}"));
            cluster.cmd(&format!("perrors {topic} 3 {PRODUCE} {per_partition}"));
            let (n, m) = (errors.len(), errors.len().min(2));
            assert_eq!(
                produce_requests_per_probe(&mut cluster, &p, &topic, 4).await,
                [n + 1, 1, 1, m + 1],
                "Produce requests per probe"
            );
        }
        p.close(Duration::from_secs(5)).await;
    }
}

/// 4. Connections dropped on Produce (`-195`) mid-stream, taking the other
///    requests in flight on them along; then an exact count on an idle
///    producer. With one request in flight nothing can be stored twice (the
///    mock drops the connection before appending); with five, the mock may
///    already have appended requests that followed the dropped one on the
///    same connection, whose answers are lost: the producer resends them
///    (possibly written, same sequence numbers), a Kafka broker would answer
///    the resend as a duplicate, and the mock, which checks no sequences,
///    stores them again. Those copies are counted and reported, and must
///    precede the acknowledged writes.
async fn dropped_connections_on_produce<T: Rt>() {
    let mut cluster = MockCluster::start(
        3,
        &[("faults-transport-1", 4, 3), ("faults-transport-5", 4, 3)],
    );
    for in_flight in [1, 5] {
        let topic = format!("faults-transport-{in_flight}");
        set_leaders(&mut cluster, &topic, &[1, 2, 3, 1]);
        let p = producer::<T>(&cluster)
            .max_in_flight(in_flight)
            .build()
            .unwrap();
        let mut stream = Stream::new(&p, &topic).await;
        cluster.cmd("track start");
        cluster.cmd("track clear");
        for _ in 0..6 {
            stream.send(&p, 500).await;
            cluster.cmd(&format!("errors {PRODUCE} {TRANSPORT} {TRANSPORT}"));
        }
        stream.await_all().await;
        let produced = produce_requests(&mut cluster).len();
        println!(
            "in flight {in_flight}: {produced} Produce requests for {} records",
            stream.len()
        );
        let copies = if in_flight == 1 {
            Copies::Forbidden
        } else {
            Copies::Counted
        };
        verify(&cluster, &stream, copies, Order::Kept);

        assert_eq!(
            produce_requests_per_probe(&mut cluster, &p, &topic, 4).await,
            [1, 1, 1, 1],
            "Produce requests per probe: injected errors left over"
        );
        cluster.cmd(&format!("errors {PRODUCE} {TRANSPORT} {TRANSPORT}"));
        assert_eq!(
            produce_requests_per_probe(&mut cluster, &p, &topic, 2).await,
            [3, 1],
            "Produce requests per probe"
        );
        p.close(Duration::from_secs(5)).await;
    }
}

/// 5a. 300 ms of added latency on one broker, well under
///     `request.timeout.ms`: slower, nothing else changes.
async fn added_latency_below_request_timeout<T: Rt>() {
    const TOPIC: &str = "faults-rtt";
    let mut cluster = MockCluster::start(3, &[(TOPIC, 4, 3)]);
    set_leaders(&mut cluster, TOPIC, &[1, 2, 3, 1]);
    let p = producer::<T>(&cluster)
        .request_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let mut stream = Stream::new(&p, TOPIC).await;
    cluster.cmd("rtt 2 300");
    let start = Instant::now();
    for _ in 0..4 {
        stream.send(&p, 500).await;
    }
    stream.await_all().await;
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    p.close(Duration::from_secs(5)).await;
    // The read-back consumer need not wait too.
    cluster.cmd("rtt 2 0");
    verify(&cluster, &stream, Copies::Forbidden, Order::Kept);
}

/// 5b. Latency above `request.timeout.ms` on one broker for a while:
///     requests to it time out and are retried, and once the latency is
///     gone the records arrive, well within `delivery.timeout.ms`. Then an
///     exact count with one delayed Produce answer.
async fn added_latency_above_request_timeout<T: Rt>() {
    const TOPIC: &str = "faults-rtt-timeout";
    let mut cluster = MockCluster::start(3, &[(TOPIC, 4, 3)]);
    set_leaders(&mut cluster, TOPIC, &[1, 2, 3, 1]);
    let request_timeout = Duration::from_millis(800);
    let p = producer::<T>(&cluster)
        .request_timeout(request_timeout)
        .delivery_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut stream = Stream::new(&p, TOPIC).await;
    stream.send(&p, 500).await;
    stream.await_all().await;

    cluster.cmd("track start");
    cluster.cmd("rtt 2 2000");
    let first = stream.len();
    stream.send(&p, 1500).await;
    // The mock delays every answer of broker 2, ApiVersions included: the
    // producer gives up on the first Produce after request.timeout.ms and
    // reconnects. Wait until it has.
    let timeout_us = i64::try_from(request_timeout.as_micros()).unwrap();
    wait_until(
        Duration::from_secs(10),
        "a request to broker 2 after its first Produce timed out",
        || {
            let to_2: Vec<SeenRequest> = seen_requests(&mut cluster)
                .into_iter()
                .filter(|r| r.broker == 2)
                .collect();
            let Some(produce) = to_2.iter().find(|r| r.api_key == PRODUCE) else {
                return false;
            };
            to_2.iter().any(|r| r.at_us >= produce.at_us + timeout_us)
        },
    )
    .await;
    stream.collect_ready();
    stream.assert_no_failure_yet();
    let waiting = (first..stream.len())
        .filter(|&i| stream.keyed_partition(i) == Some(1) && !stream.is_done(i))
        .count();
    assert!(waiting > 0, "records for the slow broker already delivered");
    cluster.cmd("rtt 2 0");
    stream.await_all().await;
    verify(&cluster, &stream, Copies::Counted, Order::Kept);

    // One Produce answer of broker 2 delayed past request.timeout.ms
    // (error 0 with a delay): exactly one more Produce request.
    cluster.cmd(&format!(
        "broker_errors 2 {PRODUCE} 0:{}",
        request_timeout.as_millis() * 2
    ));
    assert_eq!(
        produce_requests_per_probe(&mut cluster, &p, TOPIC, 2).await,
        [1, 2],
        "Produce requests per probe"
    );
    p.close(Duration::from_secs(5)).await;
}

/// Asserts that every outcome is a `Timeout` with `possibly_written` as
/// given and returns the `last_error`s seen.
fn assert_timeouts(outcomes: &[DeliveryResult], possibly_written: bool) -> Vec<Option<ErrorCode>> {
    let mut last_errors = Vec::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Err(e) => {
                let DeliveryErrorKind::Timeout { last_error } = &e.kind else {
                    panic!("record {i}: expected a timeout, got {e}");
                };
                assert_eq!(e.possibly_written, possibly_written, "record {i}: {e}");
                if !last_errors.contains(last_error) {
                    last_errors.push(*last_error);
                }
            }
            Ok(meta) => panic!("record {i} delivered at {meta:?}"),
        }
    }
    last_errors
}

/// A producer that gives up on a record after 1.5 s.
fn impatient_producer<T: Rt>(cluster: &MockCluster) -> T::P {
    producer::<T>(cluster)
        .request_timeout(Duration::from_millis(1000))
        .delivery_timeout(IMPATIENCE)
        .build()
        .unwrap()
}

const IMPATIENCE: Duration = Duration::from_millis(1500);

/// 6. Faults that outlast `delivery.timeout.ms`: every record fails with
///    `DeliveryErrorKind::Timeout`, and `possibly_written` tells records
///    that never reached a broker (all brokers down, or refused with a
///    retriable error every time) from those in a request that never got an
///    answer. The log then holds exactly what was delivered.
///
///    Each case has a producer of its own: after a failed batch an
///    idempotent producer bumps its epoch (KIP-360), which the mock refuses
///    for non-transactional producers (INVALID_PRODUCER_ID_MAPPING, where
///    Kafka hands out a new id), and the producer then stops as Java's does.
async fn delivery_timeout_when_delivery_is_impossible<T: Rt>() {
    const TOPIC: &str = "faults-impossible";
    const SLOW: &str = "faults-impossible-slow";
    let mut cluster = MockCluster::start(3, &[(TOPIC, 3, 3), (SLOW, 1, 3)]);
    set_leaders(&mut cluster, TOPIC, &[1, 2, 3]);
    set_leaders(&mut cluster, SLOW, &[3]);

    // What the log will hold: records written before any fault.
    let p = impatient_producer::<T>(&cluster);
    let mut stream = Stream::new(&p, TOPIC).await;
    stream.send(&p, 300).await;
    stream.await_all().await;
    p.close(Duration::from_secs(5)).await;

    // Every broker down: nothing can be sent. The records go to partitions
    // whose leader the producer never connected to (it got metadata from
    // one broker): with a connection up when the brokers go down, a
    // Produce request may still leave before the producer sees it close,
    // and those records would rightly count as possibly written.
    let p = impatient_producer::<T>(&cluster);
    cluster.cmd("track start");
    cluster.cmd("track clear");
    assert_eq!(p.partitions_for(TOPIC).await.unwrap().len(), 3);
    let connected: Vec<i32> = seen_requests(&mut cluster)
        .iter()
        .map(|r| r.broker)
        .collect();
    let unvisited: Vec<i32> = (0..3).filter(|&p| !connected.contains(&(p + 1))).collect();
    assert!(!unvisited.is_empty(), "connected to {connected:?}");
    for b in 1..=3 {
        cluster.cmd(&format!("down {b}"));
    }
    let doomed = (0..300)
        .map(|i| {
            let partition = unvisited[i % unvisited.len()];
            stream_record(&stream.topic, 100_000 + i).partition(partition)
        })
        .collect();
    let start = Instant::now();
    let outcomes = send_all(&p, doomed).await;
    let took = start.elapsed();
    assert_eq!(assert_timeouts(&outcomes, false), [None]);
    assert!(
        took >= IMPATIENCE - Duration::from_millis(100) && took < Duration::from_secs(6),
        "failed after {took:?}"
    );
    for b in 1..=3 {
        cluster.cmd(&format!("up {b}"));
    }
    p.close(Duration::from_secs(5)).await;

    // NOT_ENOUGH_REPLICAS on every attempt: nothing written, and the last
    // error is reported.
    let p = impatient_producer::<T>(&cluster);
    // Cluster-wide (only this producer produces): `perrors` would take a
    // round trip to the mock's thread per code.
    let refusals = vec![ErrorCode::NOT_ENOUGH_REPLICAS; 60];
    cluster.cmd(&format!("errors {PRODUCE} {}", codes(&refusals)));
    let doomed = (0..50)
        .map(|i| stream_record(&stream.topic, 200_000 + i).partition(1))
        .collect();
    let outcomes = send_all(&p, doomed).await;
    // With idempotence a partition sends one batch at a time until one of
    // the epoch is acknowledged there: batches behind the refused one may
    // never leave (no last error), none was written.
    let last_errors = assert_timeouts(&outcomes, false);
    assert!(
        last_errors.contains(&Some(ErrorCode::NOT_ENOUGH_REPLICAS))
            && last_errors
                .iter()
                .all(|e| matches!(e, None | Some(ErrorCode::NOT_ENOUGH_REPLICAS))),
        "{last_errors:?}"
    );
    p.close(Duration::from_secs(5)).await;
    cluster.cmd(&format!("clear {PRODUCE}"));

    // Answers slower than delivery.timeout.ms: the records were sent, so
    // they may have been written (the mock did write them).
    let p = impatient_producer::<T>(&cluster);
    // Connected before the latency starts: else the records wait for the
    // connection's ApiVersions answer and are never sent.
    p.send(ProducerRecord::new(SLOW).value("warm-up"))
        .await
        .unwrap()
        .await
        .unwrap();
    cluster.cmd("rtt 3 10000");
    let doomed = (0..50)
        .map(|i| {
            ProducerRecord::new(SLOW)
                .key(format!("k{i}"))
                .value(format!("slow {i}"))
        })
        .collect();
    let outcomes = send_all(&p, doomed).await;
    let last_errors = assert_timeouts(&outcomes, true);
    println!("in flight at the deadline: last errors {last_errors:?}");
    // Sent, then timed out: each counts as an error (record-error-total).
    assert_eq!(p.metrics().get("record-error-total"), Some(50.0));
    cluster.cmd("rtt 3 0");
    p.close(Duration::from_secs(5)).await;

    // Nothing of the refused or never-sent records is in the log.
    verify(&cluster, &stream, Copies::Forbidden, Order::Kept);
}

/// The producer straight against a one-broker mock cluster, without faults:
/// it must get metadata (taking one ApiVersions round trip more to find a
/// version the mock accepts) and deliver. Before the core accepted the two
/// answers described in the module doc, it reconnected forever here.
async fn direct_connection_to_the_mock_cluster<T: Rt>() {
    const TOPIC: &str = "faults-direct";
    let mut cluster = MockCluster::start(1, &[(TOPIC, 2, 1)]);
    cluster.cmd("track start");
    let p = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(cluster.bootstrap())
        .client_id(&format!("{}-faults-direct", T::NAME))
        .max_block(Duration::from_secs(3))
        .build()
        .unwrap();
    let partitions = p.partitions_for(TOPIC).await.map(|p| p.len());
    assert_eq!(
        partitions,
        Ok(2),
        "metadata of {TOPIC} after {} ApiVersions requests",
        api_versions_requests(&mut cluster)
    );
    let meta = p
        .send(ProducerRecord::new(TOPIC).partition(1).value("direct"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!((meta.partition, meta.offset), (1, 0));
    p.close(Duration::from_secs(5)).await;
    // Two per connection (v4 refused, then v0), at most two connections
    // (bootstrap and broker 1): more means a connection was dropped and
    // opened again.
    let api_versions = api_versions_requests(&mut cluster);
    assert!(
        (1..=4).contains(&api_versions),
        "{api_versions} ApiVersions requests"
    );
    println!("{api_versions} ApiVersions requests");
    let got = read_back(cluster.bootstrap(), TOPIC, 1, &[]);
    assert_eq!(got[0].value.as_deref(), Some(&b"direct"[..]));
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// Fails a scenario that hangs rather than letting the suite hang. (On mio
/// the limit is checked only between the producer's blocking calls, each
/// of which is bounded by max.block.ms or a close timeout.)
async fn within(scenario: impl Future<Output = ()>) {
    const LIMIT: Duration = Duration::from_secs(60);
    if timeout(LIMIT, scenario).await.is_none() {
        panic!("the scenario did not finish within {LIMIT:?}");
    }
}

/// Keyless records sent in `waves` waves of `per_wave`, a pause of
/// `pause` after each, to `topic`: each one's send time and delivery.
async fn send_keyless_waves(
    p: &impl TestProducer,
    topic: &Arc<str>,
    waves: usize,
    per_wave: usize,
    pause: Duration,
) -> Vec<(Instant, DeliveryFuture)> {
    let mut pending = Vec::with_capacity(waves * per_wave);
    for wave in 0..waves {
        for i in 0..per_wave {
            let record =
                ProducerRecord::new(topic.clone()).value(format!("{wave}-{i}-{}", "x".repeat(90)));
            let sent = Instant::now();
            let delivery = p.send(record).await.unwrap_or_else(|e| panic!("send: {e}"));
            pending.push((sent, delivery));
        }
        sleep(pause).await;
    }
    pending
}

/// Each record's send time and the partition it was delivered to.
async fn partitions_delivered(pending: Vec<(Instant, DeliveryFuture)>) -> Vec<(Instant, i32)> {
    let mut out = Vec::with_capacity(pending.len());
    for (sent, delivery) in pending {
        let meta = delivery.await.unwrap_or_else(|e| panic!("delivery: {e}"));
        out.push((sent, meta.partition));
    }
    out
}

/// A producer for the partitioning scenarios: small batches, so the sticky
/// partition changes every few records, one request in flight per broker,
/// no linger.
fn partitioning_producer<T: Rt>(cluster: &MockCluster, props: &[(&str, &str)]) -> T::P {
    let mut b = producer::<T>(cluster)
        .batch_size(512)
        .linger(Duration::ZERO)
        .max_in_flight(1)
        .request_timeout(Duration::from_secs(10))
        .delivery_timeout(Duration::from_secs(60));
    for (k, v) in props {
        b = b.set(k, v);
    }
    b.build().expect("build the producer")
}

/// KIP-794: with adaptive partitioning (Java's default) keyless records
/// steer away from a slow broker, whose queues grow; without it they are
/// spread evenly whatever the brokers' speed.
async fn adaptive_partitioning_steers_keyless_records_from_a_slow_broker<T: Rt>() {
    require_tools!(Tool::MockCluster);
    let scenario = async {
        let mut share = Vec::new();
        for adaptive in ["true", "false"] {
            let topic: Arc<str> = format!("partitioning-adaptive-{adaptive}-{}", T::NAME).into();
            let mut cluster = MockCluster::start(3, &[(&*topic, 6, 1)]);
            set_leaders(&mut cluster, &topic, &[1, 1, 2, 2, 3, 3]);
            // Broker 3 answers every request 250 ms late.
            cluster.cmd("rtt 3 250");
            let p = partitioning_producer::<T>(
                &cluster,
                &[("partitioner.adaptive.partitioning.enable", adaptive)],
            );
            let pending = send_keyless_waves(&p, &topic, 60, 25, Duration::from_millis(20)).await;
            let sent = partitions_delivered(pending).await;
            p.close(Duration::from_secs(10)).await;
            let slow = sent.iter().filter(|(_, p)| *p >= 4).count();
            let fraction = slow as f64 / sent.len() as f64;
            println!(
                "adaptive={adaptive}: {slow} of {} records to the slow broker",
                sent.len()
            );
            share.push(fraction);
        }
        assert!(
            share[0] < 0.15,
            "adaptive: {:.1} % of the records went to the slow broker",
            share[0] * 100.0
        );
        assert!(
            share[1] > 0.22,
            "uniform: only {:.1} % went to the slow broker (a third expected)",
            share[1] * 100.0
        );
    };
    timeout(Duration::from_secs(120), scenario)
        .await
        .expect("the scenario took over 120 s");
}

/// KIP-794's `partitioner.availability.timeout.ms`: once a broker has left
/// ready data waiting that long (here: it is down), its partitions get no
/// new keyless records; what was already sent to them is delivered once it
/// is back.
async fn availability_timeout_leaves_an_unreachable_broker_out<T: Rt>() {
    require_tools!(Tool::MockCluster);
    let scenario = async {
        let topic: Arc<str> = format!("partitioning-availability-{}", T::NAME).into();
        let mut cluster = MockCluster::start(3, &[(&*topic, 6, 1)]);
        set_leaders(&mut cluster, &topic, &[1, 1, 2, 2, 3, 3]);
        let p =
            partitioning_producer::<T>(&cluster, &[("partitioner.availability.timeout.ms", "200")]);
        // Everything known and connected first.
        let first = send_keyless_waves(&p, &topic, 2, 10, Duration::ZERO).await;
        partitions_delivered(first).await;
        cluster.cmd("down 3");
        let down_at = Instant::now();
        // Send for about 1.5 s while broker 3 is down, then bring it back
        // and collect every delivery.
        let pending = send_keyless_waves(&p, &topic, 50, 10, Duration::from_millis(30)).await;
        cluster.cmd("up 3");
        let sent = partitions_delivered(pending).await;
        p.close(Duration::from_secs(10)).await;
        let settled = down_at + Duration::from_millis(600);
        let late_to_down = sent
            .iter()
            .filter(|(at, p)| *at > settled && *p >= 4)
            .count();
        let late = sent.iter().filter(|(at, _)| *at > settled).count();
        let early_to_down = sent
            .iter()
            .filter(|(at, p)| *at <= settled && *p >= 4)
            .count();
        println!(
            "{early_to_down} records to the down broker before {settled:?}, {late_to_down} of {late} after"
        );
        assert!(late > 100, "too few records sent after the timeout: {late}");
        assert_eq!(
            late_to_down, 0,
            "records went to the unreachable broker after the timeout"
        );
    };
    timeout(Duration::from_secs(120), scenario)
        .await
        .expect("the scenario took over 120 s");
}

async fn leader_moves_mid_stream_lose_and_duplicate_nothing<T: Rt>() {
    require_tools!(Tool::MockCluster, Tool::Python);
    within(leader_moves_mid_stream::<T>()).await;
}

async fn records_for_a_down_broker_wait_and_arrive_after_it_is_up<T: Rt>() {
    require_tools!(Tool::MockCluster, Tool::Python);
    within(broker_down_then_up::<T>()).await;
}

async fn records_for_a_down_broker_follow_leadership_moving_away<T: Rt>() {
    require_tools!(Tool::MockCluster, Tool::Python);
    within(broker_down_and_leadership_moves_away::<T>()).await;
}

async fn not_leader_or_follower_on_produce_is_retried<T: Rt>() {
    require_tools!(Tool::MockCluster, Tool::Python);
    within(retriable_errors_on_produce::<T>(
        &[ErrorCode::NOT_LEADER_OR_FOLLOWER; 3],
    ))
    .await;
}

async fn other_retriable_errors_on_produce_are_retried<T: Rt>() {
    require_tools!(Tool::MockCluster, Tool::Python);
    within(retriable_errors_on_produce::<T>(&[
        ErrorCode::REQUEST_TIMED_OUT,
        ErrorCode::NOT_ENOUGH_REPLICAS,
        ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        ErrorCode::LEADER_NOT_AVAILABLE,
    ]))
    .await;
}

async fn dropped_connections_on_produce_lose_nothing_and_keep_order<T: Rt>() {
    require_tools!(Tool::MockCluster, Tool::Python);
    within(dropped_connections_on_produce::<T>()).await;
}

async fn latency_below_request_timeout_only_slows_delivery<T: Rt>() {
    require_tools!(Tool::MockCluster, Tool::Python);
    within(added_latency_below_request_timeout::<T>()).await;
}

async fn requests_timing_out_are_retried_until_the_broker_answers<T: Rt>() {
    require_tools!(Tool::MockCluster, Tool::Python);
    within(added_latency_above_request_timeout::<T>()).await;
}

async fn impossible_delivery_fails_each_record_with_a_timeout<T: Rt>() {
    require_tools!(Tool::MockCluster, Tool::Python);
    within(delivery_timeout_when_delivery_is_impossible::<T>()).await;
}

/// The producer's metrics against the mock broker's own request tracking.
/// One record per Produce request (each sent once the last was delivered);
/// the first three Produce requests are answered NOT_ENOUGH_REPLICAS.
/// `record-send-total` is then the number of Produce requests the broker
/// saw (Java counts a retried record again), `record-retry-total` the
/// number it refused, overall and for the topic; `request-total` every
/// request the broker saw, and `response-total` each answered.
async fn metrics_match_the_brokers_request_tracking<T: Rt>() {
    require_tools!(Tool::MockCluster, Tool::Python);
    let scenario = async {
        const N: usize = 20;
        const REFUSED: usize = 3;
        let topic: Arc<str> = format!("faults-metrics-{}", T::NAME).into();
        let mut cluster = MockCluster::start(1, &[(&*topic, 1, 1)]);
        cluster.cmd("track start");
        cluster.cmd(&format!(
            "errors {PRODUCE} {}",
            codes(&[ErrorCode::NOT_ENOUGH_REPLICAS; REFUSED])
        ));
        let p = producer::<T>(&cluster)
            .linger(Duration::ZERO)
            .build()
            .unwrap();
        for i in 0..N {
            let record = ProducerRecord::new(topic.clone()).value(format!("record {i}"));
            let delivery = p.send(record).await.unwrap();
            delivery.await.unwrap_or_else(|e| panic!("record {i}: {e}"));
        }
        let produced = produce_requests(&mut cluster).len();
        assert_eq!(produced, N + REFUSED);
        let m = p.metrics();
        assert_eq!(m.get("record-send-total"), Some(produced as f64), "{m:?}");
        assert_eq!(m.get("record-retry-total"), Some(REFUSED as f64));
        assert_eq!(m.get("record-error-total"), Some(0.0));
        let of_topic = |name| m.get_tagged("producer-topic-metrics", name, "topic", &topic);
        assert_eq!(of_topic("record-send-total"), Some(produced as f64));
        assert_eq!(of_topic("record-retry-total"), Some(REFUSED as f64));
        assert_eq!(m.get("records-per-request-avg"), Some(1.0));
        assert!(m.get("record-retry-rate").unwrap() > 0.0);
        // Every request the broker saw was made and counted by the producer.
        let seen = seen_requests(&mut cluster).len() as f64;
        let requests = m.get("request-total").unwrap();
        let responses = m.get("response-total").unwrap();
        assert_eq!(requests, seen, "{m:?}");
        assert!(
            responses <= requests && responses >= requests - 2.0,
            "{m:?}"
        );
        let latency = m.get("request-latency-avg").unwrap();
        assert!(latency > 0.0 && latency <= m.get("request-latency-max").unwrap());
        let node = |name| m.get_tagged("producer-node-metrics", name, "node-id", "node-1");
        assert!(node("request-total").unwrap() >= produced as f64, "{m:?}");
        println!(
            "{}: {produced} Produce requests seen, {seen} requests in all; metrics agree",
            T::NAME
        );
        p.close(Duration::from_secs(5)).await;
    };
    within(scenario).await;
}

async fn the_producer_reaches_the_mock_cluster_directly<T: Rt>() {
    require_tools!(Tool::MockCluster, Tool::Python);
    within(direct_connection_to_the_mock_cluster::<T>()).await;
}

runtimes::suite!(
    leader_moves_mid_stream_lose_and_duplicate_nothing,
    records_for_a_down_broker_wait_and_arrive_after_it_is_up,
    records_for_a_down_broker_follow_leadership_moving_away,
    not_leader_or_follower_on_produce_is_retried,
    other_retriable_errors_on_produce_are_retried,
    dropped_connections_on_produce_lose_nothing_and_keep_order,
    latency_below_request_timeout_only_slows_delivery,
    requests_timing_out_are_retried_until_the_broker_answers,
    impossible_delivery_fails_each_record_with_a_timeout,
    the_producer_reaches_the_mock_cluster_directly,
    metrics_match_the_brokers_request_tracking,
    adaptive_partitioning_steers_keyless_records_from_a_slow_broker,
    availability_timeout_leaves_an_unreachable_broker_out,
);
