//! Faults, time and determinism.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use kafka_proto::messages::metadata::MetadataRequest;
use kafka_proto::messages::produce::ProduceRequest;
use kafka_proto::{ErrorCode, frame};
use kafka_sim::{ClusterSpec, ConnId, ConnectError, Faults, NetOutput, SimCluster, Stats, wire};

fn everything(seed_latency: u64) -> Faults {
    Faults {
        min_latency: ms(0),
        max_latency: ms(seed_latency),
        drop_response: 0.03,
        disconnect: 0.03,
        produce_error: 0.08,
        error_after_append: 0.08,
        any_error_after_append: 0.02,
        leader_move: 0.05,
        broker_restart: 0.01,
        restart_downtime: ms(150),
        ..Faults::default()
    }
}

/// What a scripted client saw: `(time since start, connection, bytes or
/// None for a close)`.
type Transcript = Vec<(Duration, u64, Option<Vec<u8>>)>;

/// A client that reacts only to what it receives, so that the same seed
/// gives the same run.
fn scripted_run(seed: u64, faults: Faults) -> (Transcript, Stats, Vec<Vec<Vec<u8>>>) {
    let spec = ClusterSpec {
        brokers: vec![1, 2, 3],
        topics: vec![("a".into(), 3), ("b".into(), 2)],
        ..ClusterSpec::default()
    };
    let mut h = Harness::new(spec, faults, seed);
    let mut conns: BTreeMap<i32, ConnId> = BTreeMap::new();
    let mut transcript = Transcript::new();
    let topics = [("a", 3), ("b", 2)];
    for step in 0..600u32 {
        h.advance(ms(2));
        let broker = (step % 3) as i32 + 1;
        if let std::collections::btree_map::Entry::Vacant(e) = conns.entry(broker) {
            match h.cluster.connect(&format!("broker-{broker}"), 9092, h.now) {
                Ok(c) => {
                    e.insert(c);
                }
                Err(_) => continue,
            }
        }
        let conn = conns[&broker];
        if step % 17 == 0 {
            h.send(conn, 12, &MetadataRequest::default());
        } else {
            let t = (step as usize / 3) % 2;
            let (topic, partitions) = topics[t];
            let partition = (step as i32 / 7) % partitions;
            let value = format!("v{step}");
            let b = batch(-1, -1, -1, &[&value, "x"]);
            h.send(conn, 12, &produce_request(topic, partition, b, -1));
        }
        while let Some(out) = h.cluster.poll_output(h.now) {
            let at = h.now - h.start;
            match out {
                NetOutput::Data { conn, bytes } => {
                    transcript.push((at, conn.0, Some(bytes.to_vec())))
                }
                NetOutput::Closed { conn } => {
                    transcript.push((at, conn.0, None));
                    conns.retain(|_, c| *c != conn);
                }
            }
        }
    }
    h.cluster.set_faults(Faults::none());
    for a in h.drain() {
        let (conn, bytes) = match a.output {
            NetOutput::Data { conn, bytes } => (conn.0, Some(bytes.to_vec())),
            NetOutput::Closed { conn } => (conn.0, None),
        };
        transcript.push((a.at, conn, bytes));
    }
    let logs = topics
        .iter()
        .flat_map(|(t, n)| (0..*n).map(move |p| (*t, p)))
        .map(|(t, p)| {
            h.cluster
                .log(t, p)
                .iter()
                .map(|r| r.value.as_deref().unwrap_or_default().to_vec())
                .collect()
        })
        .collect();
    (transcript, h.cluster.stats().clone(), logs)
}

#[test]
fn the_same_seed_replays_byte_for_byte() {
    let faults = everything(20);
    let (t1, s1, l1) = scripted_run(7, faults.clone());
    let (t2, s2, l2) = scripted_run(7, faults.clone());
    assert_eq!(t1, t2);
    assert_eq!(s1, s2);
    assert_eq!(l1, l2);
    // The faults really fired.
    let f = &s1.faults;
    assert!(f.dropped_responses > 0, "{f:?}");
    assert!(f.disconnects_before > 0 && f.disconnects_after > 0, "{f:?}");
    assert!(f.produce_errors > 0 && f.errors_after_append > 0, "{f:?}");
    assert!(f.leader_moves > 0 && f.broker_restarts > 0, "{f:?}");
    assert!(s1.records_appended > 100, "{s1:?}");
    // Another seed, another run.
    let (t3, _, _) = scripted_run(8, faults);
    assert_ne!(t1, t3);
}

