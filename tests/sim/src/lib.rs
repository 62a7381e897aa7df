//! A deterministic, in-process simulated Kafka cluster.
//!
//! It speaks the real wire protocol: requests are decoded with
//! `kafka-proto` and answered as Apache Kafka 4.x would, including leader
//! checks and idempotent-producer sequence checks per producer id and
//! partition (state shared by the whole cluster, so it survives leader moves
//! and broker restarts, as replicated state does). Faults are injected from a
//! seed: latency, dropped responses, disconnects before or after processing,
//! retriable errors with or without the records appended, leader moves and
//! broker restarts. Time is passed in; nothing reads a clock, so a run
//! replays exactly.
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use kafka_proto::frame;
//! use kafka_proto::header::RequestHeader;
//! use kafka_proto::messages::api_versions::ApiVersionsRequest;
//! use kafka_proto::Message;
//! use kafka_sim::{ClusterSpec, Faults, NetOutput, SimCluster};
//!
//! let spec = ClusterSpec { brokers: vec![1, 2], topics: vec![("t".into(), 3)], ..Default::default() };
//! let mut cluster = SimCluster::new(spec, Faults::default(), 7);
//! let now = Instant::now();
//! let (host, port) = cluster.bootstrap()[0].clone();
//! let conn = cluster.connect(&host, port, now).unwrap();
//! let mut out = BytesMut::new();
//! let header = RequestHeader::new(ApiVersionsRequest::API_KEY, 3, 1, Some("doc"));
//! frame::encode_request(&mut out, &header, &ApiVersionsRequest::default()).unwrap();
//! cluster.client_send(conn, &out, now);
//! let Some(NetOutput::Data { bytes, .. }) = cluster.poll_output(now) else { panic!() };
//! assert_eq!(&bytes[4..8], &1i32.to_be_bytes()); // the correlation id
//! ```

pub mod sasl_server;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_proto::frame::{self, FrameDecoder};
use kafka_proto::messages::api_versions::{ApiVersion, ApiVersionsRequest, ApiVersionsResponse};
use kafka_proto::messages::create_topics::{
    CreatableTopicResult, CreateTopicsRequest, CreateTopicsResponse,
};
use kafka_proto::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafka_proto::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition,
    MetadataResponseTopic,
};
use kafka_proto::messages::produce::{
    LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse, ProduceRequest, ProduceResponse,
    TopicProduceResponse,
};
use kafka_proto::messages::sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_proto::messages::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
use kafka_proto::messages::{AnyRequest, decode_request, supported_versions};
use kafka_proto::record::RecordBatch;
use kafka_proto::{ApiKey, ErrorCode, Request};

/// The cluster's shape.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Broker ids; broker `n` is reachable as host `broker-n`, port 9092.
    pub brokers: Vec<i32>,
    /// Topics created at the start, with their partition counts. Leaders
    /// are spread round robin over the brokers.
    pub topics: Vec<(String, i32)>,
    /// `Some(n)`: a Metadata or Produce request for an unknown topic
    /// creates it with `n` partitions (as tansu and Kafka's
    /// `auto.create.topics.enable` do); `None`: UNKNOWN_TOPIC_OR_PARTITION.
    pub auto_create_partitions: Option<i32>,
    /// Keep every record (for checking logs); benches switch it off and
    /// keep only counts and sequence state.
    pub store_records: bool,
    /// Require SASL authentication (SaslHandshake, then SaslAuthenticate)
    /// before any other request but ApiVersions, as a `SASL_*` listener does.
    pub sasl: Option<SimSasl>,
}

/// The SASL setup of a simulated listener.
#[derive(Debug, Clone)]
pub struct SimSasl {
    /// Mechanisms offered.
    pub mechanisms: Vec<sasl_server::Mechanism>,
    /// Users and their passwords.
    pub users: Vec<(String, String)>,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            brokers: vec![1],
            topics: Vec::new(),
            auto_create_partitions: None,
            store_records: true,
            sasl: None,
        }
    }
}

