//! The producer's timers in one table indexed by a closed enum (after
//! quinn-proto's `TimerTable`): each concern owns one slot, and
//! [`Producer::poll_timeout`](crate::Producer::poll_timeout) is the earliest
//! slot, with no scan over partitions or requests.
//!
//! Most slots are set from their owner's own deadline after every input
//! (`Producer::arm_timers`). The batch slots are kept without scanning:
//! [`Timer::Delivery`] is the deadline of the oldest batch without an
//! outcome (deadlines grow with batch ids: `created + delivery.timeout.ms`),
//! and [`Timer::Linger`] and [`Timer::Retry`] are lower bounds, lowered as
//! batches open or wait to be retried, and recomputed exactly (one scan)
//! only once they are due. A lower bound can wake the producer early, once:
//! the recomputation then moves it later.

use std::time::Instant;

use crate::producer::Producer;

/// One timer of the producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Connection setup and request timeouts, reconnect backoff, idle
    /// closes and re-authentication.
    Connections,
    /// The next metadata refresh (`metadata.max.age.ms`, or a retry).
    Metadata,
    /// The next admin request deadline or retry.
    Admin,
    /// The next InitProducerId retry.
    ProducerId,
    /// The transaction machine's next retry.
    Transaction,
    /// When to fetch a fresh OAuth token.
    TokenRefresh,
    /// The earliest `max.block.ms` of a send waiting for a topic.
    TopicWait,
    /// The `close` timeout.
    Close,
    /// The earliest `linger.ms` expiry of an open batch (a lower bound).
    Linger,
    /// The earliest retry backoff of a batch waiting to be resent (a lower
    /// bound).
    Retry,
    /// The earliest `delivery.timeout.ms` of a batch without an outcome.
    Delivery,
}

impl Timer {
    const COUNT: usize = 11;

    const ALL: [Timer; Timer::COUNT] = [
        Timer::Connections,
        Timer::Metadata,
        Timer::Admin,
        Timer::ProducerId,
        Timer::Transaction,
        Timer::TokenRefresh,
        Timer::TopicWait,
        Timer::Close,
        Timer::Linger,
        Timer::Retry,
        Timer::Delivery,
    ];
}

/// When each [`Timer`] is due, if it is armed.
#[derive(Debug, Default, Clone)]
pub(crate) struct TimerTable {
    at: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    /// Arms `timer` at `at`, or disarms it (`None`).
    pub(crate) fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.at[timer as usize] = at;
    }

    /// Arms `timer` at `at` unless it is armed earlier already.
    pub(crate) fn lower(&mut self, timer: Timer, at: Instant) {
        let slot = &mut self.at[timer as usize];
        if slot.is_none_or(|t| at < t) {
            *slot = Some(at);
        }
    }

    /// When `timer` is due, if armed.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at[timer as usize]
    }

    /// Whether `timer` is armed and due at `now`.
    pub(crate) fn is_due(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|t| t <= now)
    }

    /// The earliest armed timer, and when.
    pub(crate) fn next(&self) -> Option<(Timer, Instant)> {
        Timer::ALL
            .iter()
            .filter_map(|&t| self.get(t).map(|at| (t, at)))
            .min_by_key(|(_, at)| *at)
    }
}

impl Producer {
    /// Re-arms the timer table from each concern's deadlines (after every
    /// input that can move one). The batch timers need no scan: the
    /// ledger knows the oldest batch's deadline, and the linger and retry
    /// slots are lower bounds recomputed only once due.
    pub(crate) fn arm_timers(&mut self) {
        let now = self.now;
        let later = |t: Option<Instant>| t.filter(|t| *t > now);
        for (timer, at) in self.concern_deadlines() {
            self.timers.set(timer, at);
        }
        let timers = &mut self.timers;
        // Past deadlines were expired before this: the rest are later.
        timers.set(Timer::Delivery, later(self.ledger.earliest_deadline()));
        if timers.is_due(Timer::Linger, now) {
            let linger = self.config.linger;
            let next = self
                .topics
                .values()
                .flat_map(|t| &t.partitions)
                .filter_map(|q| q.open.as_ref().filter(|b| b.record_count > 0))
                .map(|b| b.created + linger)
                .filter(|l| *l > now)
                .min();
            timers.set(Timer::Linger, next);
        }
        if timers.is_due(Timer::Retry, now) {
            // Every queued batch, not only the fronts: a batch behind the
            // front becomes the front later, with no other call to lower
            // the slot.
            let next = self
                .topics
                .values()
                .flat_map(|t| &t.partitions)
                .flat_map(|q| &q.queue)
                .filter_map(|b| b.retry_at)
                .filter(|r| *r > now)
                .min();
            timers.set(Timer::Retry, next);
        }
    }

