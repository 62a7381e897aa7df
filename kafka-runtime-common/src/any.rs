//! [`AnyProducer`]: the producer API once, for code that runs on any
//! runtime.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use crate::{
    ConsumerGroupMetadata, DeliveryFuture, DeliveryHandler, DeliveryResult, OffsetToCommit,
    Producer, ProducerRecord, Runtime, SendError, TransactionError,
};

/// A Kafka producer on any runtime: the calls an application makes,
/// implemented by the async [`Producer`] of every runtime crate (Tokio,
/// async-std/smol) and by kafka-runtime-mio's `BlockingProducer`, so that
/// code written once against it (kprod's commands, the runtime test suite)
/// runs on each.
///
/// The async producers' futures wait as their own methods do. The blocking
/// producer's futures do their work, blocking the calling thread, when
/// first polled: run them where blocking holds up nothing else (a thread
/// of their own, or `kafka_runtime_common::block_on`).
///
/// ```
/// use kafka_runtime_common::{AnyProducer, ProducerRecord, SendError};
///
/// /// Sends `count` records and waits for every outcome.
/// async fn produce<P: AnyProducer>(producer: &P, count: usize) -> Result<(), SendError> {
///     for i in 0..count {
///         let record = ProducerRecord::new("events").value(format!("event {i}"));
///         producer.send_with_callback(record, |_| {}).await?;
///     }
///     producer.flush().await;
///     Ok(())
/// }
/// ```
pub trait AnyProducer: Clone + Debug + Send + Sync + 'static {
    /// Queues `record`; the returned future resolves with its outcome
    /// ([`Producer::send`]).
    fn send(
        &self,
        record: ProducerRecord,
    ) -> impl Future<Output = Result<DeliveryFuture, SendError>> + Send;

    /// [`send`](Self::send), handing a refused record back
    /// ([`Producer::send_result`]).
    fn send_result(
        &self,
        record: ProducerRecord,
    ) -> impl Future<Output = Result<DeliveryFuture, crate::Refused>> + Send;

    /// Queues `record`; `callback` gets its outcome
    /// ([`Producer::send_with_callback`]).
    fn send_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> impl Future<Output = Result<(), SendError>> + Send
    where
        F: FnOnce(DeliveryResult) + Send + 'static;

    /// Queues `record`; `handler` gets its outcome with `number`
    /// ([`Producer::send_with_handler`]).
    fn send_with_handler(
        &self,
        record: ProducerRecord,
        handler: &DeliveryHandler,
        number: u64,
    ) -> impl Future<Output = Result<(), SendError>> + Send;

    /// Sends what is buffered and waits for every outcome
    /// ([`Producer::flush`]).
    fn flush(&self) -> impl Future<Output = ()> + Send;

    /// [`flush`](Self::flush), waiting at most `timeout`
    /// ([`Producer::flush_timeout`]).
    fn flush_timeout(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), crate::FlushTimeout>> + Send;

    /// Fails every record not sent yet ([`Producer::purge`]).
    fn purge(&self) -> usize;

    /// Closes, failing what is undelivered after `timeout`
    /// ([`Producer::close`]).
    fn close(&self, timeout: Duration) -> impl Future<Output = ()> + Send;

    /// The partitions of `topic`, fetching its metadata if needed
    /// ([`Producer::partitions_for`]).
    fn partitions_for(
        &self,
        topic: &str,
    ) -> impl Future<Output = Result<Vec<crate::PartitionInfo>, SendError>> + Send;

    /// A snapshot of the producer's metrics ([`Producer::metrics`]).
    fn metrics(&self) -> crate::Metrics;

    /// Sends an admin request over the producer's connections
    /// ([`Producer::admin`]).
    fn admin(
        &self,
        request: crate::admin::AdminRequest,
        timeout: Duration,
    ) -> impl Future<Output = Result<crate::admin::AdminResponse, crate::admin::AdminError>> + Send;

    /// Initializes transactions ([`Producer::init_transactions`]).
    fn init_transactions(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), TransactionError>> + Send;

    /// Opens a transaction ([`Producer::begin_transaction`]).
    fn begin_transaction(&self) -> Result<(), TransactionError>;

    /// Adds a group's offsets to the transaction
    /// ([`Producer::send_offsets_to_transaction`]).
    fn send_offsets_to_transaction(
        &self,
        offsets: &[OffsetToCommit],
        group: &ConsumerGroupMetadata,
    ) -> impl Future<Output = Result<(), TransactionError>> + Send;

    /// Commits the transaction ([`Producer::commit_transaction`]).
    fn commit_transaction(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), TransactionError>> + Send;

    /// Aborts the transaction ([`Producer::abort_transaction`]).
    fn abort_transaction(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), TransactionError>> + Send;
}

impl<R: Runtime> AnyProducer for Producer<R> {
    fn send(
        &self,
        record: ProducerRecord,
    ) -> impl Future<Output = Result<DeliveryFuture, SendError>> + Send {
        Producer::send(self, record)
    }

    fn send_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> impl Future<Output = Result<(), SendError>> + Send
    where
        F: FnOnce(DeliveryResult) + Send + 'static,
    {
        Producer::send_with_callback(self, record, callback)
    }

    fn send_with_handler(
        &self,
        record: ProducerRecord,
        handler: &DeliveryHandler,
        number: u64,
    ) -> impl Future<Output = Result<(), SendError>> + Send {
        Producer::send_with_handler(self, record, handler, number)
    }

    fn send_result(
        &self,
        record: ProducerRecord,
    ) -> impl Future<Output = Result<DeliveryFuture, crate::Refused>> + Send {
        Producer::send_result(self, record)
    }

    fn flush(&self) -> impl Future<Output = ()> + Send {
        Producer::flush(self)
    }

    fn flush_timeout(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), crate::FlushTimeout>> + Send {
        Producer::flush_timeout(self, timeout)
    }

    fn purge(&self) -> usize {
        Producer::purge(self)
    }

    fn close(&self, timeout: Duration) -> impl Future<Output = ()> + Send {
        Producer::close(self, timeout)
    }

    fn partitions_for(
        &self,
        topic: &str,
    ) -> impl Future<Output = Result<Vec<crate::PartitionInfo>, SendError>> + Send {
        Producer::partitions_for(self, topic)
    }

    fn metrics(&self) -> crate::Metrics {
        Producer::metrics(self)
    }

    fn admin(
        &self,
        request: crate::admin::AdminRequest,
        timeout: Duration,
    ) -> impl Future<Output = Result<crate::admin::AdminResponse, crate::admin::AdminError>> + Send
    {
        Producer::admin(self, request, timeout)
    }

    fn init_transactions(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), TransactionError>> + Send {
        Producer::init_transactions(self, timeout)
    }

    fn begin_transaction(&self) -> Result<(), TransactionError> {
        Producer::begin_transaction(self)
    }

    fn send_offsets_to_transaction(
        &self,
        offsets: &[OffsetToCommit],
        group: &ConsumerGroupMetadata,
    ) -> impl Future<Output = Result<(), TransactionError>> + Send {
        Producer::send_offsets_to_transaction(self, offsets, group)
    }

    fn commit_transaction(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), TransactionError>> + Send {
        Producer::commit_transaction(self, timeout)
    }

    fn abort_transaction(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), TransactionError>> + Send {
        Producer::abort_transaction(self, timeout)
    }
}
