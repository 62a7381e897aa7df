//! The broker side of SASL for the simulated cluster: PLAIN (RFC 4616) and
//! SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677), checked against a
//! user table, answering as a Kafka broker does.
//!
//! The simulated broker accepts a mechanism in SaslHandshake (KIP-43)
//! with [`Mechanism::from_name`], creates a [`SaslServer`], and feeds it the
//! `auth_bytes` of each SaslAuthenticate request (KIP-152):
//! [`ServerStep::Challenge`] and [`ServerStep::Success`] bytes go back as the
//! response's `auth_bytes` with error code 0, and a [`ServerSaslError`] goes
//! back as its [`ServerSaslError::error_code`] and
//! [`ServerSaslError::error_message`] with empty `auth_bytes`, after which a
//! Kafka broker closes the connection.
//!
//! Written independently of the producer's SASL client (nothing here uses
//! it), so that each checks the other.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// The iteration count [`SaslServer::new`] registers SCRAM credentials with:
/// Kafka's default, which is also its minimum.
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// Kafka's `SASL_AUTHENTICATION_FAILED` error code.
pub const SASL_AUTHENTICATION_FAILED: i16 = 58;

/// Kafka's `ILLEGAL_SASL_STATE` error code.
pub const ILLEGAL_SASL_STATE: i16 = 34;

/// Length of the server's part of the SCRAM nonce.
const SERVER_NONCE_LEN: usize = 32;

/// Length of the salt [`SaslServer::new`] draws for each SCRAM user.
const SALT_LEN: usize = 16;

/// A SASL mechanism the simulated broker enables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// PLAIN (RFC 4616).
    Plain,
    /// SCRAM-SHA-256 (RFC 7677).
    ScramSha256,
    /// SCRAM-SHA-512 (KIP-84).
    ScramSha512,
}

impl Mechanism {
    /// Every mechanism, in the order a broker lists them in a SaslHandshake
    /// response.
    pub const ALL: [Mechanism; 3] = [
        Mechanism::Plain,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
    ];

    /// The mechanism's name in SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    /// The mechanism a SaslHandshake request names, compared exactly as a
    /// Kafka broker compares it with `sasl.enabled.mechanisms` (case
    /// matters); `None` means the broker answers
    /// `UNSUPPORTED_SASL_MECHANISM`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    fn scram_hash(self) -> Option<ScramHash> {
        match self {
            Mechanism::Plain => None,
            Mechanism::ScramSha256 => Some(ScramHash::Sha256),
            Mechanism::ScramSha512 => Some(ScramHash::Sha512),
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A user's SCRAM credential as Kafka stores it (KIP-84): the salt and
/// iteration count, `StoredKey = H(HMAC(SaltedPassword, "Client Key"))` and
/// `ServerKey = HMAC(SaltedPassword, "Server Key")`, never the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    /// The salt, sent to the client in `s=`.
    pub salt: Vec<u8>,
    /// The PBKDF2 iteration count, sent to the client in `i=`.
    pub iterations: u32,
    /// `StoredKey`: checks the client's proof.
    pub stored_key: Vec<u8>,
    /// `ServerKey`: signs the server-final-message.
    pub server_key: Vec<u8>,
}

impl ScramCredential {
    /// Derives the credential for `password` as Kafka does when a SCRAM
    /// user is registered (`kafka-configs --add-config
    /// 'SCRAM-SHA-256=[iterations=…,password=…]'`). `None` for
    /// [`Mechanism::Plain`], which has no SCRAM credential.
    pub fn derive(
        mechanism: Mechanism,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Option<Self> {
        let hash = mechanism.scram_hash()?;
        let salted_password = hash.salted_password(password.as_bytes(), salt, iterations);
        Some(ScramCredential {
            salt: salt.to_vec(),
            iterations,
            stored_key: hash.digest(&hash.hmac(&salted_password, b"Client Key")),
            server_key: hash.hmac(&salted_password, b"Server Key"),
        })
    }
}

impl fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keys let anyone impersonate the broker: keep them out of logs.
        f.debug_struct("ScramCredential")
            .field("salt", &BASE64.encode(&self.salt))
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// What the broker sends back after [`SaslServer::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerStep {
    /// The exchange goes on: these bytes are the response's `auth_bytes`
    /// (the SCRAM server-first-message).
    Challenge(Vec<u8>),
    /// The client is authenticated: these bytes are the last response's
    /// `auth_bytes` (empty for PLAIN, the SCRAM server-final-message `v=…`).
    Success(Vec<u8>),
}

/// Why the broker refuses a SaslAuthenticate request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerSaslError {
    /// The client did not authenticate: a wrong password, an unknown user,
    /// an invalid proof or a message the mechanism cannot parse. The broker
    /// answers [`SASL_AUTHENTICATION_FAILED`] with `message`, the text a
    /// Kafka broker sends (which for SCRAM deliberately names neither the
    /// user nor the cause); `reason` is what the broker would only log.
    AuthenticationFailed {
        /// The `error_message` of the SaslAuthenticate response.
        message: String,
        /// The cause, for the simulation's own diagnostics; never sent.
        reason: &'static str,
    },
    /// A SaslAuthenticate request after the exchange ended. The broker
    /// answers [`ILLEGAL_SASL_STATE`] with this message.
    IllegalSaslState(String),
}

