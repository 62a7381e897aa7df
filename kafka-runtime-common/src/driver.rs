//! One driver for every async runtime: the driver task and the connection
//! tasks, written once against [`AsyncIo`], the little a runtime has to
//! supply (spawn a task, open a TCP connection, sleep until an instant).
//!
//! The core is one value behind a `std::sync::Mutex` ([`Shared`]). Handles
//! lock it only to call `send`/`flush`/`close`/`prefetch_topic`; the driver
//! task is the only caller of the core's network, timer and `poll_*`
//! methods. Each broker connection is a task of its own that opens the
//! socket (and TLS, through futures-rustls), reports to the driver through
//! one bounded channel, and writes what the driver hands it through its own
//! unbounded channel (the driver must never wait on a slow socket).
//! Channels and wake-ups are async-channel's, which work under any
//! executor; sockets are futures-io ones.
//!
//! A runtime crate implements [`AsyncIo`] and calls [`start`] from its
//! [`Runtime::start`](crate::Runtime::start):
//!
//! ```
//! use std::future::Future;
//! use std::time::Instant;
//! use kafka_runtime_common::driver::{self, AsyncIo, Task};
//! use kafka_runtime_common::{ConfigError, Parts, Producer, Runtime};
//!
//! /// Spawns on a thread per task and sleeps on async-io's timers: not a
//! /// good runtime, but a complete one.
//! struct Threads;
//!
//! impl AsyncIo for Threads {
//!     type Tcp = async_net::TcpStream;
//!     fn spawn(&self, task: Task) {
//!         std::thread::spawn(|| futures_lite::future::block_on(task));
//!     }
//!     fn connect(&self, host: String, port: u16)
//!         -> impl Future<Output = std::io::Result<Self::Tcp>> + Send + 'static {
//!         async move { async_net::TcpStream::connect((host.as_str(), port)).await }
//!     }
//!     fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + 'static {
//!         async move { async_io::Timer::at(deadline).await; }
//!     }
//! }
//!
//! enum OnThreads {}
//! impl Runtime for OnThreads {
//!     type Producer = Producer<OnThreads>;
//!     fn start(parts: Parts) -> Result<Producer<OnThreads>, ConfigError> {
//!         Ok(Producer::new(driver::start(Threads, parts)))
//!     }
//!     async fn timeout_at<F: Future + Send>(deadline: Instant, f: F) -> Option<F::Output> {
//!         let expired = async { async_io::Timer::at(deadline).await; None };
//!         futures_lite::future::or(async { Some(f.await) }, expired).await
//!     }
//! }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use bytes::{Bytes, BytesMut};
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
#[cfg(feature = "tls")]
use futures_rustls::TlsConnector;
#[cfg(feature = "tls")]
use futures_rustls::pki_types::ServerName;

/// Without the `tls` feature no connection is ever TLS.
#[cfg(not(feature = "tls"))]
type TlsConnector = crate::NoTls;
use kafka_producer_core::ConnId;
use kafka_producer_core::event::Connect;
use tracing::Instrument;

use crate::Parts;
use crate::shared::{ExitGuard, Outputs, Shared, State};
use crate::write_queue::{MAX_IOV, WriteQueue};

