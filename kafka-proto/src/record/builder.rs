//! Building v2 record batches straight into their wire buffer.

use bytes::Bytes;

use super::{BATCH_HEADER_SIZE, CRC_START, attributes, offsets};
use crate::compression::{Compression, compress_with_level};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::primitives::{
    put_varint, put_varlong, uvarint_word, varint_size, varlong_size, zigzag32,
};

/// The longest key, value or record body `append` accepts: half an i32, so
/// that every length, zigzagged, still fits the i32 varint.
const MAX_FIELD: usize = i32::MAX as usize / 2;

/// Bytes written past the end of a record and cut back: `Head` copies a
/// fixed block, and `put_word` stores a whole word.
const HEAD_SLACK: usize = Head::BLOCK;

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
    /// The codec's level (KIP-390); `None`: its default.
    level: Option<i32>,
    /// Reserved header, then the records as they are appended.
    buf: Vec<u8>,
    /// Capacity for the next batch's buffer (the size of the last one, plus
    /// the slack of the fast path's block copies).
    capacity: usize,
    count: i32,
    /// The next record's offset delta (`count`) as a varint word and its
    /// length, kept up to date by a cheap increment.
    delta_word: u64,
    delta_len: usize,
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
            level: None,
            buf,
            capacity,
            count: 0,
            delta_word: 0,
            delta_len: 1,
            base_timestamp: -1,
            max_timestamp: -1,
        }
    }

    /// The codec the batch will be sealed with.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Sets the codec's compression level for the batches sealed from now
    /// on (`None`: the codec's default); see
    /// [`compress_with_level`](crate::compression::compress_with_level).
    pub fn set_compression_level(&mut self, level: Option<i32>) {
        self.level = level;
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
    // A small dispatcher, inlined so that a caller's constant empty headers
    // pick the specialised path at compile time; the paths themselves stay
    // out of line (one copy, registers for every argument).
    #[inline]
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> Result<i32, EncodeError> {
        if headers.is_empty() {
            match self.append_unheaded(timestamp, key, value) {
                Some(delta) => Ok(delta),
                None => self.append_general(timestamp, key, value, headers),
            }
        } else {
            self.append_headed(timestamp, key, value, headers)
        }
    }

    /// The fast path for a record without headers (most records).
    #[inline(never)]
    fn append_unheaded(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Option<i32> {
        self.try_append(timestamp, key, value, &[])
    }

    /// The fast path for a record with headers.
    #[inline(never)]
    fn append_headed(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> Result<i32, EncodeError> {
        match self.try_append(timestamp, key, value, headers) {
            Some(delta) => Ok(delta),
            None => self.append_general(timestamp, key, value, headers),
        }
    }

    /// Writes the record and returns its offset delta, or returns `None`
    /// having written nothing when the record needs `append_general`: a
    /// length over the limits (which that reports) or a timestamp more than
    /// an i32 of milliseconds (24 days) from the first record.
    #[inline(always)]
    fn try_append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> Option<i32> {
        let key_len = key.map_or(0, <[u8]>::len);
        let value_len = value.map_or(0, <[u8]>::len);
        if key_len > MAX_FIELD || value_len > MAX_FIELD || self.count == i32::MAX {
            return None;
        }
        let base = if self.count == 0 {
            timestamp
        } else {
            self.base_timestamp
        };
        let timestamp_delta = i32::try_from(timestamp.wrapping_sub(base)).ok()?;
        let delta = self.count;
        let (ts_word, ts_len) = uvarint_word(zigzag32(timestamp_delta));
        let (delta_word, delta_len) = (self.delta_word, self.delta_len);
        let (key_word, key_len_len) = length_word(key);
        let (value_word, value_len_len) = length_word(value);
        let mut body = 1 // attributes
            + ts_len
            + delta_len
            + key_len_len
            + key_len
            + value_len_len
            + value_len;
        if headers.is_empty() {
            body += 1;
        } else {
            body += varint_size(headers.len() as i32);
            for h in headers {
                body += bytes_size(Some(h.key.as_bytes())) + bytes_size(h.value);
            }
        }
        if body > MAX_FIELD {
            return None;
        }
        // Zigzag of a non-negative length is a doubling.
        let (length_word, length_len) = uvarint_word((body as u32) << 1);

        // Everything up to the key (and, without a key, up to the value) is
        // assembled on the stack, each varint stored as a whole word, and
        // copied into the batch as one fixed-size block that is then cut
        // back: no per-byte capacity checks, no variable-length memcpy.
        // Fast-path varints have at most 5 bytes, so a one-byte field and a
        // varint still fit one word: the attributes (0, unused) go in front
        // of the timestamp delta, and a null key's length (-1, zigzagged to
        // 1) in front of the value length.
        let mut head = Head::new();
        head.put(length_word, length_len);
        head.put(ts_word << 8, 1 + ts_len);
        head.put(delta_word, delta_len);
        // No up-front `reserve`: each copy below checks capacity anyway, and
        // growth doubles, so one more check per record would buy nothing.
        let buf = &mut self.buf;
        match key {
            None => {
                head.put(value_word << 8 | 1, 1 + value_len_len);
                head.write_to(buf);
            }
            Some(key) => {
                head.put(key_word, key_len_len);
                head.write_to(buf);
                buf.extend_from_slice(key);
                put_word(buf, value_word, value_len_len);
            }
        }
        if let Some(value) = value {
            buf.extend_from_slice(value);
        }
        if headers.is_empty() {
            buf.push(0);
        } else {
            put_varint(buf, headers.len() as i32);
            for h in headers {
                put_bytes(buf, Some(h.key.as_bytes()));
                put_bytes(buf, h.value);
            }
        }
        self.appended(timestamp);
        Some(delta)
    }

    /// `append` one field at a time: any timestamp delta, and every length
    /// check with its error. The fast path hands over whatever it declines.
    #[cold]
    #[inline(never)]
    fn append_general(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> Result<i32, EncodeError> {
        let too_long = |field, length| EncodeError::TooLong { field, length };
        for (field, b) in [("key", key), ("value", value)] {
            if let Some(b) = b {
                if b.len() > MAX_FIELD {
                    return Err(too_long(field, b.len()));
                }
            }
        }
        if self.count == i32::MAX {
            return Err(too_long("records", self.count as usize));
        }
        let body = self.body_size(timestamp, key, value, headers);
        if body > MAX_FIELD {
            return Err(too_long("record", body));
        }
        let base = if self.count == 0 {
            timestamp
        } else {
            self.base_timestamp
        };
        let delta = self.count;
        let buf = &mut self.buf;
        buf.reserve(varint_size(body as i32) + body);
        put_varint(buf, body as i32);
        buf.push(0); // record attributes: unused
        put_varlong(buf, timestamp.wrapping_sub(base));
        put_varint(buf, delta);
        put_bytes(buf, key);
        put_bytes(buf, value);
        put_varint(buf, headers.len() as i32);
        for h in headers {
            put_bytes(buf, Some(h.key.as_bytes()));
            put_bytes(buf, h.value);
        }
        self.appended(timestamp);
        Ok(delta)
    }

    /// Accounts for a record just written with `timestamp`.
    #[inline(always)]
    fn appended(&mut self, timestamp: i64) {
        if self.count == 0 {
            self.base_timestamp = timestamp;
            self.max_timestamp = timestamp;
        } else if timestamp > self.max_timestamp {
            self.max_timestamp = timestamp;
        }
        self.count += 1;
        // The zigzag offset delta grows by 2 per record; only when its low
        // 7-bit group would carry is the varint re-encoded.
        if self.delta_word & 0x7f < 0x7e {
            self.delta_word += 2;
        } else {
            (self.delta_word, self.delta_len) = uvarint_word((self.count as u32) << 1);
        }
    }

    /// Fills in the header, compresses if configured, and returns the
    /// finished batch. The builder is left empty for the next batch.
    pub fn seal(&mut self, options: &BatchOptions) -> Result<Bytes, EncodeError> {
        self.seal_reusing(options, None)
    }

    /// [`seal`](Self::seal) with a spare buffer to build in instead of a
    /// new allocation: the next batch's buffer when uncompressed (the sealed
    /// batch takes the builder's), the compressed output otherwise. A
    /// producer hands back the buffers of batches it is done with (see
    /// [`Bytes::try_into_mut`]), so the pages it writes batches into stay
    /// mapped rather than being returned to the system and faulted in, zeroed,
    /// for every batch. Whatever the spare holds is discarded; a spare
    /// smaller than the planned buffer (or half the records, compressed) is
    /// dropped and a buffer allocated as `seal` does.
    pub fn seal_reusing(
        &mut self,
        options: &BatchOptions,
        spare: Option<Vec<u8>>,
    ) -> Result<Bytes, EncodeError> {
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
            // The next batch's buffer is as large as this one was planned or
            // grew (`reserve_batch` re-plans it); the slack keeps the last
            // record's block copy of a same-sized batch from doubling it.
            self.capacity = self.capacity.max(self.buf.len() + HEAD_SLACK);
            let next = spare_or_new(spare, self.capacity);
            let mut batch = std::mem::replace(&mut self.buf, next);
            header.fill(&mut batch);
            trim(&mut batch);
            Bytes::from(batch)
        } else {
            let mut out = spare_or_new(spare, BATCH_HEADER_SIZE + self.buf.len() / 2);
            out.extend_from_slice(&[0; BATCH_HEADER_SIZE]);
            let result = compress_with_level(
                self.compression,
                self.level,
                &self.buf[BATCH_HEADER_SIZE..],
                &mut out,
            );
            self.buf.clear();
            if let Err(e) = result {
                self.reset();
                return Err(e);
            }
            header.fill(&mut out);
            trim(&mut out);
            Bytes::from(out)
        };
        self.reset();
        Ok(sealed)
    }

    /// Plans the buffer for a batch of `bytes` bytes in all (header
    /// included), so appending up to that size does not reallocate, and the
    /// buffers of the batches sealed after it alike. An empty builder's
    /// buffer becomes exactly [`buffer_for`](Self::buffer_for)`(bytes)`
    /// (a pooled builder that last served a large batch gives the excess
    /// back), so a caller that counts memory knows what it holds. Appending
    /// past the planned size still works: the buffer grows by doubling.
    pub fn reserve_batch(&mut self, bytes: usize) {
        let wanted = Self::buffer_for(bytes);
        self.capacity = wanted;
        if self.count > 0 {
            self.buf.reserve(wanted.saturating_sub(self.buf.len()));
        } else if self.buf.capacity() > wanted {
            // In place: allocators shrink a block without copying it.
            self.buf.shrink_to(wanted);
        } else if self.buf.capacity() < wanted {
            // A fresh buffer rather than a grown one: growing would copy
            // the old one whole, though it holds nothing yet.
            self.buf = Vec::with_capacity(wanted);
            self.buf.resize(BATCH_HEADER_SIZE, 0);
        }
    }

    /// The buffer [`reserve_batch`](Self::reserve_batch) plans for a batch
    /// of `bytes` bytes: that (at least a header's worth) and a few bytes
    /// that appending writes past a record's end and takes back.
    #[inline]
    pub fn buffer_for(bytes: usize) -> usize {
        bytes.max(BATCH_HEADER_SIZE).saturating_add(HEAD_SLACK)
    }

    /// The bytes the builder's buffer holds allocated (its capacity).
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// Whether a record of at most `record` bytes can be appended without
    /// growing the buffer.
    #[inline]
    pub fn has_room_for(&self, record: usize) -> bool {
        // `len + HEAD_SLACK` cannot overflow: the buffer holds `len`.
        record
            <= self
                .buf
                .capacity()
                .saturating_sub(self.buf.len() + HEAD_SLACK)
    }

    /// What [`allocated`](Self::allocated) becomes if room is made
    /// ([`grow_for`](Self::grow_for)) for a record of at most `record`
    /// bytes: the same if it fits, otherwise twice as much, but no more
    /// than `ceiling` unless the record needs more. A caller that bounds its
    /// memory checks this before appending; `ceiling` is typically
    /// [`buffer_for`](Self::buffer_for) the size the batch closes at.
    pub fn allocated_for(&self, record: usize, ceiling: usize) -> usize {
        let cap = self.buf.capacity();
        let needed = self
            .buf
            .len()
            .saturating_add(record)
            .saturating_add(HEAD_SLACK);
        if needed <= cap {
            return cap;
        }
        cap.saturating_mul(2).min(ceiling).max(needed)
    }

    /// Makes room for a record of at most `record` bytes, growing the
    /// buffer to exactly [`allocated_for`](Self::allocated_for)`(record,
    /// ceiling)`, so that appending it does not grow it further.
    pub fn grow_for(&mut self, record: usize, ceiling: usize) {
        let target = self.allocated_for(record, ceiling);
        if target > self.buf.capacity() {
            self.buf.reserve_exact(target - self.buf.len());
        }
    }

    /// Drops any appended records, keeping the buffer's capacity.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf.resize(BATCH_HEADER_SIZE, 0);
        self.count = 0;
        self.delta_word = 0;
        self.delta_len = 1;
        self.base_timestamp = -1;
        self.max_timestamp = -1;
    }
}

/// `spare`, emptied, when it holds at least `capacity` bytes; otherwise a
/// new buffer of `capacity` (the spare, if any, is dropped).
fn spare_or_new(spare: Option<Vec<u8>>, capacity: usize) -> Vec<u8> {
    match spare {
        Some(mut v) if v.capacity() >= capacity => {
            v.clear();
            v
        }
        _ => Vec::with_capacity(capacity),
    }
}

/// Gives back a sealed batch's unused capacity when it is a large share of
/// the buffer (a batch that left early, or compressed well), so a batch
/// waiting for its acknowledgement holds about its own size. Shrinking in
/// place is what allocators do for a shrink, so this rarely copies.
fn trim(batch: &mut Vec<u8>) {
    let spare = batch.capacity() - batch.len();
    if spare > 1024 && spare > batch.len() / 4 {
        batch.shrink_to_fit();
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

/// The start of a record (length, attributes, deltas, key length and,
/// without a key, value length), assembled on the stack. Fast-path varints
/// are at most 5 bytes, so the longest head is 5 + 1 + 5 + 5 + 1 + 5 = 22
/// bytes, written as one `BLOCK`.
struct Head {
    bytes: [u8; Head::BLOCK + 8],
    len: usize,
}

impl Head {
    const BLOCK: usize = 32;

    #[inline(always)]
    fn new() -> Self {
        Head {
            bytes: [0; Head::BLOCK + 8],
            len: 0,
        }
    }

    /// Appends the first `len` bytes of `word`.
    #[inline(always)]
    fn put(&mut self, word: u64, len: usize) {
        debug_assert!(self.len + len <= Head::BLOCK);
        // The mask proves the store in bounds; lengths never reach it.
        let at = self.len & (Head::BLOCK - 1);
        self.bytes[at..at + 8].copy_from_slice(&word.to_le_bytes());
        self.len = at + len;
    }

    #[inline(always)]
    fn write_to(&self, buf: &mut Vec<u8>) {
        let end = buf.len() + self.len;
        buf.extend_from_slice(&self.bytes[..Head::BLOCK]);
        buf.truncate(end);
    }
}

/// A length prefix of a nullable byte string, as a varint word.
#[inline(always)]
fn length_word(b: Option<&[u8]>) -> (u64, usize) {
    match b {
        // Zigzag of a non-negative length is a doubling, exact because
        // callers have checked the length against `MAX_FIELD`.
        Some(b) => uvarint_word((b.len() as u32) << 1),
        // -1, zigzagged.
        None => (1, 1),
    }
}

/// Appends the first `len` bytes of a varint word.
#[inline(always)]
fn put_word(buf: &mut Vec<u8>, word: u64, len: usize) {
    let end = buf.len() + len;
    buf.extend_from_slice(&word.to_le_bytes());
    buf.truncate(end);
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

#[cfg(test)]
mod fast_path_tests {
    //! The word-at-a-time fast path against the byte-at-a-time general
    //! path, which stays as written from the spec.

    use super::*;
    use crate::primitives::{put_uvarint, uvarint_size, uvarint_word};

    fn pair() -> (RecordBatchBuilder, RecordBatchBuilder) {
        (
            RecordBatchBuilder::new(Compression::None),
            RecordBatchBuilder::new(Compression::None),
        )
    }

    /// Appends through `append` to `fast` and through the general path to
    /// `slow`, and checks both return and write the same.
    fn append_both(
        fast: &mut RecordBatchBuilder,
        slow: &mut RecordBatchBuilder,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) {
        let a = fast.append(timestamp, key, value, headers);
        let b = slow.append_general(timestamp, key, value, headers);
        assert_eq!(a, b);
        assert_eq!(fast.buf, slow.buf, "record at offset delta {:?}", a);
        assert_eq!(
            (fast.count, fast.base_timestamp, fast.max_timestamp),
            (slow.count, slow.base_timestamp, slow.max_timestamp)
        );
        assert_eq!(
            (fast.delta_word, fast.delta_len),
            uvarint_word((fast.count as u32) << 1)
        );
    }

    #[test]
    fn uvarint_word_matches_the_byte_writer() {
        let mut values = vec![0, 1, u32::MAX, u32::MAX - 1];
        for shift in 1..32 {
            let edge = 1u32 << shift;
            values.extend([edge - 1, edge, edge + 1]);
        }
        // A deterministic spread between the edges.
        let mut x = 0x9e37_79b9_u32;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            values.push(x >> (x % 32));
        }
        for v in values {
            let mut expected = Vec::new();
            put_uvarint(&mut expected, v);
            let (word, len) = uvarint_word(v);
            assert_eq!(len, expected.len(), "{v:#x}");
            assert_eq!(uvarint_size(v), expected.len(), "{v:#x}");
            assert_eq!(&word.to_le_bytes()[..len], &expected[..], "{v:#x}");
            assert_eq!(word >> (8 * len), 0, "{v:#x}: bytes past the varint");
        }
    }

    #[test]
    fn field_lengths_across_varint_boundaries_match() {
        let big = vec![7u8; 20_000];
        let lengths = [0, 1, 63, 64, 65, 127, 128, 8191, 8192, 8193, 20_000];
        let (mut fast, mut slow) = pair();
        let t0 = 1_700_000_000_000;
        for (i, &k) in lengths.iter().enumerate() {
            for &v in &lengths {
                let key = (i % 3 != 0).then(|| &big[..k]);
                let value = (v != 1).then(|| &big[..v]);
                append_both(&mut fast, &mut slow, t0 + v as i64, key, value, &[]);
                let headers = [
                    Header {
                        key: "h",
                        value: Some(&big[..k]),
                    },
                    Header {
                        key: "",
                        value: None,
                    },
                ];
                append_both(&mut fast, &mut slow, t0 - 1, key, value, &headers);
            }
        }
        let options = BatchOptions::default();
        assert_eq!(fast.seal(&options), slow.seal(&options));
    }

    #[test]
    fn timestamp_deltas_of_every_size_match() {
        let t0 = 1_700_000_000_000_i64;
        let mut deltas = vec![0, 1, -1, i64::from(i32::MAX), i64::from(i32::MIN)];
        for shift in 1..63 {
            let edge = 1i64 << shift;
            deltas.extend([edge - 1, edge, -edge, -edge - 1]);
        }
        let (mut fast, mut slow) = pair();
        for d in deltas {
            append_both(
                &mut fast,
                &mut slow,
                t0.wrapping_add(d),
                None,
                Some(b"v"),
                &[],
            );
            append_both(
                &mut fast,
                &mut slow,
                t0.wrapping_add(d),
                Some(b"k"),
                None,
                &[],
            );
        }
    }

    #[test]
    fn offset_deltas_across_varint_boundaries_match() {
        // Start just below each point where the zigzag offset delta gains a
        // byte (and just below the record limit) instead of appending
        // millions of records.
        for start in [0, 60, 8188, (1 << 20) - 4, (1 << 27) - 4, i32::MAX - 4] {
            let (mut fast, mut slow) = pair();
            for b in [&mut fast, &mut slow] {
                b.count = start;
                b.base_timestamp = 0;
                (b.delta_word, b.delta_len) = uvarint_word((start as u32) << 1);
            }
            for i in 0..8 {
                if fast.count == i32::MAX {
                    let err = fast.append(i, None, None, &[]);
                    assert_eq!(err, slow.append_general(i, None, None, &[]));
                    assert!(matches!(
                        err,
                        Err(EncodeError::TooLong {
                            field: "records",
                            ..
                        })
                    ));
                } else {
                    append_both(&mut fast, &mut slow, i, None, Some(b"value"), &[]);
                }
            }
        }
    }

    #[test]
    fn a_declined_record_is_reported_and_writes_nothing() {
        // Key and value limits need a gigabyte to reach; the record count
        // limit takes the same way out of the fast path.
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.append(5, Some(b"k"), Some(b"v"), &[]).unwrap();
        b.count = i32::MAX;
        let before = b.buf.clone();
        let header = [Header {
            key: "h",
            value: None,
        }];
        for headers in [&[][..], &header[..]] {
            assert_eq!(
                b.append(6, None, Some(b"v"), headers),
                Err(EncodeError::TooLong {
                    field: "records",
                    length: i32::MAX as usize
                })
            );
            assert_eq!(b.buf, before);
            assert_eq!((b.count, b.max_timestamp), (i32::MAX, 5));
        }
    }
}

#[cfg(test)]
mod capacity_tests {
    //! The buffer follows the batches planned, not the largest one ever.

    use super::*;
    use crate::record::RecordBatch;

    fn fill(b: &mut RecordBatchBuilder, records: usize) {
        for _ in 0..records {
            b.append(0, None, Some(&[7; 100]), &[]).unwrap();
        }
    }

    #[test]
    fn growth_is_known_before_it_happens() {
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.reserve_batch(1000);
        let planned = RecordBatchBuilder::buffer_for(1000);
        assert_eq!(b.allocated(), planned, "an empty builder's plan is exact");
        let ceiling = RecordBatchBuilder::buffer_for(4000);
        let record = 120; // an upper bound of `fill`'s records
        let mut growths = Vec::new();
        for _ in 0..60 {
            let before = b.allocated();
            let expected = b.allocated_for(record, ceiling);
            assert_eq!(b.has_room_for(record), expected == before);
            b.grow_for(record, ceiling);
            assert_eq!(b.allocated(), expected);
            // The append itself never grows the buffer.
            fill(&mut b, 1);
            assert_eq!(b.allocated(), expected);
            if expected != before {
                growths.push(expected);
            }
        }
        // Doubled once, then capped at the ceiling, then by the need only.
        assert_eq!(growths[0], 2 * planned);
        assert_eq!(growths[1], ceiling);
        assert!(growths[2..].windows(2).all(|w| w[1] - w[0] <= record + 32));
        let batch = RecordBatch::parse(b.seal(&BatchOptions::default()).unwrap()).unwrap();
        assert_eq!(batch.records(1 << 20).unwrap().count(), 60);
    }

    #[test]
    fn a_plan_larger_than_an_empty_buffer_is_a_fresh_exact_one() {
        let mut b = RecordBatchBuilder::with_capacity(Compression::None, 100);
        b.reserve_batch(30_000);
        assert_eq!(b.allocated(), RecordBatchBuilder::buffer_for(30_000));
        fill(&mut b, 3);
        let batch = RecordBatch::parse(b.seal(&BatchOptions::default()).unwrap()).unwrap();
        batch.verify_crc().unwrap();
        assert_eq!(batch.records(1 << 20).unwrap().count(), 3);
    }

    #[test]
    fn a_plan_smaller_than_the_buffer_gives_the_excess_back() {
        let mut b = RecordBatchBuilder::with_capacity(Compression::None, 64 * 1024);
        fill(&mut b, 500);
        b.seal(&BatchOptions::default()).unwrap();
        assert!(b.allocated() >= 50_000);
        b.reserve_batch(2048);
        assert_eq!(b.allocated(), RecordBatchBuilder::buffer_for(2048));
        // Appending past the plan still works (the buffer grows).
        fill(&mut b, 100);
        let batch = RecordBatch::parse(b.seal(&BatchOptions::default()).unwrap()).unwrap();
        batch.verify_crc().unwrap();
        assert_eq!(batch.records(1 << 20).unwrap().count(), 100);
    }

    #[test]
    fn a_spare_buffer_large_enough_is_built_in_and_the_bytes_match() {
        for compression in [Compression::None, Compression::Lz4] {
            let mut plain = RecordBatchBuilder::with_capacity(compression, 64 * 1024);
            let mut reusing = RecordBatchBuilder::with_capacity(compression, 64 * 1024);
            fill(&mut plain, 300);
            fill(&mut reusing, 300);
            let options = BatchOptions {
                producer_id: 7,
                base_sequence: 3,
                ..BatchOptions::default()
            };
            let want = plain.seal(&options).unwrap();
            // A first sealed batch's buffer, as a producer gives it back.
            let spare = Vec::<u8>::with_capacity(128 * 1024);
            let spare_at = spare.as_ptr();
            let got = reusing.seal_reusing(&options, Some(spare)).unwrap();
            assert!(got == want, "{compression:?}: the bytes differ");
            if compression == Compression::None {
                // The next batch is built in the spare.
                fill(&mut reusing, 1);
                assert!(reusing.allocated() >= 128 * 1024);
                assert_eq!(reusing.buf.as_ptr(), spare_at);
                reusing.reset();
            } else {
                // The compressed output went into it (then was trimmed).
                assert!(got.len() < 64 * 1024);
            }
            // A spare too small is not used: the result is the same.
            fill(&mut plain, 300);
            fill(&mut reusing, 300);
            let want = plain.seal(&options).unwrap();
            let got = reusing
                .seal_reusing(&options, Some(Vec::with_capacity(16)))
                .unwrap();
            assert!(got == want, "{compression:?}: the bytes differ");
        }
    }

    #[test]
    fn a_plan_fitting_the_batch_is_kept_and_not_shrunk_while_appending() {
        let mut b = RecordBatchBuilder::with_capacity(Compression::None, 0);
        b.reserve_batch(20_000);
        let planned = b.allocated();
        fill(&mut b, 10);
        b.reserve_batch(100);
        assert_eq!(b.allocated(), planned, "records are in it: no shrink");
        fill(&mut b, 100);
        assert_eq!(b.allocated(), planned, "the plan held the batch");
    }

    #[test]
    fn a_sealed_batch_much_smaller_than_its_buffer_is_trimmed() {
        let mut v = Vec::with_capacity(64 * 1024);
        v.extend_from_slice(&[1; 2000]);
        trim(&mut v);
        assert!(v.capacity() < 4096, "{}", v.capacity());
        let mut v = Vec::with_capacity(2600);
        v.extend_from_slice(&[1; 2000]);
        trim(&mut v);
        assert_eq!(v.capacity(), 2600, "little spare: kept");
    }
}
