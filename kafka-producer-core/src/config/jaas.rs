//! `sasl.jaas.config`: Java JAAS entries.

use super::*;

/// The credentials in a `sasl.jaas.config` line.
pub(super) struct JaasLogin {
    pub(super) username: String,
    pub(super) password: String,
}

/// What a `sasl.jaas.config` line gives.
pub(super) enum Jaas {
    /// PLAIN or SCRAM credentials.
    Password(JaasLogin),
    /// `OAuthBearerLoginModule`: unsecured tokens when its `unsecuredLogin*`
    /// options are there, and the OIDC client's `clientId`, `clientSecret`
    /// and `scope` options (KIP-768) when given.
    OAuthBearer(Option<UnsecuredLogin>, OAuthClient),
}

/// The OIDC client-credentials options of an `OAuthBearerLoginModule` entry.
#[derive(Default)]
pub(super) struct OAuthClient {
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<String>,
    pub(super) scope: Option<String>,
}

/// The options of Java's unsecured OAUTHBEARER login
/// (`OAuthBearerUnsecuredLoginCallbackHandler`): the token is an unsigned
/// JWS (`alg: none`) with these claims, made by the runtime crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsecuredLogin {
    /// `unsecuredLoginStringClaim_sub`: the principal.
    pub principal: String,
    /// `unsecuredLoginLifetimeSeconds` (default 3600).
    pub lifetime: Duration,
    /// `unsecuredLoginListClaim_scope` (space separated), if given.
    pub scope: Vec<String>,
    /// `unsecuredLoginExtension_<name>`: SASL extensions (KIP-342).
    pub extensions: Vec<(String, String)>,
}

/// Java's OAUTHBEARER login module.
pub(super) const OAUTHBEARER_LOGIN_MODULE: &str =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";

/// The login modules whose `username` and `password` options are the SASL
/// credentials.
pub(super) const JAAS_LOGIN_MODULES: [&str; 2] = [
    "org.apache.kafka.common.security.plain.PlainLoginModule",
    "org.apache.kafka.common.security.scram.ScramLoginModule",
];

/// One token of a JAAS configuration entry.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum JaasToken {
    /// A bare word: a class name, a flag, an option name or value.
    Word(String),
    /// A double-quoted string, escapes resolved.
    Quoted(String),
    Equals,
    Semicolon,
}

/// Splits a JAAS entry into tokens. Error messages never quote the input:
/// it holds a password.
pub(super) fn jaas_tokens(value: &str) -> Result<Vec<JaasToken>, String> {
    let mut tokens = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '=' => tokens.push(JaasToken::Equals),
            ';' => tokens.push(JaasToken::Semicolon),
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a quoted value is not closed".to_owned()),
                        Some('"') => break,
                        // As in Java's JAAS parser, a backslash takes the next
                        // character literally, so `\"` and `\\` can be quoted.
                        Some('\\') => match chars.next() {
                            Some(escaped) => s.push(escaped),
                            None => return Err("a quoted value is not closed".to_owned()),
                        },
                        Some(c) => s.push(c),
                    }
                }
                tokens.push(JaasToken::Quoted(s));
            }
            c => {
                let mut s = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || matches!(next, '=' | ';' | '"') {
                        break;
                    }
                    s.push(next);
                    chars.next();
                }
                tokens.push(JaasToken::Word(s));
            }
        }
    }
    Ok(tokens)
}

