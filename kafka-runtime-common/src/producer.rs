//! The user-facing handle, [`Producer`], generic over the runtime that
//! supplies its timer.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_listener::{EventListener, Listener};
use kafka_producer_core::{ErrorCode, FlushId, Record};

use crate::Runtime;
use crate::delivery::{Callback, DeliveryFuture, DeliveryResult};
use crate::interceptor::Acknowledgement;
use crate::record::{ProducerRecord, SendError};
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

impl<R: Runtime> Producer<R> {
    /// A handle on `shared`, whose driver the runtime has started.
    pub fn new(shared: Arc<Shared>) -> Producer<R> {
        Producer {
            handle: Arc::new(Handle { shared }),
            runtime: PhantomData,
        }
    }

    fn shared(&self) -> &Shared {
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
        let record = self.intercept(record);
        let result = self.enqueue(&record, Some(Box::new(callback))).await;
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
        let record = self.intercept(record);
        let result = self.try_enqueue(&record, Some(Box::new(callback)));
        self.refused(&record, result).map(drop)
    }

    fn try_enqueue(
        &self,
        record: &ProducerRecord,
        mut callback: Option<Callback>,
    ) -> Result<Option<DeliveryFuture>, SendError> {
        let approx = record.approx_size();
        let result = record.with_core_record(|core_record| {
            self.shared()
                .lock()
                .attempt(core_record, approx, &mut callback)
        });
        match result {
            Ok((done, wake)) => {
                if wake {
                    self.shared().wake_driver();
                }
                Ok(done)
            }
            Err(e) => {
                if matches!(e, CoreSendError::MetadataPending { .. }) {
                    // The core has asked for metadata: the driver must send it.
                    self.shared().wake_driver();
                }
                Err(e.into())
            }
        }
    }

    async fn enqueue(
        &self,
        record: &ProducerRecord,
        mut callback: Option<Callback>,
    ) -> Result<Option<DeliveryFuture>, SendError> {
        let approx = record.approx_size();
        // Set at the first refusal: the deadline, and the generation then
        // (later topic reports concern this wait).
        let mut waiting: Option<(Instant, u64)> = None;
        loop {
            let step = record.with_core_record(|core_record| {
                self.step(record, core_record, approx, &mut callback, &mut waiting)
            });
            match step {
                Step::Done(result) => return result,
                Step::Wait {
                    listener,
                    deadline,
                    refusal,
                } => {
                    if R::timeout_at(deadline, listener).await.is_none() {
                        return Err(match refusal {
                            CoreSendError::BufferFull { .. } => self.buffer_timeout(),
                            _ => {
                                let since = waiting.map_or(0, |(_, since)| since);
                                self.unavailable_after_timeout(&record.topic, since).await
                            }
                        });
                    }
                }
            }
        }
    }

    /// [`enqueue`](Self::enqueue), blocking the thread while it waits.
    fn enqueue_blocking(
        &self,
        record: &ProducerRecord,
        mut callback: Option<Callback>,
    ) -> Result<Option<DeliveryFuture>, SendError> {
        let approx = record.approx_size();
        let mut waiting: Option<(Instant, u64)> = None;
        loop {
            let step = record.with_core_record(|core_record| {
                self.step(record, core_record, approx, &mut callback, &mut waiting)
            });
            match step {
                Step::Done(result) => return result,
                Step::Wait {
                    listener,
                    deadline,
                    refusal,
                } => {
                    if !wait_blocking::<R>(listener, deadline) {
                        return Err(match refusal {
                            CoreSendError::BufferFull { .. } => self.buffer_timeout(),
                            _ => {
                                let since = waiting.map_or(0, |(_, since)| since);
                                self.unavailable_after_timeout_blocking(&record.topic, since)
                            }
                        });
                    }
                }
            }
        }
    }

    /// The error for a wait for buffer space that ran out.
    fn buffer_timeout(&self) -> SendError {
        SendError::BufferTimeout {
            max_block: self.shared().max_block,
        }
    }

    /// Tries to queue the record; on a refusal to wait for, arms the wait
    /// (a listener made before the attempt, so no change is missed).
    fn step(
        &self,
        record: &ProducerRecord,
        core_record: &Record<'_>,
        approx: usize,
        callback: &mut Option<Callback>,
        waiting: &mut Option<(Instant, u64)>,
    ) -> Step {
        let shared = self.shared();
        loop {
            let listener = waiting.is_some().then(|| shared.listen());
            let (result, generation) = {
                let mut st = shared.lock();
                if let Some((_, since)) = *waiting {
                    if let Some(&(reported, error)) = st.unavailable.get(&*record.topic) {
                        if reported > since {
                            return Step::Done(Err(topic_unavailable(&st, &record.topic, error)));
                        }
                    }
                }
                let result = st.attempt(core_record, approx, callback);
                (result, st.generation)
            };
            let refusal = match result {
                Ok((done, wake)) => {
                    if wake {
                        shared.wake_driver();
                    }
                    return Step::Done(Ok(done));
                }
                Err(
                    e @ (CoreSendError::BufferFull { .. } | CoreSendError::MetadataPending { .. }),
                ) => e,
                Err(e) => return Step::Done(Err(e.into())),
            };
            if matches!(refusal, CoreSendError::MetadataPending { .. }) {
                // The core has asked for metadata: the driver must send it.
                shared.wake_driver();
            }
            match (*waiting, listener) {
                (Some((deadline, _)), Some(listener)) => {
                    return Step::Wait {
                        listener,
                        deadline,
                        refusal,
                    };
                }
                // Retry once with a listener, so no wake-up is lost.
                _ => *waiting = Some((deadline_after(shared.max_block), generation)),
            }
        }
    }

