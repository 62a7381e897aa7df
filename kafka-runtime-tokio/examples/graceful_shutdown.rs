//! A long-running service that produces until Ctrl-C, then shuts down
//! cleanly: stop taking work, flush, close with a deadline, and account for
//! every record — delivered, failed for certain, or possibly written (the
//! ones a resend could duplicate).
//!
//! ```text
//! cargo run -p kafka-runtime-tokio --example graceful_shutdown -- localhost:9092 ticks
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kafka_runtime_tokio::{ProducerBuilder, ProducerRecord};

#[derive(Default)]
struct Tally {
    delivered: AtomicU64,
    not_written: AtomicU64,
    possibly_written: AtomicU64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bootstrap = args.next().unwrap_or_else(|| "localhost:9092".to_owned());
    let topic: Arc<str> = args.next().unwrap_or_else(|| "ticks".to_owned()).into();

    let producer = ProducerBuilder::new()
        .bootstrap_servers(&bootstrap)
        .delivery_timeout(Duration::from_secs(45))
        .build()?;
    let tally = Arc::new(Tally::default());

    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    let mut shutdown = std::pin::pin!(tokio::signal::ctrl_c());
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = ticker.tick() => {
                n += 1;
                let record = ProducerRecord::new(topic.clone()).value(format!("tick {n}"));
                let tally = tally.clone();
                producer
                    .send_with_callback(record, move |result| {
                        let counter = match result {
                            Ok(_) => &tally.delivered,
                            Err(e) if e.possibly_written => &tally.possibly_written,
                            Err(_) => &tally.not_written,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    })
                    .await?;
            }
        }
    }

    // Whatever is still buffered gets up to 10 s; after that it fails with
    // ProducerClosed, and `possibly_written` tells whether a request carrying
    // it was in flight.
    producer.close(Duration::from_secs(10)).await;
    println!(
        "sent {n}: delivered {}, not written {}, possibly written {}",
        tally.delivered.load(Ordering::Relaxed),
        tally.not_written.load(Ordering::Relaxed),
        tally.possibly_written.load(Ordering::Relaxed),
    );
    Ok(())
}
