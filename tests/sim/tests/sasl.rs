//! The SASL seam, with a toy verifier.

mod common;

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use common::*;
use kafka_proto::ErrorCode;
use kafka_proto::messages::api_versions::ApiVersionsRequest;
use kafka_proto::messages::metadata::MetadataRequest;
use kafka_proto::messages::sasl_authenticate::SaslAuthenticateRequest;
use kafka_proto::messages::sasl_handshake::SaslHandshakeRequest;
use kafka_sim::{BrokerConfig, Faults, NetOutput, SaslSession, SaslStep, SaslVerifier, SimCluster};

/// PLAIN with one user, and a two-step mechanism whose challenge the
/// client must echo.
#[derive(Debug)]
struct Toy;

#[derive(Debug)]
enum ToySession {
    Plain,
    Echo { nonce: Vec<u8>, challenged: bool },
}

impl SaslVerifier for Toy {
    fn mechanisms(&self) -> Vec<String> {
        vec!["PLAIN".into(), "ECHO".into()]
    }
    fn start(&self, mechanism: &str, nonce_seed: u64) -> Option<Box<dyn SaslSession>> {
        match mechanism {
            "PLAIN" => Some(Box::new(ToySession::Plain)),
            "ECHO" => Some(Box::new(ToySession::Echo {
                nonce: nonce_seed.to_be_bytes().to_vec(),
                challenged: false,
            })),
            _ => None,
        }
    }
}

impl SaslSession for ToySession {
    fn step(&mut self, message: &[u8]) -> SaslStep {
        match self {
            ToySession::Plain if message == b"\0alice\0secret" => {
                SaslStep::Authenticated(Vec::new())
            }
            ToySession::Plain => failed("bad credentials"),
            ToySession::Echo { nonce, challenged } if !*challenged && message == b"hello" => {
                *challenged = true;
                SaslStep::Challenge(nonce.clone())
            }
            ToySession::Echo {
                nonce,
                challenged: true,
            } if message == nonce.as_slice() => SaslStep::Authenticated(b"welcome".to_vec()),
            ToySession::Echo { .. } => failed("wrong echo"),
        }
    }
}

fn failed(message: &str) -> SaslStep {
    SaslStep::Failed {
        error_code: ErrorCode::SASL_AUTHENTICATION_FAILED,
        message: message.to_owned(),
    }
}

fn sasl_cluster(seed: u64) -> Harness {
    let config = BrokerConfig {
        sasl: Some(Arc::new(Toy)),
        require_sasl: true,
        ..BrokerConfig::default()
    };
    Harness::with(SimCluster::with_config(
        Harness::topics(&[("t", 1)], &[1]),
        config,
        Faults::none(),
        seed,
    ))
}

fn handshake(h: &mut Harness, conn: kafka_sim::ConnId, mechanism: &str) -> i16 {
    h.call(
        conn,
        1,
        &SaslHandshakeRequest {
            mechanism: mechanism.into(),
            ..Default::default()
        },
    )
    .error_code
}

fn authenticate(h: &mut Harness, conn: kafka_sim::ConnId, bytes: &[u8]) -> (i16, Bytes) {
    let r = h.call(
        conn,
        2,
        &SaslAuthenticateRequest {
            auth_bytes: Bytes::copy_from_slice(bytes),
            ..Default::default()
        },
    );
    (r.error_code, r.auth_bytes)
}

#[test]
fn plain_authentication_opens_the_other_apis() {
    let mut h = sasl_cluster(1);
    let conn = h.connect(1);
    // ApiVersions is allowed before authenticating.
    let v = h.call(conn, 0, &ApiVersionsRequest::default());
    assert!(v.api_keys.iter().any(|k| k.api_key == 36));
    assert_eq!(handshake(&mut h, conn, "PLAIN"), 0);
    assert_eq!(authenticate(&mut h, conn, b"\0alice\0secret").0, 0);
    assert_eq!(
        h.call(conn, 12, &MetadataRequest::default()).topics.len(),
        1
    );
    // Authenticating again is an illegal state, answered.
    assert_eq!(
        authenticate(&mut h, conn, b"x").0,
        ErrorCode::ILLEGAL_SASL_STATE.0
    );
}

#[test]
fn requests_before_authentication_close_the_connection() {
    let mut h = sasl_cluster(1);
    let conn = h.connect(1);
    h.send(conn, 12, &MetadataRequest::default());
    assert_eq!(h.drain()[0].output, NetOutput::Closed { conn });
}

