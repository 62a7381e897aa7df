//! Partitioners: which partition a record goes to.
//!
//! - The default ([`PartitionerKind::Default`]) is the Java client's
//!   built-in partitioner (Kafka 3.3+, KIP-794): a keyed record goes to
//!   `murmur2(key) mod partitions` over all partitions, exactly as Java
//!   computes it, so the same key lands on the same partition number from
//!   either client; a keyless record goes to a "sticky" partition chosen
//!   uniformly among those with a leader, kept until `batch.size` bytes have
//!   gone to it, then chosen again. KIP-794's adaptive weighting by queue
//!   size (`partitioner.adaptive.partitioning.enable`) is not implemented:
//!   the choice is uniform.
//! - [`PartitionerKind::RoundRobin`] is Java's `RoundRobinPartitioner`.
//! - [`Partitioner`] is for your own.

use std::collections::HashMap;
use std::fmt;

use crate::rng::Rng;

/// Kafka's murmur2 hash (the Java client's `Utils.murmur2`): seed
/// `0x9747b28c`, little-endian 4-byte blocks.
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut blocks = data.chunks_exact(4);
    for b in &mut blocks {
        let mut k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        if tail.len() >= 3 {
            h ^= u32::from(tail[2]) << 16;
        }
        if tail.len() >= 2 {
            h ^= u32::from(tail[1]) << 8;
        }
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Java's `Utils.toPositive`: clears the sign bit (not `abs`, which
/// overflows on `i32::MIN`).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition the Java client picks for `key` among `num_partitions`
/// (`BuiltInPartitioner.partitionForKey`). `num_partitions` must be positive.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    to_positive(murmur2(key)) % num_partitions.max(1)
}

/// What the producer knows of a topic when partitioning.
#[derive(Debug, Clone, Copy)]
pub struct TopicPartitions<'a> {
    /// How many partitions the topic has.
    pub num_partitions: i32,
    /// The partitions that have a known leader now (may be empty).
    pub available: &'a [i32],
}

/// A user-supplied partitioner (Java's `Partitioner` interface).
pub trait Partitioner: Send {
    /// The partition for a record: must be in `0..partitions.num_partitions`,
    /// or the record is refused with `SendError::InvalidPartition`.
    fn partition(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partitions: &TopicPartitions<'_>,
    ) -> i32;
}

/// Which partitioner to use.
pub enum PartitionerKind {
    /// The Java client's built-in partitioner (murmur2 for keys, uniform
    /// sticky for keyless records).
    Default,
    /// Java's `RoundRobinPartitioner`.
    RoundRobin,
    /// Your own.
    Custom(Box<dyn Partitioner>),
}

impl fmt::Debug for PartitionerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionerKind::Default => f.write_str("Default"),
            PartitionerKind::RoundRobin => f.write_str("RoundRobin"),
            PartitionerKind::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Why no partition could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionError {
    /// The topic has no partitions (its metadata is not usable).
    NoPartitions,
    /// A custom partitioner returned a partition that does not exist.
    OutOfRange {
        /// What it returned.
        partition: i32,
        /// How many partitions there are.
        num_partitions: i32,
    },
}

impl fmt::Display for PartitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionError::NoPartitions => f.write_str("the topic has no partitions"),
            PartitionError::OutOfRange {
                partition,
                num_partitions,
            } => write!(
                f,
                "the partitioner chose partition {partition} of {num_partitions}"
            ),
        }
    }
}

impl std::error::Error for PartitionError {}

/// Per-topic sticky state (KIP-794).
#[derive(Debug, Clone, Copy)]
struct Sticky {
    partition: i32,
    bytes: usize,
}

/// The partitioner the producer holds: the chosen kind plus its state.
#[derive(Debug)]
pub struct Partitioning {
    kind: PartitionerKind,
    ignore_keys: bool,
    batch_size: usize,
    rng: Rng,
    sticky: HashMap<String, Sticky>,
    round_robin: HashMap<String, u32>,
}

