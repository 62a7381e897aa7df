//! The record accumulator: per-partition batches, linger, and buffer memory.
//!
//! Records are appended straight into the open batch of their partition (one
//! copy, into the batch's wire buffer). A batch closes when the next record
//! would not fit in `batch.size`; it becomes sendable when closed, when it
//! has lingered `linger.ms`, or when a flush or close covers it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_proto::ErrorCode;
use kafka_proto::compression::Compression;
use kafka_proto::record::{Header, RecordBatchBuilder};

use crate::event::{BatchId, ConnId};
use crate::metadata::Leader;

/// Size of a v2 record batch header.
pub(crate) const BATCH_OVERHEAD: usize = 61;

/// An upper bound of the bytes a record adds to a v2 batch (before
/// compression): the largest varints for its lengths and deltas.
pub(crate) fn record_size_upper_bound(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header<'_>],
) -> usize {
    // length (5) + attributes (1) + timestamp delta (10) + offset delta (5)
    // + key length (5) + value length (5) + header count (5)
    let mut n = 36 + key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len);
    for h in headers {
        n += 10 + h.key.len() + h.value.map_or(0, <[u8]>::len);
    }
    n
}

/// The producer id, epoch and base sequence a batch was sealed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    pub(crate) sequence: i32,
}

/// One batch, from its first record to its outcome.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) id: BatchId,
    pub(crate) partition: i32,
    /// Its records, in whichever of their forms they are.
    pub(crate) records: Records,
    pub(crate) record_count: u32,
    /// The largest record appended, in bytes (`record-size-*`).
    pub(crate) max_record: u32,
    /// Uncompressed bytes appended, header included (an estimate of the
    /// sealed size for compressed batches).
    pub(crate) size: usize,
    /// Bytes of buffer memory the batch holds.
    pub(crate) memory: usize,
    pub(crate) created: Instant,
    /// `created + delivery.timeout.ms`.
    pub(crate) deadline: Instant,
    /// Produce requests that carried it so far.
    pub(crate) attempts: u32,
    pub(crate) stamp: Option<Stamp>,
    /// Some attempt may have been appended without our knowing (its answer
    /// was lost, or was an error Kafka may send after an append): what a
    /// failure reports. Never cleared.
    pub(crate) possibly_written: bool,
    /// An attempt under its current stamp may have been appended: to be
    /// resolved (sent again under the same stamp) before an epoch bump
    /// restarts the sequences (KIP-360), lest it be written twice. Cleared
    /// when the broker shows the stamp was not appended.
    pub(crate) in_doubt: bool,
    /// Not to be sent again before this time (retry backoff).
    pub(crate) retry_at: Option<Instant>,
    pub(crate) last_error: Option<ErrorCode>,
    /// Its outcome was already reported (delivery timeout while in flight);
    /// it is kept only to learn what the broker did with its sequence.
    pub(crate) reported: bool,
}

/// The forms a batch's records take, one at a time.
#[derive(Debug)]
pub(crate) enum Records {
    /// Appended to a builder: open, or closed and not sealed yet.
    Building(RecordBatchBuilder),
    /// Out being compressed and sealed (a `SealJob`): not sendable until
    /// they come back.
    Sealing,
    /// The wire bytes: what every attempt sends (restamped after an epoch
    /// bump).
    Sealed(Bytes),
    /// Gone: the batch was reported before it was sealed, and its builder
    /// went back to the pool.
    Released,
}

impl Batch {
    pub(crate) fn new(
        id: BatchId,
        partition: i32,
        builder: RecordBatchBuilder,
        now: Instant,
        deadline: Instant,
    ) -> Self {
        Batch {
            id,
            partition,
            records: Records::Building(builder),
            record_count: 0,
            max_record: 0,
            size: BATCH_OVERHEAD,
            memory: 0,
            created: now,
            deadline,
            attempts: 0,
            stamp: None,
            possibly_written: false,
            in_doubt: false,
            retry_at: None,
            last_error: None,
            reported: false,
        }
    }

    /// The builder, while the records are in one.
    pub(crate) fn builder(&self) -> Option<&RecordBatchBuilder> {
        match &self.records {
            Records::Building(b) => Some(b),
            _ => None,
        }
    }

    /// The builder, while records can be appended.
    pub(crate) fn builder_mut(&mut self) -> Option<&mut RecordBatchBuilder> {
        match &mut self.records {
            Records::Building(b) => Some(b),
            _ => None,
        }
    }

    /// Takes the builder out, leaving `then` in its place; `None` (and
    /// nothing changed) if the records are in another form.
    pub(crate) fn take_builder(&mut self, then: Records) -> Option<RecordBatchBuilder> {
        match std::mem::replace(&mut self.records, then) {
            Records::Building(b) => Some(b),
            other => {
                self.records = other;
                None
            }
        }
    }

