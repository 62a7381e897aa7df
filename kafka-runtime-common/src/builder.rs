//! [`ProducerBuilder`]: configuration with the Java client's names.

use crate::interceptor::{Interceptors, ProducerInterceptor};
use std::hash::{BuildHasher, RandomState};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kafka_producer_core::config::{Acks, PartitionerChoice, SecurityProtocol};
use kafka_producer_core::partitioner::Partitioner;
use kafka_producer_core::{Compression, ConfigError, Producer as Core, ProducerConfig};

use crate::Runtime;
use crate::tls::TlsSettings;

/// Builds a producer for the runtime `R` (the runtime crates name it, e.g.
/// `kafka_runtime_tokio::ProducerBuilder`). Every setter has the Java property it sets in its
/// doc; [`set`](Self::set) takes any property by name. A bad value is kept
/// as the first error and returned by [`build`](Self::build), so setters
/// chain.
///
/// Properties: every one [`ProducerConfig::set`] knows (the Java names and
/// the usual librdkafka aliases), plus the TLS ones this crate handles:
/// `ssl.ca.location` / `ssl.truststore.location` (PEM CA file; the system
/// roots when unset), `ssl.truststore.type=PEM`, `ssl.certificate.location`
/// and `ssl.key.location` (client certificate and unencrypted key, PEM), or
/// `ssl.keystore.location` with `ssl.keystore.type=PEM` (both in one file),
/// and `ssl.endpoint.identification.algorithm` (`https`, the default, or
/// `none`/empty to accept a certificate for another host name — its chain
/// is still verified).
pub struct ProducerBuilder<R> {
    config: ProducerConfig,
    tls: TlsSettings,
    partitioner: Option<Box<dyn Partitioner>>,
    interceptors: Vec<Arc<dyn ProducerInterceptor>>,
    token_provider: Option<crate::token::TokenSource>,
    error: Option<ConfigError>,
    runtime: PhantomData<fn() -> R>,
}

impl<R> Default for ProducerBuilder<R> {
    fn default() -> Self {
        ProducerBuilder {
            config: ProducerConfig::default(),
            tls: TlsSettings::default(),
            partitioner: None,
            interceptors: Vec::new(),
            token_provider: None,
            error: None,
            runtime: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for ProducerBuilder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // ProducerConfig's Debug redacts the SASL password.
        f.debug_struct("ProducerBuilder")
            .field("config", &self.config)
            .field("tls", &self.tls)
            .field("custom_partitioner", &self.partitioner.is_some())
            .field("interceptors", &self.interceptors.len())
            .field("error", &self.error)
            .finish()
    }
}

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

impl<R: Runtime> ProducerBuilder<R> {
    /// The Java client's defaults (`acks=all`, idempotence on, `linger.ms=5`,
    /// ...); `bootstrap.servers` must still be set.
    pub fn new() -> ProducerBuilder<R> {
        ProducerBuilder::default()
    }

    /// Starts from a configuration built elsewhere (for example
    /// [`ProducerConfig::from_properties`]).
    pub fn from_config(config: ProducerConfig) -> ProducerBuilder<R> {
        let mut builder = ProducerBuilder::default();
        // The TLS properties the core kept for us.
        for (key, value) in config.transport_properties() {
            if let Some(Err(e)) = builder.tls.set(key, value) {
                builder.error.get_or_insert(e);
            }
        }
        builder.config = config;
        builder
    }

    /// A builder with the properties of a Java `.properties` file: the same
    /// as `ProducerBuilder::new().properties_file(path)`.
    pub fn from_properties_file(path: impl AsRef<Path>) -> ProducerBuilder<R> {
        ProducerBuilder::new().properties_file(path)
    }