impl ServerSaslError {
    /// The Kafka error code of the SaslAuthenticate response.
    pub fn error_code(&self) -> i16 {
        match self {
            ServerSaslError::AuthenticationFailed { .. } => SASL_AUTHENTICATION_FAILED,
            ServerSaslError::IllegalSaslState(_) => ILLEGAL_SASL_STATE,
        }
    }

    /// The `error_message` of the SaslAuthenticate response.
    pub fn error_message(&self) -> &str {
        match self {
            ServerSaslError::AuthenticationFailed { message, .. } => message,
            ServerSaslError::IllegalSaslState(message) => message,
        }
    }
}

impl fmt::Display for ServerSaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerSaslError::AuthenticationFailed { message, reason } => {
                write!(f, "{message} ({reason})")
            }
            ServerSaslError::IllegalSaslState(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ServerSaslError {}

/// Kafka's messages for PLAIN (`PlainSaslServer`).
const PLAIN_INVALID: &str = "Authentication failed: Invalid username or password";
const PLAIN_NO_USERNAME: &str = "Authentication failed: username not specified";
const PLAIN_NO_PASSWORD: &str = "Authentication failed: password not specified";
/// Both PLAIN and SCRAM refuse an authorization id other than the user.
const AUTHZID_DIFFERS: &str =
    "Authentication failed: Client requested an authorization id that is different from username";

#[derive(Clone)]
enum UserTable {
    Plain(BTreeMap<String, String>),
    Scram(BTreeMap<String, ScramCredential>),
}

#[derive(Clone)]
enum State {
    Initial,
    ScramFirstSent(ScramExchange),
    Complete { username: String },
    Failed,
}

/// The broker side of one SASL authentication.
///
/// Build one with the user table, then use [`SaslServer::new_exchange`]
/// for each connection so SCRAM credentials are derived only once.
#[derive(Clone)]
pub struct SaslServer {
    mechanism: Mechanism,
    users: Arc<UserTable>,
    server_nonce: String,
    state: State,
}

impl fmt::Debug for SaslServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The table holds PLAIN passwords: show only its size.
        let users = match &*self.users {
            UserTable::Plain(users) => users.len(),
            UserTable::Scram(users) => users.len(),
        };
        f.debug_struct("SaslServer")
            .field("mechanism", &self.mechanism)
            .field("users", &users)
            .field("authenticated_user", &self.authenticated_user())
            .finish_non_exhaustive()
    }
}

impl SaslServer {
    /// A server for `mechanism` knowing `users` as `(username, password)`
    /// pairs; a name listed twice keeps its last password.
    ///
    /// For SCRAM each user is registered as Kafka does: a 16-byte salt and
    /// [`DEFAULT_ITERATIONS`], keeping only the derived keys. Salts and the
    /// server nonce come from `nonce_seed`, so a simulation replays exactly.
    pub fn new(mechanism: Mechanism, users: &[(String, String)], nonce_seed: u64) -> Self {
        let mut random = Salts(crate::rng::SplitMix64::new(nonce_seed));
        let table = match mechanism {
            Mechanism::Plain => UserTable::Plain(users.iter().cloned().collect()),
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => UserTable::Scram(
                users
                    .iter()
                    .filter_map(|(name, password)| {
                        let salt = random.bytes(SALT_LEN);
                        ScramCredential::derive(mechanism, password, &salt, DEFAULT_ITERATIONS)
                            .map(|credential| (name.clone(), credential))
                    })
                    .collect(),
            ),
        };
        SaslServer {
            mechanism,
            users: Arc::new(table),
            server_nonce: random.nonce(SERVER_NONCE_LEN),
            state: State::Initial,
        }
    }

