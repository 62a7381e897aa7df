//! The broker connections: where each node is, at most one connection per
//! node, reconnect backoff, and the connection outputs the adapter drains
//! (connects, closes, transmits).
//!
//! Nodes are brokers by id, or bootstrap addresses by negative id (-1 for
//! the first). What travels on a connection and what its answers mean is
//! the producer's business; this type only owns the connections and says
//! which requests a lost one took with it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::connection::{ConnError, Connection, Purpose, Received, Response, SaslSettings};
use crate::event::{ConnId, Connect, Transmit};
use crate::hash::Map;
use crate::metadata::BrokerAddr;
use crate::rng::{Rng, backoff};

/// What new connections are made with.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSettings {
    pub(crate) client_id: Arc<str>,
    pub(crate) sasl: Option<SaslSettings>,
    pub(crate) request_timeout: Duration,
    pub(crate) setup_timeout: Duration,
    /// `socket.connection.setup.timeout.max.ms`: the setup timeout doubles
    /// per failed attempt up to this.
    pub(crate) setup_timeout_max: Duration,
    pub(crate) reconnect_backoff: Duration,
    pub(crate) reconnect_backoff_max: Duration,
    /// `connections.max.idle.ms`: a connection idle this long is closed.
    pub(crate) max_idle: Duration,
    /// `send.buffer.bytes` / `receive.buffer.bytes`, for the adapter.
    pub(crate) send_buffer: Option<usize>,
    pub(crate) receive_buffer: Option<usize>,
    /// The adapter wraps connections in TLS (`security.protocol` SSL or
    /// SASL_SSL): the core sees plaintext either way, so this only shapes
    /// the hints of diagnostics.
    pub(crate) tls: bool,
}

/// `conn`'s encoded bytes, if any, counted as sent to its broker with the
/// requests they hold (every transmit goes through here, the ones released
/// at close too).
fn take_counted(
    metrics: &mut crate::metrics::NetMetrics,
    conn: &mut Connection,
    now: Instant,
) -> Option<bytes::Bytes> {
    let data = conn.take_output()?;
    metrics.sent(conn.node, conn.take_requests_made(), data.len(), now);
    Some(data)
}

/// Where the SCRAM nonces' randomness comes from: filled by the driver's
/// source ([`Producer::set_entropy_source`](crate::Producer::set_entropy_source)).
pub(crate) struct EntropySource(pub(crate) Box<Fill>);

/// Fills a buffer with randomness; `false` if it could not.
pub(crate) type Fill = dyn FnMut(&mut [u8]) -> bool + Send;

impl std::fmt::Debug for EntropySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntropySource")
    }
}

impl EntropySource {
    /// Fresh bytes, or `None` if the source failed.
    fn draw(&mut self) -> Option<[u8; crate::sasl::NONCE_ENTROPY]> {
        let mut bytes = [0u8; crate::sasl::NONCE_ENTROPY];
        (self.0)(&mut bytes).then_some(bytes)
    }
}

/// Connection bookkeeping for one node.
#[derive(Debug, Default)]
struct NodeState {
    conn: Option<ConnId>,
    failures: u32,
    retry_at: Option<Instant>,
}

/// The connections to the cluster's nodes; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct Nodes {
    settings: ConnectionSettings,
    bootstrap: Vec<BrokerAddr>,
    brokers: Map<i32, BrokerAddr>,
    nodes: Map<i32, NodeState>,
    conns: Map<ConnId, Connection>,
    next_conn_id: u64,
    connects: VecDeque<Connect>,
    closes: VecDeque<ConnId>,
    /// Bytes of connections released by [`release_all`](Self::release_all),
    /// still to be written.
    final_transmits: VecDeque<Transmit>,
    /// The last connection failure worth telling the user (a reason we
    /// closed one for, or a hint why a broker closed one), with its time.
    last_error: Option<(Instant, String)>,
    /// Connections, requests, responses and bytes, overall and per broker.
    pub(crate) metrics: crate::metrics::NetMetrics,
    /// OAUTHBEARER: when the current token expires (no connection is
    /// opened with an expired one), and whether a connection waits for one.
    token_expires: Option<Instant>,
    token_wanted: bool,
    /// The driver's randomness for SCRAM nonces, if it gave a source.
    pub(crate) entropy: Option<EntropySource>,
}

