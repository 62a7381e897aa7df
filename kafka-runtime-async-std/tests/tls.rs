//! The adapter over TLS: stunnel terminates TLS in front of a plaintext
//! tansu that advertises the stunnel port as `localhost` (see
//! /work/shared/BROKERS.md); certificates come from the openssl CLI.

mod common;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_read_back, read_back, record};
use kafka_integration_tests::require_tools;
use kafka_integration_tests::tansu::api_versions_probe;
use kafka_integration_tests::tools::{Tool, free_loopback_port};
use kafka_runtime_async_std::{ProducerBuilder, ProducerRecord, SendError};

/// The broker's processes, killed on drop, and their scratch directory.
struct Broker {
    children: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Broker {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn installed(program: &str) -> bool {
    let mut probe = Command::new(program);
    probe
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    probe.status().is_ok()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openssl {args:?}: {stderr}");
}

/// A CA, and a server certificate it signed for the DNS name `localhost`
/// only (no IP address).
fn certificates(dir: &Path) {
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=test-ca"];
    ca.extend(key);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(dir, &ca);
    let mut csr = vec!["req", "-subj", "/CN=localhost", "-keyout", "server.key"];
    csr.extend(key);
    csr.extend(["-out", "server.csr"]);
    openssl(dir, &csr);
    fs::write(dir.join("server.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
}

/// Starts tansu and stunnel; returns them with the TLS port.
fn start(dir: &Path) -> (Broker, u16) {
    let (plain, tls) = (free_loopback_port(), free_loopback_port());
    let log = File::create(dir.join("tansu.log")).unwrap();
    let tansu = Command::new(Tool::Tansu.require())
        .arg("broker")
        .args(["--listener-url", &format!("tcp://127.0.0.1:{plain}")])
        .args([
            "--advertised-listener-url",
            &format!("tcp://localhost:{tls}"),
        ])
        .args([
            "--storage-engine",
            "memory://tansu/",
            "--cluster-id",
            "async-std-tls",
        ])
        .env_remove("CLUSTER_ID")
        .env_remove("LISTENER_URL")
        .env_remove("ADVERTISED_LISTENER_URL")
        .env_remove("STORAGE_ENGINE")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut broker = Broker {
        children: vec![tansu],
        dir: dir.to_owned(),
    };
    let d = dir.display();
    let config = format!(
        "foreground = yes\npid =\noutput = {d}/stunnel.log\n[kafka]\n\
         accept = 127.0.0.1:{tls}\nconnect = 127.0.0.1:{plain}\n\
         cert = {d}/server.pem\nkey = {d}/server.key\n"
    );
    fs::write(dir.join("stunnel.conf"), config).unwrap();
    let stunnel = Command::new("stunnel")
        .arg(dir.join("stunnel.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    broker.children.push(stunnel);
    let deadline = Instant::now() + Duration::from_secs(30);
    while api_versions_probe(([127, 0, 0, 1], plain).into()).is_err()
        || std::net::TcpStream::connect(("127.0.0.1", tls)).is_err()
    {
        assert!(Instant::now() < deadline, "tansu or stunnel did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (broker, tls)
}

fn tls_producer(dir: &Path, bootstrap: &str) -> ProducerBuilder {
    ProducerBuilder::new()
        .bootstrap_servers(bootstrap)
        .set("security.protocol", "SSL")
        .ssl_ca_location(dir.join("ca.pem"))
        .max_block(Duration::from_secs(5))
}

#[test]
fn tls_round_trip_verifies_the_broker_host_name() {
    require_tools!(Tool::Tansu, Tool::Python);
    if !installed("stunnel") || !installed("openssl") {
        let message = "the TLS test needs `stunnel` (Debian stunnel4) and `openssl` on PATH";
        assert!(
            std::env::var_os("KAFKA_TESTS_REQUIRE_BROKERS").is_none_or(|v| v != "1"),
            "{message}"
        );
        eprintln!("SKIPPED {message}");
        return;
    }
    let dir =
        std::env::temp_dir().join(format!("kafka-tests/async-std-tls-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    certificates(&dir);
    let (_broker, port) = start(&dir);
    let (by_name, by_address) = (format!("localhost:{port}"), format!("127.0.0.1:{port}"));
    let topic = "async-std-tls";
    const RECORDS: usize = 200;

    let sent = async_std::task::block_on(async {
        let p = tls_producer(&dir, &by_name).build().unwrap();
        let mut futures = Vec::new();
        for i in 0..RECORDS {
            let r = record(topic, i);
            futures.push((r.clone(), p.send(r).await.unwrap()));
        }
        let mut sent = Vec::new();
        for (r, delivery) in futures {
            sent.push((r, delivery.await.unwrap()));
        }
        p.close(Duration::from_secs(5)).await;
        sent
    });
    let ca = format!("ssl.ca.location={}", dir.join("ca.pem").display());
    let got = read_back(&by_name, topic, RECORDS, &["security.protocol=SSL", &ca]);
    assert_read_back(&sent, &got);

    // The certificate names localhost, not 127.0.0.1: the host name checked
    // (and sent as SNI) is the broker's.
    smol::block_on(async {
        let p = tls_producer(&dir, &by_address)
            .max_block(Duration::from_secs(2))
            .build()
            .unwrap();
        let e = p
            .send(ProducerRecord::new(topic).value("never"))
            .await
            .unwrap_err();
        match &e {
            SendError::TopicUnavailable {
                connection_error: Some(cause),
                ..
            } if cause.contains("NotValidForName") || cause.contains("not valid for name") => {}
            other => panic!("expected a host name mismatch, got {other}"),
        }
        p.close(Duration::from_secs(1)).await;
    });
}
