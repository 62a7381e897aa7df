#!/usr/bin/env python3
"""The peer benchmark: kprod against Kafka's Java client, franz-go, Confluent's Rust client and
rust-rdkafka, on the same workloads, against the same local broker, in alternating rounds.

    bench/run.py [--rounds 5] [--brokers kafka,tansu] [--workloads W1,W2,W3,W4,W5]
                 [--clients kprod-tokio,...,java] [--scale 1.0] [--no-pin] [--out DIR]

One command: it builds what it runs (kprod in release mode, bench/peers with cargo, bench/franz with
go; Kafka's jars and tansu through scripts/setup-test-env.sh), then for each broker and workload
starts one fresh broker (scripts/local-broker.sh), and runs every client once per round, the order
rotated each round. Each run gets a topic of its own, deleted after it.

Measured per run: records/s and MB/s (from the client's own report: records delivered over the time
from the first send to the last delivery), latency p50/p99/max, the client process's CPU time
(user + system, from wait4) per million records and its peak RSS, and the broker's CPU time over
the run (from /proc, all its processes). With pinning (the default, where taskset exists) the broker
runs on CPU 1 and the client on CPU 0. The machine's load average is noted before each workload.

Writes DIR/runs.jsonl (one object per run, raw), DIR/table.md (medians per broker and workload, with
the command line and the machine) and prints the table. See bench/README.md for the workloads and
the settings given to each client.
"""
import argparse, json, os, re, shlex, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
KPROD = os.path.join(TARGET, "release", "kprod")
PEERS = os.path.join(BENCH, "peers", "target", "release")
FRANZ = os.path.join(BENCH, "franz", "franz-perf")
KAFKA_LIBS = os.path.join(ROOT, ".tools", "kafka", "current")

# The producer settings of the throughput workloads, in the Java client's names.
THROUGHPUT = {"acks": "all", "enable.idempotence": "true", "linger.ms": "5", "batch.size": "65536",
              "buffer.memory": "33554432"}
WORKLOADS = {
    "W1": dict(desc="2 M x 100 B keyless, 8 partitions, acks=all + idempotence, linger 5 ms, batch 64 KiB",
               records=2_000_000, size=100, keys=None, partitions=8, rate=-1, props=THROUGHPUT),
    "W2": dict(desc="W1 with lz4", records=2_000_000, size=100, keys=None, partitions=8, rate=-1,
               props={**THROUGHPUT, "compression.type": "lz4"}),
    "W3": dict(desc="500 k x 1 KiB keyed over 10,000 keys, 8 partitions, W1's settings",
               records=500_000, size=1024, keys=10_000, partitions=8, rate=-1, props=THROUGHPUT),
    "W4": dict(desc="latency: 10,000 x 100 B keyless at 1,000 records/s, 8 partitions, linger 0, acks=1",
               records=10_000, size=100, keys=None, partitions=8, rate=1000,
               props={"acks": "1", "enable.idempotence": "false", "linger.ms": "0"}, warm_topic=True),
    # One topic for all of W5's runs: a broker's first writes to 1,000 new partitions (segment and
    # index files) cost it more than the records, and would be measured instead of the client.
    "W5": dict(desc="memory: 2 M x 100 B keyed over 10,000 keys, 1,000 partitions (one topic, warmed), "
                    "W1's settings",
               records=2_000_000, size=100, keys=10_000, partitions=1000, rate=-1, props=THROUGHPUT,
               shared_topic=True),
}

# librdkafka's names for the Java properties the workloads set.
RDKAFKA_NAMES = {"acks": "acks", "enable.idempotence": "enable.idempotence", "linger.ms": "linger.ms",
                 "batch.size": "batch.size", "compression.type": "compression.codec"}


