//! Partitioners: which partition of a topic a record goes to, when the
//! record does not name one itself.
//!
//! Three kinds, as in the Java client:
//!
//! - [`PartitionerKind::Default`], the Java client's built-in partitioner
//!   (Kafka 3.3 and later, KIP-794):
//!   - a record with a key goes to `to_positive(murmur2(key)) % partitions`
//!     ([`partition_for_key`]) over *all* partitions of the topic, leader or
//!     not, so a key lands on the same partition number from this client as
//!     from the Java client (and librdkafka's `murmur2_random`);
//!   - a record without a key (or any record when `partitioner.ignore.keys`
//!     is set) goes to the topic's *sticky* partition: one chosen uniformly at
//!     random among the partitions that have a leader (among all partitions
//!     when none has), kept until at least `batch.size` bytes have been
//!     appended to it, then chosen afresh (the new choice may be the same
//!     partition). Sticking fills batches, and switching by bytes rather
//!     than by batch spreads load evenly however records are sized.
//!
//!   With KIP-794's adaptive partitioning (`partitioner.adaptive.partitioning.enable`,
//!   on by default as in Java) and the producer's queues at hand
//!   (the producer passes them with each choice), the draw is weighted: a
//!   partition with `q` batches queued gets weight `max + 1 - q`, `max`
//!   being the longest queue among the candidates, so partitions on a slow
//!   broker, whose queues grow, get fewer new records; when every queue is
//!   as long, the draw is uniform. A partition whose leader has had data
//!   ready that it could not take for `partitioner.availability.timeout.ms`
//!   is left out of the draw. With KIP-1123's `partitioner.rack.aware` and a
//!   `client.rack`, the candidates are the partitions led in the client's
//!   rack, while there are any. Java also delays a due switch until the
//!   current batch is full (but never past `2 * batch.size` bytes); here the
//!   switch happens as soon as `batch.size` bytes are in.
//! - [`PartitionerKind::RoundRobin`], Java's `RoundRobinPartitioner`: a
//!   counter per topic walks the partitions with a leader (all partitions when
//!   none has), one record each, keys ignored.
//! - [`PartitionerKind::Custom`]: your own [`Partitioner`].
//!
//! [`Partitioning`] holds the kind and its per-topic state; the producer
//! calls [`Partitioning::choose`] for each record without an explicit
//! partition and [`Partitioning::on_append`] once a sticky-partitioned
//! record is in its batch. Randomness comes from the seed given to
//! [`Partitioning::new`], so a run replays exactly.

use std::fmt;

use crate::rng::Rng;

/// Kafka's murmur2 hash of `data`, bit for bit the Java client's
/// `Utils.murmur2` (MurmurHash2, 32-bit, seed `0x9747b28c`, 4-byte blocks
/// read little-endian).
///
/// The result is signed because Java's is; use [`to_positive`] before
/// taking a remainder.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java mixes in the length as an `int`; keys are far below 4 GiB, and
    // truncation would match Java's wrap-around anyway.
    let mut h = SEED ^ data.len() as u32;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Java's `Utils.toPositive`: `n` with its sign bit cleared.
///
/// Not the absolute value: `i32::MIN` maps to 0 and `-1` to `i32::MAX`,
/// which is what Java's partitioners rely on.
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition the Java client chooses for a record with this serialized
/// `key` in a topic of `num_partitions` partitions
/// (`BuiltInPartitioner.partitionForKey`):
/// `to_positive(murmur2(key)) % num_partitions`.
///
/// `num_partitions` should be positive; for 0 or less the answer is 0
/// rather than a division by zero.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    to_positive(murmur2(key)) % num_partitions.max(1)
}

/// What the producer knows of a topic when it partitions a record.
#[derive(Debug, Clone, Copy)]
pub struct TopicPartitions<'a> {
    /// How many partitions the topic has (from its metadata).
    pub num_partitions: i32,
    /// The partitions that currently have a known leader, each in
    /// `0..num_partitions`; empty when none has.
    pub available: &'a [i32],
}

/// A partitioner of your own, like the Java client's `Partitioner`
/// interface.
///
/// The contract: return a partition in `0..partitions.num_partitions`.
/// Anything else is refused: [`Partitioning::choose`] returns
/// [`PartitionError::OutOfRange`] and the record is not sent. The producer
/// calls it only for records that do not name a partition, and only with a
/// positive `num_partitions`.
pub trait Partitioner: Send {
    /// The partition for a record of `topic`; `key` and `value` are the
    /// serialized bytes (`None` for a null key or value).
    fn partition(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partitions: &TopicPartitions<'_>,
    ) -> i32;
}

