//! Admin requests over the producer's own connections: what a tool such as
//! `kprod topic` needs (create, delete and describe topics and their configuration) reaches any
//! cluster the producer reaches, with its TLS, SASL and reconnects.
//!
//! [`Producer::admin`](crate::Producer::admin) queues a request with a
//! deadline and returns its [`AdminId`]. The request goes to any broker with
//! a ready connection (KRaft brokers forward CreateTopics and DeleteTopics to
//! the controller), at the highest version both sides speak. A request whose
//! connection is lost is sent again after `retry.backoff.ms`, until the
//! deadline. [`Event::AdminComplete`](crate::Event::AdminComplete) says when
//! [`Producer::admin_result`](crate::Producer::admin_result) has the answer:
//! the broker's whole response (its per-topic error codes are the caller's
//! to read), or an [`AdminError`].
//!
//! This module is the machine: the queue, the deadlines and the retries; the
//! producer sends what it hands out and hands back what comes in.

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

pub use crate::producer::validate_topic_name;
pub use kafka_proto::messages::create_topics::{
    CreatableTopic, CreatableTopicConfig, CreatableTopicResult, CreateTopicsRequest,
    CreateTopicsResponse,
};
pub use kafka_proto::messages::delete_topics::{
    DeletableTopicResult, DeleteTopicState, DeleteTopicsRequest, DeleteTopicsResponse,
};
pub use kafka_proto::messages::describe_configs::{
    DescribeConfigsRequest, DescribeConfigsResource, DescribeConfigsResourceResult,
    DescribeConfigsResponse, DescribeConfigsResult, DescribeConfigsSynonym, RESOURCE_BROKER,
    RESOURCE_TOPIC,
};
pub use kafka_proto::messages::metadata::{
    MetadataRequest, MetadataRequestTopic, MetadataResponse, MetadataResponseBroker,
    MetadataResponsePartition, MetadataResponseTopic,
};

use crate::error::FatalError;
use crate::hash::Map;

/// Names an admin request ([`Producer::admin`](crate::Producer::admin)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AdminId(pub u64);

/// An admin request: the kafka-proto request body; the version is chosen
/// when it is sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AdminRequest {
    /// Create topics.
    CreateTopics(CreateTopicsRequest),
    /// Delete topics (by name below v6; `topics` names them from v6, and
    /// both are filled from whichever is given).
    DeleteTopics(DeleteTopicsRequest),
    /// Describe topics and brokers (`topics: None` lists every topic).
    Metadata(MetadataRequest),
    /// The configuration of topics or brokers.
    DescribeConfigs(DescribeConfigsRequest),
}

impl AdminRequest {
    /// The API's name, for errors.
    pub fn api(&self) -> &'static str {
        match self {
            AdminRequest::CreateTopics(_) => "CreateTopics",
            AdminRequest::DeleteTopics(_) => "DeleteTopics",
            AdminRequest::Metadata(_) => "Metadata",
            AdminRequest::DescribeConfigs(_) => "DescribeConfigs",
        }
    }
}

/// The broker's answer to an [`AdminRequest`], decoded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AdminResponse {
    /// The answer to [`AdminRequest::CreateTopics`].
    CreateTopics(CreateTopicsResponse),
    /// The answer to [`AdminRequest::DeleteTopics`].
    DeleteTopics(DeleteTopicsResponse),
    /// The answer to [`AdminRequest::Metadata`].
    Metadata(MetadataResponse),
    /// The answer to [`AdminRequest::DescribeConfigs`].
    DescribeConfigs(DescribeConfigsResponse),
}

/// Why an admin request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdminError {
    /// The broker speaks no version of the API that this client does.
    Unsupported {
        /// The API.
        api: &'static str,
    },
    /// The deadline passed without an answer (no broker reachable, or none
    /// answered in time).
    TimedOut {
        /// The API.
        api: &'static str,
        /// The last connection failure, if there was one.
        connection_error: Option<String>,
    },
    /// The producer closed first.
    Closed,
    /// The producer failed as a whole (authentication refused, ...).
    Fatal(FatalError),
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminError::Unsupported { api } => {
                write!(
                    f,
                    "the broker supports no version of {api} this client speaks"
                )
            }
            AdminError::TimedOut {
                api,
                connection_error: None,
            } => write!(f, "{api} got no answer in time"),
            AdminError::TimedOut {
                api,
                connection_error: Some(e),
            } => write!(
                f,
                "{api} got no answer in time (last connection error: {e})"
            ),
            AdminError::Closed => f.write_str("the producer closed"),
            AdminError::Fatal(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AdminError {}

/// A request not answered yet.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) id: AdminId,
    pub(crate) request: AdminRequest,
    deadline: Instant,
    /// Not before this (after a lost attempt).
    retry_at: Option<Instant>,
}

/// The admin requests: waiting to be sent, in flight, and answered but not
/// yet taken.
#[derive(Debug, Default)]
pub(crate) struct Admin {
    next_id: u64,
    waiting: VecDeque<Pending>,
    in_flight: Map<u64, Pending>,
    results: Map<u64, Result<AdminResponse, AdminError>>,
}

