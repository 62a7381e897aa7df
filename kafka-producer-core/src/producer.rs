//! The producer: one value that holds every state machine and is driven
//! through calls.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_proto::ErrorCode;
use kafka_proto::messages::create_topics::CreateTopicsRequest;
use kafka_proto::messages::delete_topics::{DeleteTopicState, DeleteTopicsRequest};
use kafka_proto::messages::describe_configs::DescribeConfigsRequest;
use kafka_proto::messages::init_producer_id::InitProducerIdRequest;
use kafka_proto::messages::metadata::{MetadataRequest, MetadataRequestTopic};
use kafka_proto::record::{BATCH_HEADER_SIZE, RecordBatchBuilder};

use crate::accumulator::{BATCH_OVERHEAD, Batch, PartitionQueue, record_size_upper_bound};
use crate::admin::{AdminError, AdminId, AdminRequest, AdminResponse};
use crate::config::{ConfigError, ProducerConfig};
use crate::connection::{self, ConnError, Purpose, Received, Response, SaslSettings};
use crate::error::{DeliveryErrorKind, FatalError, SendError};
use crate::event::{ConnId, Connect, Event, FlushId, Record, RecordToken, Transmit, WaitId};
use crate::idempotence::Idempotence;
use crate::lifecycle::{BatchLedger, Outcome};
use crate::metadata::{BrokerAddr, Leader, MetadataRefresh, MetadataUpdate};
use crate::nodes::{ConnectionSettings, Nodes};
use crate::partitioner::{PartitionerKind, Partitioning, TopicPartitions};
use crate::rng::{Rng, backoff};
use crate::sasl::{Credentials, Mechanism};
use crate::shutdown::Shutdown;
use crate::timers::{Timer, TimerTable};
use crate::transaction::Transactions;
use crate::waits::TopicWaits;

/// The highest Produce version used: v13 names topics by id (KIP-516),
/// which this producer does not track.
pub(crate) const PRODUCE_VERSION_CAP: i16 = 12;
/// Metadata v12 is the last one that returns topic names for topic-name
/// requests without needing topic ids; newer ones add nothing we use.
pub(crate) const METADATA_VERSION_CAP: i16 = 12;

/// A topic: its partitions' leaders and queues.
#[derive(Debug)]
pub(crate) struct Topic {
    pub(crate) name: Arc<str>,
    /// Whether metadata has described it (even with an error).
    pub(crate) known: bool,
    pub(crate) error: ErrorCode,
    pub(crate) partitions: Vec<PartitionQueue>,
    /// Partitions with a known leader, for the partitioner.
    pub(crate) available: Vec<i32>,
    /// Of `available`, those led by a broker in `client.rack`, when
    /// `partitioner.rack.aware` is on (KIP-1123): the sticky choice keeps to
    /// them while there are any.
    pub(crate) local: Vec<i32>,
    /// The built-in partitioners' state for this topic (kept here rather
    /// than looked up by name in the partitioner, per record).
    pub(crate) partitioner: crate::partitioner::TopicState,
    /// Each partition's replica sets, as the last metadata said.
    pub(crate) replicas: Vec<crate::metadata::Replicas>,
    /// The partition the next drain visits first: the first one the last
    /// drain left a due batch in for want of room in its leader's request,
    /// so a full request never keeps the same partitions waiting.
    pub(crate) drain_start: usize,
}

impl Topic {
    fn new(name: Arc<str>) -> Self {
        Topic {
            name,
            known: false,
            replicas: Vec::new(),
            error: ErrorCode::NONE,
            partitions: Vec::new(),
            available: Vec::new(),
            local: Vec::new(),
            partitioner: Default::default(),
            drain_start: 0,
        }
    }
}

/// A produce request in flight and the batches it carries.
#[derive(Debug)]
pub(crate) struct ProduceInFlight {
    pub(crate) conn: ConnId,
    /// `(topic, batch)`.
    pub(crate) batches: Vec<(Arc<str>, Batch)>,
}

/// The Kafka producer as a state machine, with no I/O of its own.
///
/// # Driving it
///
/// Inputs (call when the thing happens, passing the current time):
/// - [`send`](Self::send), [`flush`](Self::flush), [`close`](Self::close)
///   from the user;
/// - [`handle_connected`](Self::handle_connected),
///   [`handle_connect_failed`](Self::handle_connect_failed),
///   [`handle_received`](Self::handle_received),
///   [`handle_disconnected`](Self::handle_disconnected) from the network;
/// - [`handle_timeout`](Self::handle_timeout) when the instant from
///   [`poll_timeout`](Self::poll_timeout) arrives (calling it early is
///   harmless).
///
/// Outputs (drain each until it returns `None`, after any input):
/// [`poll_connect`](Self::poll_connect) (open these connections),
/// [`poll_transmit`](Self::poll_transmit) (write these bytes),
/// [`poll_close`](Self::poll_close) (close these connections; no
/// `handle_disconnected` is needed for them),
/// [`poll_event`](Self::poll_event) (outcomes), then
/// [`poll_timeout`](Self::poll_timeout) (when to call `handle_timeout`).
///
/// Outputs are queued inside: draining late only delays work, it never
/// corrupts state. Time passed in must never go backwards (an earlier time
/// is treated as the latest seen).
pub struct Producer {
    pub(crate) config: ProducerConfig,
    pub(crate) rng: Rng,
    pub(crate) now: Instant,
    wall_anchor: (Instant, i64),
    wall_now_ms: i64,
    /// When `wall_now_ms` next moves (the start of its next millisecond):
    /// until then a send compares instants only.
    wall_next_tick: Instant,

    /// Broker addresses and connections.
    pub(crate) nodes: Nodes,
    pub(crate) metadata: MetadataRefresh,

    pub(crate) topics: crate::hash::FastMap<Arc<str>, Topic>,
    /// Topics `send` is waiting for (`max.block.ms`).
    pub(crate) waits: TopicWaits,
    pub(crate) partitioning: Partitioning,
    /// Batch ids, outstanding batches, buffer memory, spare builders.
    pub(crate) ledger: BatchLedger,

