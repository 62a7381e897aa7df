//! Request headers (v0–v2) and response headers (v0–v1).
//!
//! Which header version goes with a message follows from the message version:
//! flexible versions use request header v2 and response header v1, older ones
//! request header v1 and response header v0. ApiVersions responses always use
//! response header v0, so that a client can parse the reply of a broker that
//! does not support the version it asked for.

use bytes::{BufMut, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::primitives::{
    Nullable, RawTaggedField, Reader, Wire, WireVersion, put_uvarint, raw_tagged_size,
    read_tagged_count, read_tagged_field, uvarint_size, write_raw_tagged,
};
use crate::{ApiKey, Message};

/// The request header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestHeader {
    /// The API key of the request.
    pub request_api_key: i16,
    /// The version of the request body.
    pub request_api_version: i16,
    /// Echoed in the response; lets the client match responses to requests.
    pub correlation_id: i32,
    /// The client id (header v1+); null allowed.
    pub client_id: Option<String>,
    /// Tagged fields of header v2 (none are defined by Kafka today).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The request header version used with `api_key` at `api_version`, given
/// whether that message version is flexible.
pub fn request_header_version(api_key: ApiKey, api_version: i16, flexible: bool) -> i16 {
    if flexible {
        2
    } else if api_key == ApiKey::ControlledShutdown && api_version == 0 {
        0
    } else {
        1
    }
}

/// The response header version used with `api_key`, given whether that
/// message version is flexible.
pub fn response_header_version(api_key: ApiKey, flexible: bool) -> i16 {
    if flexible && api_key != ApiKey::ApiVersions {
        1
    } else {
        0
    }
}

impl RequestHeader {
    /// A header for a request of `api_key` at `api_version`.
    pub fn new(
        api_key: ApiKey,
        api_version: i16,
        correlation_id: i32,
        client_id: Option<&str>,
    ) -> Self {
        RequestHeader {
            request_api_key: api_key.0,
            request_api_version: api_version,
            correlation_id,
            client_id: client_id.map(str::to_owned),
            unknown_tagged_fields: Vec::new(),
        }
    }

    /// Appends the header at `header_version` (0, 1 or 2).
    pub fn encode(&self, out: &mut BytesMut, header_version: i16) -> Result<(), EncodeError> {
        if !(0..=2).contains(&header_version) {
            return Err(EncodeError::UnsupportedVersion {
                api_key: -1,
                version: header_version,
            });
        }
        out.put_i16(self.request_api_key);
        out.put_i16(self.request_api_version);
        out.put_i32(self.correlation_id);
        if header_version >= 1 {
            // The client id is a classic nullable string even in header v2.
            self.client_id
                .write(out, WireVersion::new(header_version, false))
                .map_err(|e| e.in_field("client_id"))?;
        }
        if header_version >= 2 {
            put_uvarint(out, self.unknown_tagged_fields.len() as u32);
            write_raw_tagged(out, &self.unknown_tagged_fields);
        }
        Ok(())
    }

    /// The size of the header at `header_version`.
    pub fn encoded_size(&self, header_version: i16) -> usize {
        let mut n = 8;
        if header_version >= 1 {
            n += self.client_id.wire_size(WireVersion::new(1, false));
        }
        if header_version >= 2 {
            n += uvarint_size(self.unknown_tagged_fields.len() as u32)
                + raw_tagged_size(&self.unknown_tagged_fields);
        }
        n
    }

    /// Reads a header at `header_version`.
    pub fn decode(r: &mut Reader, header_version: i16) -> Result<Self, DecodeError> {
        if !(0..=2).contains(&header_version) {
            return Err(r.error(DecodeErrorKind::UnsupportedVersion {
                api_key: -1,
                version: header_version,
            }));
        }
        let mut h = RequestHeader {
            request_api_key: r.i16().map_err(|e| e.in_field("request_api_key"))?,
            request_api_version: r.i16().map_err(|e| e.in_field("request_api_version"))?,
            correlation_id: r.i32().map_err(|e| e.in_field("correlation_id"))?,
            ..Default::default()
        };
        if header_version >= 1 {
            h.client_id = String::read_nullable(r, WireVersion::new(1, false))
                .map_err(|e| e.in_field("client_id"))?;
        }
        if header_version >= 2 {
            h.unknown_tagged_fields = read_raw_tagged_section(r)?;
        }
        Ok(h)
    }

    /// The header version this header's API and version call for, given the
    /// body type `M`.
    pub fn version_for<M: Message>(api_version: i16) -> i16 {
        request_header_version(M::API_KEY, api_version, M::is_flexible(api_version))
    }
}

/// The response header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseHeader {
    /// The correlation id of the request this answers.
    pub correlation_id: i32,
    /// Tagged fields of header v1 (none are defined by Kafka today).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl ResponseHeader {
    /// Appends the header at `header_version` (0 or 1).
    pub fn encode(&self, out: &mut BytesMut, header_version: i16) -> Result<(), EncodeError> {
        if !(0..=1).contains(&header_version) {
            return Err(EncodeError::UnsupportedVersion {
                api_key: -1,
                version: header_version,
            });
        }
        out.put_i32(self.correlation_id);
        if header_version >= 1 {
            put_uvarint(out, self.unknown_tagged_fields.len() as u32);
            write_raw_tagged(out, &self.unknown_tagged_fields);
        }
        Ok(())
    }

    /// The size of the header at `header_version`.
    pub fn encoded_size(&self, header_version: i16) -> usize {
        if header_version >= 1 {
            4 + uvarint_size(self.unknown_tagged_fields.len() as u32)
                + raw_tagged_size(&self.unknown_tagged_fields)
        } else {
            4
        }
    }

    /// Reads a header at `header_version`.
    pub fn decode(r: &mut Reader, header_version: i16) -> Result<Self, DecodeError> {
        if !(0..=1).contains(&header_version) {
            return Err(r.error(DecodeErrorKind::UnsupportedVersion {
                api_key: -1,
                version: header_version,
            }));
        }
        let correlation_id = r.i32().map_err(|e| e.in_field("correlation_id"))?;
        let unknown_tagged_fields = if header_version >= 1 {
            read_raw_tagged_section(r)?
        } else {
            Vec::new()
        };
        Ok(ResponseHeader {
            correlation_id,
            unknown_tagged_fields,
        })
    }
}

