//! Building v2 record batches straight into their wire buffer.

use bytes::Bytes;

use super::{BATCH_HEADER_SIZE, CRC_START, attributes, offsets};
use crate::compression::{Compression, compress};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::primitives::{put_varint, put_varlong, varint_size, varlong_size};

/// A record header to append: a string key and an optional value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The header key.
    pub key: &'a str,
    /// The header value, or `None` for null.
    pub value: Option<&'a [u8]>,
}

/// The header fields written when a batch is sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Offset of the first record; producers send 0 and the broker assigns.
    pub base_offset: i64,
    /// Leader epoch; producers send -1.
    pub partition_leader_epoch: i32,
    /// Producer id from InitProducerId, or -1 without idempotence.
    pub producer_id: i64,
    /// Producer epoch, or -1 without idempotence.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1 without idempotence.
    pub base_sequence: i32,
    /// Whether the batch is part of a transaction.
    pub transactional: bool,
    /// Whether the batch is a control batch (transaction markers).
    pub control: bool,
    /// When set, the batch uses log-append time with this max timestamp
    /// (what a broker stamps; producers leave it `None`).
    pub log_append_time: Option<i64>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            base_offset: 0,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
            control: false,
            log_append_time: None,
        }
    }
}

/// Builds one v2 record batch.
///
/// Records are encoded directly after a reserved header in one growing
/// buffer, so each key and value is copied exactly once; nothing is
/// allocated per record. [`seal`](Self::seal) fills in the header (and
/// compresses the records if asked) and leaves the builder empty and ready
/// for the next batch, keeping its buffers.
///
/// ```
/// use kafka_proto::compression::Compression;
/// use kafka_proto::record::{BatchOptions, Header, RecordBatch, RecordBatchBuilder};
///
/// let mut b = RecordBatchBuilder::new(Compression::None);
/// b.append(1_700_000_000_000, Some(b"k"), Some(b"v"), &[Header { key: "h", value: None }])
///     .unwrap();
/// let batch = b.seal(&BatchOptions { producer_id: 7, producer_epoch: 0, base_sequence: 0, ..Default::default() })
///     .unwrap();
/// let view = RecordBatch::parse(batch).unwrap();
/// view.verify_crc().unwrap();
/// let records: Vec<_> = view.records(1 << 20).unwrap().collect::<Result<_, _>>().unwrap();
/// assert_eq!(records[0].value.as_deref(), Some(&b"v"[..]));
/// ```
#[derive(Debug)]
pub struct RecordBatchBuilder {
    compression: Compression,
    /// Reserved header, then the records as they are appended.
    buf: Vec<u8>,
    /// Capacity for the next batch's buffer (the size of the last one).
    capacity: usize,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
}

impl RecordBatchBuilder {
    /// An empty builder for batches compressed with `compression`.
    pub fn new(compression: Compression) -> Self {
        Self::with_capacity(compression, 0)
    }

    /// An empty builder whose buffer holds `capacity` bytes before growing.
    pub fn with_capacity(compression: Compression, capacity: usize) -> Self {
        let capacity = capacity.max(BATCH_HEADER_SIZE);
        let mut buf = Vec::with_capacity(capacity);
        buf.resize(BATCH_HEADER_SIZE, 0);
        RecordBatchBuilder {
            compression,
            buf,
            capacity,
            count: 0,
            base_timestamp: -1,
            max_timestamp: -1,
        }
    }

    /// The codec the batch will be sealed with.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Records appended so far.
    pub fn record_count(&self) -> usize {
        self.count as usize
    }

    /// Whether no record has been appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The uncompressed size of the batch so far, header included: an upper
    /// bound (for compressed batches a generous one) of the sealed size.
    pub fn size_in_bytes(&self) -> usize {
        self.buf.len()
    }

