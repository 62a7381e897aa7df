//! The simplest use: send one record with a key, headers and a timestamp,
//! and wait until the broker has acknowledged it.
//!
//! ```text
//! cargo run -p kafka-runtime-tokio --example send_and_wait -- localhost:9092 events
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafka_runtime_tokio::{ProducerBuilder, ProducerRecord, SendError};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bootstrap = args.next().unwrap_or_else(|| "localhost:9092".to_owned());
    let topic = args.next().unwrap_or_else(|| "events".to_owned());

    // Defaults are the Java client's: acks=all, idempotence on, linger.ms=5.
    let producer = ProducerBuilder::new()
        .bootstrap_servers(&bootstrap)
        .client_id("send-and-wait-example")
        .build()?;

    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
    let record = ProducerRecord::new(topic)
        .key("order-1001")
        .value(r#"{"status":"paid"}"#)
        .header("content-type", Some("application/json"))
        .timestamp(now_ms);

    // The first `.await` waits for buffer space and topic metadata (at most
    // max.block.ms); the second for the broker's acknowledgement.
    let delivery = match producer.send(record).await {
        Ok(delivery) => delivery,
        Err(SendError::TopicUnavailable { topic, .. }) => {
            return Err(format!("topic {topic} does not exist or no broker answered").into());
        }
        Err(e) => return Err(e.into()),
    };
    let metadata = delivery.await?;
    println!(
        "written to {}-{} at offset {} (timestamp {})",
        metadata.topic, metadata.partition, metadata.offset, metadata.timestamp
    );

    producer.close(Duration::from_secs(10)).await;
    Ok(())
}
