//! Shared by this crate's integration tests: sending a mixed set of records
//! and checking them against what confluent-kafka (librdkafka, CRC checks
//! on; the runtime suite's read-back helper) reads back from the broker.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;

use kafka_runtime_async_std::{ProducerRecord, RecordMetadata};

// The runtime suite's read-back (confluent-kafka, every partition, fails
// on fewer or extra records).
#[path = "../../../tests/tests/runtimes/read_back.rs"]
mod read_back;
pub use read_back::{ReadRecord, read_back};

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
