//! OAUTHBEARER tokens: the [`TokenProvider`] the runtime calls when the core
//! asks for a token (`Event::TokenNeeded`), and the built-in provider of
//! Java's unsecured tokens ([`UnsecuredTokenProvider`], from
//! `sasl.jaas.config` with `OAuthBearerLoginModule` and
//! `unsecuredLoginStringClaim_sub`; for development and tests, as in Java).
//!
//! A [`TokenProvider`] is called on the producer's driver (outside its lock)
//! and should answer quickly. A provider that fetches tokens over the
//! network is an [`AsyncTokenProvider`] on the async runtimes: the driver
//! runs its future as a task of its own and hands the token in when it is
//! there, never waiting for it. The core asks again as Java's refresh does
//! (`sasl.login.refresh.*`) and never sends an expired token.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kafka_producer_core::Producer as Core;
use kafka_producer_core::config::UnsecuredLogin;

/// A bearer token and how long it is valid.
#[derive(Clone)]
pub struct OAuthToken {
    /// The token (a JWT, usually). Never printed by `Debug`.
    pub value: String,
    /// How long it is valid from now.
    pub lifetime: Duration,
    /// SASL extensions sent with it (KIP-342), e.g. a Confluent Cloud
    /// `logicalCluster`.
    pub extensions: Vec<(String, String)>,
}

impl fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthToken")
            .field("value", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// Where OAUTHBEARER tokens come from (Java's login callback handler).
pub trait TokenProvider: Send + Sync + 'static {
    /// A fresh token, or why there is none (the reason becomes the
    /// producer's authentication error when no valid token is left).
    fn token(&self) -> Result<OAuthToken, String>;
}

/// Where OAUTHBEARER tokens come from, fetched without blocking: an HTTP
/// client of the async runtime, say (kafka-runtime-tokio and
/// kafka-runtime-async-std; mio's producers take only a blocking
/// [`TokenProvider`]). The driver runs the future as a task of its own.
pub trait AsyncTokenProvider: Send + Sync + 'static {
    /// A fresh token, or why there is none.
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<OAuthToken, String>> + Send + 'static>>;
}

/// A token provider of either kind, as [`Parts`](crate::Parts) carries it.
#[derive(Clone)]
pub enum TokenSource {
    /// Called on the driver.
    Blocking(Arc<dyn TokenProvider>),
    /// Run as a task of the async driver.
    Async(Arc<dyn AsyncTokenProvider>),
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenSource::Blocking(_) => "TokenSource::Blocking",
            TokenSource::Async(_) => "TokenSource::Async",
        })
    }
}

/// Java's unsecured OAUTHBEARER tokens (`OAuthBearerUnsecuredLoginCallbackHandler`):
/// an unsigned JWS (`{"alg":"none"}`) with the `sub`, `iat`, `exp` (and
/// `scope`) claims, which Kafka's default unsecured validator accepts. Not
/// for production, as in Java.
#[derive(Debug, Clone)]
pub struct UnsecuredTokenProvider {
    login: UnsecuredLogin,
}

impl UnsecuredTokenProvider {
    /// Tokens for `login` (the `unsecuredLogin*` options of `sasl.jaas.config`).
    pub fn new(login: UnsecuredLogin) -> Self {
        UnsecuredTokenProvider { login }
    }

    /// The token for `login` issued at `issued_at_ms` (milliseconds since
    /// the Unix epoch).
    pub fn token_at(login: &UnsecuredLogin, issued_at_ms: u64) -> String {
        let iat = issued_at_ms as f64 / 1000.0;
        let exp = iat + login.lifetime.as_secs_f64();
        let mut claims = format!(
            "{{\"iat\":{iat:.3},\"exp\":{exp:.3},\"sub\":\"{}\"",
            json_escape(&login.principal)
        );
        if !login.scope.is_empty() {
            let scope: Vec<String> = login
                .scope
                .iter()
                .map(|s| format!("\"{}\"", json_escape(s)))
                .collect();
            claims.push_str(&format!(",\"scope\":[{}]", scope.join(",")));
        }
        claims.push('}');
        format!(
            "{}.{}.",
            base64url(br#"{"alg":"none"}"#),
            base64url(claims.as_bytes())
        )
    }
}

impl TokenProvider for UnsecuredTokenProvider {
    fn token(&self) -> Result<OAuthToken, String> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the system clock is before 1970".to_owned())?
            .as_millis() as u64;
        Ok(OAuthToken {
            value: Self::token_at(&self.login, now_ms),
            lifetime: self.login.lifetime,
            extensions: self.login.extensions.clone(),
        })
    }
}

/// Hands a provider's answer to `core` ([`Core::handle_token`] or
/// [`Core::handle_token_failed`]). Call the provider without the lock held.
pub fn apply(result: Result<OAuthToken, String>, core: &mut Core) {
    let now = Instant::now();
    match result {
        Ok(token) => core.handle_token(&token.value, token.lifetime, token.extensions, now),
        Err(reason) => {
            tracing::error!(%reason, "the OAUTHBEARER token provider failed");
            core.handle_token_failed(&reason, now);
        }
    }
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Base64url without padding (RFC 4648 section 5), as JWS uses.
fn base64url(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_has_no_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn an_unsecured_token_is_an_unsigned_jws_with_the_claims() {
        let login = UnsecuredLogin {
            principal: "al\"ice".into(),
            lifetime: Duration::from_secs(60),
            scope: vec!["a".into(), "b".into()],
            extensions: vec![],
        };
        let token = UnsecuredTokenProvider::token_at(&login, 1_700_000_000_000);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "eyJhbGciOiJub25lIn0");
        assert_eq!(parts[2], "", "no signature");
        assert_eq!(
            parts[1],
            base64url(
                br#"{"iat":1700000000.000,"exp":1700000060.000,"sub":"al\"ice","scope":["a","b"]}"#
            )
        );
        let debug = format!(
            "{:?}",
            OAuthToken {
                value: token,
                lifetime: Duration::from_secs(1),
                extensions: vec![]
            }
        );
        assert!(!debug.contains("eyJ"), "{debug}");
    }
}
