//! Transactions on Apache Kafka, every runtime (`suite!`), read back by an independent
//! `read_committed` reader (confluent-kafka, `scripts/read_topic.py`) and checked against the
//! group offsets Kafka's admin API reports (`scripts/group_offsets.py`).
//!
//! The binary shares one 3-node cluster (transactions v2, KIP-890, as Kafka 4.x finalizes by
//! default; RF 3, `min.insync.replicas=2`) and starts a single-node cluster downgraded to
//! `transaction.version=1` for the v1 protocol. Scenarios:
//! - exactly once: keyed records (100,220 on Tokio) in transactions of varying size, every
//!   fourth aborted: the
//!   `read_committed` reader gets exactly the committed ones, once, in order per partition;
//!   `read_uncommitted` shows the aborted ones were written;
//! - the same on the v1 protocol (AddPartitionsToTxn, EndTxn v4);
//! - fencing: a second producer with the same `transactional.id` fences the first, whose
//!   commit fails fatally (fenced), and nothing of its open transaction becomes visible;
//! - `send_offsets_to_transaction`: the group's offsets move with a committed transaction and
//!   not with an aborted one;
//! - `transaction.timeout.ms` exceeded: the coordinator aborts, the producer reports it, the
//!   records never show;
//! - close aborts an open transaction;
//! - misuse (sending outside a transaction, committing twice) is refused with typed errors.

mod runtimes;

#[allow(dead_code, clippy::all)]
#[path = "../../kafka-runtime-tokio/examples/exactly_once.rs"]
mod exactly_once_example;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use kafka_integration_tests::kafka::{
    ClusterConfig, KafkaCluster, Listener, NewTopic, SharedCluster,
};
use kafka_integration_tests::require_tools;
use kafka_integration_tests::tools::{Tool, python_output};
use kafka_runtime_common::{
    ConsumerGroupMetadata, OffsetToCommit, ProducerBuilder, ProducerRecord, SendError,
    TransactionError, TransactionState,
};
use runtimes::{Rt, TestProducer, sleep};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The binary's 3-node cluster: timed-out transactions are aborted within a second, and a
/// killed broker is noticed within seconds (9 s session, 30 s replica lag by default).
fn config() -> ClusterConfig {
    ClusterConfig::three_nodes()
        .broker_config(
            "transaction.abort.timed.out.transaction.cleanup.interval.ms",
            "1000",
        )
        .broker_config("broker.heartbeat.interval.ms", "500")
        .broker_config("broker.session.timeout.ms", "3000")
        .broker_config("replica.lag.time.max.ms", "5000")
}

/// The 3-node cluster, shared with the scenarios running beside this one.
fn cluster() -> SharedCluster {
    KafkaCluster::shared(config())
}

/// The 3-node cluster, held alone: the scenario kills a node (the guard restarts it).
fn cluster_alone() -> SharedCluster {
    KafkaCluster::shared_exclusive(config())
}

/// A single-node cluster on transactions v1 (`transaction.version=1`).
fn v1_cluster() -> &'static KafkaCluster {
    static V1: OnceLock<KafkaCluster> = OnceLock::new();
    static START: Mutex<()> = Mutex::new(());
    let _guard = START.lock().unwrap_or_else(|e| e.into_inner());
    V1.get_or_init(|| {
        let c = KafkaCluster::start(ClusterConfig::single_node());
        c.set_feature_level("transaction.version", 1);
        c
    })
}

fn unique<T: Rt>(base: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{base}-{}-{}", T::NAME, N.fetch_add(1, Ordering::Relaxed))
}

fn txn_producer<T: Rt>(kafka: &KafkaCluster, transactional_id: &str) -> ProducerBuilder<T::R> {
    ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&kafka.bootstrap(Listener::Plaintext))
        .client_id(&format!("{}-txn-tests", T::NAME))
        .set("transactional.id", transactional_id)
        .set("linger.ms", "5")
}

