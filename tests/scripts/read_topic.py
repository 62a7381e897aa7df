#!/usr/bin/env python3
"""Reads every partition of TOPIC from the beginning to its end with confluent-kafka and prints
one JSON object per record: partition, offset, key and value as hex (null when absent).

ISOLATION is read_committed (stops at each partition's last stable offset and never returns
records of aborted transactions, nor transaction markers) or read_uncommitted (stops at the high
watermark and returns aborted records too). The independent reader of the transaction tests.

Usage: read_topic.py BOOTSTRAP TOPIC ISOLATION [TIMEOUT_S]
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition


def hexify(b):
    return None if b is None else bytes(b).hex()


def main():
    bootstrap, topic, isolation = sys.argv[1], sys.argv[2], sys.argv[3]
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    if isolation not in ("read_committed", "read_uncommitted"):
        sys.exit(f"isolation must be read_committed or read_uncommitted, not {isolation!r}")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "read-topic", "enable.auto.commit": False,
                  "isolation.level": isolation, "enable.partition.eof": True, "check.crcs": True})
    meta = c.list_topics(topic, timeout=timeout)
    t = meta.topics.get(topic)
    if t is None or t.error is not None:
        sys.exit(f"topic {topic}: {t.error if t else 'absent'}")
    partitions = sorted(t.partitions)
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    pending = set(partitions)
    deadline = time.time() + timeout
    while pending and time.time() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                pending.discard(msg.partition())
                continue
            sys.exit(f"consume error: {msg.error()}")
        print(json.dumps({"partition": msg.partition(), "offset": msg.offset(), "key": hexify(msg.key()),
                          "value": hexify(msg.value())}))
    c.close()
    if pending:
        sys.exit(f"partitions {sorted(pending)} did not reach their end within {timeout} s")


if __name__ == "__main__":
    main()