/// Faults to inject; probabilities are per event, 0 turns one off. The
/// default is no fault and no latency.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Smallest delay before a response leaves.
    pub min_latency: Duration,
    /// Largest delay; drawn uniformly. Responses on one connection still
    /// leave in request order, as Kafka guarantees.
    pub max_latency: Duration,
    /// Per request: process it (records are appended!) but never answer;
    /// the connection stalls (nothing more is sent on it), as a connection
    /// whose peer stopped reading does, until the client gives up on it.
    pub drop_response: f64,
    /// Per request: close the connection, half the time before processing
    /// the request and half the time after (records appended).
    pub disconnect: f64,
    /// Per partition of a Produce request: a retriable error, nothing
    /// appended.
    pub produce_error: f64,
    /// Per partition: append, then answer a retriable error anyway
    /// (NOT_ENOUGH_REPLICAS_AFTER_APPEND or REQUEST_TIMED_OUT).
    pub error_after_append: f64,
    /// Per Produce request: move one random partition's leadership.
    pub leader_move: f64,
    /// Per request: the broker goes down (connections closed, connects
    /// refused) for up to `restart_downtime`, then returns with its data.
    pub broker_restart: f64,
    /// The longest downtime of a restart.
    pub restart_downtime: Duration,
}

/// A connection to a simulated broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Why a connection was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// No broker has that host and port.
    UnknownHost,
    /// The broker is down.
    BrokerDown,
}

/// What the cluster sends the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetOutput {
    /// Bytes on a connection.
    Data {
        /// The connection.
        conn: ConnId,
        /// One whole response frame.
        bytes: Bytes,
    },
    /// The broker closed the connection.
    Closed {
        /// The connection.
        conn: ConnId,
    },
}

/// A record as stored in a partition's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Its offset.
    pub offset: i64,
    /// Its timestamp.
    pub timestamp: i64,
    /// Key.
    pub key: Option<Bytes>,
    /// Value.
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Vec<(Bytes, Option<Bytes>)>,
    /// The producer id of its batch, or -1.
    pub producer_id: i64,
    /// The producer epoch of its batch, or -1.
    pub producer_epoch: i16,
    /// Its sequence number (base sequence + index), or -1.
    pub sequence: i32,
}

/// Counters of what happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests received, by API key.
    pub requests: BTreeMap<i16, u64>,
    /// Batches appended.
    pub batches_appended: u64,
    /// Records appended.
    pub records_appended: u64,
    /// Retried batches recognised as duplicates (answered with their
    /// original offset, nothing appended).
    pub duplicates: u64,
    /// Batches refused for a sequence gap.
    pub out_of_order: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<&'static str, u64>,
}

/// The last batches of a producer on a partition, to recognise retries
/// (Kafka keeps five).
#[derive(Debug, Clone)]
struct ProducerState {
    epoch: i16,
    last_sequence: i32,
    /// `(first sequence, last sequence, base offset)`.
    recent: VecDeque<(i32, i32, i64)>,
}

#[derive(Debug)]
struct Partition {
    leader: i32,
    leader_epoch: i32,
    next_offset: i64,
    log: Vec<StoredRecord>,
    producers: BTreeMap<i64, ProducerState>,
}

#[derive(Debug)]
struct Conn {
    broker: i32,
    decoder: FrameDecoder,
    /// Responses leave in order: none before this time.
    last_out: Instant,
    /// A response was dropped: nothing more is sent on this connection.
    stalled: bool,
    /// SASL: authenticated (always true without SASL).
    authenticated: bool,
    /// SASL: the exchange in progress after a handshake.
    sasl: Option<sasl_server::SaslServer>,
}

#[derive(Debug)]
struct Pending {
    at: Instant,
    seq: u64,
    output: NetOutput,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the heap pops the earliest first.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// SplitMix64, seeded.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn duration(&mut self, min: Duration, max: Duration) -> Duration {
        if max <= min {
            return min;
        }
        let span = (max - min).as_nanos() as u64;
        min + Duration::from_nanos(self.below(span + 1))
    }
}

const PORT: u16 = 9092;

/// The simulated cluster.
#[derive(Debug)]
pub struct SimCluster {
    spec: ClusterSpec,
    faults: Faults,
    rng: Rng,
    topics: BTreeMap<String, Vec<Partition>>,
    /// Brokers down until the given time.
    down_until: BTreeMap<i32, Instant>,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: u64,
    pending: BinaryHeap<Pending>,
    next_seq: u64,
    producer_epochs: BTreeMap<i64, i16>,
    next_producer_id: i64,
    api_versions: Vec<(i16, i16, i16)>,
    /// One SASL server per offered mechanism, keys derived once; each
    /// connection gets a fresh exchange of it.
    sasl_servers: Vec<sasl_server::SaslServer>,
    stats: Stats,
}

fn partitions_for(brokers: &[i32], n: i32, offset: usize) -> Vec<Partition> {
    (0..n.max(0))
        .map(|i| Partition {
            leader: brokers[(i as usize + offset) % brokers.len().max(1)],
            leader_epoch: 0,
            next_offset: 0,
            log: Vec::new(),
            producers: BTreeMap::new(),
        })
        .collect()
}

