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
    /// `buffer.memory` is used up by the buffers of batches waiting to be
    /// delivered (every batch open then becomes due, linger or not). This is
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
    /// `buffer.memory` stayed full for `max.block.ms`: from the runtime
    /// adapters' waiting sends, which wait out [`BufferFull`](Self::BufferFull).
    BufferTimeout {
        /// `max.block.ms`.
        max_block: std::time::Duration,
    },
    /// The topic's metadata did not come within `max.block.ms` (the wait
    /// ended with [`Event::TopicUnavailable`](crate::Event::TopicUnavailable)):
    /// the topic does not exist and is not auto-created, or no broker could
    /// be reached. From the runtime adapters' waiting sends.
    TopicUnavailable {
        /// The topic.
        topic: String,
        /// The broker's last error for it, if a broker answered.
        error: Option<ErrorCode>,
        /// The last connection failure (address and cause), if any.
        connection_error: Option<String>,
    },
    /// A serializer refused the record's key or value (the runtime crates'
    /// typed producer); the record was not queued.
    Serialization(SerializationError),
    /// A transactional producer takes records only inside a transaction
    /// (`begin_transaction` first), and none while its transaction must be
    /// aborted or after a fatal error.
    Transaction(crate::transaction::TransactionError),
}

impl SendError {
    /// Whether the same send may succeed later, unchanged: memory or
    /// metadata was not there yet (KIP-1050's retriable class). The
    /// waiting sends of the runtime crates already waited `max.block.ms`.
    pub fn is_retriable(&self) -> bool {
        match self {
            SendError::BufferFull { .. }
            | SendError::MetadataPending { .. }
            | SendError::BufferTimeout { .. }
            | SendError::TopicUnavailable { .. } => true,
            SendError::Topic { error, .. } => error.is_retriable(),
            _ => false,
        }
    }

    /// Whether the producer can take no more records at all (closed, or a
    /// fatal error): KIP-1050's fatal class. Every other refusal concerns
    /// this record only.
    pub fn is_fatal(&self) -> bool {
        match self {
            SendError::Closed | SendError::Fatal(_) => true,
            SendError::Transaction(e) => e.is_fatal(),
            _ => false,
        }
    }

    /// Whether the producer's transaction must be aborted before it takes
    /// records again (KIP-1050's abortable class): a transactional producer
    /// whose transaction failed. The application aborts and goes on.
    pub fn is_abortable(&self) -> bool {
        matches!(self, SendError::Transaction(e) if e.is_abortable())
    }
}

/// Why a key or value could not be serialized: the serializer's message,
/// and which part of the record it is about. Carried by
/// [`SendError::Serialization`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerializationError {
    message: std::borrow::Cow<'static, str>,
    part: Option<RecordPart>,
}

/// Which part of a record a [`SerializationError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordPart {
    /// The key.
    Key,
    /// The value.
    Value,
}

impl SerializationError {
    /// An error with `message` (what is wrong with the data).
    pub fn new(message: impl Into<std::borrow::Cow<'static, str>>) -> SerializationError {
        SerializationError {
            message: message.into(),
            part: None,
        }
    }

    /// The serializer's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the key or the value failed, when known.
    pub fn part(&self) -> Option<RecordPart> {
        self.part
    }

    /// The same error, about `part`.
    pub fn of(mut self, part: RecordPart) -> SerializationError {
        self.part = Some(part);
        self
    }
}

impl fmt::Display for SerializationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.part {
            Some(RecordPart::Key) => write!(f, "the key could not be serialized: {}", self.message),
            Some(RecordPart::Value) => {
                write!(f, "the value could not be serialized: {}", self.message)
            }
            None => write!(f, "serialization failed: {}", self.message),
        }
    }
}

impl std::error::Error for SerializationError {}

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
                write!(f, "topic {topic:?} cannot be written: {}", error)
            }
            SendError::Closed => f.write_str("the producer is closed"),
            SendError::Fatal(e) => write!(f, "the producer failed: {e}"),
            SendError::BufferTimeout { max_block } => write!(
                f,
                "buffer.memory stayed full for max.block.ms ({} ms)",
                max_block.as_millis()
            ),
            SendError::TopicUnavailable {
                topic,
                error,
                connection_error,
            } => {
                write!(f, "topic {topic:?} is unavailable after max.block.ms")?;
                if let Some(e) = error {
                    write!(f, ": {e}")?;
                }
                if let Some(e) = connection_error {
                    write!(f, " (last connection error: {e})")?;
                }
                Ok(())
            }
            SendError::Serialization(e) => e.fmt(f),
            SendError::Transaction(e) => e.fmt(f),
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

impl DeliveryError {
    /// Whether sending the records again may succeed: the failure was a
    /// broker error Kafka calls retriable, or time ran out
    /// (`delivery.timeout.ms`) on one (KIP-1050's retriable class). Check
    /// [`possibly_written`](Self::possibly_written) before resending: the
    /// records may be in the log already.
    pub fn is_retriable(&self) -> bool {
        match &self.kind {
            DeliveryErrorKind::Broker(code) => code.is_retriable(),
            DeliveryErrorKind::Timeout { .. } => true,
            _ => false,
        }
    }

    /// Whether the producer failed as a whole (KIP-1050's fatal class):
    /// every later send is refused too.
    pub fn is_fatal(&self) -> bool {
        matches!(self.kind, DeliveryErrorKind::Fatal(_))
    }

