//! Deterministic simulation of transactions: the transactional producer against the simulated
//! cluster's transaction coordinator (`kafka-sim`), under seeded faults (latency, dropped
//! responses, disconnects, retriable errors before and after the append, leader and
//! coordinator moves, CONCURRENT_TRANSACTIONS, broker restarts, and requests of closed
//! connections processed late), on transactions v1 and v2 (KIP-890).
//!
//! Each run: init, then transactions of random size over two topics, some with consumer
//! offsets, some aborted by choice; a commit that fails abortably is aborted. Checked after
//! every run:
//! - a `read_committed` reader sees exactly the records of the committed transactions, each
//!   once, in sending order per partition; nothing of an aborted one;
//! - every record of a committed transaction was reported delivered, at the offset where the
//!   log has it;
//! - the group's offset is that of the last committed transaction that sent offsets;
//! - every record has exactly one outcome, memory returns to zero, nothing is fatal;
//! - a second instance with the same `transactional.id`, started mid-run, fences the first:
//!   after the successor's init, nothing of the first is appended, and the first's next call
//!   fails fenced.
//!
//! `TXN_SIM_SEEDS=N` runs N seeds per profile (default 625, so 5,000 in all over the eight
//! profiles); `TXN_SIM_SEED=S` replays one seed with a trace.

#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::time::Duration;

use kafka_producer_core::{
    BatchId, ConsumerGroupMetadata, Event, OffsetToCommit, Record, SendError, TransactionError,
    TransactionOp, TransactionProgress,
};
use kafka_sim::{BrokerConfig, ClusterSpec, Faults, SimCluster, SplitMix64};

use kafka_sim::Pair;

const TOPICS: [(&str, i32); 2] = [("alpha", 3), ("beta", 2)];
const ID: &str = "sim-txn";
const GROUP: &str = "sim-group";

#[derive(Clone)]
struct Profile {
    name: &'static str,
    faults: Faults,
    transaction_version: i16,
    transactions: usize,
}

fn profiles() -> Vec<Profile> {
    let ms = Duration::from_millis;
    let lossy = Faults {
        min_latency: ms(1),
        max_latency: ms(20),
        drop_response: 0.02,
        disconnect: 0.02,
        produce_error: 0.05,
        error_after_append: 0.03,
        leader_move: 0.02,
        coordinator_move: 0.03,
        concurrent_transactions: 0.1,
        process_after_close: 0.5,
        ..Faults::default()
    };
    let restarts = Faults {
        min_latency: ms(1),
        max_latency: ms(5),
        broker_restart: 0.01,
        restart_downtime: ms(1_500),
        coordinator_move: 0.01,
        ..Faults::default()
    };
    let mut out = Vec::new();
    for (version, v) in [(2, "v2"), (1, "v1")] {
        let name = |s: &str| -> &'static str { Box::leak(format!("{s}-{v}").into_boxed_str()) };
        out.push(Profile {
            name: name("calm"),
            faults: Faults::default(),
            transaction_version: version,
            transactions: 10,
        });
        out.push(Profile {
            name: name("latency"),
            faults: Faults {
                max_latency: ms(40),
                ..Faults::default()
            },
            transaction_version: version,
            transactions: 10,
        });
        out.push(Profile {
            name: name("lossy"),
            faults: lossy.clone(),
            transaction_version: version,
            transactions: 10,
        });
        out.push(Profile {
            name: name("restarts"),
            faults: restarts.clone(),
            transaction_version: version,
            transactions: 8,
        });
    }
    out
}

/// What the producer said about a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered { offset: i64 },
    Failed,
}

struct SentRecord {
    txn: usize,
    topic: &'static str,
    partition: i32,
    value: String,
}

/// The run's bookkeeping of outcomes, fed from events.
#[derive(Default)]
struct Book {
    batch_of: HashMap<BatchId, Vec<(usize, u32)>>,
    outcomes: Vec<Vec<Outcome>>,
    completed: Vec<TransactionOp>,
    closed: bool,
}

