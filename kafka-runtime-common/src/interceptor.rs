//! Producer interceptors: the Java client's `ProducerInterceptor`
//! (`interceptor.classes`), as a trait set on the builder
//! ([`ProducerBuilder::interceptor`](crate::ProducerBuilder::interceptor)).
//!
//! An interceptor sees, and may replace, each record before it is
//! partitioned ([`on_send`](ProducerInterceptor::on_send)), and sees each
//! record's outcome ([`on_acknowledgement`](ProducerInterceptor::on_acknowledgement)):
//! written, failed after it was queued, or refused by `send` before it was
//! queued. Several run as a chain in the order they were added, each
//! `on_send` getting the record the previous one returned. As in Java, an
//! interceptor that panics is logged (`tracing` warning) and skipped: the
//! record goes on as the previous interceptor left it, and the producer is
//! not affected. With no interceptor set, nothing of this runs.
//!
//! `on_acknowledgement` runs where the outcome becomes known: on the
//! producer's driver for deliveries (keep it short, never block), on the
//! sending thread for refusals.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use kafka_runtime_common::interceptor::{Acknowledgement, ProducerInterceptor};
//! use kafka_runtime_common::ProducerRecord;
//!
//! /// Stamps every record with its origin and counts the failures.
//! #[derive(Default)]
//! struct Audit {
//!     failed: AtomicU64,
//! }
//!
//! impl ProducerInterceptor for Audit {
//!     fn on_send(&self, record: ProducerRecord) -> ProducerRecord {
//!         record.header("origin", Some("billing-service"))
//!     }
//!     fn on_acknowledgement(&self, ack: &Acknowledgement<'_>) {
//!         if !ack.is_delivered() {
//!             self.failed.fetch_add(1, Ordering::Relaxed);
//!         }
//!     }
//! }
//! ```

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use kafka_producer_core::DeliveryError;

use crate::{ProducerRecord, RecordMetadata, SendError};

/// Sees records on their way in and their outcomes on the way out; see the
/// [module docs](self). Every method has a default that does nothing, so an
/// interceptor implements only what it needs.
pub trait ProducerInterceptor: Send + Sync + 'static {
    /// Called by `send` before the record is partitioned: returns the record
    /// to send (the same one, changed, or another). A panic here is logged
    /// and the record goes on unchanged.
    fn on_send(&self, record: ProducerRecord) -> ProducerRecord {
        record
    }

    /// Called once per record with its outcome, whatever it is.
    fn on_acknowledgement(&self, ack: &Acknowledgement<'_>) {
        let _ = ack;
    }

    /// Called once when the producer has closed.
    fn close(&self) {}
}

/// A record's outcome as interceptors see it (Java's `RecordMetadata` plus
/// exception pair).
#[derive(Debug)]
#[non_exhaustive]
pub enum Acknowledgement<'a> {
    /// Written at these coordinates.
    Delivered(&'a RecordMetadata),
    /// Queued, then failed (see [`DeliveryError::possibly_written`]).
    Failed {
        /// The record's topic.
        topic: &'a str,
        /// The partition it was queued for.
        partition: i32,
        /// Why.
        error: &'a DeliveryError,
    },
    /// Refused by `send`: never queued, nothing of it reached a broker.
    Refused {
        /// The record's topic.
        topic: &'a str,
        /// Why.
        error: &'a SendError,
    },
}

impl Acknowledgement<'_> {
    /// Whether the record was written.
    pub fn is_delivered(&self) -> bool {
        matches!(self, Acknowledgement::Delivered(_))
    }

    /// The record's topic.
    pub fn topic(&self) -> &str {
        match self {
            Acknowledgement::Delivered(m) => &m.topic,
            Acknowledgement::Failed { topic, .. } | Acknowledgement::Refused { topic, .. } => topic,
        }
    }
}

/// The chain of interceptors a producer runs (cheap to clone: shared).
#[derive(Clone, Default)]
pub struct Interceptors {
    chain: Arc<[Arc<dyn ProducerInterceptor>]>,
}

