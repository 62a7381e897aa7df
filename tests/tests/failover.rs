//! Failover on a real 3-node Apache Kafka cluster (KRaft, RF 3, `min.insync.replicas=2`), on
//! every runtime (`suite!`): an idempotent producer (acks=all, 5 in flight) streams keyed
//! records while a broker is SIGKILLed, SIGSTOPped, shut down in turn, or while leaders move
//! and partitions are added. Every record's outcome is recorded exactly once and checked against
//! what confluent-kafka (CRC checks on) reads back: nothing lost, nothing duplicated, order kept
//! per partition, acknowledged records at their reported offsets, records reported "not
//! written" absent.
//!
//! The scenarios share one cluster per test binary and take [`NODE_CONTROL`] for their whole
//! run (they stop and move brokers), so they run one at a time; each leaves every node running
//! and every partition of its topic fully in sync.
//!
//! Sizes: [`records_for`] (tokio 50,000 per scenario, async-std and mio 20,000), paced over
//! [`STREAM`] so that the disruption lands mid-stream.
//!
//! `soak` (ignored; `scripts/soak.sh` runs it): a steady rate for 10 minutes with a broker
//! restart every minute, sampling this process's RSS.

// `NODE_CONTROL` serialises whole tests: each runs its scenario on an executor of its own thread
// (`runtimes::suite!`), where nothing else waits for the guard held across awaits.
#![allow(clippy::await_holding_lock)]

mod outcomes;
mod runtimes;

use std::fs;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use kafka_integration_tests::kafka::{ClusterConfig, KafkaCluster, Listener, NewTopic};
use kafka_integration_tests::tools::{Tool, env_u64, run_command};
use kafka_integration_tests::{python, require_tools};
use kafka_runtime_common::{Acks, ProducerBuilder};
use outcomes::{
    ACKED, Gate, Ledger, NOT_WRITTEN, POSSIBLY_WRITTEN, assert_all_delivered, script, stream,
    verify,
};
use runtimes::{Rt, TestProducer};

/// Held by each scenario for its whole run: they all stop, pause or move brokers.
static NODE_CONTROL: Mutex<()> = Mutex::new(());

/// How long the producer's requests may take before it gives up on them
/// (`request.timeout.ms`): short, so that the SIGSTOP scenario exceeds it quickly.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a paced stream takes (the last tenth waits for the disruption to end).
const STREAM: Duration = Duration::from_secs(12);

/// How long a partition may take to have its full ISR again after a node is back.
const ISR_TIMEOUT: Duration = Duration::from_secs(90);

fn lock() -> MutexGuard<'static, ()> {
    NODE_CONTROL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The binary's 3-node cluster, with broker liveness and ISR changes faster than Kafka's
/// defaults (9 s session, 30 s replica lag) so that a killed broker is noticed within seconds.
fn cluster() -> &'static KafkaCluster {
    KafkaCluster::shared(
        ClusterConfig::three_nodes()
            .broker_config("broker.heartbeat.interval.ms", "500")
            .broker_config("broker.session.timeout.ms", "3000")
            .broker_config("replica.lag.time.max.ms", "5000"),
    )
    // The scenarios take turns under NODE_CONTROL and leave every node
    // running, so the harness's own sharing guard need not be held.
    .cluster()
}

/// Records per scenario on runtime `T`.
fn records_for<T: Rt>() -> usize {
    if T::NAME == "tokio" { 50_000 } else { 20_000 }
}

