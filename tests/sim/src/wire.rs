//! Helpers for tests that talk to the cluster with raw requests.

use bytes::{Bytes, BytesMut};
use kafka_proto::frame;
use kafka_proto::header::RequestHeader;
use kafka_proto::{DecodeError, DecodeErrorKind, EncodeError, Request};

/// Encodes a whole request frame (size prefix, header, body) of type `R` at
/// `api_version`, with client id `kafka-sim-test`.
pub fn encode_request<R: Request>(
    api_version: i16,
    correlation_id: i32,
    body: &R,
) -> Result<Bytes, EncodeError> {
    let mut out = BytesMut::new();
    let header = RequestHeader::new(
        R::API_KEY,
        api_version,
        correlation_id,
        Some("kafka-sim-test"),
    );
    frame::encode_request(&mut out, &header, body)?;
    Ok(out.freeze())
}

/// Decodes a whole response frame as [`NetOutput::Data`](crate::NetOutput::Data)
/// carries it (size prefix included) to a request of type `R` sent at
/// `api_version`: the correlation id and the body.
pub fn decode_response<R: Request>(
    frame_bytes: &Bytes,
    api_version: i16,
) -> Result<(i32, R::Response), DecodeError> {
    let Some(prefix) = frame_bytes.get(..4) else {
        return Err(DecodeError::new(
            0,
            DecodeErrorKind::UnexpectedEof {
                needed: 4,
                available: frame_bytes.len(),
            },
        ));
    };
    let size = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    if size != frame_bytes.len() - 4 {
        return Err(DecodeError::new(
            0,
            DecodeErrorKind::InvalidLength {
                length: size as i64,
            },
        ));
    }
    let (header, body) = frame::decode_response::<R>(frame_bytes.slice(4..), api_version)?;
    Ok((header.correlation_id, body))
}
