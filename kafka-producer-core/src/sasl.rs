//! SASL client mechanisms: PLAIN (RFC 4616) and SCRAM-SHA-256/512
//! (RFC 5802, RFC 7677), as I/O-free state machines.
//!
//! A connection runs them after SaslHandshake (KIP-43), carrying each
//! message in a SaslAuthenticate request (KIP-152).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use crate::rng::Rng;

/// Kafka's minimum SCRAM iteration count.
const MIN_ITERATIONS: u32 = 4096;
/// Refuse iteration counts above this: a hostile server could otherwise
/// make the client spend minutes hashing.
const MAX_ITERATIONS: u32 = 1_000_000;

/// A SASL mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// PLAIN: the password in the clear (use TLS).
    Plain,
    /// SCRAM-SHA-256.
    ScramSha256,
    /// SCRAM-SHA-512.
    ScramSha512,
}

impl Mechanism {
    /// The mechanism's name in SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl FromStr for Mechanism {
    type Err = SaslError;
    /// Parses a mechanism name, ignoring case.
    fn from_str(s: &str) -> Result<Self, SaslError> {
        match s.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Mechanism::Plain),
            "SCRAM-SHA-256" => Ok(Mechanism::ScramSha256),
            "SCRAM-SHA-512" => Ok(Mechanism::ScramSha512),
            _ => Err(SaslError::UnknownMechanism(s.to_owned())),
        }
    }
}

/// A user name and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Why a SASL exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaslError {
    /// The mechanism name is not one we support.
    UnknownMechanism(String),
    /// The server's message does not follow the mechanism's grammar.
    MalformedServerMessage(&'static str),
    /// The server's nonce does not extend ours (RFC 5802 §5.1).
    NonceMismatch,
    /// The iteration count is below Kafka's minimum or absurdly high.
    IterationCount(u32),
    /// The server reported an error (`e=` in SCRAM).
    ServerError(String),
    /// The server's signature is wrong: it does not know the password.
    ServerSignatureMismatch,
    /// A message arrived when none was expected.
    UnexpectedMessage,
}

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslError::UnknownMechanism(m) => write!(f, "unsupported SASL mechanism {m:?}"),
            SaslError::MalformedServerMessage(what) => {
                write!(f, "malformed SASL server message: {what}")
            }
            SaslError::NonceMismatch => f.write_str("the server nonce does not extend ours"),
            SaslError::IterationCount(n) => write!(
                f,
                "SCRAM iteration count {n} outside {MIN_ITERATIONS}..={MAX_ITERATIONS}"
            ),
            SaslError::ServerError(e) => write!(f, "the server refused: {e}"),
            SaslError::ServerSignatureMismatch => {
                f.write_str("the server's SCRAM signature is wrong")
            }
            SaslError::UnexpectedMessage => f.write_str("unexpected SASL message"),
        }
    }
}

impl std::error::Error for SaslError {}

/// What to do after a server message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Send these bytes next.
    Respond(Vec<u8>),
    /// Authentication succeeded.
    Done,
}

#[derive(Debug)]
enum State {
    Initial,
    /// PLAIN sent; waiting for the (empty) success message.
    PlainSent,
    /// SCRAM client-first sent.
    ScramFirstSent {
        bare: String,
    },
    /// SCRAM client-final sent; the expected server signature.
    ScramFinalSent {
        server_signature: Vec<u8>,
    },
    Complete,
    Failed,
}

/// A client side of one SASL exchange.
pub struct SaslClient {
    mechanism: Mechanism,
    credentials: Credentials,
    nonce: String,
    state: State,
}

impl fmt::Debug for SaslClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslClient")
            .field("mechanism", &self.mechanism)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// 32 printable nonce characters from a seed (no ',').
fn nonce_from_seed(seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = Rng::new(seed);
    (0..32)
        .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize] as char)
        .collect()
}

