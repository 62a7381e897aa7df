//! The sender: drains ready batches into Produce requests per leader, and
//! settles each batch from the answer (delivered, retried in order, or
//! failed); plus the producer id requests of idempotence.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use kafka_proto::ErrorCode;
use kafka_proto::compression::Compression;
use kafka_proto::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafka_proto::messages::produce::{
    PartitionProduceData, PartitionProduceResponse, ProduceRequest, ProduceResponse,
    TopicProduceData,
};
use kafka_proto::record::{BatchOptions, restamp};

use crate::accumulator::{Batch, PartitionQueue, Records, Stamp, add_sequence};
use crate::connection::{ConnError, Purpose};
use crate::error::{DeliveryErrorKind, FatalError};
use crate::event::ConnId;
use crate::hash::Map;
use crate::idempotence::{BatchAnswer, IdAnswer, Verdict, next_in_line};
use crate::lifecycle::{BatchLedger, Outcome};
use crate::metadata::{BrokerAddr, Leader};
use crate::producer::{PRODUCE_VERSION_CAP, ProduceInFlight, Producer};
use crate::rng::backoff;
use crate::seal::SealJob;

/// Kafka keeps the last five batches per producer and partition to
/// recognise retries, so at most five may be in flight per partition.
const MAX_IN_FLIGHT_PER_PARTITION_IDEMPOTENT: u32 = 5;

/// Errors that mean our metadata is stale (Java's `InvalidMetadataException`s).
fn means_stale_metadata(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NOT_LEADER_OR_FOLLOWER
            | ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            | ErrorCode::LEADER_NOT_AVAILABLE
            | ErrorCode::KAFKA_STORAGE_ERROR
            | ErrorCode::FENCED_LEADER_EPOCH
            | ErrorCode::UNKNOWN_LEADER_EPOCH
            | ErrorCode::UNKNOWN_TOPIC_ID
            | ErrorCode::INCONSISTENT_TOPIC_ID
    )
}

/// Produce errors that Kafka answers only when it refused the batch
/// before appending it: request checks (acks, version, authorization, the
/// topic name), batch checks (size, CRC, records, timestamps, compression;
/// `LogValidator`) and the idempotent producer's epoch and sequence checks
/// (`ProducerAppendInfo`), which all run before `UnifiedLog.append`.
///
/// Everything else may follow an append: an acks=all request that waited
/// for replication ends in REQUEST_TIMED_OUT or
/// NOT_ENOUGH_REPLICAS_AFTER_APPEND, or in NOT_LEADER_OR_FOLLOWER,
/// KAFKA_STORAGE_ERROR or UNKNOWN_TOPIC_OR_PARTITION when the partition
/// moved or went offline meanwhile (`DelayedProduce`); UNKNOWN_SERVER_ERROR
/// and codes this client does not know can come from anywhere.
/// DUPLICATE_SEQUENCE_NUMBER (already written) is handled as a success
/// before this is asked.
pub(crate) fn refused_before_append(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::CORRUPT_MESSAGE
            | ErrorCode::MESSAGE_TOO_LARGE
            | ErrorCode::INVALID_TOPIC_EXCEPTION
            | ErrorCode::RECORD_LIST_TOO_LARGE
            | ErrorCode::NOT_ENOUGH_REPLICAS
            | ErrorCode::INVALID_REQUIRED_ACKS
            | ErrorCode::TOPIC_AUTHORIZATION_FAILED
            | ErrorCode::CLUSTER_AUTHORIZATION_FAILED
            | ErrorCode::INVALID_TIMESTAMP
            | ErrorCode::UNSUPPORTED_VERSION
            | ErrorCode::INVALID_REQUEST
            | ErrorCode::UNSUPPORTED_FOR_MESSAGE_FORMAT
            | ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
            | ErrorCode::INVALID_PRODUCER_EPOCH
            | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            | ErrorCode::UNKNOWN_PRODUCER_ID
            | ErrorCode::UNSUPPORTED_COMPRESSION_TYPE
            | ErrorCode::INVALID_RECORD
    )
}

/// A ready connection and the produce requests it can still take.
struct Room {
    node: i32,
    conn: ConnId,
    free: usize,
    /// Batches gathered for the request being built, and their size.
    batches: Vec<(Arc<str>, Batch)>,
    size: usize,
}

/// What sealing a batch for sending needs from the producer.
struct SealContext<'a> {
    idempotent: bool,
    transactional: bool,
    producer_id: i64,
    epoch: i16,
    ledger: &'a mut BatchLedger,
    events: &'a mut VecDeque<crate::Event>,
}

