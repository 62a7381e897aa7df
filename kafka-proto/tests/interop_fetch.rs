//! Cross-checks the Fetch declarations against an independent
//! implementation, the `kafka-protocol` crate: the same populated values
//! must encode to the same bytes at every version both support (4–18), and
//! what kafka-protocol encodes must decode with ours and re-encode unchanged.

mod common;
use common::{s, same_bytes};

use bytes::Bytes;
use kafka_proto::messages::fetch as ours;
use kafka_proto::primitives::Uuid;
use kafka_protocol::messages as theirs;
use kafka_protocol::messages::fetch_request as treq;
use kafka_protocol::messages::fetch_response as tresp;

const ID: [u8; 16] = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16];
const OLD_ID: [u8; 16] = [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 0, 1, 2];
const DIR_ID: [u8; 16] = [0xd1; 16];

/// `id` at versions that carry topic ids, the nil id elsewhere.
fn topic_id(v: i16, id: [u8; 16]) -> uuid::Uuid {
    if v >= 13 {
        uuid::Uuid::from_bytes(id)
    } else {
        uuid::Uuid::nil()
    }
}

/// `name` at versions that carry topic names, empty elsewhere.
fn topic_name(v: i16, name: &str) -> theirs::TopicName {
    theirs::TopicName(s(if v <= 12 { name } else { "" }))
}

#[test]
fn request() {
    let o = ours::FetchRequest {
        cluster_id: Some("cluster-a".into()),
        replica_id: 5,
        replica_state: ours::ReplicaState {
            replica_id: 5,
            replica_epoch: 77,
            ..Default::default()
        },
        max_wait_ms: 500,
        min_bytes: 1,
        max_bytes: 52_428_800,
        isolation_level: 1,
        session_id: 123,
        session_epoch: 8,
        topics: vec![ours::FetchTopic {
            topic: "orders".into(),
            topic_id: Uuid(ID),
            partitions: vec![ours::FetchPartition {
                partition: 2,
                current_leader_epoch: 9,
                fetch_offset: 1_000,
                last_fetched_epoch: 8,
                log_start_offset: 10,
                partition_max_bytes: 1_048_576,
                replica_directory_id: Uuid(DIR_ID),
                high_watermark: 2_000,
                ..Default::default()
            }],
            ..Default::default()
        }],
        forgotten_topics_data: vec![ours::ForgottenTopic {
            topic: "old".into(),
            topic_id: Uuid(OLD_ID),
            partitions: vec![4, 5],
            ..Default::default()
        }],
        rack_id: "rack-1".into(),
        ..Default::default()
    };
    same_bytes(&o, 4..=18, |v| {
        theirs::FetchRequest::default()
            .with_cluster_id(if v >= 12 { Some(s("cluster-a")) } else { None })
            .with_replica_id(theirs::BrokerId(if v <= 14 { 5 } else { -1 }))
            .with_replica_state(if v >= 15 {
                treq::ReplicaState::default()
                    .with_replica_id(theirs::BrokerId(5))
                    .with_replica_epoch(77)
            } else {
                Default::default()
            })
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(52_428_800)
            .with_isolation_level(1)
            .with_session_id(if v >= 7 { 123 } else { 0 })
            .with_session_epoch(if v >= 7 { 8 } else { -1 })
            .with_topics(vec![
                treq::FetchTopic::default()
                    .with_topic(topic_name(v, "orders"))
                    .with_topic_id(topic_id(v, ID))
                    .with_partitions(vec![
                        treq::FetchPartition::default()
                            .with_partition(2)
                            .with_current_leader_epoch(if v >= 9 { 9 } else { -1 })
                            .with_fetch_offset(1_000)
                            .with_last_fetched_epoch(if v >= 12 { 8 } else { -1 })
                            .with_log_start_offset(if v >= 5 { 10 } else { -1 })
                            .with_partition_max_bytes(1_048_576)
                            .with_replica_directory_id(if v >= 17 {
                                uuid::Uuid::from_bytes(DIR_ID)
                            } else {
                                uuid::Uuid::nil()
                            })
                            .with_high_watermark(if v >= 18 { 2_000 } else { i64::MAX }),
                    ]),
            ])
            .with_forgotten_topics_data(if v >= 7 {
                vec![
                    treq::ForgottenTopic::default()
                        .with_topic(topic_name(v, "old"))
                        .with_topic_id(topic_id(v, OLD_ID))
                        .with_partitions(vec![4, 5]),
                ]
            } else {
                vec![]
            })
            .with_rack_id(s(if v >= 11 { "rack-1" } else { "" }))
    });
}

