//! The workload shared by the throughput bench (`benches/producer.rs`)
//! and the allocation test (`tests/alloc.rs`), on `kafka_sim::Pair`: one
//! producer wired to a zero-latency simulated broker (no faults, records not
//! stored), configured as both measure it: `linger.ms=5`, `batch.size=65536`,
//! `acks=all`, idempotence on. The crate that includes it provides the
//! counting global allocator as `crate::GLOBAL`.

// Each includer uses part of it (the test has no use for `run`, the bench
// none for `counted_stream`).
#![allow(dead_code)]

use std::alloc::System;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use kafka_producer_core::{Event, Record, SendError};
use kafka_sim::{ClusterSpec, Faults, Pair, Side};
use stats_alloc::Region;

use crate::GLOBAL;

/// Sends between two turns of the network loop, as a runtime that takes a
/// burst of records from its channel before polling the core would do.
pub(crate) const BURST: u64 = 256;
const VALUE_SIZE: usize = 100;
const KEY_SIZE: usize = 16;
/// Distinct values and keys cycled through (different bytes per record, so
/// lz4 sees realistic, not constant, data).
const POOL: usize = 1024;
pub(crate) const TOPIC: &str = "bench";

/// What to send and how.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Workload {
    pub(crate) partitions: i32,
    pub(crate) keyed: bool,
    pub(crate) compression: &'static str,
}

impl Workload {
    /// The workload `name` names (the inverse of [`name`](Self::name)).
    pub(crate) fn parse(name: &str) -> Option<Workload> {
        let mut parts = name.split('/');
        let keyed = match parts.next()? {
            "keyed" => true,
            "keyless" => false,
            _ => return None,
        };
        let partitions = parts.next()?.strip_prefix('p')?.parse().ok()?;
        let compression = match parts.next()? {
            "none" => "none",
            "gzip" => "gzip",
            "snappy" => "snappy",
            "lz4" => "lz4",
            "zstd" => "zstd",
            _ => return None,
        };
        Some(Workload {
            partitions,
            keyed,
            compression,
        })
    }

    pub(crate) fn name(&self) -> String {
        format!(
            "{}/p{}/{}",
            if self.keyed { "keyed" } else { "keyless" },
            self.partitions,
            self.compression
        )
    }
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
pub(crate) struct Allocs {
    pub(crate) allocations: usize,
    pub(crate) reallocations: usize,
}

impl Allocs {
    pub(crate) fn since(region: &Region<'_, System>) -> Allocs {
        let change = region.change();
        Allocs {
            allocations: change.allocations,
            reallocations: change.reallocations,
        }
    }

    pub(crate) fn total(&self) -> usize {
        self.allocations + self.reallocations
    }

    pub(crate) fn add(&mut self, other: Allocs) {
        self.allocations += other.allocations;
        self.reallocations += other.reallocations;
    }
}

/// Allocations inside `send()` only, split by whether the record opened a
/// new batch.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SendAllocs {
    pub(crate) appending_sends: u64,
    pub(crate) appending: Allocs,
    pub(crate) opening_sends: u64,
    pub(crate) opening: Allocs,
}

/// One producer wired to one simulated cluster ([`Pair`]), with the
/// workload's records and counts.
pub(crate) struct Harness {
    pub(crate) pair: Pair,
    keyed: bool,
    values: Vec<[u8; VALUE_SIZE]>,
    keys: Vec<[u8; KEY_SIZE]>,
    pub(crate) next_record: usize,
    /// Sends between two turns of the network loop.
    pub(crate) burst: u64,
    pub(crate) delivered_records: u64,
    pub(crate) delivered_batches: u64,
    /// Set while measuring what `send()` alone allocates.
    pub(crate) send_allocs: Option<SendAllocs>,
    /// Set while measuring what the simulated broker allocates (to tell
    /// the core's share of the loop from the harness's).
    sim_allocs: Option<Rc<RefCell<SimAllocs>>>,
}

/// The cluster's allocations, counted between its `Side` calls.
#[derive(Default)]
struct SimAllocs {
    region: Option<Region<'static, System>>,
    counted: Allocs,
}

impl Harness {
    /// A producer connected to a fresh one-broker cluster, with the topic's
    /// metadata and the producer id already in hand.
    pub(crate) fn new(workload: Workload) -> Harness {
        Self::with_props(workload, &[])
    }

