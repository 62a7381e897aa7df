//! One broker connection: connect → ApiVersions → SASL → ready, framing,
//! correlation ids and request deadlines.
//!
//! The connection knows nothing of records or metadata: it sends the
//! requests the producer gives it and hands back each response frame with
//! what the request was for. The handshake (ApiVersions and SASL) it runs
//! itself.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_proto::frame::{self, FrameDecoder};
use kafka_proto::header::RequestHeader;
use kafka_proto::messages::api_versions::ApiVersionsRequest;
use kafka_proto::messages::sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_proto::messages::sasl_handshake::SaslHandshakeRequest;
use kafka_proto::messages::supported_versions;
use kafka_proto::primitives::Chunks;
use kafka_proto::{ApiKey, DecodeError, ErrorCode, Message, Request};

use crate::event::ConnId;
use crate::sasl::{Credentials, Mechanism, SaslClient, SaslStep};

/// The largest response frame accepted (Kafka's default
/// `socket.request.max.bytes` is 100 MiB; produce responses are small).
const MAX_RESPONSE_FRAME: usize = 100 * 1024 * 1024;

/// Bytes from the network, as the driver gives them.
#[derive(Debug)]
pub(crate) enum Received<'a> {
    /// To be copied (the driver keeps its buffer).
    Copied(&'a [u8]),
    /// Handed over: whole responses in it are not copied.
    Handed(Bytes),
}

impl Received<'_> {
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Received::Copied(d) => d,
            Received::Handed(d) => d,
        }
    }
}

/// Record batches of at least this many bytes go out as the buffers they
/// were sealed in, each a transmit of its own (the runtimes write transmits
/// with vectored writes); smaller ones are copied into the request's
/// buffer, where a copy costs less than one more buffer to queue and write.
pub(crate) const HAND_OVER_MIN: usize = 4096;

/// The client software name sent in ApiVersions v3+ (KIP-511).
const SOFTWARE_NAME: &str = "kafka-producer-rs";
const SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a request was for, so its response can be routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    ApiVersions,
    SaslHandshake,
    SaslAuthenticate,
    Metadata,
    InitProducerId,
    /// A produce request; the id finds its batches.
    Produce(u64),
    /// A request of the transaction machine.
    Txn(crate::transaction::TxnPurpose),
    /// An admin request of the user's.
    Admin(crate::admin::AdminId),
}

/// A request awaiting its response. Kafka answers requests on one
/// connection in the order they were sent, so these form a queue.
#[derive(Debug)]
struct InFlight {
    correlation_id: i32,
    version: i16,
    purpose: Purpose,
    deadline: Instant,
    /// When it was encoded, for the produce latency.
    sent: Instant,
}

/// A response frame for the producer to decode.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) purpose: Purpose,
    pub(crate) version: i16,
    /// The frame after the size prefix (response header, then body).
    pub(crate) frame: Bytes,
    /// How long after the request the answer came.
    pub(crate) latency: Duration,
}

/// Why a connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnError {
    /// The broker sent bytes we cannot make sense of (untrusted input).
    Protocol(ProtocolError),
    /// The driver broke the API's contract (its bug, not the broker's):
    /// the connection goes all the same.
    Misuse(&'static str),
    /// A request or the connection setup outlived its deadline.
    Timeout,
    /// SASL was refused.
    Authentication(String),
    /// The broker lacks an API version we need.
    Unsupported {
        api: &'static str,
        needed: &'static str,
    },
}

/// What was wrong with what a broker sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProtocolError {
    /// A frame or body that does not decode.
    Decode(DecodeError),
    /// A response when no request waits for one.
    Unsolicited { correlation_id: i32 },
    /// A response for another request than the oldest one waiting.
    OutOfOrder { correlation_id: i32, expected: i32 },
    /// An ApiVersions response too short to hold its error code.
    TruncatedApiVersions,
    /// ApiVersions answered with an error.
    ApiVersions(ErrorCode),
    /// A SASL response outside a SASL exchange.
    UnexpectedSasl { api: &'static str },
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolError::Decode(e) => write!(f, "{e}"),
            ProtocolError::Unsolicited { correlation_id } => {
                write!(
                    f,
                    "response with correlation id {correlation_id} to no request"
                )
            }
            ProtocolError::OutOfOrder {
                correlation_id,
                expected,
            } => write!(
                f,
                "response with correlation id {correlation_id}, expected {expected}"
            ),
            ProtocolError::TruncatedApiVersions => f.write_str("truncated ApiVersions response"),
            ProtocolError::ApiVersions(e) => write!(f, "ApiVersions failed: {e}"),
            ProtocolError::UnexpectedSasl { api } => write!(f, "unexpected {api} response"),
        }
    }
}

