//! Every runtime (Tokio, async-std, mio) authenticating with SASL to Apache
//! Kafka: PLAIN (users in the PlainLoginModule's options) and SCRAM-SHA-256 /
//! SCRAM-SHA-512 (users stored at format time, KIP-900), over SASL_PLAINTEXT
//! and, for one round trip each, SASL_SSL. What the producer delivers is read
//! back by confluent-kafka authenticating the same way, CRC checks on.
//!
//! The passwords are distinctive strings so that finding one in an error
//! message or a `Debug` output is a plain substring search. One scenario
//! list, run on each runtime by `suite!` (see `runtimes/mod.rs`), on one
//! single-node cluster shared by the binary, topics per runtime.

mod runtimes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_integration_tests::kafka::{
    ClusterConfig, ScramMechanism, ScramUser, SharedCluster, librdkafka_sasl,
};
use kafka_integration_tests::tools::Tool;
use kafka_integration_tests::{KafkaCluster, Listener, require_tools};
use kafka_runtime_common::{FatalError, ProducerBuilder, ProducerRecord, SendError};
use runtimes::read_back::read_back;
use runtimes::{Rt, TestProducer};

const PASSWORD: &str = "Right-Pa55word-7f3c9e";
const WRONG_PASSWORD: &str = "Wrong-Pa55word-b81d04";

/// How long `send` may wait for metadata. An authentication failure must end
/// the wait well before this; reaching it means the failure went unnoticed.
const MAX_BLOCK: Duration = Duration::from_secs(30);

/// The binary's cluster and its users: alice (PLAIN, and SCRAM with both
/// mechanisms), bob (SCRAM, both), carol (SCRAM-SHA-512) and dave
/// (SCRAM-SHA-256 only: for SCRAM-SHA-512 he does not exist).
fn kafka() -> SharedCluster {
    KafkaCluster::shared(
        ClusterConfig::single_node()
            .plain_user("alice", PASSWORD)
            .scram_user(ScramUser::new(ScramMechanism::Sha256, "alice", PASSWORD))
            .scram_user(ScramUser::new(ScramMechanism::Sha512, "alice", PASSWORD))
            .scram_user(ScramUser::new(ScramMechanism::Sha256, "bob", PASSWORD))
            .scram_user(ScramUser::new(ScramMechanism::Sha512, "bob", PASSWORD))
            .scram_user(ScramUser::new(ScramMechanism::Sha512, "carol", PASSWORD))
            .scram_user(ScramUser::new(ScramMechanism::Sha256, "dave", PASSWORD)),
    )
}

fn sasl_producer<T: Rt>(
    kafka: &KafkaCluster,
    listener: Listener,
    mechanism: &str,
    user: &str,
    password: &str,
) -> ProducerBuilder<T::R> {
    let mut builder = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&kafka.bootstrap(listener))
        .client_id(&format!("{}-sasl-tests", T::NAME))
        .set("security.protocol", listener.name())
        .sasl(mechanism, user, password)
        .max_block(MAX_BLOCK);
    if listener.is_tls() {
        builder = builder.ssl_ca_location(kafka.tls().ca());
    }
    builder
}

/// Record `i`: keys, a null value now and then, headers.
fn record(topic: &Arc<str>, i: usize) -> ProducerRecord {
    let mut r = ProducerRecord::new(topic.clone())
        .key(format!("user-{i}"))
        .timestamp(1_700_000_000_000 + i as i64);
    if i % 7 != 3 {
        r = r.value(format!("authenticated record {i} ").repeat(1 + i % 4));
    }
    if i % 2 == 0 {
        r = r.header("seq", Some(i.to_string()));
    }
    r
}

/// Who authenticates, and how; `case` names the scenario in the topic name.
struct Login<'a> {
    case: &'a str,
    listener: Listener,
    mechanism: &'a str,
    user: &'a str,
}

