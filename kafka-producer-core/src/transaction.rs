//! Transactions (KIP-98, KIP-447, KIP-890): the transaction state machine.
//!
//! [`Transactions`] holds the Java client's states ([`TransactionState`])
//! and decides, one request at a time, what the transaction coordinator (or
//! the consumer group's coordinator) must be asked next: FindCoordinator,
//! InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit,
//! EndTxn. It knows nothing of sockets or batches: the producer
//! (`coordinator.rs`) sends what [`Transactions::poll_request`] returns and
//! feeds the answers back; it tells the machine when the records of the
//! transaction are all settled ([`Ctx::idle`]).
//!
//! Two protocols, chosen per transaction at `begin_transaction`:
//! - v1 (KIP-98): every partition is added with AddPartitionsToTxn before
//!   its first batch goes out; offsets need AddOffsetsToTxn; EndTxn ends.
//! - v2 (KIP-890, when the brokers' finalized `transaction.version` is 2
//!   or more): Produce v12 adds partitions implicitly, TxnOffsetCommit v5
//!   adds the group implicitly, and every EndTxn bumps the producer epoch
//!   (its answer carries the new one), which closes the window in which a
//!   late write of an ended transaction could land in the next one.
//!
//! Errors are classified once ([`classify`]): retried (after rediscovering
//! the coordinator where the error says it moved), abortable (the
//! application aborts the transaction and goes on) or fatal (the producer
//! cannot go on: fenced, unauthorized, misconfigured).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_proto::ErrorCode;
use kafka_proto::messages::add_offsets_to_txn::AddOffsetsToTxnRequest;
use kafka_proto::messages::add_partitions_to_txn::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, AddPartitionsToTxnTopic,
};
use kafka_proto::messages::end_txn::{EndTxnRequest, EndTxnResponse};
use kafka_proto::messages::find_coordinator::FindCoordinatorResponse;
use kafka_proto::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafka_proto::messages::txn_offset_commit::{
    TxnOffsetCommitRequest, TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
    TxnOffsetCommitResponse,
};

use crate::error::{DeliveryError, FatalError};
use crate::event::Event;

/// Backoff after CONCURRENT_TRANSACTIONS: the coordinator is still writing
/// the markers of the previous transaction, which takes milliseconds (the
/// Java client waits 20 ms rather than `retry.backoff.ms`).
pub(crate) const CONCURRENT_TRANSACTIONS_BACKOFF: Duration = Duration::from_millis(20);

/// The states of a transactional producer, as the Java client names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionState {
    /// `init_transactions` has not been called (or not finished).
    Uninitialized,
    /// `init_transactions` is running: finding the coordinator and getting
    /// a producer id and epoch (fencing older instances).
    Initializing,
    /// No transaction is open: `begin_transaction` may be called.
    Ready,
    /// A transaction is open: records and offsets may be sent.
    InTransaction,
    /// `commit_transaction` is running.
    Committing,
    /// `abort_transaction` (or `close`) is running.
    Aborting,
    /// The open transaction cannot commit: abort it, then go on.
    AbortableError,
    /// The producer cannot go on (see the error); close it.
    FatalError,
}

impl fmt::Display for TransactionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransactionState::Uninitialized => "UNINITIALIZED",
            TransactionState::Initializing => "INITIALIZING",
            TransactionState::Ready => "READY",
            TransactionState::InTransaction => "IN_TRANSACTION",
            TransactionState::Committing => "COMMITTING_TRANSACTION",
            TransactionState::Aborting => "ABORTING_TRANSACTION",
            TransactionState::AbortableError => "ABORTABLE_ERROR",
            TransactionState::FatalError => "FATAL_ERROR",
        })
    }
}

/// The transactional operations that complete later, with an
/// [`Event::TransactionCompleted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionOp {
    /// `init_transactions`.
    Init,
    /// `send_offsets_to_transaction`.
    SendOffsets,
    /// `commit_transaction`.
    Commit,
    /// `abort_transaction`.
    Abort,
}

impl TransactionOp {
    /// The operation's name, as the Java client's method.
    pub fn name(self) -> &'static str {
        match self {
            TransactionOp::Init => "initTransactions",
            TransactionOp::SendOffsets => "sendOffsetsToTransaction",
            TransactionOp::Commit => "commitTransaction",
            TransactionOp::Abort => "abortTransaction",
        }
    }
}

/// Where a transactional operation stands after the call that started it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum TransactionProgress {
    /// It is complete; no event follows.
    Done,
    /// It runs: [`Event::TransactionCompleted`] tells when its result is
    /// ready for [`Producer::transaction_result`](crate::Producer::transaction_result).
    Pending,
}

/// Why a transaction must be aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbortReason {
    /// A transactional request failed with this error (for example
    /// TOPIC_AUTHORIZATION_FAILED, TRANSACTION_ABORTABLE, or a consumer
    /// group error of `send_offsets_to_transaction`).
    Broker {
        /// The request: `AddPartitionsToTxn`, `TxnOffsetCommit`, ...
        request: &'static str,
        /// The error.
        code: ErrorCode,
    },
    /// A record of the transaction was not delivered.
    RecordFailed(DeliveryError),
}

impl fmt::Display for AbortReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbortReason::Broker { request, code } => write!(f, "{request} failed: {code}"),
            AbortReason::RecordFailed(e) => write!(f, "a record was not delivered: {e}"),
        }
    }
}

/// Why a transactional operation failed.
///
/// The classes are KIP-1050's: [`is_abortable`](Self::is_abortable) (abort
/// the transaction and go on), [`is_fatal`](Self::is_fatal) (close the
/// producer; a fenced one must be replaced by a new instance),
/// [`is_retriable`](Self::is_retriable) (call the same operation again), and
/// the rest are misuse (an operation in the wrong state).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionError {
    /// The producer has no `transactional.id`.
    NotTransactional,
    /// The operation is not allowed in this state (Java's
    /// `IllegalStateException`), or another operation is still running.
    InvalidState {
        /// The operation.
        operation: &'static str,
        /// The state it was called in.
        state: TransactionState,
    },
    /// The transaction cannot commit: abort it, then begin a new one.
    Abortable(AbortReason),
    /// The producer cannot go on.
    Fatal(FatalError),
    /// The operation did not finish within the caller's timeout; it goes on,
    /// and calling it again waits for the same result (the runtime crates'
    /// timeouts).
    Timeout {
        /// The operation.
        operation: &'static str,
    },
    /// The producer was closed.
    Closed,
}

impl TransactionError {
    /// Whether the application should abort the transaction and go on.
    pub fn is_abortable(&self) -> bool {
        matches!(self, TransactionError::Abortable(_))
    }

    /// Whether the producer cannot go on and must be closed.
    pub fn is_fatal(&self) -> bool {
        matches!(self, TransactionError::Fatal(_) | TransactionError::Closed)
    }

    /// Whether another producer with the same `transactional.id` took over
    /// (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH): fatal for this instance.
    pub fn is_fenced(&self) -> bool {
        matches!(self, TransactionError::Fatal(e) if e.is_fenced())
    }

    /// Whether calling the same operation again may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(self, TransactionError::Timeout { .. })
    }
}

impl fmt::Display for TransactionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionError::NotTransactional => {
                f.write_str("the producer is not transactional: set transactional.id")
            }
            TransactionError::InvalidState { operation, state } => {
                write!(f, "cannot call {operation} in state {state}")
            }
            TransactionError::Abortable(r) => {
                write!(f, "the transaction must be aborted: {r}")
            }
            TransactionError::Fatal(e) => write!(f, "the producer failed: {e}"),
            TransactionError::Timeout { operation } => write!(
                f,
                "{operation} did not finish in time; it goes on, call it again to wait for it"
            ),
            TransactionError::Closed => f.write_str("the producer is closed"),
        }
    }
}

impl std::error::Error for TransactionError {}

