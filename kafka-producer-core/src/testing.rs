//! Test helpers (compiled for unit tests only).

use std::sync::OnceLock;
use std::time::Instant;

/// A starting instant for tests, the same on every call. Only differences
/// between instants matter to the producer, so any base will do; tests never
/// read the clock again.
#[allow(clippy::disallowed_methods)]
pub(crate) fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}
