//! A TCP proxy on loopback in front of one Kafka broker that injects faults into Produce
//! exchanges: [`FaultProxy`].
//!
//! The proxy reads whole frames in both directions (4-byte length, then the request or
//! response header), so it knows which request each response answers (by correlation id) and
//! can hit exactly the N-th Produce request: cut the connection halfway through the request
//! (the broker never sees it whole), swallow the request (a gap in the sequences), swallow the
//! response after the broker appended, cut the
//! response halfway, or hold the response past the client's `request.timeout.ms`. Everything
//! else passes through unchanged.
//!
//! For a client to go through it, the broker must advertise the proxy's port (a 1-node cluster
//! with `advertised.listeners=PLAINTEXT://127.0.0.1:<proxy port>`): bind the proxy first,
//! start the broker, then [`FaultProxy::set_upstream`].

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

/// Produce's API key.
const PRODUCE: i16 = 0;

/// What the proxy does to a Produce exchange it hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forwards the first half of the request, then closes both connections: the broker never
    /// gets the whole request, so nothing of it is written.
    CutMidRequest,
    /// Forwards the request, swallows the broker's response (written: the append happened),
    /// then closes both connections.
    DropResponseAfterAppend,
    /// Forwards the first half of the response, then closes both connections.
    HalfResponse,
    /// Swallows the request: not forwarded, never answered, the connection kept open (the
    /// client's `request.timeout.ms` ends it). Later requests on the connection go through, so
    /// the broker sees a gap in the producer's sequences.
    SwallowRequest,
    /// Holds the response this long (longer than the client's `request.timeout.ms`) before
    /// forwarding it, if the client is still there.
    HoldResponse(Duration),
}

#[derive(Default)]
struct Shared {
    upstream: Mutex<Option<SocketAddr>>,
    /// The fault, its period, and the Produce count when it was set.
    fault: Mutex<Option<(Fault, u64, u64)>>,
    produce_requests: AtomicU64,
    faults_injected: AtomicU64,
    stopped: AtomicBool,
    connections: Mutex<Vec<TcpStream>>,
}

impl Shared {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fault-injecting TCP proxy on `127.0.0.1`. See the [module documentation](self).
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("port", &self.port)
            .field("fault", &*Shared::lock(&self.shared.fault))
            .finish()
    }
}

impl FaultProxy {
    /// Binds a free loopback port and starts accepting. Connections are refused (closed) until
    /// [`set_upstream`](Self::set_upstream).
    pub fn bind() -> io::Result<FaultProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        thread::Builder::new()
            .name(format!("fault-proxy-{port}"))
            .spawn(move || accept(&listener, &accepting))?;
        Ok(FaultProxy { port, shared })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker every new connection is forwarded to.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *Shared::lock(&self.shared.upstream) = Some(upstream);
    }

    /// Applies `fault` to every `every`-th Produce request from now on (counted over all
    /// connections).
    pub fn inject(&self, fault: Fault, every: u64) {
        assert!(every >= 1, "every must be at least 1");
        let start = self.shared.produce_requests.load(Ordering::Relaxed);
        *Shared::lock(&self.shared.fault) = Some((fault, every, start));
    }

    /// Applies `fault` to the next Produce request only.
    pub fn inject_once(&self, fault: Fault) {
        let start = self.shared.produce_requests.load(Ordering::Relaxed);
        *Shared::lock(&self.shared.fault) = Some((fault, u64::MAX, start));
    }

    /// Stops injecting faults.
    pub fn clear(&self) {
        *Shared::lock(&self.shared.fault) = None;
    }

    /// Produce requests seen so far.
    pub fn produce_requests(&self) -> u64 {
        self.shared.produce_requests.load(Ordering::Relaxed)
    }

    /// Faults injected so far.
    pub fn faults_injected(&self) -> u64 {
        self.shared.faults_injected.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::Release);
        // Wakes the accept loop so that it sees `stopped`.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        for connection in Shared::lock(&self.shared.connections).drain(..) {
            let _ = connection.shutdown(Shutdown::Both);
        }
    }
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopped.load(Ordering::Acquire) {
            return;
        }
        let Ok(client) = client else { continue };
        let upstream = *Shared::lock(&shared.upstream);
        let Some(upstream) = upstream else { continue };
        let Ok(broker) = TcpStream::connect(upstream) else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = broker.set_nodelay(true);
        let marks: Arc<Mutex<HashMap<i32, Fault>>> = Arc::default();
        let (Ok(c2), Ok(b2), Ok(c3), Ok(b3)) = (
            client.try_clone(),
            broker.try_clone(),
            client.try_clone(),
            broker.try_clone(),
        ) else {
            continue;
        };
        {
            let mut connections = Shared::lock(&shared.connections);
            connections.retain(|c| c.peer_addr().is_ok());
            connections.push(c3);
            connections.push(b3);
        }
        let (s1, m1) = (shared.clone(), marks.clone());
        let _ = thread::Builder::new()
            .name("fault-proxy-requests".into())
            .spawn(move || {
                let _ = requests(client, broker, &s1, &m1);
            });
        let _ = thread::Builder::new()
            .name("fault-proxy-responses".into())
            .spawn(move || {
                let _ = responses(b2, c2, &marks);
            });
    }
}

