//! The state handles and a runtime's driver share: the core and the
//! adapter's bookkeeping behind one mutex ([`Shared`]), and the driver's
//! side of it ([`Outputs`]): draining the core's outputs under the lock and
//! acting on the runtime-independent ones (delivery, flushes, wake-ups)
//! after releasing it.
//!
//! A runtime crate's driver owns the sockets and timers. Its loop is:
//! lock, hand network reports and expired timers to the core
//! ([`State::connected`] and friends, [`Core::handle_timeout`]),
//! [`Outputs::collect`], read [`Core::poll_timeout`], unlock; then open the
//! connections in [`Outputs::connects`], write [`Outputs::transmits`], close
//! [`Outputs::closes`], and call [`Outputs::complete`].

use kafka_producer_core::admin::{AdminError, AdminResponse};
use kafka_producer_core::{SealJob, SealedBatch};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use event_listener::{Event as Signal, EventListener};
use kafka_producer_core::{
    BatchId, ConnId, Connect, ErrorCode, Event, FlushId, Producer as Core, Record, Transmit, WaitId,
};

use crate::SendError;
use crate::delivery::{
    BatchOutcome, BatchWaiters, Callback, DeliveryFuture, DeliveryHandler, Report,
};
use crate::interceptor::{Acknowledgement, Interceptors};
use crate::record::ProducerRecord;

/// Wakes a runtime's driver: called by handles when the core has new work.
/// It must not lose a wake-up that comes while the driver is busy (Tokio's
/// `Notify::notify_one` and `mio::Waker::wake` both keep one).
pub type WakeDriver = Box<dyn Fn() + Send + Sync>;

/// How many ended topic waits [`State`] remembers for their waiters.
const ENDED_WAITS: usize = 1024;

/// What handles and the driver share.
pub struct Shared {
    state: Mutex<State>,
    /// Driver → waiting handles: memory freed, topic ready or unavailable,
    /// flush complete, closed. Waiters re-check their condition under the
    /// lock, so a spurious wake-up is harmless.
    changed: Signal,
    wake_driver: WakeDriver,
    /// `max.block.ms`.
    pub(crate) max_block: Duration,
    /// The builder's interceptors, run by the handles' sends.
    pub(crate) interceptors: Option<Interceptors>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("max_block", &self.max_block)
            .finish_non_exhaustive()
    }
}

/// The core and the adapter's bookkeeping, under one lock so that a record
/// is registered with its batch's waiters before the driver can see the
/// batch's outcome.
pub struct State {
    /// The sans-IO producer.
    pub core: Core,
    /// The waiters of each batch with records not reported yet, looked up
    /// for every record sent: Fx-hashed, since batch ids come from the
    /// core, not the network, and need no hash that resists chosen keys.
    pub(crate) batches: rustc_hash::FxHashMap<BatchId, BatchWaiters>,
    /// Flushes not complete yet.
    pub(crate) flushes: Vec<FlushId>,
    /// Topic waits the core ended with `TopicUnavailable`, newest last
    /// (at most [`ENDED_WAITS`]: a waiter looks its own up by id soon after).
    pub(crate) ended_waits: VecDeque<(WaitId, Option<ErrorCode>)>,
    /// Counts the driver's wake-ups of waiting handles.
    pub(crate) generation: u64,
    /// The core reported `Closed`, or the driver is gone.
    pub(crate) closed: bool,
    /// The last connection failure or loss, to explain a topic that never
    /// became available.
    pub(crate) last_connect_error: Option<(Instant, String)>,
    /// The builder's interceptors: each batch's waiters report every
    /// record's outcome to them.
    pub(crate) interceptors: Option<Interceptors>,
    /// Where OAUTHBEARER tokens come from ([`Parts::token_provider`](crate::Parts::token_provider)).
    pub token_provider: Option<crate::token::TokenSource>,
    /// A `kafka.produce` span per Produce request in flight, when debug
    /// spans are enabled where the producer was built.
    request_spans: HashMap<u64, tracing::Span>,
}

