//! A loopback proxy in front of each mock broker that fixes the two
//! answers of librdkafka's mock cluster our producer cannot read, so that
//! the producer can be tested against the mock at all.
//!
//! 1. The mock advertises ApiVersions v0–v2 only. A client that opens with
//!    v3+ (ours sends v4) gets UNSUPPORTED_VERSION, but not with the v0 body
//!    Kafka sends (KIP-511): the mock writes a one-byte array count followed
//!    by v0-style entries and a throttle time. Java's client copes (it parses
//!    at the request version first, finds no usable entry and falls back to
//!    v0); ours decodes the body as v0 only, fails, drops the connection and
//!    starts over, forever.
//! 2. The mock's Metadata v12 answer ends with one byte more than the
//!    message (an extra empty tag buffer). Java ignores bytes after the
//!    message; ours rejects the answer (TrailingBytes), drops the connection
//!    and starts over, forever.
//!
//! Both are shown by `the_producer_reaches_the_mock_cluster_without_a_proxy`
//! in the test file. The proxy rewrites exactly those answers (a v0 body;
//! the message without the extra bytes) and patches the broker ports in
//! Metadata answers so that the producer keeps talking through the proxies.
//! Everything else passes through unchanged, so the mock's faults (errors,
//! `rtt`, dropped connections) reach the producer as they are. One
//! difference: while a broker is `down`, the proxy accepts a connection and
//! closes it at once, where the mock refuses it.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use kafka_proto::frame::decode_response;
use kafka_proto::messages::api_versions::ApiVersionsRequest;
use kafka_proto::messages::init_producer_id::InitProducerIdRequest;
use kafka_proto::messages::metadata::MetadataRequest;
use kafka_proto::messages::produce::ProduceRequest;
use kafka_proto::{DecodeErrorKind, Request};

const PRODUCE: i16 = 0;
const METADATA: i16 = 3;
const API_VERSIONS: i16 = 18;
const INIT_PRODUCER_ID: i16 = 22;
const UNSUPPORTED_VERSION: i16 = 35;

/// How many answers of each kind were rewritten.
type Rewrites = Arc<Mutex<BTreeMap<String, usize>>>;

/// One proxy per mock broker; stops accepting when dropped.
pub(crate) struct MockProxy {
    addrs: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    rewrites: Rewrites,
}

impl MockProxy {
    /// Listens on a free loopback port for each of `brokers` (in broker id
    /// order).
    pub(crate) fn start(brokers: &[SocketAddr]) -> MockProxy {
        let listeners: Vec<TcpListener> = brokers
            .iter()
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a proxy port"))
            .collect();
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .map(|l| l.local_addr().expect("proxy address"))
            .collect();
        let ports: Arc<HashMap<i32, i32>> = Arc::new(
            brokers
                .iter()
                .zip(&addrs)
                .map(|(b, p)| (i32::from(b.port()), i32::from(p.port())))
                .collect(),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let rewrites = Rewrites::default();
        for (listener, upstream) in listeners.into_iter().zip(brokers.iter().copied()) {
            let (ports, stop, rewrites) = (ports.clone(), stop.clone(), rewrites.clone());
            thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    // While the broker is down the connection fails: close
                    // the client's at once.
                    if let Ok(server) =
                        TcpStream::connect_timeout(&upstream, Duration::from_secs(1))
                    {
                        relay(client, server, ports.clone(), rewrites.clone());
                    }
                }
            });
        }
        MockProxy {
            addrs,
            stop,
            rewrites,
        }
    }

    /// The answers rewritten so far, by kind.
    pub(crate) fn rewrites(&self) -> BTreeMap<String, usize> {
        self.rewrites.lock().unwrap().clone()
    }

    /// The proxies as bootstrap servers.
    pub(crate) fn bootstrap(&self) -> String {
        self.addrs
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Drop for MockProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for addr in &self.addrs {
            // Wakes the accept loop so it sees the flag.
            let _ = TcpStream::connect_timeout(addr, Duration::from_millis(200));
        }
    }
}

/// ApiKey and version of requests whose answers may need rewriting, by
/// correlation id.
type Pending = Arc<Mutex<HashMap<i32, (i16, i16)>>>;

fn relay(client: TcpStream, server: TcpStream, ports: Arc<HashMap<i32, i32>>, rewrites: Rewrites) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let pending: Pending = Arc::default();
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let requests = pending.clone();
    thread::spawn(move || {
        let _ = pump(&client, &server, |frame| {
            if frame.len() >= 8 {
                let api_key = i16::from_be_bytes([frame[0], frame[1]]);
                let version = i16::from_be_bytes([frame[2], frame[3]]);
                let correlation = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                if matches!(
                    api_key,
                    PRODUCE | METADATA | API_VERSIONS | INIT_PRODUCER_ID
                ) {
                    requests
                        .lock()
                        .unwrap()
                        .insert(correlation, (api_key, version));
                }
            }
            frame
        });
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
    });
    thread::spawn(move || {
        let _ = pump(&server2, &client2, |frame| {
            if frame.len() < 4 {
                return frame;
            }
            let correlation = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
            let Some((api_key, version)) = pending.lock().unwrap().remove(&correlation) else {
                return frame;
            };
            let (mut frame, fixed) = fix_answer(frame, api_key, version);
            if let Some(kind) = fixed {
                *rewrites.lock().unwrap().entry(kind).or_default() += 1;
            }
            if api_key == METADATA {
                patch_metadata_ports(&mut frame, version, &ports);
            }
            frame
        });
        let _ = client2.shutdown(Shutdown::Both);
        let _ = server2.shutdown(Shutdown::Both);
    });
}

