//! Every API the producer needs, declared once with its version range.
//!
//! Each submodule declares one API's request and response bodies with
//! [`kafka_struct!`](crate::kafka_struct), which derives their encoders,
//! decoders and sizes. [`AnyRequest`] and [`AnyResponse`] tie them to API keys
//! so that a broker (or a simulated one) can decode whatever arrives.

use bytes::Bytes;

use crate::error::{DecodeError, DecodeErrorKind};
use crate::header::{RequestHeader, request_header_version, response_header_version};
use crate::primitives::Reader;
use crate::{ApiKey, Message};

pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod api_versions;
pub mod create_topics;
pub mod delete_topics;
pub mod describe_configs;
pub mod end_txn;
pub mod fetch;
pub mod find_coordinator;
pub mod init_producer_id;
pub mod list_offsets;
pub mod metadata;
pub mod produce;
pub mod sasl_authenticate;
pub mod sasl_handshake;
pub mod txn_offset_commit;

macro_rules! apis {
    ($( $variant:ident => $module:ident :: $req:ident, $resp:ident; )*) => {
        /// A decoded request body of any API this codec declares.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum AnyRequest {
            $(
                #[doc = concat!("A [`", stringify!($req), "`](", stringify!($module), "::", stringify!($req), ").")]
                $variant($module::$req),
            )*
        }

        /// A decoded response body of any API this codec declares.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum AnyResponse {
            $(
                #[doc = concat!("A [`", stringify!($resp), "`](", stringify!($module), "::", stringify!($resp), ").")]
                $variant($module::$resp),
            )*
        }

        /// The version range and first flexible version this codec supports
        /// for `api_key`, or `None` if it does not declare that API.
        pub fn supported_versions(api_key: ApiKey) -> Option<(i16, i16, Option<i16>)> {
            $(
                if api_key == <$module::$req as Message>::API_KEY {
                    return Some((
                        <$module::$req as Message>::MIN_VERSION,
                        <$module::$req as Message>::MAX_VERSION,
                        <$module::$req as Message>::FIRST_FLEXIBLE_VERSION,
                    ));
                }
            )*
            None
        }

        impl AnyRequest {
            /// The API key of this request.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $( AnyRequest::$variant(_) => <$module::$req as Message>::API_KEY, )*
                }
            }

            /// Appends the body encoded at `version`.
            pub fn encode(&self, out: &mut bytes::BytesMut, version: i16) -> Result<(), crate::EncodeError> {
                match self {
                    $( AnyRequest::$variant(body) => body.encode(out, version), )*
                }
            }

            /// Decodes a request body of `api_key` at `version`; it must fill `r`.
            pub fn decode(r: &mut Reader, api_key: ApiKey, version: i16) -> Result<Self, DecodeError> {
                $(
                    if api_key == <$module::$req as Message>::API_KEY {
                        return <$module::$req as Message>::decode_from(r, version).map(AnyRequest::$variant);
                    }
                )*
                Err(r.error(DecodeErrorKind::UnknownApiKey { api_key: api_key.0 }))
            }
        }

        impl AnyResponse {
            /// The API key of this response.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $( AnyResponse::$variant(_) => <$module::$resp as Message>::API_KEY, )*
                }
            }

            /// Decodes a response body of `api_key` at `version`.
            pub fn decode(r: &mut Reader, api_key: ApiKey, version: i16) -> Result<Self, DecodeError> {
                $(
                    if api_key == <$module::$resp as Message>::API_KEY {
                        return <$module::$resp as Message>::decode_from(r, version).map(AnyResponse::$variant);
                    }
                )*
                Err(r.error(DecodeErrorKind::UnknownApiKey { api_key: api_key.0 }))
            }
        }
    };
}