#[test]
fn response() {
    let o = ours::FetchResponse {
        throttle_time_ms: 11,
        error_code: 7,
        session_id: 123,
        responses: vec![ours::FetchableTopicResponse {
            topic: "orders".into(),
            topic_id: Uuid(ID),
            partitions: vec![
                ours::PartitionData {
                    partition_index: 2,
                    error_code: 6,
                    high_watermark: 2_000,
                    last_stable_offset: 1_900,
                    log_start_offset: 10,
                    diverging_epoch: ours::EpochEndOffset {
                        epoch: 7,
                        end_offset: 1_500,
                        ..Default::default()
                    },
                    current_leader: ours::LeaderIdAndEpoch {
                        leader_id: 4,
                        leader_epoch: 9,
                        ..Default::default()
                    },
                    snapshot_id: ours::SnapshotId {
                        end_offset: 1_400,
                        epoch: 6,
                        ..Default::default()
                    },
                    aborted_transactions: Some(vec![ours::AbortedTransaction {
                        producer_id: 42,
                        first_offset: 1_200,
                        ..Default::default()
                    }]),
                    preferred_read_replica: 3,
                    records: Some(Bytes::from_static(b"not really a batch")),
                    ..Default::default()
                },
                ours::PartitionData {
                    partition_index: 3,
                    error_code: 1,
                    high_watermark: 50,
                    aborted_transactions: None,
                    records: None,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        node_endpoints: vec![ours::NodeEndpoint {
            node_id: 4,
            host: "broker-4".into(),
            port: 9093,
            rack: Some("r2".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    same_bytes(&o, 4..=18, |v| {
        theirs::FetchResponse::default()
            .with_throttle_time_ms(11)
            .with_error_code(if v >= 7 { 7 } else { 0 })
            .with_session_id(if v >= 7 { 123 } else { 0 })
            .with_responses(vec![
                tresp::FetchableTopicResponse::default()
                    .with_topic(topic_name(v, "orders"))
                    .with_topic_id(topic_id(v, ID))
                    .with_partitions(vec![
                        tresp::PartitionData::default()
                            .with_partition_index(2)
                            .with_error_code(6)
                            .with_high_watermark(2_000)
                            .with_last_stable_offset(1_900)
                            .with_log_start_offset(if v >= 5 { 10 } else { -1 })
                            .with_diverging_epoch(if v >= 12 {
                                tresp::EpochEndOffset::default()
                                    .with_epoch(7)
                                    .with_end_offset(1_500)
                            } else {
                                Default::default()
                            })
                            .with_current_leader(if v >= 12 {
                                tresp::LeaderIdAndEpoch::default()
                                    .with_leader_id(theirs::BrokerId(4))
                                    .with_leader_epoch(9)
                            } else {
                                Default::default()
                            })
                            .with_snapshot_id(if v >= 12 {
                                tresp::SnapshotId::default()
                                    .with_end_offset(1_400)
                                    .with_epoch(6)
                            } else {
                                Default::default()
                            })
                            .with_aborted_transactions(Some(vec![
                                tresp::AbortedTransaction::default()
                                    .with_producer_id(theirs::ProducerId(42))
                                    .with_first_offset(1_200),
                            ]))
                            .with_preferred_read_replica(theirs::BrokerId(if v >= 11 {
                                3
                            } else {
                                -1
                            }))
                            .with_records(Some(Bytes::from_static(b"not really a batch"))),
                        tresp::PartitionData::default()
                            .with_partition_index(3)
                            .with_error_code(1)
                            .with_high_watermark(50)
                            .with_aborted_transactions(None)
                            .with_records(None),
                    ]),
            ])
            .with_node_endpoints(if v >= 16 {
                vec![
                    tresp::NodeEndpoint::default()
                        .with_node_id(theirs::BrokerId(4))
                        .with_host(s("broker-4"))
                        .with_port(9093)
                        .with_rack(Some(s("r2"))),
                ]
            } else {
                vec![]
            })
    });
}
