//! [`BlockingProducer`]: the event loop on a thread of its own, and a
//! handle whose methods block the calling thread.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use kafka_runtime_common::shared::Shared;
use kafka_runtime_common::{
    ConsumerGroupMetadata, FlushTimeout, OffsetToCommit, Parts, Producer, Runtime,
    TransactionError, TransactionState, block_on_until,
};
use mio::{Events, Poll, Token};

use crate::driver::EventLoop;
use crate::{
    ConfigError, DeliveryFuture, DeliveryHandler, DeliveryResult, ProducerRecord, SendError,
};

/// The driver thread's name.
pub(crate) const THREAD_NAME: &str = "kafka-producer-mio";
/// The driver thread's wake-up token; connections use the ones after it.
const WAKE: Token = Token(0);
const CONNECTION_TOKENS: std::ops::Range<Token> = Token(1)..Token(1 << 20);
/// Readiness events taken per poll.
const EVENTS: usize = 256;

thread_local! {
    /// Set on a driver thread: waiting there would stop the very loop that
    /// ends the wait (a callback calling the producer).
    pub(crate) static ON_DRIVER: Cell<bool> = const { Cell::new(false) };
}

/// mio with a driver thread per producer, as the [`Runtime`] of the
/// shared producer API: its waits block the calling thread.
#[derive(Debug)]
pub enum Mio {}

impl Runtime for Mio {
    /// Token providers run on the loop: blocking ones only.
    fn runs_async_token_providers() -> bool {
        false
    }

    type Producer = BlockingProducer;

    /// Creates the `mio::Poll` and its `Waker`, and spawns the driver
    /// thread.
    fn start(parts: Parts) -> Result<BlockingProducer, ConfigError> {
        crate::refuse_async_token_provider(&parts)?;
        let io_error = |what: &str, e: std::io::Error| ConfigError::Conflict {
            reason: format!("cannot start the mio driver: {what}: {e}"),
        };
        let poll = Poll::new().map_err(|e| io_error("Poll::new", e))?;
        let waker =
            mio::Waker::new(poll.registry(), WAKE).map_err(|e| io_error("Waker::new", e))?;
        let registry = poll
            .registry()
            .try_clone()
            .map_err(|e| io_error("Registry::try_clone", e))?;
        let pending = Arc::new(AtomicBool::new(false));
        let flag = pending.clone();
        let shared = Arc::new(Shared::new(
            parts.core,
            Box::new(move || {
                flag.store(true, Ordering::Release);
                // mio's Waker keeps a wake-up that comes while the thread is busy.
                if let Err(e) = waker.wake() {
                    tracing::error!(error = %e, "cannot wake the producer's driver thread");
                }
            }),
            parts.interceptors,
        ));
        shared.lock().token_provider = parts.token_provider;
        let event_loop = EventLoop::new(
            shared.clone(),
            pending,
            registry,
            CONNECTION_TOKENS,
            parts.tls,
            parts.span,
        );
        let (exited_tx, exited) = mpsc::channel::<()>();
        let handle = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || {
                // Dropped last, when the thread is done with everything.
                let _exited = exited_tx;
                run(poll, event_loop);
            })
            .map_err(|e| io_error("spawning its thread", e))?;
        Ok(BlockingProducer {
            inner: Producer::new(shared),
            thread: Arc::new(DriverThread {
                exited: Mutex::new(exited),
                handle: Mutex::new(Some(handle)),
            }),
        })
    }

    /// Blocks the calling thread until `future` completes or `deadline`
    /// passes; on the driver thread itself, never waits. (Only the async
    /// methods of `Producer<Mio>` use it; [`BlockingProducer`] calls the
    /// blocking ones.)
    async fn timeout_at<F: Future + Send>(deadline: Instant, future: F) -> Option<F::Output> {
        if ON_DRIVER.get() {
            return crate::poll_once(future);
        }
        block_on_until(deadline, future)
    }

    /// Everywhere but on the driver thread.
    fn may_block() -> bool {
        !ON_DRIVER.get()
    }
}

