//! Deterministic simulation: the producer against an in-process simulated
//! Kafka cluster (`kafka-sim`, which decodes our requests with kafka-proto
//! and answers like Kafka, checking idempotent sequences), with seeded
//! faults: dropped and delayed responses, disconnects mid-request, leader
//! moves, retriable errors, errors after append, broker restarts.
//!
//! Every run checks: every record gets exactly one outcome; with
//! idempotence nothing delivered is lost or duplicated and per-partition
//! order is kept; what was reported delivered is in the log at the reported
//! offset; "not written" failures are not in the log; buffer memory returns
//! to zero; nothing panics.
//!
//! `SIM_SEEDS=N` runs N seeds per profile (default 1,250, so 10,000 in all
//! over the eight profiles); `SIM_SEED=S` replays one seed with a trace of
//! what happened.

// The test harness is the caller: it may read the clock and the environment.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::time::Duration;

use kafka_producer_core::{BatchId, DeliveryErrorKind, Event, Record, SendError};
use kafka_sim::{ClusterSpec, Faults};

use kafka_sim::Pair;

/// The workload's generator (not the producer's): the one SplitMix64, with
/// the draws this test has always made from it (so a seed keeps its
/// workload).
struct Rng(kafka_producer_core::rng::SplitMix64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(kafka_producer_core::rng::SplitMix64::new(seed))
    }
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered { partition: i32, offset: i64 },
    FailedNotWritten,
    FailedPossiblyWritten,
}

#[derive(Clone)]
struct Profile {
    name: &'static str,
    faults: Faults,
    idempotent: bool,
    acks: &'static str,
    records: usize,
    linger_ms: u64,
    batch_size: usize,
    max_in_flight: usize,
    delivery_timeout_ms: u64,
    buffer_memory: usize,
    /// The faults include non-retriable errors: records may fail even
    /// with idempotence and a generous delivery timeout.
    errors_fail_records: bool,
    /// `retries`, when not the default.
    retries: Option<u32>,
}

fn profiles() -> Vec<Profile> {
    let ms = Duration::from_millis;
    let base = Profile {
        name: "calm",
        faults: Faults::default(),
        idempotent: true,
        acks: "all",
        records: 300,
        linger_ms: 5,
        batch_size: 2_000,
        max_in_flight: 5,
        delivery_timeout_ms: 120_000,
        buffer_memory: 1 << 20,
        errors_fail_records: false,
        retries: None,
    };
    let lossy = Faults {
        min_latency: ms(1),
        max_latency: ms(20),
        drop_response: 0.02,
        disconnect: 0.02,
        produce_error: 0.05,
        error_after_append: 0.03,
        any_error_after_append: 0.0,
        leader_move: 0.02,
        broker_restart: 0.002,
        restart_downtime: ms(500),
        ..Faults::default()
    };
    vec![
        base.clone(),
        Profile {
            name: "latency",
            faults: Faults {
                min_latency: ms(0),
                max_latency: ms(50),
                ..Faults::default()
            },
            ..base.clone()
        },
        Profile {
            name: "lossy",
            faults: lossy.clone(),
            ..base.clone()
        },
        Profile {
            name: "lossy-one-in-flight",
            faults: lossy.clone(),
            max_in_flight: 1,
            ..base.clone()
        },
        Profile {
            name: "restarts",
            faults: Faults {
                broker_restart: 0.02,
                restart_downtime: ms(2_000),
                min_latency: ms(1),
                max_latency: ms(5),
                ..Faults::default()
            },
            ..base.clone()
        },
        Profile {
            name: "leader-churn",
            faults: Faults {
                leader_move: 0.2,
                min_latency: ms(0),
                max_latency: ms(3),
                ..Faults::default()
            },
            ..base.clone()
        },
        Profile {
            name: "tight-memory-and-timeouts",
            faults: lossy.clone(),
            buffer_memory: 16_384,
            delivery_timeout_ms: 3_000,
            ..base.clone()
        },
        Profile {
            name: "not-idempotent-acks-1",
            faults: lossy,
            idempotent: false,
            acks: "1",
            ..base
        },
    ]
}

