//! Idempotence (KIP-98): the producer id and epoch, and the epoch bump of
//! KIP-360 when the sequence numbers can no longer be trusted.
//!
//! [`Idempotence`] owns every decision about the producer id: when to ask
//! for one (or for a bump), what an InitProducerId answer means, and what a
//! Produce answer means for a stamped batch ([`Idempotence::on_batch_result`]).
//! A bump is requested in one place ([`Idempotence::request_bump`]), for
//! three reasons: the broker's view of our sequences differs from ours, it
//! no longer knows our id or epoch, or a stamped batch failed and left a
//! hole in the sequence. The bump itself waits until nothing is in flight
//! and every batch that may have been written under the current epoch is
//! resolved (the caller tells it so), lest a batch be written twice.

use std::time::{Duration, Instant};

use kafka_proto::ErrorCode;

use crate::accumulator::{Stamp, add_sequence};

/// Where the producer id stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdPhase {
    /// Not idempotent: no producer id is used.
    Disabled,
    /// An InitProducerId request is needed (not before `retry_at`).
    Needed,
    /// One is in flight.
    Requesting,
    /// The id and epoch are usable.
    Ready,
}

/// The producer id and epoch, and the bump in progress.
#[derive(Debug)]
pub(crate) struct Idempotence {
    phase: IdPhase,
    producer_id: i64,
    epoch: i16,
    /// Sequences went wrong somewhere: once nothing is in flight and every
    /// possibly-written batch is resolved, bump the epoch and start all
    /// partitions again at sequence 0.
    bump_requested: bool,
    /// The next InitProducerId asks for a bump of the current id (rather
    /// than a new id).
    bumping: bool,
    retry_at: Option<Instant>,
    failures: u32,
    /// Transactional: the transaction machine gets the id and bumps the
    /// epoch ([`adopt`](Self::adopt)); this one never asks.
    managed: bool,
}

/// Whether a batch starting at `sequence` is the next the broker expects
/// on a partition whose last acknowledged sequence is `last_acked` (-1:
/// none yet): an OUT_OF_ORDER_SEQUENCE_NUMBER for it means the broker's view
/// of our sequences differs from ours; for a later batch only that an
/// earlier one is being retried.
pub(crate) fn next_in_line(sequence: i32, last_acked: i32) -> bool {
    sequence == add_sequence(last_acked, 1) || (last_acked < 0 && sequence == 0)
}

/// What the next InitProducerId asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdRequest {
    /// The current id and epoch to bump (v3+, KIP-360), or `(-1, -1)` for
    /// a fresh id.
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
}

/// What an InitProducerId answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum IdAnswer {
    /// A new id or epoch: every partition starts again at sequence 0.
    Ready,
    /// Ask again after a backoff ([`Idempotence::request_failed`]).
    Retry,
    /// Idempotence is impossible.
    Fatal(ErrorCode),
}

/// What a Produce answer for one batch means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Verdict {
    /// The records are in the log (appended now, or by an earlier attempt:
    /// a duplicate, or a sequence the broker has since acknowledged past).
    Written,
    /// Send it again (if retries and time remain). `not_appended`: the
    /// broker showed this attempt's stamp was not appended, so it is no
    /// longer in doubt.
    Retry { not_appended: bool },
    /// Fail it now.
    Fail,
}

/// One batch's part of a Produce answer, with what the partition knows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchAnswer {
    pub(crate) code: ErrorCode,
    pub(crate) stamp: Option<Stamp>,
    pub(crate) record_count: u32,
    /// The last sequence the broker acknowledged on the partition, or -1.
    pub(crate) last_acked_sequence: i32,
    /// The base sequence of the first batch the broker acknowledged on the
    /// partition under the current epoch, or -1.
    pub(crate) first_acked_sequence: i32,
}

impl Idempotence {
    /// Idempotence on (an id is needed first) or off.
    pub(crate) fn new(enabled: bool) -> Self {
        Idempotence {
            phase: if enabled {
                IdPhase::Needed
            } else {
                IdPhase::Disabled
            },
            producer_id: -1,
            epoch: -1,
            bump_requested: false,
            bumping: false,
            retry_at: None,
            failures: 0,
            managed: false,
        }
    }

