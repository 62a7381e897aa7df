//! Kafka error codes.
//!
//! [`ErrorCode`] is a newtype over the `i16` on the wire, so that a code from
//! a newer broker is never lost; every code Kafka defines through 4.x has a
//! named constant, a name and a one-line description. [`ErrorCode::is_retriable`]
//! follows the Java client: true exactly for the codes whose exceptions are
//! `RetriableException`s (derived from the Java exception hierarchy of
//! Kafka 4.0; codes 129–133, added later, follow their KIP-defined semantics).

use std::fmt;

/// An error code from a Kafka response (0 is success).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ErrorCode(pub i16);

macro_rules! error_codes {
    ($($name:ident = $code:literal, $retriable:literal, $doc:literal;)*) => {
        impl ErrorCode {
            $(
                #[doc = $doc]
                pub const $name: ErrorCode = ErrorCode($code);
            )*

            /// Every code this table knows, in code order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode($code),)*];

            /// Kafka's name for the code, if known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// A one-line description, if the code is known.
            pub fn description(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some($doc),)*
                    _ => None,
                }
            }

            /// Whether the Java client treats the error as retriable (a
            /// `RetriableException`). Unknown codes are not retriable.
            pub fn is_retriable(self) -> bool {
                match self.0 {
                    $($code => $retriable,)*
                    _ => false,
                }
            }
        }
    };
}

