//! Request dispatch and the handlers of every API except Produce.

use std::time::Instant;

use bytes::Bytes;
use kafka_proto::messages::add_offsets_to_txn::AddOffsetsToTxnRequest;
use kafka_proto::messages::add_partitions_to_txn::AddPartitionsToTxnRequest;
use kafka_proto::messages::api_versions::{
    ApiVersion, ApiVersionsRequest, ApiVersionsResponse, FinalizedFeatureKey,
};
use kafka_proto::messages::create_topics::{
    CreatableTopic, CreatableTopicResult, CreateTopicsRequest, CreateTopicsResponse,
};
use kafka_proto::messages::end_txn::EndTxnRequest;
use kafka_proto::messages::find_coordinator::FindCoordinatorRequest;
use kafka_proto::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafka_proto::messages::list_offsets::{
    ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopicResponse,
};
use kafka_proto::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition,
    MetadataResponseTopic,
};
use kafka_proto::messages::txn_offset_commit::TxnOffsetCommitRequest;
use kafka_proto::messages::{AnyRequest, decode_request};
use kafka_proto::primitives::Uuid;
use kafka_proto::{ApiKey, ErrorCode};

use crate::cluster::{
    BROKER_PORT, MAX_PARTITIONS, Outcome, ProducerIdEntry, SimCluster, broker_host, respond,
};
use crate::config::InitProducerIdPolicy;
use crate::net::ConnId;
use crate::partition::{Topic, valid_topic_name};

/// Kafka's rule for `client_software_name` and `client_software_version`
/// (ApiVersions v3+, KIP-511).
fn valid_software_field(s: &str) -> bool {
    let b = s.as_bytes();
    let inner = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.';
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() && b.iter().all(inner)
        }
        _ => false,
    }
}

