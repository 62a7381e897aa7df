//! What the cluster looks like, how its brokers behave, and which faults it
//! injects.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_proto::messages::supported_versions;
use kafka_proto::{ApiKey, ErrorCode};

use crate::sasl::SaslVerifier;
use crate::sasl_server::Mechanism;

/// The cluster's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Broker ids; broker `n` is reachable as host `broker-n`, port 9092.
    /// Every broker is a replica of every partition.
    pub brokers: Vec<i32>,
    /// Topics created at the start, with their partition counts. Leaders
    /// are spread round robin over the brokers.
    pub topics: Vec<(String, i32)>,
    /// `Some(n)`: a Metadata or Produce request for an unknown topic
    /// creates it with `n` partitions (as tansu and Kafka's
    /// `auto.create.topics.enable` do); `None`: the topic is answered with
    /// UNKNOWN_TOPIC_OR_PARTITION (3).
    pub auto_create_partitions: Option<i32>,
    /// SASL on every listener: connections must authenticate (PLAIN or
    /// SCRAM, by [`sasl_server`](crate::sasl_server)) before anything but
    /// ApiVersions. Shorthand for setting [`BrokerConfig::sasl`] and
    /// [`BrokerConfig::require_sasl`]; it takes precedence over them.
    pub sasl: Option<SimSasl>,
    /// Keep every appended record for [`SimCluster::log`](crate::SimCluster::log).
    /// Benches switch it off: then only offsets, counts and the sequence
    /// state are kept, and records are not decoded at all.
    pub store_records: bool,
}

impl Default for ClusterSpec {
    /// One broker (id 1), no topics, no auto-creation, no SASL, records
    /// stored.
    fn default() -> Self {
        ClusterSpec {
            brokers: vec![1],
            topics: Vec::new(),
            auto_create_partitions: None,
            sasl: None,
            store_records: true,
        }
    }
}

/// The SASL setup of the simulated listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSasl {
    /// Mechanisms offered, in the order SaslHandshake lists them.
    pub mechanisms: Vec<Mechanism>,
    /// Users and their passwords.
    pub users: Vec<(String, String)>,
}

/// Faults to inject. Probabilities are per event (0 turns a fault off);
/// the default injects nothing and has no latency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Smallest processing delay of a request.
    pub min_latency: Duration,
    /// Largest processing delay; delays are drawn uniformly in
    /// `min_latency..=max_latency`. Requests of one connection are still
    /// processed, and answered, in the order they were sent (as Kafka
    /// guarantees).
    pub max_latency: Duration,
    /// Per request: process it (records are appended!) but never answer.
    /// The connection then stays silent: later requests on it are
    /// processed but not answered, as when the way back is cut.
    pub drop_response: f64,
    /// Per request: the broker closes the connection, half the time before
    /// processing the request and half the time after (records appended,
    /// no answer).
    pub disconnect: f64,
    /// Per partition of a Produce request: answer a retriable error
    /// without appending (NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT,
    /// NOT_ENOUGH_REPLICAS, UNKNOWN_TOPIC_OR_PARTITION or
    /// KAFKA_STORAGE_ERROR).
    pub produce_error: f64,
    /// Per partition of a Produce request: append, then answer
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND or REQUEST_TIMED_OUT anyway, so
    /// that the client retries a batch that is already written.
    pub error_after_append: f64,
    /// Per partition of a Produce request: append, then answer an error
    /// code drawn from every code Kafka may answer after an append or
    /// that a broker could send unexpectedly (UNKNOWN_SERVER_ERROR, codes
    /// Kafka does not define, KAFKA_STORAGE_ERROR, NOT_LEADER_OR_FOLLOWER,
    /// POLICY_VIOLATION, ...): every code except NONE and those Kafka only
    /// answers when it refused the batch before appending it
    /// ([`REFUSED_BEFORE_APPEND`](crate::REFUSED_BEFORE_APPEND)). A truthful
    /// client reports such a batch, if it fails, as possibly written.
    pub any_error_after_append: f64,
    /// Per Produce request: before handling it, move the leadership of one
    /// random partition to another live broker.
    pub leader_move: f64,
    /// Per request: the broker goes down (its connections are closed,
    /// connects are refused, its leaderships move) for a random
    /// `0..=restart_downtime`, then comes back with its data intact.
    pub broker_restart: f64,
    /// The longest downtime of a restart.
    pub restart_downtime: Duration,
    /// Per transactional request (to a transaction or group coordinator):
    /// before handling it, every coordinator moves to another broker, so
    /// requests to the old ones get NOT_COORDINATOR.
    pub coordinator_move: f64,
    /// Per InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn:
    /// answer CONCURRENT_TRANSACTIONS (the coordinator is still completing
    /// the previous transaction) without doing anything.
    pub concurrent_transactions: f64,
    /// Per connection the client closes: requests already sent on it are
    /// still processed when their time comes (they were in the broker's
    /// socket buffer), their answers lost. A late Produce of an ended
    /// transaction reaches the partition this way: the hazard KIP-890
    /// closes.
    pub process_after_close: f64,
}

