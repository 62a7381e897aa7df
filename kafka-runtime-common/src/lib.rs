//! What the runtime crates of the Kafka producer share.
//!
//! Users depend on one runtime crate (`kafka-runtime-tokio`,
//! `kafka-runtime-async-std` or `kafka-runtime-mio`), which re-exports what
//! it needs from here under its own names. This crate holds everything
//! about the user-facing API that does not depend on a runtime, so that the
//! runtime crates stay thin: the records ([`ProducerRecord`]), the builder
//! with the Java property names ([`ProducerBuilder`]), delivery futures and
//! callbacks ([`DeliveryFuture`]), the errors ([`SendError`]), the TLS
//! settings turned into a rustls configuration, and the handle
//! ([`Producer`]) that shares the sans-IO core with the runtime's driver
//! ([`shared`]). A runtime supplies only a [`Runtime`]: how to start the
//! driver (sockets, timers) and how to wait with a deadline. Async runtimes
//! share one driver ([`driver`]) and supply only its [`AsyncIo`](driver::AsyncIo)
//! (spawn, connect, sleep); [`AnyProducer`] is the producer API once for
//! code that runs on any of them.
//!
//! All producer logic (batching, partitioning, retries, idempotence, SASL)
//! is in [`kafka_producer_core`]; nothing here decides what to send.
//!
//! # Writing a runtime
//!
//! ```
//! use std::future::Future;
//! use std::sync::Arc;
//! use std::time::Instant;
//! use kafka_runtime_common::shared::{Outputs, Shared};
//! use kafka_runtime_common::{ConfigError, Parts, Producer, ProducerBuilder, Runtime};
//!
//! /// A runtime whose "driver" only drains the core once: enough to show the
//! /// shape (a real one loops on its sockets and timers).
//! enum Sketch {}
//!
//! impl Runtime for Sketch {
//!     type Producer = Producer<Sketch>;
//!
//!     fn start(parts: Parts) -> Result<Producer<Sketch>, ConfigError> {
//!         let shared = Arc::new(Shared::new(parts.core, Box::new(|| {}), parts.interceptors));
//!         let mut out = Outputs::default();
//!         out.collect(&mut shared.lock(), Instant::now());
//!         // ... open out.connects, write out.transmits, close out.closes ...
//!         out.complete(&shared);
//!         Ok(Producer::new(shared))
//!     }
//!
//!     async fn timeout_at<F: Future + Send>(_deadline: Instant, f: F) -> Option<F::Output> {
//!         Some(f.await) // a real runtime races `f` against a timer
//!     }
//! }
//!
//! let producer = ProducerBuilder::<Sketch>::new()
//!     .bootstrap_servers("localhost:9092")
//!     .build()?;
//! assert!(!producer.is_closed());
//! # Ok::<(), ConfigError>(())
//! ```

mod any;
mod builder;
mod delivery;
pub mod driver;
pub mod interceptor;
#[cfg(feature = "aws-msk-iam")]
pub mod msk_iam;
#[cfg(feature = "oidc")]
pub mod oidc;
#[cfg(feature = "opentelemetry")]
pub mod otel;
mod producer;
#[cfg(feature = "prometheus")]
pub mod prometheus;
mod record;
pub mod serialize;
pub mod shared;
mod tls;
pub mod token;
mod transactions;
#[cfg(not(feature = "tls"))]
pub use tls::NoTls;
pub use tls::TlsConfig;
pub mod write_queue;

use std::future::Future;
use std::time::Instant;

pub use any::AnyProducer;
/// Admin requests over the producer's connections (the core's
/// [`admin`](kafka_producer_core::admin) module, with the kafka-proto
/// request and response types they carry).
pub mod admin {
    pub use kafka_producer_core::admin::*;
}
pub use builder::{Parts, ProducerBuilder, load_properties_file};
pub use delivery::{Callback, DeliveryFuture, DeliveryHandler, DeliveryResult, RecordMetadata};
pub use kafka_producer_core::SendError;
pub use producer::{FlushTimeout, Producer, Refused, block_on, block_on_until};
pub use record::{ProducerRecord, RecordHeader};

pub use kafka_producer_core::config::{
    Acks, ConfigWarning, Fate, PartitionerChoice, SecurityProtocol, parse_properties, property_fate,
};
pub use kafka_producer_core::partitioner::{self, Partitioner};
pub use kafka_producer_core::{
    AbortReason, Compression, ConfigError, ConsumerGroupMetadata, DeliveryError, DeliveryErrorKind,
    ErrorCode, FatalError, Metric, Metrics, Node, OffsetToCommit, PartitionInfo, ProducerConfig,
    TransactionError, TransactionOp, TransactionProgress, TransactionState,
};

/// What a runtime crate supplies: how to start a producer's driver, and
/// how to wait with a deadline.
pub trait Runtime: 'static {
    /// What [`ProducerBuilder::build`] returns for this runtime (usually
    /// [`Producer<Self>`]).
    type Producer;

    /// Starts the driver of a new producer: wrap `parts.core` in a
    /// [`Shared`](shared::Shared) with a way to wake the driver, start the
    /// driver (in `parts.span`), and return the handle.
    fn start(parts: Parts) -> Result<Self::Producer, ConfigError>;

    /// Runs `future` until it completes (`Some`) or `deadline` passes
    /// (`None`).
    fn timeout_at<F: Future + Send>(
        deadline: Instant,
        future: F,
    ) -> impl Future<Output = Option<F::Output>> + Send;

    /// Whether the calling thread may block in the `*_blocking` methods of
    /// [`Producer`] (default: yes). A runtime whose driver runs delivery
    /// callbacks on a thread of its own says no there: waiting on it would
    /// stop the very loop that ends the wait.
    fn may_block() -> bool {
        true
    }

    /// Whether the driver runs [`AsyncTokenProvider`](token::AsyncTokenProvider)s
    /// (default: yes). mio's drivers take blocking providers only.
    fn runs_async_token_providers() -> bool {
        true
    }
}
