//! The seam for SASL authentication (KIP-43, KIP-152).
//!
//! The brokers run the Kafka side of the exchange: SaslHandshake picks a
//! mechanism, then SaslAuthenticate requests (handshake v1) or raw
//! length-prefixed tokens (handshake v0) carry the mechanism's messages.
//! What the messages mean (PLAIN, SCRAM) is up to a [`SaslVerifier`] set in
//! [`BrokerConfig::sasl`](crate::BrokerConfig::sasl).

use std::fmt;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_proto::ErrorCode;
use kafka_proto::messages::sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_proto::messages::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};

use crate::cluster::{Outcome, SimCluster, respond};
use crate::config::SimSasl;
use crate::net::ConnId;
use crate::sasl_server::{SaslServer, ServerStep};

/// A SASL server: the mechanisms it offers and a fresh exchange per
/// connection. Implemented by the PLAIN/SCRAM server of this crate's tests.
pub trait SaslVerifier: fmt::Debug + Send + Sync {
    /// Mechanism names as Kafka spells them (`PLAIN`, `SCRAM-SHA-256`, ...),
    /// listed in SaslHandshake responses.
    fn mechanisms(&self) -> Vec<String>;

    /// Starts an exchange for `mechanism` (one of [`mechanisms`](Self::mechanisms)).
    /// `nonce_seed` comes from the cluster's seed, so that server nonces
    /// (SCRAM) replay with the run. `None` refuses the mechanism.
    fn start(&self, mechanism: &str, nonce_seed: u64) -> Option<Box<dyn SaslSession>>;
}

/// One connection's authentication exchange.
pub trait SaslSession: fmt::Debug + Send {
    /// Takes the client's next message and says what to answer.
    fn step(&mut self, client_message: &[u8]) -> SaslStep;
}

/// The outcome of one step of an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Send this challenge and wait for the client's next message.
    Challenge(Vec<u8>),
    /// The client is authenticated; send this final message (possibly
    /// empty, e.g. for PLAIN).
    Authenticated(Vec<u8>),
    /// Authentication failed: the broker answers `error_code` (normally
    /// SASL_AUTHENTICATION_FAILED (58); ILLEGAL_SASL_STATE (34) for a
    /// message out of place) with `message`, then closes the connection.
    Failed {
        /// The error code of the SaslAuthenticate response.
        error_code: ErrorCode,
        /// The response's error message.
        message: String,
    },
}

/// The PLAIN and SCRAM servers of [`sasl_server`](crate::sasl_server), one
/// per offered mechanism, as a [`SaslVerifier`]: each connection gets a
/// fresh exchange sharing the user table (SCRAM keys are derived once).
#[derive(Debug, Clone)]
pub struct SaslServers {
    servers: Vec<SaslServer>,
}

impl SaslServers {
    /// Servers for `sasl`'s mechanisms and users; SCRAM salts come from
    /// `seed`.
    pub fn new(sasl: &SimSasl, seed: u64) -> Self {
        SaslServers {
            servers: sasl
                .mechanisms
                .iter()
                .map(|m| SaslServer::new(*m, &sasl.users, seed))
                .collect(),
        }
    }
}

impl SaslVerifier for SaslServers {
    fn mechanisms(&self) -> Vec<String> {
        self.servers
            .iter()
            .map(|s| s.mechanism().name().to_owned())
            .collect()
    }

    fn start(&self, mechanism: &str, nonce_seed: u64) -> Option<Box<dyn SaslSession>> {
        self.servers
            .iter()
            .find(|s| s.mechanism().name() == mechanism)
            .map(|s| Box::new(s.new_exchange(nonce_seed)) as Box<dyn SaslSession>)
    }
}

impl SaslSession for SaslServer {
    fn step(&mut self, client_message: &[u8]) -> SaslStep {
        match self.handle(client_message) {
            Ok(ServerStep::Challenge(bytes)) => SaslStep::Challenge(bytes),
            Ok(ServerStep::Success(bytes)) => SaslStep::Authenticated(bytes),
            Err(e) => SaslStep::Failed {
                error_code: ErrorCode(e.error_code()),
                message: e.error_message().to_owned(),
            },
        }
    }
}

/// Where one connection stands in authentication.
#[derive(Debug, Default)]
pub(crate) enum AuthState {
    /// Nothing happened yet.
    #[default]
    Start,
    /// A mechanism was chosen; messages go to the session. `framed`: the
    /// handshake was v1, so messages come in SaslAuthenticate requests;
    /// otherwise they are raw length-prefixed tokens (v0).
    Exchanging {
        session: Box<dyn SaslSession>,
        framed: bool,
    },
    /// Authenticated.
    Done,
}

impl AuthState {
    pub(crate) fn is_done(&self) -> bool {
        matches!(self, AuthState::Done)
    }

    pub(crate) fn raw_tokens(&self) -> bool {
        matches!(self, AuthState::Exchanging { framed: false, .. })
    }
}

