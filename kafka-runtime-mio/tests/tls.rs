//! TLS on the non-blocking sockets: stunnel terminates TLS (client
//! certificates required) in front of a plaintext tansu that advertises
//! the stunnel port (tansu's own TLS flags are broken, see BROKERS.md).
//! Certificates come from the openssl CLI; read back with confluent-kafka
//! over the same TLS listener. Both faces: the blocking producer and the
//! embedded driver.
//!
//! Needs `stunnel` and `openssl` on PATH: skipped without them, failed
//! without them when KAFKA_TESTS_REQUIRE_BROKERS=1.

mod common;

use std::fs::{self, File};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_read_back, read_back, record};
use kafka_integration_tests::require_tools;
use kafka_integration_tests::tansu::api_versions_probe;
use kafka_integration_tests::tools::{Tool, free_loopback_port};
use kafka_runtime_mio::{DriverBuilder, MioDriver, ProducerBuilder, ProducerRecord, SendError};
use mio::{Events, Poll, Token};

/// Child processes killed on drop, with the scratch directory removed
/// unless the test failed.
struct Processes {
    children: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("TLS scratch directory kept at {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ca.pem` and an unrelated `other-ca.pem`; `server.pem` for the DNS
/// name `localhost` only, and `client.pem`, both signed by `ca`.
fn make_certificates(dir: &Path) {
    const EC: [&str; 5] = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for ca in ["ca", "other-ca"] {
        let (key, pem, subj) = (
            format!("{ca}.key"),
            format!("{ca}.pem"),
            format!("/CN={ca}"),
        );
        let mut args = vec!["req", "-x509"];
        args.extend(EC);
        args.extend(["-keyout", &key, "-out", &pem, "-days", "2", "-subj", &subj]);
        openssl(dir, &args);
    }
    for (name, ext) in [
        (
            "server",
            "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        let (key, csr, pem, extfile) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        fs::write(
            dir.join(&extfile),
            format!("basicConstraints=CA:FALSE\n{ext}"),
        )
        .unwrap();
        let subj = format!("/CN=mio-{name}");
        let mut args = vec!["req"];
        args.extend(EC);
        args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(dir, &args);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &extfile,
            ],
        );
    }
}

