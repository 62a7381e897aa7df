//! The producer's metrics in the Prometheus text format (OpenMetrics), with
//! the `prometheus-client` crate (feature `prometheus`).
//!
//! Names: `kafka_producer_` and the Java name with `-` as `_`
//! (`record-send-total` → `kafka_producer_record_send_total`); the
//! per-topic and per-broker groups add `topic_` and `node_`
//! (`kafka_producer_topic_record_send_total{topic="orders"}`,
//! `kafka_producer_node_request_latency_avg{node_id="node-1"}`). The Java
//! tags are labels with `-` as `_`: `client_id` on every metric, `topic`,
//! `node_id`. `-total` metrics are counters, the others gauges.
//!
//! Two ways in: [`encode`] writes one snapshot as text (what `kprod perf
//! --prometheus FILE` does), and [`MetricsCollector`] is a
//! `prometheus_client` collector that takes a fresh snapshot of a producer
//! on each scrape, for a registry an application already serves.
//!
//! ```
//! # use kafka_runtime_common::prometheus;
//! let text = prometheus::encode(&kafka_runtime_common::Metrics::default()).unwrap();
//! assert!(text.ends_with("# EOF\n"));
//! ```

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::Metrics;

/// A `prometheus_client` [`Collector`] of a producer's metrics: `snapshot`
/// is called on each scrape (e.g. `move || producer.metrics()` with a
/// clone of the producer's handle).
pub struct MetricsCollector<F> {
    snapshot: F,
}

impl<F> MetricsCollector<F>
where
    F: Fn() -> Metrics + Send + Sync + 'static,
{
    /// A collector reading `snapshot` on each scrape.
    pub fn new(snapshot: F) -> Self {
        MetricsCollector { snapshot }
    }
}

impl<F> fmt::Debug for MetricsCollector<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsCollector")
    }
}

impl<F> Collector for MetricsCollector<F>
where
    F: Fn() -> Metrics + Send + Sync + 'static,
{
    fn encode(&self, encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        encode_into(&(self.snapshot)(), encoder)
    }
}

/// `metrics` as Prometheus text (OpenMetrics, ending with `# EOF`).
pub fn encode(metrics: &Metrics) -> Result<String, fmt::Error> {
    let snapshot = metrics.clone();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(MetricsCollector::new(move || snapshot.clone())));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    Ok(text)
}

/// The Prometheus family name of a metric, without the counter's
/// `_total`, which the encoder adds; and whether it is a counter.
fn family(group: &str, name: &str) -> (String, bool) {
    let prefix = match group {
        "producer-topic-metrics" => "kafka_producer_topic_",
        "producer-node-metrics" => "kafka_producer_node_",
        _ => "kafka_producer_",
    };
    let (base, counter) = match name.strip_suffix("-total") {
        Some(base) => (base, true),
        None => (name, false),
    };
    (format!("{prefix}{}", base.replace('-', "_")), counter)
}

fn encode_into(metrics: &Metrics, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
    // One family per name, its label sets together, in first-seen order.
    let mut families: Vec<(String, bool, &'static str, Vec<&crate::Metric>)> = Vec::new();
    for m in metrics.iter() {
        let (name, counter) = family(m.group, m.name);
        match families.iter_mut().find(|f| f.0 == name) {
            Some(f) => f.3.push(m),
            None => families.push((name, counter, m.description, vec![m])),
        }
    }
    for (name, counter, help, members) in families {
        let kind = if counter {
            MetricType::Counter
        } else {
            MetricType::Gauge
        };
        let mut family = encoder.encode_descriptor(&name, help, None, kind)?;
        for m in members {
            let labels: Vec<(String, String)> = m
                .tags
                .iter()
                .map(|(k, v)| (k.replace('-', "_"), v.clone()))
                .collect();
            let metric = family.encode_family(&labels)?;
            if counter {
                ConstCounter::new(m.value).encode(metric)?;
            } else {
                ConstGauge::new(m.value).encode(metric)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_names_become_prometheus_families() {
        assert_eq!(
            family("producer-metrics", "record-send-total"),
            ("kafka_producer_record_send".to_owned(), true)
        );
        assert_eq!(
            family("producer-node-metrics", "request-latency-avg"),
            ("kafka_producer_node_request_latency_avg".to_owned(), false)
        );
        assert_eq!(
            family("producer-topic-metrics", "byte-rate"),
            ("kafka_producer_topic_byte_rate".to_owned(), false)
        );
    }
}