/// The `tracing` target of the per-request spans.
pub const SPAN_TARGET: &str = "kafka_producer";

impl Shared {
    /// Wraps `core`; `wake_driver` is how handles wake the runtime's
    /// driver; `interceptors` are the builder's ([`Parts::interceptors`](crate::Parts::interceptors)).
    pub fn new(core: Core, wake_driver: WakeDriver, interceptors: Option<Interceptors>) -> Shared {
        let max_block = core.config().max_block;
        Shared {
            state: Mutex::new(State::new(core, interceptors.clone())),
            changed: Signal::new(),
            wake_driver,
            max_block,
            interceptors,
        }
    }

    /// The state; a panic elsewhere while holding the lock does not make
    /// the producer unusable (the core never panics on input).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the driver.
    pub fn wake_driver(&self) {
        (self.wake_driver)();
    }

    /// What a send leaves to do once the lock is released: compress and
    /// seal the batches it closed (the sender pays for its batches, as
    /// Java's does, while the other senders go on), hand them back and
    /// wake the driver to send them; or, with none, wake the driver if the
    /// core asked (`wake`).
    pub(crate) fn after_send(&self, jobs: Vec<SealJob>, wake: bool) {
        if jobs.is_empty() {
            if wake {
                self.wake_driver();
            }
            return;
        }
        let sealed: Vec<SealedBatch> = jobs.into_iter().map(SealJob::run).collect();
        {
            let mut st = self.lock();
            let now = Instant::now();
            for batch in sealed {
                st.core.handle_sealed(batch, now);
            }
        }
        self.wake_driver();
    }

    /// A listener for the next change; create it before checking the
    /// condition it waits for, so no change is missed in between.
    pub(crate) fn listen(&self) -> EventListener {
        self.changed.listen()
    }

    fn notify_changed(&self) {
        self.changed.notify(usize::MAX);
    }

    /// Marks the producer closed when the driver ends, however it ends (the
    /// runtime shutting down included), so that no send, flush or delivery
    /// waits for it forever: the records still waiting fail with
    /// `ProducerClosed` (possibly written).
    pub fn driver_exited(&self) {
        let batches = {
            let mut st = self.lock();
            st.closed = true;
            st.generation += 1;
            st.flushes.clear();
            std::mem::take(&mut st.batches)
        };
        // Outside the lock: dropping waiters fails them, running callbacks.
        drop(batches);
        self.notify_changed();
    }
}

/// Held by a driver for as long as it runs: however it ends (the runtime
/// shutting down included), dropping it calls [`Shared::driver_exited`], so
/// no send, flush or delivery waits for a driver that is gone.
#[derive(Debug)]
pub struct ExitGuard(pub Arc<Shared>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.0.driver_exited();
    }
}

impl State {
    /// The state of a new producer around `core`: on its own for a driver
    /// that owns it (mio's embedded one), or in a [`Shared`].
    /// `interceptors` are the builder's ([`Parts::interceptors`](crate::Parts::interceptors)).
    pub fn new(mut core: Core, interceptors: Option<Interceptors>) -> State {
        // A span per Produce request costs an event pair per request: only
        // when someone listens at debug level.
        if tracing::enabled!(target: SPAN_TARGET, tracing::Level::DEBUG) {
            core.set_request_events(true);
        }
        State {
            core,
            batches: rustc_hash::FxHashMap::default(),
            flushes: Vec::new(),
            ended_waits: VecDeque::new(),
            generation: 0,
            closed: false,
            last_connect_error: None,
            interceptors,
            token_provider: None,
            request_spans: HashMap::new(),
        }
    }

    /// Runs the interceptors' `on_send` on `record` (none set: `record`
    /// as it is).
    pub fn intercept(&self, record: ProducerRecord) -> ProducerRecord {
        match &self.interceptors {
            Some(chain) => chain.on_send(record),
            None => record,
        }
    }

