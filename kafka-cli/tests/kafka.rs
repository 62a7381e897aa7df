//! `kprod produce` and `kprod perf` against Apache Kafka 4.4.0: one KRaft
//! node started the way users start it, with `scripts/local-broker.sh
//! --kafka` (jars from `scripts/setup-test-env.sh`), shared by this file's
//! tests, read back with confluent-kafka.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use kafka_integration_tests::tools::{Tool, free_loopback_port, repo_root, tools_required};
use kafka_integration_tests::{require_tools, tools_dir};
use serde_json::Value;

#[path = "../../tests/tests/runtimes/read_back.rs"]
mod read_back;

/// How long the node may take to format and start (it takes 5-15 s here).
const START_LIMIT: Duration = Duration::from_secs(180);

/// A running `scripts/local-broker.sh --kafka`.
struct LocalKafka {
    bootstrap: String,
    /// The script (kept so its pipes stay open); it stops the JVM and
    /// removes its temp dir on SIGTERM.
    _script: Child,
    /// `sh` that sends the script SIGTERM when its stdin (a pipe from this
    /// process) closes: when the test binary exits, however it exits.
    _watchdog: Child,
}

/// The node shared by this file's tests, or `None` (the test returns) when
/// the Kafka jars are not installed and brokers are not required.
fn kafka() -> Option<&'static LocalKafka> {
    static NODE: OnceLock<Option<LocalKafka>> = OnceLock::new();
    NODE.get_or_init(|| {
        let jars = tools_dir().join("kafka").join("current");
        if !has_kafka_jar(&jars) {
            let why = format!(
                "no Apache Kafka jars in {} (run scripts/setup-test-env.sh)",
                jars.display()
            );
            assert!(!tools_required(), "{why}");
            eprintln!("skipping: {why}");
            return None;
        }
        Some(LocalKafka::start())
    })
    .as_ref()
}

fn has_kafka_jar(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("kafka_2.13-") && n.ends_with(".jar"))
        })
    })
}

impl LocalKafka {
    fn start() -> LocalKafka {
        let port = free_loopback_port();
        let mut script = Command::new("bash")
            .arg(repo_root().join("scripts/local-broker.sh"))
            .args(["--kafka", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start scripts/local-broker.sh");
        let watchdog = Command::new("sh")
            .args([
                "-c",
                &format!("cat >/dev/null; kill -TERM {} 2>/dev/null", script.id()),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the watchdog");
        // The script's messages, for a failure to start.
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = script.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = script.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(bootstrap) = line.strip_prefix("bootstrap.servers=") {
                    let _ = tx.send(bootstrap.to_owned());
                }
            }
        });
        let bootstrap = rx.recv_timeout(START_LIMIT).unwrap_or_else(|_| {
            let _ = script.kill();
            panic!(
                "Apache Kafka did not start within {START_LIMIT:?}:\n{}",
                log.lock().unwrap_or_else(PoisonError::into_inner)
            )
        });
        assert_eq!(bootstrap, format!("127.0.0.1:{port}"));
        LocalKafka {
            bootstrap,
            _script: script,
            _watchdog: watchdog,
        }
    }
}

fn kprod(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kprod"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kprod");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write kprod's stdin");
    child.wait_with_output().expect("wait for kprod")
}

