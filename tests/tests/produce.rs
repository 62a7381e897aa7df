//! Every runtime (Tokio, async-std, mio) against Apache Kafka, read back with
//! confluent-kafka (CRC checks on): every codec, keyed placement, idempotence
//! at volume, unknown topics, oversized records, unreachable brokers, close
//! with a deadline, back-pressure and custom partitioners. One scenario list,
//! run on each runtime by `suite!` (see `runtimes/mod.rs`).
//!
//! The tests share one single-node Kafka cluster per run of this binary
//! (`KafkaCluster::shared`), each on topics of its own (named after the
//! runtime); those that freeze or kill the node hold it alone
//! (`shared_exclusive`), which brings it back afterwards. tansu, the second
//! implementation, keeps one scenario: its auto-creation of topics.

mod runtimes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_integration_tests::kafka::{ClusterConfig, SharedCluster};
use kafka_integration_tests::tools::{Tool, free_loopback_port};
use kafka_integration_tests::{KafkaCluster, Listener, Tansu, require_tools};
use kafka_proto::ErrorCode;
use kafka_runtime_common::interceptor::{Acknowledgement, ProducerInterceptor};
use kafka_runtime_common::partitioner::partition_for_key;
use kafka_runtime_common::serialize::{
    I64Serializer, RecordPart, SerializationError, Serializer, StringSerializer, TypedProducer,
    TypedRecord,
};
use kafka_runtime_common::{
    Compression, DeliveryErrorKind, DeliveryHandler, DeliveryResult, ProducerBuilder,
    ProducerRecord, RecordHeader, RecordMetadata, SendError,
};
use runtimes::read_back::{ReadRecord, read_back};
use runtimes::{Rt, TestProducer, sleep, timeout};

/// The binary's Kafka cluster, shared with the tests running beside this one.
fn kafka() -> SharedCluster {
    KafkaCluster::shared(ClusterConfig::single_node())
}

/// The binary's Kafka cluster, held alone: the test may freeze or kill the
/// node (the guard brings it back).
fn kafka_alone() -> SharedCluster {
    KafkaCluster::shared_exclusive(ClusterConfig::single_node())
}

/// `base` for runtime `T`, created with `partitions` partitions.
fn topic<T: Rt>(kafka: &KafkaCluster, base: &str, partitions: i32) -> String {
    let name = format!("{base}-{}", T::NAME);
    kafka.create_topic(&name, partitions);
    name
}

fn producer<T: Rt>(bootstrap: &str) -> ProducerBuilder<T::R> {
    ProducerBuilder::<T::R>::new()
        .bootstrap_servers(bootstrap)
        .client_id(&format!("{}-tests", T::NAME))
}

/// Record `i` of the round trip: keys, null keys and values, headers with
/// null values, explicit timestamps.
fn round_trip_record(topic: &Arc<str>, codec: Compression, i: usize) -> ProducerRecord {
    let mut r = ProducerRecord::new(topic.clone()).timestamp(1_650_000_000_000 + i as i64);
    if i % 4 != 1 {
        r = r.key(format!("k{i}"));
    }
    match i % 6 {
        5 => {}
        3 => {
            r = r.value(
                (0u8..=255)
                    .rev()
                    .cycle()
                    .skip(i)
                    .take(300)
                    .collect::<Vec<u8>>(),
            )
        }
        _ => r = r.value(format!("{codec} record {i} ").repeat(1 + i % 5)),
    }
    if i % 3 >= 1 {
        r = r.header("trace", Some(format!("v{i}")));
    }
    if i % 3 == 2 {
        r = r.header("empty", None::<Vec<u8>>);
    }
    r
}

fn assert_same(sent: &ProducerRecord, meta: &RecordMetadata, got: &ReadRecord) {
    assert_eq!(got.partition, meta.partition);
    assert_eq!(got.timestamp, meta.timestamp, "timestamp at {meta:?}");
    assert_eq!(got.key.as_deref(), sent.key.as_deref(), "key at {meta:?}");
    assert_eq!(
        got.value.as_deref(),
        sent.value.as_deref(),
        "value at {meta:?}"
    );
    let headers: Vec<(String, Option<Vec<u8>>)> = sent
        .headers
        .iter()
        .map(|h| (h.key.to_string(), h.value.as_ref().map(|v| v.to_vec())))
        .collect();
    assert_eq!(got.headers, headers, "headers at {meta:?}");
}

/// Every codec at its default level, and gzip, LZ4 (liblz4's HC) and zstd at
/// levels of their own (KIP-390).
async fn round_trip_of_every_codec_reads_back_intact<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    const N: usize = 1000;
    let levels = [
        (Compression::Gzip, "compression.gzip.level", "9"),
        (Compression::Lz4, "compression.lz4.level", "9"),
        (Compression::Lz4, "compression.lz4.level", "17"),
        (Compression::Zstd, "compression.zstd.level", "19"),
        (Compression::Zstd, "compression.zstd.level", "-5"),
    ];
    let cases = Compression::ALL
        .into_iter()
        .map(|codec| (codec, None))
        .chain(levels.map(|(codec, key, level)| (codec, Some((key, level)))));
    for (codec, level) in cases {
        let mut builder = producer::<T>(&bootstrap)
            .compression(codec)
            .linger(Duration::from_millis(2))
            .batch_size(8 * 1024);
        let mut name = format!("codec-{codec}");
        if let Some((key, level)) = level {
            builder = builder.set(key, level);
            name = format!("{name}-level{level}");
        }
        let p = builder.build().unwrap();
        let topic: Arc<str> = topic::<T>(&kafka, &name, 3).into();
        let mut pending = Vec::with_capacity(N);
        for i in 0..N {
            let record = round_trip_record(&topic, codec, i);
            let delivery = p.send(record.clone()).await.unwrap();
            pending.push((record, delivery));
        }
        let mut sent = HashMap::new();
        for (record, delivery) in pending {
            let meta = delivery.await.unwrap_or_else(|e| panic!("{codec}: {e}"));
            assert_eq!(&*meta.topic, &*topic);
            assert!(meta.offset >= 0, "{meta:?}");
            assert_eq!(Some(meta.timestamp), record.timestamp);
            assert!(
                sent.insert((meta.partition, meta.offset), (record, meta.clone()))
                    .is_none(),
                "two records reported at {meta:?}"
            );
        }
        p.close(Duration::from_secs(10)).await;
        let got = read_back(&bootstrap, &topic, N, &[]);
        assert_eq!(got.len(), N);
        for g in &got {
            let (record, meta) = sent
                .get(&(g.partition, g.offset))
                .unwrap_or_else(|| panic!("{codec}: read {g:?}, which no delivery reported"));
            assert_same(record, meta, g);
        }
        println!("{name}: {N} records delivered, offsets as reported, read back intact");
    }
}

