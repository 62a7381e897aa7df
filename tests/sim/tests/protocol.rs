//! Requests and answers, without faults.

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use common::*;
use kafka_proto::compression::Compression;
use kafka_proto::messages::api_versions::{ApiVersionsRequest, ApiVersionsResponse};
use kafka_proto::messages::create_topics::{CreatableTopic, CreateTopicsRequest};
use kafka_proto::messages::find_coordinator::FindCoordinatorRequest;
use kafka_proto::messages::list_offsets::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use kafka_proto::messages::metadata::{MetadataRequest, MetadataRequestTopic};
use kafka_proto::messages::produce::ProduceRequest;
use kafka_proto::record::set_base_offset;
use kafka_proto::{ApiKey, ErrorCode, frame};
use kafka_sim::{
    BrokerConfig, ClusterSpec, Faults, InitProducerIdPolicy, NetOutput, SimCluster, wire,
};

fn metadata_for(names: &[&str]) -> MetadataRequest {
    MetadataRequest {
        topics: Some(
            names
                .iter()
                .map(|n| MetadataRequestTopic {
                    name: Some(n.to_string()),
                    ..Default::default()
                })
                .collect(),
        ),
        allow_auto_topic_creation: true,
        ..Default::default()
    }
}

#[test]
fn api_versions_then_metadata_round_trip() {
    let mut h = Harness::new(Harness::topics(&[("t", 3)], &[1, 2, 3]), Faults::none(), 1);
    let conn = h.connect(2);
    let versions = h.call(
        conn,
        4,
        &ApiVersionsRequest {
            client_software_name: "kafka-rs".into(),
            client_software_version: "0.1.0".into(),
            ..Default::default()
        },
    );
    assert_eq!(versions.error_code, 0);
    let range = |k: ApiKey| {
        let v = versions
            .api_keys
            .iter()
            .find(|v| v.api_key == k.0)
            .expect("advertised");
        (v.min_version, v.max_version)
    };
    assert_eq!(range(ApiKey::Produce), (3, 12));
    assert_eq!(range(ApiKey::Metadata), (0, 12));
    assert_eq!(range(ApiKey::ApiVersions), (0, 4));
    assert_eq!(range(ApiKey::InitProducerId), (0, 5));
    assert!(
        versions
            .api_keys
            .iter()
            .all(|v| v.api_key != ApiKey::Fetch.0)
    );

    for version in [1, 9, 12] {
        let md = h.call(conn, version, &metadata_for(&["t", "missing"]));
        assert_eq!(md.brokers.len(), 3);
        assert_eq!(md.brokers[0].host, "broker-1");
        assert_eq!(md.brokers[0].port, 9092);
        assert_eq!(md.controller_id, 1);
        assert_eq!(md.topics.len(), 2);
        let t = &md.topics[0];
        assert_eq!((t.error_code, t.name.as_deref()), (0, Some("t")));
        assert_eq!(t.partitions.len(), 3);
        for (i, p) in t.partitions.iter().enumerate() {
            assert_eq!(p.partition_index, i as i32);
            assert_eq!(p.leader_id, p.replica_nodes[0]);
            assert_eq!(p.replica_nodes.len(), 3);
            assert_eq!(p.isr_nodes.len(), 3);
        }
        let leaders: Vec<i32> = t.partitions.iter().map(|p| p.leader_id).collect();
        assert_eq!(leaders, [1, 2, 3], "leaders spread round robin");
        assert_eq!(
            md.topics[1].error_code,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0
        );
        if version >= 10 {
            assert_ne!(t.topic_id, kafka_proto::primitives::Uuid::ZERO);
        }
    }
    // Null list (v1+) and empty list (v0) mean every topic.
    let all = h.call(conn, 12, &MetadataRequest::default());
    assert_eq!(all.topics.len(), 1);
    let all_v0 = h.call(
        conn,
        0,
        &MetadataRequest {
            topics: Some(vec![]),
            ..Default::default()
        },
    );
    assert_eq!(all_v0.topics.len(), 1);
    let none_v1 = h.call(
        conn,
        1,
        &MetadataRequest {
            topics: Some(vec![]),
            ..Default::default()
        },
    );
    assert!(none_v1.topics.is_empty());
    assert_eq!(h.cluster.stats().requests_of(ApiKey::Metadata), 6);
}

