//! A pair of tansu brokers for SASL/SCRAM tests: [`TansuSasl`].
//!
//! Only a tansu built with sqlite storage keeps SCRAM credentials (the prebuilt one drops them),
//! and a broker started with `--authentication` serves nothing but the handshake to a client that
//! has not authenticated, so the first user cannot be created through it. So two brokers share
//! one sqlite database: an open one, for administration (users, topics), and one that requires
//! SASL, for the tests. What is written through one is read by the other from the same file.

use std::fmt;
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crate::tansu::{broker_command, wait_ready};
use crate::tools::{Tool, free_loopback_port, log_dir, python_output};

/// The SCRAM iteration count [`ScramUser::new`] stores: Kafka's minimum, so that the PBKDF2
/// runs of client and broker stay cheap.
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// The sqlite database both brokers open, relative to their working directory: tansu resolves
/// a `sqlite://` URL against the current directory (even a path that looks absolute), so the
/// brokers run in the pair's scratch directory.
const DATABASE_URL: &str = "sqlite://tansu.db";

/// Creates SCRAM users and topics through an open broker. Its argument is JSON:
/// `{"users": [{"mechanism", "name", "password", "iterations"}], "topics": [{"name",
/// "partitions"}]}`. Passwords travel on the command line because the runner closes stdin; they
/// are throwaway test credentials.
const ADMIN_SCRIPT: &str = r#"
import json, sys
from confluent_kafka.admin import (AdminClient, NewTopic, ScramCredentialInfo, ScramMechanism,
                                   UserScramCredentialUpsertion)

bootstrap, spec = sys.argv[1], json.loads(sys.argv[2])
admin = AdminClient({"bootstrap.servers": bootstrap})
users = spec.get("users", [])
if users:
    alterations = [
        UserScramCredentialUpsertion(
            u["name"],
            ScramCredentialInfo(ScramMechanism[u["mechanism"]], u["iterations"]),
            u["password"].encode(),
        )
        for u in users
    ]
    for name, future in admin.alter_user_scram_credentials(alterations, request_timeout=30).items():
        future.result()
topics = spec.get("topics", [])
if topics:
    new = [NewTopic(t["name"], t["partitions"], 1) for t in topics]
    for name, future in admin.create_topics(new, request_timeout=30, operation_timeout=30).items():
        future.result()
print("ok")
"#;

/// A SCRAM mechanism tansu can store credentials for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScramMechanism {
    /// SCRAM-SHA-256 (RFC 7677).
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

impl ScramMechanism {
    /// Both mechanisms.
    pub const ALL: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];

    /// The name clients configure as `sasl.mechanism`: `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// The member of confluent-kafka's `ScramMechanism` enum.
    fn python_name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM_SHA_256",
            ScramMechanism::Sha512 => "SCRAM_SHA_512",
        }
    }
}

impl fmt::Display for ScramMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A SCRAM credential to store. `Debug` leaves the password out.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramUser {
    /// The mechanism the credential is for; a user may have one per mechanism.
    pub mechanism: ScramMechanism,
    /// The user name.
    pub name: String,
    /// The password.
    pub password: String,
    /// The PBKDF2 iteration count.
    pub iterations: u32,
}

impl ScramUser {
    /// A credential with [`DEFAULT_ITERATIONS`].
    pub fn new(mechanism: ScramMechanism, name: &str, password: &str) -> ScramUser {
        ScramUser {
            mechanism,
            name: name.to_owned(),
            password: password.to_owned(),
            iterations: DEFAULT_ITERATIONS,
        }
    }
}

impl fmt::Debug for ScramUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramUser")
            .field("mechanism", &self.mechanism)
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .field("iterations", &self.iterations)
            .finish()
    }
}

/// The librdkafka properties (`key=value`) for authenticating as `user` over SASL_PLAINTEXT,
/// in the form the Python read-back helpers take as extra arguments.
pub fn librdkafka_sasl_properties(user: &ScramUser) -> Vec<String> {
    vec![
        "security.protocol=SASL_PLAINTEXT".to_owned(),
        format!("sasl.mechanism={}", user.mechanism.name()),
        format!("sasl.username={}", user.name),
        format!("sasl.password={}", user.password),
    ]
}

/// One tansu process with its log file.
#[derive(Debug)]
struct Broker {
    role: &'static str,
    child: Child,
    watchdog: Option<Child>,
    port: u16,
    log: PathBuf,
    stopped: bool,
}