impl SimCluster {
    /// SaslHandshake (v0: raw tokens follow; v1: SaslAuthenticate follows).
    pub(crate) fn sasl_handshake(
        &mut self,
        conn: ConnId,
        r: &SaslHandshakeRequest,
        version: i16,
        correlation_id: i32,
        now: Instant,
    ) -> Outcome {
        let reply = |code: ErrorCode, mechanisms: Vec<String>| SaslHandshakeResponse {
            error_code: code.0,
            mechanisms,
            ..Default::default()
        };
        let Some(verifier) = self.config.sasl.clone() else {
            // A plaintext listener (Kafka's KafkaApis answers so).
            let body = reply(ErrorCode::ILLEGAL_SASL_STATE, Vec::new());
            return respond::<SaslHandshakeRequest>(correlation_id, version, &body);
        };
        let mechanisms = verifier.mechanisms();
        let lifetime = self.config.sasl_session_lifetime;
        let Some(c) = self.conns.get_mut(&conn) else {
            return Outcome::Close;
        };
        // KIP-368: an authenticated connection with a session lifetime
        // re-authenticates with the mechanism it used, at most once a second
        // (Kafka's KafkaChannel); anything else is an illegal state.
        let reauth = c.auth.is_done()
            && lifetime.is_some()
            && c.mechanism.as_deref() == Some(r.mechanism.as_str())
            && c.reauth_started
                .is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(1));
        if reauth {
            c.auth = AuthState::Start;
            c.reauth_started = Some(now);
            c.reauthenticating = true;
        }
        if !matches!(c.auth, AuthState::Start) {
            let body = reply(ErrorCode::ILLEGAL_SASL_STATE, mechanisms);
            return close_after(respond::<SaslHandshakeRequest>(
                correlation_id,
                version,
                &body,
            ));
        }
        let nonce_seed = self.id_rng.next_u64();
        let session = mechanisms
            .contains(&r.mechanism)
            .then(|| verifier.start(&r.mechanism, nonce_seed))
            .flatten();
        let Some(session) = session else {
            let body = reply(ErrorCode::UNSUPPORTED_SASL_MECHANISM, mechanisms);
            return close_after(respond::<SaslHandshakeRequest>(
                correlation_id,
                version,
                &body,
            ));
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.auth = AuthState::Exchanging {
                session,
                framed: version >= 1,
            };
            c.mechanism = Some(r.mechanism.clone());
        }
        let body = reply(ErrorCode::NONE, mechanisms);
        respond::<SaslHandshakeRequest>(correlation_id, version, &body)
    }

    /// SaslAuthenticate: one step of the exchange.
    pub(crate) fn sasl_authenticate(
        &mut self,
        conn: ConnId,
        r: &SaslAuthenticateRequest,
        version: i16,
        correlation_id: i32,
        now: Instant,
    ) -> Outcome {
        let lifetime = self.config.sasl_session_lifetime;
        let reply = |code: ErrorCode, message: Option<String>, bytes: Vec<u8>| {
            let lifetime_ms = match (code, lifetime) {
                (ErrorCode::NONE, Some(l)) => i64::try_from(l.as_millis()).unwrap_or(i64::MAX),
                _ => 0,
            };
            let body = SaslAuthenticateResponse {
                error_code: code.0,
                error_message: message,
                auth_bytes: Bytes::from(bytes),
                session_lifetime_ms: lifetime_ms,
                ..Default::default()
            };
            respond::<SaslAuthenticateRequest>(correlation_id, version, &body)
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return Outcome::Close;
        };
        match std::mem::take(&mut c.auth) {
            AuthState::Exchanging {
                mut session,
                framed: true,
            } => match session.step(&r.auth_bytes) {
                SaslStep::Challenge(bytes) => {
                    c.auth = AuthState::Exchanging {
                        session,
                        framed: true,
                    };
                    reply(ErrorCode::NONE, None, bytes)
                }
                SaslStep::Authenticated(bytes) => {
                    c.auth = AuthState::Done;
                    c.session_expires = lifetime.and_then(|l| now.checked_add(l));
                    if std::mem::take(&mut c.reauthenticating) {
                        self.stats.reauthentications += 1;
                    }
                    reply(ErrorCode::NONE, None, bytes)
                }
                SaslStep::Failed {
                    error_code,
                    message,
                } => close_after(reply(error_code, Some(message), Vec::new())),
            },
            AuthState::Done => {
                c.auth = AuthState::Done;
                reply(
                    ErrorCode::ILLEGAL_SASL_STATE,
                    Some("SaslAuthenticate after successful authentication".to_owned()),
                    Vec::new(),
                )
            }
            other => {
                let on_sasl_listener = self.config.sasl.is_some();
                let out = reply(
                    ErrorCode::ILLEGAL_SASL_STATE,
                    Some("SaslAuthenticate without a SaslHandshake v1".to_owned()),
                    Vec::new(),
                );
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.auth = other;
                }
                if on_sasl_listener {
                    close_after(out)
                } else {
                    out
                }
            }
        }
    }

    /// A raw SASL token after a v0 handshake: the frame is the client's
    /// message, the answer a size-prefixed token without a header. A
    /// failure can only be told by closing the connection.
    pub(crate) fn sasl_raw_token(&mut self, conn: ConnId, token: &[u8]) -> Outcome {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Outcome::Close;
        };
        let AuthState::Exchanging {
            mut session,
            framed: false,
        } = std::mem::take(&mut c.auth)
        else {
            return Outcome::Close;
        };
        let bytes = match session.step(token) {
            SaslStep::Challenge(bytes) => {
                c.auth = AuthState::Exchanging {
                    session,
                    framed: false,
                };
                bytes
            }
            SaslStep::Authenticated(bytes) => {
                c.auth = AuthState::Done;
                bytes
            }
            SaslStep::Failed { .. } => return Outcome::Close,
        };
        let Ok(len) = u32::try_from(bytes.len()) else {
            return Outcome::Close;
        };
        let mut out = BytesMut::with_capacity(4 + bytes.len());
        out.put_u32(len);
        out.extend_from_slice(&bytes);
        Outcome::Respond(out.freeze())
    }
}

/// Turns an answer into "answer, then close".
fn close_after(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Respond(b) => Outcome::RespondThenClose(b),
        other => other,
    }
}
