//! Record batches written by an independent implementation (kafka-python's
//! record builders, see tests/scripts/gen_vectors.py) decode with our reader
//! to exactly the records kafka-python was given: every magic (0, 1, 2) and
//! every codec each supports, headers, null keys and values, non-UTF-8
//! values, transactional batches and two batches back to back.

use std::fs;

use bytes::Bytes;
use kafka_integration_tests::{hex_json, vectors_dir};
use kafka_proto::record::{AnyBatch, Batches};
use serde_json::Value;

#[test]
fn kafka_python_vectors_decode_to_their_records() {
    let mut files = 0;
    let mut total_records = 0;
    for entry in fs::read_dir(vectors_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("bin") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let expected: Value =
            serde_json::from_str(&fs::read_to_string(path.with_extension("json")).unwrap())
                .unwrap();
        let expected = expected["batches"].as_array().unwrap();
        let mut batches = Batches::new(Bytes::from(fs::read(&path).unwrap()));
        let mut got = Vec::new();
        for b in batches.by_ref() {
            got.push(b.unwrap_or_else(|e| panic!("{name}: {e}")));
        }
        assert_eq!(batches.partial_tail(), 0, "{name}");
        // A legacy compressed set is one wrapper entry; compare per record.
        let want_records: Vec<&Value> = expected
            .iter()
            .flat_map(|b| b["records"].as_array().unwrap())
            .collect();
        let mut got_records = Vec::new();
        for (i, b) in got.iter().enumerate() {
            let info = b.info();
            assert!(info.crc_valid, "{name}: batch {i} CRC");
            let want = &expected[i.min(expected.len() - 1)];
            assert_eq!(
                i64::from(info.magic),
                want["magic"].as_i64().unwrap(),
                "{name}"
            );
            assert_eq!(
                info.compression.name(),
                want["compression"].as_str().unwrap(),
                "{name}"
            );
            if let AnyBatch::V2(v2) = b {
                v2.verify_crc().unwrap();
                assert_eq!(
                    info.base_offset,
                    want["base_offset"].as_i64().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    info.producer_id,
                    want["producer_id"].as_i64().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    i64::from(info.producer_epoch),
                    want["producer_epoch"].as_i64().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    i64::from(info.base_sequence),
                    want["base_sequence"].as_i64().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    info.transactional,
                    want["transactional"].as_bool().unwrap(),
                    "{name}"
                );
            }
            got_records.extend(b.records(1 << 20).unwrap_or_else(|e| panic!("{name}: {e}")));
        }
        assert_eq!(got_records.len(), want_records.len(), "{name}");
        for (r, w) in got_records.iter().zip(&want_records) {
            assert_eq!(r.offset, w["offset"].as_i64().unwrap(), "{name}");
            assert_eq!(
                r.timestamp,
                w["timestamp"].as_i64().unwrap(),
                "{name} offset {}",
                r.offset
            );
            assert_eq!(
                hex_json(r.key.as_deref()),
                w["key"],
                "{name} offset {}",
                r.offset
            );
            assert_eq!(
                hex_json(r.value.as_deref()),
                w["value"],
                "{name} offset {}",
                r.offset
            );
            let headers: Vec<Value> = r
                .headers
                .iter()
                .map(|h| {
                    Value::Array(vec![
                        Value::String(String::from_utf8(h.key.to_vec()).unwrap()),
                        hex_json(h.value.as_deref()),
                    ])
                })
                .collect();
            assert_eq!(
                &Value::Array(headers),
                &w["headers"],
                "{name} offset {}",
                r.offset
            );
        }
        files += 1;
        total_records += got_records.len();
    }
    assert!(
        files >= 14,
        "expected the full vector set, found {files} files"
    );
    println!("{files} vector files, {total_records} records");
}
