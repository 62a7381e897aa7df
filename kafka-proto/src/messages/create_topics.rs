//! CreateTopics (API key 19): create topics, for tests and tooling.
//!
//! Versions 0–7 are declared: v1 adds validate-only, v2 throttling, v5
//! switches to the flexible encoding and returns the created topic's
//! configuration (KIP-525), and v7 returns the topic id.

use crate::primitives::Uuid;

kafka_struct! {
    /// CreateTopics request, versions 0–7.
    pub struct CreateTopicsRequest {
        /// The topics to create.
        topics: Vec<CreatableTopic> [0..],
        /// How long, in milliseconds, the controller may take to create them.
        timeout_ms: i32 [0..] default 60000,
        /// Only check that the topics could be created, without creating
        /// them (v1+).
        validate_only: bool [1..],
    }
}

kafka_struct! {
    /// One topic to create in a [`CreateTopicsRequest`].
    pub struct CreatableTopic {
        /// The topic name.
        name: String [0..],
        /// The number of partitions, or -1 for the broker default or when
        /// `assignments` gives them.
        num_partitions: i32 [0..],
        /// The number of replicas of each partition, or -1 for the broker
        /// default or when `assignments` gives them.
        replication_factor: i16 [0..],
        /// A manual placement of the partitions, or empty to let the
        /// controller place them.
        assignments: Vec<CreatableReplicaAssignment> [0..],
        /// Topic configuration entries that differ from the broker defaults.
        configs: Vec<CreatableTopicConfig> [0..],
    }
}

kafka_struct! {
    /// A manual placement of one partition in a [`CreatableTopic`].
    pub struct CreatableReplicaAssignment {
        /// The partition index.
        partition_index: i32 [0..],
        /// The brokers to put the partition's replicas on.
        broker_ids: Vec<i32> [0..],
    }
}

kafka_struct! {
    /// One configuration entry in a [`CreatableTopic`].
    pub struct CreatableTopicConfig {
        /// The configuration key.
        name: String [0..],
        /// The configuration value, or null.
        value: Option<String> [0..],
    }
}

kafka_struct! {
    /// CreateTopics response, versions 0–7.
    pub struct CreateTopicsResponse {
        /// How long, in milliseconds, the broker throttled this request for a
        /// quota violation; 0 when it did not (v2+).
        throttle_time_ms: i32 [2..],
        /// The result for each topic of the request.
        topics: Vec<CreatableTopicResult> [0..],
    }
}

kafka_struct! {
    /// The result for one topic in a [`CreateTopicsResponse`].
    pub struct CreatableTopicResult {
        /// The topic name.
        name: String [0..],
        /// The id of the created topic (v7+).
        topic_id: Uuid [7..],
        /// The error code, or 0 on success.
        error_code: i16 [0..],
        /// A description of the error, or null (v1+).
        error_message: Option<String> [1..],
        /// Why the topic's configuration could not be returned, or 0 (v5+,
        /// tagged).
        topic_config_error_code: i16 [5..] tag 0,
        /// The topic's number of partitions, or -1 (v5+).
        num_partitions: i32 [5..] default -1,
        /// The topic's replication factor, or -1 (v5+).
        replication_factor: i16 [5..] default -1,
        /// The topic's configuration, or null (v5+).
        configs: Option<Vec<CreatableTopicConfigs>> [5..],
    }
}

kafka_struct! {
    /// One configuration entry of a created topic in a
    /// [`CreatableTopicResult`] (v5+).
    pub struct CreatableTopicConfigs {
        /// The configuration key.
        name: String [5..],
        /// The configuration value, or null.
        value: Option<String> [5..],
        /// Whether the entry cannot be changed.
        read_only: bool [5..],
        /// Where the value comes from (a `ConfigSource` code), or -1.
        config_source: i8 [5..] default -1,
        /// Whether the value is sensitive (and so hidden).
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