    pub(crate) idempotence: Idempotence,
    /// Produce requests in flight, the drain's rotation, when to drain.
    pub(crate) sender: crate::sender::Sender,
    pub(crate) events: VecDeque<Event>,
    /// Flushes waiting for their batches, and the close in progress.
    pub(crate) shutdown: Shutdown,
    pub(crate) closed: bool,
    pub(crate) fatal: Option<FatalError>,
    /// Metadata responses received so far.
    pub(crate) metadata_answers: u64,
    /// Each broker's `broker.rack`, as metadata named them, for rack-aware
    /// partitioning (kept only when it is on).
    pub(crate) racks: crate::hash::Map<i32, Arc<str>>,
    /// The transaction machine, with a `transactional.id`.
    pub(crate) txn: Option<Transactions>,
    /// OAUTHBEARER: a token was asked for ([`Event::TokenNeeded`]) and
    /// not handed in yet; when to ask for the next one.
    pub(crate) token_requested: bool,
    pub(crate) token_refresh_at: Option<Instant>,
    /// Records, batches and transactions for the metrics (the network's
    /// are kept by `nodes`).
    pub(crate) metrics: crate::metrics::ProducerMetrics,
    /// Admin requests of the user's.
    pub(crate) admin: crate::admin::Admin,
    /// Whether to report Produce requests as events (for tracing).
    pub(crate) request_events: bool,
    /// Every deadline, one slot per concern: what `poll_timeout` reads.
    pub(crate) timers: TimerTable,
    /// Test-only: check `timers` against a scan on every `poll_timeout`.
    #[cfg(feature = "fuzzing")]
    pub(crate) check_timers: bool,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("client_id", &self.config.client_id)
            .field("topics", &self.topics.len())
            .field("connections", &self.nodes.connection_count())
            .field("outstanding_batches", &self.ledger.outstanding())
            .field("buffer_memory_used", &self.ledger.memory_used())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// Checks a topic name as Kafka's `Topic.validate` does (1 to 249 characters of ASCII
/// letters, digits, `.`, `_` and `-`; not `.` or `..`): `Err` says what is
/// wrong.
pub fn validate_topic_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty");
    }
    if name == "." || name == ".." {
        return Err("'.' and '..' are not allowed");
    }
    if name.len() > 249 {
        return Err("longer than 249 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return Err("only ASCII letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

impl Producer {
    /// A producer with `config`, starting at `now`.
    ///
    /// `wall_clock_ms` is the wall-clock time (milliseconds since the Unix
    /// epoch) at `now`; records without a timestamp are stamped with it plus
    /// the time elapsed since. `seed` drives every random choice (backoff
    /// jitter, the sticky partitioner, SCRAM nonces), so a run replays
    /// exactly from it; adapters pass a random seed.
    pub fn new(
        config: ProducerConfig,
        now: Instant,
        wall_clock_ms: i64,
        seed: u64,
    ) -> Result<Producer, ConfigError> {
        Self::with_partitioner(config, None, now, wall_clock_ms, seed)
    }

    /// Like [`new`](Self::new), with a user partitioner in place of the one
    /// `partitioner.class` names.
    pub fn with_partitioner(
        mut config: ProducerConfig,
        partitioner: Option<Box<dyn crate::partitioner::Partitioner>>,
        now: Instant,
        wall_clock_ms: i64,
        seed: u64,
    ) -> Result<Producer, ConfigError> {
        config.validate()?;
        let sasl = if config.security_protocol.uses_sasl() {
            let mechanism: Mechanism =
                config
                    .sasl_mechanism
                    .parse()
                    .map_err(|_| ConfigError::InvalidValue {
                        key: "sasl.mechanism".into(),
                        value: config.sasl_mechanism.clone(),
                        reason: "supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER"
                            .into(),
                    })?;
            let oauth = mechanism == Mechanism::OAuthBearer;
            Some(SaslSettings {
                mechanism,
                credentials: Credentials {
                    username: config.sasl_username.clone().unwrap_or_default(),
                    password: if oauth {
                        String::new() // the token, once the runtime hands one in
                    } else {
                        config
                            .sasl_password
                            .as_ref()
                            .map(|p| p.expose().to_owned())
                            .unwrap_or_default()
                    },
                },
                extensions: Vec::new(),
            })
        } else {
            None
        };
        let mut rng = Rng::new(seed);
        let kind = match partitioner {
            Some(p) => PartitionerKind::Custom(p),
            None => match config.partitioner {
                crate::config::PartitionerChoice::Default => PartitionerKind::Default,
                crate::config::PartitionerChoice::RoundRobin => PartitionerKind::RoundRobin,
            },
        };
        let mut partitioning = Partitioning::new(
            kind,
            config.partitioner_ignore_keys,
            config.batch_size,
            rng.next_u64(),
        );
        partitioning.set_adaptive(config.partitioner_adaptive);
        let bootstrap = config
            .bootstrap_servers
            .iter()
            .map(|a| BrokerAddr {
                host: a.host.clone(),
                port: a.port,
            })
            .collect();
        let windows = crate::metrics::Windows {
            samples: config.metrics_num_samples.max(1),
            window: config.metrics_sample_window,
        };
        let mut nodes = Nodes::new(
            ConnectionSettings {
                client_id: config.client_id.as_str().into(),
                sasl,
                request_timeout: config.request_timeout,
                setup_timeout: config.socket_connection_setup_timeout,
                setup_timeout_max: config.socket_connection_setup_timeout_max,
                max_idle: config.connections_max_idle,
                send_buffer: config.send_buffer_bytes,
                receive_buffer: config.receive_buffer_bytes,
                tls: config.security_protocol.uses_tls(),
                reconnect_backoff: config.reconnect_backoff,
                reconnect_backoff_max: config.reconnect_backoff_max,
            },
            bootstrap,
        );
        nodes.metrics.windows = windows;
        let idempotent = config.enable_idempotence;
        let txn = config
            .transactional_id
            .as_deref()
            .map(|id| Transactions::new(id, config.transaction_timeout));
        let idempotence = if txn.is_some() {
            Idempotence::transactional()
        } else {
            Idempotence::new(idempotent)
        };
        let mut p = Producer {
            nodes,
            metadata: MetadataRefresh::new(config.metadata_max_age, config.retry_backoff),
            ledger: BatchLedger::new(config.buffer_memory),
            config,
            rng,
            now,
            wall_anchor: (now, wall_clock_ms),
            wall_now_ms: wall_clock_ms,
            wall_next_tick: now,
            topics: crate::hash::FastMap::default(),
            waits: TopicWaits::default(),
            partitioning,
            idempotence,
            sender: Default::default(),
            events: VecDeque::new(),
            shutdown: Shutdown::default(),
            closed: false,
            fatal: None,
            metadata_answers: 0,
            racks: Default::default(),
            txn,
            token_requested: false,
            token_refresh_at: None,
            request_events: false,
            metrics: crate::metrics::ProducerMetrics {
                windows,
                ..Default::default()
            },
            admin: Default::default(),
            timers: TimerTable::default(),
            #[cfg(feature = "fuzzing")]
            check_timers: false,
        };
        p.maintain();
        Ok(p)
    }

    /// The configuration in force (after validation adjusted it).
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// The producer id and epoch in use, once known (idempotence).
    pub fn producer_id(&self) -> Option<(i64, i16)> {
        self.idempotence.current()
    }

    /// A snapshot of the producer's metrics, with the Java client's names
    /// (see [`metrics`](crate::metrics) for what is counted).
    pub fn metrics(&self) -> crate::metrics::Metrics {
        self.metrics_at(self.now)
    }

    /// Reports each Produce request as [`Event::ProduceSent`] and
    /// [`Event::ProduceDone`] from now on (off by default): what a driver
    /// needs for a tracing span per request.
    pub fn set_request_events(&mut self, on: bool) {
        self.request_events = on;
    }

    /// The last connection failure worth telling the user, with the time
    /// it happened: `host:port`, what went wrong and, when the traffic
    /// tells, a hint (a TLS or SASL listener, an HTTP server, ...). The
    /// runtime crates put it into `SendError::TopicUnavailable`.
    pub fn last_connection_error(&self) -> Option<(Instant, &str)> {
        self.nodes.last_error()
    }

    /// Adds the time a `send` of the driver's waited for buffer memory
    /// (Java's `bufferpool-wait-time-ns-total`): the core never waits
    /// itself, the runtime crates do, and tell it here.
    pub fn record_buffer_wait(&mut self, waited: Duration) {
        self.metrics.buffer_wait_ns += waited.as_nanos() as f64;
    }

    /// [`metrics`](Self::metrics) as of `now` (not before the last time
    /// the producer was given): the windowed ones (`-rate`, `-avg`, `-max`)
    /// and `metadata-age` are read at that time. Changes nothing.
    pub fn metrics_at(&self, now: Instant) -> crate::metrics::Metrics {
        let now = now.max(self.now);
        let (authentications, reauthentications) = self.nodes.authentications();
        let gauges = crate::metrics::Gauges {
            connection_count: self.nodes.connection_count(),
            authentications,
            reauthentications,
            requests_in_flight: self.nodes.requests_in_flight(),
            buffer_total: self.ledger.memory_limit(),
            buffer_available: self
                .ledger
                .memory_limit()
                .saturating_sub(self.ledger.memory_used()),
            metadata_age: self
                .metadata
                .last_success()
                .map(|t| now.saturating_duration_since(t)),
            transactional: self.txn.is_some(),
        };
        crate::metrics::snapshot(
            &self.config.client_id,
            &self.metrics,
            &self.nodes.metrics,
            &gauges,
            now,
        )
    }

    /// Bytes of `buffer.memory` in use: the buffers of the batches without
    /// an outcome, as allocated.
    pub fn buffer_memory_used(&self) -> usize {
        self.ledger.memory_used()
    }

    /// Batches without an outcome yet.
    pub fn outstanding_batches(&self) -> usize {
        self.ledger.outstanding()
    }

    /// A one-screen summary of the internal state, for debugging and for
    /// simulation traces. Not a stable format.
    #[doc(hidden)]
    pub fn debug_state(&self) -> String {
        use std::fmt::Write as _;
        let mut s = format!(
            "{} | requests {} | conns {:?} | memory {} | last conn error {:?}\n",
            self.idempotence.describe(),
            self.sender.request_count(),
            self.nodes.describe(),
            self.ledger.memory_used(),
            self.nodes.last_error().map(|e| e.1),
        );
        if let Some(t) = &self.txn {
            let _ = writeln!(s, "{}", t.describe());
        }
        let mut names: Vec<&Arc<str>> = self.topics.keys().collect();
        names.sort();
        for name in names {
            let t = &self.topics[name];
            for (i, q) in t.partitions.iter().enumerate() {
                if q.has_data() || q.in_flight > 0 {
                    let _ = writeln!(
                        s,
                        "  {name}-{i}: leader {:?} in_flight {} on {:?} blocked {} next_seq {} acked {} queue {:?} open {:?}",
                        q.leader,
                        q.in_flight,
                        q.in_flight_conn,
                        q.blocked,
                        q.next_sequence,
                        q.last_acked_sequence,
                        q.queue
                            .iter()
                            .map(|b| (
                                b.id.0,
                                b.stamp.map(|x| (x.epoch, x.sequence)),
                                (b.possibly_written, b.in_doubt),
                                b.retry_at.map(|r| r.saturating_duration_since(self.now))
                            ))
                            .collect::<Vec<_>>(),
                        q.open.as_ref().map(|b| (b.id.0, b.record_count)),
                    );
                }
            }
        }
        for (id, r) in self.sender.requests() {
            let _ = writeln!(
                s,
                "  request {id} on {:?}: {:?}",
                r.conn,
                r.batches
                    .iter()
                    .map(|(t, b)| (t.to_string(), b.partition, b.id.0, b.reported))
                    .collect::<Vec<_>>()
            );
        }
        s
    }

    /// The number of partitions of `topic`, if its metadata is known
    /// (Java's `partitionsFor`, reduced to what a producer decides with).
    pub fn partition_count(&self, topic: &str) -> Option<i32> {
        self.topics
            .get(topic)
            .filter(|t| t.known && t.error.is_ok())
            .map(|t| t.partitions.len() as i32)
    }

    /// Gives the producer a source of system randomness (the runtime crates
    /// pass the operating system's, `getrandom`): every SCRAM authentication
    /// then makes its client nonce from 192 fresh bits of it (RFC 5802 wants
    /// it unpredictable). `source` fills the buffer and returns `true`, or
    /// `false` if it failed (that exchange then falls back to the seeded
    /// generator). Without a source, nonces come from the seed given to
    /// [`Producer::new`], so a simulation replays exactly; the core itself
    /// never reads system randomness.
    pub fn set_entropy_source(&mut self, source: impl FnMut(&mut [u8]) -> bool + Send + 'static) {
        self.nodes
            .set_entropy(crate::nodes::EntropySource(Box::new(source)));
    }

    /// Queues an admin request (create, delete or describe topics) to go to
    /// any broker over the producer's own connections (TLS, SASL,
    /// reconnects; see [`admin`](crate::admin)), answered by `timeout` from
    /// now. [`Event::AdminComplete`] with the returned id says when
    /// [`admin_result`](Self::admin_result) has the outcome. After close or
    /// a fatal error it fails at once.
    pub fn admin(&mut self, request: AdminRequest, timeout: Duration, now: Instant) -> AdminId {
        self.advance(now);
        let refusal = if self.closed || self.shutdown.is_closing() {
            Some(AdminError::Closed)
        } else {
            self.fatal.clone().map(AdminError::Fatal)
        };
        if let Some(error) = refusal {
            // Refused at once, without touching the requests already queued.
            let id = self.admin.new_id();
            self.complete_admin(id, Err(error));
            return id;
        }
        let deadline = now.checked_add(timeout).unwrap_or(now);
        let id = self.admin.submit(request, deadline);
        self.maintain();
        id
    }

    /// The outcome of admin request `id`, once it is complete (taken: a
    /// second call returns `None`).
    pub fn admin_result(&mut self, id: AdminId) -> Option<Result<AdminResponse, AdminError>> {
        self.admin.take_result(id)
    }

    fn complete_admin(&mut self, id: AdminId, result: Result<AdminResponse, AdminError>) {
        self.admin.complete(id, result);
        self.events.push_back(Event::AdminComplete(id));
    }

    /// Sends the admin requests that may go now, while a connection is
    /// ready.
    fn maintain_admin(&mut self) {
        while self.admin.has_waiting() {
            let Some(mut pending) = self.admin.take_due(self.now) else {
                return;
            };
            let Some(conn) = self.any_connection() else {
                self.admin.put_back(pending);
                return;
            };
            let Some(c) = self.nodes.get_mut(conn) else {
                self.admin.put_back(pending);
                return;
            };
            let purpose = Purpose::Admin(pending.id);
            let now = self.now;
            let sent = match &mut pending.request {
                AdminRequest::CreateTopics(body) => c
                    .versions()
                    .pick::<CreateTopicsRequest>(i16::MAX)
                    .map(|v| c.send(&*body, v, purpose, now)),
                AdminRequest::DeleteTopics(body) => {
                    // Names go in `topic_names` below v6 and in `topics` from v6.
                    if body.topics.is_empty() {
                        body.topics = body
                            .topic_names
                            .iter()
                            .map(|name| DeleteTopicState {
                                name: Some(name.clone()),
                                ..Default::default()
                            })
                            .collect();
                    } else if body.topic_names.is_empty() {
                        body.topic_names =
                            body.topics.iter().filter_map(|t| t.name.clone()).collect();
                    }
                    c.versions()
                        .pick::<DeleteTopicsRequest>(i16::MAX)
                        .map(|v| c.send(&*body, v, purpose, now))
                }
                AdminRequest::Metadata(body) => c
                    .versions()
                    .pick::<MetadataRequest>(METADATA_VERSION_CAP)
                    .map(|v| c.send(&*body, v, purpose, now)),
                AdminRequest::DescribeConfigs(body) => c
                    .versions()
                    .pick::<DescribeConfigsRequest>(i16::MAX)
                    .map(|v| c.send(&*body, v, purpose, now)),
            };
            match sent {
                Some(Ok(_)) => self.admin.sent(pending),
                Some(Err(_)) => {
                    self.admin.put_back(pending);
                    return;
                }
                None => {
                    let api = pending.request.api();
                    self.complete_admin(pending.id, Err(AdminError::Unsupported { api }));
                }
            }
        }
    }

    fn on_admin_response(&mut self, id: AdminId, response: Response) -> Result<(), ConnError> {
        // A late answer to an expired request is dropped.
        let Some(pending) = self.admin.take_in_flight(id) else {
            return Ok(());
        };
        let decoded = match pending.request {
            AdminRequest::CreateTopics(_) => {
                connection::decode::<CreateTopicsRequest>(response).map(AdminResponse::CreateTopics)
            }
            AdminRequest::DeleteTopics(_) => {
                connection::decode::<DeleteTopicsRequest>(response).map(AdminResponse::DeleteTopics)
            }
            AdminRequest::Metadata(_) => {
                connection::decode::<MetadataRequest>(response).map(AdminResponse::Metadata)
            }
            AdminRequest::DescribeConfigs(_) => {
                connection::decode::<DescribeConfigsRequest>(response)
                    .map(AdminResponse::DescribeConfigs)
            }
        };
        match decoded {
            Ok(answer) => {
                self.complete_admin(id, Ok(answer));
                Ok(())
            }
            Err(e) => {
                // The connection is closed for garbage; the request goes again.
                self.admin.sent(pending);
                Err(e)
            }
        }
    }

    /// The partitions of `topic` as Java's `partitionsFor` gives them
    /// (partition, leader, replicas, in-sync and offline replicas), if its
    /// metadata is known; `None` otherwise (see
    /// [`prefetch_topic`](Self::prefetch_topic)). A replica whose broker
    /// the metadata did not list has an empty host and port 0, as Java's
    /// `Node.noNode`-like placeholders.
    pub fn partitions_for(&self, topic: &str) -> Option<Vec<PartitionInfo>> {
        let t = self
            .topics
            .get(topic)
            .filter(|t| t.known && t.error.is_ok())?;
        let node = |id: i32| {
            let addr = self.nodes.broker(id);
            Node {
                id,
                host: addr.as_ref().map_or_else(String::new, |a| a.host.clone()),
                port: addr.map_or(0, |a| a.port),
            }
        };
        Some(
            t.partitions
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    let r = t.replicas.get(i).cloned().unwrap_or_default();
                    PartitionInfo {
                        topic: t.name.to_string(),
                        partition: i as i32,
                        leader: (q.leader.node >= 0).then(|| node(q.leader.node)),
                        leader_epoch: q.leader.epoch,
                        replicas: r.all.iter().map(|&id| node(id)).collect(),
                        in_sync_replicas: r.in_sync.iter().map(|&id| node(id)).collect(),
                        offline_replicas: r.offline.iter().map(|&id| node(id)).collect(),
                    }
                })
                .collect(),
        )
    }

    /// Asks for a topic's metadata ahead of the first `send` to it; an
    /// [`Event::TopicReady`] or [`Event::TopicUnavailable`] for the returned
    /// wait follows, unless the metadata is known already (`Ok(None)`).
    pub fn prefetch_topic(
        &mut self,
        topic: &str,
        now: Instant,
    ) -> Result<Option<(WaitId, Instant)>, SendError> {
        self.advance(now);
        validate_topic_name(topic).map_err(|reason| SendError::InvalidTopic {
            topic: topic.to_owned(),
            reason,
        })?;
        if self.shutdown.is_closing() || self.closed {
            return Err(SendError::Closed);
        }
        if self.partition_count(topic).is_some() {
            return Ok(None);
        }
        let wait = self.wait_for_topic(topic);
        self.maintain();
        Ok(Some(wait))
    }

    pub(crate) fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
            if now >= self.wall_next_tick {
                // The wall clock moved to another millisecond: once per
                // millisecond, not per record.
                let elapsed = now.saturating_duration_since(self.wall_anchor.0);
                let ms = elapsed.as_millis();
                self.wall_now_ms = self.wall_anchor.1 + ms as i64;
                let next = u64::try_from(ms + 1)
                    .ok()
                    .and_then(|next| self.wall_anchor.0.checked_add(Duration::from_millis(next)));
                // Past the Instant range (never in practice): every call
                // computes it.
                self.wall_next_tick = next.unwrap_or(now);
            }
        }
    }

    /// The wall clock at `self.now`, in milliseconds since the Unix epoch
    /// (computed when time moves, not per record).
    fn wall_clock_ms(&self) -> i64 {
        self.wall_now_ms
    }

    /// The wait for `topic`'s metadata (the one in progress, or a new one
    /// with a full `max.block.ms`), asking for the metadata.
    fn wait_for_topic(&mut self, topic: &str) -> (WaitId, Instant) {
        let name = match self.topics.get(topic) {
            Some(t) => t.name.clone(),
            None => {
                let name: Arc<str> = topic.into();
                self.topics.insert(name.clone(), Topic::new(name.clone()));
                self.metadata.request();
                name
            }
        };
        let wait = self.waits.wait(&name, self.now, self.config.max_block);
        if let Some(old) = wait.ran_out {
            // Ran out before a timer turn ended it: it ends now.
            let error = self.unavailable_error(&name);
            self.events.push_back(Event::TopicUnavailable {
                topic: name,
                error,
                wait: old,
            });
        }
        (wait.id, wait.deadline)
    }

    /// Why a topic wait that ran out ended: the broker's error for the
    /// topic, UNKNOWN_TOPIC_OR_PARTITION when brokers answered without it,
    /// `None` when no broker answered at all (none reachable).
    fn unavailable_error(&self, topic: &str) -> Option<ErrorCode> {
        let t = self.topics.get(topic);
        let error = t.and_then(|x| (x.known && !x.error.is_ok()).then_some(x.error));
        let answered = t.is_some_and(|x| x.known) || self.metadata_answers > 0;
        error.or(answered.then_some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION))
    }

    /// Appends a record to its partition's batch.
    ///
    /// Returns where it went; its outcome arrives with its batch's
    /// [`Event::Delivered`] or [`Event::Failed`]. Refusals
    /// ([`SendError`]) leave nothing behind; `BufferFull` and
    /// `MetadataPending` mean "try again later" (see their docs).
    pub fn send(&mut self, record: &Record<'_>, now: Instant) -> Result<RecordToken, SendError> {
        self.advance(now);
        if self.shutdown.is_closing() || self.closed {
            return Err(SendError::Closed);
        }
        if let Some(e) = &self.fatal {
            return Err(SendError::Fatal(e.clone()));
        }
        if let Some(t) = &self.txn {
            t.check_send().map_err(SendError::Transaction)?;
        }
        let size = record_size_upper_bound(record.key, record.value, record.headers);
        if size + BATCH_OVERHEAD > self.config.max_request_size {
            return Err(SendError::RecordTooLarge {
                size: size + BATCH_OVERHEAD,
                limit: self.config.max_request_size,
                limit_key: "max.request.size",
            });
        }
        // The least buffer a batch of this record alone takes.
        let alone = RecordBatchBuilder::buffer_for(size + BATCH_OVERHEAD);
        if alone > self.config.buffer_memory {
            return Err(SendError::RecordTooLarge {
                size: alone,
                limit: self.config.buffer_memory,
                limit_key: "buffer.memory",
            });
        }
        let timestamp = match record.timestamp {
            Some(t) => t,
            None => self.wall_clock_ms(),
        };
        // One lookup of the topic per record (this is the hot path).
        let topic = match self.topics.get_mut(record.topic) {
            Some(t) if t.known && t.error.is_ok() && !t.partitions.is_empty() => t,
            Some(t) if t.known && !t.error.is_ok() && !t.error.is_retriable() => {
                return Err(SendError::Topic {
                    topic: record.topic.to_owned(),
                    error: t.error,
                });
            }
            _ => {
                validate_topic_name(record.topic).map_err(|reason| SendError::InvalidTopic {
                    topic: record.topic.to_owned(),
                    reason,
                })?;
                let (wait, deadline) = self.wait_for_topic(record.topic);
                self.maintain();
                return Err(SendError::MetadataPending {
                    topic: record.topic.to_owned(),
                    wait,
                    deadline,
                });
            }
        };
        let count = topic.partitions.len() as i32;
        let partition = match record.partition {
            Some(p) if (0..count).contains(&p) => p,
            Some(p) => {
                return Err(SendError::InvalidPartition {
                    topic: record.topic.to_owned(),
                    partition: p,
                    partitions: count,
                });
            }
            None => {
                let Topic {
                    partitions,
                    available,
                    local,
                    partitioner,
                    ..
                } = &mut *topic;
                let load = crate::adaptive::QueueLoad {
                    queues: partitions,
                    latency: self
                        .config
                        .availability_timeout()
                        .map(|timeout| (&self.sender.latency, timeout)),
                };
                self.partitioning.choose_in_with_load(
                    partitioner,
                    record.topic,
                    record.key,
                    record.value,
                    &TopicPartitions {
                        num_partitions: count,
                        available,
                    },
                    if local.is_empty() { available } else { local },
                    Some(&load),
                )
            }
            .map_err(|e| SendError::InvalidPartition {
                topic: record.topic.to_owned(),
                partition: match e {
                    crate::partitioner::PartitionError::OutOfRange { partition, .. } => partition,
                    _ => -1,
                },
                partitions: count,
            })?,
        };
        let Topic {
            name: topic_name,
            partitions,
            partitioner,
            ..
        } = topic;
        let Some(queue) = partitions.get_mut(partition as usize) else {
            return Err(SendError::InvalidPartition {
                topic: record.topic.to_owned(),
                partition,
                partitions: count,
            });
        };
        if let Some(txn) = self.txn.as_mut() {
            if !queue.txn_written {
                queue.txn_written = true;
                queue.txn_added = txn.partition_written(topic_name, partition);
            }
        }
        let batch_size = self.config.batch_size.max(1);
        let needs_new = match &queue.open {
            None => true,
            Some(b) => b.record_count > 0 && b.size + size > batch_size,
        };
        // Buffer memory counts the batches' buffers as allocated; a record
        // that fits the open batch's buffer takes none (see `reserve_room`).
        let room = match queue.open.as_ref().and_then(Batch::builder) {
            Some(b) if !needs_new && b.has_room_for(size) => None,
            open => {
                let open = open.filter(|_| !needs_new);
                match reserve_room(&mut self.ledger, queue, open, size, batch_size) {
                    Ok(room) => Some(room),
                    Err(e) => {
                        // Refused: the batches open now are due at once
                        // (see `drain`), so the driver's next turn sends
                        // them and memory comes back.
                        self.timers.lower(Timer::Linger, self.now);
                        return Err(e);
                    }
                }
            }
        };
        // The driver's turn is due if a batch becomes ready or a deadline
        // comes before its next wake-up.
        let mut wake = false;
        let transactional = self.txn.is_some();
        let compression = self.config.compression_type;
        if needs_new {
            wake = queue.open.as_ref().is_some_and(|b| b.record_count > 0);
            self.sender.sendable();
            queue.close_open();
            self.sender
                .closed_in_send(topic_name, queue, compression, transactional);
            let deadline = self.now + self.config.delivery_timeout;
            queue.open = Some(self.ledger.open(
                partition,
                compression,
                self.config.compression_level(),
                room.map_or(0, |r| r.plan),
                self.now,
                deadline,
            ));
            let next = self.timers.next().map(|(_, at)| at);
            let linger = self.now + self.config.linger;
            wake |= next.is_none_or(|n| linger.min(deadline) < n);
            self.timers.lower(Timer::Linger, linger);
            self.timers.lower(Timer::Delivery, deadline);
        }
        let Some(batch) = queue.open.as_mut() else {
            return Err(SendError::Closed);
        };
        let Some(builder) = batch.builder_mut() else {
            return Err(SendError::Closed);
        };
        if let Some(Room {
            grow_to: Some(ceiling),
            ..
        }) = room
        {
            builder.grow_for(size, ceiling);
        }
        let index = match builder.append(timestamp, record.key, record.value, record.headers) {
            Ok(delta) => delta as u32,
            Err(_) => {
                // Only lengths beyond i32 fail here, and the size checks
                // above exclude them; give the memory back all the same.
                self.ledger
                    .unreserve(room.map_or(0, |r| r.needed), &mut self.events);
                return Err(SendError::RecordTooLarge {
                    size,
                    limit: self.config.max_request_size,
                    limit_key: "max.request.size",
                });
            }
        };
        if let Some(Room { needed, .. }) = room {
            // What the buffer came out as: the same, as planned.
            let allocated = builder.allocated();
            batch.memory += needed;
            self.ledger
                .resize(&mut batch.memory, allocated, &mut self.events);
        }
        batch.record_count += 1;
        batch.max_record = batch.max_record.max(size as u32);
        batch.size += size;
        let batch_id = batch.id;
        if batch.size >= batch_size {
            queue.close_open();
            self.sender.sendable();
            self.sender
                .closed_in_send(topic_name, queue, compression, transactional);
            wake = true;
        }
        // Only records the sticky logic placed count towards its turn (Java).
        if record.partition.is_none() && self.partitioning.uses_sticky(record.key) {
            self.partitioning.on_append_in(partitioner, partition, size);
        }
        Ok(RecordToken {
            batch: batch_id,
            index,
            partition,
            timestamp,
            wake,
        })
    }

    /// Sends every batch that exists now without waiting for linger, and
    /// reports [`Event::FlushComplete`] with the returned id once each of
    /// them has an outcome.
    pub fn flush(&mut self, now: Instant) -> FlushId {
        self.advance(now);
        // Nothing is outstanding after close; the flush is over at once
        // (but `Closed` stays the last event: none come after it).
        let id = self.shutdown.flush(self.ledger.next_id(), !self.closed);
        if self.closed {
            return id;
        }
        self.sender.send_now_below(self.ledger.next_id());
        self.maintain();
        id
    }

    /// Fails every record that was never sent (queued, or in a batch still
    /// open) with [`DeliveryErrorKind::Purged`], not written, freeing its
    /// memory, as librdkafka's `purge` of its queues: each gets its outcome
    /// event now. Records in flight, or waiting for a retry after being
    /// sent, are left to their outcomes (dropping them would leave a gap
    /// in the partition's sequence). In a transaction, purged records make
    /// it abortable, as any failed record does. Returns how many records
    /// were purged.
    pub fn purge(&mut self, now: Instant) -> usize {
        self.advance(now);
        let mut purged = Vec::new();
        for t in self.topics.values_mut() {
            for q in &mut t.partitions {
                q.close_open();
                let mut kept = std::collections::VecDeque::with_capacity(q.queue.len());
                for b in q.queue.drain(..) {
                    if b.stamp.is_none() && b.attempts == 0 {
                        purged.push((t.name.clone(), b));
                    } else {
                        kept.push_back(b);
                    }
                }
                q.queue = kept;
            }
        }
        let mut records = 0;
        for (topic, b) in purged {
            records += b.record_count as usize;
            self.finish(&topic, b, Outcome::failed(DeliveryErrorKind::Purged, false));
        }
        self.maintain();
        records
    }

    /// Stops taking records and finishes: every batch is sent (linger no
    /// longer applies) and gets its outcome, then the connections are
    /// released and [`Event::Closed`] is the last event.
    ///
    /// With a `timeout`, batches still without an outcome when it passes
    /// fail with [`DeliveryErrorKind::ProducerClosed`] (possibly written if
    /// they were in flight). A second call can shorten the deadline.
    pub fn close(&mut self, now: Instant, timeout: Option<Duration>) {
        self.advance(now);
        if self.closed {
            return;
        }
        // A timeout too long to represent is no deadline at all.
        self.shutdown
            .close(timeout.and_then(|t| self.now.checked_add(t)));
        // An open transaction is aborted (Java's close does the same).
        if let Some(t) = self.txn.as_mut() {
            let _ = t.abort(false);
        }
        self.sender.send_now_below(self.ledger.next_id());
        self.maintain();
    }

    /// The next connection to open.
    #[must_use = "an output not acted on is lost"]
    pub fn poll_connect(&mut self) -> Option<Connect> {
        self.nodes.poll_connect()
    }

    /// The next connection to close (the producer has already forgotten
    /// it; do not report its closing back). Write what
    /// [`poll_transmit`](Self::poll_transmit) handed out for it first.
    #[must_use = "an output not acted on is lost"]
    pub fn poll_close(&mut self) -> Option<ConnId> {
        self.nodes.poll_close()
    }

    /// The next bytes to write. Sends whatever has become ready by `now`.
    #[must_use = "an output not acted on is lost"]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.advance(now);
        // Draining walks every partition: do it only when something can
        // have become ready since (a send filled or opened a batch, or a
        // linger expired); every other cause drains in `maintain`.
        let drain = self.sender.should_drain(self.now) && !self.nodes.has_transmit();
        if drain {
            // Not on a session due for re-authentication (see `maintain`).
            self.nodes.reauthenticate_due(self.now);
            self.drain();
        }
        let transmit = self.nodes.poll_transmit(self.now);
        if drain {
            // Requests made (their timeouts), connections asked for, ...
            self.arm_timers();
        } else if transmit.is_some() {
            // A written-out connection may go idle (`connections.max.idle.ms`).
            let next = self.nodes.next_deadline(self.now);
            self.timers.set(Timer::Connections, next);
        }
        transmit
    }

    /// The next event.
    #[must_use = "an output not acted on is lost"]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The socket (and TLS session) of `conn` is up.
    pub fn handle_connected(&mut self, conn: ConnId, now: Instant) {
        self.advance(now);
        self.nodes.connected(conn, self.now);
        self.maintain();
    }

    /// `conn` could not be opened.
    pub fn handle_connect_failed(&mut self, conn: ConnId, now: Instant) {
        self.advance(now);
        self.connection_lost(conn, None);
        self.maintain();
    }

    /// Bytes arrived on `conn`.
    pub fn handle_received(&mut self, conn: ConnId, data: &[u8], now: Instant) {
        self.receive(conn, Received::Copied(data), now);
    }

    /// [`handle_received`](Self::handle_received), taking the buffer over:
    /// the responses it holds whole are decoded from it without a copy
    /// (only a response split across reads is gathered by copying).
    pub fn handle_received_bytes(&mut self, conn: ConnId, data: Bytes, now: Instant) {
        self.receive(conn, Received::Handed(data), now);
    }

    fn receive(&mut self, conn: ConnId, data: Received<'_>, now: Instant) {
        self.advance(now);
        let mut responses = Vec::new();
        let Some(result) = self.nodes.receive(conn, data, self.now, &mut responses) else {
            return;
        };
        let mut responses = responses.into_iter();
        while let Some(response) = responses.next() {
            if let Err(e) = self.on_response(conn, response) {
                // Answers already taken off the connection are lost with it.
                for rest in responses {
                    self.request_lost(rest.purpose);
                }
                self.close_connection(conn, Some(e));
                self.maintain();
                return;
            }
        }
        if let Err(e) = result {
            self.close_connection(conn, Some(e));
        }
        self.maintain();
    }

    /// `conn` was closed by the peer or failed.
    pub fn handle_disconnected(&mut self, conn: ConnId, now: Instant) {
        self.advance(now);
        self.nodes.note_closed_by_peer(conn, self.now);
        self.connection_lost(conn, None);
        self.maintain();
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called
    /// (the current time when outputs are waiting to be drained).
    #[must_use = "the producer needs handle_timeout at this time"]
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Outputs still queued (produced while the caller was draining
        // another kind): wake at once rather than sleep on them.
        if self.nodes.has_output() || !self.events.is_empty() || self.sender.has_jobs() {
            return Some(self.now);
        }
        if self.closed {
            return None;
        }
        let next = self.timers.next().map(|(_, at)| at);
        // Tests check the table against a scan of every deadline: it may
        // wake the producer early (a lower bound), never late.
        #[cfg(feature = "fuzzing")]
        if let Some(exact) = self
            .check_timers
            .then(|| self.next_deadline_by_scan())
            .flatten()
        {
            assert!(
                next.is_some_and(|n| n <= exact),
                "the timer table says {next:?}, a deadline is due at {exact:?}"
            );
        }
        next
    }

    /// Time passed: expire what is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        for conn in self.nodes.timed_out(self.now) {
            self.close_connection(conn, Some(ConnError::Timeout));
        }
        self.nodes.close_idle(self.now);
        self.maintain();
    }

    /// OAUTHBEARER: hands in a token (from the runtime's token provider,
    /// after an [`Event::TokenNeeded`]), valid for `lifetime` from `now`,
    /// with its SASL extensions (KIP-342). Connections waiting for it open;
    /// re-authentications use it; a new one is asked for as Java's login
    /// refresh does: after `sasl.login.refresh.window.factor` (0.8) plus up
    /// to `.window.jitter` (0.05) of `lifetime`, but no later than
    /// `sasl.login.refresh.buffer.seconds` (300) before expiry and no sooner
    /// than `sasl.login.refresh.min.period.seconds` (60) from now; when
    /// `lifetime` is shorter than those two periods together, only the
    /// window applies. The core never sends an expired token.
    pub fn handle_token(
        &mut self,
        token: &str,
        lifetime: Duration,
        extensions: Vec<(String, String)>,
        now: Instant,
    ) {
        self.advance(now);
        let Some(expires) = self.now.checked_add(lifetime) else {
            return;
        };
        self.nodes.set_token(token, expires, extensions);
        self.token_requested = false;
        let c = &self.config;
        let fraction = c.sasl_login_refresh_window_factor
            + c.sasl_login_refresh_window_jitter * self.rng.unit();
        let proposed = lifetime.mul_f64(fraction.min(1.0));
        let (min_period, buffer) = (c.sasl_login_refresh_min_period, c.sasl_login_refresh_buffer);
        let after = if min_period.saturating_add(buffer) > lifetime {
            proposed
        } else if proposed > lifetime - buffer {
            lifetime - buffer
        } else {
            proposed.max(min_period)
        };
        self.token_refresh_at = Some(self.now + after);
        self.maintain();
    }

    /// OAUTHBEARER: the token provider failed. With no usable token this is
    /// a fatal authentication error (the reason is the provider's); with
    /// one, a new one is asked for after `retry.backoff.ms`.
    pub fn handle_token_failed(&mut self, reason: &str, now: Instant) {
        self.advance(now);
        self.token_requested = false;
        if self.nodes.has_token(self.now) {
            let backoff = self.config.retry_backoff;
            self.token_refresh_at = Some(self.now + backoff);
        } else {
            self.fail_fatal(FatalError::Authentication {
                message: format!("the OAUTHBEARER token provider failed: {reason}").into(),
            });
        }
        self.maintain();
    }

    /// Asks for an OAUTHBEARER token when a connection waits for one or the
    /// current one is due for refresh.
    fn maintain_token(&mut self) {
        if self.token_requested || self.fatal.is_some() {
            return;
        }
        let due = self.token_refresh_at.is_some_and(|t| t <= self.now);
        if self.nodes.token_wanted() || due {
            self.token_requested = true;
            self.token_refresh_at = None;
            self.events.push_back(Event::TokenNeeded);
        }
    }

    /// The producer closes `conn` itself (protocol error, timeout, close).
    pub(crate) fn close_connection(&mut self, conn: ConnId, reason: Option<ConnError>) {
        let node = self.nodes.get(conn).map(|c| c.node);
        let lost = self
            .nodes
            .close(conn, reason.as_ref(), self.now, &mut self.rng);
        self.settle_lost(lost, reason);
        self.coordinator_lost(node);
    }

    /// Forgets a connection that ended and settles what was in flight on it.
    fn connection_lost(&mut self, conn: ConnId, reason: Option<ConnError>) {
        let node = self.nodes.get(conn).map(|c| c.node);
        let lost = self.nodes.lost(conn, self.now, &mut self.rng);
        self.settle_lost(lost, reason);
        self.coordinator_lost(node);
    }

    /// A connection to `node` ended: a transaction or group coordinator
    /// there is looked up again (Java's client does the same).
    fn coordinator_lost(&mut self, node: Option<i32>) {
        let (Some(node), true) = (node, self.txn.is_some()) else {
            return;
        };
        let delay = self.txn_backoff();
        if let Some(t) = self.txn.as_mut() {
            t.node_lost(node, self.now, delay);
        }
    }

    /// The requests a connection took with it get no answer.
    fn settle_lost(&mut self, lost: Option<Vec<Purpose>>, reason: Option<ConnError>) {
        let Some(purposes) = lost else {
            return;
        };
        match reason {
            Some(ConnError::Authentication(message)) => {
                self.fail_fatal(FatalError::Authentication {
                    message: message.into(),
                });
            }
            Some(ConnError::Unsupported { api, needed }) => {
                self.fail_fatal(FatalError::UnsupportedBroker { api, needed });
            }
            _ => {}
        }
        for purpose in purposes {
            self.request_lost(purpose);
        }
        // A lost connection often means a leader moved.
        self.metadata.request();
    }

    /// Exponential backoff with ±20 % jitter (as the Java client):
    /// `base * 2^attempts`, capped at `max`.
    pub(crate) fn backoff(&mut self, base: Duration, max: Duration, attempts: u32) -> Duration {
        backoff(&mut self.rng, base, max, attempts)
    }

    /// A request will get no (usable) answer.
    fn request_lost(&mut self, purpose: Purpose) {
        match purpose {
            Purpose::Metadata => self.metadata.failed(),
            Purpose::InitProducerId => self.producer_id_request_failed(),
            Purpose::Produce(id) => self.produce_request_lost(id),
            Purpose::Txn(p) => self.txn_request_lost(p),
            Purpose::Admin(id) => {
                let backoff = self.config.retry_backoff;
                self.admin.lost(id, self.now + backoff);
            }
            Purpose::ApiVersions | Purpose::SaslHandshake | Purpose::SaslAuthenticate => {}
        }
    }

    fn on_response(&mut self, conn: ConnId, response: Response) -> Result<(), ConnError> {
        let purpose = response.purpose;
        let result = self.dispatch_response(conn, response);
        if result.is_err() {
            self.request_lost(purpose);
        }
        result
    }

    fn dispatch_response(&mut self, conn: ConnId, response: Response) -> Result<(), ConnError> {
        match response.purpose {
            Purpose::Metadata => {
                let body = connection::decode::<MetadataRequest>(response)?;
                self.metadata.succeeded(self.now);
                self.metadata_answers += 1;
                self.apply_metadata(MetadataUpdate::from_response(body));
            }
            Purpose::InitProducerId => {
                let body = connection::decode::<InitProducerIdRequest>(response)?;
                self.on_init_producer_id(body);
            }
            Purpose::Produce(id) => {
                if let Some(node) = self.nodes.node_of(conn) {
                    let now = self.now;
                    self.nodes
                        .metrics
                        .produce_latency(node, response.latency, now);
                }
                let body =
                    connection::decode::<kafka_proto::messages::produce::ProduceRequest>(response)?;
                self.metrics.throttled(body.throttle_time_ms, self.now);
                self.on_produce_response(conn, id, body);
            }
            Purpose::Txn(p) => self.on_txn_response(p, response)?,
            Purpose::Admin(id) => self.on_admin_response(id, response)?,
            Purpose::ApiVersions | Purpose::SaslHandshake | Purpose::SaslAuthenticate => {}
        }
        Ok(())
    }

    pub(crate) fn apply_metadata(&mut self, update: MetadataUpdate) {
        // Merge rather than replace: a broker missing from one answer (down
        // for a moment) keeps its address for when a leader names it again.
        self.nodes.learn(update.brokers);
        let rack_aware = self.rack_aware();
        if rack_aware {
            for (node, rack) in update.racks {
                self.racks.insert(node, rack.into());
            }
        }
        for t in update.topics {
            let Some(topic) = self.topics.get_mut(t.name.as_str()) else {
                continue;
            };
            topic.known = true;
            topic.error = t.error;
            if !t.error.is_ok() {
                if !t.error.is_retriable() {
                    if let Some((name, wait)) = self.waits.end(t.name.as_str()) {
                        self.events.push_back(Event::TopicUnavailable {
                            topic: name,
                            error: Some(t.error),
                            wait,
                        });
                    }
                } else {
                    self.metadata.request();
                }
                continue;
            }
            // Partitions are only ever added in Kafka.
            while topic.partitions.len() < t.leaders.len() {
                topic.partitions.push(PartitionQueue::new(Leader::UNKNOWN));
            }
            topic.available.clear();
            if t.replicas.len() == t.leaders.len() {
                topic.replicas = t.replicas.clone();
            }
            for (i, news) in t.leaders.iter().enumerate() {
                let q = &mut topic.partitions[i];
                if q.leader.is_superseded_by(news) {
                    q.leader = *news;
                }
                if q.leader.node >= 0 {
                    topic.available.push(i as i32);
                }
            }
            topic.local.clear();
            if rack_aware {
                let rack = self.config.client_rack.as_str();
                for &p in &topic.available {
                    let leader = topic.partitions[p as usize].leader.node;
                    if self.racks.get(&leader).is_some_and(|r| &**r == rack) {
                        topic.local.push(p);
                    }
                }
            }
            if topic.available.len() < topic.partitions.len() {
                self.metadata.request();
            }
            if let Some((name, wait)) = self.waits.end(t.name.as_str()) {
                self.events
                    .push_back(Event::TopicReady { topic: name, wait });
            }
        }
    }

    /// Whether rack-aware partitioning is on: `partitioner.rack.aware` with a
    /// `client.rack` (KIP-1123; it concerns the built-in partitioner only).
    fn rack_aware(&self) -> bool {
        self.config.partitioner_rack_aware && !self.config.client_rack.is_empty()
    }

    /// Fails every outstanding batch and refuses further sends.
    pub(crate) fn fail_fatal(&mut self, error: FatalError) {
        if self.fatal.is_some() {
            return;
        }
        self.fatal = Some(error.clone());
        self.events.push_back(Event::Fatal(error.clone()));
        for id in self.admin.drain() {
            self.complete_admin(id, Err(AdminError::Fatal(error.clone())));
        }
        if let Some(t) = self.txn.as_mut() {
            let mut events = Vec::new();
            t.fatal(&error, &mut events);
            self.emit(events);
        }
        self.fail_everything(DeliveryErrorKind::Fatal(error));
    }

    /// Fails every batch without an outcome: queued ones as not written
    /// (unless an earlier attempt may have landed), in-flight ones as
    /// possibly written. Those in flight stay with their request.
    pub(crate) fn fail_everything(&mut self, kind: DeliveryErrorKind) {
        let mut failed = Vec::new();
        for t in self.topics.values_mut() {
            for q in &mut t.partitions {
                q.close_open();
                for b in q.queue.drain(..) {
                    failed.push((t.name.clone(), b));
                }
            }
        }
        for (topic, b) in failed {
            let written = b.possibly_written;
            self.finish(&topic, b, Outcome::failed(kind.clone(), written));
        }
        for r in self.sender.requests_mut() {
            for (topic, b) in &mut r.batches {
                let outcome = Outcome::failed(kind.clone(), true);
                let failed = self.ledger.report(&mut self.events, topic, b, outcome);
                self.metrics.failed(topic, failed, self.now);
            }
        }
    }

    /// A batch leaves the producer: its outcome is reported (unless it was
    /// already), and a stamped batch that failed leaves a hole in its
    /// partition's sequence, which only an epoch bump closes.
    pub(crate) fn finish(&mut self, topic: &Arc<str>, mut batch: Batch, outcome: Outcome) {
        if let Outcome::Failed {
            kind,
            possibly_written,
        } = &outcome
        {
            if batch.stamp.is_some() {
                self.idempotence.request_bump();
            }
            if let Some(t) = self.txn.as_mut() {
                t.record_failed(&crate::error::DeliveryError {
                    kind: kind.clone(),
                    possibly_written: *possibly_written,
                });
            }
        }
        let failed = self
            .ledger
            .report(&mut self.events, topic, &mut batch, outcome);
        self.metrics.failed(topic, failed, self.now);
    }

    /// Queues the transaction machine's events; a completed operation adds
    /// its time to its `txn-*-time-ns-total`.
    pub(crate) fn emit(&mut self, events: Vec<Event>) {
        for event in events {
            if let Event::TransactionCompleted(op) = event {
                self.metrics.txn_finished(op.into(), self.now);
            }
            self.events.push_back(event);
        }
    }

    /// Where every state machine takes its next step after an input, in an
    /// order that matters:
    /// 1. `expire` first, so nothing below acts on a batch, wait, admin
    ///    request or close whose deadline has passed (a closed producer
    ///    stops here);
    /// 2. metadata, admin, producer id, transactions and the OAuth token
    ///    ask for what they need (connections, requests), so that
    /// 3. `drain` sees the freshest leaders, producer id and transaction
    ///    state when it builds Produce requests;
    /// 4. flushes and the close are checked after the drain and every
    ///    outcome above, so a `FlushComplete` or `Closed` comes after the
    ///    events it waits for;
    /// 5. the timers are armed last, from the state all of this left.
    pub(crate) fn maintain(&mut self) {
        // Before anything below may send: a connection whose session is due
        // for re-authentication sends nothing new until it is done, even
        // when this call came before the timer's (a session that expired
        // meanwhile would have the broker close the connection).
        self.nodes.reauthenticate_due(self.now);
        self.expire();
        if !self.closed {
            self.maintain_metadata();
            self.maintain_admin();
            self.maintain_producer_id();
            self.maintain_transactions();
            self.maintain_token();
            self.drain();
            self.check_flushes_and_close();
        }
        self.arm_timers();
    }

    fn expire(&mut self) {
        let now = self.now;
        for (id, api) in self.admin.expire(now) {
            self.complete_admin(
                id,
                Err(AdminError::TimedOut {
                    api,
                    connection_error: None,
                }),
            );
        }
        // Sends waiting for a topic's metadata give up after max.block.ms.
        for (t, wait) in self.waits.expire(now) {
            let error = self.unavailable_error(&t);
            self.events.push_back(Event::TopicUnavailable {
                topic: t.clone(),
                error,
                wait,
            });
            // Forget a topic that never resolved, so it is not requested forever.
            if self.topics.get(&t).is_some_and(|x| {
                x.partitions
                    .iter()
                    .all(|q| !q.has_data() && q.in_flight == 0)
            }) && self
                .topics
                .get(&t)
                .is_some_and(|x| !x.known || !x.error.is_ok())
            {
                self.topics.remove(&t);
            }
        }
        // Close deadline: everything still outstanding fails.
        if let Some(d) = self.shutdown.close_deadline() {
            if d <= now && !self.closed {
                self.fail_everything(DeliveryErrorKind::ProducerClosed);
                self.finish_close();
                return;
            }
        }
        // Delivery timeouts: none before the oldest batch's (no scan).
        if self.ledger.earliest_deadline().is_none_or(|d| d > now) {
            return;
        }
        let mut failed = Vec::new();
        for t in self.topics.values_mut() {
            for q in &mut t.partitions {
                if q.open
                    .as_ref()
                    .is_some_and(|b| b.record_count > 0 && b.deadline <= now)
                {
                    q.close_open();
                }
                let mut i = 0;
                while i < q.queue.len() {
                    if q.queue[i].deadline <= now {
                        if let Some(b) = q.queue.remove(i) {
                            failed.push((t.name.clone(), b));
                        }
                    } else {
                        i += 1;
                    }
                }
            }
        }
        for (topic, b) in failed {
            let kind = DeliveryErrorKind::Timeout {
                last_error: b.last_error,
            };
            let written = b.possibly_written;
            self.finish(&topic, b, Outcome::failed(kind, written));
        }
        // In-flight batches past their deadline are reported now; the
        // request's answer still settles their sequence.
        for r in self.sender.requests_mut() {
            for (topic, b) in &mut r.batches {
                if !b.reported && b.deadline <= now {
                    let kind = DeliveryErrorKind::Timeout {
                        last_error: b.last_error,
                    };
                    if let Some(t) = self.txn.as_mut() {
                        t.record_failed(&crate::error::DeliveryError {
                            kind: kind.clone(),
                            possibly_written: true,
                        });
                    }
                    let outcome = Outcome::failed(kind, true);
                    let failed = self.ledger.report(&mut self.events, topic, b, outcome);
                    self.metrics.failed(topic, failed, now);
                }
            }
        }
    }

    fn check_flushes_and_close(&mut self) {
        let lowest = self.ledger.lowest_outstanding().map_or(u64::MAX, |b| b.0);
        self.shutdown.complete_flushes(lowest, &mut self.events);
        let txn_busy = self.txn.as_ref().is_some_and(|t| t.is_ending());
        if self.shutdown.is_closing() && !self.closed && self.ledger.outstanding() == 0 && !txn_busy
        {
            // Wait for reported-but-unanswered requests too, so their
            // sequences settle before the connections go.
            if !self.sender.has_requests() || self.fatal.is_some() {
                self.finish_close();
            }
        }
    }

    fn finish_close(&mut self) {
        self.closed = true;
        // What was encoded (acks = 0 requests) still goes out first.
        self.nodes.release_all(self.now);
        // Requests still unanswered (their batches all reported) never
        // will be now.
        for (id, r) in self.sender.take_all() {
            self.request_done(id, "closed");
            for (topic, b) in r.batches {
                let outcome = Outcome::failed(DeliveryErrorKind::ProducerClosed, true);
                self.finish(&topic, b, outcome);
            }
        }
        // Waits end with the producer ([`Event::Closed`] ends them all:
        // every send is refused with `Closed` from now on).
        self.waits.end_all();
        if let Some(t) = self.txn.as_mut() {
            let mut events = Vec::new();
            t.closed(&mut events);
            self.emit(events);
        }
        for id in self.admin.drain() {
            self.complete_admin(id, Err(AdminError::Closed));
        }
        // Every flush is over: nothing is outstanding any more.
        self.shutdown.complete_all(&mut self.events);
        self.events.push_back(Event::Closed);
    }

    /// Opens a connection to `node` unless one exists or it is backing off.
    /// Returns whether a connection exists or is being opened.
    pub(crate) fn ensure_connection(&mut self, node: i32) -> bool {
        self.nodes.ensure(node, self.now, &mut self.rng)
    }

    /// A ready connection for requests any broker can answer; when there
    /// is none, one is on its way.
    pub(crate) fn any_connection(&mut self) -> Option<ConnId> {
        self.nodes.any_ready(self.now, &mut self.rng)
    }

    fn maintain_metadata(&mut self) {
        if !self.metadata.is_due(self.now) {
            return;
        }
        // Ask only when there is something to learn (Java's producer keeps
        // metadata for the topics it uses).
        if self.topics.is_empty() && !self.idempotence.needs_id() {
            return;
        }
        let Some(conn) = self.any_connection() else {
            return;
        };
        let Some(c) = self.nodes.get_mut(conn) else {
            return;
        };
        let Some(version) = c.versions().pick::<MetadataRequest>(METADATA_VERSION_CAP) else {
            self.close_connection(
                conn,
                Some(ConnError::Unsupported {
                    api: "Metadata",
                    needed: "any version",
                }),
            );
            return;
        };
        let mut topics: Vec<MetadataRequestTopic> = self
            .topics
            .keys()
            .map(|t| MetadataRequestTopic {
                name: Some(t.to_string()),
                ..Default::default()
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        let body = MetadataRequest {
            topics: Some(topics),
            allow_auto_topic_creation: true,
            ..Default::default()
        };
        if c.send(&body, version, Purpose::Metadata, self.now).is_ok() {
            self.metadata.sent(self.now);
        }
    }
}

/// A broker, as [`PartitionInfo`] names it (Java's `Node`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Node {
    /// The broker's node id.
    pub id: i32,
    /// Its host, or empty when the metadata did not list the broker.
    pub host: String,
    /// Its port, or 0 when the metadata did not list the broker.
    pub port: u16,
}

