//! The simulated transaction coordinator at the protocol level: markers and the last stable
//! offset, `read_committed` reads, fencing, group offsets, timeouts, and the hazard KIP-890
//! closes (a late write of an ended transaction landing in the next one), shown under v1 and
//! refused under v2.

mod common;

use bytes::Bytes;
use common::*;
use kafka_proto::ErrorCode;
use kafka_proto::compression::Compression;
use kafka_proto::messages::add_offsets_to_txn::AddOffsetsToTxnRequest;
use kafka_proto::messages::add_partitions_to_txn::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnTopic,
};
use kafka_proto::messages::end_txn::{EndTxnRequest, EndTxnResponse};
use kafka_proto::messages::init_producer_id::InitProducerIdRequest;
use kafka_proto::messages::produce::PartitionProduceResponse;
use kafka_proto::messages::txn_offset_commit::{
    TxnOffsetCommitRequest, TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_proto::record::{BatchOptions, RecordBatchBuilder};
use kafka_sim::{BrokerConfig, ClusterSpec, ConnId, Faults, SimCluster};

const ID: &str = "txn-1";

fn cluster(transaction_version: i16) -> Harness {
    let config = BrokerConfig {
        transaction_version,
        ..BrokerConfig::default()
    };
    Harness::with(SimCluster::with_config(
        Harness::topics(&[("t", 2)], &[1]),
        config,
        Faults::none(),
        1,
    ))
}

fn txn_batch(producer_id: i64, epoch: i16, sequence: i32, values: &[&str]) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    for v in values {
        b.append(1_700_000_000_000, None, Some(v.as_bytes()), &[])
            .unwrap();
    }
    b.seal(&BatchOptions {
        producer_id,
        producer_epoch: epoch,
        base_sequence: sequence,
        transactional: true,
        ..Default::default()
    })
    .unwrap()
}

fn init(h: &mut Harness, conn: ConnId) -> (i64, i16) {
    let r = h.call(
        conn,
        5,
        &InitProducerIdRequest {
            transactional_id: Some(ID.into()),
            transaction_timeout_ms: 60_000,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        },
    );
    assert_eq!(r.error_code, 0);
    (r.producer_id, r.producer_epoch)
}

fn add(h: &mut Harness, conn: ConnId, pid: i64, epoch: i16, partition: i32) -> i16 {
    let r = h.call(
        conn,
        3,
        &AddPartitionsToTxnRequest {
            v3_and_below_transactional_id: ID.into(),
            v3_and_below_producer_id: pid,
            v3_and_below_producer_epoch: epoch,
            v3_and_below_topics: vec![AddPartitionsToTxnTopic {
                name: "t".into(),
                partitions: vec![partition],
                ..Default::default()
            }],
            ..Default::default()
        },
    );
    r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
}

fn produce(
    h: &mut Harness,
    conn: ConnId,
    version: i16,
    partition: i32,
    batch: Bytes,
) -> PartitionProduceResponse {
    let mut request = produce_request("t", partition, batch, -1);
    request.transactional_id = Some(ID.into());
    h.call(conn, version, &request).responses[0].partition_responses[0].clone()
}

fn end(
    h: &mut Harness,
    conn: ConnId,
    version: i16,
    pid: i64,
    epoch: i16,
    commit: bool,
) -> EndTxnResponse {
    h.call(
        conn,
        version,
        &EndTxnRequest {
            transactional_id: ID.into(),
            producer_id: pid,
            producer_epoch: epoch,
            committed: commit,
            ..Default::default()
        },
    )
}

fn committed_values(h: &Harness, partition: i32) -> Vec<String> {
    h.cluster
        .read_committed("t", partition)
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap())
        .collect()
}

#[test]
fn markers_end_transactions_and_the_lso_holds_readers_back() {
    let mut h = cluster(1);
    let conn = h.connect(1);
    let (pid, e) = init(&mut h, conn);
    // Not in the transaction yet: refused (KIP-890 part 1 verification).
    let r = produce(&mut h, conn, 11, 0, txn_batch(pid, e, 0, &["early"]));
    assert_eq!(r.error_code, ErrorCode::INVALID_TXN_STATE.0);
    assert_eq!(add(&mut h, conn, pid, e, 0), 0);
    assert_eq!(
        produce(&mut h, conn, 11, 0, txn_batch(pid, e, 0, &["a", "b"])).error_code,
        0
    );
    assert_eq!(h.cluster.last_stable_offset("t", 0), Some(0));
    assert!(
        committed_values(&h, 0).is_empty(),
        "open: nothing is stable"
    );
    assert_eq!(end(&mut h, conn, 4, pid, e, true).error_code, 0);
    assert_eq!(committed_values(&h, 0), ["a", "b"]);
    // The marker takes an offset.
    assert_eq!(h.cluster.end_offset("t", 0), Some(3));
    assert_eq!(h.cluster.last_stable_offset("t", 0), Some(3));
    // A retried commit is answered again; an abort now is refused.
    assert_eq!(end(&mut h, conn, 4, pid, e, true).error_code, 0);
    assert_eq!(
        end(&mut h, conn, 4, pid, e, false).error_code,
        ErrorCode::INVALID_TXN_STATE.0
    );
    // An aborted transaction never becomes visible.
    assert_eq!(add(&mut h, conn, pid, e, 0), 0);
    assert_eq!(
        produce(&mut h, conn, 11, 0, txn_batch(pid, e, 2, &["x"])).error_code,
        0
    );
    assert_eq!(end(&mut h, conn, 4, pid, e, false).error_code, 0);
    assert_eq!(committed_values(&h, 0), ["a", "b"]);
    assert_eq!(h.cluster.log("t", 0).len(), 3, "written, but aborted");
    let counts = h.cluster.transaction_counts();
    assert_eq!((counts.committed, counts.aborted), (1, 1));
}

