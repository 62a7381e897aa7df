//! What a producer reported for every record, checked against what an independent client
//! reads back from Kafka: the failover and proxy suites' ledger, paced stream and verdict.
//! Records carry their index as the value and `key-{index % 997}` as the key.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_integration_tests::kafka::{KafkaCluster, Listener};
use kafka_integration_tests::python;
use kafka_runtime_common::{DeliveryResult, ProducerRecord};

use crate::runtimes::{TestProducer, sleep};

pub(crate) fn key(i: usize) -> String {
    format!("key-{}", i % 997)
}

pub(crate) fn record(topic: &Arc<str>, i: usize) -> ProducerRecord {
    ProducerRecord::new(topic.clone())
        .key(key(i))
        .value(i.to_string())
}

pub(crate) const NONE: u8 = 0;
pub(crate) const ACKED: u8 = 1;
pub(crate) const NOT_WRITTEN: u8 = 2;
pub(crate) const POSSIBLY_WRITTEN: u8 = 3;

/// Every record's outcome, as the producer reported it, by record index: a byte of state and
/// the reported partition and offset. A second outcome for a record is counted, not stored.
pub(crate) struct Ledger {
    pub(crate) state: Vec<AtomicU8>,
    pub(crate) partition: Vec<AtomicI32>,
    pub(crate) offset: Vec<AtomicI64>,
    pub(crate) twice: AtomicUsize,
    pub(crate) errors: Mutex<HashMap<String, usize>>,
}

impl Ledger {
    pub(crate) fn new(n: usize) -> Arc<Ledger> {
        Arc::new(Ledger {
            state: (0..n).map(|_| AtomicU8::new(NONE)).collect(),
            partition: (0..n).map(|_| AtomicI32::new(-1)).collect(),
            offset: (0..n).map(|_| AtomicI64::new(-1)).collect(),
            twice: AtomicUsize::new(0),
            errors: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn record(&self, i: usize, result: DeliveryResult) {
        let state = match &result {
            Ok(meta) => {
                self.partition[i].store(meta.partition, Ordering::Relaxed);
                self.offset[i].store(meta.offset, Ordering::Relaxed);
                ACKED
            }
            Err(e) => {
                *self
                    .errors
                    .lock()
                    .unwrap()
                    .entry(format!(
                        "{} (possibly written: {})",
                        e.kind, e.possibly_written
                    ))
                    .or_default() += 1;
                if e.possibly_written {
                    POSSIBLY_WRITTEN
                } else {
                    NOT_WRITTEN
                }
            }
        };
        if self.state[i]
            .compare_exchange(NONE, state, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            self.twice.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn count(&self, state: u8) -> usize {
        self.state
            .iter()
            .filter(|s| s.load(Ordering::Acquire) == state)
            .count()
    }

    pub(crate) fn errors(&self) -> HashMap<String, usize> {
        self.errors.lock().unwrap().clone()
    }
}

/// Where the producer is, for the thread disrupting the cluster: records sent so far, and
/// whether the disruption is over (the stream holds its last tenth until then).
#[derive(Default)]
pub(crate) struct Gate {
    pub(crate) sent: AtomicUsize,
    pub(crate) disrupted: AtomicBool,
}

/// Sends records `range` paced over `duration`, each with a callback into `ledger`. Holds at
/// `hold_at` until `gate.disrupted`.
pub(crate) async fn stream<P: TestProducer>(
    producer: &P,
    topic: &Arc<str>,
    range: std::ops::Range<usize>,
    duration: Duration,
    ledger: &Arc<Ledger>,
    gate: &Gate,
    hold_at: Option<usize>,
) {
    let started = Instant::now();
    let (first, n) = (range.start, range.len().max(1));
    for i in range {
        if Some(i) == hold_at {
            while !gate.disrupted.load(Ordering::Acquire) {
                sleep(Duration::from_millis(50)).await;
            }
        }
        if i % 100 == 0 && hold_at.is_none_or(|h| i < h) {
            let due = duration.mul_f64((i - first) as f64 / n as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                sleep(wait).await;
            }
        }
        let ledger = ledger.clone();
        producer
            .send_with_callback(record(topic, i), move |r| ledger.record(i, r))
            .await
            .unwrap_or_else(|e| panic!("send of record {i}: {e}"));
        gate.sent.store(i + 1, Ordering::Release);
    }
}

/// Reads every partition of TOPIC to its high watermark (confluent-kafka, CRCs checked) and
/// prints `partition offset key value` per record.
pub(crate) const READ_ALL: &str = r#"
import sys, time
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "failover-read-back",
              "enable.auto.commit": False, "check.crcs": True, "enable.partition.eof": True})
parts = sorted(c.list_topics(topic, timeout=30).topics[topic].partitions)
ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in parts}
pending = {p for p in parts if ends[p] > 0}
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
deadline, out = time.time() + 180, []
while pending and time.time() < deadline:
    for m in c.consume(num_messages=10000, timeout=0.5):
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            sys.exit(f"consume error: {m.error()}")
        out.append(f"{m.partition()} {m.offset()} {m.key().decode()} {m.value().decode()}")
        if m.offset() + 1 >= ends[m.partition()]:
            pending.discard(m.partition())
c.close()
sys.stdout.write("\n".join(out))
if pending:
    sys.exit(f"partitions {sorted(pending)} not read to their ends {ends}")
"#;

pub(crate) fn script(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if !path.exists() {
        fs::write(&path, text).expect("write a script");
    }
    path
}

/// One record read back: its partition and offset and the index its value carries.
pub(crate) struct Read {
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) index: usize,
}

pub(crate) fn read_all(cluster: &KafkaCluster, topic: &str) -> Vec<Read> {
    let out = python(
        script(cluster.dir(), "failover-read-all.py", READ_ALL),
        [cluster.bootstrap(Listener::Plaintext), topic.to_owned()],
    );
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f.len(), 4, "read back {line:?}");
            let index: usize = f[3].parse().expect("an index");
            assert_eq!(f[2], key(index), "the key of record {index}");
            Read {
                partition: f[0].parse().expect("partition"),
                offset: f[1].parse().expect("offset"),
                index,
            }
        })
        .collect()
}

