#!/usr/bin/env python3
"""The partitioning figures: where keyless records land with Java 4.4's partitioner features, for
kprod and Kafka's own Java client, on a three-node Apache Kafka cluster.

    bench/partitioning.py [--rounds 3] [--clients kprod-tokio,kprod-mio,java] [--records 300000]
                          [--scenarios rack,adaptive]
                          [--no-pin] [--no-build] [--out DIR]

Both scenarios run on one cluster of three KRaft nodes (broker and controller each), node N in
rack `rack-N` (`broker.rack`), started by the test suite's harness (`tests/src/bin/kafka-cluster.rs`,
Kafka's jars through scripts/setup-test-env.sh). Each run writes to a topic of its own: 6
partitions, replication factor 1 (so a partition's records stay on its leader, and a paused node
holds up its own partitions only), `min.insync.replicas=1`. Clients get W1's settings of bench/run.py
(acks=all, idempotence, linger 5 ms, batch 64 KiB, 32 MiB buffer) plus:

- **rack** (KIP-1123): `client.rack=rack-1`, with `partitioner.rack.aware` true and false; keyless
  records at full speed. Measured: the share of records on partitions led in rack-1, against those
  partitions' share of the topic.
- **adaptive** (KIP-794): `partitioner.adaptive.partitioning.enable` false, true, and true with
  `partitioner.availability.timeout.ms=100`; keyless records at 50,000 records/s while one node
  (the one leading the fewest but at least one partition) is stopped (SIGSTOP) for 1 s of every
  2 s, from 0.5 s into the run to its end. Measured: the
  share of records on the paused node's partitions, against those partitions' share of the topic,
  and the records' latency (p50, p99, max).

The tables' ratio is the first share over the second (a partition's leader placement differs per
topic): 1 is an even spread, 0 none there, and for rack-1 3 (with 2 of 6 partitions) all there.
Counts come from the cluster (each partition's end offset after the run), not from the client.
Each client runs once per round and setting, the order rotated each round; the table shows medians.
Writes DIR/runs.jsonl (raw) and DIR/table.md, and prints the table.
"""
import argparse, json, os, shlex, shutil, statistics, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: the clients, their settings, one measured run)

ROOT = bench.ROOT
CLUSTER_BIN = os.path.join(bench.TARGET, "debug", "kafka-cluster")
RACK = "rack-1"
PARTITIONS = 6
PAUSE_S, PERIOD_S = 1.0, 2.0
# The adaptive scenario's settings: a label (the table's and the topic's) and the properties.
ADAPTIVE_SETTINGS = {
    "false": {"partitioner.adaptive.partitioning.enable": "false"},
    "true": {"partitioner.adaptive.partitioning.enable": "true"},
    "true-avail100": {"partitioner.adaptive.partitioning.enable": "true",
                      "partitioner.availability.timeout.ms": "100"},
}


