//! Every runtime (Tokio, async-std, mio) over TLS: stunnel terminates TLS
//! (with client certificates required) in front of a plaintext tansu that
//! advertises the stunnel port, as /work/shared/BROKERS.md describes
//! (tansu's own TLS flags are broken). Certificates come from the openssl
//! CLI. Read back with confluent-kafka over the same TLS listener. One
//! scenario list, run on each runtime by `suite!` (see `runtimes/mod.rs`).
//!
//! Needs `stunnel` (Debian `stunnel4`) and `openssl`; when either is
//! missing the test says so and returns, even in CI, since
//! scripts/setup-test-env.sh does not install them yet.

mod runtimes;

use std::fs::{self, File};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kafka_integration_tests::require_tools;
use kafka_integration_tests::tansu::api_versions_probe;
use kafka_integration_tests::tools::{Tool, free_loopback_port};
use kafka_runtime_common::{
    Compression, ProducerBuilder, ProducerRecord, SecurityProtocol, SendError,
};
use runtimes::read_back::read_back;
use runtimes::{Rt, TestProducer};

/// Child processes killed on drop, with the scratch directory removed.
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
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("TLS scratch directory kept at {}", self.dir.display());
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

/// A CA, a server certificate for `localhost` only (DNS name, no IP) and a
/// client certificate signed by it, and an unrelated second CA.
fn make_certificates(dir: &Path) {
    let ec = [
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
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &pem, "-days", "2", "-subj", &subj]);
        openssl(dir, &args);
    }
    for (name, cn, ext) in [
        (
            "server",
            "localhost",
            "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
        ),
        (
            "client",
            "kafka-tests-client",
            "extendedKeyUsage=clientAuth\n",
        ),
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
        let subj = format!("/CN={cn}");
        let mut args = vec!["req"];
        args.extend(ec);
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

fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} is not listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// tansu on a plaintext port advertising `localhost:TLS_PORT`, stunnel on
/// TLS_PORT requiring a client certificate from our CA.
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
        .args(["--cluster-id", "kafka-tests-tls"])
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
    wait_listening(tls_port, "stunnel");
    (processes, tls_port)
}

fn tls_producer<T: Rt>(dir: &Path, bootstrap: &str, ca: &str) -> ProducerBuilder<T::R> {
    ProducerBuilder::<T::R>::new()
        .bootstrap_servers(bootstrap)
        .set("security.protocol", "SSL")
        .set("ssl.ca.location", &dir.join(ca).display().to_string())
        .set(
            "ssl.certificate.location",
            &dir.join("client.pem").display().to_string(),
        )
        .set(
            "ssl.key.location",
            &dir.join("client.key").display().to_string(),
        )
        .max_block(Duration::from_secs(2))
}

async fn expect_refused<T: Rt>(builder: ProducerBuilder<T::R>, what: &str, cause: &[&str]) {
    let p = builder.build().unwrap();
    let err = p
        .send(ProducerRecord::new("tls").value("never"))
        .await
        .unwrap_err();
    match &err {
        SendError::TopicUnavailable {
            connection_error: Some(e),
            ..
        } if cause.iter().any(|c| e.contains(c)) => println!("{what}: refused: {err}"),
        other => panic!("{what}: expected a TLS failure naming one of {cause:?}, got {other}"),
    }
    p.close(Duration::from_secs(1)).await;
}