/// Reads `LoginModule flag option="value" ...;`, the one entry Java allows
/// in `sasl.jaas.config`, for the PLAIN, SCRAM or OAUTHBEARER login module.
pub(super) fn parse_jaas(value: &str) -> Result<Jaas, String> {
    let mut tokens = jaas_tokens(value)?.into_iter();
    let oauth = match tokens.next() {
        Some(JaasToken::Word(module)) if JAAS_LOGIN_MODULES.contains(&module.as_str()) => false,
        Some(JaasToken::Word(module)) if module == OAUTHBEARER_LOGIN_MODULE => true,
        _ => {
            return Err(format!(
                "expected a JAAS entry for {}, {} or {OAUTHBEARER_LOGIN_MODULE}",
                JAAS_LOGIN_MODULES[0], JAAS_LOGIN_MODULES[1]
            ));
        }
    };
    match tokens.next() {
        Some(JaasToken::Word(flag))
            if ["required", "requisite", "sufficient", "optional"]
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&flag)) => {}
        _ => return Err("expected the control flag (required) after the login module".to_owned()),
    }
    let mut username = None;
    let mut password = None;
    let mut options: Vec<(String, String)> = Vec::new();
    loop {
        let name = match tokens.next() {
            Some(JaasToken::Semicolon) => break,
            Some(JaasToken::Word(name)) => name,
            _ => return Err("expected name=\"value\" options ending with ';'".to_owned()),
        };
        if tokens.next() != Some(JaasToken::Equals) {
            return Err("expected '=' after an option name".to_owned());
        }
        let option = match tokens.next() {
            Some(JaasToken::Word(v) | JaasToken::Quoted(v)) => v,
            _ => return Err("expected a value after '='".to_owned()),
        };
        // Other options (SCRAM's tokenauth, say) do not concern the client's
        // credentials.
        match name.as_str() {
            "username" => username = Some(option),
            "password" => password = Some(option),
            _ => options.push((name, option)),
        }
    }
    if tokens.next().is_some() {
        return Err("expected exactly one login module entry".to_owned());
    }
    if oauth {
        let mut client = OAuthClient::default();
        for (name, value) in &options {
            match name.as_str() {
                "clientId" => client.client_id = Some(value.clone()),
                "clientSecret" => client.client_secret = Some(value.clone()),
                "scope" => client.scope = Some(value.clone()),
                _ => {}
            }
        }
        return unsecured_login(&options).map(|u| Jaas::OAuthBearer(u, client));
    }
    match (username, password) {
        (Some(username), Some(password)) if !username.is_empty() && !password.is_empty() => {
            Ok(Jaas::Password(JaasLogin { username, password }))
        }
        (None, _) => Err("no username option".to_owned()),
        (_, None) => Err("no password option".to_owned()),
        _ => Err("username and password must not be empty".to_owned()),
    }
}

/// The unsecured-token options of an `OAuthBearerLoginModule` entry, if any.
pub(super) fn unsecured_login(
    options: &[(String, String)],
) -> Result<Option<UnsecuredLogin>, String> {
    let mut login = UnsecuredLogin {
        principal: String::new(),
        lifetime: Duration::from_secs(3600),
        scope: Vec::new(),
        extensions: Vec::new(),
    };
    let mut unsecured = false;
    for (name, value) in options {
        if let Some(extension) = name.strip_prefix("unsecuredLoginExtension_") {
            // RFC 7628: a key is ALPHA+, and "auth" is reserved.
            if extension.is_empty()
                || extension == "auth"
                || !extension.bytes().all(|b| b.is_ascii_alphabetic())
            {
                return Err(format!("invalid SASL extension name {extension:?}"));
            }
            login.extensions.push((extension.to_owned(), value.clone()));
            unsecured = true;
            continue;
        }
        match name.as_str() {
            "unsecuredLoginStringClaim_sub" => {
                login.principal = value.clone();
                unsecured = true;
            }
            "unsecuredLoginLifetimeSeconds" => {
                let secs: u64 = value
                    .parse()
                    .map_err(|_| "unsecuredLoginLifetimeSeconds must be a number".to_owned())?;
                login.lifetime = Duration::from_secs(secs);
                unsecured = true;
            }
            "unsecuredLoginListClaim_scope" => {
                login.scope = value.split_whitespace().map(str::to_owned).collect();
                unsecured = true;
            }
            _ => {}
        }
    }
    if !unsecured {
        return Ok(None);
    }
    if login.principal.is_empty() {
        return Err(
            "the unsecured OAUTHBEARER login needs unsecuredLoginStringClaim_sub".to_owned(),
        );
    }
    Ok(Some(login))
}