/// Seals a batch, or restamps it for a new producer epoch. Sequences are
/// assigned the first time a batch is sent under an epoch, in queue order.
fn seal(batch: &mut Batch, q: &mut PartitionQueue, cx: &mut SealContext<'_>) -> Result<(), String> {
    let stamp = cx.idempotent.then_some(Stamp {
        producer_id: cx.producer_id,
        epoch: cx.epoch,
        sequence: q.next_sequence,
    });
    if let Some(mut builder) = batch.take_builder(Records::Released) {
        let options = match stamp {
            Some(s) => BatchOptions {
                producer_id: s.producer_id,
                producer_epoch: s.epoch,
                base_sequence: s.sequence,
                transactional: cx.transactional,
                ..Default::default()
            },
            None => BatchOptions::default(),
        };
        let sealed = builder.seal_reusing(&options, cx.ledger.spare_buffer());
        cx.ledger.give_builder(builder);
        let sealed = sealed.map_err(|e| e.to_string())?;
        // From here the batch holds its wire bytes (trimmed, or
        // compressed); see `BatchLedger::sealed`.
        cx.ledger.sealed(&mut batch.memory, sealed.len(), cx.events);
        batch.records = Records::Sealed(sealed);
        batch.stamp = stamp;
        if stamp.is_some() {
            q.next_sequence = add_sequence(q.next_sequence, batch.record_count);
        }
        return Ok(());
    }
    let Some(new) = stamp else { return Ok(()) };
    let current = batch.stamp.map(|s| (s.producer_id, s.epoch));
    if current == Some((new.producer_id, new.epoch)) {
        return Ok(());
    }
    let bytes = match std::mem::replace(&mut batch.records, Records::Released) {
        Records::Sealed(bytes) => bytes,
        other => {
            batch.records = other;
            return Err("internal: batch without records".into());
        }
    };
    // A batch sealed by a job and not yet sent is ours alone: no copy.
    let mut buf = bytes
        .try_into_mut()
        .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
    restamp(&mut buf, new.producer_id, new.epoch, new.sequence).map_err(|e| e.to_string())?;
    batch.records = Records::Sealed(buf.freeze());
    batch.stamp = Some(new);
    q.next_sequence = add_sequence(q.next_sequence, batch.record_count);
    Ok(())
}

/// The sender's own state: the Produce requests in flight, the batches to
/// send without waiting for `linger.ms` (flush), where the next drain's
/// round over topics starts (fairness), and whether a drain is worth doing
/// (a batch filled up or opened, or a linger ran out). The drain itself
/// (`Producer::drain`) reads the accumulator and the connections.
#[derive(Debug, Default)]
pub(crate) struct Sender {
    requests: Map<u64, ProduceInFlight>,
    next_request_id: u64,
    /// Batches with ids below this go without waiting for linger.
    flush_mark: u64,
    rotation: usize,
    /// Something may have become sendable since the last drain.
    hint: bool,
    /// The earliest linger expiry of an open batch seen by the last drain.
    next_linger: Option<Instant>,
    /// Compression is the driver's ([`SealJob`]s, run by a sender or the
    /// driver), not the drain's.
    offload: bool,
    /// Jobs not yet taken.
    jobs: VecDeque<SealJob>,
    /// How long each broker has left ready data waiting (KIP-794's
    /// `partitioner.availability.timeout.ms`; tracked only when it is set).
    pub(crate) latency: crate::adaptive::NodeLatency,
}

impl Sender {
    /// The id of the next Produce request.
    pub(crate) fn new_request_id(&mut self) -> u64 {
        let id = self.next_request_id;
        self.next_request_id += 1;
        id
    }

    /// Request `id` is on the wire.
    pub(crate) fn in_flight(&mut self, id: u64, request: ProduceInFlight) {
        self.requests.insert(id, request);
    }

    /// Request `id`, answered or lost.
    pub(crate) fn take(&mut self, id: u64) -> Option<ProduceInFlight> {
        self.requests.remove(&id)
    }

    /// Every request in flight, oldest first (the producer closes).
    pub(crate) fn take_all(&mut self) -> Vec<(u64, ProduceInFlight)> {
        let mut all: Vec<(u64, ProduceInFlight)> = self.requests.drain().collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        all
    }

    pub(crate) fn has_requests(&self) -> bool {
        !self.requests.is_empty()
    }

    pub(crate) fn request_count(&self) -> usize {
        self.requests.len()
    }

    pub(crate) fn requests(&self) -> impl Iterator<Item = (&u64, &ProduceInFlight)> {
        self.requests.iter()
    }

    pub(crate) fn requests_mut(&mut self) -> impl Iterator<Item = &mut ProduceInFlight> {
        self.requests.values_mut()
    }

    /// Batches with ids below `mark` go without waiting for linger (flush,
    /// commit, close).
    pub(crate) fn send_now_below(&mut self, mark: u64) {
        self.flush_mark = mark;
    }

    pub(crate) fn flush_mark(&self) -> u64 {
        self.flush_mark
    }

    /// Something may have become sendable: the next transmit poll drains.
    pub(crate) fn sendable(&mut self) {
        self.hint = true;
    }

    /// Whether a drain can find something at `now`: a hint since the last
    /// one, or a linger it saw ran out.
    pub(crate) fn should_drain(&self, now: Instant) -> bool {
        self.hint || self.next_linger.is_some_and(|t| t <= now)
    }

