//! [`MioDriver`]: the producer embedded in a `mio::Poll` the user owns.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kafka_runtime_common::shared::State;
use kafka_runtime_common::{
    ConsumerGroupMetadata, OffsetToCommit, Parts, Runtime, TransactionError, TransactionOp,
    TransactionProgress, TransactionState,
};
use mio::event::Event;
use mio::{Registry, Token};

use crate::driver::EventLoop;
use crate::{ConfigError, DeliveryFuture, DeliveryResult, ProducerRecord, SendError};

/// The runtime of a [`MioDriver`]: its producer never waits, because the
/// thread that would wait is the one that must run the driver.
///
/// Its [`ProducerBuilder::build`](kafka_runtime_common::ProducerBuilder::build)
/// returns the validated [`Parts`], for [`MioDriver::from_parts`].
#[derive(Debug)]
pub enum Embedded {}

/// Builds a [`MioDriver`] (see [`MioDriver::new`]); the settings are
/// those of [`kafka_runtime_common::ProducerBuilder`].
pub type DriverBuilder = kafka_runtime_common::ProducerBuilder<Embedded>;

impl Runtime for Embedded {
    /// Token providers run on the loop: blocking ones only.
    fn runs_async_token_providers() -> bool {
        false
    }

    type Producer = Parts;

    /// Starts nothing: the driver needs the user's registry, which
    /// [`MioDriver::from_parts`] takes.
    fn start(parts: Parts) -> Result<Parts, ConfigError> {
        Ok(parts)
    }

    /// Never waits: whatever `future` has not done at once has timed out.
    async fn timeout_at<F: Future + Send>(_deadline: Instant, future: F) -> Option<F::Output> {
        crate::poll_once(future)
    }
}

/// A Kafka producer driven by your own `mio::Poll`, on your thread: for
/// programs that already run a mio event loop and want no extra thread.
///
/// The driver registers its broker sockets with your registry under tokens
/// of the range you give it. In your loop:
///
/// - poll with at most [`next_timeout`](Self::next_timeout);
/// - hand it every event of its tokens with
///   [`handle_event`](Self::handle_event) (it returns `false` for the
///   others, which are yours);
/// - call [`handle_timeout`](Self::handle_timeout) after each poll: it runs
///   the producer's turn when one is due (cheap otherwise), and completes
///   deliveries there, running callbacks.
///
/// [`send`](Self::send) never waits: when a [`BlockingProducer`](crate::BlockingProducer)
/// would wait (buffer full, topic metadata not known yet), it returns the
/// refusal at once; try again after a few turns of your loop.
///
/// ```no_run
/// use std::time::{Duration, Instant};
/// use kafka_runtime_mio::{DriverBuilder, MioDriver, ProducerRecord};
/// use mio::{Events, Poll, Token};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut poll = Poll::new()?;
/// let builder = DriverBuilder::new().bootstrap_servers("localhost:9092");
/// let mut driver = MioDriver::new(builder, poll.registry(), Token(1000)..Token(2000))?;
/// let mut events = Events::with_capacity(256);
/// let mut delivery = None;
/// while !driver.is_finished() {
///     if delivery.is_none() {
///         // Refused while the topic's metadata is on its way: retry later.
///         delivery = driver.send(ProducerRecord::new("events").value("hello")).ok();
///     }
///     poll.poll(&mut events, driver.next_timeout())?;
///     for event in &events {
///         if !driver.handle_event(event) {
///             // one of your own tokens
///         }
///     }
///     driver.handle_timeout(Instant::now());
///     if let Some(result) = delivery.as_ref().and_then(|d| d.try_result()) {
///         println!("{result:?}");
///         driver.close(Duration::from_secs(5));
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct MioDriver {
    /// The loop and, in it, the producer's state: owned, with no lock and
    /// no other handle (sends take `&mut self`).
    event_loop: EventLoop<State>,
    /// Set when a call has given the producer work: a turn is due.
    pending: Arc<AtomicBool>,
}

impl std::fmt::Debug for MioDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MioDriver").finish_non_exhaustive()
    }
}

