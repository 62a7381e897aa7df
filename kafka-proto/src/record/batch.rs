//! A lazy, zero-copy view of one v2 record batch.

use bytes::Bytes;

use super::{
    BATCH_HEADER_SIZE, BatchInfo, CRC_START, LOG_OVERHEAD, Record, RecordHeader, TimestampType,
    attributes, offsets,
};
use crate::compression::{Compression, decompress};
use crate::error::{DecodeError, DecodeErrorKind};

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

    /// The records section: a zero-copy slice for an uncompressed batch, the
    /// decompressed bytes (at most `limit`) otherwise.
    pub fn records_body(&self, limit: usize) -> Result<Bytes, DecodeError> {
        let body = self.data.slice(BATCH_HEADER_SIZE..);
        match self.compression() {
            Compression::None => Ok(body),
            codec => decompress(codec, &body, limit)
                .map(Bytes::from)
                .map_err(|mut e| {
                    e.offset += BATCH_HEADER_SIZE;
                    e.in_field("records")
                }),
        }
    }

    fn cursor(&self, body_base: usize) -> Result<Cursor, DecodeError> {
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
        Ok(Cursor {
            pos: 0,
            base: body_base,
            remaining: count as u32,
            base_offset: self.base_offset(),
            base_timestamp: self.base_timestamp(),
            log_append_time: (self.timestamp_type() == TimestampType::LogAppendTime)
                .then(|| self.max_timestamp()),
            done: false,
        })
    }

    /// Iterates the records as owned [`Record`]s whose keys, values and
    /// headers are slices of one buffer: the batch itself when uncompressed,
    /// or its records decompressed once (at most `limit` bytes).
    pub fn records(&self, limit: usize) -> Result<Records, DecodeError> {
        let body = self.records_body(limit)?;
        let base = if self.compression() == Compression::None {
            BATCH_HEADER_SIZE
        } else {
            0
        };
        Ok(Records {
            cursor: self.cursor(base)?,
            body,
        })
    }

    /// Iterates the records of `body` (from [`records_body`](Self::records_body))
    /// as borrowed views: no allocation and no reference counting per record.
    pub fn records_ref<'a>(&self, body: &'a [u8]) -> Result<RecordsRef<'a>, DecodeError> {
        let base = if self.compression() == Compression::None {
            BATCH_HEADER_SIZE
        } else {
            0
        };
        Ok(RecordsRef {
            cursor: self.cursor(base)?,
            body,
        })
    }
}

/// A record borrowed from a batch's records section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Absolute offset.
    pub offset: i64,
    /// Timestamp in milliseconds.
    pub timestamp: i64,
    /// The key, or `None` for null.
    pub key: Option<&'a [u8]>,
    /// The value, or `None` for null.
    pub value: Option<&'a [u8]>,
    headers: &'a [u8],
    header_count: usize,
}

impl<'a> RecordRef<'a> {
    /// Number of headers.
    pub fn header_count(&self) -> usize {
        self.header_count
    }

    /// The headers as (key, value) pairs. They were validated when the
    /// record was read.
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        let buf = self.headers;
        let mut pos = 0;
        (0..self.header_count).map_while(move |_| {
            let key = varbytes(buf, &mut pos).ok()??;
            let value = varbytes(buf, &mut pos).ok()?;
            Some((key, value))
        })
    }
}

/// Where the next record starts and what the batch header says about them.
#[derive(Debug, Clone)]
struct Cursor {
    pos: usize,
    /// Offset of the body in the batch (for error offsets).
    base: usize,
    remaining: u32,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
    done: bool,
}

#[inline]
fn eof(at: usize) -> DecodeError {
    DecodeError::new(
        at,
        DecodeErrorKind::UnexpectedEof {
            needed: 1,
            available: 0,
        },
    )
}

/// Reads a zigzag varlong from `buf` at `pos`.
#[inline(always)]
fn varlong(buf: &[u8], pos: &mut usize) -> Result<i64, DecodeError> {
    // Most varints in a batch are one byte: deltas and short lengths.
    if let Some(&b) = buf.get(*pos) {
        if b < 0x80 {
            *pos += 1;
            let v = u64::from(b);
            return Ok(((v >> 1) as i64) ^ -((v & 1) as i64));
        }
    }
    varlong_slow(buf, pos)
}

#[cold]
fn varlong_slow(buf: &[u8], pos: &mut usize) -> Result<i64, DecodeError> {
    let mut value: u64 = 0;
    let mut shift = 0;
    loop {
        let b = *buf.get(*pos).ok_or_else(|| eof(*pos))?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
        shift += 7;
        if shift > 63 {
            return Err(DecodeError::new(*pos, DecodeErrorKind::VarintTooLong));
        }
    }
}

/// Reads a zigzag varint (at most five bytes) from `buf` at `pos`.
#[inline(always)]
fn varint(buf: &[u8], pos: &mut usize) -> Result<i32, DecodeError> {
    if let Some(&b) = buf.get(*pos) {
        if b < 0x80 {
            *pos += 1;
            let v = i32::from(b);
            return Ok((v >> 1) ^ -(v & 1));
        }
    }
    let start = *pos;
    let v = varlong(buf, pos)?;
    if *pos - start > 5 || v < i64::from(i32::MIN) || v > i64::from(i32::MAX) {
        return Err(DecodeError::new(start, DecodeErrorKind::VarintTooLong));
    }
    Ok(v as i32)
}