/// One record as the independent reader saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    partition: i32,
    offset: i64,
    key: Option<String>,
    value: String,
}

fn unhex(s: &str) -> String {
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect();
    String::from_utf8(bytes).expect("utf-8")
}

/// Every record of `topic` as `isolation` (read_committed / read_uncommitted) sees it.
fn read_topic(kafka: &KafkaCluster, topic: &str, isolation: &str) -> Vec<Seen> {
    let out = python_output(
        "scripts/read_topic.py",
        [
            kafka.bootstrap(Listener::Plaintext).as_str(),
            topic,
            isolation,
            "90",
        ],
    );
    let stdout = out.expect_success("read_topic.py");
    stdout
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            Seen {
                partition: v["partition"].as_i64().expect("partition") as i32,
                offset: v["offset"].as_i64().expect("offset"),
                key: v["key"].as_str().map(unhex),
                value: unhex(v["value"].as_str().expect("value")),
            }
        })
        .collect()
}

/// The committed offsets of `group`: `(topic, partition) -> offset`.
fn group_offsets(kafka: &KafkaCluster, group: &str) -> BTreeMap<(String, i32), i64> {
    let out = python_output(
        "scripts/group_offsets.py",
        [kafka.bootstrap(Listener::Plaintext).as_str(), group],
    );
    out.expect_success("group_offsets.py")
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            (
                (
                    v["topic"].as_str().expect("topic").to_owned(),
                    v["partition"].as_i64().expect("partition") as i32,
                ),
                v["offset"].as_i64().expect("offset"),
            )
        })
        .collect()
}

/// Values `txn-{t}-{i}` with key `k{i % 50}`: `t` the transaction, `i` the record.
fn record(topic: &str, t: usize, i: usize) -> ProducerRecord {
    ProducerRecord::new(topic)
        .key(format!("k{}", i % 50))
        .value(format!("txn-{t}-{i}"))
}

/// Sends `transactions` transactions of varying size (1 to 700 records), aborting every
/// fourth; returns the values committed and those aborted, in sending order.
async fn exactly_once_run<T: Rt>(
    kafka: &KafkaCluster,
    topic: &str,
    transactions: usize,
) -> (Vec<String>, Vec<String>) {
    let p = txn_producer::<T>(kafka, &unique::<T>("eos"))
        .build()
        .unwrap();
    p.init_transactions(TIMEOUT).await.unwrap();
    let mut committed = Vec::new();
    let mut aborted = Vec::new();
    let mut next = 0usize;
    for t in 0..transactions {
        p.begin_transaction().unwrap();
        let size = 1 + (t * 7919) % 700;
        let mut values = Vec::with_capacity(size);
        let mut deliveries = Vec::with_capacity(size);
        for _ in 0..size {
            let r = record(topic, t, next);
            values.push(format!("txn-{t}-{next}"));
            next += 1;
            deliveries.push(p.send(r).await.unwrap());
        }
        if t % 4 == 3 {
            // Written first (so read_uncommitted must see them), then aborted.
            for d in deliveries {
                d.await.unwrap();
            }
            p.abort_transaction(TIMEOUT).await.unwrap();
            aborted.extend(values);
        } else {
            p.commit_transaction(TIMEOUT).await.unwrap();
            for d in deliveries {
                d.await.unwrap();
            }
            committed.extend(values);
        }
    }
    // Java's txn-*-time-ns-total: init, commits and aborts took time (they
    // wait for the coordinator); begin is local.
    let m = p.metrics();
    for name in [
        "txn-init-time-ns-total",
        "txn-commit-time-ns-total",
        "txn-abort-time-ns-total",
    ] {
        assert!(m.get(name).unwrap() > 0.0, "{name}: {m:?}");
    }
    assert_eq!(m.get("txn-send-offsets-time-ns-total"), Some(0.0));
    assert!(m.get("txn-begin-time-ns-total").is_some());
    p.close(TIMEOUT).await;
    (committed, aborted)
}

