//! Record batches (magic 2) and legacy message sets (magic 0 and 1).
//!
//! - [`RecordBatchBuilder`] appends records straight into the wire buffer
//!   and seals the batch with producer id, epoch, base sequence, flags,
//!   compression and CRC32C; [`restamp`] re-sequences a sealed batch.
//! - [`RecordBatch`] is a lazy, zero-copy view of one v2 batch: the header is
//!   read in place and records are decoded only as they are iterated.
//! - [`legacy`] decodes magic 0 and 1 messages, including compressed
//!   wrapper messages.
//! - [`Batches`] walks a buffer holding any mix of these (a Fetch response's
//!   records, a log segment) one batch at a time.
//!
//! Layout of a v2 batch header (KIP-98), 61 bytes:
//!
//! ```text
//! base_offset i64 | batch_length i32 | partition_leader_epoch i32 | magic i8 |
//! crc u32 | attributes i16 | last_offset_delta i32 | base_timestamp i64 |
//! max_timestamp i64 | producer_id i64 | producer_epoch i16 |
//! base_sequence i32 | records_count i32
//! ```

mod batch;
mod builder;
pub mod legacy;

use bytes::Bytes;

pub use batch::{RecordBatch, RecordRef, Records, RecordsRef};
pub use builder::{BatchOptions, Header, RecordBatchBuilder, restamp, set_base_offset};

use crate::compression::Compression;
use crate::error::{DecodeError, DecodeErrorKind};

/// Size of the v2 batch header.
pub const BATCH_HEADER_SIZE: usize = 61;
/// Bytes before `batch_length` counts: base offset and the length itself.
pub const LOG_OVERHEAD: usize = 12;
/// The CRC covers everything from the attributes to the end of the batch.
pub(crate) const CRC_START: usize = 21;

/// Offsets of the v2 header fields.
pub(crate) mod offsets {
    pub(crate) const BASE_OFFSET: usize = 0;
    pub(crate) const BATCH_LENGTH: usize = 8;
    pub(crate) const PARTITION_LEADER_EPOCH: usize = 12;
    pub(crate) const MAGIC: usize = 16;
    pub(crate) const CRC: usize = 17;
    pub(crate) const ATTRIBUTES: usize = 21;
    pub(crate) const LAST_OFFSET_DELTA: usize = 23;
    pub(crate) const BASE_TIMESTAMP: usize = 27;
    pub(crate) const MAX_TIMESTAMP: usize = 35;
    pub(crate) const PRODUCER_ID: usize = 43;
    pub(crate) const PRODUCER_EPOCH: usize = 51;
    pub(crate) const BASE_SEQUENCE: usize = 53;
    pub(crate) const RECORDS_COUNT: usize = 57;
}

/// Attribute bits of a v2 batch.
pub(crate) mod attributes {
    pub(crate) const COMPRESSION_MASK: i16 = 0x07;
    pub(crate) const LOG_APPEND_TIME: i16 = 0x08;
    pub(crate) const TRANSACTIONAL: i16 = 0x10;
    pub(crate) const CONTROL: i16 = 0x20;
}

/// How a batch's timestamps were assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// Set by the producer when the record was created.
    CreateTime,
    /// Set by the broker when it appended the batch (all records share the
    /// batch's max timestamp).
    LogAppendTime,
}

/// A record header: a string key and an optional byte value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// The header key (UTF-8 per the Java client, but kept as bytes).
    pub key: Bytes,
    /// The header value, or `None` for null.
    pub value: Option<Bytes>,
}

/// One decoded record of any magic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Absolute offset (base offset plus delta for v2).
    pub offset: i64,
    /// Timestamp in milliseconds since the epoch (-1 when absent in magic 0).
    pub timestamp: i64,
    /// The key, or `None` for null.
    pub key: Option<Bytes>,
    /// The value, or `None` for null.
    pub value: Option<Bytes>,
    /// Headers (v2 only; legacy messages have none).
    pub headers: Vec<RecordHeader>,
}