impl Faults {
    /// No faults, no latency (the same as `Faults::default()`).
    pub fn none() -> Self {
        Faults::default()
    }

    /// Whether nothing is injected and requests take no time: the fast
    /// path benches use.
    pub fn is_quiet(&self) -> bool {
        self.max_latency.is_zero()
            && self.min_latency.is_zero()
            && [
                self.drop_response,
                self.disconnect,
                self.produce_error,
                self.error_after_append,
                self.any_error_after_append,
                self.leader_move,
                self.broker_restart,
                self.coordinator_move,
                self.concurrent_transactions,
                self.process_after_close,
            ]
            .iter()
            .all(|p| p.is_nan() || *p <= 0.0)
    }
}

/// One API version range a broker advertises in ApiVersions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiRange {
    /// The API.
    pub api_key: ApiKey,
    /// Lowest version accepted.
    pub min_version: i16,
    /// Highest version accepted.
    pub max_version: i16,
}

/// What InitProducerId does when a request without transactional id
/// carries a producer id and epoch (v3+, KIP-360).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitProducerIdPolicy {
    /// Bump the epoch of that producer id if the request carries its
    /// current epoch, else INVALID_PRODUCER_EPOCH (47), as a transaction
    /// coordinator checks (it also accepts the previous epoch as the retry
    /// of a bump whose answer was lost; this policy does not, so that a
    /// fenced producer can never share an epoch with its twin). An epoch
    /// that would reach `i16::MAX` yields a fresh id with epoch 0.
    #[default]
    BumpEpoch,
    /// Ignore the given id and hand out a fresh one with epoch 0: what
    /// Apache Kafka (through 4.x) actually does for a null transactional id.
    AlwaysNewId,
}

/// How the brokers behave, beyond the cluster's shape. The default is an
/// Apache Kafka 4.0 broker on a plaintext listener.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// The API versions every broker advertises and accepts. A request
    /// outside them closes the connection, except ApiVersions, which is
    /// answered with UNSUPPORTED_VERSION (KIP-511).
    pub api_versions: Vec<ApiRange>,
    /// Per-broker overrides of `api_versions`, to simulate a cluster in
    /// the middle of a rolling upgrade.
    pub api_versions_by_broker: BTreeMap<i32, Vec<ApiRange>>,
    /// InitProducerId with a producer id and epoch; see the policy.
    pub init_producer_id: InitProducerIdPolicy,
    /// The answer to an epoch bump (InitProducerId with a producer id and
    /// epoch, [`InitProducerIdPolicy::BumpEpoch`]) of a producer id the
    /// cluster has no state for, e.g. after
    /// [`SimCluster::forget_producer_state`](crate::SimCluster::forget_producer_state).
    /// The default is INVALID_PRODUCER_EPOCH (47); tansu answers
    /// UNKNOWN_SERVER_ERROR (-1) once a restart lost its producer state.
    pub unknown_producer_bump_error: ErrorCode,
    /// A producer with no state on a partition must start at sequence 0,
    /// else OUT_OF_ORDER_SEQUENCE_NUMBER (45). Kafka (2.5 to 4.x, without
    /// transactions v2) accepts any first sequence there, because it cannot
    /// tell a new producer from one whose state expired; the simulated
    /// cluster never loses producer state, so a non-zero first sequence is
    /// always a client bug, and `true` (the default) makes it visible.
    pub strict_first_sequence: bool,
    /// Answer a retry whose sequence lies before the last appended one but
    /// is no longer among the five remembered batches with
    /// DUPLICATE_SEQUENCE_NUMBER (46), as Kafka 0.11 and tansu do, instead
    /// of OUT_OF_ORDER_SEQUENCE_NUMBER (45), as Kafka 1.0 to 4.x do (the
    /// default). A producer keeping at most five batches in flight per
    /// partition never meets either.
    pub stale_sequence_is_duplicate: bool,
    /// `message.max.bytes`: larger batches get MESSAGE_TOO_LARGE (10).
    /// Kafka's default is 1048588.
    pub max_message_bytes: usize,
    /// The SASL server of SASL listeners; `None` is a plaintext listener,
    /// where SaslHandshake is answered with ILLEGAL_SASL_STATE (34).
    pub sasl: Option<Arc<dyn SaslVerifier>>,
    /// With `sasl` set: every connection must authenticate before any
    /// request other than ApiVersions, SaslHandshake and SaslAuthenticate,
    /// else the broker closes it (as Kafka does).
    pub require_sasl: bool,
    /// `connections.max.reauth.ms` (KIP-368): with `sasl` set, each
    /// authentication's session lasts this long (SaslAuthenticate tells
    /// the client); a connection whose session expired is closed at its
    /// next request other than SaslHandshake, which re-authenticates it on
    /// the live connection (at most once a second), as Kafka does. `None`
    /// (Kafka's default, 0): sessions never expire and a second handshake
    /// is refused.
    pub sasl_session_lifetime: Option<std::time::Duration>,
    /// The cluster id in Metadata responses.
    pub cluster_id: String,
    /// The finalized `transaction.version` feature advertised in
    /// ApiVersions (v3+): 2 (Kafka 4's default) enables transactions v2
    /// (KIP-890 part 2), 1 or 0 keeps v1.
    pub transaction_version: i16,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            api_versions: kafka_4_0_api_versions(),
            api_versions_by_broker: BTreeMap::new(),
            init_producer_id: InitProducerIdPolicy::default(),
            unknown_producer_bump_error: ErrorCode::INVALID_PRODUCER_EPOCH,
            strict_first_sequence: true,
            stale_sequence_is_duplicate: false,
            max_message_bytes: 1_048_588,
            sasl: None,
            require_sasl: false,
            sasl_session_lifetime: None,
            cluster_id: "kafka-sim-cluster".to_owned(),
            transaction_version: 2,
        }
    }
}