#[test]
fn responses_of_a_connection_leave_in_request_order() {
    let faults = Faults {
        min_latency: ms(1),
        max_latency: ms(50),
        ..Faults::none()
    };
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), faults, 3);
    let c1 = h.connect(1);
    let c2 = h.connect(1);
    let mut sent = Vec::new();
    for i in 0..40 {
        let conn = if i % 2 == 0 { c1 } else { c2 };
        sent.push((conn, h.send(conn, 12, &MetadataRequest::default())));
        if i % 5 == 0 {
            h.advance(ms(3));
        }
    }
    let out = h.drain();
    assert_eq!(out.len(), 40);
    let mut last_time = Duration::ZERO;
    let mut per_conn: BTreeMap<ConnId, Vec<i32>> = BTreeMap::new();
    let mut arrival_order = Vec::new();
    for a in &out {
        assert!(a.at >= last_time, "outputs come in time order");
        last_time = a.at;
        let NetOutput::Data { conn, bytes } = &a.output else {
            panic!("{a:?}")
        };
        let cid = frame::peek_correlation_id(&bytes[4..]).unwrap();
        per_conn.entry(*conn).or_default().push(cid);
        arrival_order.push(cid);
    }
    for cids in per_conn.values() {
        assert!(cids.windows(2).all(|w| w[0] < w[1]), "{cids:?}");
    }
    // Across connections, latency reorders.
    assert!(arrival_order.windows(2).any(|w| w[0] > w[1]));
    assert!(last_time >= ms(1));
}

#[test]
fn a_stopped_broker_refuses_connects_and_closes_its_connections() {
    let mut h = Harness::new(Harness::topics(&[("t", 2)], &[1, 2]), Faults::none(), 1);
    let c1 = h.connect(1);
    let r = h.produce(c1, "t", 0, batch(-1, -1, -1, &["a"]));
    assert_eq!(r.error_code, 0);
    assert_eq!(h.cluster.leader("t", 0), Some((1, 0)));
    h.cluster.stop_broker(1, h.now);
    assert_eq!(h.drain()[0].output, NetOutput::Closed { conn: c1 });
    assert_eq!(
        h.cluster.connect("broker-1", 9092, h.now),
        Err(ConnectError::BrokerDown)
    );
    assert_eq!(
        h.cluster.connect("broker-9", 9092, h.now),
        Err(ConnectError::UnknownHost)
    );
    assert!(!h.cluster.is_broker_up(1));
    // Leadership moved to the live replica.
    assert_eq!(h.cluster.leader("t", 0), Some((2, 1)));
    let c2 = h.connect(2);
    let md = h.call(c2, 12, &MetadataRequest::default());
    assert_eq!(md.brokers.len(), 1);
    let p0 = &md.topics[0].partitions[0];
    assert_eq!(
        (
            p0.leader_id,
            p0.isr_nodes.clone(),
            p0.offline_replicas.clone()
        ),
        (2, vec![2], vec![1])
    );
    assert_eq!(
        h.produce(c2, "t", 0, batch(-1, -1, -1, &["b"])).base_offset,
        1
    );
    h.cluster.start_broker(1, h.now);
    let c1 = h.connect(1);
    assert_eq!(h.call(c1, 12, &MetadataRequest::default()).brokers.len(), 2);
    assert_eq!(h.cluster.log("t", 0).len(), 2);
}