/// Which partitioner the producer uses (`partitioner.class`).
pub enum PartitionerKind {
    /// The Java client's built-in partitioner: murmur2 of the key for keyed
    /// records, uniform sticky for the rest (KIP-794, adaptive off).
    Default,
    /// Java's `RoundRobinPartitioner`: each topic's records go round the
    /// partitions with a leader in turn, keys ignored.
    RoundRobin,
    /// A partitioner of your own.
    Custom(Box<dyn Partitioner>),
}

impl fmt::Debug for PartitionerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionerKind::Default => f.write_str("Default"),
            PartitionerKind::RoundRobin => f.write_str("RoundRobin"),
            // A user type need not be Debug.
            PartitionerKind::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Why no partition could be chosen for a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionError {
    /// The topic's metadata gives it no partitions to choose from.
    NoPartitions {
        /// The partition count given (0 or less).
        num_partitions: i32,
    },
    /// The chosen partition does not exist: a custom partitioner broke its
    /// contract, or (for the built-in kinds) `available` listed a partition
    /// outside `0..num_partitions`.
    OutOfRange {
        /// The partition chosen.
        partition: i32,
        /// How many partitions the topic has.
        num_partitions: i32,
    },
}

impl fmt::Display for PartitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionError::NoPartitions { num_partitions } => {
                write!(f, "the topic has no partitions (count {num_partitions})")
            }
            PartitionError::OutOfRange {
                partition,
                num_partitions,
            } => write!(
                f,
                "partition {partition} was chosen but the topic has {num_partitions} partitions"
            ),
        }
    }
}

impl std::error::Error for PartitionError {}

/// One topic's state for the built-in partitioners: the sticky choice and
/// the round-robin counter. [`Partitioning`] keeps one per topic itself;
/// a caller that already has a per-topic record (the producer does) can
/// keep it there and use [`Partitioning::choose_in`] and
/// [`Partitioning::on_append_in`], saving a lookup by name per record.
#[derive(Debug, Default, Clone)]
pub struct TopicState {
    /// The sticky partition; `None` before the first keyless record and
    /// once `batch.size` bytes have gone to it, so the next keyless record
    /// draws a new one (with the availability known at that moment).
    sticky: Option<i32>,
    /// Bytes appended to `sticky` since it was chosen.
    produced_bytes: usize,
    /// The round-robin counter. An `i32` that wraps, passed through
    /// `to_positive` as in Java, so the sequence matches Java's even across
    /// the wrap.
    next_round_robin: i32,
}

/// The partitioner the producer holds: the chosen [`PartitionerKind`] and
/// its state per topic.
///
/// Once a topic has been seen, [`choose`](Self::choose) and
/// [`on_append`](Self::on_append) do not allocate.
#[derive(Debug)]
pub struct Partitioning {
    kind: PartitionerKind,
    ignore_keys: bool,
    sticky_batch_size: usize,
    rng: Rng,
    topics: crate::hash::FastMap<String, TopicState>,
    /// KIP-794: weight sticky draws by the queues, when they are given.
    adaptive: bool,
    /// Scratch for the weighted draw: candidate partitions and their
    /// cumulative weights (kept to avoid an allocation per draw).
    weighted_ids: Vec<i32>,
    weighted_cumulative: Vec<u64>,
}

/// What the producer knows of a partition's load when the built-in
/// partitioner draws a new sticky partition (KIP-794).
pub(crate) trait PartitionLoad {
    /// The batches queued for `partition` (the open one included), or
    /// `None` when it is to be left out: its leader has not taken ready data
    /// for `partitioner.availability.timeout.ms`.
    fn queued_batches(&self, partition: i32) -> Option<u32>;
}

impl Partitioning {
    /// A partitioner of `kind`.
    ///
    /// `ignore_keys` is `partitioner.ignore.keys` (default `false`): with it
    /// the default partitioner treats keyed records as keyless. `batch_size`
    /// is `batch.size`, the bytes a sticky partition takes before the next
    /// choice (at least 1, as in Java, so a `batch.size` of 0 switches after
    /// every record). `seed` drives the sticky choices.
    pub fn new(kind: PartitionerKind, ignore_keys: bool, batch_size: usize, seed: u64) -> Self {
        Partitioning {
            kind,
            ignore_keys,
            sticky_batch_size: batch_size.max(1),
            rng: Rng::new(seed),
            topics: crate::hash::FastMap::default(),
            adaptive: false,
            weighted_ids: Vec::new(),
            weighted_cumulative: Vec::new(),
        }
    }

    /// Turns KIP-794's adaptive partitioning on or off
    /// (`partitioner.adaptive.partitioning.enable`). It weights the draws the
    /// producer makes with its queues at hand; [`choose`](Self::choose) and
    /// [`choose_in`](Self::choose_in) know no queues and draw uniformly.
    pub fn set_adaptive(&mut self, on: bool) {
        self.adaptive = on;
    }

