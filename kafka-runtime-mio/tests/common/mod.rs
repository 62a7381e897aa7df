//! Shared by the integration tests: the records of a round trip, reading a
//! topic back with confluent-kafka (the runtime suite's helper), and
//! comparing the two.

#![allow(dead_code, unreachable_pub)]

use kafka_runtime_mio::{ProducerRecord, RecordMetadata};

// The runtime suite's read-back (confluent-kafka, every partition, fails
// on fewer or extra records).
#[path = "../../../tests/tests/runtimes/read_back.rs"]
mod read_back;
pub use read_back::{ReadRecord, read_back};

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

/// Asserts that what was read back is what was sent, where the producer
/// said it was written.
pub fn assert_read_back(sent: &[(ProducerRecord, RecordMetadata)], got: &[ReadRecord]) {
    assert_eq!(got.len(), sent.len());
    let mut sent: Vec<_> = sent.iter().collect();
    sent.sort_by_key(|(_, meta)| meta.offset);
    for ((record, meta), got) in sent.into_iter().zip(got) {
        assert_eq!(meta.partition, 0);
        assert_eq!(got.partition, 0, "at {meta:?}");
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
