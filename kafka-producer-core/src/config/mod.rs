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

mod jaas;
mod keys;
mod properties;
#[cfg(test)]
mod tests;
mod values;

pub use jaas::UnsecuredLogin;
use jaas::*;
use keys::*;
pub use keys::{Fate, known_properties, property_fate, property_limits};
pub use properties::{PropertiesError, parse_properties};
use values::*;
pub use values::{Acks, BrokerAddress, PartitionerChoice, Secret, SecurityProtocol};

/// AWS's MSK IAM login callback handler, which
/// `sasl.login.callback.handler.class` may name for MSK IAM tokens.
pub const MSK_IAM_HANDLER: &str = "software.amazon.msk.auth.iam.IAMOAuthBearerLoginCallbackHandler";

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
    /// A property this producer knows but does not support; the reason says
    /// what to use instead ([`Fate::Refused`]).
    Unsupported {
        /// The property name as given.
        key: String,
        /// Why, and what to use instead.
        reason: &'static str,
    },
    /// A `.properties` file could not be read or parsed (the runtime
    /// crates' `ProducerBuilder::properties_file`).
    PropertiesFile {
        /// The file as given.
        path: String,
        /// Why: the I/O error, or the line and what is wrong there.
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
            ConfigError::Unsupported { key, reason } => {
                write!(f, "{key} is not supported: {reason}")
            }
            ConfigError::PropertiesFile { path, reason } => {
                write!(f, "properties file {path}: {reason}")
            }
            ConfigError::Missing { key } => write!(f, "{key} must be set"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A property that was accepted but has no effect ([`Fate::Ignored`]), as
/// [`ProducerConfig::warnings`] lists it; the runtime crates log each one
/// when the producer is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The property name as given.
    pub key: String,
    /// Why it has no effect.
    pub reason: &'static str,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is ignored: {}", self.key, self.reason)
    }
}

/// Why `compression.lz4.level` has no effect in a build without `lz4-hc`.
const LZ4_LEVEL_IGNORED: &str =
    "this build has no lz4-hc feature, so LZ4 is written at lz4_flex's one fast level";
