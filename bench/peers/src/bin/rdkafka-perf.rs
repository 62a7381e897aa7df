//! `kprod perf`'s load with rust-rdkafka's `BaseProducer` (librdkafka): one
//! thread sends and serves the delivery callbacks with `poll`, as
//! librdkafka's own `rdkafka_performance` does.
//!
//! Properties are librdkafka's (`-X acks=all -X linger.ms=5 ...`). A full
//! queue (`queue.buffering.max.*`) is waited out by polling, as Java's
//! `send` blocks on `buffer.memory`.

use std::sync::Arc;
use std::time::Duration;

use bench_peers::{Args, Pacer, Stats};
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

struct Context {
    stats: Arc<Stats>,
    bytes: usize,
}

impl ClientContext for Context {}

impl ProducerContext for Context {
    /// The send time in µs since the start, shifted left once, with the
    /// low bit saying whether the latency is sampled.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        match result {
            Ok(_) => self
                .stats
                .delivered(opaque & 1 == 1, (opaque >> 1) as u64, self.bytes),
            Err((e, _)) => self.stats.failed(e),
        }
    }
}

fn main() {
    let args = Args::parse();
    let stats = Arc::new(Stats::new(args.num_records));
    let payload = args.payload();
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &args.bootstrap);
    for (k, v) in &args.props {
        config.set(k, v);
    }
    let producer: BaseProducer<Context> = config
        .create_with_context(Context {
            stats: Arc::clone(&stats),
            bytes: payload.len(),
        })
        .unwrap_or_else(|e| {
            eprintln!("rdkafka-perf: {e}");
            std::process::exit(2)
        });
    let pacer = Pacer::new(args.throughput);
    let mut key = String::new();
    for i in 0..args.num_records {
        if let Some(wait) = pacer.wait_before(i) {
            producer.poll(wait);
        }
        let opaque = ((stats.now_us() as usize) << 1) | usize::from(stats.sampled(i));
        let mut record = BaseRecord::with_opaque_to(&args.topic, opaque).payload(&payload[..]);
        if let Some(k) = args.key(i, &mut key) {
            record = record.key(k);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => {
                    stats.failed(&e);
                    break;
                }
            }
        }
        producer.poll(Duration::ZERO);
    }
    if let Err(e) = producer.flush(Duration::from_secs(120)) {
        eprintln!("rdkafka-perf: flush: {e}");
    }
    std::process::exit(stats.finish(args.num_records));
}