/// A ready connection with room for more produce requests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadyConn {
    pub(crate) node: i32,
    pub(crate) conn: ConnId,
    /// Produce requests it can still take.
    pub(crate) free: usize,
}

impl Nodes {
    pub(crate) fn new(settings: ConnectionSettings, bootstrap: Vec<BrokerAddr>) -> Nodes {
        Nodes {
            settings,
            bootstrap,
            brokers: Map::default(),
            nodes: Map::default(),
            conns: Map::default(),
            next_conn_id: 0,
            connects: VecDeque::new(),
            closes: VecDeque::new(),
            final_transmits: VecDeque::new(),
            last_error: None,
            metrics: Default::default(),
            token_expires: None,
            token_wanted: false,
            entropy: None,
        }
    }

    /// Sets the randomness source; connections made before it (at the
    /// producer's construction) get their share now.
    pub(crate) fn set_entropy(&mut self, mut source: EntropySource) {
        if self.settings.sasl.is_some() {
            for c in self.conns.values_mut() {
                if let Some(e) = source.draw() {
                    c.give_entropy(e);
                }
            }
        }
        self.entropy = Some(source);
    }

    /// The address of broker `id`, if the metadata listed it.
    pub(crate) fn broker(&self, id: i32) -> Option<BrokerAddr> {
        self.brokers.get(&id).cloned()
    }

    /// Learns broker addresses; a broker missing from one answer (down for
    /// a moment) keeps its address for when a leader names it again.
    pub(crate) fn learn(&mut self, brokers: impl IntoIterator<Item = (i32, BrokerAddr)>) {
        self.brokers.extend(brokers);
    }

    /// Learns an address unless one is known (KIP-951 hints).
    pub(crate) fn learn_if_unknown(&mut self, node: i32, addr: BrokerAddr) {
        self.brokers.entry(node).or_insert(addr);
    }

    /// Whether `node`'s address is known.
    pub(crate) fn knows(&self, node: i32) -> bool {
        self.brokers.contains_key(&node)
    }

    pub(crate) fn get(&self, conn: ConnId) -> Option<&Connection> {
        self.conns.get(&conn)
    }

    pub(crate) fn get_mut(&mut self, conn: ConnId) -> Option<&mut Connection> {
        self.conns.get_mut(&conn)
    }

    pub(crate) fn connection_count(&self) -> usize {
        self.conns.len()
    }

    pub(crate) fn last_error(&self) -> Option<(Instant, &str)> {
        self.last_error.as_ref().map(|(t, e)| (*t, e.as_str()))
    }

    /// `conn` was closed by the broker: remembers why it may have been,
    /// when its traffic tells.
    pub(crate) fn note_closed_by_peer(&mut self, conn: ConnId, now: Instant) {
        let tls = self.settings.tls;
        if let Some(hint) = self
            .conns
            .get(&conn)
            .and_then(|c| c.closed_by_peer_hint(tls))
        {
            self.last_error = Some((now, hint));
        }
    }

    /// The ready connections (one per node) with room for produce
    /// requests under `max_in_flight`, by node id.
    pub(crate) fn ready_for_produce(&self, max_in_flight: usize) -> Vec<ReadyConn> {
        let mut rooms: Vec<ReadyConn> = self
            .nodes
            .iter()
            .filter_map(|(&node, state)| {
                let conn = state.conn?;
                let c = self.conns.get(&conn)?;
                (c.is_ready() && c.produce_in_flight() < max_in_flight).then(|| ReadyConn {
                    node,
                    conn,
                    free: max_in_flight - c.produce_in_flight(),
                })
            })
            .collect();
        rooms.sort_by_key(|r| r.node);
        rooms
    }