/// A consumer group's identity for `send_offsets_to_transaction` (KIP-447):
/// with the generation and member id, the group coordinator refuses
/// offsets from a member that was rebalanced out (a zombie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupMetadata {
    /// `group.id`.
    pub group_id: String,
    /// The group's generation, or -1 (no membership check).
    pub generation_id: i32,
    /// The member id, or empty.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
}

impl ConsumerGroupMetadata {
    /// A plain group id, without membership (generation -1): the offsets
    /// are committed whatever the group's members.
    pub fn new(group_id: impl Into<String>) -> Self {
        ConsumerGroupMetadata {
            group_id: group_id.into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }
}

/// An offset to commit with the transaction: the next offset the group
/// should read from `topic`/`partition` (the last processed one plus one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetToCommit {
    /// The input topic.
    pub topic: String,
    /// The input partition.
    pub partition: i32,
    /// The offset to commit.
    pub offset: i64,
    /// Optional metadata stored with it.
    pub metadata: Option<String>,
}

/// How an error of a transactional request is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    /// Success.
    Ok,
    /// The coordinator moved or is not ready: find it again, then retry.
    Rediscover,
    /// Retry the same request after a backoff.
    Retry,
    /// The transaction must be aborted; the producer goes on.
    Abortable,
    /// The producer cannot go on.
    Fatal,
}

/// How an error of a transactional request (FindCoordinator,
/// InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit,
/// EndTxn) is handled, following the Java client's handlers and KIP-1050.
/// Codes not named are fatal, as in the Java client ("unexpected error").
pub(crate) fn classify(code: ErrorCode) -> ErrorClass {
    match code {
        ErrorCode::NONE => ErrorClass::Ok,
        ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => ErrorClass::Rediscover,
        ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
        | ErrorCode::CONCURRENT_TRANSACTIONS
        | ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
        | ErrorCode::OPERATION_NOT_ATTEMPTED
        | ErrorCode::REQUEST_TIMED_OUT
        | ErrorCode::NETWORK_EXCEPTION
        | ErrorCode::REBALANCE_IN_PROGRESS => ErrorClass::Retry,
        // The transaction is lost but the producer can go on: abort.
        ErrorCode::TOPIC_AUTHORIZATION_FAILED
        | ErrorCode::GROUP_AUTHORIZATION_FAILED
        | ErrorCode::TRANSACTION_ABORTABLE
        | ErrorCode::UNKNOWN_PRODUCER_ID
        | ErrorCode::INVALID_PRODUCER_ID_MAPPING
        | ErrorCode::UNKNOWN_MEMBER_ID
        | ErrorCode::ILLEGAL_GENERATION
        | ErrorCode::FENCED_INSTANCE_ID
        | ErrorCode::INVALID_RECORD
        | ErrorCode::MESSAGE_TOO_LARGE
        | ErrorCode::RECORD_LIST_TOO_LARGE
        | ErrorCode::INVALID_TIMESTAMP => ErrorClass::Abortable,
        // Fenced, unauthorized, misconfigured, or a broker that disagrees
        // with us about the state: nothing this producer can fix.
        ErrorCode::PRODUCER_FENCED
        | ErrorCode::INVALID_PRODUCER_EPOCH
        | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        | ErrorCode::CLUSTER_AUTHORIZATION_FAILED
        | ErrorCode::INVALID_TXN_STATE
        | ErrorCode::INVALID_TRANSACTION_TIMEOUT
        | ErrorCode::TRANSACTIONAL_ID_NOT_FOUND
        | ErrorCode::UNSUPPORTED_VERSION
        | ErrorCode::UNSUPPORTED_FOR_MESSAGE_FORMAT => ErrorClass::Fatal,
        c if c.is_retriable() => ErrorClass::Retry,
        _ => ErrorClass::Fatal,
    }
}

/// Produce errors that end a transaction for good: the producer was fenced
/// or its epoch is no longer the coordinator's.
pub(crate) fn produce_error_is_fatal_in_transaction(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::PRODUCER_FENCED
            | ErrorCode::INVALID_PRODUCER_EPOCH
            | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            | ErrorCode::INVALID_TXN_STATE
    )
}

/// What a transactional request was for (the connection's routing tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnPurpose {
    FindTxnCoordinator,
    FindGroupCoordinator,
    InitProducerId,
    AddPartitions,
    AddOffsets,
    TxnOffsetCommit,
    EndTxn,
}

/// Which broker a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Any ready broker (FindCoordinator).
    Any,
    /// The broker with this node id (a coordinator).
    Node(i32),
}

/// A request body for the producer to send.
#[derive(Debug, Clone)]
pub(crate) enum TxnBody {
    FindCoordinator { key: String, key_type: i8 },
    InitProducerId(InitProducerIdRequest),
    AddPartitions(AddPartitionsToTxnRequest),
    AddOffsets(AddOffsetsToTxnRequest),
    TxnOffsetCommit(TxnOffsetCommitRequest),
    EndTxn(EndTxnRequest),
}

/// The next request: where, what for, what.
#[derive(Debug, Clone)]
pub(crate) struct TxnRequest {
    pub(crate) target: Target,
    pub(crate) purpose: TxnPurpose,
    pub(crate) body: TxnBody,
}

/// What the producer tells the machine when it asks for the next request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub(crate) now: Instant,
    /// The producer id and epoch in use, when there is one.
    pub(crate) producer: Option<(i64, i16)>,
    /// Every record of the transaction has its outcome and no Produce
    /// request is in flight.
    pub(crate) idle: bool,
    /// No Produce request is in flight (records may still wait unsent).
    pub(crate) nothing_in_flight: bool,
    /// The sequences were broken by a failed batch: the epoch must be
    /// bumped before the next transaction (KIP-360).
    pub(crate) bump_needed: bool,
}

/// What the producer must do after an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub(crate) enum TxnAction {
    Nothing,
    /// Use this producer id and epoch from now on (sequences start at 0).
    AdoptId {
        producer_id: i64,
        epoch: i16,
    },
    /// Learn a coordinator's address.
    LearnAddress {
        node: i32,
        host: String,
        port: u16,
    },
    /// These partitions are in the transaction now: their batches may go.
    PartitionsAdded(Vec<(Arc<str>, i32)>),
    /// The transaction ended (committed or aborted): every partition leaves it.
    Ended,
    /// The producer is fenced or otherwise cannot go on.
    Fatal(FatalError),
}

/// The stage of a `send_offsets_to_transaction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OffsetsStage {
    /// AddOffsetsToTxn to the transaction coordinator (v1).
    AddOffsets,
    /// TxnOffsetCommit to the group coordinator.
    Commit,
}

#[derive(Debug, Clone)]
struct PendingOffsets {
    group: ConsumerGroupMetadata,
    offsets: Vec<OffsetToCommit>,
    stage: OffsetsStage,
}

/// How far an ending transaction got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Waiting for the records (and partition adds, offsets) to settle.
    Settling,
    /// EndTxn is being sent or awaited.
    EndTxn,
    /// After an abort (v1): InitProducerId bumps the epoch (KIP-360).
    Bump,
}

/// The operation being run and, once known, its result (kept until the
/// caller takes it: a call that timed out can call again for it).
#[derive(Debug, Clone)]
struct OpSlot {
    op: TransactionOp,
    result: Option<Result<(), TransactionError>>,
}

/// The transaction state machine.
#[derive(Debug)]
pub(crate) struct Transactions {
    transactional_id: Arc<str>,
    timeout_ms: i32,
    state: TransactionState,
    /// The transaction coordinator's node, once found.
    coordinator: Option<i32>,
    /// The group coordinator of the offsets being sent.
    group_coordinator: Option<i32>,
    /// The one transactional request in flight.
    in_flight: Option<TxnPurpose>,
    retry_at: Option<Instant>,
    failures: u32,
    /// The newest finalized features seen: (epoch, transaction.version).
    features: Option<(i64, i16)>,
    /// The open transaction uses the v2 protocol (KIP-890).
    v2: bool,
    /// Partitions written in this transaction and not yet added (v1).
    new_partitions: Vec<(Arc<str>, i32)>,
    /// Partitions in the AddPartitionsToTxn in flight.
    adding: Vec<(Arc<str>, i32)>,
    /// The coordinator knows of this transaction: EndTxn is needed.
    started: bool,
    /// A request that may have started the transaction at the coordinator
    /// got no answer (a Produce of a v2 transaction, an add whose answer
    /// was lost): ending it must not rely on EndTxn, which a coordinator
    /// that never heard of it refuses (INVALID_TXN_STATE, or PRODUCER_FENCED
    /// on v2); an epoch bump (InitProducerId, KIP-360) aborts whatever is
    /// open and is safe either way.
    in_doubt: bool,
    offsets: Option<PendingOffsets>,
    ending: Option<(bool, Ending)>,
    op: Option<OpSlot>,
    /// Why the transaction must be aborted, or why the producer failed.
    error: Option<TransactionError>,
    /// The InitProducerId in flight bumps an existing epoch.
    bumping: bool,
}

