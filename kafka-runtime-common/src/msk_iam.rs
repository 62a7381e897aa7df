//! AWS MSK IAM authentication as OAUTHBEARER (feature `aws-msk-iam`): the token
//! format of AWS's `aws-msk-iam-sasl-signer` libraries, made here.
//!
//! A token is the URL `https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect`
//! presigned with AWS Signature Version 4 (service `kafka-cluster`, valid 900 s, the
//! credentials' session token included when there is one), with a `User-Agent` parameter
//! after the signature, encoded as base64url without padding. Java's
//! `software.amazon.msk.auth.iam.IAMOAuthBearerLoginCallbackHandler` in
//! `sasl.login.callback.handler.class` (with `sasl.mechanism=OAUTHBEARER`) selects it.
//!
//! Credentials come from the standard environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), else from the shared credentials file
//! (`AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`, profile `AWS_PROFILE` or
//! `default`), read afresh for every token so rotated credentials are picked up. The region
//! is `AWS_REGION` or `AWS_DEFAULT_REGION`, else the one in the bootstrap host name
//! (`….kafka.<region>.amazonaws.com`). The core asks for a new token before the old one
//! expires (Java's refresh rules).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::token::{OAuthToken, TokenProvider};

/// How long a token is valid, as AWS's signer libraries make them.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// AWS credentials. `Debug` shows the access key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl AwsCredentials {
    /// The credentials of the environment or the shared credentials file.
    pub fn from_environment() -> Result<AwsCredentials, String> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            return Ok(AwsCredentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: env("AWS_SESSION_TOKEN"),
            });
        }
        let path = env("AWS_SHARED_CREDENTIALS_FILE")
            .map(std::path::PathBuf::from)
            .or_else(|| env("HOME").map(|h| std::path::Path::new(&h).join(".aws/credentials")))
            .ok_or("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")?;
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "no AWS credentials in the environment, and {}: {e}",
                path.display()
            )
        })?;
        parse_credentials_file(&text, &profile)
            .ok_or_else(|| format!("no credentials for profile {profile} in {}", path.display()))
    }
}

/// The credentials of `profile` in an AWS shared credentials file (INI).
fn parse_credentials_file(text: &str, profile: &str) -> Option<AwsCredentials> {
    let mut in_profile = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = name.trim() == profile;
            continue;
        }
        if !in_profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_owned();
            match k.trim() {
                "aws_access_key_id" => id = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    Some(AwsCredentials {
        access_key_id: id?,
        secret_access_key: secret?,
        session_token: token,
    })
}