    /// The ready connection to `node`, opening one if there is none (and
    /// it is not backing off).
    pub(crate) fn ready_conn(&mut self, node: i32, now: Instant, rng: &mut Rng) -> Option<ConnId> {
        if !self.ensure(node, now, rng) {
            return None;
        }
        let conn = self.nodes.get(&node)?.conn?;
        self.conns.get(&conn).filter(|c| c.is_ready()).map(|c| c.id)
    }

    /// The finalized features (epoch, `transaction.version`) with the
    /// newest epoch among the open connections.
    pub(crate) fn finalized_features(&self) -> Option<(i64, i16)> {
        self.conns
            .values()
            .filter_map(|c| c.finalized_features())
            .max_by_key(|(epoch, _)| *epoch)
    }

    /// The ready connection with the fewest requests in flight, if any.
    pub(crate) fn least_loaded_ready(&self) -> Option<ConnId> {
        self.conns
            .values()
            .filter(|c| c.is_ready())
            .min_by_key(|c| (c.requests_in_flight(), c.id))
            .map(|c| c.id)
    }

    /// Opens a connection to `node` unless one exists or it is backing off.
    /// Returns whether a connection exists or is being opened.
    pub(crate) fn ensure(&mut self, node: i32, now: Instant, rng: &mut Rng) -> bool {
        let addr = if node < 0 {
            self.bootstrap.get((-node - 1) as usize).cloned()
        } else {
            self.brokers.get(&node).cloned()
        };
        let Some(addr) = addr else { return false };
        let state = self.nodes.entry(node).or_default();
        if state.conn.is_some() {
            return true;
        }
        let oauth = self
            .settings
            .sasl
            .as_ref()
            .is_some_and(|s| s.mechanism == crate::sasl::Mechanism::OAuthBearer);
        if oauth && self.token_expires.is_none_or(|t| t <= now) {
            // Never authenticate with a missing or expired token: wait for one.
            self.token_wanted = true;
            return false;
        }
        if state.retry_at.is_some_and(|t| t > now) {
            return false;
        }
        let id = ConnId(self.next_conn_id);
        self.next_conn_id += 1;
        let w = self.metrics.windows;
        self.metrics.connection_creation.record(w, 1.0, now);
        state.conn = Some(id);
        let s = &self.settings;
        // Java's exponential setup timeout: after failed attempts it doubles
        // (±20 % jitter) up to socket.connection.setup.timeout.max.ms; the
        // first attempt waits exactly socket.connection.setup.timeout.ms.
        let setup_timeout = match state.failures {
            0 => s.setup_timeout,
            n => backoff(rng, s.setup_timeout, s.setup_timeout_max, n),
        };
        let mut connection = Connection::new(
            id,
            node,
            s.client_id.clone(),
            s.sasl.clone(),
            rng.next_u64(),
            s.request_timeout,
            setup_timeout,
            now,
        );
        if s.sasl.is_some() {
            if let Some(e) = self.entropy.as_mut().and_then(EntropySource::draw) {
                connection.give_entropy(e);
            }
        }
        connection.peer = format!("{}:{}", addr.host, addr.port);
        self.conns.insert(id, connection);
        self.connects.push_back(Connect {
            conn: id,
            host: addr.host,
            port: addr.port,
            node_id: (node >= 0).then_some(node),
            send_buffer_bytes: self.settings.send_buffer,
            receive_buffer_bytes: self.settings.receive_buffer,
        });
        true
    }

    /// A ready connection for requests any broker can answer (Metadata,
    /// InitProducerId, FindCoordinator); when there is none, makes sure
    /// one is on its way: known brokers first (from a random one), then
    /// the bootstrap list.
    pub(crate) fn any_ready(&mut self, now: Instant, rng: &mut Rng) -> Option<ConnId> {
        if let Some(c) = self.least_loaded_ready() {
            return Some(c);
        }
        if !self.conns.is_empty() {
            return None; // one is being set up
        }
        let mut candidates: Vec<i32> = self.brokers.keys().copied().collect();
        candidates.sort_unstable();
        if !candidates.is_empty() {
            let start = rng.below(candidates.len() as u64) as usize;
            candidates.rotate_left(start);
        }
        candidates.extend((1..=self.bootstrap.len() as i32).map(|i| -i));
        for node in candidates {
            if self.ensure(node, now, rng) {
                return None;
            }
        }
        None
    }

