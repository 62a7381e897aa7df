//! CreateTopics (API key 19): create topics (tests and tooling).

use crate::primitives::Uuid;

kafka_struct! {
    /// CreateTopicsRequest.
    pub struct CreateTopicsRequest {
        /// Topics.
        topics: Vec<CreatableTopic> [0..],
        /// Timeout ms.
        timeout_ms: i32 [0..] default 60000,
        /// Validate only (v1+).
        validate_only: bool [1..],
    }
}

kafka_struct! {
    /// CreatableTopic.
    pub struct CreatableTopic {
        /// Name.
        name: String [0..],
        /// Num partitions.
        num_partitions: i32 [0..],
        /// Replication factor.
        replication_factor: i16 [0..],
        /// Assignments.
        assignments: Vec<CreatableReplicaAssignment> [0..],
        /// Configs.
        configs: Vec<CreatableTopicConfig> [0..],
    }
}

kafka_struct! {
    /// CreatableTopicConfig.
    pub struct CreatableTopicConfig {
        /// Name.
        name: String [0..],
        /// Value.
        value: Option<String> [0..],
    }
}

kafka_struct! {
    /// CreatableReplicaAssignment.
    pub struct CreatableReplicaAssignment {
        /// Partition index.
        partition_index: i32 [0..],
        /// Broker ids.
        broker_ids: Vec<i32> [0..],
    }
}

kafka_struct! {
    /// CreateTopicsResponse.
    pub struct CreateTopicsResponse {
        /// Throttle time ms (v2+).
        throttle_time_ms: i32 [2..],
        /// Topics.
        topics: Vec<CreatableTopicResult> [0..],
    }
}

kafka_struct! {
    /// CreatableTopicResult.
    pub struct CreatableTopicResult {
        /// Name.
        name: String [0..],
        /// Topic id (v7+).
        topic_id: Uuid [7..],
        /// Error code.
        error_code: i16 [0..],
        /// Error message (v1+).
        error_message: Option<String> [1..] nullable [0..],
        /// Topic config error code (v5+).
        topic_config_error_code: i16 [5..] tag 0,
        /// Num partitions (v5+).
        num_partitions: i32 [5..] default -1,
        /// Replication factor (v5+).
        replication_factor: i16 [5..] default -1,
        /// Configs (v5+).
        configs: Option<Vec<CreatableTopicConfigs>> [5..],
    }
}

kafka_struct! {
    /// CreatableTopicConfigs.
    pub struct CreatableTopicConfigs {
        /// Name (v5+).
        name: String [5..],
        /// Value (v5+).
        value: Option<String> [5..],
        /// Read only (v5+).
        read_only: bool [5..],
        /// Config source (v5+).
        config_source: i8 [5..] default -1,
        /// Is sensitive (v5+).
        is_sensitive: bool [5..],
    }
}

kafka_message!(CreateTopicsRequest, api_key: crate::ApiKey::CreateTopics, versions: 0..=7, flexible: 5..);
kafka_message!(CreateTopicsResponse, api_key: crate::ApiKey::CreateTopics, versions: 0..=7, flexible: 5..);
kafka_request!(CreateTopicsRequest => CreateTopicsResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<CreateTopicsRequest>();
        check_round_trip::<CreateTopicsResponse>();
    }
}
