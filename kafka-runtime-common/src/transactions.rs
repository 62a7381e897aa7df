//! Transactions on the shared handle: the Java client's calls
//! (`initTransactions`, `beginTransaction`, `sendOffsetsToTransaction`,
//! `commitTransaction`, `abortTransaction`), async and blocking. The core
//! runs them; these wait for their results with a timeout.

use std::time::{Duration, Instant};

use kafka_producer_core::{
    ConsumerGroupMetadata, OffsetToCommit, Producer as Core, TransactionError, TransactionOp,
    TransactionProgress, TransactionState,
};

use crate::Runtime;
use crate::producer::{Producer, deadline_after};

impl<R: Runtime> Producer<R> {
    /// Starts `op` in the core; `Ok(true)` when it completed at once.
    fn start_txn(
        &self,
        start: impl FnOnce(&mut Core, Instant) -> Result<TransactionProgress, TransactionError>,
    ) -> Result<bool, TransactionError> {
        let progress = {
            let mut st = self.shared().lock();
            if st.closed {
                return Err(TransactionError::Closed);
            }
            start(&mut st.core, Instant::now())
        };
        self.shared().wake_driver();
        Ok(progress? == TransactionProgress::Done)
    }

    fn txn_result(&self, op: TransactionOp) -> Result<(), TransactionError> {
        let mut st = self.shared().lock();
        match st.core.transaction_result(op) {
            Some(result) => result,
            None if st.closed => Err(TransactionError::Closed),
            None => Err(TransactionError::Timeout {
                operation: op.name(),
            }),
        }
    }

    async fn run_txn(
        &self,
        op: TransactionOp,
        timeout: Duration,
        start: impl FnOnce(&mut Core, Instant) -> Result<TransactionProgress, TransactionError>,
    ) -> Result<(), TransactionError> {
        let deadline = deadline_after(timeout);
        if self.start_txn(start)? {
            return Ok(());
        }
        self.wait_for(deadline, |st| {
            st.closed || st.core.transaction_result_ready(op)
        })
        .await;
        self.txn_result(op)
    }

    fn run_txn_blocking(
        &self,
        op: TransactionOp,
        timeout: Duration,
        start: impl FnOnce(&mut Core, Instant) -> Result<TransactionProgress, TransactionError>,
    ) -> Result<(), TransactionError> {
        let deadline = deadline_after(timeout);
        if self.start_txn(start)? {
            return Ok(());
        }
        self.wait_for_blocking(deadline, |st| {
            st.closed || st.core.transaction_result_ready(op)
        });
        self.txn_result(op)
    }

    /// Initializes transactions; needs `transactional.id`. Call once,
    /// before anything else: it finds the transaction coordinator, gets the
    /// producer id and epoch, fences older producers with the same
    /// `transactional.id` and completes what they left open.
    ///
    /// After `timeout` it fails with [`TransactionError::Timeout`] but goes
    /// on; call it again to wait for the same initialization.
    ///
    /// ```no_run
    /// # async fn run<R: kafka_runtime_common::Runtime>(producer: kafka_runtime_common::Producer<R>)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use kafka_runtime_common::ProducerRecord;
    ///
    /// // Built with .set("transactional.id", "orders-1").
    /// producer.init_transactions(Duration::from_secs(30)).await?;
    /// producer.begin_transaction()?;
    /// producer.send(ProducerRecord::new("orders").key("o-1").value("paid")).await?;
    /// producer.send(ProducerRecord::new("audit").value("o-1 paid")).await?;
    /// match producer.commit_transaction(Duration::from_secs(30)).await {
    ///     Ok(()) => {}
    ///     Err(e) if e.is_abortable() => {
    ///         producer.abort_transaction(Duration::from_secs(30)).await?
    ///     }
    ///     Err(e) => return Err(e.into()), // fenced or fatal: close the producer
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn init_transactions(&self, timeout: Duration) -> Result<(), TransactionError> {
        self.run_txn(TransactionOp::Init, timeout, |c, now| {
            c.init_transactions(now)
        })
        .await
    }

    /// Opens a transaction: the records sent until the commit or abort
    /// belong to it. Returns at once.
    pub fn begin_transaction(&self) -> Result<(), TransactionError> {
        let mut st = self.shared().lock();
        if st.closed {
            return Err(TransactionError::Closed);
        }
        st.core.begin_transaction(Instant::now())
    }