    /// A drain starts: it takes the hint and learns the lingers again.
    pub(crate) fn drain_started(&mut self) {
        self.hint = false;
        self.next_linger = None;
    }

    /// Where this round over `topics` topics starts (each round one
    /// further, so no topic always goes first).
    pub(crate) fn next_rotation(&mut self, topics: usize) -> usize {
        let start = self.rotation % topics.max(1);
        self.rotation = self.rotation.wrapping_add(1);
        start
    }

    /// The earliest linger expiry the running drain has seen.
    pub(crate) fn next_linger_mut(&mut self) -> &mut Option<Instant> {
        &mut self.next_linger
    }

    /// Hands compression to the driver (or takes it back).
    pub(crate) fn set_offload(&mut self, on: bool) {
        self.offload = on;
    }

    /// Whether batches compressed with `compression` are sealed by jobs.
    pub(crate) fn offloads(&self, compression: Compression) -> bool {
        self.offload && compression != Compression::None
    }

    /// The next job to run.
    pub(crate) fn poll_job(&mut self) -> Option<SealJob> {
        self.jobs.pop_front()
    }

    pub(crate) fn has_jobs(&self) -> bool {
        !self.jobs.is_empty()
    }

    /// A batch of `q` closed in `send`: with sealing offloaded and records
    /// to compress, its job goes out at once, for the sending thread to run
    /// while the records are still in its cache (Java compresses as it
    /// appends; the driver runs whatever no sender took).
    pub(crate) fn closed_in_send(
        &mut self,
        topic: &Arc<str>,
        q: &mut PartitionQueue,
        compression: Compression,
        transactional: bool,
    ) {
        if self.offloads(compression) {
            hand_out_seal_jobs(topic, q, transactional, &mut self.jobs);
        }
    }
}

/// Takes the records of every batch of `q` that waits to be compressed
/// (closed, unsealed) out as jobs, in order; they come back sealed through
/// `Producer::handle_sealed`.
fn hand_out_seal_jobs(
    topic: &Arc<str>,
    q: &mut PartitionQueue,
    transactional: bool,
    jobs: &mut VecDeque<SealJob>,
) {
    for batch in q.queue.iter_mut() {
        let Some(builder) = batch.take_builder(Records::Sealing) else {
            continue;
        };
        jobs.push_back(SealJob {
            topic: topic.clone(),
            partition: batch.partition,
            batch: batch.id,
            builder,
            transactional,
            spare: None,
        });
    }
}

impl Producer {
    /// Moves ready batches into Produce requests, one request per leader
    /// at a time, within `max.request.size` and the in-flight limit.
    pub(crate) fn drain(&mut self) {
        if self.closed || self.fatal.is_some() {
            return;
        }
        if !self.idempotence.can_send() {
            return;
        }
        if self.txn.as_ref().is_some_and(|t| !t.records_flow()) {
            return;
        }
        let idempotent = self.idempotence.is_enabled();
        // While an epoch bump waits, only batches that may have been written
        // under the current epoch are sent, to learn their fate before the
        // sequences start again (resending them under a new epoch could
        // write them twice).
        let resolving = self.idempotence.is_resolving();
        self.sender.drain_started();
        loop {
            let drained = self.drain_once(idempotent, resolving);
            if drained == 0 {
                break;
            }
        }
    }

