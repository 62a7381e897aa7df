//! The user-facing handle: [`Producer`], [`ProducerRecord`], [`SendError`].

use std::borrow::Cow;
use std::fmt;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_producer_core::{ErrorCode, FatalError, Header, Record};
use tokio::sync::oneshot;

use crate::delivery::{Callback, DeliveryFuture, DeliveryResult};
use crate::driver::{Shared, State};

type CoreSendError = kafka_producer_core::SendError;

/// Headers borrowed on the stack when converting a record; more than this
/// many cost one allocation per record.
const STACK_HEADERS: usize = 8;
/// Bytes a record's framing adds at most beyond its key, value and headers
/// (length, attributes, deltas and lengths as varints).
const RECORD_OVERHEAD: usize = 32;
/// The same for one header.
const HEADER_OVERHEAD: usize = 10;

/// A record header with an owned key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// The header key.
    pub key: Cow<'static, str>,
    /// The header value; `None` is a null value.
    pub value: Option<Bytes>,
}

impl RecordHeader {
    fn borrowed(&self) -> Header<'_> {
        Header {
            key: &self.key,
            value: self.value.as_deref(),
        }
    }
}

/// A record to send, owning its data (the async counterpart of the core's
/// borrowed [`Record`]).
///
/// `Bytes` and `Arc<str>` make clones cheap: keep an `Arc<str>` for a topic
/// you send to often.
///
/// ```
/// use kafka_runtime_tokio::ProducerRecord;
/// let record = ProducerRecord::new("events")
///     .key("user-42")
///     .value(&b"{\"clicked\":true}"[..])
///     .header("source", Some("web"))
///     .timestamp(1_700_000_000_000);
/// assert_eq!(record.headers.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerRecord {
    /// The topic.
    pub topic: Arc<str>,
    /// An explicit partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// The key; `None` is a null key.
    pub key: Option<Bytes>,
    /// The value; `None` is a null value (a tombstone on compacted topics).
    pub value: Option<Bytes>,
    /// Headers, in order.
    pub headers: Vec<RecordHeader>,
    /// Milliseconds since the Unix epoch; `None` takes the current time.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record for `topic` with null key and value, no headers.
    pub fn new(topic: impl Into<Arc<str>>) -> ProducerRecord {
        ProducerRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the value.
    pub fn value(mut self, value: impl Into<Bytes>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Sends to this partition instead of the partitioner's choice.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sets the timestamp (milliseconds since the Unix epoch).
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Appends a header.
    pub fn header(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: Option<impl Into<Bytes>>,
    ) -> Self {
        self.headers.push(RecordHeader {
            key: key.into(),
            value: value.map(Into::into),
        });
        self
    }

    /// An upper bound of the record's encoded size (see [`RECORD_OVERHEAD`]).
    fn approx_size(&self) -> usize {
        let len = |b: &Option<Bytes>| b.as_ref().map_or(0, Bytes::len);
        RECORD_OVERHEAD
            + len(&self.key)
            + len(&self.value)
            + self
                .headers
                .iter()
                .map(|h| HEADER_OVERHEAD + h.key.len() + len(&h.value))
                .sum::<usize>()
    }
}

/// Why [`Producer::send`] did not take a record. A refused record was never
/// queued: nothing of it reached a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The record, encoded, is larger than `max.request.size` or
    /// `buffer.memory` allows.
    RecordTooLarge {
        /// Upper bound of its encoded size, with batch overhead.
        size: usize,
        /// The limit it exceeds.
        limit: usize,
        /// That limit's property name.
        limit_key: &'static str,
    },
    /// The topic name is not a legal Kafka topic name.
    InvalidTopic {
        /// The name given.
        topic: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The partition asked for (or a custom partitioner's choice) does not
    /// exist.
    InvalidPartition {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// How many the topic has.
        partitions: i32,
    },
    /// The topic exists but cannot be written (for example
    /// TOPIC_AUTHORIZATION_FAILED).
    Topic {
        /// The topic.
        topic: String,
        /// The broker's error.
        error: ErrorCode,
    },
    /// The topic's metadata did not arrive within `max.block.ms`: the topic
    /// does not exist (and is not auto-created), or no broker could be
    /// reached.
    TopicUnavailable {
        /// The topic.
        topic: String,
        /// The broker's last error for it, if a broker answered.
        error: Option<ErrorCode>,
        /// The last connection failure (address and cause), if any.
        connection_error: Option<String>,
    },
    /// `buffer.memory` stayed full for `max.block.ms`.
    BufferTimeout {
        /// `max.block.ms`.
        max_block: Duration,
    },
    /// The producer is closing or closed.
    Closed,
    /// The producer hit an error it cannot recover from.
    Fatal(FatalError),
    /// A refusal of the core this adapter does not know by name.
    Other(CoreSendError),
}

impl From<CoreSendError> for SendError {
    fn from(e: CoreSendError) -> SendError {
        match e {
            CoreSendError::RecordTooLarge {
                size,
                limit,
                limit_key,
            } => SendError::RecordTooLarge {
                size,
                limit,
                limit_key,
            },
            CoreSendError::InvalidTopic { topic, reason } => {
                SendError::InvalidTopic { topic, reason }
            }
            CoreSendError::InvalidPartition {
                topic,
                partition,
                partitions,
            } => SendError::InvalidPartition {
                topic,
                partition,
                partitions,
            },
            CoreSendError::Topic { topic, error } => SendError::Topic { topic, error },
            CoreSendError::Closed => SendError::Closed,
            CoreSendError::Fatal(e) => SendError::Fatal(e),
            other => SendError::Other(other),
        }
    }
}

struct Code(ErrorCode);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.name() {
            Some(name) => write!(f, "{name} ({})", self.0.0),
            None => write!(f, "error code {}", self.0.0),
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::RecordTooLarge {
                size,
                limit,
                limit_key,
            } => write!(
                f,
                "the record is {size} bytes when encoded, larger than {limit_key} = {limit}"
            ),
            SendError::InvalidTopic { topic, reason } => {
                write!(f, "invalid topic name {topic:?}: {reason}")
            }
            SendError::InvalidPartition {
                topic,
                partition,
                partitions,
            } => write!(
                f,
                "partition {partition} does not exist: topic {topic:?} has {partitions}"
            ),
            SendError::Topic { topic, error } => {
                write!(f, "topic {topic:?} cannot be written: {}", Code(*error))
            }
            SendError::TopicUnavailable {
                topic,
                error,
                connection_error,
            } => {
                write!(f, "topic {topic:?} is unavailable after max.block.ms")?;
                if let Some(e) = error {
                    write!(f, ": {}", Code(*e))?;
                }
                if let Some(e) = connection_error {
                    write!(f, " (last connection error: {e})")?;
                }
                Ok(())
            }
            SendError::BufferTimeout { max_block } => write!(
                f,
                "buffer.memory stayed full for max.block.ms ({} ms)",
                max_block.as_millis()
            ),
            SendError::Closed => f.write_str("the producer is closed"),
            SendError::Fatal(e) => write!(f, "the producer failed: {e}"),
            SendError::Other(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SendError {}

/// An async Kafka producer: a cheap, cloneable, `Send + Sync` handle.
///
/// One background task (the driver, spawned by
/// [`ProducerBuilder::build`](crate::ProducerBuilder::build)) owns the
/// connections and timers. Handles share the I/O-free core behind a mutex:
/// `send` locks it just long enough to append the record to its batch (no
/// channel message, no allocation per record) and wakes the driver only
/// when a batch starts or is probably full. Delivery is reported per batch
/// and fanned out to the records' futures or callbacks.
///
/// Dropping the last handle closes the producer in the background,
/// delivering what is buffered; call [`close`](Self::close) to wait for
/// that (a runtime that shuts down first drops the undelivered records,
/// failing their futures).
#[derive(Clone)]
pub struct Producer {
    handle: Arc<Handle>,
}

/// The part whose drop means "the last handle is gone".
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        {
            let mut st = self.shared.lock();
            if !st.closed {
                st.core.close(Instant::now(), None);
            }
        }
        self.shared.wake_driver.notify_one();
    }
}

impl fmt::Debug for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer").finish_non_exhaustive()
    }
}

