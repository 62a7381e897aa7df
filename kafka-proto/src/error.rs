//! Errors raised while decoding untrusted bytes or encoding caller-built values.
//!
//! [`DecodeError`] is for bad input from the network or a file: it says what was
//! being read, at which byte offset, and what went wrong. [`EncodeError`] is for
//! values the caller built that cannot be put on the wire at the requested
//! version (a string longer than the format allows, an unsupported version).

use std::fmt;

/// What went wrong while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before a value was complete.
    UnexpectedEof {
        /// Bytes the value needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A length prefix was negative where null is not allowed (or below -1).
    InvalidLength {
        /// The length read from the input.
        length: i64,
    },
    /// A length or count claims more bytes than the input holds.
    LengthExceedsInput {
        /// The claimed length (bytes or elements).
        length: u64,
        /// Bytes left in the input.
        available: usize,
    },
    /// A string was not valid UTF-8.
    InvalidUtf8,
    /// A varint ran over its maximum width.
    VarintTooLong,
    /// A value that is out of range for the field.
    InvalidValue {
        /// The value read.
        value: i64,
    },
    /// The message version is outside the range this codec supports.
    UnsupportedVersion {
        /// The API key (or -1 for headers and records).
        api_key: i16,
        /// The version asked for.
        version: i16,
    },
    /// An API key this codec does not know.
    UnknownApiKey {
        /// The key read from the input.
        api_key: i16,
    },
    /// A record batch checksum did not match its contents.
    CrcMismatch {
        /// The checksum stored in the batch.
        stored: u32,
        /// The checksum computed over the bytes.
        computed: u32,
    },
    /// A record batch or message carried a magic byte this codec cannot read.
    UnknownMagic {
        /// The magic byte.
        magic: i8,
    },
    /// A compression codec id this codec does not know.
    UnknownCompression {
        /// The codec id (low three bits of the attributes).
        codec: u8,
    },
    /// The codec is known but its cargo feature is not enabled in this build.
    CompressionNotEnabled {
        /// Codec name.
        codec: &'static str,
    },
    /// The compressed payload could not be decompressed.
    Decompression {
        /// Codec name.
        codec: &'static str,
        /// The codec's own description of the failure.
        reason: String,
    },
    /// Decompressed data would exceed the caller-given limit.
    DecompressedTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Bytes were left over after a value that must fill its container.
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
    },
    /// A frame's length prefix is negative or larger than the allowed maximum.
    FrameTooLarge {
        /// The size from the length prefix.
        size: i64,
        /// The allowed maximum.
        max: usize,
    },
}

/// A decoding failure: what was being read, where, and why.
///
/// `offset` counts bytes from the start of the buffer the decoder was given
/// (for a message body, the start of the body after the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset at which the problem was found.
    pub offset: usize,
    /// The innermost named field or structure being decoded, when known.
    pub field: Option<&'static str>,
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// A new error at `offset`.
    pub fn new(offset: usize, kind: DecodeErrorKind) -> Self {
        DecodeError {
            offset,
            field: None,
            kind,
        }
    }

    /// Names the field being decoded, unless an inner field was already named.
    pub fn in_field(mut self, field: &'static str) -> Self {
        if self.field.is_none() {
            self.field = Some(field);
        }
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "decode error at byte {}", self.offset)?;
        if let Some(field) = self.field {
            write!(f, " in `{field}`")?;
        }
        write!(f, ": ")?;
        match &self.kind {
            DecodeErrorKind::UnexpectedEof { needed, available } => write!(
                f,
                "input ended: needed {needed} bytes, {available} available"
            ),
            DecodeErrorKind::InvalidLength { length } => write!(f, "invalid length {length}"),
            DecodeErrorKind::LengthExceedsInput { length, available } => write!(
                f,
                "length {length} exceeds the {available} bytes left in the input"
            ),
            DecodeErrorKind::InvalidUtf8 => write!(f, "string is not valid UTF-8"),
            DecodeErrorKind::VarintTooLong => write!(f, "varint is too long"),
            DecodeErrorKind::InvalidValue { value } => write!(f, "invalid value {value}"),
            DecodeErrorKind::UnsupportedVersion { api_key, version } => {
                write!(f, "version {version} of API key {api_key} is not supported")
            }
            DecodeErrorKind::UnknownApiKey { api_key } => write!(f, "unknown API key {api_key}"),
            DecodeErrorKind::CrcMismatch { stored, computed } => write!(
                f,
                "CRC mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ),
            DecodeErrorKind::UnknownMagic { magic } => write!(f, "unknown magic byte {magic}"),
            DecodeErrorKind::UnknownCompression { codec } => {
                write!(f, "unknown compression codec {codec}")
            }
            DecodeErrorKind::CompressionNotEnabled { codec } => {
                write!(f, "compression codec {codec} is not enabled in this build")
            }
            DecodeErrorKind::Decompression { codec, reason } => {
                write!(f, "{codec} decompression failed: {reason}")
            }
            DecodeErrorKind::DecompressedTooLarge { limit } => {
                write!(f, "decompressed data exceeds the limit of {limit} bytes")
            }
            DecodeErrorKind::TrailingBytes { count } => {
                write!(f, "{count} unexpected trailing bytes")
            }
            DecodeErrorKind::FrameTooLarge { size, max } => {
                write!(f, "frame size {size} is negative or over the maximum {max}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The version is outside the range the message supports.
    UnsupportedVersion {
        /// API key, or -1 for non-API structures.
        api_key: i16,
        /// The version asked for.
        version: i16,
    },
    /// A string, byte string or array is longer than its length prefix can express.
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        length: usize,
    },
    /// A null value in a field that is not nullable at this version.
    NullNotAllowed {
        /// The field.
        field: &'static str,
    },
    /// Compression of a record batch failed.
    Compression {
        /// Codec name.
        codec: &'static str,
        /// The codec's own description of the failure.
        reason: String,
    },
    /// The codec's cargo feature is not enabled in this build.
    CompressionNotEnabled {
        /// Codec name.
        codec: &'static str,
    },
}

impl EncodeError {
    /// Names the field for length errors raised by primitives that do not know it.
    pub(crate) fn in_field(self, field: &'static str) -> Self {
        match self {
            EncodeError::TooLong { field: "", length } => EncodeError::TooLong { field, length },
            EncodeError::NullNotAllowed { field: "" } => EncodeError::NullNotAllowed { field },
            other => other,
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::UnsupportedVersion { api_key, version } => {
                write!(f, "version {version} of API key {api_key} is not supported")
            }
            EncodeError::TooLong { field, length } => {
                write!(f, "`{field}` is too long to encode ({length})")
            }
            EncodeError::NullNotAllowed { field } => {
                write!(f, "`{field}` is null but not nullable at this version")
            }
            EncodeError::Compression { codec, reason } => {
                write!(f, "{codec} compression failed: {reason}")
            }
            EncodeError::CompressionNotEnabled { codec } => {
                write!(f, "compression codec {codec} is not enabled in this build")
            }
        }
    }
}

impl std::error::Error for EncodeError {}