/// What the first bytes a "broker" sent say it is, when it is not Kafka.
fn not_kafka_hint(first: &[u8]) -> Option<&'static str> {
    match first {
        // A TLS record: alert (21) or handshake (22), version 3.x.
        [21 | 22, 3, ..] => Some(
            "the broker answered with TLS: its listener expects security.protocol=SSL \
             (or SASL_SSL)",
        ),
        [b'H', b'T', b'T', b'P', ..] => {
            Some("an HTTP server answered, not a Kafka broker: check bootstrap.servers")
        }
        [] => None,
        _ => Some("the answer is not a Kafka response: is this address a Kafka listener?"),
    }
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Protocol(e) => write!(f, "protocol error: {e}"),
            ConnError::Misuse(e) => write!(f, "misuse of the producer's API: {e}"),
            ConnError::Timeout => f.write_str(
                "no answer in time (request.timeout.ms, or the connection setup timeout)",
            ),
            ConnError::Authentication(e) => write!(f, "authentication failed: {e}"),
            ConnError::Unsupported { api, needed } => {
                write!(f, "the broker does not support {api} {needed}")
            }
        }
    }
}

impl From<DecodeError> for ConnError {
    fn from(e: DecodeError) -> Self {
        ConnError::Protocol(ProtocolError::Decode(e))
    }
}

#[derive(Debug)]
enum State {
    /// Waiting for the adapter to report the TCP (and TLS) connection.
    Connecting,
    /// Connected; the handshake is running.
    Handshake,
    /// Ready for the producer's requests.
    Ready,
    /// Re-authenticating on the live connection (KIP-368): requests sent
    /// before are still answered, no new ones go out until it is done.
    Reauthenticating,
}

/// SASL settings for the handshake.
#[derive(Debug, Clone)]
pub(crate) struct SaslSettings {
    pub(crate) mechanism: Mechanism,
    /// PLAIN and SCRAM: the user and password. OAUTHBEARER: the current
    /// token in `password` (empty until the runtime hands one in).
    pub(crate) credentials: Credentials,
    /// OAUTHBEARER's SASL extensions (KIP-342).
    pub(crate) extensions: Vec<(String, String)>,
}

/// The API version ranges a broker advertised.
#[derive(Debug, Clone, Default)]
pub(crate) struct BrokerVersions {
    /// `(api_key, min, max)`, as advertised.
    ranges: Vec<(i16, i16, i16)>,
}

impl BrokerVersions {
    /// The highest version of `M` both sides support, capped at `cap`.
    pub(crate) fn pick<M: Message>(&self, cap: i16) -> Option<i16> {
        let &(_, bmin, bmax) = self.ranges.iter().find(|r| r.0 == M::API_KEY.0)?;
        let hi = bmax.min(M::MAX_VERSION).min(cap);
        let lo = bmin.max(M::MIN_VERSION);
        (hi >= lo).then_some(hi)
    }
}

/// One connection to a broker (or a bootstrap address).
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) id: ConnId,
    /// The broker's node id; bootstrap addresses have negative ids.
    pub(crate) node: i32,
    /// `host:port`, for diagnostics.
    pub(crate) peer: String,
    state: State,
    client_id: Arc<str>,
    decoder: FrameDecoder,
    next_correlation_id: i32,
    in_flight: VecDeque<InFlight>,
    /// Encoded bytes not yet handed to the adapter: the whole buffers of
    /// `queue` first, then `out`'s.
    out: BytesMut,
    /// Buffers ahead of `out`: encoded parts, and the record batches of
    /// Produce requests as the very buffers they were sealed in (handed
    /// over, not copied: see [`HAND_OVER_MIN`]).
    queue: VecDeque<Bytes>,
    /// Scratch for one request's chunked encoding.
    chunks: Chunks,
    versions: BrokerVersions,
    sasl: Option<SaslSettings>,
    sasl_client: Option<SaslClient>,
    sasl_seed: u64,
    /// System randomness for the next SCRAM nonce, when the driver gives
    /// some (taken by one authentication); without it the nonce comes from
    /// `sasl_seed` (deterministic, for the simulation).
    entropy: Option<[u8; crate::sasl::NONCE_ENTROPY]>,
    request_timeout: Duration,
    /// When the connection setup (TCP, TLS, handshake) must be done by.
    setup_deadline: Instant,
    /// Produce requests in flight (the in-flight limit counts only these;
    /// metadata and producer-id requests are not limited).
    produce_in_flight: usize,
    /// The broker's finalized features (ApiVersions v3+): their epoch and
    /// the `transaction.version` level (0 when not finalized).
    features: Option<(i64, i16)>,
    /// When to re-authenticate (KIP-368): at 85–95 % of the session
    /// lifetime the broker gave (`connections.max.reauth.ms`), as the Java
    /// client does; `None` when the session does not expire.
    reauth_at: Option<Instant>,
    /// Authentications completed on this connection (the first included).
    authentications: u32,
    /// Requests encoded and responses received since the metrics last
    /// took them.
    requests_made: u32,
    responses_received: usize,
    /// The first bytes received, while no response has been decoded yet:
    /// what answered if it was not Kafka (TLS, HTTP, ...).
    first_bytes: Vec<u8>,
    /// A response was decoded on this connection (the handshake's too).
    answered: bool,
    /// A response to one of the producer's own requests (past the
    /// handshake) was decoded.
    served: bool,
    /// When a request last went out or a response came in (or the
    /// connection was made): idle time counts from here.
    last_active: Instant,
}

