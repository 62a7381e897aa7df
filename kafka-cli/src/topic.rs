//! `kprod topic create | list | describe | delete`: topics, as Kafka's
//! `kafka-topics` manages them, over the producer's own connection layer
//! (TLS, SASL, reconnects: the library's `Producer::admin`), so they reach
//! any cluster `produce` reaches. The connection comes from `-b` /
//! `--bootstrap-server`, `--command-config FILE` (a properties file, as
//! kafka-topics takes; also `-F` / `--producer.config`) and `-X key=value`.
//!
//! - `create NAME [--partitions N] [--replication-factor R] [--config k=v]...`
//!   prints `created topic NAME`. The name, partitions (1 or more) and
//!   replication factor (1 to 32767) are checked first, as kafka-topics
//!   does; left out, the broker's defaults apply.
//! - `list [--exclude-internal]` prints the topic names, sorted, one per line.
//! - `describe [NAME]...` prints each topic (all without names) as
//!   kafka-topics does: `Topic: T\tTopicId: ID\tPartitionCount: N\tReplicationFactor: R\tConfigs: C`
//!   (C: the settings that are not the broker's built-in defaults, `k=v` comma-separated, in
//!   the order kafka-topics prints them),
//!   then one line per partition: `\tTopic: T\tPartition: P\tLeader: L\tReplicas: 1,2,3\tIsr: 1,2,3`
//!   (`Leader: none` without one).
//! - `delete NAME...` prints `deleted topic NAME` for each.
//!
//! Each command waits at most `--timeout-ms` (60000 by default, Java's
//! `default.api.timeout.ms`), retries included.
//!
//! A broker error is reported by its Kafka name (`TOPIC_ALREADY_EXISTS`,
//! `UNKNOWN_TOPIC_OR_PARTITION`, ...) with its message, exit status 1;
//! retriable ones (`NOT_CONTROLLER`, ...) are retried until the timeout.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use kafka_runtime_common::admin::{
    AdminError, AdminRequest, AdminResponse, CreatableTopic, CreatableTopicConfig,
    CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest, DescribeConfigsResource,
    DescribeConfigsResourceResult, MetadataRequest, MetadataRequestTopic, MetadataResponse,
    RESOURCE_TOPIC, validate_topic_name,
};
use kafka_runtime_common::{AnyProducer, ErrorCode, ProducerBuilder};

use crate::client::{Connect, parse_property};

/// How long the controller may take to create or delete topics.
const BROKER_TIMEOUT_MS: i32 = 30_000;

/// The wait between retries of a retriable broker error.
const RETRY_BACKOFF: Duration = Duration::from_millis(200);

/// `kprod topic` subcommands.
#[derive(clap::Subcommand)]
pub(crate) enum TopicCommand {
    /// Create a topic.
    Create(CreateArgs),
    /// List the topics.
    List(ListArgs),
    /// Describe topics: partitions, leaders, replicas, in-sync replicas.
    Describe(DescribeArgs),
    /// Delete topics.
    Delete(DeleteArgs),
}

/// Arguments of `kprod topic create`.
#[derive(clap::Args)]
pub(crate) struct CreateArgs {
    /// How long the command may take, in milliseconds, retries included.
    #[arg(long, default_value_t = 60_000, value_name = "MS")]
    timeout_ms: u64,
    /// The topic name.
    name: String,
    /// The number of partitions (the broker's num.partitions if left out).
    #[arg(long, allow_negative_numbers = true)]
    partitions: Option<i32>,
    /// The number of replicas of each partition (the broker's
    /// default.replication.factor if left out).
    #[arg(long, allow_negative_numbers = true)]
    replication_factor: Option<i32>,
    /// A topic configuration entry, e.g. --config retention.ms=60000.
    /// Repeatable.
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_property)]
    configs: Vec<(String, String)>,
    #[command(flatten)]
    connect: Connect,
}

/// Arguments of `kprod topic list`.
#[derive(clap::Args)]
pub(crate) struct ListArgs {
    /// How long the command may take, in milliseconds, retries included.
    #[arg(long, default_value_t = 60_000, value_name = "MS")]
    timeout_ms: u64,
    /// Leave out internal topics (__consumer_offsets, ...).
    #[arg(long)]
    exclude_internal: bool,
    #[command(flatten)]
    connect: Connect,
}

