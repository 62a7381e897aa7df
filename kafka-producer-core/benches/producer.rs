//! Throughput of the producer core alone, against a zero-latency simulated
//! broker: `kafka-sim` with no faults and no latency, one broker, records not
//! stored (it still decodes every Produce request, checks each batch's CRC
//! and the idempotent sequences, and answers as Kafka would).
//!
//! Each iteration sends [`RECORDS_PER_ITERATION`] records of 100-byte values
//! (keyless or keyed) with `linger.ms=5`, `batch.size=65536`, `acks=all` and
//! idempotence on, and drives the loop until every one of them is reported
//! delivered. The harness owns the clock: time stands still while records
//! go in, and jumps to the next deadline (the linger of the last partial
//! batches) only when nothing else can happen. Everything runs on one
//! thread, so records/s is per core — and includes the simulated broker's
//! share of the work. The time measured is the thread's CPU time, so other
//! load on the machine does not count against it (`PRODUCER_BENCH_CLOCK=wall`
//! measures wall-clock time instead).
//!
//! ```text
//! cargo bench -p kafka-producer-core --bench producer
//! ```
//!
//! Before the timings it prints the allocations of the hot path per
//! workload: those made inside `send()` (split into sends that open a batch
//! and sends that append to one) and those of the whole loop per batch and
//! per record.
//!
//! For a profiler, `PRODUCER_BENCH_ONCE=<workload>` (e.g.
//! `keyless/p1/none`; `PRODUCER_BENCH_RECORDS` records, default 1,000,000;
//! `PRODUCER_BENCH_BURST` sends per loop turn, default 256) runs one
//! workload once without criterion; the steady-state part is the
//! function `profiled_run`, so under callgrind use
//! `--collect-atstart=no --toggle-collect='*profiled_run*'`.

// The harness is the caller: it reads the clock and the environment.
#![allow(clippy::disallowed_methods)]

use std::alloc::System;
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use kafka_producer_core::{ConnId, Event, Producer, ProducerConfig, Record, SendError};
use kafka_sim::{ClusterSpec, ConnId as SimConn, Faults, NetOutput, SimCluster};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Records per timed iteration: enough that the last partial batches (which
/// wait out the linger) are a small part of an iteration even with keys
/// spread over eight partitions.
const RECORDS_PER_ITERATION: u64 = 100_000;
/// Sends between two turns of the network loop, as a runtime that takes a
/// burst of records from its channel before polling the core would do.
const BURST: u64 = 256;
const VALUE_SIZE: usize = 100;
const KEY_SIZE: usize = 16;
/// Distinct values and keys cycled through (different bytes per record, so
/// lz4 sees realistic, not constant, data).
const POOL: usize = 1024;
const TOPIC: &str = "bench";

/// What to send and how.
#[derive(Debug, Clone, Copy)]
struct Workload {
    partitions: i32,
    keyed: bool,
    compression: &'static str,
}

impl Workload {
    fn name(&self) -> String {
        format!(
            "{}/p{}/{}",
            if self.keyed { "keyed" } else { "keyless" },
            self.partitions,
            self.compression
        )
    }
}

fn workloads() -> Vec<Workload> {
    let mut all = Vec::new();
    for compression in ["none", "lz4"] {
        for keyed in [false, true] {
            for partitions in [1, 8] {
                all.push(Workload {
                    partitions,
                    keyed,
                    compression,
                });
            }
        }
    }
    all
}

/// The values: JSON-like events with varying digits, padded to 100 bytes.
fn make_values() -> Vec<[u8; VALUE_SIZE]> {
    const EVENTS: [&str; 4] = ["click", "view", "purchase", "scroll"];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..POOL)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let text = format!(
                "{{\"id\":{i:010},\"user\":\"user-{:05}\",\"event\":\"{}\",\"amount\":{}.{:02},\"session\":\"{:016x}\"}}",
                x % 100_000,
                EVENTS[(x >> 20) as usize % EVENTS.len()],
                (x >> 24) % 1000,
                (x >> 40) % 100,
                x.rotate_left(17),
            );
            let mut v = [b' '; VALUE_SIZE];
            let n = text.len().min(VALUE_SIZE);
            v[..n].copy_from_slice(&text.as_bytes()[..n]);
            v
        })
        .collect()
}

