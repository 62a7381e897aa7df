//! OAUTHBEARER tokens from an OpenID Connect provider (KIP-768), as Java's
//! `OAuthBearerLoginCallbackHandler` gets them (feature `oidc`).
//!
//! With `sasl.oauthbearer.token.endpoint.url` an `http://` or `https://`
//! URL, a token is asked for with the client-credentials grant (RFC 6749
//! §4.4): a `POST` of `grant_type=client_credentials` (and `scope` when
//! `sasl.oauthbearer.scope` or the JAAS `scope` option gives one), with the
//! client id and secret in a Basic `Authorization` header (URL-encoded first
//! with `sasl.oauthbearer.header.urlencode=true`). The answer's
//! `access_token` is the token. With a `file:` URL the token is read from
//! that file instead, each time one is needed.
//!
//! As Java does, the token is checked before use: it must be a JWT whose
//! payload has `exp` (its lifetime runs to it) and the principal claim
//! (`sasl.oauthbearer.sub.claim.name`, `sub` by default). A failed request
//! (no answer, a 5xx or 429 status) is tried again after
//! `sasl.login.retry.backoff.ms`, doubling, while the wait stays within
//! `sasl.login.retry.backoff.max.ms`; other failures end the attempt at once.
//! `sasl.login.connect.timeout.ms` and `sasl.login.read.timeout.ms` bound
//! each request (10 s each when unset).
//!
//! The provider is blocking ([`TokenProvider`]: mio calls it on its loop);
//! as an [`AsyncTokenProvider`] (Tokio, async-std) each request runs on a
//! thread of its own, so the driver never waits for the identity provider.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use kafka_producer_core::ProducerConfig;
use kafka_producer_core::config::Secret;

use crate::token::{AsyncTokenProvider, OAuthToken, TokenProvider};

/// The HTTP timeouts when the properties leave them out.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Tokens from an OIDC token endpoint (client credentials) or a file.
#[derive(Clone)]
pub struct OidcTokenProvider {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    client_id: String,
    client_secret: Secret,
    scope: Option<String>,
    urlencode: bool,
    sub_claim: String,
    retry_backoff: Duration,
    retry_backoff_max: Duration,
    agent: ureq::Agent,
}

impl std::fmt::Debug for OidcTokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcTokenProvider")
            .field("url", &self.inner.url)
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &self.inner.client_secret)
            .field("scope", &self.inner.scope)
            .finish_non_exhaustive()
    }
}

/// Why a request failed, and whether trying again may help.
struct Failure {
    reason: String,
    retriable: bool,
}

impl OidcTokenProvider {
    /// The provider `config` describes (`sasl.oauthbearer.token.endpoint.url`
    /// and the client settings), or `None` when it names no endpoint.
    pub fn from_config(config: &ProducerConfig) -> Option<OidcTokenProvider> {
        let url = config.sasl_oauthbearer_token_endpoint_url.clone()?;
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(
                config.sasl_login_connect_timeout.unwrap_or(DEFAULT_TIMEOUT),
            ))
            .timeout_recv_response(Some(
                config.sasl_login_read_timeout.unwrap_or(DEFAULT_TIMEOUT),
            ))
            .timeout_recv_body(Some(
                config.sasl_login_read_timeout.unwrap_or(DEFAULT_TIMEOUT),
            ))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Some(OidcTokenProvider {
            inner: Arc::new(Inner {
                url,
                client_id: config
                    .sasl_oauthbearer_client_id
                    .clone()
                    .unwrap_or_default(),
                client_secret: config
                    .sasl_oauthbearer_client_secret
                    .clone()
                    .unwrap_or_else(|| Secret::new("")),
                scope: config.sasl_oauthbearer_scope.clone(),
                urlencode: config.sasl_oauthbearer_header_urlencode,
                sub_claim: config.sasl_oauthbearer_sub_claim_name.clone(),
                retry_backoff: config.sasl_login_retry_backoff,
                retry_backoff_max: config.sasl_login_retry_backoff_max,
                agent,
            }),
        })
    }

    fn fetch(&self) -> Result<OAuthToken, String> {
        let inner = &self.inner;
        let mut wait = inner.retry_backoff;
        loop {
            match self.attempt() {
                Ok(token) => return Ok(token),
                Err(f) if f.retriable && wait <= inner.retry_backoff_max => {
                    tracing::warn!(reason = %f.reason, ?wait, "token endpoint failed; trying again");
                    std::thread::sleep(wait);
                    wait = wait.saturating_mul(2).max(Duration::from_millis(1));
                }
                Err(f) => return Err(f.reason),
            }
        }
    }

    fn attempt(&self) -> Result<OAuthToken, Failure> {
        let inner = &self.inner;
        let access_token = if let Some(path) = inner.url.strip_prefix("file:") {
            // file:/path and file:///path both name /path.
            let path = path.strip_prefix("//").unwrap_or(path);
            std::fs::read_to_string(path)
                .map(|t| t.trim().to_owned())
                .map_err(|e| Failure {
                    reason: format!("cannot read the token file {path}: {e}"),
                    retriable: false,
                })?
        } else {
            self.post()?
        };
        let (lifetime, _principal) =
            check_jwt(&access_token, &inner.sub_claim).map_err(|reason| Failure {
                reason,
                retriable: false,
            })?;
        Ok(OAuthToken {
            value: access_token,
            lifetime,
            extensions: Vec::new(),
        })
    }

    /// The client-credentials request; the `access_token` of the answer.
    fn post(&self) -> Result<String, Failure> {
        let inner = &self.inner;
        let encode = |s: &str| {
            if inner.urlencode {
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            } else {
                s.to_owned()
            }
        };
        let credentials = format!(
            "{}:{}",
            encode(&inner.client_id),
            encode(inner.client_secret.expose())
        );
        let authorization = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        );
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &inner.scope {
            form.push(("scope", scope.as_str()));
        }
        let response = inner
            .agent
            .post(&inner.url)
            .header("Authorization", &authorization)
            .header("Accept", "application/json")
            .send_form(form);
        let mut response = response.map_err(|e| Failure {
            reason: format!("token endpoint {}: {e}", inner.url),
            retriable: true,
        })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .map_err(|e| Failure {
                reason: format!("token endpoint {}: reading the answer: {e}", inner.url),
                retriable: true,
            })?;
        if status != 200 {
            return Err(Failure {
                reason: format!(
                    "token endpoint {} answered HTTP {status}: {}",
                    inner.url,
                    body.chars().take(200).collect::<String>()
                ),
                retriable: status >= 500 || status == 429,
            });
        }
        let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| Failure {
            reason: format!("token endpoint {}: the answer is not JSON: {e}", inner.url),
            retriable: false,
        })?;
        json["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| Failure {
                reason: format!(
                    "token endpoint {}: the answer has no access_token",
                    inner.url
                ),
                retriable: false,
            })
    }
}

