//! What goes in and out of the producer: records, tokens, network commands
//! and events.

use std::sync::Arc;

use bytes::Bytes;
use kafka_proto::record::Header;

use crate::error::{DeliveryError, FatalError};

/// A record to send. Everything is borrowed: [`Producer::send`](crate::Producer::send)
/// copies the key, value and headers once, straight into the batch's wire
/// buffer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Record<'a> {
    /// The topic.
    pub topic: &'a str,
    /// An explicit partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// The key; `None` is a null key.
    pub key: Option<&'a [u8]>,
    /// The value; `None` is a null value (a tombstone on compacted topics).
    pub value: Option<&'a [u8]>,
    /// Record headers.
    pub headers: &'a [Header<'a>],
    /// The record's timestamp in milliseconds since the Unix epoch; `None`
    /// takes the producer's wall clock (see [`Producer::new`](crate::Producer::new)).
    pub timestamp: Option<i64>,
}

/// Identifies a batch: every record belongs to exactly one batch, and every
/// batch gets exactly one [`Event::Delivered`] or [`Event::Failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(pub u64);

/// Where a record went, returned by [`Producer::send`](crate::Producer::send).
///
/// The record's outcome is its batch's: when [`Event::Delivered`] names
/// `batch`, the record's offset is `base_offset + index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordToken {
    /// The batch the record was appended to.
    pub batch: BatchId,
    /// The record's position in its batch (its offset delta).
    pub index: u32,
    /// The partition chosen.
    pub partition: i32,
    /// The record's timestamp (CreateTime), as given or from the wall clock.
    pub timestamp: i64,
    /// Whether the driver should take a turn now: this send left a batch
    /// ready to go (it filled one, or opened one after a full one), or
    /// opened a batch whose linger or delivery deadline comes before the
    /// producer's next timeout. A runtime that drives the core from another
    /// task wakes it on this (and need not, otherwise, until
    /// [`Producer::poll_timeout`](crate::Producer::poll_timeout)).
    pub wake: bool,
}

/// Names one wait for a topic's metadata (`max.block.ms`), from
/// [`SendError::MetadataPending`](crate::SendError::MetadataPending) or
/// [`Producer::prefetch_topic`](crate::Producer::prefetch_topic) to the
/// [`Event::TopicReady`] or [`Event::TopicUnavailable`] that ends it (or
/// [`Event::Closed`], which ends every wait). Every
/// refused send of one topic gets the same id until the wait ends; ids are
/// never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WaitId(pub u64);

/// Identifies a connection. Ids are never reused, so a late call about a
/// connection the producer has already given up on is recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// A connection the producer wants opened, from
/// [`Producer::poll_connect`](crate::Producer::poll_connect). Answer with
/// `handle_connected` or `handle_connect_failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// The id to use in every later call about this connection.
    pub conn: ConnId,
    /// The broker's host name (also the TLS server name).
    pub host: String,
    /// The broker's port.
    pub port: u16,
    /// The broker's node id, or `None` for a bootstrap address.
    pub node_id: Option<i32>,
    /// The socket send buffer to set (`send.buffer.bytes`), or `None` for
    /// the operating system's.
    pub send_buffer_bytes: Option<usize>,
    /// The socket receive buffer to set (`receive.buffer.bytes`), or `None`
    /// for the operating system's.
    pub receive_buffer_bytes: Option<usize>,
}

/// Bytes to write on a connection, from
/// [`Producer::poll_transmit`](crate::Producer::poll_transmit), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The connection.
    pub conn: ConnId,
    /// The next bytes to write on the connection: whole request frames, or
    /// part of one (a large record batch comes as the buffer it was sealed
    /// in, not copied). Write a connection's transmits in the order given.
    pub data: Bytes,
}

/// Identifies a [`Producer::flush`](crate::Producer::flush) call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlushId(pub u64);