impl MioDriver {
    /// Validates `builder`'s settings and creates a driver whose sockets
    /// are registered with `registry` (a clone of it is kept) under tokens
    /// of `tokens`, which must not be empty and must not overlap yours.
    /// A connection per broker is open at a time, plus one while
    /// reconnecting: a few dozen tokens are plenty.
    pub fn new(
        builder: DriverBuilder,
        registry: &Registry,
        tokens: Range<Token>,
    ) -> Result<MioDriver, ConfigError> {
        MioDriver::from_parts(builder.build()?, registry, tokens)
    }

    /// [`new`](Self::new) from what [`DriverBuilder::build`](kafka_runtime_common::ProducerBuilder::build)
    /// returned.
    pub fn from_parts(
        parts: Parts,
        registry: &Registry,
        tokens: Range<Token>,
    ) -> Result<MioDriver, ConfigError> {
        crate::refuse_async_token_provider(&parts)?;
        if tokens.start >= tokens.end {
            return Err(ConfigError::Conflict {
                reason: format!("the driver's token range {tokens:?} is empty"),
            });
        }
        let registry = registry.try_clone().map_err(|e| ConfigError::Conflict {
            reason: format!("cannot clone the mio registry: {e}"),
        })?;
        // The calls run on this thread only: a flag that the next
        // `next_timeout` reads is wake-up enough.
        let pending = Arc::new(AtomicBool::new(false));
        let mut state = State::new(parts.core, parts.interceptors);
        state.token_provider = parts.token_provider;
        let event_loop = EventLoop::new(
            state,
            pending.clone(),
            registry,
            tokens,
            parts.tls,
            parts.span,
        );
        Ok(MioDriver {
            event_loop,
            pending,
        })
    }

    /// A turn is due (the producer has work).
    fn wake(&self) {
        self.pending.store(true, Ordering::Release);
    }

    /// Whether `token` is one of the driver's.
    pub fn owns(&self, token: Token) -> bool {
        self.event_loop.owns(token)
    }

    /// Serves `event` if its token is one of the driver's (and returns
    /// `true`): socket reads and writes, without running the producer's
    /// turn (that is [`handle_timeout`](Self::handle_timeout)'s).
    pub fn handle_event(&mut self, event: &Event) -> bool {
        if !self.owns(event.token()) {
            return false;
        }
        self.event_loop.handle_event(event);
        true
    }

    /// The longest your next `Poll::poll` may block: zero when the driver
    /// has work (after a [`send`](Self::send), or events it has read),
    /// `None` when only its sockets can bring any.
    pub fn next_timeout(&self) -> Option<Duration> {
        self.event_loop.next_timeout(Instant::now())
    }

