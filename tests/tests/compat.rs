//! The compatibility matrix: core scenarios on the older Apache Kafka lines
//! the setup script fetches besides the reference (4.4.0, which the rest of
//! the suite uses): 4.0.0, the oldest 4.x Maven Central serves complete, and
//! 3.9.1, the last 3.x. Every runtime (Tokio, async-std, mio) sends with
//! idempotence and every codec, then with acks=0, 1 and all; confluent-kafka
//! reads back with CRC checks. One single-node cluster per version, shared by
//! the binary.

mod runtimes;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use kafka_integration_tests::kafka::{ClusterConfig, SharedCluster};
use kafka_integration_tests::tools::Tool;
use kafka_integration_tests::{KafkaCluster, Listener, require_tools};
use kafka_runtime_common::{Acks, Compression, ProducerBuilder, ProducerRecord};
use runtimes::read_back::read_back;
use runtimes::{Rt, TestProducer};

fn kafka(version: &str) -> SharedCluster {
    KafkaCluster::shared(ClusterConfig::single_node().version(version))
}

fn topic<T: Rt>(kafka: &KafkaCluster, base: &str, partitions: i32) -> String {
    let name = format!("{base}-{}", T::NAME);
    kafka.create_topic(&name, partitions);
    name
}

/// Every codec with idempotence on (acks=all, 5 in flight): each record
/// delivered once, at the offset reported, in order per partition, intact.
async fn idempotent_round_trip_of_every_codec<T: Rt>(version: &str) {
    let kafka = kafka(version);
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    const N: usize = 2000;
    for codec in Compression::ALL {
        let topic: Arc<str> = topic::<T>(&kafka, &format!("compat-{codec}"), 3).into();
        let p = ProducerBuilder::<T::R>::new()
            .bootstrap_servers(&bootstrap)
            .enable_idempotence(true)
            .compression(codec)
            .linger(Duration::from_millis(2))
            .batch_size(4 * 1024)
            .build()
            .unwrap();
        let mut deliveries = Vec::with_capacity(N);
        for i in 0..N {
            let mut record = ProducerRecord::new(topic.clone())
                .value(format!("{version} {codec} record {i} ").repeat(1 + i % 3))
                .header("i", Some(i.to_string()));
            if i % 2 == 0 {
                record = record.key(format!("k{}", i % 31));
            }
            deliveries.push(p.send(record).await.unwrap());
        }
        let mut reported = HashMap::new();
        for (i, d) in deliveries.into_iter().enumerate() {
            let meta = d
                .await
                .unwrap_or_else(|e| panic!("Kafka {version}, {codec}: record {i}: {e}"));
            assert!(
                reported.insert((meta.partition, meta.offset), i).is_none(),
                "two records reported at {meta:?}"
            );
        }
        p.close(Duration::from_secs(10)).await;
        let got = read_back(&bootstrap, &topic, N, &[]);
        let mut last: HashMap<i32, usize> = HashMap::new();
        for g in &got {
            let i = reported
                .get(&(g.partition, g.offset))
                .copied()
                .unwrap_or_else(|| panic!("{version} {codec}: read {g:?}, never reported"));
            let want = format!("{version} {codec} record {i} ").repeat(1 + i % 3);
            assert_eq!(g.value.as_deref(), Some(want.as_bytes()), "{g:?}");
            if let Some(prev) = last.insert(g.partition, i) {
                assert!(prev < i, "partition {}: {i} after {prev}", g.partition);
            }
        }
        println!("Kafka {version}, {codec}: {N} idempotent records read back intact");
    }
}

/// acks=0, 1 and all (idempotence off for 0 and 1, as Java requires): what
/// was acknowledged is in the log, exactly once.
async fn every_acks_setting_delivers<T: Rt>(version: &str) {
    let kafka = kafka(version);
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    const N: usize = 500;
    for (acks, name) in [(Acks::None, "0"), (Acks::Leader, "1"), (Acks::All, "all")] {
        let topic = topic::<T>(&kafka, &format!("compat-acks-{name}"), 2);
        let p = ProducerBuilder::<T::R>::new()
            .bootstrap_servers(&bootstrap)
            .acks(acks)
            .enable_idempotence(acks == Acks::All)
            .build()
            .unwrap();
        let mut deliveries = Vec::with_capacity(N);
        for i in 0..N {
            let record = ProducerRecord::new(topic.as_str()).value(format!("acks={name} {i}"));
            deliveries.push(p.send(record).await.unwrap());
        }
        for d in deliveries {
            let meta = d.await.unwrap();
            // acks=0: no answer, so no offset (Java reports -1).
            if acks == Acks::None {
                assert_eq!(meta.offset, -1, "{meta:?}");
            } else {
                assert!(meta.offset >= 0, "{meta:?}");
            }
        }
        p.close(Duration::from_secs(10)).await;
        let got = read_back(&bootstrap, &topic, N, &[]);
        let values: HashSet<Vec<u8>> = got.iter().filter_map(|g| g.value.clone()).collect();
        assert_eq!(values.len(), N, "Kafka {version}, acks={name}: duplicates");
        println!("Kafka {version}, acks={name}: {N} records read back once each");
    }
}

async fn kafka_4_0_idempotent_round_trip_of_every_codec<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    idempotent_round_trip_of_every_codec::<T>("4.0.0").await;
}

async fn kafka_4_0_every_acks_setting_delivers<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    every_acks_setting_delivers::<T>("4.0.0").await;
}

async fn kafka_3_9_idempotent_round_trip_of_every_codec<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    idempotent_round_trip_of_every_codec::<T>("3.9.1").await;
}

async fn kafka_3_9_every_acks_setting_delivers<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    every_acks_setting_delivers::<T>("3.9.1").await;
}

runtimes::suite!(
    kafka_4_0_idempotent_round_trip_of_every_codec,
    kafka_4_0_every_acks_setting_delivers,
    kafka_3_9_idempotent_round_trip_of_every_codec,
    kafka_3_9_every_acks_setting_delivers,
);
