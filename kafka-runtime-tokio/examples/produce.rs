//! Sends records to a topic and reports the rate.
//!
//! ```text
//! cargo run --release -p kafka-runtime-tokio --example produce -- localhost:9092 events 100000
//! ```
//!
//! Arguments: bootstrap servers, topic, record count (default 100000), then
//! any `key=value` producer properties (`compression.type=lz4`, ...).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kafka_runtime_tokio::{ProducerBuilder, ProducerRecord};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bootstrap = args.next().unwrap_or_else(|| "localhost:9092".to_owned());
    let topic: Arc<str> = args.next().unwrap_or_else(|| "events".to_owned()).into();
    let count: u64 = args.next().map_or(Ok(100_000), |n| n.parse())?;
    let mut builder = ProducerBuilder::new().bootstrap_servers(&bootstrap);
    for property in args {
        let (key, value) = property
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got {property:?}"))?;
        builder = builder.set(key, value);
    }
    let producer = builder.build()?;

    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    // The first record with a future, to see metadata; the rest with callbacks.
    let first = producer
        .send(ProducerRecord::new(topic.clone()).value("first"))
        .await?
        .await?;
    println!(
        "first record: {}-{} offset {}",
        first.topic, first.partition, first.offset
    );
    let value = bytes::Bytes::from(vec![b'x'; 100]);
    for i in 1..count {
        let record = ProducerRecord::new(topic.clone())
            .key(i.to_string())
            .value(value.clone());
        let failed = failed.clone();
        producer
            .send_with_callback(record, move |result| {
                if result.is_err() {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            })
            .await?;
    }
    producer.flush().await;
    let elapsed = start.elapsed();
    producer.close(Duration::from_secs(30)).await;
    println!(
        "{count} records in {elapsed:.2?} ({:.0} records/s), {} failed",
        count as f64 / elapsed.as_secs_f64(),
        failed.load(Ordering::Relaxed)
    );
    Ok(())
}
