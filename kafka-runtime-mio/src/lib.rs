//! A Kafka producer on a hand-rolled mio event loop.
//!
//! **Not yet implemented.** Today it exports nothing.
//!
//! ```
//! // Placeholder: the API lands with the runtimes issue.
//! ```
