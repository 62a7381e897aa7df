#!/usr/bin/env bash
# Starts one local broker for the quick starts and the demo, and keeps it running until Ctrl-C:
#
#   scripts/local-broker.sh [--kafka | --tansu] [--port N]
#
#   --kafka   (default) Apache Kafka 4.4.0, a single KRaft node (broker and controller in one JVM,
#             -Xmx512m), its jars from Maven Central (fetched once by
#             `scripts/setup-test-env.sh --kafka-only`, which this runs; needs java and mvn).
#             Topics are auto-created on first use (auto.create.topics.enable=true, 1 partition);
#             `kprod topic create` makes them with more partitions.
#   --tansu   tansu 0.6.0 (a Kafka-compatible broker in Rust, memory storage; starts in well
#             under a second). Topics are auto-created on first use, with 4 partitions.
#   --port N  the client port on 127.0.0.1 (default 9092).
#
# Prints `bootstrap.servers=127.0.0.1:N` once the broker takes requests. Everything it stores (the
# log dir, the broker's own log) is in a per-run temporary directory, removed when it stops.
# Ctrl-C (or SIGTERM) stops the broker cleanly and removes that directory.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BROKER=kafka
PORT=9092
while (($#)); do
    case "$1" in
    --kafka) BROKER=kafka ;;
    --tansu) BROKER=tansu ;;
    --port)
        PORT="${2:?--port needs a number}"
        shift
        ;;
    --port=*) PORT="${1#--port=}" ;;
    -h | --help)
        sed -n '2,/^set /p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "local-broker.sh: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
    esac
    shift
done
[[ "$PORT" =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) || {
    echo "local-broker.sh: bad port '$PORT'" >&2
    exit 2
}

log() { printf '[local-broker] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Whether the broker answers an ApiVersions v0 request (correlation id 1, null client id): Kafka
# does so only once it has started (its acceptors start last), whatever its logging does.
answers_api_versions() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        printf '\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff' >&3
        reply="$(timeout 2 head -c 8 <&3 | od -An -tx1 | tr -d ' \n')"
        [[ ${#reply} == 16 && ${reply:8:8} == 00000001 ]]
    ) 2>/dev/null
}

if port_open "$PORT"; then
    log "port $PORT on 127.0.0.1 is taken (another broker?): choose another with --port N"
    exit 1
fi

STATE="$(mktemp -d "${TMPDIR:-/tmp}/kprod-local-broker.XXXXXX")"
BROKER_PID=
stop() {
    local status=$?
    trap - EXIT INT TERM
    # Whoever read our output may be gone: a write must not kill us (SIGPIPE) before the broker
    # is stopped.
    trap '' PIPE
    if [[ -n "$BROKER_PID" ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        log "stopping the broker (pid $BROKER_PID)" 2>/dev/null || true
        # Kafka's controlled shutdown takes a few seconds; do not wait forever.
        for _ in $(seq 150); do
            kill -0 "$BROKER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    rm -rf "$STATE"
    exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started_ns=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - started_ns) / 1000000 )) ms"; }

case "$BROKER" in
kafka)
    "$ROOT/scripts/setup-test-env.sh" --kafka-only
    LIBS="$ROOT/.tools/kafka/current"
    VERSION="$(basename "$(readlink "$LIBS")")"
    # The controller's port: the next free one above the client port.
    CONTROLLER_PORT=$((PORT + 1))
    while port_open "$CONTROLLER_PORT"; do CONTROLLER_PORT=$((CONTROLLER_PORT + 1)); done
    cat >"$STATE/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$STATE/data
auto.create.topics.enable=true
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
    # The broker's own log goes to a file (INFO; only if the jars include log4j2's slf4j
    # binding), the console stays quiet.
    cat >"$STATE/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $STATE/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
EOF
    JAVA=(java -Xmx512m -Xms512m "-Dlog4j2.configurationFile=$STATE/log4j2.properties" -cp "$LIBS/*")
    # URL-safe base64 of 16 random bytes, as `kafka-storage random-uuid` prints; never starting
    # with `-`, which the format tool's argument parser would take for an option (1 in 64 runs
    # failed so).
    CLUSTER_ID="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22 | sed 's/^-/A/')"
    log "formatting the KRaft log dir ($STATE/data)"
    "${JAVA[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$STATE/server.properties" \
        >"$STATE/format.log" 2>&1 || {
        cat "$STATE/format.log" >&2
        log "formatting failed"
        exit 1
    }
    log "starting Apache Kafka $VERSION (KRaft, one node) after $(elapsed)"
    "${JAVA[@]}" kafka.Kafka "$STATE/server.properties" >"$STATE/console.log" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 600); do
        answers_api_versions "$PORT" && break
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.2
    done
    if ! answers_api_versions "$PORT"; then
        tail -n 30 "$STATE/console.log" "$STATE/server.log" >&2 2>/dev/null || true
        log "Apache Kafka did not start (see above)"
        exit 1
    fi
    NAME="Apache Kafka $VERSION (KRaft, one node)"
    AUTO="yes (auto.create.topics.enable=true, 1 partition)"
    ;;
tansu)
    "$ROOT/scripts/setup-test-env.sh" --tansu-only
    URL="tcp://127.0.0.1:$PORT"
    "$ROOT/.tools/bin/tansu" broker --listener-url "$URL" --advertised-listener-url "$URL" \
        --storage-engine memory://tansu/ >"$STATE/server.log" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 300); do
        answers_api_versions "$PORT" && break
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.05
    done
    if ! answers_api_versions "$PORT"; then
        tail -n 30 "$STATE/server.log" >&2 || true
        log "tansu did not start (see above)"
        exit 1
    fi
    NAME="$("$ROOT/.tools/bin/tansu" --version) (memory storage)"
    AUTO="yes (4 partitions)"
    ;;
esac

log "$NAME ready in $(elapsed) (state in $STATE, removed on exit)"
log "topics auto-created: $AUTO"
log "Ctrl-C stops it"
echo "bootstrap.servers=127.0.0.1:$PORT"
wait "$BROKER_PID"
BROKER_PID=
log "the broker exited on its own"
exit 1
