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

    /// The codec named by the low three bits of a batch's (or legacy
    /// message's) attributes, or `None` for an id this codec does not know.
    pub fn from_attributes(attributes: i16) -> Option<Compression> {
        Compression::from_id((attributes & 0x07) as u8)
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
            Compression::Zstd => cfg!(any(feature = "zstd", feature = "zstd-pure")),
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

/// Appends `input` compressed with `codec` at its default level to `out`.
pub fn compress(codec: Compression, input: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    compress_with_level(codec, None, input, out)
}

/// Appends `input` compressed with `codec` to `out`, at `level` (KIP-390;
/// `None` for the codec's default, as Java's). gzip takes 1 to 9 (-1: the
/// default, 6) and zstd -131072 to 22 (default 3), as the Java producer's
/// `compression.gzip.level` and `compression.zstd.level`; a level out of
/// range is clamped into it. snappy has no levels. LZ4 takes Java's 1 to 17
/// (`compression.lz4.level`) with feature `lz4-hc`: liblz4's frame
/// compressor at that level (its HC compressor from 3 up; liblz4 stops at
/// 12, so 12 to 17 are alike); `None`, or a build without `lz4-hc`, writes
/// at lz4_flex's one fast level, as librdkafka's and franz-go's default
/// does (Java's default is HC level 9). The pure-Rust zstd
/// encoder (feature `zstd-pure` without `zstd`) has one level, about
/// libzstd's level 1, and ignores `level` too.
pub fn compress_with_level(
    codec: Compression,
    level: Option<i32>,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    #[cfg(not(any(feature = "gzip", feature = "zstd")))]
    let _ = level;
    #[cfg_attr(
        not(any(
            feature = "gzip",
            feature = "snappy",
            feature = "lz4",
            feature = "zstd",
            feature = "zstd-pure"
        )),
        allow(unused_variables)
    )]
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
            let level = match level {
                Some(l @ 1..=9) => flate2::Compression::new(l.unsigned_abs()),
                Some(l) if l > 9 => flate2::Compression::best(),
                _ => flate2::Compression::default(),
            };
            let mut enc = flate2::write::GzEncoder::new(out, level);
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
            #[cfg(feature = "lz4-hc")]
            if let Some(level) = level {
                return lz4_at_level(level, input, out).map_err(|e| fail(e.to_string()));
            }
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
            let level = level.unwrap_or(3).clamp(-131_072, 22);
            let compressed = zstd::bulk::compress(input, level).map_err(|e| fail(e.to_string()))?;
            out.extend_from_slice(&compressed);
            Ok(())
        }
        #[cfg(all(feature = "zstd-pure", not(feature = "zstd")))]
        Compression::Zstd => {
            zstd_pure::compress(input, out);
            Ok(())
        }
        #[allow(unreachable_patterns)]
        _ => Err(EncodeError::CompressionNotEnabled {
            codec: codec.name(),
        }),
    }
}

/// LZ4 frames as Kafka's Java reader takes them (independent 64 KiB blocks,
/// no checksums) from liblz4 at `level`.
#[cfg(feature = "lz4-hc")]
fn lz4_at_level(level: i32, input: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Write;
    let mut enc = liblz4::EncoderBuilder::new()
        .level(level.clamp(1, 17).unsigned_abs())
        .block_size(liblz4::BlockSize::Max64KB)
        .block_mode(liblz4::BlockMode::Independent)
        .block_checksum(liblz4::liblz4::BlockChecksum::NoBlockChecksum)
        .checksum(liblz4::ContentChecksum::NoChecksum)
        .build(out)?;
    enc.write_all(input)?;
    let (_, done) = enc.finish();
    done
}

/// Whether `codec` is written at the level [`compress_with_level`] is
/// given in this build: gzip; zstd with libzstd (feature `zstd`); LZ4 with
/// feature `lz4-hc`. The others have one level.
pub fn honours_levels(codec: Compression) -> bool {
    match codec {
        Compression::Gzip => cfg!(feature = "gzip"),
        Compression::Lz4 => cfg!(feature = "lz4-hc"),
        Compression::Zstd => cfg!(feature = "zstd"),
        Compression::None | Compression::Snappy => false,
    }
}

