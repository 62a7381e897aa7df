#!/usr/bin/env bash
# The soak of issue 16 (not part of CI): an idempotent Tokio producer at a steady rate for
# 10 minutes through a 3-node Apache Kafka cluster, a broker restarted every minute (controlled
# shutdown and SIGKILL in turn), this process's RSS sampled every 10 s, then everything read
# back with confluent-kafka: nothing lost, nothing duplicated, order kept per partition.
#
#   scripts/soak.sh                  # 600 s at 2,000 records/s
#   SOAK_SECS=120 SOAK_RATE=1000 scripts/soak.sh
#
# Needs scripts/setup-test-env.sh run once. Prints the RSS samples (start, max, end) and counts.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_SECS="${SOAK_SECS:-600}" SOAK_RATE="${SOAK_RATE:-2000}" SOAK_RESTART_SECS="${SOAK_RESTART_SECS:-60}"
exec cargo test -p kafka-integration-tests --test failover soak -- --ignored --exact soak --nocapture
