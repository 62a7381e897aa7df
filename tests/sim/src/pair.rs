//! [`Pair`]: a producer core wired to a [`SimCluster`] by an in-memory
//! network, on a virtual clock: the one harness that drives the core in the
//! scenario and simulation tests, the throughput bench and the allocation
//! test (after quinn's `Pair`).
//!
//! Nothing here reads a clock: `start` is an instant the caller chose, and
//! time moves only when the harness is told to move it ([`Pair::step_time`],
//! [`Pair::drive_until`], [`Pair::advance`]), to the next wake-up of either
//! side.

use std::time::{Duration, Instant};

use kafka_producer_core::{ConnId, Event, Producer, ProducerConfig, SealJob};

use crate::{ClusterSpec, ConnId as SimConn, Faults, NetOutput, SimCluster};

/// The wall clock the producer is told at `start` (2023-11-14, in ms since
/// the Unix epoch): record timestamps are this plus the virtual time.
pub const WALL_CLOCK_AT_START: i64 = 1_700_000_000_000;

/// Which side of a [`Pair::step`] is running, for a [`Pair::set_cluster_meter`]
/// that tells the cluster's share of the work from the producer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The simulated cluster starts taking or producing bytes.
    EnterCluster,
    /// It is done; the producer's turn again.
    LeaveCluster,
}

/// A producer and a simulated cluster connected by an in-memory network.
pub struct Pair {
    /// The producer under test.
    pub producer: Producer,
    /// The cluster it talks to.
    pub cluster: SimCluster,
    /// The instant the pair was made at (virtual time zero).
    pub start: Instant,
    /// The current virtual time.
    pub now: Instant,
    /// The producer's connection ids and the cluster's, side by side (a
    /// handful at most, so a vector beats a map).
    conns: Vec<(ConnId, SimConn)>,
    /// Print every event as it happens (to stderr).
    pub trace: bool,
    /// Connections the cluster refused so far.
    pub refused: usize,
    /// Connections the cluster closed so far.
    pub closed_by_cluster: usize,
    /// Every event [`pump`](Self::pump) returned so far (the callback form,
    /// [`pump_with`](Self::pump_with), keeps none).
    pub history: Vec<Event>,
    meter: Option<Box<dyn FnMut(Side)>>,
    /// Seal jobs taken from the producer, run at the next step (see
    /// [`set_offload_sealing`](Self::set_offload_sealing)).
    seal_jobs: Vec<SealJob>,
    /// Seal jobs run so far.
    pub seal_jobs_run: usize,
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("now", &(self.now - self.start))
            .field("conns", &self.conns)
            .field("refused", &self.refused)
            .finish_non_exhaustive()
    }
}

impl Pair {
    /// A cluster of `spec` with `faults` drawn from `seed`, and a producer
    /// configured with `props`, its `bootstrap.servers` set to the
    /// cluster's.
    ///
    /// # Panics
    ///
    /// If a property is refused (a test's mistake).
    pub fn new(spec: ClusterSpec, faults: Faults, seed: u64, props: &[(&str, &str)]) -> Pair {
        let cluster = SimCluster::new(spec, faults, seed);
        let mut config = ProducerConfig::default();
        if let Err(e) = config.set("bootstrap.servers", &bootstrap_of(&cluster)) {
            panic!("bootstrap.servers: {e}");
        }
        for (k, v) in props {
            if let Err(e) = config.set(k, v) {
                panic!("{k}={v}: {e}");
            }
        }
        Pair::with_config(cluster, config, seed)
    }

    /// A producer with `config` against `cluster`, seeded with `seed`.
    ///
    /// # Panics
    ///
    /// If the producer refuses `config` (a test's mistake).
    // The harness is the core's caller: it reads the clock once, for the
    // instant virtual time starts at.
    pub fn with_config(cluster: SimCluster, config: ProducerConfig, seed: u64) -> Pair {
        let start = Instant::now();
        let mut producer = match Producer::new(config, start, WALL_CLOCK_AT_START, seed) {
            Ok(p) => p,
            Err(e) => panic!("producer config: {e}"),
        };
        // Every poll_timeout checks the timer table against a scan of every
        // deadline (a bench turns this off).
        producer.set_timer_check(true);
        Pair {
            producer,
            cluster,
            start,
            now: start,
            conns: Vec::new(),
            trace: false,
            refused: 0,
            closed_by_cluster: 0,
            history: Vec::new(),
            meter: None,
            seal_jobs: Vec::new(),
            seal_jobs_run: 0,
        }
    }

    /// Has the producer hand compression out as seal jobs
    /// ([`Producer::set_offload_sealing`]), as the async runtimes do: each
    /// step runs the jobs the previous one took, so the rest of the step
    /// (responses, other batches) happens while they are out.
    pub fn set_offload_sealing(&mut self, on: bool) {
        self.producer.set_offload_sealing(on);
    }

    /// Calls `meter` as the cluster's work starts and ends inside
    /// [`step`](Self::step) (a bench counts the cluster's allocations so).
    pub fn set_cluster_meter(&mut self, meter: impl FnMut(Side) + 'static) {
        self.meter = Some(Box::new(meter));
    }

    /// Stops calling the meter set by [`set_cluster_meter`](Self::set_cluster_meter).
    pub fn clear_cluster_meter(&mut self) {
        self.meter = None;
    }

    fn sim_conn(&self, conn: ConnId) -> Option<SimConn> {
        self.conns.iter().find(|(c, _)| *c == conn).map(|(_, s)| *s)
    }

    fn tell_meter(&mut self, side: Side) {
        if let Some(m) = &mut self.meter {
            m(side);
        }
    }