    /// The wire bytes, once sealed.
    pub(crate) fn sealed(&self) -> Option<&Bytes> {
        match &self.records {
            Records::Sealed(b) => Some(b),
            _ => None,
        }
    }

    /// Whether the records are out being sealed.
    pub(crate) fn is_sealing(&self) -> bool {
        matches!(self.records, Records::Sealing)
    }

    /// An attempt's outcome is unknown: it may be in the log.
    pub(crate) fn mark_in_doubt(&mut self) {
        self.possibly_written = true;
        self.in_doubt = true;
    }

    /// The last sequence number of a stamped batch (with Kafka's wrap at
    /// `i32::MAX`).
    pub(crate) fn last_sequence(&self) -> Option<i32> {
        self.stamp
            .map(|s| add_sequence(s.sequence, self.record_count.saturating_sub(1)))
    }
}

/// `sequence + n`, wrapping from `i32::MAX` to 0 as Kafka's sequences do.
pub(crate) fn add_sequence(sequence: i32, n: u32) -> i32 {
    ((i64::from(sequence) + i64::from(n)) % (i64::from(i32::MAX) + 1)) as i32
}

/// One partition's batches and sequence state.
#[derive(Debug)]
pub(crate) struct PartitionQueue {
    pub(crate) leader: Leader,
    /// The batch records are appended to.
    pub(crate) open: Option<Batch>,
    /// Closed batches and retries waiting to be sent, ordered by batch id
    /// (which is also sequence order).
    pub(crate) queue: VecDeque<Batch>,
    /// Batches of this partition in flight.
    pub(crate) in_flight: u32,
    /// The connection they are in flight on: a partition's batches are only
    /// ever in flight on one connection at a time, so order is kept.
    pub(crate) in_flight_conn: Option<ConnId>,
    /// A batch came back for a retry: send nothing more until every batch
    /// in flight has come back, then resend in order.
    pub(crate) blocked: bool,
    /// The sequence the next new batch gets (idempotence).
    pub(crate) next_sequence: i32,
    /// The last sequence the broker acknowledged, or -1.
    pub(crate) last_acked_sequence: i32,
    /// The base sequence of the first batch the broker acknowledged under
    /// the current epoch, or -1: below it, sequences prove nothing (KIP-360
    /// lets a broker take any first sequence from an unknown producer id).
    pub(crate) first_acked_sequence: i32,
    /// Transactions: a record of the open transaction went here (the
    /// partition is added, or being added, to the transaction).
    pub(crate) txn_written: bool,
    /// Transactions: the coordinator has the partition in the open
    /// transaction, so its batches may go (v2: at once).
    pub(crate) txn_added: bool,
    /// What the next batch is planned from, in bytes: the size of the
    /// last batch closed here, or half the one before it if that is larger
    /// (see [`PartitionQueue::batch_capacity`]); 0 before the first.
    pub(crate) batch_hint: usize,
}

/// The buffer a partition's first batch is planned with: a partition's
/// memory grows with its data, by doubling, from here. Small, because
/// every partition written to opens one (1,000 partitions: 1 MB), and
/// growing to 64 KiB takes six doublings, once per partition.
pub(crate) const FIRST_BATCH_CAPACITY: usize = 1024;

impl PartitionQueue {
    pub(crate) fn new(leader: Leader) -> Self {
        PartitionQueue {
            leader,
            open: None,
            queue: VecDeque::new(),
            in_flight: 0,
            in_flight_conn: None,
            blocked: false,
            next_sequence: 0,
            last_acked_sequence: -1,
            first_acked_sequence: -1,
            txn_written: false,
            txn_added: false,
            batch_hint: 0,
        }
    }

    /// The buffer to plan a new batch with (before the record that opens
    /// it is counted), never more than `batch_size`. A partition whose last
    /// batch filled up plans a full one. One whose batches leave before
    /// they fill (on linger, or when the sender gets to them) plans half
    /// its last batch and doubles it once if this one grows as large: an
    /// open batch is on average half filled, so a buffer planned at its
    /// final size would hold about twice its records, and buffer memory
    /// counts the buffers. Memory thus grows with the data buffered, not
    /// with partitions × `batch.size` (the concern of Kafka's KIP-1332).
    /// The last size shrinks by at most half per batch, so a single small
    /// batch (a flush, a lull) costs the next full one a doubling or two.
    /// Called before the open batch (if any, with records) is closed for
    /// the new one, it counts that batch as the last.
    pub(crate) fn batch_capacity(&self, batch_size: usize) -> usize {
        let hint = match &self.open {
            Some(b) if b.record_count > 0 => Self::next_hint(b.size, self.batch_hint),
            _ => self.batch_hint,
        };
        let planned = match hint {
            0 => FIRST_BATCH_CAPACITY,
            hint if hint >= batch_size - batch_size / 8 => batch_size,
            hint => (hint / 2).max(FIRST_BATCH_CAPACITY),
        };
        planned.min(batch_size)
    }

