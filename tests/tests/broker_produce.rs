//! Our encoder against a real broker, read back by an independent client:
//! record batches built by kafka-proto (every codec, headers, null keys and
//! values, explicit timestamps, idempotent producer id / epoch / sequences)
//! are sent with our Produce request encoding to tansu, which checks the
//! sequences, and confluent-kafka (librdkafka, CRC checks on) reads them back.

use kafka_integration_tests::hex_json;
use kafka_integration_tests::tools::Tool;
use kafka_integration_tests::{RawClient, Tansu, python, require_tools};
use kafka_proto::compression::Compression;
use kafka_proto::messages::create_topics::{CreatableTopic, CreateTopicsRequest};
use kafka_proto::messages::init_producer_id::InitProducerIdRequest;
use kafka_proto::messages::metadata::{MetadataRequest, MetadataRequestTopic};
use kafka_proto::messages::produce::{PartitionProduceData, ProduceRequest, TopicProduceData};
use kafka_proto::record::{BatchOptions, Header, RecordBatchBuilder};
use serde_json::{Value, json};

#[test]
fn batches_we_encode_land_on_tansu_and_read_back_with_confluent_kafka() {
    require_tools!(Tool::Tansu, Tool::Python);
    let broker = Tansu::start();
    let mut client = RawClient::connect(broker.addr());

    let init_version = client.version_for::<InitProducerIdRequest>();
    let init = client.call(
        &InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: 60_000,
            ..Default::default()
        },
        init_version,
    );
    assert_eq!(
        init.error_code, 0,
        "InitProducerId v{init_version}: {init:?}"
    );
    let (pid, epoch) = (init.producer_id, init.producer_epoch);
    assert!(pid >= 0);

    let codecs = Compression::ALL;
    let create_version = client.version_for::<CreateTopicsRequest>();
    let created = client.call(
        &CreateTopicsRequest {
            topics: codecs
                .iter()
                .map(|c| CreatableTopic {
                    name: format!("ours-{c}"),
                    num_partitions: 1,
                    replication_factor: 1,
                    ..Default::default()
                })
                .collect(),
            timeout_ms: 10_000,
            ..Default::default()
        },
        create_version,
    );
    for t in &created.topics {
        assert_eq!(t.error_code, 0, "create {}: {:?}", t.name, t.error_message);
    }
    let metadata_version = client.version_for::<MetadataRequest>();
    let md = client.call(
        &MetadataRequest {
            topics: Some(
                codecs
                    .iter()
                    .map(|c| MetadataRequestTopic {
                        name: Some(format!("ours-{c}")),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        },
        metadata_version,
    );
    assert_eq!(md.topics.len(), codecs.len());
    assert!(
        md.topics
            .iter()
            .all(|t| t.error_code == 0 && t.partitions.len() == 1)
    );

    let produce_version = client.version_for::<ProduceRequest>();
    for codec in codecs {
        let topic = format!("ours-{codec}");
        let mut expected = Vec::new();
        let mut sequence = 0i32;
        for batch_no in 0..3 {
            let mut b = RecordBatchBuilder::new(codec);
            let n = [25, 1, 7][batch_no];
            let first_sequence = sequence;
            for i in 0..n {
                let k = expected.len();
                let key = (k % 4 != 1).then(|| format!("k{k}").into_bytes());
                let value: Option<Vec<u8>> = match k % 6 {
                    5 => None,
                    3 => Some((0u8..=255).rev().cycle().skip(k).take(100).collect()),
                    _ => Some(
                        format!("{codec} record {k} ")
                            .repeat(1 + i % 5)
                            .into_bytes(),
                    ),
                };
                let ts = 1_650_000_000_000 + k as i64 * 1000;
                let hv = format!("v{k}").into_bytes();
                let headers = [
                    Header {
                        key: "trace",
                        value: Some(&hv),
                    },
                    Header {
                        key: "empty",
                        value: None,
                    },
                ];
                let headers = &headers[..k % 3];
                b.append(ts, key.as_deref(), value.as_deref(), headers)
                    .unwrap();
                expected.push(json!({
                    "offset": k,
                    "timestamp": ts,
                    "key": hex_json(key.as_deref()),
                    "value": hex_json(value.as_deref()),
                    "headers": headers.iter().map(|h| json!([h.key, hex_json(h.value)])).collect::<Vec<_>>(),
                }));
                sequence += 1;
            }
            let batch = b
                .seal(&BatchOptions {
                    producer_id: pid,
                    producer_epoch: epoch,
                    base_sequence: first_sequence,
                    ..Default::default()
                })
                .unwrap();
            let resp = client.call(
                &ProduceRequest {
                    transactional_id: None,
                    acks: -1,
                    timeout_ms: 10_000,
                    topic_data: vec![TopicProduceData {
                        name: topic.clone(),
                        partition_data: vec![PartitionProduceData {
                            index: 0,
                            records: Some(batch),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                produce_version,
            );
            let p = &resp.responses[0].partition_responses[0];
            assert_eq!(p.error_code, 0, "{topic} batch {batch_no}: {p:?}");
        }
        let out = python(
            "scripts/consume_json.py",
            [
                broker.bootstrap(),
                topic.clone(),
                expected.len().to_string(),
            ],
        );
        let got: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            got, expected,
            "{topic}: confluent-kafka read back something else"
        );
        println!(
            "{topic}: {} records via Produce v{produce_version} read back intact",
            got.len()
        );
    }
}
