//! "No allocation per record on the hot path" (DESIGN.md, Performance),
//! checked with a counting global allocator while the producer runs against
//! a zero-latency simulated broker (`kafka-sim`, no faults, records not
//! stored), configured as the throughput bench is: `linger.ms=5`,
//! `batch.size=65536`, `acks=all`, idempotence on.
//!
//! - A `send()` that appends to an open batch allocates nothing.
//! - The whole loop (sends, Produce requests, the broker's answers, events)
//!   allocates per batch: a small constant, far below the ~480 records a
//!   batch holds here.
//!
//! The allocator's counters are process-wide, so the tests take turns
//! (`SERIAL`), and the strict check allows a measurement to be repeated in
//! case another thread (the test runner) allocated during it: a real
//! per-record allocation shows up in every one of 50,000 sends.

// The test is the caller: it reads the clock.
#![allow(clippy::disallowed_methods)]

use std::alloc::System;
use std::sync::Mutex;
use std::time::Instant;

use kafka_producer_core::{ConnId, Event, Producer, ProducerConfig, Record, SendError};
use kafka_sim::{ClusterSpec, ConnId as SimConn, Faults, NetOutput, SimCluster};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

static SERIAL: Mutex<()> = Mutex::new(());

const TOPIC: &str = "alloc";
const POOL: usize = 256;

fn serial() -> std::sync::MutexGuard<'static, ()> {
    // A failed test poisons the lock; the others may still run.
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Allocations and reallocations in a region.
fn allocations(region: &Region<'_, System>) -> usize {
    let change = region.change();
    change.allocations + change.reallocations
}

/// Allocations made inside `send()`, by whether the record opened a batch.
#[derive(Debug, Default)]
struct SendCounts {
    appending_sends: usize,
    appending_allocations: usize,
    opening_sends: usize,
    opening_allocations: usize,
}

struct Harness {
    producer: Producer,
    cluster: SimCluster,
    conns: Vec<(ConnId, SimConn)>,
    now: Instant,
    keyed: bool,
    values: Vec<Vec<u8>>,
    keys: Vec<Vec<u8>>,
    sent: u64,
    delivered_records: u64,
    delivered_batches: u64,
    counts: Option<SendCounts>,
}

impl Harness {
    fn new(partitions: i32, keyed: bool, compression: &str) -> Harness {
        let spec = ClusterSpec {
            brokers: vec![1],
            topics: vec![(TOPIC.to_string(), partitions)],
            store_records: false,
            ..Default::default()
        };
        let cluster = SimCluster::new(spec, Faults::default(), 3);
        let (host, port) = cluster.bootstrap()[0].clone();
        let mut config = ProducerConfig::default();
        for (key, value) in [
            ("bootstrap.servers", format!("{host}:{port}")),
            ("linger.ms", "5".into()),
            ("batch.size", "65536".into()),
            ("acks", "all".into()),
            ("enable.idempotence", "true".into()),
            ("compression.type", compression.into()),
        ] {
            config.set(key, &value).expect("valid config");
        }
        let now = Instant::now();
        let producer = Producer::new(config, now, 1_700_000_000_000, 11).expect("producer");
        let mut h = Harness {
            producer,
            cluster,
            conns: Vec::new(),
            now,
            keyed,
            values: (0..POOL)
                .map(|i| {
                    let mut v =
                        format!("{{\"n\":{i},\"payload\":\"{:x}\"}}", i * 7919).into_bytes();
                    v.resize(100, b'.');
                    v
                })
                .collect(),
            keys: (0..POOL)
                .map(|i| format!("key-{i:08}").into_bytes())
                .collect(),
            sent: 0,
            delivered_records: 0,
            delivered_batches: 0,
            counts: None,
        };
        h.producer.prefetch_topic(TOPIC, now).expect("valid topic");
        let mut turns = 0;
        while h.producer.partition_count(TOPIC) != Some(partitions)
            || h.producer.producer_id().is_none()
        {
            turns += 1;
            assert!(turns < 10_000, "no metadata or producer id");
            if !h.pump() {
                h.step_time();
            }
        }
        h
    }

    fn send_one(&mut self) -> bool {
        let i = self.sent as usize % POOL;
        let record = Record {
            topic: TOPIC,
            key: self.keyed.then_some(&self.keys[i][..]),
            value: Some(&self.values[i][..]),
            ..Default::default()
        };
        let region = Region::new(GLOBAL);
        let result = self.producer.send(&record, self.now);
        let allocated = allocations(&region);
        match result {
            Ok(token) => {
                if let Some(c) = &mut self.counts {
                    if token.index == 0 {
                        c.opening_sends += 1;
                        c.opening_allocations += allocated;
                    } else {
                        c.appending_sends += 1;
                        c.appending_allocations += allocated;
                    }
                }
                self.sent += 1;
                true
            }
            Err(SendError::BufferFull { .. }) => false,
            Err(e) => panic!("send: {e}"),
        }
    }

