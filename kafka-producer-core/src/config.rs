//! Producer configuration, with the Java client's names and Kafka 4.x
//! defaults.
//!
//! Every setting is a public field, and every field can also be set from a
//! `"key" = "value"` property with the Java name ([`ProducerConfig::set`]),
//! plus a few librdkafka aliases. [`ProducerConfig::validate`] applies the
//! Java client's rules (for example, idempotence needs `acks=all`).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use kafka_proto::compression::Compression;

/// A broker address from `bootstrap.servers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddress {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
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

/// `acks`: how many acknowledgements a write waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: no response at all; offsets are unknown.
    None,
    /// `acks=1`: the leader has written the records.
    Leader,
    /// `acks=all` (or -1): every in-sync replica has them (the default).
    All,
}

impl Acks {
    /// The value sent in Produce requests: 0, 1 or -1.
    pub fn as_i16(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// `partitioner.class`: the built-in partitioners (a custom one is given in
/// code, see [`Producer::with_partitioner`](crate::Producer::with_partitioner)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionerChoice {
    /// murmur2 of the key, uniform sticky for keyless records (KIP-794).
    Default,
    /// Every record to the next partition in turn.
    RoundRobin,
}

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    /// Plain TCP (the default).
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL over plain TCP.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether connections use TLS (the runtime adapter's job).
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether connections authenticate with SASL (the core's job).
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// A secret (a password) that never shows in `Debug` output or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A configuration mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// No such property.
    UnknownKey(String),
    /// A property's value is not acceptable.
    InvalidValue {
        /// The property.
        key: String,
        /// The value given (`<redacted>` for secrets).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two settings contradict each other.
    Conflict {
        /// What contradicts what.
        reason: String,
    },
    /// A required setting is missing.
    Missing {
        /// The property.
        key: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownKey(k) => write!(f, "unknown producer property {k:?}"),
            ConfigError::InvalidValue { key, value, reason } => {
                write!(f, "invalid value {value:?} for {key}: {reason}")
            }
            ConfigError::Conflict { reason } => write!(f, "conflicting settings: {reason}"),
            ConfigError::Missing { key } => write!(f, "{key} must be set"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The producer's settings. Field docs give the Java property name and the
/// default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProducerConfig {
    /// `bootstrap.servers` (librdkafka: `metadata.broker.list`): where to
    /// learn the cluster from. Required.
    pub bootstrap_servers: Vec<BrokerAddress>,
    /// `client.id`, sent with every request. Default `kafka-producer-rs`.
    pub client_id: String,
    /// `acks`. Default `all`.
    pub acks: Acks,
    /// `enable.idempotence`. Default true (see [`validate`](Self::validate)
    /// for when it is turned off).
    pub enable_idempotence: bool,
    /// `linger.ms` (librdkafka: `queue.buffering.max.ms`): how long a batch
    /// waits for more records. Default 5 ms.
    pub linger: Duration,
    /// `batch.size`: bytes per partition batch. Default 16384; 0 means one
    /// record per batch.
    pub batch_size: usize,
    /// `buffer.memory`: bytes of records waiting to be delivered before
    /// `send` reports `BufferFull`. Default 32 MiB.
    pub buffer_memory: usize,
    /// `max.block.ms`: how long a blocked `send` waits for memory or
    /// metadata (the adapters wait; the core times out metadata waits).
    /// Default 60 s.
    pub max_block: Duration,
    /// `max.in.flight.requests.per.connection`. Default 5.
    pub max_in_flight_requests_per_connection: usize,
    /// `retries`: attempts after the first. Default `i32::MAX`; the delivery
    /// timeout bounds them in practice.
    pub retries: u32,
    /// `delivery.timeout.ms` (librdkafka: `message.timeout.ms`): upper bound
    /// from `send` to the outcome. Default 120 s.
    pub delivery_timeout: Duration,
    /// `request.timeout.ms`. Default 30 s.
    pub request_timeout: Duration,
    /// `retry.backoff.ms`. Default 100 ms.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`. Default 1 s.
    pub retry_backoff_max: Duration,
    /// `reconnect.backoff.ms`. Default 50 ms.
    pub reconnect_backoff: Duration,
    /// `reconnect.backoff.max.ms`. Default 1 s.
    pub reconnect_backoff_max: Duration,
    /// `socket.connection.setup.timeout.ms`: TCP, TLS and handshake must be
    /// done within it. Default 10 s.
    pub socket_connection_setup_timeout: Duration,
    /// `metadata.max.age.ms`. Default 5 min.
    pub metadata_max_age: Duration,
    /// `max.request.size`: the largest Produce request. Default 1 MiB.
    pub max_request_size: usize,
    /// `compression.type` (librdkafka: `compression.codec`). Default none.
    pub compression_type: Compression,
    /// `partitioner.class`. Default: the built-in partitioner.
    pub partitioner: PartitionerChoice,
    /// `partitioner.ignore.keys`: treat keyed records as keyless. Default
    /// false.
    pub partitioner_ignore_keys: bool,
    /// `transactional.id`. Default none.
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`. Default 60 s.
    pub transaction_timeout: Duration,
    /// `security.protocol`. Default `PLAINTEXT`.
    pub security_protocol: SecurityProtocol,
    /// `sasl.mechanism`: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    /// Default `PLAIN` (Java's default, GSSAPI, is not supported).
    pub sasl_mechanism: String,
    /// `sasl.username` (librdkafka's name; Java's `sasl.jaas.config` also
    /// fills it).
    pub sasl_username: Option<String>,
    /// `sasl.password` (librdkafka's name; Java's `sasl.jaas.config` also
    /// fills it).
    pub sasl_password: Option<Secret>,
    /// Keys set explicitly, for the rules that depend on it.
    explicit: BTreeSet<&'static str>,
    /// Why idempotence was turned off, when it was.
    idempotence_disabled_because: Option<&'static str>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            bootstrap_servers: Vec::new(),
            client_id: "kafka-producer-rs".into(),
            acks: Acks::All,
            enable_idempotence: true,
            linger: Duration::from_millis(5),
            batch_size: 16_384,
            buffer_memory: 32 * 1024 * 1024,
            max_block: Duration::from_secs(60),
            max_in_flight_requests_per_connection: 5,
            retries: i32::MAX as u32,
            delivery_timeout: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_secs(1),
            socket_connection_setup_timeout: Duration::from_secs(10),
            metadata_max_age: Duration::from_secs(300),
            max_request_size: 1024 * 1024,
            compression_type: Compression::None,
            partitioner: PartitionerChoice::Default,
            partitioner_ignore_keys: false,
            transactional_id: None,
            transaction_timeout: Duration::from_secs(60),
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: "PLAIN".into(),
            sasl_username: None,
            sasl_password: None,
            explicit: BTreeSet::new(),
            idempotence_disabled_because: None,
        }
    }
}

/// Every property `set` takes, with its canonical name.
const KEYS: &[(&str, &str)] = &[
    ("bootstrap.servers", "bootstrap.servers"),
    ("metadata.broker.list", "bootstrap.servers"),
    ("client.id", "client.id"),
    ("acks", "acks"),
    ("request.required.acks", "acks"),
    ("enable.idempotence", "enable.idempotence"),
    ("linger.ms", "linger.ms"),
    ("queue.buffering.max.ms", "linger.ms"),
    ("batch.size", "batch.size"),
    ("buffer.memory", "buffer.memory"),
    ("max.block.ms", "max.block.ms"),
    (
        "max.in.flight.requests.per.connection",
        "max.in.flight.requests.per.connection",
    ),
    ("max.in.flight", "max.in.flight.requests.per.connection"),
    ("retries", "retries"),
    ("message.send.max.retries", "retries"),
    ("delivery.timeout.ms", "delivery.timeout.ms"),
    ("message.timeout.ms", "delivery.timeout.ms"),
    ("request.timeout.ms", "request.timeout.ms"),
    ("retry.backoff.ms", "retry.backoff.ms"),
    ("retry.backoff.max.ms", "retry.backoff.max.ms"),
    ("reconnect.backoff.ms", "reconnect.backoff.ms"),
    ("reconnect.backoff.max.ms", "reconnect.backoff.max.ms"),
    (
        "socket.connection.setup.timeout.ms",
        "socket.connection.setup.timeout.ms",
    ),
    ("metadata.max.age.ms", "metadata.max.age.ms"),
    ("max.request.size", "max.request.size"),
    ("compression.type", "compression.type"),
    ("compression.codec", "compression.type"),
    ("partitioner.class", "partitioner.class"),
    ("partitioner.ignore.keys", "partitioner.ignore.keys"),
    ("transactional.id", "transactional.id"),
    ("transaction.timeout.ms", "transaction.timeout.ms"),
    ("security.protocol", "security.protocol"),
    ("sasl.mechanism", "sasl.mechanism"),
    ("sasl.mechanisms", "sasl.mechanism"),
    ("sasl.username", "sasl.username"),
    ("sasl.password", "sasl.password"),
    ("sasl.jaas.config", "sasl.jaas.config"),
];

/// Properties whose values are secrets.
fn is_secret(key: &str) -> bool {
    matches!(key, "sasl.password" | "sasl.jaas.config")
}

fn parse_bootstrap(value: &str) -> Result<Vec<BrokerAddress>, String> {
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        // An optional scheme, as librdkafka and Java accept ("PLAINTEXT://h:p").
        let part = part.split_once("://").map_or(part, |(_, rest)| rest);
        let (host, port) = if let Some(rest) = part.strip_prefix('[') {
            let (host, rest) = rest
                .split_once(']')
                .ok_or_else(|| format!("{part:?}: unclosed '['"))?;
            let port = rest
                .strip_prefix(':')
                .ok_or_else(|| format!("{part:?}: missing port"))?;
            (host, port)
        } else {
            part.rsplit_once(':')
                .ok_or_else(|| format!("{part:?}: missing port (host:port)"))?
        };
        if host.is_empty() {
            return Err(format!("{part:?}: empty host"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{part:?}: port is not a number from 1 to 65535"))?;
        if port == 0 {
            return Err(format!("{part:?}: port 0"));
        }
        out.push(BrokerAddress {
            host: host.to_owned(),
            port,
        });
    }
    if out.is_empty() {
        return Err("no broker address".into());
    }
    Ok(out)
}

fn parse_ms(value: &str) -> Result<Duration, String> {
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|_| "expected a number of milliseconds".to_string())?;
    if n < 0 {
        return Err("must not be negative".into());
    }
    Ok(Duration::from_millis(n as u64))
}

fn parse_usize(value: &str) -> Result<usize, String> {
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|_| "expected a whole number".to_string())?;
    usize::try_from(n).map_err(|_| "must not be negative".to_string())
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// Pulls `username="..."` and `password="..."` out of a JAAS line such as
/// `org.apache.kafka.common.security.plain.PlainLoginModule required
/// username="u" password="p";`.
fn parse_jaas(value: &str) -> Result<(String, String), String> {
    fn option(value: &str, name: &str) -> Option<String> {
        let mut rest = value;
        while let Some(i) = rest.find(name) {
            let before_ok = i == 0 || rest.as_bytes()[i - 1].is_ascii_whitespace();
            let after = rest[i + name.len()..].trim_start();
            if before_ok {
                if let Some(after) = after.strip_prefix('=') {
                    let after = after.trim_start();
                    if let Some(quoted) = after.strip_prefix('"') {
                        let end = quoted.find('"')?;
                        return Some(quoted[..end].to_owned());
                    }
                    let end = after
                        .find(|c: char| c.is_whitespace() || c == ';')
                        .unwrap_or(after.len());
                    return Some(after[..end].to_owned());
                }
            }
            rest = &rest[i + name.len()..];
        }
        None
    }
    if !value.contains("LoginModule") {
        return Err("expected a JAAS login module line".into());
    }
    let user = option(value, "username").ok_or("no username=\"...\" option")?;
    let pass = option(value, "password").ok_or("no password=\"...\" option")?;
    Ok((user, pass))
}

impl ProducerConfig {
    /// A configuration from properties (each as [`set`](Self::set)), then
    /// [`validate`](Self::validate)d.
    pub fn from_properties<'a, I: IntoIterator<Item = (&'a str, &'a str)>>(
        props: I,
    ) -> Result<ProducerConfig, ConfigError> {
        let mut c = ProducerConfig::default();
        for (k, v) in props {
            c.set(k, v)?;
        }
        c.validate()?;
        Ok(c)
    }

    /// Sets one property by its Java name (or a librdkafka alias).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let Some(&(_, canonical)) = KEYS.iter().find(|(k, _)| *k == key) else {
            return Err(ConfigError::UnknownKey(key.to_owned()));
        };
        let invalid = |reason: String| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: if is_secret(canonical) {
                "<redacted>".into()
            } else {
                value.to_owned()
            },
            reason,
        };
        match canonical {
            "bootstrap.servers" => {
                self.bootstrap_servers = parse_bootstrap(value).map_err(invalid)?
            }
            "client.id" => self.client_id = value.to_owned(),
            "acks" => {
                self.acks = match value.trim().to_ascii_lowercase().as_str() {
                    "0" => Acks::None,
                    "1" => Acks::Leader,
                    "all" | "-1" => Acks::All,
                    _ => return Err(invalid("expected 0, 1, all or -1".into())),
                }
            }
            "enable.idempotence" => self.enable_idempotence = parse_bool(value).map_err(invalid)?,
            "linger.ms" => self.linger = parse_ms(value).map_err(invalid)?,
            "batch.size" => self.batch_size = parse_usize(value).map_err(invalid)?,
            "buffer.memory" => self.buffer_memory = parse_usize(value).map_err(invalid)?,
            "max.block.ms" => self.max_block = parse_ms(value).map_err(invalid)?,
            "max.in.flight.requests.per.connection" => {
                self.max_in_flight_requests_per_connection = parse_usize(value).map_err(invalid)?
            }
            "retries" => {
                let n = parse_usize(value).map_err(invalid)?;
                self.retries = u32::try_from(n.min(i32::MAX as usize)).unwrap_or(i32::MAX as u32);
            }
            "delivery.timeout.ms" => self.delivery_timeout = parse_ms(value).map_err(invalid)?,
            "request.timeout.ms" => self.request_timeout = parse_ms(value).map_err(invalid)?,
            "retry.backoff.ms" => self.retry_backoff = parse_ms(value).map_err(invalid)?,
            "retry.backoff.max.ms" => self.retry_backoff_max = parse_ms(value).map_err(invalid)?,
            "reconnect.backoff.ms" => self.reconnect_backoff = parse_ms(value).map_err(invalid)?,
            "reconnect.backoff.max.ms" => {
                self.reconnect_backoff_max = parse_ms(value).map_err(invalid)?
            }
            "socket.connection.setup.timeout.ms" => {
                self.socket_connection_setup_timeout = parse_ms(value).map_err(invalid)?
            }
            "metadata.max.age.ms" => self.metadata_max_age = parse_ms(value).map_err(invalid)?,
            "max.request.size" => self.max_request_size = parse_usize(value).map_err(invalid)?,
            "compression.type" => {
                let name = value.trim().to_ascii_lowercase();
                let codec = Compression::from_name(&name)
                    .ok_or_else(|| invalid("expected none, gzip, snappy, lz4 or zstd".into()))?;
                if !codec.is_enabled() {
                    return Err(invalid(format!(
                        "the {name} cargo feature of kafka-proto is not enabled"
                    )));
                }
                self.compression_type = codec;
            }
            "partitioner.class" => {
                self.partitioner = match value.trim() {
                    "default"
                    | "org.apache.kafka.clients.producer.internals.DefaultPartitioner" => {
                        PartitionerChoice::Default
                    }
                    "round_robin"
                    | "roundrobin"
                    | "org.apache.kafka.clients.producer.RoundRobinPartitioner" => {
                        PartitionerChoice::RoundRobin
                    }
                    _ => {
                        return Err(invalid(
                            "expected default or round_robin (custom partitioners are given in code)"
                                .into(),
                        ));
                    }
                }
            }
            "partitioner.ignore.keys" => {
                self.partitioner_ignore_keys = parse_bool(value).map_err(invalid)?
            }
            "transactional.id" => {
                self.transactional_id = (!value.is_empty()).then(|| value.to_owned())
            }
            "transaction.timeout.ms" => {
                self.transaction_timeout = parse_ms(value).map_err(invalid)?
            }
            "security.protocol" => {
                self.security_protocol = match value.trim().to_ascii_uppercase().as_str() {
                    "PLAINTEXT" => SecurityProtocol::Plaintext,
                    "SSL" => SecurityProtocol::Ssl,
                    "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
                    "SASL_SSL" => SecurityProtocol::SaslSsl,
                    _ => {
                        return Err(invalid(
                            "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL".into(),
                        ));
                    }
                }
            }
            "sasl.mechanism" => {
                let m = value.trim().to_ascii_uppercase();
                if !matches!(m.as_str(), "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512") {
                    return Err(invalid(
                        "supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512".into(),
                    ));
                }
                self.sasl_mechanism = m;
            }
            "sasl.username" => self.sasl_username = Some(value.to_owned()),
            "sasl.password" => self.sasl_password = Some(Secret::new(value)),
            "sasl.jaas.config" => {
                let (user, pass) = parse_jaas(value).map_err(invalid)?;
                self.sasl_username = Some(user);
                self.sasl_password = Some(Secret::new(pass));
            }
            _ => return Err(ConfigError::UnknownKey(key.to_owned())),
        }
        self.explicit.insert(canonical);
        Ok(())
    }

    /// Whether `key` (a canonical Java name) was set through [`set`](Self::set).
    pub fn is_explicit(&self, key: &str) -> bool {
        self.explicit.contains(key)
    }

    /// Why idempotence was turned off by [`validate`](Self::validate), if it was.
    pub fn idempotence_disabled_because(&self) -> Option<&'static str> {
        self.idempotence_disabled_because
    }

    /// Checks the settings and settles the ones that depend on others, as
    /// the Java client does:
    ///
    /// - idempotence set explicitly with `acks` other than `all`,
    ///   `max.in.flight.requests.per.connection` over 5 or `retries=0` is a
    ///   [`ConfigError::Conflict`]; with idempotence left at its default,
    ///   such settings turn it off instead
    ///   ([`idempotence_disabled_because`](Self::idempotence_disabled_because));
    /// - a `transactional.id` needs idempotence;
    /// - `delivery.timeout.ms` below `linger.ms + request.timeout.ms` is a
    ///   conflict when set explicitly, and is raised to that sum otherwise;
    /// - `retry.backoff.max.ms` below `retry.backoff.ms` is raised to it
    ///   (likewise the reconnect backoffs);
    /// - SASL needs `sasl.username` and `sasl.password`.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        if self.bootstrap_servers.is_empty() {
            return Err(ConfigError::Missing {
                key: "bootstrap.servers",
            });
        }
        if self.max_in_flight_requests_per_connection == 0 {
            return Err(ConfigError::InvalidValue {
                key: "max.in.flight.requests.per.connection".into(),
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        if self.max_request_size == 0 {
            return Err(ConfigError::InvalidValue {
                key: "max.request.size".into(),
                value: "0".into(),
                reason: "must be positive".into(),
            });
        }
        if self.buffer_memory == 0 {
            return Err(ConfigError::InvalidValue {
                key: "buffer.memory".into(),
                value: "0".into(),
                reason: "must be positive".into(),
            });
        }
        let conflict = if self.acks != Acks::All {
            Some("acks must be all (-1)")
        } else if self.max_in_flight_requests_per_connection > 5 {
            Some("max.in.flight.requests.per.connection must be at most 5")
        } else if self.retries == 0 {
            Some("retries must be positive")
        } else {
            None
        };
        if let Some(reason) = conflict {
            if self.enable_idempotence && self.is_explicit("enable.idempotence") {
                return Err(ConfigError::Conflict {
                    reason: format!("enable.idempotence=true, but for idempotence {reason}"),
                });
            }
            if self.enable_idempotence {
                self.enable_idempotence = false;
                self.idempotence_disabled_because = Some(reason);
            }
        }
        if self.transactional_id.is_some() && !self.enable_idempotence {
            return Err(ConfigError::Conflict {
                reason: "transactional.id needs enable.idempotence=true".into(),
            });
        }
        let floor = self.linger + self.request_timeout;
        if self.delivery_timeout < floor {
            if self.is_explicit("delivery.timeout.ms") {
                return Err(ConfigError::Conflict {
                    reason: format!(
                        "delivery.timeout.ms ({} ms) must be at least linger.ms + request.timeout.ms ({} ms)",
                        self.delivery_timeout.as_millis(),
                        floor.as_millis()
                    ),
                });
            }
            self.delivery_timeout = floor;
        }
        if self.retry_backoff_max < self.retry_backoff {
            self.retry_backoff_max = self.retry_backoff;
        }
        if self.reconnect_backoff_max < self.reconnect_backoff {
            self.reconnect_backoff_max = self.reconnect_backoff;
        }
        if self.security_protocol.uses_sasl() {
            if self.sasl_username.is_none() {
                return Err(ConfigError::Missing {
                    key: "sasl.username",
                });
            }
            if self.sasl_password.is_none() {
                return Err(ConfigError::Missing {
                    key: "sasl.password",
                });
            }
        }
        Ok(())
    }
}

impl FromStr for Acks {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let mut c = ProducerConfig::default();
        c.set("acks", s)?;
        Ok(c.acks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ProducerConfig {
        let mut c = ProducerConfig::default();
        c.set("bootstrap.servers", "localhost:9092").unwrap();
        c
    }

    #[test]
    fn defaults_are_the_java_ones() {
        let c = ProducerConfig::default();
        assert_eq!(c.acks, Acks::All);
        assert!(c.enable_idempotence);
        assert_eq!(c.linger, Duration::from_millis(5));
        assert_eq!(c.batch_size, 16_384);
        assert_eq!(c.buffer_memory, 33_554_432);
        assert_eq!(c.max_block, Duration::from_millis(60_000));
        assert_eq!(c.max_in_flight_requests_per_connection, 5);
        assert_eq!(c.retries, 2_147_483_647);
        assert_eq!(c.delivery_timeout, Duration::from_millis(120_000));
        assert_eq!(c.request_timeout, Duration::from_millis(30_000));
        assert_eq!(c.retry_backoff, Duration::from_millis(100));
        assert_eq!(c.retry_backoff_max, Duration::from_millis(1_000));
        assert_eq!(c.reconnect_backoff, Duration::from_millis(50));
        assert_eq!(c.reconnect_backoff_max, Duration::from_millis(1_000));
        assert_eq!(c.metadata_max_age, Duration::from_millis(300_000));
        assert_eq!(c.max_request_size, 1_048_576);
        assert_eq!(c.compression_type, Compression::None);
    }

    #[test]
    fn every_key_takes_a_good_value_and_refuses_a_bad_one() {
        let good_bad: &[(&str, &str, &str)] = &[
            ("bootstrap.servers", "a:1,[::1]:9093", "nohost"),
            ("metadata.broker.list", "a:1", "a:x"),
            ("client.id", "me", ""),
            ("acks", "1", "2"),
            ("request.required.acks", "-1", "x"),
            ("enable.idempotence", "false", "yes"),
            ("linger.ms", "10", "-1"),
            ("queue.buffering.max.ms", "10", "x"),
            ("batch.size", "0", "-5"),
            ("buffer.memory", "1000", "x"),
            ("max.block.ms", "1", "-1"),
            ("max.in.flight.requests.per.connection", "1", "x"),
            ("max.in.flight", "2", "-1"),
            ("retries", "0", "-1"),
            ("message.send.max.retries", "3", "x"),
            ("delivery.timeout.ms", "1000", "x"),
            ("message.timeout.ms", "1000", "-3"),
            ("request.timeout.ms", "100", "x"),
            ("retry.backoff.ms", "1", "x"),
            ("retry.backoff.max.ms", "1", "x"),
            ("reconnect.backoff.ms", "1", "x"),
            ("reconnect.backoff.max.ms", "1", "x"),
            ("socket.connection.setup.timeout.ms", "1", "x"),
            ("metadata.max.age.ms", "1", "x"),
            ("max.request.size", "10", "x"),
            ("compression.type", "zstd", "brotli"),
            ("compression.codec", "lz4", "x"),
            ("partitioner.class", "round_robin", "com.example.Mine"),
            ("partitioner.ignore.keys", "true", "x"),
            ("transactional.id", "tx", ""),
            ("transaction.timeout.ms", "1", "x"),
            ("security.protocol", "sasl_ssl", "tls"),
            ("sasl.mechanism", "SCRAM-SHA-512", "GSSAPI"),
            ("sasl.mechanisms", "scram-sha-256", "OAUTHBEARER"),
            ("sasl.username", "u", ""),
            ("sasl.password", "p", ""),
            (
                "sasl.jaas.config",
                "x.PlainLoginModule required username=\"u\" password=\"p\";",
                "nonsense",
            ),
        ];
        for &(k, good, bad) in good_bad {
            let mut c = ProducerConfig::default();
            c.set(k, good).unwrap_or_else(|e| panic!("{k}={good}: {e}"));
            // Keys that accept any string have no bad value.
            if matches!(
                k,
                "client.id" | "transactional.id" | "sasl.username" | "sasl.password"
            ) {
                continue;
            }
            let e = c.set(k, bad).unwrap_err();
            assert!(
                matches!(e, ConfigError::InvalidValue { .. }),
                "{k}={bad}: {e:?}"
            );
        }
        assert_eq!(
            ProducerConfig::default().set("linger", "5").unwrap_err(),
            ConfigError::UnknownKey("linger".into())
        );
    }

    #[test]
    fn aliases_and_values_land_in_the_right_fields() {
        let c = ProducerConfig::from_properties([
            ("metadata.broker.list", "PLAINTEXT://h1:1, [fe80::1]:2"),
            ("queue.buffering.max.ms", "7"),
            ("compression.codec", "gzip"),
            ("message.timeout.ms", "50000"),
            ("acks", "all"),
        ])
        .unwrap();
        assert_eq!(
            c.bootstrap_servers[0],
            BrokerAddress {
                host: "h1".into(),
                port: 1
            }
        );
        assert_eq!(c.bootstrap_servers[1].host, "fe80::1");
        assert_eq!(c.bootstrap_servers[1].to_string(), "[fe80::1]:2");
        assert_eq!(c.linger, Duration::from_millis(7));
        assert_eq!(c.compression_type, Compression::Gzip);
        assert_eq!(c.delivery_timeout, Duration::from_millis(50_000));
        assert!(parse_bootstrap("h:0").is_err());
        assert!(parse_bootstrap("h:70000").is_err());
        assert!(parse_bootstrap("[::1:9092").is_err());
        assert!(parse_bootstrap(":9092").is_err());
    }

    #[test]
    fn idempotence_conflicts_error_when_explicit_and_disable_it_otherwise() {
        for (k, v) in [
            ("acks", "1"),
            ("max.in.flight.requests.per.connection", "6"),
            ("retries", "0"),
        ] {
            let mut c = base();
            c.set("enable.idempotence", "true").unwrap();
            c.set(k, v).unwrap();
            assert!(
                matches!(c.validate(), Err(ConfigError::Conflict { .. })),
                "{k}"
            );
            let mut c = base();
            c.set(k, v).unwrap();
            c.validate().unwrap();
            assert!(!c.enable_idempotence, "{k}");
            assert!(c.idempotence_disabled_because().is_some());
        }
        let mut c = base();
        c.validate().unwrap();
        assert!(c.enable_idempotence);
        assert_eq!(c.idempotence_disabled_because(), None);
        let mut c = base();
        c.set("enable.idempotence", "false").unwrap();
        c.set("transactional.id", "t").unwrap();
        assert!(matches!(c.validate(), Err(ConfigError::Conflict { .. })));
    }

    #[test]
    fn delivery_timeout_floor_and_backoff_caps() {
        let mut c = base();
        c.set("delivery.timeout.ms", "1000").unwrap();
        assert!(matches!(c.validate(), Err(ConfigError::Conflict { .. })));
        let mut c = base();
        c.set("request.timeout.ms", "200000").unwrap();
        c.validate().unwrap();
        assert_eq!(c.delivery_timeout, Duration::from_millis(200_005));
        let mut c = base();
        c.set("retry.backoff.ms", "5000").unwrap();
        c.validate().unwrap();
        assert_eq!(c.retry_backoff_max, Duration::from_millis(5000));
        let mut c = ProducerConfig::default();
        assert_eq!(
            c.validate(),
            Err(ConfigError::Missing {
                key: "bootstrap.servers"
            })
        );
    }

    #[test]
    fn sasl_settings_and_secrets_never_leak() {
        let mut c = base();
        c.set("security.protocol", "SASL_PLAINTEXT").unwrap();
        assert_eq!(
            c.validate(),
            Err(ConfigError::Missing {
                key: "sasl.username"
            })
        );
        c.set(
            "sasl.jaas.config",
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"hunter2-secret\";",
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.sasl_username.as_deref(), Some("alice"));
        assert_eq!(
            c.sasl_password.as_ref().map(Secret::expose),
            Some("hunter2-secret")
        );
        assert!(!format!("{c:?}").contains("hunter2"));
        let e = c
            .set("sasl.jaas.config", "hunter2-secret-garbage")
            .unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
        assert!(!format!("{e:?}").contains("hunter2"));
        assert!(SecurityProtocol::SaslSsl.uses_tls() && SecurityProtocol::SaslSsl.uses_sasl());
        assert!(!SecurityProtocol::Ssl.uses_sasl());
    }
}
