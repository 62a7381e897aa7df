//! Record batch encode/decode and CRC32C, with the `kafka-protocol` crate's
//! record batch encoder/decoder measured in the same run as the peer.
//!
//! Run: `cargo bench -p kafka-proto --bench record_batch`
//!
//! Workload: 10,000 records of 100-byte values (no key, no headers),
//! increasing timestamps, one batch, uncompressed and lz4.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kafka_proto::compression::Compression;
use kafka_proto::record::{BatchOptions, RecordBatch, RecordBatchBuilder};
use kafka_protocol::records as kp;

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

fn codecs() -> [(Compression, kp::Compression); 2] {
    [
        (Compression::None, kp::Compression::None),
        (Compression::Lz4, kp::Compression::Lz4),
    ]
}

fn encode(c: &mut Criterion) {
    let values = values();
    let theirs = their_records(&values);
    let mut g = c.benchmark_group("encode_10k_x_100B");
    g.throughput(Throughput::Elements(RECORDS as u64));
    for (ours_codec, their_codec) in codecs() {
        let mut b = RecordBatchBuilder::with_capacity(ours_codec, 2 << 20);
        g.bench_function(BenchmarkId::new("kafka-proto", ours_codec), |bench| {
            bench.iter(|| black_box(ours_encode(&mut b, black_box(&values))))
        });
        // The peer is given its records already built (the Bytes values
        // allocated outside the timed loop), which favours it.
        g.bench_function(BenchmarkId::new("kafka-protocol", ours_codec), |bench| {
            let opts = kp::RecordEncodeOptions {
                version: 2,
                compression: their_codec,
            };
            bench.iter(|| {
                let mut buf = BytesMut::with_capacity(2 << 20);
                kp::RecordBatchEncoder::encode(&mut buf, black_box(&theirs), &opts).unwrap();
                black_box(buf)
            })
        });
    }
    g.finish();
}

fn decode(c: &mut Criterion) {
    let values = values();
    let mut g = c.benchmark_group("decode_10k_x_100B");
    g.throughput(Throughput::Elements(RECORDS as u64));
    for (codec, _) in codecs() {
        let batch = ours_encode(&mut RecordBatchBuilder::new(codec), &values);
        // Borrowed iteration: what a consumer of the bytes (the dump tool, a
        // simulated broker checking sequences) needs.
        g.bench_function(BenchmarkId::new("kafka-proto", codec), |bench| {
            bench.iter(|| {
                let view = RecordBatch::parse(black_box(batch.clone())).unwrap();
                let body = view.records_body(64 << 20).unwrap();
                let mut n = 0usize;
                for r in view.records_ref(&body).unwrap() {
                    n += r.unwrap().value.map_or(0, |v| v.len());
                }
                black_box(n)
            })
        });
        // Owned records (reference-counted slices of the batch).
        g.bench_function(BenchmarkId::new("kafka-proto-owned", codec), |bench| {
            bench.iter(|| {
                let view = RecordBatch::parse(black_box(batch.clone())).unwrap();
                let mut n = 0usize;
                for r in view.records(64 << 20).unwrap() {
                    n += r.unwrap().value.map_or(0, |v| v.len());
                }
                black_box(n)
            })
        });
        g.bench_function(BenchmarkId::new("kafka-protocol", codec), |bench| {
            bench.iter(|| {
                let mut buf = black_box(batch.clone());
                let set = kp::RecordBatchDecoder::decode(&mut buf).unwrap();
                let n: usize = set
                    .records
                    .iter()
                    .map(|r| r.value.as_ref().map_or(0, |v| v.len()))
                    .sum();
                black_box(n)
            })
        });
    }
    g.finish();
}

fn crc(c: &mut Criterion) {
    let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 31 % 251) as u8).collect();
    let mut g = c.benchmark_group("crc32c");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("1MiB", |bench| {
        bench.iter(|| black_box(crc32c::crc32c(black_box(&data))))
    });
    g.finish();
}

criterion_group!(benches, encode, decode, crc);
criterion_main!(benches);