    fn drain_once(&mut self, idempotent: bool, resolving: bool) -> usize {
        let now = self.now;
        let max_in_flight = self.config.max_in_flight_requests_per_connection.max(1);
        let mut rooms: Vec<Room> = self
            .nodes
            .ready_for_produce(max_in_flight)
            .into_iter()
            .map(|r| Room {
                node: r.node,
                conn: r.conn,
                free: r.free,
                batches: Vec::new(),
                size: 0,
            })
            .collect();
        let per_partition = if idempotent {
            MAX_IN_FLIGHT_PER_PARTITION_IDEMPOTENT
        } else {
            max_in_flight as u32
        };
        // While a send waits for buffer memory, every batch is due, linger
        // or not (Java's accumulator likewise, when its pool is exhausted):
        // the memory comes back only when batches leave.
        let linger = if self.ledger.memory_waiting() {
            std::time::Duration::ZERO
        } else {
            self.config.linger
        };
        let flush_mark = self.sender.flush_mark();
        let max_request = self.config.max_request_size;
        let mut need_conn: Vec<i32> = Vec::new();
        let mut need_metadata = false;
        let mut failed: Vec<(Arc<str>, Batch, String)> = Vec::new();
        let (producer_id, epoch) = self.idempotence.stamp_ids();
        let transactional = self.txn.is_some();
        let mut cx = SealContext {
            idempotent,
            transactional,
            producer_id,
            epoch,
            ledger: &mut self.ledger,
            events: &mut self.events,
        };
        let track_latency = self.config.availability_timeout().is_some();
        let mut latency = std::mem::take(&mut self.sender.latency);
        let rotation = self.sender.next_rotation(self.topics.len());
        let offload = self.sender.offloads(self.config.compression_type);
        let mut jobs = std::mem::take(&mut self.sender.jobs);
        let next_linger = self.sender.next_linger_mut();
        let mut topics: Vec<&mut crate::producer::Topic> = self.topics.values_mut().collect();
        topics.rotate_left(rotation);
        for topic in topics {
            // From where the last drain ran out of room (Java's drain index):
            // with more due batches than a request holds, the partitions
            // take turns going first.
            let count = topic.partitions.len();
            let start = topic.drain_start.min(count);
            let mut left_behind: Option<usize> = None;
            let (head, tail) = topic.partitions.split_at_mut(start);
            for (i, q) in tail.iter_mut().chain(head.iter_mut()).enumerate() {
                let position = (start + i) % count.max(1);
                if !q.has_data() || (transactional && !q.txn_added) {
                    continue;
                }
                let node = q.leader.node;
                if node < 0 {
                    need_metadata = true;
                    continue;
                }
                let room = rooms.iter_mut().find(|r| r.node == node);
                let can_take = room.as_ref().is_some_and(|r| r.free > 0);
                // A batch the drain would send now if the leader could take it.
                let ready = || q.front_due(now) || q.open_due(now, linger, flush_mark);
                if track_latency && (can_take || ready()) {
                    latency.seen(node, now, can_take);
                }
                let Some(room) = room else {
                    if !need_conn.contains(&node) {
                        need_conn.push(node);
                    }
                    continue;
                };
                if room.free == 0 {
                    if ready() {
                        left_behind.get_or_insert(position);
                    }
                    continue;
                }
                if q.in_flight > 0 && (q.blocked || q.in_flight_conn != Some(room.conn)) {
                    continue;
                }
                if q.in_flight >= per_partition {
                    continue;
                }
                // Until the broker has acknowledged a batch of this epoch on
                // the partition, one at a time: Kafka takes any first
                // sequence from a producer id it holds no state for
                // (KIP-360), so a second batch could be appended ahead of a
                // refused or lost first one, which could then never follow
                // in order.
                if idempotent && q.in_flight > 0 && q.first_acked_sequence < 0 {
                    continue;
                }
                // Pick the batch to send.
                let index = if resolving {
                    let current = (cx.producer_id, cx.epoch);
                    q.queue.iter().position(|b| {
                        b.in_doubt
                            && b.stamp.map(|s| (s.producer_id, s.epoch)) == Some(current)
                            && b.retry_at.is_none_or(|t| t <= now)
                    })
                } else {
                    if q.queue.is_empty() {
                        if q.open_due(now, linger, flush_mark) {
                            // Closed only to go in this request: one closed
                            // for a request that turns out full would wait
                            // beside a new open batch, two half-filled
                            // buffers where one would do (Java likewise
                            // closes a batch as it drains it).
                            let fits = q.open.as_ref().is_some_and(|b| {
                                room.batches.is_empty() || room.size + b.size <= max_request
                            });
                            if !fits {
                                left_behind.get_or_insert(position);
                                continue;
                            }
                            q.close_open();
                        } else if let Some(b) = q.open.as_ref().filter(|b| b.record_count > 0) {
                            let due = b.created + linger;
                            *next_linger = Some(next_linger.map_or(due, |t: Instant| t.min(due)));
                        }
                    }
                    q.front_due(now).then_some(0)
                };
                let Some(index) = index else { continue };
                if q.queue[index].is_sealing() {
                    // Its records are being compressed; the rest wait too.
                    continue;
                }
                if offload && matches!(q.queue[index].records, Records::Building(_)) {
                    hand_out_seal_jobs(&topic.name, q, transactional, &mut jobs);
                    continue;
                }
                let size = q.queue[index]
                    .sealed()
                    .map_or(q.queue[index].size, Bytes::len);
                if !room.batches.is_empty() && room.size + size > max_request {
                    left_behind.get_or_insert(position);
                    continue;
                }
                let Some(mut batch) = q.queue.remove(index) else {
                    continue;
                };
                if let Err(e) = seal(&mut batch, q, &mut cx) {
                    failed.push((topic.name.clone(), batch, e));
                    continue;
                }
                batch.retry_at = None;
                batch.attempts += 1;
                q.in_flight += 1;
                q.in_flight_conn = Some(room.conn);
                room.size += size;
                room.batches.push((topic.name.clone(), batch));
            }
            if let Some(position) = left_behind {
                topic.drain_start = position;
            }
        }
        self.sender.jobs = jobs;
        self.sender.latency = latency;
        for (topic, batch, _message) in failed {
            self.fail_unsealable(&topic, batch);
        }
        if need_metadata {
            self.metadata.request();
        }
        for node in need_conn {
            if !self.ensure_connection(node) && !self.nodes.knows(node) {
                // A leader we have no address for: ask again.
                self.metadata.request();
            }
        }
        let mut drained = 0;
        for room in rooms {
            if room.batches.is_empty() {
                continue;
            }
            drained += room.batches.len();
            self.send_produce(room.conn, room.batches);
        }
        drained
    }