/// Produces `n` records with `producer` and reads them back with
/// confluent-kafka logged in the same way; every record must be where its
/// delivery said, intact.
async fn round_trip<T: Rt>(
    kafka: &KafkaCluster,
    login: Login<'_>,
    producer: ProducerBuilder<T::R>,
    n: usize,
) {
    let Login {
        case,
        listener,
        mechanism,
        user,
    } = login;
    let topic: Arc<str> = format!(
        "sasl-{case}-{}-{}-{}-{}",
        listener.name().to_lowercase(),
        mechanism.to_lowercase(),
        user,
        T::NAME
    )
    .into();
    kafka.create_topic(&topic, 3);
    let p = producer.build().unwrap();
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let r = record(&topic, i);
        let delivery = p
            .send(r.clone())
            .await
            .unwrap_or_else(|e| panic!("{mechanism}: send {i}: {e}"));
        pending.push((r, delivery));
    }
    let mut sent = HashMap::new();
    for (r, delivery) in pending {
        let meta = delivery
            .await
            .unwrap_or_else(|e| panic!("{mechanism}: delivery: {e}"));
        assert_eq!(&*meta.topic, &*topic);
        assert!(meta.offset >= 0, "{meta:?}");
        assert!(
            sent.insert((meta.partition, meta.offset), r).is_none(),
            "two records reported at {meta:?}"
        );
    }
    p.close(Duration::from_secs(10)).await;

    let mut properties = kafka.librdkafka_properties(listener);
    properties.extend(librdkafka_sasl(mechanism, user, PASSWORD));
    let properties: Vec<&str> = properties.iter().map(String::as_str).collect();
    let got = read_back(&kafka.bootstrap(listener), &topic, n, &properties);
    assert_eq!(got.len(), n);
    for g in &got {
        let r = sent
            .get(&(g.partition, g.offset))
            .unwrap_or_else(|| panic!("read {g:?}, which no delivery reported"));
        assert_eq!(g.key.as_deref(), r.key.as_deref(), "key at {g:?}");
        assert_eq!(g.value.as_deref(), r.value.as_deref(), "value at {g:?}");
        assert_eq!(Some(g.timestamp), r.timestamp, "timestamp at {g:?}");
        let headers: Vec<(String, Option<Vec<u8>>)> = r
            .headers
            .iter()
            .map(|h| (h.key.to_string(), h.value.as_ref().map(|v| v.to_vec())))
            .collect();
        assert_eq!(g.headers, headers, "headers at {g:?}");
    }
}

async fn right_password_delivers<T: Rt>(listener: Listener, mechanism: &str, user: &str) {
    let kafka = kafka();
    let producer = sasl_producer::<T>(&kafka, listener, mechanism, user, PASSWORD);
    let started = Instant::now();
    let login = Login {
        case: "password",
        listener,
        mechanism,
        user,
    };
    round_trip::<T>(&kafka, login, producer, 300).await;
    println!(
        "{listener} {mechanism}: 300 records delivered and read back as {user} in {:?}",
        started.elapsed()
    );
}

async fn plain_with_the_right_password_delivers_records<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    right_password_delivers::<T>(Listener::SaslPlaintext, "PLAIN", "alice").await;
    right_password_delivers::<T>(Listener::SaslSsl, "PLAIN", "alice").await;
}

async fn scram_sha_256_with_the_right_password_delivers_records<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    right_password_delivers::<T>(Listener::SaslPlaintext, "SCRAM-SHA-256", "alice").await;
}

async fn scram_sha_512_with_the_right_password_delivers_records<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    right_password_delivers::<T>(Listener::SaslPlaintext, "SCRAM-SHA-512", "alice").await;
    right_password_delivers::<T>(Listener::SaslSsl, "SCRAM-SHA-512", "bob").await;
}

