//! An async Kafka producer on Tokio.
//!
//! A thin adapter around the I/O-free [`kafka_producer_core`]: this crate
//! owns the sockets (TCP, and TLS through rustls), the timers and the task
//! that drives the core; all producer logic (batching, partitioning,
//! retries, idempotence, SASL) is the core's.
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::Duration;
//! use kafka_runtime_tokio::{ProducerBuilder, ProducerRecord};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let producer = ProducerBuilder::new()
//!     .bootstrap_servers("localhost:9092")
//!     .linger(Duration::from_millis(5))
//!     .set("compression.type", "lz4")
//!     .build()?;
//!
//! // `send` waits only for buffer space or metadata; the returned future
//! // resolves when the broker has acknowledged the record.
//! let delivery = producer
//!     .send(ProducerRecord::new("events").key("user-1").value("clicked"))
//!     .await?;
//! let metadata = delivery.await?;
//! println!("written to {}-{} at offset {}", metadata.topic, metadata.partition, metadata.offset);
//!
//! // Fire-and-forget at full speed: a callback per record, no future.
//! for i in 0..1000 {
//!     let record = ProducerRecord::new("events").value(format!("event {i}"));
//!     producer
//!         .send_with_callback(record, |result| {
//!             if let Err(e) = result {
//!                 eprintln!("not delivered: {e}");
//!             }
//!         })
//!         .await?;
//! }
//! producer.flush().await;
//! producer.close(Duration::from_secs(30)).await;
//! # Ok(())
//! # }
//! ```
//!
//! # How it runs
//!
//! [`ProducerBuilder::build`] spawns one driver task. Handles share the
//! core behind a `std::sync::Mutex` plus two wake-up signals rather
//! than talking to the driver over a channel: a channel would cost a
//! message (and, with owned records, an allocation) per record, while the
//! core's `send` is a short, non-blocking append that a handle can run
//! itself. The driver is woken only when a batch starts (a linger timer to
//! arm) or is probably full, on flush and close, and by the network and
//! its timers. It drains the core's outputs under the lock and acts on them
//! after releasing it: writes go to one task per connection (so a slow
//! broker never stalls the others), and delivery is completed per batch,
//! fanned out to the records' [`DeliveryFuture`]s (which share one slot per
//! batch) or callbacks.
//!
//! # Errors
//!
//! [`SendError`] is a refusal: the record was never queued.
//! [`DeliveryError`] is the outcome of a queued record that was not
//! written; its `possibly_written` says whether it may have been written
//! anyway (a request carrying it got no definite answer).
//!
//! # Logging
//!
//! `tracing` spans `kafka_producer` (per producer) and `kafka_connection`
//! (per broker connection); events for connections (debug: connecting,
//! connected, closing; info: lost; warn: failed), failed batches and
//! unavailable topics (warn), fatal errors (error). Nothing is logged per
//! record, and no secret is ever logged.

mod io;

use std::future::Future;
use std::time::Instant;

use kafka_runtime_common::{Parts, Runtime, driver};

/// W3C trace-context propagation (feature `opentelemetry`).
#[cfg(feature = "opentelemetry")]
pub use kafka_runtime_common::otel;
pub use kafka_runtime_common::partitioner::Partitioner;
/// The metrics in the Prometheus text format (feature `prometheus`).
#[cfg(feature = "prometheus")]
pub use kafka_runtime_common::prometheus;
pub use kafka_runtime_common::{
    AbortReason, Acks, AnyProducer, Compression, ConfigError, ConsumerGroupMetadata, DeliveryError,
    DeliveryErrorKind, DeliveryFuture, DeliveryHandler, DeliveryResult, ErrorCode, FatalError,
    FlushTimeout, Metric, Metrics, OffsetToCommit, PartitionerChoice, ProducerConfig,
    ProducerRecord, RecordHeader, RecordMetadata, Refused, SecurityProtocol, SendError,
    TransactionError, TransactionOp, TransactionProgress, TransactionState, partitioner, serialize,
};

/// The Tokio runtime, as the [`Runtime`] of the shared producer API.
#[derive(Debug)]
pub enum Tokio {}

