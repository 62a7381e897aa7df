//! `kprod topic create`, `kprod produce` and `kprod perf` against a real
//! tansu broker, read back with confluent-kafka.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use kafka_integration_tests::tools::Tool;
use kafka_integration_tests::{Tansu, require_tools};
use serde_json::Value;

#[path = "../../tests/tests/runtimes/read_back.rs"]
mod read_back;

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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn create_topic(bootstrap: &str, topic: &str, partitions: &str) -> Output {
    kprod(
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
    )
}

#[test]
fn topic_create_then_produce_lines_with_keys_and_a_header() {
    require_tools!(Tool::Tansu, Tool::Python);
    let tansu = Tansu::start();
    let bootstrap = tansu.bootstrap();
    let topic = "kprod-lines";

    let out = create_topic(&bootstrap, topic, "3");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), format!("created topic {topic}"));

    let again = create_topic(&bootstrap, topic, "3");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("TOPIC_ALREADY_EXISTS"),
        "{}",
        text(&again.stderr)
    );

    let input: String = (0..100).map(|i| format!("key-{i}:value {i}\n")).collect();
    let out = kprod(
        &[
            "produce",
            "-b",
            &bootstrap,
            "-t",
            topic,
            "--key-separator",
            ":",
            "--header",
            "source=kprod",
        ],
        input.as_bytes(),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("produced 100 records to {topic} (0 failed)")),
        "{stderr}"
    );

    let records = read_back::read_back(&bootstrap, topic, 100, &[]);
    assert_eq!(records.len(), 100);
    let mut keys: Vec<String> = records
        .iter()
        .map(|r| {
            let key = String::from_utf8(r.key.clone().expect("a key")).expect("UTF-8 key");
            let n = key.strip_prefix("key-").expect("key-N");
            assert_eq!(
                r.value.as_deref(),
                Some(format!("value {n}").as_bytes()),
                "{r:?}"
            );
            assert_eq!(
                r.headers,
                vec![("source".to_owned(), Some(b"kprod".to_vec()))]
            );
            key
        })
        .collect();
    keys.sort();
    let mut want: Vec<String> = (0..100).map(|i| format!("key-{i}")).collect();
    want.sort();
    assert_eq!(keys, want);
}

#[test]
fn topic_create_against_nothing_fails_with_a_message() {
    // A port nobody listens on: binding and dropping finds one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port();
    let out = create_topic(&format!("127.0.0.1:{port}"), "t", "1");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot connect"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn perf_reports_every_record_as_json() {
    require_tools!(Tool::Tansu);
    let tansu = Tansu::start();
    let bootstrap = tansu.bootstrap();
    let topic = "kprod-perf";
    let out = create_topic(&bootstrap, topic, "2");
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = kprod(
        &[
            "perf",
            "-b",
            &bootstrap,
            "-t",
            topic,
            "--num-records",
            "20000",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--key-cardinality",
            "50",
            "-X",
            "linger.ms=5",
            "--json",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_str(text(&out.stdout).trim()).expect("one JSON object");
    assert_eq!(report["records"], 20000, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    for key in [
        "records_per_sec",
        "mb_per_sec",
        "latency_avg_ms",
        "latency_p50_ms",
        "latency_p99_ms",
        "latency_p999_ms",
        "latency_max_ms",
    ] {
        let v = report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {report}"));
        assert!(v >= 0.0, "{key}: {report}");
    }
    assert!(report["records_per_sec"].as_f64() > Some(0.0), "{report}");
    assert!(
        report["latency_p50_ms"].as_f64() <= report["latency_max_ms"].as_f64(),
        "{report}"
    );
}

#[test]
fn perf_prints_the_summary_line_without_json() {
    require_tools!(Tool::Tansu);
    let tansu = Tansu::start();
    let bootstrap = tansu.bootstrap();
    let out = create_topic(&bootstrap, "kprod-perf-text", "1");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = kprod(
        &[
            "perf",
            "-b",
            &bootstrap,
            "-t",
            "kprod-perf-text",
            "--num-records",
            "500",
            "--record-size",
            "10",
            "--throughput",
            "1000",
        ],
        b"",
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let last = stdout.lines().last().expect("a summary line");
    assert!(last.starts_with("500 records sent, "), "{last}");
    for part in [
        " records/sec (",
        " MB/sec), ",
        " ms avg latency, ",
        " ms 50th, ",
        " ms 99th, ",
        " ms 99.9th, ",
        " ms max.",
    ] {
        assert!(last.contains(part), "{part} missing: {last}");
    }
}

#[test]
fn produce_and_perf_run_on_every_runtime() {
    require_tools!(Tool::Tansu, Tool::Python);
    let tansu = Tansu::start();
    let bootstrap = tansu.bootstrap();
    for runtime in ["tokio", "async-std", "mio"] {
        let topic = format!("kprod-runtime-{runtime}");
        let input: String = (0..50).map(|i| format!("{runtime} {i}\n")).collect();
        let out = kprod(
            &[
                "--runtime",
                runtime,
                "produce",
                "-b",
                &bootstrap,
                "-t",
                &topic,
            ],
            input.as_bytes(),
        );
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{runtime}: {stderr}");
        assert!(
            stderr.contains(&format!("produced 50 records to {topic} (0 failed)")),
            "{runtime}: {stderr}"
        );
        let mut values: Vec<Vec<u8>> = read_back::read_back(&bootstrap, &topic, 50, &[])
            .into_iter()
            .map(|r| r.value.expect("a value"))
            .collect();
        values.sort();
        let mut want: Vec<Vec<u8>> = (0..50)
            .map(|i| format!("{runtime} {i}").into_bytes())
            .collect();
        want.sort();
        assert_eq!(values, want, "{runtime}");

        // The option also goes after the subcommand.
        let out = kprod(
            &[
                "perf",
                "-b",
                &bootstrap,
                "-t",
                &format!("kprod-perf-{runtime}"),
                "--num-records",
                "5000",
                "--record-size",
                "100",
                "--throughput",
                "-1",
                "--json",
                "--runtime",
                runtime,
            ],
            b"",
        );
        assert!(out.status.success(), "{runtime}: {}", text(&out.stderr));
        let report: Value = serde_json::from_str(text(&out.stdout).trim()).expect("JSON");
        assert_eq!(report["records"], 5000, "{runtime}: {report}");
        assert_eq!(report["failed"], 0, "{runtime}: {report}");
    }
}

#[test]
fn an_unknown_runtime_is_a_usage_error() {
    let out = kprod(
        &[
            "--runtime",
            "glommio",
            "perf",
            "-b",
            "127.0.0.1:1",
            "-t",
            "t",
            "--num-records",
            "1",
            "--record-size",
            "1",
            "--throughput",
            "-1",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("glommio"),
        "{}",
        text(&out.stderr)
    );
}
