//! The event loop both faces share: [`EventLoop`] owns the broker sockets
//! (TCP, and TLS through a `rustls::ClientConnection`), registered with a
//! `mio::Registry` under tokens from a range, and feeds the core what they
//! report.
//!
//! Its caller owns the `mio::Poll`: the blocking producer's thread, or the
//! user's own loop through [`MioDriver`](crate::MioDriver). Either calls
//! [`EventLoop::handle_event`] for each readiness event of its tokens (the
//! socket I/O, without the core's lock), then [`EventLoop::handle_timeout`]
//! after each poll (one turn with the lock when something is due), and polls
//! with [`EventLoop::next_timeout`].
//!
//! Sockets are registered once for both readiness kinds and served
//! edge-triggered: reads run until `WouldBlock`, and writes are tried as
//! soon as there are bytes, waiting for the next `WRITABLE` only after a
//! `WouldBlock`.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kafka_producer_core::{ConnId, Connect};
use kafka_runtime_common::TlsConfig;
use kafka_runtime_common::shared::{Outputs, Shared, State};
use kafka_runtime_common::write_queue::WriteQueue;
use mio::event::Event;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
#[cfg(feature = "tls")]
use rustls::ClientConnection;
#[cfg(feature = "tls")]
use rustls::pki_types::ServerName;

/// Without the `tls` feature no connection is ever TLS: a type with no
/// values, whose methods cannot be called.
#[cfg(not(feature = "tls"))]
enum ClientConnection {}

#[cfg(not(feature = "tls"))]
impl ClientConnection {
    fn send_close_notify(&mut self) {
        match *self {}
    }
    fn is_handshaking(&self) -> bool {
        match *self {}
    }
    fn wants_write(&self) -> bool {
        match *self {}
    }
}

/// How much one `read` takes at most.
const READ_BUFFER: usize = 64 * 1024;
/// How long a closed connection may take to write what was queued for it.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// What the sockets reported, handed to the core at the next turn (the
/// reads happen without the lock).
enum NetEvent {
    Connected(ConnId, Arc<str>),
    ConnectFailed(ConnId, Arc<str>, String),
    Received(ConnId, Vec<u8>),
    Disconnected(ConnId, Arc<str>, String),
}

/// Where a connection is in its life.
enum Phase {
    /// The TCP connect is in progress; `rest` are the host's other
    /// addresses, tried in turn if this one fails.
    Connecting { rest: VecDeque<SocketAddr> },
    /// TCP is up, the TLS handshake is not done yet.
    Handshaking,
    /// The core knows the connection is up.
    Open,
    /// The core closed it: writing what was queued, then dropping it.
    Closing { deadline: Instant },
}

/// One broker connection.
struct Conn {
    id: ConnId,
    token: Token,
    /// `host:port` as the core named it.
    peer: Arc<str>,
    /// `send.buffer.bytes` and `receive.buffer.bytes`, set once TCP is up.
    buffers: (Option<usize>, Option<usize>),
    socket: TcpStream,
    tls: Option<Box<ClientConnection>>,
    phase: Phase,
    /// Request bytes not written yet (plaintext, before TLS).
    queue: WriteQueue,
    span: tracing::Span,
}

/// Where the loop finds the producer's state: behind the handles' lock
/// (the blocking producer), or owned by the loop (the embedded driver,
/// which has no other handle and needs no lock).
pub(crate) trait CoreCell {
    /// Runs `f` on the state, under the lock if there is one.
    fn with<T>(&mut self, f: impl FnOnce(&mut State) -> T) -> T;
    /// Completes what a turn drained, without the lock (callbacks run
    /// here), waking handles that wait for a change.
    fn complete(&mut self, out: &mut Outputs);
    /// The loop is gone: nothing may wait for it any more.
    fn exited(&mut self);
}

impl CoreCell for Arc<Shared> {
    fn with<T>(&mut self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.lock())
    }
    fn complete(&mut self, out: &mut Outputs) {
        out.complete(self);
    }
    fn exited(&mut self) {
        self.driver_exited();
    }
}

