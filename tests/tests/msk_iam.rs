//! AWS MSK IAM tokens: byte for byte the tokens AWS's own signer library
//! (`aws-msk-iam-sasl-signer-python`, from PyPI, run here) makes for the same credentials,
//! region and signing time; and their expiry. No AWS access is needed or attempted.

use std::time::Duration;

use base64::Engine as _;
use kafka_integration_tests::require_tools;
use kafka_integration_tests::tools::{Tool, python_inline};
use kafka_runtime_common::msk_iam::{
    AwsCredentials, MskIamTokenProvider, TOKEN_LIFETIME, token_at,
};
use kafka_runtime_common::token::TokenProvider;

/// Prints the signer's token and its expiry (ms) for argv's region and credentials.
const SIGNER: &str = r#"
import sys
from botocore.credentials import Credentials, CredentialProvider
from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
region, key, secret, session = sys.argv[1:5]
class Fixed(CredentialProvider):
    def load(self):
        return Credentials(key, secret, session or None)
token, expiry_ms = MSKAuthTokenProvider.generate_auth_token_from_credentials_provider(region, Fixed())
print(token)
print(expiry_ms)
"#;

fn decode(token: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .expect("base64url"),
    )
    .expect("a URL")
}

#[test]
fn tokens_are_those_of_aws_s_signer() {
    require_tools!(Tool::Python);
    let cases = [
        (
            "us-east-1",
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "",
        ),
        (
            "eu-central-1",
            "ASIAEXAMPLE123",
            "secret/with+special=chars",
            "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+session/token==",
        ),
        ("ap-southeast-2", "AKIA0000", "s", "short-token"),
    ];
    for (region, key, secret, session) in cases {
        let out = python_inline(SIGNER, [region, key, secret, session]);
        let mut lines = out.lines();
        let theirs = lines.next().expect("a token").trim().to_owned();
        let expiry_ms: u64 = lines.next().expect("an expiry").trim().parse().unwrap();
        let signed_at = expiry_ms / 1000 - TOKEN_LIFETIME.as_secs();
        let url = decode(&theirs);
        let user_agent = url
            .split("User-Agent=")
            .nth(1)
            .expect("a User-Agent")
            .replace("%2F", "/");
        let credentials = AwsCredentials {
            access_key_id: key.into(),
            secret_access_key: secret.into(),
            session_token: (!session.is_empty()).then(|| session.to_owned()),
        };
        let ours = token_at(region, &credentials, signed_at, &user_agent);
        assert_eq!(decode(&ours), url, "{region}");
        assert_eq!(ours, theirs, "{region}");
    }
}

#[test]
fn a_token_lives_900_seconds_from_its_signing() {
    let provider = MskIamTokenProvider::with_credentials(
        "us-west-2",
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".into(),
            session_token: None,
        },
    );
    let token = provider.token().unwrap();
    assert!(
        token.lifetime <= TOKEN_LIFETIME
            && token.lifetime > TOKEN_LIFETIME - Duration::from_secs(2)
    );
    let url = decode(&token.value);
    assert!(
        url.starts_with("https://kafka.us-west-2.amazonaws.com/?Action=kafka-cluster%3AConnect&"),
        "{url}"
    );
    assert!(url.contains("&X-Amz-Expires=900&"), "{url}");
    assert!(url.contains("&User-Agent=kafka-producer-rs%2F"), "{url}");
    let date = url.split("X-Amz-Date=").nth(1).unwrap();
    assert_eq!(date.as_bytes()[8], b'T', "{url}");
    // The credentials' secret never shows.
    assert!(
        !format!("{provider:?}").contains("secret\""),
        "{provider:?}"
    );
}