fn topic_name<T: Rt>(scenario: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "failover-{scenario}-{}-{}-{}",
        T::NAME,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The idempotent producer every scenario uses: acks=all, 5 in flight, quick metadata
/// refresh (the add-partitions scenario relies on it).
fn producer<T: Rt>(bootstrap: &str, delivery_timeout: Duration) -> T::P {
    ProducerBuilder::<T::R>::new()
        .bootstrap_servers(bootstrap)
        .client_id(&format!("failover-{}", T::NAME))
        .acks(Acks::All)
        .enable_idempotence(true)
        .max_in_flight(5)
        .linger(Duration::from_millis(5))
        .request_timeout(REQUEST_TIMEOUT)
        .delivery_timeout(delivery_timeout)
        .set("metadata.max.age.ms", "2000")
        .set("retry.backoff.ms", "100")
        .set("retry.backoff.max.ms", "1000")
        .build()
        .expect("build the producer")
}

/// Runs a paced stream of `n` records to `topic` while `disrupt` runs on a thread of its own,
/// started once a tenth of the records are sent; the last tenth waits for it to finish. Then
/// flushes and returns the ledger.
async fn stream_through<T: Rt>(
    topic: &str,
    n: usize,
    delivery_timeout: Duration,
    disrupt: impl FnOnce(&'static KafkaCluster) + Send + 'static,
) -> Arc<Ledger> {
    let cluster = cluster();
    let producer = producer::<T>(&cluster.bootstrap(Listener::Plaintext), delivery_timeout);
    let topic: Arc<str> = topic.into();
    let ledger = Ledger::new(n);
    let gate = Arc::new(Gate::default());
    let disruption = {
        let gate = gate.clone();
        thread::spawn(move || {
            while gate.sent.load(Ordering::Acquire) < n / 10 {
                thread::sleep(Duration::from_millis(20));
            }
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                disrupt(cluster);
            }));
            gate.disrupted.store(true, Ordering::Release);
            if let Err(panic) = result {
                std::panic::resume_unwind(panic);
            }
        })
    };
    let started = Instant::now();
    stream(
        &producer,
        &topic,
        0..n,
        STREAM,
        &ledger,
        &gate,
        Some(n - n / 10),
    )
    .await;
    producer.flush().await;
    producer.close(Duration::from_secs(10)).await;
    eprintln!(
        "failover: {n} records to {topic} in {:.1?}",
        started.elapsed()
    );
    disruption.join().expect("the disruption failed");
    ledger
}
/// The leader of `topic`'s partition 0 (every partition is busy: keys spread over all).
fn leader_of_partition_0(cluster: &KafkaCluster, topic: &str) -> i32 {
    cluster.describe_partition(topic, 0).leader
}

fn heal(cluster: &KafkaCluster, topic: &str) {
    cluster.wait_for_full_isr(topic, ISR_TIMEOUT);
}

async fn sigkill_of_the_leader_mid_stream_loses_nothing<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let _nodes = lock();
    let cluster = cluster();
    let topic = topic_name::<T>("sigkill");
    cluster.create_topic(&topic, 6);
    let victim = leader_of_partition_0(cluster, &topic);
    let t = topic.clone();
    let ledger = stream_through::<T>(
        &topic,
        records_for::<T>(),
        Duration::from_secs(120),
        move |cluster| {
            cluster.kill_node(victim);
            let moved = cluster.wait_for_leader_other_than(&t, 0, victim, Duration::from_secs(30));
            eprintln!("failover: killed node {victim}, partition 0 now led by {moved}");
            thread::sleep(Duration::from_secs(3));
            cluster.restart_node(victim);
        },
    )
    .await;
    heal(cluster, &topic);
    assert_all_delivered(cluster, &topic, &ledger);
}

async fn sigstop_longer_than_the_request_timeout_loses_nothing<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let _nodes = lock();
    let cluster = cluster();
    let topic = topic_name::<T>("sigstop");
    cluster.create_topic(&topic, 6);
    let victim = leader_of_partition_0(cluster, &topic);
    let ledger = stream_through::<T>(
        &topic,
        records_for::<T>(),
        Duration::from_secs(120),
        move |cluster| {
            cluster.pause_node(victim);
            thread::sleep(REQUEST_TIMEOUT + Duration::from_secs(3));
            cluster.resume_node(victim);
        },
    )
    .await;
    heal(cluster, &topic);
    assert_all_delivered(cluster, &topic, &ledger);
}