    /// The next deadline each concern keeps itself (every slot but the
    /// batches'), as the table's slots take them.
    fn concern_deadlines(&self) -> [(Timer, Option<Instant>); 8] {
        let now = self.now;
        let later = |t: Option<Instant>| t.filter(|t| *t > now);
        [
            (Timer::Connections, self.nodes.next_deadline(now)),
            (Timer::Metadata, later(self.metadata.due_at(now))),
            (Timer::Admin, later(self.admin.next_deadline())),
            (Timer::ProducerId, later(self.idempotence.retry_at())),
            (
                Timer::Transaction,
                later(self.txn.as_ref().and_then(|t| t.retry_at())),
            ),
            (
                Timer::TokenRefresh,
                later(self.token_refresh_at).filter(|_| !self.token_requested),
            ),
            (Timer::TopicWait, self.waits.next_deadline()),
            (Timer::Close, self.shutdown.close_deadline()),
        ]
    }

    /// Test-only (`fuzzing`): makes [`poll_timeout`](Self::poll_timeout)
    /// check the timer table against a scan of every deadline, and panic
    /// when the table would wake the producer late.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn set_timer_check(&mut self, on: bool) {
        self.check_timers = on;
    }

    /// Every future deadline, read afresh from each concern and by scanning
    /// the partitions and requests (what `poll_timeout` did before the
    /// timer table): the table's check, which also catches a slot an input
    /// forgot to re-arm.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn next_deadline_by_scan(&self) -> Option<Instant> {
        let now = self.now;
        let later = |t: Option<Instant>| t.filter(|t| *t > now);
        let mut all: Vec<Option<Instant>> = self
            .concern_deadlines()
            .into_iter()
            .map(|(_, at)| at)
            .collect();
        let linger = self.config.linger;
        for t in self.topics.values() {
            for q in &t.partitions {
                if let Some(b) = q.open.as_ref().filter(|b| b.record_count > 0) {
                    all.push(later(Some(b.deadline)));
                    all.push(later(Some(b.created + linger)));
                }
                if let Some(b) = q.queue.front() {
                    all.push(later(Some(b.deadline)));
                    all.push(later(b.retry_at));
                }
            }
        }
        for (_, r) in self.sender.requests() {
            for (_, b) in r.batches.iter().filter(|(_, b)| !b.reported) {
                all.push(later(Some(b.deadline)));
            }
        }
        all.into_iter().flatten().min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::t0;
    use std::time::Duration;

    #[test]
    fn the_earliest_armed_timer_is_next() {
        let t = t0();
        let ms = |n| t + Duration::from_millis(n);
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        table.set(Timer::Metadata, Some(ms(50)));
        table.set(Timer::Delivery, Some(ms(20)));
        table.set(Timer::Close, Some(ms(30)));
        assert_eq!(table.next(), Some((Timer::Delivery, ms(20))));
        table.set(Timer::Delivery, None);
        assert_eq!(table.next(), Some((Timer::Close, ms(30))));
        assert!(table.is_due(Timer::Close, ms(30)));
        assert!(!table.is_due(Timer::Close, ms(29)));
        assert!(!table.is_due(Timer::Linger, ms(1_000)));
    }

    #[test]
    fn lowering_keeps_the_earlier_time() {
        let t = t0();
        let ms = |n| t + Duration::from_millis(n);
        let mut table = TimerTable::default();
        table.lower(Timer::Linger, ms(10));
        table.lower(Timer::Linger, ms(15));
        assert_eq!(table.get(Timer::Linger), Some(ms(10)));
        table.lower(Timer::Linger, ms(5));
        assert_eq!(table.get(Timer::Linger), Some(ms(5)));
        // Every slot is its own: the enum is the index.
        for (i, timer) in Timer::ALL.iter().enumerate() {
            assert_eq!(*timer as usize, i);
        }
    }
}
