//! ListOffsets (API key 2): look up offsets by timestamp (earliest, latest, ...).

kafka_struct! {
    /// ListOffsetsRequest.
    pub struct ListOffsetsRequest {
        /// Replica id.
        replica_id: i32 [0..],
        /// Isolation level (v2+).
        isolation_level: i8 [2..],
        /// Topics.
        topics: Vec<ListOffsetsTopic> [0..],
        /// Timeout ms (v10+).
        timeout_ms: i32 [10..],
    }
}

kafka_struct! {
    /// ListOffsetsTopic.
    pub struct ListOffsetsTopic {
        /// Name.
        name: String [0..],
        /// Partitions.
        partitions: Vec<ListOffsetsPartition> [0..],
    }
}

kafka_struct! {
    /// ListOffsetsPartition.
    pub struct ListOffsetsPartition {
        /// Partition index.
        partition_index: i32 [0..],
        /// Current leader epoch (v4+).
        current_leader_epoch: i32 [4..] default -1,
        /// Timestamp.
        timestamp: i64 [0..],
        /// Max num offsets (v0).
        max_num_offsets: i32 [0..=0] default 1,
    }
}

kafka_struct! {
    /// ListOffsetsResponse.
    pub struct ListOffsetsResponse {
        /// Throttle time ms (v2+).
        throttle_time_ms: i32 [2..],
        /// Topics.
        topics: Vec<ListOffsetsTopicResponse> [0..],
    }
}

kafka_struct! {
    /// ListOffsetsTopicResponse.
    pub struct ListOffsetsTopicResponse {
        /// Name.
        name: String [0..],
        /// Partitions.
        partitions: Vec<ListOffsetsPartitionResponse> [0..],
    }
}

kafka_struct! {
    /// ListOffsetsPartitionResponse.
    pub struct ListOffsetsPartitionResponse {
        /// Partition index.
        partition_index: i32 [0..],
        /// Error code.
        error_code: i16 [0..],
        /// Old style offsets (v0).
        old_style_offsets: Vec<i64> [0..=0],
        /// Timestamp (v1+).
        timestamp: i64 [1..] default -1,
        /// Offset (v1+).
        offset: i64 [1..] default -1,
        /// Leader epoch (v4+).
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