/// The producer ids and epochs of `topic`'s data batches, as Kafka's `DumpLogSegments` reads
/// them from the log files; every data batch must be transactional, and markers present.
fn batch_epochs(kafka: &KafkaCluster, topic: &str, partitions: i32) -> HashSet<(i64, i16)> {
    let mut epochs = HashSet::new();
    let mut markers = 0;
    for p in 0..partitions {
        for b in kafka.log_batches(topic, p).unwrap() {
            if b.control {
                markers += 1;
                continue;
            }
            assert!(b.transactional, "a data batch is not transactional: {b:?}");
            epochs.insert((b.producer_id, b.producer_epoch));
        }
    }
    assert!(markers > 0, "no transaction markers in {topic}");
    epochs
}

fn check_exactly_once(kafka: &KafkaCluster, topic: &str, committed: &[String], aborted: &[String]) {
    let seen = read_topic(kafka, topic, "read_committed");
    let values: Vec<&str> = seen.iter().map(|s| s.value.as_str()).collect();
    let unique_values: HashSet<&str> = values.iter().copied().collect();
    assert_eq!(
        unique_values.len(),
        values.len(),
        "a committed record was read twice"
    );
    let aborted_set: HashSet<&str> = aborted.iter().map(String::as_str).collect();
    assert!(
        !values.iter().any(|v| aborted_set.contains(v)),
        "read_committed returned an aborted record"
    );
    let mut expected: Vec<&str> = committed.iter().map(String::as_str).collect();
    expected.sort_unstable();
    let mut got = values.clone();
    got.sort_unstable();
    assert_eq!(
        got, expected,
        "read_committed is not exactly the committed records"
    );
    // In order per partition: a key's records stay in sending order.
    let index = |v: &str| -> usize { v.rsplit('-').next().unwrap().parse().unwrap() };
    let mut last: BTreeMap<i32, (i64, usize)> = BTreeMap::new();
    for s in &seen {
        let i = index(&s.value);
        if let Some((offset, prev)) = last.get(&s.partition) {
            assert!(
                s.offset > *offset && i > *prev,
                "out of order in {}: {s:?}",
                s.partition
            );
        }
        last.insert(s.partition, (s.offset, i));
    }
    // The aborted records were written (read_uncommitted sees them).
    let all = read_topic(kafka, topic, "read_uncommitted");
    let all_values: HashSet<&str> = all.iter().map(|s| s.value.as_str()).collect();
    for v in aborted {
        assert!(
            all_values.contains(v.as_str()),
            "aborted record {v} was never written"
        );
    }
}

async fn exactly_once_with_aborts_v2<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let shared = cluster();
    let kafka = &*shared;
    let topic = unique::<T>("eos-v2");
    kafka.create_topic(&topic, 6);
    // Tokio: 288 transactions of 1 to 700 records, 100,220 records in all.
    let transactions = if T::NAME == "tokio" { 288 } else { 40 };
    let (committed, aborted) = exactly_once_run::<T>(kafka, &topic, transactions).await;
    if T::NAME == "tokio" {
        assert_eq!(committed.len() + aborted.len(), 100_220);
    }
    check_exactly_once(kafka, &topic, &committed, &aborted);
    // v2 (KIP-890): every EndTxn bumped the epoch, so each transaction wrote under its own.
    let epochs = batch_epochs(kafka, &topic, 6);
    assert_eq!(epochs.len(), transactions, "{epochs:?}");
}

async fn exactly_once_with_aborts_v1<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = v1_cluster();
    let topic = unique::<T>("eos-v1");
    kafka.create_topic(&topic, 4);
    let (committed, aborted) = exactly_once_run::<T>(kafka, &topic, 24).await;
    check_exactly_once(kafka, &topic, &committed, &aborted);
    // v1: one epoch for every transaction (nothing failed, so no abort bumped it).
    let epochs = batch_epochs(kafka, &topic, 4);
    assert_eq!(epochs.len(), 1, "{epochs:?}");
}

