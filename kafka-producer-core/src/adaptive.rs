//! What KIP-794's adaptive partitioning knows of the cluster's load: how
//! long each broker has left ready data waiting, and how many batches each
//! partition has queued.
//!
//! As in the Java client, a broker's latency is the time from the last
//! drain that found it able to take a request (a ready connection with an
//! in-flight slot free) to the last drain that found it with ready data;
//! past `partitioner.availability.timeout.ms` its partitions are left out of
//! the sticky draw, until it takes a request again. The producer tracks it
//! only when that timeout is set.

use std::time::{Duration, Instant};

use crate::accumulator::PartitionQueue;
use crate::hash::Map;
use crate::partitioner::PartitionLoad;

/// Per broker: when it last had ready data, and when it last could take it.
#[derive(Debug, Default)]
pub(crate) struct NodeLatency {
    nodes: Map<i32, (Instant, Instant)>,
}

impl NodeLatency {
    /// A drain found `node` with data ready; `can_take` says whether it had
    /// a ready connection with a free in-flight slot.
    pub(crate) fn seen(&mut self, node: i32, now: Instant, can_take: bool) {
        let entry = self.nodes.entry(node).or_insert((now, now));
        entry.0 = now;
        if can_take {
            entry.1 = now;
        }
    }

    /// Whether `node` has left ready data waiting for longer than `timeout`.
    pub(crate) fn above(&self, node: i32, timeout: Duration) -> bool {
        self.nodes
            .get(&node)
            .is_some_and(|&(ready, drained)| ready.saturating_duration_since(drained) > timeout)
    }
}

/// A topic's queues as the adaptive draw sees them.
pub(crate) struct QueueLoad<'a> {
    pub(crate) queues: &'a [PartitionQueue],
    /// The brokers' latency and the availability timeout, when one is set.
    pub(crate) latency: Option<(&'a NodeLatency, Duration)>,
}

impl PartitionLoad for QueueLoad<'_> {
    fn queued_batches(&self, partition: i32) -> Option<u32> {
        let q = self.queues.get(usize::try_from(partition).ok()?)?;
        if let Some((latency, timeout)) = self.latency {
            if latency.above(q.leader.node, timeout) {
                return None;
            }
        }
        let open = q.open.as_ref().is_some_and(|b| b.record_count > 0);
        Some(u32::try_from(q.queue.len()).unwrap_or(u32::MAX) + u32::from(open))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_above_the_timeout_only_while_its_ready_data_waits() {
        let t0 = crate::testing::t0();
        let mut l = NodeLatency::default();
        let timeout = Duration::from_millis(100);
        assert!(!l.above(1, timeout), "never seen");
        l.seen(1, t0, false);
        assert!(!l.above(1, timeout));
        l.seen(1, t0 + Duration::from_millis(100), false);
        assert!(!l.above(1, timeout), "exactly the timeout is not above it");
        l.seen(1, t0 + Duration::from_millis(101), false);
        assert!(l.above(1, timeout));
        assert!(!l.above(2, timeout), "per node");
        l.seen(1, t0 + Duration::from_millis(150), true);
        assert!(!l.above(1, timeout), "it took data again");
    }
}