    /// One round at the current time: connections asked for, bytes to the
    /// cluster, connections closed, bytes from the cluster, then the
    /// producer's events to `on_event`. Returns whether anything moved.
    pub fn step(&mut self, on_event: &mut impl FnMut(Event)) -> bool {
        let now = self.now;
        let mut progress = false;
        for job in std::mem::take(&mut self.seal_jobs) {
            progress = true;
            self.seal_jobs_run += 1;
            self.producer.handle_sealed(job.run(), now);
        }
        while let Some(c) = self.producer.poll_connect() {
            progress = true;
            match self.cluster.connect(&c.host, c.port, now) {
                Ok(s) => {
                    self.conns.push((c.conn, s));
                    self.producer.handle_connected(c.conn, now);
                }
                Err(_) => {
                    self.refused += 1;
                    self.producer.handle_connect_failed(c.conn, now);
                }
            }
        }
        while let Some(t) = self.producer.poll_transmit(now) {
            progress = true;
            if let Some(s) = self.sim_conn(t.conn) {
                self.tell_meter(Side::EnterCluster);
                self.cluster.client_send(s, &t.data, now);
                self.tell_meter(Side::LeaveCluster);
            }
        }
        while let Some(c) = self.producer.poll_close() {
            progress = true;
            if let Some(s) = self.sim_conn(c) {
                self.conns.retain(|(x, _)| *x != c);
                self.cluster.client_close(s);
            }
        }
        loop {
            self.tell_meter(Side::EnterCluster);
            let out = self.cluster.poll_output(now);
            self.tell_meter(Side::LeaveCluster);
            let Some(out) = out else { break };
            progress = true;
            match out {
                NetOutput::Data { conn, bytes } => {
                    if let Some(&(c, _)) = self.conns.iter().find(|(_, s)| *s == conn) {
                        self.producer.handle_received_bytes(c, bytes, now);
                    }
                }
                NetOutput::Closed { conn } => {
                    if let Some(i) = self.conns.iter().position(|(_, s)| *s == conn) {
                        let (c, _) = self.conns.swap_remove(i);
                        self.closed_by_cluster += 1;
                        self.producer.handle_disconnected(c, now);
                    }
                }
            }
        }
        while let Some(e) = self.producer.poll_event() {
            progress = true;
            on_event(e);
        }
        while let Some(job) = self.producer.poll_seal() {
            progress = true;
            self.seal_jobs.push(job);
        }
        progress
    }

    /// [`step`](Self::step)s until neither side has anything more to say at
    /// the current time; returns whether anything happened.
    pub fn pump_with(&mut self, mut on_event: impl FnMut(Event)) -> bool {
        let mut any = false;
        while self.step(&mut on_event) {
            any = true;
        }
        any
    }

    /// [`pump_with`](Self::pump_with), returning the events (also kept in
    /// [`history`](Self::history), and printed when [`trace`](Self::trace)
    /// is on).
    pub fn pump(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        let (start, now, trace) = (self.start, self.now, self.trace);
        self.pump_with(|e| {
            if trace {
                eprintln!("{:?} {e:?}", now - start);
            }
            events.push(e);
        });
        self.history.extend(events.iter().cloned());
        events
    }

    /// The next wake-up of either side.
    pub fn next_wakeup(&self) -> Option<Instant> {
        if !self.seal_jobs.is_empty() {
            return Some(self.now);
        }
        [self.producer.poll_timeout(), self.cluster.next_wakeup()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Moves time to the next wake-up of either side, at most to `limit`,
    /// and lets the producer's timers fire; false when nothing is
    /// scheduled (time stays put).
    pub fn step_time(&mut self, limit: Instant) -> bool {
        let Some(next) = self.next_wakeup() else {
            return false;
        };
        self.now = next.min(limit).max(self.now);
        self.producer.handle_timeout(self.now);
        true
    }

    /// Runs (pumping, then moving time to the next wake-up) until `done`
    /// says so for the events seen so far, or `max` of virtual time passes;
    /// returns every event.
    pub fn drive_until(
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

    /// Moves time on by `d`, processing everything on the way.
    pub fn advance(&mut self, d: Duration) -> Vec<Event> {
        self.drive_until(d, |_| false)
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

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_producer_core::Record;

    #[test]
    fn a_pair_delivers_a_record_in_virtual_time() {
        let spec = ClusterSpec {
            brokers: vec![1, 2],
            topics: vec![("t".into(), 2)],
            ..ClusterSpec::default()
        };
        let faults = Faults {
            max_latency: Duration::from_millis(3),
            ..Faults::none()
        };
        let mut pair = Pair::new(spec, faults, 9, &[("linger.ms", "10")]);
        let record = Record {
            topic: "t",
            value: Some(b"v"),
            ..Default::default()
        };
        // The topic's metadata first, so the send is taken at once.
        pair.producer.prefetch_topic("t", pair.now).unwrap();
        pair.drive_until(Duration::from_secs(5), |_| false);
        assert_eq!(pair.producer.partition_count("t"), Some(2));
        let token = pair.producer.send(&record, pair.now).unwrap();
        let events = pair.drive_until(Duration::from_secs(5), |e| {
            e.iter().any(|e| matches!(e, Event::Delivered { .. }))
        });
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Delivered { batch, .. } if *batch == token.batch)),
            "{events:?}"
        );
        // Linger is 10 ms and the latency at most 3 ms each way.
        assert!(pair.now - pair.start >= Duration::from_millis(10));
        assert_eq!(pair.refused, 0);
        assert!(
            pair.history
                .iter()
                .any(|e| matches!(e, Event::Delivered { .. }))
        );
        assert_eq!(pair.cluster.log("t", token.partition).len(), 1);
    }
}
