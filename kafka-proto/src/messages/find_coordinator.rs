//! FindCoordinator (API key 10): locate the transaction or group coordinator.

kafka_struct! {
    /// FindCoordinatorRequest.
    pub struct FindCoordinatorRequest {
        /// Key (v0-3).
        key: String [0..=3],
        /// Key type (v1+).
        key_type: i8 [1..],
        /// Coordinator keys (v4+).
        coordinator_keys: Vec<String> [4..],
    }
}

kafka_struct! {
    /// FindCoordinatorResponse.
    pub struct FindCoordinatorResponse {
        /// Throttle time ms (v1+).
        throttle_time_ms: i32 [1..],
        /// Error code (v0-3).
        error_code: i16 [0..=3],
        /// Error message (v1-3).
        error_message: Option<String> [1..=3],
        /// Node id (v0-3).
        node_id: i32 [0..=3],
        /// Host (v0-3).
        host: String [0..=3],
        /// Port (v0-3).
        port: i32 [0..=3],
        /// Coordinators (v4+).
        coordinators: Vec<Coordinator> [4..],
    }
}

kafka_struct! {
    /// Coordinator.
    pub struct Coordinator {
        /// Key (v4+).
        key: String [4..],
        /// Node id (v4+).
        node_id: i32 [4..],
        /// Host (v4+).
        host: String [4..],
        /// Port (v4+).
        port: i32 [4..],
        /// Error code (v4+).
        error_code: i16 [4..],
        /// Error message (v4+).
        error_message: Option<String> [4..],
    }
}

kafka_message!(FindCoordinatorRequest, api_key: crate::ApiKey::FindCoordinator, versions: 0..=6, flexible: 3..);
kafka_message!(FindCoordinatorResponse, api_key: crate::ApiKey::FindCoordinator, versions: 0..=6, flexible: 3..);
kafka_request!(FindCoordinatorRequest => FindCoordinatorResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<FindCoordinatorRequest>();
        check_round_trip::<FindCoordinatorResponse>();
    }
}
