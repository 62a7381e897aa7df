//! A tiny line-echo TCP server and a Kafka producer sharing one thread and
//! one `mio::Poll`: every line a client sends is echoed back to it and also
//! produced to Kafka (keyed by the client's address), without any thread or
//! blocking call besides `Poll::poll`.
//!
//! ```text
//! cargo run -p kafka-runtime-mio --example embedded -- localhost:9092 lines 127.0.0.1:7007
//! printf 'hello\nworld\n' | nc -q1 127.0.0.1 7007
//! ```
//!
//! Arguments: bootstrap servers, topic, listen address, and optionally a
//! number of lines after whose delivery the program closes the producer
//! and exits (it runs until killed otherwise).

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kafka_runtime_mio::{DeliveryResult, DriverBuilder, MioDriver, ProducerRecord, SendError};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

/// How long to wait before retrying a refused line.
const RETRY_DELAY: Duration = Duration::from_millis(10);
/// Our own tokens: the listener, then one per client below `KAFKA_FIRST`.
const LISTENER: Token = Token(0);
const KAFKA_FIRST: usize = 1_000_000;
/// The producer's tokens: a handful of broker connections at a time.
const KAFKA_TOKENS: std::ops::Range<Token> = Token(KAFKA_FIRST)..Token(KAFKA_FIRST + 64);

/// A connected client: bytes of an unfinished line, and echo bytes not
/// written yet.
struct Client {
    socket: TcpStream,
    peer: SocketAddr,
    partial: Vec<u8>,
    echo: Vec<u8>,
}

impl Client {
    /// Reads what arrived, echoes it, and returns the complete lines and
    /// whether the client is still there (its last lines count anyway).
    fn read_lines(&mut self) -> (Vec<Vec<u8>>, bool) {
        let mut buf = [0u8; 4096];
        let mut open = true;
        loop {
            match self.socket.read(&mut buf) {
                Ok(0) => {
                    open = false;
                    break;
                }
                Ok(n) => self.partial.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    open = false;
                    break;
                }
            }
        }
        let mut lines = Vec::new();
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.echo.extend_from_slice(&line);
            lines.push(line[..line.len() - 1].to_vec());
        }
        let alive = self.write_echo() && open;
        (lines, alive)
    }

    /// Writes pending echo bytes until done or `WouldBlock`; `false` if the
    /// socket failed.
    fn write_echo(&mut self) -> bool {
        while !self.echo.is_empty() {
            match self.socket.write(&self.echo) {
                Ok(n) => {
                    self.echo.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }
}

/// Sends the backlog in order until the producer refuses a line for now;
/// that line is retried after [`RETRY_DELAY`].
fn produce(
    driver: &mut MioDriver,
    backlog: &mut VecDeque<ProducerRecord>,
    retry_at: &mut Option<Instant>,
    reports: &mpsc::Sender<DeliveryResult>,
) {
    while let Some(record) = backlog.pop_front() {
        let report = reports.clone();
        let retry = record.clone();
        match driver.send_with_callback(record, move |result| {
            let _ = report.send(result);
        }) {
            Ok(()) => {}
            // Where a blocking producer would wait: keep the line, retry later.
            Err(SendError::MetadataPending { .. } | SendError::BufferFull { .. }) => {
                backlog.push_front(retry);
                *retry_at = Some(Instant::now() + RETRY_DELAY);
                return;
            }
            Err(e) => eprintln!("line not produced: {e}"),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bootstrap = args.next().unwrap_or_else(|| "localhost:9092".to_owned());
    let topic = args.next().unwrap_or_else(|| "lines".to_owned());
    let listen: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:7007").parse()?;
    let stop_after: Option<usize> = args.next().map(|n| n.parse()).transpose()?;

    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(listen)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let builder = DriverBuilder::new()
        .bootstrap_servers(&bootstrap)
        .linger(Duration::from_millis(5));
    let mut driver = MioDriver::new(builder, poll.registry(), KAFKA_TOKENS)?;
    println!(
        "echoing on {}, producing to {topic} at {bootstrap}",
        listener.local_addr()?
    );

    let mut clients: HashMap<Token, Client> = HashMap::new();
    let mut next_client = 1;
    // Lines the producer refused for now (metadata on its way, buffer
    // full), in order: retried after each turn.
    let mut backlog: VecDeque<ProducerRecord> = VecDeque::new();
    // Every refused send wakes the driver: retrying at once would spin
    // while a topic's metadata is on its way.
    let mut retry_at: Option<Instant> = None;
    // Callbacks must be `Send + 'static`: they report through a channel
    // that this same loop drains.
    let (reports, delivered) = mpsc::channel::<DeliveryResult>();
    let (mut ok, mut failed) = (0usize, 0usize);
    let mut closing = false;
    let mut events = Events::with_capacity(256);

    while !driver.is_finished() {
        let retry_in = retry_at.map(|at| at.saturating_duration_since(Instant::now()));
        let timeout = match (driver.next_timeout(), retry_in) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e.into());
        }
        for event in &events {
            if driver.handle_event(event) {
                continue;
            }
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut socket, peer)) => {
                            let token = Token(next_client);
                            next_client = next_client % (KAFKA_FIRST - 1) + 1;
                            poll.registry().register(
                                &mut socket,
                                token,
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            clients.insert(
                                token,
                                Client {
                                    socket,
                                    peer,
                                    partial: Vec::new(),
                                    echo: Vec::new(),
                                },
                            );
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e.into()),
                    }
                }
                continue;
            }
            let Some(client) = clients.get_mut(&event.token()) else {
                continue;
            };
            let (lines, alive) = if event.is_readable() || event.is_read_closed() {
                client.read_lines()
            } else {
                (Vec::new(), client.write_echo())
            };
            let peer = client.peer.to_string();
            for line in lines {
                if !closing {
                    backlog.push_back(
                        ProducerRecord::new(topic.as_str())
                            .key(peer.clone())
                            .value(line),
                    );
                }
            }
            if !alive {
                if let Some(mut client) = clients.remove(&event.token()) {
                    poll.registry().deregister(&mut client.socket)?;
                }
            }
        }
        driver.handle_timeout(Instant::now());

        if retry_at.is_none_or(|at| at <= Instant::now()) {
            retry_at = None;
            produce(&mut driver, &mut backlog, &mut retry_at, &reports);
        }
        for result in delivered.try_iter() {
            match result {
                Ok(meta) => {
                    ok += 1;
                    println!(
                        "produced to {}-{} at offset {}",
                        meta.topic, meta.partition, meta.offset
                    );
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("not delivered: {e}");
                }
            }
        }
        if !closing && stop_after.is_some_and(|n| ok + failed >= n) {
            closing = true;
            driver.close(Duration::from_secs(10));
        }
    }
    println!("{ok} lines produced, {failed} failed");
    Ok(())
}
