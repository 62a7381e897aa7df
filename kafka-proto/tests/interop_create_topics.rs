//! Cross-checks the CreateTopics declarations against an independent
//! implementation, the `kafka-protocol` crate: the same populated values
//! must encode to the same bytes at every version both support (2–7), and
//! what kafka-protocol encodes must decode with ours and re-encode unchanged.
//! kafka-protocol lacks v0 and v1, so those are checked against bytes laid
//! out by hand from the protocol description.

mod common;
use common::{s, same_bytes};

use bytes::{BufMut, BytesMut};
use kafka_proto::Message;
use kafka_proto::messages::create_topics as ours;
use kafka_proto::primitives::Uuid;
use kafka_protocol::messages as theirs;
use kafka_protocol::messages::create_topics_request as treq;
use kafka_protocol::messages::create_topics_response as tresp;

const ID: [u8; 16] = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16];

fn our_request() -> ours::CreateTopicsRequest {
    ours::CreateTopicsRequest {
        topics: vec![ours::CreatableTopic {
            name: "orders".into(),
            num_partitions: 3,
            replication_factor: 2,
            assignments: vec![ours::CreatableReplicaAssignment {
                partition_index: 1,
                broker_ids: vec![4, 5],
                ..Default::default()
            }],
            configs: vec![
                ours::CreatableTopicConfig {
                    name: "cleanup.policy".into(),
                    value: Some("compact".into()),
                    ..Default::default()
                },
                ours::CreatableTopicConfig {
                    name: "retention.ms".into(),
                    value: None,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        timeout_ms: 30_000,
        validate_only: true,
        ..Default::default()
    }
}

fn our_response() -> ours::CreateTopicsResponse {
    ours::CreateTopicsResponse {
        throttle_time_ms: 11,
        topics: vec![ours::CreatableTopicResult {
            name: "orders".into(),
            topic_id: Uuid(ID),
            error_code: 36,
            error_message: Some("topic exists".into()),
            topic_config_error_code: 29,
            num_partitions: 3,
            replication_factor: 2,
            configs: Some(vec![ours::CreatableTopicConfigs {
                name: "cleanup.policy".into(),
                value: Some("compact".into()),
                read_only: true,
                config_source: 5,
                is_sensitive: true,
                ..Default::default()
            }]),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn request() {
    same_bytes(&our_request(), 2..=7, |_v| {
        theirs::CreateTopicsRequest::default()
            .with_topics(vec![
                treq::CreatableTopic::default()
                    .with_name(theirs::TopicName(s("orders")))
                    .with_num_partitions(3)
                    .with_replication_factor(2)
                    .with_assignments(vec![
                        treq::CreatableReplicaAssignment::default()
                            .with_partition_index(1)
                            .with_broker_ids(vec![theirs::BrokerId(4), theirs::BrokerId(5)]),
                    ])
                    .with_configs(vec![
                        treq::CreatableTopicConfig::default()
                            .with_name(s("cleanup.policy"))
                            .with_value(Some(s("compact"))),
                        treq::CreatableTopicConfig::default()
                            .with_name(s("retention.ms"))
                            .with_value(None),
                    ]),
            ])
            .with_timeout_ms(30_000)
            .with_validate_only(true)
    });
}

#[test]
fn response() {
    same_bytes(&our_response(), 2..=7, |v| {
        theirs::CreateTopicsResponse::default()
            .with_throttle_time_ms(11)
            .with_topics(vec![
                tresp::CreatableTopicResult::default()
                    .with_name(theirs::TopicName(s("orders")))
                    .with_topic_id(if v >= 7 {
                        uuid::Uuid::from_bytes(ID)
                    } else {
                        uuid::Uuid::nil()
                    })
                    .with_error_code(36)
                    .with_error_message(Some(s("topic exists")))
                    .with_topic_config_error_code(if v >= 5 { 29 } else { 0 })
                    .with_num_partitions(if v >= 5 { 3 } else { -1 })
                    .with_replication_factor(if v >= 5 { 2 } else { -1 })
                    .with_configs(if v >= 5 {
                        Some(vec![
                            tresp::CreatableTopicConfigs::default()
                                .with_name(s("cleanup.policy"))
                                .with_value(Some(s("compact")))
                                .with_read_only(true)
                                .with_config_source(5)
                                .with_is_sensitive(true),
                        ])
                    } else {
                        None
                    }),
            ])
    });
}

/// Encodes `m` at `version`, checks it against `expected`, and decodes it back.
fn check_bytes<M: Message>(m: &M, version: i16, expected: &[u8]) {
    let mut out = BytesMut::new();
    m.encode(&mut out, version).unwrap();
    assert_eq!(&out[..], expected, "v{version}");
    assert_eq!(&M::decode(out.freeze(), version).unwrap(), m, "v{version}");
}

fn put_str(b: &mut BytesMut, x: &str) {
    b.put_i16(x.len() as i16);
    b.put_slice(x.as_bytes());
}

#[test]
fn request_v0_v1_by_hand() {
    for v in 0..=1 {
        let mut b = BytesMut::new();
        b.put_i32(1); // topics
        put_str(&mut b, "orders");
        b.put_i32(3); // num_partitions
        b.put_i16(2); // replication_factor
        b.put_i32(1); // assignments
        b.put_i32(1); // partition_index
        b.put_i32(2); // broker_ids
        b.put_i32(4);
        b.put_i32(5);
        b.put_i32(2); // configs
        put_str(&mut b, "cleanup.policy");
        put_str(&mut b, "compact");
        put_str(&mut b, "retention.ms");
        b.put_i16(-1); // null value
        b.put_i32(30_000); // timeout_ms
        let mut expected = our_request();
        if v >= 1 {
            b.put_u8(1); // validate_only
        } else {
            expected.validate_only = false;
        }
        check_bytes(&expected, v, &b);
    }
}

#[test]
fn response_v0_v1_by_hand() {
    for v in 0..=1 {
        let mut b = BytesMut::new();
        b.put_i32(1); // topics
        put_str(&mut b, "orders");
        b.put_i16(36); // error_code
        let mut expected = ours::CreateTopicsResponse {
            topics: vec![ours::CreatableTopicResult {
                name: "orders".into(),
                error_code: 36,
                ..Default::default()
            }],
            ..Default::default()
        };
        if v >= 1 {
            put_str(&mut b, "topic exists"); // error_message
            expected.topics[0].error_message = Some("topic exists".into());
        }
        check_bytes(&expected, v, &b);
    }
}
