//! Replays every checked-in fuzz corpus file (fuzz/corpus/<target>/) through
//! the same oracle its cargo-fuzz target runs, so CI checks the corpus on
//! stable Rust without libFuzzer. Crash reproducers kept under
//! fuzz/regressions/<target>/ are replayed too.

use std::fs;
use std::path::PathBuf;

use kafka_integration_tests::fuzz_oracles::ORACLES;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

#[test]
fn every_target_has_a_corpus_and_it_replays_cleanly() {
    let mut total = 0;
    for (name, oracle) in ORACLES {
        let mut files = 0;
        for kind in ["corpus", "regressions"] {
            let dir = fuzz_dir().join(kind).join(name);
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = fs::read(&path).unwrap();
                let result = std::panic::catch_unwind(|| oracle(&data));
                assert!(
                    result.is_ok(),
                    "{name}: {} fails its oracle",
                    path.display()
                );
                files += 1;
            }
        }
        assert!(files > 0, "fuzz target {name} has no checked-in corpus");
        total += files;
    }
    println!(
        "replayed {total} corpus files over {} targets",
        ORACLES.len()
    );
}
