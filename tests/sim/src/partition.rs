//! Partitions: their logs, leaders and the idempotent producers' sequence
//! state (KIP-98), checked as Kafka's `ProducerStateManager` does.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_proto::ErrorCode;
use kafka_proto::primitives::Uuid;

/// A record as stored in a partition's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Its offset.
    pub offset: i64,
    /// Its timestamp in milliseconds, as the producer set it.
    pub timestamp: i64,
    /// The key, or `None` for null.
    pub key: Option<Bytes>,
    /// The value, or `None` for null.
    pub value: Option<Bytes>,
    /// The headers, `(key, value)`, as sent (keys are UTF-8 for Kafka's
    /// Java client, but kept as bytes so that nothing is hidden).
    pub headers: Vec<(Bytes, Option<Bytes>)>,
    /// The producer id of its batch, or -1.
    pub producer_id: i64,
    /// The producer epoch of its batch, or -1.
    pub producer_epoch: i16,
    /// Its sequence number (the batch's base sequence plus its index,
    /// wrapping to 0 after `i32::MAX` as Kafka does), or -1.
    pub sequence: i32,
    /// Whether its batch was transactional (its visibility to
    /// `read_committed` readers depends on the transaction's marker).
    pub transactional: bool,
}

/// How many appended batches Kafka remembers per producer and partition to
/// recognise retries (`ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
pub(crate) const BATCHES_TO_RETAIN: usize = 5;

/// One remembered batch of a producer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BatchMeta {
    pub(crate) first_sequence: i32,
    pub(crate) last_sequence: i32,
    pub(crate) base_offset: i64,
}

/// A producer's state on one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProducerEntry {
    pub(crate) epoch: i16,
    pub(crate) last_sequence: i32,
    /// The last appended batches, oldest first.
    recent: [BatchMeta; BATCHES_TO_RETAIN],
    recent_len: usize,
}

impl ProducerEntry {
    fn new(epoch: i16) -> Self {
        ProducerEntry {
            epoch,
            last_sequence: -1,
            recent: [BatchMeta::default(); BATCHES_TO_RETAIN],
            recent_len: 0,
        }
    }

    fn recent(&self) -> &[BatchMeta] {
        &self.recent[..self.recent_len]
    }

    fn remember(&mut self, epoch: i16, batch: BatchMeta) {
        if epoch != self.epoch {
            // A new epoch starts a new sequence space.
            self.epoch = epoch;
            self.recent_len = 0;
        }
        if self.recent_len == BATCHES_TO_RETAIN {
            self.recent.copy_within(1.., 0);
            self.recent_len -= 1;
        }
        self.recent[self.recent_len] = batch;
        self.recent_len += 1;
        self.last_sequence = batch.last_sequence;
    }
}

/// `sequence + increment`, wrapping to 0 after `i32::MAX` as Kafka's
/// `DefaultRecordBatch.incrementSequence` does.
pub(crate) fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// Whether `next` directly follows `last`.
fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

/// What to do with an idempotent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceVerdict {
    /// Append it.
    Append,
    /// A retry of a batch appended at `base_offset`: answer success with
    /// that offset and append nothing.
    Duplicate { base_offset: i64 },
    /// Refuse it. `stale`: an old retry that is no longer remembered.
    Reject { code: ErrorCode, stale: bool },
}

/// Checks a batch of producer epoch `epoch` and sequences `first..=last`
/// against the producer's state on the partition, in Kafka's order:
/// duplicate first, then the epoch, then the sequence.
///
/// Choices where Kafka's behaviour depends on history the simulation does
/// not have: a sequence before the expected one that is not among the
/// remembered batches is OUT_OF_ORDER_SEQUENCE_NUMBER (45), as Kafka 1.0+
/// answers (not DUPLICATE_SEQUENCE_NUMBER, which only 0.11 sent); a producer
/// without state must start at 0 when `strict_first` is set (see
/// [`BrokerConfig::strict_first_sequence`](crate::BrokerConfig::strict_first_sequence)).
pub(crate) fn check_sequence(
    entry: Option<&ProducerEntry>,
    epoch: i16,
    first: i32,
    last: i32,
    strict_first: bool,
) -> SequenceVerdict {
    let reject = |code| SequenceVerdict::Reject { code, stale: false };
    let Some(entry) = entry else {
        return if strict_first && first != 0 {
            reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        } else {
            SequenceVerdict::Append
        };
    };
    let duplicate = entry
        .recent()
        .iter()
        .find(|b| b.first_sequence == first && b.last_sequence == last);
    if let Some(b) = duplicate.filter(|_| epoch == entry.epoch) {
        return SequenceVerdict::Duplicate {
            base_offset: b.base_offset,
        };
    }
    if epoch < entry.epoch {
        // Kafka 2.7+ answers INVALID_PRODUCER_EPOCH here (PRODUCER_FENCED
        // before).
        return reject(ErrorCode::INVALID_PRODUCER_EPOCH);
    }
    if epoch > entry.epoch {
        return if first == 0 {
            SequenceVerdict::Append
        } else {
            reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        };
    }
    if in_sequence(entry.last_sequence, first) {
        return SequenceVerdict::Append;
    }
    SequenceVerdict::Reject {
        code: ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
        stale: first <= entry.last_sequence && last <= entry.last_sequence,
    }
}