struct Sent {
    topic: &'static str,
    value: Vec<u8>,
}

const TOPICS: [(&str, i32); 2] = [("alpha", 3), ("beta", 5)];

fn run(profile: &Profile, seed: u64, trace: bool) -> Result<Stats, String> {
    let mut rng = Rng::new(seed ^ 0xA5A5_5A5A);
    let spec = ClusterSpec {
        brokers: vec![1, 2, 3],
        topics: TOPICS.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
        auto_create_partitions: None,
        store_records: true,
        sasl: None,
    };
    let props = [
        ("enable.idempotence", profile.idempotent.to_string()),
        ("acks", profile.acks.to_string()),
        ("linger.ms", profile.linger_ms.to_string()),
        ("batch.size", profile.batch_size.to_string()),
        (
            "max.in.flight.requests.per.connection",
            profile.max_in_flight.to_string(),
        ),
        (
            "delivery.timeout.ms",
            profile.delivery_timeout_ms.to_string(),
        ),
        ("request.timeout.ms", "1000".to_string()),
        ("buffer.memory", profile.buffer_memory.to_string()),
        ("max.block.ms", "60000".to_string()),
    ];
    let mut props = props.to_vec();
    if let Some(r) = profile.retries {
        props.push(("retries", r.to_string()));
    }
    // A third of the seeds compress in the drain, a third hand compression
    // out as seal jobs (as the async runtimes do).
    let (compression, offload) = match seed % 3 {
        0 => ("none", false),
        1 => ("lz4", false),
        _ => ("lz4", true),
    };
    props.push(("compression.type", compression.to_string()));
    let props: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut sim = Pair::new(spec, profile.faults.clone(), seed, &props);
    sim.set_offload_sealing(offload);
    sim.trace = trace;
    let start = sim.start;

    let mut sent: Vec<Sent> = Vec::new();
    let mut batch_of: HashMap<BatchId, Vec<(usize, u32)>> = HashMap::new();
    let mut outcomes: Vec<Vec<Outcome>> = Vec::new();
    let mut events = Vec::new();
    let mut next_send = start;
    let mut blocked = false;
    let hard_stop = start + Duration::from_secs(3_600);
    let mut closed = false;
    let mut close_requested = false;
    let mut dumped = false;

    let settle = |events: &mut Vec<Event>,
                  batch_of: &mut HashMap<BatchId, Vec<(usize, u32)>>,
                  outcomes: &mut Vec<Vec<Outcome>>,
                  blocked: &mut bool,
                  closed: &mut bool|
     -> Result<(), String> {
        for e in events.drain(..) {
            match e {
                Event::Delivered {
                    batch,
                    partition,
                    base_offset,
                    record_count,
                    ..
                } => {
                    let recs = batch_of
                        .remove(&batch)
                        .ok_or(format!("outcome for unknown or settled batch {batch:?}"))?;
                    if recs.len() != record_count as usize {
                        return Err(format!(
                            "batch {batch:?} count {record_count} != {}",
                            recs.len()
                        ));
                    }
                    for (r, index) in recs {
                        let offset = if base_offset < 0 {
                            -1
                        } else {
                            base_offset + i64::from(index)
                        };
                        outcomes[r].push(Outcome::Delivered { partition, offset });
                    }
                }
                Event::Failed { batch, error, .. } => {
                    let recs = batch_of
                        .remove(&batch)
                        .ok_or(format!("outcome for unknown or settled batch {batch:?}"))?;
                    if !profile.errors_fail_records
                        && profile.faults.drop_response == 0.0
                        && profile.faults.disconnect == 0.0
                        && profile.faults.broker_restart == 0.0
                        && profile.delivery_timeout_ms >= 120_000
                    {
                        return Err(format!("failure without faults: {error}"));
                    }
                    if matches!(error.kind, DeliveryErrorKind::Fatal(_)) {
                        return Err(format!("fatal: {error}"));
                    }
                    for (r, _) in recs {
                        outcomes[r].push(if error.possibly_written {
                            Outcome::FailedPossiblyWritten
                        } else {
                            Outcome::FailedNotWritten
                        });
                    }
                }
                Event::MemoryAvailable | Event::TopicReady { .. } => *blocked = false,
                Event::Closed => *closed = true,
                Event::TopicUnavailable { topic, error, .. } => {
                    return Err(format!("topic {topic} unavailable: {error:?}"));
                }
                Event::Fatal(e) => return Err(format!("fatal event: {e}")),
                Event::FlushComplete(_) => {}
                other => return Err(format!("unexpected event {other:?}")),
            }
        }
        Ok(())
    };

    while !closed {
        let next_wake = [sim.producer.poll_timeout(), sim.cluster.next_wakeup()]
            .into_iter()
            .flatten()
            .min();
        if trace
            && !dumped
            && sim.producer.outstanding_batches() > 0
            && next_wake.is_some_and(|w| w > sim.now + Duration::from_secs(10))
        {
            dumped = true;
            eprintln!(
                "STATE at {:?}:\n{}",
                sim.now - start,
                sim.producer.debug_state()
            );
        }
        if sim.now > hard_stop {
            return Err(format!(
                "no progress: {} records, {} batches outstanding, memory {} at {:?}",
                sent.len(),
                sim.producer.outstanding_batches(),
                sim.producer.buffer_memory_used(),
                sim.now - start
            ));
        }
        // The workload: records at random moments, keyed or not.
        while sent.len() < profile.records && !blocked && sim.now >= next_send {
            let (topic, _) = TOPICS[rng.below(2) as usize];
            let id = sent.len();
            let value = format!("{seed}-{id}").into_bytes();
            let key = rng
                .chance(0.5)
                .then(|| format!("k{}", rng.below(20)).into_bytes());
            let headers = [kafka_producer_core::Header {
                key: "n",
                value: Some(&value[..]),
            }];
            let record = Record {
                topic,
                key: key.as_deref(),
                value: Some(&value),
                headers: &headers,
                ..Default::default()
            };
            match sim.producer.send(&record, sim.now) {
                Ok(token) => {
                    batch_of
                        .entry(token.batch)
                        .or_default()
                        .push((id, token.index));
                    sent.push(Sent { topic, value });
                    outcomes.push(Vec::new());
                    if rng.chance(0.3) {
                        next_send = sim.now + Duration::from_millis(rng.below(10));
                    }
                }
                Err(SendError::BufferFull { .. }) | Err(SendError::MetadataPending { .. }) => {
                    blocked = true;
                }
                Err(e) => return Err(format!("send: {e}")),
            }
        }
        if sent.len() == profile.records && !close_requested {
            close_requested = true;
            if rng.chance(0.5) {
                sim.producer.flush(sim.now);
            }
            sim.producer.close(sim.now, None);
        }
        events.extend(sim.pump());
        settle(
            &mut events,
            &mut batch_of,
            &mut outcomes,
            &mut blocked,
            &mut closed,
        )?;
        if closed {
            break;
        }
        let limit = if sent.len() < profile.records && !blocked {
            next_send.max(sim.now)
        } else {
            hard_stop + Duration::from_secs(1)
        };
        if sim.now >= limit && sent.len() < profile.records && !blocked {
            continue;
        }
        if !sim.step_time(limit) {
            if sent.len() < profile.records && !blocked {
                sim.now = limit;
                continue;
            }
            return Err(format!(
                "stalled with nothing scheduled: {} outstanding batches, blocked {blocked}",
                sim.producer.outstanding_batches()
            ));
        }
    }
    // Let the cluster finish whatever it still had under way (no more inputs
    // from the producer, which has released its connections).
    while sim.cluster.next_wakeup().is_some() {
        let Some(t) = sim.cluster.next_wakeup() else {
            break;
        };
        sim.now = sim.now.max(t);
        while sim.cluster.poll_output(sim.now).is_some() {}
        if sim.now > hard_stop {
            break;
        }
    }

    // --- Invariants ---
    if sim.producer.buffer_memory_used() != 0 {
        return Err(format!(
            "buffer memory not returned: {}",
            sim.producer.buffer_memory_used()
        ));
    }
    if !batch_of.is_empty() {
        return Err(format!("{} batches without outcome", batch_of.len()));
    }
    let mut stats = Stats::default();
    for (i, o) in outcomes.iter().enumerate() {
        if o.len() != 1 {
            return Err(format!("record {i} has {} outcomes: {o:?}", o.len()));
        }
    }
    // Index the logs by value.
    let mut found: HashMap<Vec<u8>, Vec<(String, i32, i64)>> = HashMap::new();
    let mut logs: HashMap<(String, i32), Vec<Vec<u8>>> = HashMap::new();
    for (topic, partitions) in TOPICS {
        for p in 0..partitions {
            for r in sim.cluster.log(topic, p) {
                let v = r.value.clone().map(|b| b.to_vec()).unwrap_or_default();
                found
                    .entry(v.clone())
                    .or_default()
                    .push((topic.to_string(), p, r.offset));
                logs.entry((topic.to_string(), p)).or_default().push(v);
            }
        }
    }
    for (i, s) in sent.iter().enumerate() {
        let copies = found.get(&s.value).map_or(0, Vec::len);
        match outcomes[i][0] {
            Outcome::Delivered { partition, offset } => {
                stats.delivered += 1;
                if copies == 0 {
                    return Err(format!("record {i} reported delivered but not in the log"));
                }
                if copies > 1 && profile.idempotent {
                    return Err(format!(
                        "record {i} written {copies} times with idempotence"
                    ));
                }
                let places = &found[&s.value];
                if !places
                    .iter()
                    .any(|(t, p, _)| t == s.topic && *p == partition)
                {
                    return Err(format!("record {i} in the wrong partition"));
                }
                if offset >= 0 && !places.iter().any(|(_, _, o)| *o == offset) {
                    return Err(format!(
                        "record {i} reported at offset {offset}, log has {places:?}"
                    ));
                }
            }
            Outcome::FailedNotWritten => {
                stats.failed += 1;
                if copies != 0 {
                    return Err(format!(
                        "record {i} failed as not written but is in the log"
                    ));
                }
            }
            Outcome::FailedPossiblyWritten => {
                stats.failed += 1;
                stats.possibly_written += 1;
                if copies > 1 && profile.idempotent {
                    return Err(format!(
                        "record {i} written {copies} times with idempotence"
                    ));
                }
            }
        }
    }
    // Per-partition order: our records appear in the order they were sent.
    if profile.idempotent {
        let index: HashMap<&[u8], usize> = sent
            .iter()
            .enumerate()
            .map(|(i, s)| (&s.value[..], i))
            .collect();
        for ((topic, p), values) in &logs {
            let mut last = None;
            for v in values {
                let Some(&i) = index.get(&v[..]) else {
                    return Err(format!("unknown record in {topic}-{p}"));
                };
                if let Some(l) = last {
                    if i <= l {
                        return Err(format!("{topic}-{p}: record {i} after record {l}"));
                    }
                }
                last = Some(i);
            }
        }
    }
    // With idempotence and a generous delivery timeout, nothing is lost.
    if profile.idempotent
        && profile.delivery_timeout_ms >= 120_000
        && !profile.errors_fail_records
        && stats.failed > 0
    {
        return Err(format!("{} records failed", stats.failed));
    }
    let cs = sim.cluster.stats();
    for (k, v) in &cs.faults {
        *stats.events.entry(format!("fault {k}")).or_default() += v;
    }
    *stats
        .events
        .entry("duplicates recognised".into())
        .or_default() += cs.duplicates;
    *stats
        .events
        .entry("out-of-order refused".into())
        .or_default() += cs.out_of_order;
    if let Some((_, epoch)) = sim.producer.producer_id() {
        *stats.events.entry("epoch bumps".into()).or_default() += epoch as u64;
    }
    Ok(stats)
}