async fn rolling_restart_loses_nothing<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let _nodes = lock();
    let cluster = cluster();
    let topic = topic_name::<T>("rolling");
    cluster.create_topic(&topic, 6);
    let t = topic.clone();
    let ledger = stream_through::<T>(
        &topic,
        records_for::<T>(),
        Duration::from_secs(120),
        move |cluster| {
            for id in cluster.node_ids() {
                let took = cluster.shut_down_node(id);
                eprintln!("failover: node {id} shut down in {took:.1?}");
                cluster.restart_node(id);
                cluster.wait_for_full_isr(&t, ISR_TIMEOUT);
            }
        },
    )
    .await;
    heal(cluster, &topic);
    assert_all_delivered(cluster, &topic, &ledger);
}

/// With the topic at `min.insync.replicas=3`, one node down shrinks every ISR below it (two
/// nodes down would also lose the controller quorum of this combined 3-node cluster, and with
/// it the ISR change). Records sent meanwhile get NOT_ENOUGH_REPLICAS, are retried until
/// `delivery.timeout.ms`, and fail; the log must agree with what was reported.
async fn isr_below_min_insync_fails_records_truthfully<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let _nodes = lock();
    let cluster = cluster();
    let topic = topic_name::<T>("isr");
    cluster.create_topic_with(NewTopic::new(&topic, 3).config("min.insync.replicas", "3"));
    let n = records_for::<T>() / 5;
    let third = n / 3;
    let producer = producer::<T>(
        &cluster.bootstrap(Listener::Plaintext),
        Duration::from_secs(8),
    );
    let topic_arc: Arc<str> = topic.as_str().into();
    let ledger = Ledger::new(n);
    let gate = Gate::default();
    let second = Duration::from_secs(1);
    stream(
        &producer,
        &topic_arc,
        0..third,
        second,
        &ledger,
        &gate,
        None,
    )
    .await;
    producer.flush().await;
    assert_eq!(ledger.count(ACKED), third, "{:?}", ledger.errors());

    let victim = 3;
    cluster.kill_node(victim);
    cluster.wait_for_topic(
        &topic,
        Duration::from_secs(30),
        "without the killed node",
        |parts| {
            parts
                .iter()
                .all(|p| !p.isr.contains(&victim) && p.leader != victim)
        },
    );
    let started = Instant::now();
    stream(
        &producer,
        &topic_arc,
        third..2 * third,
        second,
        &ledger,
        &gate,
        None,
    )
    .await;
    producer.flush().await;
    let failed = ledger.count(NOT_WRITTEN) + ledger.count(POSSIBLY_WRITTEN);
    eprintln!(
        "failover: ISR 2 < min.insync.replicas 3: {failed} of {third} failed after {:.1?}: {:?}",
        started.elapsed(),
        ledger.errors()
    );
    cluster.restart_node(victim);
    heal(cluster, &topic);
    stream(
        &producer,
        &topic_arc,
        2 * third..n,
        second,
        &ledger,
        &gate,
        None,
    )
    .await;
    producer.flush().await;
    producer.close(Duration::from_secs(10)).await;

    let verdict = verify(cluster, &topic, &ledger);
    assert_eq!(
        failed, third,
        "every record sent below min.insync.replicas fails"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(8),
        "the failures came only after delivery.timeout.ms"
    );
    let errors = ledger.errors();
    assert!(
        errors.keys().all(|e| e.contains("NOT_ENOUGH_REPLICAS")),
        "the last error was NOT_ENOUGH_REPLICAS(_AFTER_APPEND): {errors:?}"
    );
    assert_eq!(
        verdict.acked,
        n - third,
        "the records before and after the outage arrive"
    );
}