/// A task for [`AsyncIo::spawn`].
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What the driver needs from an async runtime: the whole of a runtime
/// crate's part, apart from its [`Runtime`](crate::Runtime) (quinn's
/// `Runtime` trait has the same shape).
pub trait AsyncIo: Send + Sync + 'static {
    /// A connected TCP stream of this runtime, as futures-io sees it.
    type Tcp: AsyncRead + AsyncWrite + Send + Unpin + 'static;

    /// Runs `task` in the background until it completes. The driver
    /// spawns itself and one task per broker connection with it; tasks end
    /// by themselves once the producer has closed.
    fn spawn(&self, task: Task);

    /// Sets the socket buffer sizes the producer asks for
    /// (`send.buffer.bytes`, `receive.buffer.bytes`; `None`: keep the
    /// system's) on a stream [`connect`](Self::connect) made. The default
    /// does nothing; the runtime crates set them with
    /// [`set_buffer_sizes`].
    fn set_buffer_sizes(
        &self,
        tcp: &Self::Tcp,
        send: Option<usize>,
        receive: Option<usize>,
    ) -> io::Result<()> {
        let _ = (tcp, send, receive);
        Ok(())
    }

    /// Opens a TCP connection to `host:port` (resolving the name without
    /// blocking the executor where the runtime can). The driver turns
    /// Nagle's algorithm off itself only if the runtime cannot: do it here.
    fn connect(
        &self,
        host: String,
        port: u16,
    ) -> impl Future<Output = io::Result<Self::Tcp>> + Send + 'static;

    /// Completes at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + 'static;
}

/// Network reports queued for the driver before readers wait: enough to
/// let several connections run ahead, small enough to push back on them.
const NET_EVENT_CAPACITY: usize = 256;
/// How much a connection reads at once.
const READ_BUFFER: usize = 64 * 1024;
/// A read buffer with less room than this left is replaced (see
/// `read_loop`).
const MIN_READ: usize = 4 * 1024;
/// How long a closed connection may take to write what was queued for it.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Starts the driver of `parts.core` on `io` and returns what the handles
/// share with it (wrap it in a [`Producer`](crate::Producer)).
pub fn start<I: AsyncIo>(io: I, parts: Parts) -> Arc<Shared> {
    // One permit: a wake-up that comes while the driver is busy stays
    // queued, and more of them add nothing.
    let (wake_tx, wake_rx) = async_channel::bounded(1);
    let shared = Arc::new(Shared::new(
        parts.core,
        Box::new(move || {
            let _ = wake_tx.try_send(());
        }),
        parts.interceptors,
    ));
    shared.lock().token_provider = parts.token_provider;
    let io = Arc::new(io);
    #[cfg(feature = "tls")]
    let tls = parts.tls.map(TlsConnector::from);
    #[cfg(not(feature = "tls"))]
    let tls = parts.tls;
    let driver = run(io.clone(), shared.clone(), wake_rx, tls).instrument(parts.span);
    io.spawn(Box::pin(driver));
    shared
}

/// What a connection task reports to the driver.
#[derive(Debug)]
enum NetEvent {
    /// TCP (and TLS) is up.
    Connected(ConnId),
    /// The connection could not be opened.
    ConnectFailed(ConnId, io::Error),
    /// Bytes read.
    Received(ConnId, Bytes),
    /// An open connection ended, and why.
    Disconnected(ConnId, String),
}

/// The driver's end of a connection task.
struct ConnHandle {
    /// Bytes to write; dropping it closes the connection once they are
    /// written.
    tx: Sender<Bytes>,
    /// Dropping it stops the task at once; a `()` sent before gives it
    /// [`CLOSE_GRACE`] first. Dropping the whole handle (a lost or failed
    /// connection, or the driver ending) therefore never leaves a task
    /// behind.
    stop: Sender<()>,
    connected: bool,
    peer: String,
}

/// The driver's own state between turns.
struct Driver<I> {
    io: Arc<I>,
    shared: Arc<Shared>,
    tls: Option<TlsConnector>,
    conns: HashMap<ConnId, ConnHandle>,
    net_tx: Sender<NetEvent>,
    out: Outputs,
    /// Batches compressed by the last `act`, for the next turn.
    sealed: Vec<kafka_producer_core::SealedBatch>,
}