impl Book {
    fn absorb(&mut self, events: Vec<Event>) -> Result<(), String> {
        for e in events {
            match e {
                Event::Delivered {
                    batch,
                    base_offset,
                    record_count,
                    ..
                } => {
                    let recs = self
                        .batch_of
                        .remove(&batch)
                        .ok_or(format!("outcome of unknown batch {batch:?}"))?;
                    if recs.len() != record_count as usize {
                        return Err(format!("batch {batch:?}: count {record_count}"));
                    }
                    for (r, i) in recs {
                        let offset = if base_offset < 0 {
                            -1
                        } else {
                            base_offset + i64::from(i)
                        };
                        self.outcomes[r].push(Outcome::Delivered { offset });
                    }
                }
                Event::Failed { batch, error, .. } => {
                    if error.is_fatal() {
                        return Err(format!("fatal delivery error: {error}"));
                    }
                    let recs = self
                        .batch_of
                        .remove(&batch)
                        .ok_or(format!("outcome of unknown batch {batch:?}"))?;
                    for (r, _) in recs {
                        self.outcomes[r].push(Outcome::Failed);
                    }
                }
                Event::TransactionCompleted(op) => self.completed.push(op),
                Event::Closed => self.closed = true,
                Event::Fatal(e) => return Err(format!("fatal: {e}")),
                Event::MemoryAvailable | Event::TopicReady { .. } | Event::FlushComplete(_) => {}
                other => return Err(format!("unexpected event {other:?}")),
            }
        }
        Ok(())
    }
}

fn cluster(profile: &Profile, seed: u64) -> SimCluster {
    let spec = ClusterSpec {
        brokers: vec![1, 2, 3],
        topics: TOPICS.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
        ..ClusterSpec::default()
    };
    let config = BrokerConfig {
        transaction_version: profile.transaction_version,
        ..BrokerConfig::default()
    };
    SimCluster::with_config(spec, config, profile.faults.clone(), seed)
}

/// The profile's cluster and a transactional producer on it.
fn start(profile: &Profile, seed: u64, trace: bool) -> Pair {
    let cluster = cluster(profile, seed);
    let bootstrap = kafka_sim::pair::bootstrap_of(&cluster);
    let mut config = producer_config(&bootstrap);
    // Half the seeds compress, handing compression out as seal jobs (as the
    // async runtimes do).
    if seed % 2 == 1 {
        config.set("compression.type", "lz4").unwrap();
    }
    let mut sim = Pair::with_config(cluster, config, seed);
    sim.set_offload_sealing(seed % 2 == 1);
    sim.trace = trace;
    sim
}

fn producer_config(sim_bootstrap: &str) -> kafka_producer_core::ProducerConfig {
    let mut c = kafka_producer_core::ProducerConfig::default();
    for (k, v) in [
        ("bootstrap.servers", sim_bootstrap),
        ("transactional.id", ID),
        ("linger.ms", "5"),
        ("batch.size", "2000"),
        ("request.timeout.ms", "1000"),
        ("delivery.timeout.ms", "120000"),
        ("transaction.timeout.ms", "600000"),
        ("max.block.ms", "60000"),
    ] {
        c.set(k, v).unwrap();
    }
    c
}

/// Runs the simulation until `op` completes; its result.
fn wait_for(
    sim: &mut Pair,
    book: &mut Book,
    op: TransactionOp,
) -> Result<Result<(), TransactionError>, String> {
    let limit = sim.now + Duration::from_secs(600);
    loop {
        let events = sim.pump();
        book.absorb(events)?;
        if let Some(i) = book.completed.iter().position(|o| *o == op) {
            book.completed.remove(i);
            return sim
                .producer
                .transaction_result(op)
                .ok_or(format!("{op:?} completed without a result"));
        }
        if sim.now >= limit {
            return Err(format!(
                "{op:?} did not complete in 600 s:\n{}",
                sim.producer.debug_state()
            ));
        }
        if !sim.step_time(limit) {
            return Err(format!(
                "{op:?}: nothing scheduled:\n{}",
                sim.producer.debug_state()
            ));
        }
    }
}

