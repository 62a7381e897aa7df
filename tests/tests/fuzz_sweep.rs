//! The `producer_core` fuzz oracle over seeded random inputs, beside the
//! corpus replay (`fuzz_corpus.rs`): inputs no corpus holds, on every run,
//! on stable Rust. `FUZZ_SWEEP=N` runs N inputs (default 2,000);
//! `FUZZ_SWEEP_SEED=S` changes the seed. A failing input is written to the
//! temporary directory for `cargo fuzz run producer_core <file>`.

use std::time::Instant;

use kafka_integration_tests::tools::env_u64;
use kafka_producer_core::fuzzing::producer_core;
use kafka_producer_core::rng::SplitMix64;

#[test]
fn the_oracle_holds_on_seeded_random_scripts() {
    let inputs = env_u64("FUZZ_SWEEP", 2_000);
    let mut rng = SplitMix64::new(env_u64("FUZZ_SWEEP_SEED", 0x5eed));
    // The test is the caller: it reads the clock (only differences matter).
    let start = Instant::now();
    for i in 0..inputs {
        let len = rng.below(1_200) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if std::panic::catch_unwind(|| producer_core(&data, start)).is_err() {
            let path = std::env::temp_dir().join(format!("producer_core-sweep-{i}.bin"));
            let _ = std::fs::write(&path, &data);
            panic!("input {i} broke an invariant; saved to {}", path.display());
        }
    }
}