/// Decompresses `input`, failing once the output would exceed `limit` bytes.
///
/// Memory is sized by what the input can justify, never by a size it merely
/// claims: gzip, lz4 and zstd are decoded as streams into a buffer that grows
/// with the output; a snappy block's declared length is checked against both
/// `limit` and the most its compressed bytes could expand to before anything
/// is allocated; an LZ4 frame's buffer for each block is capped by what that
/// block's compressed bytes could expand to; a zstd frame whose declared window
/// is larger than both `limit` and 8 MiB is decoded in one shot into a buffer
/// that grows up to `limit`, so libzstd never reserves the window it claims.
///
/// Errors carry offset 0 (relative to `input`); callers that know where the
/// payload sits in a larger buffer should adjust it.
pub fn decompress(codec: Compression, input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    match codec {
        Compression::None => {
            if input.len() > limit {
                return Err(too_large(limit));
            }
            Ok(input.to_vec())
        }
        #[cfg(feature = "gzip")]
        Compression::Gzip => read_bounded(codec, flate2::read::MultiGzDecoder::new(input), limit),
        #[cfg(feature = "snappy")]
        Compression::Snappy => {
            if input.starts_with(&XERIAL_MAGIC) {
                decompress_xerial(input, limit)
            } else {
                let mut out = Vec::new();
                snappy_block(input, limit, &mut out)?;
                Ok(out)
            }
        }
        #[cfg(feature = "lz4")]
        Compression::Lz4 => lz4::decompress(input, limit),
        #[cfg(feature = "zstd")]
        Compression::Zstd => zstd_decompress(input, limit),
        #[cfg(all(feature = "zstd-pure", not(feature = "zstd")))]
        Compression::Zstd => zstd_pure::decompress(input, limit),
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

/// A codec's own failure, as a decode error at offset 0.
#[cfg_attr(
    not(any(
        feature = "gzip",
        feature = "snappy",
        feature = "lz4",
        feature = "zstd",
        feature = "zstd-pure"
    )),
    allow(dead_code)
)]
fn corrupt(codec: Compression, reason: impl std::fmt::Display) -> DecodeError {
    DecodeError::new(
        0,
        DecodeErrorKind::Decompression {
            codec: codec.name(),
            reason: reason.to_string(),
        },
    )
}

/// Reads a decoder to its end, never holding more than `limit + 1` bytes.
#[cfg(any(feature = "gzip", feature = "zstd"))]
fn read_bounded(
    codec: Compression,
    reader: impl std::io::Read,
    limit: usize,
) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read;
    let mut out = Vec::new();
    reader
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| corrupt(codec, e))?;
    if out.len() > limit {
        return Err(too_large(limit));
    }
    Ok(out)
}

/// The most output one byte of a raw snappy block can stand for: a two-byte
/// offset copy is three bytes long and copies at most 64 bytes.
#[cfg(feature = "snappy")]
const SNAPPY_MAX_EXPANSION: usize = 22;

/// Appends one raw snappy block, checking its declared length against what
/// is left of `limit`, and against what the block could possibly hold,
/// before allocating.
#[cfg(feature = "snappy")]
fn snappy_block(block: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let codec = Compression::Snappy;
    let n = snap::raw::decompress_len(block).map_err(|e| corrupt(codec, e))?;
    if n > limit.saturating_sub(out.len()) {
        return Err(too_large(limit));
    }
    if n > block.len().saturating_mul(SNAPPY_MAX_EXPANSION) {
        return Err(corrupt(
            codec,
            format!(
                "block of {} bytes claims {n} uncompressed bytes",
                block.len()
            ),
        ));
    }
    let start = out.len();
    out.resize(start + n, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|e| corrupt(codec, e))?;
    out.truncate(start + written);
    Ok(())
}

/// Decodes the xerial (snappy-java) stream format: a 16-byte header, then
/// blocks of `[i32 length][raw snappy block]`.
#[cfg(feature = "snappy")]
fn decompress_xerial(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let codec = Compression::Snappy;
    // Header: magic (8), version (4), compatible version (4).
    let mut rest = input
        .get(16..)
        .ok_or_else(|| corrupt(codec, "truncated xerial header"))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(corrupt(codec, "truncated xerial block length"));
        };
        let len = i32::from_be_bytes(*len);
        let len = usize::try_from(len)
            .map_err(|_| corrupt(codec, format!("negative xerial block length {len}")))?;
        if len > tail.len() {
            return Err(corrupt(codec, "truncated xerial block"));
        }
        snappy_block(&tail[..len], limit, &mut out)?;
        rest = &tail[len..];
    }
    Ok(out)
}

/// A zstd window that any limit may use: what Java producers write up to
/// compression level 19 without a known content size.
#[cfg(feature = "zstd")]
const ZSTD_WINDOW_FLOOR: usize = 8 << 20;