impl Transactions {
    pub(crate) fn new(transactional_id: &str, timeout: Duration) -> Self {
        Transactions {
            transactional_id: transactional_id.into(),
            timeout_ms: timeout.as_millis().min(i32::MAX as u128) as i32,
            state: TransactionState::Uninitialized,
            coordinator: None,
            group_coordinator: None,
            in_flight: None,
            retry_at: None,
            failures: 0,
            features: None,
            v2: false,
            new_partitions: Vec::new(),
            adding: Vec::new(),
            started: false,
            in_doubt: false,
            offsets: None,
            ending: None,
            op: None,
            error: None,
            bumping: false,
        }
    }

    pub(crate) fn state(&self) -> TransactionState {
        self.state
    }

    /// The open (or last) transaction uses the v2 protocol.
    pub(crate) fn is_v2(&self) -> bool {
        self.v2
    }

    pub(crate) fn transactional_id(&self) -> &Arc<str> {
        &self.transactional_id
    }

    /// When the machine wants to be woken for a retry.
    pub(crate) fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Whether an ending transaction (commit or abort) is in progress: a
    /// close waits for it.
    pub(crate) fn is_ending(&self) -> bool {
        self.ending.is_some()
            || matches!(
                self.state,
                TransactionState::Committing | TransactionState::Aborting
            )
    }

    /// Whether an abort is in progress (unsent records are dropped then).
    pub(crate) fn is_aborting(&self) -> bool {
        self.state == TransactionState::Aborting
    }

    /// Whether records of the open transaction may be sent to brokers
    /// (partitions still need adding in v1 before their batches go).
    pub(crate) fn records_flow(&self) -> bool {
        matches!(
            self.state,
            TransactionState::InTransaction
                | TransactionState::Committing
                | TransactionState::Aborting
                | TransactionState::AbortableError
        )
    }

    /// A broker's finalized features: the newest epoch wins (Java's rule).
    pub(crate) fn saw_features(&mut self, epoch: i64, transaction_version: i16) {
        if self.features.is_none_or(|(e, _)| epoch > e) {
            self.features = Some((epoch, transaction_version));
        }
    }

    fn v2_available(&self) -> bool {
        self.features.is_some_and(|(_, v)| v >= 2)
    }

    /// The result of `op`, once it is complete (taken: asked once).
    pub(crate) fn take_result(
        &mut self,
        op: TransactionOp,
    ) -> Option<Result<(), TransactionError>> {
        match &mut self.op {
            Some(slot) if slot.op == op && slot.result.is_some() => {
                let r = slot.result.take();
                self.op = None;
                r
            }
            _ => None,
        }
    }

    /// Whether `op`'s result is ready.
    pub(crate) fn has_result(&self, op: TransactionOp) -> bool {
        matches!(&self.op, Some(slot) if slot.op == op && slot.result.is_some())
    }

    fn complete(&mut self, events: &mut Vec<Event>, result: Result<(), TransactionError>) {
        if let Some(slot) = &mut self.op {
            if slot.result.is_none() {
                slot.result = Some(result);
                events.push(Event::TransactionCompleted(slot.op));
            }
        }
    }

    /// A call of `op`: its cached result if it ran before and the caller
    /// gave up waiting, `Pending` if it runs, or an error if another
    /// operation runs.
    fn resume(
        &mut self,
        op: TransactionOp,
    ) -> Option<Result<TransactionProgress, TransactionError>> {
        let slot = self.op.as_ref()?;
        if slot.op == op {
            return Some(match self.take_result(op) {
                Some(Ok(())) => Ok(TransactionProgress::Done),
                Some(Err(e)) => Err(e),
                None => Ok(TransactionProgress::Pending),
            });
        }
        if slot.result.is_none() {
            return Some(Err(TransactionError::InvalidState {
                operation: op.name(),
                state: self.state,
            }));
        }
        // A finished operation nobody collected: forget it.
        self.op = None;
        None
    }

    /// The error of an operation refused in this state: the transaction's
    /// own error in the abortable and fatal states, misuse otherwise.
    fn fail_state(&self, operation: &'static str) -> TransactionError {
        match (&self.state, &self.error) {
            (TransactionState::FatalError, Some(e))
            | (TransactionState::AbortableError, Some(e)) => e.clone(),
            _ => TransactionError::InvalidState {
                operation,
                state: self.state,
            },
        }
    }

    /// `init_transactions`.
    pub(crate) fn init(&mut self) -> Result<TransactionProgress, TransactionError> {
        if let Some(r) = self.resume(TransactionOp::Init) {
            return r;
        }
        if self.state != TransactionState::Uninitialized {
            return Err(self.fail_state(TransactionOp::Init.name()));
        }
        self.state = TransactionState::Initializing;
        self.op = Some(OpSlot {
            op: TransactionOp::Init,
            result: None,
        });
        Ok(TransactionProgress::Pending)
    }

    /// `begin_transaction`.
    pub(crate) fn begin(&mut self) -> Result<(), TransactionError> {
        if self.op.as_ref().is_some_and(|s| s.result.is_none())
            || self.state != TransactionState::Ready
        {
            return Err(self.fail_state("beginTransaction"));
        }
        self.op = None;
        self.state = TransactionState::InTransaction;
        self.v2 = self.v2_available();
        self.started = false;
        self.in_doubt = false;
        self.error = None;
        Ok(())
    }

    /// Whether `send` may take a record now.
    pub(crate) fn check_send(&self) -> Result<(), TransactionError> {
        if self.state == TransactionState::InTransaction {
            Ok(())
        } else {
            Err(self.fail_state("send"))
        }
    }

    /// A record went to a partition not yet in the transaction. Returns
    /// whether its batches may go at once (v2: Produce adds it).
    pub(crate) fn partition_written(&mut self, topic: &Arc<str>, partition: i32) -> bool {
        if self.v2 {
            return true;
        }
        self.new_partitions.push((topic.clone(), partition));
        false
    }

    /// A Produce request of the transaction went out (v2: the coordinator
    /// may learn of the transaction from it; until a batch is acknowledged
    /// it is not sure).
    pub(crate) fn produced(&mut self) {
        if self.v2 && !self.started {
            self.in_doubt = true;
        }
    }

    /// A batch of the transaction was acknowledged: its partition is in the
    /// transaction at the coordinator (KIP-890 verification).
    pub(crate) fn produce_acknowledged(&mut self) {
        if self.records_flow() {
            self.started = true;
        }
    }

    /// `send_offsets_to_transaction`.
    pub(crate) fn send_offsets(
        &mut self,
        offsets: Vec<OffsetToCommit>,
        group: ConsumerGroupMetadata,
    ) -> Result<TransactionProgress, TransactionError> {
        if let Some(r) = self.resume(TransactionOp::SendOffsets) {
            return r;
        }
        if self.state != TransactionState::InTransaction {
            return Err(self.fail_state(TransactionOp::SendOffsets.name()));
        }
        self.op = Some(OpSlot {
            op: TransactionOp::SendOffsets,
            result: None,
        });
        if offsets.is_empty() {
            self.op = None;
            return Ok(TransactionProgress::Done);
        }
        let stage = if self.v2 {
            OffsetsStage::Commit
        } else {
            OffsetsStage::AddOffsets
        };
        if self.group_coordinator.is_some()
            && self
                .offsets
                .as_ref()
                .is_some_and(|o| o.group.group_id != group.group_id)
        {
            self.group_coordinator = None;
        }
        self.offsets = Some(PendingOffsets {
            group,
            offsets,
            stage,
        });
        Ok(TransactionProgress::Pending)
    }