#[test]
fn a_restart_fault_takes_the_broker_down_for_a_while() {
    let faults = Faults {
        broker_restart: 1.0,
        restart_downtime: ms(100),
        ..Faults::none()
    };
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), faults, 11);
    let conn = h.connect(1);
    let other = h.connect(1);
    h.send(conn, 12, &MetadataRequest::default());
    // Both connections are closed; nothing was answered.
    let closed: Vec<NetOutput> = std::iter::from_fn(|| h.cluster.poll_output(h.now)).collect();
    assert_eq!(
        closed,
        [
            NetOutput::Closed { conn },
            NetOutput::Closed { conn: other }
        ]
    );
    assert_eq!(h.cluster.stats().faults.broker_restarts, 1);
    let back = h.cluster.broker_back_at(1).expect("restarting");
    assert!(back <= h.now + ms(100));
    assert_eq!(h.cluster.next_wakeup(), Some(back));
    // With one broker, the partition has no leader meanwhile.
    assert_eq!(h.cluster.leader("t", 0), Some((-1, 1)));
    if back > h.now {
        assert_eq!(
            h.cluster
                .connect("broker-1", 9092, back - Duration::from_nanos(1)),
            Err(ConnectError::BrokerDown)
        );
    }
    h.cluster.set_faults(Faults::none());
    let conn = h
        .cluster
        .connect("broker-1", 9092, back)
        .expect("back up with its data");
    h.now = back;
    assert_eq!(h.cluster.leader("t", 0), Some((1, 2)));
    assert_eq!(h.cluster.next_wakeup(), None);
    assert_eq!(
        h.produce(conn, "t", 0, batch(-1, -1, -1, &["a"]))
            .error_code,
        0
    );
}

#[test]
fn a_dropped_response_leaves_the_connection_silent() {
    let faults = Faults {
        drop_response: 1.0,
        ..Faults::none()
    };
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), faults, 1);
    let conn = h.connect(1);
    h.send(
        conn,
        12,
        &produce_request("t", 0, batch(-1, -1, -1, &["a"]), -1),
    );
    assert!(h.drain().is_empty());
    assert_eq!(h.cluster.end_offset("t", 0), Some(1), "processed anyway");
    h.cluster.set_faults(Faults::none());
    h.send(
        conn,
        12,
        &produce_request("t", 0, batch(-1, -1, -1, &["b"]), -1),
    );
    assert!(h.drain().is_empty(), "the way back stays cut");
    assert_eq!(h.cluster.end_offset("t", 0), Some(2));
    h.cluster.client_close(conn);
    let conn = h.connect(1);
    assert_eq!(
        h.produce(conn, "t", 0, batch(-1, -1, -1, &["c"]))
            .base_offset,
        2
    );
    assert_eq!(h.cluster.stats().faults.dropped_responses, 1);
}

#[test]
fn disconnects_happen_before_and_after_processing() {
    let faults = Faults {
        disconnect: 1.0,
        ..Faults::none()
    };
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), faults, 5);
    for i in 0..40 {
        let conn = h.connect(1);
        h.send(
            conn,
            12,
            &produce_request("t", 0, batch(-1, -1, -1, &[&format!("{i}")]), -1),
        );
        assert_eq!(
            h.drain(),
            [Arrival {
                at: h.now - h.start,
                output: NetOutput::Closed { conn }
            }]
        );
    }
    let f = h.cluster.stats().faults.clone();
    assert_eq!(f.disconnects_before + f.disconnects_after, 40);
    assert!(f.disconnects_before > 5 && f.disconnects_after > 5, "{f:?}");
    assert_eq!(
        h.cluster.end_offset("t", 0),
        Some(f.disconnects_after as i64)
    );
}

#[test]
fn injected_errors_with_and_without_append() {
    let faults = Faults {
        produce_error: 1.0,
        ..Faults::none()
    };
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), faults, 5);
    let conn = h.connect(1);
    let (pid, e) = h.init_producer_id(conn);
    for _ in 0..20 {
        let r = h.produce(conn, "t", 0, batch(pid, e, 0, &["a"]));
        assert!(ErrorCode(r.error_code).is_retriable(), "{r:?}");
        assert_eq!(r.base_offset, -1);
    }
    assert_eq!(h.cluster.end_offset("t", 0), Some(0));
    h.cluster.set_faults(Faults {
        error_after_append: 1.0,
        ..Faults::none()
    });
    let r = h.produce(conn, "t", 0, batch(pid, e, 0, &["a"]));
    assert!(
        [
            ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND.0,
            ErrorCode::REQUEST_TIMED_OUT.0
        ]
        .contains(&r.error_code)
    );
    assert_eq!(h.cluster.end_offset("t", 0), Some(1), "appended anyway");
    // The retry is a duplicate: success at the original offset.
    h.cluster.set_faults(Faults::none());
    let retry = h.produce(conn, "t", 0, batch(pid, e, 0, &["a"]));
    assert_eq!((retry.error_code, retry.base_offset), (0, 0));
    assert_eq!(h.cluster.log("t", 0).len(), 1);
    let s = h.cluster.stats();
    assert_eq!(
        (
            s.faults.produce_errors,
            s.faults.errors_after_append,
            s.duplicates
        ),
        (20, 1, 1)
    );
}