    /// Idempotence of a transactional producer: the id and epoch come from
    /// the transaction machine ([`adopt`](Self::adopt)).
    pub(crate) fn transactional() -> Self {
        Idempotence {
            managed: true,
            ..Idempotence::new(true)
        }
    }

    /// A producer id and epoch from the transaction coordinator.
    pub(crate) fn adopt(&mut self, producer_id: i64, epoch: i16) {
        self.producer_id = producer_id;
        self.epoch = epoch;
        self.phase = IdPhase::Ready;
        self.bump_requested = false;
        self.bumping = false;
        self.failures = 0;
        self.retry_at = None;
    }

    /// Whether a bump was asked for (the sequences are broken).
    pub(crate) fn bump_requested(&self) -> bool {
        self.bump_requested
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.phase != IdPhase::Disabled
    }

    /// Whether batches may be sent: idempotence is off, or the id is ready.
    pub(crate) fn can_send(&self) -> bool {
        matches!(self.phase, IdPhase::Disabled | IdPhase::Ready)
    }

    /// An id is needed and not yet asked for (a Metadata request is the
    /// way to a first connection then).
    pub(crate) fn needs_id(&self) -> bool {
        self.phase == IdPhase::Needed && !self.managed
    }

    /// The usable id and epoch.
    pub(crate) fn current(&self) -> Option<(i64, i16)> {
        (self.phase == IdPhase::Ready).then_some((self.producer_id, self.epoch))
    }

    /// The id and epoch batches are stamped with now (whatever the phase).
    pub(crate) fn stamp_ids(&self) -> (i64, i16) {
        (self.producer_id, self.epoch)
    }

    /// A bump waits: only batches that may have been written under the
    /// current epoch are sent, to learn their fate first.
    pub(crate) fn is_resolving(&self) -> bool {
        self.is_enabled() && self.bump_requested
    }

    /// Whether `stamp` is the current id and epoch.
    pub(crate) fn is_current(&self, stamp: Option<Stamp>) -> bool {
        stamp.is_some_and(|s| (s.producer_id, s.epoch) == (self.producer_id, self.epoch))
    }

    /// The sequences can no longer be trusted: bump the epoch when it is
    /// safe (the one place a bump is asked for).
    pub(crate) fn request_bump(&mut self) {
        if self.is_enabled() {
            self.bump_requested = true;
        }
    }

    /// When to ask again after a failure.
    pub(crate) fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Whether to send an InitProducerId now, and what it asks for.
    /// `idle`: no Produce request is in flight; `unresolved`: whether some
    /// batch may have been written under the current epoch and is not
    /// resolved yet (asked only when it matters).
    pub(crate) fn poll_request(
        &mut self,
        now: Instant,
        idle: bool,
        unresolved: impl FnOnce(i64, i16) -> bool,
    ) -> Option<IdRequest> {
        if self.managed {
            return None;
        }
        match self.phase {
            IdPhase::Disabled | IdPhase::Requesting => return None,
            IdPhase::Ready => {
                if !self.bump_requested || !idle || unresolved(self.producer_id, self.epoch) {
                    return None;
                }
                self.phase = IdPhase::Needed;
                self.bumping = true;
            }
            IdPhase::Needed => {}
        }
        if self.retry_at.is_some_and(|t| t > now) {
            return None;
        }
        Some(if self.bumping && self.producer_id >= 0 {
            IdRequest {
                producer_id: self.producer_id,
                epoch: self.epoch,
            }
        } else {
            IdRequest {
                producer_id: -1,
                epoch: -1,
            }
        })
    }

    /// The request from [`poll_request`](Self::poll_request) went out.
    pub(crate) fn sent(&mut self) {
        self.phase = IdPhase::Requesting;
    }

