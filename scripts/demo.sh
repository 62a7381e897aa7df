#!/usr/bin/env bash
# The demo: starts a local broker (scripts/local-broker.sh: Apache Kafka 4.4.0 by default, or tansu),
# creates a topic, runs `kprod perf` against it, then reads every record back with an independent
# client (confluent-kafka, CRCs checked) and checks the count.
#   scripts/demo.sh [--kafka | --tansu] [NUM_RECORDS]   (default: --kafka, 200000 records)
# Works on a fresh machine: installs only what it uses first (`scripts/setup-test-env.sh --demo`:
# python3-venv, confluent-kafka in .venv, and the broker), then builds kprod. Its temporary files
# live in a per-run directory, removed on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BROKER=kafka
N=200000
for arg in "$@"; do
    case "$arg" in
    --kafka) BROKER=kafka ;;
    --tansu) BROKER=tansu ;;
    '' | *[!0-9]*)
        echo "usage: scripts/demo.sh [--kafka | --tansu] [NUM_RECORDS]" >&2
        exit 2
        ;;
    *) N="$arg" ;;
    esac
done

t0=$SECONDS
step_start=$SECONDS
step() { # what
    printf '\n[demo] %s\n' "$*"
    step_start=$SECONDS
}
took() { printf '[demo] (%s s)\n' "$((SECONDS - step_start))"; }

DEMO_TMP="$(mktemp -d "${TMPDIR:-/tmp}/kprod-demo.XXXXXX")"
BROKER_PID=
cleanup() {
    trap '' PIPE # a closed stdout must not keep us from stopping the broker
    if [[ -n "$BROKER_PID" ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        echo "[demo] stopping the broker" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    rm -rf "$DEMO_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SETUP=(scripts/setup-test-env.sh --demo)
[[ $BROKER == tansu ]] && SETUP+=(--tansu)
step "1/5 installing what the demo uses: ${SETUP[*]}"
"${SETUP[@]}"
took

step "2/5 building kprod: cargo build --release -p kafka-cli (a few minutes the first time)"
cargo build --release -p kafka-cli
KPROD=target/release/kprod
took

step "3/5 starting a local broker: scripts/local-broker.sh --$BROKER"
PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
scripts/local-broker.sh "--$BROKER" --port "$PORT" >"$DEMO_TMP/broker.out" 2>"$DEMO_TMP/broker.log" &
BROKER_PID=$!
until grep -q '^bootstrap.servers=' "$DEMO_TMP/broker.out" 2>/dev/null; do
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
        cat "$DEMO_TMP/broker.log" >&2
        echo "[demo] the broker did not start" >&2
        exit 1
    fi
    sleep 0.2
done
grep '^\[local-broker\] .*ready in' "$DEMO_TMP/broker.log" || true
BOOTSTRAP="127.0.0.1:$PORT"
took

step "4/5 kprod topic create demo --partitions 3, then kprod perf -b $BOOTSTRAP -t demo --num-records $N --record-size 100 --throughput -1"
"$KPROD" topic create demo --partitions 3 --replication-factor 1 -b "$BOOTSTRAP"
"$KPROD" perf -b "$BOOTSTRAP" -t demo --num-records "$N" --record-size 100 --throughput -1 \
    -X linger.ms=5 -X batch.size=65536
took

step "5/5 reading back with confluent-kafka (librdkafka $(.venv/bin/python -c 'import confluent_kafka as c; print(c.libversion()[0])'))"
.venv/bin/python - "$BOOTSTRAP" "$N" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
bootstrap, want = sys.argv[1], int(sys.argv[2])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "kprod-demo", "auto.offset.reset": "earliest",
              "enable.auto.commit": False, "check.crcs": True, "session.timeout.ms": 6000})
c.assign([TopicPartition("demo", p, 0) for p in range(3)])
got, idle = 0, 0
while got < want and idle < 20:
    msgs = c.consume(10000, timeout=0.5)
    idle = idle + 1 if not msgs else 0
    for m in msgs:
        if m.error():
            raise SystemExit(f"read error: {m.error()}")
        got += 1
c.close()
print(f"read back {got} of {want} records, CRCs checked")
sys.exit(0 if got == want else 1)
PY
took
printf '\n[demo] done in %s s\n' "$((SECONDS - t0))"
