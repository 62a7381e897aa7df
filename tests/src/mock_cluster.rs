//! librdkafka's mock cluster in a child process: [`MockCluster`].
//!
//! The host program is `tests/tools/mockcluster.c` (built by `scripts/setup-test-env.sh`, run
//! with the librdkafka from the confluent-kafka wheel). It prints `BOOTSTRAP host:port,...`, then
//! takes one command per line on stdin and answers each with `ok` or `error: ...`, possibly after
//! data lines (`REQ ...` for `requests`, `BOOTSTRAP ...` for `bootstraps`). See the header
//! comment of `tests/tools/mockcluster.c` for the commands: `errors <ApiKey> <err>...`,
//! `leader <topic> <partition> <broker>`, `down <id>`, `up <id>`, `rtt <id> <ms>`,
//! `topic <name> <partitions> <rf>`, `track start`, `requests`, ...

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

use crate::tools::{Tool, log_dir};

/// How long to wait for the `BOOTSTRAP` line and for each command's answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running mock cluster; the process is stopped when the guard is dropped.
#[derive(Debug)]
pub struct MockCluster {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    bootstrap: String,
    log: PathBuf,
}

impl MockCluster {
    /// Starts a cluster of `brokers` brokers (ids 1..=brokers) with the given topics, as
    /// `(name, partitions, replication_factor)`. Panics (with its stderr) if the host program is
    /// not installed or does not print its bootstrap servers within [`REPLY_TIMEOUT`].
    pub fn start(brokers: u32, topics: &[(&str, u32, u32)]) -> MockCluster {
        static INSTANCE: AtomicU32 = AtomicU32::new(0);
        let binary = Tool::MockCluster.require();
        let log = log_dir()
            .expect("create the test log directory")
            .join(format!(
                "mockcluster-{}-{}.log",
                std::process::id(),
                INSTANCE.fetch_add(1, Ordering::Relaxed)
            ));
        let log_file =
            File::create(&log).unwrap_or_else(|e| panic!("create log {}: {e}", log.display()));
        let mut child = Command::new(&binary)
            .arg(brokers.to_string())
            .args(
                topics
                    .iter()
                    .map(|(name, p, rf)| format!("{name}:{p}:{rf}")),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut cluster = MockCluster {
            child,
            stdin,
            lines,
            bootstrap: String::new(),
            log,
        };
        let first = cluster.next_line("its BOOTSTRAP line");
        match first.strip_prefix("BOOTSTRAP ") {
            Some(servers) if !servers.trim().is_empty() => {
                cluster.bootstrap = servers.trim().to_string()
            }
            _ => cluster.fail(&format!(
                "expected `BOOTSTRAP host:port,...`, got {first:?}"
            )),
        }
        cluster
    }

    fn fail(&mut self, what: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!(
            "mockcluster: {what}\n--- mockcluster stderr ---\n{}",
            fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    fn next_line(&mut self, waiting_for: &str) -> String {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        match self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => self.fail(&format!(
                "no answer within {REPLY_TIMEOUT:?} while waiting for {waiting_for}"
            )),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                self.fail(&format!(
                    "exited ({status}) while waiting for {waiting_for}"
                ))
            }
        }
    }

    /// The bootstrap servers, `host:port,host:port,...`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Each broker's address, in broker id order (the first is broker 1).
    pub fn broker_addrs(&self) -> Vec<SocketAddr> {
        self.bootstrap
            .split(',')
            .map(|a| {
                a.parse()
                    .unwrap_or_else(|e| panic!("bad mock broker address {a:?}: {e}"))
            })
            .collect()
    }

    /// Sends one command line (e.g. `"errors 0 6"`, `"leader t 0 2"`, `"down 1"`) and waits for
    /// its answer: `Ok(data lines before "ok")` or `Err(text after "error: ")`. Panics if the
    /// process dies or does not answer within [`REPLY_TIMEOUT`].
    pub fn command(&mut self, command: &str) -> Result<Vec<String>, String> {
        assert!(
            !command.contains('\n'),
            "one command per call, without newlines: {command:?}"
        );
        let sent = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{command}").and_then(|()| stdin.flush()),
            None => unreachable!("stdin is only taken on drop"),
        };
        if let Err(e) = sent {
            self.fail(&format!("cannot send {command:?}: {e}"));
        }
        let mut data = Vec::new();
        loop {
            let line = self.next_line(&format!("the answer to {command:?}"));
            if line == "ok" {
                return Ok(data);
            }
            if let Some(error) = line.strip_prefix("error: ") {
                return Err(error.to_string());
            }
            data.push(line);
        }
    }

    /// Like [`MockCluster::command`], but panics when the cluster answers with an error.
    pub fn cmd(&mut self, command: &str) -> Vec<String> {
        self.command(command)
            .unwrap_or_else(|e| panic!("mockcluster command {command:?} failed: {e}"))
    }

    /// The file holding the host program's stderr.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The process id of the host program.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "quit");
            // Dropping stdin closes it: EOF also makes the host exit.
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        if thread::panicking() {
            eprintln!("mockcluster log kept at {}", self.log.display());
        } else {
            let _ = fs::remove_file(&self.log);
        }
    }
}