impl Producer {
    pub(crate) fn new(shared: Arc<Shared>) -> Producer {
        Producer {
            handle: Arc::new(Handle { shared }),
        }
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// Queues `record` and returns a future for its outcome.
    ///
    /// Waits only while `buffer.memory` is full or the topic's metadata is
    /// not known yet, at most `max.block.ms` each time; then fails with
    /// [`SendError::BufferTimeout`] or [`SendError::TopicUnavailable`].
    /// Records are delivered in the order they were queued, per partition.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, SendError> {
        let future = self.enqueue(&record, None).await?;
        // Without a callback, `try_send` always makes a future.
        future.ok_or(SendError::Closed)
    }

    /// Queues `record` and calls `callback` with its outcome: the
    /// fire-and-forget form, with nothing to poll per record (the callback
    /// is boxed, which allocates only if it captures something).
    ///
    /// Callbacks run on the driver task: keep them short and never block in
    /// them. Waits as [`send`](Self::send) does.
    pub async fn send_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> Result<(), SendError>
    where
        F: FnOnce(DeliveryResult) + Send + 'static,
    {
        self.enqueue(&record, Some(Box::new(callback))).await?;
        Ok(())
    }

    async fn enqueue(
        &self,
        record: &ProducerRecord,
        mut callback: Option<Callback>,
    ) -> Result<Option<DeliveryFuture>, SendError> {
        let shared = self.shared();
        let mut stack = [Header {
            key: "",
            value: None,
        }; STACK_HEADERS];
        let heap: Vec<Header<'_>>;
        let headers: &[Header<'_>] = if record.headers.len() <= STACK_HEADERS {
            for (slot, h) in stack.iter_mut().zip(&record.headers) {
                *slot = h.borrowed();
            }
            &stack[..record.headers.len()]
        } else {
            heap = record.headers.iter().map(RecordHeader::borrowed).collect();
            &heap
        };
        let core_record = Record {
            topic: &record.topic,
            partition: record.partition,
            key: record.key.as_deref(),
            value: record.value.as_deref(),
            headers,
            timestamp: record.timestamp,
        };
        let approx = record.approx_size();
        // Set at the first refusal: the deadline, and the generation then
        // (later topic reports concern this wait).
        let mut waiting: Option<(tokio::time::Instant, u64)> = None;
        loop {
            let mut notified = pin!(shared.changed.notified());
            if waiting.is_some() {
                notified.as_mut().enable();
            }
            let (result, generation) = {
                let mut st = shared.lock();
                if let Some((_, since)) = waiting {
                    if let Some(&(reported, error)) = st.unavailable.get(&*record.topic) {
                        if reported > since {
                            return Err(topic_unavailable(&st, &record.topic, error));
                        }
                    }
                }
                let result = self.try_send(&mut st, &core_record, approx, &mut callback);
                (result, st.generation)
            };
            let refusal = match result {
                Ok((done, wake)) => {
                    if wake {
                        shared.wake_driver.notify_one();
                    }
                    return Ok(done);
                }
                Err(
                    e @ (CoreSendError::BufferFull { .. } | CoreSendError::MetadataPending { .. }),
                ) => e,
                Err(e) => return Err(e.into()),
            };
            if matches!(refusal, CoreSendError::MetadataPending { .. }) {
                // The core has asked for metadata: the driver must send it.
                shared.wake_driver.notify_one();
            }
            let Some((deadline, _)) = waiting else {
                let deadline = deadline_after(shared.max_block);
                waiting = Some((deadline, generation));
                // Retry once with `notified` enabled, so no wake-up is lost.
                continue;
            };
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(match refusal {
                    CoreSendError::BufferFull { .. } => SendError::BufferTimeout {
                        max_block: shared.max_block,
                    },
                    _ => topic_unavailable(&shared.lock(), &record.topic, None),
                });
            }
        }
    }

    /// One attempt under the lock. Returns the future (if no callback) and
    /// whether to wake the driver.
    fn try_send(
        &self,
        st: &mut State,
        record: &Record<'_>,
        approx: usize,
        callback: &mut Option<Callback>,
    ) -> Result<(Option<DeliveryFuture>, bool), CoreSendError> {
        if st.closed {
            return Err(CoreSendError::Closed);
        }
        let token = st.core.send(record, Instant::now())?;
        let waiters = st.batches.entry(token.batch).or_default();
        waiters.approx_bytes += approx;
        // A new batch may need a linger timer, or follows one that just
        // filled up; a batch past batch.size is ready to go now.
        let mut wake = token.index == 0;
        if !waiters.full_reported && waiters.approx_bytes >= self.shared().batch_size {
            waiters.full_reported = true;
            wake = true;
        }
        let done = match callback.take() {
            Some(callback) => {
                waiters.callback(token.index, token.timestamp, callback);
                None
            }
            None => Some(waiters.future(token.index, token.timestamp)),
        };
        Ok((done, wake))
    }

    /// Sends everything buffered now without waiting for `linger.ms`, and
    /// returns once each of those records has an outcome (delivered or
    /// failed: look at their futures or callbacks for which).
    pub async fn flush(&self) {
        let done = {
            let mut st = self.shared().lock();
            if st.closed {
                return;
            }
            let id = st.core.flush(Instant::now());
            let (tx, rx) = oneshot::channel();
            st.flushes.push((id, tx));
            rx
        };
        self.shared().wake_driver.notify_one();
        // An error means the driver is gone, which also settles every record.
        let _ = done.await;
    }

    /// Stops taking records, delivers what is buffered, and returns when
    /// every record has an outcome and the connections are closed.
    ///
    /// Records still undelivered after `timeout` fail with
    /// [`DeliveryErrorKind::ProducerClosed`](kafka_producer_core::DeliveryErrorKind::ProducerClosed)
    /// (`possibly_written` if a request carrying them was in flight). Later
    /// sends on any clone fail with [`SendError::Closed`]. Closing again can
    /// only shorten the deadline.
    pub async fn close(&self, timeout: Duration) {
        {
            let mut st = self.shared().lock();
            if !st.closed {
                // Deadlines past the Instant range mean "no deadline".
                let now = Instant::now();
                let timeout = now.checked_add(timeout.saturating_mul(2)).map(|_| timeout);
                st.core.close(now, timeout);
            }
        }
        self.shared().wake_driver.notify_one();
        loop {
            let mut notified = pin!(self.shared().changed.notified());
            notified.as_mut().enable();
            if self.shared().lock().closed {
                return;
            }
            notified.await;
        }
    }

    /// The number of partitions of `topic`, fetching its metadata if it is
    /// not known yet (waiting at most `max.block.ms`).
    pub async fn partitions_for(&self, topic: &str) -> Result<i32, SendError> {
        let shared = self.shared();
        let deadline = deadline_after(shared.max_block);
        let mut since = None;
        loop {
            let mut notified = pin!(shared.changed.notified());
            notified.as_mut().enable();
            {
                let mut st = shared.lock();
                if let Some(count) = st.core.partition_count(topic) {
                    return Ok(count);
                }
                if st.closed {
                    return Err(SendError::Closed);
                }
                match since {
                    None => {
                        st.core.prefetch_topic(topic, Instant::now())?;
                        since = Some(st.generation);
                    }
                    Some(since) => {
                        if let Some(&(reported, error)) = st.unavailable.get(topic) {
                            if reported > since {
                                return Err(topic_unavailable(&st, topic, error));
                            }
                        }
                    }
                }
            }
            shared.wake_driver.notify_one();
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(topic_unavailable(&shared.lock(), topic, None));
            }
        }
    }
}