/// Runs one of Kafka's admin commands from the tools jar against the cluster.
fn kafka_tool(cluster: &KafkaCluster, class: &str, args: &[&str]) -> String {
    let libs = kafka_integration_tests::kafka::kafka_libs(cluster.config().version_name());
    let mut cmd = Command::new(kafka_integration_tests::kafka::java());
    cmd.args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            cluster.dir().join("log4j2.properties").display()
        ))
        .arg("-cp")
        .arg(libs.join("*"))
        .arg(class)
        .args([
            "--bootstrap-server",
            &cluster.bootstrap(Listener::Plaintext),
        ])
        .args(args);
    run_command(&mut cmd, Duration::from_secs(120)).expect_success(class)
}

/// Reverses every partition's replica list (so its preferred leader changes) with
/// `ReassignPartitionsCommand`, then moves leadership there with `LeaderElectionCommand`
/// (preferred election), while the producer streams.
async fn reassignment_and_leader_election_lose_nothing<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let _nodes = lock();
    let cluster = cluster();
    let topic = topic_name::<T>("reassign");
    cluster.create_topic(&topic, 6);
    let t = topic.clone();
    let ledger = stream_through::<T>(
        &topic,
        records_for::<T>(),
        Duration::from_secs(120),
        move |cluster| {
            let before = cluster.describe_topic(&t).expect("describe");
            let moves: Vec<String> = before
                .iter()
                .map(|p| {
                    let mut replicas = p.replicas.clone();
                    replicas.reverse();
                    format!(
                        r#"{{"topic":"{t}","partition":{},"replicas":{replicas:?}}}"#,
                        p.partition
                    )
                })
                .collect();
            let plan = cluster.dir().join(format!("{t}-reassignment.json"));
            fs::write(
                &plan,
                format!(r#"{{"version":1,"partitions":[{}]}}"#, moves.join(",")),
            )
            .expect("write the reassignment");
            let plan = plan.display().to_string();
            kafka_tool(
                cluster,
                "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
                &["--reassignment-json-file", &plan, "--execute"],
            );
            let leaders = |parts: &[kafka_integration_tests::kafka::PartitionState]| {
                parts.iter().map(|p| p.leader).collect::<Vec<_>>()
            };
            cluster.wait_for_topic(&t, Duration::from_secs(60), "reassigned", |parts| {
                parts
                    .iter()
                    .zip(&before)
                    .all(|(p, b)| p.replicas.iter().rev().eq(b.replicas.iter()) && p.isr.len() == 3)
            });
            kafka_tool(
                cluster,
                "org.apache.kafka.tools.LeaderElectionCommand",
                &["--election-type", "PREFERRED", "--all-topic-partitions"],
            );
            let after = cluster.wait_for_topic(
                &t,
                Duration::from_secs(60),
                "led by the preferred replicas",
                |parts| parts.iter().all(|p| p.replicas.first() == Some(&p.leader)),
            );
            eprintln!(
                "failover: leaders {:?} -> {:?}",
                leaders(&before),
                leaders(&after)
            );
            assert_ne!(leaders(&before), leaders(&after), "leadership moved");
        },
    )
    .await;
    heal(cluster, &topic);
    assert_all_delivered(cluster, &topic, &ledger);
}

/// Adds partitions with confluent-kafka's AdminClient (CreatePartitions). Args: bootstrap,
/// topic, new total.
const ADD_PARTITIONS: &str = r#"
import sys
from confluent_kafka.admin import AdminClient, NewPartitions
bootstrap, topic, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = AdminClient({"bootstrap.servers": bootstrap})
for f in a.create_partitions([NewPartitions(topic, total)], request_timeout=30).values():
    f.result()
print("ok")
"#;

async fn added_partitions_receive_records<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let _nodes = lock();
    let cluster = cluster();
    let topic = topic_name::<T>("grow");
    cluster.create_topic(&topic, 3);
    let t = topic.clone();
    let ledger = stream_through::<T>(
        &topic,
        records_for::<T>(),
        Duration::from_secs(120),
        move |cluster| {
            python(
                script(cluster.dir(), "failover-add-partitions.py", ADD_PARTITIONS),
                [
                    cluster.bootstrap(Listener::Plaintext),
                    t.clone(),
                    "6".to_owned(),
                ],
            );
            cluster.wait_for_topic(&t, Duration::from_secs(30), "6 partitions", |parts| {
                parts.len() == 6
            });
            // The stream goes on for a few metadata refreshes (metadata.max.age.ms=2000).
            thread::sleep(Duration::from_secs(5));
        },
    )
    .await;
    heal(cluster, &topic);
    let verdict = verify(cluster, &topic, &ledger);
    assert_eq!(verdict.acked, ledger.state.len(), "{:?}", ledger.errors());
    assert_eq!(
        verdict.partitions_written,
        (0..6).collect::<Vec<_>>(),
        "records reached the new partitions"
    );
}

