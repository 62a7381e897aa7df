//! Fetch (API key 1): read record batches back; used by the read-back tools
//! and the simulated cluster.
//!
//! Versions 4–18 are declared: v4 is the first with record batch v2 and
//! transactional isolation, v7 adds fetch sessions (KIP-227), v12 switches
//! to the flexible encoding, v13 names topics by id (KIP-516), v15 replaces
//! the replica id with a tagged replica state (KIP-903), v16 adds leader
//! endpoints (KIP-951) and v17–v18 add follower-only tagged fields.

use crate::primitives::Uuid;
use bytes::Bytes;

kafka_struct! {
    /// Fetch request, versions 4–18.
    pub struct FetchRequest {
        /// The cluster id the sender believes it talks to, or null (v12+,
        /// tagged; checked by brokers fetching metadata before registering).
        cluster_id: Option<String> [12..] tag 0,
        /// The follower's broker id, or -1 for a consumer (up to v14).
        replica_id: i32 [0..=14] default -1,
        /// The follower's id and epoch (v15+, tagged; left at its default by
        /// consumers).
        replica_state: ReplicaState [15..] tag 1,
        /// How long, in milliseconds, the broker may wait for `min_bytes`.
        max_wait_ms: i32 [0..],
        /// How many bytes the broker should gather before answering.
        min_bytes: i32 [0..],
        /// An upper bound on the response size in bytes (v3+; KIP-74 says
        /// when it may be exceeded).
        max_bytes: i32 [3..] default i32::MAX,
        /// 0 (READ_UNCOMMITTED) to see every record, 1 (READ_COMMITTED) to
        /// see only records below the last stable offset, with the aborted
        /// transactions listed (v4+).
        isolation_level: i8 [4..],
        /// The fetch session id, or 0 outside a session (v7+; KIP-227).
        session_id: i32 [7..],
        /// The fetch session epoch, or -1 (v7+).
        session_epoch: i32 [7..] default -1,
        /// The partitions to fetch, grouped by topic.
        topics: Vec<FetchTopic> [0..],
        /// Partitions to drop from an incremental fetch session (v7+).
        forgotten_topics_data: Vec<ForgottenTopic> [7..],
        /// The rack of the consumer, for follower fetching (v11+; KIP-392).
        rack_id: String [11..],
    }
}

kafka_struct! {
    /// A follower's identity in a [`FetchRequest`] (v15+).
    pub struct ReplicaState {
        /// The follower's broker id, or -1 for a consumer.
        replica_id: i32 [15..] default -1,
        /// The follower's broker epoch, or -1 when unknown.
        replica_epoch: i64 [15..] default -1,
    }
}

kafka_struct! {
    /// One topic to fetch in a [`FetchRequest`].
    pub struct FetchTopic {
        /// The topic name (up to v12).
        topic: String [0..=12],
        /// The topic id (v13+, where it takes the name's place).
        topic_id: Uuid [13..],
        /// The partitions to fetch.
        partitions: Vec<FetchPartition> [0..],
    }
}

kafka_struct! {
    /// One partition to fetch in a [`FetchTopic`].
    pub struct FetchPartition {
        /// The partition index.
        partition: i32 [0..],
        /// The leader epoch the sender knows, or -1 (v9+; KIP-320).
        current_leader_epoch: i32 [9..] default -1,
        /// The offset to read from.
        fetch_offset: i64 [0..],
        /// The epoch of the last record fetched, or -1 when none (v12+).
        last_fetched_epoch: i32 [12..] default -1,
        /// The follower's log start offset, or -1; only followers set it (v5+).
        log_start_offset: i64 [5..] default -1,
        /// An upper bound on the bytes returned for this partition.
        partition_max_bytes: i32 [0..],
        /// The log directory of the fetching follower (v17+, tagged).
        replica_directory_id: Uuid [17..] tag 0,
        /// The high watermark the follower knows: -1 when unknown,
        /// `i64::MAX` when the follower does not track it (v18+, tagged).
        high_watermark: i64 [18..] tag 1 default i64::MAX,
    }
}

kafka_struct! {
    /// Partitions to remove from a fetch session in a [`FetchRequest`] (v7+).
    pub struct ForgottenTopic {
        /// The topic name (v7–v12).
        topic: String [7..=12],
        /// The topic id (v13+, where it takes the name's place).
        topic_id: Uuid [13..],
        /// The partition indexes to forget.
        partitions: Vec<i32> [7..],
    }
}