async fn credentials_in_sasl_jaas_config_authenticate_too<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    for (mechanism, module) in [
        (
            "SCRAM-SHA-512",
            "org.apache.kafka.common.security.scram.ScramLoginModule",
        ),
        (
            "PLAIN",
            "org.apache.kafka.common.security.plain.PlainLoginModule",
        ),
    ] {
        let user = if mechanism == "PLAIN" {
            "alice"
        } else {
            "carol"
        };
        let producer = ProducerBuilder::<T::R>::new()
            .bootstrap_servers(&kafka.bootstrap(Listener::SaslPlaintext))
            .set("security.protocol", "SASL_PLAINTEXT")
            .set("sasl.mechanism", mechanism)
            .set(
                "sasl.jaas.config",
                &format!("{module} required username=\"{user}\" password=\"{PASSWORD}\";"),
            )
            .max_block(MAX_BLOCK);
        assert!(
            !format!("{producer:?}").contains(PASSWORD),
            "sasl.jaas.config shown by Debug: {producer:?}"
        );
        let login = Login {
            case: "jaas",
            listener: Listener::SaslPlaintext,
            mechanism,
            user,
        };
        round_trip::<T>(&kafka, login, producer, 20).await;
    }
}

/// Sends one record with credentials the broker must refuse and returns
/// the message of the fatal authentication error, after checking that the
/// refusal is prompt, sticky, and shows no password.
async fn refused<T: Rt>(
    kafka: &KafkaCluster,
    mechanism: &str,
    user: &str,
    password: &str,
) -> String {
    let p = sasl_producer::<T>(kafka, Listener::SaslPlaintext, mechanism, user, password)
        .build()
        .unwrap();
    let started = Instant::now();
    let first = p
        .send(ProducerRecord::new("sasl-refused").value("never written"))
        .await;
    let elapsed = started.elapsed();
    let message = match &first {
        Err(SendError::Fatal(FatalError::Authentication { message })) => message.to_string(),
        Err(other) => panic!(
            "{mechanism} as {user}: expected SendError::Fatal(FatalError::Authentication), got \
             {other:?} after {elapsed:?}"
        ),
        Ok(_) => panic!("{mechanism} as {user} with a wrong credential: the record was accepted"),
    };
    assert!(
        elapsed < MAX_BLOCK / 2,
        "{mechanism} as {user}: the refusal took {elapsed:?}, as if it went unnoticed until \
         max.block.ms"
    );
    let shown = format!("{} / {first:?}", first.as_ref().unwrap_err());
    for secret in [PASSWORD, WRONG_PASSWORD] {
        assert!(
            !shown.contains(secret),
            "the error shows a password: {shown}"
        );
    }
    // The producer is dead after a fatal error: later records are refused
    // with the same error at once.
    let again = p
        .send(ProducerRecord::new("sasl-refused").value("never written"))
        .await;
    assert!(
        matches!(&again, Err(SendError::Fatal(FatalError::Authentication { message: m })) if **m == *message),
        "second send: {again:?}"
    );
    p.close(Duration::from_secs(5)).await;
    println!("{mechanism} as {user}: refused after {elapsed:?}: {message}");
    message
}

async fn wrong_password_is_a_fatal_authentication_error<T: Rt>() {
    require_tools!(Tool::Kafka);
    let kafka = kafka();
    for mechanism in ScramMechanism::ALL {
        let message = refused::<T>(&kafka, mechanism.name(), "bob", WRONG_PASSWORD).await;
        // Kafka answers a wrong proof with SaslAuthenticate's
        // SASL_AUTHENTICATION_FAILED and this message, not with RFC 5802's
        // `e=invalid-proof` in a server-final-message.
        assert!(
            message.contains(&format!(
                "Authentication failed during authentication due to invalid credentials with \
                 SASL mechanism {mechanism}"
            )),
            "{mechanism}: {message}"
        );
    }
    let message = refused::<T>(&kafka, "PLAIN", "alice", WRONG_PASSWORD).await;
    assert!(
        message.contains("Invalid username or password"),
        "PLAIN: {message}"
    );
}