/// Runs the producer until the core reports `Closed`.
async fn run<I: AsyncIo>(
    io: Arc<I>,
    shared: Arc<Shared>,
    wake: Receiver<()>,
    tls: Option<TlsConnector>,
) {
    let _exit = ExitGuard(shared.clone());
    let (net_tx, net_rx) = async_channel::bounded(NET_EVENT_CAPACITY);
    let mut driver = Driver {
        io,
        shared,
        tls,
        conns: HashMap::new(),
        net_tx,
        out: Outputs::default(),
        sealed: Vec::new(),
    };
    // Compression runs outside the lock every `send` takes: in the send that
    // closes a batch (`Shared::after_send`), else in `act`.
    driver.shared.lock().core.set_offload_sealing(true);
    let mut inbox: Vec<NetEvent> = Vec::new();
    let mut deadline: Option<Instant> = None;
    loop {
        // This turn sees every change made before the lock below, so the
        // wake-up for it is spent; one that comes later stays queued.
        let _ = wake.try_recv();
        let closed = {
            let mut guard = driver.shared.lock();
            let st = &mut *guard;
            let now = Instant::now();
            for event in inbox.drain(..) {
                feed(st, &mut driver.conns, event, now);
            }
            for sealed in driver.sealed.drain(..) {
                st.core.handle_sealed(sealed, now);
            }
            driver.out.turn(st, &mut deadline, now)
        };
        driver.act();
        if closed {
            return;
        }
        if !driver.sealed.is_empty() {
            // Sealed batches to hand back: another turn at once.
            continue;
        }
        // Neither channel can close: the driver holds a sender of the
        // first, `shared` the sender of the second.
        let network = async {
            if let Ok(event) = net_rx.recv().await {
                inbox.push(event);
                while inbox.len() < NET_EVENT_CAPACITY {
                    let Ok(event) = net_rx.try_recv() else { break };
                    inbox.push(event);
                }
            }
        };
        let woken = async {
            let _ = wake.recv().await;
        };
        let timer = async {
            match deadline {
                Some(d) => driver.io.sleep_until(d).await,
                None => future::pending().await,
            }
        };
        future::or(network, future::or(woken, timer)).await;
    }
}

/// Hands a network report to the core, unless the connection was already
/// released (the core never reuses ids, so late reports are only noise); a
/// failed or lost connection leaves `conns`.
fn feed(st: &mut State, conns: &mut HashMap<ConnId, ConnHandle>, event: NetEvent, now: Instant) {
    match event {
        NetEvent::Connected(conn) => {
            if let Some(c) = conns.get_mut(&conn) {
                c.connected = true;
                st.connected(conn, &c.peer, now);
            }
        }
        NetEvent::ConnectFailed(conn, error) => {
            if let Some(c) = conns.remove(&conn) {
                st.connect_failed(conn, &c.peer, &error, now);
            }
        }
        NetEvent::Received(conn, data) => {
            if conns.contains_key(&conn) {
                st.core.handle_received_bytes(conn, data, now);
            }
        }
        NetEvent::Disconnected(conn, reason) => {
            if let Some(c) = conns.remove(&conn) {
                st.disconnected(conn, &c.peer, &reason, now);
            }
        }
    }
}

impl<I: AsyncIo> Driver<I> {
    /// Carries out what the turn drained, without the lock: user callbacks
    /// run here, and may call back into the producer.
    fn act(&mut self) {
        // Compress and seal what the core handed out (the lock is free for
        // senders meanwhile); the next turn hands the batches back.
        self.sealed.extend(
            self.out
                .seal_jobs
                .drain(..)
                .map(kafka_producer_core::SealJob::run),
        );
        for c in self.out.connects.drain(..) {
            let peer = format!("{}:{}", c.host, c.port);
            tracing::debug!(conn = c.conn.0, %peer, node = ?c.node_id, "connecting");
            let (tx, rx) = async_channel::unbounded();
            let (stop, stopped) = async_channel::bounded(1);
            let span = tracing::debug_span!("kafka_connection", conn = c.conn.0, %peer);
            let conn = c.conn;
            let work = connection(
                self.io.clone(),
                c,
                self.tls.clone(),
                rx,
                self.net_tx.clone(),
            );
            let task = future::or(work, until_stopped(self.io.clone(), stopped));
            self.io.spawn(Box::pin(task.instrument(span)));
            let handle = ConnHandle {
                tx,
                stop,
                connected: false,
                peer,
            };
            self.conns.insert(conn, handle);
        }
        for t in self.out.transmits.drain(..) {
            // A send error means the task ended; its report is on its way.
            if let Some(c) = self.conns.get(&t.conn) {
                let _ = c.tx.try_send(t.data);
            }
        }
        for conn in self.out.closes.drain(..) {
            if let Some(c) = self.conns.remove(&conn) {
                tracing::debug!(conn = conn.0, peer = %c.peer, "closing connection");
                if c.connected {
                    // The writer finishes what is queued once `tx` is gone;
                    // a peer that stopped reading must not keep the task
                    // forever.
                    let _ = c.stop.try_send(());
                }
            }
        }
        if let Some(provider) = self.out.take_async_token_request() {
            let shared = self.shared.clone();
            self.io.spawn(Box::pin(async move {
                let result = provider.token().await;
                crate::token::apply(result, &mut shared.lock().core);
                shared.wake_driver();
            }));
        }
        self.out.complete(&self.shared);
    }
}

