//! Legacy message sets: magic 0 (Kafka 0.8–0.9) and magic 1 (0.10, adds
//! timestamps), decoded for reading.
//!
//! Each entry is `offset i64 | message_size i32 | crc u32 | magic i8 |
//! attributes i8 | [timestamp i64, magic 1] | key bytes | value bytes`,
//! with a CRC32 (IEEE) over everything from the magic byte on. A compressed
//! entry is a wrapper whose value is a compressed inner message set.

use bytes::Bytes;

use super::{BatchInfo, LOG_OVERHEAD, Record, TimestampType};
use crate::compression::{Compression, decompress};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::primitives::{Nullable, Reader, WireVersion};

/// Legacy messages use the classic (non-flexible) `bytes` encoding: an
/// int32 length, -1 for null.
const CLASSIC: WireVersion = WireVersion::new(0, false);

const CRC_AT: usize = LOG_OVERHEAD;
const MAGIC_AT: usize = LOG_OVERHEAD + 4;
const ATTRIBUTES_AT: usize = MAGIC_AT + 1;
const LOG_APPEND_TIME: i8 = 0x08;

/// One legacy message (possibly a compressed wrapper), read in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyMessage {
    data: Bytes,
    offset: i64,
    magic: i8,
    attributes: i8,
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
}

impl LegacyMessage {
    /// Reads the entry at the start of `buf` (bytes after it are ignored).
    pub fn parse(buf: Bytes) -> Result<LegacyMessage, DecodeError> {
        let mut r = Reader::new(buf.clone());
        let offset = r.i64().map_err(|e| e.in_field("offset"))?;
        let size_at = r.offset();
        let size = r.i32().map_err(|e| e.in_field("message_size"))?;
        if size < 14 {
            return Err(DecodeError::new(
                size_at,
                DecodeErrorKind::InvalidLength {
                    length: size.into(),
                },
            )
            .in_field("message_size"));
        }
        let size = r
            .check_len(size as u64)
            .map_err(|e| e.in_field("message_size"))?;
        let mut m = Reader::with_base(r.bytes(size)?, LOG_OVERHEAD);
        let _crc = m.u32()?;
        let magic = m.i8().map_err(|e| e.in_field("magic"))?;
        if !(0..=1).contains(&magic) {
            return Err(DecodeError::new(
                MAGIC_AT,
                DecodeErrorKind::UnknownMagic { magic },
            ));
        }
        let attributes = m.i8().map_err(|e| e.in_field("attributes"))?;
        let codec = (attributes & 0x07) as u8;
        // zstd (4) exists only in v2 batches.
        if codec > 3 {
            return Err(DecodeError::new(
                ATTRIBUTES_AT,
                DecodeErrorKind::UnknownCompression { codec },
            )
            .in_field("attributes"));
        }
        let timestamp = if magic == 1 {
            m.i64().map_err(|e| e.in_field("timestamp"))?
        } else {
            -1
        };
        let key = Bytes::read_nullable(&mut m, CLASSIC).map_err(|e| e.in_field("key"))?;
        let value = Bytes::read_nullable(&mut m, CLASSIC).map_err(|e| e.in_field("value"))?;
        if !m.is_empty() {
            return Err(m
                .error(DecodeErrorKind::TrailingBytes {
                    count: m.remaining(),
                })
                .in_field("message"));
        }
        Ok(LegacyMessage {
            data: buf.slice(..LOG_OVERHEAD + size),
            offset,
            magic,
            attributes,
            timestamp,
            key,
            value,
        })
    }

