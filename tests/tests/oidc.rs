//! OIDC end to end (KIP-768), every runtime: an identity provider written for the tests
//! (`tests/python/oidc_idp.py`, on loopback) issues RS256-signed JWTs by the client-credentials
//! grant and publishes its key as a JWKS; the Apache Kafka broker validates the tokens with its
//! JWKS validator (`OAuthBearerValidatorCallbackHandler`); sessions last 10 s
//! (`connections.max.reauth.ms`) and tokens 20 s, so the run refreshes tokens and
//! re-authenticates with them, losing no record. A wrong client secret is a clear
//! authentication error.

mod runtimes;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use kafka_integration_tests::kafka::{ClusterConfig, KafkaCluster, Listener};
use kafka_integration_tests::oidc::OidcIdp;
use kafka_integration_tests::require_tools;
use kafka_integration_tests::tools::Tool;
use kafka_runtime_common::{ProducerBuilder, ProducerRecord};
use runtimes::read_back::read_back;
use runtimes::{Rt, TestProducer, sleep};

/// How long each token lives.
const TOKEN_LIFETIME_SECS: u64 = 20;

fn idp() -> &'static OidcIdp {
    static IDP: OnceLock<OidcIdp> = OnceLock::new();
    IDP.get_or_init(|| OidcIdp::start("producer", "s3cret", TOKEN_LIFETIME_SECS))
}

/// A broker validating tokens against the identity provider's JWKS, with 10 s sessions.
fn kafka() -> &'static KafkaCluster {
    static KAFKA: OnceLock<KafkaCluster> = OnceLock::new();
    KAFKA.get_or_init(|| {
        KafkaCluster::start(
            ClusterConfig::single_node()
                .oauthbearer_jwks(&idp().jwks_url())
                .broker_config("connections.max.reauth.ms", "10000"),
        )
    })
}

fn stats() -> (u64, u64) {
    idp().stats()
}

fn producer<T: Rt>(secret: &str) -> ProducerBuilder<T::R> {
    ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&kafka().bootstrap(Listener::SaslPlaintext))
        .client_id(&format!("{}-oidc-tests", T::NAME))
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", "OAUTHBEARER")
        .set("sasl.oauthbearer.token.endpoint.url", &idp().token_url())
        .set(
            "sasl.login.callback.handler.class",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
        )
        .set("sasl.oauthbearer.client.credentials.client.id", "producer")
        .set("sasl.oauthbearer.client.credentials.client.secret", secret)
        .set("sasl.oauthbearer.scope", "kafka")
        .set("max.block.ms", "30000")
}

/// Produces 5 records every 100 ms for the run (60 s on Tokio, 25 s on the others): tokens
/// of 20 s are refreshed and sessions of 10 s re-authenticated with them; every record is
/// delivered and read back.
async fn signed_tokens_are_fetched_refreshed_and_validated<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let run = if T::NAME == "tokio" {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(25)
    };
    let topic: Arc<str> = format!("oidc-{}", T::NAME).into();
    kafka.create_topic(&topic, 2);
    let (granted_before, _) = stats();
    let p = producer::<T>("s3cret").build().unwrap();
    let start = Instant::now();
    let mut deliveries = Vec::new();
    let mut n = 0usize;
    while start.elapsed() < run {
        for _ in 0..5 {
            let record = ProducerRecord::new(Arc::clone(&topic)).value(format!("oidc {n}"));
            deliveries.push(p.send(record).await.unwrap());
            n += 1;
        }
        sleep(Duration::from_millis(100)).await;
    }
    for d in deliveries {
        d.await.unwrap();
    }
    let metrics = p.metrics();
    p.close(Duration::from_secs(10)).await;
    let (granted, _) = stats();
    // A token at the start and one per ~16 s after (80-85 % of 20 s).
    let least = 1 + run.as_secs() / 17;
    assert!(
        granted - granted_before >= least,
        "{} tokens in {run:?}",
        granted - granted_before
    );
    assert!(
        metrics
            .get("successful-reauthentication-total")
            .unwrap_or(0.0)
            >= 1.0,
        "{metrics:?}"
    );
    let got = read_back(&kafka.bootstrap(Listener::Plaintext), &topic, n, &[]);
    assert_eq!(got.len(), n);
}

/// A wrong client secret: the identity provider's refusal is the producer's authentication
/// error, naming the HTTP status, without the secret.
async fn a_wrong_client_secret_is_an_authentication_error<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let kafka = kafka();
    let topic: Arc<str> = format!("oidc-refused-{}", T::NAME).into();
    kafka.create_topic(&topic, 1);
    let (_, refused_before) = stats();
    let p = producer::<T>("wrong-secret").build().unwrap();
    let err = p
        .send(ProducerRecord::new(Arc::clone(&topic)).value("x"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("401") && text.contains("token endpoint"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret"), "{text}");
    assert!(stats().1 > refused_before);
    p.close(Duration::from_secs(5)).await;

    // The broker validates signatures: an unsigned token (Java's unsecured login) is refused.
    let unsigned = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&kafka.bootstrap(Listener::SaslPlaintext))
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", "OAUTHBEARER")
        .set(
            "sasl.jaas.config",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
             unsecuredLoginStringClaim_sub=\"producer\";",
        )
        .set("max.block.ms", "30000")
        .build()
        .unwrap();
    let err = unsigned
        .send(ProducerRecord::new(Arc::clone(&topic)).value("x"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("uthentication"), "{err}");
    unsigned.close(Duration::from_secs(5)).await;
}

runtimes::suite!(
    signed_tokens_are_fetched_refreshed_and_validated,
    a_wrong_client_secret_is_an_authentication_error,
);