    /// Chooses the partition of `topic` for a record with this serialized
    /// `key` and `value`, with the state this `Partitioning` keeps for
    /// `topic`.
    ///
    /// # Errors
    ///
    /// [`PartitionError::NoPartitions`] when `partitions.num_partitions` is
    /// 0 or less; [`PartitionError::OutOfRange`] when the choice is not in
    /// `0..num_partitions` (a custom partitioner's mistake, or an
    /// out-of-range entry in `partitions.available`).
    pub fn choose(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partitions: &TopicPartitions<'_>,
    ) -> Result<i32, PartitionError> {
        // Taken out and put back, so that `choose_in` can borrow `self`;
        // only a topic's first record allocates (its name).
        let mut state = self
            .topics
            .get_mut(topic)
            .map(std::mem::take)
            .unwrap_or_default();
        let chosen = self.choose_in(&mut state, topic, key, value, partitions);
        match self.topics.get_mut(topic) {
            Some(slot) => *slot = state,
            None => {
                self.topics.insert(topic.to_owned(), state);
            }
        }
        chosen
    }

    /// [`choose`](Self::choose) with the topic's state kept by the caller.
    ///
    /// # Errors
    ///
    /// As [`choose`](Self::choose).
    pub fn choose_in(
        &mut self,
        state: &mut TopicState,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partitions: &TopicPartitions<'_>,
    ) -> Result<i32, PartitionError> {
        let available = partitions.available;
        self.choose_in_with_load(state, topic, key, value, partitions, available, None)
    }

    /// [`choose_in`](Self::choose_in) for the producer: a new sticky
    /// partition is drawn among `candidates` (the available partitions, or
    /// those led in the client's rack; all partitions when empty), weighted
    /// by `load` when adaptive partitioning is on.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn choose_in_with_load(
        &mut self,
        state: &mut TopicState,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partitions: &TopicPartitions<'_>,
        candidates: &[i32],
        load: Option<&dyn PartitionLoad>,
    ) -> Result<i32, PartitionError> {
        let num_partitions = partitions.num_partitions;
        if num_partitions <= 0 {
            return Err(PartitionError::NoPartitions { num_partitions });
        }
        let chosen = match &mut self.kind {
            PartitionerKind::Custom(partitioner) => {
                partitioner.partition(topic, key, value, partitions)
            }
            PartitionerKind::RoundRobin => {
                let counter = state.next_round_robin;
                state.next_round_robin = counter.wrapping_add(1);
                nth_partition(
                    partitions.available,
                    num_partitions,
                    to_positive(counter) as u64,
                )
            }
            PartitionerKind::Default => match key {
                Some(key) if !self.ignore_keys => partition_for_key(key, num_partitions),
                _ => {
                    match state.sticky {
                        // A topic deleted and re-created with fewer
                        // partitions can leave the old choice out of range.
                        Some(sticky) if sticky < num_partitions => sticky,
                        _ => {
                            let drawn = self.draw_sticky(partitions, candidates, load);
                            // Never keep a bad choice: the record fails, and
                            // the next one draws again.
                            if (0..num_partitions).contains(&drawn) {
                                state.sticky = Some(drawn);
                                state.produced_bytes = 0;
                            }
                            drawn
                        }
                    }
                }
            },
        };
        if (0..num_partitions).contains(&chosen) {
            Ok(chosen)
        } else {
            Err(PartitionError::OutOfRange {
                partition: chosen,
                num_partitions,
            })
        }
    }

    /// Whether a record with this `key` (and no explicit partition) is
    /// placed by the sticky logic, so the producer should report its append
    /// with [`on_append`](Self::on_append).
    pub fn uses_sticky(&self, key: Option<&[u8]>) -> bool {
        matches!(self.kind, PartitionerKind::Default) && (key.is_none() || self.ignore_keys)
    }

    /// Reports that a record of `bytes` bytes placed by the sticky logic
    /// was appended to `partition` of `topic`.
    ///
    /// The bytes count only when `partition` is the topic's current sticky
    /// partition (Java, too, counts only what the sticky choice placed).
    /// Once at least `batch.size` bytes have gone to it, the next keyless
    /// record of the topic draws a new sticky partition. Call it only for
    /// records [`uses_sticky`](Self::uses_sticky) says are sticky: a keyed
    /// record that happens to hash to the sticky partition would otherwise
    /// shorten the stint.
    pub fn on_append(&mut self, topic: &str, partition: i32, bytes: usize) {
        if let Some(state) = self.topics.get_mut(topic) {
            let sticky_batch_size = self.sticky_batch_size;
            Self::count_append(sticky_batch_size, state, partition, bytes);
        }
    }

    /// [`on_append`](Self::on_append) with the topic's state kept by the
    /// caller (the one given to [`choose_in`](Self::choose_in)).
    pub fn on_append_in(&mut self, state: &mut TopicState, partition: i32, bytes: usize) {
        Self::count_append(self.sticky_batch_size, state, partition, bytes);
    }

    fn count_append(
        sticky_batch_size: usize,
        state: &mut TopicState,
        partition: i32,
        bytes: usize,
    ) {
        if state.sticky != Some(partition) {
            return;
        }
        state.produced_bytes = state.produced_bytes.saturating_add(bytes);
        if state.produced_bytes >= sticky_batch_size {
            state.sticky = None;
            state.produced_bytes = 0;
        }
    }
}

