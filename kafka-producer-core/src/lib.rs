//! The Kafka producer as an I/O-free state machine.
//!
//! **Not yet implemented.** This crate will hold the whole producer (metadata,
//! partitioners, record accumulator, sender, retries, idempotence and
//! transactions) driven only through calls: bytes in, bytes out, `now` passed
//! in, events out. See `DESIGN.md` in the project notes. Today it exports
//! nothing; nothing here pretends to work.
//!
//! ```
//! // The crate compiles and is a member of the workspace; its API lands with
//! // the core issue.
//! ```