/// The driver thread: poll, serve the sockets, run the turn, until the
/// producer has closed and its connections are gone.
fn run(mut poll: Poll, mut event_loop: EventLoop<Arc<Shared>>) {
    ON_DRIVER.set(true);
    let mut events = Events::with_capacity(EVENTS);
    while !event_loop.is_finished() {
        let timeout = event_loop.next_timeout(Instant::now());
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            // Dropping the loop fails what is still waiting.
            tracing::error!(error = %e, "mio poll failed; the producer stops");
            return;
        }
        for event in &events {
            // The waker's event only ends the poll: it set `pending` itself.
            if event.token() != WAKE {
                event_loop.handle_event(event);
            }
        }
        event_loop.handle_timeout(Instant::now());
    }
    tracing::debug!("driver thread done");
}

/// The driver thread, for [`BlockingProducer::close`] to wait for.
#[derive(Debug)]
pub(crate) struct DriverThread {
    /// Disconnected when the thread has finished.
    exited: Mutex<mpsc::Receiver<()>>,
    pub(crate) handle: Mutex<Option<JoinHandle<()>>>,
}

impl DriverThread {
    /// Waits until the thread has finished, or `deadline` (`None`: no
    /// deadline); joins it when it has.
    fn join_until(&self, deadline: Option<Instant>) {
        let exited = self.exited.lock().unwrap_or_else(PoisonError::into_inner);
        let finished = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                matches!(
                    exited.recv_timeout(left),
                    Err(mpsc::RecvTimeoutError::Disconnected)
                )
            }
            None => exited.recv().is_err(),
        };
        if !finished {
            tracing::debug!("driver thread still writing to closed connections; not waiting");
            return;
        }
        let handle = self
            .handle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            if handle.join().is_err() {
                tracing::error!("the driver thread panicked (in a delivery callback?)");
            }
        }
    }
}

/// A Kafka producer whose methods block the calling thread: a cheap,
/// cloneable, `Send + Sync` handle on a producer driven by one background
/// thread (named `kafka-producer-mio`) running a mio event loop.
///
/// Built by [`ProducerBuilder::build`](crate::ProducerBuilder). Dropping
/// the last handle closes the producer in the background, delivering what
/// is buffered; call [`close`](Self::close) to wait for that.
///
/// Delivery callbacks run on the driver thread: keep them short. A send
/// from a callback never waits (it is refused where it would have waited),
/// and waiting on a [`DeliveryFuture`] there would stop the producer.
#[derive(Debug, Clone)]
pub struct BlockingProducer {
    inner: Producer<Mio>,
    pub(crate) thread: Arc<DriverThread>,
}

impl BlockingProducer {
    /// Queues `record` and returns a handle on its outcome
    /// ([`DeliveryFuture::wait`] blocks for it,
    /// [`try_result`](DeliveryFuture::try_result) does not; it is also a
    /// `Future`).
    ///
    /// Blocks only while `buffer.memory` is full or the topic's metadata is
    /// not known yet, at most `max.block.ms` each; then fails with
    /// [`SendError::BufferTimeout`] or [`SendError::TopicUnavailable`].
    /// Records are delivered in the order they were queued, per partition.
    pub fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, SendError> {
        self.inner.send_blocking(record)
    }

    /// Queues `record` and blocks until it is delivered or has failed.
    /// The outer error is a refusal (nothing was queued), the inner one a
    /// failed delivery. One record at a time is slow: prefer
    /// [`send`](Self::send) and waiting later.
    pub fn send_and_wait(&self, record: ProducerRecord) -> Result<DeliveryResult, SendError> {
        Ok(self.send(record)?.wait())
    }

    /// [`send`](Self::send), handing the record back when it is refused
    /// before being queued (as rust-rdkafka's `send_result`).
    #[allow(clippy::result_large_err)]
    pub fn send_result(
        &self,
        record: ProducerRecord,
    ) -> Result<DeliveryFuture, kafka_runtime_common::Refused> {
        self.inner.send_result_blocking(record)
    }

    /// Queues `record` and calls `callback` with its outcome, on the driver
    /// thread. Blocks as [`send`](Self::send) does.
    pub fn send_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> Result<(), SendError>
    where
        F: FnOnce(DeliveryResult) + Send + 'static,
    {
        self.inner.send_with_callback_blocking(record, callback)
    }

