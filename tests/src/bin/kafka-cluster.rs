//! An Apache Kafka KRaft cluster driven through stdin, for scripts that need more than the
//! single node of `scripts/local-broker.sh` (`bench/partitioning.py`: racks, a paused node).
//!
//! ```text
//! kafka-cluster [--nodes N] [--racks] [--version V] [--heap-mb MB]
//! ```
//!
//! Starts the cluster (the test suite's [`KafkaCluster`]: combined broker+controller nodes on
//! loopback, Kafka's jars from `scripts/setup-test-env.sh --kafka-only`), prints one JSON line
//! (`bootstrap`, and each node's `id`, `rack` and `pid`), then answers one JSON line per command
//! read from stdin:
//!
//! - `topic NAME PARTITIONS RF [KEY=VALUE ...]`: creates the topic, waits until every leader
//!   takes writes; answers `partitions` (each `partition`, `leader`, `replicas`).
//! - `offsets NAME`: each partition's end offset (`end_offsets`).
//! - `pause ID` / `resume ID`: SIGSTOP / SIGCONT node `ID` (its connections stay open).
//! - `quit`, or the end of stdin: stops every node and removes the cluster's files.
//!
//! A command it cannot parse, or one naming no node or a topic it cannot describe, answers
//! `{"error": "..."}` and the cluster goes on. A failure inside the harness (Kafka refusing to
//! create a topic, pausing a node that is not running) ends the program with the harness's panic
//! on stderr, as it would fail a test.

use std::io::{BufRead, Write};

use kafka_integration_tests::kafka::NewTopic;
use kafka_integration_tests::{ClusterConfig, KafkaCluster, Listener};
use serde_json::{Value, json};

fn usage() -> ! {
    eprintln!("usage: kafka-cluster [--nodes N] [--racks] [--version V] [--heap-mb MB]");
    std::process::exit(2)
}

fn main() {
    let mut nodes = 3usize;
    let mut racks = false;
    let mut version = None;
    let mut heap_mb = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--nodes" => nodes = value().parse().unwrap_or_else(|_| usage()),
            "--racks" => racks = true,
            "--version" => version = Some(value()),
            "--heap-mb" => heap_mb = Some(value().parse().unwrap_or_else(|_| usage())),
            _ => usage(),
        }
    }
    if nodes == 0 {
        usage();
    }
    let mut config = ClusterConfig::new(nodes);
    if racks {
        config = config.racks();
    }
    if let Some(v) = &version {
        config = config.version(v);
    }
    if let Some(mb) = heap_mb {
        config = config.heap_mb(mb);
    }
    let cluster = KafkaCluster::start(config);
    let described: Vec<Value> = cluster
        .node_ids()
        .into_iter()
        .map(|id| {
            json!({
                "id": id,
                "rack": racks.then(|| ClusterConfig::rack_of(id)),
                "pid": cluster.node_pid(id),
            })
        })
        .collect();
    let mut out = std::io::stdout().lock();
    let mut say = |v: Value| {
        // A reader that went away ends the cluster as the end of stdin does.
        writeln!(out, "{v}").and_then(|()| out.flush()).is_ok()
    };
    if !say(json!({"bootstrap": cluster.bootstrap(Listener::Plaintext), "nodes": described})) {
        return;
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            [] => continue,
            ["quit"] => break,
            ["topic", name, partitions, rf, configs @ ..] => {
                create(&cluster, name, partitions, rf, configs)
            }
            ["offsets", name] => cluster
                .end_offsets(name)
                .map(|o| json!({ "end_offsets": o })),
            ["pause" | "resume", id] => match id.parse::<i32>() {
                Ok(id) if cluster.node_ids().contains(&id) => {
                    if words[0] == "pause" {
                        cluster.pause_node(id);
                    } else {
                        cluster.resume_node(id);
                    }
                    Ok(json!({ "ok": true }))
                }
                _ => Err(format!("no node {id}")),
            },
            _ => Err(format!("unknown command: {line}")),
        };
        let v = answer.unwrap_or_else(|e| json!({ "error": e }));
        if !say(v) {
            break;
        }
    }
}

fn create(
    cluster: &KafkaCluster,
    name: &str,
    partitions: &str,
    rf: &str,
    configs: &[&str],
) -> Result<Value, String> {
    let partitions: i32 = partitions
        .parse()
        .map_err(|_| format!("partitions: {partitions}"))?;
    let rf: i16 = rf
        .parse()
        .map_err(|_| format!("replication factor: {rf}"))?;
    let mut topic = NewTopic::new(name, partitions).replication_factor(rf);
    for kv in configs {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("not KEY=VALUE: {kv}"))?;
        topic = topic.config(k, v);
    }
    cluster.create_topic_with(topic);
    let described = cluster.describe_topic(name)?;
    Ok(json!({
        "partitions": described
            .iter()
            .map(|p| json!({"partition": p.partition, "leader": p.leader, "replicas": p.replicas}))
            .collect::<Vec<_>>()
    }))
}