impl Partitioning {
    /// A new sticky partition: weighted by the queues (KIP-794) when
    /// adaptive partitioning is on and `load` is given, uniform among
    /// `candidates` otherwise (among all partitions when there are none).
    fn draw_sticky(
        &mut self,
        partitions: &TopicPartitions<'_>,
        candidates: &[i32],
        load: Option<&dyn PartitionLoad>,
    ) -> i32 {
        let random = self.rng.next_u64();
        if let Some(load) = load.filter(|_| self.adaptive) {
            self.weighted_ids.clear();
            self.weighted_cumulative.clear();
            let mut longest = 0u32;
            let mut all_equal = true;
            for &p in candidates {
                if let Some(queued) = load.queued_batches(p) {
                    if let Some(&first) = self.weighted_cumulative.first() {
                        all_equal &= u64::from(queued) == first;
                    }
                    longest = longest.max(queued);
                    self.weighted_ids.push(p);
                    self.weighted_cumulative.push(u64::from(queued));
                }
            }
            // Every candidate available and equally loaded: uniform (Java
            // keeps no load statistics then). None available: uniform among
            // all candidates, as if nothing were known.
            let uniform = self.weighted_ids.is_empty()
                || (all_equal && self.weighted_ids.len() == candidates.len());
            if !uniform {
                let top = u64::from(longest) + 1;
                let mut sum = 0u64;
                for c in &mut self.weighted_cumulative {
                    sum += top - *c;
                    *c = sum;
                }
                let pick = random % sum;
                let index = self.weighted_cumulative.partition_point(|&c| c <= pick);
                return self.weighted_ids[index];
            }
        }
        nth_partition(candidates, partitions.num_partitions, random)
    }
}

