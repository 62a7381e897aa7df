//! The user-facing handle, [`Producer`], generic over the runtime that
//! supplies its timer.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_listener::{EventListener, Listener};
use kafka_producer_core::admin::{AdminError, AdminRequest, AdminResponse};
use kafka_producer_core::{ErrorCode, FlushId, PartitionInfo, Record, WaitId};

/// How long past an admin request's own deadline a handle waits for the
/// core to end it.
const ADMIN_SLACK: Duration = Duration::from_secs(5);

use crate::Runtime;
use crate::SendError;
use crate::delivery::{DeliveryFuture, DeliveryHandler, DeliveryResult, Report};
use crate::interceptor::Acknowledgement;
use crate::record::ProducerRecord;
use crate::shared::{Shared, State};

type CoreSendError = kafka_producer_core::SendError;

/// Java's `Long.MAX_VALUE` ms would overflow an `Instant`: longer waits are
/// capped at about 30 years.
const FOREVER: Duration = Duration::from_secs(30 * 365 * 86_400);

/// A Kafka producer: a cheap, cloneable, `Send + Sync` handle.
///
/// The runtime crates name it for their runtime (for example
/// `kafka_runtime_tokio::Producer`). One driver (a task or a thread of the
/// runtime, started by [`ProducerBuilder::build`](crate::ProducerBuilder::build))
/// owns the connections and timers. Handles share the I/O-free core behind
/// a mutex: `send` locks it just long enough to append the record to its
/// batch (no channel message, no allocation per record) and wakes the
/// driver only when a batch starts or is probably full. Delivery is
/// reported per batch and fanned out to the records' futures or callbacks.
///
/// Dropping the last handle closes the producer in the background,
/// delivering what is buffered; call [`close`](Self::close) to wait for
/// that (a runtime that shuts down first drops the undelivered records,
/// failing their futures).
pub struct Producer<R> {
    handle: Arc<Handle>,
    runtime: PhantomData<fn() -> R>,
}

impl<R> Clone for Producer<R> {
    fn clone(&self) -> Self {
        Producer {
            handle: self.handle.clone(),
            runtime: PhantomData,
        }
    }
}

/// The part whose drop means "the last handle is gone".
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        {
            let mut st = self.shared.lock();
            if !st.closed {
                st.core.close(Instant::now(), None);
            }
        }
        self.shared.wake_driver();
    }
}

impl<R> fmt::Debug for Producer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer").finish_non_exhaustive()
    }
}

/// One attempt to queue a record.
enum Step {
    Done(Result<Option<DeliveryFuture>, SendError>),
    /// Refused for now (buffer full, metadata pending): wait for a change
    /// until the deadline.
    Wait {
        listener: EventListener,
        deadline: Instant,
        refusal: CoreSendError,
    },
}

/// A send's wait, from its first refusal on.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    /// When to give up: `max.block.ms` after the first refusal for buffer
    /// memory; for a topic, [`TOPIC_WAIT_SLACK`] after the core's own
    /// deadline (the core ends the wait then, with the broker's error).
    deadline: Instant,
    /// The core's topic wait, once metadata was pending.
    topic_wait: Option<WaitId>,
    /// When the send first waited for buffer memory
    /// (`bufferpool-wait-time-ns-total`).
    buffer_since: Option<Instant>,
}

/// How long after the core's deadline for a topic wait a waiter gives up
/// on hearing the core end it: only a driver that stopped turning (it
/// ends the wait at the deadline, in the same turn that fires the timer)
/// gets here.
const TOPIC_WAIT_SLACK: Duration = Duration::from_secs(5);