/// Decodes zstd frames without letting libzstd reserve a window larger than
/// `max(limit, 8 MiB)`.
#[cfg(feature = "zstd")]
fn zstd_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let codec = Compression::Zstd;
    let header = zstd_frame_header(input);
    if let Some(ZstdFrameHeader {
        content_size: Some(size),
        ..
    }) = header
    {
        // The first frame alone already holds more than we may produce.
        if size > limit as u64 {
            return Err(too_large(limit));
        }
    }
    let allowance = limit.max(ZSTD_WINDOW_FLOOR);
    match header {
        Some(h) if h.window > allowance as u64 => zstd_one_shot(input, limit),
        _ => {
            let max_log = if cfg!(target_pointer_width = "64") {
                31
            } else {
                30
            };
            let log = (usize::BITS - (allowance - 1).leading_zeros()).min(max_log);
            let mut dec = zstd::stream::read::Decoder::new(input).map_err(|e| corrupt(codec, e))?;
            dec.window_log_max(log).map_err(|e| corrupt(codec, e))?;
            read_bounded(codec, dec, limit)
        }
    }
}

/// The parts of a zstd frame header (RFC 8878, 3.1.1.1) that size memory.
#[cfg(any(feature = "zstd", feature = "zstd-pure"))]
#[derive(Debug, Clone, Copy)]
struct ZstdFrameHeader {
    window: u64,
    content_size: Option<u64>,
}