    /// Runs the producer's turn when one is due: hands what the sockets
    /// read to the producer, fires its timers (linger, retries, request
    /// timeouts), opens, writes and closes connections, and completes
    /// deliveries (callbacks run here). Call it after every poll.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.event_loop.handle_timeout(now);
    }

    /// Queues `record` without waiting, and returns a future for its
    /// outcome (check it with [`DeliveryFuture::try_result`] after
    /// [`handle_timeout`](Self::handle_timeout); never
    /// [`wait`](DeliveryFuture::wait) on this thread, which must keep
    /// driving the producer).
    ///
    /// Where a blocking send would wait, this one is refused at once:
    /// [`SendError::BufferFull`] when `buffer.memory` is full now, and
    /// [`SendError::MetadataPending`] while the topic's metadata is not
    /// known (it has been asked for: try again after a few turns, and give
    /// up after as long as you would have blocked). Nothing was queued
    /// then. The other refusals are final, as for any send.
    ///
    /// Each refusal for metadata wakes the driver (the request must go
    /// out): retry on a short timer of your own rather than at once after
    /// every poll, or the loop spins until the metadata arrives.
    pub fn send(&mut self, record: ProducerRecord) -> Result<DeliveryFuture, SendError> {
        let record = self.event_loop.core.intercept(record);
        self.try_send(&record, None)?.ok_or(SendError::Closed)
    }

    /// Queues `record` without waiting and calls `callback` with its
    /// outcome, from [`handle_timeout`](Self::handle_timeout). Refusals as
    /// for [`send`](Self::send).
    pub fn send_with_callback<F>(
        &mut self,
        record: ProducerRecord,
        callback: F,
    ) -> Result<(), SendError>
    where
        F: FnOnce(DeliveryResult) + Send + 'static,
    {
        let record = self.event_loop.core.intercept(record);
        self.try_send(&record, Some(Box::new(callback)))?;
        Ok(())
    }

    /// Queues `record` without waiting; `handler` gets its outcome with
    /// `number`, from [`handle_timeout`](Self::handle_timeout), allocating
    /// nothing per record (see
    /// `kafka_runtime_common::Producer::send_with_handler`). Refusals as for
    /// [`send`](Self::send).
    pub fn send_with_handler(
        &mut self,
        record: ProducerRecord,
        handler: &kafka_runtime_common::DeliveryHandler,
        number: u64,
    ) -> Result<(), SendError> {
        let record = self.event_loop.core.intercept(record);
        let result = self
            .event_loop
            .core
            .try_send_with_handler(&record, handler, number)
            .map(|wake| (None, wake));
        self.after_try_send(&record, result)?;
        Ok(())
    }

    fn try_send(
        &mut self,
        record: &ProducerRecord,
        callback: Option<kafka_runtime_common::Callback>,
    ) -> Result<Option<DeliveryFuture>, SendError> {
        let result = self.event_loop.core.try_send(record, callback);
        self.after_try_send(record, result)
    }

    /// Tells the interceptors of a refusal and wakes the loop where the
    /// send needs it.
    fn after_try_send(
        &mut self,
        record: &ProducerRecord,
        result: Result<(Option<DeliveryFuture>, bool), SendError>,
    ) -> Result<Option<DeliveryFuture>, SendError> {
        if let Err(e) = &result {
            self.event_loop.core.refused(&record.topic, e);
        }
        match result {
            Ok((done, wake)) => {
                if wake {
                    self.wake();
                }
                Ok(done)
            }
            Err(e) => {
                if matches!(e, SendError::MetadataPending { .. }) {
                    // The core has asked for metadata: the request must go out.
                    self.wake();
                }
                Err(e)
            }
        }
    }

    /// Sends everything buffered at the next turn, without waiting for
    /// `linger.ms`. Returns at once: the records' futures or callbacks tell
    /// when each is done.
    pub fn flush(&mut self) {
        let st = &mut self.event_loop.core;
        if !st.is_closed() {
            let _ = st.core.flush(Instant::now());
            self.wake();
        }
    }

    /// Fails every record not sent yet (queued or lingering) as purged, not
    /// written, as librdkafka's `purge`; their futures and callbacks get
    /// the outcome at the next turn. Returns how many records were purged.
    pub fn purge(&mut self) -> usize {
        let st = &mut self.event_loop.core;
        if st.is_closed() {
            return 0;
        }
        let purged = st.core.purge(Instant::now());
        self.wake();
        purged
    }

    /// Starts closing: no more records are taken, buffered ones are
    /// delivered (those still undelivered after `timeout` fail), then the
    /// connections close. Returns at once; keep driving the loop until
    /// [`is_finished`](Self::is_finished).
    pub fn close(&mut self, timeout: Duration) {
        self.event_loop.core.close(timeout);
        self.wake();
    }

    /// The partitions of `topic` (as Java's `partitionsFor`) if its
    /// metadata is known;
    /// otherwise asks for it and returns
    /// [`SendError::TopicUnavailable`] (try again after a few turns).
    pub fn partitions_for(
        &mut self,
        topic: &str,
    ) -> Result<Vec<kafka_runtime_common::PartitionInfo>, SendError> {
        let result = self.event_loop.core.try_partitions_for(topic);
        if result.is_err() {
            self.wake();
        }
        result
    }

    /// Starts a transactional operation in the core: `Done`, or `Pending`
    /// until [`transaction_result`](Self::transaction_result) has the
    /// result (keep driving the loop meanwhile).
    fn start_txn(
        &mut self,
        start: impl FnOnce(
            &mut kafka_producer_core::Producer,
            Instant,
        ) -> Result<TransactionProgress, TransactionError>,
    ) -> Result<TransactionProgress, TransactionError> {
        let st = &mut self.event_loop.core;
        if st.is_closed() {
            return Err(TransactionError::Closed);
        }
        let r = start(&mut st.core, Instant::now());
        self.wake();
        r
    }

    /// Starts `init_transactions` (needs `transactional.id`); its result
    /// comes through [`transaction_result`](Self::transaction_result).
    ///
    /// Every transactional call of the driver returns at once: keep
    /// polling your loop and ask for the result until it is there.
    ///
    /// ```no_run
    /// use std::time::Instant;
    /// use kafka_runtime_mio::{MioDriver, ProducerRecord, TransactionOp, TransactionProgress};
    ///
    /// /// Turns `poll` once and hands the driver its events (your loop's own step).
    /// fn turn(poll: &mut mio::Poll, events: &mut mio::Events, driver: &mut MioDriver) {
    ///     poll.poll(events, driver.next_timeout()).unwrap();
    ///     for event in events.iter() {
    ///         driver.handle_event(event);
    ///     }
    ///     driver.handle_timeout(Instant::now());
    /// }
    ///
    /// fn run_op(
    ///     poll: &mut mio::Poll,
    ///     events: &mut mio::Events,
    ///     driver: &mut MioDriver,
    ///     op: TransactionOp,
    ///     started: TransactionProgress,
    /// ) -> Result<(), kafka_runtime_mio::TransactionError> {
    ///     if started == TransactionProgress::Done {
    ///         return Ok(());
    ///     }
    ///     loop {
    ///         if let Some(result) = driver.transaction_result(op) {
    ///             return result;
    ///         }
    ///         turn(poll, events, driver);
    ///     }
    /// }
    ///
    /// # fn example(mut poll: mio::Poll, mut driver: MioDriver) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut events = mio::Events::with_capacity(64);
    /// let started = driver.init_transactions()?;
    /// run_op(&mut poll, &mut events, &mut driver, TransactionOp::Init, started)?;
    /// driver.begin_transaction()?;
    /// let _delivery = driver.send(ProducerRecord::new("orders").value("paid"))?;
    /// let started = driver.commit_transaction()?;
    /// run_op(&mut poll, &mut events, &mut driver, TransactionOp::Commit, started)?;
    /// # Ok(())
    /// # }
    /// # fn main() {}
    /// ```
    pub fn init_transactions(&mut self) -> Result<TransactionProgress, TransactionError> {
        self.start_txn(|c, now| c.init_transactions(now))
    }

    /// Opens a transaction.
    pub fn begin_transaction(&mut self) -> Result<(), TransactionError> {
        let st = &mut self.event_loop.core;
        if st.is_closed() {
            return Err(TransactionError::Closed);
        }
        st.core.begin_transaction(Instant::now())
    }

    /// Starts adding a consumer group's offsets to the open transaction.
    pub fn send_offsets_to_transaction(
        &mut self,
        offsets: &[OffsetToCommit],
        group: &ConsumerGroupMetadata,
    ) -> Result<TransactionProgress, TransactionError> {
        self.start_txn(|c, now| c.send_offsets_to_transaction(offsets, group, now))
    }

    /// Starts committing the open transaction.
    pub fn commit_transaction(&mut self) -> Result<TransactionProgress, TransactionError> {
        self.start_txn(|c, now| c.commit_transaction(now))
    }

    /// Starts aborting the open transaction.
    pub fn abort_transaction(&mut self) -> Result<TransactionProgress, TransactionError> {
        self.start_txn(|c, now| c.abort_transaction(now))
    }

    /// The result of a transactional operation that returned `Pending`,
    /// once complete (handed out once).
    pub fn transaction_result(
        &mut self,
        op: TransactionOp,
    ) -> Option<Result<(), TransactionError>> {
        self.event_loop.core.core.transaction_result(op)
    }

    /// A snapshot of the producer's metrics (Java's names).
    pub fn metrics(&self) -> kafka_runtime_common::Metrics {
        self.event_loop
            .core
            .core
            .metrics_at(std::time::Instant::now())
    }

    /// The transaction state (`None` without `transactional.id`).
    pub fn transaction_state(&self) -> Option<TransactionState> {
        self.event_loop.core.core.transaction_state()
    }

    /// Whether the producer has closed (no send is taken any more).
    pub fn is_closed(&self) -> bool {
        self.event_loop.core.is_closed()
    }

    /// Whether the producer has closed and its last connection is gone:
    /// the driver has nothing more to do and can be dropped.
    pub fn is_finished(&self) -> bool {
        self.event_loop.is_finished()
    }
}