/// Deletes TOPIC and creates it again with PARTITIONS partitions (RF 3) with confluent-kafka's
/// AdminClient, retrying the creation while the deletion completes. Args: bootstrap, topic,
/// partitions.
const RECREATE: &str = r#"
import sys, time
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = AdminClient({"bootstrap.servers": bootstrap})
for f in a.delete_topics([topic], operation_timeout=30).values():
    f.result()
deadline = time.time() + 60
while True:
    try:
        for f in a.create_topics([NewTopic(topic, partitions, 3)], operation_timeout=30).values():
            f.result()
        break
    except Exception as e:
        if time.time() > deadline:
            raise
        time.sleep(0.2)
print("ok")
"#;

/// Kafka loses a partition's log and producer state under a live idempotent producer: the
/// topic is deleted and created again between two streams, so the producer's sequences are
/// ahead of a log that knows nothing of its producer id. It must deliver the second stream
/// whole, in order, without duplicates. The first stream's records went with the old topic:
/// only the second is checked against the log.
///
/// Kafka 4.x accepts any first sequence from a producer id it has no state for (KIP-360), so
/// here this takes neither UNKNOWN_PRODUCER_ID nor OUT_OF_ORDER_SEQUENCE_NUMBER: it proves
/// the producer carries on over lost broker state, not the epoch-bump fallback (the simulated
/// cluster's job).
async fn recovers_after_the_topic_is_deleted_and_recreated<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let _nodes = lock();
    let cluster = cluster();
    let topic = topic_name::<T>("recreate");
    cluster.create_topic(&topic, 3);
    let n = records_for::<T>() / 5;
    let producer = producer::<T>(
        &cluster.bootstrap(Listener::Plaintext),
        Duration::from_secs(60),
    );
    let topic_arc: Arc<str> = topic.as_str().into();
    let gate = Gate::default();
    let before = Ledger::new(n);
    let second = Duration::from_secs(1);
    stream(&producer, &topic_arc, 0..n, second, &before, &gate, None).await;
    producer.flush().await;
    assert_eq!(before.count(ACKED), n, "{:?}", before.errors());

    python(
        script(cluster.dir(), "failover-recreate.py", RECREATE),
        [
            cluster.bootstrap(Listener::Plaintext),
            topic.clone(),
            "3".to_owned(),
        ],
    );
    heal(cluster, &topic);
    let after = Ledger::new(n);
    let started = Instant::now();
    stream(&producer, &topic_arc, 0..n, second, &after, &gate, None).await;
    producer.flush().await;
    producer.close(Duration::from_secs(10)).await;
    eprintln!(
        "failover: {n} records to the recreated {topic} in {:.1?}",
        started.elapsed()
    );
    assert_all_delivered(cluster, &topic, &after);
}