impl SimCluster {
    /// Decodes and handles one request frame (header and body, without
    /// the size prefix) on `conn` to `broker`, at `now`.
    pub(crate) fn dispatch(
        &mut self,
        conn: ConnId,
        broker: i32,
        frame: Bytes,
        now: Instant,
    ) -> Outcome {
        let [k0, k1, v0, v1, c0, c1, c2, c3, ..] = frame[..] else {
            return Outcome::Close;
        };
        let api_key = ApiKey(i16::from_be_bytes([k0, k1]));
        let version = i16::from_be_bytes([v0, v1]);
        let correlation_id = i32::from_be_bytes([c0, c1, c2, c3]);
        let needs_auth = self.config.require_sasl
            && self.config.sasl.is_some()
            && !self.conns.get(&conn).is_some_and(|c| c.auth.is_done());
        if needs_auth
            && !matches!(
                api_key,
                ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate
            )
        {
            // Kafka closes a connection that sends anything else before
            // authenticating.
            return Outcome::Close;
        }
        let supported = self
            .api_ranges(broker)
            .iter()
            .any(|r| r.api_key == api_key && (r.min_version..=r.max_version).contains(&version));
        if api_key == ApiKey::ApiVersions && !supported {
            // KIP-511: answer a version we do not know with our versions,
            // encoded at v0, so that the client can pick one.
            self.count_request(api_key);
            let body = ApiVersionsResponse {
                error_code: ErrorCode::UNSUPPORTED_VERSION.0,
                api_keys: self.api_version_list(broker),
                ..Default::default()
            };
            return respond::<ApiVersionsRequest>(correlation_id, 0, &body);
        }
        if !supported {
            // Kafka cannot parse a version it does not support and closes
            // the connection.
            return Outcome::Close;
        }
        let Ok((_header, request)) = decode_request(frame) else {
            return Outcome::Close;
        };
        self.count_request(api_key);
        if let Some(now) = self.now() {
            self.expire_transactions(now);
        }
        let cid = correlation_id;
        match request {
            AnyRequest::ApiVersions(r) => {
                let body = self.api_versions(&r, version, broker);
                respond::<ApiVersionsRequest>(cid, version, &body)
            }
            AnyRequest::Metadata(r) => {
                let body = self.metadata(&r, version);
                respond::<MetadataRequest>(cid, version, &body)
            }
            AnyRequest::Produce(r) => self.produce(broker, r, version, cid),
            AnyRequest::InitProducerId(r) => {
                let body = match r.transactional_id.as_deref() {
                    Some(id) if !id.is_empty() => {
                        self.txn_init_producer_id(broker, id, &r, version)
                    }
                    _ => self.init_producer_id(&r),
                };
                respond::<InitProducerIdRequest>(cid, version, &body)
            }
            AnyRequest::CreateTopics(r) => {
                let body = self.create_topics(&r, version);
                respond::<CreateTopicsRequest>(cid, version, &body)
            }
            AnyRequest::ListOffsets(r) => {
                let body = self.list_offsets(broker, &r);
                respond::<ListOffsetsRequest>(cid, version, &body)
            }
            AnyRequest::FindCoordinator(r) => {
                let body = self.find_coordinator(&r, version);
                respond::<FindCoordinatorRequest>(cid, version, &body)
            }
            AnyRequest::AddPartitionsToTxn(r) => {
                let body = self.add_partitions_to_txn(broker, &r, version);
                respond::<AddPartitionsToTxnRequest>(cid, version, &body)
            }
            AnyRequest::AddOffsetsToTxn(r) => {
                let body = self.add_offsets_to_txn(broker, &r, version);
                respond::<AddOffsetsToTxnRequest>(cid, version, &body)
            }
            AnyRequest::EndTxn(r) => {
                let body = self.end_txn(broker, &r, version);
                respond::<EndTxnRequest>(cid, version, &body)
            }
            AnyRequest::TxnOffsetCommit(r) => {
                let body = self.txn_offset_commit(broker, &r, version);
                respond::<TxnOffsetCommitRequest>(cid, version, &body)
            }
            AnyRequest::SaslHandshake(r) => self.sasl_handshake(conn, &r, version, cid, now),
            AnyRequest::SaslAuthenticate(r) => self.sasl_authenticate(conn, &r, version, cid, now),
            // Fetch and whatever the codec learns later: not served.
            _ => Outcome::Close,
        }
    }

    fn count_request(&mut self, api_key: ApiKey) {
        *self.stats.requests.entry(api_key.0).or_default() += 1;
    }

    fn api_version_list(&self, broker: i32) -> Vec<ApiVersion> {
        self.api_ranges(broker)
            .iter()
            .map(|r| ApiVersion {
                api_key: r.api_key.0,
                min_version: r.min_version,
                max_version: r.max_version,
                ..Default::default()
            })
            .collect()
    }

