//! TLS settings (`ssl.*` properties) and the rustls client configuration
//! built from them.

//!
//! Without the `tls` feature the `ssl.*` properties still parse (a Java
//! properties file keeps loading), but a TLS `security.protocol` is refused
//! by `build()` with a [`ConfigError`] that names the feature.

#[cfg(feature = "tls")]
use std::path::Path;
use std::path::PathBuf;
#[cfg(feature = "tls")]
use std::sync::Arc;

use kafka_producer_core::ConfigError;
#[cfg(feature = "tls")]
use rustls::client::WebPkiServerVerifier;
#[cfg(feature = "tls")]
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
#[cfg(feature = "tls")]
use rustls::pki_types::pem::PemObject;
#[cfg(feature = "tls")]
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
#[cfg(feature = "tls")]
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// The TLS client configuration a runtime's driver connects with: a rustls
/// `ClientConfig` (feature `tls`, the default).
#[cfg(feature = "tls")]
pub type TlsConfig = Arc<ClientConfig>;

/// The TLS client configuration a runtime's driver connects with: without
/// the `tls` feature there is none ([`NoTls`] has no values).
#[cfg(not(feature = "tls"))]
pub type TlsConfig = NoTls;

/// A type with no values: the TLS configuration of a build without the
/// `tls` feature, so `Option<TlsConfig>` is always `None`.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoTls {}

/// The `ssl.*` properties, all PEM.
#[derive(Clone)]
pub(crate) struct TlsSettings {
    /// `ssl.ca.location` / `ssl.truststore.location`; system roots if unset.
    pub(crate) ca_location: Option<PathBuf>,
    /// `ssl.certificate.location` (client certificate chain, mTLS).
    pub(crate) certificate_location: Option<PathBuf>,
    /// `ssl.key.location` (the client certificate's private key).
    pub(crate) key_location: Option<PathBuf>,
    /// `ssl.keystore.location` with `ssl.keystore.type=PEM`: chain and key in
    /// one file.
    pub(crate) keystore_location: Option<PathBuf>,
    /// `ssl.endpoint.identification.algorithm=https` (the default).
    pub(crate) verify_hostname: bool,
    /// A complete configuration given in code; overrides all of the above.
    #[cfg(feature = "tls")]
    pub(crate) client_config: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for TlsSettings {
    /// Paths only: a given `ClientConfig` holds a private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut f = f.debug_struct("TlsSettings");
        f.field("ca_location", &self.ca_location)
            .field("certificate_location", &self.certificate_location)
            .field("key_location", &self.key_location)
            .field("keystore_location", &self.keystore_location)
            .field("verify_hostname", &self.verify_hostname);
        #[cfg(feature = "tls")]
        f.field("client_config", &self.client_config.as_ref().map(|_| ".."));
        f.finish()
    }
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            ca_location: None,
            certificate_location: None,
            key_location: None,
            keystore_location: None,
            verify_hostname: true,
            #[cfg(feature = "tls")]
            client_config: None,
        }
    }
}