#[test]
fn api_versions_newer_than_the_broker_gets_the_v0_fallback() {
    let mut h = Harness::new(ClusterSpec::default(), Faults::none(), 1);
    let conn = h.connect(1);
    // ApiVersions v9 (unknown to everyone): header v2, an empty body.
    let mut frame_bytes = BytesMut::new();
    let body_len = 2 + 2 + 4 + 2 + 1 + 1;
    frame_bytes.put_i32(body_len);
    frame_bytes.put_i16(18);
    frame_bytes.put_i16(9);
    frame_bytes.put_i32(77);
    frame_bytes.put_i16(-1); // null client id
    frame_bytes.put_u8(0); // no tagged fields
    frame_bytes.put_u8(0);
    h.cluster.client_send(conn, &frame_bytes, h.now);
    let out = h.drain();
    let NetOutput::Data { bytes, .. } = &out[0].output else {
        panic!("{out:?}")
    };
    // Response header v0 and a v0 body.
    let (cid, body) = frame::decode_response::<ApiVersionsRequest>(bytes.slice(4..), 0).unwrap();
    assert_eq!(cid.correlation_id, 77);
    assert_eq!(body.error_code, ErrorCode::UNSUPPORTED_VERSION.0);
    assert!(
        body.api_keys
            .iter()
            .any(|k| k.api_key == 18 && k.max_version == 4)
    );

    // Invalid client software names are refused (KIP-511).
    let bad = h.call(
        conn,
        3,
        &ApiVersionsRequest {
            client_software_name: "bad name".into(),
            client_software_version: "1".into(),
            ..Default::default()
        },
    );
    assert_eq!(bad.error_code, ErrorCode::INVALID_REQUEST.0);
}

#[test]
fn an_older_broker_advertises_less_and_closes_on_newer_versions() {
    let mut config = BrokerConfig::default();
    config.limit_version(ApiKey::Produce, 8);
    let cluster = SimCluster::with_config(
        Harness::topics(&[("t", 1)], &[1]),
        config,
        Faults::none(),
        3,
    );
    let mut h = Harness::with(cluster);
    let conn = h.connect(1);
    let v: ApiVersionsResponse = h.call(conn, 0, &ApiVersionsRequest::default());
    let produce = v.api_keys.iter().find(|k| k.api_key == 0).unwrap();
    assert_eq!((produce.min_version, produce.max_version), (3, 8));
    let r = h.call(
        conn,
        8,
        &produce_request("t", 0, batch(-1, -1, -1, &["a"]), 1),
    );
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    h.send(
        conn,
        9,
        &produce_request("t", 0, batch(-1, -1, -1, &["b"]), 1),
    );
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].output, NetOutput::Closed { conn });
    assert_eq!(h.cluster.end_offset("t", 0), Some(1));

    // The compatibility setter takes (key, min, max) triples.
    h.cluster.set_api_versions(vec![(18, 0, 3), (3, 0, 9)]);
    let conn = h.connect(1);
    let v: ApiVersionsResponse = h.call(conn, 2, &ApiVersionsRequest::default());
    assert_eq!(v.api_keys.len(), 2);
}

#[test]
fn idempotent_batches_are_appended_and_readable() {
    let mut h = Harness::new(Harness::topics(&[("t", 2)], &[1]), Faults::none(), 1);
    let conn = h.connect(1);
    let (pid, epoch) = h.init_producer_id(conn);
    assert_eq!(epoch, 0);
    let r0 = h.produce(conn, "t", 1, batch(pid, epoch, 0, &["a", "b", "c"]));
    let r1 = h.produce(conn, "t", 1, batch(pid, epoch, 3, &["d"]));
    let r2 = h.produce(
        conn,
        "t",
        1,
        batch_with(Compression::Gzip, pid, epoch, 4, &["e", "f"]),
    );
    for r in [&r0, &r1, &r2] {
        assert_eq!(r.error_code, 0, "{r:?}");
        assert_eq!(r.log_append_time_ms, -1);
        assert_eq!(r.log_start_offset, 0);
    }
    assert_eq!((r0.base_offset, r1.base_offset, r2.base_offset), (0, 3, 4));
    let log = h.cluster.log("t", 1);
    assert_eq!(log.len(), 6);
    let values: Vec<&[u8]> = log.iter().map(|r| r.value.as_deref().unwrap()).collect();
    assert_eq!(values, [b"a", b"b", b"c", b"d", b"e", b"f"]);
    for (i, r) in log.iter().enumerate() {
        assert_eq!(r.offset, i as i64);
        assert_eq!(r.sequence, i as i32);
        assert_eq!((r.producer_id, r.producer_epoch), (pid, 0));
        assert_eq!(
            r.headers,
            vec![(Bytes::from_static(b"h"), Some(Bytes::from_static(b"hv")))]
        );
    }
    assert_eq!(log[4].key.as_deref(), Some(&b"k0"[..]));
    assert_eq!(log[5].timestamp, 1_700_000_000_001);
    assert!(h.cluster.log("t", 0).is_empty());
    assert_eq!(h.cluster.end_offset("t", 1), Some(6));
    let s = h.cluster.stats();
    assert_eq!((s.batches_appended, s.records_appended), (3, 6));

    // Without idempotence: no sequence checks, sequence -1.
    let plain = h.produce(conn, "t", 0, batch(-1, -1, -1, &["x"]));
    assert_eq!((plain.error_code, plain.base_offset), (0, 0));
    assert_eq!(h.cluster.log("t", 0)[0].sequence, -1);
}