    /// Tells the interceptors that `record` was refused with `error`.
    pub fn refused(&self, topic: &str, error: &SendError) {
        if let Some(chain) = &self.interceptors {
            chain.on_acknowledgement(&Acknowledgement::Refused { topic, error });
        }
    }

    /// Queues `record` if that can be done now: the record's future (none
    /// if `callback` takes the outcome), and whether to wake the driver.
    /// Never waits; a refusal (`BufferFull`, `MetadataPending` included)
    /// queued nothing.
    pub fn try_send(
        &mut self,
        record: &ProducerRecord,
        callback: Option<Callback>,
    ) -> Result<(Option<DeliveryFuture>, bool), SendError> {
        self.try_report(record, callback.map(Report::Callback))
    }

    /// [`try_send`](Self::try_send) with `handler` told the outcome, with
    /// `number` (see `Producer::send_with_handler`); whether to wake the
    /// driver.
    pub fn try_send_with_handler(
        &mut self,
        record: &ProducerRecord,
        handler: &DeliveryHandler,
        number: u64,
    ) -> Result<bool, SendError> {
        self.try_report(record, Some(Report::Handler(handler, number)))
            .map(|(_, wake)| wake)
    }

    fn try_report(
        &mut self,
        record: &ProducerRecord,
        report: Option<Report<'_>>,
    ) -> Result<(Option<DeliveryFuture>, bool), SendError> {
        let mut report = report;
        let (done, wake, jobs) = record.with_core_record(|r| self.attempt(r, &mut report))?;
        // No lock to leave here: the caller owns the state.
        for job in jobs {
            self.core.handle_sealed(job.run(), Instant::now());
        }
        Ok((done, wake))
    }

    /// One attempt to queue `record`. Returns the future (if no `report`),
    /// whether to wake the driver (the core says: `RecordToken::wake`), and
    /// the seal jobs of batches the send closed, for the sender to run
    /// outside the lock ([`Shared::after_send`]).
    pub(crate) fn attempt(
        &mut self,
        record: &Record<'_>,
        report: &mut Option<Report<'_>>,
    ) -> Result<(Option<DeliveryFuture>, bool, Vec<SealJob>), kafka_producer_core::SendError> {
        if self.closed {
            return Err(kafka_producer_core::SendError::Closed);
        }
        let token = self.core.send(record, Instant::now())?;
        let waiters = self.batches.entry(token.batch).or_default();
        if let Some(chain) = &self.interceptors {
            waiters.acknowledge(
                chain,
                record.topic,
                token.partition,
                token.index,
                token.timestamp,
            );
        }
        let wake = token.wake;
        let done = match report.take() {
            Some(report) => {
                waiters.report(token.index, token.timestamp, report);
                None
            }
            None => Some(waiters.future(token.index, token.timestamp)),
        };
        // Most sends close no batch: no iterator machinery for them.
        let mut jobs = Vec::new();
        while let Some(job) = self.core.poll_seal() {
            jobs.push(job);
        }
        Ok((done, wake, jobs))
    }

    /// Starts closing the core (see [`Producer::close`](crate::Producer::close)),
    /// unless it has closed already.
    pub fn close(&mut self, timeout: Duration) {
        if !self.closed {
            // Deadlines past the Instant range mean "no deadline".
            let now = Instant::now();
            let timeout = now.checked_add(timeout.saturating_mul(2)).map(|_| timeout);
            self.core.close(now, timeout);
        }
    }

    /// `topic`'s partition count if its metadata is known; otherwise asks
    /// for it (the driver must then run) and fails with
    /// [`SendError::TopicUnavailable`], with the broker's error if the
    /// topic was reported unavailable. Never waits.
    pub fn try_partitions_for(
        &mut self,
        topic: &str,
    ) -> Result<Vec<kafka_producer_core::PartitionInfo>, SendError> {
        if let Some(partitions) = self.core.partitions_for(topic) {
            return Ok(partitions);
        }
        if self.closed {
            return Err(SendError::Closed);
        }
        self.core.prefetch_topic(topic, Instant::now())?;
        Err(self.topic_unavailable(topic, None))
    }

