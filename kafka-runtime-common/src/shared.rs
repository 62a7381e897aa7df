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

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use event_listener::{Event as Signal, EventListener};
use kafka_producer_core::{
    BatchId, ConnId, Connect, ErrorCode, Event, FlushId, Producer as Core, Transmit,
};

use crate::delivery::{BatchOutcome, BatchWaiters};

/// Wakes a runtime's driver: called by handles when the core has new work.
/// It must not lose a wake-up that comes while the driver is busy (Tokio's
/// `Notify::notify_one` and `mio::Waker::wake` both keep one).
pub type WakeDriver = Box<dyn Fn() + Send + Sync>;

/// What handles and the driver share.
pub struct Shared {
    state: Mutex<State>,
    /// Driver → waiting handles: memory freed, topic ready or unavailable,
    /// flush complete, closed. Waiters re-check their condition under the
    /// lock, so a spurious wake-up is harmless.
    changed: Signal,
    wake_driver: WakeDriver,
    /// `batch.size`, to tell when a batch is probably full.
    pub(crate) batch_size: usize,
    /// `max.block.ms`.
    pub(crate) max_block: Duration,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("batch_size", &self.batch_size)
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
    pub(crate) batches: HashMap<BatchId, BatchWaiters>,
    /// Flushes not complete yet.
    pub(crate) flushes: Vec<FlushId>,
    /// Topics reported unavailable, with the `generation` of the report.
    pub(crate) unavailable: HashMap<Arc<str>, (u64, Option<ErrorCode>)>,
    /// Counts the driver's wake-ups of waiting handles.
    pub(crate) generation: u64,
    /// The core reported `Closed`, or the driver is gone.
    pub(crate) closed: bool,
    /// The last connection failure or loss, to explain a topic that never
    /// became available.
    pub(crate) last_connect_error: Option<String>,
}

impl Shared {
    /// Wraps `core`; `wake_driver` is how handles wake the runtime's driver.
    pub fn new(core: Core, wake_driver: WakeDriver) -> Shared {
        let config = core.config();
        let (batch_size, max_block) = (config.batch_size, config.max_block);
        Shared {
            state: Mutex::new(State {
                core,
                batches: HashMap::new(),
                flushes: Vec::new(),
                unavailable: HashMap::new(),
                generation: 0,
                closed: false,
                last_connect_error: None,
            }),
            changed: Signal::new(),
            wake_driver,
            batch_size,
            max_block,
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
        self.last_connect_error = Some(format!("{peer}: {error}"));
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
        self.last_connect_error = Some(format!("{peer}: {reason}"));
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
    completed: Vec<(BatchWaiters, BatchOutcome)>,
    changed: bool,
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
                tracing::trace!(%topic, partition, base_offset, record_count, "batch delivered");
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
                tracing::warn!(%topic, partition, record_count, %error, "batch failed");
                if let Some(waiters) = st.batches.remove(&batch) {
                    self.completed.push((waiters, BatchOutcome::Failed(error)));
                }
            }
            Event::MemoryAvailable => self.changed = true,
            Event::TopicReady { topic } => {
                tracing::debug!(%topic, "topic metadata known");
                st.unavailable.remove(&topic);
                self.changed = true;
            }
            Event::TopicUnavailable { topic, error } => {
                tracing::warn!(%topic, ?error, "topic unavailable");
                st.unavailable.insert(topic, (st.generation + 1, error));
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
            Event::Closed => {
                tracing::debug!("producer closed");
                st.closed = true;
                self.changed = true;
            }
            _ => {}
        }
    }

    /// Completes deliveries and wakes waiting handles. Call it without the
    /// lock: user callbacks run here, and may call back into the producer.
    pub fn complete(&mut self, shared: &Shared) {
        for (waiters, outcome) in self.completed.drain(..) {
            waiters.complete(outcome);
        }
        if std::mem::take(&mut self.changed) {
            shared.notify_changed();
        }
    }
}