impl Connection {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: ConnId,
        node: i32,
        client_id: Arc<str>,
        sasl: Option<SaslSettings>,
        sasl_seed: u64,
        request_timeout: Duration,
        setup_timeout: Duration,
        now: Instant,
    ) -> Self {
        Connection {
            id,
            node,
            peer: String::new(),
            state: State::Connecting,
            client_id,
            decoder: FrameDecoder::new(MAX_RESPONSE_FRAME),
            next_correlation_id: 0,
            in_flight: VecDeque::new(),
            out: BytesMut::new(),
            queue: VecDeque::new(),
            chunks: Chunks::new(HAND_OVER_MIN),
            versions: BrokerVersions::default(),
            sasl,
            sasl_client: None,
            sasl_seed,
            entropy: None,
            request_timeout,
            setup_deadline: now + setup_timeout,
            produce_in_flight: 0,
            features: None,
            reauth_at: None,
            authentications: 0,
            requests_made: 0,
            responses_received: 0,
            first_bytes: Vec::new(),
            answered: false,
            served: false,
            last_active: now,
        }
    }

    pub(crate) fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready)
    }

    pub(crate) fn versions(&self) -> &BrokerVersions {
        &self.versions
    }

    /// When the connection must re-authenticate (KIP-368).
    pub(crate) fn reauth_at(&self) -> Option<Instant> {
        self.reauth_at
            .filter(|_| matches!(self.state, State::Ready))
    }

    /// Authentications completed so far (re-authentications included).
    pub(crate) fn authentications(&self) -> u32 {
        self.authentications
    }

    /// Starts re-authenticating (KIP-368) if the session is due: a new
    /// SaslHandshake and SaslAuthenticate exchange on the live connection,
    /// after the requests already sent (Kafka answers in order). No new
    /// request goes out until it is done.
    /// Fresh system randomness for the next SCRAM nonce.
    pub(crate) fn give_entropy(&mut self, entropy: [u8; crate::sasl::NONCE_ENTROPY]) {
        self.entropy = Some(entropy);
    }

    /// Whether the next authentication has its randomness.
    pub(crate) fn has_entropy(&self) -> bool {
        self.entropy.is_some()
    }

    pub(crate) fn maybe_reauthenticate(&mut self, now: Instant, current: Option<&SaslSettings>) {
        let due = self.reauth_at().is_some_and(|t| t <= now);
        if due {
            // The current token (OAUTHBEARER), not the one of the last exchange.
            if let Some(current) = current {
                self.sasl = Some(current.clone());
            }
        }
        let Some(sasl) = self.sasl.clone().filter(|_| due) else {
            return;
        };
        let Some(v) = self.versions.pick::<SaslHandshakeRequest>(1) else {
            return;
        };
        self.reauth_at = None;
        self.state = State::Reauthenticating;
        // A fresh nonce for every exchange (SCRAM).
        self.sasl_seed = crate::rng::Rng::new(self.sasl_seed).next_u64();
        let body = SaslHandshakeRequest {
            mechanism: sasl.mechanism.name().into(),
            ..Default::default()
        };
        let _ = self.send(&body, v, Purpose::SaslHandshake, now);
    }

    /// The SASL exchange is complete: the connection is ready, and the
    /// session lifetime the broker gave schedules the next one.
    fn authenticated(&mut self, session_lifetime_ms: i64, now: Instant) {
        self.state = State::Ready;
        self.authentications = self.authentications.saturating_add(1);
        self.reauth_at = (session_lifetime_ms > 0).then(|| {
            // 85 % to 95 % of the lifetime, from the connection's seed.
            let fraction = 0.85 + 0.10 * (self.sasl_seed >> 11) as f64 / (1u64 << 53) as f64;
            now + Duration::from_millis((session_lifetime_ms as f64 * fraction) as u64)
        });
    }

    /// The finalized features' epoch and `transaction.version`, when the
    /// broker reported them.
    pub(crate) fn finalized_features(&self) -> Option<(i64, i16)> {
        self.features
    }

    pub(crate) fn produce_in_flight(&self) -> usize {
        self.produce_in_flight
    }

    /// Requests of any kind awaiting a response.
    pub(crate) fn requests_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The adapter connected the socket: start the handshake.
    pub(crate) fn connected(&mut self, now: Instant) {
        if !matches!(self.state, State::Connecting) {
            return;
        }
        self.state = State::Handshake;
        self.send_api_versions(ApiVersionsRequest::MAX_VERSION, now);
    }

    fn send_api_versions(&mut self, version: i16, now: Instant) {
        let body = ApiVersionsRequest {
            client_software_name: SOFTWARE_NAME.into(),
            client_software_version: SOFTWARE_VERSION.into(),
            ..Default::default()
        };
        // Encoding our own well-formed request cannot fail.
        let _ = self.send(&body, version, Purpose::ApiVersions, now);
    }

    /// Encodes a request into the output buffer and tracks it unless it
    /// expects no response (acks = 0 produce requests).
    pub(crate) fn send<R: Request>(
        &mut self,
        body: &R,
        version: i16,
        purpose: Purpose,
        now: Instant,
    ) -> Result<(), kafka_proto::EncodeError> {
        self.send_inner(body, version, purpose, now, true)
    }

    /// Sends a produce request with acks = 0: no response will come.
    pub(crate) fn send_no_response<R: Request>(
        &mut self,
        body: &R,
        version: i16,
        now: Instant,
    ) -> Result<(), kafka_proto::EncodeError> {
        self.send_inner(body, version, Purpose::Produce(u64::MAX), now, false)
    }

    fn send_inner<R: Request>(
        &mut self,
        body: &R,
        version: i16,
        purpose: Purpose,
        now: Instant,
        expect_response: bool,
    ) -> Result<(), kafka_proto::EncodeError> {
        self.last_active = now;
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1) & i32::MAX;
        let header = RequestHeader::new(R::API_KEY, version, correlation_id, Some(&self.client_id));
        let mark = self.out.len();
        if let Err(e) =
            frame::encode_request_chunked(&mut self.out, &mut self.chunks, &header, body)
        {
            // Only our own requests are encoded here, and they encode:
            // this is for form's sake, so rebuilding the buffer is fine.
            if !self.chunks.is_empty() {
                let mut whole = BytesMut::new();
                for part in self.chunks.drain() {
                    whole.extend_from_slice(&part);
                }
                whole.extend_from_slice(&self.out);
                self.out = whole;
            }
            self.out.truncate(mark);
            return Err(e);
        }
        self.queue.extend(self.chunks.drain());
        self.requests_made += 1;
        if expect_response {
            if matches!(purpose, Purpose::Produce(_)) {
                self.produce_in_flight += 1;
            }
            self.in_flight.push_back(InFlight {
                correlation_id,
                version,
                purpose,
                deadline: now + self.request_timeout,
                sent: now,
            });
        }
        Ok(())
    }

    /// Bytes to write, if any.
    pub(crate) fn take_output(&mut self) -> Option<Bytes> {
        if let Some(part) = self.queue.pop_front() {
            return Some(part);
        }
        if self.out.is_empty() {
            return None;
        }
        Some(self.out.split().freeze())
    }

    /// What went wrong, for the user: `reason` with the peer's address and,
    /// when the first bytes tell, what answered instead of Kafka.
    pub(crate) fn describe(&self, reason: &ConnError) -> String {
        let mut text = format!("{}: {reason}", self.peer);
        if !self.answered {
            if let Some(hint) = not_kafka_hint(&self.first_bytes) {
                text.push_str(" (");
                text.push_str(hint);
                text.push(')');
            }
        }
        text
    }

    /// Why the broker may have closed this connection, when it closed it
    /// before serving anything: nothing came back at all (a TLS listener
    /// closes on plaintext), or only the handshake did (a SASL listener
    /// closes on the first other request).
    /// Over TLS (`tls`) a silent close has many causes the driver's TLS
    /// error tells better (a missing client certificate, ...): no hint then.
    pub(crate) fn closed_by_peer_hint(&self, tls: bool) -> Option<String> {
        if self.served {
            return None;
        }
        let hint = if !self.answered && self.first_bytes.is_empty() {
            if tls {
                return None;
            }
            "the broker closed the connection without answering: if its listener uses TLS, \
             set security.protocol=SSL (or SASL_SSL)"
        } else if !self.answered {
            not_kafka_hint(&self.first_bytes)?
        } else if self.sasl.is_none() && matches!(self.state, State::Ready) {
            "the broker closed the connection after the handshake without answering a \
             request: its listener may require SASL (security.protocol=SASL_PLAINTEXT or \
             SASL_SSL, with sasl.mechanism)"
        } else {
            return None;
        };
        Some(format!("{}: {hint}", self.peer))
    }

    /// Requests encoded since the last call.
    pub(crate) fn take_requests_made(&mut self) -> u32 {
        std::mem::take(&mut self.requests_made)
    }

    /// Response frames received since the last call (handshake ones too).
    pub(crate) fn take_responses_received(&mut self) -> usize {
        std::mem::take(&mut self.responses_received)
    }

    /// Requests sent and not yet answered.
    pub(crate) fn in_flight_count(&self) -> usize {
        self.in_flight.len()
    }

    pub(crate) fn has_output(&self) -> bool {
        !self.queue.is_empty() || !self.out.is_empty()
    }

    /// The earliest deadline: connection setup, or the oldest request.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let request = self.in_flight.front().map(|r| r.deadline);
        match self.state {
            // Each request of a re-authentication has its own deadline.
            State::Ready | State::Reauthenticating => request,
            _ => Some(request.map_or(self.setup_deadline, |r| r.min(self.setup_deadline))),
        }
    }

    /// When this connection has been idle for `max_idle`
    /// (`connections.max.idle.ms`): ready, nothing in flight or waiting to
    /// go, and no traffic since; `None` while it is busy or not set up.
    pub(crate) fn idle_deadline(&self, max_idle: Duration) -> Option<Instant> {
        (matches!(self.state, State::Ready) && self.in_flight.is_empty() && !self.has_output())
            .then(|| self.last_active.checked_add(max_idle))
            .flatten()
    }

    /// Whether a deadline has passed (the connection must then be closed:
    /// Java's client does the same on a request timeout).
    pub(crate) fn timed_out(&self, now: Instant) -> bool {
        self.next_deadline().is_some_and(|d| d <= now)
    }

    /// The purposes of the requests still awaiting a response, for the
    /// producer to fail or retry when the connection is lost.
    pub(crate) fn drain_in_flight(&mut self) -> impl Iterator<Item = Purpose> + '_ {
        self.produce_in_flight = 0;
        self.in_flight.drain(..).map(|r| r.purpose)
    }

    /// Feeds received bytes (copied); returns the responses for the
    /// producer. Handshake responses are handled here.
    #[cfg(test)]
    pub(crate) fn receive(
        &mut self,
        data: &[u8],
        now: Instant,
        out: &mut Vec<Response>,
    ) -> Result<(), ConnError> {
        self.receive_from(Received::Copied(data), now, out)
    }

    /// Feeds received bytes, copied or handed over; returns the responses
    /// for the producer. Handshake responses are handled here.
    pub(crate) fn receive_from(
        &mut self,
        received: Received<'_>,
        now: Instant,
        out: &mut Vec<Response>,
    ) -> Result<(), ConnError> {
        let data = received.as_slice();
        if matches!(self.state, State::Connecting) {
            return Err(ConnError::Misuse(
                "bytes received before the connection was reported up",
            ));
        }
        self.last_active = now;
        if !self.answered && self.first_bytes.len() < 8 {
            let take = (8 - self.first_bytes.len()).min(data.len());
            self.first_bytes.extend_from_slice(&data[..take]);
        }
        match received {
            Received::Copied(data) => self.decoder.push(data),
            Received::Handed(data) => self.decoder.push_bytes(data),
        }
        while let Some(frame) = self.decoder.next_frame()? {
            self.responses_received += 1;
            self.answered = true;
            let correlation_id = frame::peek_correlation_id(&frame)?;
            let Some(request) = self.in_flight.pop_front() else {
                return Err(ConnError::Protocol(ProtocolError::Unsolicited {
                    correlation_id,
                }));
            };
            if request.correlation_id != correlation_id {
                // Keep it tracked: the producer settles it with the rest
                // when it closes the connection.
                let expected = request.correlation_id;
                self.in_flight.push_front(request);
                return Err(ConnError::Protocol(ProtocolError::OutOfOrder {
                    correlation_id,
                    expected,
                }));
            }
            match request.purpose {
                Purpose::ApiVersions => self.on_api_versions(frame, request.version, now)?,
                Purpose::SaslHandshake => self.on_sasl_handshake(frame, request.version, now)?,
                Purpose::SaslAuthenticate => {
                    self.on_sasl_authenticate(frame, request.version, now)?
                }
                purpose => {
                    self.served = true;
                    if matches!(purpose, Purpose::Produce(_)) {
                        self.produce_in_flight = self.produce_in_flight.saturating_sub(1);
                    }
                    out.push(Response {
                        purpose,
                        version: request.version,
                        frame,
                        latency: now.saturating_duration_since(request.sent),
                    });
                }
            }
        }
        Ok(())
    }

    fn on_api_versions(
        &mut self,
        frame: Bytes,
        version: i16,
        now: Instant,
    ) -> Result<(), ConnError> {
        // The error code is the first field of every version: a broker that
        // does not support our version answers UNSUPPORTED_VERSION with a v0
        // body listing what it does support (KIP-511).
        let error = match frame.get(4..6) {
            Some(b) => ErrorCode(i16::from_be_bytes([b[0], b[1]])),
            None => return Err(ConnError::Protocol(ProtocolError::TruncatedApiVersions)),
        };
        if error == ErrorCode::UNSUPPORTED_VERSION {
            if version == 0 {
                return Err(ConnError::Unsupported {
                    api: "ApiVersions",
                    needed: "v0",
                });
            }
            // The broker's highest ApiVersions, read from the body as v0
            // (KIP-511) or as the version we sent; a body that is neither
            // (librdkafka's mock cluster answers in a layout of its own)
            // means v0, as the Java client falls back.
            let broker_max = [0, version]
                .into_iter()
                .find_map(|v| {
                    let (_, body) = decode_lenient::<ApiVersionsRequest>(frame.clone(), v).ok()?;
                    body.api_keys
                        .iter()
                        .find(|k| k.api_key == ApiKey::ApiVersions.0)
                        .map(|k| k.max_version)
                })
                .unwrap_or(0);
            let retry = broker_max.min(version - 1).max(0);
            self.send_api_versions(retry, now);
            return Ok(());
        }
        let (_, body) = decode_lenient::<ApiVersionsRequest>(frame, version)?;
        if !error.is_ok() {
            return Err(ConnError::Protocol(ProtocolError::ApiVersions(error)));
        }
        if body.finalized_features_epoch >= 0 {
            let level = body
                .finalized_features
                .iter()
                .find(|f| f.name == "transaction.version")
                .map_or(0, |f| f.max_version_level);
            self.features = Some((body.finalized_features_epoch, level));
        }
        self.versions = BrokerVersions {
            ranges: body
                .api_keys
                .iter()
                .filter(|k| supported_versions(ApiKey(k.api_key)).is_some())
                .map(|k| (k.api_key, k.min_version, k.max_version))
                .collect(),
        };
        match self.sasl.clone() {
            Some(sasl) => {
                let Some(v) = self.versions.pick::<SaslHandshakeRequest>(1) else {
                    return Err(ConnError::Unsupported {
                        api: "SaslHandshake",
                        needed: "v0 or newer",
                    });
                };
                let body = SaslHandshakeRequest {
                    mechanism: sasl.mechanism.name().into(),
                    ..Default::default()
                };
                let _ = self.send(&body, v, Purpose::SaslHandshake, now);
            }
            None => self.state = State::Ready,
        }
        Ok(())
    }

    fn on_sasl_handshake(
        &mut self,
        frame: Bytes,
        version: i16,
        now: Instant,
    ) -> Result<(), ConnError> {
        let (_, body) = decode_lenient::<SaslHandshakeRequest>(frame, version)?;
        let Some(sasl) = self.sasl.clone() else {
            return Err(ConnError::Protocol(ProtocolError::UnexpectedSasl {
                api: "SaslHandshake",
            }));
        };
        let error = ErrorCode(body.error_code);
        if !error.is_ok() {
            return Err(ConnError::Authentication(format!(
                "the broker refused mechanism {} ({}); it offers {:?}",
                sasl.mechanism.name(),
                error,
                body.mechanisms
            )));
        }
        // SaslHandshake v0 means raw SASL tokens without SaslAuthenticate
        // framing; Kafka 1.0+ brokers all take v1 and SaslAuthenticate.
        if self.versions.pick::<SaslAuthenticateRequest>(2).is_none() || version < 1 {
            return Err(ConnError::Unsupported {
                api: "SaslAuthenticate",
                needed: "v0 or newer (Kafka 1.0+)",
            });
        }
        let mut client = if sasl.mechanism == Mechanism::OAuthBearer {
            SaslClient::oauth_bearer(&sasl.credentials.password, &sasl.extensions)
        } else {
            match self.entropy.take() {
                Some(entropy) => SaslClient::with_nonce(
                    sasl.mechanism,
                    &sasl.credentials,
                    &crate::sasl::nonce_from_entropy(&entropy),
                ),
                None => SaslClient::new(sasl.mechanism, &sasl.credentials, self.sasl_seed),
            }
        };
        let first = client
            .initial_response()
            .map_err(|e| ConnError::Authentication(e.to_string()))?;
        self.sasl_client = Some(client);
        self.send_sasl_bytes(first, now);
        Ok(())
    }

    fn send_sasl_bytes(&mut self, bytes: Vec<u8>, now: Instant) {
        let v = self
            .versions
            .pick::<SaslAuthenticateRequest>(2)
            .unwrap_or(0);
        let body = SaslAuthenticateRequest {
            auth_bytes: Bytes::from(bytes),
            ..Default::default()
        };
        let _ = self.send(&body, v, Purpose::SaslAuthenticate, now);
    }

    fn on_sasl_authenticate(
        &mut self,
        frame: Bytes,
        version: i16,
        now: Instant,
    ) -> Result<(), ConnError> {
        let (_, body): (_, SaslAuthenticateResponse) =
            decode_lenient::<SaslAuthenticateRequest>(frame, version)?;
        let error = ErrorCode(body.error_code);
        if !error.is_ok() {
            return Err(ConnError::Authentication(
                body.error_message.unwrap_or_else(|| error.to_string()),
            ));
        }
        let Some(client) = self.sasl_client.as_mut() else {
            return Err(ConnError::Protocol(ProtocolError::UnexpectedSasl {
                api: "SaslAuthenticate",
            }));
        };
        let lifetime = body.session_lifetime_ms;
        if client.is_complete() {
            self.authenticated(lifetime, now);
            return Ok(());
        }
        match client
            .handle_challenge(&body.auth_bytes)
            .map_err(|e| ConnError::Authentication(e.to_string()))?
        {
            SaslStep::Respond(bytes) => self.send_sasl_bytes(bytes, now),
            SaslStep::Done => self.authenticated(lifetime, now),
        }
        Ok(())
    }
}

