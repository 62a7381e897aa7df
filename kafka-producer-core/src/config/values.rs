//! The values of single properties: types and their parsers.

use super::*;

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
pub struct Secret(pub(super) String);

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

/// Reads an integer property within `min..=max`.
pub(super) fn parse_int(value: &str, min: i64, max: i64) -> Result<i64, String> {
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
pub(super) fn parse_ms(value: &str, min: i64, max: i64) -> Result<Duration, String> {
    // `min` is never negative, so the magnitude is the value.
    Ok(Duration::from_millis(
        parse_int(value, min, max)?.unsigned_abs(),
    ))
}

/// Reads a size or count property.
pub(super) fn parse_size(value: &str, min: i64, max: i64) -> Result<usize, String> {
    usize::try_from(parse_int(value, min, max)?.unsigned_abs())
        .map_err(|_| "too large for this platform".to_owned())
}

/// Reads a boolean as Java does: `true` or `false`, any case.
pub(super) fn parse_bool(value: &str) -> Result<bool, String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("expected true or false".to_owned())
    }
}

pub(super) fn parse_acks(value: &str) -> Result<Acks, String> {
    match value.trim() {
        "0" => Ok(Acks::None),
        "1" => Ok(Acks::Leader),
        "-1" => Ok(Acks::All),
        // Java's validator is case-sensitive here.
        "all" => Ok(Acks::All),
        _ => Err("expected all, -1, 1 or 0".to_owned()),
    }
}

pub(super) fn parse_compression(value: &str) -> Result<Compression, String> {
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

pub(super) fn parse_partitioner(value: &str) -> Result<PartitionerChoice, String> {
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

pub(super) fn parse_security_protocol(value: &str) -> Result<SecurityProtocol, String> {
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
pub(super) fn parse_sasl_mechanism(value: &str) -> Result<&'static str, String> {
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
pub(super) fn parse_bootstrap(value: &str) -> Result<Vec<BrokerAddress>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(parse_address)
        .collect()
}

/// Parses `host:port`, `[ipv6]:port`, optionally after a listener prefix
/// such as `SASL_SSL://`, which Java and librdkafka both tolerate.
pub(super) fn parse_address(entry: &str) -> Result<BrokerAddress, String> {
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

/// Reads a Java `double` property within `min..=max`.
pub(super) fn parse_fraction(value: &str, min: f64, max: f64) -> Result<f64, String> {
    let n: f64 = value
        .trim()
        .parse()
        .map_err(|_| "expected a number".to_owned())?;
    if !(min..=max).contains(&n) {
        return Err(format!("must be between {min} and {max}"));
    }
    Ok(n)
}

/// Reads `send.buffer.bytes` / `receive.buffer.bytes`: -1 is the operating
/// system's size (`None`).
pub(super) fn parse_buffer_bytes(value: &str) -> Result<Option<usize>, String> {
    match parse_int(value, -1, INT_MAX)? {
        -1 => Ok(None),
        n => Ok(usize::try_from(n).ok()),
    }
}