fn make_keys() -> Vec<[u8; KEY_SIZE]> {
    (0..POOL)
        .map(|i| {
            let mut k = [0u8; KEY_SIZE];
            k.copy_from_slice(format!("customer-{i:07}").as_bytes());
            k
        })
        .collect()
}

/// Allocations counted by the global allocator over a stretch of work.
#[derive(Debug, Default, Clone, Copy)]
struct Allocs {
    allocations: usize,
    reallocations: usize,
}

impl Allocs {
    fn since(region: &Region<'_, System>) -> Allocs {
        let change = region.change();
        Allocs {
            allocations: change.allocations,
            reallocations: change.reallocations,
        }
    }

    fn total(&self) -> usize {
        self.allocations + self.reallocations
    }

    fn add(&mut self, other: Allocs) {
        self.allocations += other.allocations;
        self.reallocations += other.reallocations;
    }
}

/// Allocations inside `send()` only, split by whether the record opened a
/// new batch.
#[derive(Debug, Default, Clone, Copy)]
struct SendAllocs {
    appending_sends: u64,
    appending: Allocs,
    opening_sends: u64,
    opening: Allocs,
}

/// One producer wired to one simulated cluster, driven by hand.
struct Harness {
    producer: Producer,
    cluster: SimCluster,
    /// The producer's connection ids and the cluster's, side by side (a
    /// handful at most).
    conns: Vec<(ConnId, SimConn)>,
    now: Instant,
    keyed: bool,
    values: Vec<[u8; VALUE_SIZE]>,
    keys: Vec<[u8; KEY_SIZE]>,
    next_record: usize,
    /// Sends between two turns of the network loop.
    burst: u64,
    delivered_records: u64,
    delivered_batches: u64,
    /// Set while measuring what `send()` alone allocates.
    send_allocs: Option<SendAllocs>,
    /// Set while measuring what the simulated broker allocates (to tell
    /// the core's share of the loop from the harness's).
    sim_allocs: Option<Allocs>,
}