/// Arguments of `kprod topic describe`.
#[derive(clap::Args)]
pub(crate) struct DescribeArgs {
    /// How long the command may take, in milliseconds, retries included.
    #[arg(long, default_value_t = 60_000, value_name = "MS")]
    timeout_ms: u64,
    /// The topics (all of them if none is named).
    names: Vec<String>,
    #[command(flatten)]
    connect: Connect,
}

/// Arguments of `kprod topic delete`.
#[derive(clap::Args)]
pub(crate) struct DeleteArgs {
    /// How long the command may take, in milliseconds, retries included.
    #[arg(long, default_value_t = 60_000, value_name = "MS")]
    timeout_ms: u64,
    /// The topics.
    #[arg(required = true)]
    names: Vec<String>,
    #[command(flatten)]
    connect: Connect,
}

/// Runs a `kprod topic` subcommand on its own Tokio runtime.
#[tokio::main]
pub(crate) async fn run(command: TopicCommand) -> ExitCode {
    let (what, result) = match command {
        TopicCommand::Create(args) => ("create", create(&args).await),
        TopicCommand::List(args) => ("list", list(&args).await),
        TopicCommand::Describe(args) => ("describe", describe(&args).await),
        TopicCommand::Delete(args) => ("delete", delete(&args).await),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("kprod topic {what}: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// A producer for admin requests only: idempotence off (no producer id is
/// asked for), then the file, `-b` and `-X` as for produce.
fn admin_client(connect: &Connect) -> Result<kafka_runtime_tokio::Producer, String> {
    let builder = ProducerBuilder::<kafka_runtime_tokio::Tokio>::new()
        .set("enable.idempotence", "false")
        .set("client.id", "kprod-topic");
    connect
        .apply(builder)
        .build()
        .map_err(|e| format!("bad client configuration: {e}"))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `code` by its Kafka name, with the broker's message if any.
fn broker_error(code: i16, message: Option<&str>) -> String {
    let name = ErrorCode(code).to_string();
    match message.filter(|m| !m.is_empty()) {
        Some(m) => format!("{name}: {m}"),
        None => name,
    }
}

/// Sends `request` until the per-topic errors it yields (via `errors`) are
/// not retriable, or time runs out.
async fn call<P: AnyProducer>(
    producer: &P,
    request: AdminRequest,
    timeout: Duration,
    mut retriable: impl FnMut(&AdminResponse) -> bool,
) -> Result<AdminResponse, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let answer = producer
            .admin(request.clone(), left)
            .await
            .map_err(|e| match e {
                AdminError::TimedOut {
                    api,
                    connection_error: Some(c),
                } => format!("cannot connect to the cluster ({api} got no answer): {c}"),
                e => e.to_string(),
            })?;
        if !retriable(&answer) || Instant::now() + RETRY_BACKOFF >= deadline {
            return Ok(answer);
        }
        tokio::time::sleep(RETRY_BACKOFF).await;
    }
}

async fn create(args: &CreateArgs) -> Result<(), String> {
    validate_topic_name(&args.name).map_err(|why| format!("topic name {:?}: {why}", args.name))?;
    if let Some(p) = args.partitions {
        if p < 1 {
            return Err(format!("--partitions must be at least 1, not {p}"));
        }
    }
    let replication = match args.replication_factor {
        Some(r) if !(1..=i32::from(i16::MAX)).contains(&r) => {
            return Err(format!(
                "--replication-factor must be between 1 and {}, not {r}",
                i16::MAX
            ));
        }
        Some(r) => r as i16,
        None => -1,
    };
    let producer = admin_client(&args.connect)?;
    let request = AdminRequest::CreateTopics(CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: args.name.clone(),
            num_partitions: args.partitions.unwrap_or(-1),
            replication_factor: replication,
            configs: args
                .configs
                .iter()
                .map(|(k, v)| CreatableTopicConfig {
                    name: k.clone(),
                    value: Some(v.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        timeout_ms: BROKER_TIMEOUT_MS,
        ..Default::default()
    });
    let answer = call(&producer, request, ms(args.timeout_ms), |a| match a {
        AdminResponse::CreateTopics(r) => r
            .topics
            .iter()
            .any(|t| ErrorCode(t.error_code).is_retriable()),
        _ => false,
    })
    .await;
    producer.close(Duration::from_secs(5)).await;
    let AdminResponse::CreateTopics(response) = answer? else {
        return Err("unexpected answer".to_owned());
    };
    let result = response
        .topics
        .iter()
        .find(|t| t.name == args.name)
        .ok_or_else(|| format!("the broker's answer does not mention topic {}", args.name))?;
    match result.error_code {
        0 => {
            println!("created topic {}", args.name);
            Ok(())
        }
        code if code == ErrorCode::TOPIC_ALREADY_EXISTS.0 => Err(format!(
            "topic {} already exists (TOPIC_ALREADY_EXISTS)",
            args.name
        )),
        code => Err(format!(
            "cannot create topic {}: {}",
            args.name,
            broker_error(code, result.error_message.as_deref())
        )),
    }
}

/// Metadata for `names` (all topics if empty).
async fn metadata(
    connect: &Connect,
    names: &[String],
    timeout: Duration,
) -> Result<MetadataResponse, String> {
    let producer = admin_client(connect)?;
    let answer = metadata_from(&producer, names, timeout).await;
    producer.close(Duration::from_secs(5)).await;
    answer
}

async fn metadata_from<P: AnyProducer>(
    producer: &P,
    names: &[String],
    timeout: Duration,
) -> Result<MetadataResponse, String> {
    let request = AdminRequest::Metadata(MetadataRequest {
        topics: (!names.is_empty()).then(|| {
            names
                .iter()
                .map(|n| MetadataRequestTopic {
                    name: Some(n.clone()),
                    ..Default::default()
                })
                .collect()
        }),
        ..Default::default()
    });
    let answer = call(producer, request, timeout, |a| match a {
        AdminResponse::Metadata(r) => r.topics.iter().any(|t| {
            let code = ErrorCode(t.error_code);
            code.is_retriable() && code != ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
        }),
        _ => false,
    })
    .await;
    match answer? {
        AdminResponse::Metadata(m) => Ok(m),
        _ => Err("unexpected answer".to_owned()),
    }
}

/// Each topic's configuration entries, by topic name (DescribeConfigs).
async fn topic_configs<P: AnyProducer>(
    producer: &P,
    names: &[&str],
    timeout: Duration,
) -> Result<Vec<(String, Result<Vec<DescribeConfigsResourceResult>, String>)>, String> {
    let request = AdminRequest::DescribeConfigs(DescribeConfigsRequest {
        resources: names
            .iter()
            .map(|n| DescribeConfigsResource {
                resource_type: RESOURCE_TOPIC,
                resource_name: (*n).to_owned(),
                configuration_keys: None,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    });
    let answer = call(producer, request, timeout, |a| match a {
        AdminResponse::DescribeConfigs(r) => r
            .results
            .iter()
            .any(|t| ErrorCode(t.error_code).is_retriable()),
        _ => false,
    })
    .await?;
    let AdminResponse::DescribeConfigs(r) = answer else {
        return Err("unexpected answer".to_owned());
    };
    Ok(r.results
        .into_iter()
        .map(|t| {
            let configs = if t.error_code == 0 {
                Ok(t.configs)
            } else {
                Err(broker_error(t.error_code, t.error_message.as_deref()))
            };
            (t.resource_name, configs)
        })
        .collect())
}

/// The order in which Java's `HashMap` holds these keys once all are put
/// in, as indices into `keys`: kafka-topics prints a topic's configuration
/// from such a map (`Config::entries`), so its `Configs:` field follows it.
/// Buckets in index order (the capacity the map has grown to, load factor
/// 0.75, from 16), keys within a bucket in insertion order.
fn java_hash_map_order(keys: &[&str]) -> Vec<usize> {
    let spread = |key: &str| {
        // String.hashCode over UTF-16 code units, then HashMap.hash.
        let h = key
            .encode_utf16()
            .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
        (h ^ ((h as u32) >> 16) as i32) as u32
    };
    let mut capacity = 16usize;
    while keys.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (spread(keys[i]) as usize & (capacity - 1), i));
    order
}

/// kafka-topics' `Configs:` field: the entries that are not built-in
/// defaults, `name=value`, comma-separated, in Java's map order.
fn configs_field(configs: &[DescribeConfigsResourceResult]) -> String {
    let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    java_hash_map_order(&names)
        .into_iter()
        .map(|i| &configs[i])
        .filter(|c| !c.is_builtin_default())
        .map(|c| format!("{}={}", c.name, c.value.as_deref().unwrap_or("null")))
        .collect::<Vec<_>>()
        .join(",")
}

async fn list(args: &ListArgs) -> Result<(), String> {
    let m = metadata(&args.connect, &[], ms(args.timeout_ms)).await?;
    let mut names: Vec<&str> = m
        .topics
        .iter()
        .filter(|t| !(args.exclude_internal && t.is_internal))
        .filter_map(|t| t.name.as_deref())
        .collect();
    names.sort_unstable();
    for name in names {
        println!("{name}");
    }
    Ok(())
}

/// A topic id as Kafka prints it (`Uuid.toString`): URL-safe base64
/// without padding.
fn topic_id(bytes: &[u8; 16]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn ids(nodes: &[i32]) -> String {
    nodes
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

async fn describe(args: &DescribeArgs) -> Result<(), String> {
    let producer = admin_client(&args.connect)?;
    let deadline = Instant::now() + ms(args.timeout_ms);
    let answer = async {
        let m = metadata_from(&producer, &args.names, ms(args.timeout_ms)).await?;
        let found: Vec<&str> = m
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .filter_map(|t| t.name.as_deref())
            .collect();
        let configs = if found.is_empty() {
            Vec::new()
        } else {
            let left = deadline.saturating_duration_since(Instant::now());
            topic_configs(&producer, &found, left).await?
        };
        Ok::<_, String>((m, configs))
    }
    .await;
    producer.close(Duration::from_secs(5)).await;
    let (m, configs) = answer?;
    let mut topics: Vec<_> = m.topics.iter().collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    let mut failed = Vec::new();
    for t in topics {
        let name = t.name.as_deref().unwrap_or("");
        if t.error_code != 0 {
            failed.push(format!(
                "topic {name}: {}",
                broker_error(t.error_code, None)
            ));
            continue;
        }
        let configs = match configs.iter().find(|(n, _)| n == name) {
            Some((_, Ok(entries))) => configs_field(entries),
            Some((_, Err(e))) => {
                failed.push(format!("configuration of topic {name}: {e}"));
                continue;
            }
            None => {
                failed.push(format!(
                    "the broker's answer has no configuration for {name}"
                ));
                continue;
            }
        };
        let mut partitions: Vec<_> = t.partitions.iter().collect();
        partitions.sort_by_key(|p| p.partition_index);
        let replication = partitions.first().map_or(0, |p| p.replica_nodes.len());
        println!(
            "Topic: {name}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: {replication}\tConfigs: {configs}",
            topic_id(&t.topic_id.0),
            partitions.len()
        );
        for p in partitions {
            let leader = if p.leader_id >= 0 {
                p.leader_id.to_string()
            } else {
                "none".to_owned()
            };
            println!(
                "\tTopic: {name}\tPartition: {}\tLeader: {leader}\tReplicas: {}\tIsr: {}",
                p.partition_index,
                ids(&p.replica_nodes),
                ids(&p.isr_nodes)
            );
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

async fn delete(args: &DeleteArgs) -> Result<(), String> {
    for name in &args.names {
        validate_topic_name(name).map_err(|why| format!("topic name {name:?}: {why}"))?;
    }
    let producer = admin_client(&args.connect)?;
    let request = AdminRequest::DeleteTopics(DeleteTopicsRequest {
        topic_names: args.names.clone(),
        timeout_ms: BROKER_TIMEOUT_MS,
        ..Default::default()
    });
    let answer = call(&producer, request, ms(args.timeout_ms), |a| match a {
        AdminResponse::DeleteTopics(r) => r.responses.iter().any(|t| {
            let code = ErrorCode(t.error_code);
            code.is_retriable() && code != ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
        }),
        _ => false,
    })
    .await;
    producer.close(Duration::from_secs(5)).await;
    let AdminResponse::DeleteTopics(response) = answer? else {
        return Err("unexpected answer".to_owned());
    };
    let mut failed = Vec::new();
    for name in &args.names {
        match response
            .responses
            .iter()
            .find(|r| r.name.as_deref() == Some(name.as_str()))
        {
            Some(r) if r.error_code == 0 => println!("deleted topic {name}"),
            Some(r) => failed.push(format!(
                "cannot delete topic {name}: {}",
                broker_error(r.error_code, r.error_message.as_deref())
            )),
            None => failed.push(format!("the broker's answer does not mention topic {name}")),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_ids_print_as_kafka_prints_them() {
        let counting: Vec<u8> = (0..16).collect();
        assert_eq!(
            topic_id(&counting.try_into().unwrap()),
            "AAECAwQFBgcICQoLDA0ODw"
        );
        assert_eq!(topic_id(&[255; 16]), "_____________________w");
        assert_eq!(topic_id(&[0; 16]), "AAAAAAAAAAAAAAAAAAAAAA");
    }
}