def rdkafka_props(props):
    out = {}
    for k, v in props.items():
        if k == "buffer.memory":
            # Java bounds the bytes buffered only; librdkafka also bounds the messages (100,000 by
            # default), which Java does not.
            out["queue.buffering.max.kbytes"] = str(int(v) // 1024)
            out["queue.buffering.max.messages"] = "2147483647"
        else:
            out[RDKAFKA_NAMES[k]] = v
    return out


def peer_args(w, bootstrap, topic, props):
    args = ["--bootstrap-servers", bootstrap, "--topic", topic, "--num-records", str(w["records"]),
            "--record-size", str(w["size"]), "--throughput", str(w["rate"]), "--json"]
    if w["keys"]:
        args += ["--key-cardinality", str(w["keys"])]
    for k, v in props.items():
        args += ["-X", f"{k}={v}"]
    return args


def kprod(runtime):
    return lambda w, bs, t: [KPROD, "--runtime", runtime, "perf"] + peer_args(w, bs, t, w["props"])


def java(w, bootstrap, topic):
    args = ["java", "-Xmx512M", "-cp", os.path.join(KAFKA_LIBS, "*"), "org.apache.kafka.tools.ProducerPerformance",
            "--bootstrap-server", bootstrap, "--topic", topic, "--num-records", str(w["records"]),
            "--record-size", str(w["size"]), "--throughput", str(w["rate"])]
    if w["keys"]:
        args += ["--key-distribution", "range", "--record-key-range", str(w["keys"])]
    return args + ["--producer-props"] + [f"{k}={v}" for k, v in w["props"].items()]


CLIENTS = {
    "kprod-tokio": kprod("tokio"),
    "kprod-async-std": kprod("async-std"),
    "kprod-mio": kprod("mio"),
    "java": java,
    "franz-go": lambda w, bs, t: [FRANZ] + peer_args(w, bs, t, w["props"]),
    "confluent-rust": lambda w, bs, t: [os.path.join(PEERS, "confluent-perf")] + peer_args(w, bs, t, w["props"]),
    "rdkafka": lambda w, bs, t: [os.path.join(PEERS, "rdkafka-perf")] + peer_args(w, bs, t, rdkafka_props(w["props"])),
}

# Kafka's tool: "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency,
# P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th."
JAVA_LINE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
                       r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th")


def parse(client, stdout):
    if client == "java":
        lines = [m for m in JAVA_LINE.finditer(stdout)]
        if not lines:
            raise ValueError("no result line")
        m = lines[-1]
        return {"records": int(m[1]), "records_per_sec": float(m[2]), "mb_per_sec": float(m[3]),
                "latency_avg_ms": float(m[4]), "latency_max_ms": float(m[5]), "latency_p50_ms": float(m[6]),
                "latency_p95_ms": float(m[7]), "latency_p99_ms": float(m[8]), "latency_p999_ms": float(m[9]),
                "failed": 0, "latency_resolution_ms": 1}
    return json.loads(stdout.strip().splitlines()[-1])


def tree_cpu(root):
    """CPU seconds (user + system) of `root` and all its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, cpu = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(pid)] = int(fields[1])
        cpu[int(pid)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo += [c for c, pp in parent.items() if pp == p]
    return total


def free_port():
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # local-broker.sh takes the next port up for Kafka's controller.
        if port < 65000:
            return port


def run(cmd, **kw):
    print("+", " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def build(clients):
    if not os.path.exists("/usr/bin/time"):
        # GNU time, for each client's peak RSS (Debian's package `time`).
        run(["apt-get", "install", "-y", "-q", "time"])
    run(["cargo", "build", "--release", "-q", "-p", "kafka-cli"], cwd=ROOT)
    if {"confluent-rust", "rdkafka"} & set(clients):
        run(["cargo", "build", "--release", "-q", "--bins"], cwd=os.path.join(BENCH, "peers"))
    if "franz-go" in clients:
        run(["go", "build", "-o", FRANZ, "."], cwd=os.path.join(BENCH, "franz"))
    run([os.path.join(ROOT, "scripts", "setup-test-env.sh"), "--kafka-only"])
    run([os.path.join(ROOT, "scripts", "setup-test-env.sh"), "--tansu-only"])


class Broker:
    def __init__(self, kind, pin, data_dir):
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        # local-broker.sh keeps its state (Kafka's log dir) under TMPDIR.
        env = dict(os.environ, TMPDIR=data_dir) if data_dir else None
        self.proc = subprocess.Popen(pin(1) + [os.path.join(ROOT, "scripts", "local-broker.sh"), f"--{kind}",
                                               "--port", str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith("bootstrap.servers="):
            self.stop()
            raise RuntimeError(f"{kind} did not start")

    def cpu(self):
        return tree_cpu(self.proc.pid)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def create_topic(broker, topic, partitions):
    subprocess.run([KPROD, "topic", "create", topic, "--partitions", str(partitions), "--replication-factor",
                    "1", "-b", broker.bootstrap], capture_output=True, check=True)


def warm_topic(broker, topic):
    """Writes to every partition of a new topic before a latency run: Kafka's first appends to a
    partition it has just created are slow (about 100 ms here, on tmpfs too), and the records a
    client sends meanwhile, about 1 % of W4's, would make its p99 a measure of that instead."""
    subprocess.run([KPROD, "perf", "--topic", topic, "--num-records", "2000", "--record-size", "100",
                    "--throughput", "-1", "--key-cardinality", "64", "-b", broker.bootstrap, "-X", "acks=1"],
                   capture_output=True, check=True)


def one_run(client, w, broker, topic, pin, timeout):
    if not w.get("shared_topic"):
        create_topic(broker, topic, w["partitions"])
        if w.get("warm_topic"):
            warm_topic(broker, topic)
    # Through GNU time, for the peak RSS: a child forked from this Python process counts the
    # pages it shared with us (about 16 MB) in its own ru_maxrss until it execs.
    rss_file = tempfile.NamedTemporaryFile("r", suffix=".rss")
    cmd = pin(0) + ["/usr/bin/time", "-f", "%M", "-o", rss_file.name] + CLIENTS[client](w, broker.bootstrap, topic)
    broker_before = broker.cpu()
    started = time.monotonic()
    # Output to files, not pipes: a client that writes much (Java's logging) must not block.
    out_f, err_f = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    # A session of its own: a client killed at the timeout goes with everything it started
    # (GNU time's child above all), so nothing of it runs on into the next client's run.
    proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, text=True, start_new_session=True)
    # wait4 gives the client's CPU time (with GNU time's own, which is next to nothing).
    deadline = started + timeout
    status = rusage = None
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.killpg(proc.pid, 9)
            _, status, rusage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out_f.seek(0)
    err_f.seek(0)
    out, err = out_f.read(), err_f.read()
    broker_cpu = broker.cpu() - broker_before
    if not w.get("shared_topic"):
        subprocess.run([KPROD, "topic", "delete", topic, "-b", broker.bootstrap], capture_output=True)
    row = {"client": client, "exit": proc.returncode, "wall_s": round(wall, 3)}
    try:
        row.update(parse(client, out))
    except (ValueError, IndexError) as e:
        timed_out = wall >= timeout
        row["error"] = (f"killed after {timeout:.0f} s: " if timed_out else f"no result ({e}): ") + err.strip()[-400:]
    cpu = rusage.ru_utime + rusage.ru_stime
    try:
        peak_kib = int(open(rss_file.name).read().strip().splitlines()[-1])
    except (ValueError, IndexError):
        peak_kib = rusage.ru_maxrss
    row.update(client_cpu_s=round(cpu, 3), peak_rss_mb=round(peak_kib / 1024, 1),
               broker_cpu_s=round(broker_cpu, 3), cpu_s_per_m=round(cpu / w["records"] * 1e6, 3),
               broker_cpu_s_per_m=round(broker_cpu / w["records"] * 1e6, 3))
    if proc.returncode != 0 and "error" not in row:
        row["error"] = err.strip()[-400:]
    return row