    /// Sets every property of a Java `.properties` file (read as
    /// `java.util.Properties.load` reads it: comments, `=`, `:` or
    /// whitespace between key and value, line continuations, escapes; see
    /// [`parse_properties`](kafka_producer_core::config::parse_properties)),
    /// in file order, so a property set after this overrides the file's.
    /// The file is UTF-8, or ISO-8859-1 (Java's encoding for it) when it is
    /// not valid UTF-8. A missing or malformed file is a
    /// [`ConfigError::PropertiesFile`] naming it, returned by
    /// [`build`](Self::build); so is any property it sets wrongly.
    pub fn properties_file(mut self, path: impl AsRef<Path>) -> Self {
        if self.error.is_some() {
            return self;
        }
        match load_properties_file(path.as_ref()) {
            Ok(entries) => {
                for (key, value) in entries {
                    self = self.set(&key, &value);
                }
            }
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Sets one property by name (`"linger.ms"`, `"5"`). Unknown names and
    /// bad values become the error [`build`](Self::build) returns; values of
    /// secret properties are never shown.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        if self.error.is_some() {
            return self;
        }
        let result = match self.tls.set(key, value) {
            Some(result) => result,
            None => self.config.set(key, value),
        };
        self.error = result.err();
        self
    }

    /// `bootstrap.servers`: `host:port,host:port`.
    pub fn bootstrap_servers(self, servers: &str) -> Self {
        self.set("bootstrap.servers", servers)
    }

    /// `client.id`.
    pub fn client_id(self, client_id: &str) -> Self {
        self.set("client.id", client_id)
    }

    /// `acks`.
    pub fn acks(self, acks: Acks) -> Self {
        self.set("acks", &acks.as_i16().to_string())
    }

    /// `linger.ms`.
    pub fn linger(self, linger: Duration) -> Self {
        self.set("linger.ms", &millis(linger))
    }

    /// `batch.size`, in bytes.
    pub fn batch_size(self, bytes: usize) -> Self {
        self.set("batch.size", &bytes.to_string())
    }

    /// `compression.type`.
    pub fn compression(self, compression: Compression) -> Self {
        self.set("compression.type", compression.name())
    }

    /// `enable.idempotence` (set explicitly: a conflicting `acks`,
    /// `retries` or `max.in.flight` is then an error, not a silent switch-off).
    pub fn enable_idempotence(self, enable: bool) -> Self {
        self.set("enable.idempotence", if enable { "true" } else { "false" })
    }

    /// `retries`.
    pub fn retries(self, retries: u32) -> Self {
        self.set("retries", &retries.to_string())
    }

    /// `delivery.timeout.ms`: how long a record may take from `send` to its
    /// outcome.
    pub fn delivery_timeout(self, timeout: Duration) -> Self {
        self.set("delivery.timeout.ms", &millis(timeout))
    }

    /// `request.timeout.ms`.
    pub fn request_timeout(self, timeout: Duration) -> Self {
        self.set("request.timeout.ms", &millis(timeout))
    }

    /// `max.in.flight.requests.per.connection`.
    pub fn max_in_flight(self, requests: usize) -> Self {
        self.set(
            "max.in.flight.requests.per.connection",
            &requests.to_string(),
        )
    }

    /// `buffer.memory`, in bytes.
    pub fn buffer_memory(self, bytes: usize) -> Self {
        self.set("buffer.memory", &bytes.to_string())
    }

    /// `max.block.ms`: how long `send` waits for buffer space or metadata.
    pub fn max_block(self, timeout: Duration) -> Self {
        self.set("max.block.ms", &millis(timeout))
    }

    /// `partitioner.class`: a built-in partitioner.
    pub fn partitioner(self, choice: PartitionerChoice) -> Self {
        let name = match choice {
            PartitionerChoice::RoundRobin => "round_robin",
            _ => "default",
        };
        self.set("partitioner.class", name)
    }

    /// Adds `interceptor` to the end of the chain of
    /// [`ProducerInterceptor`]s (Java's `interceptor.classes`): it sees each
    /// record before it is partitioned and each record's outcome. See
    /// [`interceptor`](crate::interceptor).
    pub fn interceptor(mut self, interceptor: impl ProducerInterceptor) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Where OAUTHBEARER tokens come from (`sasl.mechanism=OAUTHBEARER`),
    /// in place of the unsecured tokens a `sasl.jaas.config` with
    /// `unsecuredLoginStringClaim_sub` makes. See [`token`](crate::token).
    pub fn token_provider(mut self, provider: impl crate::token::TokenProvider) -> Self {
        self.token_provider = Some(crate::token::TokenSource::Blocking(Arc::new(provider)));
        self
    }