/// The partition at position `index` (taken modulo the count) among
/// `candidates` (the available partitions, or some of them), or among all
/// `num_partitions` partitions when there are none.
fn nth_partition(candidates: &[i32], num_partitions: i32, index: u64) -> i32 {
    match candidates.len() as u64 {
        0 => (index % num_partitions.max(1) as u64) as i32,
        len => candidates[(index % len) as usize],
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn state_kept_by_the_caller_gives_the_same_choices() {
        let available = [0, 2, 3, 5];
        let mut by_name = Partitioning::new(PartitionerKind::Default, false, 300, 7);
        let mut by_state = Partitioning::new(PartitionerKind::Default, false, 300, 7);
        let mut state = TopicState::default();
        for i in 0..1_000 {
            let key = (i % 3 == 0).then_some(&b"k"[..]);
            let a = by_name.choose("t", key, None, &parts(6, &available));
            let b = by_state.choose_in(&mut state, "t", key, None, &parts(6, &available));
            assert_eq!(a, b, "record {i}");
            if by_name.uses_sticky(key) {
                by_name.on_append("t", a.unwrap(), 70);
                by_state.on_append_in(&mut state, b.unwrap(), 70);
            }
        }
    }

    /// Queue lengths by partition; `None`: unavailable.
    struct Queues(Vec<Option<u32>>);

    impl PartitionLoad for Queues {
        fn queued_batches(&self, partition: i32) -> Option<u32> {
            self.0.get(partition as usize).copied().flatten()
        }
    }

    /// How often each of `n` partitions is drawn in `draws` sticky
    /// choices (batch.size 1: every append switches), all partitions
    /// available, `candidates` offered.
    fn sticky_draws(
        adaptive: bool,
        queues: &Queues,
        candidates: &[i32],
        n: i32,
        draws: usize,
    ) -> Vec<usize> {
        let mut p = Partitioning::new(PartitionerKind::Default, false, 1, 42);
        p.set_adaptive(adaptive);
        let available: Vec<i32> = (0..n).collect();
        let mut state = TopicState::default();
        let mut counts = vec![0; n as usize];
        for _ in 0..draws {
            let chosen = p
                .choose_in_with_load(
                    &mut state,
                    "t",
                    None,
                    None,
                    &parts(n, &available),
                    candidates,
                    Some(queues),
                )
                .unwrap();
            p.on_append_in(&mut state, chosen, 1);
            counts[chosen as usize] += 1;
        }
        counts
    }

    #[test]
    fn adaptive_draws_weigh_partitions_against_their_queues() {
        // Weights are max + 1 - queued: 4, 1, 1, 1, so partition 0 gets 4/7.
        let queues = Queues(vec![Some(0), Some(3), Some(3), Some(3)]);
        let counts = sticky_draws(true, &queues, &[0, 1, 2, 3], 4, 7_000);
        assert!((3_700..4_300).contains(&counts[0]), "{counts:?}");
        for &c in &counts[1..] {
            assert!((800..1_200).contains(&c), "{counts:?}");
        }
        // Off, the same queues change nothing: uniform.
        let counts = sticky_draws(false, &queues, &[0, 1, 2, 3], 4, 8_000);
        for &c in &counts {
            assert!((1_800..2_200).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn equal_queues_draw_exactly_as_the_uniform_choice() {
        let queues = Queues(vec![Some(2); 5]);
        let all = [0, 1, 2, 3, 4];
        assert_eq!(
            sticky_draws(true, &queues, &all, 5, 500),
            sticky_draws(false, &queues, &all, 5, 500)
        );
    }

    #[test]
    fn an_unavailable_partition_is_never_drawn_while_another_is_available() {
        let queues = Queues(vec![Some(0), None, Some(0), Some(0)]);
        let counts = sticky_draws(true, &queues, &[0, 1, 2, 3], 4, 3_000);
        assert_eq!(counts[1], 0, "{counts:?}");
        assert!(
            counts.iter().filter(|&&c| c > 800).count() == 3,
            "{counts:?}"
        );
        // None available: uniform among the candidates, as if nothing were known.
        let none = Queues(vec![None; 4]);
        let counts = sticky_draws(true, &none, &[0, 1, 2, 3], 4, 4_000);
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
    }

    #[test]
    fn sticky_draws_keep_to_the_candidates() {
        // The rack-local partitions, say.
        let queues = Queues(vec![Some(0), Some(0), Some(5), Some(0)]);
        for adaptive in [true, false] {
            let counts = sticky_draws(adaptive, &queues, &[2, 3], 4, 2_000);
            assert_eq!(counts[0] + counts[1], 0, "adaptive {adaptive}: {counts:?}");
            assert!(
                counts[2] > 0 && counts[3] > 0,
                "adaptive {adaptive}: {counts:?}"
            );
        }
    }

    fn parts(num_partitions: i32, available: &[i32]) -> TopicPartitions<'_> {
        TopicPartitions {
            num_partitions,
            available,
        }
    }

    /// Apache Kafka's `UtilsTest.testMurmur2` cases (clients/src/test/java/
    /// org/apache/kafka/common/utils/UtilsTest.java, read at apache/kafka
    /// commit f55581dc73953c3509a4702433aeeeddc2970779 through the `search`
    /// corpus; the same values appear in several independent clients' tests).
    const JAVA_MURMUR2: [(&[u8], i32); 6] = [
        (b"21", -973_932_308),
        (b"foobar", -790_332_482),
        (b"a-little-bit-long-string", -985_981_536),
        (b"a-little-bit-longer-string", -1_486_304_829),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        // Java writes this one as the array {'a', 'b', 'c'}.
        (b"abc", 479_470_107),
    ];

    #[test]
    fn murmur2_matches_java_utils_test() {
        for (data, want) in JAVA_MURMUR2 {
            assert_eq!(murmur2(data), want, "{:?}", String::from_utf8_lossy(data));
        }
    }

    /// librdkafka's `unittest_murmur2` (src/rdmurmur2.c, confluentinc/
    /// librdkafka commit 6cbbd2f7aee9cad3be4aea2c169f12b5b3d787b0), whose
    /// expected values are labelled there as the Java client's results. They
    /// add what the Java cases lack: 1-byte tails and the empty key.
    const LIBRDKAFKA_MURMUR2: [(&[u8], u32); 11] = [
        (b"kafka", 0xd067_cf64),
        (b"giberish123456789", 0x8f55_2b0c),
        (b"1234", 0x9fc9_7b14),
        (b"234", 0xe7c0_09ca),
        (b"34", 0x8739_30da),
        (b"4", 0x5a4b_5ca1),
        (b"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x7842_4f1c),
        (b"reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62_b377),
        (b"eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4_e09e),
        (b"AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8_b43f),
        (b"", 0x106e_08d9),
    ];

    #[test]
    fn murmur2_matches_librdkafka_java_compatible_values() {
        for (data, want) in LIBRDKAFKA_MURMUR2 {
            assert_eq!(
                murmur2(data),
                want as i32,
                "{:?}",
                String::from_utf8_lossy(data)
            );
        }
        // Every tail length 0..=3 is exercised by the two tables together.
        let mut tails = [false; 4];
        for data in JAVA_MURMUR2
            .iter()
            .map(|c| c.0)
            .chain(LIBRDKAFKA_MURMUR2.iter().map(|c| c.0))
        {
            tails[data.len() % 4] = true;
        }
        assert_eq!(tails, [true; 4]);
    }

    #[test]
    fn to_positive_clears_the_sign_bit() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(-973_932_308), 1_173_551_340);
        assert_eq!(to_positive(479_470_107), 479_470_107);
    }

    #[test]
    fn keys_land_on_the_java_partition() {
        // Worked out by hand from the Java hashes above:
        // to_positive(hash) % n for n = 2, 3, 10, 12, 50, 1000.
        let counts = [2, 3, 10, 12, 50, 1000];
        let cases: [(&[u8], [i32; 6]); 6] = [
            (b"21", [0, 0, 0, 0, 40, 340]),
            (b"foobar", [0, 0, 6, 6, 16, 166]),
            (b"a-little-bit-long-string", [0, 2, 2, 8, 12, 112]),
            (b"a-little-bit-longer-string", [1, 2, 9, 11, 19, 819]),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                [1, 2, 7, 5, 27, 677],
            ),
            (b"abc", [1, 0, 7, 3, 7, 107]),
        ];
        for (key, want) in cases {
            for (n, want) in counts.into_iter().zip(want) {
                assert_eq!(partition_for_key(key, n), want, "{key:?} over {n}");
            }
            assert_eq!(partition_for_key(key, 1), 0);
            assert_eq!(partition_for_key(key, 0), 0);
        }
    }

    #[test]
    fn keyed_records_hash_over_all_partitions_unless_keys_are_ignored() {
        // "foobar" belongs on partition 6 of 10, which has no leader here.
        let available = [0, 1];
        let mut p = Partitioning::new(PartitionerKind::Default, false, 100, 1);
        for _ in 0..3 {
            let chosen = p.choose("t", Some(b"foobar"), None, &parts(10, &available));
            assert_eq!(chosen, Ok(6));
        }
        // An empty key is a key (Java hashes it), not a missing one.
        assert_eq!(
            p.choose("t", Some(b""), None, &parts(10, &available)),
            Ok(partition_for_key(b"", 10))
        );
        assert!(!p.uses_sticky(Some(b"foobar")));
        assert!(p.uses_sticky(None));

        let mut p = Partitioning::new(PartitionerKind::Default, true, 100, 1);
        assert!(p.uses_sticky(Some(b"foobar")));
        let chosen = p.choose("t", Some(b"foobar"), None, &parts(10, &available));
        assert!(matches!(chosen, Ok(0 | 1)), "{chosen:?}");
    }

    #[test]
    fn sticky_holds_for_batch_size_bytes_then_draws_uniformly() {
        const STINTS: usize = 8_000;
        let available = [1, 3, 4, 6, 9];
        let mut p = Partitioning::new(PartitionerKind::Default, false, 1_000, 42);
        let mut stints_on = [0u32; 10];
        for _ in 0..STINTS {
            // 10 records of 100 bytes fill exactly one stint of 1000 bytes.
            let first = p.choose("t", None, None, &parts(10, &available)).unwrap();
            assert!(available.contains(&first), "{first}");
            stints_on[first as usize] += 1;
            p.on_append("t", first, 100);
            for _ in 1..10 {
                assert_eq!(p.choose("t", None, None, &parts(10, &available)), Ok(first));
                p.on_append("t", first, 100);
            }
        }
        for (partition, &n) in stints_on.iter().enumerate() {
            assert_eq!(n > 0, available.contains(&(partition as i32)));
        }
        // Pearson's chi-square over the 5 available partitions, 4 degrees
        // of freedom: 18.47 is the 0.1% critical value.
        let expected = STINTS as f64 / available.len() as f64;
        let chi2: f64 = available
            .iter()
            .map(|&a| (f64::from(stints_on[a as usize]) - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 18.47, "chi-square {chi2}: {stints_on:?}");
    }

    #[test]
    fn sticky_counts_only_bytes_sent_to_the_sticky_partition() {
        let mut p = Partitioning::new(PartitionerKind::Default, false, 100, 5);
        let sticky = p.choose("t", None, None, &parts(4, &[])).unwrap();
        let other = (sticky + 1) % 4;
        p.on_append("t", other, 1_000);
        p.on_append("elsewhere", sticky, 1_000);
        p.on_append("t", sticky, 99);
        assert_eq!(p.choose("t", None, None, &parts(4, &[])), Ok(sticky));
        // The 100th byte completes the stint; what follows is a fresh draw.
        p.on_append("t", sticky, 1);
        let state = &p.topics["t"];
        assert_eq!((state.sticky, state.produced_bytes), (None, 0));
        let next = p.choose("t", None, None, &parts(4, &[])).unwrap();
        assert!((0..4).contains(&next));
        assert_eq!(p.topics["t"].sticky, Some(next));
    }

    #[test]
    fn sticky_without_available_partitions_uses_all_and_topics_are_separate() {
        let mut p = Partitioning::new(PartitionerKind::Default, false, 1, 7);
        let mut seen = [false; 6];
        for _ in 0..600 {
            let chosen = p.choose("t", None, None, &parts(6, &[])).unwrap();
            seen[chosen as usize] = true;
            p.on_append("t", chosen, 1);
        }
        assert_eq!(seen, [true; 6]);
        let u = p.choose("u", None, None, &parts(2, &[1])).unwrap();
        assert_eq!(u, 1);
        assert_eq!(p.topics.len(), 2);
    }

    #[test]
    fn sticky_redraws_when_the_topic_shrinks() {
        let mut p = Partitioning::new(PartitionerKind::Default, false, 1_000, 3);
        assert_eq!(p.choose("t", None, None, &parts(8, &[7])), Ok(7));
        // Re-created with 4 partitions: 7 no longer exists.
        assert_eq!(p.choose("t", None, None, &parts(4, &[2])), Ok(2));
    }

    #[test]
    fn a_bad_available_entry_is_an_error_not_a_stuck_choice() {
        let mut p = Partitioning::new(PartitionerKind::Default, false, 1_000, 3);
        assert_eq!(
            p.choose("t", None, None, &parts(4, &[9])),
            Err(PartitionError::OutOfRange {
                partition: 9,
                num_partitions: 4
            })
        );
        assert_eq!(p.choose("t", None, None, &parts(4, &[3])), Ok(3));
    }

    #[test]
    fn batch_size_zero_switches_after_every_record() {
        let mut p = Partitioning::new(PartitionerKind::Default, false, 0, 11);
        let first = p.choose("t", None, None, &parts(3, &[])).unwrap();
        // Every real record has at least one byte.
        p.on_append("t", first, 1);
        assert_eq!(p.topics["t"].sticky, None);
    }

    #[test]
    fn round_robin_cycles_and_ignores_keys() {
        let mut p = Partitioning::new(PartitionerKind::RoundRobin, false, 100, 0);
        assert!(!p.uses_sticky(None));
        let keys: [Option<&[u8]>; 7] = [Some(b"k"), None, Some(b"k"), None, None, Some(b"x"), None];
        let got: Vec<i32> = keys
            .iter()
            .map(|&k| p.choose("t", k, None, &parts(6, &[0, 2, 5])).unwrap())
            .collect();
        assert_eq!(got, [0, 2, 5, 0, 2, 5, 0]);
        // Another topic has its own counter; with no leader known it walks
        // all partitions.
        let got: Vec<i32> = (0..5)
            .map(|_| p.choose("u", None, None, &parts(3, &[])).unwrap())
            .collect();
        assert_eq!(got, [0, 1, 2, 0, 1]);
        // The "t" counter went on where it was: 7 % 3 -> index 1.
        assert_eq!(p.choose("t", None, None, &parts(6, &[0, 2, 5])), Ok(2));
    }

    #[test]
    fn round_robin_wraps_like_java() {
        let mut p = Partitioning::new(PartitionerKind::RoundRobin, false, 100, 0);
        p.choose("t", None, None, &parts(5, &[])).unwrap();
        p.topics.get_mut("t").unwrap().next_round_robin = i32::MAX;
        // i32::MAX % 5 = 2; then the counter wraps to i32::MIN, which
        // to_positive turns into 0.
        assert_eq!(p.choose("t", None, None, &parts(5, &[])), Ok(2));
        assert_eq!(p.choose("t", None, None, &parts(5, &[])), Ok(0));
        assert_eq!(p.choose("t", None, None, &parts(5, &[])), Ok(1));
    }

    /// What a [`Fixed`] partitioner was asked: topic, key, value, count.
    type Asked = Arc<Mutex<Vec<(String, Option<Vec<u8>>, Option<Vec<u8>>, i32)>>>;

    /// Returns `answer`, and remembers what it was asked.
    struct Fixed {
        answer: i32,
        asked: Asked,
    }

    impl Fixed {
        fn boxed(answer: i32) -> (Box<dyn Partitioner>, Asked) {
            let asked = Asked::default();
            let fixed = Fixed {
                answer,
                asked: Arc::clone(&asked),
            };
            (Box::new(fixed), asked)
        }
    }

    impl Partitioner for Fixed {
        fn partition(
            &mut self,
            topic: &str,
            key: Option<&[u8]>,
            value: Option<&[u8]>,
            partitions: &TopicPartitions<'_>,
        ) -> i32 {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push((
                    topic.to_owned(),
                    key.map(<[u8]>::to_vec),
                    value.map(<[u8]>::to_vec),
                    partitions.num_partitions,
                ));
            }
            self.answer
        }
    }

    #[test]
    fn custom_partitioner_is_consulted_and_checked() {
        let (fixed, asked) = Fixed::boxed(2);
        let mut p = Partitioning::new(PartitionerKind::Custom(fixed), false, 1, 0);
        assert_eq!(format!("{:?}", p.kind), "Custom(..)");
        assert!(!p.uses_sticky(None));
        assert_eq!(p.choose("t", Some(b"k"), Some(b"v"), &parts(3, &[])), Ok(2));
        let err = p.choose("u", None, None, &parts(2, &[1])).unwrap_err();
        assert_eq!(
            err,
            PartitionError::OutOfRange {
                partition: 2,
                num_partitions: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "partition 2 was chosen but the topic has 2 partitions"
        );
        assert_eq!(
            *asked.lock().unwrap(),
            [
                ("t".to_owned(), Some(b"k".to_vec()), Some(b"v".to_vec()), 3),
                ("u".to_owned(), None, None, 2),
            ]
        );

        let (fixed, _) = Fixed::boxed(-1);
        let mut p = Partitioning::new(PartitionerKind::Custom(fixed), false, 1, 0);
        assert_eq!(
            p.choose("t", None, None, &parts(3, &[])),
            Err(PartitionError::OutOfRange {
                partition: -1,
                num_partitions: 3
            })
        );
    }

    #[test]
    fn no_partitions_is_an_error_for_every_kind() {
        let kinds = [
            PartitionerKind::Default,
            PartitionerKind::RoundRobin,
            PartitionerKind::Custom(Fixed::boxed(0).0),
        ];
        for kind in kinds {
            let mut p = Partitioning::new(kind, false, 100, 0);
            for n in [0, -3] {
                let err = p.choose("t", Some(b"k"), None, &parts(n, &[])).unwrap_err();
                assert_eq!(err, PartitionError::NoPartitions { num_partitions: n });
                assert!(err.to_string().contains("no partitions"));
            }
        }
    }

    #[test]
    fn same_seed_same_choices() {
        let run = |seed| {
            let mut p = Partitioning::new(PartitionerKind::Default, false, 10, seed);
            (0..200)
                .map(|_| {
                    let chosen = p.choose("t", None, None, &parts(16, &[])).unwrap();
                    p.on_append("t", chosen, 5);
                    chosen
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn kinds_print_their_names() {
        assert_eq!(format!("{:?}", PartitionerKind::Default), "Default");
        assert_eq!(format!("{:?}", PartitionerKind::RoundRobin), "RoundRobin");
    }

    /// A partition count and a subset of its partitions (sometimes empty).
    fn topic_with_subset() -> impl Strategy<Value = (i32, Vec<i32>)> {
        (1i32..1000, any::<bool>()).prop_flat_map(|(n, none_available)| {
            proptest::collection::vec(any::<bool>(), n as usize).prop_map(move |mask| {
                let available = mask
                    .iter()
                    .enumerate()
                    .filter(|&(_, &has_leader)| has_leader && !none_available)
                    .map(|(i, _)| i as i32)
                    .collect();
                (n, available)
            })
        })
    }

    proptest! {
        #[test]
        fn choices_are_always_in_range(
            (n, available) in topic_with_subset(),
            key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            seed in any::<u64>(),
            round_robin in any::<bool>(),
            ignore_keys in any::<bool>(),
            batch_size in 0usize..300,
        ) {
            let kind = if round_robin {
                PartitionerKind::RoundRobin
            } else {
                PartitionerKind::Default
            };
            let mut p = Partitioning::new(kind, ignore_keys, batch_size, seed);
            let keyed = !round_robin && !ignore_keys && key.is_some();
            for _ in 0..20 {
                let chosen = p.choose("t", key.as_deref(), None, &parts(n, &available));
                let chosen = chosen.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!((0..n).contains(&chosen));
                if keyed {
                    prop_assert_eq!(chosen, partition_for_key(key.as_deref().unwrap_or_default(), n));
                } else if !available.is_empty() {
                    prop_assert!(available.contains(&chosen));
                }
                if p.uses_sticky(key.as_deref()) {
                    p.on_append("t", chosen, 64);
                }
            }
        }
    }
}