impl Partitioning {
    /// A partitioner of `kind`. `ignore_keys` is `partitioner.ignore.keys`;
    /// `batch_size` is how many bytes go to a sticky partition before it
    /// changes; `seed` drives its random choices.
    pub fn new(kind: PartitionerKind, ignore_keys: bool, batch_size: usize, seed: u64) -> Self {
        Partitioning {
            kind,
            ignore_keys,
            batch_size: batch_size.max(1),
            rng: Rng::new(seed),
            sticky: HashMap::new(),
            round_robin: HashMap::new(),
        }
    }

    /// Chooses the partition for a record.
    pub fn choose(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partitions: &TopicPartitions<'_>,
    ) -> Result<i32, PartitionError> {
        let n = partitions.num_partitions;
        if n <= 0 {
            return Err(PartitionError::NoPartitions);
        }
        match &mut self.kind {
            PartitionerKind::Custom(p) => {
                let chosen = p.partition(topic, key, value, partitions);
                if (0..n).contains(&chosen) {
                    Ok(chosen)
                } else {
                    Err(PartitionError::OutOfRange {
                        partition: chosen,
                        num_partitions: n,
                    })
                }
            }
            PartitionerKind::RoundRobin => {
                let counter = match self.round_robin.get_mut(topic) {
                    Some(c) => c,
                    None => self.round_robin.entry(topic.to_owned()).or_insert(0),
                };
                let i = *counter;
                *counter = counter.wrapping_add(1);
                Ok(pick_from(partitions, i as u64))
            }
            PartitionerKind::Default => match key {
                Some(k) if !self.ignore_keys => Ok(partition_for_key(k, n)),
                _ => {
                    let current = self.sticky.get(topic).map(|s| s.partition);
                    match current {
                        // The partition count only grows; a sticky choice
                        // stays valid while it is in range.
                        Some(p) if p < n => Ok(p),
                        _ => {
                            let p = pick_from(partitions, self.rng.next_u64());
                            self.sticky.insert(
                                topic.to_owned(),
                                Sticky {
                                    partition: p,
                                    bytes: 0,
                                },
                            );
                            Ok(p)
                        }
                    }
                }
            },
        }
    }

    /// Counts `bytes` appended to `partition` of `topic`; once the sticky
    /// partition has taken `batch.size` bytes, the next keyless record
    /// starts a new choice.
    pub fn on_append(&mut self, topic: &str, partition: i32, bytes: usize) {
        if let Some(s) = self.sticky.get_mut(topic) {
            if s.partition == partition {
                s.bytes += bytes;
                if s.bytes >= self.batch_size {
                    // Forget it: the next keyless record picks anew.
                    s.partition = i32::MAX;
                    s.bytes = 0;
                }
            }
        }
    }
}