#[cfg(any(feature = "zstd", feature = "zstd-pure"))]
fn zstd_frame_header(b: &[u8]) -> Option<ZstdFrameHeader> {
    if b.get(..4)? != [0x28, 0xb5, 0x2f, 0xfd] {
        return None;
    }
    let descriptor = *b.get(4)?;
    let single_segment = descriptor & 0x20 != 0;
    let mut at = 5;
    let window_descriptor = if single_segment {
        None
    } else {
        at += 1;
        Some(*b.get(5)?)
    };
    at += [0, 1, 2, 4][usize::from(descriptor & 0x03)];
    let size_bytes = match descriptor >> 6 {
        0 if single_segment => 1,
        0 => 0,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let content_size = if size_bytes == 0 {
        None
    } else {
        let raw = b.get(at..at + size_bytes)?;
        let v = raw
            .iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
        Some(if size_bytes == 2 { v + 256 } else { v })
    };
    let window = match window_descriptor {
        Some(wd) => {
            let base = 1u64 << (10 + (wd >> 3));
            base + (base / 8) * u64::from(wd & 0x07)
        }
        None => content_size?,
    };
    Some(ZstdFrameHeader {
        window,
        content_size,
    })
}

/// Decodes in one shot into a buffer that starts small and grows (up to
/// `limit`) while libzstd reports it too small: one-shot decoding uses the
/// output as its window, so a frame's declared window costs nothing.
#[cfg(feature = "zstd")]
fn zstd_one_shot(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    use zstd::zstd_safe;
    let mut capacity = limit.min(input.len().saturating_mul(32).max(64 << 10));
    loop {
        let mut out = Vec::with_capacity(capacity);
        match zstd_safe::decompress(&mut out, input) {
            Ok(_) => return Ok(out),
            Err(code) => {
                let reason = zstd_safe::get_error_name(code);
                if reason != "Destination buffer is too small" {
                    return Err(corrupt(Compression::Zstd, reason));
                }
                if capacity >= limit {
                    return Err(too_large(limit));
                }
                capacity = capacity.saturating_mul(4).min(limit);
            }
        }
    }
}

/// zstd in pure Rust (ruzstd), for builds without a C compiler (feature
/// `zstd-pure`; when `zstd` is enabled too, libzstd serves the codec and this
/// module is only cross-checked against it in tests).
///
/// ruzstd reserves a frame's whole declared window before decoding it (up to
/// 100 MiB). A window larger than `limit` is never needed, since no match can
/// reach further back than the output, which may not exceed `limit`; so the
/// window descriptor is rewritten down to the smallest window that holds
/// `limit` before ruzstd sees the header, and memory follows the limit rather
/// than what a frame claims. A frame's content checksum, when present, is
/// verified.
///
/// Why libzstd stays the default (measured 2026-12-04, ruzstd 0.8.3 against
/// zstd 0.13 / libzstd 1.5.7 at level 3, 1.35 MB of JSON-like records,
/// release build): compressing took 12.4 ms against 2.5 ms and wrote 185 KB
/// against 81 KB; decompressing took 5.9 ms against 0.95 ms.
#[cfg(feature = "zstd-pure")]
#[cfg_attr(feature = "zstd", allow(dead_code))]
mod zstd_pure {
    use super::{Compression, corrupt, too_large, zstd_frame_header};
    use crate::error::DecodeError;
    use std::io::Read;

    const CODEC: Compression = Compression::Zstd;

    /// The window a descriptor byte stands for (RFC 8878, 3.1.1.1.2).
    fn window_of(descriptor: u8) -> u64 {
        let base = 1u64 << (10 + (descriptor >> 3));
        base + (base / 8) * u64::from(descriptor & 0x07)
    }

    /// The smallest descriptor whose window holds `at_least` bytes, if any.
    fn descriptor_for(at_least: u64) -> Option<u8> {
        (0..=u8::MAX).find(|&d| window_of(d) >= at_least)
    }

    /// Appends one frame at ruzstd's one level (about libzstd's level 1).
    pub(super) fn compress(input: &[u8], out: &mut Vec<u8>) {
        ruzstd::encoding::compress(input, out, ruzstd::encoding::CompressionLevel::Fastest);
    }

    pub(super) fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let magic = rest
                .get(..4)
                .ok_or_else(|| corrupt(CODEC, "truncated frame"))?;
            // Skippable frames (RFC 8878, 3.1.2): magic 0x184D2A50..5F, a
            // little-endian length, that many bytes of user data.
            if magic[0] & 0xf0 == 0x50 && magic[1..] == [0x2a, 0x4d, 0x18] {
                let len = rest
                    .get(4..8)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                    .ok_or_else(|| corrupt(CODEC, "truncated skippable frame"))?;
                rest = rest
                    .get(8usize.saturating_add(len)..)
                    .ok_or_else(|| corrupt(CODEC, "truncated skippable frame"))?;
                continue;
            }
            let header =
                zstd_frame_header(rest).ok_or_else(|| corrupt(CODEC, "not a zstd frame"))?;
            let room = limit - out.len();
            if header.content_size.is_some_and(|size| size > room as u64) {
                return Err(too_large(limit));
            }
            // Byte 5 is the window descriptor unless the frame is single-segment
            // (then the window is the content size, checked above).
            let mut head = [0u8; 6];
            let single_segment = rest[4] & 0x20 != 0;
            let head_len = if single_segment { 5 } else { 6 };
            head[..head_len].copy_from_slice(&rest[..head_len]);
            if !single_segment && header.window > room as u64 {
                let fits = descriptor_for((room as u64).max(1))
                    .ok_or_else(|| corrupt(CODEC, "window descriptor"))?;
                head[5] = head[5].min(fits);
            }
            let mut reader = (&head[..head_len]).chain(&rest[head_len..]);
            let mut decoder = ruzstd::decoding::StreamingDecoder::new(&mut reader)
                .map_err(|e| corrupt(CODEC, e))?;
            let before = out.len();
            (&mut decoder)
                .take((room as u64).saturating_add(1))
                .read_to_end(&mut out)
                .map_err(|e| corrupt(CODEC, e))?;
            if out.len() - before > room {
                return Err(too_large(limit));
            }
            let frame = decoder.into_frame_decoder();
            if let (Some(stored), Some(computed)) = (
                frame.get_checksum_from_data(),
                frame.get_calculated_checksum(),
            ) {
                if stored != computed {
                    return Err(corrupt(CODEC, "content checksum mismatch"));
                }
            }
            let (_, tail) = reader.into_inner();
            rest = tail;
        }
        Ok(out)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn descriptors_are_ordered_by_window() {
            for d in 0..u8::MAX {
                assert!(window_of(d) < window_of(d + 1));
            }
            assert_eq!(descriptor_for(1), Some(0));
            assert_eq!(window_of(descriptor_for(1 << 20).unwrap()), 1 << 20);
            assert_eq!(
                window_of(descriptor_for((1 << 20) + 1).unwrap()),
                (1 << 20) + (1 << 17)
            );
        }

        #[test]
        fn huge_declared_windows_cost_only_the_limit() {
            let frame = crate::compression::tests::zstd_rle_frame(4);
            assert_eq!(decompress(&frame, 1 << 20).unwrap(), vec![0; 512 << 10]);
            let many = crate::compression::tests::zstd_rle_frame(2048);
            assert!(matches!(
                decompress(&many, 1 << 20),
                Err(DecodeError {
                    kind: crate::error::DecodeErrorKind::DecompressedTooLarge { .. },
                    ..
                })
            ));
        }

        #[test]
        fn round_trips_and_garbage() {
            let data: Vec<u8> = (0..100_000u32)
                .map(|i| (i % 251) as u8 ^ (i / 7) as u8)
                .collect();
            let mut z = Vec::new();
            compress(&data, &mut z);
            assert!(z.len() < data.len() / 2, "{}", z.len());
            assert_eq!(decompress(&z, data.len()).unwrap(), data);
            assert!(decompress(&z, data.len() - 1).is_err());
            for cut in [0, 3, 5, 9, z.len() / 2, z.len() - 1] {
                assert!(
                    decompress(&z[..cut.max(1)], data.len()).is_err(),
                    "cut at {cut}"
                );
            }
            let mut flipped = z.clone();
            let mid = flipped.len() / 2;
            flipped[mid] ^= 0x55;
            let _ = decompress(&flipped, data.len()); // an error or other bytes, never a panic
        }

        /// libzstd's frames of every shape a Java or librdkafka producer
        /// writes are read here, and ruzstd's frames are read by libzstd.
        #[cfg(feature = "zstd")]
        #[test]
        fn agrees_with_libzstd() {
            let data: Vec<u8> = (0..300_000u32)
                .map(|i| ((i * 7 % 253) ^ (i >> 9)) as u8)
                .collect();
            for level in [-5, 1, 3, 9, 19] {
                for (window_log, content_size, checksum) in
                    [(None, true, false), (Some(27), false, true)]
                {
                    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), level).unwrap();
                    enc.include_contentsize(content_size).unwrap();
                    enc.include_checksum(checksum).unwrap();
                    if let Some(w) = window_log {
                        enc.window_log(w).unwrap();
                    }
                    std::io::Write::write_all(&mut enc, &data).unwrap();
                    let frame = enc.finish().unwrap();
                    let what = format!("level {level}, window_log {window_log:?}");
                    assert_eq!(decompress(&frame, data.len()).unwrap(), data, "{what}");
                    assert!(decompress(&frame, data.len() - 1).is_err(), "{what}");
                    if checksum {
                        let mut bad = frame.clone();
                        let last = bad.len() - 1;
                        bad[last] ^= 1;
                        let e = decompress(&bad, data.len()).unwrap_err();
                        assert!(e.to_string().contains("checksum"), "{what}: {e}");
                    }
                }
            }
            // Two frames with a skippable frame between them.
            let mut two = zstd::bulk::compress(&data[..1000], 3).unwrap();
            two.extend_from_slice(&[0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
            two.extend_from_slice(&zstd::bulk::compress(&data[1000..3000], 3).unwrap());
            assert_eq!(decompress(&two, 3000).unwrap(), data[..3000]);
            assert!(decompress(&two, 2999).is_err());

            let mut ours = Vec::new();
            compress(&data, &mut ours);
            assert_eq!(zstd::bulk::decompress(&ours, data.len()).unwrap(), data);
        }
    }
}

