//! Cross-checks the Produce declarations against an independent
//! implementation, the `kafka-protocol` crate: the same populated values
//! must encode to the same bytes at every version both support (3–13), and
//! what kafka-protocol encodes must decode with ours and re-encode unchanged.

mod common;
use common::{s, same_bytes};

use bytes::Bytes;
use kafka_proto::messages::produce as ours;
use kafka_proto::primitives::Uuid;
use kafka_protocol::messages as theirs;
use kafka_protocol::messages::produce_request as treq;
use kafka_protocol::messages::produce_response as tresp;

const ID: [u8; 16] = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16];

/// The topic id at versions that carry it, the nil id elsewhere.
fn topic_id(v: i16) -> uuid::Uuid {
    if v >= 13 {
        uuid::Uuid::from_bytes(ID)
    } else {
        uuid::Uuid::nil()
    }
}

/// The topic name at versions that carry it, empty elsewhere.
fn topic_name(v: i16) -> theirs::TopicName {
    theirs::TopicName(s(if v <= 12 { "orders" } else { "" }))
}

#[test]
fn request() {
    let o = ours::ProduceRequest {
        transactional_id: Some("txn-1".into()),
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![ours::TopicProduceData {
            name: "orders".into(),
            topic_id: Uuid(ID),
            partition_data: vec![
                ours::PartitionProduceData {
                    index: 2,
                    records: Some(Bytes::from_static(b"not really a batch")),
                    ..Default::default()
                },
                ours::PartitionProduceData {
                    index: 5,
                    records: None,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    };
    same_bytes(&o, 3..=13, |v| {
        theirs::ProduceRequest::default()
            .with_transactional_id(Some(theirs::TransactionalId(s("txn-1"))))
            .with_acks(-1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![
                treq::TopicProduceData::default()
                    .with_name(topic_name(v))
                    .with_topic_id(topic_id(v))
                    .with_partition_data(vec![
                        treq::PartitionProduceData::default()
                            .with_index(2)
                            .with_records(Some(Bytes::from_static(b"not really a batch"))),
                        treq::PartitionProduceData::default()
                            .with_index(5)
                            .with_records(None),
                    ]),
            ])
    });
}

#[test]
fn response() {
    let o = ours::ProduceResponse {
        responses: vec![ours::TopicProduceResponse {
            name: "orders".into(),
            topic_id: Uuid(ID),
            partition_responses: vec![ours::PartitionProduceResponse {
                index: 2,
                error_code: 6,
                base_offset: 1_000,
                log_append_time_ms: 1_700_000_000_123,
                log_start_offset: 17,
                record_errors: vec![ours::BatchIndexAndErrorMessage {
                    batch_index: 3,
                    batch_index_error_message: Some("bad record".into()),
                    ..Default::default()
                }],
                error_message: Some("batch rejected".into()),
                current_leader: ours::LeaderIdAndEpoch {
                    leader_id: 4,
                    leader_epoch: 9,
                    ..Default::default()
                },
                ..Default::default()
            }],
            ..Default::default()
        }],
        throttle_time_ms: 11,
        node_endpoints: vec![ours::NodeEndpoint {
            node_id: 4,
            host: "broker-4".into(),
            port: 9093,
            rack: Some("r2".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    same_bytes(&o, 3..=13, |v| {
        theirs::ProduceResponse::default()
            .with_responses(vec![
                tresp::TopicProduceResponse::default()
                    .with_name(topic_name(v))
                    .with_topic_id(topic_id(v))
                    .with_partition_responses(vec![
                        tresp::PartitionProduceResponse::default()
                            .with_index(2)
                            .with_error_code(6)
                            .with_base_offset(1_000)
                            .with_log_append_time_ms(1_700_000_000_123)
                            .with_log_start_offset(if v >= 5 { 17 } else { -1 })
                            .with_record_errors(if v >= 8 {
                                vec![
                                    tresp::BatchIndexAndErrorMessage::default()
                                        .with_batch_index(3)
                                        .with_batch_index_error_message(Some(s("bad record"))),
                                ]
                            } else {
                                vec![]
                            })
                            .with_error_message(if v >= 8 {
                                Some(s("batch rejected"))
                            } else {
                                None
                            })
                            .with_current_leader(if v >= 10 {
                                tresp::LeaderIdAndEpoch::default()
                                    .with_leader_id(theirs::BrokerId(4))
                                    .with_leader_epoch(9)
                            } else {
                                Default::default()
                            }),
                    ]),
            ])
            .with_throttle_time_ms(11)
            .with_node_endpoints(if v >= 10 {
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
