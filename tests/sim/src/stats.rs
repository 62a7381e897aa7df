//! Counters of what the cluster saw and did.

use std::collections::BTreeMap;

use kafka_proto::ApiKey;

/// Counters of what happened, for assertions and for reports of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests decoded and handled, by API key.
    pub requests: BTreeMap<i16, u64>,
    /// Responses queued for the client.
    pub responses: u64,
    /// Connections accepted.
    pub connections_opened: u64,
    /// Connects refused (unknown host or broker down).
    pub connects_refused: u64,
    /// Connections the brokers closed (faults, restarts, bad requests).
    pub connections_closed_by_broker: u64,
    /// Connections closed because a request other than SaslHandshake came
    /// after their SASL session expired
    /// ([`BrokerConfig::sasl_session_lifetime`](crate::BrokerConfig::sasl_session_lifetime));
    /// counted in `connections_closed_by_broker` too.
    pub expired_sessions_closed: u64,
    /// Re-authentications (KIP-368) completed.
    pub reauthentications: u64,
    /// Requests that could not be framed or decoded, or that were not
    /// allowed (unsupported API or version, SASL required): each closed
    /// its connection.
    pub malformed_requests: u64,
    /// Produce requests with acks = 0 (never answered).
    pub acks0_requests: u64,
    /// Batches appended to a log.
    pub batches_appended: u64,
    /// Records appended to a log.
    pub records_appended: u64,
    /// Bytes of the batches appended.
    pub bytes_appended: u64,
    /// Retried batches recognised as duplicates: answered with their
    /// original base offset, nothing appended.
    pub duplicates: u64,
    /// Batches refused with OUT_OF_ORDER_SEQUENCE_NUMBER.
    pub out_of_order: u64,
    /// Retries whose sequence lies before the last appended one but that
    /// are no longer among the five remembered batches: counted in
    /// `out_of_order` too, unless answered DUPLICATE_SEQUENCE_NUMBER
    /// ([`BrokerConfig::stale_sequence_is_duplicate`](crate::BrokerConfig::stale_sequence_is_duplicate)).
    pub stale_sequences: u64,
    /// Batches refused with INVALID_PRODUCER_EPOCH.
    pub invalid_epoch: u64,
    /// Partitions of Produce requests refused for other reasons (not
    /// leader, unknown partition, corrupt or invalid batch, too large, ...)
    /// without injected faults.
    pub rejected_batches: u64,
    /// Producer ids handed out by InitProducerId.
    pub producer_ids_allocated: u64,
    /// Epoch bumps made by InitProducerId.
    pub epoch_bumps: u64,
    /// Topics created (at start, by CreateTopics, or auto-created).
    pub topics_created: u64,
    /// Faults injected.
    pub faults: FaultCounts,
}

impl Stats {
    /// Requests handled of `api`.
    pub fn requests_of(&self, api: ApiKey) -> u64 {
        self.requests.get(&api.0).copied().unwrap_or(0)
    }
}

/// Faults injected, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Responses dropped (the request was processed).
    pub dropped_responses: u64,
    /// Connections closed before the request was processed.
    pub disconnects_before: u64,
    /// Connections closed after the request was processed.
    pub disconnects_after: u64,
    /// Retriable errors answered without appending.
    pub produce_errors: u64,
    /// Retriable errors answered after appending.
    pub errors_after_append: u64,
    /// Arbitrary error codes answered after appending.
    pub any_errors_after_append: u64,
    /// Leaderships moved.
    pub leader_moves: u64,
    /// Broker restarts.
    pub broker_restarts: u64,
    /// Coordinator moves.
    pub coordinator_moves: u64,
    /// CONCURRENT_TRANSACTIONS answers injected.
    pub concurrent_transactions: u64,
    /// Requests processed after the client closed their connection.
    pub processed_after_close: u64,
}

impl FaultCounts {
    /// `(kind, count)` for every kind of fault.
    pub fn iter(&self) -> std::array::IntoIter<(&'static str, &u64), 11> {
        [
            ("dropped_responses", &self.dropped_responses),
            ("disconnects_before", &self.disconnects_before),
            ("disconnects_after", &self.disconnects_after),
            ("produce_errors", &self.produce_errors),
            ("errors_after_append", &self.errors_after_append),
            ("any_errors_after_append", &self.any_errors_after_append),
            ("leader_moves", &self.leader_moves),
            ("broker_restarts", &self.broker_restarts),
            ("coordinator_moves", &self.coordinator_moves),
            ("concurrent_transactions", &self.concurrent_transactions),
            ("processed_after_close", &self.processed_after_close),
        ]
        .into_iter()
    }

    /// All faults injected.
    pub fn total(&self) -> u64 {
        self.dropped_responses
            + self.disconnects_before
            + self.disconnects_after
            + self.produce_errors
            + self.errors_after_append
            + self.any_errors_after_append
            + self.leader_moves
            + self.broker_restarts
    }
}

impl<'a> IntoIterator for &'a FaultCounts {
    type Item = (&'static str, &'a u64);
    type IntoIter = std::array::IntoIter<(&'static str, &'a u64), 11>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
