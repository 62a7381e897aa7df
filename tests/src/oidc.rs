//! The tests' OIDC identity provider (`tests/python/oidc_idp.py`): client-credentials
//! tokens signed with RS256 and the JWKS to check them, on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

use crate::tools::Tool;

/// A running identity provider; it stops when this is dropped (its stdin closes).
pub struct OidcIdp {
    /// Its loopback port.
    pub port: u16,
    process: Child,
}

impl OidcIdp {
    /// Starts one that grants `client_id` / `client_secret` tokens living `lifetime_secs`.
    pub fn start(client_id: &str, client_secret: &str, lifetime_secs: u64) -> OidcIdp {
        let script = crate::tools::repo_root().join("tests/python/oidc_idp.py");
        let mut process = Command::new(Tool::Python.require())
            .arg(script)
            .args([client_id, client_secret, &lifetime_secs.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the identity provider");
        let mut line = String::new();
        BufReader::new(process.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the identity provider's port");
        let port = line.trim().parse().expect("a port");
        OidcIdp { port, process }
    }

    /// The token endpoint (client credentials).
    pub fn token_url(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// The JWKS brokers validate with.
    pub fn jwks_url(&self) -> String {
        format!("http://127.0.0.1:{}/jwks", self.port)
    }

    /// Tokens granted and requests refused so far.
    pub fn stats(&self) -> (u64, u64) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .write_all(b"GET /stats HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .expect("ask for the stats");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("the stats");
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
        let json: serde_json::Value = serde_json::from_str(body).expect("stats JSON");
        (
            json["granted"].as_u64().unwrap_or(0),
            json["refused"].as_u64().unwrap_or(0),
        )
    }
}

impl Drop for OidcIdp {
    fn drop(&mut self) {
        drop(self.process.stdin.take());
        let _ = self.process.wait();
    }
}
