//! The producer's view of the cluster: brokers, topics, partition leaders,
//! and when to ask again.

use std::time::{Duration, Instant};

use kafka_proto::ErrorCode;
use kafka_proto::messages::metadata::MetadataResponse;

/// A broker's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokerAddr {
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// A partition's replica sets as the last metadata gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Replicas {
    pub(crate) all: Vec<i32>,
    pub(crate) in_sync: Vec<i32>,
    pub(crate) offline: Vec<i32>,
}

/// A partition's leader as last learned, with its leader epoch (KIP-320):
/// news older than what we know is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Leader {
    /// The leader's node id, or -1 when there is none.
    pub(crate) node: i32,
    /// The leader epoch, or -1 when the broker does not say.
    pub(crate) epoch: i32,
}

impl Leader {
    pub(crate) const UNKNOWN: Leader = Leader {
        node: -1,
        epoch: -1,
    };

    /// Whether `news` should replace `self`: a newer epoch, or an equal one
    /// (the same leadership, possibly learned again), or no epochs at all.
    pub(crate) fn is_superseded_by(&self, news: &Leader) -> bool {
        self.epoch < 0 || news.epoch < 0 || news.epoch >= self.epoch
    }
}

/// One topic as a Metadata response described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicUpdate {
    /// Each partition's replicas, in-sync replicas and offline replicas (node
    /// ids), by partition index; empty when `leaders` is.
    pub(crate) replicas: Vec<Replicas>,
    pub(crate) name: String,
    pub(crate) error: ErrorCode,
    /// Leaders by partition index; empty when `error` is set.
    pub(crate) leaders: Vec<Leader>,
}

/// A decoded Metadata response, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetadataUpdate {
    pub(crate) brokers: crate::hash::Map<i32, BrokerAddr>,
    /// The brokers that name their rack (`broker.rack`), with it.
    pub(crate) racks: Vec<(i32, String)>,
    pub(crate) topics: Vec<TopicUpdate>,
}

/// Upper bound on partitions per topic we accept from a broker (Kafka's own
/// practical limits are far lower); protects the partition tables.
const MAX_PARTITIONS: i32 = 1 << 20;

impl MetadataUpdate {
    /// Checks a response: broker ports in range, partition indexes dense
    /// (0..n, each once). A topic whose partitions are malformed is reported
    /// with UNKNOWN_SERVER_ERROR instead of trusted.
    pub(crate) fn from_response(response: MetadataResponse) -> MetadataUpdate {
        let mut brokers = crate::hash::Map::default();
        let mut racks = Vec::new();
        for b in response.brokers {
            if let Some(rack) = b.rack.filter(|r| !r.is_empty()) {
                racks.push((b.node_id, rack));
            }
            if let Ok(port) = u16::try_from(b.port) {
                brokers.insert(b.node_id, BrokerAddr { host: b.host, port });
            }
        }
        let mut topics = Vec::with_capacity(response.topics.len());
        for t in response.topics {
            let Some(name) = t.name else { continue };
            let error = ErrorCode(t.error_code);
            if !error.is_ok() {
                topics.push(TopicUpdate {
                    name,
                    error,
                    leaders: Vec::new(),
                    replicas: Vec::new(),
                });
                continue;
            }
            let n = t.partitions.len();
            let mut leaders = vec![None; n];
            let mut replicas = vec![Replicas::default(); n];
            let mut well_formed = n > 0 && n <= MAX_PARTITIONS as usize;
            for p in &t.partitions {
                match usize::try_from(p.partition_index)
                    .ok()
                    .and_then(|i| leaders.get_mut(i))
                {
                    Some(slot @ None) => {
                        // A partition with an error (LEADER_NOT_AVAILABLE, ...)
                        // has no usable leader for now.
                        let node = if ErrorCode(p.error_code).is_ok() {
                            p.leader_id
                        } else {
                            -1
                        };
                        *slot = Some(Leader {
                            node,
                            epoch: p.leader_epoch,
                        });
                        if let Some(r) = usize::try_from(p.partition_index)
                            .ok()
                            .and_then(|i| replicas.get_mut(i))
                        {
                            *r = Replicas {
                                all: p.replica_nodes.clone(),
                                in_sync: p.isr_nodes.clone(),
                                offline: p.offline_replicas.clone(),
                            };
                        }
                    }
                    _ => well_formed = false,
                }
            }
            if well_formed {
                topics.push(TopicUpdate {
                    name,
                    error,
                    leaders: leaders
                        .into_iter()
                        .map(|l| l.unwrap_or(Leader::UNKNOWN))
                        .collect(),
                    replicas,
                });
            } else {
                topics.push(TopicUpdate {
                    name,
                    error: if n == 0 {
                        ErrorCode::LEADER_NOT_AVAILABLE
                    } else {
                        ErrorCode::UNKNOWN_SERVER_ERROR
                    },
                    leaders: Vec::new(),
                    replicas: Vec::new(),
                });
            }
        }
        MetadataUpdate {
            brokers,
            racks,
            topics,
        }
    }
}

/// When to send the next Metadata request: on demand (new topics, stale
/// leaders) and at least every `metadata.max.age.ms`, never more often than
/// `retry.backoff.ms` (Java's metadata refresh backoff).
#[derive(Debug)]
pub(crate) struct MetadataRefresh {
    max_age: Duration,
    backoff: Duration,
    last_success: Option<Instant>,
    last_attempt: Option<Instant>,
    needed: bool,
    in_flight: bool,
}

