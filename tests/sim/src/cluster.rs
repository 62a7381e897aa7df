//! The cluster: brokers, connections, the clock and the queue of work.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_proto::frame::{self, FrameDecoder};
use kafka_proto::primitives::Uuid;
use kafka_proto::{ApiKey, Request};

use crate::config::{ApiRange, BrokerConfig, ClusterSpec, Faults};
use crate::net::{ConnId, ConnectError, NetOutput};
use crate::partition::{Partition, StoredRecord, Topic, valid_topic_name};
use crate::rng::SplitMix64;
use crate::sasl::{AuthState, SaslServers};
use crate::stats::Stats;

/// The port every simulated broker listens on.
pub const BROKER_PORT: u16 = 9092;

/// Largest request frame a broker accepts (Kafka's
/// `socket.request.max.bytes` default, 100 MiB).
const MAX_REQUEST_SIZE: usize = 104_857_600;

/// Delays longer than this (ten years) are cut to it, so that no `Instant`
/// arithmetic can overflow.
const LONGEST_DELAY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// `now + delay`, with the delay cut to [`LONGEST_DELAY`].
fn later(now: Instant, delay: Duration) -> Instant {
    now.checked_add(delay.min(LONGEST_DELAY)).unwrap_or(now)
}

/// Most partitions one topic may have: more would only exhaust memory.
pub(crate) const MAX_PARTITIONS: i32 = 100_000;

/// The host name of broker `id`.
pub(crate) fn broker_host(id: i32) -> String {
    format!("broker-{id}")
}

#[derive(Debug)]
pub(crate) struct Broker {
    pub(crate) up: bool,
    /// Bumped whenever the broker goes down or up, so that a scheduled
    /// return from an earlier restart is recognised as stale.
    generation: u64,
    /// When a restarting broker comes back.
    back_at: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) broker: i32,
    decoder: FrameDecoder,
    /// False once the broker closed it (the Closed output is queued).
    open: bool,
    /// The byte stream could not be framed: nothing more is read.
    broken: bool,
    /// Requests of a connection are processed one after another: none
    /// before this time.
    busy_until: Option<Instant>,
    /// A response was dropped: nothing more is answered.
    stalled: bool,
    pub(crate) auth: AuthState,
    /// When the SASL session ends (`BrokerConfig::sasl_session_lifetime`).
    pub(crate) session_expires: Option<Instant>,
    /// When the last re-authentication began; `Some` while one is under
    /// way or after it.
    pub(crate) reauth_started: Option<Instant>,
    /// A re-authentication is under way.
    pub(crate) reauthenticating: bool,
    /// The SASL mechanism of the last handshake.
    pub(crate) mechanism: Option<String>,
}

/// Something the brokers do at a given time.
#[derive(Debug)]
enum Work {
    /// Process a request frame (without its size prefix).
    Request { conn: ConnId, frame: Bytes },
    /// A request the client sent before closing its connection, processed
    /// anyway (`Faults::process_after_close`); its answer goes nowhere.
    Orphan { broker: i32, frame: Bytes },
    /// The byte stream of a connection could not be framed.
    BrokenStream { conn: ConnId },
    /// A restarted broker comes back.
    BrokerBack { broker: i32, generation: u64 },
}

impl Work {
    fn conn(&self) -> Option<ConnId> {
        match self {
            Work::Request { conn, .. } | Work::BrokenStream { conn } => Some(*conn),
            Work::BrokerBack { .. } | Work::Orphan { .. } => None,
        }
    }
}

/// How a handled request is answered.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Send this frame.
    Respond(Bytes),
    /// Send this frame, then close the connection.
    RespondThenClose(Bytes),
    /// No answer (acks = 0).
    Silent,
    /// No answer, and close the connection (acks = 0 with an error, so
    /// that the client learns something went wrong, as Kafka does).
    SilentThenClose,
    /// A request Kafka would not process: close the connection.
    Close,
}

/// The producer id bookkeeping of InitProducerId.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProducerIdEntry {
    pub(crate) epoch: i16,
}