/// Decodes a response frame for request type `R`.
pub(crate) fn decode<R: Request>(response: Response) -> Result<R::Response, ConnError> {
    Ok(decode_lenient::<R>(response.frame, response.version)?.1)
}

/// Decodes a response as the Java client does: bytes after what this
/// version of the response holds are ignored (a broker may add some; the
/// mock cluster of librdkafka adds one to Metadata v12).
fn decode_lenient<R: Request>(
    frame: Bytes,
    version: i16,
) -> Result<(kafka_proto::header::ResponseHeader, R::Response), kafka_proto::DecodeError> {
    let (header, body, _trailing) = frame::decode_response_prefix::<R>(frame, version)?;
    Ok((header, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_proto::messages::api_versions::{ApiVersion, ApiVersionsResponse};

    fn api_versions_frame(
        correlation_id: i32,
        version: i16,
        body: &ApiVersionsResponse,
    ) -> Vec<u8> {
        let mut out = BytesMut::new();
        frame::encode_response::<ApiVersionsRequest>(&mut out, correlation_id, version, body)
            .unwrap();
        out.to_vec()
    }

    fn conn(now: Instant) -> Connection {
        Connection::new(
            ConnId(1),
            1,
            "test".into(),
            None,
            0,
            Duration::from_secs(30),
            Duration::from_secs(10),
            now,
        )
    }

    /// A large batch leaves as the buffer it was sealed in, between the
    /// request's own parts; a small one is copied; everything comes out in
    /// order, a request queued before it first.
    #[test]
    fn a_large_batch_is_handed_over_not_copied() {
        use kafka_proto::messages::metadata::MetadataRequest;
        use kafka_proto::messages::produce::{
            PartitionProduceData, ProduceRequest, TopicProduceData,
        };
        let now = crate::testing::t0();
        let mut c = conn(now);
        let big = Bytes::from(vec![7u8; HAND_OVER_MIN]);
        let small = Bytes::from(vec![8u8; 100]);
        let partition = |index, records: &Bytes| PartitionProduceData {
            index,
            records: Some(records.clone()),
            ..Default::default()
        };
        let produce = ProduceRequest {
            acks: -1,
            timeout_ms: 1000,
            topic_data: vec![TopicProduceData {
                name: "t".into(),
                partition_data: vec![partition(0, &small), partition(1, &big)],
                ..Default::default()
            }],
            ..Default::default()
        };
        c.send(&MetadataRequest::default(), 12, Purpose::Metadata, now)
            .unwrap();
        c.send(&produce, 11, Purpose::Produce(1), now).unwrap();
        c.send(&MetadataRequest::default(), 12, Purpose::Metadata, now)
            .unwrap();
        let parts: Vec<Bytes> = std::iter::from_fn(|| c.take_output()).collect();
        assert!(!c.has_output());
        assert_eq!(parts.len(), 3, "before the batch, the batch, after it");
        assert_eq!(parts[1].as_ptr(), big.as_ptr());
        let mut expected = BytesMut::new();
        for (correlation_id, request) in [(0, None), (1, Some(&produce)), (2, None)] {
            let (api, version) = if request.is_some() {
                (ApiKey::Produce, 11)
            } else {
                (ApiKey::Metadata, 12)
            };
            let header = RequestHeader::new(api, version, correlation_id, Some("test"));
            match request {
                Some(p) => frame::encode_request(&mut expected, &header, p).unwrap(),
                None => frame::encode_request(&mut expected, &header, &MetadataRequest::default())
                    .unwrap(),
            }
        }
        assert_eq!(parts.concat(), expected.to_vec());
    }

    #[test]
    fn handshake_falls_back_when_the_broker_rejects_our_api_versions_version() {
        let now = crate::testing::t0();
        let mut c = conn(now);
        c.connected(now);
        let first = c.take_output().unwrap();
        // Request header: size, api key 18, version.
        assert_eq!(&first[4..6], &18i16.to_be_bytes());
        assert_eq!(
            i16::from_be_bytes([first[6], first[7]]),
            ApiVersionsRequest::MAX_VERSION
        );
        let rejected = ApiVersionsResponse {
            error_code: ErrorCode::UNSUPPORTED_VERSION.0,
            api_keys: vec![ApiVersion {
                api_key: 18,
                min_version: 0,
                max_version: 2,
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut out = Vec::new();
        c.receive(&api_versions_frame(0, 0, &rejected), now, &mut out)
            .unwrap();
        assert!(!c.is_ready());
        let second = c.take_output().unwrap();
        assert_eq!(i16::from_be_bytes([second[6], second[7]]), 2);
        let ok = ApiVersionsResponse {
            api_keys: vec![
                ApiVersion {
                    api_key: 0,
                    min_version: 3,
                    max_version: 9,
                    ..Default::default()
                },
                ApiVersion {
                    api_key: 3,
                    min_version: 0,
                    max_version: 12,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        // One byte at a time.
        for b in api_versions_frame(1, 2, &ok) {
            c.receive(&[b], now, &mut out).unwrap();
        }
        assert!(c.is_ready());
        assert!(out.is_empty());
        use kafka_proto::messages::metadata::MetadataRequest;
        use kafka_proto::messages::produce::ProduceRequest;
        assert_eq!(c.versions().pick::<ProduceRequest>(12), Some(9));
        assert_eq!(c.versions().pick::<MetadataRequest>(12), Some(12));
        assert_eq!(c.versions().pick::<MetadataRequest>(7), Some(7));
        use kafka_proto::messages::init_producer_id::InitProducerIdRequest;
        assert_eq!(c.versions().pick::<InitProducerIdRequest>(5), None);
    }

    #[test]
    fn a_rejection_in_an_unknown_layout_falls_back_to_v0() {
        // librdkafka's mock cluster (2.16) rejects ApiVersions v4 with this
        // body after the correlation id: error 35, a one-byte count, the
        // entry (18, 0, 2), a throttle time — neither v0 nor v4.
        let now = crate::testing::t0();
        let mut c = conn(now);
        c.connected(now);
        c.take_output().unwrap();
        let body = [0, 0, 0, 0, 0, 0x23, 1, 0, 0x12, 0, 0, 0, 2, 0, 0, 0, 0];
        let mut frame = (body.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        let mut out = Vec::new();
        c.receive(&frame, now, &mut out).unwrap();
        let retry = c.take_output().unwrap();
        assert_eq!(&retry[4..6], &18i16.to_be_bytes());
        assert_eq!(
            i16::from_be_bytes([retry[6], retry[7]]),
            0,
            "retried with v0"
        );
    }

    #[test]
    fn bytes_after_a_response_body_are_ignored_as_java_does() {
        let now = crate::testing::t0();
        let mut c = conn(now);
        c.connected(now);
        c.take_output().unwrap();
        let ok = ApiVersionsResponse {
            api_keys: vec![ApiVersion {
                api_key: 3,
                min_version: 0,
                max_version: 12,
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut frame = api_versions_frame(0, ApiVersionsRequest::MAX_VERSION, &ok);
        // One more byte inside the frame, as the mock cluster sends after
        // Metadata v12.
        frame.push(0);
        let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) + 1;
        frame[..4].copy_from_slice(&size.to_be_bytes());
        let mut out = Vec::new();
        c.receive(&frame, now, &mut out).unwrap();
        assert!(c.is_ready());
        use kafka_proto::messages::metadata::MetadataRequest;
        assert_eq!(c.versions().pick::<MetadataRequest>(12), Some(12));
    }

    /// Bytes fed before the connection was reported up are the driver's
    /// mistake, told apart from anything a broker could send.
    #[test]
    fn bytes_before_the_connection_is_up_are_a_misuse_not_a_protocol_error() {
        let now = crate::testing::t0();
        let mut c = conn(now);
        let mut out = Vec::new();
        let err = c.receive(&[0, 0, 0, 0], now, &mut out).unwrap_err();
        assert!(matches!(err, ConnError::Misuse(_)), "{err}");
        assert!(err.to_string().starts_with("misuse of the producer's API"));
    }

    #[test]
    fn a_response_to_no_request_or_the_wrong_one_is_a_protocol_error() {
        let now = crate::testing::t0();
        let mut c = conn(now);
        c.connected(now);
        let mut out = Vec::new();
        let ok = ApiVersionsResponse::default();
        let err = c
            .receive(&api_versions_frame(5, 3, &ok), now, &mut out)
            .unwrap_err();
        assert!(matches!(
            err,
            ConnError::Protocol(ProtocolError::OutOfOrder {
                correlation_id: 5,
                expected: 0
            })
        ));
    }

    #[test]
    fn setup_and_request_deadlines() {
        let now = crate::testing::t0();
        let c = conn(now);
        assert_eq!(c.next_deadline(), Some(now + Duration::from_secs(10)));
        assert!(!c.timed_out(now + Duration::from_secs(9)));
        assert!(c.timed_out(now + Duration::from_secs(10)));
    }
}
