//! Metadata (API key 3): brokers, topics, partitions and their leaders.

use crate::primitives::Uuid;

kafka_struct! {
    /// Metadata request, versions 0–13.
    pub struct MetadataRequest {
        /// The topics to fetch metadata for. In v0 an empty array means all
        /// topics; from v1 null means all topics and empty means none.
        topics: Option<Vec<MetadataRequestTopic>> [0..] nullable [1..],
        /// Whether the broker may auto-create requested topics that do not
        /// exist (v4+; earlier versions always may).
        allow_auto_topic_creation: bool [4..] default true,
        /// Whether to include cluster authorized operations (v8–v10).
        include_cluster_authorized_operations: bool [8..=10],
        /// Whether to include topic authorized operations (v8+).
        include_topic_authorized_operations: bool [8..],
    }
}

kafka_struct! {
    /// A topic in a [`MetadataRequest`].
    pub struct MetadataRequestTopic {
        /// The topic id (v10+).
        topic_id: Uuid [10..],
        /// The topic name (nullable from v10, when the id is given instead).
        name: Option<String> [0..] nullable [10..],
    }
}

kafka_struct! {
    /// Metadata response, versions 0–13.
    pub struct MetadataResponse {
        /// Throttle time in milliseconds (v3+).
        throttle_time_ms: i32 [3..],
        /// Each broker in the response.
        brokers: Vec<MetadataResponseBroker> [0..],
        /// The cluster id (v2+), or null.
        cluster_id: Option<String> [2..],
        /// The id of the controller broker (v1+), or -1.
        controller_id: i32 [1..] default -1,
        /// Each topic in the response.
        topics: Vec<MetadataResponseTopic> [0..],
        /// Cluster authorized operations bitfield (v8–v10).
        cluster_authorized_operations: i32 [8..=10] default i32::MIN,
        /// Top-level error code (v13+, e.g. REBOOTSTRAP_REQUIRED).
        error_code: i16 [13..],
    }
}

kafka_struct! {
    /// A broker in a [`MetadataResponse`].
    pub struct MetadataResponseBroker {
        /// The broker id.
        node_id: i32 [0..],
        /// The broker host name.
        host: String [0..],
        /// The broker port.
        port: i32 [0..],
        /// The broker's rack (v1+), or null.
        rack: Option<String> [1..],
    }
}

kafka_struct! {
    /// A topic in a [`MetadataResponse`].
    pub struct MetadataResponseTopic {
        /// The topic error, or 0.
        error_code: i16 [0..],
        /// The topic name (nullable from v12).
        name: Option<String> [0..] nullable [12..],
        /// The topic id (v10+).
        topic_id: Uuid [10..],
        /// Whether the topic is internal (v1+).
        is_internal: bool [1..],
        /// Each partition of the topic.
        partitions: Vec<MetadataResponsePartition> [0..],
        /// Topic authorized operations bitfield (v8+).
        topic_authorized_operations: i32 [8..] default i32::MIN,
    }
}

kafka_struct! {
    /// A partition in a [`MetadataResponseTopic`].
    pub struct MetadataResponsePartition {
        /// The partition error, or 0.
        error_code: i16 [0..],
        /// The partition index.
        partition_index: i32 [0..],
        /// The id of the leader broker.
        leader_id: i32 [0..],
        /// The leader epoch (v7+), or -1.
        leader_epoch: i32 [7..] default -1,
        /// All replicas of the partition.
        replica_nodes: Vec<i32> [0..],
        /// The in-sync replicas.
        isr_nodes: Vec<i32> [0..],
        /// The offline replicas (v5+).
        offline_replicas: Vec<i32> [5..],
    }
}

kafka_message!(MetadataRequest, api_key: crate::ApiKey::Metadata, versions: 0..=13, flexible: 9..);
kafka_message!(MetadataResponse, api_key: crate::ApiKey::Metadata, versions: 0..=13, flexible: 9..);
kafka_request!(MetadataRequest => MetadataResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<MetadataRequest>();
        check_round_trip::<MetadataResponse>();
    }
}