fn progress(
    sim: &mut Pair,
    book: &mut Book,
    r: Result<TransactionProgress, TransactionError>,
    op: TransactionOp,
) -> Result<Result<(), TransactionError>, String> {
    match r {
        Ok(TransactionProgress::Done) => Ok(Ok(())),
        Ok(TransactionProgress::Pending) => wait_for(sim, book, op),
        Err(e) => Ok(Err(e)),
    }
}

fn run(profile: &Profile, seed: u64, trace: bool) -> Result<(), String> {
    let mut rng = SplitMix64::new(seed ^ 0x5EED);
    let mut sim = start(profile, seed, trace);
    let mut book = Book::default();
    let mut sent: Vec<SentRecord> = Vec::new();
    let mut committed_txns = Vec::new();
    let mut group_offset: Option<i64> = None;

    let r = sim.producer.init_transactions(sim.now);
    progress(&mut sim, &mut book, r, TransactionOp::Init)?.map_err(|e| format!("init: {e}"))?;

    for t in 0..profile.transactions {
        sim.producer
            .begin_transaction(sim.now)
            .map_err(|e| format!("begin {t}: {e}"))?;
        let count = 1 + rng.below(40) as usize;
        for _ in 0..count {
            let (topic, _) = TOPICS[rng.below(2) as usize];
            let value = format!("t{t}-r{}", sent.len());
            let key = format!("k{}", rng.below(10));
            let record = Record {
                topic,
                key: Some(key.as_bytes()),
                value: Some(value.as_bytes()),
                ..Default::default()
            };
            let deadline = sim.now + Duration::from_secs(120);
            let token = loop {
                match sim.producer.send(&record, sim.now) {
                    Ok(token) => break token,
                    Err(SendError::MetadataPending { .. } | SendError::BufferFull { .. })
                        if sim.now < deadline =>
                    {
                        let events = sim.advance(Duration::from_millis(10));
                        book.absorb(events)?;
                    }
                    Err(e) => return Err(format!("send in transaction {t}: {e}")),
                }
            };
            let id = sent.len();
            book.outcomes.push(Vec::new());
            book.batch_of
                .entry(token.batch)
                .or_default()
                .push((id, token.index));
            sent.push(SentRecord {
                txn: t,
                topic,
                partition: token.partition,
                value,
            });
            if rng.chance(0.2) {
                let events = sim.advance(Duration::from_millis(rng.below(30)));
                book.absorb(events)?;
            }
        }
        let with_offsets = rng.chance(0.3);
        if with_offsets {
            let offsets = [OffsetToCommit {
                topic: "input".into(),
                partition: 0,
                offset: 100 + t as i64,
                metadata: None,
            }];
            let r = sim.producer.send_offsets_to_transaction(
                &offsets,
                &ConsumerGroupMetadata::new(GROUP),
                sim.now,
            );
            progress(&mut sim, &mut book, r, TransactionOp::SendOffsets)?
                .map_err(|e| format!("send offsets {t}: {e}"))?;
        }
        let abort = rng.chance(0.25);
        let mut ended_committed = false;
        if !abort {
            let r = sim.producer.commit_transaction(sim.now);
            match progress(&mut sim, &mut book, r, TransactionOp::Commit)? {
                Ok(()) => ended_committed = true,
                Err(e) if e.is_abortable() => {
                    if trace {
                        eprintln!("commit {t} failed: {e}; aborting");
                    }
                }
                Err(e) => return Err(format!("commit {t}: {e}")),
            }
        }
        if !ended_committed {
            let r = sim.producer.abort_transaction(sim.now);
            progress(&mut sim, &mut book, r, TransactionOp::Abort)?
                .map_err(|e| format!("abort {t}: {e}"))?;
        } else {
            committed_txns.push(t);
            if with_offsets {
                group_offset = Some(100 + t as i64);
            }
        }
    }
    sim.producer.close(sim.now, None);
    let limit = sim.now + Duration::from_secs(600);
    while !book.closed {
        let events = sim.pump();
        book.absorb(events)?;
        if book.closed {
            break;
        }
        if sim.now >= limit || !sim.step_time(limit) {
            return Err(format!(
                "close did not finish:\n{}",
                sim.producer.debug_state()
            ));
        }
    }

    // Every record has exactly one outcome; memory is back.
    for (i, o) in book.outcomes.iter().enumerate() {
        if o.len() != 1 {
            return Err(format!("record {i} ({}) has outcomes {o:?}", sent[i].value));
        }
    }
    if sim.producer.buffer_memory_used() != 0 {
        return Err(format!(
            "memory left: {}",
            sim.producer.buffer_memory_used()
        ));
    }
    // read_committed sees exactly the committed transactions' records, in order.
    for (topic, partitions) in TOPICS {
        for p in 0..partitions {
            let seen: Vec<String> = sim
                .cluster
                .read_committed(topic, p)
                .iter()
                .map(|r| String::from_utf8(r.value.clone().unwrap_or_default().to_vec()).unwrap())
                .collect();
            let want: Vec<String> = sent
                .iter()
                .filter(|r| r.topic == topic && r.partition == p && committed_txns.contains(&r.txn))
                .map(|r| r.value.clone())
                .collect();
            if seen != want {
                return Err(format!(
                    "{topic}-{p}: read_committed {seen:?}\n  expected {want:?}"
                ));
            }
            // Committed records were reported delivered where the log has them.
            let log = sim.cluster.log(topic, p);
            for (i, r) in sent.iter().enumerate() {
                if r.topic != topic || r.partition != p || !committed_txns.contains(&r.txn) {
                    continue;
                }
                match book.outcomes[i][0] {
                    Outcome::Delivered { offset } if offset >= 0 => {
                        let at = log.iter().find(|s| s.offset == offset);
                        let value = at.and_then(|s| s.value.clone()).unwrap_or_default();
                        if value != r.value.as_bytes() {
                            return Err(format!(
                                "{} reported at {offset}, log has {value:?}",
                                r.value
                            ));
                        }
                    }
                    Outcome::Delivered { .. } => {}
                    Outcome::Failed => {
                        return Err(format!("{} failed in a committed transaction", r.value));
                    }
                }
            }
        }
    }
    if sim.cluster.group_offset(GROUP, "input", 0) != group_offset {
        return Err(format!(
            "group offset {:?}, expected {group_offset:?}",
            sim.cluster.group_offset(GROUP, "input", 0)
        ));
    }
    Ok(())
}