#[test]
fn wrong_credentials_and_mechanisms_fail_then_close() {
    let mut h = sasl_cluster(1);
    let conn = h.connect(1);
    let r = h.call(
        conn,
        1,
        &SaslHandshakeRequest {
            mechanism: "GSSAPI".into(),
            ..Default::default()
        },
    );
    assert_eq!(r.error_code, ErrorCode::UNSUPPORTED_SASL_MECHANISM.0);
    assert_eq!(r.mechanisms, ["PLAIN", "ECHO"]);
    assert!(
        h.cluster.broker_of(conn).is_none(),
        "closed after the answer"
    );

    let conn = h.connect(1);
    assert_eq!(handshake(&mut h, conn, "PLAIN"), 0);
    let cid = h.send(
        conn,
        2,
        &SaslAuthenticateRequest {
            auth_bytes: Bytes::from_static(b"\0alice\0wrong"),
            ..Default::default()
        },
    );
    let out = h.drain();
    assert_eq!(out.len(), 2);
    let NetOutput::Data { bytes, .. } = &out[0].output else {
        panic!("{out:?}")
    };
    let (got, r) = kafka_sim::wire::decode_response::<SaslAuthenticateRequest>(bytes, 2).unwrap();
    assert_eq!(
        (got, r.error_code),
        (cid, ErrorCode::SASL_AUTHENTICATION_FAILED.0)
    );
    assert_eq!(r.error_message.as_deref(), Some("bad credentials"));
    assert_eq!(out[1].output, NetOutput::Closed { conn });
}

#[test]
fn multi_step_exchanges_and_raw_v0_tokens() {
    let mut h = sasl_cluster(9);
    let conn = h.connect(1);
    assert_eq!(handshake(&mut h, conn, "ECHO"), 0);
    let (code, challenge) = authenticate(&mut h, conn, b"hello");
    assert_eq!(code, 0);
    assert_eq!(challenge.len(), 8, "a nonce drawn from the seed");
    assert_eq!(
        authenticate(&mut h, conn, &challenge),
        (0, Bytes::from_static(b"welcome"))
    );
    assert_eq!(
        h.call(conn, 12, &MetadataRequest::default()).topics.len(),
        1
    );

    // Handshake v0: the tokens follow raw, length-prefixed, no headers.
    let conn = h.connect(1);
    let r = h.call(
        conn,
        0,
        &SaslHandshakeRequest {
            mechanism: "PLAIN".into(),
            ..Default::default()
        },
    );
    assert_eq!(r.error_code, 0);
    let token = b"\0alice\0secret";
    let mut raw = BytesMut::new();
    raw.put_u32(token.len() as u32);
    raw.extend_from_slice(token);
    h.cluster.client_send(conn, &raw, h.now);
    let out = h.drain();
    assert_eq!(
        out[0].output,
        NetOutput::Data {
            conn,
            bytes: Bytes::from_static(&[0, 0, 0, 0])
        }
    );
    assert_eq!(
        h.call(conn, 12, &MetadataRequest::default()).topics.len(),
        1
    );
}

#[test]
fn a_plaintext_listener_refuses_the_handshake() {
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), Faults::none(), 1);
    let conn = h.connect(1);
    assert_eq!(
        handshake(&mut h, conn, "PLAIN"),
        ErrorCode::ILLEGAL_SASL_STATE.0
    );
    assert_eq!(
        h.call(conn, 12, &MetadataRequest::default()).topics.len(),
        1
    );
}

#[test]
fn sim_sasl_uses_the_plain_and_scram_servers() {
    use kafka_sim::SimSasl;
    use kafka_sim::sasl_server::Mechanism;

    let mut spec = Harness::topics(&[("t", 1)], &[1]);
    spec.sasl = Some(SimSasl {
        mechanisms: Mechanism::ALL.to_vec(),
        users: vec![("alice".into(), "wonderland".into())],
    });
    let mut h = Harness::new(spec, Faults::none(), 4);
    let conn = h.connect(1);
    let r = h.call(
        conn,
        1,
        &SaslHandshakeRequest {
            mechanism: "PLAIN".into(),
            ..Default::default()
        },
    );
    assert_eq!(r.error_code, 0);
    assert_eq!(r.mechanisms, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
    assert_eq!(authenticate(&mut h, conn, b"\0alice\0wonderland").0, 0);
    assert_eq!(
        h.call(conn, 12, &MetadataRequest::default()).topics.len(),
        1
    );

    // SCRAM: the server-first-message carries our nonce, a salt and the
    // iteration count.
    let conn = h.connect(1);
    assert_eq!(handshake(&mut h, conn, "SCRAM-SHA-256"), 0);
    let (code, first) = authenticate(&mut h, conn, b"n,,n=alice,r=clientnonce");
    assert_eq!(code, 0);
    let first = String::from_utf8(first.to_vec()).unwrap();
    assert!(first.starts_with("r=clientnonce"), "{first}");
    assert!(
        first.contains(",s=") && first.ends_with(",i=4096"),
        "{first}"
    );

    // A wrong password fails and closes.
    let conn = h.connect(1);
    assert_eq!(handshake(&mut h, conn, "PLAIN"), 0);
    h.send(
        conn,
        2,
        &SaslAuthenticateRequest {
            auth_bytes: Bytes::from_static(b"\0alice\0queen"),
            ..Default::default()
        },
    );
    let out = h.drain();
    assert_eq!(out.last().unwrap().output, NetOutput::Closed { conn });
}
