//! The adapter against a real broker (tansu), once under async-std and
//! once under smol, read back with confluent-kafka.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{assert_read_back, read_back, record};
use kafka_integration_tests::tools::Tool;
use kafka_integration_tests::{Tansu, require_tools};
use kafka_runtime_async_std::{
    Compression, DeliveryResult, Producer, ProducerBuilder, ProducerRecord, RecordMetadata,
};

const RECORDS: usize = 600;

fn producer(bootstrap: &str) -> Producer {
    ProducerBuilder::new()
        .bootstrap_servers(bootstrap)
        .client_id("async-std-tests")
        .linger(Duration::from_millis(2))
        .batch_size(4 * 1024)
        .compression(Compression::Lz4)
        .build()
        .unwrap()
}

type Sent = Vec<(ProducerRecord, RecordMetadata)>;

/// Sends `range` of the test records, half awaiting delivery futures and
/// half through callbacks, and returns each with its delivery metadata.
async fn send_all(p: &Producer, topic: &str, range: std::ops::Range<usize>) -> Sent {
    let mut futures = Vec::new();
    let called: Arc<Mutex<Sent>> = Arc::default();
    for i in range {
        let r = record(topic, i);
        if i % 2 == 0 {
            futures.push((r.clone(), p.send(r).await.unwrap()));
        } else {
            let (called, sent) = (called.clone(), r.clone());
            let callback = move |result: DeliveryResult| {
                called.lock().unwrap().push((sent, result.unwrap()));
            };
            p.send_with_callback(r, callback).await.unwrap();
        }
    }
    let mut sent = Vec::new();
    for (r, delivery) in futures {
        sent.push((r, delivery.await.unwrap()));
    }
    p.flush().await;
    sent.extend(called.lock().unwrap().drain(..));
    sent
}

#[test]
fn round_trip_under_async_std() {
    require_tools!(Tool::Tansu, Tool::Python);
    let broker = Tansu::start();
    let topic = "async-std-round-trip";
    let start = Instant::now();
    let sent = async_std::task::block_on(async {
        let p = producer(&broker.bootstrap());
        assert!(p.partitions_for(topic).await.unwrap().len() > 1);
        let sent = send_all(&p, topic, 0..RECORDS).await;
        p.close(Duration::from_secs(10)).await;
        sent
    });
    println!("{RECORDS} records delivered in {:.2?}", start.elapsed());
    assert_eq!(sent.len(), RECORDS);
    let partitions: std::collections::BTreeSet<i32> =
        sent.iter().map(|(_, m)| m.partition).collect();
    assert!(partitions.len() > 1, "all records on {partitions:?}");
    assert_read_back(&sent, &read_back(&broker.bootstrap(), topic, RECORDS, &[]));
}

/// smol's own executor runs the senders (four clones of one producer, each
/// in a task of its own); the driver runs where async-std puts it.
#[test]
fn round_trip_under_smol() {
    require_tools!(Tool::Tansu, Tool::Python);
    let broker = Tansu::start();
    let topic = "smol-round-trip";
    let start = Instant::now();
    let sent = smol::block_on(async {
        let p = producer(&broker.bootstrap());
        let tasks: Vec<_> = (0..4)
            .map(|t| {
                let p = p.clone();
                let range = t * RECORDS / 4..(t + 1) * RECORDS / 4;
                smol::spawn(async move { send_all(&p, topic, range).await })
            })
            .collect();
        let mut sent = Vec::new();
        for task in tasks {
            sent.extend(task.await);
        }
        p.close(Duration::from_secs(10)).await;
        assert!(p.is_closed());
        sent
    });
    println!("{RECORDS} records delivered in {:.2?}", start.elapsed());
    assert_eq!(sent.len(), RECORDS);
    assert_read_back(&sent, &read_back(&broker.bootstrap(), topic, RECORDS, &[]));
}
