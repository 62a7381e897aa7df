//! A lazy, zero-copy view of one v2 record batch.

use bytes::Bytes;

use super::{
    BATCH_HEADER_SIZE, BatchInfo, CRC_START, LOG_OVERHEAD, Record, RecordHeader, TimestampType,
    attributes, offsets,
};
use crate::compression::{Compression, decompress};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::primitives::Reader;

/// One v2 record batch, read in place.
///
/// [`parse`](Self::parse) checks only the framing (length, magic, codec);
/// header fields are read from the buffer on demand, the CRC is checked by
/// [`verify_crc`](Self::verify_crc), and records are decoded one at a time by
/// [`records`](Self::records). Keys, values and headers of uncompressed
/// batches are slices of the original buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    data: Bytes,
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(x)
}

impl RecordBatch {
    /// Reads the batch at the start of `buf` (bytes after it are ignored).
    pub fn parse(buf: Bytes) -> Result<RecordBatch, DecodeError> {
        if buf.len() < BATCH_HEADER_SIZE {
            return Err(DecodeError::new(
                buf.len(),
                DecodeErrorKind::UnexpectedEof {
                    needed: BATCH_HEADER_SIZE,
                    available: buf.len(),
                },
            )
            .in_field("record batch header"));
        }
        let magic = buf[offsets::MAGIC] as i8;
        if magic != 2 {
            return Err(DecodeError::new(
                offsets::MAGIC,
                DecodeErrorKind::UnknownMagic { magic },
            ));
        }
        let length = be_i32(&buf, offsets::BATCH_LENGTH);
        if length < (BATCH_HEADER_SIZE - LOG_OVERHEAD) as i32 {
            return Err(DecodeError::new(
                offsets::BATCH_LENGTH,
                DecodeErrorKind::InvalidLength {
                    length: length.into(),
                },
            )
            .in_field("batch_length"));
        }
        let total = LOG_OVERHEAD + length as usize;
        if buf.len() < total {
            return Err(DecodeError::new(
                buf.len(),
                DecodeErrorKind::UnexpectedEof {
                    needed: total,
                    available: buf.len(),
                },
            )
            .in_field("record batch"));
        }
        let codec = (be_i16(&buf, offsets::ATTRIBUTES) & attributes::COMPRESSION_MASK) as u8;
        if Compression::from_id(codec).is_none() {
            return Err(DecodeError::new(
                offsets::ATTRIBUTES,
                DecodeErrorKind::UnknownCompression { codec },
            )
            .in_field("attributes"));
        }
        Ok(RecordBatch {
            data: buf.slice(..total),
        })
    }

    /// The whole batch as it is on the wire.
    pub fn as_bytes(&self) -> &Bytes {
        &self.data
    }