/// Completes when the driver stops a connection: at once, or after
/// [`CLOSE_GRACE`] if it closed the connection gracefully.
async fn until_stopped<I: AsyncIo>(io: Arc<I>, stopped: Receiver<()>) {
    if stopped.recv().await.is_ok() {
        io.sleep_until(Instant::now() + CLOSE_GRACE).await;
    }
}

/// One broker connection: connect, TLS, then read and write until either
/// side ends.
async fn connection<I: AsyncIo>(
    io: Arc<I>,
    connect: Connect,
    tls: Option<TlsConnector>,
    rx: Receiver<Bytes>,
    events: Sender<NetEvent>,
) {
    let Connect {
        conn,
        host,
        port,
        send_buffer_bytes: send_buffer,
        receive_buffer_bytes: receive_buffer,
        ..
    } = connect;
    let tcp = match io.connect(host.clone(), port).await {
        Ok(tcp) => tcp,
        Err(e) => {
            let _ = events.send(NetEvent::ConnectFailed(conn, e)).await;
            return;
        }
    };
    if let Err(e) = io.set_buffer_sizes(&tcp, send_buffer, receive_buffer) {
        tracing::warn!(error = %e, "cannot set the socket buffer sizes");
    }
    let Some(tls) = tls else {
        return serve(conn, tcp, rx, events).await;
    };
    #[cfg(not(feature = "tls"))]
    match tls {}
    #[cfg(feature = "tls")]
    {
        let stream = match ServerName::try_from(host) {
            Ok(name) => tls.connect(name, tcp).await,
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, e)),
        };
        match stream {
            Ok(stream) => serve(conn, stream, rx, events).await,
            Err(e) => {
                let _ = events.send(NetEvent::ConnectFailed(conn, e)).await;
            }
        }
    }
}

async fn serve<S>(conn: ConnId, stream: S, rx: Receiver<Bytes>, events: Sender<NetEvent>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin,
{
    if events.send(NetEvent::Connected(conn)).await.is_err() {
        return;
    }
    // The halves share the stream behind an uncontended lock, taken only
    // for each poll.
    let (reader, writer) = split(stream);
    let read = read_loop(conn, reader, &events);
    let write = async { write_loop(writer, rx).await.err().map(|e| e.to_string()) };
    if let Some(reason) = future::or(read, write).await {
        let _ = events.send(NetEvent::Disconnected(conn, reason)).await;
    }
}

/// The reading and the writing half of one stream, each a [`Half`].
///
/// Not `futures_lite::io::split`: its write half has no
/// `poll_write_vectored`, so each vectored write would write only its first
/// buffer (one `send` per frame piece, each its own TCP segment).
fn split<S>(stream: S) -> (Half<S>, Half<S>) {
    let shared = Arc::new(std::sync::Mutex::new(stream));
    (Half(Arc::clone(&shared)), Half(shared))
}

/// A stream shared by its reader and its writer, locked for each poll only.
struct Half<S>(Arc<std::sync::Mutex<S>>);

impl<S> Half<S> {
    fn lock(&self) -> std::sync::MutexGuard<'_, S> {
        // A poll that panicked leaves the stream as usable as any error.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Half<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<io::Result<usize>> {
        Pin::new(&mut *self.lock()).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Half<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        Pin::new(&mut *self.lock()).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> std::task::Poll<io::Result<usize>> {
        Pin::new(&mut *self.lock()).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut *self.lock()).poll_flush(cx)
    }

    fn poll_close(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut *self.lock()).poll_close(cx)
    }
}