    /// A SCRAM server from credentials already derived (as a broker reads
    /// them from its metadata). With [`Mechanism::Plain`] it knows no one.
    pub fn with_scram_credentials(
        mechanism: Mechanism,
        credentials: Vec<(String, ScramCredential)>,
        nonce_seed: u64,
    ) -> Self {
        let table = match mechanism {
            Mechanism::Plain => UserTable::Plain(BTreeMap::new()),
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                UserTable::Scram(credentials.into_iter().collect())
            }
        };
        SaslServer {
            mechanism,
            users: Arc::new(table),
            server_nonce: Salts(crate::rng::SplitMix64::new(nonce_seed)).nonce(SERVER_NONCE_LEN),
            state: State::Initial,
        }
    }

    /// A fresh exchange with the same mechanism and user table (shared, not
    /// re-derived) and a server nonce from `nonce_seed`.
    pub fn new_exchange(&self, nonce_seed: u64) -> Self {
        SaslServer {
            mechanism: self.mechanism,
            users: Arc::clone(&self.users),
            server_nonce: Salts(crate::rng::SplitMix64::new(nonce_seed)).nonce(SERVER_NONCE_LEN),
            state: State::Initial,
        }
    }

    /// Fixes the server's part of the SCRAM nonce, so published exchanges
    /// (RFC 7677 §3) can be reproduced. It must be printable ASCII without
    /// `,`, or the client will refuse the server-first-message.
    #[doc(hidden)]
    pub fn with_server_nonce(mut self, server_nonce: &str) -> Self {
        self.server_nonce = server_nonce.to_owned();
        self
    }

    /// The mechanism this server speaks.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The SCRAM credential registered for `username`, if any.
    pub fn scram_credential(&self, username: &str) -> Option<&ScramCredential> {
        match &*self.users {
            UserTable::Scram(users) => users.get(username),
            UserTable::Plain(_) => None,
        }
    }

    /// Whether the client has authenticated.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete { .. })
    }

    /// The user the client authenticated as, once it has.
    pub fn authenticated_user(&self) -> Option<&str> {
        match &self.state {
            State::Complete { username } => Some(username),
            _ => None,
        }
    }

    /// Handles the `auth_bytes` of a SaslAuthenticate request.
    ///
    /// PLAIN takes one message and answers [`ServerStep::Success`] with
    /// empty bytes. SCRAM answers the client-first-message with
    /// [`ServerStep::Challenge`] (the server-first-message) and the
    /// client-final-message with [`ServerStep::Success`] (the
    /// server-final-message). Any refusal ends the exchange.
    pub fn handle(&mut self, client_message: &[u8]) -> Result<ServerStep, ServerSaslError> {
        let state = std::mem::replace(&mut self.state, State::Failed);
        match state {
            State::Initial => match self.mechanism {
                Mechanism::Plain => self.on_plain(client_message),
                Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                    self.on_client_first(client_message)
                }
            },
            State::ScramFirstSent(exchange) => self.on_client_final(client_message, &exchange),
            State::Complete { username } => {
                self.state = State::Complete { username };
                Err(ServerSaslError::IllegalSaslState(
                    "SaslAuthenticate request received after successful authentication".to_owned(),
                ))
            }
            State::Failed => Err(ServerSaslError::IllegalSaslState(
                "SaslAuthenticate request received after failed authentication".to_owned(),
            )),
        }
    }

    /// The message Kafka sends when a mechanism fails without saying why.
    fn failed(&self, reason: &'static str) -> ServerSaslError {
        ServerSaslError::AuthenticationFailed {
            message: format!(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
                self.mechanism.name()
            ),
            reason,
        }
    }

    /// RFC 4616: `[authzid] NUL authcid NUL passwd`, checked in the order
    /// Kafka's PLAIN server checks it.
    fn on_plain(&mut self, message: &[u8]) -> Result<ServerStep, ServerSaslError> {
        let refuse = |message: &str, reason| ServerSaslError::AuthenticationFailed {
            message: message.to_owned(),
            reason,
        };
        let text =
            std::str::from_utf8(message).map_err(|_| self.failed("PLAIN message is not UTF-8"))?;
        let fields: Vec<&str> = text.split('\0').collect();
        let [authzid, username, password] = fields[..] else {
            return Err(self.failed("PLAIN message does not have three NUL-separated fields"));
        };
        if username.is_empty() {
            return Err(refuse(PLAIN_NO_USERNAME, "empty user name"));
        }
        if password.is_empty() {
            return Err(refuse(PLAIN_NO_PASSWORD, "empty password"));
        }
        let UserTable::Plain(users) = &*self.users else {
            return Err(self.failed("no PLAIN users"));
        };
        let Some(expected) = users.get(username) else {
            return Err(refuse(PLAIN_INVALID, "unknown user"));
        };
        if !constant_time_eq(expected.as_bytes(), password.as_bytes()) {
            return Err(refuse(PLAIN_INVALID, "wrong password"));
        }
        if !authzid.is_empty() && authzid != username {
            return Err(refuse(
                AUTHZID_DIFFERS,
                "authorization id differs from user name",
            ));
        }
        self.state = State::Complete {
            username: username.to_owned(),
        };
        Ok(ServerStep::Success(Vec::new()))
    }

    /// RFC 5802 `client-first-message = gs2-header client-first-message-bare`.
    fn on_client_first(&mut self, message: &[u8]) -> Result<ServerStep, ServerSaslError> {
        let text = std::str::from_utf8(message)
            .map_err(|_| self.failed("client-first-message is not UTF-8"))?;
        // gs2-header = gs2-cbind-flag "," [authzid] ",". Kafka takes only
        // "n": it offers no channel binding, and a "y" client would be one
        // that believes it was stripped from the mechanism list.
        let rest = text
            .strip_prefix("n,")
            .ok_or_else(|| self.failed("gs2 header is not n,"))?;
        let (authzid, bare) = rest
            .split_once(',')
            .ok_or_else(|| self.failed("gs2 header is not terminated"))?;
        let gs2_header = format!("n,{authzid},");
        let authzid = match authzid {
            "" => None,
            a => Some(
                a.strip_prefix("a=")
                    .and_then(unescape_saslname)
                    .ok_or_else(|| self.failed("malformed authzid"))?,
            ),
        };
        let mut attributes = bare.split(',');
        let username = attributes
            .next()
            .and_then(|a| a.strip_prefix("n="))
            .and_then(unescape_saslname)
            .ok_or_else(|| self.failed("client-first-message-bare does not start with n="))?;
        let client_nonce = attributes
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .filter(|nonce| !nonce.is_empty() && nonce.bytes().all(is_nonce_byte))
            .ok_or_else(|| self.failed("client-first-message-bare has no valid r="))?;
        // Extensions (Kafka's own are `tokenauth=true` and the like) are
        // accepted and ignored, as long as they are key=value.
        if !attributes.all(is_extension) {
            return Err(self.failed("malformed extension"));
        }
        let credential = self
            .scram_credential(&username)
            .ok_or_else(|| self.failed("unknown user"))?;
        if authzid.is_some_and(|authzid| authzid != username) {
            return Err(ServerSaslError::AuthenticationFailed {
                message: AUTHZID_DIFFERS.to_owned(),
                reason: "authorization id differs from user name",
            });
        }
        let nonce = format!("{client_nonce}{}", self.server_nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            BASE64.encode(&credential.salt),
            credential.iterations
        );
        self.state = State::ScramFirstSent(ScramExchange {
            username,
            gs2_header,
            client_first_bare: bare.to_owned(),
            server_first: server_first.clone(),
            nonce,
        });
        Ok(ServerStep::Challenge(server_first.into_bytes()))
    }

    /// RFC 5802 `client-final-message = channel-binding "," nonce [","
    /// extensions] "," proof`, then the proof check of §3.
    fn on_client_final(
        &mut self,
        message: &[u8],
        exchange: &ScramExchange,
    ) -> Result<ServerStep, ServerSaslError> {
        let text = std::str::from_utf8(message)
            .map_err(|_| self.failed("client-final-message is not UTF-8"))?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or_else(|| self.failed("client-final-message has no proof"))?;
        let mut attributes = without_proof.split(',');
        let channel_binding = attributes
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .ok_or_else(|| self.failed("client-final-message does not start with c="))?;
        if channel_binding != BASE64.encode(exchange.gs2_header.as_bytes()) {
            return Err(self.failed("channel binding does not repeat the gs2 header"));
        }
        let nonce = attributes
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or_else(|| self.failed("client-final-message has no r= after c="))?;
        if nonce != exchange.nonce {
            return Err(self.failed("nonce differs from the server-first-message"));
        }
        if !attributes.all(is_extension) {
            return Err(self.failed("malformed extension"));
        }
        let proof = BASE64
            .decode(proof)
            .map_err(|_| self.failed("proof is not base64"))?;
        let (Some(hash), Some(credential)) = (
            self.mechanism.scram_hash(),
            self.scram_credential(&exchange.username),
        ) else {
            return Err(self.failed("unknown user"));
        };
        let auth_message = format!(
            "{},{},{without_proof}",
            exchange.client_first_bare, exchange.server_first
        );
        let client_signature = hash.hmac(&credential.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(self.failed("proof has the wrong length"));
        }
        let client_key: Vec<u8> = proof
            .iter()
            .zip(&client_signature)
            .map(|(p, s)| p ^ s)
            .collect();
        if !constant_time_eq(&hash.digest(&client_key), &credential.stored_key) {
            return Err(self.failed("invalid proof"));
        }
        let server_signature = hash.hmac(&credential.server_key, auth_message.as_bytes());
        self.state = State::Complete {
            username: exchange.username.clone(),
        };
        Ok(ServerStep::Success(
            format!("v={}", BASE64.encode(server_signature)).into_bytes(),
        ))
    }
}

