//! The producer's side of transactions: the user's transactional calls, and
//! the glue between the transaction machine (`transaction.rs`) and the
//! rest: it sends the machine's requests over the same connections as
//! Produce, routes their answers back, and applies what they mean to
//! batches (partitions added, a new epoch, records dropped by an abort).

use std::time::{Duration, Instant};

use kafka_proto::messages::add_offsets_to_txn::AddOffsetsToTxnRequest;
use kafka_proto::messages::add_partitions_to_txn::AddPartitionsToTxnRequest;
use kafka_proto::messages::end_txn::EndTxnRequest;
use kafka_proto::messages::find_coordinator::FindCoordinatorRequest;
use kafka_proto::messages::init_producer_id::InitProducerIdRequest;
use kafka_proto::messages::txn_offset_commit::TxnOffsetCommitRequest;
use kafka_proto::{ErrorCode, Request};

use crate::connection::{self, ConnError, Purpose, Response};
use crate::error::{DeliveryErrorKind, FatalError};
use crate::event::ConnId;
use crate::lifecycle::Outcome;
use crate::metadata::BrokerAddr;
use crate::metrics::TxnStep;
use crate::producer::Producer;
use crate::transaction::{
    ConsumerGroupMetadata, Ctx, OffsetToCommit, Target, TransactionError, TransactionOp,
    TransactionProgress, TransactionState, TxnAction, TxnBody, TxnPurpose, TxnRequest,
};

/// Version caps: AddPartitionsToTxn v4+ is the brokers' own batched form;
/// TxnOffsetCommit v5 and EndTxn v5 mean transactions v2 (KIP-890), so a
/// v1 transaction stays below them, as it stays below Produce v12.
const ADD_PARTITIONS_CAP: i16 = 3;
const V1_CAP: i16 = 4;
const V2_CAP: i16 = 5;
pub(crate) const PRODUCE_V1_TRANSACTION_CAP: i16 = 11;

impl Producer {
    fn txn_checked(&mut self, now: Instant) -> Result<(), TransactionError> {
        self.advance(now);
        if self.shutdown.is_closing() || self.closed {
            return Err(TransactionError::Closed);
        }
        if self.txn.is_none() {
            return Err(TransactionError::NotTransactional);
        }
        Ok(())
    }

    /// Initializes transactions (Java's `initTransactions`): finds the
    /// transaction coordinator of `transactional.id` and gets a producer id
    /// and epoch from it, which fences any older producer with the same id
    /// and completes or aborts what that one left open. Call once, first.
    ///
    /// Returns `Pending` while it runs: an [`Event::TransactionCompleted`](crate::Event::TransactionCompleted)
    /// tells when [`transaction_result`](Self::transaction_result) has its
    /// result. Calling it again while it runs (after a timeout of the
    /// caller's) waits for the same result.
    pub fn init_transactions(
        &mut self,
        now: Instant,
    ) -> Result<TransactionProgress, TransactionError> {
        self.txn_checked(now)?;
        self.metrics.txn_call(TxnStep::Init, now);
        let r = self.txn.as_mut().map(|t| t.init());
        self.maintain();
        self.txn_returned(TxnStep::Init, &r);
        r.unwrap_or(Err(TransactionError::NotTransactional))
    }

    /// Opens a transaction: records sent from now on are part of it.
    pub fn begin_transaction(&mut self, now: Instant) -> Result<(), TransactionError> {
        self.txn_checked(now)?;
        let Some(txn) = self.txn.as_mut() else {
            return Err(TransactionError::NotTransactional);
        };
        if let Some(features) = self.nodes.finalized_features() {
            txn.saw_features(features.0, features.1);
        }
        // Local: no time passes in the core's clock.
        self.metrics.txn_call(TxnStep::Begin, now);
        self.metrics.txn_finished(TxnStep::Begin, now);
        txn.begin()
    }

    /// Adds a consumer group's offsets to the open transaction (KIP-447):
    /// they are committed with it, or not at all. `offsets` are the next
    /// offsets to read (the last processed plus one).
    pub fn send_offsets_to_transaction(
        &mut self,
        offsets: &[OffsetToCommit],
        group: &ConsumerGroupMetadata,
        now: Instant,
    ) -> Result<TransactionProgress, TransactionError> {
        self.txn_checked(now)?;
        self.metrics.txn_call(TxnStep::SendOffsets, now);
        let r = self
            .txn
            .as_mut()
            .map(|t| t.send_offsets(offsets.to_vec(), group.clone()));
        self.maintain();
        self.txn_returned(TxnStep::SendOffsets, &r);
        r.unwrap_or(Err(TransactionError::NotTransactional))
    }