    /// How topic wait `wait` ended, if the core has ended it as
    /// unavailable: `Some(error)` (the broker's error, if one answered).
    pub(crate) fn wait_ended(&self, wait: WaitId) -> Option<Option<ErrorCode>> {
        self.ended_waits
            .iter()
            .rev()
            .find(|(w, _)| *w == wait)
            .map(|&(_, error)| error)
    }

    /// The outcome of admin request `id`, if complete (taken), with the
    /// last connection failure filled into a timeout.
    pub(crate) fn admin_result(
        &mut self,
        id: kafka_producer_core::admin::AdminId,
    ) -> Option<Result<AdminResponse, AdminError>> {
        let result = self.core.admin_result(id)?;
        Some(match result {
            Err(AdminError::TimedOut {
                api,
                connection_error: None,
            }) => Err(AdminError::TimedOut {
                api,
                connection_error: self.connection_error(),
            }),
            other => other,
        })
    }

    /// Why `topic` cannot be sent to.
    pub(crate) fn topic_unavailable(&self, topic: &str, error: Option<ErrorCode>) -> SendError {
        SendError::TopicUnavailable {
            topic: topic.to_owned(),
            error,
            connection_error: self.connection_error(),
        }
    }

    /// The latest connection failure: the driver's (refused, reset, TLS
    /// failures) or the core's (protocol errors, timeouts, and hints such
    /// as a TLS or SASL listener), whichever came last (the core's on a
    /// tie: it knows more of the same event).
    pub(crate) fn connection_error(&self) -> Option<String> {
        let ours = self
            .last_connect_error
            .as_ref()
            .map(|(t, e)| (*t, e.as_str()));
        let core = self.core.last_connection_error();
        match (ours, core) {
            (Some(o), Some(c)) if o.0 > c.0 => Some(o.1.to_owned()),
            (_, Some(c)) => Some(c.1.to_owned()),
            (Some(o), None) => Some(o.1.to_owned()),
            (None, None) => None,
        }
    }

    /// The driver that owns this state is gone: marks the producer closed
    /// and fails every record still waiting (`ProducerClosed`, possibly
    /// written), running their callbacks here. For a state a driver owns;
    /// [`Shared::driver_exited`] is the same for a shared one.
    pub fn end(&mut self) {
        self.closed = true;
        self.generation += 1;
        self.flushes.clear();
        self.batches.clear();
    }

    /// Whether the core has reported `Closed` (or the driver is gone): the
    /// driver stops after acting on this round's outputs.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// A connection is established (TCP, and TLS if used).
    pub fn connected(&mut self, conn: ConnId, peer: &str, now: Instant) {
        tracing::debug!(conn = conn.0, %peer, "connected");
        self.core.handle_connected(conn, now);
    }

    /// A connection attempt failed.
    pub fn connect_failed(
        &mut self,
        conn: ConnId,
        peer: &str,
        error: &dyn fmt::Display,
        now: Instant,
    ) {
        tracing::warn!(conn = conn.0, %peer, %error, "connection failed");
        self.last_connect_error = Some((now, format!("{peer}: {error}")));
        self.core.handle_connect_failed(conn, now);
    }

    /// An established connection ended (closed by the peer or an error).
    pub fn disconnected(
        &mut self,
        conn: ConnId,
        peer: &str,
        reason: &dyn fmt::Display,
        now: Instant,
    ) {
        tracing::info!(conn = conn.0, %peer, %reason, "connection lost");
        self.last_connect_error = Some((now, format!("{peer}: {reason}")));
        self.core.handle_disconnected(conn, now);
    }
}

