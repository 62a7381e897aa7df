//! A deterministic, in-process simulated Kafka cluster for the producer's
//! simulation tests, fuzz targets and benches.
//!
//! It speaks the real wire protocol: requests are decoded with `kafka-proto`
//! and answered as an Apache Kafka 4.0 broker would, at the request's
//! version: ApiVersions (with the KIP-511 fallback), Metadata (with
//! auto-creation if asked), InitProducerId (with KIP-360 epoch bumps),
//! Produce (leader checks, KIP-951 leader hints, batch validation and the
//! idempotent producer's sequence checks, with state shared by the whole
//! cluster so that it survives leader moves and restarts, as replicated
//! state does), CreateTopics, ListOffsets, and SaslHandshake /
//! SaslAuthenticate through a [`SaslVerifier`] (PLAIN and SCRAM by
//! [`sasl_server`], switched on with [`ClusterSpec::sasl`]), and
//! transactions: FindCoordinator, transactional InitProducerId (fencing),
//! AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn, with
//! markers, the last stable offset, `read_committed` reads
//! ([`SimCluster::read_committed`]), transaction timeouts, coordinator
//! moves and transactions v2 (KIP-890). Fetch is not served.
//!
//! Faults ([`Faults`]) are drawn from a seed: latency, dropped responses,
//! disconnects before or after processing, retriable errors with or
//! without the records appended, leader moves and broker restarts. Nothing
//! reads a clock or the OS's randomness: time comes in as `Instant`
//! arguments and a run replays exactly from its seed.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use kafka_proto::messages::metadata::{MetadataRequest, MetadataRequestTopic};
//! use kafka_sim::{ClusterSpec, Faults, NetOutput, SimCluster, wire};
//!
//! let spec = ClusterSpec {
//!     brokers: vec![1, 2, 3],
//!     topics: vec![("events".into(), 6)],
//!     ..ClusterSpec::default()
//! };
//! let faults = Faults { max_latency: Duration::from_millis(5), ..Faults::none() };
//! let mut cluster = SimCluster::new(spec, faults, 42);
//!
//! // One base instant; the simulation's time is that plus durations.
//! let start = Instant::now();
//! let (host, port) = cluster.bootstrap()[0].clone();
//! let conn = cluster.connect(&host, port, start).unwrap();
//!
//! let request = MetadataRequest {
//!     topics: Some(vec![MetadataRequestTopic { name: Some("events".into()), ..Default::default() }]),
//!     ..Default::default()
//! };
//! cluster.client_send(conn, &wire::encode_request(12, 7, &request).unwrap(), start);
//!
//! // Drive time to whenever the cluster has something to say.
//! let when = cluster.next_wakeup().unwrap();
//! assert!(when <= start + Duration::from_millis(5));
//! let Some(NetOutput::Data { bytes, .. }) = cluster.poll_output(when) else { panic!() };
//! let (correlation_id, metadata) = wire::decode_response::<MetadataRequest>(&bytes, 12).unwrap();
//! assert_eq!(correlation_id, 7);
//! assert_eq!(metadata.brokers.len(), 3);
//! assert_eq!(metadata.topics[0].partitions.len(), 6);
//! ```

#![forbid(unsafe_code)]

mod apis;
mod cluster;
mod config;
mod net;
pub mod pair;
mod partition;
mod produce;
mod rng;
mod sasl;
pub mod sasl_server;
mod stats;
mod txn;
pub mod wire;

pub use cluster::{BROKER_PORT, SimCluster};
pub use config::{
    ApiRange, BrokerConfig, ClusterSpec, Faults, InitProducerIdPolicy, SimSasl,
    kafka_4_0_api_versions,
};
pub use net::{ConnId, ConnectError, NetOutput};
pub use pair::{Pair, Side};
pub use partition::StoredRecord;
pub use produce::REFUSED_BEFORE_APPEND;
pub use rng::SplitMix64;
pub use sasl::{SaslServers, SaslSession, SaslStep, SaslVerifier};
pub use stats::{FaultCounts, Stats};
pub use txn::TxnCounts;

/// Encodes a request frame of type `R` (a shorthand for
/// [`wire::encode_request`] for tests that cannot fail).
///
/// # Panics
///
/// If the body cannot be encoded at `api_version` (a test's mistake).
pub fn encode_request<R: kafka_proto::Request>(
    api_version: i16,
    correlation_id: i32,
    body: &R,
) -> bytes::Bytes {
    match wire::encode_request(api_version, correlation_id, body) {
        Ok(b) => b,
        Err(e) => panic!("request not encodable at v{api_version}: {e}"),
    }
}