    /// `commit_transaction`: `Pending` until the records are flushed and
    /// EndTxn answered.
    pub(crate) fn commit(&mut self) -> Result<TransactionProgress, TransactionError> {
        if let Some(r) = self.resume(TransactionOp::Commit) {
            return r;
        }
        if self.state != TransactionState::InTransaction {
            return Err(self.fail_state(TransactionOp::Commit.name()));
        }
        self.state = TransactionState::Committing;
        self.ending = Some((true, Ending::Settling));
        self.op = Some(OpSlot {
            op: TransactionOp::Commit,
            result: None,
        });
        Ok(TransactionProgress::Pending)
    }

    /// `abort_transaction` (`op` false: the abort of a closing producer,
    /// which reports to no caller).
    pub(crate) fn abort(&mut self, op: bool) -> Result<TransactionProgress, TransactionError> {
        if op {
            if let Some(r) = self.resume(TransactionOp::Abort) {
                return r;
            }
        }
        match self.state {
            TransactionState::InTransaction | TransactionState::AbortableError => {}
            // A commit that failed before its EndTxn went out (a record
            // failed meanwhile) is in AbortableError already; one waiting
            // for its records can be turned into an abort as in Java only
            // once it fails, so this is misuse.
            _ if !op => return Ok(TransactionProgress::Done),
            _ => return Err(self.fail_state(TransactionOp::Abort.name())),
        }
        self.state = TransactionState::Aborting;
        // Nothing more is added to a transaction that is being aborted.
        self.new_partitions.clear();
        self.offsets = None;
        self.ending = Some((false, Ending::Settling));
        if op {
            self.op = Some(OpSlot {
                op: TransactionOp::Abort,
                result: None,
            });
        }
        Ok(TransactionProgress::Pending)
    }

    /// A record of the transaction failed: the transaction cannot commit.
    pub(crate) fn record_failed(&mut self, error: &DeliveryError) {
        if matches!(
            self.state,
            TransactionState::InTransaction | TransactionState::Committing
        ) && self.error.is_none()
        {
            self.error = Some(TransactionError::Abortable(AbortReason::RecordFailed(
                error.clone(),
            )));
            if self.state == TransactionState::InTransaction {
                self.state = TransactionState::AbortableError;
            }
        }
    }

    /// The producer failed as a whole.
    pub(crate) fn fatal(&mut self, error: &FatalError, events: &mut Vec<Event>) {
        if self.state == TransactionState::FatalError {
            return;
        }
        let e = TransactionError::Fatal(error.clone());
        self.state = TransactionState::FatalError;
        self.error = Some(e.clone());
        self.ending = None;
        self.complete(events, Err(e));
    }

    /// The producer closed: a running operation ends.
    pub(crate) fn closed(&mut self, events: &mut Vec<Event>) {
        self.complete(events, Err(TransactionError::Closed));
    }

    fn abortable(&mut self, request: &'static str, code: ErrorCode, events: &mut Vec<Event>) {
        let e = TransactionError::Abortable(AbortReason::Broker { request, code });
        match self.state {
            TransactionState::InTransaction | TransactionState::Committing => {
                self.state = TransactionState::AbortableError;
                self.error = Some(e.clone());
                self.ending = None;
                self.offsets = None;
                self.complete(events, Err(e));
            }
            _ => {
                // During an abort the transaction is being aborted anyway.
                if self.error.is_none() {
                    self.error = Some(e);
                }
            }
        }
    }

    fn fatal_code(
        &mut self,
        request: &'static str,
        code: ErrorCode,
        events: &mut Vec<Event>,
    ) -> TxnAction {
        let error = FatalError::Transaction { request, code };
        self.fatal(&error, events);
        TxnAction::Fatal(error)
    }

    fn backoff(&mut self, now: Instant, delay: Duration) {
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Some(now + delay);
    }

    /// The next request to send, if any (at most one is in flight).
    pub(crate) fn poll_request(&mut self, cx: &Ctx, events: &mut Vec<Event>) -> Option<TxnRequest> {
        if self.in_flight.is_some() || self.retry_at.is_some_and(|t| t > cx.now) {
            return None;
        }
        self.retry_at = None;
        let coordinator = self.coordinator;
        let find_txn = || TxnRequest {
            target: Target::Any,
            purpose: TxnPurpose::FindTxnCoordinator,
            body: TxnBody::FindCoordinator {
                key: self.transactional_id.to_string(),
                key_type: 1,
            },
        };
        let (pid, epoch) = cx.producer.unwrap_or((-1, -1));
        match self.state {
            TransactionState::Uninitialized
            | TransactionState::Ready
            | TransactionState::FatalError => return None,
            TransactionState::Initializing => {
                let Some(node) = coordinator else {
                    return Some(find_txn());
                };
                return Some(self.init_producer_id(node, -1, -1));
            }
            _ => {}
        }
        // Partitions first: batches wait for them (v1).
        if !self.new_partitions.is_empty() && self.state != TransactionState::Aborting {
            let Some(node) = coordinator else {
                return Some(find_txn());
            };
            self.adding = std::mem::take(&mut self.new_partitions);
            let mut topics: Vec<AddPartitionsToTxnTopic> = Vec::new();
            for (t, p) in &self.adding {
                match topics.iter_mut().find(|x| *x.name == **t) {
                    Some(x) => x.partitions.push(*p),
                    None => topics.push(AddPartitionsToTxnTopic {
                        name: t.to_string(),
                        partitions: vec![*p],
                        ..Default::default()
                    }),
                }
            }
            return Some(TxnRequest {
                target: Target::Node(node),
                purpose: TxnPurpose::AddPartitions,
                body: TxnBody::AddPartitions(AddPartitionsToTxnRequest {
                    v3_and_below_transactional_id: self.transactional_id.to_string(),
                    v3_and_below_producer_id: pid,
                    v3_and_below_producer_epoch: epoch,
                    v3_and_below_topics: topics,
                    ..Default::default()
                }),
            });
        }
        if let Some(o) = &self.offsets {
            match o.stage {
                OffsetsStage::AddOffsets => {
                    let Some(node) = coordinator else {
                        return Some(find_txn());
                    };
                    return Some(TxnRequest {
                        target: Target::Node(node),
                        purpose: TxnPurpose::AddOffsets,
                        body: TxnBody::AddOffsets(AddOffsetsToTxnRequest {
                            transactional_id: self.transactional_id.to_string(),
                            producer_id: pid,
                            producer_epoch: epoch,
                            group_id: o.group.group_id.clone(),
                            ..Default::default()
                        }),
                    });
                }
                OffsetsStage::Commit => {
                    let Some(node) = self.group_coordinator else {
                        return Some(TxnRequest {
                            target: Target::Any,
                            purpose: TxnPurpose::FindGroupCoordinator,
                            body: TxnBody::FindCoordinator {
                                key: o.group.group_id.clone(),
                                key_type: 0,
                            },
                        });
                    };
                    let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
                    for x in &o.offsets {
                        let p = TxnOffsetCommitRequestPartition {
                            partition_index: x.partition,
                            committed_offset: x.offset,
                            committed_leader_epoch: -1,
                            committed_metadata: x.metadata.clone(),
                            ..Default::default()
                        };
                        match topics.iter_mut().find(|t| t.name == x.topic) {
                            Some(t) => t.partitions.push(p),
                            None => topics.push(TxnOffsetCommitRequestTopic {
                                name: x.topic.clone(),
                                partitions: vec![p],
                                ..Default::default()
                            }),
                        }
                    }
                    return Some(TxnRequest {
                        target: Target::Node(node),
                        purpose: TxnPurpose::TxnOffsetCommit,
                        body: TxnBody::TxnOffsetCommit(TxnOffsetCommitRequest {
                            transactional_id: self.transactional_id.to_string(),
                            group_id: o.group.group_id.clone(),
                            producer_id: pid,
                            producer_epoch: epoch,
                            generation_id: o.group.generation_id,
                            member_id: o.group.member_id.clone(),
                            group_instance_id: o.group.group_instance_id.clone(),
                            topics,
                            ..Default::default()
                        }),
                    });
                }
            }
        }
        let (commit, stage) = self.ending?;
        match stage {
            Ending::Settling => {
                // A commit waits for every record; an abort only for the
                // requests in flight (the rest were dropped).
                let settled = if commit {
                    cx.idle
                } else {
                    cx.nothing_in_flight
                };
                if !settled || !self.adding.is_empty() {
                    return None;
                }
                if commit {
                    if let Some(e) = self.error.clone() {
                        // A record failed: the commit fails, abort instead.
                        self.state = TransactionState::AbortableError;
                        self.ending = None;
                        self.complete(events, Err(e));
                        return None;
                    }
                }
                if !self.started {
                    // The coordinator may not know of the transaction: an
                    // epoch bump ends whatever it has open (and closes
                    // broken sequences); with nothing sent, nothing to end.
                    if self.in_doubt || cx.bump_needed {
                        self.ending = Some((commit, Ending::Bump));
                        return self.poll_request(cx, events);
                    }
                    self.finish_ending(events);
                    return None;
                }
                self.ending = Some((commit, Ending::EndTxn));
                self.poll_request(cx, events)
            }
            Ending::EndTxn => {
                let Some(node) = coordinator else {
                    return Some(find_txn());
                };
                Some(TxnRequest {
                    target: Target::Node(node),
                    purpose: TxnPurpose::EndTxn,
                    body: TxnBody::EndTxn(EndTxnRequest {
                        transactional_id: self.transactional_id.to_string(),
                        producer_id: pid,
                        producer_epoch: epoch,
                        committed: commit,
                        ..Default::default()
                    }),
                })
            }
            Ending::Bump => {
                let Some(node) = coordinator else {
                    return Some(find_txn());
                };
                self.bumping = true;
                Some(self.init_producer_id(node, pid, epoch))
            }
        }
    }

