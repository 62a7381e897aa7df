//! Fetch (API key 1): read record batches; used by the read-back tools and the simulated cluster.

use crate::primitives::Uuid;
use bytes::Bytes;

kafka_struct! {
    /// FetchRequest.
    pub struct FetchRequest {
        /// Cluster id (v12+).
        cluster_id: Option<String> [12..] tag 0,
        /// Replica id (v0-14).
        replica_id: i32 [0..=14] default -1,
        /// Replica state (v15+).
        replica_state: ReplicaState [15..] tag 1,
        /// Max wait ms.
        max_wait_ms: i32 [0..],
        /// Min bytes.
        min_bytes: i32 [0..],
        /// Max bytes (v3+).
        max_bytes: i32 [3..] default 2147483647,
        /// Isolation level (v4+).
        isolation_level: i8 [4..],
        /// Session id (v7+).
        session_id: i32 [7..],
        /// Session epoch (v7+).
        session_epoch: i32 [7..] default -1,
        /// Topics.
        topics: Vec<FetchTopic> [0..],
        /// Forgotten topics data (v7+).
        forgotten_topics_data: Vec<ForgottenTopic> [7..],
        /// Rack id (v11+).
        rack_id: String [11..],
    }
}

kafka_struct! {
    /// ForgottenTopic.
    pub struct ForgottenTopic {
        /// Topic (v7-12).
        topic: String [7..=12],
        /// Topic id (v13+).
        topic_id: Uuid [13..],
        /// Partitions (v7+).
        partitions: Vec<i32> [7..],
    }
}

kafka_struct! {
    /// FetchTopic.
    pub struct FetchTopic {
        /// Topic (v0-12).
        topic: String [0..=12],
        /// Topic id (v13+).
        topic_id: Uuid [13..],
        /// Partitions.
        partitions: Vec<FetchPartition> [0..],
    }
}

kafka_struct! {
    /// FetchPartition.
    pub struct FetchPartition {
        /// Partition.
        partition: i32 [0..],
        /// Current leader epoch (v9+).
        current_leader_epoch: i32 [9..] default -1,
        /// Fetch offset.
        fetch_offset: i64 [0..],
        /// Last fetched epoch (v12+).
        last_fetched_epoch: i32 [12..] default -1,
        /// Log start offset (v5+).
        log_start_offset: i64 [5..] default -1,
        /// Partition max bytes.
        partition_max_bytes: i32 [0..],
        /// Replica directory id (v17+).
        replica_directory_id: Uuid [17..] tag 0,
        /// The high watermark the follower knows (v18+), or `i64::MAX`.
        high_watermark: i64 [18..] tag 1 default i64::MAX,
    }
}

kafka_struct! {
    /// ReplicaState.
    pub struct ReplicaState {
        /// Replica id (v15+).
        replica_id: i32 [15..] default -1,
        /// Replica epoch (v15+).
        replica_epoch: i64 [15..] default -1,
    }
}

kafka_struct! {
    /// FetchResponse.
    pub struct FetchResponse {
        /// Throttle time ms (v1+).
        throttle_time_ms: i32 [1..],
        /// Error code (v7+).
        error_code: i16 [7..],
        /// Session id (v7+).
        session_id: i32 [7..],
        /// Responses.
        responses: Vec<FetchableTopicResponse> [0..],
        /// Node endpoints (v16+).
        node_endpoints: Vec<NodeEndpoint> [16..] tag 0,
    }
}

kafka_struct! {
    /// NodeEndpoint.
    pub struct NodeEndpoint {
        /// Node id (v16+).
        node_id: i32 [16..],
        /// Host (v16+).
        host: String [16..],
        /// Port (v16+).
        port: i32 [16..],
        /// Rack (v16+).
        rack: Option<String> [16..],
    }
}

kafka_struct! {
    /// FetchableTopicResponse.
    pub struct FetchableTopicResponse {
        /// Topic (v0-12).
        topic: String [0..=12],
        /// Topic id (v13+).
        topic_id: Uuid [13..],
        /// Partitions.
        partitions: Vec<PartitionData> [0..],
    }
}

kafka_struct! {
    /// PartitionData.
    pub struct PartitionData {
        /// Partition index.
        partition_index: i32 [0..],
        /// Error code.
        error_code: i16 [0..],
        /// High watermark.
        high_watermark: i64 [0..],
        /// Last stable offset (v4+).
        last_stable_offset: i64 [4..] default -1,
        /// Log start offset (v5+).
        log_start_offset: i64 [5..] default -1,
        /// Diverging epoch (v12+).
        diverging_epoch: EpochEndOffset [12..] tag 0,
        /// Current leader (v12+).
        current_leader: LeaderIdAndEpoch [12..] tag 1,
        /// Snapshot id (v12+).
        snapshot_id: SnapshotId [12..] tag 2,
        /// Aborted transactions (v4+).
        aborted_transactions: Option<Vec<AbortedTransaction>> [4..],
        /// Preferred read replica (v11+).
        preferred_read_replica: i32 [11..] default -1,
        /// Records.
        records: Option<Bytes> [0..],
    }
}

kafka_struct! {
    /// AbortedTransaction.
    pub struct AbortedTransaction {
        /// Producer id (v4+).
        producer_id: i64 [4..],
        /// First offset (v4+).
        first_offset: i64 [4..],
    }
}

kafka_struct! {
    /// SnapshotId.
    pub struct SnapshotId {
        /// End offset.
        end_offset: i64 [0..] default -1,
        /// Epoch.
        epoch: i32 [0..] default -1,
    }
}

kafka_struct! {
    /// LeaderIdAndEpoch.
    pub struct LeaderIdAndEpoch {
        /// Leader id (v12+).
        leader_id: i32 [12..] default -1,
        /// Leader epoch (v12+).
        leader_epoch: i32 [12..] default -1,
    }
}

kafka_struct! {
    /// EpochEndOffset.
    pub struct EpochEndOffset {
        /// Epoch (v12+).
        epoch: i32 [12..] default -1,
        /// End offset (v12+).
        end_offset: i64 [12..] default -1,
    }
}

kafka_message!(FetchRequest, api_key: crate::ApiKey::Fetch, versions: 4..=18, flexible: 12..);
kafka_message!(FetchResponse, api_key: crate::ApiKey::Fetch, versions: 4..=18, flexible: 12..);
kafka_request!(FetchRequest => FetchResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<FetchRequest>();
        check_round_trip::<FetchResponse>();
    }
}