/// One partition of a topic.
#[derive(Debug, Clone)]
pub(crate) struct Partition {
    /// Replica broker ids, the preferred leader first.
    pub(crate) replicas: Vec<i32>,
    /// The leader, or -1 when no replica is up.
    pub(crate) leader: i32,
    pub(crate) leader_epoch: i32,
    /// The offset the next record gets.
    pub(crate) log_end: i64,
    /// Every appended record, when records are stored.
    pub(crate) records: Vec<StoredRecord>,
    /// Idempotent producers' state, by producer id.
    pub(crate) producers: BTreeMap<i64, ProducerEntry>,
    /// Transaction markers by producer id, in offset order.
    pub(crate) markers: BTreeMap<i64, Vec<crate::txn::Marker>>,
    /// Open transactions on this partition: producer id → first offset.
    pub(crate) open_txns: BTreeMap<i64, i64>,
}

impl Partition {
    pub(crate) fn new(replicas: Vec<i32>, leader: i32) -> Self {
        Partition {
            replicas,
            leader,
            leader_epoch: 0,
            log_end: 0,
            records: Vec::new(),
            producers: BTreeMap::new(),
            markers: BTreeMap::new(),
            open_txns: BTreeMap::new(),
        }
    }

    /// Records that the batch `first..=last` of producer `producer_id` was
    /// appended at `base_offset`.
    pub(crate) fn remember_batch(
        &mut self,
        producer_id: i64,
        epoch: i16,
        first: i32,
        last: i32,
        base_offset: i64,
    ) {
        self.producers
            .entry(producer_id)
            .or_insert_with(|| ProducerEntry::new(epoch))
            .remember(
                epoch,
                BatchMeta {
                    first_sequence: first,
                    last_sequence: last,
                    base_offset,
                },
            );
    }

    /// Moves the leadership to `broker` (-1: none), bumping the leader
    /// epoch.
    pub(crate) fn set_leader(&mut self, broker: i32) {
        if self.leader != broker {
            self.leader = broker;
            self.leader_epoch += 1;
        }
    }
}

/// A topic.
#[derive(Debug, Clone)]
pub(crate) struct Topic {
    pub(crate) id: Uuid,
    pub(crate) partitions: Vec<Partition>,
}

/// Whether `name` is a legal topic name (Kafka's `Topic.validate`).
pub(crate) fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 249
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_after(batches: &[(i32, i32, i64)], epoch: i16) -> ProducerEntry {
        let mut p = Partition::new(vec![1], 1);
        for &(f, l, o) in batches {
            p.remember_batch(7, epoch, f, l, o);
        }
        p.producers.remove(&7).expect("state")
    }

    #[test]
    fn sequence_wraps_like_kafka() {
        assert_eq!(increment_sequence(5, 3), 8);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert!(in_sequence(i32::MAX, 0));
        assert!(!in_sequence(i32::MAX, i32::MIN));
    }

    #[test]
    fn verdicts() {
        use SequenceVerdict::*;
        let e = entry_after(&[(0, 9, 0), (10, 19, 10)], 0);
        assert_eq!(check_sequence(Some(&e), 0, 20, 29, true), Append);
        assert_eq!(
            check_sequence(Some(&e), 0, 10, 19, true),
            Duplicate { base_offset: 10 }
        );
        assert_eq!(
            check_sequence(Some(&e), 0, 21, 29, true),
            Reject {
                code: ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
                stale: false
            }
        );
        // A retry of only part of a batch is not a duplicate.
        assert!(matches!(
            check_sequence(Some(&e), 0, 10, 15, true),
            Reject { stale: true, .. }
        ));
        let e1 = entry_after(&[(0, 0, 0)], 1);
        assert_eq!(
            check_sequence(Some(&e1), 0, 1, 1, true),
            Reject {
                code: ErrorCode::INVALID_PRODUCER_EPOCH,
                stale: false
            }
        );
        assert_eq!(check_sequence(Some(&e1), 2, 0, 4, true), Append);
        assert!(matches!(
            check_sequence(Some(&e1), 2, 1, 4, true),
            Reject { .. }
        ));
        assert_eq!(check_sequence(None, 0, 0, 0, true), Append);
        assert!(matches!(check_sequence(None, 0, 3, 3, true), Reject { .. }));
        assert_eq!(check_sequence(None, 0, 3, 3, false), Append);
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let batches: Vec<_> = (0..7).map(|i| (i, i, i64::from(i))).collect();
        let e = entry_after(&batches, 0);
        assert_eq!(e.recent().len(), BATCHES_TO_RETAIN);
        assert_eq!(e.recent()[0].first_sequence, 2);
        assert!(matches!(
            check_sequence(Some(&e), 0, 1, 1, true),
            SequenceVerdict::Reject { stale: true, .. }
        ));
        assert_eq!(
            check_sequence(Some(&e), 0, 2, 2, true),
            SequenceVerdict::Duplicate { base_offset: 2 }
        );
    }

    #[test]
    fn topic_names() {
        assert!(valid_topic_name("a.b_c-9"));
        for bad in ["", ".", "..", "a b", "é", &"x".repeat(250)] {
            assert!(!valid_topic_name(bad), "{bad:?}");
        }
    }
}