    /// An InitProducerId answer.
    pub(crate) fn on_answer(&mut self, code: ErrorCode, producer_id: i64, epoch: i16) -> IdAnswer {
        if self.phase == IdPhase::Disabled {
            return IdAnswer::Retry;
        }
        if code.is_ok() && producer_id >= 0 && epoch >= 0 {
            self.producer_id = producer_id;
            self.epoch = epoch;
            self.phase = IdPhase::Ready;
            self.bump_requested = false;
            self.bumping = false;
            self.failures = 0;
            self.retry_at = None;
            return IdAnswer::Ready;
        }
        match code {
            c if c.is_retriable() || c.is_ok() => IdAnswer::Retry,
            // Not allowed to be idempotent at all: asking again changes
            // nothing.
            ErrorCode::CLUSTER_AUTHORIZATION_FAILED
            | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED => IdAnswer::Fatal(code),
            _ if self.bumping => {
                // The bump of our id was refused: our epoch is not the
                // broker's (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED), or
                // the broker lost the id's state (a restart; tansu answers
                // UNKNOWN_SERVER_ERROR). Without a transactional id nothing
                // ties us to this id: ask for a fresh one, as after a fence.
                self.bumping = false;
                IdAnswer::Retry
            }
            c => IdAnswer::Fatal(c),
        }
    }

    /// The InitProducerId request failed in a way worth retrying: ask again
    /// after `backoff(failures so far)`.
    pub(crate) fn request_failed(&mut self, now: Instant, backoff: impl FnOnce(u32) -> Duration) {
        if self.phase == IdPhase::Disabled {
            return;
        }
        self.phase = IdPhase::Needed;
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Some(now + backoff(self.failures));
    }

    /// What a Produce answer means for one batch (requesting a bump when
    /// the sequences went wrong).
    pub(crate) fn on_batch_result(&mut self, a: &BatchAnswer) -> Verdict {
        // The broker keeps sequences contiguous: once it has acknowledged a
        // later sequence under the same epoch, this batch was written, even
        // if the broker no longer remembers it (Kafka caches only the last
        // five batches and answers an older retry out of order). Not so
        // below the first batch it acknowledged: Kafka takes any first
        // sequence from a producer id it holds no state for (KIP-360), so a
        // lost first request leaves the batches after it appended without
        // it (found on Apache Kafka: records reported delivered, absent).
        let last = a
            .stamp
            .map(|s| add_sequence(s.sequence, a.record_count.saturating_sub(1)));
        let below_first_acked = a.stamp.is_some_and(|s| {
            a.last_acked_sequence >= 0
                && (a.first_acked_sequence < 0 || s.sequence < a.first_acked_sequence)
        });
        let written_before = self.is_current(a.stamp)
            && !below_first_acked
            && last.is_some_and(|l| a.last_acked_sequence >= 0 && l <= a.last_acked_sequence)
            && matches!(
                a.code,
                ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER | ErrorCode::DUPLICATE_SEQUENCE_NUMBER
            );
        if a.code.is_ok() || a.code == ErrorCode::DUPLICATE_SEQUENCE_NUMBER || written_before {
            return Verdict::Written;
        }
        if let Some(stamp) = a.stamp.filter(|_| self.is_enabled()) {
            match a.code {
                ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
                    if self.is_current(a.stamp)
                        && (below_first_acked
                            || a.last_acked_sequence < 0 && stamp.sequence == 0) =>
                {
                    // Never appended (a written batch this close to the
                    // acknowledged ones would be answered as a duplicate;
                    // and the epoch's first sequence out of order means the
                    // broker took a later one of ours as the first:
                    // its retry waits for every later batch in flight, at
                    // most four, within Kafka's cache of five), and now
                    // behind records appended after it: sending it again,
                    // even under a new epoch, would put it out of order.
                    // It fails; the error says whether an earlier attempt
                    // under another stamp may have landed.
                    return Verdict::Fail;
                }
                ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER => {
                    // Not appended under this stamp (a retry of a written
                    // batch is answered as a duplicate instead).
                    if next_in_line(stamp.sequence, a.last_acked_sequence) {
                        // The broker's view of our sequences differs from
                        // ours: start over under a new epoch (KIP-360).
                        self.request_bump();
                    }
                    return Verdict::Retry { not_appended: true };
                }
                ErrorCode::UNKNOWN_PRODUCER_ID | ErrorCode::INVALID_PRODUCER_EPOCH => {
                    self.request_bump();
                    return Verdict::Retry {
                        not_appended: false,
                    };
                }
                _ => {}
            }
        }
        if a.code.is_retriable() {
            Verdict::Retry {
                not_appended: false,
            }
        } else {
            Verdict::Fail
        }
    }