impl Harness {
    /// A producer connected to a fresh one-broker cluster, with the topic's
    /// metadata and the producer id already in hand.
    fn new(workload: Workload) -> Harness {
        let spec = ClusterSpec {
            brokers: vec![1],
            topics: vec![(TOPIC.to_string(), workload.partitions)],
            store_records: false,
            ..Default::default()
        };
        let cluster = SimCluster::new(spec, Faults::default(), 1);
        let (host, port) = cluster.bootstrap()[0].clone();
        let mut config = ProducerConfig::default();
        for (key, value) in [
            ("bootstrap.servers", format!("{host}:{port}")),
            ("linger.ms", "5".into()),
            ("batch.size", "65536".into()),
            ("acks", "all".into()),
            ("enable.idempotence", "true".into()),
            ("compression.type", workload.compression.into()),
        ] {
            if let Err(e) = config.set(key, &value) {
                panic!("config {key}={value}: {e}");
            }
        }
        let now = Instant::now();
        let producer = match Producer::new(config, now, 1_700_000_000_000, 7) {
            Ok(p) => p,
            Err(e) => panic!("producer: {e}"),
        };
        let mut h = Harness {
            producer,
            cluster,
            conns: Vec::new(),
            now,
            keyed: workload.keyed,
            values: make_values(),
            keys: make_keys(),
            next_record: 0,
            burst: BURST,
            delivered_records: 0,
            delivered_batches: 0,
            send_allocs: None,
            sim_allocs: None,
        };
        if let Err(e) = h.producer.prefetch_topic(TOPIC, h.now) {
            panic!("prefetch: {e}");
        }
        let mut turns = 0;
        while h.producer.partition_count(TOPIC) != Some(workload.partitions)
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

    /// Sends one record; `BufferFull` is the only refusal expected.
    fn send_one(&mut self) -> bool {
        let i = self.next_record % POOL;
        let record = Record {
            topic: TOPIC,
            key: self.keyed.then_some(&self.keys[i][..]),
            value: Some(&self.values[i][..]),
            ..Default::default()
        };
        let result = match &mut self.send_allocs {
            None => self.producer.send(&record, self.now),
            Some(counts) => {
                let region = Region::new(GLOBAL);
                let result = self.producer.send(&record, self.now);
                let allocs = Allocs::since(&region);
                if let Ok(token) = &result {
                    if token.index == 0 {
                        counts.opening_sends += 1;
                        counts.opening.add(allocs);
                    } else {
                        counts.appending_sends += 1;
                        counts.appending.add(allocs);
                    }
                }
                result
            }
        };
        match result {
            Ok(_) => {
                self.next_record += 1;
                true
            }
            Err(SendError::BufferFull { .. }) => false,
            Err(e) => panic!("send: {e}"),
        }
    }

    fn sim_conn(&self, conn: ConnId) -> Option<SimConn> {
        self.conns.iter().find(|(c, _)| *c == conn).map(|(_, s)| *s)
    }

    /// Runs the network and the events until nothing more happens at this
    /// instant. Returns whether anything happened.
    fn pump(&mut self) -> bool {
        let mut any = false;
        loop {
            let mut progress = false;
            while let Some(c) = self.producer.poll_connect() {
                progress = true;
                match self.cluster.connect(&c.host, c.port, self.now) {
                    Ok(s) => {
                        self.conns.push((c.conn, s));
                        self.producer.handle_connected(c.conn, self.now);
                    }
                    Err(e) => panic!("connect {}:{}: {e:?}", c.host, c.port),
                }
            }
            while let Some(t) = self.producer.poll_transmit(self.now) {
                progress = true;
                if let Some(s) = self.sim_conn(t.conn) {
                    let region = Region::new(GLOBAL);
                    self.cluster.client_send(s, &t.data, self.now);
                    if let Some(a) = &mut self.sim_allocs {
                        a.add(Allocs::since(&region));
                    }
                }
            }
            while let Some(c) = self.producer.poll_close() {
                progress = true;
                if let Some(s) = self.sim_conn(c) {
                    self.conns.retain(|(x, _)| *x != c);
                    self.cluster.client_close(s);
                }
            }
            loop {
                let region = Region::new(GLOBAL);
                let out = self.cluster.poll_output(self.now);
                if let Some(a) = &mut self.sim_allocs {
                    a.add(Allocs::since(&region));
                }
                let Some(out) = out else { break };
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

    /// Moves time to the next deadline of either side.
    fn step_time(&mut self) {
        let next = [self.producer.poll_timeout(), self.cluster.next_wakeup()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else {
            panic!("stalled:\n{}", self.producer.debug_state());
        };
        self.now = self.now.max(next);
        self.producer.handle_timeout(self.now);
    }

    /// Sends `n` records, turning the network loop between bursts, without
    /// letting time pass unless memory runs out: full batches leave, partial
    /// ones stay open.
    fn stream(&mut self, n: u64) {
        let mut left = n;
        while left > 0 {
            let mut sent = 0;
            while sent < left.min(self.burst) && self.send_one() {
                sent += 1;
            }
            left -= sent;
            if !self.pump() && sent == 0 {
                self.step_time();
            }
        }
    }

    /// Sends `n` records and drives the loop until every one is delivered
    /// (the last partial batches leave after their linger).
    // Out of line, so a profile shows the loop as one entry.
    #[inline(never)]
    fn run(&mut self, n: u64) {
        self.stream(n);
        self.finish();
    }

    /// Drives the loop until every record sent so far is delivered.
    fn finish(&mut self) {
        let mut idle = 0u32;
        while self.delivered_records < self.next_record as u64 {
            if self.pump() {
                idle = 0;
            } else {
                idle += 1;
                assert!(idle < 1_000, "stalled:\n{}", self.producer.debug_state());
                self.step_time();
            }
        }
    }
}

/// The allocations of the hot path, measured after a warm-up.
fn allocation_report(workload: Workload, records: u64) {
    let per = |a: Allocs, n: u64| a.total() as f64 / n.max(1) as f64;
    let mut h = Harness::new(workload);
    h.run(records);

    // send() while batches fill and leave full: the steady state.
    h.stream(records / 2);
    h.send_allocs = Some(SendAllocs::default());
    h.stream(records);
    let steady = h.send_allocs.take().unwrap_or_default();
    h.finish();

    // send() over whole iterations, which end with batches sent on linger.
    h.send_allocs = Some(SendAllocs::default());
    h.run(records);
    let iterations = h.send_allocs.take().unwrap_or_default();

    let batches_before = h.delivered_batches;
    h.sim_allocs = Some(Allocs::default());
    let region = Region::new(GLOBAL);
    h.run(records);
    let whole = Allocs::since(&region);
    let sim = h.sim_allocs.take().unwrap_or_default();
    let batches = h.delivered_batches - batches_before;
    let core = Allocs {
        allocations: whole.allocations - sim.allocations,
        reallocations: whole.reallocations - sim.reallocations,
    };

    // A runtime that turns the loop after every single send.
    h.burst = 1;
    h.run(records / 10);
    let region = Region::new(GLOBAL);
    h.run(records);
    let eager = Allocs::since(&region);
    h.burst = BURST;

    eprintln!(
        "{:<16} send() steady: {} allocs in {} appending sends, {:.3}/opening send; \
         send() per iteration: {} allocs in {} appending sends, {:.3}/opening send; \
         loop: {:.2} allocs/batch ({:.2} by the core, {:.2} by the simulated broker), \
         {:.4}/record ({:.4} by the core) ({} batches, {:.0} records/batch); \
         loop turned after every send: {:.3} allocs/record",
        workload.name(),
        steady.appending.total(),
        steady.appending_sends,
        per(steady.opening, steady.opening_sends),
        iterations.appending.total(),
        iterations.appending_sends,
        per(iterations.opening, iterations.opening_sends),
        per(whole, batches),
        per(core, batches),
        per(sim, batches),
        per(whole, records),
        per(core, records),
        batches,
        records as f64 / batches.max(1) as f64,
        per(eager, records),
    );
}

/// The steady-state work a profiler looks at (kept out of line: it is
/// callgrind's toggle point). Note that callgrind's call counts include
/// calls made while collection was off: divide the collected cost by the
/// records of this run, not by the calls of `send` it lists.
#[inline(never)]
fn profiled_run(h: &mut Harness, records: u64) -> u64 {
    h.run(records);
    h.delivered_records
}

fn bench_throughput(c: &mut Criterion) {
    let wall_clock = std::env::var("PRODUCER_BENCH_CLOCK").is_ok_and(|c| c == "wall");
    let mut group = c.benchmark_group("send_and_deliver");
    group.throughput(Throughput::Elements(RECORDS_PER_ITERATION));
    // An iteration is tens of milliseconds: the same count per sample.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(8));
    for workload in workloads() {
        let mut h = Harness::new(workload);
        group.bench_function(BenchmarkId::from_parameter(workload.name()), |b| {
            b.iter_custom(|iters| {
                let wall = Instant::now();
                let cpu = ThreadTime::now();
                for _ in 0..iters {
                    h.run(RECORDS_PER_ITERATION);
                }
                if wall_clock {
                    wall.elapsed()
                } else {
                    cpu.elapsed()
                }
            });
        });
    }
    group.finish();
}

fn main() {
    if let Ok(name) = std::env::var("PRODUCER_BENCH_ONCE") {
        let Some(workload) = workloads().into_iter().find(|w| w.name() == name) else {
            let names: Vec<String> = workloads().iter().map(Workload::name).collect();
            panic!("PRODUCER_BENCH_ONCE: no workload {name}; one of {names:?}");
        };
        let records = std::env::var("PRODUCER_BENCH_RECORDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(1_000_000);
        let mut h = Harness::new(workload);
        if let Some(burst) = std::env::var("PRODUCER_BENCH_BURST")
            .ok()
            .and_then(|b| b.parse().ok())
        {
            h.burst = burst;
        }
        h.run(RECORDS_PER_ITERATION);
        let start = Instant::now();
        let delivered = std::hint::black_box(profiled_run(&mut h, records));
        let elapsed = start.elapsed();
        eprintln!(
            "{name}: {records} records in {elapsed:?}, {:.0} records/s ({delivered} delivered in all)",
            records as f64 / elapsed.as_secs_f64()
        );
        return;
    }
    // Only a real bench run (cargo passes --bench) reports allocations; a
    // `cargo test --benches` smoke run just runs each benchmark once.
    if std::env::args().any(|a| a == "--bench") {
        eprintln!("allocations in steady state ({RECORDS_PER_ITERATION} records each):");
        for workload in workloads() {
            allocation_report(workload, RECORDS_PER_ITERATION);
        }
    }
    let mut c = Criterion::default().configure_from_args();
    bench_throughput(&mut c);
    c.final_summary();
}