    /// [`token_provider`](Self::token_provider) for a provider that fetches
    /// tokens without blocking (an HTTP client of the runtime): the driver
    /// runs its future as a task of its own. Tokio and async-std only:
    /// mio's producers refuse it at `build()`.
    pub fn async_token_provider(mut self, provider: impl crate::token::AsyncTokenProvider) -> Self {
        self.token_provider = Some(crate::token::TokenSource::Async(Arc::new(provider)));
        self
    }

    /// A partitioner of your own, used for records without a partition.
    pub fn custom_partitioner(mut self, partitioner: impl Partitioner + 'static) -> Self {
        self.partitioner = Some(Box::new(partitioner));
        self
    }

    /// `security.protocol`: `SSL` and `SASL_SSL` turn TLS on.
    pub fn security_protocol(self, protocol: SecurityProtocol) -> Self {
        self.set("security.protocol", protocol.name())
    }

    /// `sasl.mechanism` (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`),
    /// `sasl.username` and `sasl.password`. Pair with
    /// [`security_protocol`](Self::security_protocol) `SASL_PLAINTEXT` or
    /// `SASL_SSL`.
    pub fn sasl(self, mechanism: &str, username: &str, password: &str) -> Self {
        self.set("sasl.mechanism", mechanism)
            .set("sasl.username", username)
            .set("sasl.password", password)
    }

    /// `ssl.ca.location`: a PEM file of CA certificates to trust instead of
    /// the system roots.
    pub fn ssl_ca_location(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca_location = Some(path.into());
        self
    }

    /// `ssl.certificate.location` and `ssl.key.location`: a client
    /// certificate chain and its unencrypted private key, both PEM (mutual
    /// TLS).
    pub fn ssl_client_certificate(
        mut self,
        certificate: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.tls.certificate_location = Some(certificate.into());
        self.tls.key_location = Some(key.into());
        self
    }

    /// `ssl.endpoint.identification.algorithm`: `true` (`https`, the
    /// default) checks that the broker's certificate names the host
    /// connected to; `false` (`none`) only checks its chain.
    pub fn ssl_endpoint_identification(mut self, verify_hostname: bool) -> Self {
        self.tls.verify_hostname = verify_hostname;
        self
    }

    /// A complete rustls configuration, used instead of every `ssl.*`
    /// setting (it must have been built with a crypto provider).
    #[cfg(feature = "tls")]
    pub fn tls_client_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls.client_config = Some(config);
        self
    }

    /// Validates the configuration, reads the TLS files, builds the core
    /// and has the runtime start its driver.
    ///
    /// Errors: the first bad setting, a conflict between settings
    /// ([`ProducerConfig::validate`]), an unreadable TLS file, or what the
    /// runtime refuses (e.g. no Tokio runtime on this thread).
    pub fn build(self) -> Result<R::Producer, ConfigError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut config = self.config;
        config.validate()?;
        let oauth = config.security_protocol.uses_sasl() && config.sasl_mechanism == "OAUTHBEARER";
        let token_provider = match (self.token_provider, &config.sasl_oauthbearer_unsecured) {
            (Some(p), _) => Some(p),
            (None, _)
                if oauth
                    && config.sasl_login_callback_handler_class.as_deref()
                        == Some(kafka_producer_core::config::MSK_IAM_HANDLER) =>
            {
                Some(msk_iam_provider(&config)?)
            }
            (None, _) if oauth && config.sasl_oauthbearer_token_endpoint_url.is_some() => {
                Some(oidc_provider::<R>(&config)?)
            }
            (None, Some(login)) => Some(crate::token::TokenSource::Blocking(Arc::new(
                crate::token::UnsecuredTokenProvider::new(login.clone()),
            ))),
            (None, None) if oauth => {
                return Err(ConfigError::Missing {
                    key: "sasl.jaas.config (OAuthBearerLoginModule with \
                          unsecuredLoginStringClaim_sub) or ProducerBuilder::token_provider",
                });
            }
            (None, None) => None,
        };
        let tls = if config.security_protocol.uses_tls() {
            Some(self.tls.client_config()?)
        } else {
            None
        };
        if let Some(reason) = config.idempotence_disabled_because() {
            tracing::info!(reason, "idempotence turned off");
        }
        for warning in config.warnings() {
            tracing::warn!(property = %warning.key, reason = warning.reason, "property ignored");
        }
        let span = tracing::info_span!("kafka_producer", client_id = %config.client_id);
        let now = Instant::now();
        let wall_clock_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        // A randomly keyed hasher is a random seed without another dependency.
        let seed = RandomState::new().hash_one(now);
        let mut core = Core::with_partitioner(config, self.partitioner, now, wall_clock_ms, seed)?;
        // SCRAM nonces from the operating system's randomness, fresh for
        // every authentication.
        core.set_entropy_source(|buf| getrandom::fill(buf).is_ok());
        let interceptors =
            (!self.interceptors.is_empty()).then(|| Interceptors::new(self.interceptors));
        R::start(Parts {
            core,
            tls,
            span,
            interceptors,
            token_provider: token_provider.filter(|_| oauth),
        })
    }
}