    /// The entry's offset (for a magic 1 wrapper, that of its last inner message).
    pub fn offset(&self) -> i64 {
        self.offset
    }
    /// 0 or 1.
    pub fn magic(&self) -> i8 {
        self.magic
    }
    /// The raw attribute bits.
    pub fn attributes(&self) -> i8 {
        self.attributes
    }
    /// The codec of a wrapper message, `None` for a plain message.
    pub fn compression(&self) -> Compression {
        Compression::from_id((self.attributes & 0x07) as u8).unwrap_or_default()
    }
    /// How the timestamp was assigned.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.magic == 1 && self.attributes & LOG_APPEND_TIME != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    /// The timestamp (magic 1), or -1.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }
    /// The key, or `None` for null.
    pub fn key(&self) -> Option<&Bytes> {
        self.key.as_ref()
    }
    /// The value (for a wrapper, the compressed inner set), or `None`.
    pub fn value(&self) -> Option<&Bytes> {
        self.value.as_ref()
    }
    /// The stored CRC32.
    pub fn crc(&self) -> u32 {
        u32::from_be_bytes([
            self.data[CRC_AT],
            self.data[CRC_AT + 1],
            self.data[CRC_AT + 2],
            self.data[CRC_AT + 3],
        ])
    }
    /// The CRC32 computed over the bytes the stored one covers.
    pub fn computed_crc(&self) -> u32 {
        crc32fast::hash(&self.data[MAGIC_AT..])
    }
    /// Checks the stored CRC32 against the bytes.
    pub fn verify_crc(&self) -> Result<(), DecodeError> {
        let (stored, computed) = (self.crc(), self.computed_crc());
        if stored == computed {
            Ok(())
        } else {
            Err(
                DecodeError::new(CRC_AT, DecodeErrorKind::CrcMismatch { stored, computed })
                    .in_field("crc"),
            )
        }
    }

    /// Batch-level facts (legacy messages have no producer fields).
    pub fn info(&self) -> BatchInfo {
        BatchInfo {
            magic: self.magic,
            base_offset: self.offset,
            compression: self.compression(),
            timestamp_type: self.timestamp_type(),
            transactional: false,
            control: false,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            partition_leader_epoch: -1,
            crc: self.crc(),
            crc_valid: self.crc() == self.computed_crc(),
            size: self.data.len(),
        }
    }

    /// The records this entry holds: itself, or for a compressed wrapper its
    /// inner messages (decompressing at most `limit` bytes), with absolute
    /// offsets and the wrapper's log-append time applied.
    pub fn records(&self, limit: usize) -> Result<Vec<Record>, DecodeError> {
        let codec = self.compression();
        if codec == Compression::None {
            return Ok(vec![Record {
                offset: self.offset,
                timestamp: self.timestamp,
                key: self.key.clone(),
                value: self.value.clone(),
                headers: Vec::new(),
            }]);
        }
        let compressed = self.value.clone().unwrap_or_default();
        #[cfg(feature = "lz4")]
        let compressed = match (self.magic, codec) {
            (0, Compression::Lz4) => crate::compression::repair_legacy_lz4_header(&compressed)
                .map(Bytes::from)
                .unwrap_or(compressed),
            _ => compressed,
        };
        let plain =
            decompress(codec, &compressed, limit).map_err(|e| e.in_field("wrapper value"))?;
        let mut inner = Vec::new();
        let plain = Bytes::from(plain);
        let mut pos = 0;
        while pos < plain.len() {
            let msg = LegacyMessage::parse(plain.slice(pos..)).map_err(|mut e| {
                e.offset += pos;
                e.in_field("inner message")
            })?;
            if msg.compression() != Compression::None {
                return Err(DecodeError::new(
                    pos + ATTRIBUTES_AT,
                    DecodeErrorKind::InvalidValue {
                        value: msg.attributes.into(),
                    },
                )
                .in_field("nested compressed message"));
            }
            pos += msg.data.len();
            inner.push(msg);
        }
        let last_inner = inner.last().map_or(0, |m| m.offset);
        let log_append = self.timestamp_type() == TimestampType::LogAppendTime;
        Ok(inner
            .into_iter()
            .map(|m| Record {
                // Magic 1 wrappers carry relative inner offsets (KIP-31).
                offset: if self.magic == 1 {
                    self.offset.wrapping_sub(last_inner).wrapping_add(m.offset)
                } else {
                    m.offset
                },
                timestamp: if log_append {
                    self.timestamp
                } else {
                    m.timestamp
                },
                key: m.key,
                value: m.value,
                headers: Vec::new(),
            })
            .collect())
    }
}
