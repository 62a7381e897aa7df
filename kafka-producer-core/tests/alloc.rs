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
//! The harness is the throughput bench's (`tests/harness`). The allocator's
//! counters are process-wide, so the tests take turns
//! (`SERIAL`), and the strict check allows a measurement to be repeated in
//! case another thread (the test runner) allocated during it: a real
//! per-record allocation shows up in every one of 50,000 sends.

// The test is the caller: it reads the clock.
#![allow(clippy::disallowed_methods)]

use std::alloc::System;
use std::sync::Mutex;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

mod harness;
use harness::{Allocs, Harness, Workload};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    // A failed test poisons the lock; the others may still run.
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn harness(partitions: i32, keyed: bool, compression: &'static str) -> Harness {
    Harness::new(Workload {
        partitions,
        keyed,
        compression,
    })
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
        let mut h = harness(partitions, keyed, compression);
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
                c.opening.total() as u64 <= c.opening_sends,
                "{case}: batch-opening sends allocate: {c:?}"
            );
            let clean = c.appending.total() == 0;
            windows.push(c);
            if clean {
                break;
            }
        }
        assert!(
            windows.last().is_some_and(|c| c.appending.total() == 0),
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
        let mut h = harness(partitions, keyed, compression);
        h.stream(20_000);
        h.finish();
        let batches_before = h.delivered_batches;
        let region = Region::new(GLOBAL);
        h.stream(50_000);
        h.finish();
        let allocated = Allocs::since(&region).total();
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
    let mut h = harness(1, false, "none");
    h.stream(20_000);
    h.finish();
    // Ten records that leave on linger: a batch of about 1 KiB.
    h.stream(10);
    h.finish();
    let c = h.counted_stream(2_000);
    assert_eq!(c.appending.total(), 0, "{c:?}");
    h.finish();
}
