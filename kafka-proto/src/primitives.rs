//! Wire primitives: fixed-width integers, varints, strings, byte strings,
//! arrays, UUIDs and tagged fields, in both the classic and the compact
//! ("flexible version") encodings.
//!
//! Every reader checks a length against the bytes actually left before it
//! allocates, so a hostile length prefix costs nothing.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};

/// The version context a value is encoded or decoded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireVersion {
    /// The message version.
    pub version: i16,
    /// Whether this version of the message is "flexible" (KIP-482): compact
    /// strings, bytes and arrays, and tagged fields after every structure.
    pub flexible: bool,
}

impl WireVersion {
    /// A context for `version`, flexible or not.
    pub const fn new(version: i16, flexible: bool) -> Self {
        WireVersion { version, flexible }
    }
}

/// A cursor over a received buffer. Byte fields are returned as zero-copy
/// slices of the underlying [`Bytes`].
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
    start_len: usize,
    base: usize,
}

impl Reader {
    /// A reader over `buf`; offsets in errors count from its start.
    pub fn new(buf: Bytes) -> Self {
        Reader {
            start_len: buf.len(),
            buf,
            base: 0,
        }
    }

    /// A reader over `buf` whose offsets count from `base` (for sub-buffers).
    pub fn with_base(buf: Bytes, base: usize) -> Self {
        Reader {
            start_len: buf.len(),
            buf,
            base,
        }
    }

    /// The offset of the next byte to read.
    pub fn offset(&self) -> usize {
        self.base + self.start_len - self.buf.len()
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// What is left, without consuming it.
    pub fn peek_rest(&self) -> &[u8] {
        &self.buf
    }

    /// Consumes the reader, returning what is left.
    pub fn into_rest(self) -> Bytes {
        self.buf
    }

    /// An error of `kind` at the current offset.
    pub fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(self.offset(), kind)
    }

    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.buf.len() < n {
            Err(self.error(DecodeErrorKind::UnexpectedEof {
                needed: n,
                available: self.buf.len(),
            }))
        } else {
            Ok(())
        }
    }

    /// Fails with `LengthExceedsInput` unless `len` bytes (or elements of at
    /// least one byte) are left.
    pub fn check_len(&self, len: u64) -> Result<usize, DecodeError> {
        if len > self.buf.len() as u64 {
            Err(self.error(DecodeErrorKind::LengthExceedsInput {
                length: len,
                available: self.buf.len(),
            }))
        } else {
            Ok(len as usize)
        }
    }

    /// Reads an int8.
    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        self.need(1)?;
        Ok(self.buf.get_i8())
    }
    /// Reads a big-endian int16.
    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        self.need(2)?;
        Ok(self.buf.get_i16())
    }
    /// Reads a big-endian int32.
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        self.need(4)?;
        Ok(self.buf.get_i32())
    }
    /// Reads a big-endian int64.
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        self.need(8)?;
        Ok(self.buf.get_i64())
    }
    /// Reads a big-endian uint16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        self.need(2)?;
        Ok(self.buf.get_u16())
    }
    /// Reads a big-endian uint32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        self.need(4)?;
        Ok(self.buf.get_u32())
    }
    /// Reads a big-endian IEEE 754 float64.
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        self.need(8)?;
        Ok(self.buf.get_f64())
    }

    /// Reads an unsigned LEB128 varint of at most 32 bits.
    pub fn uvarint(&mut self) -> Result<u32, DecodeError> {
        let mut value: u32 = 0;
        for i in 0..5 {
            self.need(1)?;
            let b = self.buf.get_u8();
            if i == 4 && b > 0x0f {
                return Err(self.error(DecodeErrorKind::VarintTooLong));
            }
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(DecodeErrorKind::VarintTooLong))
    }

    /// Reads an unsigned LEB128 varint of at most 64 bits.
    pub fn uvarlong(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            self.need(1)?;
            let b = self.buf.get_u8();
            if i == 9 && b > 0x01 {
                return Err(self.error(DecodeErrorKind::VarintTooLong));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(DecodeErrorKind::VarintTooLong))
    }

    /// Reads a zigzag-encoded signed varint (32 bits).
    pub fn varint(&mut self) -> Result<i32, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i32) ^ -((u & 1) as i32))
    }

    /// Reads a zigzag-encoded signed varlong (64 bits).
    pub fn varlong(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarlong()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// Takes `n` bytes as a zero-copy slice.
    pub fn bytes(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        self.need(n)?;
        Ok(self.buf.split_to(n))
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.need(n)?;
        self.buf.advance(n);
        Ok(())
    }

    /// Reads a length that may be -1 (null) in the classic or compact form.
    /// Returns `None` for null and checks the length against what is left.
    fn nullable_len(&mut self, compact: bool, wide: bool) -> Result<Option<usize>, DecodeError> {
        let at = self.offset();
        let len: i64 = if compact {
            i64::from(self.uvarint()?) - 1
        } else if wide {
            i64::from(self.i32()?)
        } else {
            i64::from(self.i16()?)
        };
        if len == -1 {
            return Ok(None);
        }
        if len < -1 {
            return Err(DecodeError::new(
                at,
                DecodeErrorKind::InvalidLength { length: len },
            ));
        }
        self.check_len(len as u64).map(Some)
    }

    /// Reads a string length (int16, or compact) of a nullable string.
    pub fn nullable_string_len(&mut self, compact: bool) -> Result<Option<usize>, DecodeError> {
        self.nullable_len(compact, false)
    }

    /// Reads a bytes/array length (int32, or compact) that may be null.
    pub fn nullable_bytes_len(&mut self, compact: bool) -> Result<Option<usize>, DecodeError> {
        self.nullable_len(compact, true)
    }

    /// Reads a UTF-8 string of `n` bytes.
    pub fn utf8(&mut self, n: usize) -> Result<String, DecodeError> {
        let at = self.offset();
        let b = self.bytes(n)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| DecodeError::new(at, DecodeErrorKind::InvalidUtf8))
    }
}