    /// The codec could not seal `batch` (a compression failure): nothing was
    /// sent this time, though an earlier attempt (under another epoch) may
    /// have landed.
    pub(crate) fn fail_unsealable(&mut self, topic: &Arc<str>, batch: Batch) {
        let written = batch.possibly_written;
        let kind = DeliveryErrorKind::Broker(ErrorCode::UNKNOWN_SERVER_ERROR);
        self.finish(topic, batch, Outcome::failed(kind, written));
    }

    fn send_produce(&mut self, conn: ConnId, batches: Vec<(Arc<str>, Batch)>) {
        let acks = self.config.acks.as_i16();
        // A v1 transaction stays below Produce v12, which adds partitions
        // to a v2 transaction implicitly (KIP-890).
        let cap = match &self.txn {
            Some(t) if !t.is_v2() => crate::coordinator::PRODUCE_V1_TRANSACTION_CAP,
            _ => PRODUCE_VERSION_CAP,
        };
        let version = self
            .nodes
            .get(conn)
            .map(|c| c.versions().pick::<ProduceRequest>(cap));
        let Some(Some(version)) = version else {
            // Put the batches back (not sent, nothing written) before the
            // connection goes, so they get their outcome with the rest.
            self.unsend(batches);
            if version.is_some() {
                self.close_connection(
                    conn,
                    Some(ConnError::Unsupported {
                        api: "Produce",
                        needed: "v3 or newer (record batch v2, Kafka 0.11+)",
                    }),
                );
            }
            return;
        };
        let Some(c) = self.nodes.get_mut(conn) else {
            return;
        };
        let mut topic_data: Vec<TopicProduceData> = Vec::new();
        let mut records = 0;
        for (topic, batch) in &batches {
            records += batch.record_count;
            let figures = crate::metrics::BatchFigures {
                wire: batch.sealed().map_or(0, Bytes::len),
                uncompressed: batch.size,
                max_record: batch.max_record,
                records: batch.record_count,
                queued: self.now.saturating_duration_since(batch.created),
            };
            self.metrics.batch_sent(topic, figures, self.now);
            let data = PartitionProduceData {
                index: batch.partition,
                records: batch.sealed().cloned(),
                ..Default::default()
            };
            match topic_data.last_mut() {
                Some(t) if *t.name == **topic => t.partition_data.push(data),
                _ => topic_data.push(TopicProduceData {
                    name: topic.to_string(),
                    partition_data: vec![data],
                    ..Default::default()
                }),
            }
        }
        let body = ProduceRequest {
            transactional_id: self.txn.as_ref().map(|t| t.transactional_id().to_string()),
            acks,
            timeout_ms: self
                .config
                .request_timeout
                .as_millis()
                .min(i32::MAX as u128) as i32,
            topic_data,
            ..Default::default()
        };
        let now = self.now;
        self.metrics.request_made(records, now);
        if acks == 0 {
            if c.send_no_response(&body, version, now).is_err() {
                self.produce_batches_lost(batches);
                return;
            }
            // No answer will come: written as far as we can know.
            for (topic, batch) in batches {
                if let Some(q) = self
                    .topics
                    .get_mut(&topic)
                    .and_then(|t| t.partitions.get_mut(batch.partition as usize))
                {
                    q.landed();
                }
                let outcome = Outcome::Delivered {
                    base_offset: -1,
                    log_append_time: None,
                };
                self.finish(&topic, batch, outcome);
            }
            return;
        }
        let id = self.sender.new_request_id();
        if c.send(&body, version, Purpose::Produce(id), now).is_err() {
            self.produce_batches_lost(batches);
            return;
        }
        if let Some(t) = self.txn.as_mut() {
            t.produced();
        }
        if self.request_events {
            let node = self.nodes.node_of(conn).unwrap_or(-1);
            let bytes = batches
                .iter()
                .map(|(_, b)| b.sealed().map_or(0, Bytes::len))
                .sum();
            self.events.push_back(crate::Event::ProduceSent {
                request: id,
                node,
                batches: batches.len() as u32,
                records,
                bytes,
            });
        }
        self.sender.in_flight(id, ProduceInFlight { conn, batches });
    }