    fn init_producer_id(&self, node: i32, producer_id: i64, epoch: i16) -> TxnRequest {
        TxnRequest {
            target: Target::Node(node),
            purpose: TxnPurpose::InitProducerId,
            body: TxnBody::InitProducerId(InitProducerIdRequest {
                transactional_id: Some(self.transactional_id.to_string()),
                transaction_timeout_ms: self.timeout_ms,
                producer_id,
                producer_epoch: epoch,
                ..Default::default()
            }),
        }
    }

    fn finish_ending(&mut self, events: &mut Vec<Event>) {
        self.ending = None;
        self.started = false;
        self.in_doubt = false;
        self.state = TransactionState::Ready;
        self.error = None;
        self.complete(events, Ok(()));
    }

    /// The request from [`poll_request`](Self::poll_request) went out.
    pub(crate) fn sent(&mut self, purpose: TxnPurpose) {
        self.in_flight = Some(purpose);
    }

    /// The request could not be sent (no ready connection yet): it is
    /// asked for again on the next turn.
    pub(crate) fn unsent(&mut self, purpose: TxnPurpose) {
        if purpose == TxnPurpose::AddPartitions {
            let mut adding = std::mem::take(&mut self.adding);
            adding.append(&mut self.new_partitions);
            self.new_partitions = adding;
        }
        if purpose == TxnPurpose::InitProducerId {
            self.bumping = false;
        }
    }

    /// The request got no answer (its connection was lost): find the
    /// coordinator again and retry.
    pub(crate) fn request_lost(&mut self, purpose: TxnPurpose, now: Instant, delay: Duration) {
        if self.in_flight != Some(purpose) {
            return;
        }
        self.in_flight = None;
        self.unsent(purpose);
        if matches!(
            purpose,
            TxnPurpose::AddPartitions | TxnPurpose::AddOffsets | TxnPurpose::TxnOffsetCommit
        ) && self.records_flow()
        {
            // It may have been processed: the transaction may be open.
            self.in_doubt = true;
        }
        match purpose {
            TxnPurpose::FindGroupCoordinator | TxnPurpose::TxnOffsetCommit => {
                self.group_coordinator = None
            }
            _ => self.coordinator = None,
        }
        self.backoff(now, delay);
    }

    /// The connection to `node` failed or closed: if it is a coordinator,
    /// find it again (after `delay`) rather than wait for it to come back.
    pub(crate) fn node_lost(&mut self, node: i32, now: Instant, delay: Duration) {
        let mut lost = false;
        if self.coordinator == Some(node) {
            self.coordinator = None;
            lost = true;
        }
        if self.group_coordinator == Some(node) {
            self.group_coordinator = None;
            lost = true;
        }
        if lost && self.retry_at.is_none_or(|t| t < now + delay) {
            self.retry_at = Some(now + delay);
        }
    }

    /// A retriable answer: after `delay`, maybe after finding the
    /// coordinator again.
    /// CONCURRENT_TRANSACTIONS (`code`) waits only
    /// [`CONCURRENT_TRANSACTIONS_BACKOFF`], anything else `delay`.
    fn retry(
        &mut self,
        purpose: TxnPurpose,
        class: ErrorClass,
        code: ErrorCode,
        now: Instant,
        delay: Duration,
    ) {
        let delay = if code == ErrorCode::CONCURRENT_TRANSACTIONS {
            CONCURRENT_TRANSACTIONS_BACKOFF
        } else {
            delay
        };
        self.unsent(purpose);
        if class == ErrorClass::Rediscover {
            match purpose {
                TxnPurpose::TxnOffsetCommit | TxnPurpose::FindGroupCoordinator => {
                    self.group_coordinator = None
                }
                _ => self.coordinator = None,
            }
        }
        self.backoff(now, delay);
    }

    /// A FindCoordinator answer (`coordinators` of v4+, or the v0–v3 fields).
    pub(crate) fn on_find_coordinator(
        &mut self,
        purpose: TxnPurpose,
        body: FindCoordinatorResponse,
        now: Instant,
        delay: Duration,
        events: &mut Vec<Event>,
    ) -> TxnAction {
        self.in_flight = None;
        let (code, node, host, port) = match body.coordinators.into_iter().next() {
            Some(c) => (ErrorCode(c.error_code), c.node_id, c.host, c.port),
            None => (
                ErrorCode(body.error_code),
                body.node_id,
                body.host,
                body.port,
            ),
        };
        let request = "FindCoordinator";
        match classify(code) {
            ErrorClass::Ok if node >= 0 => {
                let Ok(port) = u16::try_from(port) else {
                    self.backoff(now, delay);
                    return TxnAction::Nothing;
                };
                self.failures = 0;
                if purpose == TxnPurpose::FindGroupCoordinator {
                    self.group_coordinator = Some(node);
                } else {
                    self.coordinator = Some(node);
                }
                TxnAction::LearnAddress { node, host, port }
            }
            ErrorClass::Ok | ErrorClass::Retry | ErrorClass::Rediscover => {
                self.backoff(now, delay);
                TxnAction::Nothing
            }
            ErrorClass::Abortable if purpose == TxnPurpose::FindGroupCoordinator => {
                self.abortable(request, code, events);
                TxnAction::Nothing
            }
            _ => self.fatal_code(request, code, events),
        }
    }

    /// An InitProducerId answer.
    pub(crate) fn on_init_producer_id(
        &mut self,
        body: InitProducerIdResponse,
        now: Instant,
        delay: Duration,
        events: &mut Vec<Event>,
    ) -> TxnAction {
        self.in_flight = None;
        let code = ErrorCode(body.error_code);
        let bump = std::mem::take(&mut self.bumping);
        match classify(code) {
            ErrorClass::Ok => {
                self.failures = 0;
                if bump {
                    self.finish_ending(events);
                } else {
                    self.state = TransactionState::Ready;
                    self.complete(events, Ok(()));
                }
                TxnAction::AdoptId {
                    producer_id: body.producer_id,
                    epoch: body.producer_epoch,
                }
            }
            class @ (ErrorClass::Rediscover | ErrorClass::Retry) => {
                self.retry(TxnPurpose::InitProducerId, class, code, now, delay);
                TxnAction::Nothing
            }
            _ => self.fatal_code("InitProducerId", code, events),
        }
    }