#[test]
fn any_error_after_append_appends_then_answers_a_code_kafka_may_send_after_an_append() {
    let faults = Faults {
        any_error_after_append: 1.0,
        ..Faults::none()
    };
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), faults, 11);
    let conn = h.connect(1);
    let (pid, e) = h.init_producer_id(conn);
    let mut codes = std::collections::BTreeSet::new();
    for i in 0..200 {
        let r = h.produce(conn, "t", 0, batch(pid, e, i, &["a"]));
        let code = ErrorCode(r.error_code);
        assert!(
            !code.is_ok() && !kafka_sim::REFUSED_BEFORE_APPEND.contains(&code),
            "{r:?}"
        );
        codes.insert(code.0);
    }
    assert_eq!(
        h.cluster.end_offset("t", 0),
        Some(200),
        "every batch appended"
    );
    assert!(codes.len() > 50, "many different codes: {codes:?}");
    assert!(
        codes.iter().any(|c| ErrorCode(*c).name().is_none()),
        "unknown codes too"
    );
    assert_eq!(h.cluster.stats().faults.any_errors_after_append, 200);
}

#[test]
fn leader_moves_follow_produce_requests() {
    let faults = Faults {
        leader_move: 1.0,
        ..Faults::none()
    };
    let mut h = Harness::new(Harness::topics(&[("t", 4)], &[1, 2, 3]), faults, 5);
    let conn = h.connect(1);
    let mut not_leader = 0;
    for _ in 0..30 {
        let r = h.call(
            conn,
            12,
            &produce_request("t", 0, batch(-1, -1, -1, &["a"]), -1),
        );
        let p = &r.responses[0].partition_responses[0];
        if p.error_code == ErrorCode::NOT_LEADER_OR_FOLLOWER.0 {
            not_leader += 1;
            assert_eq!(
                p.current_leader.leader_id,
                h.cluster.leader("t", 0).unwrap().0
            );
        }
    }
    assert_eq!(h.cluster.stats().faults.leader_moves, 30);
    assert!(not_leader > 0);
    let epochs: i32 = (0..4).map(|p| h.cluster.leader("t", p).unwrap().1).sum();
    assert_eq!(epochs, 30);
}

#[test]
fn closing_a_connection_discards_what_was_pending() {
    let faults = Faults {
        min_latency: ms(10),
        max_latency: ms(10),
        ..Faults::none()
    };
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), faults, 5);
    let conn = h.connect(1);
    h.send(
        conn,
        12,
        &produce_request("t", 0, batch(-1, -1, -1, &["a"]), -1),
    );
    assert_eq!(h.cluster.next_wakeup(), Some(h.now + ms(10)));
    h.cluster.client_close(conn);
    assert_eq!(h.cluster.next_wakeup(), None);
    assert!(h.drain().is_empty());
    assert_eq!(h.cluster.end_offset("t", 0), Some(0), "never processed");
    // Bytes to a forgotten connection are ignored.
    h.cluster.client_send(conn, &[0, 0, 0, 1, 0], h.now);
    assert!(h.drain().is_empty());
}

#[test]
fn time_passed_in_never_goes_backwards() {
    let faults = Faults {
        min_latency: ms(5),
        max_latency: ms(5),
        ..Faults::none()
    };
    let mut h = Harness::new(Harness::topics(&[("t", 1)], &[1]), faults, 5);
    let conn = h.connect(1);
    h.advance(ms(100));
    h.send(conn, 12, &MetadataRequest::default());
    assert_eq!(
        h.cluster.poll_output(h.start),
        None,
        "an earlier time is the latest one"
    );
    assert!(h.cluster.poll_output(h.now + ms(5)).is_some());
    assert_eq!(h.cluster.now(), Some(h.now + ms(5)));
}