impl Admin {
    /// Queues `request`, to be answered by `deadline`.
    pub(crate) fn submit(&mut self, request: AdminRequest, deadline: Instant) -> AdminId {
        let id = self.new_id();
        self.waiting.push_back(Pending {
            id,
            request,
            deadline,
            retry_at: None,
        });
        id
    }

    /// An id for a request that is answered at once (refused) rather than
    /// queued.
    pub(crate) fn new_id(&mut self) -> AdminId {
        let id = AdminId(self.next_id);
        self.next_id += 1;
        id
    }

    /// The first waiting request that may be sent at `now`.
    pub(crate) fn take_due(&mut self, now: Instant) -> Option<Pending> {
        let i = self
            .waiting
            .iter()
            .position(|p| p.retry_at.is_none_or(|t| t <= now))?;
        self.waiting.remove(i)
    }

    /// `pending` could not go now: it waits again, first in line.
    pub(crate) fn put_back(&mut self, pending: Pending) {
        self.waiting.push_front(pending);
    }

    /// `pending` is on the wire.
    pub(crate) fn sent(&mut self, pending: Pending) {
        self.in_flight.insert(pending.id.0, pending);
    }

    /// The request in flight as `id`, now answered or failed.
    pub(crate) fn take_in_flight(&mut self, id: AdminId) -> Option<Pending> {
        self.in_flight.remove(&id.0)
    }

    /// A request in flight lost its connection: it goes again after
    /// `retry_at`, if its deadline allows (the expiry sees to that).
    pub(crate) fn lost(&mut self, id: AdminId, retry_at: Instant) {
        if let Some(mut p) = self.in_flight.remove(&id.0) {
            p.retry_at = Some(retry_at);
            self.waiting.push_back(p);
        }
    }

    /// Records the outcome of `id`.
    pub(crate) fn complete(&mut self, id: AdminId, result: Result<AdminResponse, AdminError>) {
        self.results.insert(id.0, result);
    }

    /// The outcome of `id`, once (taken).
    pub(crate) fn take_result(&mut self, id: AdminId) -> Option<Result<AdminResponse, AdminError>> {
        self.results.remove(&id.0)
    }

    /// The requests whose deadline passed at `now`, waiting or in flight
    /// (a late answer to one in flight is dropped), with their API names.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<(AdminId, &'static str)> {
        let mut expired = Vec::new();
        self.waiting.retain(|p| {
            let keep = p.deadline > now;
            if !keep {
                expired.push((p.id, p.request.api()));
            }
            keep
        });
        self.in_flight.retain(|_, p| {
            let keep = p.deadline > now;
            if !keep {
                expired.push((p.id, p.request.api()));
            }
            keep
        });
        expired.sort_unstable_by_key(|e| e.0);
        expired
    }

    /// Every request not answered yet (the producer closes or failed).
    pub(crate) fn drain(&mut self) -> Vec<AdminId> {
        let mut ids: Vec<AdminId> = self
            .waiting
            .drain(..)
            .map(|p| p.id)
            .chain(self.in_flight.drain().map(|(_, p)| p.id))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Whether any request waits to be sent.
    pub(crate) fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// The earliest deadline or retry time among the requests.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.waiting
            .iter()
            .flat_map(|p| [Some(p.deadline), p.retry_at])
            .chain(self.in_flight.values().map(|p| Some(p.deadline)))
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn metadata() -> AdminRequest {
        AdminRequest::Metadata(MetadataRequest::default())
    }

    #[test]
    fn requests_wait_go_out_come_back_and_expire() {
        let t0 = crate::testing::t0();
        let mut admin = Admin::default();
        let a = admin.submit(metadata(), t0 + Duration::from_secs(10));
        let b = admin.submit(metadata(), t0 + Duration::from_secs(1));
        assert_eq!(admin.next_deadline(), Some(t0 + Duration::from_secs(1)));
        let first = admin.take_due(t0).unwrap();
        assert_eq!(first.id, a);
        admin.sent(first);
        // Lost: it waits for its retry time, b goes first.
        admin.lost(a, t0 + Duration::from_millis(100));
        assert_eq!(admin.take_due(t0).map(|p| p.id), Some(b));
        assert!(admin.take_due(t0).is_none());
        assert_eq!(
            admin
                .take_due(t0 + Duration::from_millis(100))
                .map(|p| p.id),
            Some(a)
        );
        // b was taken and not sent: put back, it expires at its deadline.
        admin.put_back(Pending {
            id: b,
            request: metadata(),
            deadline: t0 + Duration::from_secs(1),
            retry_at: None,
        });
        assert_eq!(admin.expire(t0 + Duration::from_secs(1)), [(b, "Metadata")]);
        admin.complete(a, Err(AdminError::Closed));
        assert_eq!(admin.take_result(a), Some(Err(AdminError::Closed)));
        assert_eq!(admin.take_result(a), None);
        assert!(admin.drain().is_empty());
    }
}