    /// Whether the failure is one a transactional producer answers by
    /// aborting its transaction (KIP-1050's abortable class): any failure
    /// of a record in a transaction that is not fatal makes it so (Java
    /// semantics), including the transaction's own abort.
    pub fn is_abortable(&self) -> bool {
        !self.is_fatal() && !matches!(self.kind, DeliveryErrorKind::ProducerClosed)
    }
}

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
    /// The batch's transaction was aborted before it was sent (it is
    /// never visible to `read_committed` readers either way).
    TransactionAborted,
    /// The record was purged before it was sent
    /// ([`Producer::purge`](crate::Producer::purge)); it was never written.
    Purged,
}

impl fmt::Display for DeliveryErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryErrorKind::Broker(code) => write!(f, "broker error {}", code),
            DeliveryErrorKind::Timeout { last_error: None } => {
                f.write_str("delivery.timeout.ms expired")
            }
            DeliveryErrorKind::Timeout {
                last_error: Some(code),
            } => write!(f, "delivery.timeout.ms expired (last error {})", code),
            DeliveryErrorKind::ProducerClosed => {
                f.write_str("the producer was closed before delivery")
            }
            DeliveryErrorKind::Fatal(e) => write!(f, "{e}"),
            DeliveryErrorKind::TransactionAborted => {
                f.write_str("the transaction was aborted before the batch was sent")
            }
            DeliveryErrorKind::Purged => f.write_str("purged before it was sent"),
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
    /// A transactional request (or a Produce request of a transaction)
    /// failed with an error that ends the producer: PRODUCER_FENCED or
    /// INVALID_PRODUCER_EPOCH (another instance with the same
    /// `transactional.id` took over), TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    /// INVALID_TRANSACTION_TIMEOUT, ...
    Transaction {
        /// The request: `InitProducerId`, `EndTxn`, `Produce`, ...
        request: &'static str,
        /// The broker's error.
        code: ErrorCode,
    },
}

impl FatalError {
    /// Whether another producer with the same `transactional.id` fenced
    /// this one (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH).
    pub fn is_fenced(&self) -> bool {
        matches!(
            self,
            FatalError::Transaction {
                code: ErrorCode::PRODUCER_FENCED | ErrorCode::INVALID_PRODUCER_EPOCH,
                ..
            }
        )
    }
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
                write!(f, "InitProducerId failed: {}", code)
            }
            FatalError::Transaction { request, code } if self.is_fenced() => write!(
                f,
                "fenced: another producer with the same transactional.id took over ({request}: {code})"
            ),
            FatalError::Transaction { request, code } => write!(f, "{request} failed: {code}"),
        }
    }
}

impl std::error::Error for FatalError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_have_one_format() {
        assert_eq!(
            ErrorCode::NOT_LEADER_OR_FOLLOWER.to_string(),
            "NOT_LEADER_OR_FOLLOWER (6)"
        );
        assert!(
            format!("{:#}", ErrorCode::NOT_LEADER_OR_FOLLOWER)
                .starts_with("NOT_LEADER_OR_FOLLOWER (6): ")
        );
        assert_eq!(ErrorCode(9999).to_string(), "unknown error code 9999");
        let e = SendError::Topic {
            topic: "t".into(),
            error: ErrorCode::TOPIC_AUTHORIZATION_FAILED,
        };
        assert_eq!(
            e.to_string(),
            "topic \"t\" cannot be written: TOPIC_AUTHORIZATION_FAILED (29)"
        );
    }

    #[test]
    fn send_errors_are_classified() {
        let full = SendError::BufferFull {
            needed: 1,
            used: 2,
            limit: 2,
        };
        assert!(full.is_retriable() && !full.is_fatal());
        let unavailable = SendError::TopicUnavailable {
            topic: "t".into(),
            error: None,
            connection_error: None,
        };
        assert!(unavailable.is_retriable());
        assert!(SendError::Closed.is_fatal() && !SendError::Closed.is_retriable());
        let big = SendError::RecordTooLarge {
            size: 2,
            limit: 1,
            limit_key: "max.request.size",
        };
        assert!(!big.is_retriable() && !big.is_fatal(), "this record only");
        let bad = SendError::Serialization(SerializationError::new("no").of(RecordPart::Key));
        assert_eq!(bad.to_string(), "the key could not be serialized: no");
        assert!(!bad.is_retriable() && !bad.is_fatal());
    }

    #[test]
    fn delivery_errors_are_classified() {
        let e = |kind| DeliveryError {
            kind,
            possibly_written: false,
        };
        assert!(e(DeliveryErrorKind::Broker(ErrorCode::NOT_ENOUGH_REPLICAS)).is_retriable());
        assert!(!e(DeliveryErrorKind::Broker(ErrorCode::MESSAGE_TOO_LARGE)).is_retriable());
        assert!(e(DeliveryErrorKind::Timeout { last_error: None }).is_retriable());
        let fatal = e(DeliveryErrorKind::Fatal(FatalError::ProducerId(
            ErrorCode::CLUSTER_AUTHORIZATION_FAILED,
        )));
        assert!(fatal.is_fatal() && !fatal.is_retriable());
        assert!(!e(DeliveryErrorKind::ProducerClosed).is_fatal());
    }
}
