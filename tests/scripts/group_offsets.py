#!/usr/bin/env python3
"""Prints the committed offsets of consumer GROUP through Kafka's admin API (confluent-kafka's
AdminClient, OffsetFetch): one JSON object {"topic", "partition", "offset"} per line, offset -1
when the group has none for that partition. The independent check of send_offsets_to_transaction.

Usage: group_offsets.py BOOTSTRAP GROUP
"""
import json
import sys

from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient


def main():
    bootstrap, group = sys.argv[1], sys.argv[2]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], require_stable=True)
    result = futures[group].result(timeout=60)
    for tp in sorted(result.topic_partitions, key=lambda tp: (tp.topic, tp.partition)):
        if tp.error is not None:
            sys.exit(f"{tp.topic}[{tp.partition}]: {tp.error}")
        print(json.dumps({"topic": tp.topic, "partition": tp.partition, "offset": tp.offset}))


if __name__ == "__main__":
    main()