    /// Queues `record`; `handler` gets its outcome with `number`, on the
    /// driver thread, allocating nothing per record (see
    /// `kafka_runtime_common::Producer::send_with_handler`). Blocks as
    /// [`send`](Self::send) does.
    pub fn send_with_handler(
        &self,
        record: ProducerRecord,
        handler: &DeliveryHandler,
        number: u64,
    ) -> Result<(), SendError> {
        self.inner
            .send_with_handler_blocking(record, handler, number)
    }

    /// Sends everything buffered now without waiting for `linger.ms`, and
    /// returns once each of those records has an outcome.
    pub fn flush(&self) {
        self.inner.flush_blocking();
    }

    /// Sends an admin request (create, delete or describe topics) over the
    /// producer's connections and blocks for the broker's answer, at most
    /// `timeout` (see `kafka_runtime_common::Producer::admin`).
    pub fn admin(
        &self,
        request: kafka_runtime_common::admin::AdminRequest,
        timeout: Duration,
    ) -> Result<kafka_runtime_common::admin::AdminResponse, kafka_runtime_common::admin::AdminError>
    {
        self.inner.admin_blocking(request, timeout)
    }

    /// [`flush`](Self::flush), blocking at most `timeout` (librdkafka's
    /// `flush(timeout)`): [`FlushTimeout`] if some of the records flushed
    /// still have no outcome then (they go on being delivered).
    pub fn flush_timeout(&self, timeout: Duration) -> Result<(), FlushTimeout> {
        self.inner.flush_timeout_blocking(timeout)
    }

    /// Fails every record not sent yet (queued or lingering) as purged,
    /// not written, as librdkafka's `purge`; records already sent are left
    /// to their outcomes. Returns how many records were purged.
    pub fn purge(&self) -> usize {
        self.inner.purge()
    }

    /// Stops taking records, delivers what is buffered, and returns when
    /// every record has an outcome and the driver thread has finished (or,
    /// if a broker stops reading, about when `timeout` runs out: the thread
    /// then finishes on its own).
    ///
    /// Records still undelivered after `timeout` fail with
    /// `ProducerClosed`. Later sends on any clone fail with
    /// [`SendError::Closed`].
    pub fn close(&self, timeout: Duration) {
        let deadline = Instant::now().checked_add(timeout);
        self.inner.close_blocking(timeout);
        if !ON_DRIVER.get() {
            self.thread.join_until(deadline);
        }
    }

    /// The partitions of `topic` (leader, replicas, in-sync replicas, as
    /// Java's `partitionsFor`), fetching its metadata if it is not known yet
    /// (blocking at most `max.block.ms`).
    pub fn partitions_for(
        &self,
        topic: &str,
    ) -> Result<Vec<kafka_runtime_common::PartitionInfo>, SendError> {
        self.inner.partitions_for_blocking(topic)
    }

    /// Whether the producer has closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Initializes transactions (needs `transactional.id`): finds the
    /// coordinator, gets the producer id and epoch, fences older instances.
    /// Call once, first. After `timeout` it fails with
    /// [`TransactionError::Timeout`] but goes on; calling it again waits for
    /// the same initialization.
    ///
    /// ```no_run
    /// # fn run(producer: kafka_runtime_mio::BlockingProducer) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use kafka_runtime_mio::ProducerRecord;
    ///
    /// producer.init_transactions(Duration::from_secs(30))?;
    /// producer.begin_transaction()?;
    /// producer.send(ProducerRecord::new("orders").key("o-1").value("paid"))?;
    /// match producer.commit_transaction(Duration::from_secs(30)) {
    ///     Ok(()) => {}
    ///     Err(e) if e.is_abortable() => producer.abort_transaction(Duration::from_secs(30))?,
    ///     Err(e) => return Err(e.into()), // fenced or fatal: close the producer
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn init_transactions(&self, timeout: Duration) -> Result<(), TransactionError> {
        self.inner.init_transactions_blocking(timeout)
    }