    /// An AddPartitionsToTxn answer (v0–v3).
    pub(crate) fn on_add_partitions(
        &mut self,
        body: AddPartitionsToTxnResponse,
        now: Instant,
        delay: Duration,
        events: &mut Vec<Event>,
    ) -> TxnAction {
        self.in_flight = None;
        let adding = std::mem::take(&mut self.adding);
        let mut added = Vec::new();
        let mut again = Vec::new();
        let mut worst = (ErrorClass::Ok, ErrorCode::NONE);
        let rank = |c: ErrorClass| match c {
            ErrorClass::Ok => 0,
            ErrorClass::Retry => 1,
            ErrorClass::Rediscover => 2,
            ErrorClass::Abortable => 3,
            ErrorClass::Fatal => 4,
        };
        for (topic, partition) in adding {
            let code = body
                .results_by_topic_v3_and_below
                .iter()
                .find(|t| *t.name == *topic)
                .and_then(|t| {
                    t.results_by_partition
                        .iter()
                        .find(|p| p.partition_index == partition)
                })
                .map_or(ErrorCode::OPERATION_NOT_ATTEMPTED, |p| {
                    ErrorCode(p.partition_error_code)
                });
            let class = classify(code);
            if class == ErrorClass::Ok {
                added.push((topic, partition));
            } else {
                if rank(class) > rank(worst.0)
                    || (worst.1 == ErrorCode::OPERATION_NOT_ATTEMPTED
                        && rank(class) == rank(worst.0))
                {
                    worst = (class, code);
                }
                again.push((topic, partition));
            }
        }
        if !added.is_empty() {
            self.started = true;
        }
        match worst.0 {
            ErrorClass::Ok => {
                self.failures = 0;
            }
            ErrorClass::Retry | ErrorClass::Rediscover => {
                again.append(&mut self.new_partitions);
                self.new_partitions = again;
                self.retry(TxnPurpose::AddPartitions, worst.0, worst.1, now, delay);
            }
            ErrorClass::Abortable => self.abortable("AddPartitionsToTxn", worst.1, events),
            ErrorClass::Fatal => return self.fatal_code("AddPartitionsToTxn", worst.1, events),
        }
        TxnAction::PartitionsAdded(added)
    }

    /// An AddOffsetsToTxn answer.
    pub(crate) fn on_add_offsets(
        &mut self,
        code: ErrorCode,
        now: Instant,
        delay: Duration,
        events: &mut Vec<Event>,
    ) -> TxnAction {
        self.in_flight = None;
        match classify(code) {
            ErrorClass::Ok => {
                self.failures = 0;
                self.started = true;
                if let Some(o) = &mut self.offsets {
                    o.stage = OffsetsStage::Commit;
                }
            }
            class @ (ErrorClass::Rediscover | ErrorClass::Retry) => {
                self.retry(TxnPurpose::AddOffsets, class, code, now, delay);
            }
            ErrorClass::Abortable => self.abortable("AddOffsetsToTxn", code, events),
            ErrorClass::Fatal => return self.fatal_code("AddOffsetsToTxn", code, events),
        }
        TxnAction::Nothing
    }

    /// A TxnOffsetCommit answer.
    pub(crate) fn on_txn_offset_commit(
        &mut self,
        body: TxnOffsetCommitResponse,
        now: Instant,
        delay: Duration,
        events: &mut Vec<Event>,
    ) -> TxnAction {
        self.in_flight = None;
        let Some(pending) = self.offsets.as_mut() else {
            return TxnAction::Nothing;
        };
        let mut worst = (ErrorClass::Ok, ErrorCode::NONE);
        let mut left = Vec::new();
        for o in std::mem::take(&mut pending.offsets) {
            let code = body
                .topics
                .iter()
                .find(|t| t.name == o.topic)
                .and_then(|t| {
                    t.partitions
                        .iter()
                        .find(|p| p.partition_index == o.partition)
                })
                .map_or(ErrorCode::OPERATION_NOT_ATTEMPTED, |p| {
                    ErrorCode(p.error_code)
                });
            let class = classify(code);
            if class != ErrorClass::Ok {
                left.push(o);
                let rank = |c: ErrorClass| c as u8;
                if worst.0 == ErrorClass::Ok || rank(class) > rank(worst.0) {
                    worst = (class, code);
                }
            }
        }
        pending.offsets = left;
        match worst.0 {
            ErrorClass::Ok => {
                self.failures = 0;
                self.offsets = None;
                // v2: TxnOffsetCommit put the group in the transaction.
                self.started = true;
                self.complete(events, Ok(()));
            }
            class @ (ErrorClass::Rediscover | ErrorClass::Retry) => {
                self.retry(TxnPurpose::TxnOffsetCommit, class, worst.1, now, delay);
            }
            ErrorClass::Abortable => self.abortable("TxnOffsetCommit", worst.1, events),
            ErrorClass::Fatal => return self.fatal_code("TxnOffsetCommit", worst.1, events),
        }
        TxnAction::Nothing
    }

    /// An EndTxn answer.
    pub(crate) fn on_end_txn(
        &mut self,
        body: EndTxnResponse,
        cx: &Ctx,
        delay: Duration,
        events: &mut Vec<Event>,
    ) -> TxnAction {
        self.in_flight = None;
        let code = ErrorCode(body.error_code);
        let Some((commit, _)) = self.ending else {
            return TxnAction::Nothing;
        };
        match classify(code) {
            ErrorClass::Ok => {
                self.failures = 0;
                if self.v2 && body.producer_id >= 0 && body.producer_epoch >= 0 {
                    self.finish_ending(events);
                    return TxnAction::AdoptId {
                        producer_id: body.producer_id,
                        epoch: body.producer_epoch,
                    };
                }
                if !commit && cx.bump_needed {
                    self.started = false;
                    self.ending = Some((false, Ending::Bump));
                    return TxnAction::Ended;
                }
                self.finish_ending(events);
                TxnAction::Ended
            }
            class @ (ErrorClass::Rediscover | ErrorClass::Retry) => {
                self.retry(TxnPurpose::EndTxn, class, code, cx.now, delay);
                TxnAction::Nothing
            }
            ErrorClass::Abortable if commit => {
                self.abortable("EndTxn", code, events);
                TxnAction::Nothing
            }
            _ => self.fatal_code("EndTxn", code, events),
        }
    }