/// RFC 5802 `saslname`: '=' and ',' escaped.
fn escape_name(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

fn hmac(mechanism: Mechanism, key: &[u8], data: &[u8]) -> Vec<u8> {
    match mechanism {
        Mechanism::ScramSha512 => {
            let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("HMAC takes any key");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
    }
}

fn hash(mechanism: Mechanism, data: &[u8]) -> Vec<u8> {
    match mechanism {
        Mechanism::ScramSha512 => Sha512::digest(data).to_vec(),
        _ => Sha256::digest(data).to_vec(),
    }
}

/// RFC 5802 `Hi()`: PBKDF2 with the mechanism's HMAC.
pub(crate) fn salted_password(
    mechanism: Mechanism,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
) -> Vec<u8> {
    match mechanism {
        Mechanism::ScramSha512 => {
            let mut out = vec![0u8; 64];
            pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
            out
        }
        _ => {
            let mut out = vec![0u8; 32];
            pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
            out
        }
    }
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl SaslClient {
    /// A client for `mechanism`. The SCRAM nonce is derived from
    /// `nonce_seed`: it is only as unpredictable as that seed, so adapters
    /// pass fresh randomness.
    pub fn new(mechanism: Mechanism, credentials: &Credentials, nonce_seed: u64) -> Self {
        Self::with_nonce(mechanism, credentials, &nonce_from_seed(nonce_seed))
    }

    /// A client with a given SCRAM nonce, for reproducing published test
    /// vectors.
    #[doc(hidden)]
    pub fn with_nonce(mechanism: Mechanism, credentials: &Credentials, nonce: &str) -> Self {
        SaslClient {
            mechanism,
            credentials: credentials.clone(),
            nonce: nonce.to_owned(),
            state: State::Initial,
        }
    }

    /// Whether the exchange has succeeded.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete)
    }

    /// The first message to send.
    pub fn initial_response(&mut self) -> Result<Vec<u8>, SaslError> {
        if !matches!(self.state, State::Initial) {
            return Err(SaslError::UnexpectedMessage);
        }
        match self.mechanism {
            Mechanism::Plain => {
                // authzid NUL authcid NUL passwd, with an empty authzid.
                let mut out = Vec::with_capacity(
                    2 + self.credentials.username.len() + self.credentials.password.len(),
                );
                out.push(0);
                out.extend_from_slice(self.credentials.username.as_bytes());
                out.push(0);
                out.extend_from_slice(self.credentials.password.as_bytes());
                self.state = State::PlainSent;
                Ok(out)
            }
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                let bare = format!(
                    "n={},r={}",
                    escape_name(&self.credentials.username),
                    self.nonce
                );
                let first = format!("n,,{bare}");
                self.state = State::ScramFirstSent { bare };
                Ok(first.into_bytes())
            }
        }
    }

    /// Handles the server's next message.
    pub fn handle_challenge(&mut self, server_message: &[u8]) -> Result<SaslStep, SaslError> {
        let state = std::mem::replace(&mut self.state, State::Failed);
        let result = self.step(state, server_message);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn step(&mut self, state: State, message: &[u8]) -> Result<SaslStep, SaslError> {
        match state {
            State::PlainSent => {
                if message.is_empty() {
                    self.state = State::Complete;
                    Ok(SaslStep::Done)
                } else {
                    Err(SaslError::UnexpectedMessage)
                }
            }
            State::ScramFirstSent { bare } => self.on_server_first(&bare, message),
            State::ScramFinalSent { server_signature } => {
                let text = std::str::from_utf8(message)
                    .map_err(|_| SaslError::MalformedServerMessage("not UTF-8"))?;
                if let Some(e) = text.strip_prefix("e=") {
                    return Err(SaslError::ServerError(e.to_owned()));
                }
                let v = text
                    .split(',')
                    .next()
                    .and_then(|a| a.strip_prefix("v="))
                    .ok_or(SaslError::MalformedServerMessage("server-final without v="))?;
                let got = B64
                    .decode(v)
                    .map_err(|_| SaslError::MalformedServerMessage("v= is not base64"))?;
                if !same(&got, &server_signature) {
                    return Err(SaslError::ServerSignatureMismatch);
                }
                self.state = State::Complete;
                Ok(SaslStep::Done)
            }
            State::Initial | State::Complete | State::Failed => Err(SaslError::UnexpectedMessage),
        }
    }

    fn on_server_first(&mut self, bare: &str, message: &[u8]) -> Result<SaslStep, SaslError> {
        let text = std::str::from_utf8(message)
            .map_err(|_| SaslError::MalformedServerMessage("not UTF-8"))?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(SaslError::ServerError(e.to_owned()));
        }
        let mut attrs = text.split(',');
        let first = attrs.next().unwrap_or_default();
        if first.starts_with("m=") {
            return Err(SaslError::MalformedServerMessage(
                "unsupported mandatory extension",
            ));
        }
        let nonce = first
            .strip_prefix("r=")
            .ok_or(SaslError::MalformedServerMessage("server-first without r="))?;
        let salt = attrs
            .next()
            .and_then(|a| a.strip_prefix("s="))
            .ok_or(SaslError::MalformedServerMessage("server-first without s="))?;
        let iterations = attrs
            .next()
            .and_then(|a| a.strip_prefix("i="))
            .ok_or(SaslError::MalformedServerMessage("server-first without i="))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() <= self.nonce.len() {
            return Err(SaslError::NonceMismatch);
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| SaslError::MalformedServerMessage("salt is not base64"))?;
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| SaslError::MalformedServerMessage("iteration count is not a number"))?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(SaslError::IterationCount(iterations));
        }
        let m = self.mechanism;
        let salted = salted_password(m, self.credentials.password.as_bytes(), &salt, iterations);
        let client_key = hmac(m, &salted, b"Client Key");
        let stored_key = hash(m, &client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{bare},{text},{without_proof}");
        let client_signature = hmac(m, &stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = hmac(m, &salted, b"Server Key");
        let server_signature = hmac(m, &server_key, auth_message.as_bytes());
        self.state = State::ScramFinalSent { server_signature };
        Ok(SaslStep::Respond(
            format!("{without_proof},p={}", B64.encode(proof)).into_bytes(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(u: &str, p: &str) -> Credentials {
        Credentials {
            username: u.into(),
            password: p.into(),
        }
    }

    #[test]
    fn rfc7677_scram_sha_256_example() {
        let mut c = SaslClient::with_nonce(
            Mechanism::ScramSha256,
            &creds("user", "pencil"),
            "rOprNGfwEbeRWgbNEkqO",
        );
        assert_eq!(
            c.initial_response().unwrap(),
            b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        );
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let step = c.handle_challenge(server_first).unwrap();
        assert_eq!(
            step,
            SaslStep::Respond(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
                    .to_vec()
            )
        );
        assert!(!c.is_complete());
        assert_eq!(
            c.handle_challenge(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .unwrap(),
            SaslStep::Done
        );
        assert!(c.is_complete());
    }

    fn rfc_client() -> SaslClient {
        let mut c = SaslClient::with_nonce(
            Mechanism::ScramSha256,
            &creds("user", "pencil"),
            "rOprNGfwEbeRWgbNEkqO",
        );
        c.initial_response().unwrap();
        c
    }

    const RFC_FIRST: &[u8] =
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    #[test]
    fn scram_rejects_bad_servers() {
        let mut c = rfc_client();
        c.handle_challenge(RFC_FIRST).unwrap();
        assert_eq!(
            c.handle_challenge(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .unwrap_err(),
            SaslError::ServerSignatureMismatch
        );
        assert!(!c.is_complete());

        let mut c = rfc_client();
        assert_eq!(
            c.handle_challenge(b"r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
                .unwrap_err(),
            SaslError::NonceMismatch
        );
        let mut c = rfc_client();
        assert_eq!(
            c.handle_challenge(b"r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000")
                .unwrap_err(),
            SaslError::IterationCount(1000)
        );
        let mut c = rfc_client();
        assert_eq!(
            c.handle_challenge(b"e=invalid-proof").unwrap_err(),
            SaslError::ServerError("invalid-proof".into())
        );
        let mut c = rfc_client();
        c.handle_challenge(RFC_FIRST).unwrap();
        assert_eq!(
            c.handle_challenge(b"e=invalid-proof").unwrap_err(),
            SaslError::ServerError("invalid-proof".into())
        );
        for garbage in [
            &b""[..],
            b"\xff\xfe",
            b"r=",
            b"m=x,r=a,s=b,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqOx,s=!!!,i=4096",
        ] {
            let mut c = rfc_client();
            assert!(c.handle_challenge(garbage).is_err(), "{garbage:?}");
        }
        // No messages after completion or failure.
        assert_eq!(
            c.handle_challenge(b"x").unwrap_err(),
            SaslError::UnexpectedMessage
        );
    }

    #[test]
    fn plain_framing_follows_rfc4616() {
        let mut c = SaslClient::new(Mechanism::Plain, &creds("alice", "s3cret"), 1);
        assert_eq!(c.initial_response().unwrap(), b"\0alice\0s3cret");
        assert_eq!(c.handle_challenge(b"").unwrap(), SaslStep::Done);
        assert!(c.is_complete());
        let mut c = SaslClient::new(Mechanism::Plain, &creds("a", "b"), 1);
        c.initial_response().unwrap();
        assert!(c.handle_challenge(b"unexpected").is_err());
    }

    #[test]
    fn names_nonces_and_secrets() {
        assert_eq!(
            "scram-sha-512".parse::<Mechanism>().unwrap(),
            Mechanism::ScramSha512
        );
        assert!("GSSAPI".parse::<Mechanism>().is_err());
        assert_eq!(escape_name("a=b,c"), "a=3Db=2Cc");
        let n = nonce_from_seed(5);
        assert_eq!(n.len(), 32);
        assert!(!n.contains(','));
        assert_eq!(n, nonce_from_seed(5));
        assert_ne!(n, nonce_from_seed(6));
        let c = SaslClient::new(Mechanism::ScramSha512, &creds("bob", "topsecret"), 0);
        assert!(!format!("{c:?}").contains("topsecret"));
        assert!(!format!("{:?}", creds("bob", "topsecret")).contains("topsecret"));
    }

    /// SCRAM-SHA-512 against a server computation written here from the
    /// RFC's formulas (the server side of `on_server_first`).
    #[test]
    fn scram_sha_512_round_trip() {
        let m = Mechanism::ScramSha512;
        let mut c = SaslClient::with_nonce(m, &creds("user", "pencil"), "clientnonce");
        let first = String::from_utf8(c.initial_response().unwrap()).unwrap();
        let bare = first.strip_prefix("n,,").unwrap();
        let salt = b"0123456789abcdef";
        let server_first = format!("r=clientnonceSERVER,s={},i=4096", B64.encode(salt));
        let SaslStep::Respond(final_msg) = c.handle_challenge(server_first.as_bytes()).unwrap()
        else {
            panic!("expected client-final");
        };
        let final_msg = String::from_utf8(final_msg).unwrap();
        let (without_proof, proof) = final_msg.rsplit_once(",p=").unwrap();
        let salted = salted_password(m, b"pencil", salt, 4096);
        let client_key = hmac(m, &salted, b"Client Key");
        let stored = hash(m, &client_key);
        let auth = format!("{bare},{server_first},{without_proof}");
        let sig = hmac(m, &stored, auth.as_bytes());
        let proof = B64.decode(proof).unwrap();
        let recovered: Vec<u8> = proof.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        assert_eq!(hash(m, &recovered), stored, "the proof verifies");
        let server_sig = hmac(m, &hmac(m, &salted, b"Server Key"), auth.as_bytes());
        let done = c
            .handle_challenge(format!("v={}", B64.encode(server_sig)).as_bytes())
            .unwrap();
        assert_eq!(done, SaslStep::Done);
    }

    proptest::proptest! {
        #[test]
        fn random_server_messages_never_panic(
            a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            for m in [Mechanism::Plain, Mechanism::ScramSha256] {
                let mut c = SaslClient::new(m, &creds("u", "p"), 3);
                c.initial_response().unwrap();
                let _ = c.handle_challenge(&a);
                let _ = c.handle_challenge(&b);
            }
        }
    }
}