/// Writes an unsigned LEB128 varint.
#[inline]
pub fn put_uvarint(out: &mut impl BufMut, mut v: u32) {
    while v >= 0x80 {
        out.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// Writes an unsigned LEB128 varlong.
#[inline]
pub fn put_uvarlong(out: &mut impl BufMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// Writes a zigzag signed varint.
#[inline]
pub fn put_varint(out: &mut impl BufMut, v: i32) {
    put_uvarint(out, ((v << 1) ^ (v >> 31)) as u32);
}

/// Writes a zigzag signed varlong.
#[inline]
pub fn put_varlong(out: &mut impl BufMut, v: i64) {
    put_uvarlong(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Encoded size of an unsigned varint.
#[inline]
pub const fn uvarint_size(v: u32) -> usize {
    // ceil(bits / 7) without a division or a branch: (bits * 9 + 64) / 64
    // rounds the same way for every bit count from 1 to 32.
    let bits = 32 - (v | 1).leading_zeros() as usize;
    (bits * 9 + 64) >> 6
}

/// Encoded size of an unsigned varlong.
#[inline]
pub const fn uvarlong_size(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// The zigzag form of a signed 32-bit value (small magnitudes stay small).
#[inline(always)]
pub(crate) const fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// An unsigned varint as a little-endian word and its length: the word's
/// first `len` bytes are the encoding, so callers can store all eight bytes
/// at once and advance by `len` instead of pushing byte by byte.
///
/// One- and two-byte varints (most lengths and deltas in a record batch)
/// take a short branch; longer ones are spread into 7-bit groups without a
/// loop.
#[inline(always)]
pub(crate) const fn uvarint_word(v: u32) -> (u64, usize) {
    let x = v as u64;
    if x < 0x80 {
        return (x, 1);
    }
    if x < 0x4000 {
        return ((x & 0x7f) | 0x80 | ((x >> 7) << 8), 2);
    }
    let groups = (x & 0x7f)
        | ((x & 0x3f80) << 1)
        | ((x & 0x1f_c000) << 2)
        | ((x & 0x0fe0_0000) << 3)
        | ((x & 0xf000_0000) << 4);
    let len = uvarint_size(v);
    // A continuation bit on every byte but the last.
    let more = 0x0080_8080_8080_8080_u64 >> (8 * (8 - len));
    (groups | more, len)
}

/// Encoded size of a zigzag varint.
#[inline]
pub const fn varint_size(v: i32) -> usize {
    uvarint_size(((v << 1) ^ (v >> 31)) as u32)
}

/// Encoded size of a zigzag varlong.
#[inline]
pub const fn varlong_size(v: i64) -> usize {
    uvarlong_size(((v << 1) ^ (v >> 63)) as u64)
}

/// The output of a chunked encoding ([`Wire::write_chunked`]): the encoded
/// bytes as a list of buffers, where byte fields of at least `min` bytes
/// (record batches) are the caller's own buffers handed over, not copied.
/// Written in order, the parts and then what is left in the output buffer
/// are exactly what [`Wire::write`] would have appended.
#[derive(Debug, Clone)]
pub struct Chunks {
    parts: Vec<Bytes>,
    min: usize,
}

impl Chunks {
    /// Hands nothing over: the plain encoding ([`Wire::write`]).
    pub const fn none() -> Chunks {
        Chunks {
            parts: Vec::new(),
            min: usize::MAX,
        }
    }

    /// Byte fields of `min` bytes or more are handed over (a smaller copy
    /// costs less than a buffer of its own in a vectored write).
    pub fn new(min: usize) -> Chunks {
        Chunks {
            parts: Vec::new(),
            min: min.max(1),
        }
    }

    /// Appends `data`: by reference when it is at least `min` bytes (what
    /// `out` holds so far becomes a part before it), else copied into `out`.
    pub fn put(&mut self, out: &mut BytesMut, data: &Bytes) {
        if data.len() < self.min {
            out.put_slice(data);
            return;
        }
        if !out.is_empty() {
            self.parts.push(out.split().freeze());
        }
        self.parts.push(data.clone());
    }

    /// Whether no part was handed over (everything is still in `out`).
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The parts so far, in order; what follows them is in the output
    /// buffer.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Bytes> {
        self.parts.drain(..)
    }

    /// Forgets the parts (an encoding that failed half-way).
    pub fn clear(&mut self) {
        self.parts.clear();
    }
}

/// A value with a Kafka wire form, possibly depending on the message version.
///
/// Implemented by the primitive types below and by every structure the
/// message declarations generate.
pub trait Wire: Sized {
    /// Appends the encoded value.
    fn write(&self, out: &mut BytesMut, v: WireVersion) -> Result<(), EncodeError>;
    /// Appends the encoded value as [`write`](Self::write) does, handing
    /// large byte fields (outside tagged fields) over to `chunks` instead of
    /// copying them.
    fn write_chunked(
        &self,
        out: &mut BytesMut,
        v: WireVersion,
        chunks: &mut Chunks,
    ) -> Result<(), EncodeError> {
        let _ = chunks;
        self.write(out, v)
    }
    /// The number of bytes `write` appends.
    fn wire_size(&self, v: WireVersion) -> usize;
    /// Reads a value.
    fn read(r: &mut Reader, v: WireVersion) -> Result<Self, DecodeError>;
}

/// A type that has a null form on the wire (strings, bytes, arrays), so that
/// `Option<T>` is its nullable variant.
pub trait Nullable: Wire {
    /// Appends the null marker.
    fn write_null(out: &mut BytesMut, v: WireVersion);
    /// Size of the null marker.
    fn null_size(v: WireVersion) -> usize;
    /// Reads a value that may be null.
    fn read_nullable(r: &mut Reader, v: WireVersion) -> Result<Option<Self>, DecodeError>;
}

macro_rules! fixed_wire {
    ($($ty:ty => $read:ident, $put:ident;)*) => {$(
        impl Wire for $ty {
            #[inline]
            fn write(&self, out: &mut BytesMut, _v: WireVersion) -> Result<(), EncodeError> {
                out.$put(*self);
                Ok(())
            }
            #[inline]
            fn wire_size(&self, _v: WireVersion) -> usize {
                std::mem::size_of::<$ty>()
            }
            #[inline]
            fn read(r: &mut Reader, _v: WireVersion) -> Result<Self, DecodeError> {
                r.$read()
            }
        }
    )*};
}

fixed_wire! {
    i8 => i8, put_i8;
    i16 => i16, put_i16;
    i32 => i32, put_i32;
    i64 => i64, put_i64;
    u16 => u16, put_u16;
    u32 => u32, put_u32;
    f64 => f64, put_f64;
}

impl Wire for bool {
    fn write(&self, out: &mut BytesMut, _v: WireVersion) -> Result<(), EncodeError> {
        out.put_u8(u8::from(*self));
        Ok(())
    }
    fn wire_size(&self, _v: WireVersion) -> usize {
        1
    }
    fn read(r: &mut Reader, _v: WireVersion) -> Result<Self, DecodeError> {
        // Kafka treats any non-zero byte as true.
        Ok(r.i8()? != 0)
    }
}

/// A 128-bit UUID as Kafka puts it on the wire (topic ids, KIP-516).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero UUID Kafka uses for "no id".
    pub const ZERO: Uuid = Uuid([0; 16]);
}

impl Wire for Uuid {
    fn write(&self, out: &mut BytesMut, _v: WireVersion) -> Result<(), EncodeError> {
        out.put_slice(&self.0);
        Ok(())
    }
    fn wire_size(&self, _v: WireVersion) -> usize {
        16
    }
    fn read(r: &mut Reader, _v: WireVersion) -> Result<Self, DecodeError> {
        let b = r.bytes(16)?;
        let mut id = [0u8; 16];
        id.copy_from_slice(&b);
        Ok(Uuid(id))
    }
}

fn put_len(out: &mut BytesMut, len: usize, v: WireVersion, wide: bool) -> Result<(), EncodeError> {
    if v.flexible {
        let n = u32::try_from(len)
            .ok()
            .and_then(|n| n.checked_add(1))
            .filter(|n| *n <= i32::MAX as u32)
            .ok_or(EncodeError::TooLong {
                field: "",
                length: len,
            })?;
        put_uvarint(out, n);
    } else if wide {
        let n = i32::try_from(len).map_err(|_| EncodeError::TooLong {
            field: "",
            length: len,
        })?;
        out.put_i32(n);
    } else {
        let n = i16::try_from(len).map_err(|_| EncodeError::TooLong {
            field: "",
            length: len,
        })?;
        out.put_i16(n);
    }
    Ok(())
}

fn len_size(len: usize, v: WireVersion, wide: bool) -> usize {
    if v.flexible {
        uvarint_size((len as u32).saturating_add(1))
    } else if wide {
        4
    } else {
        2
    }
}

impl Wire for String {
    fn write(&self, out: &mut BytesMut, v: WireVersion) -> Result<(), EncodeError> {
        put_len(out, self.len(), v, false)?;
        out.put_slice(self.as_bytes());
        Ok(())
    }
    fn wire_size(&self, v: WireVersion) -> usize {
        len_size(self.len(), v, false) + self.len()
    }
    fn read(r: &mut Reader, v: WireVersion) -> Result<Self, DecodeError> {
        let at = r.offset();
        match r.nullable_string_len(v.flexible)? {
            Some(n) => r.utf8(n),
            None => Err(DecodeError::new(
                at,
                DecodeErrorKind::InvalidLength { length: -1 },
            )),
        }
    }
}

impl Nullable for String {
    fn write_null(out: &mut BytesMut, v: WireVersion) {
        if v.flexible {
            out.put_u8(0)
        } else {
            out.put_i16(-1)
        }
    }
    fn null_size(v: WireVersion) -> usize {
        if v.flexible { 1 } else { 2 }
    }
    fn read_nullable(r: &mut Reader, v: WireVersion) -> Result<Option<Self>, DecodeError> {
        match r.nullable_string_len(v.flexible)? {
            Some(n) => r.utf8(n).map(Some),
            None => Ok(None),
        }
    }
}

impl Wire for Bytes {
    fn write(&self, out: &mut BytesMut, v: WireVersion) -> Result<(), EncodeError> {
        self.write_chunked(out, v, &mut Chunks::none())
    }
    fn write_chunked(
        &self,
        out: &mut BytesMut,
        v: WireVersion,
        chunks: &mut Chunks,
    ) -> Result<(), EncodeError> {
        put_len(out, self.len(), v, true)?;
        chunks.put(out, self);
        Ok(())
    }
    fn wire_size(&self, v: WireVersion) -> usize {
        len_size(self.len(), v, true) + self.len()
    }
    fn read(r: &mut Reader, v: WireVersion) -> Result<Self, DecodeError> {
        let at = r.offset();
        match r.nullable_bytes_len(v.flexible)? {
            Some(n) => r.bytes(n),
            None => Err(DecodeError::new(
                at,
                DecodeErrorKind::InvalidLength { length: -1 },
            )),
        }
    }
}

impl Nullable for Bytes {
    fn write_null(out: &mut BytesMut, v: WireVersion) {
        if v.flexible {
            out.put_u8(0)
        } else {
            out.put_i32(-1)
        }
    }
    fn null_size(v: WireVersion) -> usize {
        if v.flexible { 1 } else { 4 }
    }
    fn read_nullable(r: &mut Reader, v: WireVersion) -> Result<Option<Self>, DecodeError> {
        match r.nullable_bytes_len(v.flexible)? {
            Some(n) => r.bytes(n).map(Some),
            None => Ok(None),
        }
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn write(&self, out: &mut BytesMut, v: WireVersion) -> Result<(), EncodeError> {
        self.write_chunked(out, v, &mut Chunks::none())
    }
    fn write_chunked(
        &self,
        out: &mut BytesMut,
        v: WireVersion,
        chunks: &mut Chunks,
    ) -> Result<(), EncodeError> {
        put_len(out, self.len(), v, true)?;
        for item in self {
            item.write_chunked(out, v, chunks)?;
        }
        Ok(())
    }
    fn wire_size(&self, v: WireVersion) -> usize {
        len_size(self.len(), v, true) + self.iter().map(|i| i.wire_size(v)).sum::<usize>()
    }
    fn read(r: &mut Reader, v: WireVersion) -> Result<Self, DecodeError> {
        let at = r.offset();
        match Self::read_nullable(r, v)? {
            Some(items) => Ok(items),
            None => Err(DecodeError::new(
                at,
                DecodeErrorKind::InvalidLength { length: -1 },
            )),
        }
    }
}

impl<T: Wire> Nullable for Vec<T> {
    fn write_null(out: &mut BytesMut, v: WireVersion) {
        Bytes::write_null(out, v)
    }
    fn null_size(v: WireVersion) -> usize {
        Bytes::null_size(v)
    }
    fn read_nullable(r: &mut Reader, v: WireVersion) -> Result<Option<Self>, DecodeError> {
        // Every element takes at least one byte, so the count is bounded by
        // the bytes left: a hostile count cannot make us allocate.
        let Some(n) = r.nullable_bytes_len(v.flexible)? else {
            return Ok(None);
        };
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(T::read(r, v)?);
        }
        Ok(Some(items))
    }
}

impl<T: Nullable> Wire for Option<T> {
    fn write(&self, out: &mut BytesMut, v: WireVersion) -> Result<(), EncodeError> {
        self.write_chunked(out, v, &mut Chunks::none())
    }
    fn write_chunked(
        &self,
        out: &mut BytesMut,
        v: WireVersion,
        chunks: &mut Chunks,
    ) -> Result<(), EncodeError> {
        match self {
            Some(x) => x.write_chunked(out, v, chunks),
            None => {
                T::write_null(out, v);
                Ok(())
            }
        }
    }
    fn wire_size(&self, v: WireVersion) -> usize {
        match self {
            Some(x) => x.wire_size(v),
            None => T::null_size(v),
        }
    }
    fn read(r: &mut Reader, v: WireVersion) -> Result<Self, DecodeError> {
        T::read_nullable(r, v)
    }
}

/// Writes `value` in its non-null form, for fields that are declared
/// `Option<T>` but are not nullable at `v` (null becomes the empty value).
pub fn write_non_null<T: Nullable + Default>(
    value: &Option<T>,
    out: &mut BytesMut,
    v: WireVersion,
) -> Result<(), EncodeError> {
    match value {
        Some(x) => x.write(out, v),
        None => T::default().write(out, v),
    }
}

/// Size of [`write_non_null`]'s output.
pub fn non_null_size<T: Nullable + Default>(value: &Option<T>, v: WireVersion) -> usize {
    match value {
        Some(x) => x.wire_size(v),
        None => T::default().wire_size(v),
    }
}

/// Reads a value in its non-null form into an `Option`.
pub fn read_non_null<T: Nullable>(
    r: &mut Reader,
    v: WireVersion,
) -> Result<Option<T>, DecodeError> {
    T::read(r, v).map(Some)
}

/// A tagged field (KIP-482) this codec did not interpret, kept so that a
/// decoded message re-encodes byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawTaggedField {
    /// The tag number.
    pub tag: u32,
    /// The raw value bytes.
    pub data: Bytes,
}

/// Writes one tagged field header and its value.
pub fn write_tagged<T: Wire>(
    out: &mut BytesMut,
    tag: u32,
    value: &T,
    v: WireVersion,
) -> Result<(), EncodeError> {
    put_uvarint(out, tag);
    let size = value.wire_size(v);
    put_uvarint(out, size as u32);
    value.write(out, v)
}

/// Size of [`write_tagged`]'s output.
pub fn tagged_size<T: Wire>(tag: u32, value: &T, v: WireVersion) -> usize {
    let size = value.wire_size(v);
    uvarint_size(tag) + uvarint_size(size as u32) + size
}

/// Writes the unknown tagged fields kept from decoding.
pub fn write_raw_tagged(out: &mut BytesMut, fields: &[RawTaggedField]) {
    for f in fields {
        put_uvarint(out, f.tag);
        put_uvarint(out, f.data.len() as u32);
        out.put_slice(&f.data);
    }
}

/// Size of [`write_raw_tagged`]'s output.
pub fn raw_tagged_size(fields: &[RawTaggedField]) -> usize {
    fields
        .iter()
        .map(|f| uvarint_size(f.tag) + uvarint_size(f.data.len() as u32) + f.data.len())
        .sum()
}

/// Reads the header of one tagged field and returns its tag and a reader
/// over exactly its value bytes.
pub fn read_tagged_field(r: &mut Reader) -> Result<(u32, Reader), DecodeError> {
    let tag = r.uvarint()?;
    let size = r.uvarint()?;
    let n = r.check_len(u64::from(size))?;
    let base = r.offset();
    let data = r.bytes(n)?;
    Ok((tag, Reader::with_base(data, base)))
}

/// Reads the count of a tagged-field section, bounded by the bytes left
/// (every tagged field takes at least two bytes).
pub fn read_tagged_count(r: &mut Reader) -> Result<usize, DecodeError> {
    let n = r.uvarint()?;
    r.check_len(u64::from(n))
}