impl<R: Runtime> Producer<R> {
    /// A handle on `shared`, whose driver the runtime has started.
    pub fn new(shared: Arc<Shared>) -> Producer<R> {
        Producer {
            handle: Arc::new(Handle { shared }),
            runtime: PhantomData,
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// Queues `record` and returns a future for its outcome.
    ///
    /// Waits only while `buffer.memory` is full or the topic's metadata is
    /// not known yet, at most `max.block.ms` each time; then fails with
    /// [`SendError::BufferTimeout`] or [`SendError::TopicUnavailable`].
    /// Records are delivered in the order they were queued, per partition.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, SendError> {
        let record = self.intercept(record);
        // Without a callback, `attempt` always makes a future.
        let result = self.enqueue(&record, None).await;
        self.refused(&record, result.and_then(|f| f.ok_or(SendError::Closed)))
    }

    /// [`send`](Self::send), handing the record back when it is refused
    /// before being queued (as rust-rdkafka's `send_result`), so a caller
    /// can retry it without cloning every record: the record handed back
    /// is the one the interceptors' `on_send` made.
    // The record handed back is the point of the error: unboxed, as
    // rust-rdkafka's (error, record) pair.
    #[allow(clippy::result_large_err)]
    pub async fn send_result(&self, record: ProducerRecord) -> Result<DeliveryFuture, Refused> {
        let record = self.intercept(record);
        let result = self.enqueue(&record, None).await;
        match self.refused(&record, result.and_then(|f| f.ok_or(SendError::Closed))) {
            Ok(future) => Ok(future),
            Err(error) => Err(Refused { error, record }),
        }
    }

    /// [`send_result`](Self::send_result), blocking the calling thread as
    /// [`send_blocking`](Self::send_blocking) does.
    #[allow(clippy::result_large_err)]
    pub fn send_result_blocking(&self, record: ProducerRecord) -> Result<DeliveryFuture, Refused> {
        let record = self.intercept(record);
        let result = self.enqueue_blocking(&record, None);
        match self.refused(&record, result.and_then(|f| f.ok_or(SendError::Closed))) {
            Ok(future) => Ok(future),
            Err(error) => Err(Refused { error, record }),
        }
    }

    /// The interceptors' `on_send` (none set: `record` as it is).
    fn intercept(&self, record: ProducerRecord) -> ProducerRecord {
        match &self.shared().interceptors {
            Some(chain) => chain.on_send(record),
            None => record,
        }
    }

    /// Tells the interceptors of a refusal, and passes `result` on.
    fn refused<T>(
        &self,
        record: &ProducerRecord,
        result: Result<T, SendError>,
    ) -> Result<T, SendError> {
        if let (Err(error), Some(chain)) = (&result, &self.shared().interceptors) {
            chain.on_acknowledgement(&Acknowledgement::Refused {
                topic: &record.topic,
                error,
            });
        }
        result
    }

    /// Queues `record` and calls `callback` with its outcome: the
    /// fire-and-forget form, with nothing to poll per record (the callback
    /// is boxed, which allocates only if it captures something).
    ///
    /// Callbacks run on the driver: keep them short and never block in
    /// them. Waits as [`send`](Self::send) does.
    pub async fn send_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> Result<(), SendError>
    where
        F: FnOnce(DeliveryResult) + Send + 'static,
    {
        self.send_reported(record, Report::Callback(Box::new(callback)))
            .await
    }

    /// Queues `record`; `handler` gets its outcome with `number`: one
    /// handler for many records, as librdkafka's delivery report callback
    /// with a per-message opaque. Unlike
    /// [`send_with_callback`](Self::send_with_callback) it allocates
    /// nothing per record (a batch keeps its records' numbers side by side),
    /// for code that sends many records and tells them apart by a number
    /// (an index, a sequence, a slot in its own table).
    ///
    /// The handler runs on the driver, once per record: keep it short and
    /// never block in it. Waits as [`send`](Self::send) does.
    pub async fn send_with_handler(
        &self,
        record: ProducerRecord,
        handler: &DeliveryHandler,
        number: u64,
    ) -> Result<(), SendError> {
        self.send_reported(record, Report::Handler(handler, number))
            .await
    }

    /// Queues `record` as [`send`](Self::send) does, its outcome reported
    /// as `report` says.
    async fn send_reported(
        &self,
        record: ProducerRecord,
        report: Report<'_>,
    ) -> Result<(), SendError> {
        let record = self.intercept(record);
        let result = self.enqueue(&record, Some(report)).await;
        self.refused(&record, result).map(drop)
    }

    /// Queues `record` if that can be done now, and returns a future for
    /// its outcome; never waits. Where [`send`](Self::send) would wait it
    /// fails at once with [`SendError::BufferFull`] or
    /// [`SendError::MetadataPending`] (the metadata has been asked for):
    /// for event loops that must not block, which retry on their own
    /// schedule (and give up after as long as they are willing to wait).
    pub fn try_send(&self, record: ProducerRecord) -> Result<DeliveryFuture, SendError> {
        let record = self.intercept(record);
        let result = self.try_enqueue(&record, None);
        self.refused(&record, result.and_then(|f| f.ok_or(SendError::Closed)))
    }

    /// [`try_send`](Self::try_send) with a callback for the outcome, as
    /// [`send_with_callback`](Self::send_with_callback).
    pub fn try_send_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> Result<(), SendError>
    where
        F: FnOnce(DeliveryResult) + Send + 'static,
    {
        self.try_send_reported(record, Report::Callback(Box::new(callback)))
    }

    /// [`try_send`](Self::try_send) with a shared handler for the outcome,
    /// as [`send_with_handler`](Self::send_with_handler).
    pub fn try_send_with_handler(
        &self,
        record: ProducerRecord,
        handler: &DeliveryHandler,
        number: u64,
    ) -> Result<(), SendError> {
        self.try_send_reported(record, Report::Handler(handler, number))
    }

    /// [`try_send`](Self::try_send), the outcome reported as `report` says.
    fn try_send_reported(
        &self,
        record: ProducerRecord,
        report: Report<'_>,
    ) -> Result<(), SendError> {
        let record = self.intercept(record);
        let result = self.try_enqueue(&record, Some(report));
        self.refused(&record, result).map(drop)
    }

    fn try_enqueue(
        &self,
        record: &ProducerRecord,
        mut callback: Option<Report<'_>>,
    ) -> Result<Option<DeliveryFuture>, SendError> {
        let result = record.with_core_record(|core_record| {
            self.shared().lock().attempt(core_record, &mut callback)
        });
        match result {
            Ok((done, wake, jobs)) => {
                self.shared().after_send(jobs, wake);
                Ok(done)
            }
            Err(e) => {
                if matches!(e, CoreSendError::MetadataPending { .. }) {
                    // The core has asked for metadata: the driver must send it.
                    self.shared().wake_driver();
                }
                Err(e)
            }
        }
    }

    async fn enqueue(
        &self,
        record: &ProducerRecord,
        mut callback: Option<Report<'_>>,
    ) -> Result<Option<DeliveryFuture>, SendError> {
        let mut waiting: Option<Waiting> = None;
        loop {
            let step = record.with_core_record(|core_record| {
                self.step(record, core_record, &mut callback, &mut waiting)
            });
            match step {
                Step::Done(result) => return result,
                Step::Wait {
                    listener,
                    deadline,
                    refusal,
                } => {
                    if R::timeout_at(deadline, listener).await.is_none() {
                        return Err(self.gave_up(&record.topic, &refusal, waiting));
                    }
                }
            }
        }
    }

    /// [`enqueue`](Self::enqueue), blocking the thread while it waits.
    #[inline]
    fn enqueue_blocking(
        &self,
        record: &ProducerRecord,
        mut callback: Option<Report<'_>>,
    ) -> Result<Option<DeliveryFuture>, SendError> {
        let mut waiting: Option<Waiting> = None;
        loop {
            let step = record.with_core_record(|core_record| {
                self.step(record, core_record, &mut callback, &mut waiting)
            });
            match step {
                Step::Done(result) => return result,
                Step::Wait {
                    listener,
                    deadline,
                    refusal,
                } => {
                    if !wait_blocking::<R>(listener, deadline) {
                        return Err(self.gave_up(&record.topic, &refusal, waiting));
                    }
                }
            }
        }
    }

    /// The error for a wait that ran out: buffer memory stayed full, or the
    /// topic never became available (with the error the core ended the
    /// wait with, if it did).
    fn gave_up(&self, topic: &str, refusal: &CoreSendError, waiting: Option<Waiting>) -> SendError {
        let mut st = self.shared().lock();
        if let Some(since) = waiting.and_then(|w| w.buffer_since) {
            st.core.record_buffer_wait(since.elapsed());
        }
        if matches!(refusal, CoreSendError::BufferFull { .. }) {
            return SendError::BufferTimeout {
                max_block: self.shared().max_block,
            };
        }
        let error = waiting
            .and_then(|w| w.topic_wait)
            .and_then(|wait| st.wait_ended(wait))
            .flatten();
        topic_unavailable(&st, topic, error)
    }

    /// Tries to queue the record; on a refusal to wait for, arms the wait
    /// (a listener made before the attempt, so no change is missed).
    #[inline]
    fn step(
        &self,
        record: &ProducerRecord,
        core_record: &Record<'_>,
        callback: &mut Option<Report<'_>>,
        waiting: &mut Option<Waiting>,
    ) -> Step {
        let shared = self.shared();
        loop {
            let listener = waiting.is_some().then(|| shared.listen());
            let result = {
                let mut st = shared.lock();
                if let Some(wait) = waiting.and_then(|w| w.topic_wait) {
                    // The core ended the topic wait this send is in.
                    if let Some(error) = st.wait_ended(wait) {
                        return Step::Done(Err(topic_unavailable(&st, &record.topic, error)));
                    }
                }
                let result = st.attempt(core_record, callback);
                // A wait for buffer memory ends with any answer but another
                // BufferFull: its time is counted once, here.
                if !matches!(result, Err(CoreSendError::BufferFull { .. })) {
                    if let Some(since) = waiting.as_mut().and_then(|w| w.buffer_since.take()) {
                        st.core.record_buffer_wait(since.elapsed());
                    }
                }
                result
            };
            let refusal = match result {
                Ok((done, wake, jobs)) => {
                    shared.after_send(jobs, wake);
                    return Step::Done(Ok(done));
                }
                Err(
                    e @ (CoreSendError::BufferFull { .. } | CoreSendError::MetadataPending { .. }),
                ) => e,
                Err(e) => return Step::Done(Err(e)),
            };
            match &refusal {
                CoreSendError::MetadataPending { wait, deadline, .. } => {
                    // The core has asked for metadata: the driver must send
                    // it. The core owns the deadline and ends the wait.
                    shared.wake_driver();
                    *waiting = Some(Waiting {
                        deadline: deadline.checked_add(TOPIC_WAIT_SLACK).unwrap_or(*deadline),
                        topic_wait: Some(*wait),
                        buffer_since: waiting.and_then(|w| w.buffer_since),
                    });
                }
                _ => match waiting {
                    None => {
                        // The core made the batches open now due (so
                        // memory comes back): the driver sends them.
                        shared.wake_driver();
                        *waiting = Some(Waiting {
                            deadline: deadline_after(shared.max_block),
                            topic_wait: None,
                            buffer_since: Some(Instant::now()),
                        });
                    }
                    Some(w) => {
                        w.buffer_since.get_or_insert_with(Instant::now);
                    }
                },
            }
            if let (Some(w), Some(listener)) = (*waiting, listener) {
                return Step::Wait {
                    listener,
                    deadline: w.deadline,
                    refusal,
                };
            }
            // Retry once with a listener, so no wake-up is lost.
        }
    }

    /// Waits until `done` holds (checked under the lock) or `deadline`.
    /// Returns whether it held.
    pub(crate) async fn wait_for(
        &self,
        deadline: Instant,
        mut done: impl FnMut(&mut State) -> bool,
    ) -> bool {
        loop {
            let listener = self.shared().listen();
            if done(&mut self.shared().lock()) {
                return true;
            }
            if R::timeout_at(deadline, listener).await.is_none() {
                return done(&mut self.shared().lock());
            }
        }
    }

    /// [`wait_for`](Self::wait_for), blocking the thread.
    pub(crate) fn wait_for_blocking(
        &self,
        deadline: Instant,
        mut done: impl FnMut(&mut State) -> bool,
    ) -> bool {
        loop {
            let listener = self.shared().listen();
            if done(&mut self.shared().lock()) {
                return true;
            }
            if !wait_blocking::<R>(listener, deadline) {
                return done(&mut self.shared().lock());
            }
        }
    }

    /// Sends everything buffered now without waiting for `linger.ms`, and
    /// returns once each of those records has an outcome (delivered or
    /// failed: look at their futures or callbacks for which).
    pub async fn flush(&self) {
        let Some(id) = self.start_flush() else { return };
        // A driver that is gone settles every record too (and clears the
        // flushes).
        let forever = deadline_after(FOREVER);
        self.wait_for(forever, |st| st.closed || !st.flushes.contains(&id))
            .await;
    }

    /// [`flush`](Self::flush), waiting at most `timeout` (librdkafka's
    /// `flush(timeout)`): [`FlushTimeout`] if some of the records flushed
    /// still have no outcome then (they go on being delivered).
    pub async fn flush_timeout(&self, timeout: Duration) -> Result<(), FlushTimeout> {
        let Some(id) = self.start_flush() else {
            return Ok(());
        };
        let deadline = deadline_after(timeout);
        if self
            .wait_for(deadline, |st| st.closed || !st.flushes.contains(&id))
            .await
        {
            Ok(())
        } else {
            Err(FlushTimeout { timeout })
        }
    }

    /// [`flush_timeout`](Self::flush_timeout), blocking the calling thread.
    pub fn flush_timeout_blocking(&self, timeout: Duration) -> Result<(), FlushTimeout> {
        let Some(id) = self.start_flush() else {
            return Ok(());
        };
        let deadline = deadline_after(timeout);
        if self.wait_for_blocking(deadline, |st| st.closed || !st.flushes.contains(&id)) {
            Ok(())
        } else {
            Err(FlushTimeout { timeout })
        }
    }

    /// Fails every record not sent yet (queued or lingering) with
    /// [`DeliveryErrorKind::Purged`](kafka_producer_core::DeliveryErrorKind::Purged),
    /// not written, freeing its memory, as librdkafka's `purge`: their
    /// futures and callbacks get that outcome. Records already sent are
    /// left to their outcomes. Returns how many records were purged.
    pub fn purge(&self) -> usize {
        let purged = {
            let mut st = self.shared().lock();
            if st.closed {
                return 0;
            }
            st.core.purge(Instant::now())
        };
        self.shared().wake_driver();
        purged
    }

    /// Sends an admin request (create, delete or describe topics) over
    /// this producer's connections, with its TLS and SASL, to any broker,
    /// and returns the broker's decoded answer (whose per-topic error codes
    /// are the caller's to read), or why there is none by `timeout` (see
    /// [`kafka_producer_core::admin`]).
    pub async fn admin(
        &self,
        request: AdminRequest,
        timeout: Duration,
    ) -> Result<AdminResponse, AdminError> {
        let Some(id) = self.start_admin(request, timeout) else {
            return Err(AdminError::Closed);
        };
        let mut result = None;
        // The core ends the request at its deadline; the slack only guards
        // against a driver that is gone.
        let deadline = deadline_after(timeout.saturating_add(ADMIN_SLACK));
        self.wait_for(deadline, |st| {
            result = st.admin_result(id);
            result.is_some() || st.closed
        })
        .await;
        result.unwrap_or(Err(AdminError::Closed))
    }

    /// [`admin`](Self::admin), blocking the calling thread.
    pub fn admin_blocking(
        &self,
        request: AdminRequest,
        timeout: Duration,
    ) -> Result<AdminResponse, AdminError> {
        let Some(id) = self.start_admin(request, timeout) else {
            return Err(AdminError::Closed);
        };
        let mut result = None;
        let deadline = deadline_after(timeout.saturating_add(ADMIN_SLACK));
        self.wait_for_blocking(deadline, |st| {
            result = st.admin_result(id);
            result.is_some() || st.closed
        });
        result.unwrap_or(Err(AdminError::Closed))
    }

    fn start_admin(
        &self,
        request: AdminRequest,
        timeout: Duration,
    ) -> Option<kafka_producer_core::admin::AdminId> {
        let id = {
            let mut st = self.shared().lock();
            if st.closed {
                return None;
            }
            st.core.admin(request, timeout, Instant::now())
        };
        self.shared().wake_driver();
        Some(id)
    }

    fn start_flush(&self) -> Option<FlushId> {
        let id = {
            let mut st = self.shared().lock();
            if st.closed {
                return None;
            }
            let id = st.core.flush(Instant::now());
            st.flushes.push(id);
            id
        };
        self.shared().wake_driver();
        Some(id)
    }

    /// Stops taking records, delivers what is buffered, and returns when
    /// every record has an outcome and the connections are closed.
    ///
    /// Records still undelivered after `timeout` fail with
    /// [`DeliveryErrorKind::ProducerClosed`](kafka_producer_core::DeliveryErrorKind::ProducerClosed)
    /// (`possibly_written` if a request carrying them was in flight). Later
    /// sends on any clone fail with [`SendError::Closed`]. Closing again can
    /// only shorten the deadline.
    pub async fn close(&self, timeout: Duration) {
        self.start_close(timeout);
        let forever = deadline_after(FOREVER);
        self.wait_for(forever, |st| st.closed).await;
    }

    fn start_close(&self, timeout: Duration) {
        self.shared().lock().close(timeout);
        self.shared().wake_driver();
    }

    /// The partitions of `topic` (leader, replicas, in-sync replicas, as
    /// Java's `partitionsFor`), fetching its metadata if it is not known yet
    /// (waiting at most `max.block.ms`).
    pub async fn partitions_for(&self, topic: &str) -> Result<Vec<PartitionInfo>, SendError> {
        let mut waiting = None;
        loop {
            let listener = self.shared().listen();
            if let Some(result) = self.partitions_step(topic, &mut waiting)? {
                return Ok(result);
            }
            let deadline = waiting.map_or_else(Instant::now, |w: Waiting| w.deadline);
            if R::timeout_at(deadline, listener).await.is_none() {
                return Err(self.gave_up(topic, &CoreSendError::Closed, waiting));
            }
        }
    }

    /// One look at `topic`'s partition count: the count, a final error, or
    /// `None` (asked for, wait for a change until `waiting`'s deadline).
    fn partitions_step(
        &self,
        topic: &str,
        waiting: &mut Option<Waiting>,
    ) -> Result<Option<Vec<PartitionInfo>>, SendError> {
        let shared = self.shared();
        {
            let mut st = shared.lock();
            if let Some(partitions) = st.core.partitions_for(topic) {
                return Ok(Some(partitions));
            }
            if st.closed {
                return Err(SendError::Closed);
            }
            if let Some(wait) = waiting.and_then(|w| w.topic_wait) {
                if let Some(error) = st.wait_ended(wait) {
                    return Err(topic_unavailable(&st, topic, error));
                }
            }
            match st.core.prefetch_topic(topic, Instant::now())? {
                Some((wait, deadline)) => {
                    *waiting = Some(Waiting {
                        deadline: deadline.checked_add(TOPIC_WAIT_SLACK).unwrap_or(deadline),
                        topic_wait: Some(wait),
                        buffer_since: None,
                    });
                }
                None => {
                    if let Some(partitions) = st.core.partitions_for(topic) {
                        return Ok(Some(partitions));
                    }
                }
            }
        }
        shared.wake_driver();
        Ok(None)
    }

    /// [`send`](Self::send), blocking the calling thread instead of
    /// awaiting: for threads outside the runtime. Where the runtime says
    /// that this thread must not block (mio: its own driver thread), it
    /// never waits and a wait times out at once.
    pub fn send_blocking(&self, record: ProducerRecord) -> Result<DeliveryFuture, SendError> {
        let record = self.intercept(record);
        let result = self.enqueue_blocking(&record, None);
        self.refused(&record, result.and_then(|f| f.ok_or(SendError::Closed)))
    }

    /// [`send_with_callback`](Self::send_with_callback), blocking as
    /// [`send_blocking`](Self::send_blocking) does.
    pub fn send_with_callback_blocking<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> Result<(), SendError>
    where
        F: FnOnce(DeliveryResult) + Send + 'static,
    {
        self.send_reported_blocking(record, Report::Callback(Box::new(callback)))
    }

    /// [`send_with_handler`](Self::send_with_handler), blocking as
    /// [`send_blocking`](Self::send_blocking) does.
    pub fn send_with_handler_blocking(
        &self,
        record: ProducerRecord,
        handler: &DeliveryHandler,
        number: u64,
    ) -> Result<(), SendError> {
        self.send_reported_blocking(record, Report::Handler(handler, number))
    }

    /// [`send_blocking`](Self::send_blocking), the outcome reported as
    /// `report` says.
    #[inline]
    fn send_reported_blocking(
        &self,
        record: ProducerRecord,
        report: Report<'_>,
    ) -> Result<(), SendError> {
        let record = self.intercept(record);
        let result = self.enqueue_blocking(&record, Some(report));
        self.refused(&record, result).map(drop)
    }

    /// [`flush`](Self::flush), blocking the calling thread (not at all
    /// where the runtime says it must not block: then it only starts the
    /// flush).
    pub fn flush_blocking(&self) {
        let Some(id) = self.start_flush() else { return };
        let forever = deadline_after(FOREVER);
        self.wait_for_blocking(forever, |st| st.closed || !st.flushes.contains(&id));
    }

    /// [`close`](Self::close), blocking the calling thread (not at all
    /// where the runtime says it must not block: then it only starts the
    /// close).
    pub fn close_blocking(&self, timeout: Duration) {
        self.start_close(timeout);
        let forever = deadline_after(FOREVER);
        self.wait_for_blocking(forever, |st| st.closed);
    }

    /// [`partitions_for`](Self::partitions_for), blocking the calling
    /// thread.
    pub fn partitions_for_blocking(&self, topic: &str) -> Result<Vec<PartitionInfo>, SendError> {
        let mut waiting = None;
        loop {
            let listener = self.shared().listen();
            if let Some(result) = self.partitions_step(topic, &mut waiting)? {
                return Ok(result);
            }
            let deadline = waiting.map_or_else(Instant::now, |w: Waiting| w.deadline);
            if !wait_blocking::<R>(listener, deadline) {
                return Err(self.gave_up(topic, &CoreSendError::Closed, waiting));
            }
        }
    }

    /// Whether the producer has closed (after [`close`](Self::close), a
    /// fatal error followed by close, or its driver ending).
    pub fn is_closed(&self) -> bool {
        self.shared().lock().closed
    }
}

/// `wait` from now, capped (see [`FOREVER`]).
pub(crate) fn deadline_after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait.min(FOREVER))
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// Blocks until `listener` is notified (`true`) or `deadline` passes,
/// unless this thread must not block.
fn wait_blocking<R: Runtime>(listener: EventListener, deadline: Instant) -> bool {
    R::may_block() && listener.wait_deadline(deadline).is_some()
}

