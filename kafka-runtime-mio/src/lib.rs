//! A Kafka producer on a hand-rolled mio event loop, with two faces:
//!
//! - [`BlockingProducer`]: methods that block the calling thread, with the
//!   event loop on one background thread (`kafka-producer-mio`);
//! - [`MioDriver`]: the same event loop embedded in a `mio::Poll` you own,
//!   driven from your thread, with a [`send`](MioDriver::send) that never
//!   waits.
//!
//! A thin adapter around the I/O-free [`kafka_producer_core`]: this crate
//! owns the sockets (TCP, and TLS through rustls on the non-blocking
//! sockets) and the timers; all producer logic (batching, partitioning,
//! retries, idempotence, SASL) is the core's, and the API around it is
//! [`kafka_runtime_common`]'s.
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::Duration;
//! use kafka_runtime_mio::{ProducerBuilder, ProducerRecord};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let producer = ProducerBuilder::new()
//!     .bootstrap_servers("localhost:9092")
//!     .linger(Duration::from_millis(5))
//!     .set("compression.type", "lz4")
//!     .build()?;
//!
//! // `send` blocks only for buffer space or metadata; `wait` blocks until
//! // the broker has acknowledged the record.
//! let delivery = producer.send(ProducerRecord::new("events").key("user-1").value("clicked"))?;
//! let metadata = delivery.wait()?;
//! println!("written to {}-{} at offset {}", metadata.topic, metadata.partition, metadata.offset);
//!
//! // Fire-and-forget at full speed: a callback per record, run on the
//! // driver thread.
//! for i in 0..1000 {
//!     let record = ProducerRecord::new("events").value(format!("event {i}"));
//!     producer.send_with_callback(record, |result| {
//!         if let Err(e) = result {
//!             eprintln!("not delivered: {e}");
//!         }
//!     })?;
//! }
//! producer.flush();
//! producer.close(Duration::from_secs(30));
//! # Ok(())
//! # }
//! ```
//!
//! For the embedded driver, see [`MioDriver`] and the `embedded` example
//! (a line-echo server whose lines are also produced, on one thread and
//! one `Poll`).
//!
//! # How it runs
//!
//! The [`BlockingProducer`]'s handles share the core behind a mutex with
//! the event loop (see [`kafka_runtime_common::shared`]): `send` appends
//! the record itself and wakes the loop (a `mio::Waker`) only when a batch
//! starts or is probably full; its waits block on a listener, with no
//! future to drive. The [`MioDriver`] owns its core outright: no lock, no
//! other handle, no future. Each loop turn hands what the sockets read and
//! the expired timers to the core (under the lock, for the blocking
//! producer), drains its outputs, and then connects, writes (vectored,
//! per-connection queues, on `WRITABLE` readiness) and completes
//! deliveries. Broker host names are resolved with the blocking system
//! resolver when a connection opens (see [`MioDriver`]).
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

mod blocking;
mod driver;
mod embedded;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

pub use blocking::{BlockingProducer, Mio};
pub use embedded::{DriverBuilder, Embedded, MioDriver};

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

/// Builds a [`BlockingProducer`] (and starts its thread); see
/// [`kafka_runtime_common::ProducerBuilder`] for the settings.
pub type ProducerBuilder = kafka_runtime_common::ProducerBuilder<Mio>;

/// Polls `future` once: what a wait that must not block gets done.
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests;

/// mio's producers call token providers on their loop: an async one (from
/// `async_token_provider`) has no executor to run on here.
fn refuse_async_token_provider(
    parts: &kafka_runtime_common::Parts,
) -> Result<(), kafka_runtime_common::ConfigError> {
    match parts.token_provider {
        Some(kafka_runtime_common::token::TokenSource::Async(_)) => {
            Err(kafka_runtime_common::ConfigError::Conflict {
                reason: "the mio runtime takes a blocking token_provider, not an \
                         async_token_provider"
                    .to_owned(),
            })
        }
        _ => Ok(()),
    }
}