/// The core's outputs drained under the lock, acted on after it. Keep one
/// per driver: its vectors are reused.
#[derive(Default)]
pub struct Outputs {
    /// Connections to open, in order.
    pub connects: Vec<Connect>,
    /// Bytes to write, in order per connection.
    pub transmits: Vec<Transmit>,
    /// Connections to close (after writing what was queued for them).
    pub closes: Vec<ConnId>,
    /// Batches to compress and seal outside the lock, for the core's
    /// `handle_sealed` (only when the driver switched
    /// `set_offload_sealing` on).
    pub seal_jobs: Vec<kafka_producer_core::SealJob>,
    completed: Vec<(BatchWaiters, BatchOutcome)>,
    changed: bool,
    /// Set when the core closed: their `close` runs after the last
    /// deliveries are completed.
    close_interceptors: Option<Interceptors>,
    /// The core asked for an OAUTHBEARER token: the provider to call,
    /// outside the lock.
    token_request: Option<Arc<dyn crate::token::TokenProvider>>,
    async_token_request: Option<Arc<dyn crate::token::AsyncTokenProvider>>,
}

impl fmt::Debug for Outputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outputs")
            .field("connects", &self.connects.len())
            .field("transmits", &self.transmits.len())
            .field("closes", &self.closes.len())
            .field("completed", &self.completed.len())
            .finish()
    }
}

impl Outputs {
    /// A driver's turn under the lock, after the network reports are fed:
    /// fires the core's timer if `deadline` has passed, drains its outputs,
    /// and sets `deadline` to the next one. Returns whether the core has
    /// closed (the driver stops after acting on this turn's outputs).
    pub fn turn(&mut self, st: &mut State, deadline: &mut Option<Instant>, now: Instant) -> bool {
        if deadline.is_some_and(|d| d <= now) {
            st.core.handle_timeout(now);
        }
        self.collect(st, now);
        *deadline = st.core.poll_timeout();
        st.is_closed()
    }

    /// Drains every output of the core, in the documented order, and
    /// matches delivery outcomes with the records' waiters.
    pub fn collect(&mut self, st: &mut State, now: Instant) {
        self.connects
            .extend(std::iter::from_fn(|| st.core.poll_connect()));
        self.transmits
            .extend(std::iter::from_fn(|| st.core.poll_transmit(now)));
        self.closes
            .extend(std::iter::from_fn(|| st.core.poll_close()));
        self.seal_jobs
            .extend(std::iter::from_fn(|| st.core.poll_seal()));
        while let Some(event) = st.core.poll_event() {
            self.event(st, event);
        }
        if self.changed {
            st.generation += 1;
        }
    }

