//! Configuring the producer from a Java-style `producer.properties` file,
//! as the Java client and Kafka's command-line tools are.
//!
//! ```text
//! cargo run -p kafka-runtime-tokio --example properties_file -- producer.properties events
//! ```
//!
//! A file such as:
//!
//! ```text
//! # comments and blank lines are skipped
//! bootstrap.servers=localhost:9092
//! compression.type=zstd
//! linger.ms=20
//! batch.size=131072
//! delivery.timeout.ms=60000
//! ```
//!
//! The file is read as Java's `Properties.load` reads it (continuation lines,
//! `:` or whitespace separators, escapes). Every property of the Java
//! producer is known: Java-only ones such as `key.serializer` are accepted
//! with a logged warning, unsupported ones (Kerberos, JKS stores) are
//! refused saying why; typos and bad values are errors at `build()`, naming
//! the key (see kafka-producer-core's PROPERTIES.md).

use std::time::Duration;

use kafka_runtime_tokio::{ProducerBuilder, ProducerRecord};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: properties_file FILE [TOPIC]")?;
    let topic = args.next().unwrap_or_else(|| "events".to_owned());

    // A missing or malformed file is an error at build(), naming the file.
    let builder = ProducerBuilder::from_properties_file(&path);
    // Debug output never shows passwords (sasl.jaas.config, ssl.key.password).
    println!("{builder:?}");
    let producer = builder.build()?;

    let metadata = producer
        .send(ProducerRecord::new(topic).value("configured from a file"))
        .await?
        .await?;
    println!("written at offset {}", metadata.offset);
    producer.close(Duration::from_secs(10)).await;
    Ok(())
}
