//! Producer configuration, with the Java client's property names and the
//! Kafka 4.x defaults.
//!
//! Every setting is a public field of [`ProducerConfig`], and every field can
//! also be set from a `"key" = "value"` property with its Java name
//! ([`ProducerConfig::set`]), plus the obvious librdkafka aliases, so a
//! `producer.properties` file carries over. [`ProducerConfig::validate`]
//! then applies the Java client's cross-setting rules (idempotence needs
//! `acks=all`, the delivery timeout covers linger and request timeout, ...).
//!
//! ```
//! # use kafka_producer_core::config::{Acks, ProducerConfig};
//! let config = ProducerConfig::from_properties([
//!     ("bootstrap.servers", "broker1:9092,[::1]:9093"),
//!     ("linger.ms", "20"),
//!     ("acks", "1"),
//! ])
//! .unwrap();
//! assert_eq!(config.acks, Acks::Leader);
//! // acks=1 rules idempotence out; left at its default it is turned off.
//! assert!(!config.enable_idempotence);
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::num::IntErrorKind;
use std::str::FromStr;
use std::time::Duration;

use kafka_proto::compression::Compression;

/// What secret values are shown as, in `Debug` output and in errors.
const REDACTED: &str = "<redacted>";

/// The SASL mechanisms the producer can authenticate with.
const SASL_MECHANISMS: [&str; 4] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

/// Java's `ConfigDef.Type.INT` range, for the properties Java declares as
/// `int` (the wire fields behind several of them are int32 as well).
const INT_MAX: i64 = i32::MAX as i64;
/// Java's `ConfigDef.Type.LONG` range.
const LONG_MAX: i64 = i64::MAX;

/// The smallest `metadata.max.idle.ms` Java accepts.
const METADATA_MAX_IDLE_MIN_MS: i64 = 5_000;

/// A broker address from `bootstrap.servers`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerAddress {
    /// Host name or IP address; an IPv6 address without its brackets.
    pub host: String,
    /// TCP port, never 0.
    pub port: u16,
}

impl fmt::Display for BrokerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for BrokerAddress {
    type Err = ConfigError;

    /// Parses one `host:port` (or `[ipv6]:port`) entry of
    /// `bootstrap.servers`.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        parse_address(s.trim()).map_err(|reason| invalid_value(Key::BootstrapServers, s, reason))
    }
}

/// `acks`: how many replicas must have a batch before the partition leader
/// answers the Produce request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Acks {
    /// `acks=0`: the leader sends no response; offsets are unknown and
    /// failures go unnoticed.
    None,
    /// `acks=1`: the leader has written the batch to its own log.
    Leader,
    /// `acks=all` (or `-1`): every in-sync replica has it. The default, and
    /// required by idempotence.
    All,
}

impl Acks {
    /// The `acks` field of a Produce request: 0, 1 or -1.
    pub fn as_i16(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

impl fmt::Display for Acks {
    /// The property value: `0`, `1` or `all`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        })
    }
}

impl FromStr for Acks {
    type Err = ConfigError;

    /// Parses `0`, `1`, `all` (any case) or `-1`.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        parse_acks(s).map_err(|reason| invalid_value(Key::Acks, s, reason))
    }
}

/// `partitioner.class`: which built-in partitioner picks a record's
/// partition. A custom partitioner is given in code, not by property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PartitionerChoice {
    /// Java's built-in behaviour: murmur2 of the key for keyed records,
    /// uniform sticky batching for keyless ones (KIP-794). The default.
    #[default]
    Default,
    /// Java's `RoundRobinPartitioner`: every record to the next partition in
    /// turn, keys ignored.
    RoundRobin,
}

impl FromStr for PartitionerChoice {
    type Err = ConfigError;

    /// Parses `default`, `round_robin` / `roundrobin`, or a Java class name.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        parse_partitioner(s).map_err(|reason| invalid_value(Key::PartitionerClass, s, reason))
    }
}

/// `security.protocol`: what a broker connection runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SecurityProtocol {
    /// Plain TCP. The default.
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL authentication over plain TCP.
    SaslPlaintext,
    /// SASL authentication over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// The property value: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or
    /// `SASL_SSL`.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether connections are wrapped in TLS (done by the runtime adapter,
    /// not the core).
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether connections authenticate with SASL after the ApiVersions
    /// exchange (done by the core).
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SecurityProtocol {
    type Err = ConfigError;

    /// Parses a protocol name, ignoring case as Java does.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        parse_security_protocol(s).map_err(|reason| invalid_value(Key::SecurityProtocol, s, reason))
    }
}

