//! AddPartitionsToTxn (API key 24): register partitions with an ongoing transaction.

kafka_struct! {
    /// AddPartitionsToTxnRequest.
    pub struct AddPartitionsToTxnRequest {
        /// Transactions (v4+).
        transactions: Vec<AddPartitionsToTxnTransaction> [4..],
        /// V3 and below transactional id (v0-3).
        v3_and_below_transactional_id: String [0..=3],
        /// V3 and below producer id (v0-3).
        v3_and_below_producer_id: i64 [0..=3],
        /// V3 and below producer epoch (v0-3).
        v3_and_below_producer_epoch: i16 [0..=3],
        /// V3 and below topics (v0-3).
        v3_and_below_topics: Vec<AddPartitionsToTxnTopic> [0..=3],
    }
}

kafka_struct! {
    /// AddPartitionsToTxnTransaction.
    pub struct AddPartitionsToTxnTransaction {
        /// Transactional id (v4+).
        transactional_id: String [4..],
        /// Producer id (v4+).
        producer_id: i64 [4..],
        /// Producer epoch (v4+).
        producer_epoch: i16 [4..],
        /// Verify only (v4+).
        verify_only: bool [4..],
        /// Topics (v4+).
        topics: Vec<AddPartitionsToTxnTopic> [4..],
    }
}

kafka_struct! {
    /// AddPartitionsToTxnTopic.
    pub struct AddPartitionsToTxnTopic {
        /// Name.
        name: String [0..],
        /// Partitions.
        partitions: Vec<i32> [0..],
    }
}

kafka_struct! {
    /// AddPartitionsToTxnResponse.
    pub struct AddPartitionsToTxnResponse {
        /// Throttle time ms.
        throttle_time_ms: i32 [0..],
        /// Error code (v4+).
        error_code: i16 [4..],
        /// Results by transaction (v4+).
        results_by_transaction: Vec<AddPartitionsToTxnResult> [4..],
        /// Results by topic v3 and below (v0-3).
        results_by_topic_v3_and_below: Vec<AddPartitionsToTxnTopicResult> [0..=3],
    }
}

kafka_struct! {
    /// AddPartitionsToTxnResult.
    pub struct AddPartitionsToTxnResult {
        /// Transactional id (v4+).
        transactional_id: String [4..],
        /// Topic results (v4+).
        topic_results: Vec<AddPartitionsToTxnTopicResult> [4..],
    }
}

kafka_struct! {
    /// AddPartitionsToTxnPartitionResult.
    pub struct AddPartitionsToTxnPartitionResult {
        /// Partition index.
        partition_index: i32 [0..],
        /// Partition error code.
        partition_error_code: i16 [0..],
    }
}

kafka_struct! {
    /// AddPartitionsToTxnTopicResult.
    pub struct AddPartitionsToTxnTopicResult {
        /// Name.
        name: String [0..],
        /// Results by partition.
        results_by_partition: Vec<AddPartitionsToTxnPartitionResult> [0..],
    }
}

kafka_message!(AddPartitionsToTxnRequest, api_key: crate::ApiKey::AddPartitionsToTxn, versions: 0..=5, flexible: 3..);
kafka_message!(AddPartitionsToTxnResponse, api_key: crate::ApiKey::AddPartitionsToTxn, versions: 0..=5, flexible: 3..);
kafka_request!(AddPartitionsToTxnRequest => AddPartitionsToTxnResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<AddPartitionsToTxnRequest>();
        check_round_trip::<AddPartitionsToTxnResponse>();
    }
}