/// What the server remembers between the two SCRAM round trips.
#[derive(Clone)]
struct ScramExchange {
    username: String,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

/// RFC 5802 `saslname`: `=2C` is `,`, `=3D` is `=`, any other `=` or an
/// empty name is malformed.
fn unescape_saslname(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('=') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3)?;
        out.push(match escape {
            "=2C" => ',',
            "=3D" => '=',
            _ => return None,
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    (!out.contains('\0')).then_some(out)
}

/// A `key=value` extension with a non-empty alphabetic key.
fn is_extension(attribute: &str) -> bool {
    attribute
        .split_once('=')
        .is_some_and(|(key, _)| !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// RFC 5802 `printable`: `%x21-2B / %x2D-7E`.
fn is_nonce_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x7E) && b != b','
}

/// Compares every byte whatever the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// Deterministic salts and nonces from the simulation's seed (the one
/// SplitMix64).
struct Salts(crate::rng::SplitMix64);

impl Salts {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }

    /// Printable characters without `,`; a different alphabet from the
    /// client's so the two halves of a nonce are easy to tell apart.
    fn nonce(&mut self, len: usize) -> String {
        const ALPHABET: &[u8; 32] = b"abcdefghijkmnopqrstuvwxyz2345678";
        (0..len)
            .map(|_| char::from(ALPHABET[(self.next() % 32) as usize]))
            .collect()
    }
}

/// The hash function `H` of a SCRAM mechanism, with its `HMAC` and `Hi`.
#[derive(Clone, Copy)]
enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC takes keys of every length, so this cannot fail.
        match self {
            ScramHash::Sha256 => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha512 => {
                let mut mac =
                    Hmac::<Sha512>::new_from_slice(key).expect("HMAC accepts keys of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    /// RFC 5802 `Hi()`: PBKDF2 with `HMAC` as the PRF, one output block.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec()
            }
            ScramHash::Sha512 => {
                pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, iterations).to_vec()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // The producer's client, to check the two against each other; the
    // server itself does not use it.
    use kafka_producer_core::sasl;

    fn users() -> Vec<(String, String)> {
        vec![
            ("alice".to_owned(), "alice-secret".to_owned()),
            ("bob".to_owned(), "bob-secret".to_owned()),
            ("odd,name=x".to_owned(), "p,w=d".to_owned()),
        ]
    }

    /// A server per mechanism with [`users`] registered; PBKDF2 is slow in
    /// debug builds, so tests share them through `new_exchange`.
    fn registered(mechanism: Mechanism) -> &'static SaslServer {
        static SERVERS: std::sync::OnceLock<Vec<SaslServer>> = std::sync::OnceLock::new();
        let servers = SERVERS.get_or_init(|| {
            Mechanism::ALL
                .into_iter()
                .map(|m| SaslServer::new(m, &users(), 7))
                .collect()
        });
        &servers[Mechanism::ALL
            .iter()
            .position(|&m| m == mechanism)
            .unwrap_or(0)]
    }

    fn client_mechanism(mechanism: Mechanism) -> sasl::Mechanism {
        match mechanism {
            Mechanism::Plain => sasl::Mechanism::Plain,
            Mechanism::ScramSha256 => sasl::Mechanism::ScramSha256,
            Mechanism::ScramSha512 => sasl::Mechanism::ScramSha512,
        }
    }

    /// Runs the producer's client against `server` until one side stops.
    fn authenticate(
        server: &mut SaslServer,
        username: &str,
        password: &str,
        seed: u64,
    ) -> Result<(), ServerSaslError> {
        let credentials = sasl::Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        let mut client =
            sasl::SaslClient::new(client_mechanism(server.mechanism()), &credentials, seed);
        let mut to_server = client.initial_response().unwrap();
        loop {
            match server.handle(&to_server)? {
                ServerStep::Challenge(bytes) => match client.handle_challenge(&bytes).unwrap() {
                    sasl::SaslStep::Respond(bytes) => to_server = bytes,
                    sasl::SaslStep::Done => panic!("client done before the server"),
                },
                ServerStep::Success(bytes) => {
                    assert_eq!(
                        client.handle_challenge(&bytes).unwrap(),
                        sasl::SaslStep::Done
                    );
                    assert!(client.is_complete());
                    return Ok(());
                }
            }
        }
    }

    fn generic_failure(mechanism: Mechanism) -> String {
        format!(
            "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
            mechanism.name()
        )
    }

    #[test]
    fn right_password_succeeds_for_every_mechanism() {
        for mechanism in Mechanism::ALL {
            let template = registered(mechanism);
            for (seed, (username, password)) in users().iter().enumerate() {
                let mut server = template.new_exchange(seed as u64);
                authenticate(&mut server, username, password, 100 + seed as u64)
                    .unwrap_or_else(|e| panic!("{mechanism} {username}: {e}"));
                assert!(server.is_complete());
                assert_eq!(server.authenticated_user(), Some(username.as_str()));
            }
        }
    }

    #[test]
    fn wrong_password_fails_with_kafkas_message() {
        for mechanism in Mechanism::ALL {
            let mut server = registered(mechanism).new_exchange(1);
            let error = authenticate(&mut server, "alice", "not-alice-secret", 2).unwrap_err();
            assert_eq!(error.error_code(), SASL_AUTHENTICATION_FAILED);
            let expected = match mechanism {
                Mechanism::Plain => PLAIN_INVALID.to_owned(),
                _ => generic_failure(mechanism),
            };
            assert_eq!(error.error_message(), expected, "{mechanism}");
            if let ServerSaslError::AuthenticationFailed { reason, .. } = &error {
                let expected = if mechanism == Mechanism::Plain {
                    "wrong password"
                } else {
                    "invalid proof"
                };
                assert_eq!(*reason, expected);
            }
            assert!(!server.is_complete());
            assert_eq!(server.authenticated_user(), None);
        }
    }

    #[test]
    fn unknown_user_fails_with_kafkas_message() {
        for mechanism in Mechanism::ALL {
            let mut server = registered(mechanism).new_exchange(1);
            let error = authenticate(&mut server, "mallory", "alice-secret", 2).unwrap_err();
            let expected = match mechanism {
                Mechanism::Plain => PLAIN_INVALID.to_owned(),
                _ => generic_failure(mechanism),
            };
            assert_eq!(
                error,
                ServerSaslError::AuthenticationFailed {
                    message: expected,
                    reason: "unknown user"
                },
                "{mechanism}"
            );
            assert!(!server.is_complete());
        }
    }

    /// RFC 7677 §3 from the server's side: with the RFC's salt and server
    /// nonce it must send the RFC's server-first and, for the RFC's proof,
    /// the RFC's server-final, without the producer's client involved.
    #[test]
    fn rfc7677_scram_sha_256_exchange_server_side() {
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let credential =
            ScramCredential::derive(Mechanism::ScramSha256, "pencil", &salt, 4096).unwrap();
        let mut server = SaslServer::with_scram_credentials(
            Mechanism::ScramSha256,
            vec![("user".to_owned(), credential)],
            0,
        )
        .with_server_nonce("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
        assert_eq!(
            server.handle(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").unwrap(),
            ServerStep::Challenge(
                b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".to_vec()
            )
        );
        assert_eq!(
            server.handle(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=").unwrap(),
            ServerStep::Success(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".to_vec())
        );
        assert_eq!(server.authenticated_user(), Some("user"));
        let error = server.handle(b"n,,n=user,r=again").unwrap_err();
        assert_eq!(error.error_code(), ILLEGAL_SASL_STATE);
        assert_eq!(
            error.error_message(),
            "SaslAuthenticate request received after successful authentication"
        );
        assert!(server.is_complete(), "a late request does not undo success");
    }

    /// The SCRAM-SHA-512 exchange several SASL libraries test against (not
    /// from an RFC), from the server's side.
    #[test]
    fn published_scram_sha_512_exchange_server_side() {
        let salt = BASE64
            .decode("Yin2FuHTt/M0kJWb0t9OI32n2VmOGi3m+JfjOvuDF88=")
            .unwrap();
        let credential =
            ScramCredential::derive(Mechanism::ScramSha512, "pencil", &salt, 4096).unwrap();
        let mut server = SaslServer::with_scram_credentials(
            Mechanism::ScramSha512,
            vec![("user".to_owned(), credential)],
            0,
        )
        .with_server_nonce("02431b08-2f89-4bad-a4e6-80c0564ec865");
        assert_eq!(
            server.handle(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").unwrap(),
            ServerStep::Challenge(
                b"r=rOprNGfwEbeRWgbNEkqO02431b08-2f89-4bad-a4e6-80c0564ec865,s=Yin2FuHTt/M0kJWb0t9OI32n2VmOGi3m+JfjOvuDF88=,i=4096".to_vec()
            )
        );
        assert_eq!(
            server.handle(b"c=biws,r=rOprNGfwEbeRWgbNEkqO02431b08-2f89-4bad-a4e6-80c0564ec865,p=Hc5yec3NmCD7t+kFRw4/3yD6/F3SQHc7AVYschRja+Bc3sbdjlA0eH1OjJc0DD4ghn1tnXN5/Wr6qm9xmaHt4A==").unwrap(),
            ServerStep::Success(b"v=BQuhnKHqYDwQWS5jAw4sZed+C9KFUALsbrq81bB0mh+bcUUbbMPNNmBIupnS2AmyyDnG5CTBQtkjJ9kyY4kzmw==".to_vec())
        );
    }

    /// A SCRAM server with the RFC 7677 user that has answered the RFC's
    /// client-first-message.
    fn rfc7677_server_after_first() -> SaslServer {
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let credential =
            ScramCredential::derive(Mechanism::ScramSha256, "pencil", &salt, 4096).unwrap();
        let mut server = SaslServer::with_scram_credentials(
            Mechanism::ScramSha256,
            vec![("user".to_owned(), credential)],
            0,
        )
        .with_server_nonce("SERVER");
        server.handle(b"n,,n=user,r=CLIENT").unwrap();
        server
    }

    #[test]
    fn scram_client_final_is_checked() {
        for (message, reason) in [
            (
                &b"c=biws,r=CLIENTSERVER"[..],
                "client-final-message has no proof",
            ),
            (
                b"c=eSws,r=CLIENTSERVER,p=AAAA",
                "channel binding does not repeat the gs2 header",
            ),
            (
                b"c=biws,r=CLIENTOTHER,p=AAAA",
                "nonce differs from the server-first-message",
            ),
            (b"c=biws,r=CLIENTSERVER,p=!!!!", "proof is not base64"),
            (
                b"c=biws,r=CLIENTSERVER,p=AAAA",
                "proof has the wrong length",
            ),
            (
                b"c=biws,r=CLIENTSERVER,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "invalid proof",
            ),
            (b"\xff,p=AAAA", "client-final-message is not UTF-8"),
        ] {
            let mut server = rfc7677_server_after_first();
            assert_eq!(
                server.handle(message),
                Err(ServerSaslError::AuthenticationFailed {
                    message: generic_failure(Mechanism::ScramSha256),
                    reason
                }),
                "{:?}",
                String::from_utf8_lossy(message)
            );
            // Spent: the retry is refused whatever it holds.
            assert_eq!(
                server.handle(message).unwrap_err().error_code(),
                ILLEGAL_SASL_STATE
            );
        }
    }

    #[test]
    fn scram_client_first_is_checked() {
        let salt = [7u8; 16];
        let credential =
            ScramCredential::derive(Mechanism::ScramSha256, "pw", &salt, 4096).unwrap();
        let template = SaslServer::with_scram_credentials(
            Mechanism::ScramSha256,
            vec![
                ("u".to_owned(), credential),
                (
                    "a,b".to_owned(),
                    ScramCredential::derive(Mechanism::ScramSha256, "pw", &salt, 4096).unwrap(),
                ),
            ],
            0,
        );
        for (message, reason) in [
            (&b"y,,n=u,r=abc"[..], "gs2 header is not n,"),
            (b"p=tls-unique,,n=u,r=abc", "gs2 header is not n,"),
            (b"n,", "gs2 header is not terminated"),
            (b"n,x,n=u,r=abc", "malformed authzid"),
            (
                b"n,,m=ext,n=u,r=abc",
                "client-first-message-bare does not start with n=",
            ),
            (
                b"n,,n=,r=abc",
                "client-first-message-bare does not start with n=",
            ),
            (
                b"n,,n=a=2Xb,r=abc",
                "client-first-message-bare does not start with n=",
            ),
            (b"n,,n=u", "client-first-message-bare has no valid r="),
            (b"n,,n=u,r=", "client-first-message-bare has no valid r="),
            (
                b"n,,n=u,r=a\x01b",
                "client-first-message-bare has no valid r=",
            ),
            (b"n,,n=u,r=abc,=x", "malformed extension"),
            (b"\xc3\x28", "client-first-message is not UTF-8"),
            (b"n,,n=nobody,r=abc", "unknown user"),
        ] {
            let mut server = template.new_exchange(1);
            assert_eq!(
                server.handle(message),
                Err(ServerSaslError::AuthenticationFailed {
                    message: generic_failure(Mechanism::ScramSha256),
                    reason
                }),
                "{:?}",
                String::from_utf8_lossy(message)
            );
        }
        // Escaped names and extensions are fine; an authzid must be the user.
        for message in [
            &b"n,,n=a=2Cb,r=abc"[..],
            b"n,a=u,n=u,r=abc",
            b"n,,n=u,r=abc,tokenauth=true",
        ] {
            let mut server = template.new_exchange(1);
            assert!(
                matches!(server.handle(message), Ok(ServerStep::Challenge(_))),
                "{:?}",
                String::from_utf8_lossy(message)
            );
        }
        let mut server = template.new_exchange(1);
        assert_eq!(
            server
                .handle(b"n,a=admin,n=u,r=abc")
                .unwrap_err()
                .error_message(),
            AUTHZID_DIFFERS
        );
    }

    #[test]
    fn plain_messages_are_checked_as_kafka_does() {
        let template = SaslServer::new(Mechanism::Plain, &users(), 0);
        let generic = generic_failure(Mechanism::Plain);
        for (message, expected) in [
            (&b"\0alice"[..], generic.as_str()),
            (b"\0alice\0alice-secret\0", generic.as_str()),
            (b"\xff\0alice\0alice-secret", generic.as_str()),
            (b"\0\0alice-secret", PLAIN_NO_USERNAME),
            (b"\0alice\0", PLAIN_NO_PASSWORD),
            (b"\0alice\0alice-secreT", PLAIN_INVALID),
            (b"bob\0alice\0alice-secret", AUTHZID_DIFFERS),
        ] {
            let mut server = template.new_exchange(0);
            let error = server.handle(message).unwrap_err();
            assert_eq!(error.error_code(), SASL_AUTHENTICATION_FAILED);
            assert_eq!(error.error_message(), expected, "{message:?}");
        }
        let mut server = template.new_exchange(0);
        assert_eq!(
            server.handle(b"alice\0alice\0alice-secret"),
            Ok(ServerStep::Success(Vec::new()))
        );
        assert_eq!(server.authenticated_user(), Some("alice"));
    }

    #[test]
    fn credentials_are_stored_as_kafka_stores_them() {
        let server = SaslServer::new(Mechanism::ScramSha512, &users(), 3);
        let stored = server.scram_credential("alice").unwrap();
        assert_eq!(stored.iterations, DEFAULT_ITERATIONS);
        assert_eq!(stored.salt.len(), SALT_LEN);
        assert_eq!(stored.stored_key.len(), 64);
        assert_eq!(
            Some(stored),
            ScramCredential::derive(Mechanism::ScramSha512, "alice-secret", &stored.salt, 4096)
                .as_ref()
        );
        assert_ne!(
            stored.salt,
            server.scram_credential("bob").unwrap().salt,
            "each user has a salt of its own"
        );
        assert!(ScramCredential::derive(Mechanism::Plain, "x", b"salt", 4096).is_none());
        let shown = format!("{stored:?} {server:?}");
        assert!(!shown.contains("secret"), "{shown}");
        let plain = SaslServer::new(Mechanism::Plain, &users(), 3);
        assert!(!format!("{plain:?}").contains("secret"));
    }

    #[test]
    fn mechanism_names_are_exact() {
        for mechanism in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(mechanism.name()), Some(mechanism));
        }
        assert_eq!(Mechanism::from_name("plain"), None);
        assert_eq!(Mechanism::from_name("GSSAPI"), None);
    }

    #[test]
    fn server_nonces_follow_the_seed() {
        let template = registered(Mechanism::ScramSha256);
        let first = |seed| {
            let mut server = template.new_exchange(seed);
            match server.handle(b"n,,n=alice,r=abc").unwrap() {
                ServerStep::Challenge(bytes) => String::from_utf8(bytes).unwrap(),
                ServerStep::Success(_) => panic!("SCRAM needs two round trips"),
            }
        };
        assert_eq!(first(1), first(1));
        assert_ne!(first(1), first(2));
        let message = first(1);
        let nonce = message
            .strip_prefix("r=abc")
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        assert_eq!(nonce.len(), SERVER_NONCE_LEN);
        assert!(nonce.bytes().all(is_nonce_byte));
    }

    proptest::proptest! {
        #[test]
        fn random_client_messages_never_panic(
            first in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..160),
            second in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..160),
        ) {
            let template = SaslServer::with_scram_credentials(Mechanism::ScramSha256, Vec::new(), 0);
            let mut server = template.new_exchange(1);
            let _ = server.handle(&first);
            let _ = server.handle(&second);
            let mut server = SaslServer::new(Mechanism::Plain, &[], 0);
            proptest::prop_assert!(server.handle(&first).is_err());
        }

        #[test]
        fn random_client_final_messages_never_authenticate(
            message in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..160),
        ) {
            // PBKDF2 is slow in debug builds: derive once, clone per case.
            static AFTER_FIRST: std::sync::OnceLock<SaslServer> = std::sync::OnceLock::new();
            let mut server = AFTER_FIRST.get_or_init(rfc7677_server_after_first).clone();
            proptest::prop_assert!(server.handle(&message).is_err());
            proptest::prop_assert!(!server.is_complete());
        }
    }
}