async fn a_second_producer_fences_the_first<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let shared = cluster();
    let kafka = &*shared;
    let topic = unique::<T>("fence");
    kafka.create_topic(&topic, 3);
    let id = unique::<T>("fenced-id");
    let first = txn_producer::<T>(kafka, &id).build().unwrap();
    first.init_transactions(TIMEOUT).await.unwrap();
    first.begin_transaction().unwrap();
    let mut deliveries = Vec::new();
    for i in 0..200 {
        deliveries.push(first.send(record(&topic, 0, i)).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
    // The successor takes over: its init aborts the first's open transaction.
    let second = txn_producer::<T>(kafka, &id).build().unwrap();
    second.init_transactions(TIMEOUT).await.unwrap();
    let err = first.commit_transaction(TIMEOUT).await.unwrap_err();
    assert!(err.is_fenced() && err.is_fatal(), "{err:?}");
    // Every later call of the fenced producer fails too.
    assert!(first.begin_transaction().unwrap_err().is_fatal());
    first.close(TIMEOUT).await;
    second.begin_transaction().unwrap();
    for i in 0..100 {
        // The commit succeeds only if every record was delivered.
        drop(second.send(record(&topic, 1, i)).await.unwrap());
    }
    second.commit_transaction(TIMEOUT).await.unwrap();
    second.close(TIMEOUT).await;
    let seen = read_topic(kafka, &topic, "read_committed");
    assert_eq!(seen.len(), 100, "only the successor's records are visible");
    assert!(seen.iter().all(|s| s.value.starts_with("txn-1-")));
    assert_eq!(read_topic(kafka, &topic, "read_uncommitted").len(), 300);
}

async fn offsets_move_with_committed_transactions_only<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let shared = cluster();
    let kafka = &*shared;
    let topic = unique::<T>("offsets-out");
    kafka.create_topic(&topic, 2);
    let group = unique::<T>("group");
    let input = unique::<T>("offsets-in");
    kafka.create_topic(&input, 2);
    let p = txn_producer::<T>(kafka, &unique::<T>("offsets-id"))
        .build()
        .unwrap();
    p.init_transactions(TIMEOUT).await.unwrap();
    let offsets = |a: i64, b: i64| {
        vec![
            OffsetToCommit {
                topic: input.clone(),
                partition: 0,
                offset: a,
                metadata: Some("m".into()),
            },
            OffsetToCommit {
                topic: input.clone(),
                partition: 1,
                offset: b,
                metadata: None,
            },
        ]
    };
    let meta = ConsumerGroupMetadata::new(&group);
    p.begin_transaction().unwrap();
    drop(p.send(record(&topic, 0, 0)).await.unwrap());
    p.send_offsets_to_transaction(&offsets(10, 20), &meta)
        .await
        .unwrap();
    p.commit_transaction(TIMEOUT).await.unwrap();
    let committed = group_offsets(kafka, &group);
    assert_eq!(
        committed.get(&(input.clone(), 0)),
        Some(&10),
        "{committed:?}"
    );
    assert_eq!(
        committed.get(&(input.clone(), 1)),
        Some(&20),
        "{committed:?}"
    );

    p.begin_transaction().unwrap();
    drop(p.send(record(&topic, 1, 1)).await.unwrap());
    p.send_offsets_to_transaction(&offsets(30, 40), &meta)
        .await
        .unwrap();
    p.abort_transaction(TIMEOUT).await.unwrap();
    let after_abort = group_offsets(kafka, &group);
    assert_eq!(
        after_abort, committed,
        "an aborted transaction moved the offsets"
    );

    // Offsets alone, without records, commit too.
    p.begin_transaction().unwrap();
    p.send_offsets_to_transaction(&offsets(50, 60), &meta)
        .await
        .unwrap();
    p.commit_transaction(TIMEOUT).await.unwrap();
    let last = group_offsets(kafka, &group);
    assert_eq!(last.get(&(input.clone(), 0)), Some(&50), "{last:?}");
    p.close(TIMEOUT).await;
    let seen = read_topic(kafka, &topic, "read_committed");
    assert_eq!(seen.len(), 1, "{seen:?}");
}

