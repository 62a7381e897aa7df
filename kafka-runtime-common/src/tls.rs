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
    /// `ssl.truststore.certificates`: trusted certificates given as PEM
    /// text rather than a file.
    pub(crate) ca_pem: Option<String>,
    /// `ssl.keystore.certificate.chain`: the client certificate chain as
    /// PEM text.
    pub(crate) chain_pem: Option<String>,
    /// `ssl.keystore.key`: the client's private key as PEM text (never
    /// shown).
    pub(crate) key_pem: Option<String>,
    /// `ssl.enabled.protocols`: TLS 1.2 and/or 1.3 (both by default).
    pub(crate) tls12: bool,
    pub(crate) tls13: bool,
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
            .field("verify_hostname", &self.verify_hostname)
            .field("ca_pem", &self.ca_pem.is_some())
            .field("chain_pem", &self.chain_pem.is_some())
            .field("key_pem", &self.key_pem.as_ref().map(|_| "<redacted>"))
            .field("tls12", &self.tls12)
            .field("tls13", &self.tls13);
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
            ca_pem: None,
            chain_pem: None,
            key_pem: None,
            tls12: true,
            tls13: true,
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
                    return Some(Err(invalid(
                        key,
                        value,
                        "only PEM is supported: convert JKS or PKCS12 stores to PEM files (keytool -exportcert -rfc, openssl pkcs12)",
                    )));
                }
            }
            "ssl.endpoint.identification.algorithm" => match value.trim() {
                v if v.eq_ignore_ascii_case("https") => self.verify_hostname = true,
                // Java disables the check with an empty value, librdkafka with "none".
                v if v.is_empty() || v.eq_ignore_ascii_case("none") => self.verify_hostname = false,
                _ => return Some(Err(invalid(key, value, "expected https, none or empty"))),
            },
            "ssl.truststore.certificates" => self.ca_pem = Some(value.to_owned()),
            "ssl.keystore.certificate.chain" => self.chain_pem = Some(value.to_owned()),
            "ssl.keystore.key" => self.key_pem = Some(value.to_owned()),
            "ssl.enabled.protocols" => {
                let (mut tls12, mut tls13) = (false, false);
                for p in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    match p {
                        "TLSv1.2" => tls12 = true,
                        "TLSv1.3" => tls13 = true,
                        _ => {
                            return Some(Err(invalid(
                                key,
                                value,
                                "rustls speaks TLSv1.2 and TLSv1.3 only",
                            )));
                        }
                    }
                }
                if !tls12 && !tls13 {
                    return Some(Err(invalid(key, value, "name TLSv1.2, TLSv1.3 or both")));
                }
                (self.tls12, self.tls13) = (tls12, tls13);
            }
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
        let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
            (self.tls13, &rustls::version::TLS13),
            (self.tls12, &rustls::version::TLS12),
        ]
        .into_iter()
        .filter_map(|(on, v)| on.then_some(v))
        .collect();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| invalid("ssl.enabled.protocols", "", &e.to_string()))?;
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
        if self.chain_pem.is_some() || self.key_pem.is_some() {
            let (Some(chain), Some(key)) = (&self.chain_pem, &self.key_pem) else {
                return Err(ConfigError::Missing {
                    key: if self.key_pem.is_none() {
                        "ssl.keystore.key"
                    } else {
                        "ssl.keystore.certificate.chain"
                    },
                });
            };
            let chain = pem_certificates(chain.as_bytes(), "ssl.keystore.certificate.chain")?;
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| {
                invalid(
                    "ssl.keystore.key",
                    "<redacted>",
                    &format!("no private key: {e}"),
                )
            })?;
            let config = builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| invalid("ssl.keystore.key", "<redacted>", &e.to_string()))?;
            return Ok(Arc::new(config));
        }
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
        if let Some(pem) = &self.ca_pem {
            for cert in pem_certificates(pem.as_bytes(), "ssl.truststore.certificates")? {
                roots
                    .add(cert)
                    .map_err(|e| invalid("ssl.truststore.certificates", "", &e.to_string()))?;
            }
            return Ok(roots);
        }
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

#[cfg(feature = "tls")]
fn pem_certificates(
    pem: &[u8],
    key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(key, "", &e.to_string()))?;
    if certs.is_empty() {
        return Err(invalid(key, "", "no PEM certificate in the value"));
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
