//! Records as users build them ([`ProducerRecord`], [`RecordHeader`]).

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use kafka_producer_core::{Header, Record};

/// Headers borrowed on the stack when converting a record; more than this
/// many cost one allocation per record.
const STACK_HEADERS: usize = 8;

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
/// use kafka_runtime_common::ProducerRecord;
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
    /// Runs `f` with the core's borrowed view of this record; up to
    /// [`STACK_HEADERS`] headers are borrowed without allocating.
    pub(crate) fn with_core_record<T>(&self, f: impl FnOnce(&Record<'_>) -> T) -> T {
        if self.headers.is_empty() {
            // Most records: no header array to fill.
            return f(&self.core_record(&[]));
        }
        let mut stack = [Header {
            key: "",
            value: None,
        }; STACK_HEADERS];
        let heap: Vec<Header<'_>>;
        let headers: &[Header<'_>] = if self.headers.len() <= STACK_HEADERS {
            for (slot, h) in stack.iter_mut().zip(&self.headers) {
                *slot = h.borrowed();
            }
            &stack[..self.headers.len()]
        } else {
            heap = self.headers.iter().map(RecordHeader::borrowed).collect();
            &heap
        };
        f(&self.core_record(headers))
    }

    /// The core's view of this record, with `headers`.
    fn core_record<'a>(&'a self, headers: &'a [Header<'a>]) -> Record<'a> {
        Record {
            topic: &self.topic,
            partition: self.partition,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers,
            timestamp: self.timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_headers_reach_the_core_record_in_order() {
        let mut record = ProducerRecord::new("t").key("k");
        for i in 0..(STACK_HEADERS + 3) {
            record = record.header(format!("h{i}"), Some(vec![i as u8]));
        }
        let keys = record.with_core_record(|r| {
            assert_eq!(r.key, Some(&b"k"[..]));
            r.headers
                .iter()
                .map(|h| h.key.to_owned())
                .collect::<Vec<_>>()
        });
        let want: Vec<String> = (0..STACK_HEADERS + 3).map(|i| format!("h{i}")).collect();
        assert_eq!(keys, want);
    }
}