async fn keyed_records_go_to_the_java_murmur2_partition<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    let p = producer::<T>(&bootstrap).build().unwrap();
    let topic = &*topic::<T>(&kafka, "keyed", 4);
    let info = p.partitions_for(topic).await.unwrap();
    let partitions = info.len() as i32;
    assert_eq!(partitions, 4);
    // As Java's partitionsFor: every partition with its leader, one replica, in sync.
    for (i, part) in info.iter().enumerate() {
        assert_eq!((part.topic.as_str(), part.partition), (topic, i as i32));
        let leader = part.leader.as_ref().expect("a leader");
        assert_eq!(leader.id, 1, "{part:?}");
        assert!(!leader.host.is_empty() && leader.port > 0, "{part:?}");
        assert_eq!(part.replicas, vec![leader.clone()], "{part:?}");
        assert_eq!(part.in_sync_replicas, vec![leader.clone()], "{part:?}");
        assert!(part.offline_replicas.is_empty(), "{part:?}");
        assert!(part.leader_epoch >= 0, "{part:?}");
    }
    let mut expected = HashMap::new();
    let mut deliveries = Vec::new();
    for i in 0..1000 {
        let key = format!("customer-{}", i * 7919);
        let record = ProducerRecord::new(topic)
            .key(key.clone())
            .value(format!("{i}"));
        deliveries.push((key, p.send(record).await.unwrap()));
    }
    for (key, delivery) in deliveries {
        let meta = delivery.await.unwrap();
        let want = partition_for_key(key.as_bytes(), partitions);
        assert_eq!(meta.partition, want, "key {key}");
        expected.insert(key.into_bytes(), want);
    }
    p.close(Duration::from_secs(10)).await;
    let got = read_back(&bootstrap, topic, 1000, &[]);
    let used: std::collections::BTreeSet<i32> = got.iter().map(|g| g.partition).collect();
    assert!(used.len() > 1, "all keys landed on {used:?}");
    for g in got {
        let key = g.key.clone().expect("keyed");
        assert_eq!(Some(&g.partition), expected.get(&key), "read back {g:?}");
    }
}

async fn idempotent_records_arrive_once_each_in_order<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    // A million by default, as the issue asks, on Tokio; 100,000 on the
    // other runtimes, so that one run of the suite does not spend three
    // times ~60 s on volume the other scenarios already cover per runtime.
    // KAFKA_TESTS_IDEMPOTENT_RECORDS sets the count on every runtime (fewer
    // for a quick local run, a million to check a runtime at full volume).
    let default = if T::NAME == "tokio" {
        1_000_000
    } else {
        100_000
    };
    let n: usize = std::env::var("KAFKA_TESTS_IDEMPOTENT_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let p = producer::<T>(&bootstrap)
        .batch_size(4096)
        .compression(Compression::Lz4)
        .build()
        .unwrap();
    let topic: Arc<str> = topic::<T>(&kafka, "idempotent", 4).into();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let offsets: Arc<Mutex<Vec<(i32, i64)>>> = Arc::default();
    let start = Instant::now();
    for i in 0..n {
        let mut record = ProducerRecord::new(topic.clone()).value(i.to_string());
        if i % 2 == 0 {
            record = record.key(format!("k{}", i % 97));
        }
        let (failures, offsets) = (failures.clone(), offsets.clone());
        p.send_with_callback(record, move |r: DeliveryResult| match r {
            Ok(m) => offsets.lock().unwrap().push((m.partition, m.offset)),
            Err(e) => failures.lock().unwrap().push(e.to_string()),
        })
        .await
        .unwrap();
    }
    p.flush().await;
    let elapsed = start.elapsed();
    p.close(Duration::from_secs(10)).await;
    let failures = failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} failed, e.g. {:?}",
        failures.len(),
        &failures[..1]
    );
    let mut offsets = offsets.lock().unwrap().clone();
    assert_eq!(offsets.len(), n, "every callback ran once");
    offsets.sort_unstable();
    offsets.dedup();
    assert_eq!(offsets.len(), n, "no two records reported at one offset");
    println!("{n} records acknowledged in {elapsed:.2?}");

    let got = read_back(&bootstrap, &topic, n, &[]);
    let mut seen = vec![false; n];
    let mut last_in_partition: HashMap<i32, usize> = HashMap::new();
    for g in &got {
        let i: usize = String::from_utf8(g.value.clone().expect("value"))
            .unwrap()
            .parse()
            .unwrap();
        assert!(!seen[i], "record {i} duplicated");
        seen[i] = true;
        if let Some(prev) = last_in_partition.insert(g.partition, i) {
            assert!(prev < i, "partition {}: {i} after {prev}", g.partition);
        }
    }
    assert!(seen.iter().all(|s| *s), "records lost");
}