#[test]
fn a_new_instance_fences_the_old_one_and_aborts_its_transaction() {
    let mut h = cluster(1);
    let conn = h.connect(1);
    let (pid, e) = init(&mut h, conn);
    assert_eq!(add(&mut h, conn, pid, e, 1), 0);
    assert_eq!(
        produce(&mut h, conn, 11, 1, txn_batch(pid, e, 0, &["old"])).error_code,
        0
    );
    let (pid2, e2) = init(&mut h, conn);
    assert_eq!((pid2, e2), (pid, e + 1));
    assert_eq!(h.cluster.transaction_counts().fenced, 1);
    // The old epoch is refused everywhere.
    assert_eq!(
        produce(&mut h, conn, 11, 1, txn_batch(pid, e, 1, &["zombie"])).error_code,
        ErrorCode::INVALID_PRODUCER_EPOCH.0
    );
    assert_eq!(add(&mut h, conn, pid, e, 0), ErrorCode::PRODUCER_FENCED.0);
    assert_eq!(
        end(&mut h, conn, 4, pid, e, true).error_code,
        ErrorCode::PRODUCER_FENCED.0
    );
    assert!(committed_values(&h, 1).is_empty());
}

#[test]
fn offsets_count_only_with_a_committed_transaction() {
    let mut h = cluster(1);
    let conn = h.connect(1);
    let (pid, e) = init(&mut h, conn);
    let offsets = |offset| TxnOffsetCommitRequest {
        transactional_id: ID.into(),
        group_id: "g".into(),
        producer_id: pid,
        producer_epoch: e,
        generation_id: -1,
        topics: vec![TxnOffsetCommitRequestTopic {
            name: "in".into(),
            partitions: vec![TxnOffsetCommitRequestPartition {
                partition_index: 0,
                committed_offset: offset,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    // Without AddOffsetsToTxn (v1): refused.
    let r = h.call(conn, 4, &offsets(5));
    assert_eq!(
        r.topics[0].partitions[0].error_code,
        ErrorCode::INVALID_TXN_STATE.0
    );
    let add_offsets = AddOffsetsToTxnRequest {
        transactional_id: ID.into(),
        producer_id: pid,
        producer_epoch: e,
        group_id: "g".into(),
        ..Default::default()
    };
    assert_eq!(h.call(conn, 3, &add_offsets).error_code, 0);
    assert_eq!(
        h.call(conn, 4, &offsets(10)).topics[0].partitions[0].error_code,
        0
    );
    assert_eq!(
        h.cluster.group_offset("g", "in", 0),
        None,
        "not before the commit"
    );
    assert_eq!(end(&mut h, conn, 4, pid, e, true).error_code, 0);
    assert_eq!(h.cluster.group_offset("g", "in", 0), Some(10));
    assert_eq!(h.call(conn, 3, &add_offsets).error_code, 0);
    assert_eq!(
        h.call(conn, 4, &offsets(20)).topics[0].partitions[0].error_code,
        0
    );
    assert_eq!(end(&mut h, conn, 4, pid, e, false).error_code, 0);
    assert_eq!(h.cluster.group_offset("g", "in", 0), Some(10));
}

#[test]
fn the_coordinator_aborts_a_transaction_that_outlives_its_timeout() {
    let mut h = cluster(1);
    let conn = h.connect(1);
    let r = h.call(
        conn,
        5,
        &InitProducerIdRequest {
            transactional_id: Some(ID.into()),
            transaction_timeout_ms: 1_000,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        },
    );
    let (pid, e) = (r.producer_id, r.producer_epoch);
    assert_eq!(add(&mut h, conn, pid, e, 0), 0);
    assert_eq!(
        produce(&mut h, conn, 11, 0, txn_batch(pid, e, 0, &["slow"])).error_code,
        0
    );
    h.advance(ms(1_500));
    let r = end(&mut h, conn, 4, pid, e, true);
    assert_eq!(r.error_code, ErrorCode::PRODUCER_FENCED.0);
    assert_eq!(h.cluster.transaction_counts().timed_out, 1);
    assert!(committed_values(&h, 0).is_empty());
    assert_eq!(h.cluster.last_stable_offset("t", 0), Some(2));
}

/// KIP-890's motivating hazard, at the protocol level: a Produce of transaction 1 that the
/// network delays past the end of transaction 1. Under v1 the epoch is unchanged, so once
/// transaction 2 has the partition the late write is taken into it and committed with it.
/// Under v2 every EndTxn bumps the epoch: the late write is fenced.
#[test]
fn a_late_write_lands_in_the_next_transaction_under_v1_only() {
    for v2 in [false, true] {
        let mut h = cluster(if v2 { 2 } else { 1 });
        let conn = h.connect(1);
        let (pid, e) = init(&mut h, conn);
        let produce_version = if v2 { 12 } else { 11 };
        if !v2 {
            assert_eq!(add(&mut h, conn, pid, e, 0), 0);
        }
        assert_eq!(
            produce(
                &mut h,
                conn,
                produce_version,
                0,
                txn_batch(pid, e, 0, &["t1"])
            )
            .error_code,
            0
        );
        // Transaction 1 is aborted while its second write is still on its way.
        let late = txn_batch(pid, e, 1, &["late write of t1"]);
        let ended = end(&mut h, conn, if v2 { 5 } else { 4 }, pid, e, false);
        assert_eq!(ended.error_code, 0);
        let e2 = if v2 {
            assert_eq!(ended.producer_epoch, e + 1, "v2: EndTxn bumps the epoch");
            ended.producer_epoch
        } else {
            e
        };
        // Transaction 2 takes the same partition; the late write arrives.
        if !v2 {
            assert_eq!(add(&mut h, conn, pid, e2, 0), 0);
        }
        let r = produce(&mut h, conn, produce_version, 0, late);
        if v2 {
            assert_eq!(r.error_code, ErrorCode::INVALID_PRODUCER_EPOCH.0);
        } else {
            assert_eq!(r.error_code, 0, "v1 takes it: same epoch, next sequence");
        }
        // Transaction 2's own write.
        let seq2 = if v2 { 0 } else { 2 };
        assert_eq!(
            produce(
                &mut h,
                conn,
                produce_version,
                0,
                txn_batch(pid, e2, seq2, &["t2"])
            )
            .error_code,
            0
        );
        assert_eq!(
            end(&mut h, conn, if v2 { 5 } else { 4 }, pid, e2, true).error_code,
            0
        );
        let visible = committed_values(&h, 0);
        if v2 {
            assert_eq!(visible, ["t2"]);
            assert_eq!(h.cluster.transaction_counts().zombie_writes_refused, 1);
        } else {
            assert!(
                visible.contains(&"late write of t1".to_owned()),
                "the hazard: an aborted transaction's write committed with the next: {visible:?}"
            );
        }
    }
}

#[test]
fn v2_adds_partitions_and_groups_implicitly() {
    let mut h = cluster(2);
    let conn = h.connect(1);
    let (pid, e) = init(&mut h, conn);
    // Produce v12 adds the partition.
    assert_eq!(
        produce(&mut h, conn, 12, 1, txn_batch(pid, e, 0, &["v2"])).error_code,
        0
    );
    // Below v12 it must have been added.
    assert_eq!(
        produce(&mut h, conn, 11, 0, txn_batch(pid, e, 0, &["v1"])).error_code,
        ErrorCode::INVALID_TXN_STATE.0
    );
    let commit = TxnOffsetCommitRequest {
        transactional_id: ID.into(),
        group_id: "g".into(),
        producer_id: pid,
        producer_epoch: e,
        generation_id: -1,
        topics: vec![TxnOffsetCommitRequestTopic {
            name: "in".into(),
            partitions: vec![TxnOffsetCommitRequestPartition {
                partition_index: 3,
                committed_offset: 7,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        h.call(conn, 5, &commit).topics[0].partitions[0].error_code,
        0
    );
    let r = end(&mut h, conn, 5, pid, e, true);
    assert_eq!(
        (r.error_code, r.producer_id, r.producer_epoch),
        (0, pid, e + 1)
    );
    // A retry of that EndTxn with the old epoch is answered as done.
    let retry = end(&mut h, conn, 5, pid, e, true);
    assert_eq!((retry.error_code, retry.producer_epoch), (0, e + 1));
    assert_eq!(committed_values(&h, 1), ["v2"]);
    assert_eq!(h.cluster.group_offset("g", "in", 3), Some(7));
    let _ = ClusterSpec::default();
}