async fn unknown_user_is_a_fatal_authentication_error<T: Rt>() {
    require_tools!(Tool::Kafka);
    let kafka = kafka();
    for mechanism in ScramMechanism::ALL {
        let message = refused::<T>(&kafka, mechanism.name(), "nobody", PASSWORD).await;
        assert!(
            message.contains("Authentication failed"),
            "{mechanism}: {message}"
        );
    }
    // dave has a SCRAM-SHA-256 credential only.
    let message = refused::<T>(&kafka, "SCRAM-SHA-512", "dave", PASSWORD).await;
    assert!(message.contains("Authentication failed"), "{message}");
    let message = refused::<T>(&kafka, "PLAIN", "nobody", PASSWORD).await;
    assert!(
        message.contains("Invalid username or password"),
        "PLAIN: {message}"
    );
}

/// A producer without SASL on the SASL listener: Kafka serves ApiVersions,
/// then closes the connection at the first other request (it expects the
/// SASL handshake). The listener really requires authentication, so the
/// deliveries above prove that the producer authenticated.
async fn the_sasl_listener_refuses_a_producer_without_sasl<T: Rt>() {
    require_tools!(Tool::Kafka);
    let kafka = kafka();
    let topic = format!("sasl-required-{}", T::NAME);
    kafka.create_topic(&topic, 1);
    let max_block = Duration::from_secs(3);
    let p = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&kafka.bootstrap(Listener::SaslPlaintext))
        .max_block(max_block)
        .build()
        .unwrap();
    let result = p
        .send(ProducerRecord::new(topic.as_str()).value("never written"))
        .await;
    assert!(
        matches!(
            &result,
            Err(SendError::TopicUnavailable { topic: t, error: None, connection_error: Some(_) }) if *t == topic
        ),
        "{result:?}"
    );
    println!("without SASL: {}", result.as_ref().unwrap_err());
    p.close(Duration::from_secs(5)).await;
}

async fn builder_debug_shows_no_secret<T: Rt>() {
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let builder = ProducerBuilder::<T::R>::new()
            .bootstrap_servers("127.0.0.1:9092")
            .set("security.protocol", "SASL_PLAINTEXT")
            .sasl(mechanism, "alice", PASSWORD);
        let shown = format!("{builder:?}");
        assert!(!shown.contains(PASSWORD), "{shown}");
        // The redaction hides the password, not the rest of the settings.
        assert!(shown.contains(mechanism), "{shown}");
        assert!(shown.contains("alice"), "{shown}");
    }
    // A bad value of a secret property becomes the builder's error: neither
    // it nor the builder shows the value.
    let builder = ProducerBuilder::<T::R>::new()
        .bootstrap_servers("127.0.0.1:9092")
        .set("sasl.jaas.config", &format!("not a jaas line {PASSWORD}"));
    let shown = format!("{builder:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
}

/// A node whose SASL sessions last 10 s (`connections.max.reauth.ms`): a client that does not
/// re-authenticate (KIP-368) has its connection closed by the broker at its first request after
/// that.
/// (The other scenarios keep a cluster without it: confluent-kafka, the independent reader,
/// is slow to recover from a dropped session under load.)
fn reauth_kafka() -> SharedCluster {
    KafkaCluster::shared(
        ClusterConfig::single_node()
            .broker_config("connections.max.reauth.ms", "10000")
            .plain_user("alice", PASSWORD)
            .scram_user(ScramUser::new(ScramMechanism::Sha256, "alice", PASSWORD))
            .scram_user(ScramUser::new(ScramMechanism::Sha512, "alice", PASSWORD)),
    )
}