impl SimCluster {
    /// A cluster of `spec`'s brokers and topics, with `faults` drawn from
    /// `seed`.
    pub fn new(spec: ClusterSpec, faults: Faults, seed: u64) -> Self {
        let mut spec = spec;
        if spec.brokers.is_empty() {
            spec.brokers.push(1);
        }
        let mut topics = BTreeMap::new();
        for (i, (name, n)) in spec.topics.iter().enumerate() {
            topics.insert(name.clone(), partitions_for(&spec.brokers, *n, i));
        }
        // Kafka 4.0's ranges for what our codec declares, Produce capped at
        // v12 and Metadata at v12 (v13 of each needs topic ids).
        let api_versions = [0i16, 1, 2, 3, 10, 17, 18, 19, 22, 24, 25, 26, 28, 36]
            .into_iter()
            .filter_map(|k| {
                let (min, max, _) = supported_versions(ApiKey(k))?;
                let max = match k {
                    0 | 3 => max.min(12),
                    _ => max,
                };
                Some((k, min, max))
            })
            .collect();
        let sasl_servers = spec
            .sasl
            .as_ref()
            .map(|c| {
                c.mechanisms
                    .iter()
                    .map(|m| sasl_server::SaslServer::new(*m, &c.users, seed))
                    .collect()
            })
            .unwrap_or_default();
        let mut cluster = SimCluster {
            spec,
            faults,
            rng: Rng(seed ^ 0x5151_5151_5151_5151),
            topics,
            down_until: BTreeMap::new(),
            conns: BTreeMap::new(),
            next_conn: 0,
            pending: BinaryHeap::new(),
            next_seq: 0,
            producer_epochs: BTreeMap::new(),
            next_producer_id: 1000,
            api_versions,
            sasl_servers: Vec::new(),
            stats: Stats::default(),
        };
        cluster.sasl_servers = sasl_servers;
        cluster
    }

    /// Overrides the API versions the brokers advertise, `(api key, min,
    /// max)`, to simulate older or newer brokers.
    pub fn set_api_versions(&mut self, versions: Vec<(i16, i16, i16)>) {
        self.api_versions = versions;
    }

    /// The bootstrap addresses: `broker-N:9092` for every broker.
    pub fn bootstrap(&self) -> Vec<(String, u16)> {
        self.spec
            .brokers
            .iter()
            .map(|b| (format!("broker-{b}"), PORT))
            .collect()
    }

    /// Changes the faults from now on.
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Topics and their partition counts.
    pub fn topics(&self) -> Vec<(String, i32)> {
        self.topics
            .iter()
            .map(|(n, p)| (n.clone(), p.len() as i32))
            .collect()
    }

    /// Everything appended to a partition, in offset order (empty when
    /// records are not stored).
    pub fn log(&self, topic: &str, partition: i32) -> Vec<StoredRecord> {
        self.topics
            .get(topic)
            .and_then(|p| p.get(partition as usize))
            .map(|p| p.log.clone())
            .unwrap_or_default()
    }

