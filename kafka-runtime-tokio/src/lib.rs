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
//! core behind a `std::sync::Mutex` plus two `tokio::sync::Notify`s rather
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

mod builder;
mod delivery;
mod driver;
mod producer;
mod tls;

pub use builder::ProducerBuilder;
pub use delivery::{DeliveryFuture, DeliveryResult, RecordMetadata};
pub use producer::{Producer, ProducerRecord, RecordHeader, SendError};

pub use kafka_producer_core::config::{Acks, PartitionerChoice, SecurityProtocol};
pub use kafka_producer_core::partitioner::{self, Partitioner};
pub use kafka_producer_core::{
    Compression, ConfigError, DeliveryError, DeliveryErrorKind, ErrorCode, FatalError,
    ProducerConfig,
};
