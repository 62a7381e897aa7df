//! Writes seed inputs for the record and decompression fuzz targets into
//! `fuzz/corpus/` (run by hand: `cargo test -p kafka-proto --test fuzz_seeds -- --ignored`).

use std::fs;
use std::path::PathBuf;

use kafka_proto::compression::{Compression, compress};
use kafka_proto::record::{BatchOptions, Header, RecordBatchBuilder};

#[test]
#[ignore = "writes into fuzz/corpus; run by hand"]
fn write_seeds() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let codecs = Compression::ALL;
    let dir = corpus.join("record_batches");
    fs::create_dir_all(&dir).unwrap();
    for codec in codecs {
        let mut b = RecordBatchBuilder::new(codec);
        b.append(
            1_700_000_000_000,
            Some(b"key"),
            Some(b"value"),
            &[Header {
                key: "h",
                value: Some(b"v"),
            }],
        )
        .unwrap();
        b.append(1_700_000_000_001, None, None, &[]).unwrap();
        let batch = b
            .seal(&BatchOptions {
                producer_id: 5,
                producer_epoch: 1,
                base_sequence: 0,
                ..Default::default()
            })
            .unwrap();
        fs::write(dir.join(format!("seed-v2-{codec}")), &batch).unwrap();
    }
    let text = b"a record value that repeats, a record value that repeats".repeat(8);
    for codec in &codecs[1..] {
        let dir = corpus.join(format!("decompress_{codec}"));
        fs::create_dir_all(&dir).unwrap();
        let mut out = Vec::new();
        compress(*codec, &text, &mut out).unwrap();
        fs::write(dir.join("seed"), &out).unwrap();
    }
}
