//! `kprod topic create`: creates a topic with one CreateTopics request.
//!
//! The Tokio producer has no admin API, so this opens its own connection to
//! the first bootstrap server that accepts one, asks for ApiVersions (v0,
//! which every broker answers) to pick a CreateTopics version both sides
//! speak (v0 to v4, the non-flexible ones), and sends the request. Success
//! prints `created topic NAME`; a broker error is reported by its Kafka name
//! (`TOPIC_ALREADY_EXISTS`, ...) with exit status 1.

use std::process::ExitCode;
use std::time::Duration;

use bytes::BytesMut;
use kafka_proto::frame::{FrameDecoder, decode_response, encode_request};
use kafka_proto::header::RequestHeader;
use kafka_proto::messages::api_versions::ApiVersionsRequest;
use kafka_proto::messages::create_topics::{CreatableTopic, CreateTopicsRequest};
use kafka_proto::{ErrorCode, Message, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Highest CreateTopics version used: v5 onwards is the flexible encoding
/// and adds nothing this command needs.
const MAX_CREATE_TOPICS_VERSION: i16 = 4;

/// Bounds connecting and every request/response exchange.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the controller may take to create the topic.
const CREATE_TIMEOUT_MS: i32 = 30_000;

/// Responses are small; anything bigger is not a Kafka broker talking.
const MAX_FRAME_SIZE: usize = 16 << 20;

const CLIENT_ID: &str = "kprod";

/// `kprod topic` subcommands.
#[derive(clap::Subcommand)]
pub(crate) enum TopicCommand {
    /// Create a topic.
    Create(CreateArgs),
}

/// Arguments of `kprod topic create`.
#[derive(clap::Args)]
pub(crate) struct CreateArgs {
    /// The topic name.
    name: String,
    /// The number of partitions.
    #[arg(long)]
    partitions: i32,
    /// The number of replicas of each partition.
    #[arg(long)]
    replication_factor: i16,
    /// The broker(s) to send the request to: `host:port[,host:port...]`.
    #[arg(
        short = 'b',
        long = "bootstrap-servers",
        visible_alias = "bootstrap-server",
        value_name = "HOST:PORT"
    )]
    bootstrap_servers: String,
}

/// Runs a `kprod topic` subcommand on its own Tokio runtime.
#[tokio::main]
pub(crate) async fn run(command: TopicCommand) -> ExitCode {
    match command {
        TopicCommand::Create(args) => match create(&args).await {
            Ok(()) => {
                println!("created topic {}", args.name);
                ExitCode::SUCCESS
            }
            Err(msg) => {
                eprintln!("kprod topic create: {msg}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn create(args: &CreateArgs) -> Result<(), String> {
    let mut conn = Connection::open(&args.bootstrap_servers).await?;
    let versions = conn.call(&ApiVersionsRequest::default(), 0).await?;
    if versions.error_code != 0 {
        return Err(format!(
            "ApiVersions failed: {}",
            error_name(versions.error_code)
        ));
    }
    let key = CreateTopicsRequest::API_KEY.0;
    let range = versions
        .api_keys
        .iter()
        .find(|v| v.api_key == key)
        .ok_or("the broker does not support CreateTopics")?;
    let version = range.max_version.min(MAX_CREATE_TOPICS_VERSION);
    if version < range.min_version {
        return Err(format!(
            "the broker supports only CreateTopics v{}..=v{}, kprod v0..=v{MAX_CREATE_TOPICS_VERSION}",
            range.min_version, range.max_version
        ));
    }
    let request = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: args.name.clone(),
            num_partitions: args.partitions,
            replication_factor: args.replication_factor,
            ..Default::default()
        }],
        timeout_ms: CREATE_TIMEOUT_MS,
        ..Default::default()
    };
    let response = conn.call(&request, version).await?;
    let result = response
        .topics
        .iter()
        .find(|t| t.name == args.name)
        .ok_or_else(|| format!("the broker's answer does not mention topic {}", args.name))?;
    match result.error_code {
        0 => Ok(()),
        code if code == ErrorCode::TOPIC_ALREADY_EXISTS.0 => Err(format!(
            "topic {} already exists (TOPIC_ALREADY_EXISTS)",
            args.name
        )),
        code => Err(format!(
            "cannot create topic {}: {}{}",
            args.name,
            error_name(code),
            result
                .error_message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )),
    }
}

fn error_name(code: i16) -> String {
    ErrorCode(code)
        .name()
        .map_or_else(|| format!("error code {code}"), str::to_owned)
}

/// One connection, one request at a time.
struct Connection {
    stream: TcpStream,
    decoder: FrameDecoder,
    correlation_id: i32,
    address: String,
}

impl Connection {
    /// Connects to the first of the comma-separated servers that answers.
    async fn open(servers: &str) -> Result<Connection, String> {
        let mut last_error = String::from("no bootstrap server given");
        for address in servers.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    // Small requests: do not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    return Ok(Connection {
                        stream,
                        decoder: FrameDecoder::new(MAX_FRAME_SIZE),
                        correlation_id: 0,
                        address: address.to_owned(),
                    });
                }
                Ok(Err(e)) => last_error = format!("cannot connect to {address}: {e}"),
                Err(_) => last_error = format!("cannot connect to {address}: timed out"),
            }
        }
        Err(last_error)
    }

    async fn call<R: Request>(&mut self, body: &R, version: i16) -> Result<R::Response, String> {
        let name = R::API_KEY.name().unwrap_or("request");
        match tokio::time::timeout(IO_TIMEOUT, self.exchange(body, version)).await {
            Ok(result) => result.map_err(|e| format!("{name} v{version} to {}: {e}", self.address)),
            Err(_) => Err(format!(
                "{name} v{version} to {}: no answer within {IO_TIMEOUT:?}",
                self.address
            )),
        }
    }

    async fn exchange<R: Request>(
        &mut self,
        body: &R,
        version: i16,
    ) -> Result<R::Response, String> {
        self.correlation_id += 1;
        let header = RequestHeader::new(R::API_KEY, version, self.correlation_id, Some(CLIENT_ID));
        let mut out = BytesMut::new();
        encode_request(&mut out, &header, body).map_err(|e| e.to_string())?;
        self.stream
            .write_all(&out)
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        let frame = loop {
            if let Some(frame) = self.decoder.next_frame().map_err(|e| e.to_string())? {
                break frame;
            }
            let n = self
                .stream
                .read(&mut buf)
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the broker closed the connection".into());
            }
            self.decoder.push(&buf[..n]);
        };
        let (h, response) = decode_response::<R>(frame, version).map_err(|e| e.to_string())?;
        if h.correlation_id != self.correlation_id {
            return Err(format!(
                "answer has correlation id {}, expected {}",
                h.correlation_id, self.correlation_id
            ));
        }
        Ok(response)
    }
}
