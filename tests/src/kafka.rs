//! Apache Kafka KRaft clusters that the tests start themselves: [`KafkaCluster`].
//!
//! Each node is a combined broker and controller (`process.roles=broker,controller`), one JVM
//! running `kafka.Kafka server.properties` from the jars `scripts/setup-test-env.sh` put in
//! `.tools/kafka/<version>`, after `StorageTool format`. Every node listens on free loopback
//! ports with four client listeners ([`Listener`]):
//!
//! | listener         | security                                                           |
//! |------------------|--------------------------------------------------------------------|
//! | `PLAINTEXT`      | none; also the inter-broker listener                               |
//! | `SSL`            | TLS, client certificate required (mTLS)                            |
//! | `SASL_PLAINTEXT` | SASL: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (unsecured)  |
//! | `SASL_SSL`       | the same SASL mechanisms over TLS, no client certificate           |
//!
//! The TLS listeners advertise `localhost` (the only name in the server certificate, see
//! [`TlsFiles`]), the others `127.0.0.1`. PLAIN users are the PlainLoginModule's
//! `user_NAME="password"` options, SCRAM users are written into the metadata log at format time
//! (`--add-scram`, KIP-900), and OAUTHBEARER takes Kafka's unsecured JWS tokens (its default
//! validator, for development only).
//!
//! Topics are not created on demand (`auto.create.topics.enable=false`, unless configured):
//! tests create them with [`KafkaCluster::create_topic`], which waits until every running node
//! knows every partition's leader. [`KafkaCluster::describe_topic`] reads leaders, replicas and
//! ISR with our own Metadata request (kafka-proto), so no Python is needed for administration.
//!
//! Node control for failover tests, by node id (1..=N): [`KafkaCluster::kill_node`] (SIGKILL),
//! [`pause_node`](KafkaCluster::pause_node) / [`resume_node`](KafkaCluster::resume_node)
//! (SIGSTOP / SIGCONT), [`shut_down_node`](KafkaCluster::shut_down_node) (SIGTERM: a controlled
//! shutdown) and [`restart_node`](KafkaCluster::restart_node) (same data directory and ports),
//! with waits for a node to be back ([`wait_for_node`](KafkaCluster::wait_for_node)) and back
//! in a partition's ISR ([`wait_in_isr`](KafkaCluster::wait_in_isr)).
//!
//! Lifetime: a cluster's files live in one directory under `$TMPDIR/kafka-tests/`, removed on
//! drop unless the thread is panicking (then the path is printed). Every JVM has a watchdog (a
//! `sh` reading a pipe from this process) that kills it with SIGKILL as soon as the test
//! process is gone, however it ended, so no JVM outlives the tests. [`KafkaCluster::shared`]
//! starts one cluster per test binary lazily and never drops it: its watchdogs kill its nodes
//! when the process exits and remove its directory, unless a test panicked (a panic hook marks
//! it to be kept, and says where).

use std::collections::hash_map::RandomState;
use std::fmt;
use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_proto::ErrorCode;
use kafka_proto::Request;
use kafka_proto::frame::{decode_response_prefix, encode_request};
use kafka_proto::header::RequestHeader;
use kafka_proto::messages::create_topics::{
    CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use kafka_proto::messages::find_coordinator::FindCoordinatorRequest;
use kafka_proto::messages::list_offsets::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use kafka_proto::messages::metadata::{MetadataRequest, MetadataRequestTopic, MetadataResponse};

use crate::tansu::api_versions_probe;
use crate::tools::{log_dir, tools_dir};

/// The maximum heap of each node's JVM unless configured ([`ClusterConfig::heap_mb`]).
pub const DEFAULT_HEAP_MB: u32 = 384;

/// How long starting (or restarting) a node may take until it serves clients.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a controlled shutdown ([`KafkaCluster::shut_down_node`]) may take before the node
/// is killed and the call panics.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(90);

/// How long one admin request (Metadata, CreateTopics) may wait for its answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The JVM options that make a node light: the serial collector (one GC thread), the client
/// compiler only (starts a node in ~3 s here against ~4.3 s with C2; the broker's work in tests
/// is small), and no hsperfdata file in the system temp directory.
pub const JVM_OPTIONS: [&str; 5] = [
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
];

/// A client listener every node has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Listener {
    /// No security. Also the inter-broker listener.
    Plaintext,
    /// TLS; the broker requires a client certificate signed by the cluster's CA.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS; no client certificate required.
    SaslSsl,
}

impl Listener {
    /// Every client listener.
    pub const ALL: [Listener; 4] = [
        Listener::Plaintext,
        Listener::Ssl,
        Listener::SaslPlaintext,
        Listener::SaslSsl,
    ];

    /// The listener's name in the broker's configuration, which is also its
    /// `security.protocol`: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub fn name(self) -> &'static str {
        match self {
            Listener::Plaintext => "PLAINTEXT",
            Listener::Ssl => "SSL",
            Listener::SaslPlaintext => "SASL_PLAINTEXT",
            Listener::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether the listener speaks TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, Listener::Ssl | Listener::SaslSsl)
    }

    /// Whether the listener requires SASL authentication.
    pub fn is_sasl(self) -> bool {
        matches!(self, Listener::SaslPlaintext | Listener::SaslSsl)
    }

    /// The host the listener is advertised (and reached) as: `localhost` for TLS, the name in
    /// the server certificate; `127.0.0.1` otherwise.
    pub fn host(self) -> &'static str {
        if self.is_tls() {
            "localhost"
        } else {
            "127.0.0.1"
        }
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The SASL mechanisms every SASL listener enables.
pub const SASL_MECHANISMS: [&str; 4] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

/// A SCRAM mechanism.
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
}

impl fmt::Display for ScramMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The SCRAM iteration count [`ScramUser::new`] stores: Kafka's minimum, which keeps the
/// PBKDF2 runs of client and broker cheap.
pub const DEFAULT_SCRAM_ITERATIONS: u32 = 4096;

/// A SCRAM credential the cluster stores at format time. `Debug` leaves the password out.
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
    /// A credential with [`DEFAULT_SCRAM_ITERATIONS`].
    pub fn new(mechanism: ScramMechanism, name: &str, password: &str) -> ScramUser {
        ScramUser {
            mechanism,
            name: name.to_owned(),
            password: password.to_owned(),
            iterations: DEFAULT_SCRAM_ITERATIONS,
        }
    }

    /// StorageTool's `--add-scram` argument for this credential.
    fn format_argument(&self) -> String {
        format!(
            "{}=[name={},password={},iterations={}]",
            self.mechanism.name(),
            self.name,
            self.password,
            self.iterations
        )
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

/// What to start: node count, Kafka version, users and broker settings.
#[derive(Clone)]
pub struct ClusterConfig {
    nodes: usize,
    version: String,
    heap_mb: u32,
    broker_configs: Vec<(String, String)>,
    jvm_properties: Vec<(String, String)>,
    plain_users: Vec<(String, String)>,
    scram_users: Vec<ScramUser>,
    racks: bool,
}

impl fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain: Vec<&str> = self.plain_users.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("ClusterConfig")
            .field("nodes", &self.nodes)
            .field("version", &self.version)
            .field("heap_mb", &self.heap_mb)
            .field("broker_configs", &self.broker_configs)
            .field("jvm_properties", &self.jvm_properties)
            .field("plain_users", &plain)
            .field("scram_users", &self.scram_users)
            .field("racks", &self.racks)
            .finish()
    }
}

impl ClusterConfig {
    /// A cluster of `nodes` combined broker+controller nodes on the reference version
    /// (`.tools/kafka/current`), [`DEFAULT_HEAP_MB`] each, no users.
    ///
    /// Replication follows the size: new topics and the internal topics get replication factor
    /// `nodes`, and `min.insync.replicas` is 2 from 3 nodes on (1 below).
    pub fn new(nodes: usize) -> ClusterConfig {
        assert!(nodes >= 1, "a cluster has at least one node");
        ClusterConfig {
            nodes,
            version: "current".to_owned(),
            heap_mb: DEFAULT_HEAP_MB,
            jvm_properties: Vec::new(),
            broker_configs: Vec::new(),
            plain_users: Vec::new(),
            scram_users: Vec::new(),
            racks: false,
        }
    }

    /// One node: quick scenarios.
    pub fn single_node() -> ClusterConfig {
        ClusterConfig::new(1)
    }

