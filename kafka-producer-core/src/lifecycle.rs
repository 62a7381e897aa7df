//! The batch lifecycle's bookkeeping: batch ids, the batches without an
//! outcome, `buffer.memory`, and the one path every outcome takes.
//!
//! A batch lives in exactly one place at a time, and the place is its
//! state: its partition's open slot (records are appended), the
//! partition's queue (sealed or ready, waiting to be sent or retried), a
//! Produce request (in flight), or nowhere (done). Moving the value moves
//! the state, so a batch cannot be in two states at once. What its records
//! are is one enum ([`Records`](crate::accumulator::Records)): being built,
//! out being sealed (a `SealJob`), sealed, or released. Its outcome is
//! reported once, through [`BatchLedger::report`]: that emits the event,
//! returns its buffer memory and builder, and forgets it as outstanding. A
//! batch in flight whose delivery timeout passes is reported then, but
//! stays with its request, marked `reported`, to learn what became of its
//! sequence.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use kafka_proto::compression::Compression;

use crate::accumulator::{Batch, BufferMemory, BuilderPool, Records};
use crate::error::{DeliveryError, DeliveryErrorKind};
use crate::event::{BatchId, Event};

/// How a batch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// In the log at `base_offset` (-1 when unknown: acks=0, or a
    /// duplicate the broker did not place).
    Delivered {
        base_offset: i64,
        log_append_time: Option<i64>,
    },
    /// Not delivered.
    Failed {
        kind: DeliveryErrorKind,
        possibly_written: bool,
    },
}

impl Outcome {
    pub(crate) fn failed(kind: DeliveryErrorKind, possibly_written: bool) -> Self {
        Outcome::Failed {
            kind,
            possibly_written,
        }
    }
}

/// Batch ids, outstanding batches, buffer memory and spare builders.
#[derive(Debug)]
pub(crate) struct BatchLedger {
    next_id: u64,
    /// Batches without an outcome yet, with their delivery deadlines
    /// (which grow with their ids: `created + delivery.timeout.ms`).
    outstanding: BTreeMap<BatchId, Instant>,
    memory: BufferMemory,
    builders: BuilderPool,
}