/// `s` percent-encoded as AWS Signature Version 4 wants it: everything but
/// `A-Z a-z 0-9 - _ . ~`, upper-case hex.
fn aws_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYYMMDDTHHMMSSZ` of `seconds` since the Unix epoch (UTC).
fn amz_date(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The MSK IAM token for `credentials` in `region`, signed at `signed_at`
/// (seconds since the Unix epoch), with `user_agent` as its `User-Agent`
/// parameter (which is not signed): the same bytes AWS's signer libraries
/// make for the same inputs.
pub fn token_at(
    region: &str,
    credentials: &AwsCredentials,
    signed_at: u64,
    user_agent: &str,
) -> String {
    let host = format!("kafka.{region}.amazonaws.com");
    let date_time = amz_date(signed_at);
    let date = &date_time[..8];
    let scope = format!("{date}/{region}/kafka-cluster/aws4_request");
    let mut params: Vec<(&str, String)> = vec![
        ("Action", "kafka-cluster:Connect".to_owned()),
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_owned()),
        (
            "X-Amz-Credential",
            format!("{}/{scope}", credentials.access_key_id),
        ),
        ("X-Amz-Date", date_time.clone()),
        ("X-Amz-Expires", TOKEN_LIFETIME.as_secs().to_string()),
        ("X-Amz-SignedHeaders", "host".to_owned()),
    ];
    if let Some(token) = &credentials.session_token {
        params.push(("X-Amz-Security-Token", token.clone()));
    }
    let mut sorted: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (aws_encode(k), aws_encode(v)))
        .collect();
    sorted.sort();
    let canonical_query: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let empty_payload = hex(&Sha256::digest(b""));
    let canonical_request = format!(
        "GET\n/\n{}\nhost:{host}\n\nhost\n{empty_payload}",
        canonical_query.join("&")
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{date_time}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = hmac(
        format!("AWS4{}", credentials.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    let key = hmac(&key, region.as_bytes());
    let key = hmac(&key, b"kafka-cluster");
    let key = hmac(&key, b"aws4_request");
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    params.push(("X-Amz-Signature", signature));
    params.push(("User-Agent", user_agent.to_owned()));
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", aws_encode(k), aws_encode(v)))
        .collect();
    let url = format!("https://{host}/?{}", query.join("&"));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
}

/// The region of an MSK bootstrap host name (`….kafka.<region>.amazonaws.com`).
pub fn region_of_host(host: &str) -> Option<&str> {
    let rest = host.strip_suffix(".amazonaws.com")?;
    let (before, region) = rest.rsplit_once('.')?;
    (before.ends_with(".kafka") || before == "kafka").then_some(region)
}

/// MSK IAM tokens from the environment's credentials (see the module docs).
#[derive(Debug, Clone)]
pub struct MskIamTokenProvider {
    region: String,
    user_agent: String,
    /// Fixed credentials; `None`: the environment's, read for each token.
    credentials: Option<AwsCredentials>,
}

impl MskIamTokenProvider {
    /// Tokens for `region`.
    pub fn new(region: impl Into<String>) -> MskIamTokenProvider {
        MskIamTokenProvider {
            region: region.into(),
            user_agent: format!("kafka-producer-rs/{}", env!("CARGO_PKG_VERSION")),
            credentials: None,
        }
    }

    /// Tokens for `region` signed with `credentials` (an application that
    /// manages its credentials itself; give the provider to
    /// `ProducerBuilder::token_provider`).
    pub fn with_credentials(
        region: impl Into<String>,
        credentials: AwsCredentials,
    ) -> MskIamTokenProvider {
        MskIamTokenProvider {
            credentials: Some(credentials),
            ..MskIamTokenProvider::new(region)
        }
    }

    /// The provider for a producer whose first bootstrap host is
    /// `bootstrap_host`: the region from `AWS_REGION`, `AWS_DEFAULT_REGION`
    /// or that host name.
    pub fn for_bootstrap(bootstrap_host: &str) -> Result<MskIamTokenProvider, String> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| region_of_host(bootstrap_host).map(str::to_owned))
            .ok_or_else(|| {
                format!(
                    "no AWS region: set AWS_REGION (the bootstrap host {bootstrap_host} names none)"
                )
            })?;
        Ok(MskIamTokenProvider::new(region))
    }
}

impl TokenProvider for MskIamTokenProvider {
    fn token(&self) -> Result<OAuthToken, String> {
        let credentials = match &self.credentials {
            Some(c) => c.clone(),
            None => AwsCredentials::from_environment()?,
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the system clock is before 1970".to_owned())?;
        Ok(OAuthToken {
            value: token_at(&self.region, &credentials, now.as_secs(), &self.user_agent),
            // Signed at the whole second: valid to that plus 900 s.
            lifetime: TOKEN_LIFETIME
                .saturating_sub(Duration::from_nanos(now.subsec_nanos().into())),
            extensions: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(amz_date(1_796_358_638), "20261204T043038Z");
    }

    #[test]
    fn regions_and_credentials_files_are_read() {
        assert_eq!(
            region_of_host("b-1.demo.abc123.c2.kafka.eu-west-1.amazonaws.com"),
            Some("eu-west-1")
        );
        assert_eq!(region_of_host("localhost"), None);
        let file = "[default]\naws_access_key_id = A\naws_secret_access_key=B\n\n[other]\n\
                    aws_access_key_id=C\naws_secret_access_key=D\naws_session_token=E\n";
        assert_eq!(
            parse_credentials_file(file, "other"),
            Some(AwsCredentials {
                access_key_id: "C".into(),
                secret_access_key: "D".into(),
                session_token: Some("E".into()),
            })
        );
        assert_eq!(
            parse_credentials_file(file, "default")
                .unwrap()
                .access_key_id,
            "A"
        );
        assert!(parse_credentials_file(file, "missing").is_none());
        let shown = format!("{:?}", parse_credentials_file(file, "other").unwrap());
        assert!(!shown.contains('D') || !shown.contains("\"D\""), "{shown}");
    }
}