/// Why `compression.zstd.level` has no effect with the pure-Rust zstd.
const ZSTD_LEVEL_IGNORED: &str =
    "this build compresses zstd with ruzstd (feature zstd-pure without zstd), which has one level";

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
    /// `buffer.memory`, in bytes: the buffers of the batches of records
    /// accepted by `send` but without an outcome yet, as allocated (slack
    /// included); beyond it `send` reports the buffer full. Default
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
    /// `metrics.sample.window.ms`: how long each sample of the windowed
    /// metrics (`-avg`, `-max`, `-rate`) lasts. Default 30000 ms.
    pub metrics_sample_window: Duration,
    /// `metrics.num.samples`: how many samples the windowed metrics keep.
    /// Default 2; at least 1.
    pub metrics_num_samples: usize,
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
    /// `partitioner.adaptive.partitioning.enable` (KIP-794): the built-in
    /// partitioner weights its choice of sticky partition for keyless
    /// records against the partitions with more batches queued, so a slow
    /// broker gets fewer of them. Default true, as in Java.
    pub partitioner_adaptive: bool,
    /// `partitioner.availability.timeout.ms` (KIP-794): with adaptive
    /// partitioning on, a partition whose leader has had data ready that it
    /// could not take (no connection, or every in-flight slot used) for
    /// longer than this is left out of the sticky choice until it drains
    /// again. Default 0: off.
    pub partitioner_availability_timeout: Duration,
    /// `client.rack`: the rack this client runs in, as brokers name theirs
    /// in `broker.rack`. Default empty.
    pub client_rack: String,
    /// `partitioner.rack.aware` (KIP-1123): with a `client.rack`, the
    /// built-in partitioner sends keyless records only to partitions whose
    /// leader is in the client's rack, while any has a leader there (all
    /// available partitions otherwise). Keyed records are unaffected.
    /// Default false.
    pub partitioner_rack_aware: bool,
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
    /// `compression.gzip.level` (KIP-390): 1 to 9, or -1 for the default
    /// (6). Default -1.
    pub compression_gzip_level: i32,
    /// `compression.lz4.level` (KIP-390): 1 to 17. Default 9, but only a
    /// level set explicitly is used: liblz4 at that level with feature
    /// `lz4-hc` (HC from 3 up); left unset, LZ4 is written at the fast
    /// level, as librdkafka and franz-go write it.
    pub compression_lz4_level: i32,
    /// `compression.zstd.level` (KIP-390): -131072 to 22. Default 3.
    pub compression_zstd_level: i32,
    /// `socket.connection.setup.timeout.max.ms`: the connection setup
    /// timeout doubles with each failed attempt to connect to a broker
    /// (with ±20 % jitter), from `socket.connection.setup.timeout.ms` up to
    /// this. Default 30000 ms.
    pub socket_connection_setup_timeout_max: Duration,
    /// `connections.max.idle.ms`: a broker connection with nothing in
    /// flight and no traffic for this long is closed (the next request
    /// opens a new one), as Java's client does. Default 540000 ms (9 min).
    pub connections_max_idle: Duration,
    /// `send.buffer.bytes`: the socket send buffer (`SO_SNDBUF`) the
    /// runtime sets on each broker connection; `None` (-1) keeps the
    /// operating system's (with its autotuning). Default `None`, not Java's
    /// 131072: a fixed size turns Linux's autotuning off.
    pub send_buffer_bytes: Option<usize>,
    /// `receive.buffer.bytes`: the socket receive buffer (`SO_RCVBUF`);
    /// `None` (-1) keeps the operating system's. Default `None`, not Java's
    /// 32768, for the same reason.
    pub receive_buffer_bytes: Option<usize>,
    /// `sasl.login.refresh.window.factor`: an OAUTHBEARER token is
    /// refreshed after this fraction of its lifetime (plus the jitter);
    /// 0.5 to 1.0. Default 0.8.
    pub sasl_login_refresh_window_factor: f64,
    /// `sasl.login.refresh.window.jitter`: up to this fraction of the
    /// lifetime is added at random; 0 to 0.25. Default 0.05.
    pub sasl_login_refresh_window_jitter: f64,
    /// `sasl.login.refresh.min.period.seconds`: a token is never refreshed
    /// sooner than this after the last refresh; 0 to 900 s. Default 60 s.
    pub sasl_login_refresh_min_period: Duration,
    /// `sasl.login.refresh.buffer.seconds`: a token is refreshed at least
    /// this long before it expires; 0 to 3600 s. Default 300 s. (Both
    /// periods give way when the token lives shorter than their sum, as in
    /// Java.)
    pub sasl_login_refresh_buffer: Duration,
    /// `sasl.login.callback.handler.class`, when it names AWS's
    /// `software.amazon.msk.auth.iam.IAMOAuthBearerLoginCallbackHandler`
    /// ([`MSK_IAM_HANDLER`]): the runtime crate's MSK IAM tokens (feature
    /// `aws-msk-iam`). Java's own OIDC and unsecured handlers are accepted
    /// and need no record here; other classes are refused.
    pub sasl_login_callback_handler_class: Option<String>,
    /// `sasl.oauthbearer.token.endpoint.url` (KIP-768): where the runtime
    /// crate's OIDC provider (feature `oidc`) gets tokens, with the
    /// client-credentials grant (`http`/`https`), or the file a token is
    /// read from (`file:`). Default none.
    pub sasl_oauthbearer_token_endpoint_url: Option<String>,
    /// `sasl.oauthbearer.client.credentials.client.id`, or `clientId` in
    /// the `OAuthBearerLoginModule` entry of `sasl.jaas.config`.
    pub sasl_oauthbearer_client_id: Option<String>,
    /// `sasl.oauthbearer.client.credentials.client.secret`, or
    /// `clientSecret` in `sasl.jaas.config`. Never shown.
    pub sasl_oauthbearer_client_secret: Option<Secret>,
    /// `sasl.oauthbearer.scope`, or `scope` in `sasl.jaas.config`: the
    /// scope asked for, if any.
    pub sasl_oauthbearer_scope: Option<String>,
    /// `sasl.oauthbearer.header.urlencode`: URL-encode the client id and
    /// secret in the Basic authorization header (RFC 6749 §2.3.1). Default
    /// false, as Java.
    pub sasl_oauthbearer_header_urlencode: bool,
    /// `sasl.login.connect.timeout.ms` / `sasl.login.read.timeout.ms`: the
    /// token endpoint's connect and read timeouts. Default none (the HTTP
    /// client's own, 10 s here).
    pub sasl_login_connect_timeout: Option<Duration>,
    /// See [`sasl_login_connect_timeout`](Self::sasl_login_connect_timeout).
    pub sasl_login_read_timeout: Option<Duration>,
    /// `sasl.login.retry.backoff.ms`: the first wait before the token
    /// endpoint is asked again after a failure; doubles up to
    /// `sasl.login.retry.backoff.max.ms`. Default 100 ms.
    pub sasl_login_retry_backoff: Duration,
    /// `sasl.login.retry.backoff.max.ms`. Default 10000 ms.
    pub sasl_login_retry_backoff_max: Duration,
    /// `sasl.oauthbearer.sub.claim.name`: the claim of a fetched token that
    /// names the principal (it must be there). Default `sub`.
    pub sasl_oauthbearer_sub_claim_name: String,
    /// Properties for the runtime crate ([`Fate::Transport`]: TLS), by
    /// the name given, in the order set.
    transport: Vec<(String, String)>,
    /// Properties accepted without effect ([`Fate::Ignored`]).
    warnings: Vec<ConfigWarning>,
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
            metrics_sample_window: Duration::from_millis(30_000),
            metrics_num_samples: 2,
            max_request_size: 1_048_576,
            compression_type: Compression::None,
            partitioner: PartitionerChoice::Default,
            partitioner_ignore_keys: false,
            partitioner_adaptive: true,
            partitioner_availability_timeout: Duration::ZERO,
            client_rack: String::new(),
            partitioner_rack_aware: false,
            transactional_id: None,
            transaction_timeout: Duration::from_millis(60_000),
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: "PLAIN".to_owned(),
            sasl_username: None,
            sasl_oauthbearer_unsecured: None,
            compression_gzip_level: -1,
            compression_lz4_level: 9,
            compression_zstd_level: 3,
            socket_connection_setup_timeout_max: Duration::from_millis(30_000),
            connections_max_idle: Duration::from_millis(540_000),
            send_buffer_bytes: None,
            receive_buffer_bytes: None,
            sasl_login_refresh_window_factor: 0.8,
            sasl_login_refresh_window_jitter: 0.05,
            sasl_login_refresh_min_period: Duration::from_secs(60),
            sasl_login_refresh_buffer: Duration::from_secs(300),
            sasl_login_callback_handler_class: None,
            sasl_oauthbearer_token_endpoint_url: None,
            sasl_oauthbearer_client_id: None,
            sasl_oauthbearer_client_secret: None,
            sasl_oauthbearer_scope: None,
            sasl_oauthbearer_header_urlencode: false,
            sasl_login_connect_timeout: None,
            sasl_login_read_timeout: None,
            sasl_login_retry_backoff: Duration::from_millis(100),
            sasl_login_retry_backoff_max: Duration::from_millis(10_000),
            sasl_oauthbearer_sub_claim_name: "sub".to_owned(),
            transport: Vec::new(),
            warnings: Vec::new(),
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
            return match property_fate(key) {
                Some(Fate::Transport) => {
                    self.transport.retain(|(k, _)| k != key);
                    self.transport.push((key.to_owned(), value.to_owned()));
                    Ok(())
                }
                Some(Fate::Ignored(reason)) => {
                    if !self.warnings.iter().any(|w| w.key == key) {
                        self.warnings.push(ConfigWarning {
                            key: key.to_owned(),
                            reason,
                        });
                    }
                    Ok(())
                }
                Some(Fate::Refused(reason)) => Err(ConfigError::Unsupported {
                    key: key.to_owned(),
                    reason,
                }),
                Some(Fate::Honoured) | None => Err(ConfigError::UnknownKey {
                    key: key.to_owned(),
                }),
            };
        };
        // The error names the property as the caller spelt it.
        self.apply(canonical, value)
            .map_err(|reason| ConfigError::InvalidValue {
                key: key.to_owned(),
                value: shown_value(canonical, value),
                reason,
            })?;
        self.explicit.insert(canonical);
        let without_levels = match canonical {
            Key::CompressionLz4Level => Some((Compression::Lz4, LZ4_LEVEL_IGNORED)),
            Key::CompressionZstdLevel => Some((Compression::Zstd, ZSTD_LEVEL_IGNORED)),
            _ => None,
        };
        if let Some((codec, reason)) = without_levels {
            if !kafka_proto::compression::honours_levels(codec)
                && !self.warnings.iter().any(|w| w.key == key)
            {
                self.warnings.push(ConfigWarning {
                    key: key.to_owned(),
                    reason,
                });
            }
        }
        Ok(())
    }

    /// `partitioner.availability.timeout.ms` when it is in force: set (not
    /// 0) and with adaptive partitioning on, which it belongs to.
    pub(crate) fn availability_timeout(&self) -> Option<Duration> {
        (self.partitioner_adaptive && !self.partitioner_availability_timeout.is_zero())
            .then_some(self.partitioner_availability_timeout)
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
            Key::MetricsSampleWindowMs => {
                self.metrics_sample_window = parse_ms(value, 0, LONG_MAX)?
            }
            Key::MetricsNumSamples => self.metrics_num_samples = parse_size(value, 1, INT_MAX)?,
            Key::MaxRequestSize => self.max_request_size = parse_size(value, 0, INT_MAX)?,
            Key::CompressionType => self.compression_type = parse_compression(value)?,
            Key::PartitionerClass => self.partitioner = parse_partitioner(value)?,
            Key::PartitionerIgnoreKeys => self.partitioner_ignore_keys = parse_bool(value)?,
            Key::PartitionerAdaptive => self.partitioner_adaptive = parse_bool(value)?,
            Key::PartitionerAvailabilityTimeoutMs => {
                self.partitioner_availability_timeout = parse_ms(value, 0, LONG_MAX)?
            }
            Key::ClientRack => self.client_rack = value.trim().to_owned(),
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
                Jaas::OAuthBearer(unsecured, client) => {
                    self.sasl_oauthbearer_unsecured = unsecured;
                    if client.client_id.is_some() {
                        self.sasl_oauthbearer_client_id = client.client_id;
                    }
                    if let Some(secret) = client.client_secret {
                        self.sasl_oauthbearer_client_secret = Some(Secret::new(secret));
                    }
                    if client.scope.is_some() {
                        self.sasl_oauthbearer_scope = client.scope;
                    }
                }
            },
            Key::CompressionGzipLevel => {
                let level = parse_int(value, -1, 9)?;
                if level == 0 {
                    return Err("must be between 1 and 9, or -1".to_owned());
                }
                self.compression_gzip_level = level as i32;
            }
            Key::CompressionLz4Level => {
                self.compression_lz4_level = parse_int(value, 1, 17)? as i32
            }
            Key::CompressionZstdLevel => {
                self.compression_zstd_level = parse_int(value, -131_072, 22)? as i32
            }
            Key::SocketConnectionSetupTimeoutMaxMs => {
                self.socket_connection_setup_timeout_max = parse_ms(value, 0, LONG_MAX)?
            }
            Key::ConnectionsMaxIdleMs => self.connections_max_idle = parse_ms(value, 0, LONG_MAX)?,
            Key::SaslLoginCallbackHandlerClass => match value.trim() {
                MSK_IAM_HANDLER => {
                    self.sasl_login_callback_handler_class = Some(MSK_IAM_HANDLER.to_owned())
                }
                ""
                | "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"
                | "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler"
                | "org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredLoginCallbackHandler" =>
                    {}
                _ => {
                    return Err("not supported: a Java class; give a TokenProvider to \
                                ProducerBuilder::token_provider instead"
                        .to_owned());
                }
            },
            Key::SaslOauthbearerJwtRetrieverClass => match value.trim() {
                "org.apache.kafka.common.security.oauthbearer.DefaultJwtRetriever"
                | "org.apache.kafka.common.security.oauthbearer.ClientCredentialsJwtRetriever" => {}
                _ => {
                    return Err("not supported: a Java class; give a TokenProvider to \
                                ProducerBuilder::token_provider instead"
                        .to_owned());
                }
            },
            Key::SaslOauthbearerTokenEndpointUrl => {
                let url = value.trim();
                if !(url.starts_with("http://")
                    || url.starts_with("https://")
                    || url.starts_with("file:"))
                {
                    return Err("expected an http://, https:// or file: URL".to_owned());
                }
                self.sasl_oauthbearer_token_endpoint_url = Some(url.to_owned());
            }
            Key::SaslOauthbearerScope => {
                self.sasl_oauthbearer_scope =
                    Some(value.trim().to_owned()).filter(|s| !s.is_empty())
            }
            Key::SaslOauthbearerClientId => {
                self.sasl_oauthbearer_client_id =
                    Some(value.trim().to_owned()).filter(|s| !s.is_empty())
            }
            Key::SaslOauthbearerClientSecret => {
                if value.is_empty() {
                    return Err("must not be empty".to_owned());
                }
                self.sasl_oauthbearer_client_secret = Some(Secret::new(value));
            }
            Key::SaslOauthbearerHeaderUrlencode => {
                self.sasl_oauthbearer_header_urlencode = parse_bool(value)?
            }
            Key::SaslLoginConnectTimeoutMs => {
                self.sasl_login_connect_timeout = Some(parse_ms(value, 0, INT_MAX)?)
            }
            Key::SaslLoginReadTimeoutMs => {
                self.sasl_login_read_timeout = Some(parse_ms(value, 0, INT_MAX)?)
            }
            Key::SaslLoginRetryBackoffMs => {
                self.sasl_login_retry_backoff = parse_ms(value, 0, LONG_MAX)?
            }
            Key::SaslLoginRetryBackoffMaxMs => {
                self.sasl_login_retry_backoff_max = parse_ms(value, 0, LONG_MAX)?
            }
            Key::SaslOauthbearerSubClaimName => {
                if value.trim().is_empty() {
                    return Err("must not be empty".to_owned());
                }
                self.sasl_oauthbearer_sub_claim_name = value.trim().to_owned();
            }
            Key::SendBufferBytes => self.send_buffer_bytes = parse_buffer_bytes(value)?,
            Key::ReceiveBufferBytes => self.receive_buffer_bytes = parse_buffer_bytes(value)?,
            Key::ClientDnsLookup => match value.trim() {
                // Every address a name resolves to is tried in turn: what
                // the runtimes' connect does.
                "use_all_dns_ips" => {}
                "resolve_canonical_bootstrap_servers_only" => {
                    return Err(
                        "not supported: canonical host names serve Kerberos (GSSAPI), \
                                which is not supported; use use_all_dns_ips"
                            .to_owned(),
                    );
                }
                _ => {
                    return Err(
                        "expected use_all_dns_ips or resolve_canonical_bootstrap_servers_only"
                            .to_owned(),
                    );
                }
            },
            Key::SaslLoginRefreshWindowFactor => {
                self.sasl_login_refresh_window_factor = parse_fraction(value, 0.5, 1.0)?
            }
            Key::SaslLoginRefreshWindowJitter => {
                self.sasl_login_refresh_window_jitter = parse_fraction(value, 0.0, 0.25)?
            }
            Key::SaslLoginRefreshMinPeriodSeconds => {
                self.sasl_login_refresh_min_period =
                    Duration::from_secs(parse_int(value, 0, 900)?.unsigned_abs())
            }
            Key::SaslLoginRefreshBufferSeconds => {
                self.sasl_login_refresh_buffer =
                    Duration::from_secs(parse_int(value, 0, 3600)?.unsigned_abs())
            }
            Key::PartitionerRackAware => self.partitioner_rack_aware = parse_bool(value)?,
            Key::TransactionTwoPhaseCommitEnable => {
                if parse_bool(value)? {
                    return Err("not supported: two-phase commit with an external \
                                transaction manager (KIP-939) is not implemented"
                        .to_owned());
                }
            }
            Key::ConfigProviders => {
                if !value.trim().is_empty() {
                    return Err(
                        "not supported: Java ConfigProvider classes; substitute the \
                                values before the properties are loaded"
                            .to_owned(),
                    );
                }
            }
            Key::SslCipherSuites => {
                if !value.trim().is_empty() {
                    return Err("not supported: rustls offers its own safe cipher suites; \
                                leave it empty"
                        .to_owned());
                }
            }
            Key::SslProtocol => match value.trim() {
                // rustls offers TLS 1.2 and 1.3 (ssl.enabled.protocols narrows them).
                "TLSv1.3" | "TLSv1.2" | "TLS" => {}
                _ => {
                    return Err(
                        "expected TLSv1.3, TLSv1.2 or TLS (rustls speaks TLS 1.2 and 1.3 only)"
                            .to_owned(),
                    );
                }
            },
            Key::MetadataRecoveryStrategy => {
                let v = value.trim();
                if v.eq_ignore_ascii_case("none") {
                    return Err("not supported: when no known broker can be reached this \
                                producer always goes back to the bootstrap servers \
                                (rebootstrap)"
                        .to_owned());
                }
                if !v.eq_ignore_ascii_case("rebootstrap") {
                    return Err("expected rebootstrap or none".to_owned());
                }
            }
        }
        Ok(())
    }

    /// Whether the property `key` (any name [`set`](Self::set) takes) was
    /// set through [`set`](Self::set).
    pub fn is_explicit(&self, key: &str) -> bool {
        Key::from_name(key).is_some_and(|key| self.explicit.contains(&key))
    }

    /// The level batches are compressed at: `compression.gzip.level`,
    /// `compression.zstd.level`, or `compression.lz4.level` when set
    /// explicitly, for those codecs (`None`: the codec's default, for LZ4
    /// its fast level).
    pub fn compression_level(&self) -> Option<i32> {
        match self.compression_type {
            Compression::Gzip if self.compression_gzip_level != -1 => {
                Some(self.compression_gzip_level)
            }
            Compression::Lz4 if self.explicit.contains(&Key::CompressionLz4Level) => {
                Some(self.compression_lz4_level)
            }
            Compression::Zstd => Some(self.compression_zstd_level),
            _ => None,
        }
    }

    /// The properties that were accepted but have no effect here
    /// ([`Fate::Ignored`]), each with the reason, in the order first set.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// The properties left to the runtime crate ([`Fate::Transport`]: TLS
    /// settings), as `(name, value)` in the order set, a later value
    /// replacing an earlier one. The runtime crates' builders apply them.
    pub fn transport_properties(&self) -> &[(String, String)] {
        &self.transport
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

        let client_credentials = self
            .sasl_oauthbearer_token_endpoint_url
            .as_deref()
            .is_some_and(|url| url.starts_with("http://") || url.starts_with("https://"));
        if client_credentials && self.sasl_mechanism == "OAUTHBEARER" {
            if self.sasl_oauthbearer_client_id.is_none() {
                return Err(ConfigError::Missing {
                    key: "sasl.oauthbearer.client.credentials.client.id (or clientId in sasl.jaas.config)",
                });
            }
            if self.sasl_oauthbearer_client_secret.is_none() {
                return Err(ConfigError::Missing {
                    key: "sasl.oauthbearer.client.credentials.client.secret (or clientSecret in sasl.jaas.config)",
                });
            }
        }
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
            // Java 4.x's order: retries=0 and acks other than all turn a
            // default idempotence off (and are errors if it was asked
            // for); more than 5 requests in flight is an error either way
            // (3.x turned idempotence off for it too).
            let explicit = self.explicit.contains(&Key::EnableIdempotence);
            let mut off_because = None;
            if self.retries == 0 {
                if explicit {
                    return Err(ConfigError::Conflict {
                        reason: "enable.idempotence=true needs retries above 0, but retries=0"
                            .to_owned(),
                    });
                }
                off_because = Some("retries is 0");
            }
            if self.acks != Acks::All {
                if explicit {
                    return Err(ConfigError::Conflict {
                        reason: format!(
                            "enable.idempotence=true needs acks=all, but acks={}",
                            self.acks
                        ),
                    });
                }
                off_because = off_because.or(Some("acks is not all"));
            }
            if self.max_in_flight_requests_per_connection > 5 {
                return Err(ConfigError::Conflict {
                    reason: format!(
                        "idempotence needs max.in.flight.requests.per.connection at most 5, \
                         but it is {} (set enable.idempotence=false to allow more)",
                        self.max_in_flight_requests_per_connection
                    ),
                });
            }
            if let Some(because) = off_because {
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
