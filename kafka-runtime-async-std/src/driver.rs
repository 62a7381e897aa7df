//! The driver task and the connection tasks.
//!
//! The core is one value behind a `std::sync::Mutex` ([`Shared`]). Handles
//! lock it only to call `send`/`flush`/`close`/`prefetch_topic`; the driver
//! task is the only caller of the core's network, timer and `poll_*`
//! methods. Each broker connection is a task of its own that opens the
//! socket (and TLS), reports to the driver through one bounded channel, and
//! writes what the driver hands it through its own unbounded channel (the
//! driver must never wait on a slow socket).

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use async_io::Timer;
use async_net::TcpStream;
use bytes::Bytes;
use futures_lite::future;
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use futures_rustls::TlsConnector;
use futures_rustls::pki_types::ServerName;
use kafka_producer_core::ConnId;
use kafka_runtime_common::shared::{ConnEntry, ExitGuard, NetEvent, Outputs, Shared};
use kafka_runtime_common::write_queue::{MAX_IOV, WriteQueue};
use tracing::Instrument;

/// Network reports queued for the driver before readers wait: enough to
/// let several connections run ahead, small enough to push back on them.
const NET_EVENT_CAPACITY: usize = 256;
/// How much a connection reads at once.
const READ_BUFFER: usize = 64 * 1024;
/// How long a closed connection may take to write what was queued for it.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

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

/// Runs the producer until the core reports `Closed`.
pub(crate) async fn run(shared: Arc<Shared>, wake: Receiver<()>, tls: Option<TlsConnector>) {
    let _exit = ExitGuard(shared.clone());
    let (net_tx, net_rx) = async_channel::bounded(NET_EVENT_CAPACITY);
    let mut conns: HashMap<ConnId, ConnHandle> = HashMap::new();
    let mut inbox: Vec<NetEvent> = Vec::new();
    let mut deadline: Option<Instant> = None;
    let mut out = Outputs::default();
    loop {
        // This round sees every change made before the lock below, so the
        // wake-up for it is spent; one that comes later stays queued.
        let _ = wake.try_recv();
        let closed = {
            let mut guard = shared.lock();
            let st = &mut *guard;
            let now = Instant::now();
            for event in inbox.drain(..) {
                st.feed(&mut conns, event, now);
            }
            out.turn(st, &mut deadline, now)
        };
        act(&shared, &mut out, &mut conns, tls.as_ref(), &net_tx);
        if closed {
            return;
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
            deadline.map_or_else(Timer::never, Timer::at).await;
        };
        future::or(network, future::or(woken, timer)).await;
    }
}

impl ConnEntry for ConnHandle {
    fn peer(&self) -> &str {
        &self.peer
    }
    fn set_connected(&mut self) {
        self.connected = true;
    }
}

/// Carries out what [`Outputs::collect`] drained, without the lock: user
/// callbacks run here, and may call back into the producer.
fn act(
    shared: &Shared,
    out: &mut Outputs,
    conns: &mut HashMap<ConnId, ConnHandle>,
    tls: Option<&TlsConnector>,
    net_tx: &Sender<NetEvent>,
) {
    for c in out.connects.drain(..) {
        let peer = format!("{}:{}", c.host, c.port);
        tracing::debug!(conn = c.conn.0, %peer, node = ?c.node_id, "connecting");
        let (tx, rx) = async_channel::unbounded();
        let (stop, stopped) = async_channel::bounded(1);
        let span = tracing::debug_span!("kafka_connection", conn = c.conn.0, %peer);
        let work = connection(c.conn, c.host, c.port, tls.cloned(), rx, net_tx.clone());
        let task = future::or(work, until_stopped(stopped));
        drop(async_std::task::spawn(task.instrument(span)));
        let handle = ConnHandle {
            tx,
            stop,
            connected: false,
            peer,
        };
        conns.insert(c.conn, handle);
    }
    for t in out.transmits.drain(..) {
        // A send error means the task ended; its report is on its way.
        if let Some(c) = conns.get(&t.conn) {
            let _ = c.tx.try_send(t.data);
        }
    }
    for conn in out.closes.drain(..) {
        if let Some(c) = conns.remove(&conn) {
            tracing::debug!(conn = conn.0, peer = %c.peer, "closing connection");
            if c.connected {
                // The writer finishes what is queued once `tx` is gone; a
                // peer that stopped reading must not keep the task forever.
                let _ = c.stop.try_send(());
            }
        }
    }
    out.complete(shared);
}

