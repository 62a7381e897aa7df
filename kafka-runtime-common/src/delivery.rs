//! Delivery outcomes: per-batch waiters that the driver completes once, and
//! the per-record [`DeliveryFuture`] and callbacks that read from them.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use kafka_producer_core::{DeliveryError, DeliveryErrorKind};

use crate::interceptor::{Acknowledgement, Interceptors};

/// Where a record was written: the Java client's `RecordMetadata`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordMetadata {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset, or -1 when it is unknown (`acks=0`, or a retry
    /// the broker recognised as a duplicate of an earlier write).
    pub offset: i64,
    /// The record's timestamp: the broker's append time when the topic uses
    /// LogAppendTime, otherwise the record's own (CreateTime).
    pub timestamp: i64,
}

/// What a record's outcome is, as delivered to a callback or a
/// [`DeliveryFuture`].
pub type DeliveryResult = Result<RecordMetadata, DeliveryError>;

/// A per-record callback of [`Producer::send_with_callback`](crate::Producer::send_with_callback).
pub type Callback = Box<dyn FnOnce(DeliveryResult) + Send>;

/// One handler for the outcomes of many records, each told apart by the
/// `u64` it was sent with ([`Producer::send_with_handler`](crate::Producer::send_with_handler)):
/// librdkafka's delivery report callback (`dr_msg_cb`) with its per-message
/// opaque. Nothing is allocated per record: a batch keeps its records'
/// numbers side by side and calls the handler for each when its outcome
/// arrives.
pub type DeliveryHandler = Arc<dyn Fn(u64, DeliveryResult) + Send + Sync>;

/// How one record's outcome is reported, other than by a future.
pub(crate) enum Report<'a> {
    /// A callback of its own.
    Callback(Callback),
    /// A shared handler and the record's number for it.
    Handler(&'a DeliveryHandler, u64),
}

/// A batch's outcome, shared by all its records.
#[derive(Debug, Clone)]
pub(crate) enum BatchOutcome {
    Delivered {
        topic: Arc<str>,
        partition: i32,
        base_offset: i64,
        log_append_time: Option<i64>,
    },
    Failed(DeliveryError),
}

impl BatchOutcome {
    fn for_record(&self, index: u32, timestamp: i64) -> DeliveryResult {
        match self {
            BatchOutcome::Delivered {
                topic,
                partition,
                base_offset,
                log_append_time,
            } => Ok(RecordMetadata {
                topic: topic.clone(),
                partition: *partition,
                offset: if *base_offset >= 0 {
                    base_offset + i64::from(index)
                } else {
                    -1
                },
                timestamp: log_append_time.unwrap_or(timestamp),
            }),
            BatchOutcome::Failed(e) => Err(e.clone()),
        }
    }
}

/// The outcome slot that every [`DeliveryFuture`] of one batch shares: one
/// allocation per batch, none per record.
#[derive(Default)]
pub(crate) struct BatchSlot {
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    outcome: Option<BatchOutcome>,
    wakers: Vec<Waker>,
}

/// Everyone waiting for one batch: created by the first `send` into it,
/// completed by the driver when the batch's event arrives.
#[derive(Default)]
pub(crate) struct BatchWaiters {
    slot: Option<Arc<BatchSlot>>,
    callbacks: Vec<(u32, i64, Callback)>,
    /// The handler of the records sent with one, and their index,
    /// timestamp and number (see [`DeliveryHandler`]).
    handler: Option<DeliveryHandler>,
    numbered: Vec<(u32, i64, u64)>,
    /// With interceptors: every record's outcome goes to them too.
    acks: Option<Box<Acks>>,
}

/// What the interceptors need to hear of one batch's records.
struct Acks {
    interceptors: Interceptors,
    topic: Arc<str>,
    partition: i32,
    /// Index and timestamp of each record.
    records: Vec<(u32, i64)>,
}

impl BatchWaiters {
    /// A future for the record at `index` of this batch.
    pub(crate) fn future(&mut self, index: u32, timestamp: i64) -> DeliveryFuture {
        let slot = self.slot.get_or_insert_with(Arc::default).clone();
        DeliveryFuture {
            slot,
            index,
            timestamp,
        }
    }

    /// Reports the outcome of the record at `index` (of `topic`,
    /// `partition`) to `interceptors` too.
    pub(crate) fn acknowledge(
        &mut self,
        interceptors: &Interceptors,
        topic: &str,
        partition: i32,
        index: u32,
        timestamp: i64,
    ) {
        self.acks
            .get_or_insert_with(|| {
                Box::new(Acks {
                    interceptors: interceptors.clone(),
                    topic: topic.into(),
                    partition,
                    records: Vec::new(),
                })
            })
            .records
            .push((index, timestamp));
    }

