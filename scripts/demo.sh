#!/usr/bin/env bash
# The demo: starts a local tansu broker, creates a topic, runs `kprod perf` against it, then
# reads every record back with an independent client (confluent-kafka) and checks the count.
# Works on a fresh machine: installs the test environment first (scripts/setup-test-env.sh).
#   scripts/demo.sh [NUM_RECORDS]   (default 200000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${1:-200000}"
scripts/setup-test-env.sh >/dev/null
cargo build --release -q -p kafka-cli
KPROD=target/release/kprod
PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="tcp://127.0.0.1:$PORT"
.tools/bin/tansu broker --listener-url "$URL" --advertised-listener-url "$URL" \
    --storage-engine memory://tansu/ >/tmp/kprod-demo-tansu.log 2>&1 &
TANSU=$!
trap 'kill $TANSU 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    "$KPROD" topic create demo --partitions 3 --replication-factor 1 -b "127.0.0.1:$PORT" 2>/dev/null && break
    sleep 0.1
done
echo "+ kprod perf -b 127.0.0.1:$PORT -t demo --num-records $N --record-size 100 --throughput -1"
"$KPROD" perf -b "127.0.0.1:$PORT" -t demo --num-records "$N" --record-size 100 --throughput -1 \
    -X linger.ms=5 -X batch.size=65536
echo "+ reading back with confluent-kafka (librdkafka $(.venv/bin/python -c 'import confluent_kafka as c; print(c.libversion()[0])'))"
.venv/bin/python - "127.0.0.1:$PORT" "$N" <<'PY'
import sys
from confluent_kafka import Consumer
bootstrap, want = sys.argv[1], int(sys.argv[2])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "kprod-demo", "auto.offset.reset": "earliest",
              "enable.auto.commit": False, "check.crcs": True, "session.timeout.ms": 6000})
c.assign([__import__("confluent_kafka").TopicPartition("demo", p, 0) for p in range(3)])
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
