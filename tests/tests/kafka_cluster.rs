//! The Apache Kafka harness itself (`kafka_integration_tests::kafka`): every listener and SASL
//! mechanism answers an independent client (confluent-kafka) as documented, wrong credentials
//! are refused, and node control on a 3-node cluster does what failover tests rely on (leaders
//! move on SIGKILL and controlled shutdown, a restarted node rejoins the ISR, SIGSTOP freezes a
//! node). Also the compatibility versions start.

use std::time::{Duration, Instant};

use kafka_integration_tests::kafka::{
    ClusterConfig, KafkaCluster, Listener, NewTopic, NodeState, ScramMechanism, ScramUser,
    librdkafka_sasl,
};
use kafka_integration_tests::require_tools;
use kafka_integration_tests::tools::Tool;
use kafka_integration_tests::tools::python_inline_output;

const PASSWORD: &str = "harness-Pa55word";

/// Produces one record to TOPIC and reads it back. Args: bootstrap, topic, then `key=value`
/// client properties. Prints `ok`, or exits non-zero with the error.
const ROUND_TRIP: &str = r#"
import sys, uuid
from confluent_kafka import Consumer, Producer, KafkaException

bootstrap, topic = sys.argv[1], sys.argv[2]
conf = {"bootstrap.servers": bootstrap}
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    conf[k] = v
errors = []
conf["error_cb"] = lambda e: errors.append(str(e))
value = uuid.uuid4().hex.encode()
p = Producer(dict({"message.timeout.ms": 15000}, **conf))
delivered = []
p.produce(topic, value, on_delivery=lambda err, msg: delivered.append(err))
p.flush(20)
if not delivered or delivered[0] is not None:
    sys.exit(f"delivery: {delivered} errors: {errors[:3]}")
c = Consumer(dict(conf, **{"group.id": "harness-" + uuid.uuid4().hex, "auto.offset.reset": "earliest"}))
c.subscribe([topic])
for _ in range(60):
    m = c.poll(0.5)
    if m is not None and not m.error() and m.value() == value:
        print("ok")
        c.close()
        sys.exit(0)
c.close()
sys.exit(f"record not read back; errors: {errors[:3]}")
"#;

fn round_trip(cluster: &KafkaCluster, listener: Listener, topic: &str, extra: &[String]) {
    let mut args = vec![cluster.bootstrap(listener), topic.to_owned()];
    args.extend(cluster.librdkafka_properties(listener));
    args.extend(extra.iter().cloned());
    let out = python_inline_output(ROUND_TRIP, &args);
    assert!(
        out.status.success() && out.stdout.trim() == "ok",
        "{listener} {extra:?}: {}\n{}",
        out.stdout,
        out.stderr
    );
}

fn round_trip_fails(cluster: &KafkaCluster, listener: Listener, topic: &str, extra: &[String]) {
    let mut args = vec![cluster.bootstrap(listener), topic.to_owned()];
    args.extend(cluster.librdkafka_properties(listener));
    args.extend(extra.iter().cloned());
    args.push("message.timeout.ms=3000".to_owned());
    let out = python_inline_output(ROUND_TRIP, &args);
    assert!(
        !out.status.success(),
        "{listener} {extra:?} should have been refused: {}",
        out.stdout
    );
    let last = out
        .stderr
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    println!("{listener}: refused as expected: {last}");
}

