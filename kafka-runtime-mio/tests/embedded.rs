//! The embedded driver against a real broker (tansu), next to a TCP
//! listener of the test's own on the same `mio::Poll` and thread: lines a
//! client writes are produced, then read back with confluent-kafka.

mod common;

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{assert_read_back, read_back, record};
use kafka_integration_tests::tools::Tool;
use kafka_integration_tests::{Tansu, require_tools};
use kafka_runtime_mio::{
    DeliveryFuture, DeliveryHandler, DriverBuilder, MioDriver, ProducerRecord, SendError,
};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

const LISTENER: Token = Token(0);
const CLIENT: Token = Token(1);

#[test]
fn one_thread_one_poll_serves_its_own_socket_and_produces_what_it_reads() {
    require_tools!(Tool::Tansu, Tool::Python);
    let broker = Tansu::start();
    let bootstrap = broker.bootstrap();
    let topic = "mio-embedded";
    const N: usize = 300;

    let mut poll = Poll::new().unwrap();
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    // A plain client: its lines wait in the socket until the loop reads them.
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    for i in 0..N {
        writeln!(client, "{i}").unwrap();
    }
    client.shutdown(std::net::Shutdown::Write).unwrap();

    let builder = DriverBuilder::new()
        .bootstrap_servers(&bootstrap)
        .client_id("mio-embedded-tests")
        .linger(Duration::from_millis(5));
    let mut driver = MioDriver::new(builder, poll.registry(), Token(100)..Token(132)).unwrap();

    let mut events = Events::with_capacity(64);
    let mut accepted = None;
    let mut partial = Vec::new();
    let mut backlog: VecDeque<ProducerRecord> = VecDeque::new();
    let mut sent: Vec<(ProducerRecord, DeliveryFuture)> = Vec::new();
    let mut refusals = 0;
    let mut closing = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !driver.is_finished() {
        assert!(Instant::now() < deadline, "the loop did not finish");
        poll.poll(&mut events, driver.next_timeout()).unwrap();
        for event in &events {
            if driver.handle_event(event) {
                continue;
            }
            match event.token() {
                LISTENER => {
                    let (mut socket, _) = listener.accept().unwrap();
                    poll.registry()
                        .register(&mut socket, CLIENT, Interest::READABLE)
                        .unwrap();
                    accepted = Some(socket);
                }
                CLIENT => {
                    let socket = accepted.as_mut().unwrap();
                    let mut buf = [0u8; 1024];
                    loop {
                        match socket.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => partial.extend_from_slice(&buf[..n]),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    while let Some(end) = partial.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = partial.drain(..=end).collect();
                        let i: usize = std::str::from_utf8(&line).unwrap().trim().parse().unwrap();
                        backlog.push_back(record(topic, i));
                    }
                }
                other => panic!("unexpected token {other:?}"),
            }
        }
        driver.handle_timeout(Instant::now());
        while let Some(r) = backlog.pop_front() {
            let start = Instant::now();
            let result = driver.send(r.clone());
            assert!(start.elapsed() < Duration::from_secs(1), "send waited");
            match result {
                Ok(future) => sent.push((r, future)),
                // Metadata not known yet: the lines stay, in order.
                Err(SendError::MetadataPending { .. }) => {
                    refusals += 1;
                    backlog.push_front(r);
                    break;
                }
                Err(e) => panic!("refused: {e}"),
            }
        }
        let done = sent
            .iter()
            .filter(|(_, f)| f.try_result().is_some())
            .count();
        if done == N && !closing {
            closing = true;
            driver.close(Duration::from_secs(5));
        }
    }
    assert!(refusals >= 1, "the first send found no metadata");
    assert!(driver.is_closed());
    let sent: Vec<_> = sent
        .into_iter()
        .map(|(r, f)| (r, f.try_result().unwrap().unwrap()))
        .collect();
    for (i, (r, meta)) in sent.iter().enumerate() {
        assert_eq!(meta.offset, i as i64, "{meta:?}");
        assert_eq!(r.timestamp, Some(meta.timestamp));
    }
    let got = read_back(&bootstrap, topic, N, &[]);
    assert_read_back(&sent, &got);
}

#[test]
fn a_full_buffer_is_refused_at_once_and_retried_records_land_in_order() {
    // Futures and a delivery handler (`send_with_handler`) side by side.
    require_tools!(Tool::Tansu, Tool::Python);
    let broker = Tansu::start();
    let bootstrap = broker.bootstrap();
    let topic = "mio-embedded-volume";
    const N: usize = 10_000;
    let mut poll = Poll::new().unwrap();
    let builder = DriverBuilder::new()
        .bootstrap_servers(&bootstrap)
        .buffer_memory(64 * 1024)
        .batch_size(16 * 1024);
    let mut driver = MioDriver::new(builder, poll.registry(), Token(0)..Token(8)).unwrap();
    let mut events = Events::with_capacity(64);
    let mut next = 0;
    let mut futures = Vec::new();
    let reported: Arc<Mutex<Vec<(u64, i64)>>> = Arc::default();
    let log = Arc::clone(&reported);
    let handler: DeliveryHandler = Arc::new(move |number, result| {
        log.lock().unwrap().push((number, result.unwrap().offset));
    });
    let mut buffer_full = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !driver.is_finished() {
        assert!(Instant::now() < deadline, "the loop did not finish");
        while next < N {
            let r = ProducerRecord::new(topic)
                .partition(0)
                .value(format!("{next:08} {}", "y".repeat(100)));
            // Odd records report to a shared handler, even ones by future.
            let sent = if next % 2 == 1 {
                driver
                    .send_with_handler(r, &handler, next as u64)
                    .map(|()| None)
            } else {
                driver.send(r).map(Some)
            };
            match sent {
                Ok(f) => {
                    futures.extend(f);
                    next += 1;
                }
                Err(SendError::BufferFull { .. }) => {
                    buffer_full += 1;
                    break;
                }
                Err(SendError::MetadataPending { .. }) => break,
                Err(e) => panic!("refused: {e}"),
            }
        }
        poll.poll(&mut events, driver.next_timeout()).unwrap();
        for event in &events {
            assert!(driver.handle_event(event));
        }
        driver.handle_timeout(Instant::now());
        if next == N && futures.last().is_some_and(|f| f.try_result().is_some()) {
            driver.close(Duration::from_secs(5));
        }
    }
    assert!(buffer_full > 0, "64 KiB cannot hold 1 MiB of records");
    let mut offsets: Vec<(u64, i64)> = futures
        .iter()
        .enumerate()
        .map(|(i, f)| (2 * i as u64, f.try_result().unwrap().unwrap().offset))
        .collect();
    offsets.extend(reported.lock().unwrap().iter().copied());
    offsets.sort_unstable();
    assert_eq!(
        offsets,
        (0..N as u64).map(|i| (i, i as i64)).collect::<Vec<_>>()
    );
    let got = read_back(&bootstrap, topic, N, &[]);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(
            &g.value.as_deref().unwrap()[..8],
            format!("{i:08}").as_bytes()
        );
    }
}