    /// One line for [`Producer::debug_state`](crate::Producer::debug_state).
    pub(crate) fn describe(&self) -> String {
        format!(
            "pid {:?} id {} epoch {} bump {}",
            self.phase, self.producer_id, self.epoch, self.bump_requested
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::t0;

    fn ready(id: i64, epoch: i16) -> Idempotence {
        let mut i = Idempotence::new(true);
        assert_eq!(
            i.poll_request(t0(), true, |_, _| false),
            Some(IdRequest {
                producer_id: -1,
                epoch: -1
            })
        );
        i.sent();
        assert_eq!(i.on_answer(ErrorCode::NONE, id, epoch), IdAnswer::Ready);
        i
    }

    fn answer(code: ErrorCode, sequence: i32, acked: i32, epoch: i16) -> BatchAnswer {
        BatchAnswer {
            code,
            stamp: Some(Stamp {
                producer_id: 7,
                epoch,
                sequence,
            }),
            record_count: 10,
            last_acked_sequence: acked,
            first_acked_sequence: if acked >= 0 { 0 } else { -1 },
        }
    }

    #[test]
    fn disabled_asks_for_nothing_and_sends_at_once() {
        let mut i = Idempotence::new(false);
        assert!(i.can_send() && !i.is_enabled());
        assert_eq!(i.poll_request(t0(), true, |_, _| false), None);
        i.request_bump();
        assert!(!i.is_resolving());
    }

    #[test]
    fn a_bump_waits_for_idle_and_resolution_then_asks_for_the_same_id() {
        let mut i = ready(7, 0);
        assert_eq!(i.current(), Some((7, 0)));
        assert_eq!(
            i.poll_request(t0(), true, |_, _| false),
            None,
            "no bump asked"
        );
        i.request_bump();
        assert!(i.is_resolving());
        assert_eq!(i.poll_request(t0(), false, |_, _| false), None, "in flight");
        assert_eq!(i.poll_request(t0(), true, |_, _| true), None, "unresolved");
        let r = i.poll_request(t0(), true, |id, e| {
            assert_eq!((id, e), (7, 0));
            false
        });
        assert_eq!(
            r,
            Some(IdRequest {
                producer_id: 7,
                epoch: 0
            })
        );
        assert!(!i.can_send());
        i.sent();
        assert_eq!(i.poll_request(t0(), true, |_, _| false), None, "in flight");
        assert_eq!(i.on_answer(ErrorCode::NONE, 7, 1), IdAnswer::Ready);
        assert_eq!(i.current(), Some((7, 1)));
        assert!(!i.is_resolving());
    }

    #[test]
    fn a_refused_bump_falls_back_to_a_fresh_id_unless_unauthorized() {
        for code in [
            ErrorCode::INVALID_PRODUCER_EPOCH,
            ErrorCode::PRODUCER_FENCED,
            ErrorCode::UNKNOWN_SERVER_ERROR,
            ErrorCode(9999),
        ] {
            let mut i = ready(7, 3);
            i.request_bump();
            assert!(i.poll_request(t0(), true, |_, _| false).is_some());
            i.sent();
            assert_eq!(i.on_answer(code, -1, -1), IdAnswer::Retry, "{code}");
            let now = t0();
            i.request_failed(now, |_| Duration::from_millis(100));
            assert_eq!(i.poll_request(now, true, |_, _| false), None, "backoff");
            let later = now + Duration::from_millis(100);
            assert_eq!(
                i.poll_request(later, true, |_, _| false),
                Some(IdRequest {
                    producer_id: -1,
                    epoch: -1
                }),
                "a fresh id after {code}"
            );
        }
        let mut i = ready(7, 3);
        i.request_bump();
        let _ = i.poll_request(t0(), true, |_, _| false);
        i.sent();
        assert_eq!(
            i.on_answer(ErrorCode::CLUSTER_AUTHORIZATION_FAILED, -1, -1),
            IdAnswer::Fatal(ErrorCode::CLUSTER_AUTHORIZATION_FAILED)
        );
    }

    #[test]
    fn a_first_id_refused_for_good_is_fatal_and_retriable_errors_retry() {
        let mut i = Idempotence::new(true);
        let _ = i.poll_request(t0(), true, |_, _| false);
        i.sent();
        assert_eq!(
            i.on_answer(ErrorCode::COORDINATOR_NOT_AVAILABLE, -1, -1),
            IdAnswer::Retry
        );
        assert_eq!(
            i.on_answer(ErrorCode::UNKNOWN_SERVER_ERROR, -1, -1),
            IdAnswer::Fatal(ErrorCode::UNKNOWN_SERVER_ERROR)
        );
    }

    #[test]
    fn verdicts_of_produce_answers() {
        let mut i = ready(7, 0);
        assert_eq!(
            i.on_batch_result(&answer(ErrorCode::NONE, 0, -1, 0)),
            Verdict::Written
        );
        assert_eq!(
            i.on_batch_result(&answer(ErrorCode::DUPLICATE_SEQUENCE_NUMBER, 0, -1, 0)),
            Verdict::Written
        );
        // Out of order, but the broker acknowledged from before it to past
        // it: written.
        assert_eq!(
            i.on_batch_result(&answer(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, 10, 30, 0)),
            Verdict::Written
        );
        // Out of order below the first batch the broker acknowledged (it
        // took a later one as the producer's first): never written, and
        // not to be sent again behind later records.
        let mut lost_first = answer(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, 0, 30, 0);
        lost_first.first_acked_sequence = 10;
        assert_eq!(i.on_batch_result(&lost_first), Verdict::Fail);
        assert!(!i.is_resolving());
        // The epoch's first batch out of order before any answer: a later
        // batch was taken as the first; never written, it fails too.
        assert_eq!(
            i.on_batch_result(&answer(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, 0, -1, 0)),
            Verdict::Fail
        );
        assert!(!i.is_resolving());
        assert!(!i.is_resolving());
        // Out of order behind a gap: retried, no bump.
        assert_eq!(
            i.on_batch_result(&answer(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, 20, 9, 0)),
            Verdict::Retry { not_appended: true }
        );
        assert!(!i.is_resolving());
        // Out of order first in line: the broker disagrees; bump.
        assert_eq!(
            i.on_batch_result(&answer(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, 10, 9, 0)),
            Verdict::Retry { not_appended: true }
        );
        assert!(i.is_resolving());
        let mut i = ready(7, 0);
        assert_eq!(
            i.on_batch_result(&answer(ErrorCode::UNKNOWN_PRODUCER_ID, 0, -1, 0)),
            Verdict::Retry {
                not_appended: false
            }
        );
        assert!(i.is_resolving());
        let mut i = ready(7, 0);
        assert_eq!(
            i.on_batch_result(&answer(ErrorCode::NOT_LEADER_OR_FOLLOWER, 0, -1, 0)),
            Verdict::Retry {
                not_appended: false
            }
        );
        assert_eq!(
            i.on_batch_result(&answer(ErrorCode::MESSAGE_TOO_LARGE, 0, -1, 0)),
            Verdict::Fail
        );
        assert!(
            !i.is_resolving(),
            "a failure's hole is the caller's to report"
        );
        // Without idempotence, sequence errors are plain failures.
        let mut off = Idempotence::new(false);
        let mut a = answer(ErrorCode::UNKNOWN_PRODUCER_ID, 0, -1, 0);
        a.stamp = None;
        assert_eq!(off.on_batch_result(&a), Verdict::Fail);
    }
}