/// Checks a JWT as Java's login validator does: three dot-separated parts,
/// a JSON payload with `exp` (seconds since the epoch, in the future) and
/// the principal claim. Returns the time left and the principal.
fn check_jwt(token: &str, sub_claim: &str) -> Result<(Duration, String), String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err("the token is not a JWT (three dot-separated parts)".to_owned());
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1].trim_end_matches('='))
        .map_err(|_| "the token's payload is not base64url".to_owned())?;
    let claims: serde_json::Value = serde_json::from_slice(&payload)
        .map_err(|_| "the token's payload is not JSON".to_owned())?;
    let exp = claims["exp"]
        .as_f64()
        .ok_or_else(|| "the token has no exp claim".to_owned())?;
    let principal = claims[sub_claim]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| format!("the token has no {sub_claim} claim"))?
        .to_owned();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the system clock is before 1970".to_owned())?
        .as_secs_f64();
    if exp <= now {
        return Err(format!("the token expired {:.0} s ago", now - exp));
    }
    Ok((Duration::from_secs_f64(exp - now), principal))
}

impl TokenProvider for OidcTokenProvider {
    fn token(&self) -> Result<OAuthToken, String> {
        self.fetch()
    }
}

impl AsyncTokenProvider for OidcTokenProvider {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<OAuthToken, String>> + Send + 'static>> {
        let provider = self.clone();
        let (tx, rx) = async_channel::bounded(1);
        let spawned = std::thread::Builder::new()
            .name("kafka-oidc-token".into())
            .spawn(move || {
                let _ = tx.send_blocking(provider.fetch());
            });
        Box::pin(async move {
            if let Err(e) = spawned {
                return Err(format!("cannot start the token thread: {e}"));
            }
            rx.recv()
                .await
                .unwrap_or_else(|_| Err("the token thread ended without a token".to_owned()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(claims))
    }

    #[test]
    fn tokens_are_checked_as_java_checks_them() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let good = jwt(&format!(r#"{{"sub":"alice","exp":{}}}"#, now + 600));
        let (left, who) = check_jwt(&good, "sub").unwrap();
        assert!(left > Duration::from_secs(590) && left <= Duration::from_secs(600));
        assert_eq!(who, "alice");
        assert!(check_jwt(&good, "client_id").is_err());
        let expired = jwt(&format!(r#"{{"sub":"alice","exp":{}}}"#, now - 5));
        assert!(check_jwt(&expired, "sub").unwrap_err().contains("expired"));
        assert!(check_jwt(&jwt(r#"{"sub":"alice"}"#), "sub").is_err());
        assert!(check_jwt("opaque-token", "sub").is_err());
    }
}