/// `send_with_handler`: one handler for every record, each told apart by
/// the number it was sent with (librdkafka's delivery report callback and
/// per-message opaque). Every number is reported once, with the partition
/// and offset where confluent-kafka reads that record back; records of a
/// second handler mixed into the same batches go to that handler.
async fn a_delivery_handler_reports_each_record_by_its_number<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    let p = producer::<T>(&bootstrap).build().unwrap();
    let topic: Arc<str> = topic::<T>(&kafka, "handler", 3).into();
    let n = 20_000u64;
    let reports: Arc<Mutex<HashMap<u64, DeliveryResult>>> = Arc::default();
    let (first, second) = (Arc::clone(&reports), Arc::clone(&reports));
    let handler: DeliveryHandler = Arc::new(move |number, result| {
        assert!(first.lock().unwrap().insert(number, result).is_none());
    });
    // Every tenth record: a second handler, which tags its numbers.
    let other: DeliveryHandler = Arc::new(move |number, result| {
        assert!(
            second
                .lock()
                .unwrap()
                .insert(number | 1 << 63, result)
                .is_none()
        );
    });
    for i in 0..n {
        let record = ProducerRecord::new(topic.clone()).value(i.to_string());
        let h = if i % 10 == 9 { &other } else { &handler };
        p.send_with_handler(record, h, i).await.unwrap();
    }
    p.flush().await;
    p.close(Duration::from_secs(10)).await;
    let reports = std::mem::take(&mut *reports.lock().unwrap());
    assert_eq!(reports.len() as u64, n, "one report per record");
    let mut at: HashMap<(i32, i64), u64> = HashMap::new();
    for (number, result) in &reports {
        let tagged = number >> 63 == 1;
        let i = number & !(1 << 63);
        assert_eq!(tagged, i % 10 == 9, "record {i} went to the wrong handler");
        let meta = result
            .as_ref()
            .unwrap_or_else(|e| panic!("record {i}: {e}"));
        assert_eq!(&*meta.topic, &*topic);
        assert!(at.insert((meta.partition, meta.offset), i).is_none());
    }
    let got = read_back(&bootstrap, &topic, n as usize, &[]);
    for g in &got {
        let value: u64 = String::from_utf8(g.value.clone().expect("value"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            at.get(&(g.partition, g.offset)),
            Some(&value),
            "the record read at {}/{} was reported elsewhere",
            g.partition,
            g.offset
        );
    }
}

