//! InitProducerId (API key 22): obtain a producer id and epoch for idempotence and transactions.

kafka_struct! {
    /// InitProducerIdRequest.
    pub struct InitProducerIdRequest {
        /// Transactional id.
        transactional_id: Option<String> [0..],
        /// Transaction timeout ms.
        transaction_timeout_ms: i32 [0..],
        /// Producer id (v3+).
        producer_id: i64 [3..] default -1,
        /// Producer epoch (v3+).
        producer_epoch: i16 [3..] default -1,
    }
}

kafka_struct! {
    /// InitProducerIdResponse.
    pub struct InitProducerIdResponse {
        /// Throttle time ms.
        throttle_time_ms: i32 [0..],
        /// Error code.
        error_code: i16 [0..],
        /// Producer id.
        producer_id: i64 [0..] default -1,
        /// Producer epoch.
        producer_epoch: i16 [0..],
    }
}

kafka_message!(InitProducerIdRequest, api_key: crate::ApiKey::InitProducerId, versions: 0..=5, flexible: 2..);
kafka_message!(InitProducerIdResponse, api_key: crate::ApiKey::InitProducerId, versions: 0..=5, flexible: 2..);
kafka_request!(InitProducerIdRequest => InitProducerIdResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<InitProducerIdRequest>();
        check_round_trip::<InitProducerIdResponse>();
    }
}