impl Broker {
    /// Starts tansu-sqlite in `dir` on a free port and waits for it to answer ApiVersions
    /// (which a Kafka broker serves before authentication too). Retries on a port race.
    fn start(dir: &Path, role: &'static str, authentication: bool) -> Broker {
        let binary = Tool::TansuSqlite.require();
        let mut last_failure = String::new();
        for _attempt in 0..5 {
            let port = free_loopback_port();
            let log = log_dir()
                .expect("create the test log directory")
                .join(format!(
                    "tansu-sqlite-{role}-{}-{port}.log",
                    std::process::id()
                ));
            let log_file = File::create(&log)
                .unwrap_or_else(|e| panic!("create tansu log {}: {e}", log.display()));
            let mut cmd = broker_command(&binary, port, DATABASE_URL, "kafka-tests-sasl", log_file);
            if authentication {
                cmd.arg("--authentication");
            }
            let child = cmd
                .current_dir(dir)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let watchdog = spawn_watchdog(child.id());
            let mut broker = Broker {
                role,
                child,
                watchdog,
                port,
                log,
                stopped: false,
            };
            match broker.wait_ready() {
                Ok(()) => return broker,
                Err(failure) => {
                    let log = broker.log();
                    if log.contains("in use") {
                        last_failure = failure;
                        continue; // port race: drop (kill) and retry on another port
                    }
                    panic!("tansu-sqlite ({role}) did not start: {failure}\n--- log ---\n{log}");
                }
            }
        }
        panic!("tansu-sqlite ({role}) did not start after 5 attempts: {last_failure}");
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let addr = self.addr();
        wait_ready(&mut self.child, addr)
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn log(&self) -> String {
        fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| format!("(cannot read {}: {e})", self.log.display()))
    }

    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // The watchdog goes first (SIGKILL, so it never runs its `kill`): once the broker is
        // reaped, its pid may be reused by an unrelated process.
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!(
                "tansu-sqlite ({}) log kept at {}",
                self.role,
                self.log.display()
            );
        } else {
            let _ = fs::remove_file(&self.log);
        }
    }
}

/// A `sh` that kills the broker when its stdin (a pipe from this process) closes, so that a
/// test process killed without running destructors leaves no broker behind.
fn spawn_watchdog(pid: u32) -> Option<Child> {
    Command::new("sh")
        .args(["-c", &format!("cat >/dev/null; kill -9 {pid} 2>/dev/null")])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// Two tansu-sqlite brokers on one fresh sqlite database in a scratch directory: an open one
/// ([`admin_bootstrap`](Self::admin_bootstrap)) and one that requires SASL
/// ([`sasl_bootstrap`](Self::sasl_bootstrap)), both on free 127.0.0.1 ports. Both are killed on
/// drop; their logs (in the test log directory) and the database are deleted then unless the
/// test panicked.
///
/// That build of tansu does not create topics on demand: create them with
/// [`create_topic`](Self::create_topic).
#[derive(Debug)]
pub struct TansuSasl {
    admin: Broker,
    sasl: Broker,
    dir: PathBuf,
}

impl TansuSasl {
    /// Starts both brokers and creates `users` (through the open broker). Panics, with the
    /// brokers' logs, if something fails. Use [`require_tools!`](crate::require_tools) with
    /// [`Tool::TansuSqlite`] and [`Tool::Python`] first.
    pub fn start(users: &[ScramUser]) -> TansuSasl {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = log_dir()
            .expect("create the test log directory")
            .join(format!(
                "tansu-sasl-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("create scratch directory {}: {e}", dir.display()));
        // The open broker creates the database schema before it answers, so the second one
        // never races it for that.
        let admin = Broker::start(&dir, "admin", false);
        let sasl = Broker::start(&dir, "sasl", true);
        let pair = TansuSasl { admin, sasl, dir };
        if !users.is_empty() {
            pair.create_scram_users(users);
        }
        pair
    }

    /// The open broker's address, `127.0.0.1:PORT`: no authentication, for administration.
    pub fn admin_bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.admin.port)
    }

    /// The address of the broker that requires SASL, `127.0.0.1:PORT`.
    pub fn sasl_bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.sasl.port)
    }

    /// Stores SCRAM credentials (AlterUserScramCredentials from confluent-kafka's AdminClient,
    /// which salts and hashes the password itself) through the open broker.
    pub fn create_scram_users(&self, users: &[ScramUser]) {
        let users: Vec<serde_json::Value> = users
            .iter()
            .map(|u| {
                serde_json::json!({
                    "mechanism": u.mechanism.python_name(),
                    "name": u.name,
                    "password": u.password,
                    "iterations": u.iterations,
                })
            })
            .collect();
        self.admin(serde_json::json!({ "users": users }), "create SCRAM users");
    }

    /// Creates `topic` with `partitions` partitions through the open broker.
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        self.admin(
            serde_json::json!({ "topics": [{ "name": topic, "partitions": partitions }] }),
            "create topic",
        );
    }

    fn admin(&self, spec: serde_json::Value, what: &str) {
        let script = self.dir.join("admin.py");
        if !script.is_file() {
            fs::write(&script, ADMIN_SCRIPT).expect("write the admin script");
        }
        let out = python_output(&script, [self.admin_bootstrap(), spec.to_string()]);
        if !out.status.success() || out.stdout.trim() != "ok" {
            panic!(
                "{what} through the open broker failed with {}\n--- stdout ---\n{}\n\
                 --- stderr ---\n{}\n--- admin broker log ---\n{}",
                out.status,
                out.stdout,
                out.stderr,
                self.admin.log()
            );
        }
    }

    /// The open broker's output so far.
    pub fn admin_log(&self) -> String {
        self.admin.log()
    }

    /// The SASL broker's output so far.
    pub fn sasl_log(&self) -> String {
        self.sasl.log()
    }

    /// The directory holding the sqlite database.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TansuSasl {
    fn drop(&mut self) {
        // Both processes must be gone before their database is deleted.
        self.admin.stop();
        self.sasl.stop();
        if thread::panicking() {
            eprintln!("tansu-sqlite database kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