    /// [`new`](Self::new) with more producer properties (or some replaced).
    pub(crate) fn with_props(workload: Workload, extra: &[(&str, &str)]) -> Harness {
        let spec = ClusterSpec {
            brokers: vec![1],
            topics: vec![(TOPIC.to_string(), workload.partitions)],
            store_records: false,
            ..Default::default()
        };
        let props = [
            ("linger.ms", "5"),
            ("batch.size", "65536"),
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("compression.type", workload.compression),
        ];
        let props: Vec<(&str, &str)> = props
            .into_iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .chain(extra.iter().copied())
            .collect();
        let mut pair = Pair::new(spec, Faults::default(), 7, &props);
        // Measured as users run it: no test-only checks.
        pair.producer.set_timer_check(false);
        let mut h = Harness {
            pair,
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
        if let Err(e) = h.pair.producer.prefetch_topic(TOPIC, h.pair.now) {
            panic!("prefetch: {e}");
        }
        let mut turns = 0;
        while h.pair.producer.partition_count(TOPIC) != Some(workload.partitions)
            || h.pair.producer.producer_id().is_none()
        {
            turns += 1;
            assert!(turns < 10_000, "no metadata or producer id");
            if !h.pump() {
                h.step_time();
            }
        }
        h
    }

    /// Starts counting the simulated broker's allocations.
    pub(crate) fn count_sim_allocs(&mut self) {
        let counts = Rc::new(RefCell::new(SimAllocs::default()));
        let meter = Rc::clone(&counts);
        self.pair.set_cluster_meter(move |side| {
            let mut m = meter.borrow_mut();
            match side {
                Side::EnterCluster => m.region = Some(Region::new(GLOBAL)),
                Side::LeaveCluster => {
                    if let Some(r) = m.region.take() {
                        m.counted.add(Allocs::since(&r));
                    }
                }
            }
        });
        self.sim_allocs = Some(counts);
    }

    /// Stops counting; what the broker allocated since
    /// [`count_sim_allocs`](Self::count_sim_allocs).
    pub(crate) fn take_sim_allocs(&mut self) -> Allocs {
        self.pair.clear_cluster_meter();
        self.sim_allocs
            .take()
            .map(|c| c.borrow().counted)
            .unwrap_or_default()
    }

    /// Sends one record; `BufferFull` is the only refusal expected.
    pub(crate) fn send_one(&mut self) -> bool {
        let i = self.next_record % POOL;
        let record = Record {
            topic: TOPIC,
            key: self.keyed.then_some(&self.keys[i][..]),
            value: Some(&self.values[i][..]),
            ..Default::default()
        };
        let result = match &mut self.send_allocs {
            None => self.pair.producer.send(&record, self.pair.now),
            Some(counts) => {
                let region = Region::new(GLOBAL);
                let result = self.pair.producer.send(&record, self.pair.now);
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

    /// Runs the network and the events until nothing more happens at this
    /// instant. Returns whether anything happened.
    pub(crate) fn pump(&mut self) -> bool {
        let (records, batches) = (&mut self.delivered_records, &mut self.delivered_batches);
        let any = self.pair.pump_with(|e| match e {
            Event::Delivered { record_count, .. } => {
                *records += u64::from(record_count);
                *batches += 1;
            }
            Event::Failed { error, .. } => panic!("a batch failed: {error}"),
            Event::Fatal(e) => panic!("fatal: {e}"),
            _ => {}
        });
        // A runtime asks when to wake after every turn of its loop.
        std::hint::black_box(self.pair.producer.poll_timeout());
        assert_eq!(
            self.pair.refused + self.pair.closed_by_cluster,
            0,
            "{:?}",
            self.pair
        );
        any
    }

    /// Moves time to the next deadline of either side.
    pub(crate) fn step_time(&mut self) {
        let far = self.pair.now + Duration::from_secs(3600);
        if !self.pair.step_time(far) {
            panic!("stalled:\n{}", self.pair.producer.debug_state());
        }
    }

    /// Sends `n` records, turning the network loop between bursts, without
    /// letting time pass unless memory runs out: full batches leave, partial
    /// ones stay open.
    pub(crate) fn stream(&mut self, n: u64) {
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
    pub(crate) fn run(&mut self, n: u64) {
        self.stream(n);
        self.finish();
    }

    /// Drives the loop until every record sent so far is delivered.
    pub(crate) fn finish(&mut self) {
        let mut idle = 0u32;
        while self.delivered_records < self.next_record as u64 {
            if self.pump() {
                idle = 0;
            } else {
                idle += 1;
                assert!(
                    idle < 1_000,
                    "stalled:\n{}",
                    self.pair.producer.debug_state()
                );
                self.step_time();
            }
        }
    }

    /// `stream` with the allocations of each `send()` counted.
    pub(crate) fn counted_stream(&mut self, n: u64) -> SendAllocs {
        self.send_allocs = Some(SendAllocs::default());
        self.stream(n);
        self.send_allocs.take().unwrap_or_default()
    }
}
