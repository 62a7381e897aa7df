#!/usr/bin/env python3
"""Reads COUNT records from partition 0 of TOPIC with confluent-kafka (which
checks batch CRCs: check.crcs=true) and prints one JSON object per record:
offset, timestamp, key/value as hex (null when absent), headers.

Usage: consume_json.py BOOTSTRAP TOPIC COUNT
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def hexify(b):
    return None if b is None else bytes(b).hex()


def main():
    bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "consume-json", "enable.auto.commit": False,
                  "check.crcs": True, "api.version.request": True})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = 0
    deadline = time.time() + 60
    while got < count and time.time() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            sys.exit(f"consume error: {msg.error()}")
        print(json.dumps({"offset": msg.offset(), "timestamp": msg.timestamp()[1], "key": hexify(msg.key()),
                          "value": hexify(msg.value()),
                          "headers": [[k, hexify(v)] for k, v in (msg.headers() or [])]}))
        got += 1
    extra = c.poll(1.0)
    c.close()
    if got < count:
        sys.exit(f"only {got} of {count} records arrived")
    if extra is not None and not extra.error():
        sys.exit(f"an unexpected extra record at offset {extra.offset()}")


if __name__ == "__main__":
    main()