/// tansu on a plaintext port advertising `localhost:TLS_PORT`; stunnel on
/// TLS_PORT requiring a client certificate from `ca`.
fn start_tls_broker(dir: &Path) -> (Processes, u16) {
    let tansu_port = free_loopback_port();
    let tls_port = free_loopback_port();
    let log = File::create(dir.join("tansu.log")).unwrap();
    let tansu = Command::new(Tool::Tansu.require())
        .arg("broker")
        .args(["--listener-url", &format!("tcp://127.0.0.1:{tansu_port}")])
        .args([
            "--advertised-listener-url",
            &format!("tcp://localhost:{tls_port}"),
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .args(["--cluster-id", "kafka-tests-mio-tls"])
        .env_remove("CLUSTER_ID")
        .env_remove("LISTENER_URL")
        .env_remove("ADVERTISED_LISTENER_URL")
        .env_remove("STORAGE_ENGINE")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start tansu");
    let mut processes = Processes {
        children: vec![tansu],
        dir: dir.to_path_buf(),
    };
    let config = format!(
        "foreground = yes\npid =\noutput = {log}\n[kafka]\naccept = 127.0.0.1:{tls_port}\n\
         connect = 127.0.0.1:{tansu_port}\ncert = {d}/server.pem\nkey = {d}/server.key\n\
         CAfile = {d}/ca.pem\nverifyChain = yes\n",
        log = dir.join("stunnel.log").display(),
        d = dir.display(),
    );
    fs::write(dir.join("stunnel.conf"), config).unwrap();
    let stunnel = Command::new("stunnel")
        .arg(dir.join("stunnel.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start stunnel");
    processes.children.push(stunnel);
    let deadline = Instant::now() + Duration::from_secs(30);
    while api_versions_probe(([127, 0, 0, 1], tansu_port).into()).is_err() {
        assert!(Instant::now() < deadline, "tansu did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    while TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
        assert!(Instant::now() < deadline, "stunnel did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (processes, tls_port)
}

fn path(dir: &Path, file: &str) -> String {
    dir.join(file).display().to_string()
}

/// TLS properties with the client certificate (and a CA), for either face.
fn tls<R: kafka_runtime_common::Runtime>(
    builder: kafka_runtime_common::ProducerBuilder<R>,
    dir: &Path,
    bootstrap: &str,
    ca: &str,
) -> kafka_runtime_common::ProducerBuilder<R> {
    builder
        .bootstrap_servers(bootstrap)
        .set("security.protocol", "SSL")
        .set("ssl.ca.location", &path(dir, ca))
        .set("ssl.certificate.location", &path(dir, "client.pem"))
        .set("ssl.key.location", &path(dir, "client.key"))
        .max_block(Duration::from_secs(2))
}

fn expect_refused(builder: ProducerBuilder, what: &str, cause: &[&str]) {
    let p = builder.build().unwrap();
    let err = p
        .send(ProducerRecord::new("mio-tls").value("never"))
        .unwrap_err();
    match &err {
        SendError::TopicUnavailable {
            connection_error: Some(e),
            ..
        } if cause.iter().any(|c| e.contains(c)) => println!("{what}: refused: {err}"),
        other => panic!("{what}: expected a TLS failure naming one of {cause:?}, got {other}"),
    }
    p.close(Duration::from_secs(1));
}

#[test]
fn tls_with_client_certificates_on_both_faces_verifies_the_ca_and_the_host_name() {
    require_tools!(Tool::Tansu, Tool::Python);
    if !on_path("stunnel") || !on_path("openssl") {
        let message = "the mio TLS test needs `stunnel` and `openssl` on PATH";
        if std::env::var_os("KAFKA_TESTS_REQUIRE_BROKERS").is_some_and(|v| v == "1") {
            panic!("{message}");
        }
        eprintln!("SKIPPED {message}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("kafka-tests/mio-tls-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    make_certificates(&dir);
    let (_processes, port) = start_tls_broker(&dir);
    let by_name = format!("localhost:{port}");
    let by_ip = format!("127.0.0.1:{port}");
    let consumer_tls = [
        "security.protocol=SSL".to_owned(),
        format!("ssl.ca.location={}", path(&dir, "ca.pem")),
        format!("ssl.certificate.location={}", path(&dir, "client.pem")),
        format!("ssl.key.location={}", path(&dir, "client.key")),
    ];
    let consumer_tls: Vec<&str> = consumer_tls.iter().map(String::as_str).collect();

    // The blocking producer: right CA, the certificate's host name.
    const N: usize = 200;
    let p = tls(ProducerBuilder::new(), &dir, &by_name, "ca.pem")
        .build()
        .unwrap();
    let futures: Vec<_> = (0..N)
        .map(|i| {
            let r = record("mio-tls", i);
            (r.clone(), p.send(r).unwrap())
        })
        .collect();
    let sent: Vec<_> = futures
        .into_iter()
        .map(|(r, f)| (r, f.wait().unwrap()))
        .collect();
    p.close(Duration::from_secs(5));
    assert_read_back(&sent, &read_back(&by_name, "mio-tls", N, &consumer_tls));

    // The embedded driver over TLS.
    let mut poll = Poll::new().unwrap();
    let builder = tls(DriverBuilder::new(), &dir, &by_name, "ca.pem");
    let mut driver = MioDriver::new(builder, poll.registry(), Token(0)..Token(16)).unwrap();
    let mut events = Events::with_capacity(64);
    let mut pending: Vec<ProducerRecord> = (0..N).map(|i| record("mio-tls-embedded", i)).collect();
    pending.reverse();
    let mut sent = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !driver.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the embedded driver did not finish"
        );
        while let Some(r) = pending.pop() {
            match driver.send(r.clone()) {
                Ok(f) => sent.push((r, f)),
                Err(SendError::MetadataPending { .. }) => {
                    pending.push(r);
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        poll.poll(&mut events, driver.next_timeout()).unwrap();
        for event in &events {
            assert!(driver.handle_event(event));
        }
        driver.handle_timeout(Instant::now());
        if sent.len() == N && sent.iter().all(|(_, f)| f.try_result().is_some()) {
            driver.close(Duration::from_secs(5));
        }
    }
    let sent: Vec<_> = sent
        .into_iter()
        .map(|(r, f)| (r, f.try_result().unwrap().unwrap()))
        .collect();
    assert_read_back(
        &sent,
        &read_back(&by_name, "mio-tls-embedded", N, &consumer_tls),
    );

    // A CA that did not sign the broker's certificate.
    expect_refused(
        tls(ProducerBuilder::new(), &dir, &by_name, "other-ca.pem"),
        "wrong CA",
        &["UnknownIssuer", "unknown issuer"],
    );
    // The certificate names localhost, not 127.0.0.1.
    expect_refused(
        tls(ProducerBuilder::new(), &dir, &by_ip, "ca.pem"),
        "wrong host name",
        &["NotValidForName", "not valid for name"],
    );
    // No client certificate: stunnel refuses the session.
    expect_refused(
        ProducerBuilder::new()
            .bootstrap_servers(&by_name)
            .set("security.protocol", "SSL")
            .set("ssl.ca.location", &path(&dir, "ca.pem"))
            .max_block(Duration::from_secs(2)),
        "no client certificate",
        &["alert", "closed by the broker", "reset", "eof", "EOF"],
    );
    // Host name check off: the chain is still verified, the name is not.
    let p = tls(ProducerBuilder::new(), &dir, &by_ip, "ca.pem")
        .set("ssl.endpoint.identification.algorithm", "none")
        .build()
        .unwrap();
    let meta = p
        .send_and_wait(ProducerRecord::new("mio-tls-ip").value("by address"))
        .unwrap()
        .unwrap();
    assert_eq!(meta.offset, 0);
    p.close(Duration::from_secs(5));
}