    /// Three nodes, replication factor 3, `min.insync.replicas=2`: replication and failover.
    /// Each node in a rack of its own ([`racks`](Self::racks)), so rack-aware partitioning
    /// can be tested on it.
    pub fn three_nodes() -> ClusterConfig {
        ClusterConfig::new(3).racks()
    }

    /// Each node in a rack of its own: `broker.rack=rack-ID` (node `ID`), as Metadata then
    /// reports it.
    pub fn racks(mut self) -> ClusterConfig {
        self.racks = true;
        self
    }

    /// The rack of node `id` when [`racks`](Self::racks) is set.
    pub fn rack_of(id: i32) -> String {
        format!("rack-{id}")
    }

    /// The Kafka version: a directory name under `.tools/kafka/` (`4.4.0`, `4.0.0`, `3.9.1`,
    /// or `current`, the default).
    pub fn version(mut self, version: &str) -> ClusterConfig {
        self.version = version.to_owned();
        self
    }

    /// Each JVM's maximum heap in MiB.
    pub fn heap_mb(mut self, mb: u32) -> ClusterConfig {
        self.heap_mb = mb;
        self
    }

    /// A line of `server.properties` on every node, after (so overriding) the harness's own.
    pub fn broker_config(mut self, key: &str, value: &str) -> ClusterConfig {
        self.broker_configs.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A Java system property of every node (`-Dkey=value`), e.g. Kafka 4's
    /// `org.apache.kafka.sasl.oauthbearer.allowed.urls`.
    pub fn jvm_property(mut self, key: &str, value: &str) -> ClusterConfig {
        self.jvm_properties.push((key.to_owned(), value.to_owned()));
        self
    }

    /// OAUTHBEARER on the SASL_PLAINTEXT listener validated as production brokers do:
    /// Kafka's `OAuthBearerValidatorCallbackHandler` against the JWKS at `jwks_url` (allowed
    /// by Kafka 4's `org.apache.kafka.sasl.oauthbearer.allowed.urls`), for tokens with
    /// audience `kafka` and issuer `test-idp`, as [`OidcIdp`](crate::oidc::OidcIdp) makes them.
    pub fn oauthbearer_jwks(self, jwks_url: &str) -> ClusterConfig {
        self.jvm_property("org.apache.kafka.sasl.oauthbearer.allowed.urls", jwks_url)
            .broker_config(
                "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler",
            )
            .broker_config("sasl.oauthbearer.jwks.endpoint.url", jwks_url)
            .broker_config("sasl.oauthbearer.expected.audience", "kafka")
            .broker_config("sasl.oauthbearer.expected.issuer", "test-idp")
    }

    /// A SASL/PLAIN user on both SASL listeners.
    pub fn plain_user(mut self, name: &str, password: &str) -> ClusterConfig {
        self.plain_users
            .push((name.to_owned(), password.to_owned()));
        self
    }

    /// A SCRAM credential, stored at format time.
    pub fn scram_user(mut self, user: ScramUser) -> ClusterConfig {
        self.scram_users.push(user);
        self
    }

    /// The node count.
    pub fn node_count(&self) -> usize {
        self.nodes
    }

    /// The version directory name.
    pub fn version_name(&self) -> &str {
        &self.version
    }

    fn min_insync_replicas(&self) -> usize {
        self.nodes.min(2)
    }
}

/// A record batch in a partition's log, as `DumpLogSegments` prints it ([`KafkaCluster::log_batches`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBatch {
    /// The offset of its first record.
    pub base_offset: i64,
    /// How many records it holds.
    pub count: i64,
    /// The producer id, or -1.
    pub producer_id: i64,
    /// The producer epoch, or -1.
    pub producer_epoch: i16,
    /// Whether it belongs to a transaction.
    pub transactional: bool,
    /// Whether it is a control batch (a transaction marker).
    pub control: bool,
}

/// A partition as the cluster's metadata describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    /// The partition index.
    pub partition: i32,
    /// The leader's node id, or -1 when the partition has none.
    pub leader: i32,
    /// The leader epoch.
    pub leader_epoch: i32,
    /// Every replica's node id, the preferred leader first.
    pub replicas: Vec<i32>,
    /// The in-sync replicas.
    pub isr: Vec<i32>,
    /// Replicas on nodes that are not serving.
    pub offline_replicas: Vec<i32>,
    /// The partition's error in the Metadata answer (e.g. LEADER_NOT_AVAILABLE), or 0.
    pub error_code: i16,
}

/// A topic to create with [`KafkaCluster::create_topic_with`].
#[derive(Clone, Debug)]
pub struct NewTopic {
    /// The topic name.
    pub name: String,
    /// The partition count.
    pub partitions: i32,
    /// The replication factor; -1 for the cluster's default (its node count).
    pub replication_factor: i16,
    /// Topic configurations (`min.insync.replicas`, `retention.ms`, ...).
    pub configs: Vec<(String, String)>,
    /// Whether [`KafkaCluster::create_topic_with`] waits until every partition's leader takes
    /// writes (the default) or returns as soon as the metadata names the leaders.
    pub wait_until_writable: bool,
}

impl NewTopic {
    /// `name` with `partitions` partitions and the cluster's default replication factor.
    pub fn new(name: &str, partitions: i32) -> NewTopic {
        NewTopic {
            name: name.to_owned(),
            partitions,
            replication_factor: -1,
            configs: Vec::new(),
            wait_until_writable: true,
        }
    }

    /// Returns from creation once the metadata names every leader, without waiting until the
    /// leaders take writes: what a client that creates a topic and produces at once meets.
    pub fn without_waiting_until_writable(mut self) -> NewTopic {
        self.wait_until_writable = false;
        self
    }

    /// The replication factor.
    pub fn replication_factor(mut self, replication_factor: i16) -> NewTopic {
        self.replication_factor = replication_factor;
        self
    }

    /// A topic configuration.
    pub fn config(mut self, key: &str, value: &str) -> NewTopic {
        self.configs.push((key.to_owned(), value.to_owned()));
        self
    }
}

/// The certificates of a cluster, made with the openssl CLI (EC P-256, valid two days): a CA
/// that signed the brokers' certificate (for `localhost` only: a DNS name, no IP address) and a
/// client certificate, and a second CA that signed nothing of the cluster's.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    dir: PathBuf,
}

impl TlsFiles {
    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate that signed the broker and client certificates (PEM).
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// An unrelated CA's certificate (PEM): trusting only it must fail.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }

    /// The client certificate (PEM, `CN=kafka-tests-client`, clientAuth).
    pub fn client_certificate(&self) -> PathBuf {
        self.dir.join("client.pem")
    }

    /// The client certificate's private key (PKCS#8 PEM, unencrypted).
    pub fn client_key(&self) -> PathBuf {
        self.dir.join("client.key")
    }

    /// The client certificate and its key in one PEM file (`ssl.keystore.type=PEM`).
    pub fn client_keystore(&self) -> PathBuf {
        self.dir.join("client-keystore.pem")
    }

    /// The brokers' private key and certificate in one PEM file: Kafka's PEM keystore.
    pub fn server_keystore(&self) -> PathBuf {
        self.dir.join("server-keystore.pem")
    }

    fn make(dir: &Path) -> io::Result<TlsFiles> {
        fs::create_dir_all(dir)?;
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        for ca in ["ca", "other-ca"] {
            let (key, pem, subj) = (
                format!("{ca}.key"),
                format!("{ca}.pem"),
                format!("/CN=kafka-tests-{ca}"),
            );
            let mut args = vec!["req", "-x509"];
            args.extend(ec);
            args.extend(["-keyout", &key, "-out", &pem, "-days", "2", "-subj", &subj]);
            openssl(dir, &args)?;
        }
        for (name, cn, ext) in [
            (
                "server",
                "localhost",
                "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
            ),
            (
                "client",
                "kafka-tests-client",
                "extendedKeyUsage=clientAuth\n",
            ),
        ] {
            let (key, csr, pem, extfile) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.pem"),
                format!("{name}.ext"),
            );
            fs::write(
                dir.join(&extfile),
                format!("basicConstraints=CA:FALSE\n{ext}"),
            )?;
            let subj = format!("/CN={cn}");
            let mut args = vec!["req"];
            args.extend(ec);
            args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
            openssl(dir, &args)?;
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    &pem,
                    "-days",
                    "2",
                    "-extfile",
                    &extfile,
                ],
            )?;
        }
        let mut keystore = fs::read(dir.join("server.key"))?;
        keystore.extend(fs::read(dir.join("server.pem"))?);
        fs::write(dir.join("server-keystore.pem"), keystore)?;
        let mut keystore = fs::read(dir.join("client.pem"))?;
        keystore.extend(fs::read(dir.join("client.key"))?);
        fs::write(dir.join("client-keystore.pem"), keystore)?;
        Ok(TlsFiles {
            dir: dir.to_path_buf(),
        })
    }
}

