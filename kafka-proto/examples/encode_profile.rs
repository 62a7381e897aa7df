//! Encodes the `record_batch` bench's uncompressed workload (10,000 records
//! of 100-byte values, no key, no headers, increasing timestamps) a given
//! number of times, with our builder or with the `kafka-protocol` crate's
//! encoder, so that an instruction-counting profiler sees one codec only.
//!
//! Criterion's timings are noisy on a shared machine; callgrind's counts are
//! not. Divide the difference between two runs (say 1 and 11 batches) by the
//! difference in batches to cancel the setup cost:
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-perf cargo build --release -p kafka-proto --example encode_profile
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.ours \
//!     /tmp/target-perf/release/examples/encode_profile ours 11
//! callgrind_annotate /tmp/cg.ours | head -40
//! ```
//!
//! Usage: `encode_profile ours|ours-opaque|kafka-protocol [BATCHES]`
//! (default 1000 batches). The program reads no clock (clippy.toml keeps
//! the crate clock-free); time it with criterion or `time`.
//!
//! `ours` calls `append` exactly as the bench does, with a constant `None`
//! key and empty headers that the caller's inlined copy of `append` can see.
//! `ours-opaque` hides the key, value and headers behind `black_box`, as a
//! producer's accumulator (which knows them only at run time) would call it.

use std::hint::black_box;
use std::process::ExitCode;

use bytes::{Bytes, BytesMut};
use kafka_proto::compression::Compression;
use kafka_proto::record::{BatchOptions, RecordBatchBuilder};
use kafka_protocol::records as kp;

// The same workload as benches/record_batch.rs.
const RECORDS: usize = 10_000;
const VALUE: usize = 100;
const T0: i64 = 1_700_000_000_000;

fn values() -> Vec<[u8; VALUE]> {
    (0..RECORDS)
        .map(|i| {
            let mut v = [0u8; VALUE];
            for (j, b) in v.iter_mut().enumerate() {
                *b = b"abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + j) % 36];
            }
            v
        })
        .collect()
}

// Kept out of line so that the profile shows one entry per batch.
#[inline(never)]
fn ours_encode(b: &mut RecordBatchBuilder, values: &[[u8; VALUE]]) -> Bytes {
    for (i, v) in values.iter().enumerate() {
        b.append(T0 + i as i64, None, Some(v), &[]).unwrap();
    }
    b.seal(&BatchOptions {
        producer_id: 1,
        producer_epoch: 0,
        base_sequence: 0,
        ..Default::default()
    })
    .unwrap()
}

#[inline(never)]
fn ours_encode_opaque(b: &mut RecordBatchBuilder, values: &[[u8; VALUE]]) -> Bytes {
    for (i, v) in values.iter().enumerate() {
        let (key, value, headers) = black_box((None, Some(&v[..]), &[][..]));
        b.append(T0 + i as i64, key, value, headers).unwrap();
    }
    b.seal(&BatchOptions {
        producer_id: 1,
        producer_epoch: 0,
        base_sequence: 0,
        ..Default::default()
    })
    .unwrap()
}

fn their_records(values: &[[u8; VALUE]]) -> Vec<kp::Record> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| kp::Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: 1,
            producer_epoch: 0,
            timestamp_type: kp::TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: T0 + i as i64,
            key: None,
            value: Some(Bytes::copy_from_slice(v)),
            headers: Default::default(),
        })
        .collect()
}

#[inline(never)]
fn their_encode(records: &[kp::Record]) -> BytesMut {
    let opts = kp::RecordEncodeOptions {
        version: 2,
        compression: kp::Compression::None,
    };
    // As in the bench: a fresh buffer of the same capacity per batch.
    let mut buf = BytesMut::with_capacity(2 << 20);
    kp::RecordBatchEncoder::encode(&mut buf, records, &opts).unwrap();
    buf
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let batches: u32 = match args.next().map(|n| n.parse()) {
        None => 1000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("BATCHES must be a number");
            return ExitCode::FAILURE;
        }
    };
    let values = values();
    let mut bytes = 0usize;
    match which.as_str() {
        "ours" => {
            let mut b = RecordBatchBuilder::with_capacity(Compression::None, 2 << 20);
            for _ in 0..batches {
                bytes += black_box(ours_encode(&mut b, black_box(&values))).len();
            }
        }
        "ours-opaque" => {
            let mut b = RecordBatchBuilder::with_capacity(Compression::None, 2 << 20);
            for _ in 0..batches {
                bytes += black_box(ours_encode_opaque(&mut b, black_box(&values))).len();
            }
        }
        "kafka-protocol" => {
            let records = their_records(&values);
            for _ in 0..batches {
                bytes += black_box(their_encode(black_box(&records))).len();
            }
        }
        _ => {
            eprintln!("usage: encode_profile ours|ours-opaque|kafka-protocol [BATCHES]");
            return ExitCode::FAILURE;
        }
    }
    println!(
        "{which}: {batches} batches of {RECORDS} records, {} bytes each",
        bytes / batches.max(1) as usize
    );
    ExitCode::SUCCESS
}
