//! Flushes waiting for their batches, and the close in progress: which
//! [`Event::FlushComplete`]s are due, and the close's deadline.

use std::collections::VecDeque;
use std::time::Instant;

use crate::event::{Event, FlushId};

/// The flushes and the close of one producer.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    /// Flushes without `FlushComplete` yet, each with the id of the first
    /// batch created after it (it completes once every batch below is
    /// done).
    flushes: VecDeque<(FlushId, u64)>,
    next_flush_id: u64,
    /// `close` was called: with its deadline, if any.
    closing: Option<Option<Instant>>,
}

impl Shutdown {
    /// A flush covering the batches below `mark`; `tracked` is false when
    /// it is over at once (the producer has closed: no `FlushComplete`
    /// comes after `Closed`).
    pub(crate) fn flush(&mut self, mark: u64, tracked: bool) -> FlushId {
        let id = FlushId(self.next_flush_id);
        self.next_flush_id += 1;
        if tracked {
            self.flushes.push_back((id, mark));
        }
        id
    }

    /// Reports the flushes whose batches are all done, now that the lowest
    /// outstanding batch id is `lowest` (`u64::MAX`: none), in order.
    pub(crate) fn complete_flushes(&mut self, lowest: u64, events: &mut VecDeque<Event>) {
        while let Some(&(id, mark)) = self.flushes.front() {
            if lowest < mark {
                break;
            }
            self.flushes.pop_front();
            events.push_back(Event::FlushComplete(id));
        }
    }

    /// Reports every flush still waiting (the producer closed: nothing is
    /// outstanding any more).
    pub(crate) fn complete_all(&mut self, events: &mut VecDeque<Event>) {
        self.complete_flushes(u64::MAX, events);
    }

    /// `close` was called with `deadline`: a second call can only shorten
    /// it.
    pub(crate) fn close(&mut self, deadline: Option<Instant>) {
        let deadline = match (self.close_deadline(), deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.closing = Some(deadline);
    }

    /// Whether `close` was called.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.is_some()
    }

    /// When the close gives up on what is outstanding, if it ever does.
    pub(crate) fn close_deadline(&self) -> Option<Instant> {
        self.closing.flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::t0;
    use std::time::Duration;

    #[test]
    fn flushes_complete_in_order_once_their_batches_are_done() {
        let mut s = Shutdown::default();
        let mut events = VecDeque::new();
        let a = s.flush(3, true);
        let b = s.flush(7, true);
        let late = s.flush(9, false);
        assert_eq!((a, b, late), (FlushId(0), FlushId(1), FlushId(2)));
        s.complete_flushes(2, &mut events);
        assert!(
            events.is_empty(),
            "batch 2 is outstanding, below both marks"
        );
        s.complete_flushes(5, &mut events);
        assert_eq!(events, [Event::FlushComplete(a)]);
        s.complete_all(&mut events);
        assert_eq!(events, [Event::FlushComplete(a), Event::FlushComplete(b)]);
    }

    #[test]
    fn a_second_close_can_only_shorten_the_deadline() {
        let t = t0();
        let mut s = Shutdown::default();
        assert!(!s.is_closing());
        s.close(None);
        assert!(s.is_closing() && s.close_deadline().is_none());
        s.close(Some(t + Duration::from_secs(10)));
        s.close(Some(t + Duration::from_secs(20)));
        assert_eq!(s.close_deadline(), Some(t + Duration::from_secs(10)));
        s.close(None);
        assert_eq!(s.close_deadline(), Some(t + Duration::from_secs(10)));
    }
}