#[test]
fn a_retried_batch_gets_its_original_offset_and_appends_nothing() {
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), Faults::none(), 1);
    let conn = h.connect(1);
    let (pid, e) = h.init_producer_id(conn);
    let first = batch(pid, e, 0, &["a", "b"]);
    assert_eq!(h.produce(conn, "t", 0, first.clone()).base_offset, 0);
    assert_eq!(
        h.produce(conn, "t", 0, batch(pid, e, 2, &["c"]))
            .base_offset,
        2
    );
    let retry = h.produce(conn, "t", 0, first);
    assert_eq!((retry.error_code, retry.base_offset), (0, 0));
    assert_eq!(h.cluster.end_offset("t", 0), Some(3));
    assert_eq!(h.cluster.stats().duplicates, 1);

    // Only the last five batches are remembered: an older retry is out of
    // order, as Kafka answers.
    for s in 3..8 {
        assert_eq!(
            h.produce(conn, "t", 0, batch(pid, e, s, &["x"])).error_code,
            0
        );
    }
    let old = h.produce(conn, "t", 0, batch(pid, e, 2, &["c"]));
    assert_eq!(old.error_code, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER.0);
    assert_eq!(old.base_offset, -1);
    assert_eq!(h.cluster.stats().stale_sequences, 1);
    // As Kafka 0.11 and tansu answer, when asked.
    h.cluster.config_mut().stale_sequence_is_duplicate = true;
    let old = h.produce(conn, "t", 0, batch(pid, e, 2, &["c"]));
    assert_eq!(old.error_code, ErrorCode::DUPLICATE_SEQUENCE_NUMBER.0);
    assert_eq!(h.cluster.end_offset("t", 0), Some(8));
}

#[test]
fn a_sequence_gap_is_out_of_order() {
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), Faults::none(), 1);
    let conn = h.connect(1);
    let (pid, e) = h.init_producer_id(conn);
    assert_eq!(
        h.produce(conn, "t", 0, batch(pid, e, 0, &["a"])).error_code,
        0
    );
    let gap = h.produce(conn, "t", 0, batch(pid, e, 2, &["c"]));
    assert_eq!(gap.error_code, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER.0);
    assert!(gap.error_message.is_some());
    // A new producer must start at 0 (strict by default).
    let (pid2, e2) = h.init_producer_id(conn);
    let late = h.produce(conn, "t", 0, batch(pid2, e2, 5, &["z"]));
    assert_eq!(late.error_code, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER.0);
    assert_eq!(h.cluster.end_offset("t", 0), Some(1));
    assert_eq!(h.cluster.stats().out_of_order, 2);

    // Kafka's own leniency, when asked for.
    h.cluster.config_mut().strict_first_sequence = false;
    assert_eq!(
        h.produce(conn, "t", 0, batch(pid2, e2, 5, &["z"]))
            .error_code,
        0
    );
}

#[test]
fn sequences_wrap_at_i32_max() {
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), Faults::none(), 1);
    h.cluster.config_mut().strict_first_sequence = false;
    let conn = h.connect(1);
    let (pid, e) = h.init_producer_id(conn);
    let r = h.produce(conn, "t", 0, batch(pid, e, i32::MAX - 1, &["a", "b"]));
    assert_eq!(r.error_code, 0);
    assert_eq!(
        h.produce(conn, "t", 0, batch(pid, e, 0, &["c"])).error_code,
        0
    );
    let seqs: Vec<i32> = h.cluster.log("t", 0).iter().map(|r| r.sequence).collect();
    assert_eq!(seqs, [i32::MAX - 1, i32::MAX, 0]);
}

