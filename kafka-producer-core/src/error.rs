//! The errors the producer reports.
//!
//! Following rustls, errors that come from the caller's own use of the API
//! ([`SendError`]) are kept apart from the outcome of delivering records
//! ([`DeliveryError`]), which is shaped by brokers and the network.

use std::fmt;
use std::sync::Arc;

use kafka_proto::ErrorCode;

/// Why [`Producer::send`](crate::Producer::send) did not take a record.
///
/// A record refused by `send` was never queued: it has no delivery outcome
/// and nothing of it reached a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// `buffer.memory` is used up by records waiting to be delivered. This is
    /// backpressure, not failure: try again after an
    /// [`Event::MemoryAvailable`](crate::Event::MemoryAvailable), waiting at
    /// most `max.block.ms` (the runtime adapters do this).
    BufferFull {
        /// Bytes the record needs.
        needed: usize,
        /// Bytes in use now.
        used: usize,
        /// `buffer.memory`.
        limit: usize,
    },
    /// The topic's partitions are not known yet; the producer has asked for
    /// its metadata. Try again after an
    /// [`Event::TopicReady`](crate::Event::TopicReady) for it, waiting at
    /// most `max.block.ms`; an [`Event::TopicUnavailable`](crate::Event::TopicUnavailable)
    /// ends the wait with an error.
    MetadataPending {
        /// The topic.
        topic: String,
        /// The wait the refusal belongs to: the event that ends it names it.
        wait: crate::event::WaitId,
        /// When the wait ends at the latest (`max.block.ms` after the first
        /// refusal of this wait), with [`Event::TopicUnavailable`](crate::Event::TopicUnavailable)
        /// unless the topic is ready before.
        deadline: std::time::Instant,
    },
    /// The record, encoded, is larger than `max.request.size` or
    /// `buffer.memory` allows (Java's `RecordTooLargeException`).
    RecordTooLarge {
        /// Upper bound of the record's encoded size, with batch overhead.
        size: usize,
        /// The limit it exceeds.
        limit: usize,
        /// The configuration key of that limit.
        limit_key: &'static str,
    },
    /// The topic name is not a legal Kafka topic name.
    InvalidTopic {
        /// The name given.
        topic: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An explicit partition (or a custom partitioner's choice) is outside
    /// the topic's partitions.
    InvalidPartition {
        /// The topic.
        topic: String,
        /// The partition asked for.
        partition: i32,
        /// How many partitions the topic has.
        partitions: i32,
    },
    /// The topic exists but cannot be written to (for example
    /// TOPIC_AUTHORIZATION_FAILED); the error is the broker's.
    Topic {
        /// The topic.
        topic: String,
        /// The broker's error code for it.
        error: ErrorCode,
    },
    /// The producer is closing or closed and takes no more records.
    Closed,
    /// The producer hit an error it cannot recover from (see the
    /// [`Event::Fatal`](crate::Event::Fatal) it reported).
    Fatal(FatalError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::BufferFull {
                needed,
                used,
                limit,
            } => write!(
                f,
                "buffer.memory is full: {needed} bytes needed, {used} of {limit} in use"
            ),
            SendError::MetadataPending { topic, .. } => {
                write!(f, "metadata for topic {topic:?} is not known yet")
            }
            SendError::RecordTooLarge {
                size,
                limit,
                limit_key,
            } => write!(
                f,
                "the record is {size} bytes when encoded, larger than {limit_key} = {limit}"
            ),
            SendError::InvalidTopic { topic, reason } => {
                write!(f, "invalid topic name {topic:?}: {reason}")
            }
            SendError::InvalidPartition {
                topic,
                partition,
                partitions,
            } => write!(
                f,
                "partition {partition} does not exist: topic {topic:?} has {partitions} partitions"
            ),
            SendError::Topic { topic, error } => {
                write!(
                    f,
                    "topic {topic:?} cannot be written: {}",
                    ErrorName(*error)
                )
            }
            SendError::Closed => f.write_str("the producer is closed"),
            SendError::Fatal(e) => write!(f, "the producer failed: {e}"),
        }
    }
}