impl BrokerConfig {
    /// Lowers the highest advertised version of `api` to `max_version` (an
    /// older broker); removes the API when that is below its minimum.
    pub fn limit_version(&mut self, api: ApiKey, max_version: i16) -> &mut Self {
        for r in &mut self.api_versions {
            if r.api_key == api {
                r.max_version = r.max_version.min(max_version);
            }
        }
        self.api_versions.retain(|r| r.min_version <= r.max_version);
        self
    }

    /// Stops advertising (and accepting) `api`.
    pub fn remove_api(&mut self, api: ApiKey) -> &mut Self {
        self.api_versions.retain(|r| r.api_key != api);
        self
    }

    /// The ranges broker `broker` advertises.
    pub fn api_versions_of(&self, broker: i32) -> &[ApiRange] {
        self.api_versions_by_broker
            .get(&broker)
            .unwrap_or(&self.api_versions)
    }
}

/// The ranges an Apache Kafka 4.0 broker advertises for the APIs our codec
/// declares, clipped to what the codec supports. Kafka 4.0 dropped the
/// oldest versions (KIP-896) and does not yet offer Produce and Metadata
/// v13 (topic ids in Produce); Fetch is not advertised because the
/// simulated brokers do not serve it.
pub fn kafka_4_0_api_versions() -> Vec<ApiRange> {
    const KAFKA_4_0: [(ApiKey, i16, i16); 13] = [
        (ApiKey::Produce, 3, 12),
        (ApiKey::ListOffsets, 1, 9),
        (ApiKey::Metadata, 0, 12),
        (ApiKey::FindCoordinator, 0, 6),
        (ApiKey::SaslHandshake, 0, 1),
        (ApiKey::ApiVersions, 0, 4),
        (ApiKey::CreateTopics, 2, 7),
        (ApiKey::InitProducerId, 0, 5),
        (ApiKey::AddPartitionsToTxn, 0, 5),
        (ApiKey::AddOffsetsToTxn, 0, 4),
        (ApiKey::EndTxn, 0, 5),
        (ApiKey::TxnOffsetCommit, 0, 5),
        (ApiKey::SaslAuthenticate, 0, 2),
    ];
    KAFKA_4_0
        .iter()
        .filter_map(|&(api_key, min, max)| {
            let (codec_min, codec_max, _) = supported_versions(api_key)?;
            let (min_version, max_version) = (min.max(codec_min), max.min(codec_max));
            (min_version <= max_version).then_some(ApiRange {
                api_key,
                min_version,
                max_version,
            })
        })
        .collect()
}
