//! What the client sees of the network.

use std::fmt;

use bytes::Bytes;

/// A connection to a simulated broker. Ids are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Why a connect was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectError {
    /// No broker listens at that host and port.
    UnknownHost,
    /// The broker is down.
    BrokerDown,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::UnknownHost => f.write_str("no broker at that address"),
            ConnectError::BrokerDown => f.write_str("connection refused: the broker is down"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// What the cluster sends the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetOutput {
    /// Bytes on a connection: one whole response frame, size prefix
    /// included, as it would arrive from a socket.
    Data {
        /// The connection.
        conn: ConnId,
        /// The frame.
        bytes: Bytes,
    },
    /// The broker closed the connection; nothing more arrives on it and
    /// its id is forgotten.
    Closed {
        /// The connection.
        conn: ConnId,
    },
}

impl NetOutput {
    /// The connection this output belongs to.
    pub fn conn(&self) -> ConnId {
        match self {
            NetOutput::Data { conn, .. } | NetOutput::Closed { conn } => *conn,
        }
    }
}