/// The entries of a Java `.properties` file, in file order, read as
/// [`ProducerBuilder::properties_file`] reads it (UTF-8, or ISO-8859-1 when
/// the file is not UTF-8; see
/// [`parse_properties`](kafka_producer_core::config::parse_properties)).
/// A missing or malformed file is a [`ConfigError::PropertiesFile`] naming it.
pub fn load_properties_file(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let fail = |reason: String| ConfigError::PropertiesFile {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        // ISO-8859-1: every byte is the code point of the same value.
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    };
    kafka_producer_core::config::parse_properties(&text).map_err(|e| fail(e.to_string()))
}

/// MSK IAM tokens for the region of `config`'s cluster.
#[cfg(feature = "aws-msk-iam")]
fn msk_iam_provider(config: &ProducerConfig) -> Result<crate::token::TokenSource, ConfigError> {
    let host = config
        .bootstrap_servers
        .first()
        .map_or("", |b| b.host.as_str());
    let provider = crate::msk_iam::MskIamTokenProvider::for_bootstrap(host).map_err(|reason| {
        ConfigError::InvalidValue {
            key: "sasl.login.callback.handler.class".to_owned(),
            value: kafka_producer_core::config::MSK_IAM_HANDLER.to_owned(),
            reason,
        }
    })?;
    Ok(crate::token::TokenSource::Blocking(Arc::new(provider)))
}

/// Without the `aws-msk-iam` feature, MSK IAM is refused, naming it.
#[cfg(not(feature = "aws-msk-iam"))]
fn msk_iam_provider(_config: &ProducerConfig) -> Result<crate::token::TokenSource, ConfigError> {
    Err(ConfigError::InvalidValue {
        key: "sasl.login.callback.handler.class".to_owned(),
        value: kafka_producer_core::config::MSK_IAM_HANDLER.to_owned(),
        reason: "this build has no MSK IAM signer: enable the `aws-msk-iam` feature of the \
                 runtime crate"
            .to_owned(),
    })
}

/// The OIDC provider `config` names (`sasl.oauthbearer.token.endpoint.url`),
/// as the runtime runs it: a task of the async drivers, a call on mio's.
#[cfg(feature = "oidc")]
fn oidc_provider<R: Runtime>(
    config: &ProducerConfig,
) -> Result<crate::token::TokenSource, ConfigError> {
    let provider =
        crate::oidc::OidcTokenProvider::from_config(config).ok_or(ConfigError::Missing {
            key: "sasl.oauthbearer.token.endpoint.url",
        })?;
    Ok(if R::runs_async_token_providers() {
        crate::token::TokenSource::Async(Arc::new(provider))
    } else {
        crate::token::TokenSource::Blocking(Arc::new(provider))
    })
}

/// Without the `oidc` feature a token endpoint is refused, naming it.
#[cfg(not(feature = "oidc"))]
// The signature of the `oidc` version, which asks the runtime.
#[allow(clippy::extra_unused_type_parameters)]
fn oidc_provider<R: Runtime>(
    config: &ProducerConfig,
) -> Result<crate::token::TokenSource, ConfigError> {
    Err(ConfigError::InvalidValue {
        key: "sasl.oauthbearer.token.endpoint.url".to_owned(),
        value: config
            .sasl_oauthbearer_token_endpoint_url
            .clone()
            .unwrap_or_default(),
        reason: "this build has no OIDC client: enable the `oidc` feature of the runtime crate"
            .to_owned(),
    })
}