/// Reads one frame (its 4-byte length included); `None` at a clean end of stream.
fn read_frame(from: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut size = [0u8; 4];
    match from.read_exact(&mut size) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = i32::from_be_bytes(size);
    let len = usize::try_from(len)
        .ok()
        .filter(|l| *l >= 4 && *l <= 256 << 20)
        .ok_or_else(|| io::Error::other(format!("bad frame size {len}")))?;
    let mut frame = vec![0u8; 4 + len];
    frame[..4].copy_from_slice(&size);
    from.read_exact(&mut frame[4..])?;
    Ok(Some(frame))
}

fn cut(a: &TcpStream, b: &TcpStream) {
    let _ = a.shutdown(Shutdown::Both);
    let _ = b.shutdown(Shutdown::Both);
}

/// Client to broker: request header v1+ is api key (2), api version (2), correlation id (4).
fn requests(
    mut client: TcpStream,
    mut broker: TcpStream,
    shared: &Shared,
    marks: &Mutex<HashMap<i32, Fault>>,
) -> io::Result<()> {
    let result = (|| {
        while let Some(frame) = read_frame(&mut client)? {
            if frame.len() >= 12 && i16::from_be_bytes([frame[4], frame[5]]) == PRODUCE {
                let n = shared.produce_requests.fetch_add(1, Ordering::Relaxed) + 1;
                let fault = {
                    let mut slot = Shared::lock(&shared.fault);
                    match *slot {
                        Some((fault, u64::MAX, start)) if n == start + 1 => {
                            *slot = None;
                            Some(fault)
                        }
                        Some((fault, every, start)) if (n - start) % every == 0 => Some(fault),
                        _ => None,
                    }
                };
                if let Some(fault) = fault {
                    shared.faults_injected.fetch_add(1, Ordering::Relaxed);
                    match fault {
                        Fault::CutMidRequest => {
                            broker.write_all(&frame[..frame.len() / 2])?;
                            cut(&client, &broker);
                            return Ok(());
                        }
                        Fault::SwallowRequest => continue,
                        _ => {}
                    }
                    let correlation =
                        i32::from_be_bytes([frame[8], frame[9], frame[10], frame[11]]);
                    Shared::lock(marks).insert(correlation, fault);
                }
            }
            broker.write_all(&frame)?;
        }
        Ok(())
    })();
    cut(&client, &broker);
    result
}

/// Broker to client: the response header starts with the correlation id.
fn responses(
    mut broker: TcpStream,
    mut client: TcpStream,
    marks: &Mutex<HashMap<i32, Fault>>,
) -> io::Result<()> {
    let result = (|| {
        while let Some(frame) = read_frame(&mut broker)? {
            let correlation = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
            let fault = Shared::lock(marks).remove(&correlation);
            match fault {
                Some(Fault::DropResponseAfterAppend) => break,
                Some(Fault::HalfResponse) => {
                    client.write_all(&frame[..frame.len() / 2])?;
                    break;
                }
                Some(Fault::HoldResponse(hold)) => {
                    thread::sleep(hold);
                    client.write_all(&frame)?;
                }
                Some(Fault::CutMidRequest | Fault::SwallowRequest) | None => {
                    client.write_all(&frame)?;
                }
            }
        }
        Ok(())
    })();
    cut(&client, &broker);
    result
}