/// Batch-level facts shared by v2 batches and legacy (wrapper) messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// 0, 1 or 2.
    pub magic: i8,
    /// Offset of the first record (v2) or of the message (legacy).
    pub base_offset: i64,
    /// Codec of the batch or wrapper message.
    pub compression: Compression,
    /// How timestamps were assigned (always create time for magic 0).
    pub timestamp_type: TimestampType,
    /// Part of a transaction (v2).
    pub transactional: bool,
    /// A control batch (transaction markers; v2).
    pub control: bool,
    /// Producer id, or -1 (v2).
    pub producer_id: i64,
    /// Producer epoch, or -1 (v2).
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1 (v2).
    pub base_sequence: i32,
    /// Leader epoch stamped by the broker, or -1 (v2).
    pub partition_leader_epoch: i32,
    /// The stored checksum (CRC32C for v2, CRC32 for legacy).
    pub crc: u32,
    /// Whether the stored checksum matches the bytes.
    pub crc_valid: bool,
    /// Size of the whole batch or message entry in bytes.
    pub size: usize,
}

/// One entry of a log buffer: a v2 batch or a legacy message.
#[derive(Debug, Clone)]
pub enum AnyBatch {
    /// A record batch, magic 2.
    V2(RecordBatch),
    /// A legacy message (magic 0 or 1), possibly a compressed wrapper.
    Legacy(legacy::LegacyMessage),
}

impl AnyBatch {
    /// Batch-level facts.
    pub fn info(&self) -> BatchInfo {
        match self {
            AnyBatch::V2(b) => b.info(),
            AnyBatch::Legacy(m) => m.info(),
        }
    }

    /// Decodes every record, decompressing at most `limit` bytes.
    pub fn records(&self, limit: usize) -> Result<Vec<Record>, DecodeError> {
        match self {
            AnyBatch::V2(b) => b.records(limit)?.collect(),
            AnyBatch::Legacy(m) => m.records(limit),
        }
    }
}

/// Walks a buffer of consecutive batches or legacy messages, of any magic.
///
/// A partial entry at the very end (as Fetch responses may carry) ends the
/// iteration without an error; [`Batches::partial_tail`] then says how many
/// bytes it had. Any other malformed entry is an error, after which the
/// iterator stops.
#[derive(Debug, Clone)]
pub struct Batches {
    buf: Bytes,
    pos: usize,
    partial_tail: usize,
    failed: bool,
}

impl Batches {
    /// Iterates over the entries in `buf`.
    pub fn new(buf: Bytes) -> Self {
        Batches {
            buf,
            pos: 0,
            partial_tail: 0,
            failed: false,
        }
    }

    /// Bytes of a truncated final entry, once iteration has ended (0 if none).
    pub fn partial_tail(&self) -> usize {
        self.partial_tail
    }
}

impl Iterator for Batches {
    type Item = Result<AnyBatch, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.pos..];
        // Every entry starts with offset (8) and size (4); v2 and legacy
        // entries both put the magic byte at offset 16.
        if rest.len() < 17 {
            self.partial_tail = rest.len();
            self.pos = self.buf.len();
            return None;
        }
        let size = i32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
        let Ok(size) = usize::try_from(size) else {
            self.failed = true;
            return Some(Err(DecodeError::new(
                self.pos + 8,
                DecodeErrorKind::InvalidLength {
                    length: size.into(),
                },
            )
            .in_field("batch_length")));
        };
        let total = LOG_OVERHEAD + size;
        if rest.len() < total {
            self.partial_tail = rest.len();
            self.pos = self.buf.len();
            return None;
        }
        let magic = rest[16] as i8;
        let entry = self.buf.slice(self.pos..self.pos + total);
        let at = self.pos;
        self.pos += total;
        let parsed = match magic {
            2 => RecordBatch::parse(entry).map(AnyBatch::V2),
            0 | 1 => legacy::LegacyMessage::parse(entry).map(AnyBatch::Legacy),
            other => Err(DecodeError::new(
                16,
                DecodeErrorKind::UnknownMagic { magic: other },
            )),
        };
        Some(parsed.map_err(|mut e| {
            self.failed = true;
            e.offset += at;
            e
        }))
    }
}

#[cfg(test)]
mod tests;
