//! An I/O-free codec for the Kafka wire protocol, as a producer needs it.
//!
//! - [`primitives`]: integers, varints, strings, bytes, arrays, UUIDs and
//!   tagged fields in classic and compact (flexible) forms.
//! - [`header`]: request headers v0–v2 and response headers v0–v1.
//! - [`frame`]: length-prefixed framing and an incremental [`frame::FrameDecoder`]
//!   that accepts the byte stream split anywhere.
//! - [`messages`]: every API a producer needs, each declared once with its
//!   version range ([`kafka_struct!`]); encode, decode and size are derived.
//! - [`record`]: record batches v2 (builder that writes straight into the wire
//!   buffer, lazy zero-copy reader) and legacy message sets (magic 0 and 1).
//! - [`compression`]: gzip, snappy, lz4 and zstd behind cargo features, with
//!   bounded decompression.
//! - [`ErrorCode`]: every Kafka error code, with `is_retriable()`.
//!
//! Decoding never panics on bad input and never allocates more than the bytes
//! present justify; errors are a typed [`DecodeError`] with the byte offset.
//!
//! # Example
//!
//! Encode a Metadata request, then decode it back as a broker would:
//!
//! ```
//! use bytes::BytesMut;
//! use kafka_proto::messages::metadata::{MetadataRequest, MetadataRequestTopic};
//! use kafka_proto::{frame, header::RequestHeader, Message};
//!
//! let request = MetadataRequest {
//!     topics: Some(vec![MetadataRequestTopic { name: Some("events".into()), ..Default::default() }]),
//!     allow_auto_topic_creation: true,
//!     ..Default::default()
//! };
//! let header = RequestHeader::new(MetadataRequest::API_KEY, 12, 7, Some("my-client"));
//! let mut out = BytesMut::new();
//! frame::encode_request(&mut out, &header, &request).unwrap();
//!
//! let mut decoder = frame::FrameDecoder::new(1 << 20);
//! decoder.push(&out);
//! let body = decoder.next_frame().unwrap().expect("one whole frame");
//! let (h, any) = kafka_proto::messages::decode_request(body).unwrap();
//! assert_eq!(h.correlation_id, 7);
//! assert_eq!(any, kafka_proto::messages::AnyRequest::Metadata(request));
//! ```

#[macro_use]
mod macros;
pub mod compression;
pub mod error;
pub mod error_code;
pub mod frame;
// Test support for fuzz/ and the corpus replay, not part of the public API:
// hidden from the docs and exempt from semver.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
#[cfg(test)]
mod interop_tests;
pub mod messages;
pub mod primitives;
pub mod record;
#[cfg(test)]
pub(crate) mod testing;

use bytes::{Bytes, BytesMut};

pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use error_code::ErrorCode;
use primitives::{Reader, Wire, WireVersion};

/// A Kafka API key (the `request_api_key` of a request header).
///
/// A newtype rather than an enum so that keys this codec does not know (as a
/// broker lists them in ApiVersions) stay representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiKey(pub i16);

macro_rules! api_keys {
    ($($name:ident = $n:literal,)*) => {
        impl ApiKey {
            $(
                #[doc = concat!("API key ", stringify!($n), ": ", stringify!($name), ".")]
                pub const $name: ApiKey = ApiKey($n);
            )*

            /// The API's name as Kafka spells it, if this codec knows the key.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $n => Some(stringify!($name)), )*
                    _ => None,
                }
            }
        }
    };
}

