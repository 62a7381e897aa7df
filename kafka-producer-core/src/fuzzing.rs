//! The `producer_core` fuzz oracle: the sans-IO producer driven by a script
//! of calls read from the fuzzer's bytes, against a "broker" that answers
//! whatever the producer asks with either well-formed responses (built with
//! kafka-proto from fuzzer-chosen error codes, leaders and offsets) or
//! fuzzer-chosen garbage.
//!
//! Behind the `fuzzing` feature (test-only, not public API: hidden, no
//! semver promise). Used by the cargo-fuzz target
//! `fuzz/fuzz_targets/producer_core.rs` and the corpus replay test of
//! `tests/`.
//!
//! # Input layout
//!
//! Two bytes choose the configuration (idempotence, acks, linger,
//! compression, in-flight limit, SASL, batch and buffer sizes); then each
//! operation is an `Op` drawn with `arbitrary` (its `Arbitrary` derive),
//! its arguments the bytes after it. Reads past the end give zeros, so
//! every input is a valid script and the mutator's splices stay
//! meaningful.
//!
//! Time moves only when the script says so. After every operation the
//! oracle drains all outputs and plays the runtime's timer: it calls
//! `handle_timeout` while `poll_timeout()` is due, and when the script
//! moves time on, the timer armed at the last `poll_timeout()` fires late.
//!
//! # Invariants checked
//!
//! - nothing panics;
//! - every transmitted frame is a well-formed request, on a connection the
//!   producer asked for and was told is up, with correlation ids in order;
//!   every produced record batch parses and its CRC holds;
//! - every `RecordToken` names a batch that has no outcome yet, with the
//!   next index, the same topic and partition as the batch's other records,
//!   and the explicit partition when one was given;
//! - every batch gets at most one `Delivered`/`Failed`, only batches `send`
//!   created get one, and its record count is the number of tokens;
//! - `FlushComplete(id)` comes once, in order, after every batch that
//!   existed at `flush` has its outcome;
//! - `buffer_memory_used()` stays within `buffer.memory`, and a
//!   `BufferFull` refusal is consistent with it;
//! - once `close` is called, `send` and `prefetch_topic` refuse with
//!   `Closed`; `Closed` comes only when every batch has its outcome and
//!   every flush its `FlushComplete`; it is the last event, and after it
//!   `poll_timeout()` is `None`;
//! - `poll_timeout()` is never later than a scan of every deadline finds
//!   (the timer table may wake the producer early, never late);
//! - no busy loop: when `poll_timeout()` says "now", `handle_timeout(now)`
//!   and a drain either produce something or move the deadline later;
//! - liveness: after the script (unless it closed the producer or made it
//!   fail), a healthy cluster (every connection up, every request answered
//!   with success, time moving on) gets a new record delivered within 10
//!   simulated seconds;
//! - at the end, after `close(now, Some(0))` and a `handle_timeout` far in
//!   the future: every batch has exactly one outcome, no batch is
//!   outstanding, buffer memory is back to zero and the last event is
//!   `Closed`.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};

use crate::{
    BatchId, ConnId, Event, FlushId, Header, Producer, ProducerConfig, Record, RecordToken,
    SendError,
};
use kafka_proto::ApiKey;
use kafka_proto::frame;
use kafka_proto::messages::api_versions::{ApiVersion, ApiVersionsRequest, ApiVersionsResponse};
use kafka_proto::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafka_proto::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition,
    MetadataResponseTopic,
};
use kafka_proto::messages::produce::{
    LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse, ProduceRequest, ProduceResponse,
    TopicProduceResponse,
};
use kafka_proto::messages::sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_proto::messages::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
use kafka_proto::messages::{AnyRequest, decode_request};
use kafka_proto::record::RecordBatch;

/// How long the healthy cluster of the epilogue gets to deliver a record:
/// every leftover batch times out within `delivery.timeout.ms` (3 s), and
/// then some.
const HEALTHY_DEADLINE: Duration = Duration::from_secs(10);

/// Operations per input: enough for deep states, few enough that one run
/// stays in the milliseconds.
const MAX_OPS: usize = 2_000;
/// `handle_timeout(now)` rounds without visible progress tolerated before a
/// deadline at or before `now` counts as a busy loop.
const MAX_IDLE_WAKEUPS: usize = 2;
/// Topics the script sends to: three legal names, one illegal.
const TOPICS: [&str; 4] = ["alpha", "beta", "gamma", "no/such topic"];
/// Broker node ids the metadata answers name (7 has no address).
const NODES: [i32; 5] = [1, 2, 3, 7, -1];
const BUFFER_MEMORIES: [usize; 4] = [1_024, 4_096, 16_384, 65_536];
const BATCH_SIZES: [usize; 4] = [0, 128, 512, 4_096];
const MAX_REQUEST_SIZES: [usize; 4] = [512, 2_048, 8_192, 1 << 20];

/// Error codes a broker gives a produce request (and a few more), so the
/// fuzzer hits each path with one byte.
const PRODUCE_ERRORS: [i16; 24] = [
    0, 0, 0, 0, 0, 0, 0, 0,  // mostly success
    1,  // OFFSET_OUT_OF_RANGE (not retriable)
    2,  // CORRUPT_MESSAGE
    3,  // UNKNOWN_TOPIC_OR_PARTITION
    6,  // NOT_LEADER_OR_FOLLOWER
    7,  // REQUEST_TIMED_OUT
    10, // MESSAGE_TOO_LARGE
    19, // NOT_ENOUGH_REPLICAS
    20, // NOT_ENOUGH_REPLICAS_AFTER_APPEND
    29, // TOPIC_AUTHORIZATION_FAILED
    45, // OUT_OF_ORDER_SEQUENCE_NUMBER
    46, // DUPLICATE_SEQUENCE_NUMBER
    47, // INVALID_PRODUCER_EPOCH
    59, // UNKNOWN_PRODUCER_ID
    74, // FENCED_LEADER_EPOCH
    87, // INVALID_RECORD
    -1, // UNKNOWN_SERVER_ERROR
];
/// Error codes for a topic in a metadata answer.
const TOPIC_ERRORS: [i16; 8] = [0, 0, 0, 0, 3, 5, 29, 17];
/// Error codes for InitProducerId.
const PRODUCER_ID_ERRORS: [i16; 12] = [0, 0, 0, 0, 0, 0, 14, 15, 16, 31, 47, 90];