impl CoreCell for State {
    fn with<T>(&mut self, f: impl FnOnce(&mut State) -> T) -> T {
        f(self)
    }
    fn complete(&mut self, out: &mut Outputs) {
        // No handle waits on an owned state: nothing to wake.
        let _ = out.complete_deliveries();
        if let Some(provider) = out.take_token_request() {
            let result = provider.token();
            kafka_runtime_common::token::apply(result, &mut self.core);
        }
    }
    fn exited(&mut self) {
        self.end();
    }
}

/// The connections and timers of one producer, driven by its caller's
/// `mio::Poll`.
pub(crate) struct EventLoop<C: CoreCell> {
    /// The producer's state.
    pub(crate) core: C,
    /// Set by the handles' wake-up (and by the driver for itself): a turn
    /// is due.
    pending: Arc<AtomicBool>,
    registry: Registry,
    tokens: Range<usize>,
    /// Offset in `tokens` of the next token to try.
    next_token: usize,
    by_token: HashMap<Token, ConnId>,
    conns: HashMap<ConnId, Conn>,
    tls: Option<TlsConfig>,
    inbox: Vec<NetEvent>,
    out: Outputs,
    /// The core's next timer.
    deadline: Option<Instant>,
    /// The core reported `Closed`: only closing connections are left to
    /// serve.
    core_closed: bool,
    read_buf: Box<[u8]>,
    span: tracing::Span,
}

impl<C: CoreCell> EventLoop<C> {
    /// A loop for `core`, registering sockets with `registry` under
    /// `tokens` (a non-empty range). `pending` is the flag the handles'
    /// wake-up sets.
    pub(crate) fn new(
        core: C,
        pending: Arc<AtomicBool>,
        registry: Registry,
        tokens: Range<Token>,
        tls: Option<TlsConfig>,
        span: tracing::Span,
    ) -> EventLoop<C> {
        debug_assert!(tokens.start < tokens.end);
        // The core may have work from the start (bootstrap): first turn at once.
        pending.store(true, Ordering::Release);
        EventLoop {
            core,
            pending,
            registry,
            tokens: tokens.start.0..tokens.end.0,
            next_token: 0,
            by_token: HashMap::new(),
            conns: HashMap::new(),
            tls,
            inbox: Vec::new(),
            out: Outputs::default(),
            deadline: None,
            core_closed: false,
            read_buf: vec![0; READ_BUFFER].into_boxed_slice(),
            span,
        }
    }

    /// Whether `token` is in this loop's range.
    pub(crate) fn owns(&self, token: Token) -> bool {
        self.tokens.contains(&token.0)
    }

    /// The core has closed and no connection is left: the loop has nothing
    /// more to do.
    pub(crate) fn is_finished(&self) -> bool {
        self.core_closed && self.conns.is_empty()
    }