    /// Commits the open transaction: sends every record without waiting for
    /// `linger.ms`, waits for their outcomes, then ends the transaction at
    /// the coordinator. If a record failed, the commit fails with an
    /// abortable error: abort then. After a timeout of the caller's, calling
    /// it again waits for the same commit (Java's semantics).
    pub fn commit_transaction(
        &mut self,
        now: Instant,
    ) -> Result<TransactionProgress, TransactionError> {
        self.txn_checked(now)?;
        self.metrics.txn_call(TxnStep::Commit, now);
        let r = self.txn.as_mut().map(|t| t.commit());
        if matches!(r, Some(Ok(TransactionProgress::Pending))) {
            self.sender.send_now_below(self.ledger.next_id());
        }
        self.maintain();
        self.txn_returned(TxnStep::Commit, &r);
        r.unwrap_or(Err(TransactionError::NotTransactional))
    }

    /// Aborts the open transaction: records not sent yet fail with
    /// [`DeliveryErrorKind::TransactionAborted`], those in flight are
    /// waited for, then the coordinator aborts the transaction (its records
    /// are never visible to `read_committed` readers). Allowed in the
    /// abortable error state, which it leaves.
    pub fn abort_transaction(
        &mut self,
        now: Instant,
    ) -> Result<TransactionProgress, TransactionError> {
        self.txn_checked(now)?;
        self.metrics.txn_call(TxnStep::Abort, now);
        let r = self.txn.as_mut().map(|t| t.abort(true));
        self.maintain();
        self.txn_returned(TxnStep::Abort, &r);
        r.unwrap_or(Err(TransactionError::NotTransactional))
    }

    /// The result of a transactional operation that returned `Pending`,
    /// once its [`Event::TransactionCompleted`](crate::Event::TransactionCompleted)
    /// came (it is handed out once).
    pub fn transaction_result(
        &mut self,
        op: TransactionOp,
    ) -> Option<Result<(), TransactionError>> {
        self.txn.as_mut()?.take_result(op)
    }

    /// Whether `op`'s result is ready for [`transaction_result`](Self::transaction_result).
    pub fn transaction_result_ready(&self, op: TransactionOp) -> bool {
        self.txn.as_ref().is_some_and(|t| t.has_result(op))
    }

    /// The transaction state; `None` without a `transactional.id`.
    pub fn transaction_state(&self) -> Option<TransactionState> {
        self.txn.as_ref().map(|t| t.state())
    }

    /// Whether the open transaction uses the v2 protocol (KIP-890): the
    /// brokers' finalized `transaction.version` was 2 or more when it
    /// began.
    pub fn transaction_uses_v2(&self) -> Option<bool> {
        self.txn.as_ref().map(|t| t.is_v2())
    }

    /// A transactional call returned: unless it is still pending, its time
    /// is counted now.
    fn txn_returned(
        &mut self,
        step: TxnStep,
        r: &Option<Result<TransactionProgress, TransactionError>>,
    ) {
        if !matches!(r, Some(Ok(TransactionProgress::Pending))) {
            self.metrics.txn_finished(step, self.now);
        }
    }

    /// The transaction machine's step after any input.
    pub(crate) fn maintain_transactions(&mut self) {
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        if txn.is_aborting() {
            self.drop_unsent_for_abort();
        }
        for _ in 0..4 {
            let cx = self.txn_ctx();
            let Some(txn) = self.txn.as_mut() else {
                return;
            };
            let mut events = Vec::new();
            let request = txn.poll_request(&cx, &mut events);
            let ready = txn.state() == TransactionState::Ready;
            self.emit(events);
            if ready {
                self.transaction_ended();
            }
            let Some(request) = request else {
                return;
            };
            if !self.send_txn_request(request) {
                return;
            }
        }
    }