impl MetadataRefresh {
    pub(crate) fn new(max_age: Duration, backoff: Duration) -> Self {
        MetadataRefresh {
            max_age,
            backoff,
            last_success: None,
            last_attempt: None,
            needed: true,
            in_flight: false,
        }
    }

    /// Asks for a refresh as soon as the backoff allows.
    pub(crate) fn request(&mut self) {
        self.needed = true;
    }

    /// When a request should go out (`None` while one is in flight), given
    /// the current time `now`.
    pub(crate) fn due_at(&self, now: Instant) -> Option<Instant> {
        if self.in_flight {
            return None;
        }
        let wanted = match self.last_success {
            Some(t) if !self.needed => t + self.max_age,
            _ => now,
        };
        let earliest = self.last_attempt.map_or(now, |t| t + self.backoff);
        Some(wanted.max(earliest))
    }

    pub(crate) fn is_due(&self, now: Instant) -> bool {
        self.due_at(now).is_some_and(|t| t <= now)
    }

    pub(crate) fn sent(&mut self, now: Instant) {
        self.in_flight = true;
        self.needed = false;
        self.last_attempt = Some(now);
    }

    pub(crate) fn succeeded(&mut self, now: Instant) {
        self.in_flight = false;
        self.last_success = Some(now);
    }

    pub(crate) fn failed(&mut self) {
        self.in_flight = false;
        self.needed = true;
    }

    /// When metadata last arrived (`metadata-age`).
    pub(crate) fn last_success(&self) -> Option<Instant> {
        self.last_success
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_proto::messages::metadata::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };

    fn partition(index: i32, leader: i32, epoch: i32, error: i16) -> MetadataResponsePartition {
        MetadataResponsePartition {
            partition_index: index,
            leader_id: leader,
            leader_epoch: epoch,
            error_code: error,
            ..Default::default()
        }
    }

    fn topic(
        name: &str,
        error: i16,
        partitions: Vec<MetadataResponsePartition>,
    ) -> MetadataResponseTopic {
        MetadataResponseTopic {
            name: Some(name.into()),
            error_code: error,
            partitions,
            ..Default::default()
        }
    }

    #[test]
    fn responses_are_checked_before_they_are_trusted() {
        let response = MetadataResponse {
            brokers: vec![
                MetadataResponseBroker {
                    node_id: 1,
                    host: "a".into(),
                    port: 9092,
                    ..Default::default()
                },
                MetadataResponseBroker {
                    node_id: 2,
                    host: "b".into(),
                    port: 70_000,
                    ..Default::default()
                },
            ],
            topics: vec![
                // Out of order is fine; an errored partition has no leader.
                topic("ok", 0, vec![partition(1, 1, 4, 0), partition(0, 2, 7, 5)]),
                topic("gap", 0, vec![partition(0, 1, 0, 0), partition(2, 1, 0, 0)]),
                topic("dup", 0, vec![partition(0, 1, 0, 0), partition(0, 1, 0, 0)]),
                topic("empty", 0, vec![]),
                topic("missing", 3, vec![]),
            ],
            ..Default::default()
        };
        let u = MetadataUpdate::from_response(response);
        assert_eq!(u.brokers.len(), 1, "a port out of range is dropped");
        let by = |n: &str| u.topics.iter().find(|t| t.name == n).unwrap().clone();
        assert_eq!(
            by("ok").leaders,
            vec![Leader { node: -1, epoch: 7 }, Leader { node: 1, epoch: 4 }]
        );
        assert_eq!(by("gap").error, ErrorCode::UNKNOWN_SERVER_ERROR);
        assert_eq!(by("dup").error, ErrorCode::UNKNOWN_SERVER_ERROR);
        assert_eq!(by("empty").error, ErrorCode::LEADER_NOT_AVAILABLE);
        assert_eq!(by("missing").error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    }

    #[test]
    fn older_leader_epochs_do_not_replace_newer_ones() {
        let known = Leader { node: 1, epoch: 5 };
        assert!(!known.is_superseded_by(&Leader { node: 2, epoch: 4 }));
        assert!(known.is_superseded_by(&Leader { node: 2, epoch: 6 }));
        assert!(known.is_superseded_by(&Leader { node: 2, epoch: -1 }));
        assert!(Leader::UNKNOWN.is_superseded_by(&Leader { node: 3, epoch: 0 }));
    }

    #[test]
    fn refreshes_are_due_on_demand_on_age_and_never_faster_than_the_backoff() {
        let t0 = crate::testing::t0();
        let ms = Duration::from_millis;
        let mut m = MetadataRefresh::new(ms(10_000), ms(100));
        assert!(m.is_due(t0), "the first refresh is due at once");
        m.sent(t0);
        assert!(!m.is_due(t0 + ms(500)), "not while one is in flight");
        assert_eq!(m.due_at(t0), None);
        m.succeeded(t0 + ms(10));
        assert!(!m.is_due(t0 + ms(5_000)));
        assert_eq!(m.due_at(t0 + ms(20)), Some(t0 + ms(10_010)));
        assert!(m.is_due(t0 + ms(10_010)), "due on age");
        m.request();
        assert!(!m.is_due(t0 + ms(50)), "backoff since the last attempt");
        assert_eq!(m.due_at(t0 + ms(50)), Some(t0 + ms(100)));
        assert!(m.is_due(t0 + ms(100)));
        m.sent(t0 + ms(100));
        m.failed();
        assert!(!m.is_due(t0 + ms(150)));
        assert!(
            m.is_due(t0 + ms(200)),
            "a failure asks again after the backoff"
        );
    }
}