/// The script's reader (`arbitrary`'s): bytes past the end read as zero.
struct Input<'a> {
    u: Unstructured<'a>,
}

impl<'a> Input<'a> {
    fn is_empty(&self) -> bool {
        self.u.is_empty()
    }

    fn u8(&mut self) -> u8 {
        u8::arbitrary(&mut self.u).unwrap_or(0)
    }

    /// The next operation.
    fn op(&mut self) -> Op {
        Op::arbitrary(&mut self.u).unwrap_or(Op::AdvanceSmall)
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// One in `n` (for `n` a power of two), from one byte.
    fn one_in(&mut self, n: u8) -> bool {
        self.u8() % n == 0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::from(self.u8()) % items.len()]
    }

    /// Up to `max` bytes of the input itself (fewer at its end).
    fn bytes(&mut self, max: usize) -> &'a [u8] {
        let n = (usize::from(self.u8()) % (max + 1)).min(self.u.len());
        self.u.bytes(n).unwrap_or_default()
    }
}

/// What the script can do; each draws its arguments from the bytes after
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
enum Op {
    AdvanceSmall,
    AdvanceLarge,
    SleepUntilTimeout,
    HandleTimeout,
    Send,
    SendBurst,
    Flush,
    Close,
    PrefetchTopic,
    AnswerConnects,
    AnswerOne,
    AnswerAll,
    AnswerSplit,
    AnswerCorrupted,
    GarbageFrame,
    RawBytes,
    Disconnect,
    StaleConn,
}

/// A request the producer sent that awaits an answer.
#[derive(Debug)]
struct Awaiting {
    correlation_id: i32,
    version: i16,
    body: AnyRequest,
}

/// The oracle's view of one connection.
#[derive(Debug, Default)]
struct NetConn {
    connected: bool,
    /// Bytes the producer wrote that do not form a whole frame yet.
    partial: Vec<u8>,
    awaiting: VecDeque<Awaiting>,
    last_correlation_id: Option<i32>,
    /// The client nonce of a SCRAM exchange, to build a server-first
    /// message the client accepts.
    scram_nonce: Option<String>,
}

/// What the oracle knows of one batch.
#[derive(Debug)]
struct BatchInfo {
    topic: &'static str,
    partition: i32,
    records: u32,
    outcome: Option<bool>,
}

/// Which SASL mechanism (if any) the configuration uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sasl {
    None,
    Plain,
    Scram,
}

struct Harness<'a> {
    input: Input<'a>,
    producer: Producer,
    now: Instant,
    sasl: Sasl,
    buffer_memory: usize,
    conns: BTreeMap<ConnId, NetConn>,
    /// Connections the producer asked for that are not answered yet.
    pending_connects: VecDeque<ConnId>,
    /// Connections the producer is done with, for stale-id calls.
    dead: Vec<ConnId>,
    last_conn: Option<ConnId>,
    batches: BTreeMap<BatchId, BatchInfo>,
    /// Flushes without `FlushComplete` yet, with the highest batch id that
    /// existed when each was asked for.
    flushes: VecDeque<(FlushId, Option<BatchId>)>,
    next_offsets: BTreeMap<(String, i32), i64>,
    closed: bool,
    fatal: bool,
    /// `close` was called.
    closing: bool,
    /// When the runtime's timer fires: `poll_timeout()` after the last drain.
    timer: Option<Instant>,
    trace: bool,
    summary: Summary,
}

/// The fuzz oracle: runs the script in `data` and panics when the producer
/// breaks one of the invariants in the module docs. `start` is any instant
/// (the caller's clock: the core reads none); only differences matter.
pub fn producer_core(data: &[u8], start: Instant) {
    run_script(data, start, false);
}

/// What a script run came to, for the oracle's own tests.
#[derive(Debug, Default)]
#[cfg_attr(not(test), allow(dead_code))]
struct Summary {
    delivered: usize,
    failed: usize,
    events: usize,
}

