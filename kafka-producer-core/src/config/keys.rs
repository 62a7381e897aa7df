//! Property names.

use super::*;

/// A property, by its Java name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Key {
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
    MetricsSampleWindowMs,
    MetricsNumSamples,
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
    CompressionGzipLevel,
    CompressionLz4Level,
    CompressionZstdLevel,
    SocketConnectionSetupTimeoutMaxMs,
    ConnectionsMaxIdleMs,
    SendBufferBytes,
    ReceiveBufferBytes,
    ClientDnsLookup,
    SaslLoginRefreshWindowFactor,
    SaslLoginRefreshWindowJitter,
    SaslLoginRefreshMinPeriodSeconds,
    SaslLoginRefreshBufferSeconds,
    PartitionerRackAware,
    PartitionerAdaptive,
    PartitionerAvailabilityTimeoutMs,
    ClientRack,
    TransactionTwoPhaseCommitEnable,
    ConfigProviders,
    SslCipherSuites,
    SslProtocol,
    MetadataRecoveryStrategy,
    SaslLoginCallbackHandlerClass,
    SaslOauthbearerJwtRetrieverClass,
    SaslOauthbearerTokenEndpointUrl,
    SaslOauthbearerScope,
    SaslOauthbearerClientId,
    SaslOauthbearerClientSecret,
    SaslOauthbearerHeaderUrlencode,
    SaslLoginConnectTimeoutMs,
    SaslLoginReadTimeoutMs,
    SaslLoginRetryBackoffMs,
    SaslLoginRetryBackoffMaxMs,
    SaslOauthbearerSubClaimName,
}