/// What [`ProducerBuilder::build`] hands a runtime to start a producer.
#[non_exhaustive]
pub struct Parts {
    /// The configured core.
    pub core: Core,
    /// The rustls configuration, when `security.protocol` uses TLS.
    pub tls: Option<crate::TlsConfig>,
    /// The producer's `tracing` span (`kafka_producer`, with the client id):
    /// the driver runs in it.
    pub span: tracing::Span,
    /// The interceptors set on the builder, if any: hand them to
    /// [`Shared::new`](crate::shared::Shared::new) or
    /// [`State::new`](crate::shared::State::new).
    pub interceptors: Option<Interceptors>,
    /// Where OAUTHBEARER tokens come from: give it to the [`State`](crate::shared::State)
    /// (`token_provider`).
    pub token_provider: Option<crate::token::TokenSource>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("core", &self.core)
            .field("tls", &self.tls.is_some())
            .field("interceptors", &self.interceptors)
            .field("token_provider", &self.token_provider.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runtime that starts nothing: these tests stop at the builder.
    enum NoDriver {}

    impl Runtime for NoDriver {
        type Producer = Parts;

        fn start(parts: Parts) -> Result<Parts, ConfigError> {
            Ok(parts)
        }

        async fn timeout_at<F: std::future::Future + Send>(
            _deadline: Instant,
            future: F,
        ) -> Option<F::Output> {
            Some(future.await)
        }
    }

    fn error(builder: ProducerBuilder<NoDriver>) -> ConfigError {
        builder.build().unwrap_err()
    }

    #[test]
    fn unknown_keys_and_bad_values_are_the_first_error() {
        let e = error(
            ProducerBuilder::new()
                .set("linger.mss", "5")
                .set("acks", "7"),
        );
        assert_eq!(
            e,
            ConfigError::UnknownKey {
                key: "linger.mss".into()
            }
        );
        let e = error(
            ProducerBuilder::new()
                .bootstrap_servers("b:9092")
                .set("acks", "7"),
        );
        assert!(
            matches!(e, ConfigError::InvalidValue { ref key, .. } if key == "acks"),
            "{e}"
        );
        let e = error(ProducerBuilder::new());
        assert!(matches!(e, ConfigError::Missing { .. }), "{e}");
    }

    #[test]
    fn typed_setters_count_as_explicit_settings() {
        // Idempotence asked for explicitly conflicts with acks=1 (Java).
        let e = error(
            ProducerBuilder::new()
                .bootstrap_servers("b:9092")
                .enable_idempotence(true)
                .acks(Acks::Leader),
        );
        assert!(matches!(e, ConfigError::Conflict { .. }), "{e}");
    }

    #[test]
    fn secrets_stay_out_of_errors_and_debug() {
        let e = error(
            ProducerBuilder::new()
                .bootstrap_servers("b:9092")
                .set("ssl.key.password", "hunter2"),
        );
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let builder = ProducerBuilder::<NoDriver>::new().sasl("PLAIN", "alice", "hunter2");
        assert!(!format!("{builder:?}").contains("hunter2"));
    }

    #[test]
    fn a_valid_configuration_reaches_the_runtime_with_tls_only_when_asked() {
        let parts = ProducerBuilder::<NoDriver>::new()
            .bootstrap_servers("b:9092")
            .linger(Duration::from_millis(7))
            .build()
            .unwrap();
        assert!(parts.tls.is_none());
        assert_eq!(parts.core.config().linger, Duration::from_millis(7));
        let built = ProducerBuilder::<NoDriver>::new()
            .bootstrap_servers("b:9093")
            .security_protocol(SecurityProtocol::Ssl)
            .build();
        #[cfg(feature = "tls")]
        assert!(built.unwrap().tls.is_some());
        // Without the feature, TLS is refused by name, never dropped.
        #[cfg(not(feature = "tls"))]
        assert!(
            built
                .unwrap_err()
                .to_string()
                .contains("enable the `tls` feature"),
        );
    }
}