    /// One line for `debug_state`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "txn {} coord {:?} v2 {} in_flight {:?} new {} adding {} started {} in_doubt {} ending {:?} op {:?}",
            self.state,
            self.coordinator,
            self.v2,
            self.in_flight,
            self.new_partitions.len(),
            self.adding.len(),
            self.started,
            self.in_doubt,
            self.ending,
            self.op.as_ref().map(|o| (o.op, o.result.is_some())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::t0;
    use kafka_proto::messages::add_partitions_to_txn::{
        AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
    };

    const BACKOFF: Duration = Duration::from_millis(100);

    /// Answers the InitProducerId in flight with producer 7 at `epoch`, which
    /// the machine must adopt.
    fn answer_init(t: &mut Transactions, epoch: i16, ev: &mut Vec<Event>) {
        let answer = InitProducerIdResponse {
            producer_id: 7,
            producer_epoch: epoch,
            ..Default::default()
        };
        assert_eq!(
            t.on_init_producer_id(answer, t0(), BACKOFF, ev),
            TxnAction::AdoptId {
                producer_id: 7,
                epoch
            }
        );
    }

    /// An AddPartitionsToTxn answer for `topic`: `(partition, error)` each.
    fn added(topic: &str, results: &[(i32, ErrorCode)]) -> AddPartitionsToTxnResponse {
        AddPartitionsToTxnResponse {
            results_by_topic_v3_and_below: vec![AddPartitionsToTxnTopicResult {
                name: topic.into(),
                results_by_partition: results
                    .iter()
                    .map(|(p, code)| AddPartitionsToTxnPartitionResult {
                        partition_index: *p,
                        partition_error_code: code.0,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn cx(idle: bool) -> Ctx {
        Ctx {
            now: t0(),
            producer: Some((7, 3)),
            idle,
            nothing_in_flight: idle,
            bump_needed: false,
        }
    }

    fn found(node: i32) -> FindCoordinatorResponse {
        FindCoordinatorResponse {
            node_id: node,
            host: "b".into(),
            port: 9092,
            ..Default::default()
        }
    }

    /// A machine that went through init (coordinator 2, producer 7/3).
    fn ready(v2: bool) -> Transactions {
        let mut t = Transactions::new("tx", Duration::from_secs(60));
        t.saw_features(1, if v2 { 2 } else { 1 });
        let mut ev = Vec::new();
        assert_eq!(t.init(), Ok(TransactionProgress::Pending));
        let r = t.poll_request(&cx(true), &mut ev).unwrap();
        assert_eq!(r.purpose, TxnPurpose::FindTxnCoordinator);
        t.sent(r.purpose);
        let a = t.on_find_coordinator(r.purpose, found(2), t0(), BACKOFF, &mut ev);
        assert!(matches!(a, TxnAction::LearnAddress { node: 2, .. }));
        let r = t.poll_request(&cx(true), &mut ev).unwrap();
        assert_eq!(
            (r.purpose, r.target),
            (TxnPurpose::InitProducerId, Target::Node(2))
        );
        t.sent(r.purpose);
        answer_init(&mut t, 3, &mut ev);
        assert_eq!(ev, vec![Event::TransactionCompleted(TransactionOp::Init)]);
        assert_eq!(t.take_result(TransactionOp::Init), Some(Ok(())));
        assert_eq!(t.state(), TransactionState::Ready);
        t
    }

    #[test]
    fn every_error_code_has_a_class() {
        // Retriable codes are retried unless named otherwise; unknown codes are fatal.
        for code in ErrorCode::ALL {
            let class = classify(*code);
            if code.is_ok() {
                assert_eq!(class, ErrorClass::Ok);
            } else {
                assert_ne!(class, ErrorClass::Ok, "{code}");
            }
        }
        assert_eq!(classify(ErrorCode::PRODUCER_FENCED), ErrorClass::Fatal);
        assert_eq!(
            classify(ErrorCode::INVALID_PRODUCER_EPOCH),
            ErrorClass::Fatal
        );
        assert_eq!(
            classify(ErrorCode::TRANSACTION_ABORTABLE),
            ErrorClass::Abortable
        );
        assert_eq!(classify(ErrorCode::NOT_COORDINATOR), ErrorClass::Rediscover);
        assert_eq!(
            classify(ErrorCode::CONCURRENT_TRANSACTIONS),
            ErrorClass::Retry
        );
        assert_eq!(classify(ErrorCode(9999)), ErrorClass::Fatal);
    }

    #[test]
    fn v1_adds_partitions_before_their_batches_and_ends_with_end_txn() {
        let mut t = ready(false);
        let mut ev = Vec::new();
        t.begin().unwrap();
        assert!(!t.is_v2());
        let topic: Arc<str> = "a".into();
        assert!(!t.partition_written(&topic, 0), "v1 waits for the add");
        assert!(!t.partition_written(&topic, 1));
        let r = t.poll_request(&cx(false), &mut ev).unwrap();
        assert_eq!(r.purpose, TxnPurpose::AddPartitions);
        let TxnBody::AddPartitions(body) = &r.body else {
            panic!()
        };
        assert_eq!(body.v3_and_below_topics[0].partitions, vec![0, 1]);
        assert_eq!(
            (
                body.v3_and_below_producer_id,
                body.v3_and_below_producer_epoch
            ),
            (7, 3)
        );
        t.sent(r.purpose);
        assert!(
            t.poll_request(&cx(false), &mut ev).is_none(),
            "one at a time"
        );
        // Partition 1 must wait: CONCURRENT_TRANSACTIONS, retried after 20 ms.
        let answer = added(
            "a",
            &[
                (0, ErrorCode::NONE),
                (1, ErrorCode::CONCURRENT_TRANSACTIONS),
            ],
        );
        let a = t.on_add_partitions(answer, t0(), BACKOFF, &mut ev);
        assert_eq!(a, TxnAction::PartitionsAdded(vec![(topic.clone(), 0)]));
        assert_eq!(t.retry_at(), Some(t0() + CONCURRENT_TRANSACTIONS_BACKOFF));
        assert!(t.poll_request(&cx(false), &mut ev).is_none(), "backing off");
        let later = Ctx {
            now: t0() + CONCURRENT_TRANSACTIONS_BACKOFF,
            ..cx(false)
        };
        let r = t.poll_request(&later, &mut ev).unwrap();
        let TxnBody::AddPartitions(body) = &r.body else {
            panic!()
        };
        assert_eq!(body.v3_and_below_topics[0].partitions, vec![1]);
        // Commit waits for the add and for the records.
        t.sent(r.purpose);
        assert_eq!(t.commit(), Ok(TransactionProgress::Pending));
        assert_eq!(
            t.commit(),
            Ok(TransactionProgress::Pending),
            "a second call waits too"
        );
        assert!(t.poll_request(&later, &mut ev).is_none());
        let ok = added("a", &[(1, ErrorCode::NONE)]);
        let _ = t.on_add_partitions(ok, t0(), BACKOFF, &mut ev);
        assert!(
            t.poll_request(&cx(false), &mut ev).is_none(),
            "records pending"
        );
        let r = t.poll_request(&cx(true), &mut ev).unwrap();
        let TxnBody::EndTxn(end) = &r.body else {
            panic!()
        };
        assert!(end.committed);
        t.sent(r.purpose);
        let a = t.on_end_txn(EndTxnResponse::default(), &cx(true), BACKOFF, &mut ev);
        assert_eq!(a, TxnAction::Ended);
        assert_eq!(t.state(), TransactionState::Ready);
        assert_eq!(
            t.commit(),
            Ok(TransactionProgress::Done),
            "the cached result"
        );
    }

    #[test]
    fn v2_needs_no_adds_and_adopts_the_epoch_end_txn_returns() {
        let mut t = ready(true);
        let mut ev = Vec::new();
        t.begin().unwrap();
        assert!(t.is_v2());
        assert!(t.partition_written(&"a".into(), 0), "Produce adds it");
        assert!(t.poll_request(&cx(false), &mut ev).is_none());
        t.produced();
        t.produce_acknowledged();
        assert_eq!(t.abort(true), Ok(TransactionProgress::Pending));
        let r = t.poll_request(&cx(true), &mut ev).unwrap();
        let TxnBody::EndTxn(end) = &r.body else {
            panic!()
        };
        assert!(!end.committed);
        t.sent(r.purpose);
        let answer = EndTxnResponse {
            producer_id: 7,
            producer_epoch: 4,
            ..Default::default()
        };
        assert_eq!(
            t.on_end_txn(answer, &cx(true), BACKOFF, &mut ev),
            TxnAction::AdoptId {
                producer_id: 7,
                epoch: 4
            }
        );
        assert_eq!(t.take_result(TransactionOp::Abort), Some(Ok(())));
    }

    #[test]
    fn a_transaction_the_coordinator_may_not_know_is_ended_by_an_epoch_bump() {
        // v2: a Produce went out but no batch was acknowledged (the request
        // was lost): EndTxn could be refused, so the abort bumps the epoch.
        let mut t = ready(true);
        let mut ev = Vec::new();
        t.begin().unwrap();
        let _ = t.partition_written(&"a".into(), 0);
        t.produced();
        assert_eq!(t.abort(true), Ok(TransactionProgress::Pending));
        let r = t.poll_request(&cx(true), &mut ev).unwrap();
        let TxnBody::InitProducerId(init) = &r.body else {
            panic!("{r:?}")
        };
        assert_eq!((init.producer_id, init.producer_epoch), (7, 3));
        t.sent(r.purpose);
        answer_init(&mut t, 4, &mut ev);
        assert_eq!(t.take_result(TransactionOp::Abort), Some(Ok(())));
        assert_eq!(t.state(), TransactionState::Ready);
    }

    #[test]
    fn an_empty_transaction_ends_without_a_request() {
        let mut t = ready(false);
        let mut ev = Vec::new();
        t.begin().unwrap();
        assert_eq!(t.commit(), Ok(TransactionProgress::Pending));
        assert!(t.poll_request(&cx(true), &mut ev).is_none());
        assert_eq!(t.state(), TransactionState::Ready);
        assert_eq!(ev, vec![Event::TransactionCompleted(TransactionOp::Commit)]);
    }

    #[test]
    fn a_failed_record_makes_the_commit_fail_and_abort_the_way_out() {
        let mut t = ready(false);
        let mut ev = Vec::new();
        t.begin().unwrap();
        let _ = t.partition_written(&"a".into(), 0);
        let r = t.poll_request(&cx(false), &mut ev).unwrap();
        t.sent(r.purpose);
        let _ = t.on_add_partitions(added("a", &[(0, ErrorCode::NONE)]), t0(), BACKOFF, &mut ev);
        let failure = DeliveryError {
            kind: crate::error::DeliveryErrorKind::Broker(ErrorCode::MESSAGE_TOO_LARGE),
            possibly_written: false,
        };
        t.record_failed(&failure);
        assert_eq!(t.state(), TransactionState::AbortableError);
        assert!(t.check_send().unwrap_err().is_abortable());
        let e = t.commit().unwrap_err();
        assert!(e.is_abortable(), "{e:?}");
        assert_eq!(t.abort(true), Ok(TransactionProgress::Pending));
        let bumped = Ctx {
            bump_needed: true,
            ..cx(true)
        };
        let r = t.poll_request(&bumped, &mut ev).unwrap();
        assert_eq!(r.purpose, TxnPurpose::EndTxn);
        t.sent(r.purpose);
        assert_eq!(
            t.on_end_txn(EndTxnResponse::default(), &bumped, BACKOFF, &mut ev),
            TxnAction::Ended
        );
        // v1: the sequences were broken, so the epoch is bumped (KIP-360).
        let r = t.poll_request(&bumped, &mut ev).unwrap();
        let TxnBody::InitProducerId(init) = &r.body else {
            panic!()
        };
        assert_eq!((init.producer_id, init.producer_epoch), (7, 3));
        t.sent(r.purpose);
        answer_init(&mut t, 4, &mut ev);
        assert_eq!(t.take_result(TransactionOp::Abort), Some(Ok(())));
        t.begin().unwrap();
    }

    #[test]
    fn fencing_is_fatal_and_sticks() {
        let mut t = ready(false);
        let mut ev = Vec::new();
        t.begin().unwrap();
        let _ = t.partition_written(&"a".into(), 0);
        let r = t.poll_request(&cx(false), &mut ev).unwrap();
        t.sent(r.purpose);
        let fenced = added("a", &[(0, ErrorCode::PRODUCER_FENCED)]);
        let a = t.on_add_partitions(fenced, t0(), BACKOFF, &mut ev);
        assert!(
            matches!(a, TxnAction::Fatal(ref e) if e.is_fenced()),
            "{a:?}"
        );
        assert_eq!(t.state(), TransactionState::FatalError);
        assert!(t.begin().unwrap_err().is_fenced());
        assert!(t.commit().unwrap_err().is_fenced());
        assert!(t.abort(true).unwrap_err().is_fenced());
    }

    #[test]
    fn a_lost_request_finds_the_coordinator_again() {
        let mut t = ready(false);
        let mut ev = Vec::new();
        t.begin().unwrap();
        let _ = t.partition_written(&"a".into(), 0);
        let r = t.poll_request(&cx(false), &mut ev).unwrap();
        t.sent(r.purpose);
        t.request_lost(TxnPurpose::AddPartitions, t0(), BACKOFF);
        let later = Ctx {
            now: t0() + BACKOFF,
            ..cx(false)
        };
        let r = t.poll_request(&later, &mut ev).unwrap();
        assert_eq!(r.purpose, TxnPurpose::FindTxnCoordinator);
        t.sent(r.purpose);
        let _ = t.on_find_coordinator(r.purpose, found(3), later.now, BACKOFF, &mut ev);
        let r = t.poll_request(&later, &mut ev).unwrap();
        assert_eq!(
            (r.purpose, r.target),
            (TxnPurpose::AddPartitions, Target::Node(3))
        );
    }

    #[test]
    fn offsets_go_through_add_offsets_then_the_group_coordinator() {
        let mut t = ready(false);
        let mut ev = Vec::new();
        t.begin().unwrap();
        let mut group = ConsumerGroupMetadata::new("g");
        group.generation_id = 5;
        group.member_id = "m".into();
        let offsets = vec![OffsetToCommit {
            topic: "in".into(),
            partition: 0,
            offset: 42,
            metadata: None,
        }];
        assert_eq!(
            t.send_offsets(offsets, group),
            Ok(TransactionProgress::Pending)
        );
        let r = t.poll_request(&cx(false), &mut ev).unwrap();
        assert_eq!(r.purpose, TxnPurpose::AddOffsets);
        t.sent(r.purpose);
        let _ = t.on_add_offsets(ErrorCode::NONE, t0(), BACKOFF, &mut ev);
        let r = t.poll_request(&cx(false), &mut ev).unwrap();
        assert_eq!(r.purpose, TxnPurpose::FindGroupCoordinator);
        t.sent(r.purpose);
        let _ = t.on_find_coordinator(r.purpose, found(1), t0(), BACKOFF, &mut ev);
        let r = t.poll_request(&cx(false), &mut ev).unwrap();
        assert_eq!(r.target, Target::Node(1));
        let TxnBody::TxnOffsetCommit(body) = &r.body else {
            panic!()
        };
        assert_eq!((body.generation_id, body.member_id.as_str()), (5, "m"));
        assert_eq!(body.topics[0].partitions[0].committed_offset, 42);
        t.sent(r.purpose);
        // A rebalanced-out member: the transaction must be aborted.
        let answer = TxnOffsetCommitResponse {
            topics: vec![
                kafka_proto::messages::txn_offset_commit::TxnOffsetCommitResponseTopic {
                    name: "in".into(),
                    partitions: vec![
                        kafka_proto::messages::txn_offset_commit::TxnOffsetCommitResponsePartition {
                            partition_index: 0,
                            error_code: ErrorCode::ILLEGAL_GENERATION.0,
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let _ = t.on_txn_offset_commit(answer, t0(), BACKOFF, &mut ev);
        assert_eq!(t.state(), TransactionState::AbortableError);
        let e = t
            .take_result(TransactionOp::SendOffsets)
            .unwrap()
            .unwrap_err();
        assert!(e.is_abortable(), "{e:?}");
    }

    #[test]
    fn misuse_is_refused_by_state() {
        let mut t = Transactions::new("tx", Duration::from_secs(1));
        assert!(matches!(
            t.begin(),
            Err(TransactionError::InvalidState {
                state: TransactionState::Uninitialized,
                ..
            })
        ));
        assert!(t.check_send().is_err());
        assert!(matches!(
            t.commit(),
            Err(TransactionError::InvalidState { .. })
        ));
        let mut t = ready(false);
        assert!(t.check_send().is_err(), "no transaction is open");
        t.begin().unwrap();
        assert!(t.begin().is_err());
        assert_eq!(t.check_send(), Ok(()));
        assert_eq!(t.commit(), Ok(TransactionProgress::Pending));
        assert!(t.check_send().is_err(), "committing");
        assert!(matches!(
            t.abort(true),
            Err(TransactionError::InvalidState { .. })
        ));
    }
}
