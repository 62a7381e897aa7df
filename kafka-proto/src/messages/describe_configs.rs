//! DescribeConfigs (API key 32): the configuration of topics and brokers,
//! for tooling (`kprod topic describe` prints a topic's overrides as
//! kafka-topics does).
//!
//! Versions 0–4 are declared: v1 adds synonyms and each entry's source
//! (v0 has `is_default` instead), v3 adds types and documentation, and v4
//! switches to the flexible encoding.

kafka_struct! {
    /// DescribeConfigs request, versions 0–4.
    pub struct DescribeConfigsRequest {
        /// The resources whose configuration to describe.
        resources: Vec<DescribeConfigsResource> [0..],
        /// Whether to list each entry's synonyms (v1+).
        include_synonyms: bool [1..],
        /// Whether to include each entry's documentation (v3+).
        include_documentation: bool [3..],
    }
}

kafka_struct! {
    /// One resource in a [`DescribeConfigsRequest`].
    pub struct DescribeConfigsResource {
        /// The resource type: 2 for a topic, 4 for a broker, 8 for a broker
        /// logger ([`RESOURCE_TOPIC`], [`RESOURCE_BROKER`]).
        resource_type: i8 [0..],
        /// The resource name: the topic name, or the broker id.
        resource_name: String [0..],
        /// The keys to describe, or null for all of them.
        configuration_keys: Option<Vec<String>> [0..],
    }
}

kafka_struct! {
    /// DescribeConfigs response, versions 0–4.
    pub struct DescribeConfigsResponse {
        /// How long, in milliseconds, the broker throttled this request for a
        /// quota violation; 0 when it did not.
        throttle_time_ms: i32 [0..],
        /// The result for each resource.
        results: Vec<DescribeConfigsResult> [0..],
    }
}

kafka_struct! {
    /// The result for one resource in a [`DescribeConfigsResponse`].
    pub struct DescribeConfigsResult {
        /// The error code, or 0 on success.
        error_code: i16 [0..],
        /// A description of the error, or null.
        error_message: Option<String> [0..],
        /// The resource type.
        resource_type: i8 [0..],
        /// The resource name.
        resource_name: String [0..],
        /// The resource's configuration entries.
        configs: Vec<DescribeConfigsResourceResult> [0..],
    }
}

kafka_struct! {
    /// One configuration entry in a [`DescribeConfigsResult`].
    pub struct DescribeConfigsResourceResult {
        /// The configuration name.
        name: String [0..],
        /// The value, or null (sensitive values are null).
        value: Option<String> [0..],
        /// Whether the entry cannot be changed.
        read_only: bool [0..],
        /// Whether the value is the default (v0 only; later versions give
        /// [`config_source`](Self::config_source)).
        is_default: bool [0..=0],
        /// Where the value comes from ([`SOURCE_DEFAULT`] and the other
        /// `SOURCE_*` codes), or -1 (v1+).
        config_source: i8 [1..] default -1,
        /// Whether the value is sensitive.
        is_sensitive: bool [0..],
        /// The entry's synonyms, in order of precedence (v1+).
        synonyms: Vec<DescribeConfigsSynonym> [1..],
        /// The value's type (v3+): 1 boolean, 2 string, 3 int, 4 short,
        /// 5 long, 6 double, 7 list, 8 class, 9 password; 0 unknown.
        config_type: i8 [3..],
        /// The entry's documentation, or null (v3+).
        documentation: Option<String> [3..],
    }
}

kafka_struct! {
    /// A synonym of a configuration entry (v1+): the same setting under
    /// another name or at another level.
    pub struct DescribeConfigsSynonym {
        /// The synonym's name.
        name: String [1..],
        /// Its value, or null.
        value: Option<String> [1..],
        /// Its source (a `SOURCE_*` code).
        source: i8 [1..],
    }
}

/// [`DescribeConfigsResource::resource_type`] of a topic.
pub const RESOURCE_TOPIC: i8 = 2;
/// [`DescribeConfigsResource::resource_type`] of a broker.
pub const RESOURCE_BROKER: i8 = 4;

/// [`DescribeConfigsResourceResult::config_source`]: unknown.
pub const SOURCE_UNKNOWN: i8 = 0;
/// Set on the topic itself (what `kafka-topics --describe` lists).
pub const SOURCE_TOPIC: i8 = 1;
/// A dynamic setting of one broker.
pub const SOURCE_DYNAMIC_BROKER: i8 = 2;
/// A dynamic setting for every broker.
pub const SOURCE_DYNAMIC_DEFAULT_BROKER: i8 = 3;
/// The broker's properties file.
pub const SOURCE_STATIC_BROKER: i8 = 4;
/// The built-in default.
pub const SOURCE_DEFAULT: i8 = 5;

impl DescribeConfigsResourceResult {
    /// Whether the value is the built-in default, as Java's
    /// `ConfigEntry::isDefault` says (v0's flag, or the source from v1).
    pub fn is_builtin_default(&self) -> bool {
        if self.config_source == -1 {
            self.is_default
        } else {
            self.config_source == SOURCE_DEFAULT
        }
    }
}

kafka_message!(DescribeConfigsRequest, api_key: crate::ApiKey::DescribeConfigs, versions: 0..=4, flexible: 4..);
kafka_message!(DescribeConfigsResponse, api_key: crate::ApiKey::DescribeConfigs, versions: 0..=4, flexible: 4..);
kafka_request!(DescribeConfigsRequest => DescribeConfigsResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<DescribeConfigsRequest>();
        check_round_trip::<DescribeConfigsResponse>();
    }
}