class Cluster:
    """tests/src/bin/kafka-cluster.rs: one JSON line answered per command line."""

    def __init__(self, pin):
        self.proc = subprocess.Popen(pin(1) + [CLUSTER_BIN, "--nodes", "3", "--racks"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        hello = json.loads(self.proc.stdout.readline())
        self.bootstrap = hello["bootstrap"]
        self.nodes = hello["nodes"]
        self.lock = threading.Lock()

    def ask(self, command):
        with self.lock:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
            answer = json.loads(self.proc.stdout.readline())
        if "error" in answer:
            raise RuntimeError(f"{command}: {answer['error']}")
        return answer

    def cpu(self):
        return bench.tree_cpu(self.proc.pid)

    def stop(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(120)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class Pauser(threading.Thread):
    """Stops `node` for PAUSE_S of every PERIOD_S until told to end; leaves it running."""

    def __init__(self, cluster, node):
        super().__init__(daemon=True)
        self.cluster, self.node, self.done, self.pauses = cluster, node, threading.Event(), 0

    def run(self):
        if self.done.wait(0.5):
            return
        while True:
            self.cluster.ask(f"pause {self.node}")
            self.pauses += 1
            self.done.wait(PAUSE_S)
            self.cluster.ask(f"resume {self.node}")
            if self.done.wait(PERIOD_S - PAUSE_S):
                return


def scenario_runs(args):
    rack = dict(records=args.records, size=100, keys=None, rate=-1, shared_topic=True)
    adaptive = dict(records=args.adaptive_rate * args.adaptive_seconds, size=100, keys=None,
                    rate=args.adaptive_rate, shared_topic=True)
    for setting in ("true", "false"):
        yield "rack", setting, dict(rack, props={**bench.THROUGHPUT, "client.rack": RACK,
                                                 "partitioner.rack.aware": setting})
    for setting, props in ADAPTIVE_SETTINGS.items():
        yield "adaptive", setting, dict(adaptive, props={**bench.THROUGHPUT, **props})


def one(cluster, scenario, setting, w, client, r, pin, timeout):
    topic = f"part-{scenario}-{setting}-{client}-{r}"
    parts = cluster.ask(f"topic {topic} {PARTITIONS} 1 min.insync.replicas=1")["partitions"]
    leader = {p["partition"]: p["leader"] for p in parts}
    rack_of = {n["id"]: n["rack"] for n in cluster.nodes}
    if scenario == "rack":
        watched = {p for p, n in leader.items() if rack_of[n] == RACK}
        node = None
    else:
        counts = {n["id"]: sum(1 for l in leader.values() if l == n["id"]) for n in cluster.nodes}
        node = min((c, -i) for i, c in counts.items() if c > 0)
        node = -node[1]
        watched = {p for p, n in leader.items() if n == node}
    pauser = Pauser(cluster, node) if node else None
    if pauser:
        pauser.start()
    try:
        row = bench.one_run(client, w, cluster, topic, pin, timeout)
    finally:
        if pauser:
            pauser.done.set()
            pauser.join()
    offsets = cluster.ask(f"offsets {topic}")["end_offsets"]
    total = sum(offsets)
    row.update(scenario=scenario, setting=setting, round=r, topic=topic, rate=w["rate"], end_offsets=offsets,
               watched_partitions=sorted(watched), paused_node=node,
               pauses=pauser.pauses if pauser else 0, records_landed=total,
               watched_share=round(sum(offsets[p] for p in watched) / total, 4) if total else None,
               watched_partition_share=round(len(watched) / PARTITIONS, 4))
    return row


def table(rows, clients, rounds):
    def med(sel, key):
        vals = [r[key] for r in sel if r.get(key) is not None and "error" not in r]
        return statistics.median(vals) if vals else None

    f = bench.fmt
    for r in rows:
        # 1.0: the watched partitions got their share of the records; 0: none; 1/share: all.
        if r.get("watched_share") is not None and r.get("watched_partition_share"):
            r.setdefault("watched_ratio", round(r["watched_share"] / r["watched_partition_share"], 3))

    def line(scenario, setting, label, client, tail):
        """One client's row: records/s, the watched share, the partitions' share, the ratio, then
        `tail` (key, format) cells and the failed runs."""
        sel = [r for r in rows if (r["scenario"], r["setting"], r["client"]) == (scenario, setting, client)]
        bad = sum(1 for r in sel if "error" in r or r.get("failed"))
        share, part = med(sel, "watched_share"), med(sel, "watched_partition_share")
        cells = [client, label, f(med(sel, "records_per_sec"), ",.0f"), f"{f(share and share * 100, '.1f')} %",
                 f"{f(part and part * 100, '.0f')} %", f(med(sel, "watched_ratio"), ".2f")]
        cells += [f(med(sel, key), spec) for key, spec in tail] + [str(bad)]
        return "| " + " | ".join(cells) + " |"

    out = [f"\n**rack**: `client.rack={RACK}`, keyless at full speed; medians of {rounds} runs\n",
           "| client | partitioner.rack.aware | records/s | records on rack-1 leaders | rack-1's share of partitions "
           "| ratio | client CPU s per M records | failed runs |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for setting in ("true", "false"):
        out += [line("rack", setting, setting, c, [("cpu_s_per_m", ".3f")]) for c in clients]
    rate = next((r["rate"] for r in rows if r["scenario"] == "adaptive"), None)
    out += [f"\n**adaptive**: keyless at {f(rate, ',')} records/s; one node stopped {PAUSE_S * 1000:.0f} ms of every "
            f"{PERIOD_S:g} s; medians of {rounds} runs\n",
            "| client | partitioner.adaptive.partitioning.enable | records/s | records on the paused node "
            "| its share of partitions | ratio | p50 ms | p99 ms | max ms | failed runs |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for setting in ADAPTIVE_SETTINGS:
        label = setting.replace("-avail100", ", `partitioner.availability.timeout.ms=100`")
        tail = [("latency_p50_ms", ".2f"), ("latency_p99_ms", ".1f"), ("latency_max_ms", ".0f")]
        out += [line("adaptive", setting, label, c, tail) for c in clients]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", default="kprod-tokio,kprod-mio,java")
    ap.add_argument("--scenarios", default="rack,adaptive")
    ap.add_argument("--records", type=int, default=300_000, help="records per rack run")
    ap.add_argument("--adaptive-rate", type=int, default=50_000, help="records/s of the adaptive runs")
    ap.add_argument("--adaptive-seconds", type=int, default=12)
    ap.add_argument("--no-pin", action="store_true", help="let the cluster and client share both CPUs")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--out", default=os.path.join(bench.BENCH, "results", time.strftime("%Y-%m-%d-%H%M-partitioning")))
    ap.add_argument("--table-of", metavar="RUNS_JSONL", nargs="+", help="run nothing: the table of kept runs")
    args = ap.parse_args()
    clients = args.clients.split(",")
    for c in clients:
        if c not in bench.CLIENTS:
            sys.exit(f"unknown client: {c} (known: {', '.join(bench.CLIENTS)})")
    if args.table_of:
        rows = [json.loads(line) for path in args.table_of for line in open(path) if line.strip()]
        rounds = 1 + max((r["round"] for r in rows), default=0)
        print(table([r for r in rows if r["client"] in clients], clients, rounds))
        return
    can_pin = not args.no_pin and shutil.which("taskset") and os.cpu_count() >= 2
    pin = (lambda cpu: ["taskset", "-c", str(cpu)]) if can_pin else (lambda cpu: [])
    if not args.no_build:
        bench.run(["cargo", "build", "--release", "-q", "-p", "kafka-cli"], cwd=ROOT)
        bench.run(["cargo", "build", "-q", "-p", "kafka-integration-tests", "--bin", "kafka-cluster"], cwd=ROOT)
        bench.run([os.path.join(ROOT, "scripts", "setup-test-env.sh"), "--kafka-only"])
        if not os.path.exists("/usr/bin/time"):
            bench.run(["apt-get", "install", "-y", "-q", "time"])
    os.makedirs(args.out, exist_ok=True)
    command = "bench/partitioning.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    cluster = Cluster(pin)
    rows = []
    try:
        with open(os.path.join(args.out, "runs.jsonl"), "w") as raw:
            # One run nobody counts, so the brokers (their JIT) are warm for every client.
            warm = dict(records=200_000, size=100, keys=None, rate=-1, shared_topic=True, props=bench.THROUGHPUT)
            one(cluster, "rack", "warmup", warm, "kprod-tokio", 0, pin, args.timeout)
            for scenario, setting, w in scenario_runs(args):
                if scenario not in args.scenarios.split(","):
                    continue
                for r in range(args.rounds):
                    for c in clients[r % len(clients):] + clients[:r % len(clients)]:
                        row = one(cluster, scenario, setting, w, c, r, pin, args.timeout)
                        row["load_before"] = load
                        rows.append(row)
                        raw.write(json.dumps(row) + "\n")
                        raw.flush()
                        print(f"{scenario:8} {setting:5} round {r} {c:14} {row.get('records_per_sec', 0):>10,.0f} rec/s "
                              f"watched {row['watched_share']} of {row['records_landed']} "
                              f"(partitions {row['watched_partition_share']}) p99 {row.get('latency_p99_ms', 0)} ms"
                              + (f"  ERROR {row['error']}" if "error" in row else ""), flush=True)
    finally:
        cluster.stop()
    machine = (f"{os.cpu_count()} CPUs, {'cluster on CPU 1 and client on CPU 0 (taskset)' if can_pin else 'unpinned'}; "
               f"load average before: {load}; {time.strftime('%Y-%m-%d')}")
    text = f"`{command}` ({machine})\n" + table(rows, clients, args.rounds) + "\n"
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    print("\n" + text)


if __name__ == "__main__":
    main()
