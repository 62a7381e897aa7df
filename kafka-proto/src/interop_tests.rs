//! Property cross-check against an independent implementation, the
//! `kafka-protocol` crate (generated from Apache Kafka's JSON schemas): for
//! every message and every version both support, arbitrary values encoded by
//! us must decode with kafka-protocol and re-encode to the very same bytes.
//! A field in the wrong version range, a wrong nullability, a classic length
//! where a compact one belongs or a tagged field with the wrong tag all
//! change the bytes (or fail their decoder).

use bytes::BytesMut;
use kafka_protocol::protocol::{Decodable, Encodable, Message as TheirMessage};
use proptest::test_runner::{Config, TestRunner};

use crate::Message;
use crate::messages::*;
use crate::testing::Arbitrary;

fn cross_check<M: Message + Arbitrary, T: Encodable + Decodable + TheirMessage>() {
    let lo = M::MIN_VERSION.max(T::VERSIONS.min);
    let hi = M::MAX_VERSION.min(T::VERSIONS.max);
    assert!(
        lo <= hi,
        "{}: no common version",
        std::any::type_name::<M>()
    );
    for version in lo..=hi {
        let v = M::wire_version(version).unwrap();
        let mut runner = TestRunner::new(Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&M::arbitrary(v, false), |value| {
                let mut ours = BytesMut::new();
                value.encode(&mut ours, version).unwrap();
                let mut buf = ours.clone().freeze();
                let theirs = T::decode(&mut buf, version).map_err(|e| {
                    proptest::test_runner::TestCaseError::fail(format!(
                        "kafka-protocol cannot decode: {e}"
                    ))
                })?;
                proptest::prop_assert!(buf.is_empty(), "kafka-protocol left {} bytes", buf.len());
                let mut again = BytesMut::new();
                theirs.encode(&mut again, version).unwrap();
                proptest::prop_assert_eq!(&again, &ours);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{} v{version}: {e}", std::any::type_name::<M>()));
    }
}

macro_rules! cross_checks {
    ($($test:ident: $ours:ty => $theirs:ty;)*) => {$(
        #[test]
        fn $test() {
            cross_check::<$ours, $theirs>();
        }
    )*};
}

use kafka_protocol::messages as kp;

cross_checks! {
    produce_request: produce::ProduceRequest => kp::ProduceRequest;
    produce_response: produce::ProduceResponse => kp::ProduceResponse;
    fetch_request: fetch::FetchRequest => kp::FetchRequest;
    fetch_response: fetch::FetchResponse => kp::FetchResponse;
    list_offsets_request: list_offsets::ListOffsetsRequest => kp::ListOffsetsRequest;
    list_offsets_response: list_offsets::ListOffsetsResponse => kp::ListOffsetsResponse;
    metadata_request: metadata::MetadataRequest => kp::MetadataRequest;
    metadata_response: metadata::MetadataResponse => kp::MetadataResponse;
    create_topics_request: create_topics::CreateTopicsRequest => kp::CreateTopicsRequest;
    create_topics_response: create_topics::CreateTopicsResponse => kp::CreateTopicsResponse;
    delete_topics_request: delete_topics::DeleteTopicsRequest => kp::DeleteTopicsRequest;
    delete_topics_response: delete_topics::DeleteTopicsResponse => kp::DeleteTopicsResponse;
    describe_configs_request: describe_configs::DescribeConfigsRequest => kp::DescribeConfigsRequest;
    describe_configs_response: describe_configs::DescribeConfigsResponse => kp::DescribeConfigsResponse;
    api_versions_request: api_versions::ApiVersionsRequest => kp::ApiVersionsRequest;
    api_versions_response: api_versions::ApiVersionsResponse => kp::ApiVersionsResponse;
    init_producer_id_request: init_producer_id::InitProducerIdRequest => kp::InitProducerIdRequest;
    init_producer_id_response: init_producer_id::InitProducerIdResponse => kp::InitProducerIdResponse;
    find_coordinator_request: find_coordinator::FindCoordinatorRequest => kp::FindCoordinatorRequest;
    find_coordinator_response: find_coordinator::FindCoordinatorResponse => kp::FindCoordinatorResponse;
    add_partitions_to_txn_request: add_partitions_to_txn::AddPartitionsToTxnRequest => kp::AddPartitionsToTxnRequest;
    add_partitions_to_txn_response: add_partitions_to_txn::AddPartitionsToTxnResponse => kp::AddPartitionsToTxnResponse;
    add_offsets_to_txn_request: add_offsets_to_txn::AddOffsetsToTxnRequest => kp::AddOffsetsToTxnRequest;
    add_offsets_to_txn_response: add_offsets_to_txn::AddOffsetsToTxnResponse => kp::AddOffsetsToTxnResponse;
    txn_offset_commit_request: txn_offset_commit::TxnOffsetCommitRequest => kp::TxnOffsetCommitRequest;
    txn_offset_commit_response: txn_offset_commit::TxnOffsetCommitResponse => kp::TxnOffsetCommitResponse;
    end_txn_request: end_txn::EndTxnRequest => kp::EndTxnRequest;
    end_txn_response: end_txn::EndTxnResponse => kp::EndTxnResponse;
    sasl_handshake_request: sasl_handshake::SaslHandshakeRequest => kp::SaslHandshakeRequest;
    sasl_handshake_response: sasl_handshake::SaslHandshakeResponse => kp::SaslHandshakeResponse;
    sasl_authenticate_request: sasl_authenticate::SaslAuthenticateRequest => kp::SaslAuthenticateRequest;
    sasl_authenticate_response: sasl_authenticate::SaslAuthenticateResponse => kp::SaslAuthenticateResponse;
}