fn openssl(dir: &Path, args: &[&str]) -> io::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// The ports of one node.
#[derive(Clone, Copy, Debug)]
struct Ports {
    plaintext: u16,
    ssl: u16,
    sasl_plaintext: u16,
    sasl_ssl: u16,
    controller: u16,
}

impl Ports {
    fn of(&self, listener: Listener) -> u16 {
        match listener {
            Listener::Plaintext => self.plaintext,
            Listener::Ssl => self.ssl,
            Listener::SaslPlaintext => self.sasl_plaintext,
            Listener::SaslSsl => self.sasl_ssl,
        }
    }
}

/// `n` distinct free loopback ports: all bound at once (so none repeats), then released.
/// Another process may take one before the broker binds it; [`KafkaCluster::start`] retries.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local_addr").port())
        .collect()
}

/// What a node's process is doing, as far as the harness made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Running (or starting).
    Running,
    /// Stopped with SIGSTOP: alive, holding its connections, answering nothing.
    Paused,
    /// Not running: killed or shut down; [`KafkaCluster::restart_node`] brings it back.
    Down,
}

#[derive(Debug)]
struct Node {
    id: i32,
    dir: PathBuf,
    ports: Ports,
    child: Option<Child>,
    watchdog: Option<Child>,
    state: NodeState,
    starts: u32,
}

impl Node {
    fn config_path(&self) -> PathBuf {
        self.dir.join("server.properties")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    fn log(&self) -> String {
        fs::read(self.log_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| format!("(cannot read {}: {e})", self.log_path().display()))
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the JVM (the data directory must be formatted) and its watchdog.
    fn spawn(&mut self, java: &Path, libs: &Path, cluster_dir: &Path, config: &ClusterConfig) {
        let heap_mb = config.heap_mb;
        assert!(self.child.is_none(), "node {} is already running", self.id);
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap_or_else(|e| panic!("open {}: {e}", self.log_path().display()));
        self.starts += 1;
        let _ = writeln!(
            &log,
            "----- kafka-tests: start #{} of node {} -----",
            self.starts, self.id
        );
        let child = Command::new(java)
            .arg(format!("-Xmx{heap_mb}m"))
            .arg(format!("-Xms{}m", heap_mb.min(64)))
            .args(JVM_OPTIONS)
            .arg(format!("-Djava.io.tmpdir={}", self.dir.display()))
            .args(
                config
                    .jvm_properties
                    .iter()
                    .map(|(k, v)| format!("-D{k}={v}")),
            )
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                cluster_dir.join("log4j2.properties").display()
            ))
            .arg(format!(
                "-Dlog4j.configuration=file:{}",
                cluster_dir.join("log4j.properties").display()
            ))
            .arg("-cp")
            .arg(libs.join("*"))
            .arg("kafka.Kafka")
            .arg(self.config_path())
            .env_remove("KAFKA_OPTS")
            .env_remove("JAVA_TOOL_OPTIONS")
            .env_remove("_JAVA_OPTIONS")
            .env_remove("CLASSPATH")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", java.display()));
        self.watchdog = spawn_watchdog(&format!("kill -9 {}", child.id()));
        self.child = Some(child);
        self.state = NodeState::Running;
    }

    /// Whether the process has exited (a zombie counts, it is not reaped here).
    fn has_exited(&self) -> bool {
        let Some(pid) = self.pid() else { return true };
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => matches!(process_state(&stat), Some('Z') | Some('X')),
            Err(_) => true,
        }
    }

    /// Reaps an exited process; first stops the watchdog, which must never `kill` a pid that
    /// may be reused once the node is reaped.
    fn reap(&mut self) -> Option<ExitStatus> {
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        let status = self.child.take().and_then(|mut c| {
            let _ = c.kill();
            c.wait().ok()
        });
        self.state = NodeState::Down;
        status
    }

    fn kill(&mut self) {
        if self.child.is_some() {
            if self.state == NodeState::Paused {
                // SIGKILL ends a stopped process too; CONT only keeps `wait` quick.
                let _ = signal(self.pid().expect("running"), "-CONT");
            }
            self.reap();
        }
    }
}

/// The state letter of `/proc/<pid>/stat` (after the command name, which may hold spaces).
fn process_state(stat: &str) -> Option<char> {
    stat.rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.chars().next())
}

/// Sends a signal with the `kill` command (the workspace forbids `unsafe`, so no libc).
fn signal(pid: u32, signal: &str) -> io::Result<()> {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .stdin(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("kill {signal} {pid}: {status}")))
    }
}

