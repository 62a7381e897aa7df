//! Length-prefixed framing: every request and response on a Kafka connection
//! is an int32 size followed by that many bytes (header, then body).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::header::{
    RequestHeader, ResponseHeader, request_header_version, response_header_version,
};
use crate::primitives::Reader;
use crate::{Message, Request};

/// Appends one whole request frame: size, header (of the version the body's
/// version calls for) and body.
pub fn encode_request<R: Request>(
    out: &mut BytesMut,
    header: &RequestHeader,
    body: &R,
) -> Result<(), EncodeError> {
    let (hv, size) = request_frame_size(header, body)?;
    out.reserve(4 + size as usize);
    out.put_i32(size);
    header.encode(out, hv)?;
    body.encode(out, header.request_api_version)
}

/// The header version and the frame size (after the size prefix) of a
/// request of `body` under `header`.
fn request_frame_size<R: Request>(
    header: &RequestHeader,
    body: &R,
) -> Result<(i16, i32), EncodeError> {
    let version = header.request_api_version;
    let hv = request_header_version(R::API_KEY, version, R::is_flexible(version));
    let size = header.encoded_size(hv) + body.encoded_size(version)?;
    let size = i32::try_from(size).map_err(|_| EncodeError::TooLong {
        field: "frame",
        length: size,
    })?;
    Ok((hv, size))
}

/// [`encode_request`] with the body's large byte fields (the record batches
/// of a Produce request) handed over to `chunks` rather than copied into
/// `out`: write `chunks`' parts, then what `out` holds, for the same bytes
/// [`encode_request`] gives. On an error, `out` and `chunks` may hold part
/// of the frame.
pub fn encode_request_chunked<R: Request>(
    out: &mut BytesMut,
    chunks: &mut crate::primitives::Chunks,
    header: &RequestHeader,
    body: &R,
) -> Result<(), EncodeError> {
    let (hv, size) = request_frame_size(header, body)?;
    out.put_i32(size);
    header.encode(out, hv)?;
    body.encode_chunked(out, header.request_api_version, chunks)
}

/// Appends one whole response frame for a request of type `R` at `version`.
pub fn encode_response<R: Request>(
    out: &mut BytesMut,
    correlation_id: i32,
    version: i16,
    body: &R::Response,
) -> Result<(), EncodeError> {
    let hv = response_header_version(R::API_KEY, R::Response::is_flexible(version));
    let header = ResponseHeader {
        correlation_id,
        unknown_tagged_fields: Vec::new(),
    };
    let size = header.encoded_size(hv) + body.encoded_size(version)?;
    let size = i32::try_from(size).map_err(|_| EncodeError::TooLong {
        field: "frame",
        length: size,
    })?;
    out.reserve(4 + size as usize);
    out.put_i32(size);
    header.encode(out, hv)?;
    body.encode(out, version)
}

/// Reads the correlation id at the start of a response frame body (after the
/// size prefix) without decoding the rest, so a client can find the request
/// it answers before it knows the body type.
pub fn peek_correlation_id(frame: &[u8]) -> Result<i32, DecodeError> {
    match frame {
        [a, b, c, d, ..] => Ok(i32::from_be_bytes([*a, *b, *c, *d])),
        _ => Err(DecodeError::new(
            0,
            DecodeErrorKind::UnexpectedEof {
                needed: 4,
                available: frame.len(),
            },
        )
        .in_field("correlation_id")),
    }
}

/// Decodes a response frame body (after the size prefix) to a request of type
/// `R` sent at `version`: the header, then the body, which must fill the frame.
pub fn decode_response<R: Request>(
    frame: Bytes,
    version: i16,
) -> Result<(ResponseHeader, R::Response), DecodeError> {
    let len = frame.len();
    let (header, body, trailing) = decode_response_prefix::<R>(frame, version)?;
    if trailing > 0 {
        return Err(DecodeError::new(
            len - trailing,
            DecodeErrorKind::TrailingBytes { count: trailing },
        ));
    }
    Ok((header, body))
}

/// Like [`decode_response`], but bytes after the body are not an error:
/// returns how many there were. The Java client reads a response this way
/// (what it knows, ignoring the rest), and some brokers rely on it —
/// librdkafka's mock cluster appends a byte to Metadata v12 responses. A
/// client should prefer this for talking to brokers, and the strict form
/// for checking its own encoder.
pub fn decode_response_prefix<R: Request>(
    frame: Bytes,
    version: i16,
) -> Result<(ResponseHeader, R::Response, usize), DecodeError> {
    let mut r = Reader::new(frame);
    let hv = response_header_version(R::API_KEY, R::Response::is_flexible(version));
    let header = ResponseHeader::decode(&mut r, hv)?;
    let body = R::Response::decode_from(&mut r, version)?;
    Ok((header, body, r.remaining()))
}