/// An LZ4 frame decoder (the frame format of lz4's `lz4_Frame_format.md`)
/// over lz4_flex's block decoder, so that memory follows the bytes present
/// rather than the block size a frame header declares.
///
/// Why not lz4_flex's own `frame::FrameDecoder` (measured, 2026-12-04,
/// lz4_flex 0.14, a counting global allocator): a 16-byte frame whose
/// header declares 4 MiB blocks, holding one byte, makes it allocate
/// 8,388,616 bytes before reading the block; here the same frame costs what
/// its one byte needs. Untrusted input must not buy memory at 500,000:1.
#[cfg(feature = "lz4")]
mod lz4 {
    use super::{Compression, corrupt, too_large};
    use crate::error::DecodeError;
    use xxhash_rust::xxh32::xxh32;

    const MAGIC: u32 = 0x184d_2204;
    /// How far back a linked block may refer into earlier output.
    const WINDOW: usize = 64 << 10;
    /// The most output one byte of a compressed block can stand for: each
    /// extra match-length byte adds at most 255 bytes.
    const MAX_EXPANSION: usize = 255;

    fn fail(reason: impl std::fmt::Display) -> DecodeError {
        corrupt(Compression::Lz4, reason)
    }

    fn take<'a>(rest: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        if rest.len() < n {
            return Err(fail(format!("truncated {what}")));
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Ok(head)
    }

    fn u32_le(rest: &mut &[u8], what: &str) -> Result<u32, DecodeError> {
        let b = take(rest, 4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Decodes one or more concatenated frames (skippable frames are skipped).
    pub(super) fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
        if input.is_empty() {
            return Err(fail("empty input"));
        }
        let mut out = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            frame(&mut rest, limit, &mut out)?;
        }
        Ok(out)
    }

    fn frame(rest: &mut &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let magic = u32_le(rest, "frame magic")?;
        if magic & 0xffff_fff0 == 0x184d_2a50 {
            let len = u32_le(rest, "skippable frame length")? as usize;
            take(rest, len, "skippable frame")?;
            return Ok(());
        }
        if magic != MAGIC {
            return Err(fail(format!("bad frame magic {magic:#010x}")));
        }
        let descriptor_start = *rest;
        let flg = take(rest, 1, "frame descriptor")?[0];
        let bd = take(rest, 1, "frame descriptor")?[0];
        if flg >> 6 != 1 {
            return Err(fail(format!("unsupported frame version {}", flg >> 6)));
        }
        if flg & 0x02 != 0 || bd & 0x8f != 0 {
            return Err(fail("reserved frame descriptor bits are set"));
        }
        if flg & 0x01 != 0 {
            return Err(fail("frames with a dictionary id are not supported"));
        }
        let independent = flg & 0x20 != 0;
        let block_checksums = flg & 0x10 != 0;
        let content_checksum = flg & 0x04 != 0;
        let block_max = match (bd >> 4) & 0x07 {
            4 => 64 << 10,
            5 => 256 << 10,
            6 => 1 << 20,
            7 => 4 << 20,
            other => return Err(fail(format!("invalid block size id {other}"))),
        };
        let content_size = if flg & 0x08 != 0 {
            let b = take(rest, 8, "content size")?;
            let size = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            if size > limit.saturating_sub(out.len()) as u64 {
                return Err(too_large(limit));
            }
            Some(size)
        } else {
            None
        };
        let descriptor_len = descriptor_start.len() - rest.len();
        let stored = take(rest, 1, "header checksum")?[0];
        let computed = (xxh32(&descriptor_start[..descriptor_len], 0) >> 8) as u8;
        if stored != computed {
            return Err(fail(format!(
                "header checksum {stored:#04x}, expected {computed:#04x}"
            )));
        }

        let frame_start = out.len();
        loop {
            let word = u32_le(rest, "block size")?;
            if word == 0 {
                break;
            }
            let stored_raw = word & 0x8000_0000 != 0;
            let len = (word & 0x7fff_ffff) as usize;
            if len > block_max {
                return Err(fail(format!(
                    "block of {len} bytes exceeds the frame's maximum {block_max}"
                )));
            }
            let data = take(rest, len, "block")?;
            if block_checksums {
                let stored = u32_le(rest, "block checksum")?;
                if stored != xxh32(data, 0) {
                    return Err(fail("block checksum mismatch"));
                }
            }
            let start = out.len();
            let available = limit.saturating_sub(start);
            if stored_raw {
                if len > available {
                    return Err(too_large(limit));
                }
                out.extend_from_slice(data);
                continue;
            }
            let room = block_max.min(len.saturating_mul(MAX_EXPANSION).saturating_add(16));
            let size = room.min(available);
            out.resize(start + size, 0);
            let (before, dst) = out.split_at_mut(start);
            let dict = if independent {
                &[][..]
            } else {
                &before[start.saturating_sub(WINDOW).max(frame_start)..]
            };
            match lz4_flex::block::decompress_into_with_dict(data, dst, dict) {
                Ok(n) => out.truncate(start + n),
                Err(lz4_flex::block::DecompressError::OutputTooSmall { .. }) if size < room => {
                    out.truncate(start);
                    return Err(too_large(limit));
                }
                Err(e) => {
                    out.truncate(start);
                    return Err(fail(e));
                }
            }
        }
        let produced = out.len() - frame_start;
        if let Some(size) = content_size {
            if size != produced as u64 {
                return Err(fail(format!(
                    "frame declares {size} bytes but holds {produced}"
                )));
            }
        }
        if content_checksum {
            let stored = u32_le(rest, "content checksum")?;
            if stored != xxh32(&out[frame_start..], 0) {
                return Err(fail("content checksum mismatch"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> impl Iterator<Item = Compression> {
        Compression::ALL.into_iter().filter(|c| c.is_enabled())
    }

    fn is_too_large(r: Result<Vec<u8>, DecodeError>) -> bool {
        matches!(
            r,
            Err(DecodeError {
                kind: DecodeErrorKind::DecompressedTooLarge { .. },
                ..
            })
        )
    }

    #[test]
    fn ids_and_names_round_trip() {
        for c in Compression::ALL {
            assert_eq!(Compression::from_id(c.id()), Some(c));
            assert_eq!(Compression::from_name(c.name()), Some(c));
            // Only the low three bits name the codec.
            assert_eq!(
                Compression::from_attributes(0x30 | i16::from(c.id())),
                Some(c)
            );
        }
        assert_eq!(Compression::from_id(5), None);
        assert_eq!(Compression::from_attributes(0x0f), None);
        assert_eq!(Compression::from_name("brotli"), None);
    }

    #[test]
    fn every_codec_round_trips() {
        let data: Vec<u8> = (0..200_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 7) as u8)
            .collect();
        for c in enabled() {
            for input in [&data[..], &[][..], &data[..1]] {
                let mut out = Vec::new();
                compress(c, input, &mut out).unwrap();
                assert_eq!(decompress(c, &out, input.len()).unwrap(), input, "{c}");
                if !input.is_empty() {
                    assert!(is_too_large(decompress(c, &out, input.len() - 1)), "{c}");
                }
            }
        }
    }

    #[test]
    fn disabled_codecs_refuse_both_directions() {
        for c in Compression::ALL.into_iter().filter(|c| !c.is_enabled()) {
            assert!(matches!(
                compress(c, b"x", &mut Vec::new()),
                Err(EncodeError::CompressionNotEnabled { .. })
            ));
            assert!(matches!(
                decompress(c, b"x", 10).unwrap_err().kind,
                DecodeErrorKind::CompressionNotEnabled { .. }
            ));
        }
    }

    #[test]
    fn bombs_stop_at_the_limit() {
        let zeros = vec![0u8; 64 << 20];
        for c in enabled().filter(|c| *c != Compression::None) {
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
    fn garbage_is_an_error_not_a_panic() {
        for c in Compression::ALL {
            for junk in [
                &b""[..],
                b"\x00",
                b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\xff\xff\xff\xff",
                b"\x04\x22\x4d\x18\x60\x70\x73\xff\xff\xff\x7f",
                b"\x28\xb5\x2f\xfd\x00\xf8\x01\x00\x00",
                b"hello world",
            ] {
                let _ = decompress(c, junk, 1 << 20);
            }
        }
    }

    #[cfg(any(feature = "zstd", feature = "zstd-pure"))]
    #[test]
    fn an_unbounded_limit_does_not_overflow() {
        let mut z = Vec::new();
        compress(Compression::Zstd, b"abc", &mut z).unwrap();
        assert_eq!(
            decompress(Compression::Zstd, &z, usize::MAX).unwrap(),
            b"abc"
        );
    }

    /// A hand-made zstd frame with no content size and a 1 GiB window,
    /// holding `blocks` RLE blocks of 128 KiB zeros (4 bytes each).
    #[cfg(any(feature = "zstd", feature = "zstd-pure"))]
    pub(super) fn zstd_rle_frame(blocks: usize) -> Vec<u8> {
        let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, (30 - 10) << 3];
        for i in 0..blocks {
            let last = u32::from(i + 1 == blocks);
            // Block header: last flag, type 1 (RLE), size 128 KiB.
            let h = last | (1 << 1) | ((128 << 10) << 3);
            f.extend_from_slice(&h.to_le_bytes()[..3]);
            f.push(0);
        }
        f
    }

    #[cfg(any(feature = "zstd", feature = "zstd-pure"))]
    #[test]
    fn zstd_huge_declared_windows_cost_only_the_output() {
        let frame = zstd_rle_frame(4);
        let h = zstd_frame_header(&frame).unwrap();
        assert_eq!((h.window, h.content_size), (1 << 30, None));
        // 512 KiB out of 24 bytes, decoded without reserving the 1 GiB window.
        assert_eq!(
            decompress(Compression::Zstd, &frame, 1 << 20).unwrap(),
            vec![0; 512 << 10]
        );
        // 256 MiB of RLE blocks against a 1 MiB limit.
        assert!(is_too_large(decompress(
            Compression::Zstd,
            &zstd_rle_frame(2048),
            1 << 20
        )));
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn zstd_streams_with_large_windows_and_no_size_still_decode() {
        // What a Java producer at a high compression level writes: a 128 MiB
        // window and no content size, for a small batch.
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 19).unwrap();
        enc.include_contentsize(false).unwrap();
        enc.window_log(27).unwrap();
        std::io::Write::write_all(&mut enc, &data).unwrap();
        let frame = enc.finish().unwrap();
        let h = zstd_frame_header(&frame).unwrap();
        assert!(h.window >= 1 << 27 && h.content_size.is_none(), "{h:?}");
        assert_eq!(
            decompress(Compression::Zstd, &frame, 1 << 20).unwrap(),
            data
        );
        assert!(is_too_large(decompress(Compression::Zstd, &frame, 10_000)));
    }

    #[cfg(any(feature = "zstd", feature = "zstd-pure"))]
    #[test]
    fn zstd_content_size_over_the_limit_fails_early() {
        let mut z = Vec::new();
        compress(Compression::Zstd, &[7u8; 5000], &mut z).unwrap();
        // ruzstd does not write the content size; libzstd does.
        if cfg!(feature = "zstd") {
            assert_eq!(zstd_frame_header(&z).unwrap().content_size, Some(5000));
        }
        assert!(is_too_large(decompress(Compression::Zstd, &z, 4999)));
    }

    #[cfg(feature = "snappy")]
    #[test]
    fn raw_snappy_is_read_too() {
        let data = b"raw snappy block, as librdkafka may write it".repeat(10);
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(
            decompress(Compression::Snappy, &raw, 1 << 20).unwrap(),
            data
        );
    }

    #[cfg(feature = "snappy")]
    #[test]
    fn snappy_lengths_the_block_cannot_hold_are_rejected_before_allocating() {
        // Varint 0x40000000 (1 GiB), then a few bytes.
        let block = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x01, 0x02];
        let err = decompress(Compression::Snappy, &block, usize::MAX).unwrap_err();
        assert!(
            matches!(err.kind, DecodeErrorKind::Decompression { .. }),
            "{err}"
        );
        assert!(is_too_large(decompress(
            Compression::Snappy,
            &block,
            1 << 20
        )));
    }

    /// Higher levels write smaller frames, which both our decoder and
    /// lz4_flex's read; without a level the fast compressor is used.
    #[cfg(feature = "lz4-hc")]
    #[test]
    fn lz4_levels_are_liblz4_levels() {
        // JSON-like records from a small vocabulary, picked pseudo-randomly.
        let words = [
            "user", "order", "id", "amount", "eur", "usd", "status", "paid", "open",
        ];
        let mut x = 12345u64;
        let mut data = Vec::new();
        while data.len() < 300_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let w = words[(x >> 33) as usize % words.len()];
            data.extend_from_slice(format!("{{\"{w}\":{}}},", (x >> 40) % 10_000).as_bytes());
        }
        let size = |level: Option<i32>| {
            let mut out = Vec::new();
            compress_with_level(Compression::Lz4, level, &data, &mut out).unwrap();
            assert_eq!(
                decompress(Compression::Lz4, &out, data.len()).unwrap(),
                data
            );
            let mut flex = Vec::new();
            std::io::Read::read_to_end(
                &mut lz4_flex::frame::FrameDecoder::new(&out[..]),
                &mut flex,
            )
            .unwrap();
            assert_eq!(flex, data);
            // Independent 64 KiB blocks, no checksums: FLG 0x60, BD 0x40.
            assert_eq!(out[4..6], [0x60, 0x40], "{level:?}");
            out.len()
        };
        let (fast, l1, l9, l17) = (size(None), size(Some(1)), size(Some(9)), size(Some(17)));
        assert!(l9 < l1 && l9 < fast, "fast {fast}, 1: {l1}, 9: {l9}");
        assert!(l17 <= l9, "9: {l9}, 17: {l17}");
        assert!(honours_levels(Compression::Lz4));
    }

    #[cfg(feature = "lz4")]
    #[test]
    fn lz4_frames_of_every_shape_decode() {
        use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
        use std::io::Write;
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| ((i / 3) % 97) as u8 ^ (i % 5) as u8)
            .collect();
        for mode in [BlockMode::Independent, BlockMode::Linked] {
            for size in [BlockSize::Max64KB, BlockSize::Max256KB, BlockSize::Max4MB] {
                for checks in [false, true] {
                    let mut info = FrameInfo::new()
                        .block_mode(mode)
                        .block_size(size)
                        .block_checksums(checks)
                        .content_checksum(checks);
                    if checks {
                        info = info.content_size(Some(data.len() as u64));
                    }
                    let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
                    enc.write_all(&data).unwrap();
                    let frame = enc.finish().unwrap();
                    let mut two = frame.clone();
                    two.extend_from_slice(&frame);
                    assert_eq!(
                        decompress(Compression::Lz4, &frame, data.len()).unwrap(),
                        data
                    );
                    assert_eq!(
                        decompress(Compression::Lz4, &two, 2 * data.len())
                            .unwrap()
                            .len(),
                        2 * data.len()
                    );
                    assert!(is_too_large(decompress(
                        Compression::Lz4,
                        &two,
                        2 * data.len() - 1
                    )));
                    // Without checksums a flipped literal just decodes differently.
                    let mut bad = frame.clone();
                    let last = bad.len() - 9;
                    bad[last] ^= 0x55;
                    let r = decompress(Compression::Lz4, &bad, 1 << 20);
                    assert!(!checks || r.is_err());
                }
            }
        }
    }

    #[cfg(feature = "lz4")]
    #[test]
    fn lz4_blocks_at_the_highest_ratio_fit_their_buffer() {
        use lz4_flex::frame::{BlockSize, FrameEncoder, FrameInfo};
        use std::io::Write;
        let zeros = vec![0u8; 4 << 20];
        let info = FrameInfo::new().block_size(BlockSize::Max4MB);
        let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
        enc.write_all(&zeros).unwrap();
        let frame = enc.finish().unwrap();
        assert!(frame.len() < 32 << 10, "{} bytes", frame.len());
        assert_eq!(
            decompress(Compression::Lz4, &frame, zeros.len()).unwrap(),
            zeros
        );
    }

    #[cfg(feature = "lz4")]
    #[test]
    fn lz4_legacy_header_checksum_is_repaired() {
        let mut frame = Vec::new();
        compress(Compression::Lz4, b"old kafka", &mut frame).unwrap();
        // KAFKA-3160: the checksum also covered the magic bytes.
        frame[6] = (xxhash_rust::xxh32::xxh32(&frame[..6], 0) >> 8) as u8;
        assert!(decompress(Compression::Lz4, &frame, 100).is_err());
        let fixed = repair_legacy_lz4_header(&frame).unwrap();
        assert_eq!(
            decompress(Compression::Lz4, &fixed, 100).unwrap(),
            b"old kafka"
        );
        assert!(repair_legacy_lz4_header(&fixed).is_none());
    }
}