#[derive(Debug, Default)]
struct Stats {
    delivered: usize,
    failed: usize,
    /// Of the failed, those reported as possibly written.
    possibly_written: usize,
    /// Faults the cluster injected, duplicates it recognised, epoch bumps.
    events: std::collections::BTreeMap<String, u64>,
}

#[test]
fn simulated_cluster_with_faults() {
    if let Ok(seed) = std::env::var("SIM_SEED") {
        let seed: u64 = seed.parse().expect("SIM_SEED is a number");
        for p in profiles() {
            if let Err(e) = run(&p, seed, true) {
                panic!("profile {} seed {seed}: {e}", p.name);
            }
        }
        return;
    }
    let seeds: u64 = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_250);
    let mut failures = Vec::new();
    let mut total = Stats::default();
    let mut runs = 0;
    for p in profiles() {
        for seed in 0..seeds {
            runs += 1;
            match run(&p, seed, false) {
                Ok(s) => {
                    total.delivered += s.delivered;
                    total.failed += s.failed;
                    for (k, v) in s.events {
                        *total.events.entry(k).or_default() += v;
                    }
                }
                Err(e) => failures.push(format!("profile {} seed {seed}: {e}", p.name)),
            }
        }
    }
    eprintln!(
        "simulation: {runs} runs, {} records delivered, {} failed (allowed by the profile); {:?}",
        total.delivered, total.failed, total.events
    );
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed (replay one with SIM_SEED=<seed>):\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A broker may answer any error after it appended a batch (an acks=all
/// wait that ends in UNKNOWN_SERVER_ERROR, KAFKA_STORAGE_ERROR or
/// NOT_LEADER_OR_FOLLOWER, a code newer than this client): every record
/// reported "not written" must be absent from the log, with and without
/// idempotence, whatever the code (issue 16).
#[test]
fn records_failed_as_not_written_are_never_in_the_log() {
    let seeds: u64 = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(300, |n: u64| (n / 4).max(1));
    let faults = Faults {
        min_latency: Duration::from_millis(0),
        max_latency: Duration::from_millis(5),
        any_error_after_append: 0.05,
        produce_error: 0.02,
        ..Faults::default()
    };
    let base = profiles().remove(0);
    let variants = [
        Profile {
            name: "any-error-after-append",
            faults: faults.clone(),
            errors_fail_records: true,
            ..base.clone()
        },
        Profile {
            name: "any-error-after-append-few-retries",
            faults: faults.clone(),
            errors_fail_records: true,
            retries: Some(1),
            ..base.clone()
        },
        Profile {
            name: "any-error-after-append-not-idempotent",
            faults,
            errors_fail_records: true,
            idempotent: false,
            acks: "1",
            retries: Some(2),
            ..base
        },
    ];
    let mut failures = Vec::new();
    let mut possibly_written = 0;
    for p in &variants {
        for seed in 0..seeds {
            match run(p, seed, false) {
                Ok(s) => possibly_written += s.possibly_written,
                Err(e) => failures.push(format!("profile {} seed {seed}: {e}", p.name)),
            }
        }
    }
    eprintln!(
        "{} runs; {possibly_written} records failed as possibly written",
        seeds * variants.len() as u64
    );
    assert!(
        failures.is_empty(),
        "{} runs failed (replay one with SIM_SEED=<seed>):\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(possibly_written > 0, "the fault made records fail");
}
