//! Smoke tests of the test harness itself: the brokers and independent clients that
//! `scripts/setup-test-env.sh` installs start, serve the Kafka protocol on loopback and are
//! reachable from the helpers in `kafka_integration_tests`. They test no code of ours yet;
//! they prove that the integration tests built on this harness stand on working ground.

use std::net::TcpStream;
use std::time::Duration;

use kafka_integration_tests::tansu::api_versions_probe;
use kafka_integration_tests::{MockCluster, Tansu, Tool, kcat, python, require_tools};

/// `apiversions_probe.py` output: one line per API, e.g. `  0 Produce   min=0 max=11`.
fn advertised_max(probe_output: &str, api: &str) -> Option<i32> {
    probe_output.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let _key = words.next()?;
        if words.next()? != api {
            return None;
        }
        words
            .find_map(|w| w.strip_prefix("max="))
            .and_then(|v| v.parse().ok())
    })
}

/// tansu starts, and confluent-kafka (an independent client) creates a topic, produces three
/// records and reads exactly those three back: the broker works end to end.
#[test]
fn tansu_round_trip_with_confluent_kafka() {
    require_tools!(Tool::Tansu, Tool::Python);
    let broker = Tansu::start();
    let out = python(
        "scripts/produce_consume.py",
        [
            broker.bootstrap().as_str(),
            "smoke-round-trip",
            "--count",
            "3",
        ],
    );
    assert!(
        out.contains(r#""produced": 3, "consumed": 3"#),
        "unexpected output: {out}"
    );
    for i in 0..3 {
        assert!(
            out.contains(&format!(r#""value": "value-{i}""#)),
            "value-{i} missing: {out}"
        );
    }
}

/// tansu advertises the producer APIs at the versions BROKERS.md lists (probe written without
/// any Kafka library), and kcat with the newer librdkafka can read its metadata (Debian's
/// librdkafka 2.0.2 cannot parse tansu's ApiVersions v3 answer, so this also proves that the kcat
/// wrapper uses the wheel's librdkafka).
#[test]
fn tansu_advertises_producer_apis_and_kcat_reads_metadata() {
    require_tools!(Tool::Tansu, Tool::Python, Tool::Kcat);
    let broker = Tansu::start();
    let probe = python("tools/apiversions_probe.py", [broker.bootstrap()]);
    assert_eq!(advertised_max(&probe, "Produce"), Some(11), "{probe}");
    assert!(advertised_max(&probe, "Metadata") >= Some(12), "{probe}");
    assert!(
        advertised_max(&probe, "InitProducerId").is_some(),
        "{probe}"
    );

    let metadata = kcat(["-L", "-b", broker.bootstrap().as_str(), "-m", "10"]);
    assert!(
        metadata.contains(&format!("at {} (controller)", broker.bootstrap())),
        "kcat metadata does not show the broker: {metadata}"
    );
}

/// Two brokers run side by side on different ports, and dropping the guard kills the process:
/// the port stops accepting connections.
#[test]
fn tansu_guards_are_independent_and_stop_on_drop() {
    require_tools!(Tool::Tansu);
    let a = Tansu::start();
    let b = Tansu::start();
    assert_ne!(a.port(), b.port());
    api_versions_probe(a.addr()).expect("broker a answers");
    api_versions_probe(b.addr()).expect("broker b answers");
    let addr = a.addr();
    drop(a);
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "broker still listening on {addr} after drop"
    );
    api_versions_probe(b.addr()).expect("broker b still answers");
}

/// The mock cluster starts with three brokers, each answers ApiVersions (with the newer
/// librdkafka it advertises Metadata beyond v2, which Debian's 2.0.2 did not), and the fault
/// commands the fault-injection tests will use are accepted.
#[test]
fn mock_cluster_starts_and_takes_fault_commands() {
    require_tools!(Tool::MockCluster, Tool::Python);
    let mut cluster = MockCluster::start(3, &[("t", 4, 3)]);
    let addrs = cluster.broker_addrs();
    assert_eq!(addrs.len(), 3, "bootstrap {}", cluster.bootstrap());
    for addr in &addrs {
        api_versions_probe(*addr).unwrap_or_else(|e| panic!("mock broker {addr}: {e}"));
    }
    let probe = python("tools/apiversions_probe.py", [addrs[0].to_string()]);
    assert!(advertised_max(&probe, "Produce") >= Some(9), "{probe}");
    assert!(
        advertised_max(&probe, "Metadata") > Some(2),
        "mock cluster runs with an old librdkafka: {probe}"
    );

    cluster.cmd("errors 0 6");
    cluster.cmd("errors 0 NOT_LEADER_FOR_PARTITION -195");
    cluster.cmd("clear 0");
    cluster.cmd("leader t 0 2");
    cluster.cmd("rtt 3 50");
    cluster.cmd("topic u 2 1");
    cluster.cmd("track start");
    assert!(
        cluster
            .cmd("requests")
            .iter()
            .all(|l| l.starts_with("REQ "))
    );
    cluster.cmd("down 1");
    assert!(
        TcpStream::connect_timeout(&addrs[0], Duration::from_secs(1)).is_err()
            || api_versions_probe(addrs[0]).is_err(),
        "broker 1 still serving after `down 1`"
    );
    cluster.cmd("up 1");
    api_versions_probe(addrs[0]).expect("broker 1 serves again after `up 1`");
    let again = cluster.cmd("bootstraps");
    assert_eq!(again, [format!("BOOTSTRAP {}", cluster.bootstrap())]);

    let err = cluster
        .command("leader")
        .expect_err("a malformed command is an error");
    assert!(err.contains("unknown command"), "{err}");
}

/// confluent-kafka produces to and consumes back from the mock cluster (topic created at start,
/// as the mock does not implement CreateTopics): the mock's data path works, not just its
/// control commands.
#[test]
fn mock_cluster_round_trip_with_confluent_kafka() {
    require_tools!(Tool::MockCluster, Tool::Python);
    let cluster = MockCluster::start(3, &[("smoke-mock", 1, 3)]);
    let out = python(
        "scripts/produce_consume.py",
        [
            cluster.bootstrap(),
            "smoke-mock",
            "--count",
            "3",
            "--no-create",
        ],
    );
    assert!(
        out.contains(r#""produced": 3, "consumed": 3"#),
        "unexpected output: {out}"
    );
}