apis! {
    Produce => produce::ProduceRequest, ProduceResponse;
    Fetch => fetch::FetchRequest, FetchResponse;
    ListOffsets => list_offsets::ListOffsetsRequest, ListOffsetsResponse;
    Metadata => metadata::MetadataRequest, MetadataResponse;
    FindCoordinator => find_coordinator::FindCoordinatorRequest, FindCoordinatorResponse;
    SaslHandshake => sasl_handshake::SaslHandshakeRequest, SaslHandshakeResponse;
    ApiVersions => api_versions::ApiVersionsRequest, ApiVersionsResponse;
    CreateTopics => create_topics::CreateTopicsRequest, CreateTopicsResponse;
    DeleteTopics => delete_topics::DeleteTopicsRequest, DeleteTopicsResponse;
    DescribeConfigs => describe_configs::DescribeConfigsRequest, DescribeConfigsResponse;
    InitProducerId => init_producer_id::InitProducerIdRequest, InitProducerIdResponse;
    AddPartitionsToTxn => add_partitions_to_txn::AddPartitionsToTxnRequest, AddPartitionsToTxnResponse;
    AddOffsetsToTxn => add_offsets_to_txn::AddOffsetsToTxnRequest, AddOffsetsToTxnResponse;
    EndTxn => end_txn::EndTxnRequest, EndTxnResponse;
    TxnOffsetCommit => txn_offset_commit::TxnOffsetCommitRequest, TxnOffsetCommitResponse;
    SaslAuthenticate => sasl_authenticate::SaslAuthenticateRequest, SaslAuthenticateResponse;
}

/// Decodes a whole request frame body (after the size prefix): the header,
/// whose version follows from the API key and version it carries, then the
/// body, which must fill the frame.
pub fn decode_request(frame: Bytes) -> Result<(RequestHeader, AnyRequest), DecodeError> {
    let mut r = Reader::new(frame);
    // The first four bytes (API key and version) are the same in every header
    // version; read them to learn which header version follows.
    let prefix = r.peek_rest();
    if prefix.len() < 4 {
        return Err(r.error(DecodeErrorKind::UnexpectedEof {
            needed: 4,
            available: prefix.len(),
        }));
    }
    let api_key = ApiKey(i16::from_be_bytes([prefix[0], prefix[1]]));
    let version = i16::from_be_bytes([prefix[2], prefix[3]]);
    let Some((min, max, flexible)) = supported_versions(api_key) else {
        return Err(r.error(DecodeErrorKind::UnknownApiKey { api_key: api_key.0 }));
    };
    if !(min..=max).contains(&version) {
        return Err(r.error(DecodeErrorKind::UnsupportedVersion {
            api_key: api_key.0,
            version,
        }));
    }
    let is_flexible = matches!(flexible, Some(f) if version >= f);
    let header = RequestHeader::decode(
        &mut r,
        request_header_version(api_key, version, is_flexible),
    )?;
    let body = AnyRequest::decode(&mut r, api_key, version)?;
    if !r.is_empty() {
        return Err(r.error(DecodeErrorKind::TrailingBytes {
            count: r.remaining(),
        }));
    }
    Ok((header, body))
}

/// Decodes a whole response frame body (after the size prefix) to a request
/// of `api_key` sent at `version`.
pub fn decode_response_any(
    frame: Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<(crate::header::ResponseHeader, AnyResponse), DecodeError> {
    let mut r = Reader::new(frame);
    let Some((_, _, flexible)) = supported_versions(api_key) else {
        return Err(r.error(DecodeErrorKind::UnknownApiKey { api_key: api_key.0 }));
    };
    let is_flexible = matches!(flexible, Some(f) if version >= f);
    let header = crate::header::ResponseHeader::decode(
        &mut r,
        response_header_version(api_key, is_flexible),
    )?;
    let body = AnyResponse::decode(&mut r, api_key, version)?;
    if !r.is_empty() {
        return Err(r.error(DecodeErrorKind::TrailingBytes {
            count: r.remaining(),
        }));
    }
    Ok((header, body))
}
