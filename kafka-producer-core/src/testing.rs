//! Test helpers (compiled for unit tests only).

use std::time::Instant;

/// A starting instant for tests. Only differences between instants matter
/// to the producer, so any base will do; tests never read the clock again.
#[allow(clippy::disallowed_methods)]
pub(crate) fn t0() -> Instant {
    Instant::now()
}