#[test]
fn epoch_bumps_and_stale_epochs() {
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), Faults::none(), 1);
    let conn = h.connect(1);
    let (pid, e0) = h.init_producer_id(conn);
    assert_eq!(
        h.produce(conn, "t", 0, batch(pid, e0, 0, &["a"]))
            .error_code,
        0
    );
    let bumped = h.bump(conn, pid, e0);
    assert_eq!(
        (bumped.error_code, bumped.producer_id, bumped.producer_epoch),
        (0, pid, 1)
    );
    assert_eq!(h.cluster.producer_epoch(pid), Some(1));
    // Only the current epoch may be bumped: the previous one is fenced.
    let again = h.bump(conn, pid, e0);
    assert_eq!(again.error_code, ErrorCode::INVALID_PRODUCER_EPOCH.0);
    assert_eq!(h.cluster.producer_epoch(pid), Some(1));
    assert_eq!(
        h.bump(conn, pid, 7).error_code,
        ErrorCode::INVALID_PRODUCER_EPOCH.0
    );
    assert_eq!(
        h.bump(conn, 999_999, 0).error_code,
        ErrorCode::INVALID_PRODUCER_EPOCH.0
    );
    // The new epoch starts at sequence 0; anything else is out of order.
    assert_eq!(
        h.produce(conn, "t", 0, batch(pid, 1, 1, &["x"])).error_code,
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER.0
    );
    assert_eq!(
        h.produce(conn, "t", 0, batch(pid, 1, 0, &["b"])).error_code,
        0
    );
    // The old epoch is fenced.
    let stale = h.produce(conn, "t", 0, batch(pid, 0, 1, &["c"]));
    assert_eq!(stale.error_code, ErrorCode::INVALID_PRODUCER_EPOCH.0);
    assert_eq!(h.cluster.end_offset("t", 0), Some(2));
    assert_eq!(h.cluster.stats().invalid_epoch, 1);

    // Kafka's actual behaviour for a null transactional id: a new id.
    h.cluster.config_mut().init_producer_id = InitProducerIdPolicy::AlwaysNewId;
    let fresh = h.bump(conn, pid, 1);
    assert_eq!(fresh.error_code, 0);
    assert_ne!(fresh.producer_id, pid);
    assert_eq!(fresh.producer_epoch, 0);
}

#[test]
fn not_leader_after_a_leader_move() {
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1, 2]), Faults::none(), 1);
    let c1 = h.connect(1);
    assert_eq!(
        h.produce(c1, "t", 0, batch(-1, -1, -1, &["a"])).error_code,
        0
    );
    assert!(h.cluster.move_leader("t", 0, 2));
    assert!(!h.cluster.move_leader("t", 0, 9));
    assert_eq!(h.cluster.leader("t", 0), Some((2, 1)));
    let r = h.call(
        c1,
        12,
        &produce_request("t", 0, batch(-1, -1, -1, &["b"]), -1),
    );
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, ErrorCode::NOT_LEADER_OR_FOLLOWER.0);
    // KIP-951: the new leader and where to find it.
    assert_eq!(
        (p.current_leader.leader_id, p.current_leader.leader_epoch),
        (2, 1)
    );
    assert_eq!(r.node_endpoints.len(), 1);
    assert_eq!(r.node_endpoints[0].host, "broker-2");
    // Before v10 there is no hint.
    let r9 = h.call(
        c1,
        9,
        &produce_request("t", 0, batch(-1, -1, -1, &["b"]), -1),
    );
    assert_eq!(
        r9.responses[0].partition_responses[0]
            .current_leader
            .leader_id,
        -1
    );
    let c2 = h.connect(2);
    assert_eq!(
        h.produce(c2, "t", 0, batch(-1, -1, -1, &["b"])).base_offset,
        1
    );
    let md = h.call(c2, 12, &metadata_for(&["t"]));
    assert_eq!(md.topics[0].partitions[0].leader_id, 2);
    assert_eq!(md.topics[0].partitions[0].leader_epoch, 1);
}

