//! Produce: leader checks, batch validation, idempotence and the append.

use bytes::Bytes;
use kafka_proto::compression::Compression;
use kafka_proto::messages::produce::{
    LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse, ProduceRequest, ProduceResponse,
    TopicProduceResponse,
};
use kafka_proto::record::RecordBatch;
use kafka_proto::{DecodeErrorKind, ErrorCode};

use crate::cluster::{BROKER_PORT, Outcome, SimCluster, broker_host, respond};
use crate::partition::{SequenceVerdict, StoredRecord, check_sequence, increment_sequence};

/// Largest decompressed records section read from one batch.
const DECOMPRESSED_LIMIT: usize = 64 << 20;

/// Retriable errors injected without appending: codes Kafka's Java client
/// retries.
const INJECTED_BEFORE_APPEND: [ErrorCode; 5] = [
    ErrorCode::NOT_LEADER_OR_FOLLOWER,
    ErrorCode::REQUEST_TIMED_OUT,
    ErrorCode::NOT_ENOUGH_REPLICAS,
    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode::KAFKA_STORAGE_ERROR,
];

/// Produce errors Apache Kafka answers only when it refused a partition's
/// batch before appending anything: request validation (acks, version,
/// authorization, topic name), batch validation (size, CRC, records,
/// timestamps, compression) and the idempotent producer's epoch and
/// sequence checks, all of which run before the append (Kafka's
/// `ReplicaManager.appendToLocalLog`, `LogValidator`,
/// `ProducerAppendInfo`). Every other code may come after the append: an
/// acks=all request waiting for replication ends in REQUEST_TIMED_OUT,
/// NOT_ENOUGH_REPLICAS_AFTER_APPEND, or NOT_LEADER_OR_FOLLOWER /
/// KAFKA_STORAGE_ERROR / UNKNOWN_TOPIC_OR_PARTITION when the partition
/// moves or goes offline meanwhile, and UNKNOWN_SERVER_ERROR from anywhere.
/// DUPLICATE_SEQUENCE_NUMBER is here too: it says "already written", never
/// "written now".
pub const REFUSED_BEFORE_APPEND: [ErrorCode; 19] = [
    ErrorCode::CORRUPT_MESSAGE,
    ErrorCode::MESSAGE_TOO_LARGE,
    ErrorCode::INVALID_TOPIC_EXCEPTION,
    ErrorCode::RECORD_LIST_TOO_LARGE,
    ErrorCode::NOT_ENOUGH_REPLICAS,
    ErrorCode::INVALID_REQUIRED_ACKS,
    ErrorCode::TOPIC_AUTHORIZATION_FAILED,
    ErrorCode::CLUSTER_AUTHORIZATION_FAILED,
    ErrorCode::INVALID_TIMESTAMP,
    ErrorCode::UNSUPPORTED_VERSION,
    ErrorCode::INVALID_REQUEST,
    ErrorCode::UNSUPPORTED_FOR_MESSAGE_FORMAT,
    ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
    ErrorCode::DUPLICATE_SEQUENCE_NUMBER,
    ErrorCode::INVALID_PRODUCER_EPOCH,
    ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ErrorCode::UNKNOWN_PRODUCER_ID,
    ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
    ErrorCode::INVALID_RECORD,
];

/// An error code for the `any_error_after_append` fault: any code Kafka
/// defines outside [`REFUSED_BEFORE_APPEND`], or (one time in eight) one it
/// does not define.
fn any_error_after_append(rng: &mut crate::rng::SplitMix64) -> ErrorCode {
    if rng.chance(0.125) {
        return ErrorCode(134 + rng.below(30_000) as i16);
    }
    let candidates: Vec<ErrorCode> = ErrorCode::ALL
        .iter()
        .copied()
        .filter(|c| !c.is_ok() && !REFUSED_BEFORE_APPEND.contains(c))
        .collect();
    candidates[rng.below(candidates.len() as u64) as usize]
}

/// Why a partition's batch was not appended.
struct Refusal {
    code: ErrorCode,
    message: Option<&'static str>,
}

fn refuse(code: ErrorCode, message: &'static str) -> Refusal {
    Refusal {
        code,
        message: Some(message),
    }
}

