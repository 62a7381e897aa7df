//! The blocking producer against a real broker (tansu), read back with
//! confluent-kafka: futures, callbacks and send_and_wait in one round trip,
//! and close with a deadline when the broker is gone.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{assert_read_back, read_back, record};
use kafka_integration_tests::tools::Tool;
use kafka_integration_tests::{Tansu, require_tools};
use kafka_runtime_mio::{Compression, DeliveryErrorKind, ProducerBuilder, ProducerRecord};

#[test]
fn round_trip_through_futures_callbacks_and_send_and_wait_reads_back_intact() {
    require_tools!(Tool::Tansu, Tool::Python);
    let broker = Tansu::start();
    let bootstrap = broker.bootstrap();
    let topic = "mio-blocking";
    let p = ProducerBuilder::new()
        .bootstrap_servers(&bootstrap)
        .client_id("mio-tests")
        .compression(Compression::Lz4)
        .linger(Duration::from_millis(5))
        .build()
        .unwrap();
    assert!(!p.partitions_for(topic).unwrap().is_empty());

    const N: usize = 600;
    let records: Vec<ProducerRecord> = (0..N).map(|i| record(topic, i)).collect();
    let mut futures = Vec::new();
    for r in &records[..300] {
        futures.push(p.send(r.clone()).unwrap());
    }
    let (tx, rx) = mpsc::channel();
    for (i, r) in records[300..590].iter().enumerate() {
        let tx = tx.clone();
        p.send_with_callback(r.clone(), move |result| tx.send((300 + i, result)).unwrap())
            .unwrap();
    }
    drop(tx);
    let mut metas = vec![None; N];
    for (i, r) in records[590..].iter().enumerate() {
        metas[590 + i] = Some(p.send_and_wait(r.clone()).unwrap().unwrap());
    }
    p.flush();
    for (i, f) in futures.into_iter().enumerate() {
        // Flushed: every outcome is there without waiting.
        metas[i] = Some(f.try_result().expect("flushed").unwrap());
    }
    for (i, result) in rx.iter() {
        metas[i] = Some(result.unwrap());
    }
    let start = Instant::now();
    p.close(Duration::from_secs(5));
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
    assert!(p.is_closed());

    let sent: Vec<_> = records
        .into_iter()
        .zip(metas)
        .map(|(r, m)| (r, m.expect("every record has an outcome")))
        .collect();
    // One partition, idempotent: offsets in send order.
    for (i, (_, meta)) in sent.iter().enumerate() {
        assert_eq!(meta.offset, i as i64, "{meta:?}");
    }
    let got = read_back(&bootstrap, topic, N, &[]);
    assert_read_back(&sent, &got);
}

#[test]
fn close_with_a_deadline_returns_on_time_and_fails_what_the_dead_broker_did_not_take() {
    require_tools!(Tool::Tansu, Tool::Python);
    let broker = Tansu::start();
    let topic = "mio-close";
    let p = ProducerBuilder::new()
        .bootstrap_servers(&broker.bootstrap())
        .max_block(Duration::from_secs(5))
        .build()
        .unwrap();
    p.send_and_wait(ProducerRecord::new(topic).partition(0).value("first"))
        .unwrap()
        .unwrap();
    drop(broker);
    // The topic's partitions are known: these are queued without a broker.
    let futures: Vec<_> = (0..50)
        .map(|i| {
            p.send(
                ProducerRecord::new(topic)
                    .partition(0)
                    .value(format!("lost {i}")),
            )
            .unwrap()
        })
        .collect();
    let start = Instant::now();
    p.close(Duration::from_millis(500));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "close took {took:?}");
    for f in futures {
        let e = f
            .try_result()
            .expect("closed: every record has an outcome")
            .unwrap_err();
        assert!(
            matches!(
                e.kind,
                DeliveryErrorKind::ProducerClosed | DeliveryErrorKind::Timeout { .. }
            ),
            "{e}"
        );
    }
    assert!(p.send(ProducerRecord::new(topic)).is_err());
}

#[test]
fn a_small_buffer_makes_send_block_for_space_and_every_record_still_lands_in_order() {
    require_tools!(Tool::Tansu, Tool::Python);
    let broker = Tansu::start();
    let bootstrap = broker.bootstrap();
    let topic = "mio-volume";
    let p = ProducerBuilder::new()
        .bootstrap_servers(&bootstrap)
        .buffer_memory(128 * 1024)
        .batch_size(16 * 1024)
        .build()
        .unwrap();
    const N: usize = 20_000;
    let (tx, rx) = mpsc::channel();
    for i in 0..N {
        let tx = tx.clone();
        let r = ProducerRecord::new(topic)
            .partition(0)
            .value(format!("{i:08} {}", "x".repeat(100)));
        p.send_with_callback(r, move |result| tx.send(result).unwrap())
            .unwrap();
    }
    drop(tx);
    let offsets: Vec<i64> = rx.iter().map(|r| r.unwrap().offset).collect();
    assert_eq!(offsets, (0..N as i64).collect::<Vec<_>>());
    p.close(Duration::from_secs(5));
    let got = read_back(&bootstrap, topic, N, &[]);
    for (i, g) in got.iter().enumerate() {
        let value = g.value.as_deref().unwrap();
        assert_eq!(&value[..8], format!("{i:08}").as_bytes());
    }
}
