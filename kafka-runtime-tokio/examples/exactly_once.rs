//! Consume-transform-produce, exactly once: reads partition 0 of INPUT, writes each record's
//! value upper-cased to OUTPUT (same key), and commits GROUP's offset on INPUT with the same
//! transaction, so a crash between the two can neither lose nor duplicate a result.
//!
//! ```text
//! cargo run -p kafka-runtime-tokio --example exactly_once -- \
//!     localhost:9092 INPUT OUTPUT GROUP [FROM_OFFSET [MAX_RECORDS]]
//! ```
//!
//! The input is read with a minimal fetch loop on kafka-proto's Fetch codec (one partition,
//! `read_committed`, no consumer group membership): an example input, not a consumer this
//! project ships. A real application reads with a consumer (rdkafka, the Java client) and
//! starts from the group's committed offset; here the start offset is an argument (default
//! 0). The loop ends when a fetch returns nothing new, or after MAX_RECORDS.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_proto::frame;
use kafka_proto::header::RequestHeader;
use kafka_proto::messages::fetch::{FetchPartition, FetchRequest, FetchTopic};
use kafka_proto::messages::metadata::{MetadataRequest, MetadataRequestTopic};
use kafka_proto::record::{AnyBatch, Batches};
use kafka_proto::{ErrorCode, Request};
use kafka_runtime_tokio::{ConsumerGroupMetadata, OffsetToCommit, ProducerBuilder, ProducerRecord};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One request at a time on one connection.
struct Connection {
    stream: TcpStream,
    correlation_id: i32,
}

impl Connection {
    async fn open(address: &str) -> Result<Connection, Error> {
        Ok(Connection {
            stream: TcpStream::connect(address).await?,
            correlation_id: 0,
        })
    }

    async fn call<R: Request>(&mut self, body: &R, version: i16) -> Result<R::Response, Error> {
        self.correlation_id += 1;
        let header = RequestHeader::new(R::API_KEY, version, self.correlation_id, Some("eos"));
        let mut out = BytesMut::new();
        frame::encode_request(&mut out, &header, body)?;
        self.stream.write_all(&out).await?;
        let size = self.stream.read_i32().await?;
        let size = usize::try_from(size).map_err(|_| "negative frame size")?;
        if size > 64 << 20 {
            return Err(format!("response of {size} bytes").into());
        }
        let mut frame = vec![0u8; size];
        self.stream.read_exact(&mut frame).await?;
        let (_, response) = frame::decode_response::<R>(Bytes::from(frame), version)?;
        Ok(response)
    }
}