/// The `i`-th partition among the available ones (all when none are).
fn pick_from(partitions: &TopicPartitions<'_>, i: u64) -> i32 {
    if partitions.available.is_empty() {
        (i % partitions.num_partitions as u64) as i32
    } else {
        partitions.available[(i % partitions.available.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_the_java_client() {
        // Values from Apache Kafka's UtilsTest.testMurmur2 and from
        // librdkafka's murmur2 test (which checks Java compatibility).
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
            (b"1", -1_993_445_489),
            (b"12", 126_087_238),
            (b"123", -267_702_483),
            (b"1234", -1_614_185_708),
            (b"12345", -1_188_365_604),
            (b"kafka", -798_503_068),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), *want, "{:?}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn keys_map_to_the_java_partition() {
        // to_positive(murmur2("foobar")) = 1357151166.
        assert_eq!(partition_for_key(b"foobar", 1), 0);
        assert_eq!(partition_for_key(b"foobar", 3), 1_357_151_166 % 3);
        assert_eq!(partition_for_key(b"foobar", 10), 6);
        assert_eq!(partition_for_key(b"21", 7), to_positive(-973_932_308) % 7);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
    }

    fn parts(n: i32, available: &[i32]) -> TopicPartitions<'_> {
        TopicPartitions {
            num_partitions: n,
            available,
        }
    }

    #[test]
    fn keyed_records_ignore_availability_unless_keys_are_ignored() {
        let mut p = Partitioning::new(PartitionerKind::Default, false, 100, 1);
        let avail = [0];
        assert_eq!(
            p.choose("t", Some(b"foobar"), None, &parts(10, &avail))
                .unwrap(),
            6
        );
        let mut p = Partitioning::new(PartitionerKind::Default, true, 100, 1);
        assert_eq!(
            p.choose("t", Some(b"foobar"), None, &parts(10, &avail))
                .unwrap(),
            0
        );
    }

    #[test]
    fn sticky_keeps_a_partition_for_batch_size_bytes_and_spreads_uniformly() {
        let avail = [1, 3, 5, 7];
        let mut p = Partitioning::new(PartitionerKind::Default, false, 1000, 9);
        let mut counts = [0u32; 8];
        let mut switches = 0;
        let mut last = -1;
        for _ in 0..40_000 {
            let c = p.choose("t", None, None, &parts(8, &avail)).unwrap();
            assert!(avail.contains(&c));
            if c != last {
                switches += 1;
                last = c;
            }
            counts[c as usize] += 1;
            p.on_append("t", c, 100);
        }
        // 10 records of 100 bytes per stint: at most one switch per stint.
        assert!(switches <= 4_000, "{switches}");
        for &a in &avail {
            let share = counts[a as usize] as f64 / 40_000.0;
            assert!((0.2..0.3).contains(&share), "partition {a}: {share}");
        }
        // Topics are independent.
        let other = p.choose("u", None, None, &parts(2, &[])).unwrap();
        assert!((0..2).contains(&other));
    }

    #[test]
    fn round_robin_cycles_over_available_partitions() {
        let mut p = Partitioning::new(PartitionerKind::RoundRobin, false, 100, 0);
        let got: Vec<i32> = (0..6)
            .map(|_| {
                p.choose("t", Some(b"k"), None, &parts(5, &[0, 2, 4]))
                    .unwrap()
            })
            .collect();
        assert_eq!(got, [0, 2, 4, 0, 2, 4]);
        let got: Vec<i32> = (0..3)
            .map(|_| p.choose("u", None, None, &parts(2, &[])).unwrap())
            .collect();
        assert_eq!(got, [0, 1, 0]);
    }

    struct Fixed(i32);
    impl Partitioner for Fixed {
        fn partition(
            &mut self,
            _: &str,
            _: Option<&[u8]>,
            _: Option<&[u8]>,
            _: &TopicPartitions<'_>,
        ) -> i32 {
            self.0
        }
    }

    #[test]
    fn custom_partitioners_are_checked() {
        let mut p = Partitioning::new(PartitionerKind::Custom(Box::new(Fixed(2))), false, 1, 0);
        assert_eq!(p.choose("t", None, None, &parts(3, &[])).unwrap(), 2);
        assert_eq!(
            p.choose("t", None, None, &parts(2, &[])).unwrap_err(),
            PartitionError::OutOfRange {
                partition: 2,
                num_partitions: 2
            }
        );
        assert_eq!(
            p.choose("t", None, None, &parts(0, &[])).unwrap_err(),
            PartitionError::NoPartitions
        );
    }

    #[test]
    fn same_seed_same_choices() {
        let run = |seed| {
            let mut p = Partitioning::new(PartitionerKind::Default, false, 10, seed);
            (0..100)
                .map(|_| {
                    let c = p.choose("t", None, None, &parts(16, &[])).unwrap();
                    p.on_append("t", c, 5);
                    c
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    proptest::proptest! {
        #[test]
        fn choices_are_always_in_range(
            n in 1i32..1000,
            avail in proptest::collection::vec(0i32..1000, 0..20),
            key in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)),
            seed in proptest::prelude::any::<u64>(),
            robin in proptest::prelude::any::<bool>(),
        ) {
            let avail: Vec<i32> = avail.into_iter().filter(|&a| a < n).collect();
            let kind = if robin { PartitionerKind::RoundRobin } else { PartitionerKind::Default };
            let mut p = Partitioning::new(kind, false, 50, seed);
            for _ in 0..5 {
                let c = p.choose("t", key.as_deref(), None, &parts(n, &avail)).unwrap();
                proptest::prop_assert!((0..n).contains(&c));
                p.on_append("t", c, 30);
            }
        }
    }
}