#[test]
fn a_zero_latency_cluster_answers_at_once() {
    // The bench path: no faults, no latency, nothing stored.
    let spec = ClusterSpec {
        store_records: false,
        ..Harness::topics(&[("t", 8)], &[1])
    };
    let mut cluster = SimCluster::new(spec, Faults::none(), 0);
    assert!(Faults::none().is_quiet());
    let start = std::time::Instant::now();
    let conn = cluster.connect("broker-1", 9092, start).unwrap();
    let mut answered = 0;
    for i in 0..1000 {
        let request: ProduceRequest = produce_request("t", i % 8, batch(-1, -1, -1, &["v"; 10]), 1);
        let bytes = wire::encode_request(12, i, &request).unwrap();
        cluster.client_send(conn, &bytes, start);
        assert_eq!(cluster.next_wakeup(), Some(start));
        while let Some(out) = cluster.poll_output(start) {
            assert!(matches!(out, NetOutput::Data { .. }));
            answered += 1;
        }
        assert_eq!(cluster.next_wakeup(), None);
    }
    assert_eq!(answered, 1000);
    assert_eq!(cluster.stats().records_appended, 10_000);
    assert_eq!(cluster.end_offset("t", 3), Some(1250));
}

#[test]
fn mangled_requests_never_panic_and_the_cluster_keeps_working() {
    use kafka_proto::messages::create_topics::{CreatableTopic, CreateTopicsRequest};
    use kafka_proto::messages::init_producer_id::InitProducerIdRequest;
    use kafka_proto::messages::sasl_handshake::SaslHandshakeRequest;
    use kafka_sim::SplitMix64;

    let spec = ClusterSpec {
        auto_create_partitions: Some(2),
        ..Harness::topics(&[("t", 2)], &[1, 2])
    };
    let mut h = Harness::new(spec, Faults::none(), 1);
    let valid: Vec<Vec<u8>> = vec![
        wire::encode_request(12, 1, &MetadataRequest::default())
            .unwrap()
            .to_vec(),
        wire::encode_request(
            12,
            2,
            &produce_request("t", 0, batch(7, 0, 0, &["a", "b"]), -1),
        )
        .unwrap()
        .to_vec(),
        wire::encode_request(
            7,
            3,
            &produce_request(
                "t",
                1,
                batch_with(
                    kafka_proto::compression::Compression::Lz4,
                    -1,
                    -1,
                    -1,
                    &["c"; 30],
                ),
                1,
            ),
        )
        .unwrap()
        .to_vec(),
        wire::encode_request(4, 4, &InitProducerIdRequest::default())
            .unwrap()
            .to_vec(),
        wire::encode_request(
            7,
            5,
            &CreateTopicsRequest {
                topics: vec![CreatableTopic {
                    name: "n".into(),
                    num_partitions: 3,
                    replication_factor: 1,
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .unwrap()
        .to_vec(),
        wire::encode_request(1, 6, &SaslHandshakeRequest::default())
            .unwrap()
            .to_vec(),
    ];
    let mut rng = SplitMix64::new(99);
    for round in 0..3000 {
        let mut frame = valid[rng.below(valid.len() as u64) as usize].clone();
        // Mangle the body (and sometimes the size prefix).
        for _ in 0..1 + rng.below(4) {
            let from = if rng.chance(0.1) { 0 } else { 4 };
            let at = from + rng.below((frame.len() - from) as u64) as usize;
            frame[at] = rng.next_u64() as u8;
        }
        if rng.chance(0.2) {
            let cut = rng.below(frame.len() as u64) as usize;
            frame.truncate(cut.max(4));
            let len = (frame.len() - 4) as u32;
            frame[..4].copy_from_slice(&len.to_be_bytes());
        }
        let conn = h.connect(1 + (round % 2));
        h.cluster.client_send(conn, &frame, h.now);
        h.drain();
        h.cluster.client_close(conn);
    }
    let conn = h.connect(1);
    let md = h.call(conn, 12, &MetadataRequest::default());
    assert!(md.topics.iter().any(|t| t.name.as_deref() == Some("t")));
    assert!(h.cluster.stats().malformed_requests > 100);
}
