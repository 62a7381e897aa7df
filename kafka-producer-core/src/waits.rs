//! Topic waits (`max.block.ms`): a `send` to a topic whose partitions are
//! not known yet starts a wait, named by a [`WaitId`], that ends with
//! [`Event::TopicReady`](crate::Event::TopicReady) or
//! [`Event::TopicUnavailable`](crate::Event::TopicUnavailable) for that id.
//! The core alone owns the deadline: adapters only map wait ids to the
//! callers waiting on them, so no second clock can disagree with it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::event::WaitId;
use crate::hash::Map;

/// The waits in progress, at most one per topic.
#[derive(Debug, Default)]
pub(crate) struct TopicWaits {
    waits: Map<Arc<str>, (WaitId, Instant)>,
    next_id: u64,
}

/// A wait for a topic: the one in progress or a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wait {
    pub(crate) id: WaitId,
    pub(crate) deadline: Instant,
    /// A wait of the same topic that ran out before the timer turn that
    /// would have ended it: it ends now (unavailable), and this new one
    /// starts with a full `max_block`.
    pub(crate) ran_out: Option<WaitId>,
}

impl TopicWaits {
    /// The wait for `topic`: the one in progress, or a new one ending at
    /// `now + max_block`.
    pub(crate) fn wait(&mut self, topic: &Arc<str>, now: Instant, max_block: Duration) -> Wait {
        let deadline = now
            .checked_add(max_block)
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        let mut ran_out = None;
        if let Some(&(id, d)) = self.waits.get(topic) {
            if d > now {
                return Wait {
                    id,
                    deadline: d,
                    ran_out: None,
                };
            }
            ran_out = Some(id);
        }
        let id = WaitId(self.next_id);
        self.next_id += 1;
        self.waits.insert(topic.clone(), (id, deadline));
        Wait {
            id,
            deadline,
            ran_out,
        }
    }

    /// Ends `topic`'s wait, if there is one (its metadata arrived).
    pub(crate) fn end(&mut self, topic: &str) -> Option<(Arc<str>, WaitId)> {
        self.waits
            .remove_entry(topic)
            .map(|(topic, (id, _))| (topic, id))
    }

    /// Ends the waits whose deadline has come, in id order.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<(Arc<str>, WaitId)> {
        let mut expired: Vec<(Arc<str>, WaitId)> = self
            .waits
            .iter()
            .filter(|(_, (_, d))| *d <= now)
            .map(|(t, (id, _))| (t.clone(), *id))
            .collect();
        expired.sort_by_key(|(_, id)| *id);
        for (t, _) in &expired {
            self.waits.remove(t);
        }
        expired
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.waits.values().map(|(_, d)| *d).min()
    }

    /// Ends every wait (the producer closed); returns them.
    pub(crate) fn end_all(&mut self) -> Vec<(Arc<str>, WaitId)> {
        let mut all: Vec<(Arc<str>, WaitId)> =
            self.waits.drain().map(|(t, (id, _))| (t, id)).collect();
        all.sort_by_key(|(_, id)| *id);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_wait_per_topic_until_it_ends() {
        let mut w = TopicWaits::default();
        let t0 = crate::testing::t0();
        let block = Duration::from_secs(60);
        let a: Arc<str> = "a".into();
        let first = w.wait(&a, t0, block);
        assert_eq!(first.deadline, t0 + block);
        // A retry of the send, or another sender: the same wait and deadline.
        let again = w.wait(&a, t0 + Duration::from_secs(10), block);
        assert_eq!(again, first);
        let b = w.wait(&"b".into(), t0 + Duration::from_secs(1), block);
        assert_ne!(b.id, first.id);
        assert_eq!(w.next_deadline(), Some(t0 + block));
        assert_eq!(w.end("a"), Some((a.clone(), first.id)));
        assert_eq!(w.end("a"), None);
        // A new wait after the end is a new id.
        let later = w.wait(&a, t0 + Duration::from_secs(2), block);
        assert!(later.id > b.id);
        let expired = w.expire(t0 + Duration::from_secs(61));
        assert_eq!(expired, vec![("b".into(), b.id)]);
        assert_eq!(w.end_all(), vec![(a, later.id)]);
    }

    #[test]
    fn a_wait_past_its_deadline_is_replaced_and_reported() {
        let mut w = TopicWaits::default();
        let t0 = crate::testing::t0();
        let block = Duration::from_secs(5);
        let a: Arc<str> = "a".into();
        let first = w.wait(&a, t0, block);
        // No timer turn expired it: the next send ends it and starts anew.
        let second = w.wait(&a, t0 + block, block);
        assert_eq!(second.ran_out, Some(first.id));
        assert_eq!(second.deadline, t0 + block + block);
        assert!(w.expire(t0 + block).is_empty());
    }
}
