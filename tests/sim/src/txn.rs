//! Transactions (KIP-98, KIP-447, KIP-890): a transaction coordinator per
//! transactional id, group coordinators for transactional offsets, markers,
//! the last stable offset and `read_committed` reads.
//!
//! Modelled on Apache Kafka 4.x, with its state machine collapsed where the
//! client cannot tell the difference: EndTxn writes the markers at once
//! (no PrepareCommit/PrepareAbort window; CONCURRENT_TRANSACTIONS is an
//! injectable fault instead), and the coordinator's state survives broker
//! restarts, as the replicated `__transaction_state` does. Coordinators are
//! spread over the live brokers by a hash of the key; `Faults::coordinator_move`
//! moves them all (requests to the old ones get NOT_COORDINATOR).
//!
//! Transactions v2 (KIP-890 part 2) when [`BrokerConfig::transaction_version`](crate::BrokerConfig::transaction_version)
//! is 2 or more: Produce v12 and TxnOffsetCommit v5 add partitions and the
//! group implicitly, and EndTxn v5 bumps the epoch (its answer carries the
//! new one). Otherwise v1: AddPartitionsToTxn / AddOffsetsToTxn first, the
//! epoch bumped only by InitProducerId and by timeouts. A transactional
//! write is checked against the coordinator (KIP-890 part 1): an older epoch
//! is fenced, a partition not in the transaction refused.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kafka_proto::ErrorCode;
use kafka_proto::messages::add_offsets_to_txn::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use kafka_proto::messages::add_partitions_to_txn::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse,
    AddPartitionsToTxnResult, AddPartitionsToTxnTopic, AddPartitionsToTxnTopicResult,
};
use kafka_proto::messages::end_txn::{EndTxnRequest, EndTxnResponse};
use kafka_proto::messages::find_coordinator::{
    Coordinator, FindCoordinatorRequest, FindCoordinatorResponse,
};
use kafka_proto::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafka_proto::messages::txn_offset_commit::{
    TxnOffsetCommitRequest, TxnOffsetCommitResponse, TxnOffsetCommitResponsePartition,
    TxnOffsetCommitResponseTopic,
};

use crate::cluster::{BROKER_PORT, SimCluster, broker_host};
use crate::partition::StoredRecord;

/// Kafka's default `transaction.max.timeout.ms` (15 minutes).
const MAX_TRANSACTION_TIMEOUT_MS: i32 = 900_000;

/// Where a transactional id's transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnPhase {
    /// No transaction yet (after InitProducerId).
    Empty,
    /// Open: partitions or offsets were added.
    Ongoing,
    /// The last one ended: committed (`true`) or aborted.
    Complete(bool),
}

/// A transactional id's state at its coordinator.
#[derive(Debug, Clone)]
pub(crate) struct TxnEntry {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    /// The epoch the last transaction ended under (a v2 EndTxn retry is
    /// recognised by it).
    last_epoch: i16,
    phase: TxnPhase,
    partitions: BTreeSet<(String, i32)>,
    groups: BTreeSet<String>,
    /// Offsets committed with the transaction: (group, topic, partition).
    pending_offsets: BTreeMap<(String, String, i32), i64>,
    started: Option<Instant>,
    timeout: Duration,
    /// The open transaction uses the v2 protocol.
    v2: bool,
}

/// A transaction marker in a partition's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marker {
    pub(crate) offset: i64,
    pub(crate) commit: bool,
}

/// What became of a transactional id's transactions, for assertions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxnCounts {
    /// Transactions committed (EndTxn).
    pub committed: u64,
    /// Transactions aborted by EndTxn.
    pub aborted: u64,
    /// Open transactions aborted by an InitProducerId (fencing).
    pub fenced: u64,
    /// Transactions aborted by the coordinator after `transaction.timeout.ms`.
    pub timed_out: u64,
    /// Transactional writes refused for an old epoch (zombies).
    pub zombie_writes_refused: u64,
    /// Transactional writes refused because the partition was not in the
    /// transaction.
    pub writes_outside_transaction: u64,
}