/// `kprod topic create TOPIC --partitions N --replication-factor 1`, which must succeed.
fn create_topic(bootstrap: &str, topic: &str, partitions: &str) {
    let out = kprod(
        &[
            "topic",
            "create",
            topic,
            "--partitions",
            partitions,
            "--replication-factor",
            "1",
            "-b",
            bootstrap,
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Kafka's own kafka-topics (`org.apache.kafka.tools.TopicCommand`), its stdout.
fn kafka_topics(bootstrap: &str, args: &[&str]) -> String {
    let out = Command::new(kafka_integration_tests::kafka::java())
        .arg("-cp")
        .arg(format!(
            "{}/*",
            tools_dir().join("kafka").join("current").display()
        ))
        .arg("org.apache.kafka.tools.TopicCommand")
        .args(["--bootstrap-server", bootstrap])
        .args(args)
        .env_remove("JAVA_TOOL_OPTIONS")
        .output()
        .expect("run kafka-topics");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Lines with keys into a topic made by `kprod topic create`, and lines into
/// a topic Kafka creates on first use; every record read back.
#[test]
fn produce_to_apache_kafka() {
    require_tools!(Tool::Python);
    let Some(kafka) = kafka() else { return };
    let bootstrap = &kafka.bootstrap;

    let topic = "kprod-kafka-produce";
    create_topic(bootstrap, topic, "3");
    let input: String = (0..1000).map(|i| format!("key-{i}\tvalue {i}\n")).collect();
    let out = kprod(
        &[
            "produce",
            "-b",
            bootstrap,
            "-t",
            topic,
            "--key-separator",
            "\t",
        ],
        input.as_bytes(),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "produced 1000 records to {topic} (0 failed); of the failed, 0 possibly written"
        )),
        "{stderr}"
    );
    let records = read_back::read_back(bootstrap, topic, 1000, &[]);
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = records
        .into_iter()
        .map(|r| (r.key.expect("a key"), r.value.expect("a value")))
        .collect();
    pairs.sort();
    let mut want: Vec<(Vec<u8>, Vec<u8>)> = (0..1000)
        .map(|i| {
            (
                format!("key-{i}").into_bytes(),
                format!("value {i}").into_bytes(),
            )
        })
        .collect();
    want.sort();
    assert_eq!(pairs, want);

    // auto.create.topics.enable=true, as local-broker.sh says.
    let auto = "kprod-kafka-auto-created";
    let out = kprod(&["produce", "-b", bootstrap, "-t", auto], b"one\ntwo\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut values: Vec<Vec<u8>> = read_back::read_back(bootstrap, auto, 2, &[])
        .into_iter()
        .map(|r| r.value.expect("a value"))
        .collect();
    values.sort();
    assert_eq!(values, vec![b"one".to_vec(), b"two".to_vec()]);
}

/// `topic create | list | describe | delete` (a contract) against Apache Kafka, checked
/// with Kafka's own kafka-topics; validation as kafka-topics does it.
#[test]
fn topic_commands_against_apache_kafka() {
    require_tools!(Tool::Python);
    let Some(kafka) = kafka() else { return };
    let bootstrap = &kafka.bootstrap;
    let topic = "kprod-topic-commands";
    let out = kprod(
        &[
            "topic",
            "create",
            topic,
            "--partitions",
            "3",
            "--replication-factor",
            "1",
            "--config",
            "retention.ms=3600000",
            "--config",
            "max.message.bytes=2000000",
            "--config",
            "segment.jitter.ms=17",
            "--bootstrap-server",
            bootstrap,
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), format!("created topic {topic}"));

    let out = kprod(&["topic", "list", "-b", bootstrap], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(listed.lines().any(|l| l == topic), "{listed}");
    let mut sorted: Vec<&str> = listed.lines().collect();
    sorted.sort_unstable();
    assert_eq!(sorted, listed.lines().collect::<Vec<_>>());

    let out = kprod(&["topic", "describe", topic, "-b", bootstrap], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let described = text(&out.stdout);
    let lines: Vec<&str> = described.lines().collect();
    assert_eq!(lines.len(), 4, "{described}");
    assert!(
        lines[0].starts_with(&format!("Topic: {topic}\tTopicId: "))
            && lines[0].contains("\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: "),
        "{described}"
    );
    for (p, line) in lines[1..].iter().enumerate() {
        assert_eq!(
            *line,
            format!("\tTopic: {topic}\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1")
        );
    }
    // Kafka's own tool prints the same topic line: id, counts and the
    // settings that are not built-in defaults, in its order.
    let tools = kafka_topics(bootstrap, &["--describe", "--topic", topic]);
    assert_eq!(
        lines[0],
        tools.lines().next().unwrap(),
        "ours, then kafka-topics'"
    );
    println!("{}", lines[0]);
    for set in [
        "retention.ms=3600000",
        "max.message.bytes=2000000",
        "segment.jitter.ms=17",
    ] {
        assert!(lines[0].contains(set), "{set} not in {}", lines[0]);
    }

    // Validation before any request, as kafka-topics.
    for bad in [
        &["topic", "create", "bad name", "-b", bootstrap][..],
        &[
            "topic",
            "create",
            "ok",
            "--partitions",
            "0",
            "-b",
            bootstrap,
        ],
        &[
            "topic",
            "create",
            "ok",
            "--replication-factor",
            "40000",
            "-b",
            bootstrap,
        ],
    ] {
        let out = kprod(bad, b"");
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        assert!(!text(&out.stderr).is_empty());
    }
    // A broker error by its Kafka name.
    let out = kprod(
        &["topic", "describe", "kprod-no-such-topic", "-b", bootstrap],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{}",
        text(&out.stderr)
    );

    let out = kprod(&["topic", "delete", topic, "-b", bootstrap], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), format!("deleted topic {topic}"));
    let out = kprod(&["topic", "delete", topic, "-b", bootstrap], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{}",
        text(&out.stderr)
    );
}

/// A secured cluster (SASL_SSL, SCRAM-SHA-512, the cluster's CA as a PEM trust store),
/// reached by `topic create`, `topic describe` and `produce` from one Java-style
/// `--command-config` / `-F` file, as kafka-topics and the console producer take it.
#[test]
fn topic_commands_and_produce_reach_a_secured_cluster() {
    use kafka_integration_tests::kafka::{
        ClusterConfig, KafkaCluster, Listener, ScramMechanism, ScramUser, librdkafka_sasl,
    };
    require_tools!(Tool::Kafka, Tool::Python);
    let cluster = KafkaCluster::start(ClusterConfig::single_node().scram_user(ScramUser::new(
        ScramMechanism::Sha512,
        "admin",
        "s3cret-pw",
    )));
    let listener = Listener::SaslSsl;
    let bootstrap = cluster.bootstrap(listener);
    let dir = std::env::temp_dir().join(format!("kprod-secured-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("client.properties");
    let ca = cluster
        .librdkafka_properties(listener)
        .into_iter()
        .find_map(|p| p.strip_prefix("ssl.ca.location=").map(str::to_owned))
        .expect("the CA");
    std::fs::write(
        &file,
        format!(
            "security.protocol=SASL_SSL\n\
             sasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n\
             \x20   username=\"admin\" password=\"s3cret-pw\";\n\
             ssl.truststore.type=PEM\n\
             ssl.truststore.location={ca}\n"
        ),
    )
    .unwrap();
    let file_arg = file.to_str().unwrap();
    let topic = "kprod-secured";
    let out = kprod(
        &[
            "topic",
            "create",
            topic,
            "--partitions",
            "2",
            "--replication-factor",
            "1",
            "--command-config",
            file_arg,
            "--bootstrap-server",
            &bootstrap,
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = kprod(
        &[
            "topic",
            "describe",
            topic,
            "--command-config",
            file_arg,
            "-b",
            &bootstrap,
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("PartitionCount: 2"),
        "{}",
        text(&out.stdout)
    );
    let out = kprod(
        &["produce", "-F", file_arg, "-b", &bootstrap, "-t", topic],
        b"one\ntwo\nthree\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut props = cluster.librdkafka_properties(listener);
    props.extend(librdkafka_sasl("SCRAM-SHA-512", "admin", "s3cret-pw"));
    let props: Vec<&str> = props.iter().map(String::as_str).collect();
    let mut values: Vec<Vec<u8>> = read_back::read_back(&bootstrap, topic, 3, &props)
        .into_iter()
        .map(|r| r.value.expect("a value"))
        .collect();
    values.sort();
    assert_eq!(
        values,
        [b"one".to_vec(), b"three".to_vec(), b"two".to_vec()]
    );
    // Without the file, the secured listener does not answer a plaintext client.
    let out = kprod(
        &["topic", "list", "-b", &bootstrap, "--timeout-ms", "3000"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    std::fs::remove_dir_all(&dir).ok();
}

/// OAUTHBEARER through kprod's properties, as the Java tools take them: OIDC client
/// credentials against the tests' identity provider (`tests/python/oidc_idp.py`, RS256 JWTs,
/// validated by the broker against its JWKS) with `-X`, and the same from a `-F` file for perf.
#[test]
fn oidc_through_kprod_properties() {
    use kafka_integration_tests::kafka::{ClusterConfig, KafkaCluster, Listener};
    require_tools!(Tool::Kafka, Tool::Python);
    let idp = kafka_integration_tests::oidc::OidcIdp::start("kprod", "kprod-s3cret", 60);
    let cluster =
        KafkaCluster::start(ClusterConfig::single_node().oauthbearer_jwks(&idp.jwks_url()));
    let bootstrap = cluster.bootstrap(Listener::SaslPlaintext);
    let token_url = idp.token_url();
    let topic = "kprod-oidc";
    cluster.create_topic(topic, 1);
    let x = |kv: &str| ["-X".to_owned(), kv.to_owned()];
    let mut args: Vec<String> = ["produce", "-b", &bootstrap, "-t", topic]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for kv in [
        "security.protocol=SASL_PLAINTEXT".to_owned(),
        "sasl.mechanism=OAUTHBEARER".to_owned(),
        format!("sasl.oauthbearer.token.endpoint.url={token_url}"),
        "sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler".to_owned(),
        "sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"kprod\" clientSecret=\"kprod-s3cret\" scope=\"kafka\";".to_owned(),
    ] {
        args.extend(x(&kv));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = kprod(&argv, b"one\ntwo\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("produced 2 records"),
        "{}",
        text(&out.stderr)
    );

    let dir = std::env::temp_dir().join(format!("kprod-oidc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("client.properties");
    std::fs::write(
        &file,
        format!(
            "bootstrap.servers={bootstrap}\nsecurity.protocol=SASL_PLAINTEXT\n\
             sasl.mechanism=OAUTHBEARER\nsasl.oauthbearer.token.endpoint.url={token_url}\n\
             sasl.oauthbearer.client.credentials.client.id=kprod\n\
             sasl.oauthbearer.client.credentials.client.secret=kprod-s3cret\n\
             sasl.oauthbearer.scope=kafka\n"
        ),
    )
    .unwrap();
    let out = kprod(
        &[
            "perf",
            "-F",
            file.to_str().unwrap(),
            "-t",
            topic,
            "--num-records",
            "100",
            "--record-size",
            "10",
            "--throughput",
            "-1",
            "--json",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_str(text(&out.stdout).trim()).expect("JSON");
    assert_eq!(report["records"], 100, "{report}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `--producer.config FILE` / `-F FILE` (a contract): a Java producer.properties with the
/// serializer classes nearly every such file has, continuation lines and `:` separators;
/// `-b` left out (the file names the brokers); `-X` overrides the file; the Kafka tools'
/// `--bootstrap-server` spelling works too. The ignored Java classes are warned about.
#[test]
fn producer_config_file_as_java_tools_take_it() {
    require_tools!(Tool::Python);
    let Some(kafka) = kafka() else { return };
    let bootstrap = &kafka.bootstrap;
    let dir = std::env::temp_dir().join(format!("kprod-props-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("producer.properties");
    std::fs::write(
        &file,
        format!(
            "# as a Java application would have it\n\
             bootstrap.servers={bootstrap}\n\
             key.serializer=org.apache.kafka.common.serialization.StringSerializer\n\
             value.serializer=org.apache.kafka.common.serialization.StringSerializer\n\
             compression.type : zstd\n\
             compression.zstd.level=7\n\
             acks = 0\n\
             linger.ms=\\\n    20\n"
        ),
    )
    .unwrap();
    let topic = "kprod-kafka-producer-config";
    create_topic(bootstrap, topic, "2");
    let input: String = (0..200).map(|i| format!("line {i}\n")).collect();
    let file_arg = file.to_str().unwrap();
    // acks=0 from the file would make idempotence's default give way; -X acks=all wins.
    let out = kprod(
        &[
            "produce",
            "--producer.config",
            file_arg,
            "-t",
            topic,
            "-X",
            "acks=all",
        ],
        input.as_bytes(),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("key.serializer"), "{stderr}");
    assert!(stderr.contains("produced 200 records"), "{stderr}");
    let out = kprod(
        &[
            "produce",
            "-F",
            file_arg,
            "--bootstrap-server",
            bootstrap,
            "-t",
            topic,
        ],
        b"last\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let records = read_back::read_back(bootstrap, topic, 201, &[]);
    assert_eq!(records.len(), 201);

    // A missing file is named; a typo in the file fails; a refused property says why.
    let out = kprod(
        &["produce", "-F", "/nonexistent/p.properties", "-t", topic],
        b"",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("/nonexistent/p.properties"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(
        &file,
        format!("bootstrap.servers={bootstrap}\nlinger.mss=5\n"),
    )
    .unwrap();
    let out = kprod(&["produce", "-F", file_arg, "-t", topic], b"");
    assert!(
        text(&out.stderr).contains("linger.mss"),
        "{}",
        text(&out.stderr)
    );
    assert!(!out.status.success());
    std::fs::write(
        &file,
        format!("bootstrap.servers={bootstrap}\nsasl.kerberos.service.name=kafka\n"),
    )
    .unwrap();
    let out = kprod(&["produce", "-F", file_arg, "-t", topic], b"");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Kerberos"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `--transactional-id ID --transaction-size N --abort-every K` (a contract): 1,000 lines
/// in ten transactions of 100, every third aborted; a read_committed reader (confluent-kafka)
/// sees exactly the 700 lines of the committed ones.
#[test]
fn transactional_produce_to_apache_kafka() {
    require_tools!(Tool::Python);
    let Some(kafka) = kafka() else { return };
    let bootstrap = &kafka.bootstrap;
    let topic = "kprod-kafka-transactions";
    create_topic(bootstrap, topic, "2");
    let input: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    let out = kprod(
        &[
            "produce",
            "-b",
            bootstrap,
            "-t",
            topic,
            "--transactional-id",
            "kprod-test-txn",
            "--transaction-size",
            "100",
            "--abort-every",
            "3",
        ],
        input.as_bytes(),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("transactions: 7 committed, 3 aborted"),
        "{stderr}"
    );
    let read = kafka_integration_tests::tools::python_output(
        "scripts/read_topic.py",
        [bootstrap.as_str(), topic, "read_committed", "60"],
    )
    .expect_success("read_topic.py");
    let mut got: Vec<usize> = read
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let hex = v["value"].as_str().unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            String::from_utf8(bytes).unwrap()[5..].parse().unwrap()
        })
        .collect();
    got.sort_unstable();
    // Transactions 3, 6 and 9 (lines 200-299, 500-599, 800-899) were aborted.
    let want: Vec<usize> = (0..1000)
        .filter(|i| ![2, 5, 8].contains(&(i / 100)))
        .collect();
    assert_eq!(got, want);
}

/// perf with keys and zstd: every record acknowledged, the JSON complete,
/// and as many records in the log as it says it sent.
#[test]
fn perf_against_apache_kafka() {
    require_tools!(Tool::Python);
    let Some(kafka) = kafka() else { return };
    let bootstrap = &kafka.bootstrap;
    let topic = "kprod-kafka-perf";
    create_topic(bootstrap, topic, "2");
    let prom = std::env::temp_dir().join(format!("kprod-perf-{}.prom", std::process::id()));
    let out = kprod(
        &[
            "perf",
            "--prometheus",
            prom.to_str().unwrap(),
            "-b",
            bootstrap,
            "-t",
            topic,
            "--num-records",
            "20000",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--key-cardinality",
            "100",
            "-X",
            "compression.type=zstd",
            "--json",
            "--print-metrics",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_str(text(&out.stdout).trim()).expect("one JSON object");
    assert_eq!(report["records"], 20000, "{report}");
    // --print-metrics (a contract): Java's names under "metrics".
    let m = &report["metrics"];
    // Java counts a retried record again.
    let retried = m["record-retry-total"].as_f64().unwrap();
    assert_eq!(m["record-send-total"], 20000.0 + retried, "{m}");
    assert_eq!(m["record-error-total"], 0.0, "{m}");
    assert!(m["compression-rate-avg"].as_f64().unwrap() < 1.0, "{m}");
    assert!(m["request-latency-avg"].as_f64().unwrap() > 0.0, "{m}");
    // Only the producer-metrics group, by Java name.
    assert!(
        m.as_object().unwrap().keys().all(|k| !k.contains(':')),
        "{m}"
    );
    // --prometheus FILE (a contract): the same numbers as Prometheus text.
    let prometheus = std::fs::read_to_string(&prom).expect("--prometheus wrote its file");
    std::fs::remove_file(&prom).ok();
    let sent = format!(
        "kafka_producer_record_send_total{{client_id=\"kafka-producer-rs\"}} {}",
        20000.0 + retried
    );
    assert!(prometheus.contains(&sent), "{sent} not in {prometheus}");
    assert!(prometheus.contains(&format!("kafka_producer_topic_record_send_total{{client_id=\"kafka-producer-rs\",topic=\"{topic}\"}}")), "{prometheus}");
    assert!(prometheus.ends_with("# EOF\n"), "{prometheus}");
    assert!(
        m["connection-creation-total"].as_f64().unwrap() >= 1.0,
        "{m}"
    );
    assert!(m["outgoing-byte-total"].as_f64().unwrap() > 0.0, "{m}");
    assert!(m["incoming-byte-total"].as_f64().unwrap() > 0.0, "{m}");
    assert_eq!(m["buffer-available-bytes"], m["buffer-total-bytes"], "{m}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["possibly_written"], 0, "{report}");
    assert_eq!(report["stopped_by"], Value::Null, "{report}");
    assert!(report["records_per_sec"].as_f64() > Some(0.0), "{report}");
    assert_eq!(
        read_back::read_back(bootstrap, topic, 20000, &[]).len(),
        20000
    );
}