/// Every property name [`ProducerConfig::set`] takes: the Java names, then
/// librdkafka's for the same settings.
pub(super) const KEYS: &[(&str, Key)] = &[
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
    ("metrics.sample.window.ms", Key::MetricsSampleWindowMs),
    ("metrics.num.samples", Key::MetricsNumSamples),
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
    ("compression.gzip.level", Key::CompressionGzipLevel),
    ("compression.lz4.level", Key::CompressionLz4Level),
    ("compression.zstd.level", Key::CompressionZstdLevel),
    (
        "socket.connection.setup.timeout.max.ms",
        Key::SocketConnectionSetupTimeoutMaxMs,
    ),
    ("client.dns.lookup", Key::ClientDnsLookup),
    ("connections.max.idle.ms", Key::ConnectionsMaxIdleMs),
    ("send.buffer.bytes", Key::SendBufferBytes),
    ("receive.buffer.bytes", Key::ReceiveBufferBytes),
    (
        "sasl.login.callback.handler.class",
        Key::SaslLoginCallbackHandlerClass,
    ),
    (
        "sasl.oauthbearer.jwt.retriever.class",
        Key::SaslOauthbearerJwtRetrieverClass,
    ),
    (
        "sasl.oauthbearer.token.endpoint.url",
        Key::SaslOauthbearerTokenEndpointUrl,
    ),
    ("sasl.oauthbearer.scope", Key::SaslOauthbearerScope),
    (
        "sasl.oauthbearer.client.credentials.client.id",
        Key::SaslOauthbearerClientId,
    ),
    (
        "sasl.oauthbearer.client.credentials.client.secret",
        Key::SaslOauthbearerClientSecret,
    ),
    (
        "sasl.oauthbearer.header.urlencode",
        Key::SaslOauthbearerHeaderUrlencode,
    ),
    (
        "sasl.login.connect.timeout.ms",
        Key::SaslLoginConnectTimeoutMs,
    ),
    ("sasl.login.read.timeout.ms", Key::SaslLoginReadTimeoutMs),
    ("sasl.login.retry.backoff.ms", Key::SaslLoginRetryBackoffMs),
    (
        "sasl.login.retry.backoff.max.ms",
        Key::SaslLoginRetryBackoffMaxMs,
    ),
    (
        "sasl.oauthbearer.sub.claim.name",
        Key::SaslOauthbearerSubClaimName,
    ),
    (
        "sasl.login.refresh.window.factor",
        Key::SaslLoginRefreshWindowFactor,
    ),
    (
        "sasl.login.refresh.window.jitter",
        Key::SaslLoginRefreshWindowJitter,
    ),
    (
        "sasl.login.refresh.min.period.seconds",
        Key::SaslLoginRefreshMinPeriodSeconds,
    ),
    (
        "sasl.login.refresh.buffer.seconds",
        Key::SaslLoginRefreshBufferSeconds,
    ),
    ("partitioner.rack.aware", Key::PartitionerRackAware),
    (
        "partitioner.adaptive.partitioning.enable",
        Key::PartitionerAdaptive,
    ),
    (
        "partitioner.availability.timeout.ms",
        Key::PartitionerAvailabilityTimeoutMs,
    ),
    ("client.rack", Key::ClientRack),
    (
        "transaction.two.phase.commit.enable",
        Key::TransactionTwoPhaseCommitEnable,
    ),
    ("config.providers", Key::ConfigProviders),
    ("ssl.cipher.suites", Key::SslCipherSuites),
    ("ssl.protocol", Key::SslProtocol),
    ("metadata.recovery.strategy", Key::MetadataRecoveryStrategy),
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
    pub(super) fn from_name(name: &str) -> Option<Key> {
        KEYS.iter().find(|(n, _)| *n == name).map(|&(_, key)| key)
    }

    /// The Java name (or librdkafka's, for settings Java has not got).
    pub(super) fn name(self) -> &'static str {
        KEYS.iter()
            .find(|&&(_, key)| key == self)
            .map_or("", |&(name, _)| name)
    }

    /// What part of the property's values is honoured, when not all are.
    pub(super) fn limits(self) -> Option<&'static str> {
        Some(match self {
            Key::CompressionLz4Level => {
                "only when set: liblz4 at that level (feature lz4-hc, on by default; 12 to 17 \
                 alike); unset, LZ4 is written at the fast level as librdkafka and franz-go \
                 write it, not at Java's HC level 9"
            }
            Key::ClientDnsLookup => {
                "use_all_dns_ips only; resolve_canonical_bootstrap_servers_only serves Kerberos, \
                 which is not supported"
            }
            Key::SendBufferBytes | Key::ReceiveBufferBytes => {
                "the default is -1 (the operating system's size and its autotuning), not Java's \
                 fixed 131072 / 32768"
            }
            Key::TransactionTwoPhaseCommitEnable => "false only: KIP-939 is not implemented",
            Key::ConfigProviders => "empty only: Java ConfigProvider classes",
            Key::SslCipherSuites => "empty only: rustls offers its own safe suites",
            Key::SslProtocol => "TLSv1.3, TLSv1.2 or TLS: rustls speaks TLS 1.2 and 1.3",
            Key::MetadataRecoveryStrategy => {
                "rebootstrap only: the bootstrap servers are always tried again when no known \
                 broker can be reached"
            }
            Key::PartitionerClass => {
                "the built-in partitioners by name; a custom one is given in code"
            }
            Key::SaslMechanism => "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER; not GSSAPI",
            Key::SaslJaasConfig => {
                "the PLAIN, SCRAM and OAUTHBEARER (unsecured, or clientId / clientSecret / scope \
                 for OIDC) login modules"
            }
            Key::SaslLoginCallbackHandlerClass => {
                "Java's OIDC and unsecured handlers, and AWS's MSK IAM handler (feature \
                 `aws-msk-iam`); other Java classes are refused: give a TokenProvider instead"
            }
            Key::SaslOauthbearerJwtRetrieverClass => {
                "DefaultJwtRetriever or ClientCredentialsJwtRetriever only"
            }
            Key::SaslOauthbearerTokenEndpointUrl => {
                "http(s) (the client-credentials grant, KIP-768) or file: URLs; needs the \
                 runtime crate's `oidc` feature"
            }
            _ => return None,
        })
    }

    /// Whether the value is a secret, never to be shown.
    pub(super) fn is_secret(self) -> bool {
        matches!(
            self,
            Key::SaslPassword | Key::SaslJaasConfig | Key::SaslOauthbearerClientSecret
        )
    }
}

/// An `InvalidValue` error, with the value redacted if it is a secret.
pub(super) fn invalid_value(key: Key, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.name().to_owned(),
        value: shown_value(key, value),
        reason: reason.into(),
    }
}

/// A value as errors may show it.
pub(super) fn shown_value(key: Key, value: &str) -> String {
    if key.is_secret() {
        REDACTED.to_owned()
    } else {
        value.to_owned()
    }
}