#[test]
fn every_listener_and_sasl_mechanism_serves_confluent_kafka() {
    require_tools!(Tool::Kafka, Tool::Python);
    let started = Instant::now();
    let cluster = KafkaCluster::start(
        ClusterConfig::single_node()
            .plain_user("alice", PASSWORD)
            .scram_user(ScramUser::new(ScramMechanism::Sha256, "bob", PASSWORD))
            .scram_user(ScramUser::new(ScramMechanism::Sha512, "carol", PASSWORD)),
    );
    println!("1 node up in {:?}", started.elapsed());
    cluster.create_topic("harness", 1);
    let p = cluster.describe_partition("harness", 0);
    assert_eq!(
        (p.leader, p.replicas.clone(), p.isr.clone()),
        (1, vec![1], vec![1])
    );
    round_trip(&cluster, Listener::Plaintext, "harness", &[]);
    round_trip(&cluster, Listener::Ssl, "harness", &[]);
    for listener in [Listener::SaslPlaintext, Listener::SaslSsl] {
        round_trip(
            &cluster,
            listener,
            "harness",
            &librdkafka_sasl("PLAIN", "alice", PASSWORD),
        );
        round_trip(
            &cluster,
            listener,
            "harness",
            &librdkafka_sasl("SCRAM-SHA-256", "bob", PASSWORD),
        );
        round_trip(
            &cluster,
            listener,
            "harness",
            &librdkafka_sasl("SCRAM-SHA-512", "carol", PASSWORD),
        );
        // Kafka's unsecured JWS validator: librdkafka makes such a token itself.
        round_trip(
            &cluster,
            listener,
            "harness",
            &[
                "sasl.mechanism=OAUTHBEARER".to_owned(),
                "enable.sasl.oauthbearer.unsecure.jwt=true".to_owned(),
                "sasl.oauthbearer.config=principal=dave".to_owned(),
            ],
        );
    }
    round_trip_fails(
        &cluster,
        Listener::SaslPlaintext,
        "harness",
        &librdkafka_sasl("SCRAM-SHA-256", "bob", "wrong"),
    );
    round_trip_fails(
        &cluster,
        Listener::SaslPlaintext,
        "harness",
        &librdkafka_sasl("PLAIN", "alice", "wrong"),
    );
    // SSL without a client certificate: the listener requires one.
    let mut args = vec![
        cluster.bootstrap(Listener::Ssl),
        "harness".to_owned(),
        "security.protocol=SSL".to_owned(),
        format!("ssl.ca.location={}", cluster.tls().ca().display()),
    ];
    args.push("message.timeout.ms=3000".to_owned());
    let out = python_inline_output(ROUND_TRIP, &args);
    assert!(
        !out.status.success(),
        "SSL without a client certificate: {}",
        out.stdout
    );
    println!("all listeners checked after {:?}", started.elapsed());
}

#[test]
fn node_control_on_three_nodes_moves_leaders_and_rejoins_the_isr() {
    require_tools!(Tool::Kafka, Tool::Python);
    let started = Instant::now();
    let cluster = KafkaCluster::start(ClusterConfig::three_nodes());
    println!("3 nodes up in {:?}", started.elapsed());
    assert_eq!(cluster.live_brokers(), vec![1, 2, 3]);
    cluster.create_topic_with(NewTopic::new("failover", 3).config("retention.ms", "600000"));
    let partitions = cluster.wait_for_full_isr("failover", Duration::from_secs(30));
    for p in &partitions {
        assert_eq!(p.replicas.len(), 3, "{p:?}");
    }
    round_trip(&cluster, Listener::Plaintext, "failover", &[]);

    // The producer's partitions_for agrees with Kafka's own description of the topic.
    let producer = kafka_runtime_common::ProducerBuilder::<kafka_runtime_mio::Mio>::new()
        .bootstrap_servers(&cluster.bootstrap(Listener::Plaintext))
        .build()
        .unwrap();
    let info = producer.partitions_for("failover").unwrap();
    assert_eq!(info.len(), partitions.len());
    for (ours, kafka) in info.iter().zip(&partitions) {
        let ids = |nodes: &[kafka_runtime_common::Node]| nodes.iter().map(|n| n.id).collect();
        assert_eq!(ours.partition, kafka.partition);
        assert_eq!(
            ours.leader.as_ref().map(|n| n.id),
            Some(kafka.leader),
            "{ours:?}"
        );
        assert_eq!(ours.leader_epoch, kafka.leader_epoch, "{ours:?}");
        assert_eq!(ids(&ours.replicas), kafka.replicas, "{ours:?}");
        let (mut isr, mut want): (Vec<i32>, Vec<i32>) =
            (ids(&ours.in_sync_replicas), kafka.isr.clone());
        isr.sort_unstable();
        want.sort_unstable();
        assert_eq!(isr, want, "{ours:?}");
        assert!(ours.replicas.iter().all(|n| n.port > 0), "{ours:?}");
    }
    producer.close(Duration::from_secs(5));

    // SIGKILL the leader of partition 0: another replica takes over.
    let leader = cluster.describe_partition("failover", 0).leader;
    let t = Instant::now();
    cluster.kill_node(leader);
    assert_eq!(cluster.node_state(leader), NodeState::Down);
    let new_leader =
        cluster.wait_for_leader_other_than("failover", 0, leader, Duration::from_secs(60));
    println!(
        "killed {leader}: partition 0 led by {new_leader} after {:?}",
        t.elapsed()
    );
    round_trip(&cluster, Listener::Plaintext, "failover", &[]);
    let t = Instant::now();
    cluster.restart_node(leader);
    cluster.wait_in_isr("failover", 0, leader, Duration::from_secs(60));
    println!(
        "restarted {leader}: back in the ISR after {:?}",
        t.elapsed()
    );

    // Controlled shutdown: leadership moves before the process exits.
    let leader = cluster.describe_partition("failover", 1).leader;
    let took = cluster.shut_down_node(leader);
    let p = cluster.describe_partition("failover", 1);
    assert_ne!(p.leader, leader, "{p:?}");
    println!("controlled shutdown of {leader} in {took:?}; partition 1: {p:?}");
    cluster.restart_node(leader);
    cluster.wait_for_full_isr("failover", Duration::from_secs(60));

    // SIGSTOP: the process is frozen, SIGCONT brings it back.
    // Its partitions get other leaders once the controller fences it, after
    // broker.session.timeout.ms (9 s by default).
    cluster.pause_node(2);
    assert_eq!(cluster.node_state(2), NodeState::Paused);
    let t = Instant::now();
    for partition in 0..3 {
        cluster.wait_for_leader_other_than("failover", partition, 2, Duration::from_secs(60));
    }
    println!("paused 2: its partitions moved after {:?}", t.elapsed());
    round_trip(&cluster, Listener::Plaintext, "failover", &[]);
    cluster.resume_node(2);
    cluster.wait_for_full_isr("failover", Duration::from_secs(60));
    println!("node control checked after {:?}", started.elapsed());
}