/// What a check found, for the scenario's own assertions and its log line.
// Some counts are read only through `Debug`, in the scenario's log line.
#[allow(dead_code)]
#[derive(Debug)]
pub(crate) struct Verdict {
    pub(crate) acked: usize,
    pub(crate) not_written: usize,
    pub(crate) possibly_written: usize,
    pub(crate) possibly_written_present: usize,
    pub(crate) partitions_written: Vec<i32>,
}

/// Checks the log of `topic` against `ledger`: every record has exactly one outcome; no index
/// appears twice in the log; per partition the indices grow with the offsets (send order
/// kept, as every key always maps to one partition); acknowledged records are in the log at
/// their reported partition and offset; "not written" records are absent.
pub(crate) fn verify(cluster: &KafkaCluster, topic: &str, ledger: &Ledger) -> Verdict {
    let n = ledger.state.len();
    let log = read_all(cluster, topic);
    assert_eq!(
        ledger.twice.load(Ordering::Acquire),
        0,
        "outcomes reported twice"
    );
    assert_eq!(ledger.count(NONE), 0, "records without an outcome");
    let mut at: Vec<Option<(i32, i64)>> = vec![None; n];
    let mut last: HashMap<i32, usize> = HashMap::new();
    for r in &log {
        assert!(r.index < n, "record {} was never sent", r.index);
        if let Some(first) = at[r.index] {
            panic!(
                "record {} is in the log twice: at {first:?} and at {}/{}",
                r.index, r.partition, r.offset
            );
        }
        at[r.index] = Some((r.partition, r.offset));
        if let Some(previous) = last.insert(r.partition, r.index) {
            assert!(
                previous < r.index,
                "partition {} out of order: record {} after {previous} (offset {})",
                r.partition,
                r.index,
                r.offset
            );
        }
    }
    let mut possibly_written_present = 0;
    for (i, place) in at.iter().enumerate() {
        match ledger.state[i].load(Ordering::Acquire) {
            ACKED => {
                let (partition, offset) = place.unwrap_or_else(|| {
                    let (p, o) = (
                        ledger.partition[i].load(Ordering::Acquire),
                        ledger.offset[i].load(Ordering::Acquire),
                    );
                    let there = log.iter().find(|r| r.partition == p && r.offset == o);
                    let in_p: Vec<i64> = log
                        .iter()
                        .filter(|r| r.partition == p)
                        .map(|r| r.offset)
                        .collect();
                    panic!(
                        "record {i} was acknowledged at {p}/{o} but is not in the log (lost); \
                         the log has {} there; partition {p} holds {} records, offsets {:?}..{:?}",
                        there.map_or("nothing".to_owned(), |r| format!("record {}", r.index)),
                        in_p.len(),
                        in_p.first(),
                        in_p.last(),
                    )
                });
                assert_eq!(
                    partition,
                    ledger.partition[i].load(Ordering::Acquire),
                    "record {i}'s partition"
                );
                let reported = ledger.offset[i].load(Ordering::Acquire);
                assert!(
                    reported == -1 || reported == offset,
                    "record {i} acknowledged at offset {reported}, in the log at {offset}"
                );
            }
            NOT_WRITTEN => assert!(
                place.is_none(),
                "record {i} was reported not written but is in the log at {place:?}"
            ),
            _ => possibly_written_present += usize::from(place.is_some()),
        }
    }
    let mut partitions_written: Vec<i32> = last.keys().copied().collect();
    partitions_written.sort_unstable();
    let verdict = Verdict {
        acked: ledger.count(ACKED),
        not_written: ledger.count(NOT_WRITTEN),
        possibly_written: ledger.count(POSSIBLY_WRITTEN),
        possibly_written_present,
        partitions_written,
    };
    eprintln!(
        "failover: {topic}: {verdict:?}, {} records in the log, errors {:?}",
        log.len(),
        ledger.errors()
    );
    verdict
}

/// Checks that nothing failed (the scenarios where every record must arrive).
pub(crate) fn assert_all_delivered(cluster: &KafkaCluster, topic: &str, ledger: &Ledger) {
    let verdict = verify(cluster, topic, ledger);
    assert_eq!(
        verdict.acked,
        ledger.state.len(),
        "records failed: {:?}",
        ledger.errors()
    );
}