    /// Opens a transaction.
    pub fn begin_transaction(&self) -> Result<(), TransactionError> {
        self.inner.begin_transaction()
    }

    /// Commits a consumer group's offsets with the open transaction
    /// (KIP-447), blocking at most `max.block.ms`.
    pub fn send_offsets_to_transaction(
        &self,
        offsets: &[OffsetToCommit],
        group: &ConsumerGroupMetadata,
    ) -> Result<(), TransactionError> {
        self.inner
            .send_offsets_to_transaction_blocking(offsets, group)
    }

    /// Commits the open transaction (flushing it first); an abortable error
    /// means: abort it.
    pub fn commit_transaction(&self, timeout: Duration) -> Result<(), TransactionError> {
        self.inner.commit_transaction_blocking(timeout)
    }

    /// Aborts the open transaction.
    pub fn abort_transaction(&self, timeout: Duration) -> Result<(), TransactionError> {
        self.inner.abort_transaction_blocking(timeout)
    }

    /// The transaction state (`None` without `transactional.id`).
    pub fn transaction_state(&self) -> Option<TransactionState> {
        self.inner.transaction_state()
    }

    /// A snapshot of the producer's metrics (Java's names).
    pub fn metrics(&self) -> kafka_runtime_common::Metrics {
        self.inner.metrics()
    }
}

/// The futures do their work when first polled, blocking the calling
/// thread as the methods of the same names do.
impl kafka_runtime_common::AnyProducer for BlockingProducer {
    async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, SendError> {
        BlockingProducer::send(self, record)
    }

    async fn send_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> Result<(), SendError>
    where
        F: FnOnce(DeliveryResult) + Send + 'static,
    {
        BlockingProducer::send_with_callback(self, record, callback)
    }

    async fn send_with_handler(
        &self,
        record: ProducerRecord,
        handler: &DeliveryHandler,
        number: u64,
    ) -> Result<(), SendError> {
        BlockingProducer::send_with_handler(self, record, handler, number)
    }

    async fn send_result(
        &self,
        record: ProducerRecord,
    ) -> Result<DeliveryFuture, kafka_runtime_common::Refused> {
        BlockingProducer::send_result(self, record)
    }

    async fn admin(
        &self,
        request: kafka_runtime_common::admin::AdminRequest,
        timeout: Duration,
    ) -> Result<kafka_runtime_common::admin::AdminResponse, kafka_runtime_common::admin::AdminError>
    {
        BlockingProducer::admin(self, request, timeout)
    }

    async fn flush(&self) {
        BlockingProducer::flush(self);
    }

    async fn flush_timeout(&self, timeout: Duration) -> Result<(), FlushTimeout> {
        BlockingProducer::flush_timeout(self, timeout)
    }

    fn purge(&self) -> usize {
        BlockingProducer::purge(self)
    }

    async fn close(&self, timeout: Duration) {
        BlockingProducer::close(self, timeout);
    }

    async fn partitions_for(
        &self,
        topic: &str,
    ) -> Result<Vec<kafka_runtime_common::PartitionInfo>, SendError> {
        BlockingProducer::partitions_for(self, topic)
    }

    async fn init_transactions(&self, timeout: Duration) -> Result<(), TransactionError> {
        BlockingProducer::init_transactions(self, timeout)
    }

    fn begin_transaction(&self) -> Result<(), TransactionError> {
        BlockingProducer::begin_transaction(self)
    }

    fn metrics(&self) -> kafka_runtime_common::Metrics {
        BlockingProducer::metrics(self)
    }

    async fn send_offsets_to_transaction(
        &self,
        offsets: &[OffsetToCommit],
        group: &ConsumerGroupMetadata,
    ) -> Result<(), TransactionError> {
        BlockingProducer::send_offsets_to_transaction(self, offsets, group)
    }

    async fn commit_transaction(&self, timeout: Duration) -> Result<(), TransactionError> {
        BlockingProducer::commit_transaction(self, timeout)
    }

    async fn abort_transaction(&self, timeout: Duration) -> Result<(), TransactionError> {
        BlockingProducer::abort_transaction(self, timeout)
    }
}
