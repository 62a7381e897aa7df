#!/usr/bin/env python3
"""Checks record batches written by our encoder with an independent decoder,
kafka-python's DefaultRecordBatch: every `<name>.bin` in the directory must
parse, pass kafka-python's CRC check, and hold exactly the batches and
records described in `<name>.json` (the format of tests/vectors).

Usage: check_batches.py DIR   (exit status 1 on any mismatch)
"""
import json
import pathlib
import sys

from kafka.record.memory_records import MemoryRecords

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def hexify(b):
    return None if b is None else bytes(b).hex()


def check(path):
    want = json.loads(path.with_suffix(".json").read_text())["batches"]
    records = MemoryRecords(path.read_bytes())
    got = []
    while True:
        batch = records.next_batch()
        if batch is None:
            break
        got.append(batch)
    errors = []
    if len(got) != len(want):
        return [f"{path.name}: {len(got)} batches, expected {len(want)}"]
    for i, (b, w) in enumerate(zip(got, want)):
        where = f"{path.name} batch {i}"
        if not b.validate_crc():
            errors.append(f"{where}: kafka-python rejects the CRC")
        for field, value in [("magic", b.magic), ("base_offset", b.base_offset),
                             ("compression", b.compression_type),
                             ("transactional", b.is_transactional), ("producer_id", b.producer_id),
                             ("producer_epoch", b.producer_epoch), ("base_sequence", b.base_sequence)]:
            expected = CODECS[w[field]] if field == "compression" else w[field]
            if value != expected:
                errors.append(f"{where}: {field} is {value!r}, expected {expected!r}")
        recs = list(b)
        if len(recs) != len(w["records"]):
            errors.append(f"{where}: {len(recs)} records, expected {len(w['records'])}")
            continue
        for r, wr in zip(recs, w["records"]):
            got_r = {"offset": r.offset, "timestamp": r.timestamp, "key": hexify(r.key),
                     "value": hexify(r.value), "headers": [[k, hexify(v)] for k, v in r.headers]}
            if got_r != wr:
                errors.append(f"{where}: record {got_r} != expected {wr}")
    return errors


def main():
    files = sorted(pathlib.Path(sys.argv[1]).glob("*.bin"))
    if not files:
        sys.exit("no .bin files to check")
    errors = [e for f in files for e in check(f)]
    for e in errors:
        print(e)
    if errors:
        sys.exit(1)
    print(f"kafka-python read {len(files)} files of our batches: all CRCs valid, all records equal")


if __name__ == "__main__":
    main()
