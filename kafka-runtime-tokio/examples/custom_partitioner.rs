//! Routing records with a partitioner of your own: here every key starting
//! with `vip-` goes to partition 0 and the rest are spread by the Java
//! client's murmur2 over the other partitions.
//!
//! ```text
//! cargo run -p kafka-runtime-tokio --example custom_partitioner -- localhost:9092 orders
//! ```

use std::time::Duration;

use kafka_runtime_tokio::partitioner::{TopicPartitions, partition_for_key};
use kafka_runtime_tokio::{Partitioner, ProducerBuilder, ProducerRecord};

struct VipFirst;

impl Partitioner for VipFirst {
    fn partition(
        &mut self,
        _topic: &str,
        key: Option<&[u8]>,
        _value: Option<&[u8]>,
        partitions: &TopicPartitions<'_>,
    ) -> i32 {
        match key {
            Some(k) if k.starts_with(b"vip-") || partitions.num_partitions == 1 => 0,
            Some(k) => 1 + partition_for_key(k, partitions.num_partitions - 1),
            None => partitions.available.first().copied().unwrap_or(0),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bootstrap = args.next().unwrap_or_else(|| "localhost:9092".to_owned());
    let topic = args.next().unwrap_or_else(|| "orders".to_owned());

    let producer = ProducerBuilder::new()
        .bootstrap_servers(&bootstrap)
        .custom_partitioner(VipFirst)
        .build()?;

    for key in ["vip-ann", "bob", "vip-cem", "dana", "eve"] {
        let record = ProducerRecord::new(topic.as_str()).key(key).value("order");
        let metadata = producer.send(record).await?.await?;
        println!("{key:>8} -> partition {}", metadata.partition);
    }
    // A record naming its partition bypasses the partitioner.
    let pinned = ProducerRecord::new(topic.as_str())
        .partition(0)
        .value("audit");
    producer.send(pinned).await?.await?;

    producer.close(Duration::from_secs(10)).await;
    Ok(())
}