/// Produces steadily for `duration` over SASL with sessions of 10 s: the producer
/// re-authenticates on its live connections, none is closed before the end, every record is
/// delivered and read back.
async fn reauthenticates<T: Rt>(mechanism: &str, duration: Duration) {
    let kafka = reauth_kafka();
    let listener = Listener::SaslPlaintext;
    let topic: Arc<str> = format!("sasl-reauth-{}-{}", mechanism.to_lowercase(), T::NAME).into();
    kafka.create_topic(&topic, 2);
    let builder = if mechanism == "OAUTHBEARER" {
        oauth_producer::<T>(&kafka, listener)
            .set("sasl.jaas.config", &unsecured_jaas("alice", 3600))
    } else {
        sasl_producer::<T>(&kafka, listener, mechanism, "alice", PASSWORD)
    };
    let p = builder.build().unwrap();
    let started = Instant::now();
    let mut deliveries = Vec::new();
    let mut i = 0;
    while started.elapsed() < duration {
        // A few records at a time: the read-back (in a 10 s session of its own) stays short.
        for _ in 0..5 {
            deliveries.push(p.send(record(&topic, i)).await.unwrap());
            i += 1;
        }
        runtimes::sleep(Duration::from_millis(100)).await;
    }
    for d in deliveries {
        d.await
            .unwrap_or_else(|e| panic!("{mechanism}: a record failed: {e}"));
    }
    let m = p.metrics();
    let value = |name: &str| m.get(name).unwrap_or_else(|| panic!("no {name}"));
    println!(
        "{mechanism} on {}: {i} records in {:?}; connections opened {}, closed {}, \
         authentications {}, re-authentications {}",
        T::NAME,
        started.elapsed(),
        value("connection-creation-total"),
        value("connection-close-total"),
        value("successful-authentication-total"),
        value("successful-reauthentication-total"),
    );
    assert_eq!(
        value("connection-close-total"),
        0.0,
        "{mechanism}: a connection was dropped"
    );
    // Every connection re-authenticated at least every 9.5 s.
    let per_connection = (duration.as_secs_f64() / 9.5).floor() - 1.0;
    assert!(
        value("successful-reauthentication-total") >= per_connection.max(1.0),
        "{mechanism}: too few re-authentications"
    );
    p.close(Duration::from_secs(10)).await;
    let mut properties = kafka.librdkafka_properties(listener);
    if mechanism == "OAUTHBEARER" {
        properties.extend([
            "sasl.mechanism=OAUTHBEARER".to_owned(),
            "enable.sasl.oauthbearer.unsecure.jwt=true".to_owned(),
            "sasl.oauthbearer.config=principal=alice".to_owned(),
        ]);
    } else {
        properties.extend(librdkafka_sasl(mechanism, "alice", PASSWORD));
    }
    let properties: Vec<&str> = properties.iter().map(String::as_str).collect();
    let got = read_back(&kafka.bootstrap(listener), &topic, i, &properties);
    assert_eq!(got.len(), i);
}

/// How long each re-authentication run lasts: 60 s on Tokio, 25 s on the others.
fn reauth_run<T: Rt>() -> Duration {
    Duration::from_secs(if T::NAME == "tokio" { 60 } else { 25 })
}

async fn plain_sessions_are_reauthenticated<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    reauthenticates::<T>("PLAIN", reauth_run::<T>()).await;
}

async fn scram_sha_256_sessions_are_reauthenticated<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    reauthenticates::<T>("SCRAM-SHA-256", reauth_run::<T>()).await;
}

async fn scram_sha_512_sessions_are_reauthenticated<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    reauthenticates::<T>("SCRAM-SHA-512", reauth_run::<T>()).await;
}

/// `sasl.jaas.config` of Java's unsecured OAUTHBEARER login for `principal`.
fn unsecured_jaas(principal: &str, lifetime_seconds: u64) -> String {
    format!(
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
         unsecuredLoginStringClaim_sub=\"{principal}\" unsecuredLoginLifetimeSeconds=\"{lifetime_seconds}\";"
    )
}

fn oauth_producer<T: Rt>(kafka: &KafkaCluster, listener: Listener) -> ProducerBuilder<T::R> {
    let mut builder = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&kafka.bootstrap(listener))
        .client_id(&format!("{}-oauth-tests", T::NAME))
        .set("security.protocol", listener.name())
        .set("sasl.mechanism", "OAUTHBEARER")
        .max_block(MAX_BLOCK);
    if listener.is_tls() {
        builder = builder.ssl_ca_location(kafka.tls().ca());
    }
    builder
}

