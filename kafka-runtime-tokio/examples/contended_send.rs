//! How long `send` takes while several threads send at once: the cost of
//! the one lock that handles and the driver share (the driver seals,
//! compresses and encodes requests while it holds it).
//!
//! Threads outside the runtime send with `send_with_callback_blocking`;
//! the buffer is sized so that no send waits for memory, so a send's time
//! is its append plus any wait for the lock. A probe thread takes the lock
//! alone (`is_closed`) every 100 µs meanwhile: its waits are the lock's
//! hold times (the driver's turns, other sends) as a caller meets them.
//! Prints records/s and both distributions.
//!
//! ```text
//! cargo run --release -p kafka-runtime-tokio --example contended_send -- \
//!     BOOTSTRAP TOPIC [THREADS=4] [RECORDS_PER_THREAD=50000] [COMPRESSION=none]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kafka_runtime_tokio::{ProducerBuilder, ProducerRecord};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_owned());
    let (Some(bootstrap), Some(topic)) = (args.first().cloned(), args.get(1).cloned()) else {
        return Err(
            "usage: contended_send BOOTSTRAP TOPIC [THREADS] [RECORDS_PER_THREAD] [COMPRESSION]"
                .into(),
        );
    };
    let threads: usize = arg(2, "4").parse()?;
    let per_thread: usize = arg(3, "50000").parse()?;
    let compression = arg(4, "none");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let _entered = runtime.enter();
    let producer = ProducerBuilder::new()
        .bootstrap_servers(&bootstrap)
        .set("compression.type", &compression)
        .set("linger.ms", "5")
        // Room for every record: no send waits for memory.
        .set("buffer.memory", &(1usize << 30).to_string())
        .build()?;
    // Metadata first, so that no thread waits for it.
    producer.partitions_for_blocking(&topic)?;

    let failed = Arc::new(AtomicUsize::new(0));
    let sending_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let (producer, done) = (producer.clone(), sending_done.clone());
        std::thread::spawn(move || {
            let mut waits = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let before = Instant::now();
                let _ = producer.is_closed();
                waits.push(before.elapsed());
                std::thread::sleep(Duration::from_micros(100));
            }
            waits
        })
    };
    let start = Instant::now();
    let senders: Vec<_> = (0..threads)
        .map(|t| {
            let (producer, topic, failed) = (producer.clone(), topic.clone(), failed.clone());
            std::thread::spawn(move || {
                // Random-looking but compressible values, as real payloads.
                let value: Vec<u8> = (0..100u32)
                    .map(|i| b'a' + ((i * 7 + t as u32) % 26) as u8)
                    .collect();
                let mut took = Vec::with_capacity(per_thread);
                for i in 0..per_thread {
                    let record = ProducerRecord::new(topic.as_str())
                        .key(format!("{t}-{i}"))
                        .value(value.clone());
                    let failed = failed.clone();
                    let before = Instant::now();
                    let sent = producer.send_with_callback_blocking(record, move |r| {
                        if r.is_err() {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                    took.push(before.elapsed());
                    sent.expect("send");
                }
                took
            })
        })
        .collect();
    let mut took: Vec<Duration> = Vec::with_capacity(threads * per_thread);
    for sender in senders {
        took.extend(sender.join().expect("sender thread"));
    }
    let sending = start.elapsed();
    producer.flush_blocking();
    let total = start.elapsed();
    sending_done.store(true, Ordering::Relaxed);
    let mut waits = probe.join().expect("probe thread");
    producer.close_blocking(Duration::from_secs(30));

    took.sort_unstable();
    waits.sort_unstable();
    let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    let wait_at = |q: f64| {
        waits
            .get(((waits.len().max(1) - 1) as f64 * q) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    let records = threads * per_thread;
    let mean = took.iter().map(Duration::as_secs_f64).sum::<f64>() / records as f64 * 1e6;
    println!(
        "compression={compression} threads={threads} records={records} failed={} \
         sends {:.0}/s, delivered {:.0}/s; send µs: mean {mean:.2} p50 {:.2} p99 {:.1} \
         p99.9 {:.1} max {:.0}; lock probe µs ({} waits): p99 {:.1} p99.9 {:.1} max {:.0}",
        failed.load(Ordering::Relaxed),
        records as f64 / sending.as_secs_f64(),
        records as f64 / total.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0),
        waits.len(),
        wait_at(0.99),
        wait_at(0.999),
        wait_at(1.0),
    );
    Ok(())
}
