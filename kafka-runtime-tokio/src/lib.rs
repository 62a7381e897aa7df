//! A Kafka producer on Tokio.
//!
//! **Not yet implemented.** This crate will own sockets (TLS via rustls) and
//! timers and drive `kafka-producer-core`. Today it exports nothing.
//!
//! ```
//! // Placeholder: the API lands with the Tokio runtime issue.
//! ```
