//! A tansu broker process per test: [`Tansu`].

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::tools::{Tool, free_loopback_port, log_dir};

/// How long [`Tansu::start`] waits for the broker to answer ApiVersions.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A fresh tansu broker (memory storage) listening on a free 127.0.0.1 port; the process is
/// killed when the guard is dropped.
///
/// tansu keeps everything in RAM, so start one per test (or per test binary) rather than
/// sharing one across a long run. Its stdout and stderr go to a log file ([`Tansu::log_path`])
/// that is deleted on drop unless the test panicked.
#[derive(Debug)]
pub struct Tansu {
    child: Child,
    watchdog: Option<Child>,
    port: u16,
    log: PathBuf,
}

/// `tansu broker` listening on (and advertising) `127.0.0.1:port`, with
/// the settings tansu would otherwise take from the environment removed, and
/// its output going to `log_file`.
pub(crate) fn broker_command(
    binary: &Path,
    port: u16,
    storage_engine: &str,
    cluster_id: &str,
    log_file: File,
) -> Command {
    let url = format!("tcp://127.0.0.1:{port}");
    let mut cmd = Command::new(binary);
    cmd.arg("broker")
        .args(["--listener-url", &url])
        .args(["--advertised-listener-url", &url])
        .args(["--storage-engine", storage_engine])
        .args(["--cluster-id", cluster_id])
        .env_remove("CLUSTER_ID")
        .env_remove("LISTENER_URL")
        .env_remove("ADVERTISED_LISTENER_URL")
        .env_remove("STORAGE_ENGINE")
        .env_remove("SCHEMA_REGISTRY")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("clone log file handle"))
        .stderr(log_file);
    cmd
}

/// Waits until the broker `child` answers ApiVersions on `addr`, at most
/// [`STARTUP_TIMEOUT`]; an error if it exits or stays silent.
pub(crate) fn wait_ready(child: &mut Child, addr: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Err(format!("tansu exited with {status}")),
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for tansu: {e}")),
        }
        let last_error = match api_versions_probe(addr) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "no ApiVersions answer on {addr} within {STARTUP_TIMEOUT:?} (last error: {last_error})"
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

impl Tansu {
    /// Starts tansu and waits until it answers an ApiVersions request. Panics (with the
    /// broker's log) if it is not installed, exits, or does not become ready within
    /// [`STARTUP_TIMEOUT`]. Use [`require_tools!`](crate::require_tools) first to skip when
    /// tools are missing outside CI.
    pub fn start() -> Tansu {
        let binary = Tool::Tansu.require();
        let mut last_failure = String::new();
        // The port is free when picked but may be taken before tansu binds it: retry.
        for _attempt in 0..5 {
            let port = free_loopback_port();
            let log = log_dir()
                .expect("create the test log directory")
                .join(format!("tansu-{}-{port}.log", std::process::id()));
            let log_file = File::create(&log)
                .unwrap_or_else(|e| panic!("create tansu log {}: {e}", log.display()));
            let child = broker_command(&binary, port, "memory://tansu/", "kafka-tests", log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let watchdog = spawn_watchdog(child.id());
            let mut broker = Tansu {
                child,
                watchdog,
                port,
                log,
            };
            match broker.wait_ready() {
                Ok(()) => return broker,
                Err(failure) => {
                    let log = broker.log();
                    if log.contains("in use") {
                        last_failure = failure;
                        continue; // port race: drop (kill) and retry on another port
                    }
                    panic!("tansu did not start: {failure}\n--- tansu log ---\n{log}");
                }
            }
        }
        panic!("tansu did not start after 5 attempts: {last_failure}");
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let addr = self.addr();
        wait_ready(&mut self.child, addr)
    }

    /// The bootstrap address, `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The socket address the broker listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The port the broker listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The file holding the broker's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The broker's output so far.
    pub fn log(&self) -> String {
        fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| format!("(cannot read {}: {e})", self.log.display()))
    }
}

/// A `sh` that kills the broker when its stdin (a pipe from this process) closes: when the test
/// process dies without running destructors (SIGKILL, abort), no broker is left behind holding
/// its memory. Best effort: without `sh` the broker is still killed on drop.
fn spawn_watchdog(pid: u32) -> Option<Child> {
    Command::new("sh")
        .args(["-c", &format!("cat >/dev/null; kill -9 {pid} 2>/dev/null")])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

impl Drop for Tansu {
    fn drop(&mut self) {
        // Stop the watchdog first (SIGKILL, so it never runs its `kill`): once the broker is
        // reaped below, its pid may be reused by an unrelated process.
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("tansu log kept at {}", self.log.display());
        } else {
            let _ = fs::remove_file(&self.log);
        }
    }
}

/// Sends ApiVersions v0 to `addr` and checks that a well-formed answer with error code 0 comes
/// back: the broker is not just listening but serving the Kafka protocol.
pub fn api_versions_probe(addr: SocketAddr) -> io::Result<()> {
    const CORRELATION_ID: i32 = 0x6b74_6573;
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let client_id = b"kafka-tests-probe";
    let mut body = Vec::new();
    body.extend_from_slice(&18i16.to_be_bytes()); // ApiVersions
    body.extend_from_slice(&0i16.to_be_bytes()); // v0
    body.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    body.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    body.extend_from_slice(client_id);
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    stream.write_all(&frame)?;
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = i32::from_be_bytes(len);
    if !(6..=1 << 20).contains(&len) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("ApiVersions response length {len}"),
        ));
    }
    let mut response = vec![0u8; len as usize];
    stream.read_exact(&mut response)?;
    let correlation = i32::from_be_bytes(response[0..4].try_into().expect("4 bytes"));
    let error_code = i16::from_be_bytes(response[4..6].try_into().expect("2 bytes"));
    if correlation != CORRELATION_ID || error_code != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("ApiVersions answer: correlation id {correlation}, error code {error_code}"),
        ));
    }
    Ok(())
}
