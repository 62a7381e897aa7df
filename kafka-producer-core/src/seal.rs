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

use bytes::Bytes;
use kafka_proto::record::{BatchOptions, RecordBatchBuilder};

use crate::event::BatchId;

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
    pub fn run(mut self) -> SealedBatch {
        let options = BatchOptions {
            transactional: self.transactional,
            ..BatchOptions::default()
        };
        let result = self.builder.seal(&options).map_err(|e| e.to_string());
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