    /// The log end offset of a partition.
    pub fn end_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.topics
            .get(topic)
            .and_then(|p| p.get(partition as usize))
            .map(|p| p.next_offset)
    }

    fn is_up(&self, broker: i32, now: Instant) -> bool {
        self.down_until.get(&broker).is_none_or(|t| now >= *t)
    }

    /// Opens a connection.
    pub fn connect(&mut self, host: &str, port: u16, now: Instant) -> Result<ConnId, ConnectError> {
        let broker = host
            .strip_prefix("broker-")
            .and_then(|b| b.parse::<i32>().ok())
            .filter(|b| port == PORT && self.spec.brokers.contains(b))
            .ok_or(ConnectError::UnknownHost)?;
        if !self.is_up(broker, now) {
            return Err(ConnectError::BrokerDown);
        }
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(
            id,
            Conn {
                broker,
                decoder: FrameDecoder::new(64 << 20),
                last_out: now,
                stalled: false,
                authenticated: self.spec.sasl.is_none(),
                sasl: None,
            },
        );
        Ok(id)
    }

    /// The client closed a connection.
    pub fn client_close(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
    }

    /// The earliest pending output.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.pending.peek().map(|p| p.at)
    }

    /// The next output due at or before `now`.
    pub fn poll_output(&mut self, now: Instant) -> Option<NetOutput> {
        loop {
            if self.pending.peek()?.at > now {
                return None;
            }
            let p = self.pending.pop()?;
            let conn = match &p.output {
                NetOutput::Data { conn, .. } | NetOutput::Closed { conn } => *conn,
            };
            // Outputs of connections closed since are not delivered.
            if !self.conns.contains_key(&conn) {
                continue;
            }
            if matches!(p.output, NetOutput::Closed { .. }) {
                self.conns.remove(&conn);
            }
            return Some(p.output);
        }
    }

    fn push(&mut self, at: Instant, output: NetOutput) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push(Pending { at, seq, output });
    }

    /// Closes a connection from the broker's side, now.
    fn close_conn(&mut self, conn: ConnId, now: Instant) {
        // Anything it still had queued is lost with it.
        self.pending.retain(|p| match &p.output {
            NetOutput::Data { conn: c, .. } | NetOutput::Closed { conn: c } => *c != conn,
        });
        if self.conns.contains_key(&conn) {
            self.push(now, NetOutput::Closed { conn });
        }
    }

    /// Takes a broker down until `now + downtime` and moves its partition
    /// leaderships to brokers that are up.
    fn take_down(&mut self, broker: i32, now: Instant, downtime: Duration) {
        self.down_until.insert(broker, now + downtime);
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.broker == broker)
            .map(|(id, _)| *id)
            .collect();
        for c in conns {
            self.close_conn(c, now);
        }
        let up: Vec<i32> = self
            .spec
            .brokers
            .iter()
            .copied()
            .filter(|b| *b != broker && self.is_up(*b, now))
            .collect();
        if up.is_empty() {
            return;
        }
        for parts in self.topics.values_mut() {
            for p in parts.iter_mut() {
                if p.leader == broker {
                    p.leader = up[self.rng.below(up.len() as u64) as usize];
                    p.leader_epoch += 1;
                }
            }
        }
    }

    /// Stops a broker until [`start_broker`](Self::start_broker).
    pub fn stop_broker(&mut self, id: i32, now: Instant) {
        self.take_down(id, now, Duration::from_secs(u32::MAX as u64));
    }

    /// Starts a stopped broker.
    pub fn start_broker(&mut self, id: i32, _now: Instant) {
        self.down_until.remove(&id);
    }

    /// Moves a partition's leadership to `broker`.
    pub fn move_leader(&mut self, topic: &str, partition: i32, broker: i32) {
        if let Some(p) = self
            .topics
            .get_mut(topic)
            .and_then(|p| p.get_mut(partition as usize))
        {
            if p.leader != broker {
                p.leader = broker;
                p.leader_epoch += 1;
            }
        }
    }

    fn count_fault(&mut self, kind: &'static str) {
        *self.stats.faults.entry(kind).or_default() += 1;
    }

    /// Bytes from the client on `conn`.
    pub fn client_send(&mut self, conn: ConnId, bytes: &[u8], now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.decoder.push(bytes);
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            let frame = match c.decoder.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(_) => {
                    self.close_conn(conn, now);
                    return;
                }
            };
            let broker = c.broker;
            self.handle_frame(conn, broker, frame, now);
        }
    }

    fn handle_frame(&mut self, conn: ConnId, broker: i32, frame: Bytes, now: Instant) {
        // ApiVersions with a version we don't know still gets an answer
        // (KIP-511): UNSUPPORTED_VERSION with a v0 body.
        if let [0, 18, vh, vl, c0, c1, c2, c3, ..] = frame[..] {
            let version = i16::from_be_bytes([vh, vl]);
            let max = self
                .api_versions
                .iter()
                .find(|v| v.0 == 18)
                .map_or(0, |v| v.2);
            if version > max {
                let correlation_id = i32::from_be_bytes([c0, c1, c2, c3]);
                let body = ApiVersionsResponse {
                    error_code: ErrorCode::UNSUPPORTED_VERSION.0,
                    api_keys: self.api_version_list(),
                    ..Default::default()
                };
                let mut out = BytesMut::new();
                if frame::encode_response::<ApiVersionsRequest>(&mut out, correlation_id, 0, &body)
                    .is_ok()
                {
                    self.respond(conn, out.freeze(), now);
                }
                return;
            }
        }
        let Ok((header, request)) = decode_request(frame) else {
            self.close_conn(conn, now);
            return;
        };
        *self
            .stats
            .requests
            .entry(header.request_api_key)
            .or_default() += 1;
        if self.rng.chance(self.faults.broker_restart) {
            self.count_fault("broker_restart");
            let downtime = self
                .rng
                .duration(Duration::ZERO, self.faults.restart_downtime);
            self.take_down(broker, now, downtime);
            return;
        }
        let disconnect = self.rng.chance(self.faults.disconnect);
        if disconnect && self.rng.chance(0.5) {
            self.count_fault("disconnect_before");
            self.close_conn(conn, now);
            return;
        }
        let version = header.request_api_version;
        let cid = header.correlation_id;
        let mut out = BytesMut::new();
        let authenticated = self.conns.get(&conn).is_some_and(|c| c.authenticated);
        let sasl_step = matches!(
            request,
            AnyRequest::ApiVersions(_)
                | AnyRequest::SaslHandshake(_)
                | AnyRequest::SaslAuthenticate(_)
        );
        if !authenticated && !sasl_step {
            // Kafka closes a connection that skips authentication.
            self.close_conn(conn, now);
            return;
        }
        let encoded = match request {
            AnyRequest::SaslHandshake(r) => {
                let body = self.sasl_handshake(conn, &r.mechanism);
                frame::encode_response::<SaslHandshakeRequest>(&mut out, cid, version, &body)
            }
            AnyRequest::SaslAuthenticate(r) => {
                let (body, failed) = self.sasl_authenticate(conn, &r.auth_bytes);
                let e = frame::encode_response::<SaslAuthenticateRequest>(
                    &mut out, cid, version, &body,
                );
                if failed && e.is_ok() {
                    // Kafka answers the failure, then closes the connection.
                    self.respond(conn, out.freeze(), now);
                    let at = self.conns.get(&conn).map_or(now, |c| c.last_out);
                    self.push(at, NetOutput::Closed { conn });
                    return;
                }
                e
            }
            AnyRequest::ApiVersions(_) => {
                let body = ApiVersionsResponse {
                    api_keys: self.api_version_list(),
                    ..Default::default()
                };
                frame::encode_response::<ApiVersionsRequest>(&mut out, cid, version, &body)
            }
            AnyRequest::Metadata(r) => {
                let body = self.metadata(&r, now);
                frame::encode_response::<MetadataRequest>(&mut out, cid, version, &body)
            }
            AnyRequest::InitProducerId(r) => {
                let body = self.init_producer_id(&r);
                frame::encode_response::<InitProducerIdRequest>(&mut out, cid, version, &body)
            }
            AnyRequest::CreateTopics(r) => {
                let body = self.create_topics(&r);
                frame::encode_response::<CreateTopicsRequest>(&mut out, cid, version, &body)
            }
            AnyRequest::Produce(r) => {
                let acks = r.acks;
                let body = self.produce(broker, r, version, now);
                if acks == 0 {
                    // No response at all; a disconnect fault still applies.
                    if disconnect {
                        self.count_fault("disconnect_after");
                        self.close_conn(conn, now);
                    }
                    return;
                }
                frame::encode_response::<ProduceRequest>(&mut out, cid, version, &body)
            }
            _ => {
                // Not a producer's request: Kafka would answer, we close.
                self.close_conn(conn, now);
                return;
            }
        };
        if encoded.is_err() {
            self.close_conn(conn, now);
            return;
        }
        if disconnect {
            self.count_fault("disconnect_after");
            self.close_conn(conn, now);
            return;
        }
        if self.rng.chance(self.faults.drop_response) {
            self.count_fault("drop_response");
            if let Some(c) = self.conns.get_mut(&conn) {
                c.stalled = true;
            }
            return;
        }
        self.respond(conn, out.freeze(), now);
    }

    fn sasl_handshake(&mut self, conn: ConnId, mechanism: &str) -> SaslHandshakeResponse {
        let offered: Vec<String> = self
            .sasl_servers
            .iter()
            .map(|s| s.mechanism().name().to_owned())
            .collect();
        let seed = self.rng.next();
        let exchange = self
            .sasl_servers
            .iter()
            .find(|s| s.mechanism().name() == mechanism)
            .map(|s| s.new_exchange(seed));
        let error = if exchange.is_some() {
            ErrorCode::NONE
        } else {
            ErrorCode::UNSUPPORTED_SASL_MECHANISM
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.sasl = exchange;
        }
        SaslHandshakeResponse {
            error_code: error.0,
            mechanisms: offered,
            ..Default::default()
        }
    }

    /// Returns the answer and whether authentication failed.
    fn sasl_authenticate(
        &mut self,
        conn: ConnId,
        bytes: &[u8],
    ) -> (SaslAuthenticateResponse, bool) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return (SaslAuthenticateResponse::default(), true);
        };
        let Some(server) = c.sasl.as_mut() else {
            return (
                SaslAuthenticateResponse {
                    error_code: ErrorCode::ILLEGAL_SASL_STATE.0,
                    error_message: Some("SaslAuthenticate before SaslHandshake".into()),
                    ..Default::default()
                },
                true,
            );
        };
        match server.handle(bytes) {
            Ok(sasl_server::ServerStep::Challenge(b)) => (
                SaslAuthenticateResponse {
                    auth_bytes: Bytes::from(b),
                    ..Default::default()
                },
                false,
            ),
            Ok(sasl_server::ServerStep::Success(b)) => {
                c.authenticated = true;
                (
                    SaslAuthenticateResponse {
                        auth_bytes: Bytes::from(b),
                        session_lifetime_ms: 0,
                        ..Default::default()
                    },
                    false,
                )
            }
            Err(e) => {
                *self.stats.faults.entry("sasl_failed").or_default() += 1;
                (
                    SaslAuthenticateResponse {
                        error_code: e.error_code(),
                        error_message: Some(e.error_message().to_owned()),
                        ..Default::default()
                    },
                    true,
                )
            }
        }
    }

    fn respond(&mut self, conn: ConnId, bytes: Bytes, now: Instant) {
        let delay = self
            .rng
            .duration(self.faults.min_latency, self.faults.max_latency);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.stalled {
            return;
        }
        let at = (now + delay).max(c.last_out);
        c.last_out = at;
        self.push(at, NetOutput::Data { conn, bytes });
    }

    fn api_version_list(&self) -> Vec<ApiVersion> {
        self.api_versions
            .iter()
            .map(|&(api_key, min_version, max_version)| ApiVersion {
                api_key,
                min_version,
                max_version,
                ..Default::default()
            })
            .collect()
    }

    fn create_topic(&mut self, name: &str, n: i32) {
        let offset = self.topics.len();
        let parts = partitions_for(&self.spec.brokers, n, offset);
        self.topics.insert(name.to_owned(), parts);
    }

    fn metadata(&mut self, r: &MetadataRequest, now: Instant) -> MetadataResponse {
        let names: Vec<String> = match &r.topics {
            None => self.topics.keys().cloned().collect(),
            Some(ts) => ts.iter().filter_map(|t| t.name.clone()).collect(),
        };
        let mut topics = Vec::new();
        for name in names {
            if !self.topics.contains_key(&name) {
                if let Some(n) = self
                    .spec
                    .auto_create_partitions
                    .filter(|_| r.allow_auto_topic_creation)
                {
                    self.create_topic(&name, n);
                }
            }
            let Some(parts) = self.topics.get(&name) else {
                topics.push(MetadataResponseTopic {
                    error_code: ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0,
                    name: Some(name),
                    ..Default::default()
                });
                continue;
            };
            topics.push(MetadataResponseTopic {
                name: Some(name),
                partitions: parts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| MetadataResponsePartition {
                        partition_index: i as i32,
                        leader_id: p.leader,
                        leader_epoch: p.leader_epoch,
                        replica_nodes: self.spec.brokers.clone(),
                        isr_nodes: self.spec.brokers.clone(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            });
        }
        MetadataResponse {
            brokers: self
                .spec
                .brokers
                .iter()
                .filter(|b| self.is_up(**b, now))
                .map(|b| MetadataResponseBroker {
                    node_id: *b,
                    host: format!("broker-{b}"),
                    port: i32::from(PORT),
                    rack: None,
                    ..Default::default()
                })
                .collect(),
            cluster_id: Some("sim".into()),
            controller_id: self.spec.brokers[0],
            topics,
            ..Default::default()
        }
    }

    fn init_producer_id(&mut self, r: &InitProducerIdRequest) -> InitProducerIdResponse {
        if r.producer_id >= 0 {
            // KIP-360: bump the epoch of an existing id, if the caller has
            // the current epoch.
            return match self.producer_epochs.get_mut(&r.producer_id) {
                Some(e) if *e == r.producer_epoch && *e < i16::MAX => {
                    *e += 1;
                    InitProducerIdResponse {
                        producer_id: r.producer_id,
                        producer_epoch: *e,
                        ..Default::default()
                    }
                }
                _ => InitProducerIdResponse {
                    error_code: ErrorCode::INVALID_PRODUCER_EPOCH.0,
                    ..Default::default()
                },
            };
        }
        let id = self.next_producer_id;
        self.next_producer_id += 1;
        self.producer_epochs.insert(id, 0);
        InitProducerIdResponse {
            producer_id: id,
            producer_epoch: 0,
            ..Default::default()
        }
    }

    fn create_topics(&mut self, r: &CreateTopicsRequest) -> CreateTopicsResponse {
        let mut topics = Vec::new();
        for t in &r.topics {
            let error = if self.topics.contains_key(&t.name) {
                ErrorCode::TOPIC_ALREADY_EXISTS
            } else if t.num_partitions == 0 || t.num_partitions > 10_000 {
                ErrorCode::INVALID_PARTITIONS
            } else {
                if !r.validate_only {
                    let n = if t.num_partitions < 0 {
                        1
                    } else {
                        t.num_partitions
                    };
                    self.create_topic(&t.name, n);
                }
                ErrorCode::NONE
            };
            topics.push(CreatableTopicResult {
                name: t.name.clone(),
                error_code: error.0,
                ..Default::default()
            });
        }
        CreateTopicsResponse {
            topics,
            ..Default::default()
        }
    }

    fn produce(
        &mut self,
        broker: i32,
        r: ProduceRequest,
        version: i16,
        now: Instant,
    ) -> ProduceResponse {
        if self.rng.chance(self.faults.leader_move) {
            self.count_fault("leader_move");
            self.random_leader_move(now);
        }
        let mut responses = Vec::new();
        let mut endpoints: Vec<i32> = Vec::new();
        for t in r.topic_data {
            if !self.topics.contains_key(&t.name) {
                if let Some(n) = self.spec.auto_create_partitions {
                    self.create_topic(&t.name, n);
                }
            }
            let mut partition_responses = Vec::new();
            for p in t.partition_data {
                let mut resp = PartitionProduceResponse {
                    index: p.index,
                    base_offset: -1,
                    ..Default::default()
                };
                let code =
                    self.produce_partition(broker, &t.name, p.index, r.acks, p.records, &mut resp);
                resp.error_code = code.0;
                if code == ErrorCode::NOT_LEADER_OR_FOLLOWER && version >= 10 {
                    if let Some(part) = self
                        .topics
                        .get(&t.name)
                        .and_then(|x| x.get(p.index as usize))
                    {
                        resp.current_leader = LeaderIdAndEpoch {
                            leader_id: part.leader,
                            leader_epoch: part.leader_epoch,
                            ..Default::default()
                        };
                        if !endpoints.contains(&part.leader) {
                            endpoints.push(part.leader);
                        }
                    }
                }
                partition_responses.push(resp);
            }
            responses.push(TopicProduceResponse {
                name: t.name,
                partition_responses,
                ..Default::default()
            });
        }
        ProduceResponse {
            responses,
            node_endpoints: endpoints
                .into_iter()
                .map(|b| NodeEndpoint {
                    node_id: b,
                    host: format!("broker-{b}"),
                    port: i32::from(PORT),
                    rack: None,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn random_leader_move(&mut self, now: Instant) {
        let total: usize = self.topics.values().map(Vec::len).sum();
        if total == 0 {
            return;
        }
        let mut i = self.rng.below(total as u64) as usize;
        let up: Vec<i32> = self
            .spec
            .brokers
            .iter()
            .copied()
            .filter(|b| self.is_up(*b, now))
            .collect();
        if up.is_empty() {
            return;
        }
        let to = up[self.rng.below(up.len() as u64) as usize];
        for parts in self.topics.values_mut() {
            if i < parts.len() {
                let p = &mut parts[i];
                if p.leader != to {
                    p.leader = to;
                    p.leader_epoch += 1;
                }
                return;
            }
            i -= parts.len();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn produce_partition(
        &mut self,
        broker: i32,
        topic: &str,
        index: i32,
        acks: i16,
        records: Option<Bytes>,
        resp: &mut PartitionProduceResponse,
    ) -> ErrorCode {
        if !(-1..=1).contains(&acks) {
            return ErrorCode::INVALID_REQUIRED_ACKS;
        }
        let store = self.spec.store_records;
        let Some(part) = self
            .topics
            .get_mut(topic)
            .and_then(|p| p.get_mut(index.max(0) as usize))
            .filter(|_| index >= 0)
        else {
            return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
        };
        if part.leader != broker {
            return ErrorCode::NOT_LEADER_OR_FOLLOWER;
        }
        if self.rng.chance(self.faults.produce_error) {
            *self.stats.faults.entry("produce_error").or_default() += 1;
            const RETRIABLE: [ErrorCode; 3] = [
                ErrorCode::NOT_LEADER_OR_FOLLOWER,
                ErrorCode::REQUEST_TIMED_OUT,
                ErrorCode::NOT_ENOUGH_REPLICAS,
            ];
            return RETRIABLE[self.rng.below(3) as usize];
        }
        let Some(records) = records else {
            return ErrorCode::CORRUPT_MESSAGE;
        };
        let Ok(batch) = RecordBatch::parse(records.clone()) else {
            return ErrorCode::CORRUPT_MESSAGE;
        };
        if batch.magic() != 2 {
            return ErrorCode::UNSUPPORTED_FOR_MESSAGE_FORMAT;
        }
        if batch.size() != records.len() || batch.verify_crc().is_err() {
            return ErrorCode::CORRUPT_MESSAGE;
        }
        let count = batch.records_count();
        if count <= 0 || batch.last_offset_delta() != count - 1 {
            return ErrorCode::INVALID_RECORD;
        }
        let pid = batch.producer_id();
        let epoch = batch.producer_epoch();
        let first = batch.base_sequence();
        let last = first.wrapping_add(count - 1);
        if pid >= 0 {
            let current = part.producers.get(&pid).cloned();
            match current {
                None if first != 0 => {
                    self.stats.out_of_order += 1;
                    return ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER;
                }
                None => {}
                Some(s) if epoch < s.epoch => return ErrorCode::INVALID_PRODUCER_EPOCH,
                Some(s) if epoch > s.epoch && first != 0 => {
                    self.stats.out_of_order += 1;
                    return ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER;
                }
                Some(s) if epoch > s.epoch => {}
                Some(s) => {
                    if let Some(&(_, _, base)) =
                        s.recent.iter().find(|(f, l, _)| *f == first && *l == last)
                    {
                        self.stats.duplicates += 1;
                        resp.base_offset = base;
                        resp.log_start_offset = 0;
                        return ErrorCode::NONE;
                    }
                    let expected = if s.last_sequence == i32::MAX {
                        0
                    } else {
                        s.last_sequence + 1
                    };
                    if first != expected {
                        self.stats.out_of_order += 1;
                        // An older batch that fell out of the cache is a
                        // duplicate Kafka can no longer place.
                        return if first < expected && last <= s.last_sequence {
                            ErrorCode::DUPLICATE_SEQUENCE_NUMBER
                        } else {
                            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
                        };
                    }
                }
            }
        }
        // Append.
        let base = part.next_offset;
        if store {
            let Ok(iter) = batch.records(64 << 20) else {
                return ErrorCode::CORRUPT_MESSAGE;
            };
            let mut stored = Vec::with_capacity(count as usize);
            for (i, rec) in iter.enumerate() {
                let Ok(rec) = rec else {
                    return ErrorCode::CORRUPT_MESSAGE;
                };
                stored.push(StoredRecord {
                    offset: base + i as i64,
                    timestamp: rec.timestamp,
                    key: rec.key,
                    value: rec.value,
                    headers: rec.headers.into_iter().map(|h| (h.key, h.value)).collect(),
                    producer_id: pid,
                    producer_epoch: epoch,
                    sequence: if pid >= 0 {
                        first.wrapping_add(i as i32)
                    } else {
                        -1
                    },
                });
            }
            if stored.len() != count as usize {
                return ErrorCode::CORRUPT_MESSAGE;
            }
            part.log.extend(stored);
        }
        part.next_offset += i64::from(count);
        if pid >= 0 {
            let s = part.producers.entry(pid).or_insert(ProducerState {
                epoch,
                last_sequence: -1,
                recent: VecDeque::new(),
            });
            if epoch != s.epoch {
                s.epoch = epoch;
                s.recent.clear();
            }
            s.last_sequence = last;
            s.recent.push_back((first, last, base));
            if s.recent.len() > 5 {
                s.recent.pop_front();
            }
        }
        self.stats.batches_appended += 1;
        self.stats.records_appended += count as u64;
        resp.base_offset = base;
        resp.log_start_offset = 0;
        if self.rng.chance(self.faults.error_after_append) {
            *self.stats.faults.entry("error_after_append").or_default() += 1;
            return if self.rng.chance(0.5) {
                ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
            } else {
                ErrorCode::REQUEST_TIMED_OUT
            };
        }
        ErrorCode::NONE
    }
}

/// Encodes a request frame (a helper for tests that talk to the cluster
/// directly).
pub fn encode_request<R: Request>(api_version: i16, correlation_id: i32, body: &R) -> Bytes {
    let mut out = BytesMut::new();
    let header = kafka_proto::header::RequestHeader::new(
        R::API_KEY,
        api_version,
        correlation_id,
        Some("sim-test"),
    );
    frame::encode_request(&mut out, &header, body).expect("encodable request");
    out.freeze()
}