/// A secret, such as a SASL password: `Debug` prints `<redacted>`, and there
/// is deliberately no `Display`, so it cannot end up in a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Secret {
        Secret(secret)
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Secret {
        Secret(secret.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// A mistake in the producer configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// [`ProducerConfig::set`] was given a property it does not know.
    UnknownKey {
        /// The property name as given.
        key: String,
    },
    /// A property's value cannot be used.
    InvalidValue {
        /// The property name as given (or the Java name, from
        /// [`ProducerConfig::validate`]).
        key: String,
        /// The value, or `<redacted>` for `sasl.password` and
        /// `sasl.jaas.config`.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Settings that are each fine contradict each other.
    Conflict {
        /// Which settings, and why; names the properties involved.
        reason: String,
    },
    /// A setting that the others make necessary is not set.
    Missing {
        /// The property (its Java or librdkafka name).
        key: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownKey { key } => write!(f, "unknown producer property {key:?}"),
            ConfigError::InvalidValue { key, value, reason } => {
                write!(f, "invalid value {value:?} for {key}: {reason}")
            }
            ConfigError::Conflict { reason } => write!(f, "conflicting settings: {reason}"),
            ConfigError::Missing { key } => write!(f, "{key} must be set"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The producer's settings.
///
/// Each field's doc gives its Java property, its unit and its default (the
/// Kafka 4.x Java client's, unless it says otherwise). Build one with
/// [`Default`] and [`set`](Self::set) or field assignment, or with
/// [`from_properties`](Self::from_properties); then
/// [`validate`](Self::validate) it (the producer does that too). `Debug`
/// never shows the SASL password.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProducerConfig {
    /// `bootstrap.servers` (librdkafka: `metadata.broker.list`): the brokers
    /// the cluster is first learnt from, as `host:port,host:port`. No default;
    /// [`validate`](Self::validate) requires at least one.
    pub bootstrap_servers: Vec<BrokerAddress>,
    /// `client.id`, sent in every request header. Default
    /// `kafka-producer-rs` (Java generates `producer-N`).
    pub client_id: String,
    /// `acks` (librdkafka: `request.required.acks`). Default `all`.
    pub acks: Acks,
    /// `enable.idempotence`: producer id and per-partition sequence numbers,
    /// so retries never duplicate or reorder records. Default true, but see
    /// [`validate`](Self::validate) for when it is turned off.
    pub enable_idempotence: bool,
    /// `linger.ms` (librdkafka: `queue.buffering.max.ms`): how long a
    /// partition's batch waits for more records before it is sent. Default
    /// 5 ms.
    pub linger: Duration,
    /// `batch.size`, in bytes: a partition's batch is sent once this full.
    /// Default 16384. 0 disables batching: every record gets a batch of its
    /// own, as in Java.
    pub batch_size: usize,
    /// `buffer.memory`, in bytes: records accepted by `send` but not yet
    /// delivered; beyond it `send` reports the buffer full. Default
    /// 33554432 (32 MiB).
    pub buffer_memory: usize,
    /// `max.block.ms`: how long `send` may wait for buffer space or for the
    /// topic's metadata. Default 60000 ms.
    pub max_block: Duration,
    /// `max.in.flight.requests.per.connection` (librdkafka:
    /// `max.in.flight`): Produce requests awaiting a response per broker.
    /// Default 5; at most 5 with idempotence.
    pub max_in_flight_requests_per_connection: usize,
    /// `retries` (librdkafka: `message.send.max.retries`): how often a failed
    /// batch is sent again. Default 2147483647 (`i32::MAX`), so in practice
    /// `delivery.timeout.ms` is the limit.
    pub retries: u32,
    /// `delivery.timeout.ms` (librdkafka: `message.timeout.ms`): the most
    /// time from `send` to the record's outcome, retries included. Default
    /// 120000 ms; at least `linger.ms + request.timeout.ms`.
    pub delivery_timeout: Duration,
    /// `request.timeout.ms`: how long to wait for a response before the
    /// request counts as failed. Default 30000 ms.
    pub request_timeout: Duration,
    /// `retry.backoff.ms`: the first wait before a retry; it doubles per
    /// attempt (with jitter) up to `retry.backoff.max.ms`. Default 100 ms.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`: the longest wait before a retry. Default
    /// 1000 ms; raised to `retry.backoff.ms` if below it.
    pub retry_backoff_max: Duration,
    /// `reconnect.backoff.ms`: the first wait before reconnecting to a
    /// broker; doubles per failure up to `reconnect.backoff.max.ms`. Default
    /// 50 ms.
    pub reconnect_backoff: Duration,
    /// `reconnect.backoff.max.ms`: the longest wait before reconnecting.
    /// Default 1000 ms; raised to `reconnect.backoff.ms` if below it.
    pub reconnect_backoff_max: Duration,
    /// `socket.connection.setup.timeout.ms`: how long establishing a
    /// connection may take. Default 10000 ms.
    pub socket_connection_setup_timeout: Duration,
    /// `metadata.max.age.ms`: cluster metadata is refreshed at least this
    /// often. Default 300000 ms.
    pub metadata_max_age: Duration,
    /// `metadata.max.idle.ms`: a topic nothing was sent to for this long is
    /// dropped from metadata refreshes. Default 300000 ms; at least 5000 ms.
    pub metadata_max_idle: Duration,
    /// `max.request.size`, in bytes: the largest Produce request, and so
    /// the largest record. Default 1048576 (1 MiB).
    pub max_request_size: usize,
    /// `compression.type` (librdkafka: `compression.codec`): `none`, `gzip`,
    /// `snappy`, `lz4` or `zstd`. Default `none`.
    pub compression_type: Compression,
    /// `partitioner.class`: the built-in partitioner. Default: Java's
    /// built-in behaviour ([`PartitionerChoice::Default`]).
    pub partitioner: PartitionerChoice,
    /// `partitioner.ignore.keys`: partition keyed records as if keyless.
    /// Default false.
    pub partitioner_ignore_keys: bool,
    /// `transactional.id`: makes the producer transactional. Default none.
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`: how long the coordinator lets a transaction
    /// stay open. Default 60000 ms.
    pub transaction_timeout: Duration,
    /// `security.protocol`. Default `PLAINTEXT`.
    pub security_protocol: SecurityProtocol,
    /// `sasl.mechanism` (librdkafka: `sasl.mechanisms`): `PLAIN`,
    /// `SCRAM-SHA-256` or `SCRAM-SHA-512`. Default `PLAIN`: Java's default,
    /// `GSSAPI` (Kerberos), is not supported, and a default that can never
    /// work would only turn into a confusing error later.
    pub sasl_mechanism: String,
    /// `sasl.username` (librdkafka's name; Java puts it in
    /// `sasl.jaas.config`, which this also accepts). Default none.
    pub sasl_username: Option<String>,
    /// `sasl.password` (librdkafka's name; Java puts it in
    /// `sasl.jaas.config`, which this also accepts). Default none.
    pub sasl_password: Option<Secret>,
    /// OAUTHBEARER's unsecured tokens, from a `sasl.jaas.config` with Java's
    /// `OAuthBearerLoginModule` and its `unsecuredLogin*` options (for
    /// development and tests, as in Java). Default none: OAUTHBEARER then
    /// needs a token provider of the runtime crate.
    pub sasl_oauthbearer_unsecured: Option<UnsecuredLogin>,
    /// Properties given to `set`, by Java name: some rules differ for
    /// settings the user chose and defaults.
    explicit: BTreeSet<Key>,
    /// Why `validate` turned idempotence off, if it did.
    idempotence_disabled_because: Option<&'static str>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            bootstrap_servers: Vec::new(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            acks: Acks::All,
            enable_idempotence: true,
            linger: Duration::from_millis(5),
            batch_size: 16_384,
            buffer_memory: 33_554_432,
            max_block: Duration::from_millis(60_000),
            max_in_flight_requests_per_connection: 5,
            retries: i32::MAX.unsigned_abs(),
            delivery_timeout: DEFAULT_DELIVERY_TIMEOUT,
            request_timeout: Duration::from_millis(30_000),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_millis(1_000),
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_millis(1_000),
            socket_connection_setup_timeout: Duration::from_millis(10_000),
            metadata_max_age: Duration::from_millis(300_000),
            metadata_max_idle: Duration::from_millis(300_000),
            max_request_size: 1_048_576,
            compression_type: Compression::None,
            partitioner: PartitionerChoice::Default,
            partitioner_ignore_keys: false,
            transactional_id: None,
            transaction_timeout: Duration::from_millis(60_000),
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: "PLAIN".to_owned(),
            sasl_username: None,
            sasl_oauthbearer_unsecured: None,
            sasl_password: None,
            explicit: BTreeSet::new(),
            idempotence_disabled_because: None,
        }
    }
}

/// `client.id` when none is given.
const DEFAULT_CLIENT_ID: &str = "kafka-producer-rs";
/// `delivery.timeout.ms` when none is given.
const DEFAULT_DELIVERY_TIMEOUT: Duration = Duration::from_millis(120_000);

/// A property, by its Java name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    BootstrapServers,
    ClientId,
    Acks,
    EnableIdempotence,
    LingerMs,
    BatchSize,
    BufferMemory,
    MaxBlockMs,
    MaxInFlight,
    Retries,
    DeliveryTimeoutMs,
    RequestTimeoutMs,
    RetryBackoffMs,
    RetryBackoffMaxMs,
    ReconnectBackoffMs,
    ReconnectBackoffMaxMs,
    SocketConnectionSetupTimeoutMs,
    MetadataMaxAgeMs,
    MetadataMaxIdleMs,
    MaxRequestSize,
    CompressionType,
    PartitionerClass,
    PartitionerIgnoreKeys,
    TransactionalId,
    TransactionTimeoutMs,
    SecurityProtocol,
    SaslMechanism,
    SaslUsername,
    SaslPassword,
    SaslJaasConfig,
}

/// Every property name [`ProducerConfig::set`] takes: the Java names, then
/// librdkafka's for the same settings.
const KEYS: &[(&str, Key)] = &[
    ("bootstrap.servers", Key::BootstrapServers),
    ("client.id", Key::ClientId),
    ("acks", Key::Acks),
    ("enable.idempotence", Key::EnableIdempotence),
    ("linger.ms", Key::LingerMs),
    ("batch.size", Key::BatchSize),
    ("buffer.memory", Key::BufferMemory),
    ("max.block.ms", Key::MaxBlockMs),
    ("max.in.flight.requests.per.connection", Key::MaxInFlight),
    ("retries", Key::Retries),
    ("delivery.timeout.ms", Key::DeliveryTimeoutMs),
    ("request.timeout.ms", Key::RequestTimeoutMs),
    ("retry.backoff.ms", Key::RetryBackoffMs),
    ("retry.backoff.max.ms", Key::RetryBackoffMaxMs),
    ("reconnect.backoff.ms", Key::ReconnectBackoffMs),
    ("reconnect.backoff.max.ms", Key::ReconnectBackoffMaxMs),
    (
        "socket.connection.setup.timeout.ms",
        Key::SocketConnectionSetupTimeoutMs,
    ),
    ("metadata.max.age.ms", Key::MetadataMaxAgeMs),
    ("metadata.max.idle.ms", Key::MetadataMaxIdleMs),
    ("max.request.size", Key::MaxRequestSize),
    ("compression.type", Key::CompressionType),
    ("partitioner.class", Key::PartitionerClass),
    ("partitioner.ignore.keys", Key::PartitionerIgnoreKeys),
    ("transactional.id", Key::TransactionalId),
    ("transaction.timeout.ms", Key::TransactionTimeoutMs),
    ("security.protocol", Key::SecurityProtocol),
    ("sasl.mechanism", Key::SaslMechanism),
    ("sasl.username", Key::SaslUsername),
    ("sasl.password", Key::SaslPassword),
    ("sasl.jaas.config", Key::SaslJaasConfig),
    // librdkafka
    ("metadata.broker.list", Key::BootstrapServers),
    ("request.required.acks", Key::Acks),
    ("queue.buffering.max.ms", Key::LingerMs),
    ("max.in.flight", Key::MaxInFlight),
    ("message.send.max.retries", Key::Retries),
    ("message.timeout.ms", Key::DeliveryTimeoutMs),
    ("compression.codec", Key::CompressionType),
    ("sasl.mechanisms", Key::SaslMechanism),
];

impl Key {
    /// The property named `name` (exactly; Java's names are case-sensitive).
    fn from_name(name: &str) -> Option<Key> {
        KEYS.iter().find(|(n, _)| *n == name).map(|&(_, key)| key)
    }

    /// The Java name (or librdkafka's, for settings Java has not got).
    fn name(self) -> &'static str {
        KEYS.iter()
            .find(|&&(_, key)| key == self)
            .map_or("", |&(name, _)| name)
    }

    /// Whether the value is a secret, never to be shown.
    fn is_secret(self) -> bool {
        matches!(self, Key::SaslPassword | Key::SaslJaasConfig)
    }
}

/// An `InvalidValue` error, with the value redacted if it is a secret.
fn invalid_value(key: Key, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.name().to_owned(),
        value: shown_value(key, value),
        reason: reason.into(),
    }
}

/// A value as errors may show it.
fn shown_value(key: Key, value: &str) -> String {
    if key.is_secret() {
        REDACTED.to_owned()
    } else {
        value.to_owned()
    }
}

impl ProducerConfig {
    /// The defaults with `props` [`set`](Self::set) in order (a later
    /// property overrides an earlier one), then
    /// [`validate`](Self::validate)d.
    pub fn from_properties<'a, I: IntoIterator<Item = (&'a str, &'a str)>>(
        props: I,
    ) -> Result<ProducerConfig, ConfigError> {
        let mut config = ProducerConfig::default();
        for (key, value) in props {
            config.set(key, value)?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Sets one property by its Java name, or by a librdkafka alias
    /// (`metadata.broker.list`, `request.required.acks`,
    /// `queue.buffering.max.ms`, `max.in.flight`, `message.send.max.retries`,
    /// `message.timeout.ms`, `compression.codec`, `sasl.mechanisms`).
    ///
    /// Values are read as Java reads them: times are whole milliseconds,
    /// sizes whole bytes, both non-negative and within the range of Java's
    /// type for the property (`int` or `long`); booleans are `true` or
    /// `false`, ignoring case; surrounding whitespace is ignored except in
    /// free-form strings. `sasl.jaas.config` takes one Java JAAS line for
    /// `PlainLoginModule` or `ScramLoginModule` and sets `sasl.username` and
    /// `sasl.password` from it. An empty `client.id` restores the default
    /// (Java generates one too); an empty `bootstrap.servers` is accepted
    /// here and refused by [`validate`](Self::validate).
    ///
    /// The property is remembered as set explicitly, which some of
    /// [`validate`](Self::validate)'s rules depend on. On error nothing
    /// changes. Errors never show the value of `sasl.password` or
    /// `sasl.jaas.config`.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let Some(canonical) = Key::from_name(key) else {
            return Err(ConfigError::UnknownKey {
                key: key.to_owned(),
            });
        };
        // The error names the property as the caller spelt it.
        self.apply(canonical, value)
            .map_err(|reason| ConfigError::InvalidValue {
                key: key.to_owned(),
                value: shown_value(canonical, value),
                reason,
            })?;
        self.explicit.insert(canonical);
        Ok(())
    }

    /// Parses `value` for `key` and, only if it is good, stores it.
    fn apply(&mut self, key: Key, value: &str) -> Result<(), String> {
        match key {
            Key::BootstrapServers => self.bootstrap_servers = parse_bootstrap(value)?,
            Key::ClientId => {
                self.client_id = if value.is_empty() {
                    DEFAULT_CLIENT_ID.to_owned()
                } else {
                    value.to_owned()
                }
            }
            Key::Acks => self.acks = parse_acks(value)?,
            Key::EnableIdempotence => self.enable_idempotence = parse_bool(value)?,
            Key::LingerMs => self.linger = parse_ms(value, 0, LONG_MAX)?,
            Key::BatchSize => self.batch_size = parse_size(value, 0, INT_MAX)?,
            Key::BufferMemory => self.buffer_memory = parse_size(value, 0, LONG_MAX)?,
            Key::MaxBlockMs => self.max_block = parse_ms(value, 0, LONG_MAX)?,
            Key::MaxInFlight => {
                self.max_in_flight_requests_per_connection = parse_size(value, 1, INT_MAX)?
            }
            Key::Retries => {
                self.retries = parse_int(value, 0, INT_MAX)?
                    .unsigned_abs()
                    .try_into()
                    .map_err(|_| format!("must be at most {INT_MAX}"))?
            }
            Key::DeliveryTimeoutMs => self.delivery_timeout = parse_ms(value, 0, INT_MAX)?,
            Key::RequestTimeoutMs => self.request_timeout = parse_ms(value, 0, INT_MAX)?,
            Key::RetryBackoffMs => self.retry_backoff = parse_ms(value, 0, LONG_MAX)?,
            Key::RetryBackoffMaxMs => self.retry_backoff_max = parse_ms(value, 0, LONG_MAX)?,
            Key::ReconnectBackoffMs => self.reconnect_backoff = parse_ms(value, 0, LONG_MAX)?,
            Key::ReconnectBackoffMaxMs => {
                self.reconnect_backoff_max = parse_ms(value, 0, LONG_MAX)?
            }
            Key::SocketConnectionSetupTimeoutMs => {
                self.socket_connection_setup_timeout = parse_ms(value, 0, LONG_MAX)?
            }
            Key::MetadataMaxAgeMs => self.metadata_max_age = parse_ms(value, 0, LONG_MAX)?,
            Key::MetadataMaxIdleMs => {
                self.metadata_max_idle = parse_ms(value, METADATA_MAX_IDLE_MIN_MS, LONG_MAX)?
            }
            Key::MaxRequestSize => self.max_request_size = parse_size(value, 0, INT_MAX)?,
            Key::CompressionType => self.compression_type = parse_compression(value)?,
            Key::PartitionerClass => self.partitioner = parse_partitioner(value)?,
            Key::PartitionerIgnoreKeys => self.partitioner_ignore_keys = parse_bool(value)?,
            Key::TransactionalId => {
                // Java's validator for transactional.id is NonEmptyString.
                if value.is_empty() {
                    return Err("must not be empty".to_owned());
                }
                self.transactional_id = Some(value.to_owned());
            }
            Key::TransactionTimeoutMs => self.transaction_timeout = parse_ms(value, 0, INT_MAX)?,
            Key::SecurityProtocol => self.security_protocol = parse_security_protocol(value)?,
            Key::SaslMechanism => self.sasl_mechanism = parse_sasl_mechanism(value)?.to_owned(),
            Key::SaslUsername => {
                if value.is_empty() {
                    return Err("must not be empty".to_owned());
                }
                self.sasl_username = Some(value.to_owned());
            }
            Key::SaslPassword => {
                if value.is_empty() {
                    return Err("must not be empty".to_owned());
                }
                self.sasl_password = Some(Secret::new(value));
            }
            Key::SaslJaasConfig => match parse_jaas(value)? {
                Jaas::Password(login) => {
                    self.sasl_username = Some(login.username);
                    self.sasl_password = Some(Secret::new(login.password));
                }
                Jaas::OAuthBearer(unsecured) => self.sasl_oauthbearer_unsecured = unsecured,
            },
        }
        Ok(())
    }

    /// Whether the property `key` (any name [`set`](Self::set) takes) was
    /// set through [`set`](Self::set).
    pub fn is_explicit(&self, key: &str) -> bool {
        Key::from_name(key).is_some_and(|key| self.explicit.contains(&key))
    }

    /// Why [`validate`](Self::validate) turned idempotence off, if it did
    /// (Java logs this at info level).
    pub fn idempotence_disabled_because(&self) -> Option<&'static str> {
        self.idempotence_disabled_because
    }

    /// Checks the settings together and settles the ones that depend on
    /// others, in place, as the Java client does when it builds a producer:
    ///
    /// - `bootstrap.servers` must name a broker; `max.in.flight.requests.per.connection`,
    ///   `max.request.size` and `buffer.memory` must be positive;
    ///   `metadata.max.idle.ms` at least 5000; `compression.type` must be
    ///   compiled in; `sasl.mechanism` must be supported (and is upper-cased).
    /// - Idempotence rules out `acks` other than `all`,
    ///   `max.in.flight.requests.per.connection` above 5 and `retries=0`.
    ///   If `enable.idempotence=true` was [`set`](Self::set) explicitly, any
    ///   of them is a [`ConfigError::Conflict`]; if idempotence was left at
    ///   its default, it is turned off instead, and
    ///   [`idempotence_disabled_because`](Self::idempotence_disabled_because)
    ///   says why. (Assigning `enable_idempotence = true` in code looks like
    ///   the default; use `set` to insist.)
    /// - A `transactional.id` needs idempotence, whether it was turned off
    ///   explicitly or by the rule above.
    /// - `delivery.timeout.ms` below `linger.ms + request.timeout.ms` is a
    ///   conflict if it was chosen (by `set`, or assigned a value other than
    ///   the default); otherwise it is raised to that sum.
    /// - `retry.backoff.max.ms` below `retry.backoff.ms` is raised to it,
    ///   making the backoff constant; likewise `reconnect.backoff.max.ms`.
    /// - SASL (`security.protocol` `SASL_*`) needs `sasl.username` and
    ///   `sasl.password` (or `sasl.jaas.config`): otherwise
    ///   [`ConfigError::Missing`].
    ///
    /// Validating again after success changes nothing more. Errors never show
    /// the password.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        if self.bootstrap_servers.is_empty() {
            return Err(ConfigError::Missing {
                key: Key::BootstrapServers.name(),
            });
        }
        for (key, n) in [
            (Key::MaxInFlight, self.max_in_flight_requests_per_connection),
            (Key::MaxRequestSize, self.max_request_size),
            (Key::BufferMemory, self.buffer_memory),
        ] {
            if n == 0 {
                return Err(invalid_value(key, "0", "must be at least 1"));
            }
        }
        if self.metadata_max_idle < Duration::from_millis(METADATA_MAX_IDLE_MIN_MS.unsigned_abs()) {
            return Err(invalid_value(
                Key::MetadataMaxIdleMs,
                &self.metadata_max_idle.as_millis().to_string(),
                format!("must be at least {METADATA_MAX_IDLE_MIN_MS}"),
            ));
        }
        if !self.compression_type.is_enabled() {
            return Err(invalid_value(
                Key::CompressionType,
                self.compression_type.name(),
                "the codec's cargo feature of kafka-proto is not enabled",
            ));
        }
        let mechanism = parse_sasl_mechanism(&self.sasl_mechanism)
            .map_err(|reason| invalid_value(Key::SaslMechanism, &self.sasl_mechanism, reason))?;
        self.sasl_mechanism = mechanism.to_owned();
        if self.transactional_id.as_deref() == Some("") {
            return Err(invalid_value(Key::TransactionalId, "", "must not be empty"));
        }

        self.settle_idempotence()?;

        let floor = self.linger.saturating_add(self.request_timeout);
        if self.delivery_timeout < floor {
            let chosen = self.explicit.contains(&Key::DeliveryTimeoutMs)
                || self.delivery_timeout != DEFAULT_DELIVERY_TIMEOUT;
            if chosen {
                return Err(ConfigError::Conflict {
                    reason: format!(
                        "delivery.timeout.ms ({} ms) must be at least linger.ms + \
                         request.timeout.ms ({} ms)",
                        self.delivery_timeout.as_millis(),
                        floor.as_millis()
                    ),
                });
            }
            self.delivery_timeout = floor;
        }
        self.retry_backoff_max = self.retry_backoff_max.max(self.retry_backoff);
        self.reconnect_backoff_max = self.reconnect_backoff_max.max(self.reconnect_backoff);

        if self.security_protocol.uses_sasl() && self.sasl_mechanism != "OAUTHBEARER" {
            if self.sasl_username.as_ref().is_none_or(String::is_empty) {
                return Err(ConfigError::Missing {
                    key: Key::SaslUsername.name(),
                });
            }
            if self.sasl_password.as_ref().is_none_or(|p| p.0.is_empty()) {
                return Err(ConfigError::Missing {
                    key: Key::SaslPassword.name(),
                });
            }
        }
        Ok(())
    }

    /// The idempotence and transactional.id rules of
    /// [`validate`](Self::validate).
    fn settle_idempotence(&mut self) -> Result<(), ConfigError> {
        if self.enable_idempotence {
            // Java checks in this order and reports the first.
            let conflict = if self.retries == 0 {
                Some((
                    "retries is 0",
                    "enable.idempotence=true needs retries above 0, but retries=0".to_owned(),
                ))
            } else if self.acks != Acks::All {
                Some((
                    "acks is not all",
                    format!(
                        "enable.idempotence=true needs acks=all, but acks={}",
                        self.acks
                    ),
                ))
            } else if self.max_in_flight_requests_per_connection > 5 {
                Some((
                    "max.in.flight.requests.per.connection is above 5",
                    format!(
                        "enable.idempotence=true needs max.in.flight.requests.per.connection \
                         at most 5, but it is {}",
                        self.max_in_flight_requests_per_connection
                    ),
                ))
            } else {
                None
            };
            if let Some((because, reason)) = conflict {
                if self.explicit.contains(&Key::EnableIdempotence) {
                    return Err(ConfigError::Conflict { reason });
                }
                self.enable_idempotence = false;
                self.idempotence_disabled_because = Some(because);
            }
        }
        if self.transactional_id.is_some() && !self.enable_idempotence {
            let reason = match self.idempotence_disabled_because {
                Some(because) => format!(
                    "transactional.id needs idempotence, which is off because {because} \
                     (enable.idempotence left at its default)"
                ),
                None => {
                    "transactional.id needs enable.idempotence=true, but it is false".to_owned()
                }
            };
            return Err(ConfigError::Conflict { reason });
        }
        Ok(())
    }
}

/// Reads an integer property within `min..=max`.
fn parse_int(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|e: std::num::ParseIntError| match e.kind() {
            IntErrorKind::PosOverflow => format!("out of range: must be at most {max}"),
            IntErrorKind::NegOverflow => "must not be negative".to_owned(),
            _ => "expected a whole number".to_owned(),
        })?;
    if n < min {
        return Err(if min == 0 {
            "must not be negative".to_owned()
        } else {
            format!("must be at least {min}")
        });
    }
    if n > max {
        return Err(format!("out of range: must be at most {max}"));
    }
    Ok(n)
}

/// Reads a `*.ms` property.
fn parse_ms(value: &str, min: i64, max: i64) -> Result<Duration, String> {
    // `min` is never negative, so the magnitude is the value.
    Ok(Duration::from_millis(
        parse_int(value, min, max)?.unsigned_abs(),
    ))
}

/// Reads a size or count property.
fn parse_size(value: &str, min: i64, max: i64) -> Result<usize, String> {
    usize::try_from(parse_int(value, min, max)?.unsigned_abs())
        .map_err(|_| "too large for this platform".to_owned())
}

/// Reads a boolean as Java does: `true` or `false`, any case.
fn parse_bool(value: &str) -> Result<bool, String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("expected true or false".to_owned())
    }
}

fn parse_acks(value: &str) -> Result<Acks, String> {
    match value.trim() {
        "0" => Ok(Acks::None),
        "1" => Ok(Acks::Leader),
        "-1" => Ok(Acks::All),
        v if v.eq_ignore_ascii_case("all") => Ok(Acks::All),
        _ => Err("expected all, -1, 1 or 0".to_owned()),
    }
}

fn parse_compression(value: &str) -> Result<Compression, String> {
    let codec = Compression::from_name(value.trim())
        .ok_or_else(|| "expected none, gzip, snappy, lz4 or zstd".to_owned())?;
    if !codec.is_enabled() {
        return Err(format!(
            "kafka-proto was built without its {} feature",
            codec.name()
        ));
    }
    Ok(codec)
}

fn parse_partitioner(value: &str) -> Result<PartitionerChoice, String> {
    match value.trim() {
        // Java 4.x's default is "no class"; an empty value in a properties
        // file means the same.
        "" => Ok(PartitionerChoice::Default),
        v if v.eq_ignore_ascii_case("default") => Ok(PartitionerChoice::Default),
        v if v.eq_ignore_ascii_case("round_robin") || v.eq_ignore_ascii_case("roundrobin") => {
            Ok(PartitionerChoice::RoundRobin)
        }
        "org.apache.kafka.clients.producer.RoundRobinPartitioner" => {
            Ok(PartitionerChoice::RoundRobin)
        }
        // Removed in Kafka 4.0, but its behaviour is the built-in one, so
        // property files from 3.x keep working.
        "org.apache.kafka.clients.producer.internals.DefaultPartitioner" => {
            Ok(PartitionerChoice::Default)
        }
        "org.apache.kafka.clients.producer.UniformStickyPartitioner" => Err(
            "removed in Kafka 4.0: use partitioner.ignore.keys=true for the same behaviour"
                .to_owned(),
        ),
        _ => Err(
            "expected default or round_robin (a custom partitioner is given in code)".to_owned(),
        ),
    }
}

fn parse_security_protocol(value: &str) -> Result<SecurityProtocol, String> {
    let value = value.trim();
    [
        SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ]
    .into_iter()
    .find(|p| p.name().eq_ignore_ascii_case(value))
    .ok_or_else(|| "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL".to_owned())
}

/// The canonical (upper-case) name of a supported SASL mechanism.
fn parse_sasl_mechanism(value: &str) -> Result<&'static str, String> {
    let value = value.trim();
    SASL_MECHANISMS
        .into_iter()
        .find(|m| m.eq_ignore_ascii_case(value))
        .ok_or_else(|| {
            "supported mechanisms: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER".to_owned()
        })
}

/// Parses a comma-separated `bootstrap.servers` list; empty entries are
/// skipped, as Java's list type does.
fn parse_bootstrap(value: &str) -> Result<Vec<BrokerAddress>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(parse_address)
        .collect()
}

/// Parses `host:port`, `[ipv6]:port`, optionally after a listener prefix
/// such as `SASL_SSL://`, which Java and librdkafka both tolerate.
fn parse_address(entry: &str) -> Result<BrokerAddress, String> {
    let address = entry.split_once("://").map_or(entry, |(_, rest)| rest);
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{entry:?}: '[' without ']'"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| format!("{entry:?}: expected :port after ']'"))?;
        let ipv6 = |c: char| c.is_ascii_hexdigit() || matches!(c, ':' | '.');
        // A zone id (`%eth0`) may follow the address.
        let (addr, zone) = host.split_once('%').unwrap_or((host, ""));
        if !addr.contains(':')
            || !addr.chars().all(ipv6)
            || !zone.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!("{entry:?}: not an IPv6 address in brackets"));
        }
        (host, port)
    } else {
        let (host, port) = address
            .rsplit_once(':')
            .ok_or_else(|| format!("{entry:?}: expected host:port"))?;
        if host.contains(':') {
            return Err(format!(
                "{entry:?}: an IPv6 address goes in brackets, as [::1]:9092"
            ));
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            return Err(format!("{entry:?}: not a host name or IPv4 address"));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(format!("{entry:?}: empty host"));
    }
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{entry:?}: port is not a number"));
    }
    let port = match port.parse::<u16>() {
        Ok(0) | Err(_) => return Err(format!("{entry:?}: port must be 1 to 65535")),
        Ok(port) => port,
    };
    Ok(BrokerAddress {
        host: host.to_owned(),
        port,
    })
}

/// The credentials in a `sasl.jaas.config` line.
struct JaasLogin {
    username: String,
    password: String,
}

/// What a `sasl.jaas.config` line gives.
enum Jaas {
    /// PLAIN or SCRAM credentials.
    Password(JaasLogin),
    /// `OAuthBearerLoginModule`: unsecured tokens when its `unsecuredLogin*`
    /// options are there, otherwise a token provider is needed.
    OAuthBearer(Option<UnsecuredLogin>),
}

/// The options of Java's unsecured OAUTHBEARER login
/// (`OAuthBearerUnsecuredLoginCallbackHandler`): the token is an unsigned
/// JWS (`alg: none`) with these claims, made by the runtime crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsecuredLogin {
    /// `unsecuredLoginStringClaim_sub`: the principal.
    pub principal: String,
    /// `unsecuredLoginLifetimeSeconds` (default 3600).
    pub lifetime: Duration,
    /// `unsecuredLoginListClaim_scope` (space separated), if given.
    pub scope: Vec<String>,
    /// `unsecuredLoginExtension_<name>`: SASL extensions (KIP-342).
    pub extensions: Vec<(String, String)>,
}

/// Java's OAUTHBEARER login module.
const OAUTHBEARER_LOGIN_MODULE: &str =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";

/// The login modules whose `username` and `password` options are the SASL
/// credentials.
const JAAS_LOGIN_MODULES: [&str; 2] = [
    "org.apache.kafka.common.security.plain.PlainLoginModule",
    "org.apache.kafka.common.security.scram.ScramLoginModule",
];

/// One token of a JAAS configuration entry.
#[derive(Debug, PartialEq, Eq)]
enum JaasToken {
    /// A bare word: a class name, a flag, an option name or value.
    Word(String),
    /// A double-quoted string, escapes resolved.
    Quoted(String),
    Equals,
    Semicolon,
}

/// Splits a JAAS entry into tokens. Error messages never quote the input:
/// it holds a password.
fn jaas_tokens(value: &str) -> Result<Vec<JaasToken>, String> {
    let mut tokens = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '=' => tokens.push(JaasToken::Equals),
            ';' => tokens.push(JaasToken::Semicolon),
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a quoted value is not closed".to_owned()),
                        Some('"') => break,
                        // As in Java's JAAS parser, a backslash takes the next
                        // character literally, so `\"` and `\\` can be quoted.
                        Some('\\') => match chars.next() {
                            Some(escaped) => s.push(escaped),
                            None => return Err("a quoted value is not closed".to_owned()),
                        },
                        Some(c) => s.push(c),
                    }
                }
                tokens.push(JaasToken::Quoted(s));
            }
            c => {
                let mut s = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || matches!(next, '=' | ';' | '"') {
                        break;
                    }
                    s.push(next);
                    chars.next();
                }
                tokens.push(JaasToken::Word(s));
            }
        }
    }
    Ok(tokens)
}