#[allow(non_upper_case_globals)]
const _: () = {
    api_keys! {
        Produce = 0, Fetch = 1, ListOffsets = 2, Metadata = 3, LeaderAndIsr = 4,
        StopReplica = 5, UpdateMetadata = 6, ControlledShutdown = 7, OffsetCommit = 8,
        OffsetFetch = 9, FindCoordinator = 10, JoinGroup = 11, Heartbeat = 12,
        LeaveGroup = 13, SyncGroup = 14, DescribeGroups = 15, ListGroups = 16,
        SaslHandshake = 17, ApiVersions = 18, CreateTopics = 19, DeleteTopics = 20,
        DeleteRecords = 21, InitProducerId = 22, OffsetForLeaderEpoch = 23,
        AddPartitionsToTxn = 24, AddOffsetsToTxn = 25, EndTxn = 26, WriteTxnMarkers = 27,
        TxnOffsetCommit = 28, DescribeAcls = 29, CreateAcls = 30, DeleteAcls = 31,
        DescribeConfigs = 32, AlterConfigs = 33, AlterReplicaLogDirs = 34,
        DescribeLogDirs = 35, SaslAuthenticate = 36, CreatePartitions = 37,
        CreateDelegationToken = 38, RenewDelegationToken = 39, ExpireDelegationToken = 40,
        DescribeDelegationToken = 41, DeleteGroups = 42, ElectLeaders = 43,
        IncrementalAlterConfigs = 44, AlterPartitionReassignments = 45,
        ListPartitionReassignments = 46, OffsetDelete = 47, DescribeClientQuotas = 48,
        AlterClientQuotas = 49, DescribeUserScramCredentials = 50,
        AlterUserScramCredentials = 51, DescribeQuorum = 55, AlterPartition = 56,
        UpdateFeatures = 57, Envelope = 58, DescribeCluster = 60, DescribeProducers = 61,
        UnregisterBroker = 64, DescribeTransactions = 65, ListTransactions = 66,
        AllocateProducerIds = 67, ConsumerGroupHeartbeat = 68, ConsumerGroupDescribe = 69,
        GetTelemetrySubscriptions = 71, PushTelemetry = 72, ListClientMetricsResources = 74,
        DescribeTopicPartitions = 75, ShareGroupHeartbeat = 76, ShareGroupDescribe = 77,
        ShareFetch = 78, ShareAcknowledge = 79,
    }
};

/// A request or response body declared with its version range.
pub trait Message: Wire + Default + Clone + std::fmt::Debug + PartialEq {
    /// The API this body belongs to.
    const API_KEY: ApiKey;
    /// Lowest supported version.
    const MIN_VERSION: i16;
    /// Highest supported version.
    const MAX_VERSION: i16;
    /// First version using the flexible (KIP-482) encoding, if any.
    const FIRST_FLEXIBLE_VERSION: Option<i16>;

    /// Whether `version` is flexible.
    fn is_flexible(version: i16) -> bool {
        matches!(Self::FIRST_FLEXIBLE_VERSION, Some(f) if version >= f)
    }

    /// The wire context for `version`, or `None` if it is unsupported.
    fn wire_version(version: i16) -> Option<WireVersion> {
        (Self::MIN_VERSION..=Self::MAX_VERSION)
            .contains(&version)
            .then(|| WireVersion::new(version, Self::is_flexible(version)))
    }

    /// Appends the body encoded at `version`.
    fn encode(&self, out: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        let v = Self::wire_version(version).ok_or(EncodeError::UnsupportedVersion {
            api_key: Self::API_KEY.0,
            version,
        })?;
        out.reserve(self.wire_size(v));
        self.write(out, v)
    }

    /// Appends the body encoded at `version` as [`encode`](Self::encode)
    /// does, with large byte fields (record batches) handed over to
    /// `chunks` rather than copied: see [`primitives::Chunks`].
    fn encode_chunked(
        &self,
        out: &mut BytesMut,
        version: i16,
        chunks: &mut primitives::Chunks,
    ) -> Result<(), EncodeError> {
        let v = Self::wire_version(version).ok_or(EncodeError::UnsupportedVersion {
            api_key: Self::API_KEY.0,
            version,
        })?;
        self.write_chunked(out, v, chunks)
    }

    /// The size in bytes of the body encoded at `version`.
    fn encoded_size(&self, version: i16) -> Result<usize, EncodeError> {
        let v = Self::wire_version(version).ok_or(EncodeError::UnsupportedVersion {
            api_key: Self::API_KEY.0,
            version,
        })?;
        Ok(self.wire_size(v))
    }

    /// Decodes a body at `version` from a reader, leaving what follows.
    fn decode_from(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        let v = Self::wire_version(version).ok_or_else(|| {
            r.error(DecodeErrorKind::UnsupportedVersion {
                api_key: Self::API_KEY.0,
                version,
            })
        })?;
        Self::read(r, v)
    }

    /// Decodes a body at `version` that must fill `buf` exactly.
    fn decode(buf: Bytes, version: i16) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let body = Self::decode_from(&mut r, version)?;
        if !r.is_empty() {
            return Err(r.error(DecodeErrorKind::TrailingBytes {
                count: r.remaining(),
            }));
        }
        Ok(body)
    }
}

/// A request body, paired with the body type of its response.
pub trait Request: Message {
    /// The response body type.
    type Response: Message;
}
