//! Every runtime (Tokio, async-std, mio) authenticating with SASL/SCRAM
//! (SCRAM-SHA-256 and SCRAM-SHA-512, over SASL_PLAINTEXT) to a real broker:
//! a tansu built with sqlite storage, with users created through
//! AlterUserScramCredentials by confluent-kafka (see [`TansuSasl`]). What
//! the producer delivers is read back by confluent-kafka authenticating with
//! SCRAM too, CRC checks on.
//!
//! The passwords are distinctive strings so that finding one in an error
//! message or a `Debug` output is a plain substring search. One scenario
//! list, run on each runtime by `suite!` (see `runtimes/mod.rs`); each test
//! that needs a broker starts its own.

mod runtimes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_integration_tests::tansu_sasl::{ScramMechanism, ScramUser, librdkafka_sasl_properties};
use kafka_integration_tests::tools::Tool;
use kafka_integration_tests::{TansuSasl, require_tools};
use kafka_runtime_common::{FatalError, ProducerBuilder, ProducerRecord, SendError};
use runtimes::read_back::read_back;
use runtimes::{Rt, TestProducer};

const PASSWORD: &str = "Right-Pa55word-7f3c9e";
const WRONG_PASSWORD: &str = "Wrong-Pa55word-b81d04";

/// How long `send` may wait for metadata. An authentication failure must end
/// the wait well before this; reaching it means the failure went unnoticed.
const MAX_BLOCK: Duration = Duration::from_secs(30);

fn sasl_producer<T: Rt>(
    bootstrap: &str,
    mechanism: &str,
    user: &str,
    password: &str,
) -> ProducerBuilder<T::R> {
    ProducerBuilder::<T::R>::new()
        .bootstrap_servers(bootstrap)
        .client_id(&format!("{}-sasl-tests", T::NAME))
        .set("security.protocol", "SASL_PLAINTEXT")
        .sasl(mechanism, user, password)
        .max_block(MAX_BLOCK)
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

/// Produces `n` records as `user` and reads them back as the same user with
/// confluent-kafka; every record must be where its delivery said, intact.
async fn round_trip<T: Rt>(
    broker: &TansuSasl,
    user: &ScramUser,
    producer: ProducerBuilder<T::R>,
    n: usize,
) {
    let topic: Arc<str> = format!(
        "sasl-{}-{}",
        user.mechanism.name().to_lowercase(),
        user.name
    )
    .into();
    broker.create_topic(&topic, 3);
    let p = producer.build().unwrap();
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let r = record(&topic, i);
        let delivery = p
            .send(r.clone())
            .await
            .unwrap_or_else(|e| panic!("{}: send {i}: {e}", user.mechanism));
        pending.push((r, delivery));
    }
    let mut sent = HashMap::new();
    for (r, delivery) in pending {
        let meta = delivery
            .await
            .unwrap_or_else(|e| panic!("{}: delivery: {e}", user.mechanism));
        assert_eq!(&*meta.topic, &*topic);
        assert!(meta.offset >= 0, "{meta:?}");
        assert!(
            sent.insert((meta.partition, meta.offset), r).is_none(),
            "two records reported at {meta:?}"
        );
    }
    p.close(Duration::from_secs(10)).await;

    let properties = librdkafka_sasl_properties(user);
    let properties: Vec<&str> = properties.iter().map(String::as_str).collect();
    let got = read_back(&broker.sasl_bootstrap(), &topic, n, &properties);
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

async fn right_password_delivers<T: Rt>(mechanism: ScramMechanism) {
    let user = ScramUser::new(mechanism, "alice", PASSWORD);
    let broker = TansuSasl::start(std::slice::from_ref(&user));
    let producer = sasl_producer::<T>(
        &broker.sasl_bootstrap(),
        mechanism.name(),
        "alice",
        PASSWORD,
    );
    let started = Instant::now();
    round_trip::<T>(&broker, &user, producer, 300).await;
    println!(
        "{mechanism}: 300 records delivered and read back as alice in {:?}",
        started.elapsed()
    );
}

async fn scram_sha_256_with_the_right_password_delivers_records<T: Rt>() {
    require_tools!(Tool::TansuSqlite, Tool::Python);
    right_password_delivers::<T>(ScramMechanism::Sha256).await;
}

async fn scram_sha_512_with_the_right_password_delivers_records<T: Rt>() {
    require_tools!(Tool::TansuSqlite, Tool::Python);
    right_password_delivers::<T>(ScramMechanism::Sha512).await;
}

async fn credentials_in_sasl_jaas_config_authenticate_too<T: Rt>() {
    require_tools!(Tool::TansuSqlite, Tool::Python);
    let user = ScramUser::new(ScramMechanism::Sha512, "carol", PASSWORD);
    let broker = TansuSasl::start(std::slice::from_ref(&user));
    let producer = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&broker.sasl_bootstrap())
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", "SCRAM-SHA-512")
        .set(
            "sasl.jaas.config",
            &format!(
                "org.apache.kafka.common.security.scram.ScramLoginModule required \
                 username=\"carol\" password=\"{PASSWORD}\";"
            ),
        )
        .max_block(MAX_BLOCK);
    assert!(
        !format!("{producer:?}").contains(PASSWORD),
        "sasl.jaas.config shown by Debug: {producer:?}"
    );
    round_trip::<T>(&broker, &user, producer, 20).await;
}