    /// Sends a request of the machine; false when it could not go yet
    /// (no ready connection: the machine asks again on a later turn).
    fn send_txn_request(&mut self, request: TxnRequest) -> bool {
        let TxnRequest {
            target,
            purpose,
            body,
        } = request;
        let conn = match target {
            Target::Any => self.any_connection(),
            Target::Node(node) => self.nodes.ready_conn(node, self.now, &mut self.rng),
        };
        let unsent = |p: &mut Producer| {
            if let Some(t) = p.txn.as_mut() {
                t.unsent(purpose);
            }
            false
        };
        let Some(conn) = conn else {
            if let Target::Node(node) = target {
                if !self.nodes.knows(node) {
                    self.metadata.request();
                }
            }
            return unsent(self);
        };
        let v2 = self.txn.as_ref().is_some_and(|t| t.is_v2());
        let sent = match body {
            TxnBody::FindCoordinator { key, key_type } => {
                let Some(version) = self.version_of::<FindCoordinatorRequest>(conn, 6) else {
                    return self.txn_unsupported(conn, "FindCoordinator");
                };
                if version == 0 && key_type != 0 {
                    return self.txn_unsupported(conn, "FindCoordinator");
                }
                let body = if version >= 4 {
                    FindCoordinatorRequest {
                        key_type,
                        coordinator_keys: vec![key],
                        ..Default::default()
                    }
                } else {
                    FindCoordinatorRequest {
                        key,
                        key_type,
                        ..Default::default()
                    }
                };
                self.send_on(conn, &body, version, purpose)
            }
            TxnBody::InitProducerId(mut body) => {
                let Some(version) = self.version_of::<InitProducerIdRequest>(conn, 5) else {
                    return self.txn_unsupported(conn, "InitProducerId");
                };
                if version < 3 {
                    // No bump of a given epoch before KIP-360: the
                    // transactional id alone gets the next epoch.
                    body.producer_id = -1;
                    body.producer_epoch = -1;
                }
                self.send_on(conn, &body, version, purpose)
            }
            TxnBody::AddPartitions(body) => {
                let Some(version) =
                    self.version_of::<AddPartitionsToTxnRequest>(conn, ADD_PARTITIONS_CAP)
                else {
                    return self.txn_unsupported(conn, "AddPartitionsToTxn");
                };
                self.send_on(conn, &body, version, purpose)
            }
            TxnBody::AddOffsets(body) => {
                let Some(version) = self.version_of::<AddOffsetsToTxnRequest>(conn, V1_CAP) else {
                    return self.txn_unsupported(conn, "AddOffsetsToTxn");
                };
                self.send_on(conn, &body, version, purpose)
            }
            TxnBody::TxnOffsetCommit(body) => {
                let cap = if v2 { V2_CAP } else { V1_CAP };
                let Some(version) = self.version_of::<TxnOffsetCommitRequest>(conn, cap) else {
                    return self.txn_unsupported(conn, "TxnOffsetCommit");
                };
                self.send_on(conn, &body, version, purpose)
            }
            TxnBody::EndTxn(body) => {
                let cap = if v2 { V2_CAP } else { V1_CAP };
                let Some(version) = self.version_of::<EndTxnRequest>(conn, cap) else {
                    return self.txn_unsupported(conn, "EndTxn");
                };
                self.send_on(conn, &body, version, purpose)
            }
        };
        if !sent {
            return unsent(self);
        }
        if let Some(t) = self.txn.as_mut() {
            t.sent(purpose);
        }
        true
    }

    fn version_of<R: Request>(&self, conn: ConnId, cap: i16) -> Option<i16> {
        self.nodes.get(conn)?.versions().pick::<R>(cap)
    }

    fn send_on<R: Request>(
        &mut self,
        conn: ConnId,
        body: &R,
        version: i16,
        purpose: TxnPurpose,
    ) -> bool {
        let now = self.now;
        self.nodes
            .get_mut(conn)
            .is_some_and(|c| c.send(body, version, Purpose::Txn(purpose), now).is_ok())
    }

    fn txn_unsupported(&mut self, _conn: ConnId, api: &'static str) -> bool {
        self.fail_fatal(FatalError::UnsupportedBroker {
            api,
            needed: "a version for transactions (Kafka 0.11+; 2.5+ for KIP-447)",
        });
        false
    }

    /// An abort drops the records not sent yet; those in flight settle.
    fn drop_unsent_for_abort(&mut self) {
        let mut dropped = Vec::new();
        for t in self.topics.values_mut() {
            for q in &mut t.partitions {
                q.close_open();
                for b in q.queue.drain(..) {
                    dropped.push((t.name.clone(), b));
                }
            }
        }
        for (topic, b) in dropped {
            let written = b.possibly_written;
            self.finish(
                &topic,
                b,
                Outcome::failed(DeliveryErrorKind::TransactionAborted, written),
            );
        }
    }