/// Something that happened, from [`Producer::poll_event`](crate::Producer::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A batch was written. Its records have offsets `base_offset ..
    /// base_offset + record_count` in the order they were sent; the offset
    /// is -1 when it is unknown (acks = 0, or a retry the broker recognised
    /// as a duplicate of an earlier write).
    Delivered {
        /// The batch.
        batch: BatchId,
        /// Its topic.
        topic: Arc<str>,
        /// Its partition.
        partition: i32,
        /// The offset of its first record, or -1.
        base_offset: i64,
        /// How many records it held.
        record_count: u32,
        /// The broker's append time when the topic uses LogAppendTime; the
        /// records' own timestamps apply otherwise.
        log_append_time: Option<i64>,
    },
    /// A batch was not delivered; all its records share this outcome.
    Failed {
        /// The batch.
        batch: BatchId,
        /// Its topic.
        topic: Arc<str>,
        /// Its partition.
        partition: i32,
        /// How many records it held.
        record_count: u32,
        /// Why, and whether its records may have been written anyway.
        error: DeliveryError,
    },
    /// Buffer memory was freed after a `send` was refused with
    /// [`SendError::BufferFull`](crate::SendError::BufferFull): as much as
    /// that record alone needs in a new batch, so trying again succeeds
    /// unless another send took it first.
    MemoryAvailable,
    /// The partitions of a topic that `send` was waiting for
    /// ([`SendError::MetadataPending`](crate::SendError::MetadataPending))
    /// are known now.
    TopicReady {
        /// The topic.
        topic: Arc<str>,
        /// The wait this ends.
        wait: WaitId,
    },
    /// A topic that `send` was waiting for could not be found within
    /// `max.block.ms`, or cannot be written.
    TopicUnavailable {
        /// The topic.
        topic: Arc<str>,
        /// The broker's error for it (UNKNOWN_TOPIC_OR_PARTITION when brokers
        /// answered but do not have it), or `None` when no broker answered
        /// at all (none reachable).
        error: Option<kafka_proto::ErrorCode>,
        /// The wait this ends (at its deadline, `max.block.ms` after it
        /// began, or at once for an error that retrying cannot fix).
        wait: WaitId,
    },
    /// Every batch that existed when [`Producer::flush`](crate::Producer::flush)
    /// returned this id has an outcome now.
    FlushComplete(FlushId),
    /// The producer cannot go on; outstanding batches fail with this error.
    Fatal(FatalError),
    /// OAUTHBEARER needs a token: get one (the runtime crates run the
    /// user's token provider) and hand it in with
    /// [`Producer::handle_token`](crate::Producer::handle_token), or report
    /// [`Producer::handle_token_failed`](crate::Producer::handle_token_failed).
    /// Asked once until answered.
    TokenNeeded,
    /// A transactional operation that returned
    /// [`TransactionProgress::Pending`](crate::TransactionProgress::Pending)
    /// is complete: take its result with
    /// [`Producer::transaction_result`](crate::Producer::transaction_result).
    TransactionCompleted(crate::transaction::TransactionOp),
    /// An admin request ([`Producer::admin`](crate::Producer::admin)) is
    /// answered or failed: take the outcome with
    /// [`Producer::admin_result`](crate::Producer::admin_result).
    AdminComplete(crate::admin::AdminId),
    /// A Produce request went out (only after
    /// [`Producer::set_request_events`](crate::Producer::set_request_events)):
    /// for tracing, a span per request.
    ProduceSent {
        /// Names the request until its [`Event::ProduceDone`].
        request: u64,
        /// The broker it went to.
        node: i32,
        /// Batches (partitions) in it.
        batches: u32,
        /// Records in it.
        records: u32,
        /// Bytes of record batches in it.
        bytes: usize,
    },
    /// The Produce request `request` is over (only after
    /// [`Producer::set_request_events`](crate::Producer::set_request_events)).
    ProduceDone {
        /// The request.
        request: u64,
        /// `"answered"`, `"lost"` (its connection went; its batches are
        /// retried or fail) or `"closed"` (the producer closed first).
        outcome: &'static str,
    },
    /// [`Producer::close`](crate::Producer::close) finished: every batch has
    /// an outcome and every connection was released. This is the last event.
    Closed,
}