    /// The hint after a batch of `size` bytes closes: its size, or half
    /// the last hint if that is larger.
    fn next_hint(size: usize, hint: usize) -> usize {
        size.max(hint / 2)
    }

    /// Whether any batch waits here (not counting those in flight).
    pub(crate) fn has_data(&self) -> bool {
        !self.queue.is_empty() || self.open.as_ref().is_some_and(|b| b.record_count > 0)
    }

    /// Whether the front batch may go now (it is not waiting out a retry
    /// backoff).
    pub(crate) fn front_due(&self, now: Instant) -> bool {
        self.queue
            .front()
            .is_some_and(|b| b.retry_at.is_none_or(|t| t <= now))
    }

    /// Whether the open batch has records and is due: its linger has passed,
    /// or a flush covers it (its id is below `flush_mark`).
    pub(crate) fn open_due(&self, now: Instant, linger: Duration, flush_mark: u64) -> bool {
        self.open.as_ref().is_some_and(|b| {
            b.record_count > 0 && (b.created + linger <= now || b.id.0 < flush_mark)
        })
    }

    /// Closes the open batch: no more records go into it.
    pub(crate) fn close_open(&mut self) {
        if let Some(b) = self.open.take() {
            if b.record_count > 0 {
                self.batch_hint = Self::next_hint(b.size, self.batch_hint);
                self.queue.push_back(b);
            } else {
                // An empty open batch holds no memory; drop it.
                debug_assert_eq!(b.memory, 0);
            }
        }
    }

    /// Puts a batch back for a retry, in batch-id order.
    pub(crate) fn requeue(&mut self, batch: Batch) {
        let pos = self.queue.partition_point(|b| b.id < batch.id);
        self.queue.insert(pos, batch);
    }

    /// A batch of this partition came back from flight.
    pub(crate) fn landed(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0 {
            self.in_flight_conn = None;
            self.blocked = false;
        }
    }
}

/// Buffer memory accounting (`buffer.memory`).
#[derive(Debug)]
pub(crate) struct BufferMemory {
    pub(crate) used: usize,
    pub(crate) limit: usize,
    /// A `send` was refused for lack of memory: what its retry needs at
    /// most. It hears of memory once that much is free.
    pub(crate) waiting: Option<usize>,
}

impl BufferMemory {
    /// Reserves `n` bytes; false when they are not free.
    pub(crate) fn try_reserve(&mut self, n: usize) -> bool {
        if n > 0 && self.used + n > self.limit {
            false
        } else {
            self.used += n;
            true
        }
    }

    /// A `send` was refused and will need at most `retry` bytes: it hears
    /// of memory once that much is free.
    pub(crate) fn wait_for(&mut self, retry: usize) {
        self.waiting = Some(self.waiting.map_or(retry, |w| w.min(retry)));
    }

    /// Bytes not in use.
    pub(crate) fn free(&self) -> usize {
        self.limit.saturating_sub(self.used)
    }

    /// Returns memory; true when a refused `send` should hear of it.
    pub(crate) fn release(&mut self, n: usize) -> bool {
        self.used = self.used.saturating_sub(n);
        self.report()
    }

    /// Sets the memory a batch holds (`*held`) to `bytes`, what its buffer
    /// has allocated now, without refusal: the bytes exist already (a
    /// buffer that came out larger than reserved, or shrank when sealed).
    /// True when a refused `send` should hear of memory freed.
    pub(crate) fn resize(&mut self, held: &mut usize, bytes: usize) -> bool {
        self.used = self.used.saturating_sub(*held).saturating_add(bytes);
        *held = bytes;
        self.report()
    }

    /// Whether a refused `send` waits and what it needed is free now
    /// (once: it waits again if refused again).
    fn report(&mut self) -> bool {
        let free = self.free();
        if self.waiting.is_some_and(|needed| needed <= free) {
            self.waiting = None;
            true
        } else {
            false
        }
    }
}