error_codes! {
    UNKNOWN_SERVER_ERROR = -1, false, "The broker failed in a way it could not classify.";
    NONE = 0, false, "No error.";
    OFFSET_OUT_OF_RANGE = 1, false, "Offset out of range.";
    CORRUPT_MESSAGE = 2, true, "The broker found the batch corrupt (bad CRC, size or contents).";
    UNKNOWN_TOPIC_OR_PARTITION = 3, true, "The broker does not host this topic-partition (yet); metadata may be stale.";
    INVALID_FETCH_SIZE = 4, false, "Invalid fetch size.";
    LEADER_NOT_AVAILABLE = 5, true, "The partition has no leader right now, e.g. during an election.";
    NOT_LEADER_OR_FOLLOWER = 6, true, "The broker is not the leader of the partition; refresh metadata and retry.";
    REQUEST_TIMED_OUT = 7, true, "The broker did not finish the request in time (e.g. acks=all replication).";
    BROKER_NOT_AVAILABLE = 8, false, "The broker is not available.";
    REPLICA_NOT_AVAILABLE = 9, true, "Replica not available.";
    MESSAGE_TOO_LARGE = 10, false, "A batch is larger than the broker or topic accepts.";
    STALE_CONTROLLER_EPOCH = 11, false, "Stale controller epoch.";
    OFFSET_METADATA_TOO_LARGE = 12, false, "Offset metadata too large.";
    NETWORK_EXCEPTION = 13, true, "The connection broke before a response arrived.";
    COORDINATOR_LOAD_IN_PROGRESS = 14, true, "The coordinator is still loading its state.";
    COORDINATOR_NOT_AVAILABLE = 15, true, "No coordinator is available right now.";
    NOT_COORDINATOR = 16, true, "The broker is not the coordinator for this id; look it up again.";
    INVALID_TOPIC_EXCEPTION = 17, false, "The topic name is not valid.";
    RECORD_LIST_TOO_LARGE = 18, false, "The request carries a batch larger than a log segment.";
    NOT_ENOUGH_REPLICAS = 19, true, "Fewer in-sync replicas than min.insync.replicas; nothing was written.";
    NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20, true, "Written, but to fewer in-sync replicas than required.";
    INVALID_REQUIRED_ACKS = 21, false, "The acks value of the request is not valid.";
    ILLEGAL_GENERATION = 22, false, "Illegal generation.";
    INCONSISTENT_GROUP_PROTOCOL = 23, false, "Inconsistent group protocol.";
    INVALID_GROUP_ID = 24, false, "Invalid group ID.";
    UNKNOWN_MEMBER_ID = 25, false, "Unknown member ID.";
    INVALID_SESSION_TIMEOUT = 26, false, "Invalid session timeout.";
    REBALANCE_IN_PROGRESS = 27, false, "Rebalance in progress.";
    INVALID_COMMIT_OFFSET_SIZE = 28, false, "Invalid commit offset size.";
    TOPIC_AUTHORIZATION_FAILED = 29, false, "The client may not write to (or describe) the topic.";
    GROUP_AUTHORIZATION_FAILED = 30, false, "Group authorization failed.";
    CLUSTER_AUTHORIZATION_FAILED = 31, false, "The client lacks a cluster-level permission (e.g. IdempotentWrite).";
    INVALID_TIMESTAMP = 32, false, "A record timestamp is outside the range the topic accepts.";
    UNSUPPORTED_SASL_MECHANISM = 33, false, "The broker does not offer the requested SASL mechanism.";
    ILLEGAL_SASL_STATE = 34, false, "The SASL request does not fit the authentication state.";
    UNSUPPORTED_VERSION = 35, false, "The broker does not support this API version.";
    TOPIC_ALREADY_EXISTS = 36, false, "A topic with this name exists already.";
    INVALID_PARTITIONS = 37, false, "The partition count is not valid.";
    INVALID_REPLICATION_FACTOR = 38, false, "The replication factor is not valid for this cluster.";
    INVALID_REPLICA_ASSIGNMENT = 39, false, "Invalid replica assignment.";
    INVALID_CONFIG = 40, false, "Invalid config.";
    NOT_CONTROLLER = 41, true, "The broker is not the active controller.";
    INVALID_REQUEST = 42, false, "The request was malformed or sent to an incompatible broker.";
    UNSUPPORTED_FOR_MESSAGE_FORMAT = 43, false, "Unsupported for message format.";
    POLICY_VIOLATION = 44, false, "The request does not satisfy a broker policy.";
    OUT_OF_ORDER_SEQUENCE_NUMBER = 45, false, "The batch sequence number is not the one the broker expected next.";
    DUPLICATE_SEQUENCE_NUMBER = 46, false, "The broker already has this batch (a retry of a written batch).";
    INVALID_PRODUCER_EPOCH = 47, false, "The producer epoch is older than the broker's: this producer is fenced or stale.";
    INVALID_TXN_STATE = 48, false, "The transactional request is not valid in the transaction's current state.";
    INVALID_PRODUCER_ID_MAPPING = 49, false, "The producer id is not mapped to this transactional id.";
    INVALID_TRANSACTION_TIMEOUT = 50, false, "transaction.timeout.ms is above the broker's maximum.";
    CONCURRENT_TRANSACTIONS = 51, true, "The previous transaction of this producer is still completing.";
    TRANSACTION_COORDINATOR_FENCED = 52, false, "The transaction coordinator was replaced by a newer one.";
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53, false, "The client may not use this transactional id.";
    SECURITY_DISABLED = 54, false, "Security disabled.";
    OPERATION_NOT_ATTEMPTED = 55, false, "Operation not attempted.";
    KAFKA_STORAGE_ERROR = 56, true, "A disk error on the broker; the partition may move.";
    LOG_DIR_NOT_FOUND = 57, false, "Log dir not found.";
    SASL_AUTHENTICATION_FAILED = 58, false, "SASL authentication failed (e.g. wrong credentials).";
    UNKNOWN_PRODUCER_ID = 59, false, "The broker has no state for this producer id (e.g. it expired).";
    REASSIGNMENT_IN_PROGRESS = 60, false, "Reassignment in progress.";
    DELEGATION_TOKEN_AUTH_DISABLED = 61, false, "Delegation token auth disabled.";
    DELEGATION_TOKEN_NOT_FOUND = 62, false, "Delegation token not found.";
    DELEGATION_TOKEN_OWNER_MISMATCH = 63, false, "Delegation token owner mismatch.";
    DELEGATION_TOKEN_REQUEST_NOT_ALLOWED = 64, false, "Delegation token request not allowed.";
    DELEGATION_TOKEN_AUTHORIZATION_FAILED = 65, false, "Delegation token authorization failed.";
    DELEGATION_TOKEN_EXPIRED = 66, false, "Delegation token expired.";
    INVALID_PRINCIPAL_TYPE = 67, false, "Invalid principal type.";
    NON_EMPTY_GROUP = 68, false, "Non empty group.";
    GROUP_ID_NOT_FOUND = 69, false, "Group ID not found.";
    FETCH_SESSION_ID_NOT_FOUND = 70, true, "Fetch session ID not found.";
    INVALID_FETCH_SESSION_EPOCH = 71, true, "Invalid fetch session epoch.";
    LISTENER_NOT_FOUND = 72, true, "Listener not found.";
    TOPIC_DELETION_DISABLED = 73, false, "Topic deletion disabled.";
    FENCED_LEADER_EPOCH = 74, true, "The leader epoch in the request is older than the broker's.";
    UNKNOWN_LEADER_EPOCH = 75, true, "The leader epoch in the request is newer than the broker's.";
    UNSUPPORTED_COMPRESSION_TYPE = 76, false, "Unsupported compression type.";
    STALE_BROKER_EPOCH = 77, false, "Stale broker epoch.";
    OFFSET_NOT_AVAILABLE = 78, true, "The offset is not available yet (leader catching up).";
    MEMBER_ID_REQUIRED = 79, false, "Member ID required.";
    PREFERRED_LEADER_NOT_AVAILABLE = 80, true, "Preferred leader not available.";
    GROUP_MAX_SIZE_REACHED = 81, false, "Group max size reached.";
    FENCED_INSTANCE_ID = 82, false, "Fenced instance ID.";
    ELIGIBLE_LEADERS_NOT_AVAILABLE = 83, true, "Eligible leaders not available.";
    ELECTION_NOT_NEEDED = 84, true, "Election not needed.";
    NO_REASSIGNMENT_IN_PROGRESS = 85, false, "No reassignment in progress.";
    GROUP_SUBSCRIBED_TO_TOPIC = 86, false, "Group subscribed to topic.";
    INVALID_RECORD = 87, false, "The broker rejected a record (e.g. a null key on a compacted topic).";
    UNSTABLE_OFFSET_COMMIT = 88, true, "Unstable offset commit.";
    THROTTLING_QUOTA_EXCEEDED = 89, true, "The request was rejected by a quota.";
    PRODUCER_FENCED = 90, false, "Another producer with the same transactional id has a newer epoch.";
    RESOURCE_NOT_FOUND = 91, false, "Resource not found.";
    DUPLICATE_RESOURCE = 92, false, "Duplicate resource.";
    UNACCEPTABLE_CREDENTIAL = 93, false, "Unacceptable credential.";
    INCONSISTENT_VOTER_SET = 94, false, "Inconsistent voter set.";
    INVALID_UPDATE_VERSION = 95, false, "Invalid update version.";
    FEATURE_UPDATE_FAILED = 96, false, "Feature update failed.";
    PRINCIPAL_DESERIALIZATION_FAILURE = 97, false, "Principal deserialization failure.";
    SNAPSHOT_NOT_FOUND = 98, false, "Snapshot not found.";
    POSITION_OUT_OF_RANGE = 99, false, "Position out of range.";
    UNKNOWN_TOPIC_ID = 100, true, "The broker does not know this topic id.";
    DUPLICATE_BROKER_REGISTRATION = 101, false, "Duplicate broker registration.";
    BROKER_ID_NOT_REGISTERED = 102, false, "Broker ID not registered.";
    INCONSISTENT_TOPIC_ID = 103, true, "The topic id does not match the topic name.";
    INCONSISTENT_CLUSTER_ID = 104, false, "Inconsistent cluster ID.";
    TRANSACTIONAL_ID_NOT_FOUND = 105, false, "Transactional ID not found.";
    FETCH_SESSION_TOPIC_ID_ERROR = 106, true, "Fetch session topic ID error.";
    INELIGIBLE_REPLICA = 107, false, "Ineligible replica.";
    NEW_LEADER_ELECTED = 108, false, "New leader elected.";
    OFFSET_MOVED_TO_TIERED_STORAGE = 109, false, "Offset moved to tiered storage.";
    FENCED_MEMBER_EPOCH = 110, false, "Fenced member epoch.";
    UNRELEASED_INSTANCE_ID = 111, false, "Unreleased instance ID.";
    UNSUPPORTED_ASSIGNOR = 112, false, "Unsupported assignor.";
    STALE_MEMBER_EPOCH = 113, false, "Stale member epoch.";
    MISMATCHED_ENDPOINT_TYPE = 114, false, "Mismatched endpoint type.";
    UNSUPPORTED_ENDPOINT_TYPE = 115, false, "Unsupported endpoint type.";
    UNKNOWN_CONTROLLER_ID = 116, false, "Unknown controller ID.";
    UNKNOWN_SUBSCRIPTION_ID = 117, false, "Unknown subscription ID.";
    TELEMETRY_TOO_LARGE = 118, false, "Telemetry too large.";
    INVALID_REGISTRATION = 119, false, "Invalid registration.";
    TRANSACTION_ABORTABLE = 120, false, "The transaction must be aborted, but the producer may continue (KIP-890).";
    INVALID_RECORD_STATE = 121, false, "Invalid record state.";
    SHARE_SESSION_NOT_FOUND = 122, true, "Share session not found.";
    INVALID_SHARE_SESSION_EPOCH = 123, true, "Invalid share session epoch.";
    FENCED_STATE_EPOCH = 124, false, "Fenced state epoch.";
    INVALID_VOTER_KEY = 125, false, "Invalid voter key.";
    DUPLICATE_VOTER = 126, false, "Duplicate voter.";
    VOTER_NOT_FOUND = 127, false, "Voter not found.";
    INVALID_REGULAR_EXPRESSION = 128, false, "Invalid regular expression.";
    REBOOTSTRAP_REQUIRED = 129, false, "Client metadata is stale; bootstrap again (KIP-1102).";
    STREAMS_INVALID_TOPOLOGY = 130, false, "Streams invalid topology.";
    STREAMS_INVALID_TOPOLOGY_EPOCH = 131, false, "Streams invalid topology epoch.";
    STREAMS_TOPOLOGY_FENCED = 132, false, "Streams topology fenced.";
    SHARE_SESSION_LIMIT_REACHED = 133, true, "Share session limit reached.";
}