/// Splits a byte stream into frames. Feed it bytes as they arrive, in any
/// split (one byte at a time works), and take whole frames out.
///
/// A frame whose size prefix is negative or over `max_frame_size` is an error;
/// the stream cannot be resynchronised after that, so the connection should be
/// closed.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: BytesMut,
    /// Bytes handed over by [`push_bytes`](Self::push_bytes) while `buf`
    /// was empty: whole frames are cut from it without a copy. Never
    /// holds anything while `buf` does (it comes first in the stream).
    handed: Bytes,
    max_frame_size: usize,
    /// Bytes consumed from the stream so far, for error offsets.
    consumed: usize,
}

impl FrameDecoder {
    /// A decoder that accepts frames of up to `max_frame_size` bytes.
    pub fn new(max_frame_size: usize) -> Self {
        FrameDecoder {
            buf: BytesMut::new(),
            handed: Bytes::new(),
            max_frame_size,
            consumed: 0,
        }
    }

    /// Appends received bytes (copied).
    pub fn push(&mut self, data: &[u8]) {
        self.take_back_handed();
        self.buf.extend_from_slice(data);
    }

    /// Appends received bytes, taking the buffer over: the frames it holds
    /// whole come out as slices of it (no copy); only a frame split across
    /// reads is gathered by copying.
    pub fn push_bytes(&mut self, data: Bytes) {
        if self.buf.is_empty() && self.handed.is_empty() {
            self.handed = data;
        } else {
            self.push(&data);
        }
    }

    /// Moves the rest of a handed-over buffer into `buf` (a partial frame
    /// to complete, or more bytes pushed behind it).
    fn take_back_handed(&mut self) {
        if !self.handed.is_empty() {
            self.buf.extend_from_slice(&self.handed);
            self.handed = Bytes::new();
        }
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() + self.handed.len()
    }