/// Runs a script; `trace` prints each operation and event to stderr.
fn run_script(data: &[u8], start: Instant, trace: bool) -> Summary {
    let mut input = Input {
        u: Unstructured::new(data),
    };
    let flags = input.u8();
    let sizes = input.u8();
    let idempotent = flags & 1 == 1;
    let acks = if idempotent {
        "all"
    } else {
        ["0", "1", "all", "1"][usize::from(flags >> 1) & 3]
    };
    let linger = if flags & 8 != 0 { "5" } else { "0" };
    let compression = [
        "none", "gzip", "lz4", "snappy", "zstd", "none", "none", "none",
    ][usize::from(flags >> 4) & 7];
    let sasl = match (flags >> 7, sizes & 3) {
        (1, 0 | 1) => Sasl::Plain,
        (1, 2) => Sasl::Scram,
        _ => Sasl::None,
    };
    let max_in_flight = if sizes & 4 != 0 { "1" } else { "5" };
    let buffer_memory = BUFFER_MEMORIES[usize::from(sizes >> 3) & 3];
    let batch_size = BATCH_SIZES[usize::from(sizes >> 5) & 3];
    let max_request = MAX_REQUEST_SIZES[usize::from(sizes >> 6) & 3];
    let retries = if sizes & 0x10 != 0 { "2" } else { "5" };

    let mut config = ProducerConfig::default();
    let mut props = vec![
        ("bootstrap.servers", "b:9092".to_owned()),
        ("client.id", "fuzz".to_owned()),
        ("enable.idempotence", idempotent.to_string()),
        ("acks", acks.to_owned()),
        ("linger.ms", linger.to_owned()),
        ("compression.type", compression.to_owned()),
        (
            "max.in.flight.requests.per.connection",
            max_in_flight.to_owned(),
        ),
        ("retries", retries.to_owned()),
        ("buffer.memory", buffer_memory.to_string()),
        ("batch.size", batch_size.to_string()),
        ("max.request.size", max_request.to_string()),
        ("max.block.ms", "500".to_owned()),
        ("request.timeout.ms", "1000".to_owned()),
        ("delivery.timeout.ms", "3000".to_owned()),
        ("retry.backoff.ms", "10".to_owned()),
        ("retry.backoff.max.ms", "100".to_owned()),
        ("reconnect.backoff.ms", "10".to_owned()),
        ("reconnect.backoff.max.ms", "200".to_owned()),
        ("socket.connection.setup.timeout.ms", "1000".to_owned()),
        ("metadata.max.age.ms", "2000".to_owned()),
    ];
    match sasl {
        Sasl::None => {}
        Sasl::Plain | Sasl::Scram => {
            let mechanism = if sasl == Sasl::Plain {
                "PLAIN"
            } else {
                "SCRAM-SHA-256"
            };
            props.push(("security.protocol", "SASL_PLAINTEXT".to_owned()));
            props.push(("sasl.mechanism", mechanism.to_owned()));
            props.push(("sasl.username", "user".to_owned()));
            props.push(("sasl.password", "secret".to_owned()));
        }
    }
    for (key, value) in &props {
        config
            .set(key, value)
            .unwrap_or_else(|e| panic!("oracle config {key}={value}: {e}"));
    }
    let mut producer = Producer::new(config, start, 1_700_000_000_000, u64::from(flags) << 8 | 7)
        .expect("the oracle's configuration is valid");
    // The timer table never wakes the producer late.
    producer.set_timer_check(true);
    let mut h = Harness {
        input,
        producer,
        now: start,
        sasl,
        buffer_memory,
        conns: BTreeMap::new(),
        pending_connects: VecDeque::new(),
        dead: Vec::new(),
        last_conn: None,
        batches: BTreeMap::new(),
        flushes: VecDeque::new(),
        next_offsets: BTreeMap::new(),
        closed: false,
        fatal: false,
        closing: false,
        timer: None,
        trace,
        summary: Summary::default(),
    };
    h.settle();
    let mut ops = 0;
    while !h.input.is_empty() && ops < MAX_OPS {
        ops += 1;
        let op = h.input.op();
        if h.trace {
            eprintln!("{:?} {op:?}", h.now - start);
        }
        h.run(op);
        h.settle();
    }
    h.healthy_epilogue();
    h.finish()
}