    fn pump(&mut self) -> bool {
        let mut any = false;
        loop {
            let mut progress = false;
            while let Some(c) = self.producer.poll_connect() {
                progress = true;
                let s = self
                    .cluster
                    .connect(&c.host, c.port, self.now)
                    .expect("the broker is up");
                self.conns.push((c.conn, s));
                self.producer.handle_connected(c.conn, self.now);
            }
            while let Some(t) = self.producer.poll_transmit(self.now) {
                progress = true;
                if let Some(&(_, s)) = self.conns.iter().find(|(c, _)| *c == t.conn) {
                    self.cluster.client_send(s, &t.data, self.now);
                }
            }
            while let Some(c) = self.producer.poll_close() {
                progress = true;
                if let Some(&(_, s)) = self.conns.iter().find(|(x, _)| *x == c) {
                    self.conns.retain(|(x, _)| *x != c);
                    self.cluster.client_close(s);
                }
            }
            while let Some(out) = self.cluster.poll_output(self.now) {
                progress = true;
                match out {
                    NetOutput::Data { conn, bytes } => {
                        if let Some(&(c, _)) = self.conns.iter().find(|(_, s)| *s == conn) {
                            self.producer.handle_received(c, &bytes, self.now);
                        }
                    }
                    NetOutput::Closed { conn } => panic!("the broker closed {conn:?}"),
                }
            }
            while let Some(e) = self.producer.poll_event() {
                progress = true;
                match e {
                    Event::Delivered { record_count, .. } => {
                        self.delivered_records += u64::from(record_count);
                        self.delivered_batches += 1;
                    }
                    Event::Failed { error, .. } => panic!("a batch failed: {error}"),
                    Event::Fatal(e) => panic!("fatal: {e}"),
                    _ => {}
                }
            }
            if !progress {
                return any;
            }
            any = true;
        }
    }

    fn step_time(&mut self) {
        let next = [self.producer.poll_timeout(), self.cluster.next_wakeup()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| panic!("stalled:\n{}", self.producer.debug_state()));
        self.now = self.now.max(next);
        self.producer.handle_timeout(self.now);
    }

    /// Sends `n` records in bursts of 256, turning the network loop in
    /// between; time stands still unless memory runs out, so full batches
    /// leave and partial ones stay open.
    fn stream(&mut self, n: u64) {
        let mut left = n;
        while left > 0 {
            let mut sent = 0;
            while sent < left.min(256) && self.send_one() {
                sent += 1;
            }
            left -= sent;
            if !self.pump() && sent == 0 {
                self.step_time();
            }
        }
    }

    /// Drives the loop until every record sent is delivered (the partial
    /// batches leave after their linger).
    fn finish(&mut self) {
        let mut idle = 0;
        while self.delivered_records < self.sent {
            if self.pump() {
                idle = 0;
            } else {
                idle += 1;
                assert!(idle < 1_000, "stalled:\n{}", self.producer.debug_state());
                self.step_time();
            }
        }
    }

    /// `stream` with the allocations of each `send()` counted.
    fn counted_stream(&mut self, n: u64) -> SendCounts {
        self.counts = Some(SendCounts::default());
        self.stream(n);
        self.counts.take().unwrap_or_default()
    }
}

#[test]
fn sends_appending_to_an_open_batch_do_not_allocate() {
    let _turn = serial();
    for (partitions, keyed, compression) in [
        (1, false, "none"),
        (8, false, "none"),
        (8, true, "none"),
        (1, false, "lz4"),
        (8, true, "lz4"),
    ] {
        let case = format!("partitions {partitions}, keyed {keyed}, {compression}");
        let mut h = Harness::new(partitions, keyed, compression);
        // Warm up: buffers, the builder pool and the queues reach their
        // working sizes.
        h.stream(20_000);
        h.finish();
        h.stream(20_000);
        let mut windows = Vec::new();
        for _ in 0..3 {
            let c = h.counted_stream(50_000);
            assert!(c.appending_sends > 45_000, "{case}: {c:?}");
            assert!(c.opening_sends > 50, "{case}: {c:?}");
            // A new batch takes a builder from the pool: at most the odd
            // allocation for bookkeeping, not a buffer each time.
            assert!(
                c.opening_allocations <= c.opening_sends,
                "{case}: batch-opening sends allocate: {c:?}"
            );
            let clean = c.appending_allocations == 0;
            windows.push(c);
            if clean {
                break;
            }
        }
        assert!(
            windows.last().is_some_and(|c| c.appending_allocations == 0),
            "{case}: sends appending to an open batch allocated: {windows:?}"
        );
        h.finish();
    }
}

#[test]
fn the_whole_loop_allocates_per_batch_not_per_record() {
    let _turn = serial();
    for (partitions, keyed, compression) in [(1, false, "none"), (8, true, "lz4")] {
        let case = format!("partitions {partitions}, keyed {keyed}, {compression}");
        let mut h = Harness::new(partitions, keyed, compression);
        h.stream(20_000);
        h.finish();
        let batches_before = h.delivered_batches;
        let region = Region::new(GLOBAL);
        h.stream(50_000);
        h.finish();
        let allocated = allocations(&region);
        let batches = (h.delivered_batches - batches_before) as usize;
        let records_per_batch = 50_000 / batches.max(1);
        assert!(records_per_batch > 300, "{case}: {batches} batches");
        // About 30 today, the simulated broker's included (decoding and
        // answering each Produce request); one allocation per record would
        // add hundreds per batch.
        assert!(
            allocated <= 64 * batches,
            "{case}: {allocated} allocations for {batches} batches of ~{records_per_batch} records"
        );
    }
}

/// A batch that left on linger (small) must not hand its builder back with a
/// buffer sized to it, or the next batch built with it would grow that
/// buffer record by record (reallocations on the per-record path). The
/// builder keeps the larger of its last batch and the size asked for.
#[test]
fn sends_after_a_lingered_small_batch_do_not_reallocate() {
    let _turn = serial();
    let mut h = Harness::new(1, false, "none");
    h.stream(20_000);
    h.finish();
    // Ten records that leave on linger: a batch of about 1 KiB.
    h.stream(10);
    h.finish();
    let c = h.counted_stream(2_000);
    assert_eq!(c.appending_allocations, 0, "{c:?}");
    h.finish();
}
