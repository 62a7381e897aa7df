//! Shared support for the integration tests: locating test vectors and tools, and starting
//! real brokers.
//!
//! - [`tools`]: where `scripts/setup-test-env.sh` put tansu, the mock cluster, kcat and the
//!   Python venv; [`require_tools!`] to skip (or, with `KAFKA_TESTS_REQUIRE_BROKERS=1`, fail)
//!   when they are missing; [`python`] and [`kcat`] runners.
//! - [`KafkaCluster`]: Apache Kafka KRaft clusters (1 or 3 nodes, every listener and SASL
//!   mechanism), node control for failover, shared per test binary.
//! - [`Tansu`]: a fresh tansu broker on a free loopback port, killed on drop.
//! - [`proxy::FaultProxy`]: a TCP proxy in front of a broker that cuts, swallows, halves or
//!   holds Produce exchanges.
//! - [`MockCluster`]: librdkafka's mock cluster with fault injection through stdin commands.

use std::path::PathBuf;

pub mod fuzz_oracles;
pub mod kafka;
pub mod mock_cluster;
pub mod oidc;
pub mod proxy;
pub mod raw_client;
pub mod tansu;
pub mod tools;

pub use kafka::{ClusterConfig, KafkaCluster, Listener};
pub use mock_cluster::MockCluster;
pub use raw_client::RawClient;
pub use tansu::Tansu;
pub use tools::{Tool, kcat, python, python_output, tools_dir, venv_python};

/// The directory holding checked-in test vectors (`tests/vectors`).
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Bytes as lowercase hex in a JSON string, or JSON null for `None`: the
/// form the test vectors and the Python read-back scripts use.
pub fn hex_json(b: Option<&[u8]>) -> serde_json::Value {
    b.map_or(serde_json::Value::Null, |b| {
        serde_json::Value::String(b.iter().map(|x| format!("{x:02x}")).collect())
    })
}

/// The README's Rust code blocks, compiled (and the runnable ones run) as
/// doc tests, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