async fn a_timed_out_transaction_is_aborted_by_the_coordinator<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let shared = cluster();
    let kafka = &*shared;
    let topic = unique::<T>("txn-timeout");
    kafka.create_topic(&topic, 1);
    let p = txn_producer::<T>(kafka, &unique::<T>("timeout-id"))
        .set("transaction.timeout.ms", "2000")
        .build()
        .unwrap();
    p.init_transactions(TIMEOUT).await.unwrap();
    p.begin_transaction().unwrap();
    let mut deliveries = Vec::new();
    for i in 0..50 {
        deliveries.push(p.send(record(&topic, 0, i)).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
    // The coordinator aborts it after 2 s (checked every second).
    sleep(Duration::from_secs(6)).await;
    let err = p.commit_transaction(TIMEOUT).await.unwrap_err();
    eprintln!("commit of the timed-out transaction: {err}");
    assert!(
        err.is_fatal() || err.is_abortable(),
        "the commit of a timed-out transaction must fail: {err:?}"
    );
    p.close(TIMEOUT).await;
    assert!(read_topic(kafka, &topic, "read_committed").is_empty());
    assert_eq!(read_topic(kafka, &topic, "read_uncommitted").len(), 50);
}

async fn close_aborts_an_open_transaction<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let shared = cluster();
    let kafka = &*shared;
    let topic = unique::<T>("close-aborts");
    kafka.create_topic(&topic, 2);
    let p = txn_producer::<T>(kafka, &unique::<T>("close-id"))
        .build()
        .unwrap();
    p.init_transactions(TIMEOUT).await.unwrap();
    p.begin_transaction().unwrap();
    for i in 0..20 {
        drop(p.send(record(&topic, 0, i)).await.unwrap());
    }
    p.commit_transaction(TIMEOUT).await.unwrap();
    p.begin_transaction().unwrap();
    let mut deliveries = Vec::new();
    for i in 20..60 {
        deliveries.push(p.send(record(&topic, 1, i)).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
    p.close(TIMEOUT).await;
    // The reader reaches the end (the transaction was ended, not left open) and sees only the
    // first transaction.
    let seen = read_topic(kafka, &topic, "read_committed");
    assert_eq!(seen.len(), 20, "{seen:?}");
}

async fn misuse_is_refused_with_typed_errors<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let shared = cluster();
    let kafka = &*shared;
    let topic = unique::<T>("misuse");
    kafka.create_topic_with(NewTopic::new(&topic, 1));
    let p = txn_producer::<T>(kafka, &unique::<T>("misuse-id"))
        .build()
        .unwrap();
    // Before init: no transaction can begin, no record is taken.
    assert!(matches!(
        p.begin_transaction(),
        Err(TransactionError::InvalidState {
            state: TransactionState::Uninitialized,
            ..
        })
    ));
    p.init_transactions(TIMEOUT).await.unwrap();
    match p.send(record(&topic, 0, 0)).await {
        Err(SendError::Transaction(TransactionError::InvalidState { operation, state })) => {
            assert_eq!((operation, state), ("send", TransactionState::Ready));
        }
        other => panic!("send outside a transaction: {other:?}"),
    }
    assert!(matches!(
        p.commit_transaction(TIMEOUT).await,
        Err(TransactionError::InvalidState { .. })
    ));
    p.begin_transaction().unwrap();
    assert!(matches!(
        p.begin_transaction(),
        Err(TransactionError::InvalidState {
            state: TransactionState::InTransaction,
            ..
        })
    ));
    // An empty transaction commits without a round trip to end it.
    p.commit_transaction(TIMEOUT).await.unwrap();
    p.close(TIMEOUT).await;
    // Without transactional.id there are no transactions.
    let plain = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&kafka.bootstrap(Listener::Plaintext))
        .build()
        .unwrap();
    assert_eq!(
        plain.begin_transaction(),
        Err(TransactionError::NotTransactional)
    );
    plain.close(TIMEOUT).await;
}

