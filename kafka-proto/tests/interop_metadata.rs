//! Cross-checks our message declarations against an independent
//! implementation, the `kafka-protocol` crate (generated from Apache Kafka's
//! JSON schemas): the same values must encode to the same bytes at every
//! version both support, and what they encode must decode with ours and
//! re-encode unchanged.

mod common;
use common::{s, same_bytes};

mod metadata {
    use super::*;
    use kafka_proto::messages::metadata as ours;
    use kafka_proto::primitives::Uuid;
    use kafka_protocol::messages as theirs;

    const ID: [u8; 16] = [7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    #[test]
    fn request() {
        let o = ours::MetadataRequest {
            topics: Some(vec![ours::MetadataRequestTopic {
                topic_id: Uuid(ID),
                name: Some("orders".into()),
                ..Default::default()
            }]),
            allow_auto_topic_creation: false,
            include_cluster_authorized_operations: true,
            include_topic_authorized_operations: true,
            ..Default::default()
        };
        same_bytes(&o, 0..=13, |v| {
            theirs::MetadataRequest::default()
                .with_topics(Some(vec![
                    theirs::metadata_request::MetadataRequestTopic::default()
                        .with_topic_id(if v >= 10 {
                            uuid::Uuid::from_bytes(ID)
                        } else {
                            uuid::Uuid::nil()
                        })
                        .with_name(Some(theirs::TopicName(s("orders")))),
                ]))
                .with_allow_auto_topic_creation(v < 4)
                .with_include_cluster_authorized_operations((8..=10).contains(&v))
                .with_include_topic_authorized_operations(v >= 8)
        });
    }

    #[test]
    fn response() {
        let o = ours::MetadataResponse {
            throttle_time_ms: 11,
            brokers: vec![ours::MetadataResponseBroker {
                node_id: 3,
                host: "broker-3".into(),
                port: 9092,
                rack: Some("r1".into()),
                ..Default::default()
            }],
            cluster_id: Some("cluster".into()),
            controller_id: 3,
            topics: vec![ours::MetadataResponseTopic {
                error_code: 0,
                name: Some("orders".into()),
                topic_id: Uuid(ID),
                is_internal: true,
                partitions: vec![ours::MetadataResponsePartition {
                    error_code: 6,
                    partition_index: 2,
                    leader_id: 3,
                    leader_epoch: 17,
                    replica_nodes: vec![3, 4],
                    isr_nodes: vec![3],
                    offline_replicas: vec![4],
                    ..Default::default()
                }],
                topic_authorized_operations: 0x55,
                ..Default::default()
            }],
            cluster_authorized_operations: 0x66,
            error_code: 0,
            ..Default::default()
        };
        same_bytes(&o, 0..=13, |v| {
            theirs::MetadataResponse::default()
                .with_throttle_time_ms(if v >= 3 { 11 } else { 0 })
                .with_brokers(vec![
                    theirs::metadata_response::MetadataResponseBroker::default()
                        .with_node_id(theirs::BrokerId(3))
                        .with_host(s("broker-3"))
                        .with_port(9092)
                        .with_rack(if v >= 1 { Some(s("r1")) } else { None }),
                ])
                .with_cluster_id(if v >= 2 { Some(s("cluster")) } else { None })
                .with_controller_id(theirs::BrokerId(if v >= 1 { 3 } else { -1 }))
                .with_topics(vec![
                    theirs::metadata_response::MetadataResponseTopic::default()
                        .with_name(Some(theirs::TopicName(s("orders"))))
                        .with_topic_id(if v >= 10 {
                            uuid::Uuid::from_bytes(ID)
                        } else {
                            uuid::Uuid::nil()
                        })
                        .with_is_internal(v >= 1)
                        .with_partitions(vec![
                            theirs::metadata_response::MetadataResponsePartition::default()
                                .with_error_code(6)
                                .with_partition_index(2)
                                .with_leader_id(theirs::BrokerId(3))
                                .with_leader_epoch(if v >= 7 { 17 } else { -1 })
                                .with_replica_nodes(vec![theirs::BrokerId(3), theirs::BrokerId(4)])
                                .with_isr_nodes(vec![theirs::BrokerId(3)])
                                .with_offline_replicas(if v >= 5 {
                                    vec![theirs::BrokerId(4)]
                                } else {
                                    vec![]
                                }),
                        ])
                        .with_topic_authorized_operations(if v >= 8 { 0x55 } else { i32::MIN }),
                ])
                .with_cluster_authorized_operations(if (8..=10).contains(&v) {
                    0x66
                } else {
                    i32::MIN
                })
        });
    }
}