    fn event(&mut self, st: &mut State, event: Event) {
        match event {
            Event::Delivered {
                batch,
                topic,
                partition,
                base_offset,
                record_count,
                log_append_time,
            } => {
                tracing::debug!(
                    messaging.system = "kafka",
                    messaging.destination.name = %topic,
                    messaging.destination.partition.id = partition,
                    messaging.kafka.offset = base_offset,
                    messaging.batch.message_count = record_count,
                    messaging.client.id = %st.core.config().client_id,
                    "batch delivered"
                );
                if let Some(waiters) = st.batches.remove(&batch) {
                    let outcome = BatchOutcome::Delivered {
                        topic,
                        partition,
                        base_offset,
                        log_append_time,
                    };
                    self.completed.push((waiters, outcome));
                }
            }
            Event::Failed {
                batch,
                topic,
                partition,
                record_count,
                error,
            } => {
                tracing::warn!(
                    messaging.system = "kafka",
                    messaging.destination.name = %topic,
                    messaging.destination.partition.id = partition,
                    messaging.batch.message_count = record_count,
                    messaging.client.id = %st.core.config().client_id,
                    error.type = %error,
                    "batch failed"
                );
                if let Some(waiters) = st.batches.remove(&batch) {
                    self.completed.push((waiters, BatchOutcome::Failed(error)));
                }
            }
            Event::ProduceSent {
                request,
                node,
                batches,
                records,
                bytes,
            } => {
                let span = tracing::debug_span!(
                    target: SPAN_TARGET,
                    "kafka.produce",
                    messaging.system = "kafka",
                    messaging.operation.type = "send",
                    messaging.operation.name = "produce",
                    messaging.client.id = %st.core.config().client_id,
                    messaging.batch.message_count = records,
                    kafka.node.id = node,
                    kafka.batches = batches,
                    kafka.bytes = bytes,
                    outcome = tracing::field::Empty,
                );
                if !span.is_disabled() {
                    st.request_spans.insert(request, span);
                }
            }
            Event::ProduceDone { request, outcome } => {
                if let Some(span) = st.request_spans.remove(&request) {
                    span.record("outcome", outcome);
                }
            }
            Event::MemoryAvailable => self.changed = true,
            Event::TopicReady { topic, .. } => {
                tracing::debug!(%topic, "topic metadata known");
                self.changed = true;
            }
            Event::TopicUnavailable { topic, error, wait } => {
                tracing::warn!(%topic, ?error, "topic unavailable");
                if st.ended_waits.len() == ENDED_WAITS {
                    st.ended_waits.pop_front();
                }
                st.ended_waits.push_back((wait, error));
                self.changed = true;
            }
            Event::FlushComplete(id) => {
                st.flushes.retain(|f| *f != id);
                self.changed = true;
            }
            Event::Fatal(error) => {
                tracing::error!(%error, "producer failed");
                self.changed = true;
            }
            Event::TokenNeeded => match st.token_provider.clone() {
                Some(crate::token::TokenSource::Blocking(provider)) => {
                    self.token_request = Some(provider)
                }
                Some(crate::token::TokenSource::Async(provider)) => {
                    self.async_token_request = Some(provider)
                }
                None => st
                    .core
                    .handle_token_failed("no OAUTHBEARER token provider", Instant::now()),
            },
            Event::AdminComplete(id) => {
                tracing::debug!(id = id.0, "admin request complete");
                self.changed = true;
            }
            Event::TransactionCompleted(op) => {
                tracing::debug!(operation = op.name(), "transactional operation complete");
                self.changed = true;
            }
            Event::Closed => {
                tracing::debug!("producer closed");
                st.closed = true;
                self.changed = true;
                self.close_interceptors = st.interceptors.take();
            }
            _ => {}
        }
    }

    /// Completes deliveries and wakes waiting handles. Call it without the
    /// lock: user callbacks run here, and may call back into the producer.
    pub fn complete(&mut self, shared: &Shared) {
        if self.complete_deliveries() {
            shared.notify_changed();
        }
        if let Some(provider) = self.take_token_request() {
            let result = provider.token();
            crate::token::apply(result, &mut shared.lock().core);
            shared.wake_driver();
        }
    }

    /// The token provider to call, when the core asked for an OAUTHBEARER
    /// token: call it without the lock, then hand the answer in with
    /// [`token::apply`](crate::token::apply) (what [`complete`](Self::complete) does).
    pub fn take_token_request(&mut self) -> Option<Arc<dyn crate::token::TokenProvider>> {
        self.token_request.take()
    }

    /// The async token provider to run, when the core asked for a token
    /// and the provider is an [`AsyncTokenProvider`](crate::token::AsyncTokenProvider):
    /// run its future as a task, then hand the answer in with
    /// [`token::apply`](crate::token::apply).
    pub fn take_async_token_request(
        &mut self,
    ) -> Option<Arc<dyn crate::token::AsyncTokenProvider>> {
        self.async_token_request.take()
    }

    /// Completes deliveries (user callbacks run here) and returns whether
    /// handles waiting for a change should be woken: [`complete`](Self::complete)
    /// for a state no handle waits on (one a driver owns).
    pub fn complete_deliveries(&mut self) -> bool {
        for (waiters, outcome) in self.completed.drain(..) {
            waiters.complete(outcome);
        }
        if let Some(chain) = self.close_interceptors.take() {
            chain.close();
        }
        std::mem::take(&mut self.changed)
    }
}