#[test]
fn acks_zero_gets_no_response_but_is_appended() {
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1, 2]), Faults::none(), 1);
    let conn = h.connect(1);
    h.send(
        conn,
        12,
        &produce_request("t", 0, batch(-1, -1, -1, &["a"]), 0),
    );
    assert!(h.drain().is_empty());
    assert_eq!(h.cluster.end_offset("t", 0), Some(1));
    assert_eq!(h.cluster.stats().acks0_requests, 1);
    assert_eq!(h.cluster.stats().requests_of(ApiKey::Produce), 1);
    // The connection still works.
    let md = h.call(conn, 12, &metadata_for(&["t"]));
    assert_eq!(md.topics.len(), 1);
    // With an error, Kafka closes the connection so the client notices.
    h.cluster.move_leader("t", 0, 2);
    h.send(
        conn,
        12,
        &produce_request("t", 0, batch(-1, -1, -1, &["b"]), 0),
    );
    assert_eq!(h.drain()[0].output, NetOutput::Closed { conn });
    // acks outside -1, 0, 1.
    let conn = h.connect(2);
    let r = h.call(
        conn,
        12,
        &produce_request("t", 0, batch(-1, -1, -1, &["c"]), 2),
    );
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ErrorCode::INVALID_REQUIRED_ACKS.0
    );
}

#[test]
fn broken_frames_close_the_connection() {
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), Faults::none(), 1);
    // A negative size prefix.
    let conn = h.connect(1);
    h.cluster.client_send(conn, &(-5i32).to_be_bytes(), h.now);
    assert_eq!(h.drain()[0].output, NetOutput::Closed { conn });
    h.cluster.client_send(conn, b"ignored", h.now);
    assert!(h.drain().is_empty());
    // A frame whose body does not decode.
    let conn = h.connect(1);
    let mut bad = BytesMut::new();
    bad.put_i32(10);
    bad.put_i16(3); // Metadata
    bad.put_i16(12);
    bad.put_i32(1);
    bad.put_i16(200); // a client id longer than the frame
    h.cluster.client_send(conn, &bad, h.now);
    assert_eq!(h.drain()[0].output, NetOutput::Closed { conn });
    // An unknown API key.
    let conn = h.connect(1);
    let mut unknown = BytesMut::new();
    unknown.put_i32(10);
    unknown.put_i16(999);
    unknown.put_i16(0);
    unknown.put_i32(1);
    unknown.put_i16(-1);
    h.cluster.client_send(conn, &unknown, h.now);
    assert_eq!(h.drain()[0].output, NetOutput::Closed { conn });
    // A frame shorter than a header.
    let conn = h.connect(1);
    h.cluster.client_send(conn, &[0, 0, 0, 2, 0, 18], h.now);
    assert_eq!(h.drain()[0].output, NetOutput::Closed { conn });
    assert_eq!(h.cluster.stats().malformed_requests, 4);
    assert_eq!(h.cluster.stats().connections_closed_by_broker, 4);
}