/// What the producer does with a property of the Java producer (or one of
/// librdkafka's names for the same setting), as
/// [`property_fate`] reports it. Every property of the Kafka 4.4 Java
/// producer has one; [`java_producer_properties`] lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fate {
    /// The core honours it: a field of [`ProducerConfig`].
    Honoured,
    /// The runtime crate honours it (TLS files and versions): kept in
    /// [`ProducerConfig::transport_properties`] for the runtime to read.
    Transport,
    /// Accepted, with a warning ([`ProducerConfig::warnings`]): it has no
    /// meaning here, for the reason given.
    Ignored(&'static str),
    /// Refused with [`ConfigError::Unsupported`], for the reason given
    /// (which says what to use instead).
    Refused(&'static str),
}

/// The properties that are not fields of [`ProducerConfig`]: handled by the
/// runtime, ignored with a warning, or refused.
const OTHER_PROPERTIES: &[(&str, Fate)] = &[
    // TLS, done by the runtime crates (rustls, PEM files).
    ("ssl.truststore.location", Fate::Transport),
    ("ssl.truststore.type", Fate::Transport),
    ("ssl.truststore.certificates", Fate::Transport),
    ("ssl.keystore.location", Fate::Transport),
    ("ssl.keystore.type", Fate::Transport),
    ("ssl.keystore.key", Fate::Transport),
    ("ssl.keystore.certificate.chain", Fate::Transport),
    ("ssl.keystore.password", Fate::Transport),
    ("ssl.key.password", Fate::Transport),
    ("ssl.endpoint.identification.algorithm", Fate::Transport),
    ("ssl.enabled.protocols", Fate::Transport),
    // librdkafka's TLS names.
    ("ssl.ca.location", Fate::Transport),
    ("ssl.certificate.location", Fate::Transport),
    ("ssl.key.location", Fate::Transport),
    (
        "ssl.truststore.password",
        Fate::Refused(
            "PEM trust stores have no password, and JKS or PKCS12 stores are not supported: give a PEM file in ssl.truststore.location",
        ),
    ),
    (
        "ssl.engine.factory.class",
        Fate::Refused(
            "a Java class: give a rustls ClientConfig to ProducerBuilder::tls_client_config instead",
        ),
    ),
    (
        "ssl.provider",
        Fate::Ignored("a Java security provider: TLS is rustls"),
    ),
    (
        "ssl.keymanager.algorithm",
        Fate::Ignored("a JSSE algorithm name: rustls reads PEM keys itself"),
    ),
    (
        "ssl.trustmanager.algorithm",
        Fate::Ignored("a JSSE algorithm name: rustls verifies certificates with webpki"),
    ),
    (
        "ssl.secure.random.implementation",
        Fate::Ignored("a Java SecureRandom name: rustls uses its crypto provider's randomness"),
    ),
    (
        "security.providers",
        Fate::Ignored("Java security providers: TLS is rustls"),
    ),
    // Java classes.
    (
        "key.serializer",
        Fate::Ignored(
            "a Java class: records are bytes; serialize in Rust (the runtime crates' Serializer trait)",
        ),
    ),
    (
        "value.serializer",
        Fate::Ignored(
            "a Java class: records are bytes; serialize in Rust (the runtime crates' Serializer trait)",
        ),
    ),
    (
        "interceptor.classes",
        Fate::Ignored("Java classes: add interceptors with ProducerBuilder::interceptor"),
    ),
    (
        "metric.reporters",
        Fate::Ignored("Java metric reporter classes: read the producer's metrics() instead"),
    ),
    // Metrics.
    (
        "metrics.recording.level",
        Fate::Ignored("metrics() reports every metric it has at any level"),
    ),
    (
        "enable.metrics.push",
        Fate::Ignored("pushing client metrics to the broker (KIP-714) is not implemented"),
    ),
    // Partitioning.
    // Memory, connections, metadata.
    (
        "buffer.memory.allocation.strategy",
        Fate::Ignored(
            "a batch's buffer grows with its records (planned from its partition's last batch, doubling), whichever strategy is named",
        ),
    ),
    (
        "bootstrap.resolve.timeout.ms",
        Fate::Ignored(
            "bootstrap addresses are resolved again at every connection attempt, backing off by reconnect.backoff.ms",
        ),
    ),
    (
        "metadata.recovery.rebootstrap.trigger.ms",
        Fate::Ignored(
            "the bootstrap servers are tried again as soon as no known broker can be reached",
        ),
    ),
    (
        "metadata.cluster.check.enable",
        Fate::Ignored("the cluster id is not compared after going back to the bootstrap servers"),
    ),
    // Kerberos.
    (
        "sasl.kerberos.service.name",
        Fate::Refused("Kerberos (GSSAPI) is not supported: use SCRAM, PLAIN or OAUTHBEARER"),
    ),
    (
        "sasl.kerberos.kinit.cmd",
        Fate::Refused("Kerberos (GSSAPI) is not supported: use SCRAM, PLAIN or OAUTHBEARER"),
    ),
    (
        "sasl.kerberos.ticket.renew.window.factor",
        Fate::Refused("Kerberos (GSSAPI) is not supported: use SCRAM, PLAIN or OAUTHBEARER"),
    ),
    (
        "sasl.kerberos.ticket.renew.jitter",
        Fate::Refused("Kerberos (GSSAPI) is not supported: use SCRAM, PLAIN or OAUTHBEARER"),
    ),
    (
        "sasl.kerberos.min.time.before.relogin",
        Fate::Refused("Kerberos (GSSAPI) is not supported: use SCRAM, PLAIN or OAUTHBEARER"),
    ),
    // SASL login classes and the built-in OIDC flows.
    (
        "sasl.client.callback.handler.class",
        Fate::Refused(
            "a Java class: give a TokenProvider to ProducerBuilder::token_provider instead",
        ),
    ),
    (
        "sasl.login.class",
        Fate::Refused(
            "a Java class: give a TokenProvider to ProducerBuilder::token_provider instead",
        ),
    ),
    (
        "sasl.oauthbearer.jwt.validator.class",
        Fate::Refused(
            "a Java class: give a TokenProvider to ProducerBuilder::token_provider instead",
        ),
    ),
    ("sasl.oauthbearer.assertion.algorithm", Fate::Refused(OIDC)),
    ("sasl.oauthbearer.assertion.claim.aud", Fate::Refused(OIDC)),
    (
        "sasl.oauthbearer.assertion.claim.exp.seconds",
        Fate::Refused(OIDC),
    ),
    ("sasl.oauthbearer.assertion.claim.iss", Fate::Refused(OIDC)),
    (
        "sasl.oauthbearer.assertion.claim.jti.include",
        Fate::Refused(OIDC),
    ),
    (
        "sasl.oauthbearer.assertion.claim.nbf.seconds",
        Fate::Refused(OIDC),
    ),
    ("sasl.oauthbearer.assertion.claim.sub", Fate::Refused(OIDC)),
    ("sasl.oauthbearer.assertion.file", Fate::Refused(OIDC)),
    (
        "sasl.oauthbearer.assertion.private.key.file",
        Fate::Refused(OIDC),
    ),
    (
        "sasl.oauthbearer.assertion.private.key.passphrase",
        Fate::Refused(OIDC),
    ),
    (
        "sasl.oauthbearer.assertion.template.file",
        Fate::Refused(OIDC),
    ),
    // Token validation, which brokers do.
    (
        "sasl.oauthbearer.scope.claim.name",
        Fate::Ignored(TOKEN_VALIDATION),
    ),
    (
        "sasl.oauthbearer.jwks.endpoint.url",
        Fate::Ignored(TOKEN_VALIDATION),
    ),
    (
        "sasl.oauthbearer.jwks.endpoint.refresh.ms",
        Fate::Ignored(TOKEN_VALIDATION),
    ),
    (
        "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
        Fate::Ignored(TOKEN_VALIDATION),
    ),
    (
        "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
        Fate::Ignored(TOKEN_VALIDATION),
    ),
    (
        "sasl.oauthbearer.clock.skew.seconds",
        Fate::Ignored(TOKEN_VALIDATION),
    ),
    (
        "sasl.oauthbearer.expected.audience",
        Fate::Ignored(TOKEN_VALIDATION),
    ),
    (
        "sasl.oauthbearer.expected.issuer",
        Fate::Ignored(TOKEN_VALIDATION),
    ),
    (
        "sasl.oauthbearer.allow.unverified.audience",
        Fate::Ignored(TOKEN_VALIDATION),
    ),
    (
        "sasl.oauthbearer.allow.unverified.issuer",
        Fate::Ignored(TOKEN_VALIDATION),
    ),
];

/// Why the JWT-bearer properties are refused.
const OIDC: &str = "the JWT-bearer grant (KIP-1139) is not built in (the client-credentials \
                    grant is): fetch such tokens in a TokenProvider given to \
                    ProducerBuilder::token_provider";
/// Why the token validation settings are ignored.
const TOKEN_VALIDATION: &str = "settings for validating OAUTHBEARER tokens, which the broker does";

/// What the producer does with the property `name` (a Java name or a
/// librdkafka alias); `None` for a name it does not know (a typo, say).
pub fn property_fate(name: &str) -> Option<Fate> {
    if Key::from_name(name).is_some() {
        return Some(Fate::Honoured);
    }
    OTHER_PROPERTIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, fate)| fate)
}

/// For an honoured property that honours only some of its values, which
/// (the others are refused, or have no effect, as this says).
pub fn property_limits(name: &str) -> Option<&'static str> {
    Key::from_name(name).and_then(Key::limits)
}

/// Every property name the producer knows, with its fate: the Kafka 4.4
/// Java producer's, then librdkafka's aliases, in no particular order.
pub fn known_properties() -> impl Iterator<Item = (&'static str, Fate)> {
    KEYS.iter()
        .map(|&(name, _)| (name, Fate::Honoured))
        .chain(OTHER_PROPERTIES.iter().copied())
}
