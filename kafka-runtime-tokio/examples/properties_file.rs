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
//! Unknown keys and bad values are errors at `build()`, naming the key.

use std::time::Duration;

use kafka_runtime_tokio::{ProducerBuilder, ProducerRecord};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: properties_file FILE [TOPIC]")?;
    let topic = args.next().unwrap_or_else(|| "events".to_owned());

    let text = std::fs::read_to_string(&path)?;
    let mut builder = ProducerBuilder::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (key, value) = line
            .split_once(['=', ':'])
            .ok_or_else(|| format!("{path}: expected key=value, got {line:?}"))?;
        builder = builder.set(key.trim(), value.trim());
    }
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
