//! Shared by this crate's integration tests: sending a mixed set of records
//! and checking them against what confluent-kafka (librdkafka, CRC checks
//! on) reads back from the broker.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use kafka_integration_tests::python;
use kafka_runtime_async_std::{ProducerRecord, RecordMetadata};
use serde_json::Value;

/// Prints `[partition, offset, timestamp, key, value, [[name, value], ...]]`
/// per record (bytes as hex, null when absent) for COUNT records of TOPIC
/// (every partition), then fails if fewer arrived or one more follows.
/// Further arguments are `name=value` consumer properties.
const READ_BACK: &str = r#"
import json, sys, time
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
conf = {"bootstrap.servers": bootstrap, "group.id": "async-std-read-back",
        "enable.auto.commit": False, "check.crcs": True}
conf.update(kv.split("=", 1) for kv in sys.argv[4:])
consumer = Consumer(conf)
partitions = consumer.list_topics(topic, timeout=20).topics[topic].partitions
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
h = lambda b: None if b is None else bytes(b).hex()
seen, deadline = 0, time.time() + 90
while seen < count and time.time() < deadline:
    for m in consumer.consume(num_messages=1000, timeout=0.5):
        if m.error():
            sys.exit(f"consume error: {m.error()}")
        headers = [[k, h(v)] for k, v in (m.headers() or [])]
        print(json.dumps([m.partition(), m.offset(), m.timestamp()[1], h(m.key()), h(m.value()), headers]))
        seen += 1
if seen < count:
    sys.exit(f"{seen} of {count} records arrived")
extra = [m for m in consumer.consume(num_messages=10, timeout=1.0) if not m.error()]
if extra:
    sys.exit(f"an unexpected record at {extra[0].partition()}/{extra[0].offset()}")
consumer.close()
"#;

/// A record as confluent-kafka read it.
#[derive(Debug, PartialEq, Eq)]
pub struct ReadRecord {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

fn script() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join("kafka-tests");
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        let path = dir.join(format!("async-std-read-back-{}.py", std::process::id()));
        std::fs::write(&path, READ_BACK).expect("write the read-back script");
        path
    })
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    let hex = v.as_str()?;
    let digits = hex.as_bytes().chunks(2);
    let byte = |d: &[u8]| u8::from_str_radix(std::str::from_utf8(d).unwrap(), 16).unwrap();
    Some(digits.map(byte).collect())
}

/// Reads `count` records of `topic` back with confluent-kafka; `extra` are
/// consumer properties (`name=value`).
pub fn read_back(bootstrap: &str, topic: &str, count: usize, extra: &[&str]) -> Vec<ReadRecord> {
    let mut args = vec![bootstrap.to_owned(), topic.to_owned(), count.to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    python(script(), args)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("a JSON line");
            let headers = v[5].as_array().expect("headers");
            ReadRecord {
                partition: v[0].as_i64().expect("partition") as i32,
                offset: v[1].as_i64().expect("offset"),
                timestamp: v[2].as_i64().expect("timestamp"),
                key: bytes(&v[3]),
                value: bytes(&v[4]),
                headers: headers
                    .iter()
                    .map(|h| (h[0].as_str().expect("name").to_owned(), bytes(&h[1])))
                    .collect(),
            }
        })
        .collect()
}

/// Record `i` of a test: keys and null keys, null and binary values,
/// headers with null values, some explicit partitions and timestamps.
pub fn record(topic: &str, i: usize) -> ProducerRecord {
    let mut r = ProducerRecord::new(topic);
    if i % 5 != 1 {
        r = r.key(format!("key-{i}"));
    }
    match i % 7 {
        6 => {}
        3 => r = r.value((0..=255u8).cycle().skip(i).take(500).collect::<Vec<u8>>()),
        _ => r = r.value(format!("value {i} ").repeat(1 + i % 4)),
    }
    if i % 3 != 0 {
        r = r.header("trace", Some(format!("t{i}")));
    }
    if i % 3 == 2 {
        r = r.header("none", None::<Vec<u8>>);
    }
    if i % 11 == 4 {
        r = r.partition(1);
    }
    if i % 2 == 0 {
        r = r.timestamp(1_700_000_000_000 + i as i64);
    }
    r
}

/// Asserts that the broker holds exactly the records sent, each where its
/// delivery said (partition, offset, timestamp), with key, value and
/// headers intact.
pub fn assert_read_back(sent: &[(ProducerRecord, RecordMetadata)], got: &[ReadRecord]) {
    let mut by_offset = HashMap::new();
    for (record, meta) in sent {
        assert!(meta.offset >= 0, "{meta:?}");
        if let Some(p) = record.partition {
            assert_eq!(meta.partition, p, "an explicit partition was not kept");
        }
        if let Some(t) = record.timestamp {
            assert_eq!(meta.timestamp, t);
        }
        let earlier = by_offset.insert((meta.partition, meta.offset), (record, meta));
        assert!(earlier.is_none(), "two records reported at {meta:?}");
    }
    assert_eq!(got.len(), sent.len(), "records read back");
    for g in got {
        let (record, meta) = by_offset
            .get(&(g.partition, g.offset))
            .unwrap_or_else(|| panic!("read {g:?}, which no delivery reported"));
        let headers: Vec<(String, Option<Vec<u8>>)> = record
            .headers
            .iter()
            .map(|h| (h.key.to_string(), h.value.as_ref().map(|v| v.to_vec())))
            .collect();
        let want = ReadRecord {
            partition: meta.partition,
            offset: meta.offset,
            timestamp: meta.timestamp,
            key: record.key.as_ref().map(|k| k.to_vec()),
            value: record.value.as_ref().map(|v| v.to_vec()),
            headers,
        };
        assert_eq!(g, &want);
    }
}