/// Sends one record with credentials the broker must refuse and returns
/// the message of the fatal authentication error, after checking that the
/// refusal is prompt, sticky, and shows no password.
async fn refused<T: Rt>(bootstrap: &str, mechanism: &str, user: &str, password: &str) -> String {
    let p = sasl_producer::<T>(bootstrap, mechanism, user, password)
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
    require_tools!(Tool::TansuSqlite, Tool::Python);
    let broker = TansuSasl::start(&[
        ScramUser::new(ScramMechanism::Sha256, "bob", PASSWORD),
        ScramUser::new(ScramMechanism::Sha512, "bob", PASSWORD),
    ]);
    for mechanism in ScramMechanism::ALL {
        let message = refused::<T>(
            &broker.sasl_bootstrap(),
            mechanism.name(),
            "bob",
            WRONG_PASSWORD,
        )
        .await;
        // RFC 5802 §7 server-error-value: the broker answers the proof
        // with `e=invalid-proof` in its server-final-message.
        assert_eq!(
            message, "the server rejected the SCRAM exchange: invalid-proof",
            "{mechanism}"
        );
    }
}

async fn unknown_user_is_a_fatal_authentication_error<T: Rt>() {
    require_tools!(Tool::TansuSqlite, Tool::Python);
    // dave has a SCRAM-SHA-256 credential only: as far as SCRAM-SHA-512 is
    // concerned he does not exist.
    let broker = TansuSasl::start(&[ScramUser::new(ScramMechanism::Sha256, "dave", PASSWORD)]);
    // RFC 5802 §7 server-error-value `unknown-user`, which this broker
    // sends in place of a server-first-message.
    let expected = "the server rejected the SCRAM exchange: unknown-user";
    for mechanism in ScramMechanism::ALL {
        let message = refused::<T>(
            &broker.sasl_bootstrap(),
            mechanism.name(),
            "nobody",
            PASSWORD,
        )
        .await;
        assert_eq!(message, expected, "{mechanism}");
    }
    let message = refused::<T>(&broker.sasl_bootstrap(), "SCRAM-SHA-512", "dave", PASSWORD).await;
    assert_eq!(message, expected);
}

/// Without SASL the broker closes every connection after ApiVersions (it
/// logs NOT_AUTHENTICATED): the broker really requires authentication, so
/// the deliveries above prove that the producer authenticated.
async fn the_sasl_broker_refuses_a_producer_without_sasl<T: Rt>() {
    require_tools!(Tool::TansuSqlite, Tool::Python);
    let broker = TansuSasl::start(&[]);
    broker.create_topic("sasl-required", 1);
    let max_block = Duration::from_secs(3);
    let p = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&broker.sasl_bootstrap())
        .max_block(max_block)
        .build()
        .unwrap();
    let result = p
        .send(ProducerRecord::new("sasl-required").value("never written"))
        .await;
    assert!(
        matches!(
            &result,
            Err(SendError::TopicUnavailable { topic, error: None, connection_error: Some(_) }) if topic == "sasl-required"
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

runtimes::suite!(
    scram_sha_256_with_the_right_password_delivers_records,
    scram_sha_512_with_the_right_password_delivers_records,
    credentials_in_sasl_jaas_config_authenticate_too,
    wrong_password_is_a_fatal_authentication_error,
    unknown_user_is_a_fatal_authentication_error,
    the_sasl_broker_refuses_a_producer_without_sasl,
    builder_debug_shows_no_secret,
);
