//! SaslAuthenticate (API key 36): carry SASL authentication bytes.

use bytes::Bytes;

kafka_struct! {
    /// SaslAuthenticateRequest.
    pub struct SaslAuthenticateRequest {
        /// Auth bytes.
        auth_bytes: Bytes [0..],
    }
}

kafka_struct! {
    /// SaslAuthenticateResponse.
    pub struct SaslAuthenticateResponse {
        /// Error code.
        error_code: i16 [0..],
        /// Error message.
        error_message: Option<String> [0..],
        /// Auth bytes.
        auth_bytes: Bytes [0..],
        /// Session lifetime ms (v1+).
        session_lifetime_ms: i64 [1..],
    }
}

kafka_message!(SaslAuthenticateRequest, api_key: crate::ApiKey::SaslAuthenticate, versions: 0..=2, flexible: 2..);
kafka_message!(SaslAuthenticateResponse, api_key: crate::ApiKey::SaslAuthenticate, versions: 0..=2, flexible: 2..);
kafka_request!(SaslAuthenticateRequest => SaslAuthenticateResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<SaslAuthenticateRequest>();
        check_round_trip::<SaslAuthenticateResponse>();
    }
}