impl TlsSettings {
    /// Applies an `ssl.*` property; `None` when `key` is not one of ours.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Option<Result<(), ConfigError>> {
        let path = || Some(PathBuf::from(value.trim()));
        match key {
            "ssl.ca.location" | "ssl.truststore.location" => self.ca_location = path(),
            "ssl.certificate.location" => self.certificate_location = path(),
            "ssl.key.location" => self.key_location = path(),
            "ssl.keystore.location" => self.keystore_location = path(),
            "ssl.truststore.type" | "ssl.keystore.type" => {
                if !value.trim().eq_ignore_ascii_case("PEM") {
                    return Some(Err(invalid(key, value, "only PEM files are supported")));
                }
            }
            "ssl.endpoint.identification.algorithm" => match value.trim() {
                v if v.eq_ignore_ascii_case("https") => self.verify_hostname = true,
                // Java disables the check with an empty value, librdkafka with "none".
                v if v.is_empty() || v.eq_ignore_ascii_case("none") => self.verify_hostname = false,
                _ => return Some(Err(invalid(key, value, "expected https, none or empty"))),
            },
            "ssl.key.password" | "ssl.keystore.password" => {
                return Some(Err(ConfigError::InvalidValue {
                    key: key.to_owned(),
                    value: "<redacted>".to_owned(),
                    reason: "encrypted private keys are not supported; use an unencrypted PEM key"
                        .to_owned(),
                }));
            }
            _ => return None,
        }
        Some(Ok(()))
    }

    /// Without the `tls` feature: a refusal naming it.
    #[cfg(not(feature = "tls"))]
    pub(crate) fn client_config(&self) -> Result<TlsConfig, ConfigError> {
        Err(ConfigError::InvalidValue {
            key: "security.protocol".to_owned(),
            value: "SSL".to_owned(),
            reason: "this build has no TLS: enable the `tls` feature of the runtime crate \
                     (on by default)"
                .to_owned(),
        })
    }

    /// The rustls configuration these settings describe. Reads the files.
    #[cfg(feature = "tls")]
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, ConfigError> {
        if let Some(config) = &self.client_config {
            return Ok(config.clone());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(self.roots()?);
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("security.protocol", "SSL", &e.to_string()))?;
        let builder = if self.verify_hostname {
            builder.with_root_certificates(roots)
        } else {
            let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| invalid("ssl.ca.location", "", &e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
        };
        let (chain_file, key_file, key_name) = match (
            &self.keystore_location,
            &self.certificate_location,
            &self.key_location,
        ) {
            (Some(store), _, _) => (store, store, "ssl.keystore.location"),
            (None, Some(chain), Some(key)) => (chain, key, "ssl.key.location"),
            (None, None, None) => return Ok(Arc::new(builder.with_no_client_auth())),
            (None, Some(_), None) => {
                return Err(ConfigError::Missing {
                    key: "ssl.key.location",
                });
            }
            (None, None, Some(_)) => {
                return Err(ConfigError::Missing {
                    key: "ssl.certificate.location",
                });
            }
        };
        let chain_name = match self.keystore_location {
            Some(_) => "ssl.keystore.location",
            None => "ssl.certificate.location",
        };
        let chain = read_certificates(chain_file, chain_name)?;
        let key = PrivateKeyDer::from_pem_file(key_file)
            .map_err(|e| invalid_path(key_name, key_file, &format!("no private key: {e}")))?;
        let config = builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| invalid_path(key_name, key_file, &e.to_string()))?;
        Ok(Arc::new(config))
    }

    #[cfg(feature = "tls")]
    fn roots(&self) -> Result<RootCertStore, ConfigError> {
        let mut roots = RootCertStore::empty();
        match &self.ca_location {
            Some(path) => {
                for cert in read_certificates(path, "ssl.ca.location")? {
                    roots
                        .add(cert)
                        .map_err(|e| invalid_path("ssl.ca.location", path, &e.to_string()))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for e in &found.errors {
                    tracing::debug!(error = %e, "skipping unreadable system CA certificates");
                }
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(ConfigError::Missing {
                        key: "ssl.ca.location (no system CA certificates were found)",
                    });
                }
            }
        }
        Ok(roots)
    }
}

#[cfg(feature = "tls")]
fn read_certificates(
    path: &Path,
    key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid_path(key, path, &e.to_string()))?;
    if certs.is_empty() {
        return Err(invalid_path(key, path, "no PEM certificate in the file"));
    }
    Ok(certs)
}

fn invalid(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(feature = "tls")]
fn invalid_path(key: &str, path: &Path, reason: &str) -> ConfigError {
    invalid(key, &path.display().to_string(), reason)
}

/// `ssl.endpoint.identification.algorithm=none`: the certificate chain must
/// still lead to a trusted root; only the host name is not checked. webpki
/// checks the chain before the name, so a name mismatch implies a good
/// chain.
#[cfg(feature = "tls")]
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

#[cfg(feature = "tls")]
impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