/// Copies size-prefixed frames from `from` to `to`, passing each through
/// `rewrite`.
fn pump(
    mut from: &TcpStream,
    mut to: &TcpStream,
    mut rewrite: impl FnMut(Vec<u8>) -> Vec<u8>,
) -> io::Result<()> {
    loop {
        let mut size = [0u8; 4];
        from.read_exact(&mut size)?;
        let len = usize::try_from(i32::from_be_bytes(size))
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "negative frame size"))?;
        let mut frame = vec![0u8; len];
        from.read_exact(&mut frame)?;
        let frame = rewrite(frame);
        let len = i32::try_from(frame.len()).expect("frame size");
        let mut out = Vec::with_capacity(frame.len() + 4);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&frame);
        to.write_all(&out)?;
    }
}

/// Rewrites the answers the producer cannot read (module doc); returns the
/// frame and what was fixed, if anything.
fn fix_answer(frame: Vec<u8>, api_key: i16, version: i16) -> (Vec<u8>, Option<String>) {
    if api_key == API_VERSIONS && version >= 3 {
        if let Some(v0) = unsupported_api_versions_as_v0(&frame) {
            return (v0, Some(format!("ApiVersions v{version}: v0 body")));
        }
    }
    let trailing = match api_key {
        PRODUCE => trailing_bytes::<ProduceRequest>(&frame, version),
        METADATA => trailing_bytes::<MetadataRequest>(&frame, version),
        API_VERSIONS => trailing_bytes::<ApiVersionsRequest>(&frame, version),
        INIT_PRODUCER_ID => trailing_bytes::<InitProducerIdRequest>(&frame, version),
        _ => None,
    };
    match trailing {
        Some(count) => {
            let mut frame = frame;
            frame.truncate(frame.len() - count);
            let kind = format!("ApiKey {api_key} v{version}: {count} trailing bytes");
            (frame, Some(kind))
        }
        None => (frame, None),
    }
}

/// How many bytes follow the message in an answer that otherwise decodes.
fn trailing_bytes<R: Request>(frame: &[u8], version: i16) -> Option<usize> {
    match decode_response::<R>(Bytes::copy_from_slice(frame), version) {
        Err(e) => match e.kind {
            DecodeErrorKind::TrailingBytes { count } => Some(count),
            _ => None,
        },
        Ok(_) => None,
    }
}

/// The mock's answer to ApiVersions v3+ it does not support: correlation
/// id, error code, a one-byte count, 6-byte entries, throttle time. Kafka
/// answers with a v0 body (error code, int32 count, entries), which is what
/// this returns; `None` for any other answer.
fn unsupported_api_versions_as_v0(frame: &[u8]) -> Option<Vec<u8>> {
    if frame.len() < 7 || i16::from_be_bytes([frame[4], frame[5]]) != UNSUPPORTED_VERSION {
        return None;
    }
    let count = usize::from(frame[6]);
    let entries = frame.get(7..7 + 6 * count)?;
    let mut out = Vec::with_capacity(10 + entries.len());
    out.extend_from_slice(&frame[..6]);
    out.extend_from_slice(&i32::try_from(count).unwrap().to_be_bytes());
    out.extend_from_slice(entries);
    Some(out)
}

/// Replaces each broker's port in a Metadata answer by its proxy's. Ports
/// are fixed-width, so nothing moves. The answer is left alone from where
/// it does not parse.
fn patch_metadata_ports(frame: &mut [u8], version: i16, ports: &HashMap<i32, i32>) {
    let _ = try_patch_metadata_ports(&mut Cursor { buf: frame, at: 4 }, version, ports);
}

fn try_patch_metadata_ports(
    r: &mut Cursor<'_>,
    version: i16,
    ports: &HashMap<i32, i32>,
) -> Option<()> {
    let flexible = version >= 9;
    if flexible {
        r.skip_tags()?; // response header v1
    }
    if version >= 3 {
        r.skip(4)?; // throttle_time_ms
    }
    let brokers = if flexible {
        r.uvarint()?.checked_sub(1)?
    } else {
        u64::try_from(r.i32()?).ok()?
    };
    for _ in 0..brokers {
        r.skip(4)?; // node_id
        r.string(flexible)?; // host
        let at = r.at;
        let port = r.i32()?;
        if let Some(proxy) = ports.get(&port) {
            r.buf[at..at + 4].copy_from_slice(&proxy.to_be_bytes());
        }
        if version >= 1 {
            r.string(flexible)?; // rack
        }
        if flexible {
            r.skip_tags()?;
        }
    }
    Some(())
}

struct Cursor<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Cursor<'_> {
    fn skip(&mut self, n: usize) -> Option<()> {
        let end = self.at.checked_add(n)?;
        (end <= self.buf.len()).then(|| self.at = end)
    }

    fn i32(&mut self) -> Option<i32> {
        let b = self.buf.get(self.at..self.at + 4)?;
        let v = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        self.at += 4;
        Some(v)
    }

    fn uvarint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.at)?;
            self.at += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A (nullable) string: compact when `flexible`.
    fn string(&mut self, flexible: bool) -> Option<()> {
        let len = if flexible {
            match self.uvarint()? {
                0 => 0,
                n => usize::try_from(n - 1).ok()?,
            }
        } else {
            let b = self.buf.get(self.at..self.at + 2)?;
            let n = i16::from_be_bytes([b[0], b[1]]);
            self.at += 2;
            usize::try_from(n).unwrap_or(0)
        };
        self.skip(len)
    }

    fn skip_tags(&mut self) -> Option<()> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?;
            let size = usize::try_from(self.uvarint()?).ok()?;
            self.skip(size)?;
        }
        Some(())
    }
}
