//! AddOffsetsToTxn (API key 25): add a consumer group's offsets to a transaction.

kafka_struct! {
    /// AddOffsetsToTxnRequest.
    pub struct AddOffsetsToTxnRequest {
        /// Transactional id.
        transactional_id: String [0..],
        /// Producer id.
        producer_id: i64 [0..],
        /// Producer epoch.
        producer_epoch: i16 [0..],
        /// Group id.
        group_id: String [0..],
    }
}

kafka_struct! {
    /// AddOffsetsToTxnResponse.
    pub struct AddOffsetsToTxnResponse {
        /// Throttle time ms.
        throttle_time_ms: i32 [0..],
        /// Error code.
        error_code: i16 [0..],
    }
}

kafka_message!(AddOffsetsToTxnRequest, api_key: crate::ApiKey::AddOffsetsToTxn, versions: 0..=4, flexible: 3..);
kafka_message!(AddOffsetsToTxnResponse, api_key: crate::ApiKey::AddOffsetsToTxn, versions: 0..=4, flexible: 3..);
kafka_request!(AddOffsetsToTxnRequest => AddOffsetsToTxnResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<AddOffsetsToTxnRequest>();
        check_round_trip::<AddOffsetsToTxnResponse>();
    }
}