/// OAUTHBEARER with Java's unsecured tokens (`sasl.jaas.config`), validated by Kafka's default
/// unsecured validator, over SASL_PLAINTEXT and SASL_SSL: records produced and read back by
/// confluent-kafka logged in with OAUTHBEARER too.
async fn oauthbearer_with_an_unsecured_token_delivers_records<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    for listener in [Listener::SaslPlaintext, Listener::SaslSsl] {
        let topic: Arc<str> =
            format!("sasl-oauth-{}-{}", listener.name().to_lowercase(), T::NAME).into();
        kafka.create_topic(&topic, 2);
        let p = oauth_producer::<T>(&kafka, listener)
            .set("sasl.jaas.config", &unsecured_jaas("alice", 3600))
            .build()
            .unwrap();
        let mut deliveries = Vec::new();
        for i in 0..200 {
            deliveries.push(p.send(record(&topic, i)).await.unwrap());
        }
        for d in deliveries {
            d.await.unwrap_or_else(|e| panic!("{listener}: {e}"));
        }
        assert_eq!(
            p.metrics()
                .get("successful-authentication-total")
                .map(|n| n >= 1.0),
            Some(true)
        );
        p.close(Duration::from_secs(10)).await;
        let mut properties = kafka.librdkafka_properties(listener);
        properties.extend([
            "sasl.mechanism=OAUTHBEARER".to_owned(),
            "enable.sasl.oauthbearer.unsecure.jwt=true".to_owned(),
            "sasl.oauthbearer.config=principal=alice".to_owned(),
        ]);
        let properties: Vec<&str> = properties.iter().map(String::as_str).collect();
        let got = read_back(&kafka.bootstrap(listener), &topic, 200, &properties);
        assert_eq!(got.len(), 200);
    }
}

