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
    pub(crate) name: String,
    pub(crate) error: ErrorCode,
    /// Leaders by partition index; empty when `error` is set.
    pub(crate) leaders: Vec<Leader>,
}

/// A decoded Metadata response, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetadataUpdate {
    pub(crate) brokers: crate::producer::Map<i32, BrokerAddr>,
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
        let mut brokers = crate::producer::Map::default();
        for b in response.brokers {
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
                });
                continue;
            }
            let n = t.partitions.len();
            let mut leaders = vec![None; n];
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
                });
            }
        }
        MetadataUpdate { brokers, topics }
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
        if self.in_flight {
            return false;
        }
        let backoff_over = self.last_attempt.is_none_or(|t| now >= t + self.backoff);
        let wanted = self.needed || self.last_success.is_none_or(|t| now >= t + self.max_age);
        wanted && backoff_over
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
}