/// A partition of a topic, as Java's `PartitionInfo`
/// ([`Producer::partitions_for`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// The topic.
    pub topic: String,
    /// The partition index.
    pub partition: i32,
    /// The leader, or `None` while the partition has none.
    pub leader: Option<Node>,
    /// The leader epoch (KIP-320), or -1 if the broker did not say.
    pub leader_epoch: i32,
    /// Every replica, in the broker's order.
    pub replicas: Vec<Node>,
    /// The replicas in sync with the leader.
    pub in_sync_replicas: Vec<Node>,
    /// The replicas that are offline.
    pub offline_replicas: Vec<Node>,
}

/// The buffer memory a `send` reserves when its record does not fit the
/// open batch's buffer (see [`reserve_room`]).
#[derive(Debug, Clone, Copy)]
struct Room {
    /// Bytes reserved.
    needed: usize,
    /// A new batch's planned buffer (`BatchLedger::open`), else 0.
    plan: usize,
    /// The open batch's buffer grows, to at most this.
    grow_to: Option<usize>,
}

/// Reserves buffer memory for a record of `size` bytes that does not fit
/// the buffer of `open` (the open batch, if the record goes into it), or
/// starts a new batch. Buffer memory counts the batches' buffers as
/// allocated (Java's pool counts whole batch buffers), so `buffer.memory`
/// bounds what they hold, slack included: a new batch reserves its planned
/// buffer, a record that outgrows the open one the growth. With little
/// memory free, a new batch starts with what there is and a growing one
/// takes no more. Refused, the send hears of memory once a new batch of
/// its record alone would fit (more than it needs when it tries again: a
/// batch is planned no larger than the memory free, and a record grows a
/// batch by less).
#[inline(never)]
fn reserve_room(
    ledger: &mut BatchLedger,
    queue: &PartitionQueue,
    open: Option<&RecordBatchBuilder>,
    size: usize,
    batch_size: usize,
) -> Result<Room, SendError> {
    let free = ledger.memory_free();
    let room = match open {
        Some(b) => {
            let ceiling =
                RecordBatchBuilder::buffer_for(batch_size).min(b.allocated().saturating_add(free));
            Room {
                needed: b.allocated_for(size, ceiling) - b.allocated(),
                plan: 0,
                grow_to: Some(ceiling),
            }
        }
        None => {
            let slack = RecordBatchBuilder::buffer_for(0) - BATCH_HEADER_SIZE;
            let plan = queue
                .batch_capacity(batch_size.min(1 << 20))
                .min(free.saturating_sub(slack))
                .max(size + BATCH_OVERHEAD);
            Room {
                needed: RecordBatchBuilder::buffer_for(plan),
                plan,
                grow_to: None,
            }
        }
    };
    if !ledger.try_reserve(room.needed) {
        ledger.wait_for(RecordBatchBuilder::buffer_for(size + BATCH_OVERHEAD));
        return Err(SendError::BufferFull {
            needed: room.needed,
            used: ledger.memory_used(),
            limit: ledger.memory_limit(),
        });
    }
    Ok(room)
}