impl fmt::Debug for Interceptors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interceptors")
            .field("len", &self.chain.len())
            .finish()
    }
}

impl Interceptors {
    /// A chain running `chain` in order.
    pub fn new(chain: Vec<Arc<dyn ProducerInterceptor>>) -> Interceptors {
        Interceptors {
            chain: chain.into(),
        }
    }

    /// Whether the chain is empty (a producer then keeps none).
    pub fn is_empty(&self) -> bool {
        self.chain.is_empty()
    }

    /// Runs every `on_send` in order; a panicking interceptor is logged and
    /// skipped, the record going on as the previous one left it.
    pub fn on_send(&self, mut record: ProducerRecord) -> ProducerRecord {
        for (i, interceptor) in self.chain.iter().enumerate() {
            let kept = record.clone();
            match catch_unwind(AssertUnwindSafe(|| interceptor.on_send(record))) {
                Ok(r) => record = r,
                Err(panic) => {
                    tracing::warn!(
                        interceptor = i,
                        panic = panic_message(&panic),
                        "interceptor on_send panicked; the record goes on unchanged"
                    );
                    record = kept;
                }
            }
        }
        record
    }

    /// Runs every `on_acknowledgement`; panics are logged and skipped.
    pub fn on_acknowledgement(&self, ack: &Acknowledgement<'_>) {
        for (i, interceptor) in self.chain.iter().enumerate() {
            if let Err(panic) =
                catch_unwind(AssertUnwindSafe(|| interceptor.on_acknowledgement(ack)))
            {
                tracing::warn!(
                    interceptor = i,
                    panic = panic_message(&panic),
                    "interceptor on_acknowledgement panicked"
                );
            }
        }
    }

    /// Runs every `close`; panics are logged and skipped.
    pub fn close(&self) {
        for (i, interceptor) in self.chain.iter().enumerate() {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| interceptor.close())) {
                tracing::warn!(
                    interceptor = i,
                    panic = panic_message(&panic),
                    "interceptor close panicked"
                );
            }
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    struct Tag(&'static str, Arc<Mutex<Vec<String>>>);

    impl ProducerInterceptor for Tag {
        fn on_send(&self, record: ProducerRecord) -> ProducerRecord {
            record.header(self.0, None::<Vec<u8>>)
        }
        fn on_acknowledgement(&self, ack: &Acknowledgement<'_>) {
            self.1.lock().unwrap().push(format!(
                "{} {} {}",
                self.0,
                ack.topic(),
                ack.is_delivered()
            ));
        }
        fn close(&self) {
            self.1.lock().unwrap().push(format!("{} closed", self.0));
        }
    }

    struct Panics;

    impl ProducerInterceptor for Panics {
        fn on_send(&self, record: ProducerRecord) -> ProducerRecord {
            let _ = record.header("lost", None::<Vec<u8>>);
            panic!("on_send fails")
        }
        fn on_acknowledgement(&self, _: &Acknowledgement<'_>) {
            panic!("on_acknowledgement fails")
        }
        fn close(&self) {
            panic!("close fails")
        }
    }

    #[test]
    fn the_chain_runs_in_order_and_survives_panics() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let chain = Interceptors::new(vec![
            Arc::new(Tag("a", log.clone())),
            Arc::new(Panics),
            Arc::new(Tag("b", log.clone())),
        ]);
        let record = chain.on_send(ProducerRecord::new("t"));
        let keys: Vec<&str> = record.headers.iter().map(|h| &*h.key).collect();
        assert_eq!(keys, ["a", "b"], "the panicking one's change is dropped");
        let meta = RecordMetadata {
            topic: "t".into(),
            partition: 0,
            offset: 1,
            timestamp: 2,
        };
        chain.on_acknowledgement(&Acknowledgement::Delivered(&meta));
        chain.on_acknowledgement(&Acknowledgement::Refused {
            topic: "u",
            error: &SendError::Closed,
        });
        chain.close();
        assert_eq!(
            *log.lock().unwrap(),
            [
                "a t true",
                "b t true",
                "a u false",
                "b u false",
                "a closed",
                "b closed"
            ]
        );
    }
}