async fn tls_with_client_certificates_verifies_the_ca_and_the_host_name<T: Rt>() {
    require_tools!(Tool::Tansu, Tool::Python);
    if !on_path("stunnel") || !on_path("openssl") {
        let message = "TLS test needs `stunnel` (Debian stunnel4) and `openssl` on PATH \
                       (scripts/setup-test-env.sh installs them)";
        if std::env::var_os("KAFKA_TESTS_REQUIRE_BROKERS").is_some_and(|v| v == "1") {
            panic!("{message}");
        }
        eprintln!("SKIPPED {message}");
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "kafka-tests/tls-{}-{}",
        T::NAME,
        std::process::id()
    ));
    fs::create_dir_all(&dir).unwrap();
    make_certificates(&dir);
    let (_processes, port) = start_tls_broker(&dir);
    let by_name = format!("localhost:{port}");
    let by_ip = format!("127.0.0.1:{port}");

    // The right CA, the host name the certificate names, a client certificate.
    let p = tls_producer::<T>(&dir, &by_name, "ca.pem")
        .compression(Compression::Gzip)
        .build()
        .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..200 {
        let record = ProducerRecord::new("tls")
            .key(format!("k{i}"))
            .value(format!("tls {i}"));
        deliveries.push(p.send(record).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
    p.close(Duration::from_secs(5)).await;
    let ssl = |k: &str, f: &str| format!("{k}={}", dir.join(f).display());
    let (ca, cert, key) = (
        ssl("ssl.ca.location", "ca.pem"),
        ssl("ssl.certificate.location", "client.pem"),
        ssl("ssl.key.location", "client.key"),
    );
    let got = read_back(
        &by_name,
        "tls",
        200,
        &["security.protocol=SSL", &ca, &cert, &key],
    );
    let mut values: Vec<String> = got
        .iter()
        .map(|g| String::from_utf8(g.value.clone().unwrap()).unwrap())
        .collect();
    values.sort();
    let mut want: Vec<String> = (0..200).map(|i| format!("tls {i}")).collect();
    want.sort();
    assert_eq!(values, want);

    // Chain and key in one PEM file (Java's PEM keystore).
    let mut keystore = fs::read(dir.join("client.pem")).unwrap();
    keystore.extend(fs::read(dir.join("client.key")).unwrap());
    fs::write(dir.join("keystore.pem"), keystore).unwrap();
    let p = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&by_name)
        .security_protocol(SecurityProtocol::Ssl)
        .ssl_ca_location(dir.join("ca.pem"))
        .set("ssl.keystore.type", "PEM")
        .set(
            "ssl.keystore.location",
            &dir.join("keystore.pem").display().to_string(),
        )
        .build()
        .unwrap();
    p.send(ProducerRecord::new("tls-keystore").value("x"))
        .await
        .unwrap()
        .await
        .unwrap();
    p.close(Duration::from_secs(5)).await;

    // A CA that did not sign the broker's certificate.
    expect_refused::<T>(
        tls_producer::<T>(&dir, &by_name, "other-ca.pem"),
        "wrong CA",
        &["UnknownIssuer", "unknown issuer"],
    )
    .await;
    // The certificate names localhost, not 127.0.0.1.
    expect_refused::<T>(
        tls_producer::<T>(&dir, &by_ip, "ca.pem"),
        "wrong host name",
        &["NotValidForName", "not valid for name"],
    )
    .await;
    // No client certificate: stunnel refuses the session.
    expect_refused::<T>(
        ProducerBuilder::<T::R>::new()
            .bootstrap_servers(&by_name)
            .set("security.protocol", "SSL")
            .set("ssl.ca.location", &dir.join("ca.pem").display().to_string())
            .max_block(Duration::from_secs(2)),
        "no client certificate",
        &["alert", "closed by the broker", "reset", "eof", "EOF"],
    )
    .await;

    // Host name check off: the chain is still verified, the name is not.
    let p = tls_producer::<T>(&dir, &by_ip, "ca.pem")
        .set("ssl.endpoint.identification.algorithm", "none")
        .build()
        .unwrap();
    let meta = p
        .send(ProducerRecord::new("tls-ip").value("by address"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(meta.offset, 0);
    p.close(Duration::from_secs(5)).await;
    expect_refused::<T>(
        tls_producer::<T>(&dir, &by_ip, "other-ca.pem")
            .set("ssl.endpoint.identification.algorithm", "none"),
        "wrong CA without host name check",
        &["UnknownIssuer", "unknown issuer"],
    )
    .await;
}

async fn tls_settings_are_checked_when_building<T: Rt>() {
    let missing = ProducerBuilder::<T::R>::new()
        .bootstrap_servers("localhost:9093")
        .set("security.protocol", "SSL")
        .set("ssl.ca.location", "/nonexistent/ca.pem")
        .build()
        .unwrap_err();
    assert!(missing.to_string().contains("ssl.ca.location"), "{missing}");
    let jks = ProducerBuilder::<T::R>::new()
        .bootstrap_servers("localhost:9093")
        .set("ssl.truststore.type", "JKS")
        .build()
        .unwrap_err();
    assert!(jks.to_string().contains("PEM"), "{jks}");
    let unknown = ProducerBuilder::<T::R>::new()
        .bootstrap_servers("localhost:9093")
        .set("ssl.no.such.thing", "1")
        .build()
        .unwrap_err();
    assert!(
        unknown.to_string().contains("ssl.no.such.thing"),
        "{unknown}"
    );
    let half = ProducerBuilder::<T::R>::new()
        .bootstrap_servers("localhost:9093")
        .set("security.protocol", "SSL")
        .set("ssl.certificate.location", "/nonexistent/client.pem")
        .build()
        .unwrap_err();
    assert!(half.to_string().contains("ssl.key.location"), "{half}");
}

runtimes::suite!(
    tls_with_client_certificates_verifies_the_ca_and_the_host_name,
    tls_settings_are_checked_when_building,
);