/// A simulated Kafka cluster, driven by its caller: bytes in with
/// [`client_send`](Self::client_send), bytes out with
/// [`poll_output`](Self::poll_output), time advanced by the `now` arguments
/// (never read from a clock), faults drawn from the seed.
///
/// Inputs: [`connect`](Self::connect), [`client_send`](Self::client_send),
/// [`client_close`](Self::client_close) and the administrative calls
/// ([`move_leader`](Self::move_leader), [`stop_broker`](Self::stop_broker),
/// ...). Outputs: [`poll_output`](Self::poll_output), to be drained after
/// inputs and whenever time reaches [`next_wakeup`](Self::next_wakeup).
/// Requests are processed when their latency has passed, at the latest
/// during the first call whose `now` reaches that time; a `now` earlier
/// than one seen before counts as that later time.
///
/// Given the same seed, faults and sequence of calls, the outputs are
/// byte-for-byte the same.
#[derive(Debug)]
pub struct SimCluster {
    pub(crate) spec: ClusterSpec,
    pub(crate) config: BrokerConfig,
    pub(crate) faults: Faults,
    latency_rng: SplitMix64,
    pub(crate) fault_rng: SplitMix64,
    pub(crate) id_rng: SplitMix64,
    pub(crate) brokers: BTreeMap<i32, Broker>,
    pub(crate) topics: BTreeMap<String, Topic>,
    pub(crate) conns: BTreeMap<ConnId, Conn>,
    next_conn: u64,
    work: BTreeMap<(Instant, u64), Work>,
    next_work: u64,
    outbox: VecDeque<NetOutput>,
    clock: Option<Instant>,
    pub(crate) producer_ids: BTreeMap<i64, ProducerIdEntry>,
    pub(crate) next_producer_id: i64,
    pub(crate) stats: Stats,
    /// Transaction coordinators' state, by transactional id.
    pub(crate) txns: BTreeMap<String, crate::txn::TxnEntry>,
    /// Committed group offsets: (group, topic, partition) → offset.
    pub(crate) group_offsets: BTreeMap<(String, String, i32), i64>,
    /// Moves every coordinator when bumped.
    pub(crate) coordinator_shift: u64,
    pub(crate) txn_counts: crate::txn::TxnCounts,
}

impl SimCluster {
    /// A cluster of `spec`'s brokers and topics behaving like Apache Kafka
    /// 4.0 ([`BrokerConfig::default`]), with `faults` drawn from `seed`.
    pub fn new(spec: ClusterSpec, faults: Faults, seed: u64) -> Self {
        Self::with_config(spec, BrokerConfig::default(), faults, seed)
    }

    /// A cluster whose brokers behave as `config` says.
    ///
    /// An empty broker list gets one broker, id 1; duplicate ids are
    /// dropped. `spec.sasl`, when set, replaces `config`'s SASL settings.
    pub fn with_config(
        mut spec: ClusterSpec,
        mut config: BrokerConfig,
        faults: Faults,
        seed: u64,
    ) -> Self {
        if let Some(sasl) = &spec.sasl {
            config.sasl = Some(Arc::new(SaslServers::new(sasl, seed)));
            config.require_sasl = true;
        }
        let mut seen = Vec::new();
        spec.brokers.retain(|b| {
            let new = !seen.contains(b);
            seen.push(*b);
            new
        });
        if spec.brokers.is_empty() {
            spec.brokers.push(1);
        }
        let mut master = SplitMix64::new(seed);
        let brokers = spec
            .brokers
            .iter()
            .map(|&id| {
                (
                    id,
                    Broker {
                        up: true,
                        generation: 0,
                        back_at: None,
                    },
                )
            })
            .collect();
        let initial = spec.topics.clone();
        let mut cluster = SimCluster {
            spec,
            config,
            faults,
            latency_rng: master.split(),
            fault_rng: master.split(),
            id_rng: master.split(),
            brokers,
            topics: BTreeMap::new(),
            conns: BTreeMap::new(),
            next_conn: 0,
            work: BTreeMap::new(),
            next_work: 0,
            outbox: VecDeque::new(),
            clock: None,
            producer_ids: BTreeMap::new(),
            next_producer_id: 1000,
            stats: Stats::default(),
            txns: BTreeMap::new(),
            group_offsets: BTreeMap::new(),
            coordinator_shift: 0,
            txn_counts: Default::default(),
        };
        for (name, partitions) in initial {
            cluster.create_topic(&name, partitions, None);
        }
        cluster
    }

    /// The bootstrap addresses: `("broker-N", 9092)` for every broker.
    pub fn bootstrap(&self) -> Vec<(String, u16)> {
        self.spec
            .brokers
            .iter()
            .map(|&b| (broker_host(b), BROKER_PORT))
            .collect()
    }