/// Keyed records streamed into one transaction while `disrupt` runs on a thread of its own
/// at the stream's midpoint; the commit must succeed and make them visible exactly once, in
/// order per partition.
async fn stream_one_transaction<T: Rt>(
    kafka: &'static KafkaCluster,
    topic: &str,
    records: usize,
    disrupt: impl FnOnce(&'static KafkaCluster) + Send + 'static,
) -> Vec<String> {
    let p = txn_producer::<T>(kafka, &unique::<T>("failover-id"))
        .set("request.timeout.ms", "5000")
        .build()
        .unwrap();
    p.init_transactions(TIMEOUT).await.unwrap();
    p.begin_transaction().unwrap();
    let mut deliveries = Vec::with_capacity(records);
    let mut values = Vec::with_capacity(records);
    let mut disrupt = Some(disrupt);
    let mut thread = None;
    for i in 0..records {
        if i == records / 2 {
            let d = disrupt.take().unwrap();
            thread = Some(std::thread::spawn(move || d(kafka)));
        }
        if i % 1000 == 999 {
            sleep(Duration::from_millis(200)).await;
        }
        values.push(format!("txn-0-{i}"));
        deliveries.push(p.send(record(topic, 0, i)).await.unwrap());
    }
    let committed = p.commit_transaction(Duration::from_secs(180)).await;
    thread.unwrap().join().unwrap();
    committed.unwrap_or_else(|e| panic!("the commit failed: {e}"));
    for d in deliveries {
        d.await.unwrap();
    }
    p.close(TIMEOUT).await;
    values
}

async fn a_leader_killed_mid_transaction_loses_nothing<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let shared = cluster_alone();
    let kafka = shared.cluster();
    let topic = unique::<T>("leader-kill");
    kafka.create_topic(&topic, 3);
    let victim = kafka.describe_topic(&topic).unwrap()[0].leader;
    let t = topic.clone();
    let values = stream_one_transaction::<T>(kafka, &topic, 10_000, move |kafka| {
        kafka.kill_node(victim);
        let moved = kafka.wait_for_leader_other_than(&t, 0, victim, Duration::from_secs(30));
        eprintln!("killed node {victim}; partition 0 now led by {moved}");
        std::thread::sleep(Duration::from_secs(2));
        kafka.restart_node(victim);
    })
    .await;
    kafka.wait_for_full_isr(&topic, Duration::from_secs(90));
    check_exactly_once(kafka, &topic, &values, &[]);
}

async fn the_coordinator_killed_mid_commit_commits_as_a_whole<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let shared = cluster_alone();
    let kafka = shared.cluster();
    let topic = unique::<T>("coordinator-kill");
    kafka.create_topic(&topic, 3);
    let id = unique::<T>("coordinator-kill-id");
    let p = txn_producer::<T>(kafka, &id)
        .set("request.timeout.ms", "5000")
        .build()
        .unwrap();
    p.init_transactions(TIMEOUT).await.unwrap();
    let mut committed = Vec::new();
    for round in 0..2 {
        p.begin_transaction().unwrap();
        let mut deliveries = Vec::new();
        for i in 0..3000 {
            committed.push(format!("txn-{round}-{}", round * 3000 + i));
            deliveries.push(
                p.send(record(&topic, round, round * 3000 + i))
                    .await
                    .unwrap(),
            );
        }
        for d in deliveries {
            d.await.unwrap();
        }
        let coordinator = kafka.transaction_coordinator(&id).unwrap();
        // Dies as the EndTxn goes out (or just before, or after: each is a valid race).
        let killer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            kafka.kill_node(coordinator);
        });
        let result = p.commit_transaction(Duration::from_secs(180)).await;
        killer.join().unwrap();
        eprintln!("round {round}: killed coordinator {coordinator}; commit: {result:?}");
        result.unwrap_or_else(|e| panic!("the commit failed: {e}"));
        kafka.restart_node(coordinator);
        kafka.wait_for_full_isr(&topic, Duration::from_secs(90));
    }
    p.close(TIMEOUT).await;
    check_exactly_once(kafka, &topic, &committed, &[]);
}