    /// The bytes a record would add to the batch (before compression).
    pub fn record_size(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> usize {
        let body = self.body_size(timestamp, key, value, headers);
        varint_size(body as i32) + body
    }

    fn body_size(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> usize {
        let base = if self.count == 0 {
            timestamp
        } else {
            self.base_timestamp
        };
        let mut n = 1
            + varlong_size(timestamp.wrapping_sub(base))
            + varint_size(self.count)
            + bytes_size(key)
            + bytes_size(value)
            + varint_size(headers.len() as i32);
        for h in headers {
            n += bytes_size(Some(h.key.as_bytes())) + bytes_size(h.value);
        }
        n
    }

    /// Appends a record and returns its offset delta within the batch.
    ///
    /// The first record's timestamp becomes the batch's base timestamp.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> Result<i32, EncodeError> {
        let too_long = |field, length| EncodeError::TooLong { field, length };
        for (field, b) in [("key", key), ("value", value)] {
            if let Some(b) = b {
                if b.len() > i32::MAX as usize / 2 {
                    return Err(too_long(field, b.len()));
                }
            }
        }
        if self.count == i32::MAX {
            return Err(too_long("records", self.count as usize));
        }
        let body = self.body_size(timestamp, key, value, headers);
        if body > i32::MAX as usize / 2 {
            return Err(too_long("record", body));
        }
        if self.count == 0 {
            self.base_timestamp = timestamp;
            self.max_timestamp = timestamp;
        } else if timestamp > self.max_timestamp {
            self.max_timestamp = timestamp;
        }
        let delta = self.count;
        let buf = &mut self.buf;
        buf.reserve(varint_size(body as i32) + body);
        put_varint(buf, body as i32);
        buf.push(0); // record attributes: unused
        put_varlong(buf, timestamp.wrapping_sub(self.base_timestamp));
        put_varint(buf, delta);
        put_bytes(buf, key);
        put_bytes(buf, value);
        put_varint(buf, headers.len() as i32);
        for h in headers {
            put_bytes(buf, Some(h.key.as_bytes()));
            put_bytes(buf, h.value);
        }
        self.count += 1;
        Ok(delta)
    }

    /// Fills in the header, compresses if configured, and returns the
    /// finished batch. The builder is left empty for the next batch.
    pub fn seal(&mut self, options: &BatchOptions) -> Result<Bytes, EncodeError> {
        let count = self.count;
        let (base_ts, max_ts) = (self.base_timestamp, self.max_timestamp);
        let mut attrs = i16::from(self.compression.id());
        let mut max_ts = max_ts;
        if let Some(t) = options.log_append_time {
            attrs |= attributes::LOG_APPEND_TIME;
            max_ts = t;
        }
        if options.transactional {
            attrs |= attributes::TRANSACTIONAL;
        }
        if options.control {
            attrs |= attributes::CONTROL;
        }
        let header = SealedHeader {
            options,
            attrs,
            count,
            base_ts,
            max_ts,
        };
        let sealed = if self.compression == Compression::None {
            self.capacity = self.buf.len();
            let mut batch = std::mem::replace(&mut self.buf, Vec::with_capacity(self.capacity));
            header.fill(&mut batch);
            Bytes::from(batch)
        } else {
            let mut out = Vec::with_capacity(BATCH_HEADER_SIZE + self.buf.len() / 2);
            out.extend_from_slice(&[0; BATCH_HEADER_SIZE]);
            let result = compress(self.compression, &self.buf[BATCH_HEADER_SIZE..], &mut out);
            self.buf.clear();
            if let Err(e) = result {
                self.reset();
                return Err(e);
            }
            header.fill(&mut out);
            Bytes::from(out)
        };
        self.reset();
        Ok(sealed)
    }

    /// Drops any appended records, keeping the buffer's capacity.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf.resize(BATCH_HEADER_SIZE, 0);
        self.count = 0;
        self.base_timestamp = -1;
        self.max_timestamp = -1;
    }
}