    /// How long the caller may block in `Poll::poll`: zero when a turn is
    /// due, `None` when only a readiness event can bring work.
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        if self.pending.load(Ordering::Acquire) || !self.inbox.is_empty() {
            return Some(Duration::ZERO);
        }
        let closing = self.conns.values().filter_map(|c| match c.phase {
            Phase::Closing { deadline } => Some(deadline),
            _ => None,
        });
        let core = if self.core_closed {
            None
        } else {
            self.deadline
        };
        core.into_iter()
            .chain(closing)
            .min()
            .map(|d| d.saturating_duration_since(now))
    }

    /// Serves a readiness event of one of this loop's tokens: connect
    /// completion, reads (handed to the core at the next turn) and writes.
    /// Events of tokens it does not know (a connection already dropped) are
    /// ignored.
    pub(crate) fn handle_event(&mut self, event: &Event) {
        let Some(&id) = self.by_token.get(&event.token()) else {
            return;
        };
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let span = self.span.clone();
        let _producer = span.enter();
        let conn_span = conn.span.clone();
        let _conn = conn_span.enter();
        let result = conn.on_ready(event, &self.registry, &mut self.read_buf, &mut self.inbox);
        match result {
            Ok(()) if conn.closing_done() => self.drop_conn(id, None),
            Ok(()) => {}
            Err(reason) => self.drop_conn(id, Some(reason)),
        }
    }

    /// Runs a turn if one is due (a wake-up, reports from the sockets, the
    /// core's timer) and drops closed connections whose grace has run out.
    /// Cheap when nothing is due: call it after every poll.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        let span = self.span.clone();
        let _producer = span.enter();
        let expired: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| matches!(c.phase, Phase::Closing { deadline } if deadline <= now))
            .map(|c| c.id)
            .collect();
        for id in expired {
            tracing::debug!(
                conn = id.0,
                "closed connection still had bytes to write; dropped"
            );
            self.drop_conn(id, None);
        }
        if self.core_closed {
            self.pending.store(false, Ordering::Release);
            self.inbox.clear();
            return;
        }
        let due = self.pending.load(Ordering::Acquire)
            || !self.inbox.is_empty()
            || self.deadline.is_some_and(|d| d <= now);
        if due {
            self.turn(now);
        }
    }

    /// Lock, hand reports and the timer to the core, drain its outputs,
    /// unlock; then act on them.
    fn turn(&mut self, now: Instant) {
        // Cleared before locking: a wake-up during the turn schedules another.
        self.pending.store(false, Ordering::Release);
        let (inbox, out, deadline) = (&mut self.inbox, &mut self.out, &mut self.deadline);
        let closed = self.core.with(|st| {
            for event in inbox.drain(..) {
                feed(st, event, now);
            }
            out.turn(st, deadline, now)
        });
        self.act(now);
        if closed {
            self.core_closed = true;
            self.inbox.clear();
            let unclosed: Vec<ConnId> = self
                .conns
                .values()
                .filter(|c| !matches!(c.phase, Phase::Closing { .. }))
                .map(|c| c.id)
                .collect();
            for id in unclosed {
                self.drop_conn(id, None);
            }
        }
    }

    /// Opens, writes and closes what the turn drained, then completes
    /// deliveries (user callbacks run here, without the lock).
    fn act(&mut self, now: Instant) {
        let mut connects = std::mem::take(&mut self.out.connects);
        for c in connects.drain(..) {
            self.open(c);
        }
        self.out.connects = connects;
        for t in self.out.transmits.drain(..) {
            // None: the connection failed; its report is in the inbox.
            if let Some(conn) = self.conns.get_mut(&t.conn) {
                if !t.data.is_empty() {
                    conn.queue.push(t.data);
                }
            }
        }
        let mut closes = std::mem::take(&mut self.out.closes);
        for id in closes.drain(..) {
            self.start_closing(id, now);
        }
        self.out.closes = closes;
        // Closes first, so that a write failing on a connection the core
        // has already let go of is not reported back to it.
        let mut dead = Vec::new();
        for conn in self.conns.values_mut() {
            if !matches!(conn.phase, Phase::Open | Phase::Closing { .. }) {
                continue;
            }
            let span = conn.span.clone();
            let _conn = span.enter();
            match conn.write() {
                Ok(()) if conn.closing_done() => dead.push((conn.id, None)),
                Ok(()) => {}
                Err(reason) => dead.push((conn.id, Some(reason))),
            }
        }
        for (id, reason) in dead {
            self.drop_conn(id, reason);
        }
        self.core.complete(&mut self.out);
    }

    /// Starts a connection; a failure is reported at the next turn.
    ///
    /// The broker's host name is resolved here with `ToSocketAddrs`, which
    /// blocks this loop for as long as the system resolver takes (nothing
    /// for an IP address or a name in `/etc/hosts`): mio has no
    /// asynchronous resolver, and connections are opened rarely.
    fn open(&mut self, c: Connect) {
        let peer: Arc<str> = format!("{}:{}", c.host, c.port).into();
        tracing::debug!(conn = c.conn.0, %peer, node = ?c.node_id, "connecting");
        let span = tracing::debug_span!("kafka_connection", conn = c.conn.0, %peer);
        match self.connect(&c, peer.clone(), span) {
            Ok(conn) => {
                self.by_token.insert(conn.token, c.conn);
                self.conns.insert(c.conn, conn);
            }
            Err(error) => self
                .inbox
                .push(NetEvent::ConnectFailed(c.conn, peer, error)),
        }
    }

    /// Prepares TLS, resolves the host and starts the TCP connect.
    fn connect(
        &mut self,
        c: &Connect,
        peer: Arc<str>,
        span: tracing::Span,
    ) -> Result<Conn, String> {
        let entered = span.enter();
        let tls = match &self.tls {
            #[cfg(not(feature = "tls"))]
            Some(config) => match *config {},
            #[cfg(feature = "tls")]
            Some(config) => {
                let name = ServerName::try_from(c.host.clone())
                    .map_err(|e| format!("invalid TLS server name {:?}: {e}", c.host))?;
                let tls = ClientConnection::new(config.clone(), name).map_err(|e| e.to_string())?;
                Some(Box::new(tls))
            }
            None => None,
        };
        let mut rest: VecDeque<SocketAddr> = (c.host.as_str(), c.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", c.host))?
            .collect();
        let token = self
            .free_token()
            .ok_or("every token of the driver's range is in use")?;
        let socket = connect_next(&mut rest, &self.registry, token)?;
        drop(entered);
        Ok(Conn {
            id: c.conn,
            token,
            peer,
            buffers: (c.send_buffer_bytes, c.receive_buffer_bytes),
            socket,
            tls,
            phase: Phase::Connecting { rest },
            queue: WriteQueue::new(),
            span,
        })
    }

    /// A token of the range no connection uses, taken in turn so that a
    /// late event for a dropped connection rarely meets a new one.
    fn free_token(&mut self) -> Option<Token> {
        let len = self.tokens.end - self.tokens.start;
        // At most `by_token.len()` are taken: one more candidate is free.
        for _ in 0..len.min(self.by_token.len() + 1) {
            let token = Token(self.tokens.start + self.next_token);
            self.next_token = (self.next_token + 1) % len;
            if !self.by_token.contains_key(&token) {
                return Some(token);
            }
        }
        None
    }

    /// The core let go of `id`: write what is queued (with TLS, after a
    /// close_notify), then drop it; a connection not up yet goes at once.
    fn start_closing(&mut self, id: ConnId, now: Instant) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        tracing::debug!(conn = id.0, peer = %conn.peer, "closing connection");
        if matches!(conn.phase, Phase::Open) {
            if let Some(tls) = &mut conn.tls {
                tls.send_close_notify();
            }
            conn.phase = Phase::Closing {
                deadline: now + CLOSE_GRACE,
            };
        } else if !matches!(conn.phase, Phase::Closing { .. }) {
            self.drop_conn(id, None);
        }
    }

    /// Forgets a connection; with a `reason`, reports its failure or loss
    /// to the core at the next turn (unless the core closed it itself).
    fn drop_conn(&mut self, id: ConnId, reason: Option<String>) {
        let Some(mut conn) = self.conns.remove(&id) else {
            return;
        };
        self.by_token.remove(&conn.token);
        let _ = self.registry.deregister(&mut conn.socket);
        if matches!(conn.phase, Phase::Closing { .. }) {
            let _ = conn.socket.shutdown(Shutdown::Both);
            return;
        }
        let Some(reason) = reason else {
            return;
        };
        let report = match conn.phase {
            Phase::Connecting { .. } | Phase::Handshaking => {
                NetEvent::ConnectFailed(id, conn.peer, reason)
            }
            _ => NetEvent::Disconnected(id, conn.peer, reason),
        };
        self.inbox.push(report);
    }
}