/// An async Kafka producer on Tokio: a cheap, cloneable, `Send + Sync`
/// handle (see [`kafka_runtime_common::Producer`] for every method).
pub type Producer = kafka_runtime_common::Producer<Tokio>;

/// Builds a [`Producer`] on the current Tokio runtime; see
/// [`kafka_runtime_common::ProducerBuilder`] for the settings.
pub type ProducerBuilder = kafka_runtime_common::ProducerBuilder<Tokio>;

impl Runtime for Tokio {
    type Producer = Producer;

    /// Spawns the driver task on the current Tokio runtime.
    fn start(parts: Parts) -> Result<Producer, ConfigError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ConfigError::Conflict {
            reason: "ProducerBuilder::build must be called within a Tokio runtime".to_owned(),
        })?;
        Ok(Producer::new(driver::start(io::TokioIo(runtime), parts)))
    }

    async fn timeout_at<F: Future + Send>(deadline: Instant, future: F) -> Option<F::Output> {
        tokio::time::timeout_at(deadline.into(), future).await.ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: T) {}

    /// Handles and every future of the API can move between threads (a
    /// lock guard held across an await would break this).
    #[tokio::test]
    async fn the_handle_is_send_and_sync_and_its_futures_are_send() {
        let p = ProducerBuilder::new()
            .bootstrap_servers("127.0.0.1:1")
            .build()
            .unwrap();
        send_sync(&p);
        send(p.send(ProducerRecord::new("t")));
        send(p.send_with_callback(ProducerRecord::new("t"), |_| {}));
        send(p.flush());
        send(p.close(Duration::ZERO));
        send(p.partitions_for("t"));
        p.close(Duration::ZERO).await;
    }

    #[test]
    fn building_outside_a_runtime_is_an_error_not_a_panic() {
        let e = ProducerBuilder::new()
            .bootstrap_servers("b:9092")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("Tokio runtime"), "{e}");
    }

    #[tokio::test]
    async fn java_long_max_value_timeouts_do_not_overflow() {
        let p = ProducerBuilder::new()
            .bootstrap_servers("127.0.0.1:1")
            .set("max.block.ms", &i64::MAX.to_string())
            .build()
            .unwrap();
        let send = p.send(ProducerRecord::new("t").value("v"));
        let waited = tokio::time::timeout(Duration::from_millis(200), send).await;
        assert!(waited.is_err(), "still waiting for metadata");
        p.close(Duration::MAX).await;
    }

    /// The blocking calls work from a thread outside the runtime, with the
    /// driver on the runtime's workers.
    #[test]
    fn blocking_calls_from_a_plain_thread() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let p = {
            let _entered = runtime.enter();
            ProducerBuilder::new()
                .bootstrap_servers("127.0.0.1:1")
                .max_block(Duration::from_millis(100))
                .build()
                .unwrap()
        };
        let waited = std::thread::spawn(move || {
            let start = Instant::now();
            let e = p
                .send_blocking(ProducerRecord::new("t").value("v"))
                .unwrap_err();
            assert!(matches!(e, SendError::TopicUnavailable { .. }), "{e}");
            assert!(
                start.elapsed() >= Duration::from_millis(100),
                "waited max.block.ms"
            );
            let e = p.partitions_for_blocking("t").unwrap_err();
            assert!(matches!(e, SendError::TopicUnavailable { .. }), "{e}");
            p.flush_blocking();
            p.close_blocking(Duration::from_millis(100));
            assert!(p.is_closed());
            let e = p.send_with_callback_blocking(ProducerRecord::new("t"), |_| {});
            assert_eq!(e.unwrap_err(), SendError::Closed);
        });
        waited.join().unwrap();
    }

    #[tokio::test]
    async fn max_block_zero_fails_at_once_without_a_broker() {
        let p = ProducerBuilder::new()
            .bootstrap_servers("127.0.0.1:1")
            .max_block(Duration::ZERO)
            .build()
            .unwrap();
        let e = p
            .send(ProducerRecord::new("t").value("v"))
            .await
            .unwrap_err();
        assert!(matches!(e, SendError::TopicUnavailable { .. }), "{e}");
        p.close(Duration::from_millis(100)).await;
        let e = p.send(ProducerRecord::new("t")).await.unwrap_err();
        assert_eq!(e, SendError::Closed);
    }
}

/// The README's code, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
