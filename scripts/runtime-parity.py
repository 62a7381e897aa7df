#!/usr/bin/env python3
"""Throughput of `kprod perf` on each runtime (tokio, async-std, mio) against one local tansu,
in interleaved rounds, so all three see the same broker and the same machine state.

Usage: scripts/runtime-parity.py [--rounds N] [--records N] [--pin] [--baseline KPROD] [-- extra kprod perf args]

Builds kprod in release mode first. Prints one line per run and a Markdown table of medians:
records/s, the ratio to tokio, the client's CPU time per record (user + system, from
getrusage), and latency p50/p99. --pin runs the broker on CPU 1 and kprod on CPU 0 (taskset), so
the client's threads do not compete with the broker's for the same core. --baseline KPROD also runs
another kprod binary (e.g. a copy built from an earlier commit) right after each run, labelled
`RUNTIME@base`, for before/after figures from the same broker and machine state.
"""
import argparse, json, os, resource, shutil, socket, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--records", type=int, default=500_000)
ap.add_argument("--pin", action="store_true")
ap.add_argument("--baseline", metavar="KPROD")
ap.add_argument("extra", nargs="*")
args = ap.parse_args()

subprocess.run(["cargo", "build", "--release", "-q", "-p", "kafka-cli"], cwd=ROOT, check=True)
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
kprod = os.path.join(target, "release", "kprod")
tansu_bin = os.path.join(ROOT, ".tools", "bin", "tansu")
if not os.path.exists(tansu_bin):
    sys.exit("tansu missing: run scripts/setup-test-env.sh")
pin = (lambda cpu: ["taskset", "-c", str(cpu)]) if args.pin and shutil.which("taskset") else (lambda cpu: [])

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
bootstrap = f"127.0.0.1:{port}"
tansu = subprocess.Popen(pin(1) + [tansu_bin, "broker", "--listener-url", f"tcp://{bootstrap}",
                          "--advertised-listener-url", f"tcp://{bootstrap}", "--storage-engine", "memory://tansu/"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
rows = {}
try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    for r in range(args.rounds):
        runs = [(rt, kprod) for rt in ["tokio", "async-std", "mio"]]
        if args.baseline:
            runs = [run for rt, k in runs for run in [(rt, k), (rt + "@base", args.baseline)]]
        for rt, binary in runs:
            topic = f"parity-{rt.replace('@', '-')}-{r}"
            subprocess.run([kprod, "topic", "create", topic, "--partitions", "4", "--replication-factor", "1",
                            "-b", bootstrap], capture_output=True, check=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            out = subprocess.run(pin(0) + [binary, "--runtime", rt.split("@")[0], "perf", "-b", bootstrap, "-t", topic,
                                  "--num-records", str(args.records), "--record-size", "100", "--throughput", "-1",
                                  "--json", *args.extra], capture_output=True, text=True, check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            d = json.loads(out.stdout)
            d["cpu_us"] = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) / args.records * 1e6
            rows.setdefault(rt, []).append(d)
            print(f"round {r} {rt:14} {d['records_per_sec']:>10,.0f} records/s  {d['cpu_us']:.2f} µs CPU/record  "
                  f"p50 {d['latency_p50_ms']:.0f} ms  failed {d['failed']}", flush=True)
finally:
    tansu.kill()

med = lambda rt, k: statistics.median(x[k] for x in rows[rt])
base = med("tokio", "records_per_sec")
print(f"\n| runtime | records/s (median of {args.rounds}) | vs tokio | client CPU µs/record | p50 ms | p99 ms |")
print("| --- | --- | --- | --- | --- | --- |")
for rt in rows:
    print(f"| {rt} | {med(rt, 'records_per_sec'):,.0f} | {med(rt, 'records_per_sec') / base:.2f} | "
          f"{med(rt, 'cpu_us'):.2f} | {med(rt, 'latency_p50_ms'):.0f} | {med(rt, 'latency_p99_ms'):.0f} |")