impl<C: CoreCell> Drop for EventLoop<C> {
    /// However the loop ends (closed, its thread panicking in a callback,
    /// the embedding driver dropped), no send, flush or delivery waits for
    /// it forever.
    fn drop(&mut self) {
        for conn in self.conns.values_mut() {
            let _ = self.registry.deregister(&mut conn.socket);
        }
        self.core.exited();
    }
}

/// Hands a socket report to the core (which ignores reports about
/// connections it has already let go of).
fn feed(st: &mut State, event: NetEvent, now: Instant) {
    match event {
        NetEvent::Connected(conn, peer) => st.connected(conn, &peer, now),
        NetEvent::ConnectFailed(conn, peer, error) => st.connect_failed(conn, &peer, &error, now),
        NetEvent::Received(conn, data) => {
            st.core
                .handle_received_bytes(conn, bytes::Bytes::from(data), now)
        }
        NetEvent::Disconnected(conn, peer, reason) => st.disconnected(conn, &peer, &reason, now),
    }
}

/// Starts a non-blocking connect to the first address of `addrs` that
/// accepts one, registered under `token`.
fn connect_next(
    addrs: &mut VecDeque<SocketAddr>,
    registry: &Registry,
    token: Token,
) -> Result<TcpStream, String> {
    let mut last = String::from("the host name resolved to no address");
    while let Some(addr) = addrs.pop_front() {
        let started = TcpStream::connect(addr).and_then(|mut socket| {
            registry.register(&mut socket, token, Interest::READABLE | Interest::WRITABLE)?;
            Ok(socket)
        });
        match started {
            Ok(socket) => return Ok(socket),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

/// Whether a non-blocking connect has completed (`Err` if it failed).
fn tcp_connected(socket: &TcpStream) -> io::Result<bool> {
    if let Some(e) = socket.take_error()? {
        return Err(e);
    }
    match socket.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

impl Conn {
    /// Serves one readiness event. `Err` is why the connection is dead.
    fn on_ready(
        &mut self,
        event: &Event,
        registry: &Registry,
        buf: &mut [u8],
        inbox: &mut Vec<NetEvent>,
    ) -> Result<(), String> {
        if let Phase::Connecting { rest } = &mut self.phase {
            match tcp_connected(&self.socket) {
                Ok(false) => return Ok(()),
                Ok(true) => self.tcp_up(inbox),
                Err(e) if rest.is_empty() => return Err(e.to_string()),
                Err(e) => {
                    tracing::debug!(error = %e, "connect failed; trying the next address");
                    let _ = registry.deregister(&mut self.socket);
                    self.socket = connect_next(rest, registry, self.token)?;
                    return Ok(());
                }
            }
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.read(buf, inbox)?;
        }
        self.write()?;
        self.check_handshake(inbox);
        Ok(())
    }

    /// TCP is up: on to TLS, or report the connection up.
    fn tcp_up(&mut self, inbox: &mut Vec<NetEvent>) {
        // Requests are whole frames written at once; Nagle would only add latency.
        if let Err(e) = self.socket.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let (send, receive) = self.buffers;
        if let Err(e) = kafka_runtime_common::driver::set_buffer_sizes(
            socket2::SockRef::from(&self.socket),
            send,
            receive,
        ) {
            tracing::warn!(error = %e, "cannot set the socket buffer sizes");
        }
        if self.tls.is_some() {
            self.phase = Phase::Handshaking;
        } else {
            self.phase = Phase::Open;
            inbox.push(NetEvent::Connected(self.id, self.peer.clone()));
        }
    }

    fn check_handshake(&mut self, inbox: &mut Vec<NetEvent>) {
        if matches!(self.phase, Phase::Handshaking)
            && self.tls.as_ref().is_some_and(|tls| !tls.is_handshaking())
        {
            tracing::debug!("TLS handshake done");
            self.phase = Phase::Open;
            inbox.push(NetEvent::Connected(self.id, self.peer.clone()));
        }
    }

    /// Reads until `WouldBlock`; what arrived on an open connection goes to
    /// the core even when the broker then closed it.
    fn read(&mut self, buf: &mut [u8], inbox: &mut Vec<NetEvent>) -> Result<(), String> {
        let mut data = Vec::new();
        let result = match &mut self.tls {
            None => read_plain(&mut self.socket, buf, &mut data),
            Some(tls) => read_tls(tls, &mut self.socket, buf, &mut data),
        };
        // Before the data: the core must hear that the connection is up first.
        self.check_handshake(inbox);
        if !data.is_empty() && matches!(self.phase, Phase::Open) {
            inbox.push(NetEvent::Received(self.id, data));
        }
        result
    }

    /// Writes what is queued until done or `WouldBlock`.
    fn write(&mut self) -> Result<(), String> {
        if matches!(self.phase, Phase::Connecting { .. }) {
            return Ok(());
        }
        match &mut self.tls {
            None => write_plain(&mut self.socket, &mut self.queue),
            Some(tls) => write_tls(tls, &mut self.socket, &mut self.queue),
        }
        .map_err(|e| e.to_string())
    }

    /// A closed connection that has written everything.
    fn closing_done(&self) -> bool {
        matches!(self.phase, Phase::Closing { .. })
            && self.queue.is_empty()
            && !self.tls.as_ref().is_some_and(|tls| tls.wants_write())
    }
}

const CLOSED_BY_BROKER: &str = "closed by the broker";

fn read_plain(socket: &mut TcpStream, buf: &mut [u8], data: &mut Vec<u8>) -> Result<(), String> {
    loop {
        match socket.read(buf) {
            Ok(0) => return Err(CLOSED_BY_BROKER.to_owned()),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[cfg(not(feature = "tls"))]
fn read_tls(
    tls: &mut ClientConnection,
    _: &mut TcpStream,
    _: &mut [u8],
    _: &mut Vec<u8>,
) -> Result<(), String> {
    match *tls {}
}

#[cfg(not(feature = "tls"))]
fn write_tls(tls: &mut ClientConnection, _: &mut TcpStream, _: &mut WriteQueue) -> io::Result<()> {
    match *tls {}
}

#[cfg(feature = "tls")]
fn read_tls(
    tls: &mut ClientConnection,
    socket: &mut TcpStream,
    buf: &mut [u8],
    data: &mut Vec<u8>,
) -> Result<(), String> {
    loop {
        match tls.read_tls(socket) {
            Ok(0) => {
                // Whatever was decrypted before the end still counts.
                let _ = read_plaintext(tls, buf, data);
                return Err(CLOSED_BY_BROKER.to_owned());
            }
            Ok(_) => {
                if let Err(e) = tls.process_new_packets() {
                    // Best effort: tell the broker why (the alert rustls queued).
                    let _ = tls.write_tls(socket);
                    return Err(e.to_string());
                }
                read_plaintext(tls, buf, data)?;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Takes the plaintext rustls has decrypted so far.
#[cfg(feature = "tls")]
fn read_plaintext(
    tls: &mut ClientConnection,
    buf: &mut [u8],
    data: &mut Vec<u8>,
) -> Result<(), String> {
    loop {
        match tls.reader().read(buf) {
            Ok(0) => return Err(format!("{CLOSED_BY_BROKER} (TLS close_notify)")),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn write_plain(socket: &mut TcpStream, queue: &mut WriteQueue) -> io::Result<()> {
    while !queue.is_empty() {
        let written = {
            let (iov, n) = queue.io_slices();
            match socket.write_vectored(&iov[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => written,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        queue.advance(written);
    }
    Ok(())
}

/// Moves queued plaintext through rustls (which buffers a bounded amount)
/// to the socket, until done or `WouldBlock`; during the handshake only the
/// handshake's own bytes go.
#[cfg(feature = "tls")]
fn write_tls(
    tls: &mut ClientConnection,
    socket: &mut TcpStream,
    queue: &mut WriteQueue,
) -> io::Result<()> {
    loop {
        while tls.wants_write() {
            match tls.write_tls(socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if queue.is_empty() || tls.is_handshaking() {
            return Ok(());
        }
        let taken = {
            let (iov, n) = queue.io_slices();
            tls.writer().write_vectored(&iov[..n])?
        };
        if taken == 0 {
            // rustls's buffer is full and has nothing to write: not expected,
            // but never spin on it.
            return Ok(());
        }
        queue.advance(taken);
    }
}