/// The FNV-1a hash of a key, for spreading coordinators.
fn fnv(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl SimCluster {
    /// The broker coordinating `key` (a transactional id or a group id), if
    /// any broker is up.
    pub fn coordinator_for(&self, key: &str) -> Option<i32> {
        let live = self.live_brokers();
        if live.is_empty() {
            return None;
        }
        let i = (fnv(key).wrapping_add(self.coordinator_shift) % live.len() as u64) as usize;
        Some(live[i])
    }

    /// The producer id and epoch a transactional id has now.
    pub fn transaction_epoch(&self, transactional_id: &str) -> Option<(i64, i16)> {
        self.txns
            .get(transactional_id)
            .map(|e| (e.producer_id, e.epoch))
    }

    /// Whether `transactional_id` has a transaction open.
    pub fn transaction_open(&self, transactional_id: &str) -> bool {
        self.txns
            .get(transactional_id)
            .is_some_and(|e| e.phase == TxnPhase::Ongoing)
    }

    /// The offset committed for `group` on `topic`/`partition`, if any.
    pub fn group_offset(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
        self.group_offsets
            .get(&(group.to_owned(), topic.to_owned(), partition))
            .copied()
    }

    /// The partition's last stable offset: below it, every transaction has
    /// ended (`read_committed` readers stop there).
    pub fn last_stable_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        let p = self.topics.get(topic)?.partitions.get(partition as usize)?;
        Some(p.open_txns.values().copied().min().unwrap_or(p.log_end))
    }

    /// What a `read_committed` reader gets from the partition: records up
    /// to the last stable offset, without those of aborted transactions.
    pub fn read_committed(&self, topic: &str, partition: i32) -> Vec<StoredRecord> {
        let Some(p) = self
            .topics
            .get(topic)
            .and_then(|t| t.partitions.get(partition as usize))
        else {
            return Vec::new();
        };
        let lso = p.open_txns.values().copied().min().unwrap_or(p.log_end);
        p.records
            .iter()
            .take_while(|r| r.offset < lso)
            .filter(|r| {
                if !r.transactional {
                    return true;
                }
                // The first marker of its producer after it ends its transaction.
                let Some(markers) = p.markers.get(&r.producer_id) else {
                    return false;
                };
                let i = markers.partition_point(|m| m.offset < r.offset);
                markers.get(i).is_some_and(|m| m.commit)
            })
            .cloned()
            .collect()
    }

    /// Counts of what became of transactions.
    pub fn transaction_counts(&self) -> TxnCounts {
        self.txn_counts
    }

    /// Aborts the transactions that outlived their timeout, bumping their
    /// epoch as Kafka's coordinator does (the producer is fenced from it).
    pub(crate) fn expire_transactions(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, e)| {
                e.phase == TxnPhase::Ongoing && e.started.is_some_and(|s| s + e.timeout <= now)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.end_transaction(&id, false);
            self.bump_epoch(&id);
            self.txn_counts.timed_out += 1;
        }
    }

    /// Writes the markers of `id`'s open transaction and ends it.
    fn end_transaction(&mut self, id: &str, commit: bool) {
        let Some(e) = self.txns.get_mut(id) else {
            return;
        };
        let pid = e.producer_id;
        let partitions = std::mem::take(&mut e.partitions);
        let offsets = std::mem::take(&mut e.pending_offsets);
        e.groups.clear();
        e.phase = TxnPhase::Complete(commit);
        e.started = None;
        for (topic, index) in partitions {
            if let Some(p) = self
                .topics
                .get_mut(&topic)
                .and_then(|t| t.partitions.get_mut(index as usize))
            {
                p.open_txns.remove(&pid);
                let offset = p.log_end;
                p.markers
                    .entry(pid)
                    .or_default()
                    .push(Marker { offset, commit });
                p.log_end += 1;
            }
        }
        if commit {
            self.group_offsets.extend(offsets);
        }
    }

    /// Starts `e`'s transaction if none is open.
    fn open(e: &mut TxnEntry, now: Option<Instant>, v2: bool) {
        if e.phase != TxnPhase::Ongoing {
            e.phase = TxnPhase::Ongoing;
            e.started = now;
            e.v2 = v2;
            e.partitions.clear();
            e.groups.clear();
            e.pending_offsets.clear();
        }
    }

    /// Whether `broker` is `key`'s coordinator, after maybe moving every
    /// coordinator (the `coordinator_move` fault).
    fn is_coordinator(&mut self, broker: i32, key: &str) -> bool {
        if self.fault_rng.chance(self.faults.coordinator_move) {
            self.coordinator_shift = self.coordinator_shift.wrapping_add(1);
            self.stats.faults.coordinator_moves += 1;
        }
        self.coordinator_for(key) == Some(broker)
    }

    fn concurrent_transactions(&mut self) -> bool {
        let hit = self.fault_rng.chance(self.faults.concurrent_transactions);
        if hit {
            self.stats.faults.concurrent_transactions += 1;
        }
        hit
    }

    /// FindCoordinator: the group (key type 0) or transaction (1)
    /// coordinator of each key.
    pub(crate) fn find_coordinator(
        &self,
        r: &FindCoordinatorRequest,
        version: i16,
    ) -> FindCoordinatorResponse {
        // (error, node, host, port) for one key.
        let answer = |key: &str| -> (ErrorCode, i32, String, i32) {
            if !(0..=1).contains(&r.key_type) {
                return (ErrorCode::INVALID_REQUEST, -1, String::new(), -1);
            }
            match self.coordinator_for(key) {
                Some(b) => (ErrorCode::NONE, b, broker_host(b), i32::from(BROKER_PORT)),
                None => (ErrorCode::COORDINATOR_NOT_AVAILABLE, -1, String::new(), -1),
            }
        };
        if version < 4 {
            let (code, node_id, host, port) = answer(&r.key);
            return FindCoordinatorResponse {
                error_code: code.0,
                node_id,
                host,
                port,
                ..Default::default()
            };
        }
        FindCoordinatorResponse {
            coordinators: r
                .coordinator_keys
                .iter()
                .map(|k| {
                    let (code, node_id, host, port) = answer(k);
                    Coordinator {
                        key: k.clone(),
                        node_id,
                        host,
                        port,
                        error_code: code.0,
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        }
    }

    /// The next epoch of `id` (a new producer id once the epochs run out, as
    /// the coordinator does), remembering the one it replaces.
    fn bump_epoch(&mut self, id: &str) {
        let exhausted = self.txns.get(id).is_some_and(|e| e.epoch >= i16::MAX - 1);
        let fresh = exhausted.then(|| self.allocate_producer_id());
        if let Some(e) = self.txns.get_mut(id) {
            e.last_epoch = e.epoch;
            match fresh {
                Some(f) => {
                    e.producer_id = f.producer_id;
                    e.epoch = 0;
                }
                None => e.epoch += 1,
            }
        }
    }

    /// InitProducerId with a transactional id, at its coordinator: a new
    /// id, or the next epoch of the existing one (aborting an open
    /// transaction: the older producer is fenced).
    pub(crate) fn txn_init_producer_id(
        &mut self,
        broker: i32,
        id: &str,
        r: &InitProducerIdRequest,
        version: i16,
    ) -> InitProducerIdResponse {
        let error = |code: ErrorCode| InitProducerIdResponse {
            error_code: code.0,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        };
        if !self.is_coordinator(broker, id) {
            return error(ErrorCode::NOT_COORDINATOR);
        }
        if r.transaction_timeout_ms <= 0 || r.transaction_timeout_ms > MAX_TRANSACTION_TIMEOUT_MS {
            return error(ErrorCode::INVALID_TRANSACTION_TIMEOUT);
        }
        if self.concurrent_transactions() {
            return error(ErrorCode::CONCURRENT_TRANSACTIONS);
        }
        let timeout = Duration::from_millis(r.transaction_timeout_ms as u64);
        let fenced_code = if version >= 4 {
            ErrorCode::PRODUCER_FENCED
        } else {
            ErrorCode::INVALID_PRODUCER_EPOCH
        };
        let Some(e) = self.txns.get(id) else {
            let id_answer = self.allocate_producer_id();
            self.txns.insert(
                id.to_owned(),
                TxnEntry {
                    producer_id: id_answer.producer_id,
                    epoch: 0,
                    last_epoch: -1,
                    phase: TxnPhase::Empty,
                    partitions: BTreeSet::new(),
                    groups: BTreeSet::new(),
                    pending_offsets: BTreeMap::new(),
                    started: None,
                    timeout,
                    v2: false,
                },
            );
            return id_answer;
        };
        // KIP-360: a bump names the id and epoch it bumps.
        if r.producer_id >= 0 && (r.producer_id != e.producer_id || r.producer_epoch != e.epoch) {
            // A retry of a bump whose answer was lost is answered again.
            if r.producer_id == e.producer_id && r.producer_epoch == e.last_epoch {
                return InitProducerIdResponse {
                    producer_id: e.producer_id,
                    producer_epoch: e.epoch,
                    ..Default::default()
                };
            }
            return error(fenced_code);
        }
        if e.phase == TxnPhase::Ongoing {
            self.end_transaction(id, false);
            self.txn_counts.fenced += 1;
        }
        self.bump_epoch(id);
        let Some(e) = self.txns.get_mut(id) else {
            return error(ErrorCode::UNKNOWN_SERVER_ERROR);
        };
        e.timeout = timeout;
        e.phase = TxnPhase::Empty;
        self.stats.epoch_bumps += 1;
        InitProducerIdResponse {
            producer_id: e.producer_id,
            producer_epoch: e.epoch,
            ..Default::default()
        }
    }

    /// Checks a transactional request's producer id and epoch.
    fn check_producer(
        &self,
        id: &str,
        producer_id: i64,
        epoch: i16,
        fenced: ErrorCode,
    ) -> Result<(), ErrorCode> {
        let Some(e) = self.txns.get(id) else {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        };
        if e.producer_id != producer_id {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        }
        if e.epoch != epoch {
            return Err(fenced);
        }
        Ok(())
    }

    /// AddPartitionsToTxn, in the clients' form (v0–v3).
    pub(crate) fn add_partitions_to_txn(
        &mut self,
        broker: i32,
        r: &AddPartitionsToTxnRequest,
        version: i16,
    ) -> AddPartitionsToTxnResponse {
        let results = |topics: &[AddPartitionsToTxnTopic],
                       code: &dyn Fn(&str, i32) -> ErrorCode| {
            topics
                .iter()
                .map(|t| AddPartitionsToTxnTopicResult {
                    name: t.name.clone(),
                    results_by_partition: t
                        .partitions
                        .iter()
                        .map(|&p| AddPartitionsToTxnPartitionResult {
                            partition_index: p,
                            partition_error_code: code(&t.name, p).0,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect::<Vec<_>>()
        };
        if version >= 4 {
            // The brokers' own batched form: not sent by clients.
            return AddPartitionsToTxnResponse {
                results_by_transaction: r
                    .transactions
                    .iter()
                    .map(|t| AddPartitionsToTxnResult {
                        transactional_id: t.transactional_id.clone(),
                        topic_results: results(&t.topics, &|_, _| {
                            ErrorCode::CLUSTER_AUTHORIZATION_FAILED
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
        }
        let id = r.v3_and_below_transactional_id.clone();
        let topics = &r.v3_and_below_topics;
        let all = |code: ErrorCode| AddPartitionsToTxnResponse {
            results_by_topic_v3_and_below: results(topics, &|_, _| code),
            ..Default::default()
        };
        if !self.is_coordinator(broker, &id) {
            return all(ErrorCode::NOT_COORDINATOR);
        }
        let fenced = if version >= 2 {
            ErrorCode::PRODUCER_FENCED
        } else {
            ErrorCode::INVALID_PRODUCER_EPOCH
        };
        if let Err(code) = self.check_producer(
            &id,
            r.v3_and_below_producer_id,
            r.v3_and_below_producer_epoch,
            fenced,
        ) {
            return all(code);
        }
        if self.concurrent_transactions() {
            return all(ErrorCode::CONCURRENT_TRANSACTIONS);
        }
        let exists = |t: &str, p: i32| {
            self.topics
                .get(t)
                .is_some_and(|x| p >= 0 && (p as usize) < x.partitions.len())
        };
        if topics
            .iter()
            .any(|t| t.partitions.iter().any(|&p| !exists(&t.name, p)))
        {
            let code = |t: &str, p: i32| {
                if exists(t, p) {
                    ErrorCode::OPERATION_NOT_ATTEMPTED
                } else {
                    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                }
            };
            return AddPartitionsToTxnResponse {
                results_by_topic_v3_and_below: results(topics, &code),
                ..Default::default()
            };
        }
        let now = self.now();
        if let Some(e) = self.txns.get_mut(&id) {
            Self::open(e, now, false);
            for t in topics {
                for &p in &t.partitions {
                    e.partitions.insert((t.name.clone(), p));
                }
            }
        }
        all(ErrorCode::NONE)
    }

    /// AddOffsetsToTxn (v1 transactions): the group joins the transaction.
    pub(crate) fn add_offsets_to_txn(
        &mut self,
        broker: i32,
        r: &AddOffsetsToTxnRequest,
        version: i16,
    ) -> AddOffsetsToTxnResponse {
        let answer = |code: ErrorCode| AddOffsetsToTxnResponse {
            error_code: code.0,
            ..Default::default()
        };
        if !self.is_coordinator(broker, &r.transactional_id) {
            return answer(ErrorCode::NOT_COORDINATOR);
        }
        let fenced = if version >= 2 {
            ErrorCode::PRODUCER_FENCED
        } else {
            ErrorCode::INVALID_PRODUCER_EPOCH
        };
        if let Err(code) =
            self.check_producer(&r.transactional_id, r.producer_id, r.producer_epoch, fenced)
        {
            return answer(code);
        }
        if self.concurrent_transactions() {
            return answer(ErrorCode::CONCURRENT_TRANSACTIONS);
        }
        let now = self.now();
        if let Some(e) = self.txns.get_mut(&r.transactional_id) {
            Self::open(e, now, false);
            e.groups.insert(r.group_id.clone());
        }
        answer(ErrorCode::NONE)
    }

    /// TxnOffsetCommit, at the group's coordinator: the offsets wait for
    /// the transaction's end. v5 on transactions v2 adds the group itself.
    pub(crate) fn txn_offset_commit(
        &mut self,
        broker: i32,
        r: &TxnOffsetCommitRequest,
        version: i16,
    ) -> TxnOffsetCommitResponse {
        let code = if !self.is_coordinator(broker, &r.group_id) {
            ErrorCode::NOT_COORDINATOR
        } else if let Err(code) = self.check_producer(
            &r.transactional_id,
            r.producer_id,
            r.producer_epoch,
            ErrorCode::INVALID_PRODUCER_EPOCH,
        ) {
            code
        } else {
            let implicit = version >= 5 && self.config.transaction_version >= 2;
            let now = self.now();
            match self.txns.get_mut(&r.transactional_id) {
                Some(e) if implicit => {
                    Self::open(e, now, true);
                    e.groups.insert(r.group_id.clone());
                    ErrorCode::NONE
                }
                Some(e) if e.phase == TxnPhase::Ongoing && e.groups.contains(&r.group_id) => {
                    ErrorCode::NONE
                }
                _ => ErrorCode::INVALID_TXN_STATE,
            }
        };
        if code.is_ok() {
            if let Some(e) = self.txns.get_mut(&r.transactional_id) {
                for t in &r.topics {
                    for p in &t.partitions {
                        e.pending_offsets.insert(
                            (r.group_id.clone(), t.name.clone(), p.partition_index),
                            p.committed_offset,
                        );
                    }
                }
            }
        }
        TxnOffsetCommitResponse {
            topics: r
                .topics
                .iter()
                .map(|t| TxnOffsetCommitResponseTopic {
                    name: t.name.clone(),
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| TxnOffsetCommitResponsePartition {
                            partition_index: p.partition_index,
                            error_code: code.0,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// EndTxn: markers on every partition of the transaction; the offsets
    /// are committed with it. v5 on transactions v2 bumps the epoch.
    pub(crate) fn end_txn(
        &mut self,
        broker: i32,
        r: &EndTxnRequest,
        version: i16,
    ) -> EndTxnResponse {
        let answer = |code: ErrorCode, e: Option<&TxnEntry>| EndTxnResponse {
            error_code: code.0,
            producer_id: e.map_or(-1, |e| e.producer_id),
            producer_epoch: e.map_or(-1, |e| e.epoch),
            ..Default::default()
        };
        let id = r.transactional_id.clone();
        if !self.is_coordinator(broker, &id) {
            return answer(ErrorCode::NOT_COORDINATOR, None);
        }
        if self.concurrent_transactions() {
            return answer(ErrorCode::CONCURRENT_TRANSACTIONS, None);
        }
        let fenced = if version >= 2 {
            ErrorCode::PRODUCER_FENCED
        } else {
            ErrorCode::INVALID_PRODUCER_EPOCH
        };
        let Some(e) = self.txns.get(&id) else {
            return answer(ErrorCode::INVALID_PRODUCER_ID_MAPPING, None);
        };
        if e.producer_id != r.producer_id {
            return answer(ErrorCode::INVALID_PRODUCER_ID_MAPPING, None);
        }
        let v2 = version >= 5 && self.config.transaction_version >= 2;
        if r.producer_epoch != e.epoch {
            // A v2 retry of an EndTxn that ended the transaction already.
            if v2 && r.producer_epoch == e.last_epoch && e.phase == TxnPhase::Complete(r.committed)
            {
                return answer(ErrorCode::NONE, Some(e));
            }
            return answer(fenced, None);
        }
        match e.phase {
            TxnPhase::Ongoing => {
                self.end_transaction(&id, r.committed);
                if r.committed {
                    self.txn_counts.committed += 1;
                } else {
                    self.txn_counts.aborted += 1;
                }
                if v2 {
                    self.bump_epoch(&id);
                }
                answer(ErrorCode::NONE, self.txns.get(&id))
            }
            // A v1 retry of the same end.
            TxnPhase::Complete(c) if c == r.committed && !v2 => answer(ErrorCode::NONE, Some(e)),
            _ => answer(ErrorCode::INVALID_TXN_STATE, None),
        }
    }

    /// Checks a transactional batch against its coordinator before the
    /// append (KIP-890 part 1), adding the partition on a v2 transaction
    /// (Produce v12+).
    pub(crate) fn check_transactional_write(
        &mut self,
        transactional_id: Option<&str>,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
        version: i16,
    ) -> Result<(), ErrorCode> {
        let Some(id) = transactional_id else {
            return Err(ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        };
        let Some(e) = self.txns.get(id) else {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        };
        if e.producer_id != producer_id {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        }
        if epoch != e.epoch {
            self.txn_counts.zombie_writes_refused += 1;
            return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        let key = (topic.to_owned(), partition);
        if e.phase == TxnPhase::Ongoing && e.partitions.contains(&key) {
            return Ok(());
        }
        if version >= 12 && self.config.transaction_version >= 2 {
            let now = self.now();
            if let Some(e) = self.txns.get_mut(id) {
                Self::open(e, now, true);
                e.partitions.insert(key);
            }
            return Ok(());
        }
        self.txn_counts.writes_outside_transaction += 1;
        Err(ErrorCode::INVALID_TXN_STATE)
    }

    /// A transactional batch of `producer_id` was appended at `offset`: the
    /// partition has an open transaction from there (the LSO stops there).
    pub(crate) fn transactional_append(
        &mut self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        offset: i64,
    ) {
        if let Some(p) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.partitions.get_mut(partition as usize))
        {
            p.open_txns.entry(producer_id).or_insert(offset);
        }
    }
}
