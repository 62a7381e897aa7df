use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::compression::{Compression, compress};

/// The codecs this build can use (all of them with default features).
fn codecs() -> impl Iterator<Item = Compression> {
    Compression::ALL.into_iter().filter(|c| c.is_enabled())
}

type TestRecord = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
);

fn build(codec: Compression, records: &[TestRecord], opts: &BatchOptions) -> Bytes {
    let mut b = RecordBatchBuilder::new(codec);
    for (ts, k, v, hs) in records {
        let headers: Vec<Header<'_>> = hs
            .iter()
            .map(|(k, v)| Header {
                key: k,
                value: v.as_deref(),
            })
            .collect();
        let before = b.size_in_bytes();
        let predicted = b.record_size(*ts, k.as_deref(), v.as_deref(), &headers);
        b.append(*ts, k.as_deref(), v.as_deref(), &headers).unwrap();
        assert_eq!(b.size_in_bytes() - before, predicted);
    }
    b.seal(opts).unwrap()
}

fn check(batch: &Bytes, records: &[TestRecord], opts: &BatchOptions, codec: Compression) {
    let view = RecordBatch::parse(batch.clone()).unwrap();
    view.verify_crc().unwrap();
    assert_eq!(view.compression(), codec);
    assert_eq!(view.records_count() as usize, records.len());
    assert_eq!(view.base_offset(), opts.base_offset);
    assert_eq!(view.producer_id(), opts.producer_id);
    assert_eq!(view.producer_epoch(), opts.producer_epoch);
    assert_eq!(view.base_sequence(), opts.base_sequence);
    assert_eq!(view.is_transactional(), opts.transactional);
    assert_eq!(view.last_offset_delta(), records.len() as i32 - 1);
    if let Some(max) = records.iter().map(|r| r.0).max() {
        assert_eq!(view.max_timestamp(), max);
        assert_eq!(view.base_timestamp(), records[0].0);
    }
    let got: Vec<Record> = view
        .records(64 << 20)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(got.len(), records.len());
    for (i, (r, (ts, k, v, hs))) in got.iter().zip(records).enumerate() {
        assert_eq!(r.offset, opts.base_offset + i as i64);
        assert_eq!(r.timestamp, *ts);
        assert_eq!(r.key.as_deref(), k.as_deref());
        assert_eq!(r.value.as_deref(), v.as_deref());
        let heads: Vec<(String, Option<Vec<u8>>)> = r
            .headers
            .iter()
            .map(|h| {
                (
                    String::from_utf8(h.key.to_vec()).unwrap(),
                    h.value.as_ref().map(|v| v.to_vec()),
                )
            })
            .collect();
        assert_eq!(&heads, hs);
    }
}

fn arb_records() -> impl Strategy<Value = Vec<TestRecord>> {
    let bytes = proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40));
    let header = (
        "\\PC{0,6}",
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10)),
    );
    proptest::collection::vec(
        (
            -10_000_000i64..4_000_000_000_000,
            bytes.clone(),
            bytes,
            proptest::collection::vec(header, 0..3),
        ),
        1..20,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn batches_round_trip_with_every_codec(
        records in arb_records(),
        pid in -1i64..1_000_000,
        epoch in -1i16..100,
        seq in -1i32..1_000_000,
        txn in any::<bool>(),
        base_offset in 0i64..1_000_000,
    ) {
        let opts = BatchOptions {
            base_offset,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            transactional: txn,
            ..Default::default()
        };
        for codec in codecs() {
            let batch = build(codec, &records, &opts);
            check(&batch, &records, &opts, codec);
        }
    }

    #[test]
    fn every_truncation_and_bit_flip_fails_cleanly(records in arb_records(), flip in any::<prop::sample::Index>()) {
        for codec in [Compression::None, Compression::Lz4].into_iter().filter(|c| c.is_enabled()) {
            let batch = build(codec, &records, &BatchOptions::default());
            for cut in 0..batch.len() {
                prop_assert!(RecordBatch::parse(batch.slice(..cut)).is_err());
            }
            let mut bad = batch.to_vec();
            let i = flip.index(bad.len() - CRC_START) + CRC_START;
            bad[i] ^= 0x40;
            if let Ok(view) = RecordBatch::parse(Bytes::from(bad)) {
                prop_assert!(view.verify_crc().is_err());
                // Decoding corrupt records may fail but must not panic.
                if let Ok(it) = view.records(1 << 20) {
                    for _ in it {}
                }
            }
        }
    }
}

#[test]
fn builder_is_reusable_after_seal() {
    let mut b = RecordBatchBuilder::new(Compression::None);
    for round in 0..3i64 {
        b.append(round, None, Some(b"x"), &[]).unwrap();
        b.append(round + 5, Some(b"k"), None, &[]).unwrap();
        let batch = b.seal(&BatchOptions::default()).unwrap();
        assert!(b.is_empty());
        let view = RecordBatch::parse(batch).unwrap();
        view.verify_crc().unwrap();
        assert_eq!(view.records_count(), 2);
        assert_eq!(view.max_timestamp(), round + 5);
    }
}

#[test]
fn restamp_rewrites_producer_fields_and_crc() {
    let records: Vec<TestRecord> = vec![
        (5, None, Some(b"a".to_vec()), vec![]),
        (6, None, Some(b"b".to_vec()), vec![]),
    ];
    for codec in codecs() {
        let batch = build(
            codec,
            &records,
            &BatchOptions {
                producer_id: 1,
                producer_epoch: 0,
                base_sequence: 10,
                ..Default::default()
            },
        );
        let mut bytes = batch.to_vec();
        restamp(&mut bytes, 99, 3, 42).unwrap();
        set_base_offset(&mut bytes, 1000).unwrap();
        let opts = BatchOptions {
            base_offset: 1000,
            producer_id: 99,
            producer_epoch: 3,
            base_sequence: 42,
            ..Default::default()
        };
        check(&Bytes::from(bytes), &records, &opts, codec);
    }
    assert!(restamp(&mut [0u8; 10], 1, 1, 1).is_err());
}

