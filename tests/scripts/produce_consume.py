#!/usr/bin/env python3
"""Round trip through a broker with confluent-kafka: create a topic, produce N records (key,
value, one header each), consume them back from the beginning and check they are the same.

usage: produce_consume.py BOOTSTRAP TOPIC [--count N] [--partitions P] [--compression TYPE] [--no-create]

--no-create: the topic exists already (librdkafka's mock cluster does not implement CreateTopics).

Prints one JSON line: {"topic", "produced", "consumed", "records": [...]}; exits 1 with a
message on stderr if anything is missing, different or failed. Used by the harness smoke tests
(tests/tests/brokers_smoke.rs) to prove a broker started by the test setup really works.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

TIMEOUT_S = 30.0


def fail(msg):
    print("produce_consume: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--compression", default="none")
    ap.add_argument("--no-create", action="store_true")
    a = ap.parse_args()
    common = {"bootstrap.servers": a.bootstrap, "broker.address.family": "v4"}

    if not a.no_create:
        admin = AdminClient(common)
        futures = admin.create_topics([NewTopic(a.topic, num_partitions=a.partitions, replication_factor=1)],
                                      operation_timeout=TIMEOUT_S, request_timeout=TIMEOUT_S)
        try:
            futures[a.topic].result(timeout=TIMEOUT_S)
        except KafkaException as e:
            fail("create topic %s: %s" % (a.topic, e))

    sent = [(("key-%d" % i).encode(), ("value-%d" % i).encode(), [("n", str(i).encode())])
            for i in range(a.count)]
    delivered, errors = [], []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append((msg.partition(), msg.offset()))

    producer = Producer(dict(common, **{"acks": "all", "linger.ms": 5,
                                        "compression.type": a.compression}))
    for key, value, headers in sent:
        # Keyed records: with several partitions each key's partition is fixed by the key hash.
        producer.produce(a.topic, key=key, value=value, headers=headers, on_delivery=on_delivery)
    remaining = producer.flush(TIMEOUT_S)
    if remaining or errors or len(delivered) != a.count:
        fail("produce: %d undelivered, errors %s, %d delivered of %d"
             % (remaining, errors, len(delivered), a.count))

    consumer = Consumer(dict(common, **{"group.id": "produce-consume-check", "enable.auto.commit": False,
                                        "auto.offset.reset": "earliest"}))
    # assign() rather than subscribe(): no group join (slow on tansu), read every partition from 0.
    consumer.assign([TopicPartition(a.topic, p, OFFSET_BEGINNING) for p in range(a.partitions)])
    got = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(got) < a.count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            fail("consume: %s" % msg.error())
        got.append((msg.key(), msg.value(), msg.headers() or [], msg.partition(), msg.offset()))
    # Anything more than we produced would be a duplicate: look a little longer.
    extra = consumer.poll(1.0)
    consumer.close()
    if extra is not None and not extra.error():
        fail("consumed more records than produced: %r" % (extra.value(),))

    want = sorted(sent)
    have = sorted((k, v, [(hk, hv) for hk, hv in h]) for k, v, h, _, _ in got)
    if have != want:
        fail("consumed records differ from produced:\n  produced %r\n  consumed %r" % (want, have))
    records = [{"key": k.decode(), "value": v.decode(), "headers": {hk: hv.decode() for hk, hv in h},
                "partition": p, "offset": o} for k, v, h, p, o in got]
    print(json.dumps({"topic": a.topic, "produced": len(delivered), "consumed": len(got),
                      "records": records}))


if __name__ == "__main__":
    main()