#[test]
fn frames_split_one_byte_at_a_time() {
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), Faults::none(), 1);
    let conn = h.connect(1);
    let mut stream = Vec::new();
    stream.extend_from_slice(&wire::encode_request(3, 1, &ApiVersionsRequest::default()).unwrap());
    stream.extend_from_slice(&wire::encode_request(12, 2, &metadata_for(&["t"])).unwrap());
    stream.extend_from_slice(
        &wire::encode_request(
            12,
            3,
            &produce_request("t", 0, batch(-1, -1, -1, &["a"]), 1),
        )
        .unwrap(),
    );
    for b in &stream {
        h.cluster.client_send(conn, std::slice::from_ref(b), h.now);
    }
    let out = h.drain();
    assert_eq!(out.len(), 3);
    let cids: Vec<i32> = out
        .iter()
        .map(|a| match &a.output {
            NetOutput::Data { bytes, .. } => frame::peek_correlation_id(&bytes[4..]).unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(cids, [1, 2, 3]);
    assert_eq!(h.cluster.end_offset("t", 0), Some(1));
}

#[test]
fn bad_batches_are_refused_like_kafka() {
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), Faults::none(), 1);
    let conn = h.connect(1);
    // CRC mismatch.
    let mut corrupt = BytesMut::from(&batch(-1, -1, -1, &["a"])[..]);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let r = h.produce(conn, "t", 0, corrupt.freeze());
    assert_eq!(r.error_code, ErrorCode::CORRUPT_MESSAGE.0);
    // Magic 1 in Produce v3+.
    let mut magic1 = BytesMut::from(&batch(-1, -1, -1, &["a"])[..]);
    magic1[16] = 1;
    assert_eq!(
        h.produce(conn, "t", 0, magic1.freeze()).error_code,
        ErrorCode::INVALID_RECORD.0
    );
    // Two batches in one partition.
    let mut two = BytesMut::from(&batch(-1, -1, -1, &["a"])[..]);
    two.extend_from_slice(&batch(-1, -1, -1, &["b"]));
    assert_eq!(
        h.produce(conn, "t", 0, two.freeze()).error_code,
        ErrorCode::INVALID_RECORD.0
    );
    // A base offset other than 0.
    let mut offset = BytesMut::from(&batch(-1, -1, -1, &["a"])[..]);
    set_base_offset(&mut offset, 5).unwrap();
    assert_eq!(
        h.produce(conn, "t", 0, offset.freeze()).error_code,
        ErrorCode::INVALID_RECORD.0
    );
    // zstd needs v7+.
    let zstd = batch_with(Compression::Zstd, -1, -1, -1, &["a"]);
    let r6 = h.call(conn, 6, &produce_request("t", 0, zstd.clone(), 1));
    assert_eq!(
        r6.responses[0].partition_responses[0].error_code,
        ErrorCode::UNSUPPORTED_COMPRESSION_TYPE.0
    );
    assert_eq!(h.produce(conn, "t", 0, zstd).error_code, 0);
    // Larger than message.max.bytes.
    h.cluster.config_mut().max_message_bytes = 100;
    let big = "x".repeat(200);
    assert_eq!(
        h.produce(conn, "t", 0, batch(-1, -1, -1, &[&big]))
            .error_code,
        ErrorCode::MESSAGE_TOO_LARGE.0
    );
    // Unknown partitions and topics.
    assert_eq!(
        h.produce(conn, "t", 7, batch(-1, -1, -1, &["a"]))
            .error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0
    );
    assert_eq!(
        h.produce(conn, "nope", 0, batch(-1, -1, -1, &["a"]))
            .error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0
    );
    let empty = h.call(
        conn,
        12,
        &ProduceRequest {
            acks: -1,
            topic_data: produce_request("t", 0, Bytes::new(), -1).topic_data,
            ..Default::default()
        },
    );
    assert_eq!(
        empty.responses[0].partition_responses[0].error_code,
        ErrorCode::INVALID_RECORD.0
    );
    assert_eq!(h.cluster.end_offset("t", 0), Some(1));
    assert_eq!(h.cluster.stats().rejected_batches, 9);
}

#[test]
fn topics_are_created_by_request_or_on_first_use() {
    let spec = ClusterSpec {
        brokers: vec![1, 2],
        auto_create_partitions: Some(4),
        ..ClusterSpec::default()
    };
    let mut h = Harness::new(spec, Faults::none(), 1);
    let conn = h.connect(1);
    let topic = |name: &str, partitions: i32, rf: i16| CreatableTopic {
        name: name.into(),
        num_partitions: partitions,
        replication_factor: rf,
        ..Default::default()
    };
    let r = h.call(
        conn,
        7,
        &CreateTopicsRequest {
            topics: vec![
                topic("a", 3, 2),
                topic("b", 0, 1),
                topic("bad name", 1, 1),
                topic("c", 1, 3),
                topic("d", -1, -1),
            ],
            ..Default::default()
        },
    );
    let codes: Vec<i16> = r.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(
        codes,
        [
            0,
            ErrorCode::INVALID_PARTITIONS.0,
            ErrorCode::INVALID_TOPIC_EXCEPTION.0,
            ErrorCode::INVALID_REPLICATION_FACTOR.0,
            0
        ]
    );
    assert_eq!(r.topics[0].num_partitions, 3);
    assert_ne!(r.topics[0].topic_id, kafka_proto::primitives::Uuid::ZERO);
    let again = h.call(
        conn,
        7,
        &CreateTopicsRequest {
            topics: vec![topic("a", 3, 1)],
            ..Default::default()
        },
    );
    assert_eq!(
        again.topics[0].error_code,
        ErrorCode::TOPIC_ALREADY_EXISTS.0
    );
    // Metadata auto-creates; Produce too.
    let md = h.call(conn, 12, &metadata_for(&["auto", "in valid"]));
    assert_eq!(md.topics[0].partitions.len(), 4);
    assert_eq!(
        md.topics[1].error_code,
        ErrorCode::INVALID_TOPIC_EXCEPTION.0
    );
    let leader = h.cluster.leader("produced", 0);
    assert_eq!(leader, None);
    let r = h.call(
        conn,
        12,
        &produce_request("produced", 0, batch(-1, -1, -1, &["a"]), 1),
    );
    let p = &r.responses[0].partition_responses[0];
    assert!(p.error_code == 0 || p.error_code == ErrorCode::NOT_LEADER_OR_FOLLOWER.0);
    assert_eq!(
        h.cluster.topics(),
        [
            ("a".to_owned(), 3),
            ("auto".to_owned(), 4),
            ("d".to_owned(), 4),
            ("produced".to_owned(), 4)
        ]
    );
    assert!(h.cluster.create_topic_now("e", 2));
    assert!(!h.cluster.create_topic_now("e", 2));
}