    /// Size of the batch in bytes, including offset and length fields.
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// Offset of the first record.
    pub fn base_offset(&self) -> i64 {
        be_i64(&self.data, offsets::BASE_OFFSET)
    }
    /// Bytes after the length field.
    pub fn batch_length(&self) -> i32 {
        be_i32(&self.data, offsets::BATCH_LENGTH)
    }
    /// Leader epoch stamped by the broker, or -1.
    pub fn partition_leader_epoch(&self) -> i32 {
        be_i32(&self.data, offsets::PARTITION_LEADER_EPOCH)
    }
    /// Always 2.
    pub fn magic(&self) -> i8 {
        self.data[offsets::MAGIC] as i8
    }
    /// The stored CRC32C.
    pub fn crc(&self) -> u32 {
        be_i32(&self.data, offsets::CRC) as u32
    }
    /// The raw attribute bits.
    pub fn attributes(&self) -> i16 {
        be_i16(&self.data, offsets::ATTRIBUTES)
    }
    /// The codec (validated by `parse`).
    pub fn compression(&self) -> Compression {
        Compression::from_id((self.attributes() & attributes::COMPRESSION_MASK) as u8)
            .unwrap_or_default()
    }
    /// How timestamps were assigned.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes() & attributes::LOG_APPEND_TIME != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    /// Part of a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes() & attributes::TRANSACTIONAL != 0
    }
    /// A control batch.
    pub fn is_control(&self) -> bool {
        self.attributes() & attributes::CONTROL != 0
    }
    /// Offset delta of the last record.
    pub fn last_offset_delta(&self) -> i32 {
        be_i32(&self.data, offsets::LAST_OFFSET_DELTA)
    }
    /// Timestamp of the first record (create time).
    pub fn base_timestamp(&self) -> i64 {
        be_i64(&self.data, offsets::BASE_TIMESTAMP)
    }
    /// Largest timestamp in the batch (or the log-append time).
    pub fn max_timestamp(&self) -> i64 {
        be_i64(&self.data, offsets::MAX_TIMESTAMP)
    }
    /// Producer id, or -1.
    pub fn producer_id(&self) -> i64 {
        be_i64(&self.data, offsets::PRODUCER_ID)
    }
    /// Producer epoch, or -1.
    pub fn producer_epoch(&self) -> i16 {
        be_i16(&self.data, offsets::PRODUCER_EPOCH)
    }
    /// Sequence number of the first record, or -1.
    pub fn base_sequence(&self) -> i32 {
        be_i32(&self.data, offsets::BASE_SEQUENCE)
    }
    /// Number of records the header claims.
    pub fn records_count(&self) -> i32 {
        be_i32(&self.data, offsets::RECORDS_COUNT)
    }
    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset()
            .wrapping_add(i64::from(self.last_offset_delta()))
    }

    /// The CRC32C computed over the bytes the stored CRC covers.
    pub fn computed_crc(&self) -> u32 {
        crc32c::crc32c(&self.data[CRC_START..])
    }

    /// Checks the stored CRC32C against the bytes.
    pub fn verify_crc(&self) -> Result<(), DecodeError> {
        let (stored, computed) = (self.crc(), self.computed_crc());
        if stored == computed {
            Ok(())
        } else {
            Err(DecodeError::new(
                offsets::CRC,
                DecodeErrorKind::CrcMismatch { stored, computed },
            )
            .in_field("crc"))
        }
    }

    /// Batch-level facts.
    pub fn info(&self) -> BatchInfo {
        BatchInfo {
            magic: 2,
            base_offset: self.base_offset(),
            compression: self.compression(),
            timestamp_type: self.timestamp_type(),
            transactional: self.is_transactional(),
            control: self.is_control(),
            producer_id: self.producer_id(),
            producer_epoch: self.producer_epoch(),
            base_sequence: self.base_sequence(),
            partition_leader_epoch: self.partition_leader_epoch(),
            crc: self.crc(),
            crc_valid: self.crc() == self.computed_crc(),
            size: self.size(),
        }
    }

    /// Iterates the records. A compressed batch is decompressed first, to at
    /// most `limit` bytes; an uncompressed one is read in place.
    pub fn records(&self, limit: usize) -> Result<Records, DecodeError> {
        let count = self.records_count();
        if count < 0 {
            return Err(DecodeError::new(
                offsets::RECORDS_COUNT,
                DecodeErrorKind::InvalidValue {
                    value: count.into(),
                },
            )
            .in_field("records_count"));
        }
        let body = self.data.slice(BATCH_HEADER_SIZE..);
        let reader = match self.compression() {
            Compression::None => Reader::with_base(body, BATCH_HEADER_SIZE),
            codec => {
                let plain = decompress(codec, &body, limit).map_err(|mut e| {
                    e.offset += BATCH_HEADER_SIZE;
                    e.in_field("records")
                })?;
                Reader::new(Bytes::from(plain))
            }
        };
        Ok(Records {
            r: reader,
            remaining: count as u32,
            base_offset: self.base_offset(),
            base_timestamp: self.base_timestamp(),
            log_append_time: (self.timestamp_type() == TimestampType::LogAppendTime)
                .then(|| self.max_timestamp()),
            done: false,
        })
    }
}