/// Runs `run` for every profile: the seed of `TXN_SIM_SEED` with a trace, or
/// `TXN_SIM_SEEDS` seeds (default 625) without; fails listing the first failures.
fn run_seeds(run: fn(&Profile, u64, bool) -> Result<(), String>) {
    if let Ok(seed) = std::env::var("TXN_SIM_SEED") {
        let seed: u64 = seed.parse().expect("TXN_SIM_SEED is a number");
        for p in profiles() {
            if let Err(e) = run(&p, seed, true) {
                panic!("{} seed {seed}: {e}", p.name);
            }
        }
        return;
    }
    let seeds: u64 = std::env::var("TXN_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(625);
    let mut failures = Vec::new();
    for p in profiles() {
        for seed in 0..seeds {
            if let Err(e) = run(&p, seed, false) {
                failures.push(format!("{} seed {seed}: {e}", p.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures (replay with TXN_SIM_SEED=<seed>):\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn transactions_hold_under_seeded_faults() {
    run_seeds(run);
}

/// A successor with the same `transactional.id` initializes (a raw InitProducerId to the
/// coordinator, as a new instance of the application would send) while the producer is in
/// the middle of a transaction. From then on nothing the first producer sends is appended,
/// its transaction never becomes visible, and its next transactional call fails fenced.
fn fenced_run(profile: &Profile, seed: u64, trace: bool) -> Result<(), String> {
    use kafka_proto::messages::init_producer_id::InitProducerIdRequest;
    use kafka_sim::{NetOutput, wire};

    let mut rng = SplitMix64::new(seed ^ 0xFE7CE);
    let mut sim = start(profile, seed, trace);
    let mut book = Book::default();
    let r = sim.producer.init_transactions(sim.now);
    progress(&mut sim, &mut book, r, TransactionOp::Init)?.map_err(|e| format!("init: {e}"))?;
    let (pid, first_epoch) = sim.cluster.transaction_epoch(ID).ok_or("no epoch")?;
    let committed_before = 1 + rng.below(3) as usize;
    let fence_at = rng.below(20) as usize;
    let mut fenced_epoch = None;
    let mut fence_ends: Vec<((&str, i32), i64)> = Vec::new();
    let mut sent = 0usize;
    'txns: for t in 0..committed_before + 1 {
        if let Err(e) = sim.producer.begin_transaction(sim.now) {
            return Err(format!("begin {t}: {e}"));
        }
        for i in 0..25 {
            if t == committed_before && i == fence_at {
                // The successor: one InitProducerId at the coordinator, no faults in its way.
                // Every broker may be down for a moment (restarts): wait for one.
                let mut waited = 0;
                while sim.cluster.coordinator_for(ID).is_none() && waited < 100 {
                    let events = sim.advance(Duration::from_millis(100));
                    absorb_until_fatal(&mut book, events)?;
                    waited += 1;
                }
                let faults = sim.cluster.faults().clone();
                sim.cluster.set_faults(Faults::none());
                let coordinator = sim.cluster.coordinator_for(ID).ok_or("no coordinator")?;
                let conn = sim
                    .cluster
                    .connect(&format!("broker-{coordinator}"), 9092, sim.now)
                    .map_err(|e| format!("{e:?}"))?;
                let request = InitProducerIdRequest {
                    transactional_id: Some(ID.into()),
                    transaction_timeout_ms: 60_000,
                    producer_id: -1,
                    producer_epoch: -1,
                    ..Default::default()
                };
                let bytes = wire::encode_request(5, 1, &request).map_err(|e| e.to_string())?;
                sim.cluster.client_send(conn, &bytes, sim.now);
                let mut answer = None;
                while answer.is_none() {
                    match sim.cluster.poll_output(sim.now) {
                        Some(NetOutput::Data { conn: c, bytes }) if c == conn => {
                            let (_, r) = wire::decode_response::<InitProducerIdRequest>(&bytes, 5)
                                .map_err(|e| e.to_string())?;
                            answer = Some(r);
                        }
                        Some(_) => return Err("unexpected output for the successor".into()),
                        None => {
                            let next = sim.cluster.next_wakeup().ok_or("successor: no answer")?;
                            sim.now = sim.now.max(next);
                        }
                    }
                }
                sim.cluster.client_close(conn);
                sim.cluster.set_faults(faults);
                let r = answer.unwrap_or_default();
                if r.error_code != 0 || r.producer_id != pid || r.producer_epoch <= first_epoch {
                    return Err(format!("successor's init: {r:?}"));
                }
                fenced_epoch = Some(r.producer_epoch);
                for (topic, n) in TOPICS {
                    for p in 0..n {
                        fence_ends
                            .push(((topic, p), sim.cluster.end_offset(topic, p).unwrap_or(0)));
                    }
                }
            }
            let (topic, _) = TOPICS[rng.below(2) as usize];
            let value = format!("t{t}-r{sent}");
            let record = Record {
                topic,
                key: Some(b"k"),
                value: Some(value.as_bytes()),
                ..Default::default()
            };
            let deadline = sim.now + Duration::from_secs(120);
            loop {
                match sim.producer.send(&record, sim.now) {
                    Ok(token) => {
                        book.outcomes.push(Vec::new());
                        book.batch_of
                            .entry(token.batch)
                            .or_default()
                            .push((sent, token.index));
                        sent += 1;
                        break;
                    }
                    Err(SendError::MetadataPending { .. } | SendError::BufferFull { .. })
                        if sim.now < deadline =>
                    {
                        let events = sim.advance(Duration::from_millis(10));
                        if absorb_until_fatal(&mut book, events)? {
                            break 'txns;
                        }
                    }
                    Err(e) if fenced_epoch.is_some() && e.is_fatal() => break 'txns,
                    Err(e) => return Err(format!("send: {e}")),
                }
            }
            let events = sim.advance(Duration::from_millis(rng.below(20)));
            if absorb_until_fatal(&mut book, events)? {
                break 'txns;
            }
        }
        let r = sim.producer.commit_transaction(sim.now);
        let result = match r {
            Ok(TransactionProgress::Done) => Ok(()),
            Ok(TransactionProgress::Pending) => wait_for_fenced(&mut sim, &mut book)?,
            Err(e) => Err(e),
        };
        match (fenced_epoch, result) {
            (None, Ok(())) => {}
            (None, Err(e)) => return Err(format!("commit {t} before the fence: {e}")),
            (Some(_), Ok(())) => return Err("a fenced producer committed".into()),
            (Some(_), Err(e)) if e.is_fatal() => break,
            (Some(_), Err(e)) => return Err(format!("fenced commit failed, but not fatally: {e}")),
        }
    }
    let Some(fenced_epoch) = fenced_epoch else {
        return Err("the successor never ran".into());
    };
    // Fenced for good: every call fails.
    if sim.producer.begin_transaction(sim.now).is_ok() {
        return Err("a fenced producer began a transaction".into());
    }
    sim.producer.close(sim.now, Some(Duration::from_secs(30)));
    let _ = sim.drive_until(Duration::from_secs(120), kafka_sim::pair::closed);
    // Nothing of the first producer was appended after the successor's init.
    for ((topic, p), end) in fence_ends {
        for r in sim.cluster.log(topic, p) {
            if r.offset >= end && r.producer_id == pid && r.producer_epoch < fenced_epoch {
                return Err(format!(
                    "{topic}-{p}: the fenced producer wrote {:?} at {} after its successor's init",
                    r.value, r.offset
                ));
            }
        }
        // And nothing of the fenced transaction is visible.
        for r in sim.cluster.read_committed(topic, p) {
            let v = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).to_string();
            if v.starts_with(&format!("t{committed_before}-")) {
                return Err(format!(
                    "{topic}-{p}: {v} of the fenced transaction is visible"
                ));
            }
        }
    }
    Ok(())
}

/// Like [`Book::absorb`], but a fatal event ends the run's sending (true) instead of failing it.
fn absorb_until_fatal(book: &mut Book, events: Vec<Event>) -> Result<bool, String> {
    let fatal = events.iter().any(|e| {
        matches!(e, Event::Fatal(_)) || matches!(e, Event::Failed { error, .. } if error.is_fatal())
    });
    let rest: Vec<Event> = events
        .into_iter()
        .filter(|e| {
            !matches!(e, Event::Fatal(_))
                && !matches!(e, Event::Failed { error, .. } if error.is_fatal())
        })
        .collect();
    book.absorb(rest)?;
    Ok(fatal)
}

/// Waits for the commit's result, a fatal error being a result too.
fn wait_for_fenced(
    sim: &mut Pair,
    book: &mut Book,
) -> Result<Result<(), TransactionError>, String> {
    let limit = sim.now + Duration::from_secs(600);
    loop {
        let events = sim.pump();
        let _ = absorb_until_fatal(book, events)?;
        if let Some(i) = book
            .completed
            .iter()
            .position(|o| *o == TransactionOp::Commit)
        {
            book.completed.remove(i);
            return sim
                .producer
                .transaction_result(TransactionOp::Commit)
                .ok_or("commit completed without a result".into());
        }
        if sim.now >= limit || !sim.step_time(limit) {
            return Err(format!(
                "commit did not complete:\n{}",
                sim.producer.debug_state()
            ));
        }
    }
}

#[test]
fn a_successor_fences_the_first_producer_under_seeded_faults() {
    run_seeds(fenced_run);
}
