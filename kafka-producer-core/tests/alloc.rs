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

/// A batch that left on linger (small) must not leave its partition's next
/// batches to grow their buffers record by record (reallocations on the
/// per-record path). A partition's batches are planned at half the last
/// one's size unless it filled up (the last size halving at most per
/// batch), so the first full batch after the small one doubles its buffer
/// a few times (here from about 9.5 KiB: three), and the batches after it
/// are planned full again and do not grow.
#[test]
fn sends_after_a_lingered_small_batch_regrow_by_doubling_once() {
    let _turn = serial();
    let mut h = harness(1, false, "none");
    h.stream(20_000);
    h.finish();
    // Ten records that leave on linger: a batch of about 1 KiB.
    h.stream(10);
    h.finish();
    let c = h.counted_stream(2_000);
    assert_eq!(c.appending.allocations, 0, "{c:?}");
    assert!(c.appending.reallocations <= 4, "{c:?}");
    let c = h.counted_stream(2_000);
    assert_eq!(c.appending.total(), 0, "{c:?}");
    h.finish();
}

/// Buffer memory grows with the data buffered, not with partitions ×
/// `batch.size` (the concern of Kafka's KIP-1332): 20,000 keyed records
/// spread over 1,000 partitions, each partition's batch open with about 20
/// records (2.5 KiB) of its 64 KiB, hold about the records' own bytes. A
/// buffer of `batch.size` per open batch would be 64 MiB.
#[test]
fn open_batches_hold_memory_in_proportion_to_their_records() {
    let _turn = serial();
    let mut h = harness(1000, true, "none");
    // Twice: the partitions' plans learn the first round's batch sizes
    // (which left on linger), and the builder pool fills.
    for _ in 0..2 {
        h.stream(20_000);
        h.finish();
    }
    let records = 20_000usize;
    let region = Region::new(GLOBAL);
    h.stream(records as u64);
    let change = region.change();
    let held = (change.bytes_allocated as isize - change.bytes_deallocated as isize
        + change.bytes_reallocated) as usize;
    // What the records take in their batches: value, key and about ten
    // bytes of framing each.
    let data = records * (100 + 16 + 10);
    assert!(
        held <= 2 * data,
        "{held} bytes held for {records} records ({data} bytes of records)"
    );
    h.finish();
}

/// `buffer.memory` bounds what the batches' buffers hold, not only the
/// records in them (Java's pool counts whole batch buffers likewise): keyed
/// records over 1,000 partitions, sent without the network turning until
/// the producer refuses one, leave `buffer.memory` allocated in buffers
/// and some bookkeeping per batch (about 400 bytes here, for some 640
/// batches), while the records fill most of it (each
/// partition's first buffer is small, and grows by doubling). Were only the
/// records counted, the buffers would not be bounded at all: with more
/// partitions, every open batch holds a planned buffer for a record or two.
#[test]
fn buffer_memory_bounds_the_buffers_held() {
    let _turn = serial();
    let limit = 1 << 20;
    let mut h = Harness::with_props(
        Workload {
            partitions: 1000,
            keyed: true,
            compression: "none",
        },
        &[("buffer.memory", "1048576")],
    );
    let region = Region::new(GLOBAL);
    let mut sent = 0;
    while h.send_one() {
        sent += 1;
        assert!(sent < 1_000_000, "never refused");
    }
    let change = region.change();
    let held = (change.bytes_allocated as isize - change.bytes_deallocated as isize
        + change.bytes_reallocated) as usize;
    let used = h.pair.producer.buffer_memory_used();
    assert!(used <= limit, "{used} of {limit} used");
    // The records sent (value, key and about ten bytes of framing each)
    // fill most of what their buffers hold.
    assert!(
        sent * (100 + 16 + 10) > limit / 2,
        "only {sent} records of 100 bytes"
    );
    assert!(
        held <= limit + limit / 2,
        "{held} bytes held for {sent} records ({used} bytes of buffer.memory used)"
    );
    h.finish();
}
