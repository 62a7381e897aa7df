//! Batches we encode are decoded by an independent implementation:
//! kafka-python's DefaultRecordBatch reads every codec, checks our CRC32C and
//! must find exactly the records we put in (headers, null keys and values,
//! non-UTF-8 bytes, explicit timestamps, idempotent and transactional
//! producer fields, two batches back to back).

use std::fs;

use kafka_integration_tests::hex_json;
use kafka_integration_tests::require_tools;
use kafka_integration_tests::tools::Tool;
use kafka_proto::compression::Compression;
use kafka_proto::record::{BatchOptions, Header, RecordBatchBuilder};
use serde_json::json;

#[test]
fn kafka_python_reads_our_batches() {
    require_tools!(Tool::Python);
    let dir =
        std::env::temp_dir().join(format!("kafka-tests/encode-interop-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let codecs = Compression::ALL;
    for codec in codecs {
        for txn in [false, true] {
            let mut blob = Vec::new();
            let mut batches = Vec::new();
            let mut b = RecordBatchBuilder::new(codec);
            let mut offset = 0i64;
            for (part, n) in [(0, 40usize), (1, 3)] {
                let mut records = Vec::new();
                let base = offset;
                for i in 0..n {
                    let key = (i % 4 != 3).then(|| format!("key-{part}-{i}").into_bytes());
                    let value: Option<Vec<u8>> = match i % 5 {
                        4 => None,
                        2 => Some((0u8..=255).cycle().skip(i).take(300).collect()),
                        _ => Some(format!("value {i} ").repeat(10).into_bytes()),
                    };
                    let ts = 1_700_000_000_000 + (i as i64) * 13 - if i == 1 { 40 } else { 0 };
                    let header_values: Vec<Option<Vec<u8>>> = (0..i % 3)
                        .map(|j| (j != 1).then(|| format!("hv{i}.{j}").into_bytes()))
                        .collect();
                    let names: Vec<String> = (0..i % 3).map(|j| format!("h{j}")).collect();
                    let headers: Vec<Header<'_>> = names
                        .iter()
                        .zip(&header_values)
                        .map(|(k, v)| Header {
                            key: k,
                            value: v.as_deref(),
                        })
                        .collect();
                    b.append(ts, key.as_deref(), value.as_deref(), &headers)
                        .unwrap();
                    records.push(json!({
                        "offset": offset,
                        "timestamp": ts,
                        "key": hex_json(key.as_deref()),
                        "value": hex_json(value.as_deref()),
                        "headers": names.iter().zip(&header_values)
                            .map(|(k, v)| json!([k, hex_json(v.as_deref())])).collect::<Vec<_>>(),
                    }));
                    offset += 1;
                }
                let opts = BatchOptions {
                    base_offset: base,
                    producer_id: 77,
                    producer_epoch: 2,
                    base_sequence: base as i32,
                    transactional: txn,
                    ..Default::default()
                };
                blob.extend_from_slice(&b.seal(&opts).unwrap());
                batches.push(json!({
                    "magic": 2, "base_offset": base, "compression": codec.name(), "transactional": txn,
                    "producer_id": 77, "producer_epoch": 2, "base_sequence": base,
                    "records": records,
                }));
            }
            let name = format!("ours-{codec}{}", if txn { "-txn" } else { "" });
            fs::write(dir.join(format!("{name}.bin")), &blob).unwrap();
            fs::write(
                dir.join(format!("{name}.json")),
                json!({ "batches": batches }).to_string(),
            )
            .unwrap();
        }
    }
    let out = kafka_integration_tests::python("scripts/check_batches.py", [&dir]);
    assert!(out.contains("all CRCs valid"), "{out}");
    println!("{out}");
    fs::remove_dir_all(&dir).unwrap();
}
