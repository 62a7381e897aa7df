//! Compression handed out to the driver: a [`SealJob`] is a batch's
//! records, to be compressed and sealed wherever the driver likes (outside
//! the lock its senders need, say); the [`SealedBatch`] it gives goes back
//! through [`Producer::handle_sealed`](crate::Producer::handle_sealed).
//!
//! Switched on with
//! [`Producer::set_offload_sealing`](crate::Producer::set_offload_sealing);
//! off, the core compresses a batch itself as it puts it into a Produce
//! request. Either way the bytes on the wire are the same: a job seals
//! without the producer id, epoch and sequence, which the core stamps in
//! (restamping the header and its CRC) when it sends the batch.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use kafka_proto::record::{BatchOptions, RecordBatchBuilder};

use crate::accumulator::Records;
use crate::event::BatchId;
use crate::producer::Producer;

/// A batch's records to compress and seal, from
/// [`Producer::poll_seal`](crate::Producer::poll_seal). Run it
/// ([`run`](Self::run)) on any thread and hand the result to
/// [`Producer::handle_sealed`](crate::Producer::handle_sealed); the batch
/// waits until then (its partition's later batches too, to keep their
/// order).
pub struct SealJob {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: i32,
    pub(crate) batch: BatchId,
    pub(crate) builder: RecordBatchBuilder,
    pub(crate) transactional: bool,
    /// A finished batch's buffer to compress into (given at `poll_seal`).
    pub(crate) spare: Option<Vec<u8>>,
}

impl fmt::Debug for SealJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealJob")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("batch", &self.batch)
            .field("records", &self.builder.record_count())
            .field("compression", &self.builder.compression())
            .finish()
    }
}

impl SealJob {
    /// The batch it seals.
    pub fn batch(&self) -> BatchId {
        self.batch
    }

    /// Its uncompressed size in bytes (header included).
    pub fn size(&self) -> usize {
        self.builder.size_in_bytes()
    }

    /// Compresses the records and seals the batch (pure computation: no
    /// I/O, no clock, no lock).
    #[must_use = "the sealed batch goes back through Producer::handle_sealed"]
    pub fn run(mut self) -> SealedBatch {
        let options = BatchOptions {
            transactional: self.transactional,
            ..BatchOptions::default()
        };
        let result = self
            .builder
            .seal_reusing(&options, self.spare.take())
            .map_err(|e| e.to_string());
        SealedBatch {
            topic: self.topic,
            partition: self.partition,
            batch: self.batch,
            builder: self.builder,
            result,
        }
    }
}

/// What a [`SealJob`] came to: for
/// [`Producer::handle_sealed`](crate::Producer::handle_sealed).
pub struct SealedBatch {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: i32,
    pub(crate) batch: BatchId,
    /// Emptied, for the next batch.
    pub(crate) builder: RecordBatchBuilder,
    pub(crate) result: Result<Bytes, String>,
}

impl fmt::Debug for SealedBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedBatch")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("batch", &self.batch)
            .field("bytes", &self.result.as_ref().map(Bytes::len))
            .finish()
    }
}

impl SealedBatch {
    /// The batch it sealed.
    pub fn batch(&self) -> BatchId {
        self.batch
    }
}

/// The driver's side of sealing.
impl Producer {
    /// Hands compression to the driver (`on`), or takes it back: while on,
    /// a compressed batch ready to go is not compressed inside the drain
    /// (under whatever lock guards the producer) but comes out of
    /// [`poll_seal`](Self::poll_seal) as a [`SealJob`](crate::SealJob) to run
    /// elsewhere; its result goes to [`handle_sealed`](Self::handle_sealed).
    /// The bytes sent are the same either way.
    pub fn set_offload_sealing(&mut self, on: bool) {
        self.sender.set_offload(on);
    }

    /// The next batch to compress and seal, with
    /// [`set_offload_sealing`](Self::set_offload_sealing) on. Drain these
    /// with the other outputs; the batch (and its partition's later ones)
    /// wait for [`handle_sealed`](Self::handle_sealed).
    #[must_use = "an output not acted on is lost"]
    pub fn poll_seal(&mut self) -> Option<SealJob> {
        let mut job = self.sender.poll_job()?;
        job.spare = self.ledger.spare_buffer();
        Some(job)
    }

    /// A [`SealJob`](crate::SealJob)'s result: the batch becomes sendable
    /// (or fails, if the codec failed). A batch that got its outcome
    /// meanwhile (delivery timeout, close, purge) is not sent.
    pub fn handle_sealed(&mut self, sealed: SealedBatch, now: Instant) {
        self.advance(now);
        let SealedBatch {
            topic,
            partition,
            batch,
            builder,
            result,
        } = sealed;
        self.ledger.give_builder(builder);
        // The batch, unless it got its outcome while the job was out.
        let waiting = self
            .topics
            .get_mut(&topic)
            .and_then(|t| t.partitions.get_mut(partition as usize))
            .and_then(|q| {
                let index = q
                    .queue
                    .iter()
                    .position(|b| b.id == batch && b.is_sealing())?;
                Some((q, index))
            });
        if let Some((queue, index)) = waiting {
            match result {
                Ok(bytes) => {
                    let batch = &mut queue.queue[index];
                    self.ledger
                        .sealed(&mut batch.memory, bytes.len(), &mut self.events);
                    batch.records = Records::Sealed(bytes);
                    self.sender.sendable();
                }
                Err(_) => {
                    if let Some(b) = queue.queue.remove(index) {
                        self.fail_unsealable(&topic, b);
                    }
                }
            }
        } else if let Ok(bytes) = result {
            self.ledger.give_buffer(bytes);
        }
        self.maintain();
    }
}