#[test]
fn list_offsets_and_coordinators() {
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), Faults::none(), 1);
    let conn = h.connect(1);
    h.produce(conn, "t", 0, batch(-1, -1, -1, &["a", "b", "c"]));
    let ask = |timestamp| ListOffsetsRequest {
        replica_id: -1,
        topics: vec![ListOffsetsTopic {
            name: "t".into(),
            partitions: vec![ListOffsetsPartition {
                partition_index: 0,
                timestamp,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let offset = |h: &mut Harness, ts| {
        let r = h.call(conn, 9, &ask(ts));
        let p = &r.topics[0].partitions[0];
        assert_eq!(p.error_code, 0);
        p.offset
    };
    assert_eq!(offset(&mut h, -1), 3);
    assert_eq!(offset(&mut h, -2), 0);
    assert_eq!(offset(&mut h, -3), 2);
    assert_eq!(offset(&mut h, 1_700_000_000_001), 1);
    let fc = h.call(
        conn,
        4,
        &FindCoordinatorRequest {
            key_type: 1,
            coordinator_keys: vec!["txn".into()],
            ..Default::default()
        },
    );
    // One broker: it coordinates everything.
    assert_eq!(fc.coordinators[0].error_code, 0);
    assert_eq!(
        (fc.coordinators[0].node_id, fc.coordinators[0].host.as_str()),
        (1, "broker-1")
    );
    let fc0 = h.call(
        conn,
        0,
        &FindCoordinatorRequest {
            key: "g".into(),
            ..Default::default()
        },
    );
    assert_eq!((fc0.error_code, fc0.node_id, fc0.port), (0, 1, 9092));
    h.cluster.stop_broker(1, h.now);
    assert_eq!(h.cluster.coordinator_for("g"), None);
}

#[test]
fn without_stored_records_counts_and_sequences_remain() {
    let spec = ClusterSpec {
        store_records: false,
        ..Harness::topics(&[("t", 1)], &[1])
    };
    let mut h = Harness::new(spec, Faults::none(), 1);
    let conn = h.connect(1);
    let (pid, e) = h.init_producer_id(conn);
    let first = batch(pid, e, 0, &["a", "b"]);
    assert_eq!(h.produce(conn, "t", 0, first.clone()).base_offset, 0);
    assert_eq!(
        h.produce(conn, "t", 0, batch(pid, e, 2, &["c"]))
            .base_offset,
        2
    );
    assert_eq!(h.produce(conn, "t", 0, first).base_offset, 0);
    assert_eq!(
        h.produce(conn, "t", 0, batch(pid, e, 9, &["x"])).error_code,
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER.0
    );
    assert!(h.cluster.log("t", 0).is_empty());
    assert_eq!(h.cluster.end_offset("t", 0), Some(3));
    assert_eq!(h.cluster.stats().records_appended, 3);
    assert_eq!(h.cluster.stats().duplicates, 1);
}

#[test]
fn responses_use_the_request_version_header() {
    // Produce v9+ is flexible (response header v1), v8 is not (v0).
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), Faults::none(), 1);
    let conn = h.connect(1);
    for version in [3, 8, 9, 12] {
        let r = h.call(
            conn,
            version,
            &produce_request("t", 0, batch(-1, -1, -1, &["a"]), 1),
        );
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    }
    assert_eq!(h.cluster.end_offset("t", 0), Some(4));
}
