//! Tracing with OpenTelemetry's messaging conventions, on Apache Kafka and
//! every runtime: with a subscriber listening at debug level, each Produce
//! request is a `kafka.produce` span (`messaging.system = "kafka"`, the
//! client id, records and node) closed with its outcome, and each batch
//! outcome a `batch delivered` event naming the destination, partition and
//! offset; nothing is reported per record.
//!
//! A global subscriber of this binary's own collects span and event fields;
//! each runtime's test filters them by its client id.

mod runtimes;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use kafka_integration_tests::kafka::{ClusterConfig, SharedCluster};
use kafka_integration_tests::tools::Tool;
use kafka_integration_tests::{KafkaCluster, Listener, require_tools};
use kafka_runtime_common::{ProducerBuilder, ProducerRecord};
use runtimes::{Rt, TestProducer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

fn kafka() -> SharedCluster {
    KafkaCluster::shared(ClusterConfig::single_node())
}

/// What the subscriber saw: spans by name with their fields (recorded ones
/// included), and events with theirs.
#[derive(Default)]
struct Seen {
    spans: HashMap<u64, (String, HashMap<String, String>)>,
    closed: Vec<(String, HashMap<String, String>)>,
    events: Vec<HashMap<String, String>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
}

struct Collector {
    next: AtomicU64,
    seen: Arc<Mutex<Seen>>,
}

impl Subscriber for Collector {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= &tracing::Level::DEBUG
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = HashMap::new();
        span.record(&mut Fields(&mut fields));
        self.seen
            .lock()
            .unwrap()
            .spans
            .insert(id, (span.metadata().name().to_owned(), fields));
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some((_, fields)) = self.seen.lock().unwrap().spans.get_mut(&span.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        self.seen.lock().unwrap().events.push(fields);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
    fn try_close(&self, id: Id) -> bool {
        let mut seen = self.seen.lock().unwrap();
        if let Some(span) = seen.spans.remove(&id.into_u64()) {
            seen.closed.push(span);
        }
        true
    }
}

fn seen() -> &'static Arc<Mutex<Seen>> {
    static SEEN: OnceLock<Arc<Mutex<Seen>>> = OnceLock::new();
    SEEN.get_or_init(|| {
        let seen = Arc::new(Mutex::new(Seen::default()));
        tracing::subscriber::set_global_default(Collector {
            next: AtomicU64::new(0),
            seen: seen.clone(),
        })
        .expect("the only global subscriber of this binary");
        seen
    })
}

async fn produce_requests_are_spans_and_batch_outcomes_events<T: Rt>() {
    require_tools!(Tool::Kafka);
    let seen = seen();
    let kafka = kafka();
    let bootstrap = kafka.bootstrap(Listener::Plaintext);
    let topic = format!("tracing-{}", T::NAME);
    kafka.create_topic(&topic, 2);
    let client_id = format!("tracing-{}", T::NAME);
    const N: usize = 300;
    let p = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&bootstrap)
        .client_id(&client_id)
        .linger(Duration::from_millis(5))
        .batch_size(1024)
        .build()
        .unwrap();
    let mut deliveries = Vec::with_capacity(N);
    for i in 0..N {
        let record = ProducerRecord::new(topic.as_str())
            .key(format!("k{}", i % 7))
            .value(format!("record {i}"));
        deliveries.push(p.send(record).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
    p.close(Duration::from_secs(5)).await;

    let seen = seen.lock().unwrap();
    let ours = |f: &HashMap<String, String>| {
        f.get("messaging.client.id").map(String::as_str) == Some(client_id.as_str())
    };
    let requests: Vec<&HashMap<String, String>> = seen
        .closed
        .iter()
        .filter(|(name, f)| name == "kafka.produce" && ours(f))
        .map(|(_, f)| f)
        .collect();
    assert!(!requests.is_empty(), "no kafka.produce span closed");
    let mut records = 0;
    for f in &requests {
        assert_eq!(f["messaging.system"], "kafka");
        assert_eq!(f["messaging.operation.type"], "send");
        assert_eq!(f["kafka.node.id"], "1");
        assert_eq!(f["outcome"], "answered", "{f:?}");
        records += f["messaging.batch.message_count"].parse::<usize>().unwrap();
    }
    assert_eq!(records, N, "the spans' records add up to what was sent");
    let batches: Vec<&HashMap<String, String>> = seen
        .events
        .iter()
        .filter(|f| ours(f) && f.get("message").map(String::as_str) == Some("batch delivered"))
        .collect();
    let delivered: usize = batches
        .iter()
        .map(|f| {
            assert_eq!(f["messaging.destination.name"], topic);
            assert!(f["messaging.kafka.offset"].parse::<i64>().unwrap() >= 0);
            f["messaging.batch.message_count"].parse::<usize>().unwrap()
        })
        .sum();
    assert_eq!(delivered, N);
    assert!(batches.len() < N, "one event per batch, not per record");
    println!(
        "{}: {} kafka.produce spans, {} batch events for {N} records",
        T::NAME,
        requests.len(),
        batches.len()
    );
}

runtimes::suite!(produce_requests_are_spans_and_batch_outcomes_events);