/// Reads `LoginModule flag option="value" ...;`, the one entry Java allows
/// in `sasl.jaas.config`, for the PLAIN, SCRAM or OAUTHBEARER login module.
fn parse_jaas(value: &str) -> Result<Jaas, String> {
    let mut tokens = jaas_tokens(value)?.into_iter();
    let oauth = match tokens.next() {
        Some(JaasToken::Word(module)) if JAAS_LOGIN_MODULES.contains(&module.as_str()) => false,
        Some(JaasToken::Word(module)) if module == OAUTHBEARER_LOGIN_MODULE => true,
        _ => {
            return Err(format!(
                "expected a JAAS entry for {}, {} or {OAUTHBEARER_LOGIN_MODULE}",
                JAAS_LOGIN_MODULES[0], JAAS_LOGIN_MODULES[1]
            ));
        }
    };
    match tokens.next() {
        Some(JaasToken::Word(flag))
            if ["required", "requisite", "sufficient", "optional"]
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&flag)) => {}
        _ => return Err("expected the control flag (required) after the login module".to_owned()),
    }
    let mut username = None;
    let mut password = None;
    let mut options: Vec<(String, String)> = Vec::new();
    loop {
        let name = match tokens.next() {
            Some(JaasToken::Semicolon) => break,
            Some(JaasToken::Word(name)) => name,
            _ => return Err("expected name=\"value\" options ending with ';'".to_owned()),
        };
        if tokens.next() != Some(JaasToken::Equals) {
            return Err("expected '=' after an option name".to_owned());
        }
        let option = match tokens.next() {
            Some(JaasToken::Word(v) | JaasToken::Quoted(v)) => v,
            _ => return Err("expected a value after '='".to_owned()),
        };
        // Other options (SCRAM's tokenauth, say) do not concern the client's
        // credentials.
        match name.as_str() {
            "username" => username = Some(option),
            "password" => password = Some(option),
            _ => options.push((name, option)),
        }
    }
    if tokens.next().is_some() {
        return Err("expected exactly one login module entry".to_owned());
    }
    if oauth {
        return unsecured_login(&options).map(Jaas::OAuthBearer);
    }
    match (username, password) {
        (Some(username), Some(password)) if !username.is_empty() && !password.is_empty() => {
            Ok(Jaas::Password(JaasLogin { username, password }))
        }
        (None, _) => Err("no username option".to_owned()),
        (_, None) => Err("no password option".to_owned()),
        _ => Err("username and password must not be empty".to_owned()),
    }
}

