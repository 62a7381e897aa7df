//! The Java producer of the reference Kafka version as the oracle for configuration
//! (`tests/java/ProducerConfigOracle.java`, run by `java` in source-file mode against the
//! Kafka jars the setup script installs):
//!
//! - every property name of the Java producer has a fate here (honoured, TLS, ignored with
//!   a warning, refused with a reason): none is an "unknown property";
//! - `.properties` text with every rule of `Properties.load` reads the same here as there;
//! - the cross-property rules accept and refuse what `new KafkaProducer(props)` accepts and
//!   refuses, apart from the deliberate differences listed with their reasons.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use kafka_integration_tests::kafka::{java, kafka_libs};
use kafka_integration_tests::require_tools;
use kafka_integration_tests::tools::Tool;
use kafka_producer_core::ProducerConfig;
use kafka_producer_core::config::{Fate, parse_properties, property_fate};

fn oracle(args: &[&str], stdin: &str) -> String {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("java/ProducerConfigOracle.java");
    let classpath = format!("{}/*", kafka_libs("current").display());
    let mut child = Command::new(java())
        .arg("-cp")
        .arg(classpath)
        .arg(source)
        .args(args)
        .env_remove("JAVA_TOOL_OPTIONS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start java");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "oracle {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_java_producer_property_has_a_fate() {
    require_tools!(Tool::Kafka);
    let names = oracle(&["names"], "");
    let names: Vec<&str> = names.lines().collect();
    assert!(names.len() >= 97, "{names:?}");
    let unknown: Vec<&&str> = names
        .iter()
        .filter(|n| property_fate(n).is_none())
        .collect();
    assert!(unknown.is_empty(), "no fate for {unknown:?}");
    // And the ones that take any value load from a Java file without an error.
    let mut config = ProducerConfig::default();
    for name in &names {
        if let Some(Fate::Ignored(_)) = property_fate(name) {
            config.set(name, "x").unwrap();
        }
    }
    assert!(!config.warnings().is_empty());
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c as u32) < 0x20 || (c as u32) > 0x7e || c == '\\' {
                format!("\\u{:04x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[test]
fn properties_files_read_as_java_reads_them() {
    require_tools!(Tool::Kafka);
    let text = "# comment \\\n\
                ! another\n\
                \n\
                \t  bootstrap.servers = a:1,\\\n      b:2,\\\r\n\tc:3\n\
                acks:all\n\
                linger.ms 5\n\
                client.id   =   spaced value   \n\
                key\\ with\\ spaces = v\n\
                esc\\=aped\\:key=\\t\\u0041\\n\\\\x\\y\n\
                empty=\n\
                novalue\n\
                dup=1\n\
                dup=2\n\
                sep = = still value\n\
                cont=a\\\n#not a comment\n\
                even=a\\\\\n\
                crlf=1\r\n\
                cr=2\r\
                last=tail\\";
    let dir = std::env::temp_dir().join(format!("java-props-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("p.properties");
    std::fs::write(&file, text).unwrap();
    let java = oracle(&["load", file.to_str().unwrap()], "");
    std::fs::remove_dir_all(&dir).ok();
    // Java keeps the last of duplicate keys; sort as the oracle does.
    let mut ours = std::collections::BTreeMap::new();
    for (k, v) in parse_properties(text).unwrap() {
        ours.insert(k, v);
    }
    let ours: String = ours
        .iter()
        .map(|(k, v)| format!("{}\t{}\n", escape(k), escape(v)))
        .collect();
    assert_eq!(ours, java);
    assert!(java.contains("cont\ta#not a comment"), "{java}");
}

/// Settings (tab-separated `k=v`) and whether ours differs from Java on purpose, and why.
const CASES: &[(&str, Option<&str>)] = &[
    ("", None),
    ("acks=1", None),
    ("acks=0", None),
    ("acks=ALL", None),
    ("acks=-1", None),
    ("retries=0", None),
    ("enable.idempotence=true\tacks=1", None),
    ("enable.idempotence=true\tretries=0", None),
    ("enable.idempotence=TRUE", None),
    ("max.in.flight.requests.per.connection=5", None),
    ("max.in.flight.requests.per.connection=6", None),
    ("acks=1\tmax.in.flight.requests.per.connection=6", None),
    ("retries=0\tmax.in.flight.requests.per.connection=6", None),
    (
        "enable.idempotence=false\tmax.in.flight.requests.per.connection=6",
        None,
    ),
    ("max.in.flight.requests.per.connection=0", None),
    ("delivery.timeout.ms=1000", None),
    ("linger.ms=100000", None),
    ("linger.ms=-1", None),
    ("linger.ms=abc", None),
    ("transactional.id=tx", None),
    ("transactional.id=tx\tacks=1", None),
    ("transactional.id=tx\tenable.idempotence=false", None),
    ("transactional.id=", None),
    (
        "compression.type=zstd\tcompression.zstd.level=-131072",
        None,
    ),
    ("compression.zstd.level=23", None),
    ("compression.gzip.level=-1", None),
    ("compression.gzip.level=0", None),
    ("compression.gzip.level=10", None),
    ("compression.lz4.level=17", None),
    ("compression.lz4.level=18", None),
    ("client.dns.lookup=use_all_dns_ips", None),
    ("client.dns.lookup=default", None),
    ("metadata.max.idle.ms=4999", None),
    ("batch.size=-1", None),
    ("batch.size=0", None),
    ("retry.backoff.ms=100\tretry.backoff.max.ms=10", None),
    ("sasl.login.refresh.window.factor=0.4", None),
    ("sasl.login.refresh.window.jitter=0.25", None),
    ("sasl.login.refresh.buffer.seconds=3601", None),
    (
        "socket.connection.setup.timeout.max.ms=-1",
        Some("Java has no validator for it; a negative timeout has no meaning"),
    ),
    ("security.protocol=ssl", None),
    ("security.protocol=tls", None),
    (
        "partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner",
        None,
    ),
    ("metadata.recovery.strategy=REBOOTSTRAP", None),
    (
        "buffer.memory=0",
        Some("a buffer of 0 bytes can only make every send fail after max.block.ms"),
    ),
    (
        "max.request.size=0",
        Some("a request limit of 0 bytes can only make every send fail"),
    ),
    (
        "metadata.recovery.strategy=none",
        Some("refused: this producer always goes back to the bootstrap servers"),
    ),
    (
        "client.dns.lookup=resolve_canonical_bootstrap_servers_only",
        Some("refused: it serves Kerberos, which is not supported"),
    ),
    (
        "sasl.kerberos.service.name=kafka",
        Some("refused: Kerberos is not supported"),
    ),
    (
        "transaction.two.phase.commit.enable=true",
        Some("refused: KIP-939 is not implemented"),
    ),
];

#[test]
fn cross_property_rules_match_the_java_producer() {
    require_tools!(Tool::Kafka);
    let input: String = CASES.iter().map(|(c, _)| format!("{c}\n")).collect();
    let java = oracle(&["check"], &input);
    let java: Vec<&str> = java.lines().collect();
    assert_eq!(java.len(), CASES.len(), "{java:?}");
    let mut mismatches = Vec::new();
    for ((case, deliberate), java) in CASES.iter().zip(&java) {
        let mut config = ProducerConfig::default();
        config.set("bootstrap.servers", "127.0.0.1:1").unwrap();
        let ours = case
            .split('\t')
            .filter(|kv| !kv.is_empty())
            .try_for_each(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                config.set(k, v)
            })
            .and_then(|()| config.validate());
        let java_ok = *java == "ok";
        let same = ours.is_ok() == java_ok;
        match (same, deliberate) {
            (true, None) | (false, Some(_)) => {}
            (false, None) => mismatches.push(format!("{case:?}: java {java}, ours {ours:?}")),
            (true, Some(why)) => {
                mismatches.push(format!("{case:?}: listed as differing ({why}) but agrees"))
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
