//! Shared by the integration tests: the records of a round trip, and
//! reading a topic back with confluent-kafka (librdkafka, CRC checks on).

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::OnceLock;

use kafka_integration_tests::python;
use kafka_runtime_mio::{ProducerRecord, RecordMetadata};
use serde_json::Value;

/// One record as confluent-kafka read it from partition 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Record `i` of a round trip, on partition 0: keys, null keys and
/// values, headers with null values, explicit timestamps.
pub fn record(topic: &str, i: usize) -> ProducerRecord {
    let mut r = ProducerRecord::new(topic)
        .partition(0)
        .timestamp(1_700_000_000_000 + i as i64);
    if i % 4 != 1 {
        r = r.key(format!("k{i}"));
    }
    if i % 7 != 3 {
        r = r.value(format!("mio record {i} ").repeat(1 + i % 5));
    }
    if i % 3 >= 1 {
        r = r.header("trace", Some(format!("v{i}")));
    }
    if i % 3 == 2 {
        r = r.header("empty", None::<Vec<u8>>);
    }
    r
}

fn unhex(v: &Value) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    Some(
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect(),
    )
}

/// Reads COUNT records of partition 0 of TOPIC with confluent-kafka and
/// prints one JSON object per record (tests/scripts/consume_json.py, plus
/// `key=value` consumer properties for TLS).
const READ_BACK: &str = r#"
import json, sys, time
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
conf = {"bootstrap.servers": bootstrap, "group.id": "mio-read-back", "enable.auto.commit": False,
        "check.crcs": True}
conf.update(kv.split("=", 1) for kv in sys.argv[4:])
c = Consumer(conf)
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
hexify = lambda b: None if b is None else bytes(b).hex()
got, deadline = 0, time.time() + 60
while got < count and time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        sys.exit(f"consume error: {m.error()}")
    print(json.dumps({"offset": m.offset(), "timestamp": m.timestamp()[1], "key": hexify(m.key()),
                      "value": hexify(m.value()), "headers": [[k, hexify(v)] for k, v in (m.headers() or [])]}))
    got += 1
extra = c.poll(1.0)
c.close()
if got < count:
    sys.exit(f"only {got} of {count} records arrived")
if extra is not None and not extra.error():
    sys.exit(f"an unexpected extra record at offset {extra.offset()}")
"#;

fn script() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join("kafka-tests");
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let path = dir.join(format!("mio-read-back-{}.py", std::process::id()));
        std::fs::write(&path, READ_BACK).expect("write the read-back script");
        path
    })
    .clone()
}

/// Reads `count` records of partition 0 of `topic` (fails on fewer or
/// more); `extra` are `key=value` consumer properties.
pub fn read_back(bootstrap: &str, topic: &str, count: usize, extra: &[String]) -> Vec<ReadRecord> {
    let mut args = vec![bootstrap.to_owned(), topic.to_owned(), count.to_string()];
    args.extend(extra.iter().cloned());
    let out = python(script(), args);
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            ReadRecord {
                offset: v["offset"].as_i64().expect("offset"),
                timestamp: v["timestamp"].as_i64().expect("timestamp"),
                key: unhex(&v["key"]),
                value: unhex(&v["value"]),
                headers: v["headers"]
                    .as_array()
                    .expect("headers")
                    .iter()
                    .map(|h| (h[0].as_str().expect("key").to_owned(), unhex(&h[1])))
                    .collect(),
            }
        })
        .collect()
}

/// Asserts that what was read back is what was sent, where the producer
/// said it was written.
pub fn assert_read_back(sent: &[(ProducerRecord, RecordMetadata)], got: &[ReadRecord]) {
    assert_eq!(got.len(), sent.len());
    let mut sent: Vec<_> = sent.iter().collect();
    sent.sort_by_key(|(_, meta)| meta.offset);
    for ((record, meta), got) in sent.into_iter().zip(got) {
        assert_eq!(meta.partition, 0);
        assert_eq!(got.offset, meta.offset);
        assert_eq!(got.timestamp, meta.timestamp, "timestamp at {meta:?}");
        assert_eq!(Some(got.timestamp), record.timestamp, "at {meta:?}");
        assert_eq!(got.key.as_deref(), record.key.as_deref(), "key at {meta:?}");
        assert_eq!(
            got.value.as_deref(),
            record.value.as_deref(),
            "value at {meta:?}"
        );
        let headers: Vec<(String, Option<Vec<u8>>)> = record
            .headers
            .iter()
            .map(|h| (h.key.to_string(), h.value.as_ref().map(|v| v.to_vec())))
            .collect();
        assert_eq!(got.headers, headers, "headers at {meta:?}");
    }
}
