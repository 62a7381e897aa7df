//! What `produce` and `perf` share: `-X key=value` properties and building
//! the producer from them.

use kafka_runtime_tokio::{Producer, ProducerBuilder};

/// Parses `key=value` (for `-X`); the value may itself contain `=`.
pub(crate) fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected key=value, got {s:?}")),
    }
}

/// Builds a producer for `bootstrap` with the `-X` properties applied on
/// top (so `-X bootstrap.servers=...` is not needed but would win).
pub(crate) fn build_producer(
    bootstrap: &str,
    properties: &[(String, String)],
) -> Result<Producer, String> {
    let builder = properties.iter().fold(
        ProducerBuilder::new().bootstrap_servers(bootstrap),
        |b, (k, v)| b.set(k, v),
    );
    builder
        .build()
        .map_err(|e| format!("bad producer configuration: {e}"))
}
