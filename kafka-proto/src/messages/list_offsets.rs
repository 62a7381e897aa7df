//! ListOffsets (API key 2): find the offset that matches a timestamp, or one
//! of the special timestamps (-1 latest, -2 earliest, -3 max timestamp, ...).
//!
//! Versions 0–10 are declared: v0 answers with a list of offsets, v1 with a
//! single offset and its timestamp, v2 adds the isolation level, v4 leader
//! epochs, v6 switches to the flexible encoding and v10 adds a timeout for
//! lookups in tiered storage.

kafka_struct! {
    /// ListOffsets request, versions 0–10.
    pub struct ListOffsetsRequest {
        /// The requesting follower's broker id, or -1 for a client.
        replica_id: i32 [0..],
        /// 0 (READ_UNCOMMITTED) to look at every record, 1 (READ_COMMITTED)
        /// to stay below the last stable offset (v2+).
        isolation_level: i8 [2..],
        /// The partitions to look up, grouped by topic.
        topics: Vec<ListOffsetsTopic> [0..],
        /// How long, in milliseconds, a lookup in tiered storage may take (v10+).
        timeout_ms: i32 [10..],
    }
}

kafka_struct! {
    /// One topic in a [`ListOffsetsRequest`].
    pub struct ListOffsetsTopic {
        /// The topic name.
        name: String [0..],
        /// The partitions to look up.
        partitions: Vec<ListOffsetsPartition> [0..],
    }
}

kafka_struct! {
    /// One partition in a [`ListOffsetsTopic`].
    pub struct ListOffsetsPartition {
        /// The partition index.
        partition_index: i32 [0..],
        /// The leader epoch the sender knows, or -1 (v4+; KIP-320).
        current_leader_epoch: i32 [4..] default -1,
        /// The timestamp to look up in milliseconds, or a special value
        /// (-1 latest, -2 earliest, ...).
        timestamp: i64 [0..],
        /// How many offsets to return (v0 only).
        max_num_offsets: i32 [0..=0] default 1,
    }
}

kafka_struct! {
    /// ListOffsets response, versions 0–10.
    pub struct ListOffsetsResponse {
        /// How long, in milliseconds, the broker throttled this request for a
        /// quota violation; 0 when it did not (v2+).
        throttle_time_ms: i32 [2..],
        /// The results, grouped by topic.
        topics: Vec<ListOffsetsTopicResponse> [0..],
    }
}

kafka_struct! {
    /// One topic in a [`ListOffsetsResponse`].
    pub struct ListOffsetsTopicResponse {
        /// The topic name.
        name: String [0..],
        /// The result for each partition.
        partitions: Vec<ListOffsetsPartitionResponse> [0..],
    }
}

kafka_struct! {
    /// One partition in a [`ListOffsetsTopicResponse`].
    pub struct ListOffsetsPartitionResponse {
        /// The partition index.
        partition_index: i32 [0..],
        /// The error code, or 0 on success.
        error_code: i16 [0..],
        /// The offsets found (v0 only).
        old_style_offsets: Vec<i64> [0..=0],
        /// The timestamp of the record at `offset`, or -1 (v1+).
        timestamp: i64 [1..] default -1,
        /// The offset found, or -1 (v1+).
        offset: i64 [1..] default -1,
        /// The leader epoch of the record at `offset`, or -1 (v4+).
        leader_epoch: i32 [4..] default -1,
    }
}

kafka_message!(ListOffsetsRequest, api_key: crate::ApiKey::ListOffsets, versions: 0..=10, flexible: 6..);
kafka_message!(ListOffsetsResponse, api_key: crate::ApiKey::ListOffsets, versions: 0..=10, flexible: 6..);
kafka_request!(ListOffsetsRequest => ListOffsetsResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<ListOffsetsRequest>();
        check_round_trip::<ListOffsetsResponse>();
    }
}