fn topic_unavailable(st: &State, topic: &str, error: Option<ErrorCode>) -> SendError {
    st.topic_unavailable(topic, error)
}

/// Runs `future` to completion on this thread, parking it while the future
/// waits: how blocking APIs (and tests) drive the async ones.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let parked = drive(future, || {
        std::thread::park();
        Ok::<(), std::convert::Infallible>(())
    });
    match parked {
        Ok(output) => output,
        Err(never) => match never {},
    }
}

/// [`block_on`] with a deadline: `None` if `future` has not completed when
/// `deadline` passes (it is dropped then).
pub fn block_on_until<F: Future>(deadline: Instant, future: F) -> Option<F::Output> {
    drive(future, || {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(());
        }
        std::thread::park_timeout(left);
        Ok(())
    })
    .ok()
}

/// Polls `future` on this thread until it is ready, calling `park` while
/// it waits; `park` may give up with an error. A spurious unpark only costs
/// another poll.
fn drive<F: Future, E>(future: F, mut park: impl FnMut() -> Result<(), E>) -> Result<F::Output, E> {
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }

    let mut future = std::pin::pin!(future);
    // Most calls (a send with room in the buffer) complete at once: try
    // that without making a waker, which costs an allocation. A future
    // polled again with another waker must use the new one, so nothing is
    // lost if it was not ready.
    if let Poll::Ready(output) = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        return Ok(output);
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Ok(output);
        }
        park()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_until_gives_up_at_the_deadline_and_returns_what_is_ready() {
        let start = Instant::now();
        let never = std::future::pending::<()>();
        assert_eq!(
            block_on_until(start + Duration::from_millis(50), never),
            None
        );
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert_eq!(block_on_until(start, async { 7 }), Some(7));
        // Woken from another thread before the deadline.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let listener = {
            let event = Arc::new(event_listener::Event::new());
            let l = event.listen();
            std::thread::spawn(move || {
                let _ = rx.recv();
                event.notify(1);
            });
            l
        };
        tx.send(()).unwrap();
        let far = Instant::now() + Duration::from_secs(30);
        assert_eq!(block_on_until(far, listener), Some(()));
        assert_eq!(block_on(async { 8 }), 8);
    }
}

/// A [`Producer::flush_timeout`] that ran out of time before every record
/// flushed had an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushTimeout {
    /// The time given.
    pub timeout: Duration,
}

impl std::fmt::Display for FlushTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "flush timed out after {} ms with records still undelivered",
            self.timeout.as_millis()
        )
    }
}

impl std::error::Error for FlushTimeout {}

/// A record [`Producer::send_result`] did not queue, handed back with the
/// reason.
#[derive(Debug)]
pub struct Refused {
    /// Why it was refused.
    pub error: SendError,
    /// The record, to send again or drop.
    pub record: ProducerRecord,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "record for {} refused: {}",
            self.record.topic, self.error
        )
    }
}

impl std::error::Error for Refused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
