//! DeleteTopics (API key 20): delete topics, for tooling.
//!
//! Versions 0–6 are declared: v1 adds throttling, v4 switches to the
//! flexible encoding, v5 returns error messages, and v6 names topics by name
//! or id (KIP-516).

use crate::primitives::Uuid;

kafka_struct! {
    /// DeleteTopics request, versions 0–6.
    pub struct DeleteTopicsRequest {
        /// The topics to delete, by name or id (v6+).
        topics: Vec<DeleteTopicState> [6..],
        /// The names of the topics to delete (v0–5).
        topic_names: Vec<String> [0..=5],
        /// How long, in milliseconds, to wait for the deletion to finish.
        timeout_ms: i32 [0..] default 60000,
    }
}

kafka_struct! {
    /// One topic to delete in a [`DeleteTopicsRequest`] (v6+).
    pub struct DeleteTopicState {
        /// The topic name, or null to name it by id.
        name: Option<String> [6..],
        /// The topic id, or all zeros to name it by name.
        topic_id: Uuid [6..],
    }
}

kafka_struct! {
    /// DeleteTopics response, versions 0–6.
    pub struct DeleteTopicsResponse {
        /// How long, in milliseconds, the broker throttled this request for a
        /// quota violation; 0 when it did not (v1+).
        throttle_time_ms: i32 [1..],
        /// The result for each topic of the request.
        responses: Vec<DeletableTopicResult> [0..],
    }
}

kafka_struct! {
    /// The result for one topic in a [`DeleteTopicsResponse`].
    pub struct DeletableTopicResult {
        /// The topic name (null from v6 when the topic was named by id).
        name: Option<String> [0..] nullable [6..],
        /// The topic id (v6+).
        topic_id: Uuid [6..],
        /// The error code, or 0 on success.
        error_code: i16 [0..],
        /// A description of the error, or null (v5+).
        error_message: Option<String> [5..],
    }
}

kafka_message!(DeleteTopicsRequest, api_key: crate::ApiKey::DeleteTopics, versions: 0..=6, flexible: 4..);
kafka_message!(DeleteTopicsResponse, api_key: crate::ApiKey::DeleteTopics, versions: 0..=6, flexible: 4..);
kafka_request!(DeleteTopicsRequest => DeleteTopicsResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<DeleteTopicsRequest>();
        check_round_trip::<DeleteTopicsResponse>();
    }
}
