//! The Kafka producer as an I/O-free state machine.
//!
//! [`Producer`] is the whole producer — metadata, partitioners, the record
//! accumulator, the sender, retries with backoff, delivery timeouts and
//! idempotence — in one value that never touches a socket, a clock or a
//! thread. It is driven only through calls: records and bytes in, bytes and
//! events out, the current time passed in. The runtime crates
//! (`kafka-runtime-tokio`, `kafka-runtime-async-std`, `kafka-runtime-mio`)
//! drive it over real sockets; you can drive it from any loop of your own.
//!
//! Configuration uses the Java client's names and defaults
//! ([`ProducerConfig`], settable from `"linger.ms" = "5"` style properties).
//!
//! # The drive loop
//!
//! Feed inputs, then drain outputs, then sleep until the next input or the
//! next timeout. `examples/std_loop.rs` is the complete loop on real
//! sockets (std, one thread, about a hundred lines; the README shows it).
//! Here against a toy "network" that refuses every connection,
//! so the record's topic never becomes known and the wait ends after
//! `max.block.ms`:
//!
//! ```
//! use std::time::Instant;
//! use kafka_producer_core::{Event, Producer, ProducerConfig, Record, SendError};
//!
//! let mut config = ProducerConfig::default();
//! config.set("bootstrap.servers", "localhost:9092").unwrap();
//! config.set("max.block.ms", "1000").unwrap();
//! let mut now = Instant::now();
//! let mut producer = Producer::new(config, now, 1_700_000_000_000, 42).unwrap();
//!
//! let record = Record { topic: "events", value: Some(b"hello"), ..Default::default() };
//! assert!(matches!(producer.send(&record, now), Err(SendError::MetadataPending { .. })));
//!
//! let mut unavailable = false;
//! while !unavailable {
//!     // Network side: open what it asks for (here: every connect fails),
//!     // write what it hands out, report what arrives.
//!     while let Some(connect) = producer.poll_connect() {
//!         producer.handle_connect_failed(connect.conn, now);
//!     }
//!     while let Some(_transmit) = producer.poll_transmit(now) {}
//!     while let Some(_conn) = producer.poll_close() {}
//!     // Results.
//!     while let Some(event) = producer.poll_event() {
//!         if let Event::TopicUnavailable { topic, .. } = event {
//!             assert_eq!(&*topic, "events");
//!             unavailable = true;
//!         }
//!     }
//!     // Time: sleep until the next deadline (here: jump straight to it).
//!     if let Some(deadline) = producer.poll_timeout() {
//!         now = now.max(deadline);
//!         producer.handle_timeout(now);
//!     }
//! }
//! ```

mod accumulator;
mod adaptive;
pub mod admin;
pub mod config;
mod connection;
mod coordinator;
pub mod error;
pub mod event;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod hash;
mod idempotence;
mod lifecycle;
mod metadata;
pub mod metrics;
mod nodes;
pub mod partitioner;
mod producer;
pub mod rng;
pub mod sasl;
pub mod seal;
mod sender;
mod shutdown;
#[cfg(test)]
mod testing;
mod timers;
pub mod transaction;
mod waits;

pub use config::{ConfigError, ProducerConfig};
pub use error::{
    DeliveryError, DeliveryErrorKind, FatalError, RecordPart, SendError, SerializationError,
};
pub use event::{BatchId, ConnId, Connect, Event, FlushId, Record, RecordToken, Transmit, WaitId};
pub use kafka_proto::ErrorCode;
pub use kafka_proto::compression::Compression;
pub use kafka_proto::record::Header;
pub use metrics::{Metric, Metrics};
pub use producer::{Node, PartitionInfo, Producer, validate_topic_name};
pub use seal::{SealJob, SealedBatch};
pub use transaction::{
    AbortReason, ConsumerGroupMetadata, OffsetToCommit, TransactionError, TransactionOp,
    TransactionProgress, TransactionState,
};