/// Reads and hands what arrived to the driver until the connection ends;
/// returns why (`None`: the driver is gone).
async fn read_loop<R: AsyncRead + Unpin>(
    conn: ConnId,
    mut reader: R,
    events: &Sender<NetEvent>,
) -> Option<String> {
    // futures-io reads into initialised memory: zero a large buffer once and
    // hand out what each read filled as its own `Bytes` (no copy), until
    // too little of it is left.
    let mut buf = BytesMut::new();
    loop {
        if buf.len() < MIN_READ {
            buf.clear();
            buf.resize(READ_BUFFER, 0);
        }
        match reader.read(&mut buf).await {
            Ok(0) => return Some("closed by the broker".to_owned()),
            Ok(n) => {
                let data = buf.split_to(n).freeze();
                if events.send(NetEvent::Received(conn, data)).await.is_err() {
                    return None;
                }
            }
            Err(e) => return Some(e.to_string()),
        }
    }
}

/// Writes what arrives, in order, several frames per vectored write; when
/// the driver drops the sender (it closed the connection), writes what is
/// left and closes the socket.
async fn write_loop<W: AsyncWrite + Unpin>(mut writer: W, rx: Receiver<Bytes>) -> io::Result<()> {
    let mut queue = WriteQueue::new();
    while let Ok(data) = rx.recv().await {
        queue.push(data);
        while queue.buffers() < MAX_IOV {
            let Ok(data) = rx.try_recv() else { break };
            queue.push(data);
        }
        while !queue.is_empty() {
            let written = {
                let (iov, n) = queue.io_slices();
                writer.write_vectored(&iov[..n]).await?
            };
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            queue.advance(written);
        }
        writer.flush().await?;
    }
    writer.close().await
}

