//! The hash maps of the core.
//!
//! Topic names are looked up for every record; SipHash (the standard
//! library's default, DoS-resistant) cost about a third of a keyless
//! record's instructions in the core bench. The keys of [`FastMap`] come from
//! the application, not the network, so a fast non-keyed hash is enough:
//! rustc-hash's Fx hash. It replaced a hand-written one of the same kind:
//! callgrind counted 952 instructions per keyless record against 969 (keyed:
//! 1,080 against 1,097) in `PRODUCER_BENCH_ONCE=keyless/p1/none` (and
//! `keyed/p8/none`) with 300,000 records, 2026-12-04.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};

/// A hash map with a fixed hasher: iteration order depends only on what
/// was inserted, so a run replays exactly from its inputs and seed.
pub(crate) type Map<K, V> = HashMap<K, V, BuildHasherDefault<DefaultHasher>>;

/// A map with rustc-hash's Fx hash (not keyed, so deterministic too), for
/// the per-record lookups by topic name.
pub(crate) type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn equal_keys_hash_equal_near_keys_differ_and_runs_repeat() {
        let b = rustc_hash::FxBuildHasher;
        assert_eq!(b.hash_one("events"), b.hash_one("events"));
        let names = [
            "a",
            "b",
            "events",
            "events1",
            "events2",
            "eventsevents",
            "eventsevent",
        ];
        let hashes: std::collections::BTreeSet<u64> = names.iter().map(|n| b.hash_one(n)).collect();
        assert_eq!(hashes.len(), names.len());
        // The same inserts iterate in the same order in another map.
        let fill = || {
            let mut m: FastMap<&str, usize> = FastMap::default();
            for (i, n) in names.iter().enumerate() {
                m.insert(n, i);
            }
            m.into_iter().collect::<Vec<_>>()
        };
        assert_eq!(fill(), fill());
    }
}