/// Sends `count` records to `topic` and waits for every one to be delivered.
async fn deliver<P: TestProducer>(p: &P, topic: &Arc<str>, count: usize) {
    let mut deliveries = Vec::new();
    for i in 0..count {
        deliveries.push(p.send(record(topic, i)).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
}

/// A token endpoint for the OIDC client-credentials grant, on loopback: a POST with
/// `grant_type=client_credentials&scope=kafka` and Basic `producer:s3cret` gets an unsecured
/// JWT for alice (Kafka's unsecured validator takes it); anything else gets 401.
struct TokenEndpoint {
    url: String,
    granted: Arc<std::sync::atomic::AtomicUsize>,
    refused: Arc<std::sync::atomic::AtomicUsize>,
}

fn token_endpoint() -> TokenEndpoint {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/oauth2/token", listener.local_addr().unwrap());
    let granted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (ok, no) = (Arc::clone(&granted), Arc::clone(&refused));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut request_line, mut headers) = (String::new(), Vec::new());
            reader.read_line(&mut request_line).unwrap_or(0);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                headers.push(line.trim_end().to_owned());
            }
            let header = |name: &str| {
                headers.iter().find_map(|h| {
                    let (k, v) = h.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
            };
            let length: usize = header("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).ok();
            let body = String::from_utf8_lossy(&body);
            // base64("producer:s3cret")
            let good = request_line.starts_with("POST /oauth2/token ")
                && header("authorization").as_deref() == Some("Basic cHJvZHVjZXI6czNjcmV0")
                && body.contains("grant_type=client_credentials")
                && body.contains("scope=kafka");
            let answer = if good {
                ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as u64;
                let login = kafka_producer_core::config::UnsecuredLogin {
                    principal: "alice".into(),
                    lifetime: Duration::from_secs(3600),
                    scope: vec!["kafka".into()],
                    extensions: vec![],
                };
                let token =
                    kafka_runtime_common::token::UnsecuredTokenProvider::token_at(&login, now_ms);
                let json = format!(
                    r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":3600}}"#
                );
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                    json.len()
                )
            } else {
                no.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let json = r#"{"error":"invalid_client"}"#;
                format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                    json.len()
                )
            };
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    TokenEndpoint {
        url,
        granted,
        refused,
    }
}

/// OIDC (KIP-768) as Java configures it: `sasl.oauthbearer.token.endpoint.url`, Java's
/// `OAuthBearerLoginCallbackHandler`, the client id, secret and scope in the JAAS entry
/// (the async runtimes run the request on a thread, mio on its loop); records delivered.
/// A wrong secret: the endpoint's 401 is the producer's fatal authentication error, without
/// the secret in it.
async fn oidc_client_credentials_fetch_tokens<T: Rt>() {
    require_tools!(Tool::Kafka);
    let kafka = kafka();
    let endpoint = token_endpoint();
    let jaas = |secret: &str| {
        format!(
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
             clientId=\"producer\" clientSecret=\"{secret}\" scope=\"kafka\";"
        )
    };
    let p = oauth_producer::<T>(&kafka, Listener::SaslPlaintext)
        .set("sasl.oauthbearer.token.endpoint.url", &endpoint.url)
        .set(
            "sasl.login.callback.handler.class",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
        )
        .set("sasl.jaas.config", &jaas("s3cret"))
        .build()
        .unwrap();
    let topic: Arc<str> = format!("sasl-oidc-{}", T::NAME).into();
    kafka.create_topic(&topic, 1);
    deliver(&p, &topic, 50).await;
    assert!(endpoint.granted.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    p.close(Duration::from_secs(10)).await;

    let wrong = oauth_producer::<T>(&kafka, Listener::SaslPlaintext)
        .set("sasl.oauthbearer.token.endpoint.url", &endpoint.url)
        .set("sasl.oauthbearer.client.credentials.client.id", "producer")
        .set(
            "sasl.oauthbearer.client.credentials.client.secret",
            "not-the-s3cret",
        )
        .set("sasl.oauthbearer.scope", "kafka")
        .build()
        .unwrap();
    let err = wrong.send(record(&topic, 0)).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains("not-the-s3cret"), "{text}");
    assert!(endpoint.refused.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    wrong.close(Duration::from_secs(5)).await;
}

/// An async provider: Java's unsecured token, after a second's wait (an identity provider's
/// round trip), counting its calls.
struct SlowAsyncTokens(Arc<std::sync::atomic::AtomicUsize>);

impl kafka_runtime_common::token::AsyncTokenProvider for SlowAsyncTokens {
    fn token(
        &self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<kafka_runtime_common::token::OAuthToken, String>,
                > + Send,
        >,
    > {
        let calls = Arc::clone(&self.0);
        Box::pin(async move {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            runtimes::sleep(Duration::from_secs(1)).await;
            let login = kafka_producer_core::config::UnsecuredLogin {
                principal: "alice".into(),
                lifetime: Duration::from_secs(3600),
                scope: vec![],
                extensions: vec![],
            };
            kafka_runtime_common::token::TokenProvider::token(
                &kafka_runtime_common::token::UnsecuredTokenProvider::new(login),
            )
        })
    }
}

/// An async token provider runs as a task of the driver (Tokio, async-std): its tokens
/// authenticate and records are delivered. mio's producers refuse one at build().
async fn an_async_token_provider_is_run_as_a_task<T: Rt>() {
    require_tools!(Tool::Kafka);
    let kafka = kafka();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let built = oauth_producer::<T>(&kafka, Listener::SaslPlaintext)
        .async_token_provider(SlowAsyncTokens(Arc::clone(&calls)))
        .build();
    if T::NAME == "mio" {
        let err = built.unwrap_err();
        assert!(err.to_string().contains("async_token_provider"), "{err}");
        return;
    }
    let p = built.unwrap();
    let topic: Arc<str> = format!("sasl-oauth-async-{}", T::NAME).into();
    kafka.create_topic(&topic, 1);
    deliver(&p, &topic, 50).await;
    assert!(calls.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    p.close(Duration::from_secs(10)).await;
}

/// A token provider that hands out an unsecured token that expired a minute ago.
struct ExpiredTokens;

impl kafka_runtime_common::token::TokenProvider for ExpiredTokens {
    fn token(&self) -> Result<kafka_runtime_common::token::OAuthToken, String> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let claims = kafka_producer_core::config::UnsecuredLogin {
            principal: "alice".into(),
            lifetime: Duration::from_secs(60),
            scope: vec![],
            extensions: vec![],
        };
        // Issued two minutes ago for one minute: expired at the broker.
        let value = kafka_runtime_common::token::UnsecuredTokenProvider::token_at(
            &claims,
            now_ms - 120_000,
        );
        Ok(kafka_runtime_common::token::OAuthToken {
            value,
            lifetime: Duration::from_secs(60),
            extensions: vec![],
        })
    }
}

/// A failing provider: its reason is the producer's error.
struct NoTokens;

impl kafka_runtime_common::token::TokenProvider for NoTokens {
    fn token(&self) -> Result<kafka_runtime_common::token::OAuthToken, String> {
        Err("the identity provider is down".into())
    }
}

/// Kafka refuses an expired token, with its reason, and a provider's failure is the
/// producer's authentication error: both fatal, typed, and without the token in the message.
async fn oauthbearer_refusals_are_typed_authentication_errors<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let topic: Arc<str> = format!("sasl-oauth-refused-{}", T::NAME).into();
    kafka.create_topic(&topic, 1);
    for (case, builder) in [
        (
            "expired",
            oauth_producer::<T>(&kafka, Listener::SaslPlaintext).token_provider(ExpiredTokens),
        ),
        (
            "provider",
            oauth_producer::<T>(&kafka, Listener::SaslPlaintext).token_provider(NoTokens),
        ),
    ] {
        let p = builder.build().unwrap();
        let err = match p.send(record(&topic, 0)).await {
            Err(e) => e,
            Ok(d) => match d.await {
                Err(e) => panic!("{case}: a delivery error instead of a refusal: {e}"),
                Ok(m) => panic!("{case}: delivered with a bad token: {m:?}"),
            },
        };
        let text = err.to_string();
        println!("{case}: {text}");
        match &err {
            SendError::Fatal(FatalError::Authentication { message }) => {
                if case == "provider" {
                    assert!(
                        message.contains("the identity provider is down"),
                        "{message}"
                    );
                }
            }
            other => panic!("{case}: {other:?}"),
        }
        assert!(!text.contains("eyJ"), "{case}: the token leaked: {text}");
        p.close(Duration::from_secs(5)).await;
    }
}

async fn oauthbearer_sessions_are_reauthenticated<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    reauthenticates::<T>("OAUTHBEARER", reauth_run::<T>()).await;
}

runtimes::suite!(
    oidc_client_credentials_fetch_tokens,
    an_async_token_provider_is_run_as_a_task,
    oauthbearer_with_an_unsecured_token_delivers_records,
    oauthbearer_refusals_are_typed_authentication_errors,
    oauthbearer_sessions_are_reauthenticated,
    plain_sessions_are_reauthenticated,
    scram_sha_256_sessions_are_reauthenticated,
    scram_sha_512_sessions_are_reauthenticated,
    plain_with_the_right_password_delivers_records,
    scram_sha_256_with_the_right_password_delivers_records,
    scram_sha_512_with_the_right_password_delivers_records,
    credentials_in_sasl_jaas_config_authenticate_too,
    wrong_password_is_a_fatal_authentication_error,
    unknown_user_is_a_fatal_authentication_error,
    the_sasl_listener_refuses_a_producer_without_sasl,
    builder_debug_shows_no_secret,
);