    /// Changes the faults from now on (e.g. none for the final drain of a
    /// test).
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// The faults in force.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// How the brokers behave.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Changes how the brokers behave from now on (advertised versions,
    /// policies, SASL). Connections keep their authentication state.
    pub fn config_mut(&mut self) -> &mut BrokerConfig {
        &mut self.config
    }

    /// Overrides the API versions every broker advertises, as
    /// `(api key, min, max)`, to simulate older or newer brokers.
    pub fn set_api_versions(&mut self, versions: Vec<(i16, i16, i16)>) {
        self.config.api_versions = versions
            .into_iter()
            .map(|(k, min_version, max_version)| ApiRange {
                api_key: ApiKey(k),
                min_version,
                max_version,
            })
            .collect();
    }

    /// Counters of what happened.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Topics and their partition counts, by name.
    pub fn topics(&self) -> Vec<(String, i32)> {
        self.topics
            .iter()
            .map(|(n, t)| (n.clone(), t.partitions.len() as i32))
            .collect()
    }

    fn partition(&self, topic: &str, partition: i32) -> Option<&Partition> {
        let index = usize::try_from(partition).ok()?;
        self.topics.get(topic)?.partitions.get(index)
    }

    /// Everything appended to a partition, in offset order (empty when
    /// records are not stored or the partition does not exist).
    pub fn log(&self, topic: &str, partition: i32) -> Vec<StoredRecord> {
        self.log_ref(topic, partition).to_vec()
    }

    /// [`log`](Self::log) without the copy.
    pub fn log_ref(&self, topic: &str, partition: i32) -> &[StoredRecord] {
        self.partition(topic, partition)
            .map_or(&[], |p| p.records.as_slice())
    }

