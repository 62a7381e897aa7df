//! A Kafka producer on futures-io (runs under async-std and smol).
//!
//! **Not yet implemented.** Today it exports nothing.
//!
//! ```
//! // Placeholder: the API lands with the runtimes issue.
//! ```