impl ErrorCode {
    /// The code as sent on the wire.
    pub fn code(self) -> i16 {
        self.0
    }

    /// Whether this is success (`NONE`).
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// `Ok(())` for `NONE`, otherwise `Err(self)`.
    pub fn ok(self) -> Result<(), ErrorCode> {
        if self.is_ok() { Ok(()) } else { Err(self) }
    }
}

impl From<i16> for ErrorCode {
    fn from(code: i16) -> Self {
        ErrorCode(code)
    }
}

/// `NAME (n)`, e.g. `NOT_LEADER_OR_FOLLOWER (6)`, or `unknown error code n`;
/// the alternate form (`{:#}`) adds Kafka's description of the error.
/// The one formatter of error codes in every crate of the project.
impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0)?,
            None => write!(f, "unknown error code {}", self.0)?,
        }
        if f.alternate() {
            if let Some(doc) = self.description() {
                write!(f, ": {doc}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_named_and_ordered() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.0), "duplicate {}", c.0);
            assert!(c.name().is_some() && c.description().is_some());
        }
        assert!(ErrorCode::ALL.len() >= 130);
        assert_eq!(
            ErrorCode::ALL.first(),
            Some(&ErrorCode::UNKNOWN_SERVER_ERROR)
        );
        assert_eq!(ErrorCode::NONE.0, 0);
        assert_eq!(ErrorCode(6).name(), Some("NOT_LEADER_OR_FOLLOWER"));
        assert_eq!(ErrorCode(9999).name(), None);
        assert!(ErrorCode(9999).to_string().contains("9999"));
    }

    #[test]
    fn retriable_matches_the_java_client() {
        for c in [
            ErrorCode::NOT_LEADER_OR_FOLLOWER,
            ErrorCode::REQUEST_TIMED_OUT,
            ErrorCode::NETWORK_EXCEPTION,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            ErrorCode::NOT_ENOUGH_REPLICAS,
            ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            ErrorCode::NOT_COORDINATOR,
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
            ErrorCode::CONCURRENT_TRANSACTIONS,
            ErrorCode::LEADER_NOT_AVAILABLE,
            ErrorCode::CORRUPT_MESSAGE,
            ErrorCode::KAFKA_STORAGE_ERROR,
        ] {
            assert!(c.is_retriable(), "{c}");
        }
        for c in [
            ErrorCode::NONE,
            ErrorCode::INVALID_PRODUCER_EPOCH,
            ErrorCode::TOPIC_AUTHORIZATION_FAILED,
            ErrorCode::MESSAGE_TOO_LARGE,
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
            ErrorCode::DUPLICATE_SEQUENCE_NUMBER,
            ErrorCode::PRODUCER_FENCED,
            ErrorCode::UNKNOWN_PRODUCER_ID,
            ErrorCode(-2),
        ] {
            assert!(!c.is_retriable(), "{c}");
        }
    }
}
