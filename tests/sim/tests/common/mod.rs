//! A raw client for the tests: builds requests with kafka-proto, drives the
//! cluster's time and decodes what comes back.

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_proto::Request;
use kafka_proto::compression::Compression;
use kafka_proto::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafka_proto::messages::produce::{
    PartitionProduceData, PartitionProduceResponse, ProduceRequest, TopicProduceData,
};
use kafka_proto::record::{BatchOptions, Header, RecordBatchBuilder};
use kafka_sim::{ClusterSpec, ConnId, Faults, NetOutput, SimCluster, wire};

/// The newest Produce version a Kafka 4.0 broker accepts.
pub const PRODUCE_V: i16 = 12;

/// A cluster, its clock and a correlation id counter.
pub struct Harness {
    pub cluster: SimCluster,
    pub start: Instant,
    pub now: Instant,
    next_cid: i32,
}

/// What arrived, and when (since the start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub at: Duration,
    pub output: NetOutput,
}

impl Harness {
    pub fn new(spec: ClusterSpec, faults: Faults, seed: u64) -> Self {
        Self::with(SimCluster::new(spec, faults, seed))
    }

    pub fn with(cluster: SimCluster) -> Self {
        let start = Instant::now();
        Harness {
            cluster,
            start,
            now: start,
            next_cid: 1,
        }
    }

    pub fn topics(topics: &[(&str, i32)], brokers: &[i32]) -> ClusterSpec {
        ClusterSpec {
            brokers: brokers.to_vec(),
            topics: topics.iter().map(|(n, p)| (n.to_string(), *p)).collect(),
            auto_create_partitions: None,
            sasl: None,
            store_records: true,
        }
    }

    pub fn connect(&mut self, broker: i32) -> ConnId {
        self.cluster
            .connect(&format!("broker-{broker}"), 9092, self.now)
            .expect("broker up")
    }

    /// Sends a request; returns its correlation id.
    pub fn send<R: Request>(&mut self, conn: ConnId, version: i16, body: &R) -> i32 {
        let cid = self.next_cid;
        self.next_cid += 1;
        let bytes = wire::encode_request(version, cid, body).expect("encodable");
        self.cluster.client_send(conn, &bytes, self.now);
        cid
    }

    /// Advances time until nothing is pending; returns every output.
    pub fn drain(&mut self) -> Vec<Arrival> {
        let mut out = Vec::new();
        loop {
            while let Some(o) = self.cluster.poll_output(self.now) {
                out.push(Arrival {
                    at: self.now - self.start,
                    output: o,
                });
            }
            match self.cluster.next_wakeup() {
                Some(t) => self.now = self.now.max(t),
                None => return out,
            }
        }
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Sends a request and returns its decoded response; panics if none
    /// arrives.
    pub fn call<R: Request>(&mut self, conn: ConnId, version: i16, body: &R) -> R::Response {
        let cid = self.send(conn, version, body);
        for a in self.drain() {
            if let NetOutput::Data { conn: c, bytes } = a.output {
                if c == conn {
                    let (got, response) =
                        wire::decode_response::<R>(&bytes, version).expect("decodable response");
                    assert_eq!(got, cid, "responses come in order");
                    return response;
                }
            }
        }
        panic!("no response to correlation id {cid}");
    }

    pub fn init_producer_id(&mut self, conn: ConnId) -> (i64, i16) {
        let r = self.call(
            conn,
            5,
            &InitProducerIdRequest {
                transaction_timeout_ms: 60_000,
                ..Default::default()
            },
        );
        assert_eq!(r.error_code, 0);
        (r.producer_id, r.producer_epoch)
    }

    pub fn bump(&mut self, conn: ConnId, producer_id: i64, epoch: i16) -> InitProducerIdResponse {
        self.call(
            conn,
            5,
            &InitProducerIdRequest {
                producer_id,
                producer_epoch: epoch,
                transaction_timeout_ms: 60_000,
                ..Default::default()
            },
        )
    }

    /// Produces one batch and returns the partition's response.
    pub fn produce(
        &mut self,
        conn: ConnId,
        topic: &str,
        partition: i32,
        batch: Bytes,
    ) -> PartitionProduceResponse {
        let r = self.call(
            conn,
            PRODUCE_V,
            &produce_request(topic, partition, batch, -1),
        );
        r.responses[0].partition_responses[0].clone()
    }
}

/// A v2 batch of `values` (key `k<i>`, one header `h`), sealed with the
/// given producer id, epoch and base sequence.
pub fn batch_with(
    compression: Compression,
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    values: &[&str],
) -> Bytes {
    let mut b = RecordBatchBuilder::new(compression);
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{i}");
        b.append(
            1_700_000_000_000 + i as i64,
            Some(key.as_bytes()),
            Some(v.as_bytes()),
            &[Header {
                key: "h",
                value: Some(b"hv"),
            }],
        )
        .expect("append");
    }
    b.seal(&BatchOptions {
        producer_id,
        producer_epoch: epoch,
        base_sequence,
        ..Default::default()
    })
    .expect("seal")
}

pub fn batch(producer_id: i64, epoch: i16, base_sequence: i32, values: &[&str]) -> Bytes {
    batch_with(Compression::None, producer_id, epoch, base_sequence, values)
}

pub fn produce_request(topic: &str, partition: i32, batch: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest {
        acks,
        timeout_ms: 30_000,
        topic_data: vec![TopicProduceData {
            name: topic.to_owned(),
            partition_data: vec![PartitionProduceData {
                index: partition,
                records: Some(batch),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