    /// Waits until `done` holds (checked under the lock) or `deadline`.
    /// Returns whether it held.
    async fn wait_for(&self, deadline: Instant, mut done: impl FnMut(&mut State) -> bool) -> bool {
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
    fn wait_for_blocking(
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

    /// The number of partitions of `topic`, fetching its metadata if it is
    /// not known yet (waiting at most `max.block.ms`).
    pub async fn partitions_for(&self, topic: &str) -> Result<i32, SendError> {
        let deadline = deadline_after(self.shared().max_block);
        let mut since = None;
        loop {
            let listener = self.shared().listen();
            if let Some(result) = self.partitions_step(topic, &mut since)? {
                return Ok(result);
            }
            if R::timeout_at(deadline, listener).await.is_none() {
                let since = since.unwrap_or(0);
                return Err(self.unavailable_after_timeout(topic, since).await);
            }
        }
    }

    /// One look at `topic`'s partition count: the count, a final error, or
    /// `None` (asked for, wait for a change); `since` is the generation of
    /// the first ask.
    fn partitions_step(
        &self,
        topic: &str,
        since: &mut Option<u64>,
    ) -> Result<Option<i32>, SendError> {
        let shared = self.shared();
        {
            let mut st = shared.lock();
            if let Some(count) = st.core.partition_count(topic) {
                return Ok(Some(count));
            }
            if st.closed {
                return Err(SendError::Closed);
            }
            match *since {
                None => {
                    st.core.prefetch_topic(topic, Instant::now())?;
                    *since = Some(st.generation);
                }
                Some(since) => {
                    if let Some(&(reported, error)) = st.unavailable.get(topic) {
                        if reported > since {
                            return Err(topic_unavailable(&st, topic, error));
                        }
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
        let record = self.intercept(record);
        let result = self.enqueue_blocking(&record, Some(Box::new(callback)));
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
    pub fn partitions_for_blocking(&self, topic: &str) -> Result<i32, SendError> {
        let deadline = deadline_after(self.shared().max_block);
        let mut since = None;
        loop {
            let listener = self.shared().listen();
            if let Some(result) = self.partitions_step(topic, &mut since)? {
                return Ok(result);
            }
            if !wait_blocking::<R>(listener, deadline) {
                let since = since.unwrap_or(0);
                return Err(self.unavailable_after_timeout_blocking(topic, since));
            }
        }
    }

    /// The core's report ending the topic wait begun at generation
    /// `since`, if it has come (or the producer closed meanwhile).
    fn unavailable_report(&self, topic: &str, since: u64) -> Option<SendError> {
        let st = self.shared().lock();
        match st.unavailable.get(topic) {
            Some(&(reported, error)) if reported > since => {
                Some(topic_unavailable(&st, topic, error))
            }
            _ if st.closed => Some(topic_unavailable(&st, topic, None)),
            _ => None,
        }
    }

    /// The error for a topic wait whose `max.block.ms` ran out here. The
    /// core ends the same wait at its own deadline (no later than this
    /// side's) and reports the broker's last error for the topic (e.g.
    /// UNKNOWN_TOPIC_OR_PARTITION), but only at the driver's next turn,
    /// which this side's timer may beat: wait for that report a moment
    /// ([`REPORT_GRACE`]) rather than answer without the error. Found on
    /// Apache Kafka, where Tokio and mio callers got no error code.
    async fn unavailable_after_timeout(&self, topic: &str, since: u64) -> SendError {
        let grace = deadline_after(REPORT_GRACE);
        loop {
            let listener = self.shared().listen();
            if let Some(error) = self.unavailable_report(topic, since) {
                return error;
            }
            self.shared().wake_driver();
            if R::timeout_at(grace, listener).await.is_none() {
                return topic_unavailable(&self.shared().lock(), topic, None);
            }
        }
    }

    /// [`unavailable_after_timeout`](Self::unavailable_after_timeout),
    /// blocking the calling thread.
    fn unavailable_after_timeout_blocking(&self, topic: &str, since: u64) -> SendError {
        let grace = deadline_after(REPORT_GRACE);
        loop {
            let listener = self.shared().listen();
            if let Some(error) = self.unavailable_report(topic, since) {
                return error;
            }
            self.shared().wake_driver();
            if !wait_blocking::<R>(listener, grace) {
                return topic_unavailable(&self.shared().lock(), topic, None);
            }
        }
    }

    /// Whether the producer has closed (after [`close`](Self::close), a
    /// fatal error followed by close, or its driver ending).
    pub fn is_closed(&self) -> bool {
        self.shared().lock().closed
    }
}

/// How long a wait that ran out here waits for the core's report of the
/// same wait (see `unavailable_after_timeout`).
const REPORT_GRACE: Duration = Duration::from_millis(500);

/// `wait` from now, capped (see [`FOREVER`]).
fn deadline_after(wait: Duration) -> Instant {
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
