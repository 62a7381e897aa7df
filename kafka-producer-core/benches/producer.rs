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
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[path = "../tests/harness/mod.rs"]
mod harness;
use harness::{Allocs, BURST, Harness, SendAllocs, Workload};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Records per timed iteration: enough that the last partial batches (which
/// wait out the linger) are a small part of an iteration even with keys
/// spread over eight partitions.
const RECORDS_PER_ITERATION: u64 = 100_000;
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
    h.count_sim_allocs();
    let region = Region::new(GLOBAL);
    h.run(records);
    let whole = Allocs::since(&region);
    let sim = h.take_sim_allocs();
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
        // Any `keyed|keyless/p<N>/<compression>` (p1000 is the many
        // partitions profile: the timers' and the drain's scans).
        let Some(workload) = Workload::parse(&name) else {
            let names: Vec<String> = workloads().iter().map(Workload::name).collect();
            panic!("PRODUCER_BENCH_ONCE: no workload {name}; one like {names:?}");
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