/// The values `seal` writes into the reserved header.
struct SealedHeader<'a> {
    options: &'a BatchOptions,
    attrs: i16,
    count: i32,
    base_ts: i64,
    max_ts: i64,
}

impl SealedHeader<'_> {
    fn fill(&self, h: &mut [u8]) {
        let o = self.options;
        let total = h.len();
        put_at(h, offsets::BASE_OFFSET, &o.base_offset.to_be_bytes());
        put_at(
            h,
            offsets::BATCH_LENGTH,
            &((total - 12) as i32).to_be_bytes(),
        );
        put_at(
            h,
            offsets::PARTITION_LEADER_EPOCH,
            &o.partition_leader_epoch.to_be_bytes(),
        );
        h[offsets::MAGIC] = 2;
        put_at(h, offsets::ATTRIBUTES, &self.attrs.to_be_bytes());
        put_at(
            h,
            offsets::LAST_OFFSET_DELTA,
            &(self.count - 1).to_be_bytes(),
        );
        put_at(h, offsets::BASE_TIMESTAMP, &self.base_ts.to_be_bytes());
        put_at(h, offsets::MAX_TIMESTAMP, &self.max_ts.to_be_bytes());
        put_at(h, offsets::PRODUCER_ID, &o.producer_id.to_be_bytes());
        put_at(h, offsets::PRODUCER_EPOCH, &o.producer_epoch.to_be_bytes());
        put_at(h, offsets::BASE_SEQUENCE, &o.base_sequence.to_be_bytes());
        put_at(h, offsets::RECORDS_COUNT, &self.count.to_be_bytes());
        let crc = crc32c::crc32c(&h[CRC_START..]);
        put_at(h, offsets::CRC, &crc.to_be_bytes());
    }
}

fn put_at(buf: &mut [u8], at: usize, bytes: &[u8]) {
    buf[at..at + bytes.len()].copy_from_slice(bytes);
}

#[inline(always)]
fn bytes_size(b: Option<&[u8]>) -> usize {
    match b {
        Some(b) => varint_size(b.len() as i32) + b.len(),
        None => 1,
    }
}

#[inline(always)]
fn put_bytes(buf: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        Some(b) => {
            put_varint(buf, b.len() as i32);
            buf.extend_from_slice(b);
        }
        None => put_varint(buf, -1),
    }
}

fn check_v2_header(batch: &[u8]) -> Result<(), DecodeError> {
    if batch.len() < BATCH_HEADER_SIZE {
        return Err(DecodeError::new(
            0,
            DecodeErrorKind::UnexpectedEof {
                needed: BATCH_HEADER_SIZE,
                available: batch.len(),
            },
        ));
    }
    let magic = batch[offsets::MAGIC] as i8;
    if magic != 2 {
        return Err(DecodeError::new(
            offsets::MAGIC,
            DecodeErrorKind::UnknownMagic { magic },
        ));
    }
    Ok(())
}

/// Rewrites the producer id, epoch and base sequence of a sealed v2 batch
/// and recomputes its CRC, leaving the records untouched.
///
/// Idempotent producers need this when the producer epoch is bumped
/// (KIP-360) and in-flight batches must be re-sequenced.
pub fn restamp(
    batch: &mut [u8],
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
) -> Result<(), DecodeError> {
    check_v2_header(batch)?;
    put_at(batch, offsets::PRODUCER_ID, &producer_id.to_be_bytes());
    put_at(
        batch,
        offsets::PRODUCER_EPOCH,
        &producer_epoch.to_be_bytes(),
    );
    put_at(batch, offsets::BASE_SEQUENCE, &base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    put_at(batch, offsets::CRC, &crc.to_be_bytes());
    Ok(())
}

/// Sets the base offset of a v2 batch (as a broker does on append). The
/// base offset is not covered by the CRC.
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) -> Result<(), DecodeError> {
    check_v2_header(batch)?;
    put_at(batch, offsets::BASE_OFFSET, &base_offset.to_be_bytes());
    Ok(())
}
