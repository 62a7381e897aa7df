//! Produce (API key 0): write record batches to partition leaders.

use crate::primitives::Uuid;
use bytes::Bytes;

kafka_struct! {
    /// ProduceRequest.
    pub struct ProduceRequest {
        /// Transactional id (v3+).
        transactional_id: Option<String> [3..],
        /// Acks.
        acks: i16 [0..],
        /// Timeout ms.
        timeout_ms: i32 [0..],
        /// Topic data.
        topic_data: Vec<TopicProduceData> [0..],
    }
}

kafka_struct! {
    /// TopicProduceData.
    pub struct TopicProduceData {
        /// Name.
        name: String [0..=12],
        /// Topic id (v13+, replaces the name).
        topic_id: Uuid [13..],
        /// Partition data.
        partition_data: Vec<PartitionProduceData> [0..],
    }
}

kafka_struct! {
    /// PartitionProduceData.
    pub struct PartitionProduceData {
        /// Index.
        index: i32 [0..],
        /// Records.
        records: Option<Bytes> [0..],
    }
}

kafka_struct! {
    /// ProduceResponse.
    pub struct ProduceResponse {
        /// Responses.
        responses: Vec<TopicProduceResponse> [0..],
        /// Throttle time ms (v1+).
        throttle_time_ms: i32 [1..],
        /// Node endpoints (v10+).
        node_endpoints: Vec<NodeEndpoint> [10..] tag 0,
    }
}

kafka_struct! {
    /// NodeEndpoint.
    pub struct NodeEndpoint {
        /// Node id (v10+).
        node_id: i32 [10..],
        /// Host (v10+).
        host: String [10..],
        /// Port (v10+).
        port: i32 [10..],
        /// Rack (v10+).
        rack: Option<String> [10..],
    }
}

kafka_struct! {
    /// TopicProduceResponse.
    pub struct TopicProduceResponse {
        /// Name.
        name: String [0..=12],
        /// Topic id (v13+, replaces the name).
        topic_id: Uuid [13..],
        /// Partition responses.
        partition_responses: Vec<PartitionProduceResponse> [0..],
    }
}

kafka_struct! {
    /// PartitionProduceResponse.
    pub struct PartitionProduceResponse {
        /// Index.
        index: i32 [0..],
        /// Error code.
        error_code: i16 [0..],
        /// Base offset.
        base_offset: i64 [0..],
        /// Log append time ms (v2+).
        log_append_time_ms: i64 [2..] default -1,
        /// Log start offset (v5+).
        log_start_offset: i64 [5..] default -1,
        /// Record errors (v8+).
        record_errors: Vec<BatchIndexAndErrorMessage> [8..],
        /// Error message (v8+).
        error_message: Option<String> [8..],
        /// Current leader (v10+).
        current_leader: LeaderIdAndEpoch [10..] tag 0,
    }
}

kafka_struct! {
    /// LeaderIdAndEpoch.
    pub struct LeaderIdAndEpoch {
        /// Leader id (v10+).
        leader_id: i32 [10..] default -1,
        /// Leader epoch (v10+).
        leader_epoch: i32 [10..] default -1,
    }
}

kafka_struct! {
    /// BatchIndexAndErrorMessage.
    pub struct BatchIndexAndErrorMessage {
        /// Batch index (v8+).
        batch_index: i32 [8..],
        /// Batch index error message (v8+).
        batch_index_error_message: Option<String> [8..],
    }
}

kafka_message!(ProduceRequest, api_key: crate::ApiKey::Produce, versions: 3..=13, flexible: 9..);
kafka_message!(ProduceResponse, api_key: crate::ApiKey::Produce, versions: 3..=13, flexible: 9..);
kafka_request!(ProduceRequest => ProduceResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<ProduceRequest>();
        check_round_trip::<ProduceResponse>();
    }
}
