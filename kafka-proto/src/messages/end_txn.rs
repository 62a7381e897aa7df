//! EndTxn (API key 26): commit or abort a transaction.

kafka_struct! {
    /// EndTxnRequest.
    pub struct EndTxnRequest {
        /// Transactional id.
        transactional_id: String [0..],
        /// Producer id.
        producer_id: i64 [0..],
        /// Producer epoch.
        producer_epoch: i16 [0..],
        /// Committed.
        committed: bool [0..],
    }
}

kafka_struct! {
    /// EndTxnResponse.
    pub struct EndTxnResponse {
        /// Throttle time ms.
        throttle_time_ms: i32 [0..],
        /// Error code.
        error_code: i16 [0..],
        /// Producer id (v5+).
        producer_id: i64 [5..] default -1,
        /// Producer epoch (v5+).
        producer_epoch: i16 [5..] default -1,
    }
}

kafka_message!(EndTxnRequest, api_key: crate::ApiKey::EndTxn, versions: 0..=5, flexible: 3..);
kafka_message!(EndTxnResponse, api_key: crate::ApiKey::EndTxn, versions: 0..=5, flexible: 3..);
kafka_request!(EndTxnRequest => EndTxnResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<EndTxnRequest>();
        check_round_trip::<EndTxnResponse>();
    }
}
