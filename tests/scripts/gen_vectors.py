#!/usr/bin/env python3
"""Writes record batch test vectors with an independent implementation,
kafka-python's record builders, for every magic and codec it supports.

Each vector is `tests/vectors/<name>.bin` (one or more batches, as in a log
segment or Fetch response) and `<name>.json`: the records kafka-python put
in, and the batch attributes. Run with the test venv:

    .venv/bin/python tests/scripts/gen_vectors.py
"""
import functools
import gzip
import json
import pathlib

from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder

# gzip stamps the current time into its header; pin it so that regenerating
# the vectors reproduces the committed bytes exactly.
gzip.GzipFile = functools.partial(gzip.GzipFile, mtime=0)

OUT = pathlib.Path(__file__).resolve().parent.parent / "vectors"
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
BASE_TS = 1_700_000_000_000


def records(n):
    out = []
    for i in range(n):
        key = None if i % 4 == 3 else f"key-{i}".encode()
        if i % 5 == 4:
            value = None
        elif i % 3 == 2:
            value = bytes(range(256))[i % 7 :]  # not UTF-8
        else:
            value = (f"value {i} " * (20 + i % 6)).encode()
        headers = [(f"h{j}", None if j == 1 else f"hv{i}.{j}".encode()) for j in range(i % 3)]
        out.append((i, BASE_TS + i * 17 - (5 if i == 2 else 0), key, value, headers))
    return out


def hexify(b):
    return None if b is None else b.hex()


def write(name, blob, batches):
    (OUT / f"{name}.bin").write_bytes(blob)
    (OUT / f"{name}.json").write_text(json.dumps({"batches": batches}, indent=1) + "\n")


def v2(codec, txn=False):
    recs = records(9)
    blob = b""
    batches = []
    # Two batches back to back, the second continuing the offsets.
    for part, (base, chunk) in enumerate([(0, recs[:5]), (5, recs[5:])]):
        pid, epoch, seq = (4242, 3, 100 + base) if part == 0 or txn else (-1, -1, -1)
        b = DefaultRecordBatchBuilder(
            magic=2, compression_type=CODECS[codec], is_transactional=txn,
            producer_id=pid, producer_epoch=epoch, base_sequence=seq, batch_size=1 << 20)
        for off, ts, k, v, h in chunk:
            b.append(off - base, ts, k, v, h)
        raw = bytearray(b.build())
        raw[0:8] = base.to_bytes(8, "big", signed=True)  # base offset is not under the CRC
        blob += bytes(raw)
        assert raw[22] & 7 == CODECS[codec], f"kafka-python did not compress {codec}"
        batches.append({
            "magic": 2, "base_offset": base, "compression": codec, "transactional": txn,
            "producer_id": pid, "producer_epoch": epoch, "base_sequence": seq,
            "records": [
                {"offset": off, "timestamp": ts, "key": hexify(k), "value": hexify(v),
                 "headers": [[hk, hexify(hv)] for hk, hv in h]}
                for off, ts, k, v, h in chunk
            ],
        })
    write(f"v2-{codec}{'-txn' if txn else ''}", blob, batches)


def legacy(magic, codec):
    recs = records(6)
    b = LegacyRecordBatchBuilder(magic=magic, compression_type=CODECS[codec], batch_size=1 << 20)
    for off, ts, k, v, _ in recs:
        b.append(off, ts if magic == 1 else None, k, v)
    blob = bytearray(b.build())
    if codec != "none":
        # A broker stores a compressed wrapper under the offset of its last
        # inner message (inner offsets are relative for magic 1); the
        # producer-side bytes carry 0. The offset is not under the CRC.
        blob[0:8] = recs[-1][0].to_bytes(8, "big", signed=True)
    blob = bytes(blob)
    assert blob[17] & 7 == CODECS[codec], f"kafka-python did not compress {codec}"
    write(f"magic{magic}-{codec}", blob, [{
        "magic": magic, "base_offset": 0, "compression": codec,
        "records": [
            {"offset": off, "timestamp": ts if magic == 1 else -1, "key": hexify(k), "value": hexify(v),
             "headers": []}
            for off, ts, k, v, _ in recs
        ],
    }])


def main():
    OUT.mkdir(exist_ok=True)
    for codec in CODECS:
        v2(codec)
    v2("none", txn=True)
    for magic in (0, 1):
        for codec in ("none", "gzip", "snappy", "lz4"):
            legacy(magic, codec)
    print(f"wrote vectors to {OUT}")


if __name__ == "__main__":
    main()