impl Harness<'_> {
    fn run(&mut self, op: Op) {
        match op {
            Op::AdvanceSmall => {
                let ms = u64::from(self.input.u8());
                self.advance(Duration::from_millis(ms));
            }
            Op::AdvanceLarge => {
                let ms = u64::from(self.input.u8()) * 64;
                self.advance(Duration::from_millis(ms));
            }
            Op::SleepUntilTimeout => {
                if let Some(t) = self.producer.poll_timeout() {
                    self.now = self.now.max(t);
                }
                self.producer.handle_timeout(self.now);
            }
            Op::HandleTimeout => self.producer.handle_timeout(self.now),
            Op::Send => self.send(),
            Op::SendBurst => {
                for _ in 0..usize::from(self.input.u8() % 16) + 1 {
                    self.send();
                }
            }
            Op::Flush => {
                let id = self.producer.flush(self.now);
                let newest = self.batches.keys().next_back().copied();
                if !self.closed {
                    self.flushes.push_back((id, newest));
                }
            }
            Op::Close => {
                let timeout = match self.input.u8() % 4 {
                    0 => None,
                    1 => Some(Duration::ZERO),
                    _ => Some(Duration::from_millis(u64::from(self.input.u16()))),
                };
                self.closing = true;
                self.producer.close(self.now, timeout);
            }
            Op::PrefetchTopic => {
                let topic = self.input.pick(&TOPICS);
                let result = self.producer.prefetch_topic(topic, self.now);
                if self.closing && topic != TOPICS[3] {
                    assert_eq!(result, Err(SendError::Closed), "prefetch after close");
                }
                if topic == TOPICS[3] {
                    assert!(
                        matches!(result, Err(SendError::InvalidTopic { .. })),
                        "prefetch of an illegal name: {result:?}"
                    );
                }
            }
            Op::AnswerConnects => {
                let answers = self.input.u8();
                for i in 0..8 {
                    let Some(conn) = self.pending_connects.pop_front() else {
                        break;
                    };
                    if answers >> i & 1 == 0 {
                        self.conns.entry(conn).or_default().connected = true;
                        self.producer.handle_connected(conn, self.now);
                    } else {
                        self.conns.remove(&conn);
                        self.dead.push(conn);
                        self.producer.handle_connect_failed(conn, self.now);
                    }
                    // Answering one can close or open others: drain first.
                    self.settle();
                }
            }
            Op::AnswerOne => {
                if let Some(conn) = self.pick_awaiting() {
                    self.answer(conn, Delivery::Whole);
                }
            }
            Op::AnswerAll => {
                // A well-behaved broker: every request answered, first
                // choice of every value (the happy path), until quiet.
                for _ in 0..64 {
                    let Some(conn) = self.first_awaiting() else {
                        break;
                    };
                    self.answer(conn, Delivery::Happy);
                    self.settle();
                }
            }
            Op::AnswerSplit => {
                if let Some(conn) = self.pick_awaiting() {
                    let at = usize::from(self.input.u8());
                    self.answer(conn, Delivery::Split(at));
                }
            }
            Op::AnswerCorrupted => {
                if let Some(conn) = self.pick_awaiting() {
                    let at = usize::from(self.input.u16());
                    let xor = self.input.u8() | 1;
                    self.answer(conn, Delivery::Corrupt(at, xor));
                }
            }
            Op::GarbageFrame => {
                let Some(conn) = self.pick_connected() else {
                    return;
                };
                // A frame with the correlation id the producer expects and
                // a body of the fuzzer's bytes.
                let expected = self
                    .conns
                    .get_mut(&conn)
                    .and_then(|c| c.awaiting.pop_front())
                    .map_or(0, |a| a.correlation_id);
                let body = self.input.bytes(64);
                let mut frame = Vec::with_capacity(body.len() + 8);
                frame.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
                frame.extend_from_slice(&expected.to_be_bytes());
                frame.extend_from_slice(body);
                self.producer.handle_received(conn, &frame, self.now);
            }
            Op::RawBytes => {
                let Some(conn) = self.pick_connected() else {
                    return;
                };
                let bytes = self.input.bytes(64);
                self.producer.handle_received(conn, bytes, self.now);
            }
            Op::Disconnect => {
                let Some(conn) = self.pick_live() else { return };
                self.conns.remove(&conn);
                self.pending_connects.retain(|c| *c != conn);
                self.dead.push(conn);
                self.producer.handle_disconnected(conn, self.now);
            }
            Op::StaleConn => {
                // Calls about a connection the producer has given up on (or
                // never opened) must be ignored.
                let conn = match self.dead.len() {
                    0 => ConnId(u64::from(self.input.u8()) + 1_000),
                    n => self.dead[usize::from(self.input.u8()) % n],
                };
                if self.conns.contains_key(&conn) || self.pending_connects.contains(&conn) {
                    return;
                }
                match self.input.u8() % 4 {
                    0 => self.producer.handle_connected(conn, self.now),
                    1 => self.producer.handle_connect_failed(conn, self.now),
                    2 => self.producer.handle_disconnected(conn, self.now),
                    _ => {
                        let bytes = self.input.bytes(16);
                        self.producer.handle_received(conn, bytes, self.now);
                    }
                }
            }
        }
    }

    fn send(&mut self) {
        let topic = match self.input.u8() {
            0..=99 => TOPICS[0],
            100..=179 => TOPICS[1],
            180..=249 => TOPICS[2],
            _ => TOPICS[3],
        };
        let shape = self.input.u8();
        let key = (shape & 1 != 0).then(|| self.input.bytes(16));
        let value_len = match shape >> 1 & 3 {
            0 => None,
            1 => Some(usize::from(self.input.u8())),
            2 => Some(usize::from(self.input.u8()) * 8),
            _ => Some(usize::from(self.input.u16()) * 16),
        };
        let value = value_len.map(|n| vec![shape; n]);
        let partition = (shape & 8 != 0).then(|| i32::from(self.input.u8() % 8) - 1);
        let timestamp = (shape & 16 != 0).then(|| i64::from(self.input.u16()));
        let header = [Header {
            key: "h",
            value: Some(b"v"),
        }];
        let headers: &[Header<'_>] = if shape & 32 != 0 { &header } else { &[] };
        let record = Record {
            topic,
            partition,
            key,
            value: value.as_deref(),
            headers,
            timestamp,
        };
        let result = self.producer.send(&record, self.now);
        match result {
            Ok(token) => self.on_token(topic, partition, timestamp, token),
            Err(SendError::BufferFull {
                needed,
                used,
                limit,
            }) => {
                assert_eq!(used, self.producer.buffer_memory_used());
                assert_eq!(limit, self.buffer_memory);
                assert!(used + needed > limit, "BufferFull with room to spare");
            }
            Err(SendError::InvalidTopic { .. }) => {
                assert_eq!(topic, TOPICS[3], "a legal topic name refused");
            }
            Err(SendError::Closed) => {
                assert!(self.closing, "send refused with Closed before any close");
            }
            Err(e) => {
                assert!(
                    !self.closing,
                    "after close, send must say Closed, not {e:?}"
                );
                // A fatal error and the sizes are checked before the name.
                if !matches!(e, SendError::RecordTooLarge { .. } | SendError::Fatal(_)) {
                    assert_ne!(topic, TOPICS[3], "an illegal topic name accepted: {e:?}");
                }
            }
        }
        assert!(
            self.producer.buffer_memory_used() <= self.buffer_memory,
            "buffer memory {} over buffer.memory {}",
            self.producer.buffer_memory_used(),
            self.buffer_memory
        );
    }

    /// Checks a token `send` returned and counts the record in its batch.
    fn on_token(
        &mut self,
        topic: &'static str,
        partition: Option<i32>,
        timestamp: Option<i64>,
        token: RecordToken,
    ) {
        assert!(!self.closing, "send took a record after close");
        if let Some(p) = partition {
            assert_eq!(token.partition, p, "explicit partition not kept");
        }
        if let Some(t) = timestamp {
            assert_eq!(token.timestamp, t, "explicit timestamp not kept");
        }
        let count = self.producer.partition_count(topic);
        assert!(
            count.is_some_and(|n| (0..n).contains(&token.partition)),
            "token partition {} outside the topic's {count:?}",
            token.partition
        );
        let newest = self.batches.keys().next_back().copied();
        match self.batches.get_mut(&token.batch) {
            Some(b) => {
                assert!(
                    b.outcome.is_none(),
                    "record appended to batch {:?}, which already has its outcome",
                    token.batch
                );
                assert_eq!(
                    (b.topic, b.partition),
                    (topic, token.partition),
                    "one batch, two partitions"
                );
                assert_eq!(token.index, b.records, "record index out of order");
                b.records += 1;
            }
            None => {
                assert!(
                    newest.is_none_or(|n| token.batch > n),
                    "batch id {:?} reused or out of order",
                    token.batch
                );
                assert_eq!(token.index, 0, "first record of a batch not at index 0");
                self.batches.insert(
                    token.batch,
                    BatchInfo {
                        topic,
                        partition: token.partition,
                        records: 1,
                        outcome: None,
                    },
                );
            }
        }
    }

    /// Live connections (connected or not).
    fn pick_live(&mut self) -> Option<ConnId> {
        let live: Vec<ConnId> = self
            .conns
            .keys()
            .copied()
            .chain(self.pending_connects.iter().copied())
            .collect();
        if live.is_empty() {
            return None;
        }
        Some(live[usize::from(self.input.u8()) % live.len()])
    }

    fn pick_connected(&mut self) -> Option<ConnId> {
        let live: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.connected)
            .map(|(id, _)| *id)
            .collect();
        if live.is_empty() {
            return None;
        }
        Some(live[usize::from(self.input.u8()) % live.len()])
    }

    fn pick_awaiting(&mut self) -> Option<ConnId> {
        let live: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.awaiting.is_empty())
            .map(|(id, _)| *id)
            .collect();
        if live.is_empty() {
            return None;
        }
        Some(live[usize::from(self.input.u8()) % live.len()])
    }

    fn first_awaiting(&self) -> Option<ConnId> {
        self.conns
            .iter()
            .find(|(_, c)| !c.awaiting.is_empty())
            .map(|(id, _)| *id)
    }

    /// Answers the oldest request on `conn` with a well-formed response.
    fn answer(&mut self, conn: ConnId, delivery: Delivery) {
        let Some(request) = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.awaiting.pop_front())
        else {
            return;
        };
        let happy = match delivery {
            Delivery::Happy => true,
            Delivery::Whole => self.input.one_in(4),
            Delivery::Split(_) | Delivery::Corrupt(..) => false,
        };
        let bytes = self.response(conn, &request, happy);
        let Some(mut bytes) = bytes else { return };
        match delivery {
            Delivery::Whole | Delivery::Happy => {
                self.producer.handle_received(conn, &bytes, self.now);
            }
            Delivery::Split(at) => {
                let at = at.min(bytes.len());
                self.producer.handle_received(conn, &bytes[..at], self.now);
                self.settle();
                self.producer.handle_received(conn, &bytes[at..], self.now);
            }
            Delivery::Corrupt(at, xor) => {
                if !bytes.is_empty() {
                    let i = at % bytes.len();
                    bytes[i] ^= xor;
                }
                self.producer.handle_received(conn, &bytes, self.now);
            }
        }
    }

    /// A response frame to `request`; `happy` picks the first (successful)
    /// choice everywhere rather than reading choices from the input.
    fn response(&mut self, conn: ConnId, request: &Awaiting, happy: bool) -> Option<Vec<u8>> {
        let mut out = BytesMut::new();
        let cid = request.correlation_id;
        let version = request.version;
        let encoded = match &request.body {
            AnyRequest::ApiVersions(_) => {
                let (body, v) = self.api_versions_response(version, happy);
                frame::encode_response::<ApiVersionsRequest>(&mut out, cid, v, &body)
            }
            AnyRequest::Metadata(req) => {
                let body = self.metadata_response(req, happy);
                frame::encode_response::<MetadataRequest>(&mut out, cid, version, &body)
            }
            AnyRequest::InitProducerId(_) => {
                let body = InitProducerIdResponse {
                    error_code: if happy {
                        0
                    } else {
                        self.input.pick(&PRODUCER_ID_ERRORS)
                    },
                    producer_id: if happy {
                        1_000
                    } else {
                        i64::from(self.input.u8()) - 1
                    },
                    producer_epoch: if happy {
                        0
                    } else {
                        i16::from(self.input.u8()) - 1
                    },
                    ..Default::default()
                };
                frame::encode_response::<InitProducerIdRequest>(&mut out, cid, version, &body)
            }
            AnyRequest::Produce(req) => {
                let body = self.produce_response(req, version, happy);
                frame::encode_response::<ProduceRequest>(&mut out, cid, version, &body)
            }
            AnyRequest::SaslHandshake(_) => {
                let ok = happy || !self.input.one_in(8);
                let mechanism = match self.sasl {
                    Sasl::Scram => "SCRAM-SHA-256",
                    _ => "PLAIN",
                };
                let body = SaslHandshakeResponse {
                    error_code: if ok { 0 } else { 33 }, // UNSUPPORTED_SASL_MECHANISM
                    mechanisms: vec![mechanism.into()],
                    ..Default::default()
                };
                frame::encode_response::<SaslHandshakeRequest>(&mut out, cid, version, &body)
            }
            AnyRequest::SaslAuthenticate(_) => {
                let body = self.sasl_authenticate_response(conn, happy);
                frame::encode_response::<SaslAuthenticateRequest>(&mut out, cid, version, &body)
            }
            _ => return None,
        };
        encoded.expect("the oracle's responses encode");
        Some(out.to_vec())
    }

    fn api_versions_response(&mut self, version: i16, happy: bool) -> (ApiVersionsResponse, i16) {
        let choice = if happy { 0 } else { self.input.u8() };
        // KIP-511: a broker that does not know the client's version answers
        // UNSUPPORTED_VERSION with a v0 body listing its range.
        if choice & 0xE0 == 0xE0 && version > 0 {
            let body = ApiVersionsResponse {
                error_code: 35,
                api_keys: vec![ApiVersion {
                    api_key: ApiKey::ApiVersions.0,
                    min_version: 0,
                    max_version: i16::from(choice & 3),
                    ..Default::default()
                }],
                ..Default::default()
            };
            return (body, 0);
        }
        // Each API's range, narrowed by the fuzzer: old brokers, missing
        // APIs, the producer's fallbacks.
        let mut api_keys = Vec::new();
        for (key, min, max) in [
            (ApiKey::Produce.0, 3, 13),
            (ApiKey::Metadata.0, 0, 13),
            (ApiKey::ApiVersions.0, 0, 4),
            (ApiKey::InitProducerId.0, 0, 5),
            (ApiKey::SaslHandshake.0, 0, 1),
            (ApiKey::SaslAuthenticate.0, 0, 2),
            (ApiKey::Fetch.0, 0, 16),
        ] {
            let narrow = if happy || choice & 1 == 0 {
                0
            } else {
                self.input.u8()
            };
            if narrow == 0xFF {
                continue; // missing API
            }
            let max_version = if narrow & 0x80 != 0 {
                (max - i16::from(narrow & 0x0F)).max(min)
            } else {
                max
            };
            let min_version = if narrow & 0x40 != 0 { max_version } else { min };
            api_keys.push(ApiVersion {
                api_key: key,
                min_version,
                max_version,
                ..Default::default()
            });
        }
        let body = ApiVersionsResponse {
            error_code: if choice & 0xE0 == 0xC0 { 1 } else { 0 },
            api_keys,
            ..Default::default()
        };
        (body, version)
    }

    fn metadata_response(&mut self, req: &MetadataRequest, happy: bool) -> MetadataResponse {
        let mut brokers = Vec::new();
        let broker_set = if happy { 0b111 } else { self.input.u8() | 1 };
        for (i, node) in [1, 2, 3].into_iter().enumerate() {
            if broker_set >> i & 1 == 1 {
                let port = if broker_set & 0x80 != 0 && node == 3 {
                    70_000 // out of range: must be ignored
                } else {
                    9092
                };
                brokers.push(MetadataResponseBroker {
                    node_id: node,
                    host: format!("b{node}"),
                    port,
                    rack: None,
                    ..Default::default()
                });
            }
        }
        let mut topics = Vec::new();
        for t in req.topics.iter().flatten() {
            let Some(name) = t.name.clone() else { continue };
            if !happy && self.input.one_in(16) {
                continue; // left out
            }
            let error_code = if happy {
                0
            } else {
                self.input.pick(&TOPIC_ERRORS)
            };
            // A healthy broker describes every partition the fuzzer ever
            // announced (at most 4): Kafka never takes partitions away.
            let count = if happy { 4 } else { self.input.u8() % 5 };
            let shape = if happy { 0 } else { self.input.u8() };
            let mut partitions = Vec::new();
            for i in 0..i32::from(count) {
                let leader_id = if happy {
                    1 + i % 3
                } else {
                    self.input.pick(&NODES)
                };
                let partition_index = match shape & 3 {
                    3 if i > 0 => i32::from(self.input.u8() % 6) - 1, // duplicated or out of range
                    _ => i,
                };
                partitions.push(MetadataResponsePartition {
                    error_code: if shape & 4 != 0 && i == 0 { 5 } else { 0 },
                    partition_index,
                    leader_id,
                    leader_epoch: if shape & 8 != 0 {
                        i32::from(self.input.u8() % 4)
                    } else {
                        -1
                    },
                    replica_nodes: vec![leader_id],
                    isr_nodes: vec![leader_id],
                    offline_replicas: Vec::new(),
                    ..Default::default()
                });
            }
            topics.push(MetadataResponseTopic {
                error_code,
                name: Some(name),
                partitions,
                ..Default::default()
            });
        }
        if !happy && self.input.one_in(16) {
            // A topic nobody asked for.
            topics.push(MetadataResponseTopic {
                name: Some("delta".into()),
                partitions: vec![MetadataResponsePartition {
                    leader_id: 1,
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
        MetadataResponse {
            brokers,
            cluster_id: Some("fuzz".into()),
            controller_id: 1,
            topics,
            ..Default::default()
        }
    }

    fn produce_response(
        &mut self,
        req: &ProduceRequest,
        version: i16,
        happy: bool,
    ) -> ProduceResponse {
        let mut responses = Vec::new();
        let mut endpoints = Vec::new();
        for t in &req.topic_data {
            let mut partition_responses = Vec::new();
            for p in &t.partition_data {
                let records = p.records.as_ref().map_or(0, batch_records);
                let shape = if happy { 0 } else { self.input.u8() };
                if shape == 0xFF {
                    continue; // the broker leaves the partition out
                }
                let error_code = if happy {
                    0
                } else {
                    self.input.pick(&PRODUCE_ERRORS)
                };
                let next = self
                    .next_offsets
                    .entry((t.name.clone(), p.index))
                    .or_insert(0);
                let base_offset = if error_code == 0 {
                    let o = *next;
                    *next += i64::from(records);
                    o
                } else {
                    -1
                };
                let mut current_leader = LeaderIdAndEpoch::default();
                if error_code == 6 && version >= 10 && shape & 1 != 0 {
                    let leader = self.input.pick(&NODES);
                    current_leader = LeaderIdAndEpoch {
                        leader_id: leader,
                        leader_epoch: i32::from(self.input.u8() % 4),
                        ..Default::default()
                    };
                    if shape & 2 != 0 {
                        endpoints.push(NodeEndpoint {
                            node_id: leader,
                            host: format!("b{leader}"),
                            port: if shape & 4 != 0 { -5 } else { 9092 },
                            rack: None,
                            ..Default::default()
                        });
                    }
                }
                partition_responses.push(PartitionProduceResponse {
                    index: if shape & 0xF0 == 0xF0 {
                        p.index + 1 // an answer about another partition
                    } else {
                        p.index
                    },
                    error_code,
                    base_offset,
                    log_append_time_ms: if shape & 8 != 0 {
                        1_700_000_000_000
                    } else {
                        -1
                    },
                    current_leader,
                    ..Default::default()
                });
            }
            responses.push(TopicProduceResponse {
                name: t.name.clone(),
                partition_responses,
                ..Default::default()
            });
        }
        ProduceResponse {
            responses,
            node_endpoints: endpoints,
            ..Default::default()
        }
    }

    fn sasl_authenticate_response(
        &mut self,
        conn: ConnId,
        happy: bool,
    ) -> SaslAuthenticateResponse {
        let choice = if happy { 0 } else { self.input.u8() };
        if choice & 0xF0 == 0xF0 {
            return SaslAuthenticateResponse {
                error_code: 58, // SASL_AUTHENTICATION_FAILED
                error_message: (choice & 1 == 0).then(|| "no".into()),
                ..Default::default()
            };
        }
        let nonce = self.conns.get_mut(&conn).and_then(|c| c.scram_nonce.take());
        let auth_bytes = match (self.sasl, nonce) {
            // A server-first message the client accepts (its nonce, a salt,
            // the lowest iteration count allowed), or the fuzzer's bytes.
            (Sasl::Scram, Some(nonce)) if choice & 0x80 == 0 => {
                let salt = ["c2FsdA==", "AAAA", "", "!!"][usize::from(choice >> 1) & 3];
                let suffix = if choice & 1 == 0 { "srv" } else { "" };
                format!("r={nonce}{suffix},s={salt},i=4096").into_bytes()
            }
            (Sasl::Scram, _) => self.input.bytes(48).to_vec(),
            _ => Vec::new(),
        };
        SaslAuthenticateResponse {
            auth_bytes: Bytes::from(auth_bytes),
            ..Default::default()
        }
    }

    /// Drains every output until the producer is quiet, checking each;
    /// returns whether anything came out.
    fn drain(&mut self) -> bool {
        let mut any = false;
        loop {
            let mut progress = false;
            while let Some(c) = self.producer.poll_connect() {
                progress = true;
                assert!(!self.closed, "connect asked for after Closed");
                assert!(
                    self.last_conn.is_none_or(|l| c.conn > l),
                    "connection id {:?} reused",
                    c.conn
                );
                self.last_conn = Some(c.conn);
                self.pending_connects.push_back(c.conn);
            }
            while let Some(t) = self.producer.poll_transmit(self.now) {
                progress = true;
                self.on_transmit(t.conn, &t.data);
            }
            while let Some(conn) = self.producer.poll_close() {
                progress = true;
                self.conns.remove(&conn);
                self.pending_connects.retain(|c| *c != conn);
                self.dead.push(conn);
            }
            while let Some(e) = self.producer.poll_event() {
                progress = true;
                self.on_event(e);
            }
            if !progress {
                return any;
            }
            any = true;
        }
    }

    fn on_transmit(&mut self, conn: ConnId, data: &[u8]) {
        let c = self
            .conns
            .get_mut(&conn)
            .unwrap_or_else(|| panic!("bytes for {conn:?}, which is not open"));
        assert!(c.connected, "bytes for {conn:?} before it connected");
        c.partial.extend_from_slice(data);
        while let Some(size) = c.partial.get(..4) {
            let size = i32::from_be_bytes([size[0], size[1], size[2], size[3]]);
            let size = usize::try_from(size).expect("negative request frame size");
            if c.partial.len() < 4 + size {
                break;
            }
            let frame = Bytes::copy_from_slice(&c.partial[4..4 + size]);
            c.partial.drain(..4 + size);
            let (header, body) = decode_request(frame)
                .unwrap_or_else(|e| panic!("the producer sent a malformed request: {e}"));
            assert!(
                c.last_correlation_id
                    .is_none_or(|l| header.correlation_id == (l + 1) & i32::MAX),
                "correlation ids out of order"
            );
            c.last_correlation_id = Some(header.correlation_id);
            let mut expects_answer = true;
            match &body {
                AnyRequest::Produce(p) => {
                    expects_answer = p.acks != 0;
                    for t in &p.topic_data {
                        for d in &t.partition_data {
                            let records = d.records.clone().expect("a produce without records");
                            let batch = RecordBatch::parse(records)
                                .unwrap_or_else(|e| panic!("the producer sent a bad batch: {e}"));
                            batch.verify_crc().expect("batch CRC");
                            assert!(batch.records_count() > 0, "an empty batch sent");
                        }
                    }
                }
                AnyRequest::SaslAuthenticate(a) if self.sasl == Sasl::Scram => {
                    // client-first-message: "n,,n=user,r=<nonce>".
                    let text = String::from_utf8_lossy(&a.auth_bytes);
                    c.scram_nonce = text.split(",r=").nth(1).map(str::to_owned);
                }
                _ => {}
            }
            if expects_answer {
                c.awaiting.push_back(Awaiting {
                    correlation_id: header.correlation_id,
                    version: header.request_api_version,
                    body,
                });
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        assert!(!self.closed, "event {event:?} after Closed");
        if self.trace {
            eprintln!("  {event:?}");
        }
        self.summary.events += 1;
        match event {
            Event::Delivered {
                batch,
                topic,
                partition,
                record_count,
                ..
            } => self.outcome(batch, &topic, partition, record_count, true),
            Event::Failed {
                batch,
                topic,
                partition,
                record_count,
                ..
            } => self.outcome(batch, &topic, partition, record_count, false),
            Event::FlushComplete(id) => {
                let Some((expected, newest)) = self.flushes.pop_front() else {
                    panic!("FlushComplete({id:?}) for no flush");
                };
                assert_eq!(id, expected, "flushes completed out of order");
                if let Some(newest) = newest {
                    for (b, info) in self.batches.range(..=newest) {
                        assert!(
                            info.outcome.is_some(),
                            "FlushComplete({id:?}) while batch {b:?} has no outcome"
                        );
                    }
                }
            }
            Event::Fatal(_) => self.fatal = true,
            Event::Closed => {
                assert!(
                    self.flushes.is_empty(),
                    "Closed while flushes {:?} never completed",
                    self.flushes
                );
                assert_eq!(
                    self.batches
                        .values()
                        .filter(|b| b.outcome.is_none())
                        .count(),
                    0,
                    "Closed while batches have no outcome"
                );
                self.closed = true;
            }
            Event::MemoryAvailable | Event::TopicReady { .. } | Event::TopicUnavailable { .. } => {}
            _ => {}
        }
    }

    fn outcome(&mut self, batch: BatchId, topic: &str, partition: i32, records: u32, ok: bool) {
        let info = self
            .batches
            .get_mut(&batch)
            .unwrap_or_else(|| panic!("outcome for unknown batch {batch:?}"));
        assert!(
            info.outcome.is_none(),
            "batch {batch:?} got a second outcome (delivered: {ok})"
        );
        info.outcome = Some(ok);
        if ok {
            self.summary.delivered += 1;
        } else {
            self.summary.failed += 1;
        }
        assert_eq!(
            (info.topic, info.partition, info.records),
            (topic, partition, records),
            "outcome of {batch:?} disagrees with its records"
        );
    }

    /// Time passes with no input; the runtime's timer, armed at the last
    /// `poll_timeout()`, fires (late) if it was due.
    fn advance(&mut self, by: Duration) {
        self.now += by;
        if self.timer.is_some_and(|t| t <= self.now) {
            self.producer.handle_timeout(self.now);
        }
    }

    /// Drains, then plays the runtime's timer: while the producer asks to be
    /// woken now, wake it; it must get somewhere. Arms the timer.
    fn settle(&mut self) {
        self.wake_until_quiet();
        self.timer = self.producer.poll_timeout();
    }

    fn wake_until_quiet(&mut self) {
        self.drain();
        if self.closed {
            assert_eq!(
                self.producer.poll_timeout(),
                None,
                "a wake-up scheduled after Closed"
            );
            return;
        }
        let mut idle = 0;
        for _ in 0..64 {
            match self.producer.poll_timeout() {
                Some(t) if t <= self.now => {}
                _ => return,
            }
            self.producer.handle_timeout(self.now);
            if self.drain() {
                idle = 0;
            } else {
                idle += 1;
                assert!(
                    idle <= MAX_IDLE_WAKEUPS,
                    "busy loop: poll_timeout() keeps returning {:?} (now) and \
                     handle_timeout does nothing (closed: {})\n{}",
                    self.producer
                        .poll_timeout()
                        .map(|t| t.saturating_duration_since(self.now)),
                    self.closed,
                    self.producer.debug_state()
                );
            }
        }
        panic!(
            "busy loop: 64 wake-ups at one instant, each with output\n{}",
            self.producer.debug_state()
        );
    }

    /// Liveness: whatever the script did, once the network and the brokers
    /// behave (every connection succeeds, every request gets a successful
    /// answer, time moves on), a new record must be delivered. Batches left
    /// over from the script may still time out first, so a new record is
    /// sent each time the last one failed.
    fn healthy_epilogue(&mut self) {
        if self.closing || self.closed || self.fatal {
            return;
        }
        let give_up = self.now + HEALTHY_DEADLINE;
        let mut current: Option<BatchId> = None;
        while self.now < give_up {
            if self.fatal {
                return; // a late answer to the script's requests
            }
            let outcome = current
                .and_then(|b| self.batches.get(&b))
                .and_then(|b| b.outcome);
            if outcome == Some(true) {
                return;
            }
            if current.is_none() || outcome == Some(false) {
                let record = Record {
                    topic: TOPICS[0],
                    value: Some(b"alive"),
                    ..Default::default()
                };
                // Refusals (metadata pending, buffer full) are tried again.
                current = match self.producer.send(&record, self.now) {
                    Ok(token) => {
                        self.on_token(TOPICS[0], None, None, token);
                        Some(token.batch)
                    }
                    Err(_) => None,
                };
                self.settle();
            }
            while let Some(conn) = self.pending_connects.pop_front() {
                self.conns.entry(conn).or_default().connected = true;
                self.producer.handle_connected(conn, self.now);
                self.settle();
            }
            for _ in 0..64 {
                let Some(conn) = self.first_awaiting() else {
                    break;
                };
                self.answer(conn, Delivery::Happy);
                self.settle();
            }
            let step = self.now + Duration::from_millis(50);
            self.now = self.timer.map_or(step, |t| t.clamp(self.now, step));
            self.producer.handle_timeout(self.now);
            self.settle();
        }
        panic!(
            "liveness: no record delivered in {HEALTHY_DEADLINE:?} of a healthy cluster \
             (last batch {current:?})\n{}",
            self.producer.debug_state()
        );
    }

    fn finish(mut self) -> Summary {
        self.producer.close(self.now, Some(Duration::ZERO));
        self.settle();
        self.now += Duration::from_secs(3_600);
        self.producer.handle_timeout(self.now);
        self.settle();
        assert!(self.closed, "no Closed after close(now, Some(0))");
        for (id, b) in &self.batches {
            assert!(b.outcome.is_some(), "batch {id:?} never got an outcome");
        }
        assert_eq!(self.producer.outstanding_batches(), 0);
        assert_eq!(
            self.producer.buffer_memory_used(),
            0,
            "buffer memory not returned after Closed\n{}",
            self.producer.debug_state()
        );
        // Late calls after Closed change nothing.
        self.producer.handle_timeout(self.now);
        if let Some(conn) = self.last_conn {
            self.producer.handle_disconnected(conn, self.now);
        }
        self.drain();
        self.summary
    }
}

/// How an answer reaches the producer.
#[derive(Debug, Clone, Copy)]
enum Delivery {
    /// In one read, choices from the input.
    Whole,
    /// In one read, every choice the successful one.
    Happy,
    /// In two reads, split at this offset.
    Split(usize),
    /// With the byte at this offset (modulo the length) xored.
    Corrupt(usize, u8),
}

/// The record count of a record batch, 0 if it does not parse.
fn batch_records(records: &Bytes) -> u32 {
    RecordBatch::parse(records.clone())
        .map(|b| u32::try_from(b.records_count()).unwrap_or(0))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Instant {
        crate::testing::t0()
    }

    /// Bytes that `Op`'s `Arbitrary` reads as `op`.
    fn op(op: Op) -> Vec<u8> {
        (0..=255u8)
            .map(|b| vec![b; 4])
            .find(|bytes| Op::arbitrary(&mut Unstructured::new(bytes)).ok() == Some(op))
            .unwrap_or_else(|| panic!("no encoding of {op:?}"))
    }

    /// A script that gets records delivered: send (metadata pending),
    /// connect, answer everything happily, send, sleep, answer, close.
    #[test]
    fn a_happy_script_delivers() {
        for flags in [0u8, 1, 0x81] {
            let parts: Vec<Vec<u8>> = vec![
                // config: not idempotent / idempotent / SASL PLAIN
                vec![flags, 0],
                // Send alpha, no key, no value: metadata pending
                op(Op::Send),
                vec![0, 0],
                op(Op::AnswerConnects),
                vec![0],
                op(Op::AnswerAll),
                // again, for the leaders' connections
                op(Op::AnswerConnects),
                vec![0],
                op(Op::AnswerAll),
                // Send alpha, a 10-byte value
                op(Op::Send),
                vec![0, 2, 10],
                // connect, sleep, answer
                op(Op::AnswerConnects),
                vec![0],
                op(Op::AnswerAll),
                op(Op::SleepUntilTimeout),
                op(Op::AnswerConnects),
                vec![0],
                op(Op::AnswerAll),
                op(Op::SleepUntilTimeout),
                op(Op::AnswerAll),
            ];
            let summary = run_script(&parts.concat(), start(), false);
            // The script's record, and the epilogue's on a healthy cluster.
            assert_eq!((summary.delivered, summary.failed), (2, 0), "{summary:?}");
        }
    }

    #[test]
    fn every_short_input_is_a_valid_script() {
        for a in 0..=255u8 {
            producer_core(&[a], start());
            producer_core(&[a, a, a, 13, 0, 17, a, 17], start());
            producer_core(&[a; 40], start());
        }
    }
}