    /// The socket of `conn` is up.
    pub(crate) fn connected(&mut self, conn: ConnId, now: Instant) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.connected(now);
        }
    }

    /// Bytes arrived on `conn`: complete answers go to `responses`. `None`
    /// for a connection we no longer know; `Some(Err)` when the
    /// connection must be closed (after the answers in `responses`).
    pub(crate) fn receive(
        &mut self,
        conn: ConnId,
        data: Received<'_>,
        now: Instant,
        responses: &mut Vec<Response>,
    ) -> Option<Result<(), ConnError>> {
        let c = self.conns.get_mut(&conn)?;
        let was_ready = c.is_ready();
        let len = data.as_slice().len();
        let result = c.receive_from(data, now, responses);
        let answered = c.take_responses_received();
        self.metrics.received(c.node, answered, len, now);
        if !was_ready && c.is_ready() {
            if let Some(n) = self.nodes.get_mut(&c.node) {
                n.failures = 0;
            }
        }
        Some(result)
    }

    /// Closes `conn` on our side (the adapter is told through
    /// [`poll_close`](Self::poll_close)) and forgets it; see
    /// [`lost`](Self::lost) for what is returned.
    pub(crate) fn close(
        &mut self,
        conn: ConnId,
        reason: Option<&ConnError>,
        now: Instant,
        rng: &mut Rng,
    ) -> Option<Vec<Purpose>> {
        if let (Some(r), Some(c)) = (reason, self.conns.get(&conn)) {
            self.last_error = Some((now, c.describe(r)));
        }
        if self.conns.contains_key(&conn) {
            self.closes.push_back(conn);
        }
        self.lost(conn, now, rng)
    }

    /// Forgets `conn` (closed by the peer, failed, or closed by us) and
    /// backs its node off; returns the requests it had in flight, whose
    /// answers will never come (`None`: not a connection we know).
    pub(crate) fn lost(
        &mut self,
        conn: ConnId,
        now: Instant,
        rng: &mut Rng,
    ) -> Option<Vec<Purpose>> {
        let mut c = self.detach(conn, now)?;
        let purposes = c.drain_in_flight().collect();
        let s = &self.settings;
        if let Some(n) = self.nodes.get_mut(&c.node) {
            let wait = backoff(
                rng,
                s.reconnect_backoff,
                s.reconnect_backoff_max,
                n.failures,
            );
            n.failures = n.failures.saturating_add(1);
            n.retry_at = Some(now + wait);
        }
        Some(purposes)
    }

    /// Closes the connections idle for `connections.max.idle.ms` at `now`
    /// (Java's client does the same): no request is lost, the node is not
    /// backed off, and the next request to it opens a new connection.
    pub(crate) fn close_idle(&mut self, now: Instant) {
        let max_idle = self.settings.max_idle;
        let mut idle: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| c.idle_deadline(max_idle).is_some_and(|d| d <= now))
            .map(|c| c.id)
            .collect();
        idle.sort_unstable();
        for id in idle {
            if self.detach(id, now).is_some() {
                self.closes.push_back(id);
            }
        }
    }

    /// Forgets `conn`: counted as closed, and its node has no connection
    /// any more. `None` if it is not a connection we know.
    fn detach(&mut self, conn: ConnId, now: Instant) -> Option<Connection> {
        let c = self.conns.remove(&conn)?;
        self.retire(&c, now);
        if let Some(n) = self.nodes.get_mut(&c.node) {
            if n.conn == Some(conn) {
                n.conn = None;
            }
        }
        Some(c)
    }

    /// Connections whose request or setup deadline has passed.
    pub(crate) fn timed_out(&self, now: Instant) -> Vec<ConnId> {
        self.conns
            .values()
            .filter(|c| c.timed_out(now))
            .map(|c| c.id)
            .collect()
    }

    /// Releases every connection at close: what was encoded still goes out
    /// first (adapters drain transmits before closes).
    pub(crate) fn release_all(&mut self, now: Instant) {
        let mut ids: Vec<ConnId> = self.conns.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(mut conn) = self.detach(id, now) {
                if let Some(data) = take_counted(&mut self.metrics, &mut conn, now) {
                    self.final_transmits.push_back(Transmit { conn: id, data });
                }
            }
            self.closes.push_back(id);
        }
        self.connects.clear();
    }

    pub(crate) fn poll_connect(&mut self) -> Option<Connect> {
        self.connects.pop_front()
    }

    pub(crate) fn poll_close(&mut self) -> Option<ConnId> {
        self.closes.pop_front()
    }

    /// Bytes released at close, then whichever connection has some.
    pub(crate) fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if let Some(t) = self.final_transmits.pop_front() {
            return Some(t);
        }
        let conn = self.conns.values_mut().find(|c| c.has_output())?;
        let data = take_counted(&mut self.metrics, conn, now)?;
        Some(Transmit {
            conn: conn.id,
            data,
        })
    }

    /// Whether bytes wait to be handed out by [`poll_transmit`](Self::poll_transmit).
    pub(crate) fn has_transmit(&self) -> bool {
        !self.final_transmits.is_empty() || self.conns.values().any(Connection::has_output)
    }

    /// Whether any output waits to be drained.
    pub(crate) fn has_output(&self) -> bool {
        !self.connects.is_empty() || !self.closes.is_empty() || self.has_transmit()
    }

    /// Starts the re-authentications that are due (KIP-368). Cheap when
    /// nothing is due: it runs before every round of sending.
    pub(crate) fn reauthenticate_due(&mut self, now: Instant) {
        let Some(current) = self.settings.sasl.as_ref() else {
            return;
        };
        if self.token_expires.is_some_and(|t| t <= now) {
            return;
        }
        for c in self.conns.values_mut() {
            // Each exchange gets fresh randomness for its nonce.
            if c.reauth_at().is_some_and(|t| t <= now) && !c.has_entropy() {
                if let Some(e) = self.entropy.as_mut().and_then(EntropySource::draw) {
                    c.give_entropy(e);
                }
            }
            c.maybe_reauthenticate(now, Some(current));
        }
    }

    /// OAUTHBEARER: a new token, valid until `expires`, with its SASL
    /// extensions.
    pub(crate) fn set_token(
        &mut self,
        token: &str,
        expires: Instant,
        extensions: Vec<(String, String)>,
    ) {
        if let Some(s) = self.settings.sasl.as_mut() {
            s.credentials.password = token.to_owned();
            s.extensions = extensions;
        }
        self.token_expires = Some(expires);
        self.token_wanted = false;
    }

    /// Whether a connection waits for an OAUTHBEARER token.
    pub(crate) fn token_wanted(&self) -> bool {
        self.token_wanted
    }

    /// Whether a token that has not expired is at hand.
    pub(crate) fn has_token(&self, now: Instant) -> bool {
        self.token_expires.is_some_and(|t| t > now)
    }

    /// A connection goes: its authentications join the totals.
    fn retire(&mut self, c: &Connection, now: Instant) {
        let m = &mut self.metrics;
        m.connection_close.record(m.windows, 1.0, now);
        let auths = u64::from(c.authentications());
        m.retired_authentications += auths;
        m.retired_reauthentications += auths.saturating_sub(1);
    }

    /// `(authentications, re-authentications)` over every connection,
    /// open or gone.
    pub(crate) fn authentications(&self) -> (u64, u64) {
        let m = &self.metrics;
        let mut t = (m.retired_authentications, m.retired_reauthentications);
        for c in self.conns.values() {
            let auths = u64::from(c.authentications());
            t.0 += auths;
            t.1 += auths.saturating_sub(1);
        }
        t
    }

    /// The broker `conn` is connected to (negative for a bootstrap address).
    pub(crate) fn node_of(&self, conn: ConnId) -> Option<i32> {
        self.conns.get(&conn).map(|c| c.node)
    }

    /// Requests sent and not yet answered, over every connection.
    pub(crate) fn requests_in_flight(&self) -> usize {
        self.conns.values().map(Connection::in_flight_count).sum()
    }

    /// The earliest connection deadline, re-authentication, idle close or
    /// reconnect time after `now`.
    pub(crate) fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let max_idle = self.settings.max_idle;
        let conns = self
            .conns
            .values()
            .flat_map(|c| [c.next_deadline(), c.reauth_at(), c.idle_deadline(max_idle)])
            .flatten();
        let retries = self
            .nodes
            .values()
            .filter_map(|n| n.retry_at)
            .filter(|t| *t > now);
        conns.chain(retries).min()
    }

    /// `(id, node, ready, produce requests in flight)` of each connection,
    /// for debugging.
    pub(crate) fn describe(&self) -> Vec<(u64, i32, bool, usize)> {
        let mut v: Vec<_> = self
            .conns
            .values()
            .map(|c| (c.id.0, c.node, c.is_ready(), c.produce_in_flight()))
            .collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Nodes {
        Nodes::new(
            ConnectionSettings {
                client_id: "t".into(),
                sasl: None,
                request_timeout: Duration::from_secs(30),
                setup_timeout: Duration::from_secs(10),
                setup_timeout_max: Duration::from_secs(30),
                max_idle: Duration::from_secs(540),
                send_buffer: None,
                receive_buffer: None,
                tls: false,
                reconnect_backoff: Duration::from_millis(50),
                reconnect_backoff_max: Duration::from_secs(1),
            },
            vec![
                BrokerAddr {
                    host: "a".into(),
                    port: 1,
                },
                BrokerAddr {
                    host: "b".into(),
                    port: 2,
                },
            ],
        )
    }

    #[test]
    fn one_connection_per_node_and_backoff_after_a_loss() {
        let mut n = nodes();
        let mut rng = Rng::new(1);
        let t0 = crate::testing::t0();
        // Nothing ready: the bootstrap list is tried, one connection at a time.
        assert_eq!(n.any_ready(t0, &mut rng), None);
        let c = n.poll_connect().expect("a connect");
        assert_eq!((c.host.as_str(), c.port, c.node_id), ("a", 1, None));
        assert_eq!(n.any_ready(t0, &mut rng), None);
        assert!(n.poll_connect().is_none(), "one is being set up already");
        assert!(n.ensure(-1, t0, &mut rng), "exists");
        assert!(n.poll_connect().is_none());
        // Lost: the node backs off, the next bootstrap address is tried.
        assert_eq!(n.lost(c.conn, t0, &mut rng), Some(Vec::new()));
        assert!(!n.ensure(-1, t0, &mut rng), "backing off");
        let retry = n.next_deadline(t0).expect("a reconnect time");
        assert!(retry > t0 && retry <= t0 + Duration::from_millis(60));
        assert_eq!(n.any_ready(t0, &mut rng), None);
        assert_eq!(n.poll_connect().map(|c| c.port), Some(2));
        assert!(n.ensure(-1, retry, &mut rng), "after the backoff");
    }

    #[test]
    fn close_tells_the_adapter_and_release_all_closes_everything() {
        let mut n = nodes();
        let mut rng = Rng::new(2);
        let t0 = crate::testing::t0();
        n.learn([(
            7,
            BrokerAddr {
                host: "k".into(),
                port: 9,
            },
        )]);
        assert!(n.knows(7));
        n.learn_if_unknown(
            7,
            BrokerAddr {
                host: "other".into(),
                port: 1,
            },
        );
        assert!(n.ensure(7, t0, &mut rng));
        let c = n.poll_connect().unwrap();
        assert_eq!((c.host.as_str(), c.node_id), ("k", Some(7)));
        n.close(c.conn, Some(&ConnError::Timeout), t0, &mut rng);
        assert_eq!(n.poll_close(), Some(c.conn));
        assert_eq!(
            n.last_error().map(|e| e.1),
            Some("k:9: no answer in time (request.timeout.ms, or the connection setup timeout)")
        );
        assert!(n.ensure(-2, t0, &mut rng));
        let c2 = n.poll_connect().unwrap();
        n.release_all(t0);
        assert_eq!(n.poll_close(), Some(c2.conn));
        assert_eq!(n.connection_count(), 0);
        assert!(!n.has_output());
    }
}