def median(rows, key):
    vals = [r[key] for r in rows if key in r and "error" not in r]
    return statistics.median(vals) if vals else None


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def table(rows, workloads, brokers, clients, rounds):
    out = []
    for b in brokers:
        for wname in workloads:
            w = WORKLOADS[wname]
            sel = [r for r in rows if r["broker"] == b and r["workload"] == wname]
            if not sel:
                continue
            load = sel[0].get("load_before")
            out.append(f"\n**{wname} on {b}**: {w['desc']}; {w['records']:,} records per run; medians of {rounds} runs"
                       f" (load average before: {load})\n")
            out.append("| client | records/s | MB/s | client CPU s per M records | peak RSS MB | p50 ms | p99 ms "
                       "| max ms | broker CPU s per M records | failed runs |")
            out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for c in clients:
                cr = [r for r in sel if r["client"] == c]
                bad = sum(1 for r in cr if "error" in r or r.get("failed"))
                out.append(f"| {c} | {fmt(median(cr, 'records_per_sec'), ',.0f')} | {fmt(median(cr, 'mb_per_sec'), '.1f')} "
                           f"| {fmt(median(cr, 'cpu_s_per_m'), '.3f')} | {fmt(median(cr, 'peak_rss_mb'), '.0f')} "
                           f"| {fmt(median(cr, 'latency_p50_ms'), '.2f')} | {fmt(median(cr, 'latency_p99_ms'), '.2f')} "
                           f"| {fmt(median(cr, 'latency_max_ms'), '.1f')} | {fmt(median(cr, 'broker_cpu_s_per_m'), '.3f')} "
                           f"| {bad} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--brokers", default="kafka,tansu")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every workload's record count")
    ap.add_argument("--no-pin", action="store_true", help="let broker and client share both CPUs")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--broker-dir", default="",
                    help="the directory the broker keeps its data in (Kafka's log dir), e.g. /dev/shm; "
                    "default: the system's temporary directory")
    ap.add_argument("--timeout", type=float, default=120, help="seconds a run may take before it is killed "
                    "(and counted as failed)")
    ap.add_argument("--out", default=os.path.join(BENCH, "results", time.strftime("%Y-%m-%d-%H%M")))
    ap.add_argument("--table-of", metavar="RUNS_JSONL", nargs="+",
                    help="run nothing: print the medians of the runs kept in these files (of earlier "
                    "invocations), for the brokers, workloads and clients given")
    args = ap.parse_args()
    brokers, workloads, clients = (args.brokers.split(","), args.workloads.split(","), args.clients.split(","))
    for name, known in ((workloads, WORKLOADS), (clients, CLIENTS)):
        for n in name:
            if n not in known:
                sys.exit(f"unknown: {n} (known: {', '.join(known)})")
    for w in WORKLOADS.values():
        w["records"] = max(1, int(w["records"] * args.scale))
    if args.table_of:
        rows = [json.loads(line) for path in args.table_of for line in open(path) if line.strip()]
        rows = [r for r in rows if r["client"] in clients]
        runs = max((sum(1 for r in rows if (r["broker"], r["workload"], r["client"]) == k)
                    for k in {(r["broker"], r["workload"], r["client"]) for r in rows}), default=0)
        print(f"medians of the runs in {' '.join(args.table_of)}\n" + table(rows, workloads, brokers, clients, runs))
        return
    can_pin = not args.no_pin and shutil.which("taskset") and os.cpu_count() >= 2
    pin = (lambda cpu: ["taskset", "-c", str(cpu)]) if can_pin else (lambda cpu: [])
    if not args.no_build:
        build(clients)
    os.makedirs(args.out, exist_ok=True)
    command = "bench/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    rows = []
    with open(os.path.join(args.out, "runs.jsonl"), "w") as raw:
        for b in brokers:
            for wname in workloads:
                w = WORKLOADS[wname]
                load = open("/proc/loadavg").read().split()[:3]
                broker = Broker(b, pin, args.broker_dir)
                try:
                    shared = f"bench-{wname.lower()}"
                    if w.get("shared_topic"):
                        create_topic(broker, shared, w["partitions"])
                    # A run nobody counts first, so the broker (Kafka's JIT) is warm for every client.
                    if w["rate"] < 0:
                        warm = dict(w, records=min(w["records"], 1_000_000))
                        one_run("kprod-tokio", warm, broker, shared if w.get("shared_topic") else f"{shared}-warmup",
                                pin, args.timeout)
                    for r in range(args.rounds):
                        order = clients[r % len(clients):] + clients[:r % len(clients)]
                        for c in order:
                            topic = shared if w.get("shared_topic") else f"{shared}-{c}-{r}"
                            row = one_run(c, w, broker, topic, pin, args.timeout)
                            row.update(broker=b, workload=wname, round=r, load_before=" ".join(load),
                                       records_planned=w["records"])
                            rows.append(row)
                            raw.write(json.dumps(row) + "\n")
                            raw.flush()
                            print(f"{b} {wname} round {r} {c:16} {row.get('records_per_sec', 0):>12,.0f} rec/s "
                                  f"{row['cpu_s_per_m']:6.3f} CPU s/M {row['peak_rss_mb']:7.1f} MB "
                                  f"p50 {row.get('latency_p50_ms', 0):7.2f} p99 {row.get('latency_p99_ms', 0):7.2f} ms "
                                  f"broker {row['broker_cpu_s_per_m']:6.3f} s/M"
                                  + (f"  ERROR {row['error']}" if "error" in row else ""), flush=True)
                finally:
                    broker.stop()
    machine = (f"{os.cpu_count()} CPUs, {'broker on CPU 1 and client on CPU 0 (taskset)' if can_pin else 'unpinned'}; "
               f"broker data in {args.broker_dir or tempfile.gettempdir()}; {time.strftime('%Y-%m-%d')}")
    text = (f"`{command}` ({machine})\n" + table(rows, workloads, brokers, clients, args.rounds) + "\n")
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    print("\n" + text)


if __name__ == "__main__":
    main()
