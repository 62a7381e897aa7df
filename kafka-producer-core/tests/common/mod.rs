//! The harness shared by the simulation and scenario tests: a producer
//! wired to a simulated cluster, with time under the test's control.

#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kafka_producer_core::{ConnId, Event, Producer, ProducerConfig};
use kafka_sim::{ClusterSpec, ConnId as SimConn, Faults, NetOutput, SimCluster};

/// A producer and a simulated cluster connected by an in-memory network.
pub struct Sim {
    pub producer: Producer,
    pub cluster: SimCluster,
    pub start: Instant,
    pub now: Instant,
    to_sim: HashMap<ConnId, SimConn>,
    from_sim: HashMap<SimConn, ConnId>,
    /// Print every event as it happens.
    pub trace: bool,
    /// Connections refused so far.
    pub refused: usize,
    /// Every event so far.
    pub history: Vec<Event>,
}

impl Sim {
    /// A cluster of `spec` and a producer configured with `props` (its
    /// bootstrap servers are set to the cluster's).
    pub fn new(spec: ClusterSpec, faults: Faults, seed: u64, props: &[(&str, &str)]) -> Sim {
        let cluster = SimCluster::new(spec, faults, seed);
        let bootstrap = bootstrap_of(&cluster);
        let mut config = ProducerConfig::default();
        config.set("bootstrap.servers", &bootstrap).unwrap();
        for (k, v) in props {
            config.set(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
        }
        Sim::with_config(cluster, config, seed)
    }

    /// A producer with `config` against `cluster`.
    pub fn with_config(cluster: SimCluster, config: ProducerConfig, seed: u64) -> Sim {
        let start = Instant::now();
        let producer = Producer::new(config, start, 1_700_000_000_000, seed).expect("valid config");
        Sim {
            producer,
            cluster,
            start,
            now: start,
            to_sim: HashMap::new(),
            from_sim: HashMap::new(),
            trace: false,
            refused: 0,
            history: Vec::new(),
        }
    }

    /// Moves bytes and connections both ways until neither side has
    /// anything more to say at the current time; returns the events.
    pub fn pump(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            let mut progress = false;
            while let Some(c) = self.producer.poll_connect() {
                progress = true;
                match self.cluster.connect(&c.host, c.port, self.now) {
                    Ok(s) => {
                        self.to_sim.insert(c.conn, s);
                        self.from_sim.insert(s, c.conn);
                        self.producer.handle_connected(c.conn, self.now);
                    }
                    Err(_) => {
                        self.refused += 1;
                        self.producer.handle_connect_failed(c.conn, self.now);
                    }
                }
            }
            while let Some(t) = self.producer.poll_transmit(self.now) {
                progress = true;
                if let Some(&s) = self.to_sim.get(&t.conn) {
                    self.cluster.client_send(s, &t.data, self.now);
                }
            }
            while let Some(c) = self.producer.poll_close() {
                progress = true;
                if let Some(s) = self.to_sim.remove(&c) {
                    self.from_sim.remove(&s);
                    self.cluster.client_close(s);
                }
            }
            while let Some(out) = self.cluster.poll_output(self.now) {
                progress = true;
                match out {
                    NetOutput::Data { conn, bytes } => {
                        if let Some(&c) = self.from_sim.get(&conn) {
                            self.producer.handle_received(c, &bytes, self.now);
                        }
                    }
                    NetOutput::Closed { conn } => {
                        if let Some(c) = self.from_sim.remove(&conn) {
                            self.to_sim.remove(&c);
                            self.producer.handle_disconnected(c, self.now);
                        }
                    }
                }
            }
            while let Some(e) = self.producer.poll_event() {
                progress = true;
                if self.trace {
                    eprintln!("{:?} {e:?}", self.now - self.start);
                }
                self.history.push(e.clone());
                events.push(e);
            }
            if !progress {
                return events;
            }
        }
    }

    /// The next wake-up of either side.
    pub fn next_wakeup(&self) -> Option<Instant> {
        [self.producer.poll_timeout(), self.cluster.next_wakeup()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Moves time to the next wake-up, at most to `limit`; false when
    /// nothing is scheduled.
    pub fn step_time(&mut self, limit: Instant) -> bool {
        let Some(next) = self.next_wakeup() else {
            return false;
        };
        self.now = next.min(limit).max(self.now);
        self.producer.handle_timeout(self.now);
        true
    }

    /// Runs until `done` says so for the events seen so far, or `max`
    /// simulated time passes; returns every event.
    pub fn run_until(
        &mut self,
        max: Duration,
        mut done: impl FnMut(&[Event]) -> bool,
    ) -> Vec<Event> {
        let limit = self.now + max;
        let mut events = self.pump();
        while !done(&events) && self.now < limit {
            if !self.step_time(limit) {
                self.now = limit;
                self.producer.handle_timeout(self.now);
            }
            events.extend(self.pump());
        }
        events
    }

    /// Advances time by `d`, processing everything on the way.
    pub fn advance(&mut self, d: Duration) -> Vec<Event> {
        self.run_until(d, |_| false)
    }
}

/// `cluster`'s bootstrap addresses as `bootstrap.servers` lists them.
pub fn bootstrap_of(cluster: &SimCluster) -> String {
    cluster
        .bootstrap()
        .into_iter()
        .map(|(h, p)| format!("{h}:{p}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `events` holds a `Closed` event.
pub fn closed(events: &[Event]) -> bool {
    events.iter().any(|e| matches!(e, Event::Closed))
}
