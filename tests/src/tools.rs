//! Locating the tools that `scripts/setup-test-env.sh` installs, and running them.
//!
//! Everything lives under the repository root: `.tools/` (tansu, the mock cluster host, kcat and
//! the newer librdkafka) and `.venv/` (confluent-kafka, kafka-python and codecs). Both locations
//! can be overridden with `KAFKA_TESTS_TOOLS_DIR` and `KAFKA_TESTS_VENV`.
//!
//! A test that needs a tool first calls [`tools_available`] (or the [`require_tools!`] macro).
//! When a tool is missing it panics if [`REQUIRE_ENV`] is set (as CI does, through
//! `scripts/test.sh`), and otherwise prints why and lets the test return early: a developer
//! without the tools still gets a green `cargo test` for everything else, CI never skips.
//!
//! [`require_tools!`]: crate::require_tools

use std::env;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The script that installs every tool (relative to the repository root).
pub const SETUP_SCRIPT: &str = "scripts/setup-test-env.sh";

/// When this environment variable is `1` (or `true`), a missing tool fails the test instead of
/// skipping it. `scripts/test.sh`, and so CI, sets it.
pub const REQUIRE_ENV: &str = "KAFKA_TESTS_REQUIRE_BROKERS";

/// How long [`python`] and [`kcat`] let a command run before killing it and failing the test.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// The number in environment variable `name`, or `default` when it is unset
/// or not a number (a test's knob: `SOAK_SECS`, `FUZZ_SWEEP`, ...).
pub fn env_u64(name: &str, default: u64) -> u64 {
    env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// The integration-test crate's directory (`tests/`); relative script paths resolve against it.
pub fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where `scripts/setup-test-env.sh` installs binaries and libraries: `.tools/` in the
/// repository root, or `$KAFKA_TESTS_TOOLS_DIR`.
pub fn tools_dir() -> PathBuf {
    env::var_os("KAFKA_TESTS_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools"))
}

/// The Python virtual environment: `.venv/` in the repository root, or `$KAFKA_TESTS_VENV`.
pub fn venv_dir() -> PathBuf {
    env::var_os("KAFKA_TESTS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv"))
}

/// The venv's Python interpreter (has confluent-kafka, kafka-python, lz4, snappy, zstandard,
/// crc32c).
pub fn venv_python() -> PathBuf {
    venv_dir().join("bin").join("python")
}

/// Whether missing tools must fail tests ([`REQUIRE_ENV`] is set to `1` or `true`).
pub fn tools_required() -> bool {
    matches!(
        env::var(REQUIRE_ENV).as_deref().map(str::trim),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

/// A tool installed by `scripts/setup-test-env.sh`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// The tansu broker binary, `.tools/bin/tansu`.
    Tansu,
    /// The librdkafka mock cluster host, `.tools/bin/mockcluster` (a wrapper that sets
    /// `LD_LIBRARY_PATH` to the newer librdkafka).
    MockCluster,
    /// kcat with the newer librdkafka, `.tools/bin/kcat`.
    Kcat,
    /// The venv's Python with the Kafka clients, `.venv/bin/python`.
    Python,
    /// Apache Kafka's jars, `.tools/kafka/current` (the reference version; the compatibility
    /// versions beside it), and a `java` that runs.
    Kafka,
}

impl Tool {
    /// Every tool.
    pub const ALL: [Tool; 5] = [
        Tool::Tansu,
        Tool::MockCluster,
        Tool::Kcat,
        Tool::Python,
        Tool::Kafka,
    ];

    /// The tool's short name, as used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Tansu => "tansu",
            Tool::MockCluster => "mockcluster",
            Tool::Kcat => "kcat",
            Tool::Python => "venv python",
            Tool::Kafka => "Apache Kafka (jars and java)",
        }
    }

    /// Where the tool is (whether or not it is installed).
    pub fn path(self) -> PathBuf {
        match self {
            Tool::Tansu => tools_dir().join("bin").join("tansu"),
            Tool::MockCluster => tools_dir().join("bin").join("mockcluster"),
            Tool::Kcat => tools_dir().join("bin").join("kcat"),
            Tool::Python => venv_python(),
            Tool::Kafka => crate::kafka::kafka_libs("current"),
        }
    }

    /// Whether the tool is installed. For Python this means the venv exists and the setup
    /// script finished installing its packages into it.
    pub fn is_installed(self) -> bool {
        let path = self.path();
        let present = path.is_file();
        match self {
            Tool::Python => {
                present
                    && venv_dir()
                        .join(".kafka-tests-requirements.sha256")
                        .is_file()
            }
            Tool::Kafka => crate::kafka::kafka_installed("current"),
            _ => present,
        }
    }

    /// The tool's path; panics with instructions when it is not installed.
    pub fn require(self) -> PathBuf {
        if !self.is_installed() {
            panic!("{}", missing_message(&[self]));
        }
        self.path()
    }
}

fn missing_message(missing: &[Tool]) -> String {
    let list: Vec<String> = missing
        .iter()
        .map(|t| format!("{} ({})", t.name(), t.path().display()))
        .collect();
    format!(
        "test tools not installed: {}. Run `{}` from the repository root ({}) to install them \
         (or run all tests with `scripts/test.sh`, which does that first).",
        list.join(", "),
        SETUP_SCRIPT,
        repo_root().display()
    )
}

