//! The bare core driven by one thread with std sockets: the complete drive
//! loop, no runtime crate.
//!
//! ```text
//! cargo run -p kafka-producer-core --example std_loop -- localhost:9092 events 10000
//! ```
#![allow(clippy::disallowed_methods)] // an application: it owns the clock

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kafka_producer_core::{ConnId, Event, Producer, ProducerConfig, Record, SendError};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (bootstrap, topic) = (
        args.get(1).map_or("localhost:9092", |s| s),
        args.get(2).map_or("events", |s| s),
    );
    let count: u64 = args.get(3).map_or(Ok(10_000), |n| n.parse())?;
    let mut config = ProducerConfig::default();
    config.set("bootstrap.servers", bootstrap)?;
    let wall_clock_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
    let mut producer = Producer::new(config, Instant::now(), wall_clock_ms, 7)?;
    // Per connection: the socket and the bytes not written yet.
    let mut sockets: HashMap<ConnId, (TcpStream, Vec<u8>)> = HashMap::new();
    let (mut sent, mut delivered, mut failed, mut closing) = (0, 0, 0, false);
    let mut buf = vec![0; 64 * 1024];
    loop {
        let now = Instant::now();
        // 1. Inputs: records while the producer takes them, then what the network did.
        while sent < count {
            let value = format!("record {sent}");
            let record = Record {
                topic,
                value: Some(value.as_bytes()),
                ..Default::default()
            };
            match producer.send(&record, now) {
                Ok(_) => sent += 1,
                Err(SendError::MetadataPending { .. } | SendError::BufferFull { .. }) => break,
                Err(e) => return Err(e.into()),
            }
        }
        let mut lost = Vec::new();
        for (&conn, (socket, _)) in &mut sockets {
            loop {
                match socket.read(&mut buf) {
                    Ok(0) => break lost.push(conn),
                    Ok(n) => producer.handle_received(conn, &buf[..n], now),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => break lost.push(conn),
                }
            }
        }
        for conn in lost.drain(..) {
            sockets.remove(&conn);
            producer.handle_disconnected(conn, now);
        }
        producer.handle_timeout(now); // harmless when nothing is due
        if !closing && delivered + failed == count {
            producer.close(now, Some(Duration::from_secs(10)));
            closing = true;
        }
        // 2. Outputs, in this order.
        while let Some(c) = producer.poll_connect() {
            // A blocking connect keeps this short; an event loop connects without blocking.
            match TcpStream::connect((c.host.as_str(), c.port))
                .and_then(|s| s.set_nonblocking(true).map(|()| s))
            {
                Ok(socket) => {
                    sockets.insert(c.conn, (socket, Vec::new()));
                    producer.handle_connected(c.conn, now);
                }
                Err(_) => producer.handle_connect_failed(c.conn, now),
            }
        }
        while let Some(t) = producer.poll_transmit(now) {
            if let Some((_, unwritten)) = sockets.get_mut(&t.conn) {
                unwritten.extend_from_slice(&t.data);
            }
        }
        for (&conn, (socket, unwritten)) in &mut sockets {
            match socket.write(unwritten) {
                Ok(n) => drop(unwritten.drain(..n)),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => lost.push(conn),
            }
        }
        for conn in lost {
            sockets.remove(&conn);
            producer.handle_disconnected(conn, now);
        }
        while let Some(conn) = producer.poll_close() {
            sockets.remove(&conn);
        }
        while let Some(event) = producer.poll_event() {
            match event {
                Event::Delivered { record_count, .. } => delivered += u64::from(record_count),
                Event::Failed {
                    record_count,
                    error,
                    ..
                } => {
                    eprintln!("{record_count} records failed: {error}");
                    failed += u64::from(record_count);
                }
                Event::TopicUnavailable { topic, .. } => {
                    return Err(format!("{topic} unavailable").into());
                }
                Event::Closed => {
                    println!("{delivered} records delivered, {failed} failed");
                    return Ok(());
                }
                _ => {}
            }
        }
        // 3. Wait for the next deadline; a real loop waits in poll/epoll for
        // readiness too, instead of napping at most a millisecond.
        let wake = producer
            .poll_timeout()
            .unwrap_or(now + Duration::from_secs(1));
        std::thread::sleep(
            wake.saturating_duration_since(Instant::now())
                .min(Duration::from_millis(1)),
        );
    }
}
