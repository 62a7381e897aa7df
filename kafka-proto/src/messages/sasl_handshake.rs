//! SaslHandshake (API key 17): choose a SASL mechanism.

kafka_struct! {
    /// SaslHandshakeRequest.
    pub struct SaslHandshakeRequest {
        /// Mechanism.
        mechanism: String [0..],
    }
}

kafka_struct! {
    /// SaslHandshakeResponse.
    pub struct SaslHandshakeResponse {
        /// Error code.
        error_code: i16 [0..],
        /// Mechanisms.
        mechanisms: Vec<String> [0..],
    }
}

kafka_message!(SaslHandshakeRequest, api_key: crate::ApiKey::SaslHandshake, versions: 0..=1, flexible: none);
kafka_message!(SaslHandshakeResponse, api_key: crate::ApiKey::SaslHandshake, versions: 0..=1, flexible: none);
kafka_request!(SaslHandshakeRequest => SaslHandshakeResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_round_trip;

    #[test]
    fn round_trip_every_version() {
        check_round_trip::<SaslHandshakeRequest>();
        check_round_trip::<SaslHandshakeResponse>();
    }
}