/// Checks that `tools` are installed. Returns `true` when they are. When one is missing:
/// panics if [`tools_required`] (CI), else prints a skip message naming the current test and
/// returns `false`, and the test should return early. See also [`require_tools!`].
///
/// [`require_tools!`]: crate::require_tools
pub fn tools_available(tools: &[Tool]) -> bool {
    let missing: Vec<Tool> = tools
        .iter()
        .copied()
        .filter(|t| !t.is_installed())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = missing_message(&missing);
    if tools_required() {
        panic!("{message} ({REQUIRE_ENV} is set, so missing tools fail instead of skipping)");
    }
    let current = thread::current();
    let test = current.name().unwrap_or("this test");
    eprintln!("SKIPPED {test}: {message} Set {REQUIRE_ENV}=1 to make this a failure.");
    false
}

/// Returns from the calling test early (after printing why) when one of the given [`Tool`]s is
/// missing, or fails it when [`REQUIRE_ENV`] is set. Usage:
/// `require_tools!(Tool::Tansu, Tool::Python);`
///
/// [`Tool`]: crate::tools::Tool
/// [`REQUIRE_ENV`]: crate::tools::REQUIRE_ENV
#[macro_export]
macro_rules! require_tools {
    ($($tool:expr),+ $(,)?) => {
        if !$crate::tools::tools_available(&[$($tool),+]) {
            return;
        }
    };
}

/// A free TCP port on 127.0.0.1, found by binding port 0 and releasing it. Another process may
/// take it before the caller binds it; callers retry on "address in use".
pub fn free_loopback_port() -> u16 {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0 to find a free port");
    listener
        .local_addr()
        .expect("local_addr of a bound listener")
        .port()
}

/// The outcome of a command run by [`run_command`].
#[derive(Debug)]
pub struct CommandOutput {
    /// How the command exited.
    pub status: ExitStatus,
    /// Everything it wrote to stdout (lossy UTF-8).
    pub stdout: String,
    /// Everything it wrote to stderr (lossy UTF-8).
    pub stderr: String,
}

impl CommandOutput {
    /// Panics, showing the command's output, unless it exited with status 0; returns stdout.
    pub fn expect_success(self, what: &str) -> String {
        if !self.status.success() {
            panic!(
                "{what} failed with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.status, self.stdout, self.stderr
            );
        }
        self.stdout
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// Runs `cmd` with stdin closed, collecting stdout and stderr; kills it and panics if it runs
/// longer than `timeout`. Panics if it cannot be started.
pub fn run_command(cmd: &mut Command, timeout: Duration) -> CommandOutput {
    let description = format!("{cmd:?}");
    let mut child: Child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {description}: {e}"));
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
                let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
                panic!(
                    "{description} did not finish within {timeout:?}; killed it\n--- stdout ---\n\
                     {stdout}\n--- stderr ---\n{stderr}"
                );
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("waiting for {description}: {e}"),
        }
    };
    CommandOutput {
        status,
        stdout: String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned(),
    }
}

fn resolve_script(script: &Path) -> PathBuf {
    if script.is_absolute() {
        script.to_path_buf()
    } else {
        tests_dir().join(script)
    }
}

/// A `Command` for the venv's Python running `script` (relative paths resolve against `tests/`,
/// e.g. `"scripts/produce_consume.py"`), unbuffered and without writing `__pycache__`.
/// Panics with instructions if the venv is missing.
pub fn python_command<I, S>(script: impl AsRef<Path>, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let python = Tool::Python.require();
    let script = resolve_script(script.as_ref());
    assert!(
        script.is_file(),
        "python script {} does not exist",
        script.display()
    );
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// A `Command` for the venv's Python running `code` given on the command line (`python -c`;
/// `sys.argv[1:]` are `args`): no script file to write into, or leave behind in, the temp
/// directory. Panics with instructions if the venv is missing.
pub fn python_inline_command<I, S>(code: &str, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(Tool::Python.require());
    cmd.arg("-c")
        .arg(code)
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// Runs `code` with the venv's Python (see [`python_inline_command`]) and returns its output
/// whatever its exit status; killed and failed after [`DEFAULT_COMMAND_TIMEOUT`].
pub fn python_inline_output<I, S>(code: &str, args: I) -> CommandOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_command(
        &mut python_inline_command(code, args),
        DEFAULT_COMMAND_TIMEOUT,
    )
}

/// Runs `code` with the venv's Python (see [`python_inline_command`]), panics (showing its
/// output) unless it exits with 0, and returns its stdout.
pub fn python_inline<I, S>(code: &str, args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    python_inline_output(code, args).expect_success("python -c")
}

/// Runs a Python script with the venv's Python (see [`python_command`]) and returns its output
/// whatever its exit status; killed and failed after [`DEFAULT_COMMAND_TIMEOUT`].
pub fn python_output<I, S>(script: impl AsRef<Path>, args: I) -> CommandOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_command(&mut python_command(script, args), DEFAULT_COMMAND_TIMEOUT)
}

/// Runs a Python script with the venv's Python (see [`python_command`]), panics (showing its
/// output) unless it exits with 0, and returns its stdout.
pub fn python<I, S>(script: impl AsRef<Path>, args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let script = script.as_ref().to_path_buf();
    python_output(&script, args).expect_success(&format!("python {}", script.display()))
}

/// Runs kcat (with the newer librdkafka), panics unless it exits with 0, returns its stdout.
pub fn kcat<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(Tool::Kcat.require());
    cmd.args(args);
    run_command(&mut cmd, DEFAULT_COMMAND_TIMEOUT).expect_success("kcat")
}

/// Where broker logs go: `$TMPDIR/kafka-tests/`. A guard keeps its log only when the test that
/// owned it panicked.
pub(crate) fn log_dir() -> io::Result<PathBuf> {
    let dir = env::temp_dir().join("kafka-tests");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
