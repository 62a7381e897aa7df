//! Shared support for the integration tests: locating test vectors and tools.

use std::path::PathBuf;

/// The directory holding checked-in test vectors (`tests/vectors`).
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}
