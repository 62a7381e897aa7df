//! Reading a topic back with confluent-kafka (librdkafka,
//! `check.crcs=true`), an independent client, to compare with what was sent.
//! Included by the runtime suite (`runtimes`) and by kprod's tests.

#![allow(dead_code, unreachable_pub)]

use kafka_integration_tests::tools::python_inline;
use serde_json::Value;

/// Reads COUNT records from every partition of TOPIC and prints one JSON
/// object per record; fails on a consume error, on fewer records, or on an
/// extra one. Extra args are `key=value` consumer properties (TLS).
const READ_BACK: &str = r#"
import json, sys, time
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
conf = {"bootstrap.servers": bootstrap, "group.id": "kafka-tests-read-back", "enable.auto.commit": False,
        "check.crcs": True}
for kv in sys.argv[4:]:
    k, v = kv.split("=", 1)
    conf[k] = v
c = Consumer(conf)
md = c.list_topics(topic, timeout=20)
parts = sorted(md.topics[topic].partitions)
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
hexify = lambda b: None if b is None else bytes(b).hex()
got, deadline, out = 0, time.time() + 90, []
while got < count and time.time() < deadline:
    for m in c.consume(num_messages=10000, timeout=0.5):
        if m.error():
            sys.exit(f"consume error: {m.error()}")
        out.append(json.dumps({"partition": m.partition(), "offset": m.offset(), "timestamp": m.timestamp()[1],
                               "key": hexify(m.key()), "value": hexify(m.value()),
                               "headers": [[k, hexify(v)] for k, v in (m.headers() or [])]}))
        got += 1
extra = [m for m in c.consume(num_messages=100, timeout=1.0) if not m.error()]
# What the broker holds: a log start above 0 means records were deleted (retention).
marks = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in parts} if got < count else {}
c.close()
print("\n".join(out))
if got < count:
    sys.exit(f"only {got} of {count} records arrived; (log start, end) per partition: {marks}")
if extra:
    sys.exit(f"{len(extra)} unexpected extra records, the first at {extra[0].partition()}/{extra[0].offset()}")
"#;

/// One record as confluent-kafka read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
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

/// Reads `count` records of `topic` (all partitions) with confluent-kafka.
pub fn read_back(bootstrap: &str, topic: &str, count: usize, extra: &[&str]) -> Vec<ReadRecord> {
    let mut args = vec![bootstrap.to_owned(), topic.to_owned(), count.to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = python_inline(READ_BACK, args);
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            ReadRecord {
                partition: v["partition"].as_i64().expect("partition") as i32,
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