async fn unknown_topics_are_auto_created_by_tansu<T: Rt>() {
    // tansu, the second implementation: it creates a topic it is asked
    // about (by Metadata or Produce) with 4 partitions, so a send to a new
    // topic waits for metadata once and then succeeds, read back intact.
    // Kafka without auto.create.topics.enable: the next scenario.
    require_tools!(Tool::Tansu, Tool::Python);
    let broker = Tansu::start();
    let p = producer::<T>(&broker.bootstrap())
        .max_block(Duration::from_secs(10))
        .build()
        .unwrap();
    let meta = p
        .send(ProducerRecord::new("never-created").value("hello"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(meta.offset, 0);
    assert_eq!(p.partitions_for("never-created").await.unwrap().len(), 4);
    assert_eq!(p.partitions_for("also-new").await.unwrap().len(), 4);
    // Names Kafka refuses never reach the broker.
    let bad = p.send(ProducerRecord::new("no/slashes").value("x")).await;
    assert!(
        matches!(bad, Err(SendError::InvalidTopic { .. })),
        "{bad:?}"
    );
    p.close(Duration::from_secs(5)).await;
    let got = read_back(&broker.bootstrap(), "never-created", 1, &[]);
    assert_eq!(got[0].value.as_deref(), Some(&b"hello"[..]));
}

async fn a_topic_kafka_does_not_have_fails_send_after_max_block_until_created<T: Rt>() {
    // auto.create.topics.enable=false, as production clusters often run:
    // the broker answers UNKNOWN_TOPIC_OR_PARTITION until the topic exists,
    // so the send waits max.block.ms and fails, naming that error; once the
    // topic is created, a new send finds it.
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    let max_block = Duration::from_millis(1500);
    let p = producer::<T>(&bootstrap)
        .max_block(max_block)
        .build()
        .unwrap();
    let name = format!("created-later-{}", T::NAME);
    let start = Instant::now();
    let err = p
        .send(ProducerRecord::new(name.as_str()).value("too early"))
        .await
        .unwrap_err();
    let waited = start.elapsed();
    match &err {
        SendError::TopicUnavailable {
            topic,
            error: Some(error),
            ..
        } => {
            assert_eq!(topic, &name);
            assert_eq!(*error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "{err}");
        }
        other => panic!("expected TopicUnavailable with UNKNOWN_TOPIC_OR_PARTITION, got {other:?}"),
    }
    assert!(
        waited >= max_block - Duration::from_millis(50) && waited < Duration::from_secs(10),
        "waited {waited:?}"
    );
    println!("before the topic exists, after {waited:?}: {err}");
    kafka.create_topic(&name, 2);
    let meta = p
        .send(ProducerRecord::new(name.as_str()).value("hello"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(meta.offset, 0);
    assert_eq!(p.partitions_for(&name).await.unwrap().len(), 2);
    let bad = p.send(ProducerRecord::new("no/slashes").value("x")).await;
    assert!(
        matches!(bad, Err(SendError::InvalidTopic { .. })),
        "{bad:?}"
    );
    p.close(Duration::from_secs(5)).await;
    let got = read_back(&bootstrap, &name, 1, &[]);
    assert_eq!(got[0].value.as_deref(), Some(&b"hello"[..]));
}

async fn a_record_over_max_request_size_is_refused_and_the_producer_goes_on<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    let large = topic::<T>(&kafka, "large", 1);
    let p = producer::<T>(&bootstrap).build().unwrap();
    let huge = vec![7u8; 2 << 20];
    let err = p
        .send(ProducerRecord::new(large.as_str()).value(huge))
        .await
        .unwrap_err();
    match &err {
        SendError::RecordTooLarge {
            size,
            limit,
            limit_key,
        } => {
            assert_eq!(*limit_key, "max.request.size");
            assert_eq!(*limit, 1_048_576);
            assert!(*size > 2 << 20);
        }
        other => panic!("expected RecordTooLarge, got {other:?}"),
    }
    assert!(err.to_string().contains("max.request.size"), "{err}");
    // send_result hands the refused record back, to be fixed and sent without a clone.
    let refused = p
        .send_result(
            ProducerRecord::new(large.as_str())
                .key("k")
                .value(vec![7u8; 2 << 20]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused.error, SendError::RecordTooLarge { .. }),
        "{refused}"
    );
    assert_eq!(refused.record.key.as_deref(), Some(&b"k"[..]));
    let small = p
        .send_result(refused.record.value("small"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(small.offset, 0);
    p.close(Duration::from_secs(5)).await;
    let got = read_back(&bootstrap, &large, 1, &[]);
    assert_eq!(got[0].value.as_deref(), Some(&b"small"[..]));
}

async fn an_unreachable_bootstrap_fails_send_after_max_block<T: Rt>() {
    // No broker: a port nobody listens on (connections are refused).
    let bootstrap = format!("127.0.0.1:{}", free_loopback_port());
    let max_block = Duration::from_millis(1500);
    let p = producer::<T>(&bootstrap)
        .max_block(max_block)
        .build()
        .unwrap();
    let start = Instant::now();
    let err = p
        .send(ProducerRecord::new("nowhere").value("x"))
        .await
        .unwrap_err();
    let waited = start.elapsed();
    assert!(
        waited >= max_block - Duration::from_millis(50) && waited < Duration::from_secs(10),
        "waited {waited:?}"
    );
    match &err {
        SendError::TopicUnavailable {
            topic,
            connection_error: Some(cause),
            ..
        } => {
            assert_eq!(topic, "nowhere");
            assert!(cause.contains(&bootstrap), "{cause}");
            assert!(cause.to_lowercase().contains("refused"), "{cause}");
        }
        other => panic!("expected TopicUnavailable with a cause, got {other:?}"),
    }
    println!("after {waited:?}: {err}");
    let start = Instant::now();
    let err = p.partitions_for("nowhere").await.unwrap_err();
    assert!(matches!(err, SendError::TopicUnavailable { .. }), "{err:?}");
    // A new wait gets its own max.block.ms, even right after
    // the previous wait on the topic ran out (mio once failed it at once).
    let waited = start.elapsed();
    assert!(
        waited >= max_block - Duration::from_millis(50),
        "{waited:?}: {err}"
    );
    println!("partitions_for failed after {waited:?}: {err}");
    let start = Instant::now();
    p.close(Duration::from_secs(1)).await;
    assert!(start.elapsed() < Duration::from_secs(5));
    let after = p.send(ProducerRecord::new("nowhere")).await;
    assert!(matches!(after, Err(SendError::Closed)), "{after:?}");
}

async fn close_with_a_deadline_fails_what_a_frozen_broker_never_answered<T: Rt>() {
    require_tools!(Tool::Kafka);
    let kafka = kafka_alone();
    // A linger and one partition put the 50 records below into one or two
    // batches: all of them in flight at once (max.in.flight is 5), however
    // slowly this machine runs the loop. With linger 0, a loaded machine
    // made more than 5 batches, and the ones never sent were (rightly)
    // reported as not written.
    let p = producer::<T>(&kafka.bootstrap(Listener::Plaintext))
        .linger(Duration::from_millis(50))
        .build()
        .unwrap();
    let topic = &*topic::<T>(&kafka, "close", 1);
    p.send(ProducerRecord::new(topic).value("warm-up"))
        .await
        .unwrap()
        .await
        .unwrap();
    // Frozen, not dead: the connection stays up and requests get no answer,
    // so what is sent is in flight with an unknown outcome.
    kafka.pause_node(1);
    let mut deliveries = Vec::new();
    for i in 0..50 {
        let record = ProducerRecord::new(topic)
            .partition(0)
            .value(format!("{i}"));
        deliveries.push(p.send(record).await.unwrap());
    }
    sleep(Duration::from_millis(300)).await;
    let start = Instant::now();
    p.close(Duration::from_millis(500)).await;
    let took = start.elapsed();
    kafka.resume_node(1);
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "close took {took:?}"
    );
    for d in deliveries {
        let e = d.await.unwrap_err();
        assert_eq!(e.kind, DeliveryErrorKind::ProducerClosed, "{e}");
        assert!(e.possibly_written, "in flight when closed: {e}");
    }
    let after = p.send(ProducerRecord::new(topic).value("late")).await;
    assert!(matches!(after, Err(SendError::Closed)), "{after:?}");
}

async fn close_with_a_deadline_fails_what_a_dead_broker_never_got_as_not_written<T: Rt>() {
    require_tools!(Tool::Kafka);
    // The guard restarts the node for the tests after this one.
    let kafka = kafka_alone();
    let p = producer::<T>(&kafka.bootstrap(Listener::Plaintext))
        .build()
        .unwrap();
    let topic = &*topic::<T>(&kafka, "close-dead", 1);
    p.send(ProducerRecord::new(topic).value("warm-up"))
        .await
        .unwrap()
        .await
        .unwrap();
    kafka.kill_node(1);
    // Let the producer notice the connection is gone.
    sleep(Duration::from_millis(300)).await;
    let mut deliveries = Vec::new();
    for i in 0..20 {
        let record = ProducerRecord::new(topic).value(format!("{i}"));
        deliveries.push(p.send(record).await.unwrap());
    }
    p.close(Duration::from_millis(500)).await;
    for d in deliveries {
        let e = d.await.unwrap_err();
        assert_eq!(e.kind, DeliveryErrorKind::ProducerClosed, "{e}");
        assert!(!e.possibly_written, "never sent: {e}");
    }
}

async fn dropping_the_last_handle_still_delivers_in_the_background<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    let topic = topic::<T>(&kafka, "dropped", 2);
    let p = producer::<T>(&bootstrap)
        .linger(Duration::from_millis(200))
        .build()
        .unwrap();
    let clone = p.clone();
    let mut deliveries = Vec::new();
    for i in 0..100 {
        let record = ProducerRecord::new(topic.as_str()).value(format!("{i}"));
        deliveries.push(clone.send(record).await.unwrap());
    }
    drop(p);
    drop(clone);
    for d in deliveries {
        timeout(Duration::from_secs(10), d)
            .await
            .expect("delivered after the handles were dropped")
            .unwrap();
    }
    let got = read_back(&bootstrap, &topic, 100, &[]);
    assert_eq!(got.len(), 100);
}

async fn a_full_buffer_makes_send_wait_for_delivery_not_fail<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    let topic = topic::<T>(&kafka, "backpressure", 2);
    const N: usize = 20_000;
    // 32 KiB of buffer for ~2 MB of records: send must wait for space again
    // and again (Event::MemoryAvailable), never time out.
    let p = producer::<T>(&bootstrap)
        .buffer_memory(32 * 1024)
        .batch_size(4 * 1024)
        .build()
        .unwrap();
    let mut deliveries = Vec::with_capacity(N);
    for i in 0..N {
        let record = ProducerRecord::new(topic.as_str()).value(format!("{i:0>100}"));
        deliveries.push(p.send(record).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
    // The waits are Java's bufferpool-wait-time-ns-total.
    let waited = p.metrics().get("bufferpool-wait-time-ns-total").unwrap();
    assert!(waited > 0.0, "{waited}");
    p.close(Duration::from_secs(5)).await;
    assert_eq!(read_back(&bootstrap, &topic, N, &[]).len(), N);
}

async fn a_full_buffer_that_never_drains_fails_send_after_max_block<T: Rt>() {
    require_tools!(Tool::Kafka);
    let kafka = kafka_alone();
    let topic = topic::<T>(&kafka, "stuck", 1);
    let max_block = Duration::from_millis(700);
    let p = producer::<T>(&kafka.bootstrap(Listener::Plaintext))
        .buffer_memory(16 * 1024)
        .batch_size(1024)
        .max_block(max_block)
        .build()
        .unwrap();
    p.send(ProducerRecord::new(topic.as_str()).value("warm-up"))
        .await
        .unwrap()
        .await
        .unwrap();
    kafka.pause_node(1);
    let start = Instant::now();
    let mut queued = Vec::new();
    let err = loop {
        match p
            .send(ProducerRecord::new(topic.as_str()).value(vec![1u8; 500]))
            .await
        {
            Ok(d) => queued.push(d),
            Err(e) => break e,
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never blocked");
    };
    assert_eq!(err, SendError::BufferTimeout { max_block });
    assert!(
        !queued.is_empty() && queued.len() < 40,
        "{} queued",
        queued.len()
    );
    p.close(Duration::ZERO).await;
    kafka.resume_node(1);
    for d in queued {
        let outcome = d.await;
        assert!(
            matches!(&outcome, Err(e) if e.kind == DeliveryErrorKind::ProducerClosed),
            "{outcome:?}"
        );
    }
}

/// Sends every record to the last partition.
struct LastPartition;

impl kafka_runtime_common::Partitioner for LastPartition {
    fn partition(
        &mut self,
        _topic: &str,
        _key: Option<&[u8]>,
        _value: Option<&[u8]>,
        partitions: &kafka_runtime_common::partitioner::TopicPartitions<'_>,
    ) -> i32 {
        partitions.num_partitions - 1
    }
}

async fn a_custom_partitioner_places_records_without_a_partition<T: Rt>() {
    require_tools!(Tool::Kafka);
    let kafka = kafka();
    let p = producer::<T>(&kafka.bootstrap(Listener::Plaintext))
        .custom_partitioner(LastPartition)
        .build()
        .unwrap();
    let topic = &*topic::<T>(&kafka, "custom-partitioner", 3);
    let last = p.partitions_for(topic).await.unwrap().len() as i32 - 1;
    for i in 0..20 {
        let record = ProducerRecord::new(topic).key(format!("k{i}")).value("v");
        let meta = p.send(record).await.unwrap().await.unwrap();
        assert_eq!(meta.partition, last);
    }
    // An explicit partition still wins.
    let meta = p
        .send(ProducerRecord::new(topic).partition(0).value("v"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(meta.partition, 0);
    let err = p
        .send(ProducerRecord::new(topic).partition(last + 1).value("v"))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::InvalidPartition { .. }), "{err:?}");
    p.close(Duration::from_secs(5)).await;
}

/// A serializer that tags each value with its topic in a header, and
/// refuses negative numbers (as a schema check would).
struct CheckedI64;

impl Serializer<i64> for CheckedI64 {
    fn serialize(
        &self,
        topic: &str,
        headers: &mut Vec<RecordHeader>,
        data: &i64,
    ) -> Result<Bytes, SerializationError> {
        if *data < 0 {
            return Err(SerializationError::new(format!("{data} is negative")));
        }
        headers.push(RecordHeader {
            key: "schema".into(),
            value: Some(Bytes::from(format!("{topic}/i64"))),
        });
        I64Serializer.serialize(topic, headers, data)
    }
}

async fn typed_records_are_serialized_as_java_does_and_a_refused_one_is_never_sent<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    let topic = &*topic::<T>(&kafka, "typed", 1);
    let p = producer::<T>(&bootstrap).build().unwrap();
    let typed = TypedProducer::new(p.clone(), StringSerializer, CheckedI64);
    let mut deliveries = Vec::new();
    for i in 0..100_i64 {
        // Every tenth value is negative: refused before queueing, typed.
        let value = if i % 10 == 9 { -i } else { i };
        let record = TypedRecord::new(topic)
            .key(format!("user-{i}"))
            .value(value);
        match typed.send(record).await {
            Ok(delivery) => deliveries.push((i, delivery)),
            Err(SendError::Serialization(e)) => {
                assert_eq!(i % 10, 9, "record {i} refused: {e}");
                assert_eq!(e.part(), Some(RecordPart::Value));
                assert_eq!(
                    e.to_string(),
                    format!("the value could not be serialized: {value} is negative")
                );
            }
            Err(e) => panic!("record {i}: {e}"),
        }
    }
    assert_eq!(deliveries.len(), 90);
    for (i, delivery) in deliveries {
        let meta = delivery.await.unwrap_or_else(|e| panic!("record {i}: {e}"));
        assert_eq!(meta.partition, 0);
    }
    typed.close(Duration::from_secs(10)).await;
    // read_back fails on a 91st record: the refused ones never reached Kafka.
    let got = read_back(&bootstrap, topic, 90, &[]);
    let expected: Vec<i64> = (0..100).filter(|i| i % 10 != 9).collect();
    for (g, i) in got.iter().zip(&expected) {
        assert_eq!(g.key.as_deref(), Some(format!("user-{i}").as_bytes()));
        // Java's LongDeserializer reads these 8 big-endian bytes back as i.
        assert_eq!(g.value.as_deref(), Some(&i.to_be_bytes()[..]), "record {i}");
        assert_eq!(
            g.headers,
            [(
                "schema".to_owned(),
                Some(format!("{topic}/i64").into_bytes())
            )]
        );
    }
}

/// What the interceptors of the interceptor scenario saw.
#[derive(Default)]
struct Seen {
    log: Mutex<Vec<String>>,
}

/// Appends `name` to each record's `chain` header (so the read-back shows
/// the order the chain ran in) and logs each acknowledgement.
struct Stamp {
    name: &'static str,
    seen: Arc<Seen>,
}

impl ProducerInterceptor for Stamp {
    fn on_send(&self, record: ProducerRecord) -> ProducerRecord {
        let before = record
            .headers
            .iter()
            .find(|h| h.key == "chain")
            .and_then(|h| h.value.clone())
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        let mut record = record;
        record.headers.retain(|h| h.key != "chain");
        record.header("chain", Some(format!("{before}{}", self.name)))
    }

    fn on_acknowledgement(&self, ack: &Acknowledgement<'_>) {
        let line = match ack {
            Acknowledgement::Delivered(m) => format!("{} delivered {}", self.name, m.offset),
            Acknowledgement::Failed { error, .. } => format!("{} failed {error}", self.name),
            Acknowledgement::Refused { error, .. } => format!("{} refused {error}", self.name),
            _ => format!("{} other", self.name),
        };
        self.seen.log.lock().unwrap().push(line);
    }

    fn close(&self) {
        self.seen
            .log
            .lock()
            .unwrap()
            .push(format!("{} closed", self.name));
    }
}

/// Panics in every call: the producer must not notice.
struct Faulty;

impl ProducerInterceptor for Faulty {
    fn on_send(&self, _: ProducerRecord) -> ProducerRecord {
        panic!("faulty interceptor: on_send")
    }
    fn on_acknowledgement(&self, _: &Acknowledgement<'_>) {
        panic!("faulty interceptor: on_acknowledgement")
    }
    fn close(&self) {
        panic!("faulty interceptor: close")
    }
}

async fn interceptors_change_records_in_order_see_every_outcome_and_survive_panics<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    let topic = &*topic::<T>(&kafka, "intercepted", 1);
    let seen = Arc::new(Seen::default());
    let p = producer::<T>(&bootstrap)
        .set("max.request.size", "2000")
        .interceptor(Stamp {
            name: "a",
            seen: seen.clone(),
        })
        .interceptor(Faulty)
        .interceptor(Stamp {
            name: "b",
            seen: seen.clone(),
        })
        .build()
        .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..20 {
        let record = ProducerRecord::new(topic).value(format!("v{i}"));
        deliveries.push(p.send(record).await.unwrap());
    }
    // Refused before queueing: too large, and a partition the topic lacks.
    let big = ProducerRecord::new(topic).value(vec![0u8; 5000]);
    assert!(matches!(
        p.send(big).await,
        Err(SendError::RecordTooLarge { .. })
    ));
    let lost = ProducerRecord::new(topic).partition(7).value("x");
    assert!(matches!(
        p.send(lost).await,
        Err(SendError::InvalidPartition { .. })
    ));
    for d in deliveries {
        d.await.unwrap();
    }
    p.close(Duration::from_secs(10)).await;
    let got = read_back(&bootstrap, topic, 20, &[]);
    for g in &got {
        assert_eq!(
            g.headers,
            [("chain".to_owned(), Some(b"ab".to_vec()))],
            "a ran, the faulty one was skipped, b ran after a"
        );
    }
    let log = seen.log.lock().unwrap().clone();
    let count = |prefix: &str| log.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("a delivered"), 20, "{log:?}");
    assert_eq!(count("b delivered"), 20, "{log:?}");
    assert_eq!(count("a refused"), 2, "{log:?}");
    assert_eq!(count("b refused"), 2, "{log:?}");
    // Delivered offsets as the log has them.
    let mut offsets: Vec<i64> = log
        .iter()
        .filter_map(|l| l.strip_prefix("a delivered "))
        .map(|o| o.parse().unwrap())
        .collect();
    offsets.sort_unstable();
    assert_eq!(offsets, got.iter().map(|g| g.offset).collect::<Vec<_>>());
    // close is seen once per interceptor, after the deliveries.
    assert_eq!(count("a closed"), 1, "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("b closed"), "{log:?}");
}

/// `purge` fails what lingers unsent (not written: nothing of it reaches Kafka), and
/// `flush_timeout` returns at once when a paused broker holds the flushed records, then
/// succeeds once it answers again; the producer goes on.
async fn purge_and_flush_with_a_timeout<T: Rt>() {
    require_tools!(Tool::Kafka);
    let kafka = kafka_alone();
    let p = producer::<T>(&kafka.bootstrap(Listener::Plaintext))
        .linger(Duration::from_secs(3600))
        .build()
        .unwrap();
    let topic = &*topic::<T>(&kafka, "purge", 2);
    assert_eq!(p.partitions_for(topic).await.unwrap().len(), 2);
    let mut purged = Vec::new();
    for i in 0..40 {
        purged.push(
            p.send(ProducerRecord::new(topic).value(format!("purged {i}")))
                .await
                .unwrap(),
        );
    }
    assert_eq!(p.purge(), 40);
    for d in purged {
        let e = timeout(Duration::from_secs(10), d)
            .await
            .expect("an outcome")
            .unwrap_err();
        assert_eq!(e.kind, DeliveryErrorKind::Purged, "{e}");
        assert!(!e.possibly_written, "{e}");
    }
    let kept = p
        .send(ProducerRecord::new(topic).value("kept"))
        .await
        .unwrap();
    // Held by a paused broker: the flush runs out of time, the record is still pending.
    kafka.pause_node(1);
    let start = Instant::now();
    let flushed = p.flush_timeout(Duration::from_millis(500)).await;
    let took = start.elapsed();
    kafka.resume_node(1);
    assert!(flushed.is_err(), "{flushed:?}");
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "{took:?}"
    );
    p.flush_timeout(Duration::from_secs(60)).await.unwrap();
    timeout(Duration::from_secs(10), kept)
        .await
        .expect("an outcome")
        .unwrap();
    let got = read_back(&kafka.bootstrap(Listener::Plaintext), topic, 1, &[]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value.as_deref(), Some(&b"kept"[..]));
    p.close(Duration::from_secs(10)).await;
}

/// `send.buffer.bytes` and `receive.buffer.bytes` reach the sockets: `ss` shows the
/// connection to the broker with them (Linux doubles what is set, for its bookkeeping).
async fn socket_buffer_sizes_are_set<T: Rt>() {
    require_tools!(Tool::Kafka);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    // Sizes of this runtime's own, as the three runtimes' tests share the broker.
    let (send, receive) = (50_000 + 100 * T::NAME.len(), 40_000 + 100 * T::NAME.len());
    let p = producer::<T>(&bootstrap)
        .set("send.buffer.bytes", &send.to_string())
        .set("receive.buffer.bytes", &receive.to_string())
        .build()
        .unwrap();
    let topic = &*topic::<T>(&kafka, "buffers", 1);
    p.send(ProducerRecord::new(topic).value("x"))
        .await
        .unwrap()
        .await
        .unwrap();
    let port = bootstrap.rsplit(':').next().unwrap();
    let out = std::process::Command::new("ss")
        .args([
            "-tmnH",
            "state",
            "established",
            "dport",
            "=",
            &format!(":{port}"),
        ])
        .output()
        .expect("run ss (iproute2)");
    let sockets = String::from_utf8_lossy(&out.stdout);
    assert!(
        sockets
            .lines()
            .any(|l| l.contains(&format!("rb{},", 2 * receive))
                && l.contains(&format!("tb{},", 2 * send))),
        "no connection with the buffers set ({send}, {receive}): {sockets}"
    );
    p.close(Duration::from_secs(5)).await;
}

/// Java's producer metrics on Apache Kafka: 2,000 records of 200 bytes into
/// 3 partitions with lz4, then the snapshot: every record counted as sent
/// (a retry counts again, as in Java), nothing failed, batches compressed
/// (`compression-rate-avg` < 1), sizes, latency, the topic's and the
/// broker's groups; and the same snapshot as Prometheus text, which
/// Prometheus' own Python parser reads as OpenMetrics.
async fn java_metrics_describe_what_was_sent<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    const N: usize = 2000;
    let topic: Arc<str> = topic::<T>(&kafka, "metrics", 3).into();
    let p = producer::<T>(&bootstrap)
        .compression(Compression::Lz4)
        .linger(Duration::from_millis(5))
        .client_id("metrics-test")
        .build()
        .unwrap();
    let mut pending = Vec::with_capacity(N);
    for i in 0..N {
        let value = format!("{i:08} {}", "metrics and more metrics ".repeat(8));
        let record = ProducerRecord::new(topic.clone()).value(value[..200].to_owned());
        pending.push(p.send(record).await.unwrap());
    }
    for d in pending {
        d.await.unwrap();
    }
    let m = p.metrics();
    let get = |name: &str| m.get(name).unwrap_or_else(|| panic!("no {name}"));
    let retried = get("record-retry-total");
    assert_eq!(get("record-send-total"), N as f64 + retried, "{m:?}");
    assert_eq!(get("record-error-total"), 0.0);
    let compression = get("compression-rate-avg");
    assert!(compression > 0.0 && compression < 1.0, "{compression}");
    assert!(get("batch-size-avg") > 0.0 && get("batch-size-avg") <= get("batch-size-max"));
    // A record of 200 bytes of value is a little more on the wire.
    assert!((200.0..260.0).contains(&get("record-size-max")), "{m:?}");
    assert!(get("records-per-request-avg") >= 1.0);
    assert!(get("record-queue-time-avg") >= 0.0);
    assert!(get("request-latency-avg") > 0.0);
    assert!(get("request-latency-avg") <= get("request-latency-max"));
    assert!(get("record-send-rate") > 0.0 && get("outgoing-byte-rate") > 0.0);
    assert_eq!(get("requests-in-flight"), 0.0);
    assert!(get("metadata-age") >= 0.0 && get("metadata-age") < 60.0);
    assert!(get("connection-count") >= 1.0);
    assert_eq!(get("produce-throttle-time-max"), 0.0);
    assert_eq!(get("buffer-available-bytes"), get("buffer-total-bytes"));
    let of_topic = |name| m.get_tagged("producer-topic-metrics", name, "topic", &topic);
    assert_eq!(of_topic("record-send-total"), Some(N as f64 + retried));
    assert!(
        of_topic("byte-total").unwrap() < (N * 200) as f64,
        "compressed"
    );
    assert!(of_topic("compression-rate").unwrap() < 1.0);
    let node = |name| m.get_tagged("producer-node-metrics", name, "node-id", "node-1");
    assert!(node("request-total").unwrap() > 0.0, "{m:?}");
    assert!(node("request-latency-avg").unwrap() > 0.0);
    assert!(node("incoming-byte-total").unwrap() > 0.0);
    assert!(
        m.iter()
            .all(|x| x.tags.first() == Some(&("client-id", "metrics-test".to_owned())))
    );

    let text = kafka_runtime_common::prometheus::encode(&m).unwrap();
    let file = write_temp("metrics.prom", &text);
    let parsed = kafka_integration_tests::tools::python_inline(
        r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = list(text_string_to_metric_families(open(sys.argv[1]).read()))
for f in families:
    for s in f.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(f"{f.type} {s.name} {labels} {s.value}")
"#,
        [&file],
    );
    std::fs::remove_file(&file).ok();
    let line = |name: &str, labels: &str| {
        parsed
            .lines()
            .find(|l| l.split(' ').nth(1) == Some(name) && l.split(' ').nth(2) == Some(labels))
            .unwrap_or_else(|| panic!("{name} {labels} not in\n{parsed}"))
            .to_owned()
    };
    let send = line("kafka_producer_record_send_total", "client_id=metrics-test");
    assert_eq!(
        send,
        format!(
            "counter kafka_producer_record_send_total client_id=metrics-test {:.1}",
            N as f64 + retried
        )
    );
    let labels = format!("client_id=metrics-test,topic={topic}");
    assert!(line("kafka_producer_topic_record_send_total", &labels).starts_with("counter "));
    assert!(
        line(
            "kafka_producer_compression_rate_avg",
            "client_id=metrics-test"
        )
        .starts_with("gauge ")
    );
    line(
        "kafka_producer_node_request_latency_avg",
        "client_id=metrics-test,node_id=node-1",
    );
    println!(
        "{}: metrics agree; {} Prometheus samples parsed",
        T::NAME,
        parsed.lines().count()
    );
    p.close(Duration::from_secs(5)).await;
}

/// A "broker" on loopback that answers every connection with `reply` once
/// it has read a request, then closes it; its address.
fn fake_broker(reply: &'static [u8]) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = [0u8; 1024];
            if stream.read(&mut request).is_ok() {
                let _ = stream.write_all(reply);
            }
        }
    });
    address
}