    /// A transaction ended: no partition is in a transaction any more.
    fn transaction_ended(&mut self) {
        for t in self.topics.values_mut() {
            for q in &mut t.partitions {
                q.txn_written = false;
                q.txn_added = false;
            }
        }
    }

    /// What the transaction machine needs to know of the rest, now.
    fn txn_ctx(&self) -> Ctx {
        Ctx {
            now: self.now,
            producer: self.idempotence.current(),
            idle: self.ledger.outstanding() == 0 && !self.sender.has_requests(),
            nothing_in_flight: !self.sender.has_requests(),
            bump_needed: self.idempotence.bump_requested(),
        }
    }

    /// The backoff before a transactional request is tried again
    /// (`retry.backoff.ms`, with jitter).
    pub(crate) fn txn_backoff(&mut self) -> Duration {
        self.backoff(self.config.retry_backoff, self.config.retry_backoff_max, 0)
    }

    /// A transactional request's connection was lost.
    pub(crate) fn txn_request_lost(&mut self, purpose: TxnPurpose) {
        let delay = self.txn_backoff();
        if let Some(t) = self.txn.as_mut() {
            t.request_lost(purpose, self.now, delay);
        }
    }

    /// Routes a transactional answer to the machine and applies the result.
    pub(crate) fn on_txn_response(
        &mut self,
        purpose: TxnPurpose,
        response: Response,
    ) -> Result<(), ConnError> {
        let now = self.now;
        let delay = self.txn_backoff();
        let cx = self.txn_ctx();
        let mut events = Vec::new();
        let Some(txn) = self.txn.as_mut() else {
            return Ok(());
        };
        let action = match purpose {
            TxnPurpose::FindTxnCoordinator | TxnPurpose::FindGroupCoordinator => {
                let body = connection::decode::<FindCoordinatorRequest>(response)?;
                txn.on_find_coordinator(purpose, body, now, delay, &mut events)
            }
            TxnPurpose::InitProducerId => {
                let body = connection::decode::<InitProducerIdRequest>(response)?;
                txn.on_init_producer_id(body, now, delay, &mut events)
            }
            TxnPurpose::AddPartitions => {
                let body = connection::decode::<AddPartitionsToTxnRequest>(response)?;
                txn.on_add_partitions(body, now, delay, &mut events)
            }
            TxnPurpose::AddOffsets => {
                let body = connection::decode::<AddOffsetsToTxnRequest>(response)?;
                txn.on_add_offsets(ErrorCode(body.error_code), now, delay, &mut events)
            }
            TxnPurpose::TxnOffsetCommit => {
                let body = connection::decode::<TxnOffsetCommitRequest>(response)?;
                txn.on_txn_offset_commit(body, now, delay, &mut events)
            }
            TxnPurpose::EndTxn => {
                let body = connection::decode::<EndTxnRequest>(response)?;
                txn.on_end_txn(body, &cx, delay, &mut events)
            }
        };
        let ready = txn.state() == TransactionState::Ready;
        match action {
            TxnAction::Nothing | TxnAction::Ended => {}
            TxnAction::AdoptId { producer_id, epoch } => {
                self.adopt_producer_id(producer_id, epoch);
            }
            TxnAction::LearnAddress { node, host, port } => {
                self.nodes.learn([(node, BrokerAddr { host, port })]);
            }
            TxnAction::PartitionsAdded(added) => {
                for (topic, partition) in added {
                    if let Some(q) = self
                        .topics
                        .get_mut(&topic)
                        .and_then(|t| t.partitions.get_mut(partition as usize))
                    {
                        q.txn_added = true;
                    }
                }
                self.sender.sendable();
            }
            TxnAction::Fatal(error) => self.fail_fatal(error),
        }
        self.emit(events);
        if ready {
            self.transaction_ended();
        }
        Ok(())
    }

    /// A new producer id or epoch: every partition starts again at
    /// sequence 0 (unacknowledged batches are restamped when next sent).
    pub(crate) fn adopt_producer_id(&mut self, producer_id: i64, epoch: i16) {
        self.idempotence.adopt(producer_id, epoch);
        self.restart_sequences();
    }
}
