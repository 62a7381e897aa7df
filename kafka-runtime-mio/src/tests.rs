//! Unit tests without a broker: the runtime's waits, refusals, closing and
//! the driver thread's life.

use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::*;

/// An address nothing listens on (bound, then released).
fn unreachable() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn send_sync<T: Send + Sync>(_: &T) {}

#[test]
fn waits_block_until_done_or_deadline_and_never_on_the_driver_thread() {
    let soon = Instant::now() + Duration::from_millis(20);
    assert_eq!(blocking_wait(soon, std::future::ready(7)), Some(7));
    let start = Instant::now();
    assert_eq!(blocking_wait(soon, std::future::pending::<()>()), None);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(poll_once(std::future::pending::<()>()), None);
    assert_eq!(poll_once(std::future::ready(1)), Some(1));
}

fn blocking_wait<F: Future + Send>(deadline: Instant, f: F) -> Option<F::Output> {
    use kafka_runtime_common::Runtime;
    kafka_runtime_common::block_on(Mio::timeout_at(deadline, f))
}

#[test]
fn max_block_zero_fails_at_once_without_a_broker_and_close_ends_the_thread() {
    let p = ProducerBuilder::new()
        .bootstrap_servers(&unreachable())
        .max_block(Duration::ZERO)
        .build()
        .unwrap();
    send_sync(&p);
    let e = p.send(ProducerRecord::new("t").value("v")).unwrap_err();
    assert!(matches!(e, SendError::TopicUnavailable { .. }), "{e}");
    let e = p.partitions_for("t").unwrap_err();
    assert!(matches!(e, SendError::TopicUnavailable { .. }), "{e}");
    let name = p
        .thread
        .handle
        .lock()
        .unwrap()
        .as_ref()
        .map(|h| h.thread().name().map(str::to_owned));
    assert_eq!(name, Some(Some(blocking::THREAD_NAME.to_owned())));
    let start = Instant::now();
    p.close(Duration::from_secs(5));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(p.is_closed());
    let thread = p.thread.handle.lock().unwrap();
    assert!(thread.is_none(), "close joined the driver thread");
    drop(thread);
    assert_eq!(
        p.send(ProducerRecord::new("t")).unwrap_err(),
        SendError::Closed
    );
    p.close(Duration::from_secs(1));
}

#[test]
fn a_blocked_send_returns_when_the_producer_closes_even_with_java_long_max_block() {
    let p = ProducerBuilder::new()
        .bootstrap_servers(&unreachable())
        .set("max.block.ms", &i64::MAX.to_string())
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let sender = p.clone();
    let thread = std::thread::spawn(move || {
        tx.send(sender.send(ProducerRecord::new("t").value("v")).map(|_| ()))
            .unwrap();
    });
    // Still waiting for metadata: the deadline did not overflow to "now".
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(200)),
        Err(mpsc::RecvTimeoutError::Timeout)
    );
    p.close(Duration::from_secs(1));
    let result = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("send returned");
    assert_eq!(result.unwrap_err(), SendError::Closed);
    thread.join().unwrap();
}

#[test]
fn on_the_driver_thread_a_wait_gives_up_at_once_instead_of_stalling_the_loop() {
    let far = Instant::now() + Duration::from_secs(3600);
    let start = Instant::now();
    let got = std::thread::spawn(move || {
        blocking::ON_DRIVER.set(true);
        blocking_wait(far, std::future::pending::<()>())
    })
    .join()
    .unwrap();
    assert_eq!(got, None);
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn handles_and_drivers_move_between_threads() {
    fn send<T: Send>() {}
    send::<MioDriver>();
    send::<BlockingProducer>();
    send::<DeliveryFuture>();
}

#[test]
fn the_embedded_driver_rejects_an_empty_token_range() {
    let poll = Poll::new().unwrap();
    let builder = DriverBuilder::new().bootstrap_servers("127.0.0.1:9092");
    let e = MioDriver::new(builder, poll.registry(), Token(5)..Token(5)).unwrap_err();
    assert!(e.to_string().contains("token range"), "{e}");
}

#[test]
fn the_embedded_driver_never_waits_and_reports_connection_failures() {
    let mut poll = Poll::new().unwrap();
    let bootstrap = unreachable();
    let builder = DriverBuilder::new()
        .bootstrap_servers(&bootstrap)
        .max_block(Duration::from_secs(60));
    let mut driver = MioDriver::new(builder, poll.registry(), Token(10)..Token(12)).unwrap();
    assert!(driver.owns(Token(11)) && !driver.owns(Token(12)));
    // The first turn is due at once.
    assert_eq!(driver.next_timeout(), Some(Duration::ZERO));
    // A send never waits: the metadata is asked for, the record refused.
    let e = driver
        .send(ProducerRecord::new("t").value("v"))
        .unwrap_err();
    assert!(matches!(e, SendError::MetadataPending { .. }), "{e}");
    let mut events = Events::with_capacity(16);
    let deadline = Instant::now() + Duration::from_secs(20);
    let connection_error = loop {
        assert!(Instant::now() < deadline, "no connection failure reported");
        // max.block.ms is a minute, yet each refusal comes at once.
        let start = Instant::now();
        let e = driver.partitions_for("t").unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(1));
        match e {
            SendError::TopicUnavailable {
                connection_error: Some(c),
                ..
            } => break c,
            SendError::TopicUnavailable { .. } => {}
            other => panic!("unexpected refusal {other}"),
        }
        poll.poll(&mut events, driver.next_timeout()).unwrap();
        for event in &events {
            assert!(driver.handle_event(event), "only the driver's tokens");
        }
        driver.handle_timeout(Instant::now());
    };
    assert!(connection_error.contains(&bootstrap), "{connection_error}");
    assert!(driver.partitions_for("t").is_err());
    driver.close(Duration::from_secs(1));
    while !driver.is_finished() {
        assert!(Instant::now() < deadline, "the driver did not finish");
        poll.poll(&mut events, driver.next_timeout()).unwrap();
        for event in &events {
            driver.handle_event(event);
        }
        driver.handle_timeout(Instant::now());
    }
    assert!(driver.is_closed());
    assert_eq!(
        driver.send(ProducerRecord::new("t")).unwrap_err(),
        SendError::Closed
    );
}