/// Completes when the driver stops a connection: at once, or after
/// [`CLOSE_GRACE`] if it closed the connection gracefully.
async fn until_stopped(stopped: Receiver<()>) {
    if stopped.recv().await.is_ok() {
        Timer::after(CLOSE_GRACE).await;
    }
}

/// One broker connection: connect, TLS, then read and write until either
/// side ends.
async fn connection(
    conn: ConnId,
    host: String,
    port: u16,
    tls: Option<TlsConnector>,
    rx: Receiver<Bytes>,
    events: Sender<NetEvent>,
) {
    let tcp = match TcpStream::connect((host.as_str(), port)).await {
        Ok(tcp) => tcp,
        Err(e) => {
            let _ = events.send(NetEvent::ConnectFailed(conn, e)).await;
            return;
        }
    };
    // Requests are whole frames written at once; Nagle would only add latency.
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
    let Some(tls) = tls else {
        // A TCP stream's clones share the socket: no lock between halves.
        return serve(conn, tcp.clone(), tcp, rx, events).await;
    };
    let stream = match ServerName::try_from(host) {
        Ok(name) => tls.connect(name, tcp).await,
        Err(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, e)),
    };
    match stream {
        Ok(stream) => {
            let (reader, writer) = futures_lite::io::split(stream);
            serve(conn, reader, writer, rx, events).await;
        }
        Err(e) => {
            let _ = events.send(NetEvent::ConnectFailed(conn, e)).await;
        }
    }
}

async fn serve<R, W>(
    conn: ConnId,
    mut reader: R,
    writer: W,
    rx: Receiver<Bytes>,
    events: Sender<NetEvent>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    if events.send(NetEvent::Connected(conn)).await.is_err() {
        return;
    }
    let read = async {
        // futures-io reads into initialised memory: reuse one buffer and
        // copy out what arrived (responses are mostly small).
        let mut buf = vec![0; READ_BUFFER];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => return Some("closed by the broker".to_owned()),
                Ok(n) => {
                    let data = Bytes::copy_from_slice(&buf[..n]);
                    if events.send(NetEvent::Received(conn, data)).await.is_err() {
                        return None;
                    }
                }
                Err(e) => return Some(e.to_string()),
            }
        }
    };
    let write = async { write_loop(writer, rx).await.err().map(|e| e.to_string()) };
    if let Some(reason) = future::or(read, write).await {
        let _ = events.send(NetEvent::Disconnected(conn, reason)).await;
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

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// A socket that takes at most 3 bytes per write, and records whether
    /// it was closed.
    #[derive(Default)]
    struct Trickle {
        written: Vec<u8>,
        closed: bool,
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

    #[test]
    fn write_loop_writes_in_order_and_closes_when_the_sender_goes() {
        let (tx, rx) = async_channel::unbounded();
        for chunk in ["first ", "", "second ", "third"] {
            tx.try_send(Bytes::from(chunk)).unwrap();
        }
        drop(tx);
        let mut socket = Trickle::default();
        future::block_on(write_loop(&mut socket, rx)).unwrap();
        assert_eq!(socket.written, b"first second third");
        assert!(socket.closed);
    }

    #[test]
    fn a_stopped_connection_ends_at_once_unless_closed_gracefully() {
        let (stop, stopped) = async_channel::bounded(1);
        drop(stop);
        future::block_on(until_stopped(stopped));

        let (stop, stopped) = async_channel::bounded(1);
        stop.try_send(()).unwrap();
        drop(stop);
        let mut grace = std::pin::pin!(until_stopped(stopped));
        let soon = future::block_on(future::or(
            async {
                (&mut grace).await;
                true
            },
            async {
                Timer::after(Duration::from_millis(50)).await;
                false
            },
        ));
        assert!(!soon, "a graceful close waits for CLOSE_GRACE");
    }
}
