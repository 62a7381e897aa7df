//! A minimal blocking client over kafka-proto, for tests that need to put
//! our own encoded bytes on a real broker before the producer core exists:
//! one request at a time, framed and decoded with kafka-proto.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_proto::frame::{decode_response, encode_request};
use kafka_proto::header::RequestHeader;
use kafka_proto::messages::api_versions::{ApiVersionsRequest, ApiVersionsResponse};
use kafka_proto::{ApiKey, Request};

/// A blocking connection that sends one request and waits for its response.
pub struct RawClient {
    stream: TcpStream,
    correlation_id: i32,
    versions: Option<ApiVersionsResponse>,
}

impl RawClient {
    /// Connects to `addr` (30 s read timeout).
    pub fn connect(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        RawClient {
            stream,
            correlation_id: 0,
            versions: None,
        }
    }

    /// Sends `body` at `version` and returns the decoded response body.
    pub fn call<R: Request>(&mut self, body: &R, version: i16) -> R::Response {
        self.correlation_id += 1;
        let header = RequestHeader::new(
            R::API_KEY,
            version,
            self.correlation_id,
            Some("kafka-tests"),
        );
        let mut out = BytesMut::new();
        encode_request(&mut out, &header, body).expect("encode request");
        self.stream.write_all(&out).expect("write request");
        let mut size = [0u8; 4];
        self.stream
            .read_exact(&mut size)
            .expect("read response size");
        let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut frame).expect("read response");
        let (h, resp) = decode_response::<R>(Bytes::from(frame), version)
            .unwrap_or_else(|e| panic!("decode {:?} v{version} response: {e}", R::API_KEY.name()));
        assert_eq!(h.correlation_id, self.correlation_id);
        resp
    }

    /// The highest version of `R` both the broker (per ApiVersions v3) and
    /// kafka-proto support.
    pub fn version_for<R: Request>(&mut self) -> i16 {
        if self.versions.is_none() {
            let resp = self.call(
                &ApiVersionsRequest {
                    client_software_name: "kafka-tests".into(),
                    client_software_version: "0".into(),
                    ..Default::default()
                },
                3,
            );
            assert_eq!(resp.error_code, 0, "ApiVersions failed");
            self.versions = Some(resp);
        }
        let key: ApiKey = R::API_KEY;
        let theirs = self
            .versions
            .as_ref()
            .unwrap()
            .api_keys
            .iter()
            .find(|k| k.api_key == key.0)
            .unwrap_or_else(|| panic!("broker lacks {:?}", key.name()));
        let v = theirs.max_version.min(R::MAX_VERSION);
        assert!(
            v >= theirs.min_version.max(R::MIN_VERSION),
            "no common version of {:?}",
            key.name()
        );
        v
    }
}
