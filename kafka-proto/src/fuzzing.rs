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