/// The Tokio crate's consume-transform-produce example against Apache Kafka: its input has
/// committed and aborted transactions (the example's read_committed fetch must skip the
/// aborted ones); run twice, the second time from the offset the first committed for the
/// group, it transforms every committed input record exactly once, and the group's offset
/// ends past the input.
#[test]
fn the_exactly_once_example_transforms_each_committed_input_once() {
    require_tools!(Tool::Kafka, Tool::Python);
    let shared = cluster();
    let kafka = shared.cluster();
    let input = "eos-example-in";
    let output = "eos-example-out";
    let group = "eos-example-group";
    kafka.create_topic(input, 1);
    kafka.create_topic(output, 2);
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    let rt = ::tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Input: ten transactions of 100, every third aborted.
        let p = txn_producer::<runtimes::TokioRt>(kafka, "eos-example-input")
            .build()
            .unwrap();
        p.init_transactions(TIMEOUT).await.unwrap();
        let mut next = 0;
        for t in 0..10 {
            p.begin_transaction().unwrap();
            for _ in 0..100 {
                let r = ProducerRecord::new(input)
                    .key(format!("k{next}"))
                    .value(format!("v{next}"));
                p.send(r).await.unwrap().await.unwrap();
                next += 1;
            }
            if t % 3 == 2 {
                p.abort_transaction(TIMEOUT).await.unwrap();
            } else {
                p.commit_transaction(TIMEOUT).await.unwrap();
            }
        }
        p.close(TIMEOUT).await;
        let args = |from: i64, max: usize| {
            vec![
                bootstrap.clone(),
                input.to_owned(),
                output.to_owned(),
                group.to_owned(),
                from.to_string(),
                max.to_string(),
            ]
        };
        let (first, at) = exactly_once_example::run(args(0, 250)).await.unwrap();
        assert_eq!(first, 250);
        let committed = group_offsets(kafka, group);
        assert_eq!(committed.get(&(input.to_owned(), 0)), Some(&at));
        let (second, end) = exactly_once_example::run(args(at, usize::MAX))
            .await
            .unwrap();
        assert_eq!(first + second, 700, "every committed input record, once");
        let last = group_offsets(kafka, group);
        assert_eq!(last.get(&(input.to_owned(), 0)), Some(&end));
    });
    let mut got: Vec<String> = read_topic(kafka, output, "read_committed")
        .into_iter()
        .map(|s| s.value)
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..1000)
        .filter(|i| (i / 100) % 3 != 2)
        .map(|i| format!("V{i}"))
        .collect();
    want.sort();
    assert_eq!(got, want);
}

runtimes::suite!(
    exactly_once_with_aborts_v2,
    exactly_once_with_aborts_v1,
    a_second_producer_fences_the_first,
    offsets_move_with_committed_transactions_only,
    a_timed_out_transaction_is_aborted_by_the_coordinator,
    close_aborts_an_open_transaction,
    misuse_is_refused_with_typed_errors,
    a_leader_killed_mid_transaction_loses_nothing,
    the_coordinator_killed_mid_commit_commits_as_a_whole,
);