#[test]
fn log_append_time_applies_to_every_record() {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.append(1, None, Some(b"a"), &[]).unwrap();
    b.append(2, None, Some(b"b"), &[]).unwrap();
    let batch = b
        .seal(&BatchOptions {
            log_append_time: Some(777),
            ..Default::default()
        })
        .unwrap();
    let view = RecordBatch::parse(batch).unwrap();
    assert_eq!(view.timestamp_type(), TimestampType::LogAppendTime);
    assert!(
        view.records(1024)
            .unwrap()
            .all(|r| r.unwrap().timestamp == 777)
    );
}

#[test]
fn hostile_counts_do_not_allocate() {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.append(0, None, Some(b"v"), &[]).unwrap();
    let mut bytes = b.seal(&BatchOptions::default()).unwrap().to_vec();
    bytes[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
    let view = RecordBatch::parse(Bytes::from(bytes)).unwrap();
    let results: Vec<_> = view.records(1024).unwrap().collect();
    assert_eq!(results.len(), 2);
    assert!(results[1].is_err());
}

/// A magic 0 or 1 message, encoded here for tests only (we never write the
/// legacy format).
fn legacy(
    offset: i64,
    magic: i8,
    attributes: i8,
    ts: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Vec<u8> {
    let mut m = BytesMut::new();
    m.put_i8(magic);
    m.put_i8(attributes);
    if magic == 1 {
        m.put_i64(ts);
    }
    for b in [key, value] {
        match b {
            Some(b) => {
                m.put_i32(b.len() as i32);
                m.put_slice(b);
            }
            None => m.put_i32(-1),
        }
    }
    let mut out = BytesMut::new();
    out.put_i64(offset);
    out.put_i32(m.len() as i32 + 4);
    out.put_u32(crc32fast::hash(&m));
    out.put_slice(&m);
    out.to_vec()
}

#[test]
fn legacy_plain_and_wrapped_messages_decode() {
    // Magic 1 wrapper: inner offsets relative, wrapper offset = last absolute.
    let mut inner = Vec::new();
    inner.extend(legacy(0, 1, 0, 100, Some(b"k0"), Some(b"v0")));
    inner.extend(legacy(1, 1, 0, 101, None, Some(b"v1")));
    inner.extend(legacy(2, 1, 0, 102, Some(b"k2"), None));
    for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4]
        .into_iter()
        .filter(|c| c.is_enabled())
    {
        let mut z = Vec::new();
        compress(codec, &inner, &mut z).unwrap();
        let mut buf = legacy(7, 0, 0, -1, Some(b"plain"), Some(b"m0"));
        buf.extend(legacy(52, 1, codec.id() as i8, 99, None, Some(&z)));
        let mut it = Batches::new(Bytes::from(buf));
        let first = it.next().unwrap().unwrap();
        let info = first.info();
        assert_eq!((info.magic, info.crc_valid), (0, true));
        let r = first.records(1 << 20).unwrap();
        assert_eq!(
            (r[0].offset, r[0].timestamp, r[0].key.as_deref()),
            (7, -1, Some(&b"plain"[..]))
        );
        let wrapper = it.next().unwrap().unwrap();
        assert_eq!(wrapper.info().compression, codec);
        assert!(wrapper.info().crc_valid);
        let r = wrapper.records(1 << 20).unwrap();
        assert_eq!(
            r.iter().map(|r| r.offset).collect::<Vec<_>>(),
            vec![50, 51, 52]
        );
        assert_eq!(
            r.iter().map(|r| r.timestamp).collect::<Vec<_>>(),
            vec![100, 101, 102]
        );
        assert_eq!(r[2].value, None);
        assert!(it.next().is_none());
        assert_eq!(it.partial_tail(), 0);
    }
}

#[test]
fn mixed_magics_and_partial_tail() {
    // zstd with default features; whatever is enabled otherwise.
    let mut b = RecordBatchBuilder::new(codecs().last().unwrap());
    b.append(
        10,
        Some(b"k"),
        Some(b"v2"),
        &[Header {
            key: "h",
            value: Some(b"x"),
        }],
    )
    .unwrap();
    let v2 = b
        .seal(&BatchOptions {
            base_offset: 3,
            ..Default::default()
        })
        .unwrap();
    let mut buf = legacy(1, 1, 0, 5, None, Some(b"m1"));
    buf.extend_from_slice(&v2);
    buf.extend_from_slice(&v2[..30]);
    let mut it = Batches::new(Bytes::from(buf));
    assert_eq!(it.next().unwrap().unwrap().info().magic, 1);
    let b2 = it.next().unwrap().unwrap();
    assert_eq!(b2.info().magic, 2);
    assert_eq!(b2.records(1024).unwrap()[0].offset, 3);
    assert!(it.next().is_none());
    assert_eq!(it.partial_tail(), 30);
}

#[test]
fn unknown_magic_and_bad_lengths_are_errors() {
    let mut bad = legacy(0, 1, 0, 5, None, Some(b"m"));
    bad[16] = 3;
    assert!(matches!(
        Batches::new(Bytes::from(bad))
            .next()
            .unwrap()
            .unwrap_err()
            .kind,
        crate::DecodeErrorKind::UnknownMagic { magic: 3 }
    ));
    let mut neg = legacy(0, 1, 0, 5, None, Some(b"m"));
    neg[8..12].copy_from_slice(&(-5i32).to_be_bytes());
    assert!(Batches::new(Bytes::from(neg)).next().unwrap().is_err());
}