/// Iterator over the records of a [`RecordBatch`].
///
/// Offsets in errors count from the start of the batch for uncompressed
/// batches and from the start of the decompressed records otherwise.
#[derive(Debug, Clone)]
pub struct Records {
    r: Reader,
    remaining: u32,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
    done: bool,
}

impl Records {
    fn next_record(&mut self) -> Result<Record, DecodeError> {
        let r = &mut self.r;
        let at = r.offset();
        let len = r.varint().map_err(|e| e.in_field("record length"))?;
        if len < 0 {
            return Err(DecodeError::new(
                at,
                DecodeErrorKind::InvalidLength { length: len.into() },
            )
            .in_field("record length"));
        }
        let n = r
            .check_len(len as u64)
            .map_err(|e| e.in_field("record length"))?;
        let base = r.offset();
        let mut rec = Reader::with_base(r.bytes(n)?, base);
        let _attributes = rec.i8().map_err(|e| e.in_field("record attributes"))?;
        let ts_delta = rec.varlong().map_err(|e| e.in_field("timestamp_delta"))?;
        let offset_delta = rec.varint().map_err(|e| e.in_field("offset_delta"))?;
        let key = read_varbytes(&mut rec).map_err(|e| e.in_field("key"))?;
        let value = read_varbytes(&mut rec).map_err(|e| e.in_field("value"))?;
        let hat = rec.offset();
        let hcount = rec.varint().map_err(|e| e.in_field("headers count"))?;
        if hcount < 0 {
            return Err(DecodeError::new(
                hat,
                DecodeErrorKind::InvalidLength {
                    length: hcount.into(),
                },
            )
            .in_field("headers count"));
        }
        // Each header takes at least two bytes, so the count is bounded by
        // what is left before anything is allocated.
        let hcount = rec
            .check_len(hcount as u64)
            .map_err(|e| e.in_field("headers count"))?;
        let mut headers = Vec::with_capacity(hcount.min(rec.remaining() / 2));
        for _ in 0..hcount {
            let kat = rec.offset();
            let key = read_varbytes(&mut rec)
                .map_err(|e| e.in_field("header key"))?
                .ok_or_else(|| {
                    DecodeError::new(kat, DecodeErrorKind::InvalidLength { length: -1 })
                        .in_field("header key")
                })?;
            let value = read_varbytes(&mut rec).map_err(|e| e.in_field("header value"))?;
            headers.push(RecordHeader { key, value });
        }
        if !rec.is_empty() {
            return Err(rec
                .error(DecodeErrorKind::TrailingBytes {
                    count: rec.remaining(),
                })
                .in_field("record"));
        }
        Ok(Record {
            offset: self.base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp: self
                .log_append_time
                .unwrap_or(self.base_timestamp.wrapping_add(ts_delta)),
            key,
            value,
            headers,
        })
    }
}

/// Reads a varint-length-prefixed byte string, `-1` meaning null.
fn read_varbytes(r: &mut Reader) -> Result<Option<Bytes>, DecodeError> {
    let at = r.offset();
    let len = r.varint()?;
    match len {
        -1 => Ok(None),
        n if n < -1 => Err(DecodeError::new(
            at,
            DecodeErrorKind::InvalidLength { length: n.into() },
        )),
        n => {
            let n = r.check_len(n as u64)?;
            r.bytes(n).map(Some)
        }
    }
}

impl Iterator for Records {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.remaining == 0 {
            self.done = true;
            if !self.r.is_empty() {
                return Some(Err(self
                    .r
                    .error(DecodeErrorKind::TrailingBytes {
                        count: self.r.remaining(),
                    })
                    .in_field("records")));
            }
            return None;
        }
        self.remaining -= 1;
        let rec = self.next_record();
        if rec.is_err() {
            self.done = true;
        }
        Some(rec)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            (0, Some(0))
        } else {
            (0, Some(self.remaining as usize + 1))
        }
    }
}