/// KIP-1123 on the binary's cluster, whose nodes are in racks of their own: with
/// `partitioner.rack.aware` and a `client.rack`, keyless records go only to partitions led in
/// the client's rack, keyed ones where their key hashes; without it, keyless records go to
/// every broker. Counted by where the records landed, as Kafka's `GetOffsetShell` reads the
/// end offsets, and by the delivery reports.
async fn rack_aware_partitioning_keeps_keyless_records_in_the_clients_rack<T: Rt>() {
    require_tools!(Tool::Kafka);
    let _nodes = lock();
    let cluster = cluster();
    let mut landed = Vec::new();
    for aware in [true, false] {
        let topic = topic_name::<T>(if aware { "rack-aware" } else { "rack-unaware" });
        cluster.create_topic_with(NewTopic::new(&topic, 6).replication_factor(1));
        let leaders: Vec<i32> = cluster
            .describe_topic(&topic)
            .expect("describe the topic")
            .iter()
            .map(|p| p.leader)
            .collect();
        let home = leaders[0];
        let rack = ClusterConfig::rack_of(home);
        let local: Vec<i32> = (0..6).filter(|&p| leaders[p as usize] == home).collect();
        assert!(
            local.len() < 6,
            "every partition led by one node: {leaders:?}"
        );
        let producer = ProducerBuilder::<T::R>::new()
            .bootstrap_servers(&cluster.bootstrap(Listener::Plaintext))
            .batch_size(512)
            .linger(Duration::ZERO)
            .set("client.rack", &rack)
            .set(
                "partitioner.rack.aware",
                if aware { "true" } else { "false" },
            )
            .build()
            .expect("build the producer");
        let t: std::sync::Arc<str> = topic.as_str().into();
        let mut pending = Vec::new();
        for i in 0..1200 {
            let mut record = kafka_runtime_common::ProducerRecord::new(t.clone())
                .value(format!("{i}-{}", "v".repeat(80)));
            if i % 4 == 0 {
                record = record.key(format!("key-{i}"));
            }
            let keyed = i % 4 == 0;
            pending.push((keyed, i, producer.send(record).await.expect("send")));
        }
        let mut counts = [0i64; 6];
        for (keyed, i, delivery) in pending {
            let partition = delivery.await.expect("delivered").partition;
            counts[partition as usize] += 1;
            if keyed {
                let key = format!("key-{i}");
                assert_eq!(
                    partition,
                    kafka_runtime_common::partitioner::partition_for_key(key.as_bytes(), 6),
                    "keyed records are not moved by rack awareness"
                );
            } else if aware {
                assert!(
                    local.contains(&partition),
                    "keyless record {i} went to partition {partition}, led by node {} outside \
                     rack {rack} (local partitions {local:?})",
                    leaders[partition as usize]
                );
            }
        }
        producer.close(Duration::from_secs(10)).await;
        // What landed, as Kafka's own tool reads it.
        let shell = kafka_tool(
            cluster,
            "org.apache.kafka.tools.GetOffsetShell",
            &["--topic", &topic],
        );
        let mut ends = [0i64; 6];
        for line in shell.lines() {
            let mut parts = line.rsplitn(3, ':');
            let (Some(end), Some(p)) = (parts.next(), parts.next()) else {
                continue;
            };
            if let (Ok(end), Ok(p)) = (end.trim().parse::<i64>(), p.parse::<usize>()) {
                ends[p] = end;
            }
        }
        assert_eq!(
            ends, counts,
            "end offsets (GetOffsetShell: {shell}) against the reports"
        );
        eprintln!("rack-aware={aware}: rack {rack}, local {local:?}, per partition {counts:?}");
        landed.push((local, counts));
    }
    // Without rack awareness, keyless records go to the other racks too: about their share of
    // the partitions (here at least 60 % of it).
    let (local, counts) = &landed[1];
    let elsewhere: i64 = (0..6)
        .filter(|p| !local.contains(p))
        .map(|p| counts[p as usize])
        .sum();
    let share = 1200 * (6 - local.len() as i64) / 6;
    assert!(
        elsewhere * 10 >= share * 6,
        "rack-unaware: only {elsewhere} records outside the rack (its share: {share})"
    );
}

runtimes::suite!(
    sigkill_of_the_leader_mid_stream_loses_nothing,
    sigstop_longer_than_the_request_timeout_loses_nothing,
    rolling_restart_loses_nothing,
    isr_below_min_insync_fails_records_truthfully,
    reassignment_and_leader_election_lose_nothing,
    added_partitions_receive_records,
    recovers_after_the_topic_is_deleted_and_recreated,
    rack_aware_partitioning_keeps_keyless_records_in_the_clients_rack,
);

