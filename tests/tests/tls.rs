//! Every runtime (Tokio, async-std, mio) over TLS to Apache Kafka's own SSL
//! listener, which requires a client certificate (mTLS), with the
//! certificates of the cluster's harness (`kafka::TlsFiles`: a CA, a broker
//! certificate for `localhost` only, a client certificate, and an unrelated
//! CA; made with the openssl CLI). Read back with confluent-kafka over the
//! same listener. One scenario list, run on each runtime by `suite!` (see
//! `runtimes/mod.rs`), on the binary's shared single-node cluster.

mod runtimes;

use std::path::Path;
use std::time::Duration;

use kafka_integration_tests::kafka::TlsFiles;
use kafka_integration_tests::tools::Tool;
use kafka_integration_tests::{KafkaCluster, Listener, require_tools};
use kafka_runtime_common::{
    Compression, ProducerBuilder, ProducerRecord, SecurityProtocol, SendError,
};
use runtimes::read_back::read_back;
use runtimes::{Rt, TestProducer};

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn tls_producer<T: Rt>(tls: &TlsFiles, bootstrap: &str, ca: &Path) -> ProducerBuilder<T::R> {
    ProducerBuilder::<T::R>::new()
        .bootstrap_servers(bootstrap)
        .set("security.protocol", "SSL")
        .set("ssl.ca.location", &path(ca))
        .set("ssl.certificate.location", &path(&tls.client_certificate()))
        .set("ssl.key.location", &path(&tls.client_key()))
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
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = KafkaCluster::shared_single_node();
    let tls = kafka.tls();
    // The listener's advertised name, which the certificate names.
    let by_name = kafka.bootstrap(Listener::Ssl);
    let port = kafka.node_port(1, Listener::Ssl);
    let by_ip = format!("127.0.0.1:{port}");
    let topic = format!("tls-{}", T::NAME);
    kafka.create_topic(&topic, 3);

    // The right CA, the host name the certificate names, a client certificate.
    let p = tls_producer::<T>(tls, &by_name, &tls.ca())
        .compression(Compression::Gzip)
        .build()
        .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..200 {
        let record = ProducerRecord::new(topic.as_str())
            .key(format!("k{i}"))
            .value(format!("tls {i}"));
        deliveries.push(p.send(record).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
    p.close(Duration::from_secs(5)).await;
    let properties = kafka.librdkafka_properties(Listener::Ssl);
    let properties: Vec<&str> = properties.iter().map(String::as_str).collect();
    let got = read_back(&by_name, &topic, 200, &properties);
    let mut values: Vec<String> = got
        .iter()
        .map(|g| String::from_utf8(g.value.clone().unwrap()).unwrap())
        .collect();
    values.sort();
    let mut want: Vec<String> = (0..200).map(|i| format!("tls {i}")).collect();
    want.sort();
    assert_eq!(values, want);

    // Chain and key in one PEM file (Java's PEM keystore).
    let keystore_topic = format!("tls-keystore-{}", T::NAME);
    kafka.create_topic(&keystore_topic, 1);
    let p = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&by_name)
        .security_protocol(SecurityProtocol::Ssl)
        .ssl_ca_location(tls.ca())
        .set("ssl.keystore.type", "PEM")
        .set("ssl.keystore.location", &path(&tls.client_keystore()))
        .build()
        .unwrap();
    p.send(ProducerRecord::new(keystore_topic.as_str()).value("x"))
        .await
        .unwrap()
        .await
        .unwrap();
    p.close(Duration::from_secs(5)).await;

    // A CA that did not sign the broker's certificate.
    expect_refused::<T>(
        tls_producer::<T>(tls, &by_name, &tls.other_ca()),
        "wrong CA",
        &["UnknownIssuer", "unknown issuer"],
    )
    .await;
    // The certificate names localhost, not 127.0.0.1.
    expect_refused::<T>(
        tls_producer::<T>(tls, &by_ip, &tls.ca()),
        "wrong host name",
        &["NotValidForName", "not valid for name"],
    )
    .await;
    // No client certificate: Kafka's SSL listener (ssl.client.auth=required)
    // ends the handshake.
    expect_refused::<T>(
        ProducerBuilder::<T::R>::new()
            .bootstrap_servers(&by_name)
            .set("security.protocol", "SSL")
            .set("ssl.ca.location", &path(&tls.ca()))
            .max_block(Duration::from_secs(2)),
        "no client certificate",
        &["alert", "closed by the broker", "reset", "eof", "EOF"],
    )
    .await;

    // Host name check off: the chain is still verified, the name is not.
    // (Bootstrap by address; the broker then advertises `localhost`.)
    let ip_topic = format!("tls-ip-{}", T::NAME);
    kafka.create_topic(&ip_topic, 1);
    let p = tls_producer::<T>(tls, &by_ip, &tls.ca())
        .set("ssl.endpoint.identification.algorithm", "none")
        .build()
        .unwrap();
    let meta = p
        .send(ProducerRecord::new(ip_topic.as_str()).value("by address"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(meta.offset, 0);
    p.close(Duration::from_secs(5)).await;
    expect_refused::<T>(
        tls_producer::<T>(tls, &by_ip, &tls.other_ca())
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
