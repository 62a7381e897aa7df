//! Connecting to a secured cluster: TLS with a private CA (and optionally a
//! client certificate, mTLS), and SASL SCRAM-SHA-512 authentication.
//!
//! ```text
//! KAFKA_BOOTSTRAP=broker1:9093 KAFKA_CA=ca.pem KAFKA_USER=alice KAFKA_PASSWORD=... \
//!     cargo run -p kafka-runtime-tokio --example secure
//! ```
//!
//! Optional: `KAFKA_CERT` and `KAFKA_KEY` (PEM files) for a client
//! certificate; `KAFKA_MECHANISM` (`PLAIN`, `SCRAM-SHA-256` or the default
//! `SCRAM-SHA-512`). Without `KAFKA_USER` it uses TLS alone (`SSL`).

use std::env::var;
use std::time::Duration;

use kafka_runtime_tokio::{ProducerBuilder, ProducerRecord, SecurityProtocol};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bootstrap = var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "localhost:9093".to_owned());
    let mut builder = ProducerBuilder::new().bootstrap_servers(&bootstrap);

    // Server verification is always on; the host name is checked against
    // the certificate unless ssl.endpoint.identification.algorithm is empty.
    // Without a CA file the system's roots are used.
    if let Ok(ca) = var("KAFKA_CA") {
        builder = builder.ssl_ca_location(ca);
    }
    if let (Ok(cert), Ok(key)) = (var("KAFKA_CERT"), var("KAFKA_KEY")) {
        builder = builder.ssl_client_certificate(cert, key);
    }
    builder = match (var("KAFKA_USER"), var("KAFKA_PASSWORD")) {
        (Ok(user), Ok(password)) => {
            let mechanism = var("KAFKA_MECHANISM").unwrap_or_else(|_| "SCRAM-SHA-512".to_owned());
            builder
                .security_protocol(SecurityProtocol::SaslSsl)
                .sasl(&mechanism, &user, &password)
        }
        _ => builder.security_protocol(SecurityProtocol::Ssl),
    };
    // The same as properties: .set("security.protocol", "SASL_SSL")
    // .set("sasl.mechanism", "SCRAM-SHA-512") .set("sasl.username", ..) ...

    let producer = builder.build()?;
    let metadata = producer
        .send(ProducerRecord::new("secure-events").value("hello over TLS"))
        .await?
        .await?;
    println!(
        "written at {}-{}@{}",
        metadata.topic, metadata.partition, metadata.offset
    );
    producer.close(Duration::from_secs(10)).await;
    Ok(())
}
