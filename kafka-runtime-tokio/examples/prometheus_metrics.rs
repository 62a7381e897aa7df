//! The producer's metrics for Prometheus: a producer sends a record a
//! second while `GET /metrics` on `127.0.0.1:9464` answers with its Java
//! metrics in the Prometheus text format (`kafka_producer_*`), taken fresh
//! on each scrape through a `prometheus_client` registry.
//!
//! ```text
//! cargo run -p kafka-runtime-tokio --features prometheus --example prometheus_metrics -- localhost:9092 events
//! curl -s localhost:9464/metrics | grep record_send
//! ```
//!
//! A real service would serve the registry with its HTTP framework (axum,
//! hyper, ...); the few lines of HTTP here keep the example free of one.

use std::sync::Arc;
use std::time::Duration;

use kafka_runtime_tokio::prometheus::MetricsCollector;
use kafka_runtime_tokio::{ProducerBuilder, ProducerRecord};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bootstrap = args.next().unwrap_or_else(|| "localhost:9092".to_owned());
    let topic = args.next().unwrap_or_else(|| "events".to_owned());
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:9464".to_owned());

    let producer = ProducerBuilder::new()
        .bootstrap_servers(&bootstrap)
        .client_id("prometheus-example")
        .build()?;

    // The collector takes a snapshot of the producer on each scrape.
    let mut registry = Registry::default();
    let handle = producer.clone();
    registry.register_collector(Box::new(MetricsCollector::new(move || handle.metrics())));
    let registry = Arc::new(registry);

    let server = TcpListener::bind(&listen).await?;
    println!("serving http://{listen}/metrics");
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = server.accept().await else {
                continue;
            };
            let registry = registry.clone();
            tokio::spawn(async move {
                // Any request gets the metrics; read (and ignore) its head.
                let mut request = [0u8; 1024];
                let _ = socket.read(&mut request).await;
                let mut body = String::new();
                if prometheus_client::encoding::text::encode(&mut body, &registry).is_err() {
                    return;
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; \
                     version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
            });
        }
    });

    let mut tick = tokio::time::interval(Duration::from_secs(1));
    for i in 0u64.. {
        tick.tick().await;
        let record = ProducerRecord::new(topic.as_str()).value(format!("tick {i}"));
        match producer.send(record).await {
            Ok(delivery) => {
                tokio::spawn(async move {
                    if let Err(e) = delivery.await {
                        eprintln!("tick {i}: {e}");
                    }
                });
            }
            Err(e) => eprintln!("tick {i}: {e}"),
        }
    }
    Ok(())
}
