//! Produce (API key 0): hand record batches to partition leaders.
//!
//! Versions 3–13 are declared: v3 is the first that carries record batch v2
//! and a transactional id, v9 switches to the flexible encoding, v10 adds the
//! leader hints of KIP-951 (tagged), and v13 names topics by id instead of by
//! name (KIP-516).

use crate::primitives::Uuid;
use bytes::Bytes;

kafka_struct! {
    /// Produce request, versions 3–13.
    pub struct ProduceRequest {
        /// The transactional id of a transactional producer; null otherwise.
        transactional_id: Option<String> [3..],
        /// How many acknowledgements the leader waits for before answering:
        /// 0 (none, and no response at all), 1 (the leader only) or -1 (every
        /// in-sync replica).
        acks: i16 [0..],
        /// How long, in milliseconds, the leader may wait for the
        /// acknowledgements `acks` asks for.
        timeout_ms: i32 [0..],
        /// The record batches, grouped by topic.
        topic_data: Vec<TopicProduceData> [0..],
    }
}

kafka_struct! {
    /// The batches for one topic in a [`ProduceRequest`].
    pub struct TopicProduceData {
        /// The topic name (up to v12).
        name: String [0..=12],
        /// The topic id (v13+, where it takes the name's place).
        topic_id: Uuid [13..],
        /// The batches, one entry per partition.
        partition_data: Vec<PartitionProduceData> [0..],
    }
}

kafka_struct! {
    /// The batches for one partition in a [`TopicProduceData`].
    pub struct PartitionProduceData {
        /// The partition index.
        index: i32 [0..],
        /// The encoded record batches (Kafka's `records` type), or null.
        records: Option<Bytes> [0..],
    }
}

kafka_struct! {
    /// Produce response, versions 3–13.
    pub struct ProduceResponse {
        /// The outcome for each topic of the request.
        responses: Vec<TopicProduceResponse> [0..],
        /// How long, in milliseconds, the broker throttled this request for a
        /// quota violation; 0 when it did not.
        throttle_time_ms: i32 [1..],
        /// Where to reach the new leaders named in partition responses that
        /// failed with NOT_LEADER_OR_FOLLOWER (v10+, tagged; KIP-951).
        node_endpoints: Vec<NodeEndpoint> [10..] tag 0,
    }
}

kafka_struct! {
    /// A broker's address in a [`ProduceResponse`] (v10+).
    pub struct NodeEndpoint {
        /// The broker id.
        node_id: i32 [10..],
        /// The broker host name.
        host: String [10..],
        /// The broker port.
        port: i32 [10..],
        /// The broker's rack, or null when it has none.
        rack: Option<String> [10..],
    }
}

kafka_struct! {
    /// The outcome for one topic in a [`ProduceResponse`].
    pub struct TopicProduceResponse {
        /// The topic name (up to v12).
        name: String [0..=12],
        /// The topic id (v13+, where it takes the name's place).
        topic_id: Uuid [13..],
        /// The outcome for each partition written to.
        partition_responses: Vec<PartitionProduceResponse> [0..],
    }
}

kafka_struct! {
    /// The outcome for one partition in a [`TopicProduceResponse`].
    pub struct PartitionProduceResponse {
        /// The partition index.
        index: i32 [0..],
        /// The error code, or 0 on success.
        error_code: i16 [0..],
        /// The offset the leader gave the first record of the batch.
        base_offset: i64 [0..],
        /// The broker's append time in milliseconds when the topic uses
        /// LogAppendTime, or -1 when it uses CreateTime (v2+).
        log_append_time_ms: i64 [2..] default -1,
        /// The partition's log start offset, or -1 (v5+).
        log_start_offset: i64 [5..] default -1,
        /// The records that made the leader reject the batch (v8+).
        record_errors: Vec<BatchIndexAndErrorMessage> [8..],
        /// A summary of why the batch was rejected, or null (v8+).
        error_message: Option<String> [8..],
        /// The leader as the broker knows it, sent with
        /// NOT_LEADER_OR_FOLLOWER (v10+, tagged; KIP-951).
        current_leader: LeaderIdAndEpoch [10..] tag 0,
    }
}

kafka_struct! {
    /// A partition leader and its epoch in a [`PartitionProduceResponse`] (v10+).
    pub struct LeaderIdAndEpoch {
        /// The leader's broker id, or -1 when unknown.
        leader_id: i32 [10..] default -1,
        /// The leader epoch, or -1 when unknown.
        leader_epoch: i32 [10..] default -1,
    }
}

kafka_struct! {
    /// One rejected record in a [`PartitionProduceResponse`] (v8+).
    pub struct BatchIndexAndErrorMessage {
        /// The index of the record within its batch.
        batch_index: i32 [8..],
        /// Why that record was rejected, or null.
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