/// Sets `SO_SNDBUF` and `SO_RCVBUF` on a socket (`send.buffer.bytes`,
/// `receive.buffer.bytes`); `None` leaves the system's size.
pub fn set_buffer_sizes(
    socket: socket2::SockRef<'_>,
    send: Option<usize>,
    receive: Option<usize>,
) -> io::Result<()> {
    if let Some(n) = send {
        socket.set_send_buffer_size(n)?;
    }
    if let Some(n) = receive {
        socket.set_recv_buffer_size(n)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::task::{Context, Poll};

    use super::*;

    /// A socket that takes at most 3 bytes per write and reads out a fixed
    /// script, recording whether it was closed.
    #[derive(Default)]
    struct Trickle {
        written: Vec<u8>,
        closed: bool,
        to_read: Vec<Vec<u8>>,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(3);
            self.written.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.closed = true;
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            if self.to_read.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let chunk = self.to_read.remove(0);
            buf[..chunk.len()].copy_from_slice(&chunk);
            Poll::Ready(Ok(chunk.len()))
        }
    }

    /// A write queue holding `chunks`, its sender gone.
    fn queued(chunks: &[&'static str]) -> async_channel::Receiver<Bytes> {
        let (tx, rx) = async_channel::unbounded();
        for chunk in chunks {
            tx.try_send(Bytes::from(*chunk)).unwrap();
        }
        rx
    }

    #[test]
    fn write_loop_writes_in_order_and_closes_when_the_sender_goes() {
        let rx = queued(&["first ", "", "second ", "third"]);
        let mut socket = Trickle::default();
        future::block_on(write_loop(&mut socket, rx)).unwrap();
        assert_eq!(socket.written, b"first second third");
        assert!(socket.closed);
    }

    /// Takes every buffer of a vectored write, recording how many each
    /// write call was given.
    #[derive(Default)]
    struct Gather {
        written: Vec<u8>,
        calls: Vec<usize>,
    }

    impl AsyncWrite for Gather {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.calls.push(1);
            self.written.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.calls.push(bufs.len());
            let before = self.written.len();
            for b in bufs {
                self.written.extend_from_slice(b);
            }
            Poll::Ready(Ok(self.written.len() - before))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncRead for Gather {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(0))
        }
    }

    /// The frames queued together leave in one vectored write through the
    /// split stream (one `writev`, not a `send` per frame piece).
    #[test]
    fn the_write_half_keeps_writes_vectored() {
        let rx = queued(&["header ", "batch one ", "framing ", "batch two"]);
        let (reader, writer) = split(Gather::default());
        future::block_on(write_loop(writer, rx)).unwrap();
        let socket = reader.lock();
        assert_eq!(socket.written, b"header batch one framing batch two");
        assert_eq!(socket.calls, [4]);
    }

    #[test]
    fn read_loop_hands_over_each_read_and_reports_the_end() {
        // Enough reads to use up the first buffer and take a second one.
        let reads: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 2000]).collect();
        let socket = Trickle {
            to_read: reads.clone(),
            ..Trickle::default()
        };
        let (tx, rx) = async_channel::unbounded();
        let reason = future::block_on(read_loop(ConnId(7), socket, &tx));
        assert_eq!(reason.as_deref(), Some("closed by the broker"));
        let got: Vec<Vec<u8>> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| match e {
                NetEvent::Received(ConnId(7), data) => data.to_vec(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(got, reads);
    }

    /// Records the sleeps asked for, and completes them at once.
    #[derive(Default)]
    struct Clock {
        slept: std::sync::Mutex<Vec<Instant>>,
    }

    impl AsyncIo for Clock {
        type Tcp = Trickle;
        fn spawn(&self, _: Task) {}
        fn connect(
            &self,
            _: String,
            _: u16,
        ) -> impl Future<Output = io::Result<Trickle>> + Send + 'static {
            future::ready(Err(io::ErrorKind::ConnectionRefused.into()))
        }
        fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + 'static {
            self.slept.lock().unwrap().push(deadline);
            future::ready(())
        }
    }

    #[test]
    fn a_stopped_connection_ends_at_once_unless_closed_gracefully() {
        let io = Arc::new(Clock::default());
        let (stop, stopped) = async_channel::bounded(1);
        drop(stop);
        future::block_on(until_stopped(io.clone(), stopped));
        assert!(io.slept.lock().unwrap().is_empty());

        let (stop, stopped) = async_channel::bounded(1);
        stop.try_send(()).unwrap();
        drop(stop);
        let before = Instant::now();
        future::block_on(until_stopped(io.clone(), stopped));
        let slept = io.slept.lock().unwrap();
        assert_eq!(slept.len(), 1);
        assert!(
            slept[0] >= before + CLOSE_GRACE,
            "a graceful close waits CLOSE_GRACE"
        );
    }

    #[test]
    fn a_refused_connection_is_reported_as_such() {
        let (tx, rx) = async_channel::unbounded();
        let (_writes, writes) = async_channel::unbounded();
        future::block_on(connection(
            Arc::new(Clock::default()),
            Connect {
                conn: ConnId(3),
                host: "127.0.0.1".to_owned(),
                port: 1,
                node_id: None,
                send_buffer_bytes: None,
                receive_buffer_bytes: None,
            },
            None,
            writes,
            tx,
        ));
        match rx.try_recv() {
            Ok(NetEvent::ConnectFailed(ConnId(3), e)) => {
                assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