kafka_struct! {
    /// Fetch response, versions 4–18.
    pub struct FetchResponse {
        /// How long, in milliseconds, the broker throttled this request for a
        /// quota violation; 0 when it did not (v1+).
        throttle_time_ms: i32 [1..],
        /// An error for the whole request, or 0 (v7+).
        error_code: i16 [7..],
        /// The fetch session id, or 0 outside a session (v7+).
        session_id: i32 [7..],
        /// The data for each topic fetched.
        responses: Vec<FetchableTopicResponse> [0..],
        /// Where to reach the new leaders named in partitions that failed with
        /// NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH (v16+, tagged; KIP-951).
        node_endpoints: Vec<NodeEndpoint> [16..] tag 0,
    }
}

kafka_struct! {
    /// A broker's address in a [`FetchResponse`] (v16+).
    pub struct NodeEndpoint {
        /// The broker id.
        node_id: i32 [16..],
        /// The broker host name.
        host: String [16..],
        /// The broker port.
        port: i32 [16..],
        /// The broker's rack, or null when it has none.
        rack: Option<String> [16..],
    }
}

kafka_struct! {
    /// The data for one topic in a [`FetchResponse`].
    pub struct FetchableTopicResponse {
        /// The topic name (up to v12).
        topic: String [0..=12],
        /// The topic id (v13+, where it takes the name's place).
        topic_id: Uuid [13..],
        /// The data for each partition.
        partitions: Vec<PartitionData> [0..],
    }
}

kafka_struct! {
    /// The data for one partition in a [`FetchableTopicResponse`].
    pub struct PartitionData {
        /// The partition index.
        partition_index: i32 [0..],
        /// The error code, or 0 on success.
        error_code: i16 [0..],
        /// The partition's high watermark.
        high_watermark: i64 [0..],
        /// The last stable offset: every transactional record below it is
        /// committed or aborted; -1 when unknown (v4+).
        last_stable_offset: i64 [4..] default -1,
        /// The partition's log start offset, or -1 (v5+).
        log_start_offset: i64 [5..] default -1,
        /// Where the follower's log diverges from the leader's, when the
        /// leader detected it from `last_fetched_epoch` (v12+, tagged).
        diverging_epoch: EpochEndOffset [12..] tag 0,
        /// The leader as the broker knows it (v12+, tagged).
        current_leader: LeaderIdAndEpoch [12..] tag 1,
        /// The snapshot to fetch instead when the requested offset is below
        /// the log start offset (v12+, tagged).
        snapshot_id: SnapshotId [12..] tag 2,
        /// The transactions aborted within the returned records, or null
        /// (v4+; filled only for READ_COMMITTED).
        aborted_transactions: Option<Vec<AbortedTransaction>> [4..],
        /// The replica the consumer should fetch from next, or -1 (v11+; KIP-392).
        preferred_read_replica: i32 [11..] default -1,
        /// The encoded record batches (Kafka's `records` type), or null.
        records: Option<Bytes> [0..],
    }
}

kafka_struct! {
    /// A leader epoch and the offset it ends at, in a [`PartitionData`] (v12+).
    pub struct EpochEndOffset {
        /// The leader epoch, or -1.
        epoch: i32 [12..] default -1,
        /// The offset that epoch ends at, or -1.
        end_offset: i64 [12..] default -1,
    }
}

kafka_struct! {
    /// A partition leader and its epoch in a [`PartitionData`] (v12+).
    pub struct LeaderIdAndEpoch {
        /// The leader's broker id, or -1 when unknown.
        leader_id: i32 [12..] default -1,
        /// The leader epoch, or -1 when unknown.
        leader_epoch: i32 [12..] default -1,
    }
}

kafka_struct! {
    /// A snapshot's identity in a [`PartitionData`] (v12+).
    pub struct SnapshotId {
        /// The offset the snapshot ends at, or -1.
        end_offset: i64 [0..] default -1,
        /// The leader epoch of the snapshot, or -1.
        epoch: i32 [0..] default -1,
    }
}

kafka_struct! {
    /// An aborted transaction in a [`PartitionData`] (v4+).
    pub struct AbortedTransaction {
        /// The producer id of the aborted transaction.
        producer_id: i64 [4..],
        /// The offset of the transaction's first record.
        first_offset: i64 [4..],
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
