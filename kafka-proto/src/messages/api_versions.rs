//! ApiVersions (API key 18): the versions of every API a broker supports.

kafka_struct! {
    /// ApiVersionsRequest.
    pub struct ApiVersionsRequest {
        /// Client software name (v3+).
        client_software_name: String [3..],
        /// Client software version (v3+).
        client_software_version: String [3..],
    }
}

kafka_struct! {
    /// ApiVersionsResponse.
    pub struct ApiVersionsResponse {
        /// Error code.
        error_code: i16 [0..],
        /// Api keys.
        api_keys: Vec<ApiVersion> [0..],
        /// Throttle time ms (v1+).
        throttle_time_ms: i32 [1..],
        /// Supported features (v3+).
        supported_features: Vec<SupportedFeatureKey> [3..] tag 0,
        /// Finalized features epoch (v3+).
        finalized_features_epoch: i64 [3..] tag 1 default -1,
        /// Finalized features (v3+).
        finalized_features: Vec<FinalizedFeatureKey> [3..] tag 2,
        /// Zk migration ready (v3+).
        zk_migration_ready: bool [3..] tag 3,
    }
}

kafka_struct! {
    /// FinalizedFeatureKey.
    pub struct FinalizedFeatureKey {
        /// Name (v3+).
        name: String [3..],
        /// Max version level (v3+).
        max_version_level: i16 [3..],
        /// Min version level (v3+).
        min_version_level: i16 [3..],
    }
}

kafka_struct! {
    /// SupportedFeatureKey.
    pub struct SupportedFeatureKey {
        /// Name (v3+).
        name: String [3..],
        /// Min version (v3+).
        min_version: i16 [3..],
        /// Max version (v3+).
        max_version: i16 [3..],
    }
}

kafka_struct! {
    /// ApiVersion.
    pub struct ApiVersion {
        /// Api key.
        api_key: i16 [0..],
        /// Min version.
        min_version: i16 [0..],
        /// Max version.
        max_version: i16 [0..],
    }
}

kafka_message!(ApiVersionsRequest, api_key: crate::ApiKey::ApiVersions, versions: 0..=4, flexible: 3..);
kafka_message!(ApiVersionsResponse, api_key: crate::ApiKey::ApiVersions, versions: 0..=4, flexible: 3..);
kafka_request!(ApiVersionsRequest => ApiVersionsResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<ApiVersionsRequest>();
        check_round_trip::<ApiVersionsResponse>();
    }
}
