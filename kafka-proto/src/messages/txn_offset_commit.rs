//! TxnOffsetCommit (API key 28): commit consumer offsets as part of a transaction.

kafka_struct! {
    /// TxnOffsetCommitRequest.
    pub struct TxnOffsetCommitRequest {
        /// Transactional id.
        transactional_id: String [0..],
        /// Group id.
        group_id: String [0..],
        /// Producer id.
        producer_id: i64 [0..],
        /// Producer epoch.
        producer_epoch: i16 [0..],
        /// Generation id (v3+).
        generation_id: i32 [3..] default -1,
        /// Member id (v3+).
        member_id: String [3..],
        /// Group instance id (v3+).
        group_instance_id: Option<String> [3..],
        /// Topics.
        topics: Vec<TxnOffsetCommitRequestTopic> [0..],
    }
}

kafka_struct! {
    /// TxnOffsetCommitRequestTopic.
    pub struct TxnOffsetCommitRequestTopic {
        /// Name.
        name: String [0..],
        /// Partitions.
        partitions: Vec<TxnOffsetCommitRequestPartition> [0..],
    }
}

kafka_struct! {
    /// TxnOffsetCommitRequestPartition.
    pub struct TxnOffsetCommitRequestPartition {
        /// Partition index.
        partition_index: i32 [0..],
        /// Committed offset.
        committed_offset: i64 [0..],
        /// Committed leader epoch (v2+).
        committed_leader_epoch: i32 [2..] default -1,
        /// Committed metadata.
        committed_metadata: Option<String> [0..],
    }
}

kafka_struct! {
    /// TxnOffsetCommitResponse.
    pub struct TxnOffsetCommitResponse {
        /// Throttle time ms.
        throttle_time_ms: i32 [0..],
        /// Topics.
        topics: Vec<TxnOffsetCommitResponseTopic> [0..],
    }
}

kafka_struct! {
    /// TxnOffsetCommitResponseTopic.
    pub struct TxnOffsetCommitResponseTopic {
        /// Name.
        name: String [0..],
        /// Partitions.
        partitions: Vec<TxnOffsetCommitResponsePartition> [0..],
    }
}

kafka_struct! {
    /// TxnOffsetCommitResponsePartition.
    pub struct TxnOffsetCommitResponsePartition {
        /// Partition index.
        partition_index: i32 [0..],
        /// Error code.
        error_code: i16 [0..],
    }
}

kafka_message!(TxnOffsetCommitRequest, api_key: crate::ApiKey::TxnOffsetCommit, versions: 0..=5, flexible: 3..);
kafka_message!(TxnOffsetCommitResponse, api_key: crate::ApiKey::TxnOffsetCommit, versions: 0..=5, flexible: 3..);
kafka_request!(TxnOffsetCommitRequest => TxnOffsetCommitResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<TxnOffsetCommitRequest>();
        check_round_trip::<TxnOffsetCommitResponse>();
    }
}