/// Reads a varint-length-prefixed byte string (-1 for null).
#[inline(always)]
fn varbytes<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Option<&'a [u8]>, DecodeError> {
    let at = *pos;
    match varint(buf, pos)? {
        -1 => Ok(None),
        n if n < -1 => Err(DecodeError::new(
            at,
            DecodeErrorKind::InvalidLength { length: n.into() },
        )),
        n => {
            let n = n as usize;
            let end = pos
                .checked_add(n)
                .filter(|e| *e <= buf.len())
                .ok_or_else(|| {
                    DecodeError::new(
                        at,
                        DecodeErrorKind::LengthExceedsInput {
                            length: n as u64,
                            available: buf.len() - *pos,
                        },
                    )
                })?;
            let s = &buf[*pos..end];
            *pos = end;
            Ok(Some(s))
        }
    }
}

impl Cursor {
    /// Reads the next record of `body`, or `None` when all are read.
    fn next<'a>(&mut self, body: &'a [u8]) -> Option<Result<RecordRef<'a>, DecodeError>> {
        if self.done {
            return None;
        }
        if self.remaining == 0 {
            self.done = true;
            if self.pos < body.len() {
                return Some(Err(DecodeError::new(
                    self.base + self.pos,
                    DecodeErrorKind::TrailingBytes {
                        count: body.len() - self.pos,
                    },
                )
                .in_field("records")));
            }
            return None;
        }
        self.remaining -= 1;
        let r = self.read(body).map_err(|mut e| {
            e.offset += self.base;
            e
        });
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }

    #[inline]
    fn read<'a>(&mut self, body: &'a [u8]) -> Result<RecordRef<'a>, DecodeError> {
        let at = self.pos;
        let len = varint(body, &mut self.pos).map_err(|e| e.in_field("record length"))?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| self.pos.checked_add(l))
            .filter(|e| *e <= body.len())
            .ok_or_else(|| {
                DecodeError::new(at, DecodeErrorKind::InvalidLength { length: len.into() })
                    .in_field("record length")
            })?;
        let rec = &body[..end];
        let mut p = self.pos;
        // Record attributes (unused), then the deltas.
        if p >= end {
            return Err(eof(p).in_field("record attributes"));
        }
        p += 1;
        let ts_delta = varlong(rec, &mut p).map_err(|e| e.in_field("timestamp_delta"))?;
        let offset_delta = varint(rec, &mut p).map_err(|e| e.in_field("offset_delta"))?;
        let key = varbytes(rec, &mut p).map_err(|e| e.in_field("key"))?;
        let value = varbytes(rec, &mut p).map_err(|e| e.in_field("value"))?;
        let hat = p;
        let count = varint(rec, &mut p).map_err(|e| e.in_field("headers count"))?;
        if count < 0 {
            return Err(DecodeError::new(
                hat,
                DecodeErrorKind::InvalidLength {
                    length: count.into(),
                },
            )
            .in_field("headers count"));
        }
        let headers_start = p;
        for _ in 0..count {
            let kat = p;
            if varbytes(rec, &mut p)
                .map_err(|e| e.in_field("header key"))?
                .is_none()
            {
                return Err(
                    DecodeError::new(kat, DecodeErrorKind::InvalidLength { length: -1 })
                        .in_field("header key"),
                );
            }
            varbytes(rec, &mut p).map_err(|e| e.in_field("header value"))?;
        }
        if p != end {
            return Err(
                DecodeError::new(p, DecodeErrorKind::TrailingBytes { count: end - p })
                    .in_field("record"),
            );
        }
        self.pos = end;
        Ok(RecordRef {
            offset: self.base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp: self
                .log_append_time
                .unwrap_or(self.base_timestamp.wrapping_add(ts_delta)),
            key,
            value,
            headers: &rec[headers_start..end],
            header_count: count as usize,
        })
    }
}

/// Borrowing iterator over the records of a batch; see [`RecordBatch::records_ref`].
#[derive(Debug, Clone)]
pub struct RecordsRef<'a> {
    cursor: Cursor,
    body: &'a [u8],
}

impl<'a> Iterator for RecordsRef<'a> {
    type Item = Result<RecordRef<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.cursor.next(self.body)
    }
}

/// Iterator over the records of a [`RecordBatch`] as owned [`Record`]s.
///
/// Offsets in errors count from the start of the batch for uncompressed
/// batches and from the start of the decompressed records otherwise.
#[derive(Debug, Clone)]
pub struct Records {
    cursor: Cursor,
    body: Bytes,
}

impl Iterator for Records {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let body = &self.body;
        let r = match self.cursor.next(body)? {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let owned = |s: &[u8]| body.slice_ref(s);
        Some(Ok(Record {
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key.map(owned),
            value: r.value.map(owned),
            headers: r
                .headers()
                .map(|(k, v)| RecordHeader {
                    key: owned(k),
                    value: v.map(owned),
                })
                .collect(),
        }))
    }
}