/// A `sh` that runs `action` when its stdin, a pipe from this process, closes: when the test
/// process ends however it does (even SIGKILL, where no destructor runs). Best effort: without
/// `sh` nodes are still stopped on drop.
fn spawn_watchdog(action: &str) -> Option<Child> {
    Command::new("sh")
        .args(["-c", &format!("cat >/dev/null; {action}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// A cluster id: 16 random bytes, URL-safe base64 without padding (22 characters), as
/// `kafka-storage random-uuid` prints, never starting with `-`.
fn random_cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = Vec::with_capacity(16);
    for _ in 0..2 {
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        bytes.extend(h.finish().to_be_bytes());
    }
    // A leading '-' would read as an option to StorageTool's argument parser (3.9 does): the
    // first character comes from the top six bits, so keep it a letter.
    bytes[0] &= 0x7f;
    let mut out = String::with_capacity(22);
    let mut bits = 0u32;
    let mut n = 0;
    for b in bytes {
        bits = (bits << 8) | u32::from(b);
        n += 8;
        while n >= 6 {
            n -= 6;
            out.push(ALPHABET[((bits >> n) & 63) as usize] as char);
        }
    }
    out.push(ALPHABET[((bits << (6 - n)) & 63) as usize] as char);
    out
}

/// The jars of Kafka `version` (a directory name under `.tools/kafka/`).
pub fn kafka_libs(version: &str) -> PathBuf {
    tools_dir().join("kafka").join(version)
}

/// The Java launcher: `$KAFKA_TESTS_JAVA`, else `$JAVA_HOME/bin/java`, else `java` on PATH.
pub fn java() -> PathBuf {
    if let Some(java) = std::env::var_os("KAFKA_TESTS_JAVA") {
        return PathBuf::from(java);
    }
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        let java = PathBuf::from(home).join("bin").join("java");
        if java.is_file() {
            return java;
        }
    }
    PathBuf::from("java")
}

/// Whether Kafka `version`'s jars are installed and a Java launcher runs.
pub fn kafka_installed(version: &str) -> bool {
    static JAVA_RUNS: OnceLock<bool> = OnceLock::new();
    let jars = fs::read_dir(kafka_libs(version)).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("kafka_2.13-") && name.ends_with(".jar")
        })
    });
    jars && *JAVA_RUNS.get_or_init(|| {
        Command::new(java())
            .arg("-version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// log4j2 (Kafka 4.x): warnings and errors, plus the line saying the server started.
const LOG4J2_PROPERTIES: &str = "\
status = error
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
";

/// log4j 1 (reload4j, Kafka 3.x): the same.
const LOG4J_PROPERTIES: &str = "\
log4j.rootLogger=WARN, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
";

/// A running Apache Kafka KRaft cluster on loopback. See the [module documentation](self).
pub struct KafkaCluster {
    config: ClusterConfig,
    java: PathBuf,
    libs: PathBuf,
    dir: PathBuf,
    cluster_id: String,
    tls: TlsFiles,
    nodes: Vec<Mutex<Node>>,
    cleanup: Mutex<Option<Child>>,
    correlation: AtomicUsize,
}

impl fmt::Debug for KafkaCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaCluster")
            .field("config", &self.config)
            .field("dir", &self.dir)
            .field("cluster_id", &self.cluster_id)
            .field("bootstrap", &self.bootstrap(Listener::Plaintext))
            .finish()
    }
}

impl KafkaCluster {
    /// Starts a cluster and waits until every node serves clients and sees every other.
    /// Panics, with the nodes' logs, if that fails (after retrying on a port race). Use
    /// [`require_tools!`](crate::require_tools)`(Tool::Kafka)` first to skip when Kafka is
    /// missing outside CI.
    pub fn start(config: ClusterConfig) -> KafkaCluster {
        let libs = kafka_libs(&config.version);
        assert!(
            kafka_installed(&config.version),
            "Apache Kafka {} is not installed at {} (or `java -version` fails): run `{}`",
            config.version,
            libs.display(),
            crate::tools::SETUP_SCRIPT
        );
        let mut last = String::new();
        for attempt in 0..3 {
            match KafkaCluster::try_start(config.clone(), &libs) {
                Ok(cluster) => return cluster,
                Err(Failure::PortTaken(why)) => {
                    eprintln!("kafka-tests: a port was taken, starting again ({attempt}): {why}");
                    last = why;
                }
                Err(Failure::Other(why)) => panic!("{why}"),
            }
        }
        panic!("Kafka did not start after 3 attempts: {last}");
    }

    fn try_start(config: ClusterConfig, libs: &Path) -> Result<KafkaCluster, Failure> {
        static INSTANCE: AtomicUsize = AtomicUsize::new(0);
        let dir = log_dir().expect("create the test directory").join(format!(
            "kafka-{}-{}",
            std::process::id(),
            INSTANCE.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        // Removes the directory when this process is gone, unless a panic marked it kept (the
        // nodes' own watchdogs kill them at the same moment; `rm` retries while they die).
        let cleanup = spawn_watchdog(&format!(
            "d='{}'; sleep 1; [ -e \"$d/KEEP\" ] || {{ rm -rf \"$d\"; sleep 1; rm -rf \"$d\"; }}",
            dir.display()
        ));
        let tls = TlsFiles::make(&dir.join("tls"))
            .unwrap_or_else(|e| panic!("make the cluster's certificates: {e}"));
        fs::write(dir.join("log4j2.properties"), LOG4J2_PROPERTIES).expect("write log4j2 config");
        fs::write(dir.join("log4j.properties"), LOG4J_PROPERTIES).expect("write log4j config");
        let ports = free_ports(5 * config.nodes);
        let nodes: Vec<Node> = (0..config.nodes)
            .map(|i| Node {
                id: i as i32 + 1,
                dir: dir.join(format!("node-{}", i + 1)),
                ports: Ports {
                    plaintext: ports[5 * i],
                    ssl: ports[5 * i + 1],
                    sasl_plaintext: ports[5 * i + 2],
                    sasl_ssl: ports[5 * i + 3],
                    controller: ports[5 * i + 4],
                },
                child: None,
                watchdog: None,
                state: NodeState::Down,
                starts: 0,
            })
            .collect();
        let cluster = KafkaCluster {
            java: java(),
            libs: libs.to_path_buf(),
            dir,
            cluster_id: random_cluster_id(),
            tls,
            nodes: nodes.into_iter().map(Mutex::new).collect(),
            cleanup: Mutex::new(cleanup),
            correlation: AtomicUsize::new(1),
            config,
        };
        let started = Instant::now();
        cluster.format()?;
        let formatted = started.elapsed();
        for node in &cluster.nodes {
            let mut node = node.lock().unwrap();
            node.spawn(&cluster.java, libs, &cluster.dir, &cluster.config);
        }
        for id in cluster.node_ids() {
            cluster.wait_serving(id, started + STARTUP_TIMEOUT)?;
        }
        let all = cluster.node_ids();
        cluster
            .wait_brokers(&all, started + STARTUP_TIMEOUT)
            .map_err(Failure::Other)?;
        eprintln!(
            "kafka-tests: Apache Kafka {} ({} node{}) up in {:.1?} (format {:.1?}) in {}",
            cluster.config.version,
            cluster.config.nodes,
            if cluster.config.nodes == 1 { "" } else { "s" },
            started.elapsed(),
            formatted,
            cluster.dir.display()
        );
        Ok(cluster)
    }

    /// Writes every node's `server.properties` and formats its log directory, all nodes at
    /// once.
    fn format(&self) -> Result<(), Failure> {
        let mut formats = Vec::new();
        for node in &self.nodes {
            let node = node.lock().unwrap();
            fs::create_dir_all(node.dir.join("data")).expect("create the node's data directory");
            fs::write(node.config_path(), self.server_properties(&node))
                .expect("write server.properties");
            let mut cmd = self.tool_command("kafka.tools.StorageTool");
            cmd.args(["format", "-t", &self.cluster_id])
                .arg("-c")
                .arg(node.config_path());
            for user in &self.config.scram_users {
                cmd.args(["--add-scram", &user.format_argument()]);
            }
            let out = File::create(node.dir.join("format.log")).expect("create format.log");
            cmd.current_dir(&node.dir)
                .stdout(out.try_clone().expect("clone log handle"))
                .stderr(out);
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.java.display()));
            formats.push((node.id, node.dir.join("format.log"), child));
        }
        let mut failures = Vec::new();
        for (id, log, mut child) in formats {
            let status = child.wait().expect("wait for StorageTool");
            if !status.success() {
                failures.push(format!(
                    "StorageTool format of node {id} failed with {status}:\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                ));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Failure::Other(failures.join("\n")))
        }
    }

    fn server_properties(&self, node: &Node) -> String {
        let n = self.config.nodes;
        let voters: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, other)| {
                // `node` is locked by the caller: read its ports from it, not its mutex.
                let port = if i as i32 + 1 == node.id {
                    node.ports.controller
                } else {
                    other.lock().unwrap().ports.controller
                };
                format!("{}@127.0.0.1:{port}", i + 1)
            })
            .collect();
        let p = node.ports;
        let mut lines = vec![
            "process.roles=broker,controller".to_owned(),
            format!("node.id={}", node.id),
            format!("controller.quorum.voters={}", voters.join(",")),
            "controller.listener.names=CONTROLLER".to_owned(),
            format!(
                "listeners=PLAINTEXT://127.0.0.1:{},SSL://127.0.0.1:{},SASL_PLAINTEXT://127.0.0.1:{},\
                 SASL_SSL://127.0.0.1:{},CONTROLLER://127.0.0.1:{}",
                p.plaintext, p.ssl, p.sasl_plaintext, p.sasl_ssl, p.controller
            ),
            format!(
                "advertised.listeners=PLAINTEXT://127.0.0.1:{},SSL://localhost:{},\
                 SASL_PLAINTEXT://127.0.0.1:{},SASL_SSL://localhost:{}",
                p.plaintext, p.ssl, p.sasl_plaintext, p.sasl_ssl
            ),
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,\
             SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
                .to_owned(),
            "inter.broker.listener.name=PLAINTEXT".to_owned(),
            format!("log.dirs={}", node.dir.join("data").display()),
            // Replication follows the cluster's size.
            format!("default.replication.factor={n}"),
            format!("min.insync.replicas={}", self.config.min_insync_replicas()),
            format!("offsets.topic.replication.factor={n}"),
            format!("transaction.state.log.replication.factor={n}"),
            format!(
                "transaction.state.log.min.isr={}",
                self.config.min_insync_replicas()
            ),
            format!("share.coordinator.state.topic.replication.factor={n}"),
            format!(
                "share.coordinator.state.topic.min.isr={}",
                self.config.min_insync_replicas()
            ),
            // Small internal topics: creating 50 partitions per topic costs seconds.
            "offsets.topic.num.partitions=5".to_owned(),
            "transaction.state.log.num.partitions=5".to_owned(),
            "group.initial.rebalance.delay.ms=0".to_owned(),
            "num.partitions=1".to_owned(),
            "auto.create.topics.enable=false".to_owned(),
            // No time retention: tests send records stamped years ago (1_650_000_000_000 is April
            // 2022), and Kafka deletes a segment, the active one too, once its newest timestamp is
            // older than retention.ms (7 days by default). The check runs every 5 minutes, so a
            // read-back that came after it found the topic empty (0 of 1,000 records, twice in CI).
            "log.retention.ms=-1".to_owned(),
            // Fewer threads per JVM: the machine has two cores for everything.
            "num.network.threads=2".to_owned(),
            "num.io.threads=4".to_owned(),
            "background.threads=2".to_owned(),
            "num.recovery.threads.per.data.dir=1".to_owned(),
            "log.cleaner.threads=1".to_owned(),
            "log.cleaner.dedupe.buffer.size=4194304".to_owned(),
            // TLS: Kafka's own, PEM stores; mTLS on SSL, server-only TLS on SASL_SSL.
            "ssl.keystore.type=PEM".to_owned(),
            format!(
                "ssl.keystore.location={}",
                self.tls.server_keystore().display()
            ),
            "ssl.truststore.type=PEM".to_owned(),
            format!("ssl.truststore.location={}", self.tls.ca().display()),
            "listener.name.ssl.ssl.client.auth=required".to_owned(),
            "listener.name.sasl_ssl.ssl.client.auth=none".to_owned(),
            format!("sasl.enabled.mechanisms={}", SASL_MECHANISMS.join(",")),
        ];
        let plain_users: String = self
            .config
            .plain_users
            .iter()
            .map(|(name, password)| format!(" user_{name}=\"{password}\""))
            .collect();
        for listener in ["sasl_plaintext", "sasl_ssl"] {
            lines.push(format!(
                "listener.name.{listener}.plain.sasl.jaas.config=\
                 org.apache.kafka.common.security.plain.PlainLoginModule required{plain_users};"
            ));
            for mechanism in ["scram-sha-256", "scram-sha-512"] {
                lines.push(format!(
                    "listener.name.{listener}.{mechanism}.sasl.jaas.config=\
                     org.apache.kafka.common.security.scram.ScramLoginModule required;"
                ));
            }
            // No callback handler: Kafka's default validator of unsecured JWS tokens.
            lines.push(format!(
                "listener.name.{listener}.oauthbearer.sasl.jaas.config=\
                 org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"
            ));
        }
        if self.config.racks {
            lines.push(format!("broker.rack={}", ClusterConfig::rack_of(node.id)));
        }
        for (key, value) in &self.config.broker_configs {
            lines.push(format!("{key}={value}"));
        }
        lines.push(String::new());
        lines.join("\n")
    }

    /// Waits until node `id` answers ApiVersions on its PLAINTEXT listener.
    fn wait_serving(&self, id: i32, deadline: Instant) -> Result<(), Failure> {
        let addr = self.node_addr(id, Listener::Plaintext);
        loop {
            let exited = self.node(id).has_exited();
            if exited {
                let log = self.node(id).log();
                let why = format!(
                    "Kafka node {id} exited while starting; its log ({}):\n{log}",
                    self.node(id).log_path().display()
                );
                if log.contains("Address already in use") {
                    return Err(Failure::PortTaken(why));
                }
                return Err(Failure::Other(why));
            }
            let last = match api_versions_probe(addr) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() > deadline {
                return Err(Failure::Other(format!(
                    "Kafka node {id} did not answer ApiVersions on {addr} in time (last: {last}); \
                     its log ({}):\n{}",
                    self.node(id).log_path().display(),
                    self.node(id).log()
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the Metadata of a running node lists every broker of `ids` (registered
    /// and unfenced).
    fn wait_brokers(&self, ids: &[i32], deadline: Instant) -> Result<(), String> {
        loop {
            let last = match self.metadata(&[]) {
                Ok(md) => {
                    let listed: Vec<i32> = md.brokers.iter().map(|b| b.node_id).collect();
                    if ids.iter().all(|id| listed.contains(id)) {
                        return Ok(());
                    }
                    format!("brokers listed: {listed:?}")
                }
                Err(e) => e,
            };
            if Instant::now() > deadline {
                return Err(format!(
                    "brokers {ids:?} not all in the cluster's metadata in time ({last}); logs in {}",
                    self.dir.display()
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The cluster started once per test binary for `config`'s node count and version (the
    /// first caller's `config` starts it; later callers with the same count and version share
    /// it, whatever else their config says, so give every caller in a binary the same users).
    /// Never dropped: the nodes are killed and the directory removed when the process exits,
    /// unless a test panicked (then the directory is kept and its path printed).
    ///
    /// The guard gives shared use: tests holding one run at the same time, so they use topics
    /// of their own and leave the nodes alone. A test that stops, kills or restarts a node
    /// takes [`shared_exclusive`](Self::shared_exclusive) instead. Hold one guard per test.
    pub fn shared(config: ClusterConfig) -> SharedCluster {
        let entry = shared_entry(&config);
        let guard = SharedGuard::Shared {
            _held: entry.users.read().unwrap_or_else(|e| e.into_inner()),
        };
        SharedCluster {
            cluster: entry.get_or_start(config),
            guard,
        }
    }

    /// [`shared`](Self::shared), but alone: waits until no other test holds the cluster and
    /// keeps the others out until the guard is dropped. The holder may pause, kill, shut down
    /// and restart nodes; dropping the guard resumes paused nodes and restarts stopped ones,
    /// so the next test finds every node running.
    pub fn shared_exclusive(config: ClusterConfig) -> SharedCluster {
        let entry = shared_entry(&config);
        let guard = SharedGuard::Exclusive {
            _held: entry.users.write().unwrap_or_else(|e| e.into_inner()),
        };
        SharedCluster {
            cluster: entry.get_or_start(config),
            guard,
        }
    }

    /// The one-node cluster of this test binary: [`shared`](Self::shared) with
    /// [`ClusterConfig::single_node`] (no users).
    pub fn shared_single_node() -> SharedCluster {
        KafkaCluster::shared(ClusterConfig::single_node())
    }

    /// A `java` command running `main_class` from the cluster's jars (Kafka's tools, e.g.
    /// `org.apache.kafka.tools.LeaderElectionCommand`,
    /// `org.apache.kafka.tools.reassign.ReassignPartitionsCommand`,
    /// `org.apache.kafka.tools.TopicCommand`, `org.apache.kafka.tools.consumer.ConsoleConsumer`)
    /// with a small heap and quiet logging; add the tool's arguments, e.g. `--bootstrap-server`
    /// with [`bootstrap`](Self::bootstrap)`(Listener::Plaintext)`.
    pub fn tool_command(&self, main_class: &str) -> Command {
        let mut cmd = Command::new(&self.java);
        cmd.args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .arg("-XX:-UsePerfData")
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                self.dir.join("log4j2.properties").display()
            ))
            .arg(format!(
                "-Dlog4j.configuration=file:{}",
                self.dir.join("log4j.properties").display()
            ))
            .arg("-cp")
            .arg(self.libs.join("*"))
            .arg(main_class)
            .env_remove("KAFKA_OPTS")
            .env_remove("JAVA_TOOL_OPTIONS")
            .env_remove("_JAVA_OPTIONS")
            .env_remove("CLASSPATH")
            .stdin(Stdio::null());
        cmd
    }

    /// The node ids, `1..=N`.
    pub fn node_ids(&self) -> Vec<i32> {
        (1..=self.nodes.len() as i32).collect()
    }

    /// The configuration the cluster was started with.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// The cluster id the nodes were formatted with.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// The cluster's directory (configurations, data, logs, certificates).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The certificates of the TLS listeners.
    pub fn tls(&self) -> &TlsFiles {
        &self.tls
    }

    fn node(&self, id: i32) -> MutexGuard<'_, Node> {
        let index = usize::try_from(id - 1)
            .ok()
            .filter(|i| *i < self.nodes.len())
            .unwrap_or_else(|| panic!("no node {id} in a cluster of {}", self.nodes.len()));
        self.nodes[index].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Node `id`'s address on `listener`, as advertised (`localhost:PORT` for TLS,
    /// `127.0.0.1:PORT` otherwise).
    pub fn node_address(&self, id: i32, listener: Listener) -> String {
        format!("{}:{}", listener.host(), self.node(id).ports.of(listener))
    }

    /// Node `id`'s port on `listener`.
    pub fn node_port(&self, id: i32, listener: Listener) -> u16 {
        self.node(id).ports.of(listener)
    }

    fn node_addr(&self, id: i32, listener: Listener) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.node_port(id, listener)))
    }

    /// Every node's address on `listener`, comma-separated: `bootstrap.servers`.
    pub fn bootstrap(&self, listener: Listener) -> String {
        self.node_ids()
            .into_iter()
            .map(|id| self.node_address(id, listener))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// librdkafka properties (`key=value`, as the Python read-back helpers take them) that
    /// reach `listener`: its `security.protocol`, the CA and, on SSL, the client certificate.
    /// SASL listeners need the credentials too, e.g. from [`librdkafka_sasl`].
    pub fn librdkafka_properties(&self, listener: Listener) -> Vec<String> {
        let mut props = vec![format!("security.protocol={}", listener.name())];
        if listener.is_tls() {
            props.push(format!("ssl.ca.location={}", self.tls.ca().display()));
        }
        if listener == Listener::Ssl {
            props.push(format!(
                "ssl.certificate.location={}",
                self.tls.client_certificate().display()
            ));
            props.push(format!(
                "ssl.key.location={}",
                self.tls.client_key().display()
            ));
        }
        props
    }

    /// What the harness knows of node `id`'s process.
    pub fn node_state(&self, id: i32) -> NodeState {
        self.node(id).state
    }

    /// Node `id`'s process id, while it runs (or is paused).
    pub fn node_pid(&self, id: i32) -> Option<u32> {
        self.node(id).pid()
    }

    /// The file holding node `id`'s output (warnings and errors, every start appended).
    pub fn node_log_path(&self, id: i32) -> PathBuf {
        self.node(id).log_path()
    }

    /// Node `id`'s output so far.
    pub fn node_log(&self, id: i32) -> String {
        self.node(id).log()
    }

    /// Kills node `id` with SIGKILL (no controlled shutdown: its partitions lose their leader
    /// until the controller notices, after `broker.session.timeout.ms`).
    pub fn kill_node(&self, id: i32) {
        let mut node = self.node(id);
        assert!(node.child.is_some(), "node {id} is not running");
        node.kill();
    }

    /// Stops node `id` with SIGSTOP: its connections stay open and nothing is answered.
    /// Returns once every thread of the JVM is stopped.
    pub fn pause_node(&self, id: i32) {
        let mut node = self.node(id);
        assert_eq!(node.state, NodeState::Running, "node {id}");
        let pid = node.pid().expect("running");
        signal(pid, "-STOP").expect("send SIGSTOP");
        wait_process_state(pid, true);
        node.state = NodeState::Paused;
    }

    /// Continues node `id` after [`pause_node`](Self::pause_node) with SIGCONT.
    pub fn resume_node(&self, id: i32) {
        let mut node = self.node(id);
        assert_eq!(node.state, NodeState::Paused, "node {id}");
        let pid = node.pid().expect("paused");
        signal(pid, "-CONT").expect("send SIGCONT");
        wait_process_state(pid, false);
        node.state = NodeState::Running;
    }

    /// Shuts node `id` down with SIGTERM, Kafka's controlled shutdown (its partitions'
    /// leadership moves first), and waits until the process has exited. Returns how long that
    /// took. Panics (after SIGKILL) if it takes longer than [`SHUTDOWN_TIMEOUT`].
    pub fn shut_down_node(&self, id: i32) -> Duration {
        let pid = {
            let node = self.node(id);
            assert_eq!(node.state, NodeState::Running, "node {id}");
            node.pid().expect("running")
        };
        let started = Instant::now();
        signal(pid, "-TERM").expect("send SIGTERM");
        // The node's lock is taken only for a moment at a time, so other threads can describe
        // the cluster meanwhile (leaders move during a controlled shutdown).
        while !self.node(id).has_exited() {
            if started.elapsed() > SHUTDOWN_TIMEOUT {
                let mut node = self.node(id);
                node.kill();
                panic!(
                    "node {id} did not shut down within {SHUTDOWN_TIMEOUT:?}; killed it. Log: {}",
                    node.log_path().display()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
        let status = self.node(id).reap();
        let took = started.elapsed();
        eprintln!("kafka-tests: node {id} shut down in {took:.1?} ({status:?})");
        took
    }

    /// Starts node `id` again, with its data directory and ports, after
    /// [`kill_node`](Self::kill_node) or [`shut_down_node`](Self::shut_down_node) (or after it
    /// died); returns once it serves clients and is an unfenced broker again. Its partitions
    /// need more time to catch up: see [`wait_in_isr`](Self::wait_in_isr).
    pub fn restart_node(&self, id: i32) {
        {
            let mut node = self.node(id);
            if node.child.is_some() {
                assert!(
                    node.has_exited(),
                    "node {id} is still running: kill or shut it down first"
                );
                node.reap();
            }
            node.spawn(&self.java, &self.libs, &self.dir, &self.config);
        }
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        if let Err(Failure::PortTaken(why) | Failure::Other(why)) = self.wait_serving(id, deadline)
        {
            panic!("restart of node {id}: {why}");
        }
        self.wait_for_node(id, deadline.saturating_duration_since(Instant::now()));
    }

    /// Waits until node `id` is listed as a broker in the cluster's metadata (registered and
    /// unfenced). Panics after `timeout`.
    pub fn wait_for_node(&self, id: i32, timeout: Duration) {
        if let Err(e) = self.wait_brokers(&[id], Instant::now() + timeout) {
            panic!("node {id}: {e}");
        }
    }

    /// Metadata for `topics` from the first running node that answers.
    fn metadata(&self, topics: &[&str]) -> Result<MetadataResponse, String> {
        let request = MetadataRequest {
            topics: Some(
                topics
                    .iter()
                    .map(|t| MetadataRequestTopic {
                        name: Some((*t).to_owned()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            allow_auto_topic_creation: false,
            ..Default::default()
        };
        self.on_some_node(|addr| self.call(addr, &request, 12))
    }

    /// Runs `call` against the running nodes in turn until one succeeds.
    fn on_some_node<T>(
        &self,
        mut call: impl FnMut(SocketAddr) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut errors = Vec::new();
        for id in self.node_ids() {
            if self.node_state(id) != NodeState::Running {
                continue;
            }
            match call(self.node_addr(id, Listener::Plaintext)) {
                Ok(t) => return Ok(t),
                Err(e) => errors.push(format!("node {id}: {e}")),
            }
        }
        if errors.is_empty() {
            errors.push("no node is running".to_owned());
        }
        Err(errors.join("; "))
    }

    /// One request on a fresh connection to `addr`'s PLAINTEXT listener.
    fn call<R: Request>(
        &self,
        addr: SocketAddr,
        body: &R,
        version: i16,
    ) -> Result<R::Response, String> {
        let correlation_id = self.correlation.fetch_add(1, Ordering::Relaxed) as i32;
        let header = RequestHeader::new(R::API_KEY, version, correlation_id, Some("kafka-tests"));
        let mut out = BytesMut::new();
        encode_request(&mut out, &header, body).map_err(|e| format!("encode: {e}"))?;
        let io = |e: io::Error| format!("{addr}: {e}");
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(io)?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT)).map_err(io)?;
        stream
            .set_write_timeout(Some(REQUEST_TIMEOUT))
            .map_err(io)?;
        stream.write_all(&out).map_err(io)?;
        let mut size = [0u8; 4];
        stream.read_exact(&mut size).map_err(io)?;
        let size = i32::from_be_bytes(size);
        if !(4..=64 << 20).contains(&size) {
            return Err(format!("{addr}: response size {size}"));
        }
        let mut frame = vec![0u8; size as usize];
        stream.read_exact(&mut frame).map_err(io)?;
        let (h, response, _) = decode_response_prefix::<R>(Bytes::from(frame), version)
            .map_err(|e| format!("{addr}: decode {} v{version}: {e}", R::API_KEY.0))?;
        if h.correlation_id != correlation_id {
            return Err(format!("{addr}: correlation id {}", h.correlation_id));
        }
        Ok(response)
    }

    /// Creates `topic` with `partitions` partitions at the cluster's replication factor (its
    /// node count); see [`create_topic_with`](Self::create_topic_with).
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        self.create_topic_with(NewTopic::new(topic, partitions));
    }

    /// Creates a topic (CreateTopics v5, which Kafka 3.x and 4.x serve) and waits until every
    /// running node's metadata shows a leader for each partition, so that any client sees it
    /// at once. Panics on any error, TOPIC_ALREADY_EXISTS included.
    pub fn create_topic_with(&self, topic: NewTopic) {
        let request = CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: topic.name.clone(),
                num_partitions: topic.partitions,
                replication_factor: topic.replication_factor,
                configs: topic
                    .configs
                    .iter()
                    .map(|(k, v)| CreatableTopicConfig {
                        name: k.clone(),
                        value: Some(v.clone()),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            timeout_ms: 30_000,
            ..Default::default()
        };
        let response = self
            .on_some_node(|addr| self.call(addr, &request, 5))
            .unwrap_or_else(|e| panic!("CreateTopics {}: {e}", topic.name));
        for result in &response.topics {
            if result.error_code != 0 {
                panic!(
                    "CreateTopics {}: {} ({})",
                    result.name,
                    ErrorCode(result.error_code),
                    result.error_message.as_deref().unwrap_or("")
                );
            }
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let running: Vec<i32> = self
            .node_ids()
            .into_iter()
            .filter(|id| self.node_state(*id) == NodeState::Running)
            .collect();
        for id in running {
            let addr = self.node_addr(id, Listener::Plaintext);
            let request = MetadataRequest {
                topics: Some(vec![MetadataRequestTopic {
                    name: Some(topic.name.clone()),
                    ..Default::default()
                }]),
                allow_auto_topic_creation: false,
                ..Default::default()
            };
            loop {
                let state = self.call(addr, &request, 12).map(|md| {
                    md.topics.first().map(|t| {
                        (
                            t.error_code,
                            t.partitions.len(),
                            t.partitions.iter().all(|p| p.leader_id >= 0),
                        )
                    })
                });
                if matches!(state, Ok(Some((0, n, true))) if n == topic.partitions as usize) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "topic {} not ready on node {id}: {state:?}",
                    topic.name
                );
                thread::sleep(Duration::from_millis(50));
            }
        }
        if topic.wait_until_writable {
            let left = deadline.saturating_duration_since(Instant::now());
            self.wait_until_writable(&topic.name, left);
        }
    }

    /// Waits until the leader of every partition of `topic` serves it: ListOffsets (latest)
    /// answered without error by the node the metadata names as leader. A broker publishes a
    /// partition's leader in its metadata a moment before its log takes writes; a Produce in
    /// that moment gets NOT_LEADER_OR_FOLLOWER. [`create_topic`](Self::create_topic) waits for
    /// this; call it after moving leaders too. Returns the end offsets, by partition.
    pub fn wait_until_writable(&self, topic: &str, timeout: Duration) -> Vec<i64> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.end_offsets(topic) {
                Ok(offsets) => return offsets,
                Err(e) => e,
            };
            if Instant::now() > deadline {
                panic!("{topic}: leaders not serving within {timeout:?}: {last}");
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The end offset (next offset to be written, the high watermark) of every partition of
    /// `topic`, by partition, each asked of its leader (ListOffsets v7, latest).
    pub fn end_offsets(&self, topic: &str) -> Result<Vec<i64>, String> {
        let partitions = self.describe_topic(topic)?;
        let mut offsets = Vec::with_capacity(partitions.len());
        for p in &partitions {
            if p.leader < 0 || self.node_state(p.leader) != NodeState::Running {
                return Err(format!(
                    "partition {} has no serving leader: {p:?}",
                    p.partition
                ));
            }
            let request = ListOffsetsRequest {
                replica_id: -1,
                topics: vec![ListOffsetsTopic {
                    name: topic.to_owned(),
                    partitions: vec![ListOffsetsPartition {
                        partition_index: p.partition,
                        current_leader_epoch: p.leader_epoch,
                        timestamp: -1,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            };
            let addr = self.node_addr(p.leader, Listener::Plaintext);
            let response = self.call(addr, &request, 7)?;
            let answer = response
                .topics
                .first()
                .and_then(|t| t.partitions.first())
                .ok_or_else(|| format!("empty ListOffsets answer for {topic}/{}", p.partition))?;
            if answer.error_code != 0 {
                return Err(format!(
                    "{topic}/{} on node {}: {}",
                    p.partition,
                    p.leader,
                    ErrorCode(answer.error_code)
                ));
            }
            offsets.push(answer.offset);
        }
        Ok(offsets)
    }

    /// The node that coordinates `transactional_id`'s transactions now (FindCoordinator v3,
    /// key type 1, asked of a running node). `Err` while the coordinator is being elected or
    /// loads (COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS): call again.
    pub fn transaction_coordinator(&self, transactional_id: &str) -> Result<i32, String> {
        let request = FindCoordinatorRequest {
            key: transactional_id.to_owned(),
            key_type: 1,
            ..Default::default()
        };
        let answer = self.on_some_node(|addr| self.call(addr, &request, 3))?;
        if answer.error_code != 0 {
            return Err(format!(
                "FindCoordinator({transactional_id}): {}",
                ErrorCode(answer.error_code)
            ));
        }
        Ok(answer.node_id)
    }

    /// Sets a finalized feature's level on the running cluster with Kafka's own
    /// `FeatureCommand` (`upgrade` or `downgrade`, as the level compares with the current
    /// one), e.g. `("transaction.version", 1)` for transactions v1 (before KIP-890 part 2) on
    /// a 4.x cluster, which finalizes 2 by default. Panics if the tool fails.
    pub fn set_feature_level(&self, feature: &str, level: i16) {
        let bootstrap = self.bootstrap(Listener::Plaintext);
        let mut last = String::new();
        for verb in ["downgrade", "upgrade"] {
            let out = self
                .tool_command("org.apache.kafka.tools.FeatureCommand")
                .args(["--bootstrap-server", &bootstrap, verb, "--feature"])
                .arg(format!("{feature}={level}"))
                .output()
                .expect("run FeatureCommand");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if out.status.success() && !text.contains("failed") && !text.contains("Error") {
                return;
            }
            last = text;
        }
        panic!("could not set {feature}={level}: {last}");
    }

    /// The record batches of `topic`/`partition` as Kafka's own `DumpLogSegments` reads them
    /// from the log files of the first node holding a replica (an independent view of what
    /// was written: producer ids and epochs, transactional and control flags).
    pub fn log_batches(&self, topic: &str, partition: i32) -> Result<Vec<LogBatch>, String> {
        let mut files = Vec::new();
        for node in 1..=self.config.node_count() {
            let dir = self
                .dir
                .join(format!("node-{node}"))
                .join("data")
                .join(format!("{topic}-{partition}"));
            if let Ok(entries) = fs::read_dir(&dir) {
                for e in entries.flatten() {
                    if e.path().extension().is_some_and(|x| x == "log") {
                        files.push(e.path());
                    }
                }
                break;
            }
        }
        if files.is_empty() {
            return Err(format!("no log files for {topic}-{partition}"));
        }
        files.sort();
        // The tool moved to org.apache.kafka.tools in Kafka 4.
        let main_class = if self.config.version_name().starts_with('3') {
            "kafka.tools.DumpLogSegments"
        } else {
            "org.apache.kafka.tools.DumpLogSegments"
        };
        let mut cmd = self.tool_command(main_class);
        cmd.arg("--files")
            .arg(
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .arg("--deep-iteration=false");
        let out = cmd
            .output()
            .map_err(|e| format!("run DumpLogSegments: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "DumpLogSegments failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut batches = Vec::new();
        for line in text.lines().filter(|l| l.starts_with("baseOffset:")) {
            let field = |name: &str| -> Option<&str> {
                let mut words = line.split_whitespace();
                while let Some(w) = words.next() {
                    if w.strip_suffix(':') == Some(name) {
                        return words.next();
                    }
                }
                None
            };
            let num = |name: &str| -> Result<i64, String> {
                field(name)
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("no {name} in {line:?}"))
            };
            batches.push(LogBatch {
                base_offset: num("baseOffset")?,
                count: num("count")?,
                producer_id: num("producerId")?,
                producer_epoch: num("producerEpoch")? as i16,
                transactional: field("isTransactional") == Some("true"),
                control: field("isControl") == Some("true"),
            });
        }
        Ok(batches)
    }

    /// Every partition of `topic` as the metadata of a running node describes it, by index.
    pub fn describe_topic(&self, topic: &str) -> Result<Vec<PartitionState>, String> {
        let md = self.metadata(&[topic])?;
        let t = md
            .topics
            .into_iter()
            .next()
            .ok_or_else(|| format!("no topic {topic} in the Metadata answer"))?;
        if t.error_code != 0 {
            return Err(format!("topic {topic}: {}", ErrorCode(t.error_code)));
        }
        let mut partitions: Vec<PartitionState> = t
            .partitions
            .into_iter()
            .map(|p| PartitionState {
                partition: p.partition_index,
                leader: p.leader_id,
                leader_epoch: p.leader_epoch,
                replicas: p.replica_nodes,
                isr: p.isr_nodes,
                offline_replicas: p.offline_replicas,
                error_code: p.error_code,
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        Ok(partitions)
    }

    /// One partition's leader, replicas and ISR. Panics if no running node can tell.
    pub fn describe_partition(&self, topic: &str, partition: i32) -> PartitionState {
        self.describe_topic(topic)
            .unwrap_or_else(|e| panic!("describe {topic}: {e}"))
            .into_iter()
            .find(|p| p.partition == partition)
            .unwrap_or_else(|| panic!("{topic} has no partition {partition}"))
    }

    /// The brokers the cluster's metadata lists now (registered and unfenced).
    pub fn live_brokers(&self) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .metadata(&[])
            .map(|md| md.brokers.iter().map(|b| b.node_id).collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Waits until `check` holds for `topic`'s partitions; returns them. Panics after
    /// `timeout`, showing the last state.
    pub fn wait_for_topic(
        &self,
        topic: &str,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&[PartitionState]) -> bool,
    ) -> Vec<PartitionState> {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.describe_topic(topic);
            if let Ok(partitions) = &state {
                if check(partitions) {
                    return partitions.clone();
                }
            }
            if Instant::now() > deadline {
                panic!("{topic}: not {what} within {timeout:?}; last: {state:?}");
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until node `id` is in the ISR of `topic`/`partition`.
    pub fn wait_in_isr(&self, topic: &str, partition: i32, id: i32, timeout: Duration) {
        self.wait_for_topic(
            topic,
            timeout,
            &format!("{id} in ISR of {partition}"),
            |ps| {
                ps.iter()
                    .any(|p| p.partition == partition && p.isr.contains(&id))
            },
        );
    }

    /// Waits until every partition of `topic` has all its replicas in sync and a leader.
    pub fn wait_for_full_isr(&self, topic: &str, timeout: Duration) -> Vec<PartitionState> {
        self.wait_for_topic(topic, timeout, "fully in sync", |ps| {
            ps.iter().all(|p| {
                p.leader >= 0 && {
                    let (mut isr, mut replicas) = (p.isr.clone(), p.replicas.clone());
                    isr.sort_unstable();
                    replicas.sort_unstable();
                    isr == replicas
                }
            })
        })
    }

    /// Waits until `topic`/`partition` has a leader other than `not` (e.g. the node just
    /// killed); returns it.
    pub fn wait_for_leader_other_than(
        &self,
        topic: &str,
        partition: i32,
        not: i32,
        timeout: Duration,
    ) -> i32 {
        let ps = self.wait_for_topic(topic, timeout, &format!("led by other than {not}"), |ps| {
            ps.iter()
                .any(|p| p.partition == partition && p.leader >= 0 && p.leader != not)
        });
        ps.iter()
            .find(|p| p.partition == partition)
            .map(|p| p.leader)
            .expect("checked above")
    }

    fn stop_all(&self) {
        for node in &self.nodes {
            node.lock().unwrap_or_else(|e| e.into_inner()).kill();
        }
    }
}

/// The librdkafka properties for SASL `mechanism` as `user` (append them to
/// [`KafkaCluster::librdkafka_properties`] of a SASL listener).
pub fn librdkafka_sasl(mechanism: &str, user: &str, password: &str) -> Vec<String> {
    vec![
        format!("sasl.mechanism={mechanism}"),
        format!("sasl.username={user}"),
        format!("sasl.password={password}"),
    ]
}

/// A cluster shared by the tests of one binary, and who may use it now.
struct SharedEntry {
    key: (usize, String),
    cluster: OnceLock<KafkaCluster>,
    users: RwLock<()>,
}

impl SharedEntry {
    fn get_or_start(&'static self, config: ClusterConfig) -> &'static KafkaCluster {
        self.cluster.get_or_init(|| {
            let cluster = KafkaCluster::start(config);
            keep_on_panic(cluster.dir.clone());
            cluster
        })
    }
}

fn shared_entry(config: &ClusterConfig) -> &'static SharedEntry {
    static SHARED: Mutex<Vec<&'static SharedEntry>> = Mutex::new(Vec::new());
    // Two different configurations are two clusters: a test asking for a broker setting or
    // user must not get a cluster started without it by another test of the binary.
    let key = (config.nodes, format!("{config:?}"));
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(entry) = shared.iter().find(|e| e.key == key) {
        return entry;
    }
    let entry: &'static SharedEntry = Box::leak(Box::new(SharedEntry {
        key,
        cluster: OnceLock::new(),
        users: RwLock::new(()),
    }));
    shared.push(entry);
    entry
}

/// Held for its drop: the lock is released when the guard goes.
enum SharedGuard {
    Shared {
        _held: RwLockReadGuard<'static, ()>,
    },
    Exclusive {
        _held: RwLockWriteGuard<'static, ()>,
    },
}

/// A test's hold on a shared cluster ([`KafkaCluster::shared`] or
/// [`KafkaCluster::shared_exclusive`]); dereferences to the [`KafkaCluster`].
pub struct SharedCluster {
    cluster: &'static KafkaCluster,
    guard: SharedGuard,
}

impl SharedCluster {
    /// The cluster itself, for as long as the process lives (the hold ends with the guard).
    pub fn cluster(&self) -> &'static KafkaCluster {
        self.cluster
    }

    /// Whether this guard holds the cluster alone.
    pub fn is_exclusive(&self) -> bool {
        matches!(self.guard, SharedGuard::Exclusive { .. })
    }
}

impl fmt::Debug for SharedCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedCluster")
            .field("cluster", self.cluster)
            .field("exclusive", &self.is_exclusive())
            .finish()
    }
}

impl std::ops::Deref for SharedCluster {
    type Target = KafkaCluster;

    fn deref(&self) -> &KafkaCluster {
        self.cluster
    }
}

impl Drop for SharedCluster {
    fn drop(&mut self) {
        if !self.is_exclusive() {
            return;
        }
        // Leave every node running for the next test. While panicking, a failed restart
        // would abort the process, so then only paused nodes are resumed.
        for id in self.cluster.node_ids() {
            match self.cluster.node_state(id) {
                NodeState::Running => {}
                NodeState::Paused => self.cluster.resume_node(id),
                NodeState::Down if !thread::panicking() => self.cluster.restart_node(id),
                NodeState::Down => eprintln!(
                    "kafka-tests: node {id} of the shared cluster stays down after a panic"
                ),
            }
        }
    }
}

/// Waits until `/proc/<pid>/stat` says stopped (`T`) or, with `stopped` false, not stopped:
/// `kill` returns before every thread has taken the signal.
fn wait_process_state(pid: u32, stopped: bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = process_state(&stat);
        if (state == Some('T')) == stopped || Instant::now() > deadline {
            return;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Why a start failed: a port race (try again) or anything else.
enum Failure {
    PortTaken(String),
    Other(String),
}

/// Installs (once) a panic hook that marks `dir` to be kept when any test panics and says
/// where it is; the cleanup watchdog leaves a marked directory alone.
fn keep_on_panic(dir: PathBuf) {
    static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    static HOOK: OnceLock<()> = OnceLock::new();
    DIRS.lock().unwrap_or_else(|e| e.into_inner()).push(dir);
    HOOK.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            if let Ok(dirs) = DIRS.lock() {
                for dir in dirs.iter() {
                    if !dir.join("KEEP").exists() {
                        let _ = fs::write(dir.join("KEEP"), "a test panicked\n");
                        eprintln!(
                            "kafka-tests: shared Kafka cluster kept in {}",
                            dir.display()
                        );
                    }
                }
            }
        }));
    });
}

impl Drop for KafkaCluster {
    fn drop(&mut self) {
        self.stop_all();
        if thread::panicking() {
            let _ = fs::write(self.dir.join("KEEP"), "a test panicked\n");
            eprintln!("kafka-tests: Kafka cluster kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
        // Without `KEEP` the watchdog removes nothing more; with it, it removes nothing.
        if let Some(mut cleanup) = self
            .cleanup
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = cleanup.kill();
            let _ = cleanup.wait();
        }
    }
}
