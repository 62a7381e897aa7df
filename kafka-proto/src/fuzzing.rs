//! Oracles shared by the cargo-fuzz targets in `fuzz/` and the corpus replay
//! test in `tests/` (enabled by the `fuzzing` feature; not part of the
//! stable API).
//!
//! Each function takes arbitrary bytes and must never panic for any input
//! except to report a broken codec invariant: a value that decodes must
//! re-encode, and the re-encoding must decode to the same value.

use bytes::{Bytes, BytesMut};

use crate::frame::FrameDecoder;
use crate::messages::decode_request;
use crate::{Message, Request};

/// Picks a version of `M` from the first input byte; the rest is the body.
fn split_version<M: Message>(data: &[u8]) -> Option<(i16, &[u8])> {
    let (&first, rest) = data.split_first()?;
    let span = (M::MAX_VERSION - M::MIN_VERSION + 1) as u8;
    Some((M::MIN_VERSION + i16::from(first % span), rest))
}

/// Decodes `value` after encoding it, asserting the round trip holds.
fn assert_round_trip<M: Message>(value: &M, version: i16) {
    let mut out = BytesMut::new();
    value
        .encode(&mut out, version)
        .expect("a decoded value must re-encode");
    assert_eq!(
        out.len(),
        value.encoded_size(version).expect("size"),
        "encoded_size disagrees with encode"
    );
    let again = M::decode(out.freeze(), version).expect("a re-encoded value must decode");
    assert_eq!(&again, value, "decode(encode(x)) != x at version {version}");
}

/// Fuzz oracle for the response body of request type `R`: the first byte
/// selects the version, the rest is decoded as the body.
pub fn response<R: Request>(data: &[u8]) {
    body::<R::Response>(data)
}

/// Fuzz oracle for any message body type.
pub fn body<M: Message>(data: &[u8]) {
    let Some((version, rest)) = split_version::<M>(data) else {
        return;
    };
    if let Ok(value) = M::decode(Bytes::copy_from_slice(rest), version) {
        assert_round_trip(&value, version);
    }
}

/// Fuzz oracle for whole request frames as a broker receives them (header
/// and body of any API): decodes, and re-encodes what decoded.
pub fn request_frame(data: &[u8]) {
    let Ok((header, body)) = decode_request(Bytes::copy_from_slice(data)) else {
        return;
    };
    let version = header.request_api_version;
    let (_, _, flexible) =
        crate::messages::supported_versions(body.api_key()).expect("decoded API is declared");
    let hv = crate::header::request_header_version(
        body.api_key(),
        version,
        matches!(flexible, Some(f) if version >= f),
    );
    let mut out = BytesMut::new();
    header
        .encode(&mut out, hv)
        .expect("a decoded header must re-encode");
    body.encode(&mut out, version)
        .expect("a decoded request must re-encode");
    let (h2, b2) = decode_request(out.freeze()).expect("a re-encoded request must decode");
    assert_eq!(h2, header);
    assert_eq!(b2, body);
}

/// Fuzz oracle for the incremental frame decoder: the input is fed in chunks
/// whose sizes come from the input itself, and every split must yield the
/// same frames as feeding it whole.
pub fn frame_decoder(data: &[u8]) {
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 16) + 1;
    let whole = collect_frames(stream, stream.len().max(1));
    let split = collect_frames(stream, step);
    assert_eq!(whole, split, "frames depend on how the stream was split");
}

fn collect_frames(stream: &[u8], step: usize) -> (Vec<Bytes>, bool) {
    let mut d = FrameDecoder::new(1 << 16);
    let mut frames = Vec::new();
    for chunk in stream.chunks(step) {
        d.push(chunk);
        loop {
            match d.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(_) => return (frames, true),
            }
        }
    }
    (frames, false)
}

/// Fuzz oracle for the record readers: walks the input as a log buffer of
/// any magic, decodes every record of every entry, and rebuilds each v2
/// batch that decoded, which must read back to the same records.
pub fn record_batches(data: &[u8]) {
    use crate::record::{AnyBatch, BatchOptions, Batches, Header, RecordBatch, RecordBatchBuilder};
    let mut batches = Batches::new(Bytes::copy_from_slice(data));
    for entry in batches.by_ref() {
        let Ok(entry) = entry else { break };
        let info = entry.info();
        let Ok(records) = entry.records(1 << 20) else {
            continue;
        };
        let AnyBatch::V2(batch) = entry else { continue };
        if records.is_empty() || info.control {
            continue;
        }
        let mut b = RecordBatchBuilder::new(info.compression);
        for r in &records {
            let keys: Vec<Option<&str>> = r
                .headers
                .iter()
                .map(|h| std::str::from_utf8(&h.key).ok())
                .collect();
            if keys.iter().any(Option::is_none) {
                return;
            }
            let headers: Vec<Header<'_>> = r
                .headers
                .iter()
                .zip(&keys)
                .map(|(h, k)| Header {
                    key: k.unwrap_or_default(),
                    value: h.value.as_deref(),
                })
                .collect();
            b.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers)
                .expect("decoded records re-encode");
        }
        let rebuilt = b
            .seal(&BatchOptions {
                base_offset: batch.base_offset(),
                producer_id: batch.producer_id(),
                producer_epoch: batch.producer_epoch(),
                base_sequence: batch.base_sequence(),
                transactional: batch.is_transactional(),
                log_append_time: (info.timestamp_type
                    == crate::record::TimestampType::LogAppendTime)
                    .then(|| batch.max_timestamp()),
                ..Default::default()
            })
            .expect("seal");
        let view = RecordBatch::parse(rebuilt).expect("rebuilt batch parses");
        view.verify_crc().expect("rebuilt batch has a valid CRC");
        let again: Vec<_> = view
            .records(usize::MAX)
            .expect("records")
            .collect::<Result<_, _>>()
            .expect("rebuilt records decode");
        // Offsets are base + position in the rebuilt batch.
        for (i, (a, b)) in again.iter().zip(&records).enumerate() {
            assert_eq!(a.offset, batch.base_offset() + i as i64);
            assert_eq!(
                (&a.key, &a.value, &a.headers),
                (&b.key, &b.value, &b.headers)
            );
            if info.timestamp_type == crate::record::TimestampType::CreateTime {
                assert_eq!(a.timestamp, b.timestamp);
            }
        }
        assert_eq!(again.len(), records.len());
    }
}

/// Fuzz oracle for one decompressor: whatever decompresses within the
/// limit must survive a compress/decompress round trip.
pub fn decompress(codec: crate::compression::Compression, data: &[u8]) {
    use crate::compression::{compress, decompress};
    const LIMIT: usize = 1 << 20;
    if let Ok(plain) = decompress(codec, data, LIMIT) {
        let mut again = Vec::new();
        compress(codec, &plain, &mut again).expect("compress");
        assert_eq!(decompress(codec, &again, LIMIT).expect("round trip"), plain);
    }
}

/// [`decompress`] with gzip.
pub fn decompress_gzip(data: &[u8]) {
    decompress(crate::compression::Compression::Gzip, data)
}
/// [`decompress`] with snappy (raw or xerial-framed).
pub fn decompress_snappy(data: &[u8]) {
    decompress(crate::compression::Compression::Snappy, data)
}
/// [`decompress`] with lz4 (frame format).
pub fn decompress_lz4(data: &[u8]) {
    decompress(crate::compression::Compression::Lz4, data)
}
/// [`decompress`] with zstd.
pub fn decompress_zstd(data: &[u8]) {
    decompress(crate::compression::Compression::Zstd, data)
}