/// The unsecured-token options of an `OAuthBearerLoginModule` entry, if any.
fn unsecured_login(options: &[(String, String)]) -> Result<Option<UnsecuredLogin>, String> {
    let mut login = UnsecuredLogin {
        principal: String::new(),
        lifetime: Duration::from_secs(3600),
        scope: Vec::new(),
        extensions: Vec::new(),
    };
    let mut unsecured = false;
    for (name, value) in options {
        if let Some(extension) = name.strip_prefix("unsecuredLoginExtension_") {
            // RFC 7628: a key is ALPHA+, and "auth" is reserved.
            if extension.is_empty()
                || extension == "auth"
                || !extension.bytes().all(|b| b.is_ascii_alphabetic())
            {
                return Err(format!("invalid SASL extension name {extension:?}"));
            }
            login.extensions.push((extension.to_owned(), value.clone()));
            unsecured = true;
            continue;
        }
        match name.as_str() {
            "unsecuredLoginStringClaim_sub" => {
                login.principal = value.clone();
                unsecured = true;
            }
            "unsecuredLoginLifetimeSeconds" => {
                let secs: u64 = value
                    .parse()
                    .map_err(|_| "unsecuredLoginLifetimeSeconds must be a number".to_owned())?;
                login.lifetime = Duration::from_secs(secs);
                unsecured = true;
            }
            "unsecuredLoginListClaim_scope" => {
                login.scope = value.split_whitespace().map(str::to_owned).collect();
                unsecured = true;
            }
            _ => {}
        }
    }
    if !unsecured {
        return Ok(None);
    }
    if login.principal.is_empty() {
        return Err(
            "the unsecured OAUTHBEARER login needs unsecuredLoginStringClaim_sub".to_owned(),
        );
    }
    Ok(Some(login))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "hunter2-Sup3rSecret";

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A config that validates as is.
    fn base() -> ProducerConfig {
        let mut c = ProducerConfig::default();
        c.set("bootstrap.servers", "localhost:9092").unwrap();
        c
    }

    #[test]
    fn defaults_are_the_java_ones() {
        let c = ProducerConfig::default();
        assert!(c.bootstrap_servers.is_empty());
        assert_eq!(c.client_id, "kafka-producer-rs");
        assert_eq!(c.acks, Acks::All);
        assert!(c.enable_idempotence);
        assert_eq!(c.linger, ms(5));
        assert_eq!(c.batch_size, 16_384);
        assert_eq!(c.buffer_memory, 33_554_432);
        assert_eq!(c.max_block, ms(60_000));
        assert_eq!(c.max_in_flight_requests_per_connection, 5);
        assert_eq!(c.retries, 2_147_483_647);
        assert_eq!(c.delivery_timeout, ms(120_000));
        assert_eq!(c.request_timeout, ms(30_000));
        assert_eq!(c.retry_backoff, ms(100));
        assert_eq!(c.retry_backoff_max, ms(1_000));
        assert_eq!(c.reconnect_backoff, ms(50));
        assert_eq!(c.reconnect_backoff_max, ms(1_000));
        assert_eq!(c.socket_connection_setup_timeout, ms(10_000));
        assert_eq!(c.metadata_max_age, ms(300_000));
        assert_eq!(c.metadata_max_idle, ms(300_000));
        assert_eq!(c.max_request_size, 1_048_576);
        assert_eq!(c.compression_type, Compression::None);
        assert_eq!(c.partitioner, PartitionerChoice::Default);
        assert!(!c.partitioner_ignore_keys);
        assert_eq!(c.transactional_id, None);
        assert_eq!(c.transaction_timeout, ms(60_000));
        assert_eq!(c.security_protocol, SecurityProtocol::Plaintext);
        assert_eq!(c.sasl_mechanism, "PLAIN");
        assert_eq!(c.sasl_username, None);
        assert_eq!(c.sasl_password, None);
        assert_eq!(c.idempotence_disabled_because(), None);
        assert!(!c.is_explicit("linger.ms"));
        // The defaults need only a broker to be valid, and validating them
        // changes nothing.
        let mut v = base();
        v.validate().unwrap();
        assert!(v.enable_idempotence);
        assert_eq!(v.delivery_timeout, ms(120_000));
        assert_eq!(v.retry_backoff_max, ms(1_000));
    }

    /// A property, a good value with what it must do, and a bad value.
    type Case = (
        &'static str,
        &'static str,
        fn(&ProducerConfig) -> bool,
        Option<&'static str>,
    );

    #[test]
    fn every_key_takes_a_good_value_and_refuses_a_bad_one() {
        let cases: &[Case] = &[
            (
                "bootstrap.servers",
                " a:1 , [::1]:9093,",
                |c| c.bootstrap_servers.len() == 2 && c.bootstrap_servers[1].host == "::1",
                Some("a:0"),
            ),
            (
                "metadata.broker.list",
                "b:2",
                |c| c.bootstrap_servers[0].port == 2,
                Some("b"),
            ),
            ("client.id", "me", |c| c.client_id == "me", None),
            ("acks", "1", |c| c.acks == Acks::Leader, Some("2")),
            (
                "request.required.acks",
                "0",
                |c| c.acks == Acks::None,
                Some("none"),
            ),
            (
                "enable.idempotence",
                "FALSE",
                |c| !c.enable_idempotence,
                Some("yes"),
            ),
            ("linger.ms", "10", |c| c.linger == ms(10), Some("-1")),
            (
                "queue.buffering.max.ms",
                "11",
                |c| c.linger == ms(11),
                Some("1.5"),
            ),
            ("batch.size", "0", |c| c.batch_size == 0, Some("2147483648")),
            (
                "buffer.memory",
                "1000",
                |c| c.buffer_memory == 1000,
                Some("1k"),
            ),
            ("max.block.ms", "1", |c| c.max_block == ms(1), Some("-5")),
            (
                "max.in.flight.requests.per.connection",
                "1",
                |c| c.max_in_flight_requests_per_connection == 1,
                Some("0"),
            ),
            (
                "max.in.flight",
                "7",
                |c| c.max_in_flight_requests_per_connection == 7,
                Some("x"),
            ),
            ("retries", "0", |c| c.retries == 0, Some("-1")),
            (
                "message.send.max.retries",
                "3",
                |c| c.retries == 3,
                Some("2147483648"),
            ),
            (
                "delivery.timeout.ms",
                "200000",
                |c| c.delivery_timeout == ms(200_000),
                Some("2147483648"),
            ),
            (
                "message.timeout.ms",
                "300000",
                |c| c.delivery_timeout == ms(300_000),
                Some("-3"),
            ),
            (
                "request.timeout.ms",
                "100",
                |c| c.request_timeout == ms(100),
                Some(""),
            ),
            (
                "retry.backoff.ms",
                "2",
                |c| c.retry_backoff == ms(2),
                Some("x"),
            ),
            (
                "retry.backoff.max.ms",
                "3",
                |c| c.retry_backoff_max == ms(3),
                Some("-1"),
            ),
            (
                "reconnect.backoff.ms",
                "4",
                |c| c.reconnect_backoff == ms(4),
                Some("x"),
            ),
            (
                "reconnect.backoff.max.ms",
                "5",
                |c| c.reconnect_backoff_max == ms(5),
                Some("-1"),
            ),
            (
                "socket.connection.setup.timeout.ms",
                "6",
                |c| c.socket_connection_setup_timeout == ms(6),
                Some("x"),
            ),
            (
                "metadata.max.age.ms",
                "7",
                |c| c.metadata_max_age == ms(7),
                Some("x"),
            ),
            (
                "metadata.max.idle.ms",
                "5000",
                |c| c.metadata_max_idle == ms(5000),
                Some("4999"),
            ),
            (
                "max.request.size",
                "10",
                |c| c.max_request_size == 10,
                Some("x"),
            ),
            (
                "compression.type",
                "ZSTD",
                |c| c.compression_type == Compression::Zstd,
                Some("brotli"),
            ),
            (
                "compression.codec",
                "lz4",
                |c| c.compression_type == Compression::Lz4,
                Some("lz5"),
            ),
            (
                "partitioner.class",
                "org.apache.kafka.clients.producer.RoundRobinPartitioner",
                |c| c.partitioner == PartitionerChoice::RoundRobin,
                Some("com.example.MyPartitioner"),
            ),
            (
                "partitioner.ignore.keys",
                "true",
                |c| c.partitioner_ignore_keys,
                Some("1"),
            ),
            (
                "transactional.id",
                "tx-1",
                |c| c.transactional_id.as_deref() == Some("tx-1"),
                Some(""),
            ),
            (
                "transaction.timeout.ms",
                "9",
                |c| c.transaction_timeout == ms(9),
                Some("x"),
            ),
            (
                "security.protocol",
                "sasl_ssl",
                |c| c.security_protocol == SecurityProtocol::SaslSsl,
                Some("TLS"),
            ),
            (
                "sasl.mechanism",
                "scram-sha-512",
                |c| c.sasl_mechanism == "SCRAM-SHA-512",
                Some("GSSAPI"),
            ),
            (
                "sasl.mechanisms",
                "SCRAM-SHA-256",
                |c| c.sasl_mechanism == "SCRAM-SHA-256",
                Some("GSSAPI"),
            ),
            (
                "sasl.username",
                "alice",
                |c| c.sasl_username.as_deref() == Some("alice"),
                Some(""),
            ),
            (
                "sasl.password",
                PASSWORD,
                |c| c.sasl_password.as_ref().map(Secret::expose) == Some(PASSWORD),
                Some(""),
            ),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required \
                 username=\"bob\" password=\"pw\";",
                |c| {
                    c.sasl_username.as_deref() == Some("bob")
                        && c.sasl_password.as_ref().map(Secret::expose) == Some("pw")
                },
                Some("nonsense"),
            ),
        ];
        // The table covers every property `set` takes.
        for (name, _) in KEYS {
            assert!(cases.iter().any(|case| case.0 == *name), "{name} untested");
        }
        for &(key, good, check, bad) in cases {
            let mut c = ProducerConfig::default();
            assert!(!c.is_explicit(key));
            c.set(key, good)
                .unwrap_or_else(|e| panic!("{key}={good}: {e}"));
            assert!(check(&c), "{key}={good} did not land");
            assert!(c.is_explicit(key), "{key}");
            // Free-form strings (only client.id) have no bad value.
            let Some(bad) = bad else { continue };
            match c.set(key, bad) {
                Err(ConfigError::InvalidValue { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}={bad:?}: {other:?}"),
            }
            // A refused value changes nothing.
            assert!(check(&c), "{key}={bad:?} changed the setting");
        }
        assert_eq!(
            ProducerConfig::default().set("linger", "5"),
            Err(ConfigError::UnknownKey {
                key: "linger".into()
            })
        );
        // Java's names are case-sensitive.
        assert!(matches!(
            ProducerConfig::default().set("LINGER.MS", "5"),
            Err(ConfigError::UnknownKey { .. })
        ));
    }

    #[test]
    fn aliases_share_the_java_setting() {
        let mut c = ProducerConfig::default();
        c.set("queue.buffering.max.ms", "7").unwrap();
        assert!(c.is_explicit("linger.ms") && c.is_explicit("queue.buffering.max.ms"));
        c.set("message.timeout.ms", "1").unwrap();
        assert!(c.is_explicit("delivery.timeout.ms"));
        c.set("compression.codec", "gzip").unwrap();
        assert_eq!(c.compression_type, Compression::Gzip);
        c.set(
            "metadata.broker.list",
            "PLAINTEXT://h1:1,SASL_SSL://[fe80::1%eth0]:2",
        )
        .unwrap();
        assert_eq!(
            c.bootstrap_servers,
            [
                BrokerAddress {
                    host: "h1".into(),
                    port: 1
                },
                BrokerAddress {
                    host: "fe80::1%eth0".into(),
                    port: 2
                }
            ]
        );
        assert!(c.is_explicit("bootstrap.servers"));
        // Explicitly set through the alias, so too small is an error.
        assert!(matches!(c.validate(), Err(ConfigError::Conflict { .. })));
    }

    #[test]
    fn numbers_are_ranged_like_java_types() {
        let mut c = ProducerConfig::default();
        c.set("linger.ms", " 9223372036854775807 ").unwrap();
        assert_eq!(c.linger, ms(i64::MAX.unsigned_abs()));
        c.set("retries", "+2147483647").unwrap();
        assert_eq!(c.retries, 2_147_483_647);
        for (key, value, reason) in [
            ("linger.ms", "9223372036854775808", "out of range"),
            ("linger.ms", "-9223372036854775809", "negative"),
            ("request.timeout.ms", "2147483648", "out of range"),
            ("retries", "4294967296", "out of range"),
            ("batch.size", "-1", "negative"),
            ("max.in.flight.requests.per.connection", "0", "at least 1"),
            ("metadata.max.idle.ms", "100", "at least 5000"),
            ("max.block.ms", "5s", "whole number"),
        ] {
            match c.set(key, value) {
                Err(ConfigError::InvalidValue { reason: r, .. }) => {
                    assert!(r.contains(reason), "{key}={value}: {r}")
                }
                other => panic!("{key}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn bootstrap_servers_parse() {
        let c = ProducerConfig::from_properties([(
            "bootstrap.servers",
            "kafka-1.example.com:9092,10.0.0.1:19092,[::1]:9093,[2001:db8::7]:65535",
        )])
        .unwrap();
        let shown: Vec<String> = c
            .bootstrap_servers
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "kafka-1.example.com:9092",
                "10.0.0.1:19092",
                "[::1]:9093",
                "[2001:db8::7]:65535"
            ]
        );
        assert_eq!(c.bootstrap_servers[2].host, "::1");
        assert_eq!(
            "[::1]:1".parse::<BrokerAddress>(),
            Ok(BrokerAddress {
                host: "::1".into(),
                port: 1
            })
        );
        for bad in [
            "h",
            "h:",
            "h:0",
            "h:65536",
            "h:-1",
            "h:+1",
            "h:x",
            ":9092",
            "::1:9092",
            "[::1]",
            "[::1]9092",
            "[::1:9092",
            "[]:9092",
            "[host]:9092",
            "bad host:9092",
            "a:1,b",
        ] {
            let e = ProducerConfig::default()
                .set("bootstrap.servers", bad)
                .unwrap_err();
            assert!(
                matches!(&e, ConfigError::InvalidValue { key, .. } if key == "bootstrap.servers"),
                "{bad}: {e:?}"
            );
            assert!(bad.parse::<BrokerAddress>().is_err(), "{bad}");
        }
        // An empty list is accepted by `set`, refused by `validate`.
        let mut c = ProducerConfig::default();
        c.set("bootstrap.servers", " , ").unwrap();
        assert_eq!(
            c.validate(),
            Err(ConfigError::Missing {
                key: "bootstrap.servers"
            })
        );
    }

    #[test]
    fn enum_values_parse_and_print() {
        assert_eq!("ALL".parse::<Acks>(), Ok(Acks::All));
        assert_eq!("-1".parse::<Acks>(), Ok(Acks::All));
        assert_eq!(Acks::All.as_i16(), -1);
        assert_eq!(Acks::Leader.as_i16(), 1);
        assert_eq!(Acks::None.as_i16(), 0);
        assert_eq!(Acks::All.to_string(), "all");
        assert!(matches!(
            "2".parse::<Acks>(),
            Err(ConfigError::InvalidValue { key, .. }) if key == "acks"
        ));
        for p in [
            "default",
            "",
            "org.apache.kafka.clients.producer.internals.DefaultPartitioner",
        ] {
            assert_eq!(
                p.parse::<PartitionerChoice>(),
                Ok(PartitionerChoice::Default),
                "{p}"
            );
        }
        for p in ["round_robin", "RoundRobin"] {
            assert_eq!(
                p.parse::<PartitionerChoice>(),
                Ok(PartitionerChoice::RoundRobin)
            );
        }
        match "org.apache.kafka.clients.producer.UniformStickyPartitioner"
            .parse::<PartitionerChoice>()
        {
            Err(ConfigError::InvalidValue { reason, .. }) => {
                assert!(reason.contains("partitioner.ignore.keys"))
            }
            other => panic!("{other:?}"),
        }
        for (name, p, tls, sasl) in [
            ("plaintext", SecurityProtocol::Plaintext, false, false),
            ("Ssl", SecurityProtocol::Ssl, true, false),
            (
                "SASL_PLAINTEXT",
                SecurityProtocol::SaslPlaintext,
                false,
                true,
            ),
            ("sasl_ssl", SecurityProtocol::SaslSsl, true, true),
        ] {
            assert_eq!(name.parse::<SecurityProtocol>(), Ok(p));
            assert_eq!(p.to_string(), name.to_ascii_uppercase());
            assert_eq!((p.uses_tls(), p.uses_sasl()), (tls, sasl), "{name}");
        }
    }

    #[test]
    fn explicit_idempotence_conflicts_and_default_idempotence_yields() {
        for (key, value, because) in [
            ("acks", "1", "acks is not all"),
            ("acks", "0", "acks is not all"),
            (
                "max.in.flight.requests.per.connection",
                "6",
                "max.in.flight",
            ),
            ("retries", "0", "retries is 0"),
        ] {
            let mut c = base();
            c.set("enable.idempotence", "true").unwrap();
            c.set(key, value).unwrap();
            match c.validate() {
                Err(ConfigError::Conflict { reason }) => {
                    assert!(reason.contains("enable.idempotence"), "{reason}");
                    assert!(reason.contains(key), "{reason}");
                }
                other => panic!("{key}={value}: {other:?}"),
            }

            let mut c = base();
            c.set(key, value).unwrap();
            c.validate().unwrap();
            assert!(!c.enable_idempotence, "{key}={value}");
            assert!(
                c.idempotence_disabled_because().unwrap().contains(because),
                "{key}={value}"
            );
            // Settled: validating again is fine and keeps the reason.
            c.validate().unwrap();
            assert!(c.idempotence_disabled_because().is_some());
        }
        // Explicitly off: no limits apply.
        let mut c = base();
        c.set("enable.idempotence", "false").unwrap();
        c.set("max.in.flight.requests.per.connection", "10")
            .unwrap();
        c.set("acks", "1").unwrap();
        c.validate().unwrap();
        assert!(!c.enable_idempotence);
        assert_eq!(c.idempotence_disabled_because(), None);
    }

    #[test]
    fn oauthbearer_takes_java_s_unsecured_login_and_needs_no_password() {
        let mut c = base();
        c.set("security.protocol", "SASL_PLAINTEXT").unwrap();
        c.set("sasl.mechanism", "oauthbearer").unwrap();
        c.set(
            "sasl.jaas.config",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
             unsecuredLoginStringClaim_sub=\"alice\" unsecuredLoginLifetimeSeconds=\"120\" \
             unsecuredLoginListClaim_scope=\"read write\" unsecuredLoginExtension_traceId=\"t1\";",
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.sasl_mechanism, "OAUTHBEARER");
        let login = c.sasl_oauthbearer_unsecured.clone().unwrap();
        assert_eq!(login.principal, "alice");
        assert_eq!(login.lifetime, Duration::from_secs(120));
        assert_eq!(login.scope, ["read", "write"]);
        assert_eq!(login.extensions, [("traceId".to_owned(), "t1".to_owned())]);
        // Without unsecured options the module needs a token provider (no login here).
        let mut c = base();
        c.set(
            "sasl.jaas.config",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
        )
        .unwrap();
        assert_eq!(c.sasl_oauthbearer_unsecured, None);
        // An unsecured login without a principal, or a reserved extension, is refused.
        let mut c = base();
        assert!(
            c.set(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
                 unsecuredLoginLifetimeSeconds=\"60\";",
            )
            .is_err()
        );
        assert!(
            c.set(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
                 unsecuredLoginStringClaim_sub=\"a\" unsecuredLoginExtension_auth=\"x\";",
            )
            .is_err()
        );
    }

    #[test]
    fn transactional_id_needs_idempotence() {
        let mut c = base();
        c.set("transactional.id", "tx").unwrap();
        c.validate().unwrap();
        assert!(c.enable_idempotence);

        let mut c = base();
        c.set("enable.idempotence", "false").unwrap();
        c.set("transactional.id", "tx").unwrap();
        match c.validate() {
            Err(ConfigError::Conflict { reason }) => {
                assert!(
                    reason.contains("transactional.id") && reason.contains("enable.idempotence")
                )
            }
            other => panic!("{other:?}"),
        }

        // Idempotence turned off implicitly is just as fatal to transactions.
        let mut c = base();
        c.set("transactional.id", "tx").unwrap();
        c.set("acks", "1").unwrap();
        match c.validate() {
            Err(ConfigError::Conflict { reason }) => {
                assert!(reason.contains("transactional.id") && reason.contains("acks"))
            }
            other => panic!("{other:?}"),
        }

        let mut c = base();
        c.transactional_id = Some(String::new());
        assert!(matches!(
            c.validate(),
            Err(ConfigError::InvalidValue { .. })
        ));
    }

    #[test]
    fn delivery_timeout_must_cover_linger_and_request_timeout() {
        // Chosen and too small: refused.
        let mut c = base();
        c.set("delivery.timeout.ms", "30004").unwrap();
        match c.validate() {
            Err(ConfigError::Conflict { reason }) => {
                assert!(reason.contains("delivery.timeout.ms") && reason.contains("30005"))
            }
            other => panic!("{other:?}"),
        }
        // Exactly the sum is enough.
        let mut c = base();
        c.set("delivery.timeout.ms", "30005").unwrap();
        c.validate().unwrap();
        assert_eq!(c.delivery_timeout, ms(30_005));
        // Assigned in code counts as chosen.
        let mut c = base();
        c.delivery_timeout = ms(1_000);
        assert!(matches!(c.validate(), Err(ConfigError::Conflict { .. })));
        // Left at the default: raised to the sum.
        let mut c = base();
        c.set("request.timeout.ms", "200000").unwrap();
        c.set("linger.ms", "50").unwrap();
        c.validate().unwrap();
        assert_eq!(c.delivery_timeout, ms(200_050));
        // Huge values saturate rather than overflow.
        let mut c = base();
        c.linger = Duration::MAX;
        c.request_timeout = Duration::MAX;
        c.validate().unwrap();
        assert_eq!(c.delivery_timeout, Duration::MAX);
    }

    #[test]
    fn backoff_maxima_are_raised_to_the_backoff() {
        let mut c = base();
        c.set("retry.backoff.ms", "5000").unwrap();
        c.set("reconnect.backoff.ms", "3000").unwrap();
        c.validate().unwrap();
        assert_eq!(c.retry_backoff_max, ms(5_000));
        assert_eq!(c.reconnect_backoff_max, ms(3_000));
        let mut c = base();
        c.set("retry.backoff.max.ms", "10").unwrap();
        c.validate().unwrap();
        assert_eq!((c.retry_backoff, c.retry_backoff_max), (ms(100), ms(100)));
    }

    #[test]
    fn sizes_and_limits_are_checked() {
        let mut c = base();
        c.set("batch.size", "0").unwrap();
        c.validate().unwrap();
        for (key, set) in [
            (
                "max.in.flight.requests.per.connection",
                (|c: &mut ProducerConfig| c.max_in_flight_requests_per_connection = 0)
                    as fn(&mut ProducerConfig),
            ),
            ("max.request.size", |c| c.max_request_size = 0),
            ("buffer.memory", |c| c.buffer_memory = 0),
            ("metadata.max.idle.ms", |c| c.metadata_max_idle = ms(4_999)),
            ("sasl.mechanism", |c| c.sasl_mechanism = "GSSAPI".into()),
        ] {
            let mut c = base();
            set(&mut c);
            match c.validate() {
                Err(ConfigError::InvalidValue { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}: {other:?}"),
            }
        }
        // A mechanism assigned in lower case is normalised.
        let mut c = base();
        c.sasl_mechanism = "scram-sha-256".into();
        c.validate().unwrap();
        assert_eq!(c.sasl_mechanism, "SCRAM-SHA-256");
    }

    #[test]
    fn sasl_needs_credentials() {
        let mut c = base();
        c.set("security.protocol", "SASL_SSL").unwrap();
        assert_eq!(
            c.validate(),
            Err(ConfigError::Missing {
                key: "sasl.username"
            })
        );
        c.set("sasl.username", "alice").unwrap();
        assert_eq!(
            c.validate(),
            Err(ConfigError::Missing {
                key: "sasl.password"
            })
        );
        c.set("sasl.password", PASSWORD).unwrap();
        c.validate().unwrap();
        // Without SASL, no credentials are needed.
        let mut c = base();
        c.set("security.protocol", "SSL").unwrap();
        c.validate().unwrap();
    }

    #[test]
    fn jaas_config_fills_the_credentials() {
        for (line, user, pass) in [
            (
                "org.apache.kafka.common.security.plain.PlainLoginModule required \
                 username=\"alice\" password=\"alice-secret\";",
                "alice",
                "alice-secret",
            ),
            (
                "  org.apache.kafka.common.security.scram.ScramLoginModule required\n\
                 \tpassword = \"p w;=\" username = bob  ;  ",
                "bob",
                "p w;=",
            ),
            (
                "org.apache.kafka.common.security.scram.ScramLoginModule REQUIRED \
                 username=\"carol\" password=\"q\\\"uo\\\\te\" tokenauth=true;",
                "carol",
                "q\"uo\\te",
            ),
        ] {
            let mut c = base();
            c.set("sasl.jaas.config", line)
                .unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(c.sasl_username.as_deref(), Some(user));
            assert_eq!(c.sasl_password.as_ref().map(Secret::expose), Some(pass));
            assert!(c.is_explicit("sasl.jaas.config"));
        }
        let plain = "org.apache.kafka.common.security.plain.PlainLoginModule";
        for (bad, reason) in [
            (format!("{plain} required username=\"u\";"), "no password"),
            (format!("{plain} required password=\"p\";"), "no username"),
            (
                format!("{plain} required username=\"u\" password=\"p\""),
                "ending with ';'",
            ),
            (
                format!("{plain} username=\"u\" password=\"p\";"),
                "control flag",
            ),
            (
                format!("{plain} required username=\"u\" password=\"p;"),
                "not closed",
            ),
            (
                format!("{plain} required username \"u\" password=\"p\";"),
                "'='",
            ),
            (
                format!("{plain} required username=\"\" password=\"p\";"),
                "empty",
            ),
            (
                format!("{plain} required username=\"u\" password=\"p\"; {plain} required;"),
                "exactly one",
            ),
            (
                "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;".into(),
                "JAAS entry",
            ),
            (String::new(), "JAAS entry"),
        ] {
            match base().set("sasl.jaas.config", &bad) {
                Err(ConfigError::InvalidValue {
                    value, reason: r, ..
                }) => {
                    assert_eq!(value, "<redacted>");
                    assert!(r.contains(reason), "{bad}: {r}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_password_never_shows() {
        let mut c = base();
        c.set("security.protocol", "SASL_PLAINTEXT").unwrap();
        c.set(
            "sasl.jaas.config",
            &format!(
                "org.apache.kafka.common.security.scram.ScramLoginModule required \
                 username=\"alice\" password=\"{PASSWORD}\";"
            ),
        )
        .unwrap();
        c.set("sasl.mechanism", "SCRAM-SHA-256").unwrap();
        c.validate().unwrap();
        assert_eq!(c.sasl_password.as_ref().map(Secret::expose), Some(PASSWORD));
        assert!(!format!("{c:?}").contains(PASSWORD));
        assert!(!format!("{c:#?}").contains(PASSWORD));
        assert!(format!("{c:?}").contains("<redacted>"));
        assert_eq!(format!("{:?}", Secret::from(PASSWORD)), "<redacted>");

        let mut errors = vec![
            c.clone().set("sasl.password", "").unwrap_err(),
            c.clone().set("sasl.jaas.config", PASSWORD).unwrap_err(),
            c.clone()
                .set(
                    "sasl.jaas.config",
                    &format!("{PASSWORD} required username=\"a\" password=\"{PASSWORD}\";"),
                )
                .unwrap_err(),
            c.clone()
                .set(
                    "sasl.jaas.config",
                    &format!(
                        "org.apache.kafka.common.security.plain.PlainLoginModule required \
                         password=\"{PASSWORD}\" {PASSWORD}"
                    ),
                )
                .unwrap_err(),
        ];
        let mut conflicting = c.clone();
        conflicting.set("delivery.timeout.ms", "1").unwrap();
        errors.push(conflicting.validate().unwrap_err());
        let mut missing = c.clone();
        missing.sasl_username = None;
        errors.push(missing.validate().unwrap_err());
        for e in &errors {
            assert!(!format!("{e:?}").contains(PASSWORD), "{e:?}");
            assert!(!e.to_string().contains(PASSWORD), "{e}");
            assert!(!e.to_string().contains("Sup3r"), "{e}");
        }
    }

    #[test]
    fn from_properties_sets_in_order_then_validates() {
        let c = ProducerConfig::from_properties([
            ("bootstrap.servers", "a:1"),
            ("linger.ms", "1"),
            ("linger.ms", "20"),
            ("enable.idempotence", "true"),
            ("compression.type", "snappy"),
        ])
        .unwrap();
        assert_eq!(c.linger, ms(20));
        assert_eq!(c.compression_type, Compression::Snappy);
        assert!(matches!(
            ProducerConfig::from_properties([("bootstrap.servers", "a:1"), ("nope", "1")]),
            Err(ConfigError::UnknownKey { .. })
        ));
        assert!(matches!(
            ProducerConfig::from_properties([
                ("bootstrap.servers", "a:1"),
                ("enable.idempotence", "true"),
                ("acks", "1"),
            ]),
            Err(ConfigError::Conflict { .. })
        ));
        assert_eq!(
            ProducerConfig::from_properties([("linger.ms", "1")]).unwrap_err(),
            ConfigError::Missing {
                key: "bootstrap.servers"
            }
        );
    }

    #[test]
    fn errors_display_the_key_and_reason() {
        let e = ProducerConfig::default().set("acks", "2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"2\" for acks: expected all, -1, 1 or 0"
        );
        assert_eq!(
            ConfigError::Missing {
                key: "sasl.username"
            }
            .to_string(),
            "sasl.username must be set"
        );
        let source: &dyn std::error::Error = &e;
        assert!(source.source().is_none());
    }
}