impl BatchLedger {
    /// A ledger with `buffer.memory` = `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        BatchLedger {
            next_id: 0,
            outstanding: BTreeMap::new(),
            memory: BufferMemory {
                used: 0,
                limit,
                waiting: None,
            },
            builders: BuilderPool::default(),
        }
    }

    /// The id the next batch gets (batches below it exist already).
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id
    }

    /// The lowest id of a batch without an outcome.
    pub(crate) fn lowest_outstanding(&self) -> Option<BatchId> {
        self.outstanding.first_key_value().map(|(id, _)| *id)
    }

    /// The earliest delivery deadline of a batch without an outcome: the
    /// oldest one's.
    pub(crate) fn earliest_deadline(&self) -> Option<Instant> {
        self.outstanding.first_key_value().map(|(_, d)| *d)
    }

    /// Batches without an outcome.
    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Bytes of buffer memory in use.
    pub(crate) fn memory_used(&self) -> usize {
        self.memory.used
    }

    /// Whether a refused `send` waits for memory.
    pub(crate) fn memory_waiting(&self) -> bool {
        self.memory.waiting.is_some()
    }

    /// Bytes of buffer memory free.
    pub(crate) fn memory_free(&self) -> usize {
        self.memory.free()
    }

    /// The `buffer.memory` limit.
    pub(crate) fn memory_limit(&self) -> usize {
        self.memory.limit
    }

    /// Reserves `n` bytes of buffer memory; false when they are not free.
    pub(crate) fn try_reserve(&mut self, n: usize) -> bool {
        self.memory.try_reserve(n)
    }

    /// A `send` was refused: `Event::MemoryAvailable` follows once
    /// `retry` bytes are free (what it needs at most when it tries again).
    pub(crate) fn wait_for(&mut self, retry: usize) {
        self.memory.wait_for(retry);
    }

    /// Gives back `n` bytes reserved for a record that was not appended
    /// after all.
    pub(crate) fn unreserve(&mut self, n: usize, events: &mut VecDeque<Event>) {
        if self.memory.release(n) {
            events.push_back(Event::MemoryAvailable);
        }
    }

    /// Opens a batch for `partition`, outstanding until reported. It holds
    /// no memory until its first record is appended (the caller reserves
    /// its buffer, then [`resize`](Self::resize)s it to what the buffer
    /// came out as).
    pub(crate) fn open(
        &mut self,
        partition: i32,
        compression: Compression,
        level: Option<i32>,
        capacity: usize,
        now: Instant,
        deadline: Instant,
    ) -> Batch {
        let id = BatchId(self.next_id);
        self.next_id += 1;
        let mut builder = self.builders.take(compression, capacity);
        builder.set_compression_level(level);
        let batch = Batch::new(id, partition, builder, now, deadline);
        debug_assert!(
            self.outstanding
                .last_key_value()
                .is_none_or(|(_, d)| *d <= deadline),
            "deadlines grow with batch ids"
        );
        self.outstanding.insert(id, deadline);
        batch
    }

    /// Sets the buffer memory a batch holds (`*memory`) to `bytes`, what
    /// its buffer has allocated now (after growing, or once sealed).
    pub(crate) fn resize(
        &mut self,
        memory: &mut usize,
        bytes: usize,
        events: &mut VecDeque<Event>,
    ) {
        if self.memory.resize(memory, bytes) {
            events.push_back(Event::MemoryAvailable);
        }
    }

    /// A batch was sealed into `len` bytes: from now on it holds those
    /// (its builder's buffer went back to the pool). Records that do not
    /// compress can come out a few bytes larger than the buffer they were
    /// in; the batch then keeps the buffer's count, so that sealing never
    /// takes memory beyond `buffer.memory`.
    pub(crate) fn sealed(&mut self, memory: &mut usize, len: usize, events: &mut VecDeque<Event>) {
        let bytes = len.min(*memory);
        self.resize(memory, bytes, events);
    }

    /// Hands back a builder a sealed batch no longer needs.
    pub(crate) fn give_builder(&mut self, builder: kafka_proto::record::RecordBatchBuilder) {
        self.builders.give(builder);
    }

    /// A finished batch's buffer to seal the next one into, if any came back.
    pub(crate) fn spare_buffer(&mut self) -> Option<Vec<u8>> {
        self.builders.spare_buffer()
    }

    /// Takes back the bytes of a sealed batch that is done with, for
    /// [`spare_buffer`](Self::spare_buffer), when nothing else holds them.
    pub(crate) fn give_buffer(&mut self, bytes: bytes::Bytes) {
        self.builders.give_buffer(bytes);
    }

    /// Reports `batch`'s outcome, once: emits its event, returns its memory
    /// and builder, and forgets it as outstanding. Later calls for the same
    /// batch do nothing. Returns the records that failed with this report
    /// (for `record-error-total`), if it reported a failure.
    pub(crate) fn report(
        &mut self,
        events: &mut VecDeque<Event>,
        topic: &Arc<str>,
        batch: &mut Batch,
        outcome: Outcome,
    ) -> Option<u32> {
        if batch.reported {
            return None;
        }
        batch.reported = true;
        let failed = matches!(outcome, Outcome::Failed { .. }).then_some(batch.record_count);
        events.push_back(match outcome {
            Outcome::Delivered {
                base_offset,
                log_append_time,
            } => Event::Delivered {
                batch: batch.id,
                topic: topic.clone(),
                partition: batch.partition,
                base_offset,
                record_count: batch.record_count,
                log_append_time,
            },
            Outcome::Failed {
                kind,
                possibly_written,
            } => Event::Failed {
                batch: batch.id,
                topic: topic.clone(),
                partition: batch.partition,
                record_count: batch.record_count,
                error: DeliveryError {
                    kind,
                    possibly_written,
                },
            },
        });
        self.outstanding.remove(&batch.id);
        match std::mem::replace(&mut batch.records, Records::Released) {
            Records::Building(b) => self.builders.give(b),
            // Nothing sends a reported batch again (a late answer to its
            // request only settles its sequence).
            Records::Sealed(bytes) => self.builders.give_buffer(bytes),
            Records::Sealing => batch.records = Records::Sealing,
            Records::Released => {}
        }
        if self.memory.release(std::mem::take(&mut batch.memory)) {
            events.push_back(Event::MemoryAvailable);
        }
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::t0;

    #[test]
    fn an_outcome_is_reported_once_and_returns_everything() {
        let mut ledger = BatchLedger::new(1_000);
        let mut events = VecDeque::new();
        let topic: Arc<str> = "t".into();
        assert!(ledger.try_reserve(140));
        let mut b = ledger.open(3, Compression::None, None, 100, t0(), t0());
        b.memory += 140;
        b.record_count = 2;
        assert_eq!(
            (ledger.outstanding(), ledger.lowest_outstanding()),
            (1, Some(b.id))
        );
        assert_eq!(ledger.next_id(), 1);
        ledger.report(
            &mut events,
            &topic,
            &mut b,
            Outcome::failed(DeliveryErrorKind::ProducerClosed, true),
        );
        ledger.report(
            &mut events,
            &topic,
            &mut b,
            Outcome::Delivered {
                base_offset: 0,
                log_append_time: None,
            },
        );
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(matches!(
            &events[0],
            Event::Failed { partition: 3, record_count: 2, error, .. } if error.possibly_written
        ));
        assert_eq!((ledger.outstanding(), ledger.memory_used()), (0, 0));
        assert!(matches!(b.records, Records::Released) && b.reported);
    }

    #[test]
    fn a_refused_reservation_hears_of_the_next_release() {
        let mut ledger = BatchLedger::new(100);
        let mut events = VecDeque::new();
        assert!(ledger.try_reserve(80));
        assert!(!ledger.try_reserve(80));
        ledger.wait_for(80);
        ledger.unreserve(80, &mut events);
        assert!(matches!(events.pop_front(), Some(Event::MemoryAvailable)));
        assert_eq!(ledger.memory_limit(), 100);
    }
}
