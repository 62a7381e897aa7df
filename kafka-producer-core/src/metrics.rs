//! The producer's metrics, named as the Java client names them: plain
//! counters the core updates as things happen (no clock, no atomics), read
//! as a [`Metrics`] snapshot by [`Producer::metrics`](crate::Producer::metrics).
//!
//! This is the first set: connections and authentication, bytes on the
//! wire, records sent, failed and retried, and buffer memory (Java's
//! `producer-metrics` group). Rates, latencies and the per-topic and
//! per-broker groups are not counted yet.

/// Connection counters, kept by `Nodes` (the live connections' own counts
/// are added when a snapshot is taken).
#[derive(Debug, Clone, Default)]
pub(crate) struct Counters {
    pub(crate) connection_creation_total: u64,
    pub(crate) connection_close_total: u64,
    /// Authentications and re-authentications of connections already gone.
    pub(crate) retired_authentications: u64,
    pub(crate) retired_reauthentications: u64,
    pub(crate) outgoing_byte_total: u64,
    pub(crate) incoming_byte_total: u64,
}

/// Record counters, kept by the producer (failures are the ledger's).
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordCounters {
    pub(crate) send_total: u64,
    pub(crate) retry_total: u64,
}

/// One metric: its Java group and name, what it means, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The Java client's metric group (`producer-metrics`).
    pub group: &'static str,
    /// The Java client's metric name (`record-send-total`, ...).
    pub name: &'static str,
    /// What it counts.
    pub description: &'static str,
    /// Its value now.
    pub value: f64,
}

/// A snapshot of the producer's metrics, from
/// [`Producer::metrics`](crate::Producer::metrics).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    metrics: Vec<Metric>,
}

impl Metrics {
    /// The value of the metric `name` (a Java name such as
    /// `"connection-creation-total"`), if this producer counts it.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.value)
    }

    /// Every metric, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = &Metric> {
        self.metrics.iter()
    }

    pub(crate) fn push(&mut self, name: &'static str, description: &'static str, value: f64) {
        self.metrics.push(Metric {
            group: "producer-metrics",
            name,
            description,
            value,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_finds_metrics_by_java_name() {
        let mut m = Metrics::default();
        m.push("record-send-total", "records sent", 3.0);
        m.push("connection-count", "open connections", 1.0);
        assert_eq!(m.get("record-send-total"), Some(3.0));
        assert_eq!(m.get("nope"), None);
        let names: Vec<&str> = m.iter().map(|x| x.name).collect();
        assert_eq!(names, ["record-send-total", "connection-count"]);
        assert!(m.iter().all(|x| x.group == "producer-metrics"));
    }
}
