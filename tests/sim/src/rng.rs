//! SplitMix64: the cluster's only source of randomness, the same generator
//! as the producer core's ([`kafka_producer_core::rng::SplitMix64`]).
//!
//! Every fault and latency of a [`SimCluster`](crate::SimCluster) is drawn
//! from generators seeded from the cluster's seed, so a failing seed replays
//! exactly. Tests may use it too, to drive their own choices from a seed.

pub use kafka_producer_core::rng::SplitMix64;