/// The mistakes users make most, named in the error a `send` ends with
/// (`max.block.ms` runs out): an HTTP server or garbage where Kafka should
/// be, plaintext to Kafka's TLS listener, and no SASL on its SASL listener.
async fn a_listener_that_is_not_what_the_client_expects_is_named_in_the_error<T: Rt>() {
    require_tools!(Tool::Kafka);
    let kafka = kafka();
    let cases = [
        (
            fake_broker(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
            "an HTTP server answered",
        ),
        (
            fake_broker(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1]),
            "is this address a Kafka listener?",
        ),
        (kafka.bootstrap(Listener::Ssl), "security.protocol=SSL"),
        (kafka.bootstrap(Listener::SaslPlaintext), "may require SASL"),
    ];
    for (bootstrap, expected) in cases {
        let p = producer::<T>(&bootstrap)
            .max_block(Duration::from_secs(3))
            .build()
            .unwrap();
        let error = p
            .send(ProducerRecord::new("anything").value("x"))
            .await
            .err()
            .unwrap_or_else(|| panic!("{bootstrap}: a send went through"));
        let text = error.to_string();
        assert!(
            matches!(error, SendError::TopicUnavailable { .. }) && text.contains(expected),
            "{bootstrap}: {expected:?} not in {text:?}"
        );
        println!("{}: {text}", T::NAME);
        p.close(Duration::from_secs(1)).await;
    }
}