/// The address of the leader of `topic`'s partition 0.
async fn leader_of(bootstrap: &str, topic: &str) -> Result<String, Error> {
    let first = bootstrap.split(',').next().unwrap_or(bootstrap);
    let mut c = Connection::open(first).await?;
    let request = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some(topic.to_owned()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let md = c.call(&request, 9).await?;
    let t = md.topics.first().ok_or("no topic in the answer")?;
    if t.error_code != 0 {
        return Err(format!("topic {topic}: {}", ErrorCode(t.error_code)).into());
    }
    let leader = t
        .partitions
        .iter()
        .find(|p| p.partition_index == 0)
        .map(|p| p.leader_id)
        .ok_or("no partition 0")?;
    let b = md
        .brokers
        .iter()
        .find(|b| b.node_id == leader)
        .ok_or("the leader is not among the brokers")?;
    Ok(format!("{}:{}", b.host, b.port))
}

/// Records read from INPUT.
type Fetched = Vec<(i64, Option<Bytes>, Option<Bytes>)>;

/// The committed records of INPUT from `offset` on, as (offset, key, value), and the offset
/// to fetch from next (past markers and aborted records too).
async fn fetch(c: &mut Connection, topic: &str, offset: i64) -> Result<(Fetched, i64), Error> {
    let request = FetchRequest {
        max_wait_ms: 500,
        min_bytes: 1,
        max_bytes: 1 << 20,
        isolation_level: 1, // read_committed
        topics: vec![FetchTopic {
            topic: topic.to_owned(),
            partitions: vec![FetchPartition {
                partition: 0,
                fetch_offset: offset,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let response = c.call(&request, 12).await?;
    let mut out = Vec::new();
    let mut next = offset;
    for t in &response.responses {
        for p in &t.partitions {
            if p.error_code != 0 {
                return Err(format!("fetch: {}", ErrorCode(p.error_code)).into());
            }
            // Aborted transactions' records come back too: a producer's batches from the
            // first offset of one of its aborted transactions up to its abort marker are
            // skipped (as Java's consumer does).
            let mut aborted: Vec<(i64, i64)> = p
                .aborted_transactions
                .iter()
                .flatten()
                .map(|a| (a.first_offset, a.producer_id))
                .collect();
            aborted.sort_unstable();
            let mut aborted = aborted.into_iter().peekable();
            let mut aborting: Vec<i64> = Vec::new();
            let Some(records) = p.records.clone() else {
                continue;
            };
            for batch in Batches::new(records) {
                let AnyBatch::V2(batch) = batch? else {
                    continue;
                };
                let info = batch.info();
                next = next.max(batch.last_offset() + 1);
                while let Some((_, pid)) =
                    aborted.next_if(|(first, _)| *first <= batch.last_offset())
                {
                    aborting.push(pid);
                }
                if info.control {
                    // The marker ends the producer's transaction (aborted or not).
                    aborting.retain(|pid| *pid != info.producer_id);
                    continue;
                }
                if info.transactional && aborting.contains(&info.producer_id) {
                    continue;
                }
                for r in batch.records(64 << 20)? {
                    let r = r?;
                    if r.offset >= offset {
                        out.push((r.offset, r.key, r.value));
                    }
                }
            }
        }
    }
    Ok((out, next))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (done, offset) = run(std::env::args().skip(1).collect()).await?;
    println!("done: {done} records transformed, committed up to offset {offset}");
    Ok(())
}

/// The loop; returns how many records it transformed and the offset it committed.
pub(crate) async fn run(args: Vec<String>) -> Result<(usize, i64), Error> {
    let [bootstrap, input, output, group, ..] = &args[..] else {
        return Err(
            "usage: exactly_once BOOTSTRAP INPUT OUTPUT GROUP [FROM_OFFSET [MAX_RECORDS]]".into(),
        );
    };
    let mut offset: i64 = args.get(4).map_or(Ok(0), |s| s.parse())?;
    let max: usize = args.get(5).map_or(Ok(usize::MAX), |s| s.parse())?;
    let timeout = Duration::from_secs(30);

    let producer = ProducerBuilder::new()
        .bootstrap_servers(bootstrap)
        .set(
            "transactional.id",
            &format!("exactly-once-{group}-{input}-0"),
        )
        .build()?;
    producer.init_transactions(timeout).await?;
    let mut input_conn = Connection::open(&leader_of(bootstrap, input).await?).await?;
    let meta = ConsumerGroupMetadata::new(group.as_str());
    let mut done = 0usize;
    let mut position = offset;
    while done < max {
        let (records, next) = fetch(&mut input_conn, input, position).await?;
        if next == position {
            break; // nothing new
        }
        position = next;
        if records.is_empty() {
            continue; // only markers or aborted records
        }
        producer.begin_transaction()?;
        for (at, key, value) in records.into_iter().take(max - done) {
            let upper = value.map(|v| Bytes::from(v.to_ascii_uppercase()));
            let mut record = ProducerRecord::new(output.as_str());
            if let Some(k) = key {
                record = record.key(k);
            }
            if let Some(v) = upper {
                record = record.value(v);
            }
            // The commit succeeds only if every record was delivered.
            drop(producer.send(record).await?);
            offset = at + 1;
            position = offset;
            done += 1;
        }
        let next = [OffsetToCommit {
            topic: input.clone(),
            partition: 0,
            offset,
            metadata: None,
        }];
        producer.send_offsets_to_transaction(&next, &meta).await?;
        match producer.commit_transaction(timeout).await {
            Ok(()) => println!("committed up to offset {offset} ({done} records)"),
            Err(e) if e.is_abortable() => {
                producer.abort_transaction(timeout).await?;
                return Err(format!("transaction aborted: {e}").into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    producer.close(timeout).await;
    Ok((done, offset))
}