/// `max.block.ms` from now; Java's `Long.MAX_VALUE` ms would overflow an
/// `Instant`, so very long waits are capped at about 30 years.
fn deadline_after(wait: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(wait)
        .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 86_400))
}

fn topic_unavailable(st: &State, topic: &str, error: Option<ErrorCode>) -> SendError {
    SendError::TopicUnavailable {
        topic: topic.to_owned(),
        error,
        connection_error: st.last_connect_error.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: T) {}

    /// Handles and every future of the API can move between threads (a
    /// lock guard held across an await would break this).
    #[tokio::test]
    async fn the_handle_is_send_and_sync_and_its_futures_are_send() {
        let p = crate::ProducerBuilder::new()
            .bootstrap_servers("127.0.0.1:1")
            .build()
            .unwrap();
        send_sync(&p);
        send(p.send(ProducerRecord::new("t")));
        send(p.send_with_callback(ProducerRecord::new("t"), |_| {}));
        send(p.flush());
        send(p.close(Duration::ZERO));
        send(p.partitions_for("t"));
        p.close(Duration::ZERO).await;
    }

    #[test]
    fn the_size_estimate_covers_key_value_and_headers() {
        let bare = ProducerRecord::new("t").approx_size();
        let full = ProducerRecord::new("t")
            .key("kk")
            .value("vvv")
            .header("h", Some("x"))
            .approx_size();
        assert_eq!(full - bare, 2 + 3 + HEADER_OVERHEAD + 1 + 1);
    }
}