    fn api_versions(
        &self,
        r: &ApiVersionsRequest,
        version: i16,
        broker: i32,
    ) -> ApiVersionsResponse {
        if version >= 3
            && !(valid_software_field(&r.client_software_name)
                && valid_software_field(&r.client_software_version))
        {
            return ApiVersionsResponse {
                error_code: ErrorCode::INVALID_REQUEST.0,
                ..Default::default()
            };
        }
        ApiVersionsResponse {
            api_keys: self.api_version_list(broker),
            finalized_features_epoch: 1,
            finalized_features: vec![FinalizedFeatureKey {
                name: "transaction.version".into(),
                max_version_level: self.config.transaction_version,
                min_version_level: self.config.transaction_version,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn metadata(&mut self, r: &MetadataRequest, version: i16) -> MetadataResponse {
        // v0 asks for every topic with an empty list, v1+ with null.
        let requested: Option<Vec<(Option<String>, Uuid)>> = match &r.topics {
            None => None,
            Some(t) if t.is_empty() && version == 0 => None,
            Some(t) => Some(t.iter().map(|t| (t.name.clone(), t.topic_id)).collect()),
        };
        let mut topics = Vec::new();
        match requested {
            None => {
                for (name, t) in &self.topics {
                    topics.push(self.topic_metadata(name, t));
                }
            }
            Some(list) => {
                for (name, id) in list {
                    let name = match name {
                        Some(n) => n,
                        None => match self
                            .topics
                            .iter()
                            .find(|(_, t)| t.id == id && id != Uuid::ZERO)
                        {
                            Some((n, _)) => n.clone(),
                            None => {
                                topics.push(MetadataResponseTopic {
                                    error_code: ErrorCode::UNKNOWN_TOPIC_ID.0,
                                    name: None,
                                    topic_id: id,
                                    ..Default::default()
                                });
                                continue;
                            }
                        },
                    };
                    if !self.topics.contains_key(&name) {
                        let error = if !valid_topic_name(&name) {
                            Some(ErrorCode::INVALID_TOPIC_EXCEPTION)
                        } else if let Some(n) = self.spec.auto_create_partitions.filter(|n| {
                            (1..=MAX_PARTITIONS).contains(n) && r.allow_auto_topic_creation
                        }) {
                            self.create_topic(&name, n, None);
                            None
                        } else {
                            Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
                        };
                        if let Some(e) = error {
                            topics.push(MetadataResponseTopic {
                                error_code: e.0,
                                name: Some(name),
                                ..Default::default()
                            });
                            continue;
                        }
                    }
                    match self.topics.get(&name) {
                        Some(t) => topics.push(self.topic_metadata(&name, t)),
                        None => topics.push(MetadataResponseTopic {
                            error_code: ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0,
                            name: Some(name),
                            ..Default::default()
                        }),
                    }
                }
            }
        }
        let live: Vec<i32> = self.live_brokers();
        MetadataResponse {
            brokers: live
                .iter()
                .map(|&b| MetadataResponseBroker {
                    node_id: b,
                    host: broker_host(b),
                    port: i32::from(BROKER_PORT),
                    rack: None,
                    ..Default::default()
                })
                .collect(),
            cluster_id: Some(self.config.cluster_id.clone()),
            controller_id: live.first().copied().unwrap_or(-1),
            topics,
            ..Default::default()
        }
    }

    pub(crate) fn live_brokers(&self) -> Vec<i32> {
        self.spec
            .brokers
            .iter()
            .copied()
            .filter(|b| self.is_broker_up(*b))
            .collect()
    }

    fn topic_metadata(&self, name: &str, t: &Topic) -> MetadataResponseTopic {
        MetadataResponseTopic {
            name: Some(name.to_owned()),
            topic_id: t.id,
            partitions: t
                .partitions
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let (isr, offline): (Vec<i32>, Vec<i32>) =
                        p.replicas.iter().partition(|b| self.is_broker_up(**b));
                    MetadataResponsePartition {
                        error_code: if p.leader < 0 {
                            ErrorCode::LEADER_NOT_AVAILABLE.0
                        } else {
                            0
                        },
                        partition_index: i as i32,
                        leader_id: p.leader,
                        leader_epoch: p.leader_epoch,
                        replica_nodes: p.replicas.clone(),
                        isr_nodes: isr,
                        offline_replicas: offline,
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        }
    }

    pub(crate) fn allocate_producer_id(&mut self) -> InitProducerIdResponse {
        let id = self.next_producer_id;
        self.next_producer_id += 1;
        self.producer_ids.insert(id, ProducerIdEntry { epoch: 0 });
        self.stats.producer_ids_allocated += 1;
        InitProducerIdResponse {
            producer_id: id,
            producer_epoch: 0,
            ..Default::default()
        }
    }

    /// InitProducerId without a transactional id (idempotence; the
    /// transactional form is the coordinator's, in `txn.rs`).
    fn init_producer_id(&mut self, r: &InitProducerIdRequest) -> InitProducerIdResponse {
        let error = |code: ErrorCode| InitProducerIdResponse {
            error_code: code.0,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        };
        if r.transactional_id.as_deref() == Some("") {
            return error(ErrorCode::INVALID_REQUEST);
        }
        let bump = r.transactional_id.is_none()
            && r.producer_id >= 0
            && self.config.init_producer_id == InitProducerIdPolicy::BumpEpoch;
        if !bump {
            return self.allocate_producer_id();
        }
        let Some(entry) = self.producer_ids.get_mut(&r.producer_id) else {
            return error(self.config.unknown_producer_bump_error);
        };
        if r.producer_epoch != entry.epoch {
            // Not the current epoch: fenced (another instance bumped it), or
            // a retry of a bump whose answer was lost; either way the
            // producer must start over with a fresh id, which is safe.
            return error(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        if entry.epoch >= i16::MAX - 1 {
            // Epochs exhausted: a new id, as the coordinator does.
            return self.allocate_producer_id();
        }
        entry.epoch += 1;
        self.stats.epoch_bumps += 1;
        InitProducerIdResponse {
            producer_id: r.producer_id,
            producer_epoch: entry.epoch,
            ..Default::default()
        }
    }

    fn create_topics(&mut self, r: &CreateTopicsRequest, version: i16) -> CreateTopicsResponse {
        let mut results = Vec::with_capacity(r.topics.len());
        for (i, t) in r.topics.iter().enumerate() {
            let duplicate = r.topics[..i].iter().any(|o| o.name == t.name)
                || r.topics[i + 1..].iter().any(|o| o.name == t.name);
            let (code, message, partitions) = if duplicate {
                (
                    ErrorCode::INVALID_REQUEST,
                    Some("Duplicate topic name."),
                    -1,
                )
            } else {
                self.create_one(t, r.validate_only)
            };
            let ok = code == ErrorCode::NONE;
            results.push(CreatableTopicResult {
                name: t.name.clone(),
                topic_id: if ok {
                    self.topics.get(&t.name).map_or(Uuid::ZERO, |x| x.id)
                } else {
                    Uuid::ZERO
                },
                error_code: code.0,
                error_message: message.map(str::to_owned),
                num_partitions: if ok { partitions } else { -1 },
                replication_factor: if ok {
                    self.spec.brokers.len() as i16
                } else {
                    -1
                },
                configs: (ok && version >= 5).then(Vec::new),
                ..Default::default()
            });
        }
        CreateTopicsResponse {
            topics: results,
            ..Default::default()
        }
    }

    fn create_one(
        &mut self,
        t: &CreatableTopic,
        validate_only: bool,
    ) -> (ErrorCode, Option<&'static str>, i32) {
        if !valid_topic_name(&t.name) {
            return (
                ErrorCode::INVALID_TOPIC_EXCEPTION,
                Some("Invalid topic name."),
                -1,
            );
        }
        if self.topics.contains_key(&t.name) {
            return (ErrorCode::TOPIC_ALREADY_EXISTS, None, -1);
        }
        let broker_count = self.spec.brokers.len() as i16;
        let assignment: Option<Vec<Vec<i32>>> = if t.assignments.is_empty() {
            None
        } else {
            if t.num_partitions != -1 || t.replication_factor != -1 {
                return (
                    ErrorCode::INVALID_REQUEST,
                    Some("Both an assignment and a partition count or replication factor."),
                    -1,
                );
            }
            let mut sets: Vec<(i32, Vec<i32>)> = t
                .assignments
                .iter()
                .map(|a| (a.partition_index, a.broker_ids.clone()))
                .collect();
            sets.sort_by_key(|(p, _)| *p);
            let valid = sets.iter().enumerate().all(|(i, (p, brokers))| {
                *p == i as i32
                    && !brokers.is_empty()
                    && brokers.iter().all(|b| self.brokers.contains_key(b))
            });
            if !valid {
                return (ErrorCode::INVALID_REPLICA_ASSIGNMENT, None, -1);
            }
            if sets.len() > MAX_PARTITIONS as usize {
                return (ErrorCode::INVALID_PARTITIONS, None, -1);
            }
            Some(sets.into_iter().map(|(_, b)| b).collect())
        };
        let partitions = match &assignment {
            Some(a) => a.len() as i32,
            None if t.num_partitions == -1 => self
                .spec
                .auto_create_partitions
                .filter(|n| (1..=MAX_PARTITIONS).contains(n))
                .unwrap_or(1),
            None if t.num_partitions <= 0 || t.num_partitions > MAX_PARTITIONS => {
                return (ErrorCode::INVALID_PARTITIONS, None, -1);
            }
            None => t.num_partitions,
        };
        if assignment.is_none()
            && (t.replication_factor == 0
                || t.replication_factor < -1
                || t.replication_factor > broker_count)
        {
            return (ErrorCode::INVALID_REPLICATION_FACTOR, None, -1);
        }
        if !validate_only {
            self.create_topic(&t.name, partitions, assignment);
        }
        (ErrorCode::NONE, None, partitions)
    }

    fn list_offsets(&self, broker: i32, r: &ListOffsetsRequest) -> ListOffsetsResponse {
        let topics = r
            .topics
            .iter()
            .map(|t| ListOffsetsTopicResponse {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        let mut out = ListOffsetsPartitionResponse {
                            partition_index: p.partition_index,
                            ..Default::default()
                        };
                        let part = usize::try_from(p.partition_index)
                            .ok()
                            .and_then(|i| self.topics.get(&t.name)?.partitions.get(i));
                        let code = match part {
                            None => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                            Some(part) if part.leader != broker => {
                                ErrorCode::NOT_LEADER_OR_FOLLOWER
                            }
                            Some(part)
                                if p.current_leader_epoch >= 0
                                    && p.current_leader_epoch < part.leader_epoch =>
                            {
                                ErrorCode::FENCED_LEADER_EPOCH
                            }
                            Some(part) if p.current_leader_epoch > part.leader_epoch => {
                                ErrorCode::UNKNOWN_LEADER_EPOCH
                            }
                            Some(part) => {
                                // -1 latest, -2 and -4 earliest (nothing
                                // is ever deleted), -3 the largest
                                // timestamp (KIP-734), else the first
                                // record at or after the timestamp.
                                let (offset, timestamp) = match p.timestamp {
                                    -1 => (part.log_end, -1),
                                    -2 | -4 => (0, -1),
                                    -3 => part
                                        .records
                                        .iter()
                                        .fold(
                                            None::<&crate::StoredRecord>,
                                            |best, rec| match best {
                                                Some(b) if b.timestamp >= rec.timestamp => Some(b),
                                                _ => Some(rec),
                                            },
                                        )
                                        .map_or((-1, -1), |rec| (rec.offset, rec.timestamp)),
                                    ts if ts < 0 => (-1, -1),
                                    ts => part
                                        .records
                                        .iter()
                                        .find(|rec| rec.timestamp >= ts)
                                        .map_or((-1, -1), |rec| (rec.offset, rec.timestamp)),
                                };
                                out.offset = offset;
                                out.timestamp = timestamp;
                                out.leader_epoch = part.leader_epoch;
                                out.old_style_offsets = vec![offset];
                                ErrorCode::NONE
                            }
                        };
                        out.error_code = code.0;
                        out
                    })
                    .collect(),
                ..Default::default()
            })
            .collect();
        ListOffsetsResponse {
            topics,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::valid_software_field;

    #[test]
    fn software_fields() {
        for ok in ["a", "kafka-rs", "1.2.3", "a-b.c9"] {
            assert!(valid_software_field(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a b", "a_b", ".a"] {
            assert!(!valid_software_field(bad), "{bad}");
        }
    }
}