/// This process's resident set size in KiB (`VmRSS` of /proc/self/status).
fn rss_kib() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The soak: `SOAK_SECS` (600) at `SOAK_RATE` records/s (2,000) on Tokio through a 3-node
/// cluster, with a broker restarted every `SOAK_RESTART_SECS` (60; SIGTERM and SIGKILL in
/// turn), sampling this process's RSS every 10 s. Then everything is read back: nothing lost,
/// nothing duplicated, order kept.
#[test]
#[ignore = "10 minutes: run by scripts/soak.sh"]
fn soak() {
    require_tools!(Tool::Kafka, Tool::Python);
    let _nodes = lock();
    let secs = env_u64("SOAK_SECS", 600);
    let rate = env_u64("SOAK_RATE", 2_000);
    let restart_every = Duration::from_secs(env_u64("SOAK_RESTART_SECS", 60));
    let n = (secs * rate) as usize;
    let cluster = cluster();
    let topic = format!("soak-{}", std::process::id());
    cluster.create_topic(&topic, 6);
    let ledger = Ledger::new(n);
    let gate = Arc::new(Gate::default());
    let done = Arc::new(AtomicBool::new(false));
    let restarts = {
        let (done, topic) = (done.clone(), topic.clone());
        thread::spawn(move || {
            let mut next = Instant::now() + restart_every;
            let mut round = 0;
            while !done.load(Ordering::Acquire) {
                if Instant::now() < next {
                    thread::sleep(Duration::from_millis(200));
                    continue;
                }
                let id = round % 3 + 1;
                if round % 2 == 0 {
                    cluster.shut_down_node(id);
                } else {
                    cluster.kill_node(id);
                }
                cluster.restart_node(id);
                cluster.wait_for_full_isr(&topic, ISR_TIMEOUT);
                eprintln!("soak: restarted node {id} (round {round})");
                round += 1;
                next += restart_every;
            }
            round
        })
    };
    let samples = Arc::new(Mutex::new(vec![(0u64, rss_kib())]));
    let sampler = {
        let (done, samples) = (done.clone(), samples.clone());
        thread::spawn(move || {
            let started = Instant::now();
            while !done.load(Ordering::Acquire) {
                thread::sleep(Duration::from_secs(10));
                let sample = (started.elapsed().as_secs(), rss_kib());
                eprintln!("soak: t={}s RSS {} KiB", sample.0, sample.1);
                samples.lock().unwrap().push(sample);
            }
        })
    };
    let started = Instant::now();
    runtimes::TokioRt::block_on(async {
        let producer = producer::<runtimes::TokioRt>(
            &cluster.bootstrap(Listener::Plaintext),
            Duration::from_secs(120),
        );
        let topic: Arc<str> = topic.as_str().into();
        gate.disrupted.store(true, Ordering::Release);
        stream(
            &producer,
            &topic,
            0..n,
            Duration::from_secs(secs),
            &ledger,
            &gate,
            None,
        )
        .await;
        producer.flush().await;
        producer.close(Duration::from_secs(30)).await;
    });
    let elapsed = started.elapsed();
    done.store(true, Ordering::Release);
    let rounds = restarts.join().expect("restarts");
    sampler.join().expect("sampler");
    samples.lock().unwrap().push((elapsed.as_secs(), rss_kib()));
    heal(cluster, &topic);
    let verdict = verify(cluster, &topic, &ledger);
    let samples = samples.lock().unwrap().clone();
    let max = samples.iter().map(|s| s.1).max().unwrap_or(0);
    eprintln!(
        "soak: {n} records in {elapsed:.1?}, {rounds} broker restarts; RSS KiB start {} max {max} \
         end {}; samples {samples:?}; {verdict:?}",
        samples[0].1,
        samples.last().map_or(0, |s| s.1)
    );
    assert_eq!(verdict.acked, n, "{:?}", ledger.errors());
}