/// W3C trace-context propagation: records sent inside an OpenTelemetry
/// context carry its `traceparent` and `tracestate` headers, as
/// confluent-kafka reads them back; a record sent outside one carries none.
async fn records_carry_the_senders_trace_context<T: Rt>() {
    use opentelemetry::Context;
    use opentelemetry::context::FutureExt as _;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    let topic = topic::<T>(&kafka, "trace-context", 1);
    let p = producer::<T>(&bootstrap)
        .interceptor(kafka_runtime_common::otel::TraceContextInterceptor)
        .build()
        .unwrap();
    let span = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("vendor", "opaque")]).unwrap(),
    );
    let cx = Context::current().with_remote_span_context(span);
    let traced = p
        .send(ProducerRecord::new(topic.as_str()).value("traced"))
        .with_context(cx)
        .await
        .unwrap();
    let untraced = p
        .send(ProducerRecord::new(topic.as_str()).value("untraced"))
        .await
        .unwrap();
    traced.await.unwrap();
    untraced.await.unwrap();
    p.close(Duration::from_secs(5)).await;
    let got = read_back(&bootstrap, &topic, 2, &[]);
    let headers = |value: &str| {
        got.iter()
            .find(|r| r.value.as_deref() == Some(value.as_bytes()))
            .unwrap_or_else(|| panic!("{value} not read back"))
            .headers
            .clone()
    };
    assert_eq!(
        headers("traced"),
        [
            (
                "traceparent".to_owned(),
                Some(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec())
            ),
            ("tracestate".to_owned(), Some(b"vendor=opaque".to_vec())),
        ]
    );
    assert!(headers("untraced").is_empty());
}

