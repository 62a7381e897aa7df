//! Kafka error codes.

/// A Kafka error code (placeholder until the full table lands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub i16);