    /// Returns drained batches to their queues unsent.
    fn unsend(&mut self, batches: Vec<(Arc<str>, Batch)>) {
        for (topic, mut batch) in batches {
            batch.attempts = batch.attempts.saturating_sub(1);
            if let Some(q) = self
                .topics
                .get_mut(&topic)
                .and_then(|t| t.partitions.get_mut(batch.partition as usize))
            {
                q.landed();
                q.requeue(batch);
            } else {
                let written = batch.possibly_written;
                let kind = DeliveryErrorKind::Broker(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
                self.finish(&topic, batch, Outcome::failed(kind, written));
            }
        }
    }

    /// A produce request's connection went away: the outcome is unknown.
    pub(crate) fn produce_request_lost(&mut self, id: u64) {
        if let Some(r) = self.sender.take(id) {
            self.request_done(id, "lost");
            self.produce_batches_lost(r.batches);
        }
    }

    /// The Produce request `id` is over: its event, if asked for.
    pub(crate) fn request_done(&mut self, id: u64, outcome: &'static str) {
        if self.request_events {
            self.events.push_back(crate::Event::ProduceDone {
                request: id,
                outcome,
            });
        }
    }

    fn produce_batches_lost(&mut self, batches: Vec<(Arc<str>, Batch)>) {
        for (topic, mut batch) in batches {
            batch.mark_in_doubt();
            self.settle(&topic, batch, ErrorCode::NETWORK_EXCEPTION, -1, -1);
        }
    }

    pub(crate) fn on_produce_response(&mut self, conn: ConnId, id: u64, body: ProduceResponse) {
        let Some(request) = self.sender.take(id) else {
            return;
        };
        self.request_done(id, "answered");
        if request.conn != conn {
            // Request ids are unique per producer, so this cannot happen;
            // if it did, the answer would not be about these batches.
            self.produce_batches_lost(request.batches);
            return;
        }
        // KIP-951: where the new leaders are, without waiting for metadata.
        for e in &body.node_endpoints {
            if let Ok(port) = u16::try_from(e.port) {
                self.nodes.learn_if_unknown(
                    e.node_id,
                    BrokerAddr {
                        host: e.host.clone(),
                        port,
                    },
                );
            }
        }
        let mut hint = 0usize;
        let flat: Vec<(&str, &PartitionProduceResponse)> = body
            .responses
            .iter()
            .flat_map(|t| {
                t.partition_responses
                    .iter()
                    .map(move |p| (t.name.as_str(), p))
            })
            .collect();
        for (topic, batch) in request.batches {
            // Responses usually come in request order; look there first.
            let found = match flat.get(hint) {
                Some((t, p)) if *t == &*topic && p.index == batch.partition => Some(hint),
                _ => flat
                    .iter()
                    .position(|(t, p)| *t == &*topic && p.index == batch.partition),
            };
            match found {
                Some(i) => {
                    hint = i + 1;
                    let p = flat[i].1;
                    let code = ErrorCode(p.error_code);
                    if code == ErrorCode::NOT_LEADER_OR_FOLLOWER && p.current_leader.leader_id >= 0
                    {
                        self.learn_leader(
                            &topic,
                            batch.partition,
                            Leader {
                                node: p.current_leader.leader_id,
                                epoch: p.current_leader.leader_epoch,
                            },
                        );
                    }
                    self.settle(&topic, batch, code, p.base_offset, p.log_append_time_ms);
                }
                None => {
                    // The broker left the partition out: as good as no answer.
                    let mut batch = batch;
                    batch.mark_in_doubt();
                    self.settle(&topic, batch, ErrorCode::NETWORK_EXCEPTION, -1, -1);
                }
            }
        }
    }

    fn learn_leader(&mut self, topic: &str, partition: i32, leader: Leader) {
        if let Some(q) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.partitions.get_mut(partition as usize))
        {
            if q.leader.epoch >= 0 && leader.epoch > q.leader.epoch {
                q.leader = leader;
            }
        }
    }