    /// Commits a consumer group's offsets with the open transaction
    /// (consume-transform-produce, KIP-447): they count only if the
    /// transaction commits. `offsets` are the next offsets to read. Waits
    /// at most `max.block.ms`.
    ///
    /// ```no_run
    /// # async fn run<R: kafka_runtime_common::Runtime>(producer: kafka_runtime_common::Producer<R>)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use kafka_runtime_common::{ConsumerGroupMetadata, OffsetToCommit, ProducerRecord};
    ///
    /// producer.begin_transaction()?;
    /// // ... for each input record at `offset` of "input"/0, send its results ...
    /// producer.send(ProducerRecord::new("output").value("result")).await?;
    /// let offsets = [OffsetToCommit { topic: "input".into(), partition: 0, offset: 42, metadata: None }];
    /// producer
    ///     .send_offsets_to_transaction(&offsets, &ConsumerGroupMetadata::new("my-app"))
    ///     .await?;
    /// producer.commit_transaction(Duration::from_secs(30)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: &[OffsetToCommit],
        group: &ConsumerGroupMetadata,
    ) -> Result<(), TransactionError> {
        let timeout = self.shared().max_block;
        self.run_txn(TransactionOp::SendOffsets, timeout, |c, now| {
            c.send_offsets_to_transaction(offsets, group, now)
        })
        .await
    }

    /// Commits the open transaction: sends what is buffered, waits for
    /// every record's outcome, then ends the transaction. When a record
    /// failed, the commit fails with an abortable error
    /// ([`TransactionError::is_abortable`]): abort then. After `timeout` it
    /// fails with [`TransactionError::Timeout`] but goes on; calling it
    /// again waits for the same commit.
    pub async fn commit_transaction(&self, timeout: Duration) -> Result<(), TransactionError> {
        self.run_txn(TransactionOp::Commit, timeout, |c, now| {
            c.commit_transaction(now)
        })
        .await
    }

    /// Aborts the open transaction: records not sent yet fail with
    /// `TransactionAborted`, and none of its records become visible to
    /// `read_committed` readers. The way out of an abortable error.
    pub async fn abort_transaction(&self, timeout: Duration) -> Result<(), TransactionError> {
        self.run_txn(TransactionOp::Abort, timeout, |c, now| {
            c.abort_transaction(now)
        })
        .await
    }

    /// A snapshot of the producer's metrics (Java's names; see
    /// [`kafka_producer_core::metrics`]).
    pub fn metrics(&self) -> kafka_producer_core::Metrics {
        self.shared()
            .lock()
            .core
            .metrics_at(std::time::Instant::now())
    }

    /// The transaction state (`None` without `transactional.id`).
    pub fn transaction_state(&self) -> Option<TransactionState> {
        self.shared().lock().core.transaction_state()
    }

    /// [`init_transactions`](Self::init_transactions), blocking the thread.
    pub fn init_transactions_blocking(&self, timeout: Duration) -> Result<(), TransactionError> {
        self.run_txn_blocking(TransactionOp::Init, timeout, |c, now| {
            c.init_transactions(now)
        })
    }

    /// [`send_offsets_to_transaction`](Self::send_offsets_to_transaction),
    /// blocking the thread.
    pub fn send_offsets_to_transaction_blocking(
        &self,
        offsets: &[OffsetToCommit],
        group: &ConsumerGroupMetadata,
    ) -> Result<(), TransactionError> {
        let timeout = self.shared().max_block;
        self.run_txn_blocking(TransactionOp::SendOffsets, timeout, |c, now| {
            c.send_offsets_to_transaction(offsets, group, now)
        })
    }

    /// [`commit_transaction`](Self::commit_transaction), blocking the thread.
    pub fn commit_transaction_blocking(&self, timeout: Duration) -> Result<(), TransactionError> {
        self.run_txn_blocking(TransactionOp::Commit, timeout, |c, now| {
            c.commit_transaction(now)
        })
    }

    /// [`abort_transaction`](Self::abort_transaction), blocking the thread.
    pub fn abort_transaction_blocking(&self, timeout: Duration) -> Result<(), TransactionError> {
        self.run_txn_blocking(TransactionOp::Abort, timeout, |c, now| {
            c.abort_transaction(now)
        })
    }
}