    /// The log end offset of a partition (the offset the next record gets;
    /// also the number of records appended).
    pub fn end_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.partition(topic, partition).map(|p| p.log_end)
    }

    /// The leader of a partition (`Some(-1)` when it has none) and its
    /// leader epoch.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<(i32, i32)> {
        self.partition(topic, partition)
            .map(|p| (p.leader, p.leader_epoch))
    }

    /// Whether broker `id` is up.
    pub fn is_broker_up(&self, id: i32) -> bool {
        self.brokers.get(&id).is_some_and(|b| b.up)
    }

    /// The broker a connection goes to, while it is open.
    pub fn broker_of(&self, conn: ConnId) -> Option<i32> {
        self.conns.get(&conn).map(|c| c.broker)
    }

    /// The current epoch InitProducerId knows for a producer id.
    pub fn producer_epoch(&self, producer_id: i64) -> Option<i16> {
        self.producer_ids.get(&producer_id).map(|e| e.epoch)
    }

    /// Every broker loses the idempotent producers' state: the producer
    /// ids InitProducerId handed out and every partition's sequence state
    /// (as a broker restarted without its replicas does, or a log deleted
    /// and recreated). Records stay. Producer ids are not reused.
    pub fn forget_producer_state(&mut self) {
        self.producer_ids.clear();
        for t in self.topics.values_mut() {
            for p in &mut t.partitions {
                p.producers.clear();
            }
        }
    }

    /// The latest time the cluster has seen.
    pub fn now(&self) -> Option<Instant> {
        self.clock
    }

    /// Takes `now` as the time, unless an earlier call already saw a later
    /// one: time never goes backwards.
    fn observe(&mut self, now: Instant) -> Instant {
        let t = self.clock.map_or(now, |c| c.max(now));
        self.clock = Some(t);
        t
    }

    /// Opens a connection to `host:port`. Refused for an address that is
    /// no broker's and for a broker that is down.
    pub fn connect(&mut self, host: &str, port: u16, now: Instant) -> Result<ConnId, ConnectError> {
        let now = self.observe(now);
        self.advance(now);
        let broker = host
            .strip_prefix("broker-")
            .and_then(|b| b.parse::<i32>().ok())
            .filter(|b| port == BROKER_PORT && self.brokers.contains_key(b));
        let Some(broker) = broker else {
            self.stats.connects_refused += 1;
            return Err(ConnectError::UnknownHost);
        };
        if !self.is_broker_up(broker) {
            self.stats.connects_refused += 1;
            return Err(ConnectError::BrokerDown);
        }
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(
            id,
            Conn {
                broker,
                decoder: FrameDecoder::new(MAX_REQUEST_SIZE),
                open: true,
                broken: false,
                busy_until: None,
                stalled: false,
                auth: AuthState::default(),
                session_expires: None,
                reauth_started: None,
                reauthenticating: false,
                mechanism: None,
            },
        );
        self.stats.connections_opened += 1;
        Ok(id)
    }

    /// Bytes from the client on `conn`, split anywhere. Ignored on a
    /// connection that is closed or unknown.
    pub fn client_send(&mut self, conn: ConnId, bytes: &[u8], now: Instant) {
        let now = self.observe(now);
        self.advance(now);
        match self.conns.get_mut(&conn) {
            Some(c) if c.open && !c.broken => c.decoder.push(bytes),
            _ => return,
        }
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if !c.open || c.broken {
                return;
            }
            let work = match c.decoder.next_frame() {
                Ok(Some(frame)) => Work::Request { conn, frame },
                Ok(None) => return,
                Err(_) => {
                    c.broken = true;
                    Work::BrokenStream { conn }
                }
            };
            let delay = self
                .latency_rng
                .duration(self.faults.min_latency, self.faults.max_latency);
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            let ready = later(now, delay);
            let at = c.busy_until.map_or(ready, |b| b.max(ready));
            c.busy_until = Some(at);
            let nothing_earlier = self.work.first_key_value().is_none_or(|(k, _)| k.0 > at);
            if at <= now && nothing_earlier {
                // Zero latency: process at once rather than via the queue
                // (the same order, less work).
                self.execute(at, work);
            } else {
                self.schedule(at, work);
            }
        }
    }

    /// The client closed `conn`: it is forgotten, and nothing more is
    /// processed or sent on it.
    pub fn client_close(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        self.outbox.retain(|o| o.conn() != conn);
        let orphans = c.open && !c.broken && self.fault_rng.chance(self.faults.process_after_close);
        let pending: Vec<(Instant, u64)> = self
            .work
            .iter()
            .filter(|(_, w)| w.conn() == Some(conn))
            .map(|(k, _)| *k)
            .collect();
        for key in pending {
            if let Some(Work::Request { frame, .. }) = self.work.remove(&key) {
                if orphans {
                    self.stats.faults.processed_after_close += 1;
                    self.work.insert(
                        key,
                        Work::Orphan {
                            broker: c.broker,
                            frame,
                        },
                    );
                }
            }
        }
    }

    /// The next output due at or before `now`, in time order; `None` when
    /// nothing is due. Requests whose time has come are processed first.
    pub fn poll_output(&mut self, now: Instant) -> Option<NetOutput> {
        let now = self.observe(now);
        self.advance(now);
        while let Some(out) = self.outbox.pop_front() {
            let conn = out.conn();
            if !self.conns.contains_key(&conn) {
                continue;
            }
            if matches!(out, NetOutput::Closed { .. }) {
                self.conns.remove(&conn);
            }
            return Some(out);
        }
        None
    }

    /// The earliest time something happens without new input: an output
    /// is due, a delayed request is processed, or a restarted broker comes
    /// back. `None` when nothing is pending.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let queued = self.outbox.front().and(self.clock);
        let work = self.work.first_key_value().map(|(k, _)| k.0);
        match (queued, work) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves the leadership of a partition to `broker` (bumping the leader
    /// epoch). Returns false, changing nothing, for an unknown partition or
    /// broker.
    pub fn move_leader(&mut self, topic: &str, partition: i32, broker: i32) -> bool {
        if !self.brokers.contains_key(&broker) {
            return false;
        }
        let Ok(index) = usize::try_from(partition) else {
            return false;
        };
        match self
            .topics
            .get_mut(topic)
            .and_then(|t| t.partitions.get_mut(index))
        {
            Some(p) => {
                p.set_leader(broker);
                true
            }
            None => false,
        }
    }

    /// Stops broker `id` until [`start_broker`](Self::start_broker): its
    /// connections are closed, connects are refused and its leaderships
    /// move to live replicas.
    pub fn stop_broker(&mut self, id: i32, now: Instant) {
        let now = self.observe(now);
        self.advance(now);
        self.take_down(id, now, None);
    }

    /// Starts a stopped broker again, with its data; partitions without a
    /// leader elect it.
    pub fn start_broker(&mut self, id: i32, now: Instant) {
        let now = self.observe(now);
        self.advance(now);
        self.bring_up(id);
    }

    /// Processes the work due at or before `now`, in time order.
    fn advance(&mut self, now: Instant) {
        while let Some(entry) = self.work.first_entry() {
            let at = entry.key().0;
            if at > now {
                break;
            }
            let work = entry.remove();
            self.execute(at, work);
        }
    }

    fn schedule(&mut self, at: Instant, work: Work) {
        self.work.insert((at, self.next_work), work);
        self.next_work += 1;
    }

    fn execute(&mut self, at: Instant, work: Work) {
        match work {
            Work::Request { conn, frame } => self.handle_request(conn, frame, at),
            Work::Orphan { broker, frame } => {
                if self.brokers.get(&broker).is_some_and(|b| b.up) {
                    // No connection: the answer is dropped.
                    let _ = self.dispatch(ConnId(u64::MAX), broker, frame, at);
                }
            }
            Work::BrokenStream { conn } => {
                if self.conns.get(&conn).is_some_and(|c| c.open) {
                    self.stats.malformed_requests += 1;
                    self.close_conn(conn);
                }
            }
            Work::BrokerBack { broker, generation } => {
                if self
                    .brokers
                    .get(&broker)
                    .is_some_and(|b| b.generation == generation && !b.up)
                {
                    self.bring_up(broker);
                }
            }
        }
    }

    /// Handles one request frame at time `now` and answers it.
    fn handle_request(&mut self, conn: ConnId, frame: Bytes, now: Instant) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if !c.open {
            return;
        }
        let broker = c.broker;
        if c.auth.raw_tokens() {
            let outcome = self.sasl_raw_token(conn, &frame);
            self.finish(conn, outcome, false);
            return;
        }
        // KIP-368: once the session expired, only a SaslHandshake (which
        // re-authenticates) keeps the connection; Kafka's network layer
        // closes it at any other request.
        let handshake = frame.get(..2) == Some(&ApiKey::SaslHandshake.0.to_be_bytes()[..]);
        if c.auth.is_done() && c.session_expires.is_some_and(|t| t <= now) && !handshake {
            self.stats.expired_sessions_closed += 1;
            self.close_conn(conn);
            return;
        }
        if self.fault_rng.chance(self.faults.broker_restart) {
            self.stats.faults.broker_restarts += 1;
            let downtime = self
                .fault_rng
                .duration(Duration::ZERO, self.faults.restart_downtime);
            self.take_down(broker, now, Some(later(now, downtime)));
            return;
        }
        let disconnect = self.fault_rng.chance(self.faults.disconnect);
        if disconnect && self.fault_rng.chance(0.5) {
            self.stats.faults.disconnects_before += 1;
            self.close_conn(conn);
            return;
        }
        let outcome = self.dispatch(conn, broker, frame, now);
        self.finish(conn, outcome, disconnect);
    }

    /// Sends (or not) what a handled request produced, applying the
    /// faults that strike after processing.
    fn finish(&mut self, conn: ConnId, outcome: Outcome, disconnect: bool) {
        let (bytes, close) = match outcome {
            Outcome::Respond(b) => (Some(b), false),
            Outcome::RespondThenClose(b) => (Some(b), true),
            Outcome::Silent => (None, false),
            Outcome::SilentThenClose => (None, true),
            Outcome::Close => {
                self.stats.malformed_requests += 1;
                self.close_conn(conn);
                return;
            }
        };
        if disconnect {
            self.stats.faults.disconnects_after += 1;
            self.close_conn(conn);
            return;
        }
        if let Some(bytes) = bytes {
            if self.fault_rng.chance(self.faults.drop_response) {
                self.stats.faults.dropped_responses += 1;
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.stalled = true;
                }
            } else if self.conns.get(&conn).is_some_and(|c| !c.stalled) {
                self.stats.responses += 1;
                self.outbox.push_back(NetOutput::Data { conn, bytes });
            }
        }
        if close {
            self.close_conn(conn);
        }
    }

    /// The broker closes `conn`: responses already sent still arrive, then
    /// the Closed output.
    pub(crate) fn close_conn(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.open {
            return;
        }
        c.open = false;
        self.stats.connections_closed_by_broker += 1;
        self.outbox.push_back(NetOutput::Closed { conn });
        self.work.retain(|_, w| w.conn() != Some(conn));
    }

    /// Broker `id` goes down until `back_at` (forever when `None`).
    fn take_down(&mut self, id: i32, now: Instant, back_at: Option<Instant>) {
        let Some(b) = self.brokers.get_mut(&id) else {
            return;
        };
        b.up = false;
        b.generation += 1;
        b.back_at = back_at;
        let generation = b.generation;
        if let Some(at) = back_at {
            self.schedule(
                at.max(now),
                Work::BrokerBack {
                    broker: id,
                    generation,
                },
            );
        }
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.broker == id && c.open)
            .map(|(k, _)| *k)
            .collect();
        for c in conns {
            self.close_conn(c);
        }
        let up: Vec<i32> = self
            .brokers
            .iter()
            .filter(|(_, b)| b.up)
            .map(|(k, _)| *k)
            .collect();
        for t in self.topics.values_mut() {
            for p in &mut t.partitions {
                if p.leader == id {
                    // The first live replica takes over, as the controller
                    // would elect from the ISR.
                    let next = p
                        .replicas
                        .iter()
                        .copied()
                        .find(|r| up.contains(r))
                        .unwrap_or(-1);
                    p.set_leader(next);
                }
            }
        }
    }

    /// Broker `id` is up again; partitions without a leader elect it.
    fn bring_up(&mut self, id: i32) {
        let Some(b) = self.brokers.get_mut(&id) else {
            return;
        };
        if b.up {
            return;
        }
        b.up = true;
        b.generation += 1;
        b.back_at = None;
        for t in self.topics.values_mut() {
            for p in &mut t.partitions {
                if p.leader == -1 && p.replicas.contains(&id) {
                    p.set_leader(id);
                }
            }
        }
    }

    /// When a restarting broker comes back, if it is down for a restart.
    pub fn broker_back_at(&self, id: i32) -> Option<Instant> {
        self.brokers.get(&id).and_then(|b| b.back_at)
    }

    /// Creates a topic of `partitions` partitions (replicas `assignment`
    /// when given); leaders are spread round robin.
    pub(crate) fn create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        assignment: Option<Vec<Vec<i32>>>,
    ) -> bool {
        if self.topics.contains_key(name)
            || !valid_topic_name(name)
            || partitions > MAX_PARTITIONS
            || assignment
                .as_ref()
                .is_some_and(|a| a.len() > MAX_PARTITIONS as usize)
        {
            return false;
        }
        let brokers = &self.spec.brokers;
        let offset = self.topics.len();
        let replica_sets: Vec<Vec<i32>> = assignment.unwrap_or_else(|| {
            (0..partitions.max(0) as usize)
                .map(|i| {
                    (0..brokers.len())
                        .map(|j| brokers[(offset + i + j) % brokers.len()])
                        .collect()
                })
                .collect()
        });
        let parts = replica_sets
            .into_iter()
            .map(|replicas| {
                let leader = replicas
                    .iter()
                    .copied()
                    .find(|r| self.brokers.get(r).is_some_and(|b| b.up))
                    .unwrap_or(-1);
                Partition::new(replicas, leader)
            })
            .collect();
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.id_rng.next_u64().to_be_bytes());
        id[8..].copy_from_slice(&self.id_rng.next_u64().to_be_bytes());
        self.topics.insert(
            name.to_owned(),
            Topic {
                id: Uuid(id),
                partitions: parts,
            },
        );
        self.stats.topics_created += 1;
        true
    }

    /// Creates a topic with `partitions` partitions (as CreateTopics
    /// would). Returns false if it exists, the name is not legal or the
    /// count is not positive.
    pub fn create_topic_now(&mut self, name: &str, partitions: i32) -> bool {
        partitions > 0 && self.create_topic(name, partitions, None)
    }

    /// The ranges broker `broker` advertises.
    pub(crate) fn api_ranges(&self, broker: i32) -> &[ApiRange] {
        self.config.api_versions_of(broker)
    }
}

/// Encodes the response to a request of type `R`; a body that cannot be
/// encoded (which would be a bug here) closes the connection.
pub(crate) fn respond<R: Request>(
    correlation_id: i32,
    version: i16,
    body: &R::Response,
) -> Outcome {
    let mut out = BytesMut::new();
    match frame::encode_response::<R>(&mut out, correlation_id, version, body) {
        Ok(()) => Outcome::Respond(out.freeze()),
        Err(_) => Outcome::Close,
    }
}