    /// Settles one batch that came back from flight.
    fn settle(
        &mut self,
        topic: &Arc<str>,
        mut batch: Batch,
        code: ErrorCode,
        base_offset: i64,
        log_append_time: i64,
    ) {
        let partition = batch.partition as usize;
        let Some(q) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.partitions.get_mut(partition))
        else {
            // The topic is gone from our tables (cannot happen while a
            // batch is outstanding); still give the batch its outcome.
            let outcome = Outcome::failed(DeliveryErrorKind::Broker(code), true);
            self.finish(topic, batch, outcome);
            return;
        };
        q.landed();
        if self.txn.is_some() && !code.is_ok() {
            if crate::transaction::produce_error_is_fatal_in_transaction(code) {
                self.note_error(&mut batch, code);
                let written = batch.possibly_written;
                let error = FatalError::Transaction {
                    request: "Produce",
                    code,
                };
                self.finish(
                    topic,
                    batch,
                    Outcome::failed(DeliveryErrorKind::Fatal(error.clone()), written),
                );
                self.fail_fatal(error);
                return;
            }
            // The sequences or the transaction are broken: no retry can
            // mend them inside this transaction, which must be aborted
            // (the abort bumps the epoch). OUT_OF_ORDER_SEQUENCE_NUMBER
            // breaks them only for the batch next in line; a later one
            // was refused because an earlier one is being retried, and is
            // retried after it (as the Java client does).
            let next_in_line = batch
                .stamp
                .is_some_and(|s| next_in_line(s.sequence, q.last_acked_sequence));
            let broken = match code {
                ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER => next_in_line,
                ErrorCode::UNKNOWN_PRODUCER_ID
                | ErrorCode::TRANSACTION_ABORTABLE
                | ErrorCode::INVALID_PRODUCER_ID_MAPPING => true,
                _ => false,
            };
            if broken {
                self.note_error(&mut batch, code);
                let written = batch.possibly_written;
                self.finish(
                    topic,
                    batch,
                    Outcome::failed(DeliveryErrorKind::Broker(code), written),
                );
                return;
            }
        }
        let verdict = self.idempotence.on_batch_result(&BatchAnswer {
            code,
            stamp: batch.stamp,
            record_count: batch.record_count,
            last_acked_sequence: q.last_acked_sequence,
            first_acked_sequence: q.first_acked_sequence,
        });
        match verdict {
            Verdict::Written => {
                if let Some(t) = self.txn.as_mut() {
                    t.produce_acknowledged();
                }
                if let Some(last) = batch.last_sequence() {
                    q.last_acked_sequence = q.last_acked_sequence.max(last);
                }
                if let Some(stamp) = batch.stamp {
                    if q.first_acked_sequence < 0 || stamp.sequence < q.first_acked_sequence {
                        q.first_acked_sequence = stamp.sequence;
                    }
                }
                let outcome = Outcome::Delivered {
                    base_offset: if code.is_ok() { base_offset } else { -1 },
                    log_append_time: (log_append_time >= 0).then_some(log_append_time),
                };
                self.finish(topic, batch, outcome);
            }
            Verdict::Retry { not_appended } => {
                self.note_error(&mut batch, code);
                if not_appended {
                    // Not appended under this stamp; what is reported stays:
                    // an earlier attempt's fate may be unknown.
                    batch.in_doubt = false;
                }
                self.retry(topic, batch, code);
            }
            Verdict::Fail => {
                self.note_error(&mut batch, code);
                let written = batch.possibly_written;
                self.finish(
                    topic,
                    batch,
                    Outcome::failed(DeliveryErrorKind::Broker(code), written),
                );
            }
        }
    }

    /// Records what an error says about a batch and the cluster.
    fn note_error(&mut self, batch: &mut Batch, code: ErrorCode) {
        batch.last_error = Some(code);
        if !refused_before_append(code) {
            batch.mark_in_doubt();
        }
        if means_stale_metadata(code) {
            self.metadata.request();
        }
    }

    /// Puts a batch back for another attempt, or fails it when retries or
    /// time ran out.
    fn retry(&mut self, topic: &Arc<str>, mut batch: Batch, code: ErrorCode) {
        let now = self.now;
        let written = batch.possibly_written;
        if batch.reported {
            // Already failed by the delivery timeout while in flight: its
            // sequence is a hole now.
            let outcome = Outcome::failed(DeliveryErrorKind::Broker(code), true);
            self.finish(topic, batch, outcome);
            return;
        }
        if batch.attempts > self.config.retries {
            let outcome = Outcome::failed(DeliveryErrorKind::Broker(code), written);
            self.finish(topic, batch, outcome);
            return;
        }
        if now >= batch.deadline {
            let kind = DeliveryErrorKind::Timeout {
                last_error: Some(code),
            };
            self.finish(topic, batch, Outcome::failed(kind, written));
            return;
        }
        let backoff = self.backoff(
            self.config.retry_backoff,
            self.config.retry_backoff_max,
            batch.attempts.saturating_sub(1),
        );
        batch.retry_at = Some(now + backoff);
        self.timers
            .lower(crate::timers::Timer::Retry, now + backoff);
        self.metrics.retried(topic, batch.record_count, self.now);
        let Some(q) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.partitions.get_mut(batch.partition as usize))
        else {
            return;
        };
        q.requeue(batch);
        // Later batches in flight will come back out of order; resend only
        // once all of them are back.
        q.blocked = q.in_flight > 0;
    }

    /// Requests a producer id (or an epoch bump) when one is needed.
    pub(crate) fn maintain_producer_id(&mut self) {
        if self.fatal.is_some() {
            return;
        }
        let topics = &self.topics;
        // Batches that may have been written under this epoch are resolved
        // before a bump (see `drain`).
        let unresolved = |producer_id: i64, epoch: i16| {
            topics.values().any(|t| {
                t.partitions.iter().any(|q| {
                    q.queue.iter().any(|b| {
                        b.in_doubt
                            && b.stamp.map(|s| (s.producer_id, s.epoch))
                                == Some((producer_id, epoch))
                    })
                })
            })
        };
        let Some(request) =
            self.idempotence
                .poll_request(self.now, !self.sender.has_requests(), unresolved)
        else {
            return;
        };
        let Some(conn) = self.any_connection() else {
            return;
        };
        let Some(c) = self.nodes.get_mut(conn) else {
            return;
        };
        let Some(version) = c.versions().pick::<InitProducerIdRequest>(5) else {
            self.fail_fatal(FatalError::UnsupportedBroker {
                api: "InitProducerId",
                needed: "any version (idempotence needs Kafka 0.11+)",
            });
            return;
        };
        // Bumping the epoch of an existing id needs v3+ (KIP-360); older
        // brokers hand out a new id instead.
        let bump = version >= 3;
        let body = InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: self
                .config
                .transaction_timeout
                .as_millis()
                .min(i32::MAX as u128) as i32,
            producer_id: if bump { request.producer_id } else { -1 },
            producer_epoch: if bump { request.epoch } else { -1 },
            ..Default::default()
        };
        if c.send(&body, version, Purpose::InitProducerId, self.now)
            .is_ok()
        {
            self.idempotence.sent();
        }
    }

    pub(crate) fn on_init_producer_id(&mut self, body: InitProducerIdResponse) {
        let code = ErrorCode(body.error_code);
        match self
            .idempotence
            .on_answer(code, body.producer_id, body.producer_epoch)
        {
            IdAnswer::Ready => self.restart_sequences(),
            IdAnswer::Retry => self.producer_id_request_failed(),
            IdAnswer::Fatal(c) => self.fail_fatal(FatalError::ProducerId(c)),
        }
    }

    /// A new epoch (or id) starts every partition at sequence 0;
    /// unacknowledged batches are restamped when next sent.
    pub(crate) fn restart_sequences(&mut self) {
        for t in self.topics.values_mut() {
            for q in &mut t.partitions {
                q.next_sequence = 0;
                q.last_acked_sequence = -1;
                q.first_acked_sequence = -1;
            }
        }
    }

    /// The InitProducerId request failed in a way worth retrying.
    pub(crate) fn producer_id_request_failed(&mut self) {
        let (base, max) = (self.config.retry_backoff, self.config.retry_backoff_max);
        let rng = &mut self.rng;
        self.idempotence
            .request_failed(self.now, |failures| backoff(rng, base, max, failures));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_errors_kafka_answers_before_the_append_mean_not_written() {
        for code in [
            ErrorCode::CORRUPT_MESSAGE,
            ErrorCode::MESSAGE_TOO_LARGE,
            ErrorCode::INVALID_RECORD,
            ErrorCode::TOPIC_AUTHORIZATION_FAILED,
            ErrorCode::NOT_ENOUGH_REPLICAS,
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
        ] {
            assert!(refused_before_append(code), "{code}");
        }
        for code in [
            ErrorCode::UNKNOWN_SERVER_ERROR,
            ErrorCode(9999),
            ErrorCode::KAFKA_STORAGE_ERROR,
            ErrorCode::NOT_LEADER_OR_FOLLOWER,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            ErrorCode::REQUEST_TIMED_OUT,
            ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            ErrorCode::NETWORK_EXCEPTION,
            ErrorCode::POLICY_VIOLATION,
        ] {
            assert!(!refused_before_append(code), "{code}");
        }
    }

    #[test]
    fn the_simulated_broker_and_the_producer_agree_on_what_refuses_before_the_append() {
        // Both lists are written from Kafka's broker code; an independent
        // model (the simulated cluster) cross-checks ours.
        for code in ErrorCode::ALL {
            if *code == ErrorCode::DUPLICATE_SEQUENCE_NUMBER || code.is_ok() {
                continue;
            }
            assert_eq!(
                refused_before_append(*code),
                kafka_sim::REFUSED_BEFORE_APPEND.contains(code),
                "{code}"
            );
        }
    }

    #[test]
    fn the_sender_tracks_requests_and_when_to_drain() {
        let t0 = crate::testing::t0();
        let mut sender = Sender::default();
        assert!(!sender.should_drain(t0));
        let (a, b) = (sender.new_request_id(), sender.new_request_id());
        assert_eq!((a, b), (0, 1));
        for id in [b, a] {
            sender.in_flight(
                id,
                ProduceInFlight {
                    conn: crate::event::ConnId(id),
                    batches: Vec::new(),
                },
            );
        }
        assert_eq!(sender.request_count(), 2);
        assert!(sender.take(a).is_some() && sender.take(a).is_none());
        sender.in_flight(
            7,
            ProduceInFlight {
                conn: crate::event::ConnId(7),
                batches: Vec::new(),
            },
        );
        let ids: Vec<u64> = sender.take_all().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, [1, 7], "oldest first");
        assert!(!sender.has_requests());
        // A hint, or a linger seen by a drain running out, asks for a drain.
        sender.sendable();
        assert!(sender.should_drain(t0));
        sender.drain_started();
        assert!(!sender.should_drain(t0));
        *sender.next_linger_mut() = Some(t0 + std::time::Duration::from_millis(5));
        assert!(!sender.should_drain(t0 + std::time::Duration::from_millis(4)));
        assert!(sender.should_drain(t0 + std::time::Duration::from_millis(5)));
        sender.send_now_below(42);
        assert_eq!(sender.flush_mark(), 42);
        // The round over topics moves on each time.
        let starts: Vec<usize> = (0..4).map(|_| sender.next_rotation(3)).collect();
        assert_eq!(starts, [0, 1, 2, 0]);
        assert_eq!(sender.next_rotation(0), 0);
    }
}