fn read_raw_tagged_section(r: &mut Reader) -> Result<Vec<RawTaggedField>, DecodeError> {
    let n = read_tagged_count(r).map_err(|e| e.in_field("tagged_fields"))?;
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        let (tag, sub) = read_tagged_field(r).map_err(|e| e.in_field("tagged_fields"))?;
        fields.push(RawTaggedField {
            tag,
            data: sub.into_rest(),
        });
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn request_header_v2_keeps_classic_client_id() {
        let h = RequestHeader::new(ApiKey::Produce, 9, 42, Some("cli"));
        let mut out = BytesMut::new();
        h.encode(&mut out, 2).unwrap();
        assert_eq!(
            &out[..],
            &[0, 0, 0, 9, 0, 0, 0, 42, 0, 3, b'c', b'l', b'i', 0][..]
        );
        assert_eq!(out.len(), h.encoded_size(2));
        let back = RequestHeader::decode(&mut Reader::new(out.freeze()), 2).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn all_header_versions_round_trip() {
        for hv in 0..=2 {
            let mut h = RequestHeader::new(ApiKey::Metadata, 1, -5, None);
            if hv >= 2 {
                h.unknown_tagged_fields.push(RawTaggedField {
                    tag: 3,
                    data: Bytes::from_static(b"xy"),
                });
            }
            let mut out = BytesMut::new();
            h.encode(&mut out, hv).unwrap();
            assert_eq!(out.len(), h.encoded_size(hv));
            assert_eq!(
                RequestHeader::decode(&mut Reader::new(out.freeze()), hv).unwrap(),
                h
            );
        }
        for hv in 0..=1 {
            let h = ResponseHeader {
                correlation_id: 77,
                unknown_tagged_fields: Vec::new(),
            };
            let mut out = BytesMut::new();
            h.encode(&mut out, hv).unwrap();
            assert_eq!(out.len(), h.encoded_size(hv));
            assert_eq!(
                ResponseHeader::decode(&mut Reader::new(out.freeze()), hv).unwrap(),
                h
            );
        }
    }

    #[test]
    fn truncated_header_is_an_error_with_offset() {
        let err = RequestHeader::decode(&mut Reader::new(Bytes::from_static(&[0, 0, 0, 1, 0])), 1)
            .unwrap_err();
        assert_eq!(err.field, Some("correlation_id"));
        assert_eq!(err.offset, 4);
    }

    #[test]
    fn header_versions_follow_flexibility() {
        assert_eq!(request_header_version(ApiKey::Produce, 9, true), 2);
        assert_eq!(request_header_version(ApiKey::Produce, 8, false), 1);
        assert_eq!(
            request_header_version(ApiKey::ControlledShutdown, 0, false),
            0
        );
        assert_eq!(response_header_version(ApiKey::ApiVersions, true), 0);
        assert_eq!(response_header_version(ApiKey::Metadata, true), 1);
    }
}