#[test]
fn compatibility_versions_start_and_serve() {
    require_tools!(Tool::Kafka, Tool::Python);
    for version in ["4.0.0", "3.9.1"] {
        let started = Instant::now();
        let cluster = KafkaCluster::start(
            ClusterConfig::single_node()
                .version(version)
                .scram_user(ScramUser::new(ScramMechanism::Sha512, "erin", PASSWORD)),
        );
        println!("Kafka {version} up in {:?}", started.elapsed());
        cluster.create_topic("compat", 2);
        round_trip(&cluster, Listener::Plaintext, "compat", &[]);
        round_trip(&cluster, Listener::Ssl, "compat", &[]);
        round_trip(
            &cluster,
            Listener::SaslSsl,
            "compat",
            &librdkafka_sasl("SCRAM-SHA-512", "erin", PASSWORD),
        );
    }
}

#[test]
fn kafka_tools_run_against_the_cluster() {
    require_tools!(Tool::Kafka);
    let kafka = KafkaCluster::shared_single_node();
    kafka.create_topic("tools", 1);
    // Add partitions with Kafka's own TopicCommand, and see them in the metadata.
    let out = kafka
        .tool_command("org.apache.kafka.tools.TopicCommand")
        .args(["--bootstrap-server", &kafka.bootstrap(Listener::Plaintext)])
        .args(["--alter", "--topic", "tools", "--partitions", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    kafka.wait_for_topic("tools", Duration::from_secs(30), "3 partitions", |ps| {
        ps.len() == 3
    });
}

/// The transaction harness: the coordinator of a transactional id is found, and the cluster's
/// `transaction.version` can be lowered to 1 (KIP-890's v1 protocol) and raised back to 2.
#[test]
fn transaction_coordinator_and_transaction_version_are_under_the_tests_control() {
    require_tools!(Tool::Kafka);
    let shared = KafkaCluster::shared(ClusterConfig::single_node());
    let kafka = shared.cluster();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let coordinator = loop {
        match kafka.transaction_coordinator("harness-txn") {
            Ok(id) => break id,
            Err(e) if std::time::Instant::now() < deadline => {
                println!("not yet: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(
        coordinator, 1,
        "a one-node cluster's coordinator is its node"
    );
    kafka.set_feature_level("transaction.version", 1);
    kafka.set_feature_level("transaction.version", 2);
}
