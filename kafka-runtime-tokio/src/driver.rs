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

use bytes::{Bytes, BytesMut};
use kafka_producer_core::ConnId;
use kafka_runtime_common::shared::{ConnEntry, ExitGuard, NetEvent, Outputs, Shared};
use kafka_runtime_common::write_queue::{MAX_IOV, WriteQueue};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};
use tokio::task::AbortHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
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
    tx: mpsc::UnboundedSender<Bytes>,
    task: AbortHandle,
    connected: bool,
    peer: String,
}

/// Runs the producer until the core reports `Closed`.
pub(crate) async fn run(shared: Arc<Shared>, wake: Arc<Notify>, tls: Option<TlsConnector>) {
    let _exit = ExitGuard(shared.clone());
    let (net_tx, mut net_rx) = mpsc::channel(NET_EVENT_CAPACITY);
    let mut conns: HashMap<ConnId, ConnHandle> = HashMap::new();
    let mut inbox: Vec<NetEvent> = Vec::new();
    let mut deadline: Option<Instant> = None;
    let mut out = Outputs::default();
    loop {
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
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = net_rx.recv_many(&mut inbox, NET_EVENT_CAPACITY) => {}
            () = wake.notified() => {}
            () = sleep => {}
        }
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

/// Carries out what [`Outputs::collect`] drained, without the lock: user callbacks
/// run here, and may call back into the producer.
fn act(
    shared: &Shared,
    out: &mut Outputs,
    conns: &mut HashMap<ConnId, ConnHandle>,
    tls: Option<&TlsConnector>,
    net_tx: &mpsc::Sender<NetEvent>,
) {
    for c in out.connects.drain(..) {
        let peer = format!("{}:{}", c.host, c.port);
        tracing::debug!(conn = c.conn.0, %peer, node = ?c.node_id, "connecting");
        let (tx, rx) = mpsc::unbounded_channel();
        let span = tracing::debug_span!("kafka_connection", conn = c.conn.0, %peer);
        let task = connection(c.conn, c.host, c.port, tls.cloned(), rx, net_tx.clone());
        let task = tokio::spawn(task.instrument(span)).abort_handle();
        let handle = ConnHandle {
            tx,
            task,
            connected: false,
            peer,
        };
        conns.insert(c.conn, handle);
    }
    for t in out.transmits.drain(..) {
        // A send error means the task ended; its report is on its way.
        if let Some(c) = conns.get(&t.conn) {
            let _ = c.tx.send(t.data);
        }
    }
    for conn in out.closes.drain(..) {
        if let Some(c) = conns.remove(&conn) {
            tracing::debug!(conn = conn.0, peer = %c.peer, "closing connection");
            if c.connected {
                // Dropping `tx` lets the writer finish what is queued; a
                // peer that stopped reading must not keep the task forever.
                let task = c.task;
                tokio::spawn(async move {
                    tokio::time::sleep(CLOSE_GRACE).await;
                    task.abort();
                });
            } else {
                c.task.abort();
            }
        }
    }
    out.complete(shared);
}

/// One broker connection: connect, TLS, then read and write until either
/// side ends.
async fn connection(
    conn: ConnId,
    host: String,
    port: u16,
    tls: Option<TlsConnector>,
    rx: mpsc::UnboundedReceiver<Bytes>,
    events: mpsc::Sender<NetEvent>,
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
        return serve(conn, tcp, rx, events).await;
    };
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

async fn serve<S: AsyncRead + AsyncWrite + Send + Unpin>(
    conn: ConnId,
    stream: S,
    rx: mpsc::UnboundedReceiver<Bytes>,
    events: mpsc::Sender<NetEvent>,
) {
    if events.send(NetEvent::Connected(conn)).await.is_err() {
        return;
    }
    let (mut reader, writer) = tokio::io::split(stream);
    let read = async {
        let mut buf = BytesMut::new();
        loop {
            buf.reserve(READ_BUFFER);
            match reader.read_buf(&mut buf).await {
                Ok(0) => return "closed by the broker".to_owned(),
                Ok(_) => {
                    let data = buf.split().freeze();
                    if events.send(NetEvent::Received(conn, data)).await.is_err() {
                        return "the producer is gone".to_owned();
                    }
                }
                Err(e) => return e.to_string(),
            }
        }
    };
    tokio::select! {
        reason = read => {
            let _ = events.send(NetEvent::Disconnected(conn, reason)).await;
        }
        result = write_loop(writer, rx) => {
            if let Err(e) = result {
                let _ = events.send(NetEvent::Disconnected(conn, e.to_string())).await;
            }
        }
    }
}

/// Writes what arrives, in order, several frames per vectored write; when
/// the driver drops the sender (it closed the connection), writes what is
/// left and shuts the socket down.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
) -> io::Result<()> {
    let mut queue = WriteQueue::new();
    while let Some(data) = rx.recv().await {
        queue.push(data);
        while queue.buffers() < MAX_IOV {
            match rx.try_recv() {
                Ok(data) => queue.push(data),
                Err(_) => break,
            }
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
    writer.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn write_loop_writes_in_order_and_shuts_down_when_the_sender_goes() {
        let (client, mut server) = tokio::io::duplex(16);
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_loop(client, rx));
        for chunk in ["first ", "", "second ", "third"] {
            tx.send(Bytes::from(chunk)).unwrap();
        }
        drop(tx);
        let mut got = String::new();
        server.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "first second third");
        writer.await.unwrap().unwrap();
    }
}