    /// Runs `callback` with the outcome of the record at `index`.
    pub(crate) fn callback(&mut self, index: u32, timestamp: i64, callback: Callback) {
        self.callbacks.push((index, timestamp, callback));
    }

    /// Reports the outcome of the record at `index` as `report` says.
    pub(crate) fn report(&mut self, index: u32, timestamp: i64, report: Report<'_>) {
        match report {
            Report::Callback(callback) => self.callback(index, timestamp, callback),
            Report::Handler(handler, number) => match &self.handler {
                Some(h) if !Arc::ptr_eq(h, handler) => {
                    // A second handler in one batch (rare): a callback of its
                    // own.
                    let handler = Arc::clone(handler);
                    self.callback(
                        index,
                        timestamp,
                        Box::new(move |result| handler(number, result)),
                    );
                }
                _ => {
                    self.handler.get_or_insert_with(|| Arc::clone(handler));
                    self.numbered.push((index, timestamp, number));
                }
            },
        }
    }

    /// Hands `outcome` to every waiter. Runs user callbacks: call it without
    /// holding the producer's lock.
    pub(crate) fn complete(mut self, outcome: BatchOutcome) {
        self.finish(outcome);
    }

    fn finish(&mut self, outcome: BatchOutcome) {
        if let Some(acks) = self.acks.take() {
            for &(index, timestamp) in &acks.records {
                match outcome.for_record(index, timestamp) {
                    Ok(meta) => acks
                        .interceptors
                        .on_acknowledgement(&Acknowledgement::Delivered(&meta)),
                    Err(error) => acks
                        .interceptors
                        .on_acknowledgement(&Acknowledgement::Failed {
                            topic: &acks.topic,
                            partition: acks.partition,
                            error: &error,
                        }),
                }
            }
        }
        // Callbacks and the handler in the records' order (as Java runs a
        // partition's callbacks): both lists are in index order already.
        let handler = self.handler.take();
        let mut callbacks = std::mem::take(&mut self.callbacks).into_iter().peekable();
        let mut numbered = std::mem::take(&mut self.numbered).into_iter().peekable();
        loop {
            let callback_first = match (callbacks.peek(), numbered.peek()) {
                (Some(c), Some(n)) => c.0 < n.0,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if callback_first {
                if let Some((index, timestamp, callback)) = callbacks.next() {
                    callback(outcome.for_record(index, timestamp));
                }
            } else if let Some((index, timestamp, number)) = numbered.next() {
                if let Some(handler) = &handler {
                    handler(number, outcome.for_record(index, timestamp));
                }
            }
        }
        if let Some(slot) = self.slot.take() {
            let wakers = {
                let mut state = slot.state.lock().unwrap_or_else(PoisonError::into_inner);
                state.outcome = Some(outcome);
                std::mem::take(&mut state.wakers)
            };
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

impl Drop for BatchWaiters {
    /// A batch whose waiters go away without an outcome (the driver task was
    /// dropped, e.g. with its runtime) must not leave futures pending
    /// forever.
    fn drop(&mut self) {
        if self.slot.is_some()
            || !self.callbacks.is_empty()
            || self.handler.is_some()
            || self.acks.is_some()
        {
            self.finish(BatchOutcome::Failed(DeliveryError {
                kind: DeliveryErrorKind::ProducerClosed,
                possibly_written: true,
            }));
        }
    }
}

/// The outcome of one record: resolves once its batch is acknowledged or
/// has failed. Dropping it does not cancel the record.
///
/// Returned by [`Producer::send`](crate::Producer::send). It holds no
/// reference to the producer.
#[must_use = "a DeliveryFuture tells whether the record was written"]
pub struct DeliveryFuture {
    slot: Arc<BatchSlot>,
    index: u32,
    timestamp: i64,
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field("index", &self.index)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

impl DeliveryFuture {
    /// Blocks this thread until the record has its outcome: for code that
    /// is not async (the mio runtime's blocking producer uses it).
    pub fn wait(self) -> DeliveryResult {
        crate::block_on(self)
    }

    /// The outcome if the record has one already, without waiting.
    pub fn try_result(&self) -> Option<DeliveryResult> {
        let state = self
            .slot
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let outcome = state.outcome.as_ref()?;
        Some(outcome.for_record(self.index, self.timestamp))
    }
}

impl Future for DeliveryFuture {
    type Output = DeliveryResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DeliveryResult> {
        let mut state = self
            .slot
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(outcome) = &state.outcome {
            return Poll::Ready(outcome.for_record(self.index, self.timestamp));
        }
        // Futures of one batch are usually awaited by one task in turn:
        // comparing with the last waker keeps the list short without an
        // O(n) scan per poll.
        if !state.wakers.last().is_some_and(|w| w.will_wake(cx.waker())) {
            state.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn one_batch_outcome_reaches_every_future_and_callback() {
        let mut waiters = BatchWaiters::default();
        let first = waiters.future(0, 10);
        let second = waiters.future(1, 11);
        let (tx, rx) = mpsc::channel();
        waiters.callback(2, 12, Box::new(move |r| tx.send(r).unwrap()));
        waiters.complete(BatchOutcome::Delivered {
            topic: "t".into(),
            partition: 3,
            base_offset: 100,
            log_append_time: None,
        });
        let meta = |offset, timestamp| RecordMetadata {
            topic: "t".into(),
            partition: 3,
            offset,
            timestamp,
        };
        assert_eq!(first.try_result(), Some(Ok(meta(100, 10))));
        assert_eq!(crate::block_on(first), Ok(meta(100, 10)));
        assert_eq!(second.wait(), Ok(meta(101, 11)));
        assert_eq!(rx.recv().unwrap(), Ok(meta(102, 12)));
    }

    #[test]
    fn unknown_offsets_stay_unknown_and_log_append_time_wins() {
        let mut waiters = BatchWaiters::default();
        let future = waiters.future(5, 10);
        assert!(future.try_result().is_none());
        let waiting = std::thread::spawn(move || future.wait());
        waiters.complete(BatchOutcome::Delivered {
            topic: "t".into(),
            partition: 0,
            base_offset: -1,
            log_append_time: Some(99),
        });
        let meta = waiting.join().unwrap().unwrap();
        assert_eq!((meta.offset, meta.timestamp), (-1, 99));
    }

    #[test]
    fn a_handler_hears_each_record_with_its_number() {
        let heard: Arc<Mutex<Vec<(u64, DeliveryResult)>>> = Arc::default();
        let log = Arc::clone(&heard);
        let handler: DeliveryHandler = Arc::new(move |n, r| log.lock().unwrap().push((n, r)));
        let tagged = Arc::clone(&heard);
        let other: DeliveryHandler =
            Arc::new(move |n, r| tagged.lock().unwrap().push((n + 1000, r)));
        let mut waiters = BatchWaiters::default();
        waiters.report(0, 10, Report::Handler(&handler, 7));
        waiters.report(1, 11, Report::Handler(&other, 8));
        waiters.report(2, 12, Report::Handler(&handler, 9));
        waiters.complete(BatchOutcome::Delivered {
            topic: "t".into(),
            partition: 1,
            base_offset: 40,
            log_append_time: None,
        });
        let heard = std::mem::take(&mut *heard.lock().unwrap());
        // In the records' order, whoever hears of them.
        let offsets: Vec<(u64, i64, i64)> = heard
            .iter()
            .map(|(n, r)| {
                let m = r.as_ref().unwrap();
                (*n, m.offset, m.timestamp)
            })
            .collect();
        assert_eq!(offsets, [(7, 40, 10), (1008, 41, 11), (9, 42, 12)]);
    }

    #[test]
    fn numbered_records_dropped_without_an_outcome_fail() {
        let heard: Arc<Mutex<Vec<(u64, DeliveryResult)>>> = Arc::default();
        let log = Arc::clone(&heard);
        let handler: DeliveryHandler = Arc::new(move |n, r| log.lock().unwrap().push((n, r)));
        let mut waiters = BatchWaiters::default();
        waiters.report(0, 1, Report::Handler(&handler, 3));
        drop(waiters);
        let heard = heard.lock().unwrap();
        assert_eq!(heard.len(), 1);
        let e = heard[0].1.as_ref().unwrap_err();
        assert_eq!(heard[0].0, 3);
        assert_eq!(e.kind, DeliveryErrorKind::ProducerClosed);
    }

    #[test]
    fn waiters_dropped_without_an_outcome_fail_their_records() {
        let mut waiters = BatchWaiters::default();
        let future = waiters.future(0, 1);
        drop(waiters);
        let e = future.wait().unwrap_err();
        assert_eq!(e.kind, DeliveryErrorKind::ProducerClosed);
        assert!(e.possibly_written);
    }
}