/// Writes `text` to a file of its own in the temp directory; its path.
fn write_temp(name: &str, text: &str) -> String {
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("produce-{}-{n}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

runtimes::suite!(
    records_carry_the_senders_trace_context,
    a_listener_that_is_not_what_the_client_expects_is_named_in_the_error,
    java_metrics_describe_what_was_sent,
    socket_buffer_sizes_are_set,
    purge_and_flush_with_a_timeout,
    round_trip_of_every_codec_reads_back_intact,
    keyed_records_go_to_the_java_murmur2_partition,
    idempotent_records_arrive_once_each_in_order,
    a_delivery_handler_reports_each_record_by_its_number,
    unknown_topics_are_auto_created_by_tansu,
    a_topic_kafka_does_not_have_fails_send_after_max_block_until_created,
    a_record_over_max_request_size_is_refused_and_the_producer_goes_on,
    an_unreachable_bootstrap_fails_send_after_max_block,
    close_with_a_deadline_fails_what_a_frozen_broker_never_answered,
    close_with_a_deadline_fails_what_a_dead_broker_never_got_as_not_written,
    dropping_the_last_handle_still_delivers_in_the_background,
    a_full_buffer_makes_send_wait_for_delivery_not_fail,
    a_full_buffer_that_never_drains_fails_send_after_max_block,
    a_custom_partitioner_places_records_without_a_partition,
    typed_records_are_serialized_as_java_does_and_a_refused_one_is_never_sent,
    interceptors_change_records_in_order_see_every_outcome_and_survive_panics,
);
