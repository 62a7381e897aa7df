//! `kprod topic create`, `kprod produce` and `kprod perf` against a real
//! tansu broker, read back with confluent-kafka.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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
        stderr.contains(&format!(
            "produced 100 records to {topic} (0 failed); of the failed, 0 possibly written"
        )),
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

/// The console producer's reader properties (a contract): headers per line, keys, the null
/// marker; a line that breaks the format fails alone; a `--header` with an empty key is a
/// usage error.
#[test]
fn produce_reads_headers_keys_and_nulls_as_the_console_producer() {
    require_tools!(Tool::Tansu, Tool::Python);
    let tansu = Tansu::start();
    let bootstrap = tansu.bootstrap();
    let topic = "kprod-reader-properties";
    let out = create_topic(&bootstrap, topic, "1");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let input = "trace:abc,flag:NULL\tk1\tv1\n\
                 NULL\tNULL\tv2\n\
                 h:x\tk3\tNULL\n\
                 no delimiters here\n";
    let out = kprod(
        &[
            "produce",
            "--bootstrap-server",
            &bootstrap,
            "-t",
            topic,
            "--property",
            "parse.headers=true",
            "--reader-property",
            "parse.key=true",
            "--property",
            "null.marker=NULL",
            "--header",
            "source=kprod",
        ],
        input.as_bytes(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("line 4: no headers delimiter"), "{stderr}");
    assert!(
        stderr.contains("produced 3 records to kprod-reader-properties (1 failed)"),
        "{stderr}"
    );
    let records = read_back::read_back(&bootstrap, topic, 3, &[]);
    let source = ("source".to_owned(), Some(b"kprod".to_vec()));
    assert_eq!(records[0].key.as_deref(), Some(&b"k1"[..]));
    assert_eq!(records[0].value.as_deref(), Some(&b"v1"[..]));
    assert_eq!(
        records[0].headers,
        vec![
            ("trace".to_owned(), Some(b"abc".to_vec())),
            ("flag".to_owned(), None),
            source.clone()
        ]
    );
    assert_eq!(
        (records[1].key.as_deref(), records[1].value.as_deref()),
        (None, Some(&b"v2"[..]))
    );
    assert_eq!(records[1].headers, vec![source.clone()]);
    assert_eq!(
        (records[2].key.as_deref(), records[2].value.as_deref()),
        (Some(&b"k3"[..]), None)
    );

    for bad in [&["--header", "=v"][..], &["--property", "parse.keys=true"]] {
        let mut args = vec!["produce", "-b", &bootstrap, "-t", topic];
        args.extend_from_slice(bad);
        let out = kprod(&args, b"");
        assert!(!out.status.success(), "{bad:?}");
        assert!(!text(&out.stderr).is_empty(), "{bad:?}");
    }
}

#[test]
fn topic_create_against_nothing_fails_with_a_message() {
    // A port nobody listens on: binding and dropping finds one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port();
    let start = Instant::now();
    let out = kprod(
        &[
            "topic",
            "create",
            "t",
            "--partitions",
            "1",
            "--replication-factor",
            "1",
            "-b",
            &format!("127.0.0.1:{port}"),
            "--timeout-ms",
            "2000",
        ],
        b"",
    );
    assert!(start.elapsed() < Duration::from_secs(30));
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
    assert_eq!(report["possibly_written"], 0, "{report}");
    assert_eq!(report["stopped_by"], Value::Null, "{report}");
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
        " ms max latency, ",
        " ms 50th, ",
        " ms 95th, ",
        " ms 99th, ",
        " ms 99.9th. 0 failed; of the failed, 0 possibly written.",
    ] {
        assert!(last.contains(part), "{part} missing: {last}");
    }
    // Kafka's tool's order.
    let at = |part: &str| last.find(part).unwrap();
    assert!(at(" ms avg latency") < at(" ms max latency"), "{last}");
    assert!(at(" ms max latency") < at(" ms 50th"), "{last}");
    assert!(at(" ms 95th") < at(" ms 99th"), "{last}");

    // The values from a file's pieces, or the record numbers; warm-up records left out.
    let dir = std::env::temp_dir().join(format!("kprod-payloads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("payloads.txt");
    std::fs::write(&file, "alpha|beta|gamma").unwrap();
    let out = kprod(
        &[
            "perf",
            "-b",
            &bootstrap,
            "-t",
            "kprod-perf-text",
            "--num-records",
            "300",
            "--payload-file",
            file.to_str().unwrap(),
            "--payload-delimiter",
            "|",
            "--warmup-records",
            "100",
            "--throughput",
            "-1",
            "--json",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_str(text(&out.stdout).trim()).expect("JSON");
    assert_eq!(report["records"], 200, "{report}");
    assert_eq!(report["records_attempted"], 300, "{report}");
    assert_eq!(report["warmup_records"], 100, "{report}");
    // 200 values of 4 or 5 bytes.
    let mb = report["mb_per_sec"].as_f64().unwrap();
    let rate = report["records_per_sec"].as_f64().unwrap();
    let per_record = mb * 1024.0 * 1024.0 / rate;
    assert!((4.0..=5.0).contains(&per_record), "{report}");
    std::fs::remove_dir_all(&dir).ok();

    // Exactly one payload option.
    let out = kprod(
        &[
            "perf",
            "-b",
            &bootstrap,
            "-t",
            "x",
            "--num-records",
            "1",
            "--throughput",
            "-1",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = kprod(
        &[
            "perf",
            "-b",
            &bootstrap,
            "-t",
            "x",
            "--num-records",
            "1",
            "--throughput",
            "-1",
            "--record-size",
            "1",
            "--payload-monotonic",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// `--payload-monotonic`: the values are the record numbers, as a reader sees them.
#[test]
fn perf_monotonic_payloads_are_the_record_numbers() {
    require_tools!(Tool::Tansu, Tool::Python);
    let tansu = Tansu::start();
    let bootstrap = tansu.bootstrap();
    let out = create_topic(&bootstrap, "kprod-perf-monotonic", "1");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = kprod(
        &[
            "perf",
            "-b",
            &bootstrap,
            "-t",
            "kprod-perf-monotonic",
            "--num-records",
            "50",
            "--payload-monotonic",
            "--throughput",
            "-1",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let values: Vec<String> = read_back::read_back(&bootstrap, "kprod-perf-monotonic", 50, &[])
        .into_iter()
        .map(|r| String::from_utf8(r.value.expect("a value")).unwrap())
        .collect();
    let want: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    assert_eq!(values, want);
}

/// `kprod perf ... | head -1`: a closed stdout ends the output quietly, no panic.
#[test]
fn perf_survives_a_closed_stdout() {
    require_tools!(Tool::Tansu);
    let tansu = Tansu::start();
    let bootstrap = tansu.bootstrap();
    let out = create_topic(&bootstrap, "kprod-perf-head", "1");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_kprod"))
        .args([
            "perf",
            "-b",
            &bootstrap,
            "-t",
            "kprod-perf-head",
            "--num-records",
            "20",
            "--record-size",
            "10",
            "--throughput",
            "-1",
            "--print-metrics",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start kprod");
    // The reading end closed before kprod writes anything.
    let mut child = child;
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
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
    // Only produce and perf have a runtime.
    let out = kprod(&["--runtime", "mio", "dump", "/dev/null"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("produce and perf only"),
        "{}",
        text(&out.stderr)
    );
}

/// A running kprod with its stdin kept open.
#[cfg(unix)]
struct Running {
    child: std::process::Child,
}

#[cfg(unix)]
impl Running {
    fn start(args: &[&str]) -> Running {
        let child = Command::new(env!("CARGO_BIN_EXE_kprod"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kprod");
        Running { child }
    }

    fn stdin(&mut self) -> &mut std::process::ChildStdin {
        self.child.stdin.as_mut().expect("stdin")
    }

    /// Waits until kprod has read everything written to its stdin (the
    /// pipe is empty: FIONREAD works on the write end too).
    fn wait_until_input_read(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let unread = rustix::io::ioctl_fionread(&*self.stdin()).expect("FIONREAD");
            if unread == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "kprod left {unread} bytes unread"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: rustix::process::Signal) {
        signal_pid(self.child.id(), signal);
    }

    /// Waits (at most `limit`) for kprod to exit; kills it after that.
    fn finish(mut self, limit: Duration) -> Output {
        let deadline = Instant::now() + limit;
        while self.child.try_wait().expect("try_wait").is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let out = self.child.wait_with_output().expect("wait");
                panic!(
                    "kprod still running after {limit:?}; stderr: {}",
                    text(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child
            .wait_with_output()
            .expect("collect kprod's output")
    }
}

#[cfg(unix)]
fn signal_pid(pid: u32, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).expect("pid")).expect("pid > 0");
    rustix::process::kill_process(pid, signal).expect("kill");
}

/// Ctrl-C while the input is still open: what was read is delivered
/// (linger.ms and batch.size keep all of it buffered until the close), the
/// summary is printed and the exit status is 130. Before, SIGINT killed
/// kprod and none of the 5,000 records reached the log.
#[cfg(unix)]
#[test]
fn produce_delivers_what_it_read_when_interrupted_on_every_runtime() {
    require_tools!(Tool::Tansu, Tool::Python);
    let tansu = Tansu::start();
    let bootstrap = tansu.bootstrap();
    for runtime in ["tokio", "async-std", "mio"] {
        let topic = format!("kprod-sigint-{runtime}");
        let out = create_topic(&bootstrap, &topic, "3");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mut kprod = Running::start(&[
            "--runtime",
            runtime,
            "produce",
            "-b",
            &bootstrap,
            "-t",
            &topic,
            "-X",
            "linger.ms=600000",
            "-X",
            "batch.size=1048576",
        ]);
        let input: String = (0..5000).map(|i| format!("{runtime} line {i}\n")).collect();
        kprod
            .stdin()
            .write_all(input.as_bytes())
            .expect("write kprod's stdin");
        kprod.wait_until_input_read();
        kprod.signal(rustix::process::Signal::INT);
        let out = kprod.finish(Duration::from_secs(60));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{runtime}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "produced 5000 records to {topic} (0 failed); of the failed, 0 possibly written; \
                 stopped by SIGINT"
            )),
            "{runtime}: {stderr}"
        );
        let mut values: Vec<Vec<u8>> = read_back::read_back(&bootstrap, &topic, 5000, &[])
            .into_iter()
            .map(|r| r.value.expect("a value"))
            .collect();
        values.sort();
        let mut want: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("{runtime} line {i}").into_bytes())
            .collect();
        want.sort();
        assert_eq!(values, want, "{runtime}");
    }
}

/// SIGTERM during a long perf run: the load stops, what was sent is
/// delivered, the final JSON counts it and says why it stopped; exit 143.
#[cfg(unix)]
#[test]
fn perf_reports_what_it_sent_when_terminated_on_every_runtime() {
    require_tools!(Tool::Tansu, Tool::Python);
    let tansu = Tansu::start();
    let bootstrap = tansu.bootstrap();
    for runtime in ["tokio", "async-std", "mio"] {
        let topic = format!("kprod-sigterm-{runtime}");
        let out = create_topic(&bootstrap, &topic, "2");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let kprod = Running::start(&[
            "--runtime",
            runtime,
            "perf",
            "-b",
            &bootstrap,
            "-t",
            &topic,
            "--num-records",
            "100000000",
            "--record-size",
            "100",
            "--throughput",
            "2000",
            "-X",
            "linger.ms=50",
            "--json",
        ]);
        std::thread::sleep(Duration::from_secs(2));
        kprod.signal(rustix::process::Signal::TERM);
        let out = kprod.finish(Duration::from_secs(60));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(143), "{runtime}: {stderr}");
        let report: Value = serde_json::from_str(text(&out.stdout).trim()).expect("JSON");
        assert_eq!(report["stopped_by"], "SIGTERM", "{runtime}: {report}");
        assert_eq!(report["failed"], 0, "{runtime}: {report}");
        assert_eq!(report["possibly_written"], 0, "{runtime}: {report}");
        let sent = report["records"].as_u64().expect("records");
        assert!(sent > 0 && sent < 100_000_000, "{runtime}: {report}");
        assert!(
            stderr.contains(&format!(
                "SIGTERM: stopped after {sent} of 100000000 records"
            )),
            "{runtime}: {stderr}"
        );
        let count = usize::try_from(sent).expect("count");
        assert_eq!(
            read_back::read_back(&bootstrap, &topic, count, &[]).len(),
            count,
            "{runtime}"
        );
    }
}

/// Against nothing (connection refused), every record fails and none was
/// written; the counts say so and the exit status is 1.
#[test]
fn failures_against_no_broker_are_counted_as_not_written_on_every_runtime() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port();
    let bootstrap = format!("127.0.0.1:{port}");
    for runtime in ["tokio", "async-std", "mio"] {
        let input: String = (0..20).map(|i| format!("{i}\n")).collect();
        let started = Instant::now();
        let out = kprod(
            &[
                "--runtime",
                runtime,
                "produce",
                "-b",
                &bootstrap,
                "-t",
                "nowhere",
                "-X",
                "max.block.ms=500",
            ],
            input.as_bytes(),
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{runtime}: {stderr}");
        assert!(
            stderr.contains(
                "produced 0 records to nowhere (20 failed); of the failed, 0 possibly written"
            ),
            "{runtime}: {stderr}"
        );
        // After the first send waited max.block.ms in vain, the other lines
        // are not tried one max.block.ms each.
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{runtime}: {:?}",
            started.elapsed()
        );

        let out = kprod(
            &[
                "--runtime",
                runtime,
                "perf",
                "-b",
                &bootstrap,
                "-t",
                "nowhere",
                "--num-records",
                "3",
                "--record-size",
                "10",
                "--throughput",
                "-1",
                "-X",
                "max.block.ms=200",
            ],
            b"",
        );
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{runtime}: {stdout}");
        let last = stdout.lines().last().expect("a summary line");
        // Only delivered records count as sent, as in Kafka's tool.
        assert!(
            last.starts_with("0 records sent, 0.0 records/sec (0.00 MB/sec)"),
            "{runtime}: {last}"
        );
        assert!(
            last.ends_with(" ms 99.9th. 3 failed; of the failed, 0 possibly written."),
            "{runtime}: {last}"
        );
    }
}

/// A broker that stops answering (SIGSTOP) after taking the records'
/// Produce request: delivery.timeout.ms runs out with the request in flight,
/// so the records failed but may be in the log, and the summary says so.
#[cfg(unix)]
#[test]
fn records_lost_in_flight_are_counted_as_possibly_written_on_every_runtime() {
    require_tools!(Tool::Tansu, Tool::Python);
    let tansu = Tansu::start();
    let bootstrap = tansu.bootstrap();
    for runtime in ["tokio", "async-std", "mio"] {
        let topic = format!("kprod-in-flight-{runtime}");
        let out = create_topic(&bootstrap, &topic, "1");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mut kprod = Running::start(&[
            "--runtime",
            runtime,
            "produce",
            "-b",
            &bootstrap,
            "-t",
            &topic,
            "-X",
            "linger.ms=0",
            "-X",
            "request.timeout.ms=1000",
            "-X",
            "delivery.timeout.ms=3000",
        ]);
        // One record delivered first: the connection and metadata are ready.
        kprod.stdin().write_all(b"first\n").expect("write");
        assert_eq!(read_back::read_back(&bootstrap, &topic, 1, &[]).len(), 1);
        signal_pid(tansu.pid(), rustix::process::Signal::STOP);
        let input: String = (0..100).map(|i| format!("{i}\n")).collect();
        kprod.stdin().write_all(input.as_bytes()).expect("write");
        drop(kprod.child.stdin.take());
        let out = kprod.finish(Duration::from_secs(60));
        signal_pid(tansu.pid(), rustix::process::Signal::CONT);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{runtime}: {stderr}");
        // Which records were in flight when the broker froze depends on how
        // the runtime batched them (one record per batch when each send is
        // turned into a request at once): those may be in the log, the rest
        // were never sent. At least the first in-flight request's records
        // are in doubt, and the error lines say so.
        let prefix = format!("produced 1 records to {topic} (100 failed); of the failed, ");
        let summary = stderr
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("{runtime}: no summary in {stderr}"));
        let possibly: usize = summary
            .strip_suffix(" possibly written")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{runtime}: summary {summary:?}"));
        assert!((1..=100).contains(&possibly), "{runtime}: {stderr}");
        assert!(
            stderr.contains("(the records may have been written)"),
            "{runtime}: {stderr}"
        );
    }
}

/// Runs `kprod produce` against a port nobody listens on with `args` first
/// and the environment's RUST_LOG set to `rust_log` (unset when `None`).
fn produce_to_nothing(args: &[&str], rust_log: Option<&str>) -> Output {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kprod"));
    cmd.args(args)
        .args(["produce", "-b", &format!("127.0.0.1:{port}"), "-t", "t"])
        .args(["-X", "max.block.ms=1500"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_LOG");
    if let Some(filter) = rust_log {
        cmd.env("RUST_LOG", filter);
    }
    let mut child = cmd.spawn().expect("start kprod");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"one\n")
        .expect("write kprod's stdin");
    child.wait_with_output().expect("wait for kprod")
}

#[test]
fn logs_go_to_stderr_by_level_from_v_or_rust_log() {
    // Default: warnings (each refused connection), no debug lines.
    let out = produce_to_nothing(&[], None);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("WARN") && stderr.contains("connection failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("DEBUG"), "{stderr}");
    // -vv: debug lines too (each connection attempt).
    let stderr = text(&produce_to_nothing(&["-vv"], None).stderr);
    assert!(
        stderr.contains("DEBUG") && stderr.contains("connecting"),
        "{stderr}"
    );
    // RUST_LOG wins over -v: off silences the libraries, kprod's own
    // summary still prints.
    let stderr = text(&produce_to_nothing(&["-vvv"], Some("off")).stderr);
    assert!(
        !stderr.contains("WARN") && !stderr.contains("DEBUG"),
        "{stderr}"
    );
    assert!(
        !stderr.trim().is_empty(),
        "kprod's own error is not a log line"
    );
}

/// The transaction flags come together: a size without an id (or an id without a size) is
/// refused before anything connects.
#[test]
fn transaction_flags_need_each_other() {
    for args in [
        &[
            "produce",
            "-b",
            "127.0.0.1:1",
            "-t",
            "t",
            "--transaction-size",
            "10",
        ][..],
        &[
            "produce",
            "-b",
            "127.0.0.1:1",
            "-t",
            "t",
            "--transactional-id",
            "x",
        ][..],
        &[
            "produce",
            "-b",
            "127.0.0.1:1",
            "-t",
            "t",
            "--abort-every",
            "2",
        ][..],
    ] {
        let out = kprod(args, b"");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("required"),
            "{}",
            text(&out.stderr)
        );
    }
}