    /// Space to read into directly (avoids a copy for socket reads): reserve,
    /// read into the spare capacity of the returned buffer, and the bytes are
    /// part of the stream.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        self.take_back_handed();
        &mut self.buf
    }

    /// The size of the frame starting at `prefix`, checked.
    fn frame_size(&self, prefix: &[u8]) -> Result<usize, DecodeError> {
        let size = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        if size < 0 || size as usize > self.max_frame_size {
            return Err(DecodeError::new(
                self.consumed,
                DecodeErrorKind::FrameTooLarge {
                    size: i64::from(size),
                    max: self.max_frame_size,
                },
            ));
        }
        Ok(size as usize)
    }

    /// The next whole frame body (without its size prefix), `Ok(None)` when
    /// more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, DecodeError> {
        if !self.handed.is_empty() {
            if let Some(prefix) = self.handed.get(..4) {
                let size = self.frame_size(prefix)?;
                if self.handed.len() >= 4 + size {
                    self.handed.advance(4);
                    self.consumed += 4 + size;
                    return Ok(Some(self.handed.split_to(size)));
                }
            }
            // A partial frame: gather it in `buf`.
            self.take_back_handed();
        }
        let Some(prefix) = self.buf.get(..4) else {
            return Ok(None);
        };
        let size = self.frame_size(prefix)?;
        if self.buf.len() < 4 + size {
            // Reserve for the rest of the frame once we know its size.
            self.buf.reserve(4 + size - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(4);
        self.consumed += 4 + size;
        Ok(Some(self.buf.split_to(size).freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunked Produce frame is the plain one, byte for byte, at every
    /// version, with each batch of at least `min` bytes handed over as the
    /// very buffer given (no copy) and smaller ones copied.
    #[test]
    fn a_chunked_produce_frame_is_the_plain_frame_with_batches_handed_over() {
        use crate::messages::produce::{PartitionProduceData, ProduceRequest, TopicProduceData};
        use crate::primitives::Chunks;
        let batch = |n: usize, fill: u8| Bytes::from(vec![fill; n]);
        let batches = [
            batch(5000, 1),
            batch(100, 2),
            batch(4096, 3),
            batch(4095, 4),
        ];
        let partition = |index: i32, records: Option<&Bytes>| PartitionProduceData {
            index,
            records: records.cloned(),
            ..Default::default()
        };
        let topic = |name: &str, partition_data| TopicProduceData {
            name: name.into(),
            partition_data,
            ..Default::default()
        };
        let request = ProduceRequest {
            transactional_id: Some("txn".into()),
            acks: -1,
            timeout_ms: 30_000,
            topic_data: vec![
                topic(
                    "a",
                    vec![
                        partition(0, Some(&batches[0])),
                        partition(1, Some(&batches[1])),
                        partition(2, None),
                    ],
                ),
                topic(
                    "b",
                    vec![
                        partition(7, Some(&batches[2])),
                        partition(8, Some(&batches[3])),
                    ],
                ),
            ],
            ..Default::default()
        };
        for version in 3..=13 {
            let header = RequestHeader::new(crate::ApiKey::Produce, version, 42, Some("client"));
            let mut plain = BytesMut::new();
            encode_request(&mut plain, &header, &request).unwrap();

            // Something already queued stays in front.
            let mut out = BytesMut::from(&b"before"[..]);
            let mut chunks = Chunks::new(4096);
            encode_request_chunked(&mut out, &mut chunks, &header, &request).unwrap();
            let parts: Vec<Bytes> = chunks.drain().collect();
            let mut joined = Vec::new();
            for p in &parts {
                joined.extend_from_slice(p);
            }
            joined.extend_from_slice(&out);
            assert_eq!(&joined[..6], b"before", "v{version}");
            assert_eq!(&joined[6..], &plain[..], "v{version}");
            // The 5,000- and 4,096-byte batches are their own parts, the
            // caller's buffers themselves; the others were copied.
            let handed: Vec<&Bytes> = parts.iter().filter(|p| p.len() >= 4096).collect();
            assert_eq!(handed.len(), 2, "v{version}");
            assert_eq!(handed[0].as_ptr(), batches[0].as_ptr(), "v{version}");
            assert_eq!(handed[1].as_ptr(), batches[2].as_ptr(), "v{version}");
            assert_eq!(parts.len(), 4, "v{version}: before, batch, between, batch");
        }
    }

    fn frames(sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &n) in sizes.iter().enumerate() {
            out.extend_from_slice(&(n as i32).to_be_bytes());
            out.extend(std::iter::repeat_n(i as u8, n));
        }
        out
    }

    /// Whole frames in a handed-over buffer come out as slices of it.
    #[test]
    fn whole_frames_handed_over_are_not_copied() {
        let stream = Bytes::from(frames(&[3, 10]));
        let mut d = FrameDecoder::new(1024);
        d.push_bytes(stream.clone());
        let first = d.next_frame().unwrap().unwrap();
        let second = d.next_frame().unwrap().unwrap();
        assert_eq!(first.as_ptr(), stream[4..].as_ptr());
        assert_eq!(second.as_ptr(), stream[11..].as_ptr());
        assert_eq!(&second[..], &[1u8; 10][..]);
        assert!(d.next_frame().unwrap().is_none());
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn one_byte_at_a_time() {
        let stream = frames(&[0, 1, 5, 300]);
        let mut d = FrameDecoder::new(1024);
        let mut got = Vec::new();
        for b in &stream {
            d.push(std::slice::from_ref(b));
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(
            got.iter().map(|f| f.len()).collect::<Vec<_>>(),
            vec![0, 1, 5, 300]
        );
        assert!(got[3].iter().all(|&b| b == 3));
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn oversized_and_negative_frames_are_errors() {
        let mut d = FrameDecoder::new(10);
        d.push(&11i32.to_be_bytes());
        assert!(matches!(
            d.next_frame().unwrap_err().kind,
            DecodeErrorKind::FrameTooLarge { size: 11, max: 10 }
        ));
        let mut d = FrameDecoder::new(10);
        d.push(&(-1i32).to_be_bytes());
        assert!(d.next_frame().is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_split_yields_the_same_frames(
            sizes in proptest::collection::vec(0usize..200, 0..8),
            cuts in proptest::collection::vec(1usize..50, 1..40),
            handed in proptest::collection::vec(proptest::bool::ANY, 1..40),
        ) {
            let stream = frames(&sizes);
            let mut d = FrameDecoder::new(1 << 16);
            let mut got = Vec::new();
            let mut pos = 0;
            let mut i = 0;
            while pos < stream.len() {
                let n = cuts[i % cuts.len()].min(stream.len() - pos);
                // Copied or handed over, in any mix.
                if handed[i % handed.len()] {
                    d.push_bytes(Bytes::copy_from_slice(&stream[pos..pos + n]));
                } else {
                    d.push(&stream[pos..pos + n]);
                }
                pos += n;
                i += 1;
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f.to_vec());
                }
            }
            let expected: Vec<Vec<u8>> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| vec![i as u8; n])
                .collect();
            proptest::prop_assert_eq!(got, expected);
            proptest::prop_assert_eq!(d.buffered(), 0);
        }
    }
}
