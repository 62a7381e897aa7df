//! `kprod perf`'s load with Confluent's pure-Rust client (`confluent-kafka`
//! 1.0, a translation of the Java client): `KafkaProducer::send` with a
//! callback per record, on a Tokio runtime, as its documentation shows.
//!
//! Properties are the Java client's (`-X acks=all -X linger.ms=5 ...`).

use std::collections::HashMap;
use std::sync::Arc;

use bench_peers::{Args, Pacer, Stats};
use confluent_kafka::common::serialization::ByteArraySerializer;
use confluent_kafka::producer::{KafkaProducer, Producer, ProducerConfig, ProducerRecord};

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let stats = Arc::new(Stats::new(args.num_records));
    let payload = args.payload();
    let bytes = payload.len();
    let mut props = HashMap::from([("bootstrap.servers".to_owned(), args.bootstrap.clone())]);
    props.extend(args.props.iter().cloned());
    let config = ProducerConfig::new(&props).unwrap_or_else(|e| {
        eprintln!("confluent-perf: {e}");
        std::process::exit(2)
    });
    let producer = KafkaProducer::<Vec<u8>, Vec<u8>>::new(
        config,
        ByteArraySerializer::default(),
        ByteArraySerializer::default(),
    )
    .unwrap_or_else(|e| {
        eprintln!("confluent-perf: {e}");
        std::process::exit(2)
    });
    let pacer = Pacer::new(args.throughput);
    let mut key = String::new();
    for i in 0..args.num_records {
        if let Some(wait) = pacer.wait_before(i) {
            tokio::time::sleep(wait).await;
        }
        let sent = stats.now_us();
        let sampled = stats.sampled(i);
        let record = match args.key(i, &mut key) {
            Some(k) => ProducerRecord::with_key(args.topic.clone(), Some(k), Some(&payload[..])),
            None => ProducerRecord::new(args.topic.clone(), Some(&payload[..])),
        };
        let outcome = Arc::clone(&stats);
        let callback =
            move |_: Option<&_>, error: Option<&confluent_kafka::common::Error>| match error {
                None => outcome.delivered(sampled, sent, bytes),
                Some(e) => outcome.failed(e),
            };
        if let Err(e) = producer.send(record, Some(Box::new(callback))).await {
            stats.failed(&e);
        }
    }
    if let Err(e) = producer.flush().await {
        eprintln!("confluent-perf: flush: {e}");
    }
    let status = stats.finish(args.num_records);
    let _ = producer.close().await;
    std::process::exit(status);
}
