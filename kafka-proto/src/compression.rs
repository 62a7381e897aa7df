//! Record batch compression: gzip, snappy, lz4 and zstd, each behind its
//! cargo feature.
//!
//! Decompression is always bounded by a caller-given limit, so a small
//! hostile payload cannot make us allocate gigabytes (a "decompression
//! bomb"): output is produced in a stream and decoding stops with
//! [`DecodeErrorKind::DecompressedTooLarge`] as soon as it would pass the
//! limit.

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};

/// A compression codec, as carried in the low three bits of a record batch's
/// (or legacy message's) attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression (id 0).
    #[default]
    None,
    /// gzip (id 1).
    Gzip,
    /// snappy (id 2); written xerial-framed, read raw or framed.
    Snappy,
    /// lz4 in the LZ4 frame format (id 3).
    Lz4,
    /// zstd (id 4; record batch v2 only).
    Zstd,
}

impl Compression {
    /// Every codec, in attribute-id order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// The codec for an attribute id (the low three bits), or `None`.
    pub fn from_id(id: u8) -> Option<Compression> {
        match id {
            0 => Some(Compression::None),
            1 => Some(Compression::Gzip),
            2 => Some(Compression::Snappy),
            3 => Some(Compression::Lz4),
            4 => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// The attribute id.
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The name Kafka's `compression.type` uses.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// Parses a `compression.type` name.
    pub fn from_name(name: &str) -> Option<Compression> {
        Compression::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// Whether this build can compress and decompress with the codec.
    pub fn is_enabled(self) -> bool {
        match self {
            Compression::None => true,
            Compression::Gzip => cfg!(feature = "gzip"),
            Compression::Snappy => cfg!(feature = "snappy"),
            Compression::Lz4 => cfg!(feature = "lz4"),
            Compression::Zstd => cfg!(feature = "zstd"),
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The xerial snappy-java stream header: magic, then version 1 and
/// compatible version 1.
#[cfg(feature = "snappy")]
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Uncompressed bytes per xerial block (snappy-java's default).
#[cfg(feature = "snappy")]
const XERIAL_BLOCK: usize = 32 * 1024;

/// Appends `input` compressed with `codec` to `out`.
pub fn compress(codec: Compression, input: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let fail = |reason: String| EncodeError::Compression {
        codec: codec.name(),
        reason,
    };
    match codec {
        Compression::None => {
            out.extend_from_slice(input);
            Ok(())
        }
        #[cfg(feature = "gzip")]
        Compression::Gzip => {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            enc.write_all(input).map_err(|e| fail(e.to_string()))?;
            enc.finish().map_err(|e| fail(e.to_string()))?;
            Ok(())
        }
        #[cfg(feature = "snappy")]
        Compression::Snappy => {
            out.extend_from_slice(&XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            let mut enc = snap::raw::Encoder::new();
            for block in input.chunks(XERIAL_BLOCK) {
                let len_at = out.len();
                out.extend_from_slice(&[0; 4]);
                let start = out.len();
                out.resize(start + snap::raw::max_compress_len(block.len()), 0);
                let n = enc
                    .compress(block, &mut out[start..])
                    .map_err(|e| fail(e.to_string()))?;
                out.truncate(start + n);
                out[len_at..start].copy_from_slice(&(n as i32).to_be_bytes());
            }
            Ok(())
        }
        #[cfg(feature = "lz4")]
        Compression::Lz4 => {
            use std::io::Write;
            // Kafka's Java reader accepts only independent blocks.
            let info = lz4_flex::frame::FrameInfo::new()
                .block_mode(lz4_flex::frame::BlockMode::Independent)
                .block_size(lz4_flex::frame::BlockSize::Max64KB);
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, out);
            enc.write_all(input).map_err(|e| fail(e.to_string()))?;
            enc.finish().map_err(|e| fail(e.to_string()))?;
            Ok(())
        }
        #[cfg(feature = "zstd")]
        Compression::Zstd => {
            let compressed = zstd::bulk::compress(input, 3).map_err(|e| fail(e.to_string()))?;
            out.extend_from_slice(&compressed);
            Ok(())
        }
        #[allow(unreachable_patterns)]
        _ => Err(EncodeError::CompressionNotEnabled {
            codec: codec.name(),
        }),
    }
}

/// Decompresses `input`, failing once the output would exceed `limit` bytes.
///
/// Errors carry offset 0 (relative to `input`); callers that know where the
/// payload sits in a larger buffer should adjust it.
pub fn decompress(codec: Compression, input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let fail = |reason: String| {
        DecodeError::new(
            0,
            DecodeErrorKind::Decompression {
                codec: codec.name(),
                reason,
            },
        )
    };
    match codec {
        Compression::None => {
            if input.len() > limit {
                return Err(too_large(limit));
            }
            Ok(input.to_vec())
        }
        #[cfg(feature = "gzip")]
        Compression::Gzip => read_bounded(flate2::read::MultiGzDecoder::new(input), limit, fail),
        #[cfg(feature = "snappy")]
        Compression::Snappy => {
            if input.starts_with(&XERIAL_MAGIC) {
                decompress_xerial(input, limit, fail)
            } else {
                let mut out = Vec::new();
                snappy_block(input, limit, &mut out, fail)?;
                Ok(out)
            }
        }
        #[cfg(feature = "lz4")]
        Compression::Lz4 => read_bounded(lz4_flex::frame::FrameDecoder::new(input), limit, fail),
        #[cfg(feature = "zstd")]
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::new(input).map_err(|e| fail(e.to_string()))?;
            read_bounded(dec, limit, fail)
        }
        #[allow(unreachable_patterns)]
        _ => Err(DecodeError::new(
            0,
            DecodeErrorKind::CompressionNotEnabled {
                codec: codec.name(),
            },
        )),
    }
}

/// Repairs the LZ4 frame header checksum written by Kafka 0.8–0.9 for magic 0
/// messages (KAFKA-3160: the checksum also covered the four magic bytes), so
/// that a standard frame decoder accepts the frame. Returns `None` when the
/// input is not an LZ4 frame or its checksum is already right.
#[cfg(feature = "lz4")]
pub(crate) fn repair_legacy_lz4_header(input: &[u8]) -> Option<Vec<u8>> {
    const MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];
    if !input.starts_with(&MAGIC) {
        return None;
    }
    let flg = *input.get(4)?;
    let descriptor = 2 + if flg & 0x08 != 0 { 8 } else { 0 } + if flg & 0x01 != 0 { 4 } else { 0 };
    let hc_at = 4 + descriptor;
    let stored = *input.get(hc_at)?;
    let correct = (xxhash_rust::xxh32::xxh32(&input[4..hc_at], 0) >> 8) as u8;
    if stored == correct {
        return None;
    }
    let mut fixed = input.to_vec();
    fixed[hc_at] = correct;
    Some(fixed)
}

fn too_large(limit: usize) -> DecodeError {
    DecodeError::new(0, DecodeErrorKind::DecompressedTooLarge { limit })
}

/// Reads a decoder to its end, never holding more than `limit + 1` bytes.
#[allow(dead_code)]
fn read_bounded(
    reader: impl std::io::Read,
    limit: usize,
    fail: impl Fn(String) -> DecodeError,
) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read;
    let mut out = Vec::new();
    reader
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| fail(e.to_string()))?;
    if out.len() > limit {
        return Err(too_large(limit));
    }
    Ok(out)
}

/// Appends one raw snappy block, checking its declared length against what
/// is left of `limit` before allocating.
#[cfg(feature = "snappy")]
fn snappy_block(
    block: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
    fail: impl Fn(String) -> DecodeError,
) -> Result<(), DecodeError> {
    let n = snap::raw::decompress_len(block).map_err(|e| fail(e.to_string()))?;
    if n > limit.saturating_sub(out.len()) {
        return Err(too_large(limit));
    }
    let start = out.len();
    out.resize(start + n, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|e| fail(e.to_string()))?;
    out.truncate(start + written);
    Ok(())
}

#[cfg(feature = "snappy")]
fn decompress_xerial(
    input: &[u8],
    limit: usize,
    fail: impl Fn(String) -> DecodeError + Copy,
) -> Result<Vec<u8>, DecodeError> {
    // Header: magic (8), version (4), compatible version (4).
    let mut rest = input
        .get(16..)
        .ok_or_else(|| fail("truncated xerial header".into()))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(fail("truncated xerial block length".into()));
        };
        let len = i32::from_be_bytes(*len);
        let len = usize::try_from(len)
            .map_err(|_| fail(format!("negative xerial block length {len}")))?;
        if len > tail.len() {
            return Err(fail("truncated xerial block".into()));
        }
        snappy_block(&tail[..len], limit, &mut out, fail)?;
        rest = &tail[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Compression; 5] = Compression::ALL;

    #[test]
    fn ids_and_names_round_trip() {
        for c in ALL {
            assert_eq!(Compression::from_id(c.id()), Some(c));
            assert_eq!(Compression::from_name(c.name()), Some(c));
        }
        assert_eq!(Compression::from_id(5), None);
        assert_eq!(Compression::from_name("brotli"), None);
    }

    #[test]
    fn every_codec_round_trips() {
        let data: Vec<u8> = (0..200_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 7) as u8)
            .collect();
        for c in ALL {
            for input in [&data[..], &[][..], &data[..1]] {
                let mut out = Vec::new();
                compress(c, input, &mut out).unwrap();
                assert_eq!(decompress(c, &out, input.len()).unwrap(), input, "{c}");
                if !input.is_empty() {
                    let err = decompress(c, &out, input.len() - 1).unwrap_err();
                    assert!(
                        matches!(err.kind, DecodeErrorKind::DecompressedTooLarge { .. }),
                        "{c}: {err}"
                    );
                }
            }
        }
    }

    #[test]
    fn bombs_stop_at_the_limit() {
        let zeros = vec![0u8; 64 << 20];
        for c in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut bomb = Vec::new();
            compress(c, &zeros, &mut bomb).unwrap();
            assert!(bomb.len() < 4 << 20, "{c} bomb is {} bytes", bomb.len());
            let err = decompress(c, &bomb, 1 << 20).unwrap_err();
            assert!(
                matches!(err.kind, DecodeErrorKind::DecompressedTooLarge { limit } if limit == 1 << 20)
            );
        }
    }

    #[test]
    fn an_unbounded_limit_does_not_overflow() {
        let mut z = Vec::new();
        compress(Compression::Zstd, b"abc", &mut z).unwrap();
        assert_eq!(
            decompress(Compression::Zstd, &z, usize::MAX).unwrap(),
            b"abc"
        );
    }

    #[test]
    fn raw_snappy_is_read_too() {
        let data = b"raw snappy block, as librdkafka may write it".repeat(10);
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(
            decompress(Compression::Snappy, &raw, 1 << 20).unwrap(),
            data
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for c in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            for junk in [
                &b""[..],
                b"\x00",
                b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\xff\xff\xff\xff",
                b"hello world",
            ] {
                let _ = decompress(c, junk, 1 << 20);
            }
        }
    }
}