impl std::error::Error for SendError {}

/// Why a batch of records was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    /// What went wrong.
    pub kind: DeliveryErrorKind,
    /// Whether the records may have been written anyway: some request
    /// carrying them reached (or may have reached) a broker without a
    /// definite answer (a timeout, a connection lost mid-request) or was
    /// answered with an error Kafka may send after appending
    /// (NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT,
    /// NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR, UNKNOWN_SERVER_ERROR, a
    /// code this client does not know, ...). Sending them again may
    /// duplicate them. `false` means they were certainly not written: every
    /// attempt was refused with an error Kafka only answers before the
    /// append (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, INVALID_RECORD,
    /// TOPIC_AUTHORIZATION_FAILED, NOT_ENOUGH_REPLICAS,
    /// OUT_OF_ORDER_SEQUENCE_NUMBER, ...), or the records were never sent.
    pub possibly_written: bool,
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if self.possibly_written {
            f.write_str(" (the records may have been written)")
        } else {
            f.write_str(" (the records were not written)")
        }
    }
}

impl std::error::Error for DeliveryError {}

/// The cause of a [`DeliveryError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryErrorKind {
    /// The partition leader answered with this error and it is not retriable,
    /// or retries ran out (`retries`).
    Broker(ErrorCode),
    /// `delivery.timeout.ms` passed before the batch was acknowledged. The
    /// error code is the last retriable error seen, if any.
    Timeout {
        /// The last broker error before the timeout, if there was one.
        last_error: Option<ErrorCode>,
    },
    /// The producer was closed (with a deadline that passed) before the
    /// batch was acknowledged.
    ProducerClosed,
    /// The producer hit an error it cannot recover from.
    Fatal(FatalError),
}

impl fmt::Display for DeliveryErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryErrorKind::Broker(code) => write!(f, "broker error {}", ErrorName(*code)),
            DeliveryErrorKind::Timeout { last_error: None } => {
                f.write_str("delivery.timeout.ms expired")
            }
            DeliveryErrorKind::Timeout {
                last_error: Some(code),
            } => write!(
                f,
                "delivery.timeout.ms expired (last error {})",
                ErrorName(*code)
            ),
            DeliveryErrorKind::ProducerClosed => {
                f.write_str("the producer was closed before delivery")
            }
            DeliveryErrorKind::Fatal(e) => write!(f, "{e}"),
        }
    }
}

/// An error after which the producer cannot go on: every outstanding record
/// fails with it and `send` refuses new ones.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FatalError {
    /// SASL authentication was refused by a broker.
    Authentication {
        /// The broker's message (or ours, for a malformed exchange).
        message: Arc<str>,
    },
    /// A broker is too old for what this producer needs.
    UnsupportedBroker {
        /// The API that is missing or too old.
        api: &'static str,
        /// What we need.
        needed: &'static str,
    },
    /// InitProducerId failed with a non-retriable error (for example
    /// CLUSTER_AUTHORIZATION_FAILED when idempotence is not permitted).
    ProducerId(ErrorCode),
}

impl fmt::Display for FatalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FatalError::Authentication { message } => {
                write!(f, "SASL authentication failed: {message}")
            }
            FatalError::UnsupportedBroker { api, needed } => {
                write!(f, "the broker does not support {api} {needed}")
            }
            FatalError::ProducerId(code) => {
                write!(f, "InitProducerId failed: {}", ErrorName(*code))
            }
        }
    }
}

impl std::error::Error for FatalError {}

/// Displays an error code as `NAME (n)`.
pub(crate) struct ErrorName(pub(crate) ErrorCode);

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.name() {
            Some(name) => write!(f, "{name} ({})", self.0.0),
            None => write!(f, "unknown error code {}", self.0.0),
        }
    }
}