/// Builders kept for reuse so a new batch does not allocate its buffer
/// afresh each time, and the buffers of batches done with (acknowledged or
/// failed), for the builders to seal into (Java's `BufferPool` keeps freed
/// `batch.size` buffers likewise). A buffer freed to the allocator is often
/// given back to the system and comes back as fresh pages, each faulted in
/// and zeroed: that cost more than appending the records did (13 % of a
/// 100-byte-record run's CPU).
#[derive(Debug, Default)]
pub(crate) struct BuilderPool {
    spare: Vec<RecordBatchBuilder>,
    buffers: Vec<Vec<u8>>,
}

impl BuilderPool {
    const MAX_SPARE: usize = 64;
    /// Buffers kept: a response acknowledges a few batches at a time, and
    /// sealing takes them back one by one, so a few cover the flow; idle,
    /// they hold at most this many batches' worth.
    const MAX_BUFFERS: usize = 16;
    /// A buffer larger than this (a batch with a huge record) goes back to
    /// the allocator rather than being held.
    const MAX_BUFFER_BYTES: usize = 4 << 20;

    /// A buffer to seal into, if one was given back.
    pub(crate) fn spare_buffer(&mut self) -> Option<Vec<u8>> {
        self.buffers.pop()
    }

    /// Takes back a finished batch's bytes when nothing else holds them
    /// (a request still being written does: then they are just dropped).
    pub(crate) fn give_buffer(&mut self, bytes: Bytes) {
        if self.buffers.len() >= Self::MAX_BUFFERS {
            return;
        }
        if let Ok(b) = bytes.try_into_mut() {
            let v = Vec::from(b);
            if v.capacity() <= Self::MAX_BUFFER_BYTES {
                self.buffers.push(v);
            }
        }
    }

    pub(crate) fn take(&mut self, compression: Compression, capacity: usize) -> RecordBatchBuilder {
        match self.spare.pop() {
            Some(mut b) if b.compression() == compression => {
                b.reserve_batch(capacity);
                b
            }
            _ => RecordBatchBuilder::with_capacity(
                compression,
                RecordBatchBuilder::buffer_for(capacity),
            ),
        }
    }

    pub(crate) fn give(&mut self, mut b: RecordBatchBuilder) {
        if self.spare.len() < Self::MAX_SPARE {
            b.reset();
            self.spare.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_wrap_like_kafka() {
        assert_eq!(add_sequence(5, 3), 8);
        assert_eq!(add_sequence(i32::MAX, 1), 0);
        assert_eq!(add_sequence(i32::MAX - 1, 3), 1);
    }

    #[test]
    fn upper_bound_covers_the_real_size() {
        let b = RecordBatchBuilder::new(Compression::None);
        let headers = [Header {
            key: "h",
            value: Some(b"v"),
        }];
        for (k, v) in [
            (None, None),
            (Some(&b"key"[..]), Some(&[7u8; 300][..])),
            (Some(&[1u8; 70_000][..]), None),
        ] {
            let real = b.record_size(i64::MAX, k, v, &headers);
            assert!(record_size_upper_bound(k, v, &headers) >= real);
        }
    }

    #[test]
    fn finished_batches_give_their_buffers_back_when_nothing_else_holds_them() {
        let mut pool = BuilderPool::default();
        let v = vec![1u8; 70_000];
        let at = v.as_ptr();
        pool.give_buffer(Bytes::from(v));
        let back = pool.spare_buffer().expect("the unique buffer came back");
        assert_eq!(back.as_ptr(), at, "the same allocation");
        assert!(back.capacity() >= 70_000);
        assert!(pool.spare_buffer().is_none());
        // A request still being written holds a clone: nothing comes back.
        let shared = Bytes::from(vec![2u8; 1000]);
        let writing = shared.clone();
        pool.give_buffer(shared);
        assert!(pool.spare_buffer().is_none());
        drop(writing);
        // Too large to hold, and no more than MAX_BUFFERS.
        pool.give_buffer(Bytes::from(vec![0u8; BuilderPool::MAX_BUFFER_BYTES + 1]));
        assert!(pool.spare_buffer().is_none());
        for _ in 0..BuilderPool::MAX_BUFFERS + 5 {
            pool.give_buffer(Bytes::from(vec![0u8; 100]));
        }
        assert_eq!(pool.buffers.len(), BuilderPool::MAX_BUFFERS);
    }

    #[test]
    fn memory_release_reports_a_waiting_sender_once() {
        let mut m = BufferMemory {
            used: 0,
            limit: 100,
            waiting: None,
        };
        assert!(m.try_reserve(60));
        assert!(!m.try_reserve(60));
        m.wait_for(60);
        // 50 free is not enough for the 60 refused: no report yet.
        let mut held = 60;
        assert!(!m.resize(&mut held, 50));
        assert!(m.release(50));
        assert!(!m.release(0));
        assert_eq!(m.used, 0);
    }
}