/// What happened to a partition's batch.
enum Appended {
    /// Appended (or recognised as a duplicate) at this base offset.
    At(i64),
    /// Appended, but answered with an injected error.
    ThenFailed(ErrorCode),
}

impl SimCluster {
    /// Handles a Produce request on `broker`.
    pub(crate) fn produce(
        &mut self,
        broker: i32,
        r: ProduceRequest,
        version: i16,
        correlation_id: i32,
    ) -> Outcome {
        if r.acks == 0 {
            self.stats.acks0_requests += 1;
        }
        if self.fault_rng.chance(self.faults.leader_move) {
            self.random_leader_move();
        }
        let acks_valid = matches!(r.acks, -1..=1);
        let mut any_error = false;
        let mut endpoints: Vec<i32> = Vec::new();
        let mut responses = Vec::with_capacity(r.topic_data.len());
        let transactional_id = r.transactional_id.clone();
        for t in r.topic_data {
            let name = if version >= 13 {
                self.topics
                    .iter()
                    .find(|(_, x)| x.id == t.topic_id)
                    .map(|(n, _)| n.clone())
            } else {
                Some(t.name.clone())
            };
            let auto_create = self.spec.auto_create_partitions.filter(|c| *c > 0);
            if let (Some(n), Some(count)) = (&name, auto_create) {
                if !self.topics.contains_key(n) {
                    self.create_topic(n, count, None);
                }
            }
            let mut partition_responses = Vec::with_capacity(t.partition_data.len());
            for p in t.partition_data {
                let mut resp = PartitionProduceResponse {
                    index: p.index,
                    base_offset: -1,
                    log_append_time_ms: -1,
                    log_start_offset: -1,
                    ..Default::default()
                };
                let result = match name.as_deref() {
                    _ if !acks_valid => {
                        self.stats.rejected_batches += 1;
                        Err(refuse(
                            ErrorCode::INVALID_REQUIRED_ACKS,
                            "acks must be -1, 0 or 1",
                        ))
                    }
                    Some(n) => self.produce_partition(
                        broker,
                        n,
                        version,
                        p.index,
                        p.records,
                        transactional_id.as_deref(),
                    ),
                    None => {
                        self.stats.rejected_batches += 1;
                        Err(refuse(ErrorCode::UNKNOWN_TOPIC_ID, "unknown topic id"))
                    }
                };
                match result {
                    Ok(Appended::At(base)) => {
                        resp.base_offset = base;
                        resp.log_start_offset = 0;
                    }
                    Ok(Appended::ThenFailed(code)) => resp.error_code = code.0,
                    Err(refusal) => {
                        resp.error_code = refusal.code.0;
                        resp.error_message = refusal.message.map(str::to_owned);
                    }
                }
                if resp.error_code != 0 {
                    any_error = true;
                }
                if resp.error_code == ErrorCode::NOT_LEADER_OR_FOLLOWER.0 && version >= 10 {
                    // KIP-951: tell the client where the leader went.
                    if let Some((leader, epoch)) =
                        name.as_deref().and_then(|n| self.leader(n, p.index))
                    {
                        resp.current_leader = LeaderIdAndEpoch {
                            leader_id: leader,
                            leader_epoch: epoch,
                            ..Default::default()
                        };
                        if leader >= 0 && !endpoints.contains(&leader) {
                            endpoints.push(leader);
                        }
                    }
                }
                partition_responses.push(resp);
            }
            responses.push(TopicProduceResponse {
                name: t.name,
                topic_id: t.topic_id,
                partition_responses,
                ..Default::default()
            });
        }
        if r.acks == 0 {
            // No answer; on an error Kafka closes the connection so that
            // the client notices and refreshes its metadata.
            return if any_error {
                Outcome::SilentThenClose
            } else {
                Outcome::Silent
            };
        }
        endpoints.sort_unstable();
        let body = ProduceResponse {
            responses,
            node_endpoints: endpoints
                .into_iter()
                .map(|b| NodeEndpoint {
                    node_id: b,
                    host: broker_host(b),
                    port: i32::from(BROKER_PORT),
                    rack: None,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        respond::<ProduceRequest>(correlation_id, version, &body)
    }

    /// Moves the leadership of one random partition to another live
    /// replica.
    fn random_leader_move(&mut self) {
        let total: usize = self.topics.values().map(|t| t.partitions.len()).sum();
        if total == 0 {
            return;
        }
        let live = self.live_brokers();
        let mut i = self.fault_rng.below(total as u64) as usize;
        for t in self.topics.values_mut() {
            let Some(p) = t.partitions.get_mut(i) else {
                i -= t.partitions.len();
                continue;
            };
            let candidates: Vec<i32> = p
                .replicas
                .iter()
                .copied()
                .filter(|b| *b != p.leader && live.contains(b))
                .collect();
            if !candidates.is_empty() {
                let to = candidates[self.fault_rng.below(candidates.len() as u64) as usize];
                p.set_leader(to);
                self.stats.faults.leader_moves += 1;
            }
            return;
        }
    }

    /// One partition of a Produce request, checked in Kafka's order:
    /// partition, batch framing, leadership, size and CRC, then the
    /// producer's sequence; then the append.
    fn produce_partition(
        &mut self,
        broker: i32,
        topic: &str,
        version: i16,
        index: i32,
        records: Option<Bytes>,
        transactional_id: Option<&str>,
    ) -> Result<Appended, Refusal> {
        let result =
            self.validate_and_append(broker, topic, version, index, records, transactional_id);
        if let Err(r) = &result {
            match r.code {
                ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER => self.stats.out_of_order += 1,
                ErrorCode::INVALID_PRODUCER_EPOCH => self.stats.invalid_epoch += 1,
                _ if r.message.is_some() => self.stats.rejected_batches += 1,
                _ => {}
            }
        }
        result
    }

    fn validate_and_append(
        &mut self,
        broker: i32,
        topic: &str,
        version: i16,
        index: i32,
        records: Option<Bytes>,
        transactional_id: Option<&str>,
    ) -> Result<Appended, Refusal> {
        let unknown = || {
            refuse(
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                "unknown topic or partition",
            )
        };
        let slot = usize::try_from(index).map_err(|_| unknown())?;
        let leader = self
            .topics
            .get(topic)
            .and_then(|t| t.partitions.get(slot))
            .map(|p| p.leader)
            .ok_or_else(unknown)?;
        let records = records
            .filter(|r| !r.is_empty())
            .ok_or_else(|| refuse(ErrorCode::INVALID_RECORD, "no record batch"))?;
        let batch = RecordBatch::parse(records.clone()).map_err(|e| match e.kind {
            DecodeErrorKind::UnknownMagic { .. } => refuse(
                ErrorCode::INVALID_RECORD,
                "Produce v3+ carries record batches of magic 2 only",
            ),
            _ => refuse(
                ErrorCode::CORRUPT_MESSAGE,
                "the record batch cannot be read",
            ),
        })?;
        if batch.size() != records.len() {
            return Err(refuse(
                ErrorCode::INVALID_RECORD,
                "exactly one record batch per partition",
            ));
        }
        if version < 7 && batch.compression() == Compression::Zstd {
            return Err(refuse(
                ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
                "zstd needs Produce v7+",
            ));
        }
        if leader != broker {
            return Err(refuse(
                ErrorCode::NOT_LEADER_OR_FOLLOWER,
                "this broker does not lead the partition",
            ));
        }
        if self.fault_rng.chance(self.faults.produce_error) {
            self.stats.faults.produce_errors += 1;
            let pick = self.fault_rng.below(INJECTED_BEFORE_APPEND.len() as u64) as usize;
            return Err(Refusal {
                code: INJECTED_BEFORE_APPEND[pick],
                message: None,
            });
        }
        if batch.size() > self.config.max_message_bytes {
            return Err(refuse(
                ErrorCode::MESSAGE_TOO_LARGE,
                "the batch is larger than message.max.bytes",
            ));
        }
        if batch.verify_crc().is_err() {
            return Err(refuse(ErrorCode::CORRUPT_MESSAGE, "CRC mismatch"));
        }
        let count = batch.records_count();
        if batch.base_offset() != 0
            || batch.is_control()
            || count < 1
            || batch.last_offset_delta() != count - 1
        {
            return Err(refuse(
                ErrorCode::INVALID_RECORD,
                "base offset must be 0, the batch no control batch, and its record count match its last offset delta",
            ));
        }
        let producer_id = batch.producer_id();
        let epoch = batch.producer_epoch();
        let transactional = batch.is_transactional();
        if transactional {
            if producer_id < 0 {
                return Err(refuse(
                    ErrorCode::INVALID_RECORD,
                    "a transactional batch needs a producer id",
                ));
            }
            self.check_transactional_write(
                transactional_id,
                producer_id,
                epoch,
                topic,
                index,
                version,
            )
            .map_err(|code| Refusal {
                code,
                message: Some("the transaction coordinator refused the write"),
            })?;
        }
        let first = batch.base_sequence();
        let last = increment_sequence(first, count - 1);
        let strict = self.config.strict_first_sequence;
        let store = self.spec.store_records;
        let part = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.partitions.get_mut(slot))
            .ok_or_else(unknown)?;
        if producer_id >= 0 {
            match check_sequence(part.producers.get(&producer_id), epoch, first, last, strict) {
                SequenceVerdict::Append => {}
                SequenceVerdict::Duplicate { base_offset } => {
                    self.stats.duplicates += 1;
                    return Ok(Appended::At(base_offset));
                }
                SequenceVerdict::Reject { code, stale } => {
                    let code = if stale {
                        self.stats.stale_sequences += 1;
                        if self.config.stale_sequence_is_duplicate {
                            ErrorCode::DUPLICATE_SEQUENCE_NUMBER
                        } else {
                            code
                        }
                    } else {
                        code
                    };
                    return Err(refuse(
                        code,
                        "the batch's epoch or sequence is not the expected one",
                    ));
                }
            }
        }
        let base = part.log_end;
        if store {
            // Decoded once, and only now that the batch will be appended;
            // keys, values and header values are slices of the request (or
            // of the decompressed records), not copies.
            let unreadable = || refuse(ErrorCode::CORRUPT_MESSAGE, "the records cannot be read");
            let body = batch
                .records_body(DECOMPRESSED_LIMIT)
                .map_err(|_| unreadable())?;
            let iter = batch.records_ref(&body).map_err(|_| unreadable())?;
            // The count comes from the wire: every record takes bytes.
            let mut stored = Vec::with_capacity((count as usize).min(body.len()));
            for (i, record) in iter.enumerate() {
                let record = record.map_err(|_| unreadable())?;
                let i = i as i32;
                let mut headers = Vec::with_capacity(record.header_count());
                for (key, value) in record.headers() {
                    headers.push((body.slice_ref(key), value.map(|v| body.slice_ref(v))));
                }
                stored.push(StoredRecord {
                    offset: base + i64::from(i),
                    timestamp: record.timestamp,
                    key: record.key.map(|k| body.slice_ref(k)),
                    value: record.value.map(|v| body.slice_ref(v)),
                    headers,
                    producer_id,
                    producer_epoch: epoch,
                    sequence: if producer_id >= 0 && first >= 0 {
                        increment_sequence(first, i)
                    } else {
                        -1
                    },
                    transactional,
                });
            }
            if stored.len() != count as usize {
                return Err(refuse(
                    ErrorCode::INVALID_RECORD,
                    "the record count does not match the records",
                ));
            }
            part.records.append(&mut stored);
        }
        part.log_end += i64::from(count);
        if producer_id >= 0 {
            part.remember_batch(producer_id, epoch, first, last, base);
        }
        if transactional {
            self.transactional_append(topic, index, producer_id, base);
        }
        self.stats.batches_appended += 1;
        self.stats.records_appended += count as u64;
        self.stats.bytes_appended += batch.size() as u64;
        if self.fault_rng.chance(self.faults.error_after_append) {
            self.stats.faults.errors_after_append += 1;
            let code = if self.fault_rng.chance(0.5) {
                ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
            } else {
                ErrorCode::REQUEST_TIMED_OUT
            };
            return Ok(Appended::ThenFailed(code));
        }
        if self.fault_rng.chance(self.faults.any_error_after_append) {
            self.stats.faults.any_errors_after_append += 1;
            return Ok(Appended::ThenFailed(any_error_after_append(
                &mut self.fault_rng,
            )));
        }
        Ok(Appended::At(base))
    }
}
