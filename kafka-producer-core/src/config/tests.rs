use super::*;

const PASSWORD: &str = "hunter2-Sup3rSecret";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A config that validates as is.
fn base() -> ProducerConfig {
    let mut c = ProducerConfig::default();
    c.set("bootstrap.servers", "localhost:9092").unwrap();
    c
}

#[test]
fn defaults_are_the_java_ones() {
    let c = ProducerConfig::default();
    assert!(c.bootstrap_servers.is_empty());
    assert_eq!(c.client_id, "kafka-producer-rs");
    assert_eq!(c.acks, Acks::All);
    assert!(c.enable_idempotence);
    assert_eq!(c.linger, ms(5));
    assert_eq!(c.batch_size, 16_384);
    assert_eq!(c.buffer_memory, 33_554_432);
    assert_eq!(c.max_block, ms(60_000));
    assert_eq!(c.max_in_flight_requests_per_connection, 5);
    assert_eq!(c.retries, 2_147_483_647);
    assert_eq!(c.delivery_timeout, ms(120_000));
    assert_eq!(c.request_timeout, ms(30_000));
    assert_eq!(c.retry_backoff, ms(100));
    assert_eq!(c.retry_backoff_max, ms(1_000));
    assert_eq!(c.reconnect_backoff, ms(50));
    assert_eq!(c.reconnect_backoff_max, ms(1_000));
    assert_eq!(c.socket_connection_setup_timeout, ms(10_000));
    assert_eq!(c.metadata_max_age, ms(300_000));
    assert_eq!(c.metadata_max_idle, ms(300_000));
    assert_eq!(c.max_request_size, 1_048_576);
    assert_eq!(c.compression_type, Compression::None);
    assert_eq!(c.partitioner, PartitionerChoice::Default);
    assert!(!c.partitioner_ignore_keys);
    assert!(
        c.partitioner_adaptive,
        "adaptive partitioning is on by default, as in Java"
    );
    assert_eq!(c.partitioner_availability_timeout, Duration::ZERO);
    assert!(!c.partitioner_rack_aware && c.client_rack.is_empty());
    assert_eq!(c.transactional_id, None);
    assert_eq!(c.transaction_timeout, ms(60_000));
    assert_eq!(c.security_protocol, SecurityProtocol::Plaintext);
    assert_eq!(c.sasl_mechanism, "PLAIN");
    assert_eq!(c.sasl_username, None);
    assert_eq!(c.sasl_password, None);
    assert_eq!(c.idempotence_disabled_because(), None);
    assert!(!c.is_explicit("linger.ms"));
    // The defaults need only a broker to be valid, and validating them
    // changes nothing.
    let mut v = base();
    v.validate().unwrap();
    assert!(v.enable_idempotence);
    assert_eq!(v.delivery_timeout, ms(120_000));
    assert_eq!(v.retry_backoff_max, ms(1_000));
}

/// A property, a good value with what it must do, and a bad value.
type Case = (
    &'static str,
    &'static str,
    fn(&ProducerConfig) -> bool,
    Option<&'static str>,
);

#[test]
fn every_key_takes_a_good_value_and_refuses_a_bad_one() {
    let cases: &[Case] = &[
        (
            "bootstrap.servers",
            " a:1 , [::1]:9093,",
            |c| c.bootstrap_servers.len() == 2 && c.bootstrap_servers[1].host == "::1",
            Some("a:0"),
        ),
        (
            "metadata.broker.list",
            "b:2",
            |c| c.bootstrap_servers[0].port == 2,
            Some("b"),
        ),
        ("client.id", "me", |c| c.client_id == "me", None),
        ("acks", "1", |c| c.acks == Acks::Leader, Some("2")),
        (
            "request.required.acks",
            "0",
            |c| c.acks == Acks::None,
            Some("none"),
        ),
        (
            "enable.idempotence",
            "FALSE",
            |c| !c.enable_idempotence,
            Some("yes"),
        ),
        ("linger.ms", "10", |c| c.linger == ms(10), Some("-1")),
        (
            "queue.buffering.max.ms",
            "11",
            |c| c.linger == ms(11),
            Some("1.5"),
        ),
        ("batch.size", "0", |c| c.batch_size == 0, Some("2147483648")),
        (
            "buffer.memory",
            "1000",
            |c| c.buffer_memory == 1000,
            Some("1k"),
        ),
        ("max.block.ms", "1", |c| c.max_block == ms(1), Some("-5")),
        (
            "max.in.flight.requests.per.connection",
            "1",
            |c| c.max_in_flight_requests_per_connection == 1,
            Some("0"),
        ),
        (
            "max.in.flight",
            "7",
            |c| c.max_in_flight_requests_per_connection == 7,
            Some("x"),
        ),
        ("retries", "0", |c| c.retries == 0, Some("-1")),
        (
            "message.send.max.retries",
            "3",
            |c| c.retries == 3,
            Some("2147483648"),
        ),
        (
            "delivery.timeout.ms",
            "200000",
            |c| c.delivery_timeout == ms(200_000),
            Some("2147483648"),
        ),
        (
            "message.timeout.ms",
            "300000",
            |c| c.delivery_timeout == ms(300_000),
            Some("-3"),
        ),
        (
            "request.timeout.ms",
            "100",
            |c| c.request_timeout == ms(100),
            Some(""),
        ),
        (
            "retry.backoff.ms",
            "2",
            |c| c.retry_backoff == ms(2),
            Some("x"),
        ),
        (
            "retry.backoff.max.ms",
            "3",
            |c| c.retry_backoff_max == ms(3),
            Some("-1"),
        ),
        (
            "reconnect.backoff.ms",
            "4",
            |c| c.reconnect_backoff == ms(4),
            Some("x"),
        ),
        (
            "reconnect.backoff.max.ms",
            "5",
            |c| c.reconnect_backoff_max == ms(5),
            Some("-1"),
        ),
        (
            "socket.connection.setup.timeout.ms",
            "6",
            |c| c.socket_connection_setup_timeout == ms(6),
            Some("x"),
        ),
        (
            "metadata.max.age.ms",
            "7",
            |c| c.metadata_max_age == ms(7),
            Some("x"),
        ),
        (
            "metadata.max.idle.ms",
            "5000",
            |c| c.metadata_max_idle == ms(5000),
            Some("4999"),
        ),
        (
            "metrics.sample.window.ms",
            "1000",
            |c| c.metrics_sample_window == ms(1000),
            Some("-1"),
        ),
        (
            "metrics.num.samples",
            "3",
            |c| c.metrics_num_samples == 3,
            Some("0"),
        ),
        (
            "max.request.size",
            "10",
            |c| c.max_request_size == 10,
            Some("x"),
        ),
        (
            "compression.type",
            "ZSTD",
            |c| c.compression_type == Compression::Zstd,
            Some("brotli"),
        ),
        (
            "compression.codec",
            "lz4",
            |c| c.compression_type == Compression::Lz4,
            Some("lz5"),
        ),
        (
            "partitioner.class",
            "org.apache.kafka.clients.producer.RoundRobinPartitioner",
            |c| c.partitioner == PartitionerChoice::RoundRobin,
            Some("com.example.MyPartitioner"),
        ),
        (
            "partitioner.ignore.keys",
            "true",
            |c| c.partitioner_ignore_keys,
            Some("1"),
        ),
        (
            "transactional.id",
            "tx-1",
            |c| c.transactional_id.as_deref() == Some("tx-1"),
            Some(""),
        ),
        (
            "transaction.timeout.ms",
            "9",
            |c| c.transaction_timeout == ms(9),
            Some("x"),
        ),
        (
            "security.protocol",
            "sasl_ssl",
            |c| c.security_protocol == SecurityProtocol::SaslSsl,
            Some("TLS"),
        ),
        (
            "sasl.mechanism",
            "scram-sha-512",
            |c| c.sasl_mechanism == "SCRAM-SHA-512",
            Some("GSSAPI"),
        ),
        (
            "sasl.mechanisms",
            "SCRAM-SHA-256",
            |c| c.sasl_mechanism == "SCRAM-SHA-256",
            Some("GSSAPI"),
        ),
        (
            "sasl.username",
            "alice",
            |c| c.sasl_username.as_deref() == Some("alice"),
            Some(""),
        ),
        (
            "sasl.password",
            PASSWORD,
            |c| c.sasl_password.as_ref().map(Secret::expose) == Some(PASSWORD),
            Some(""),
        ),
        (
            "sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             username=\"bob\" password=\"pw\";",
            |c| {
                c.sasl_username.as_deref() == Some("bob")
                    && c.sasl_password.as_ref().map(Secret::expose) == Some("pw")
            },
            Some("nonsense"),
        ),
        (
            "compression.gzip.level",
            "9",
            |c| c.compression_gzip_level == 9,
            Some("0"),
        ),
        (
            "compression.lz4.level",
            "17",
            |c| c.compression_lz4_level == 17,
            Some("18"),
        ),
        (
            "compression.zstd.level",
            "-5",
            |c| c.compression_zstd_level == -5,
            Some("23"),
        ),
        (
            "socket.connection.setup.timeout.max.ms",
            "45000",
            |c| c.socket_connection_setup_timeout_max == ms(45_000),
            Some("-1"),
        ),
        (
            "sasl.login.callback.handler.class",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
            |_| true,
            Some("com.example.MyHandler"),
        ),
        (
            "sasl.oauthbearer.jwt.retriever.class",
            "org.apache.kafka.common.security.oauthbearer.DefaultJwtRetriever",
            |_| true,
            Some("com.example.MyRetriever"),
        ),
        (
            "sasl.oauthbearer.token.endpoint.url",
            "https://idp.example.com/oauth2/token",
            |c| {
                c.sasl_oauthbearer_token_endpoint_url.as_deref()
                    == Some("https://idp.example.com/oauth2/token")
            },
            Some("ftp://idp"),
        ),
        (
            "sasl.oauthbearer.scope",
            "kafka",
            |c| c.sasl_oauthbearer_scope.as_deref() == Some("kafka"),
            None,
        ),
        (
            "sasl.oauthbearer.client.credentials.client.id",
            "producer",
            |c| c.sasl_oauthbearer_client_id.as_deref() == Some("producer"),
            None,
        ),
        (
            "sasl.oauthbearer.client.credentials.client.secret",
            PASSWORD,
            |c| {
                c.sasl_oauthbearer_client_secret
                    .as_ref()
                    .map(Secret::expose)
                    == Some(PASSWORD)
            },
            Some(""),
        ),
        (
            "sasl.oauthbearer.header.urlencode",
            "true",
            |c| c.sasl_oauthbearer_header_urlencode,
            Some("yes"),
        ),
        (
            "sasl.login.connect.timeout.ms",
            "5000",
            |c| c.sasl_login_connect_timeout == Some(ms(5000)),
            Some("-1"),
        ),
        (
            "sasl.login.read.timeout.ms",
            "5000",
            |c| c.sasl_login_read_timeout == Some(ms(5000)),
            Some("x"),
        ),
        (
            "sasl.login.retry.backoff.ms",
            "50",
            |c| c.sasl_login_retry_backoff == ms(50),
            Some("-1"),
        ),
        (
            "sasl.login.retry.backoff.max.ms",
            "500",
            |c| c.sasl_login_retry_backoff_max == ms(500),
            Some("-1"),
        ),
        (
            "sasl.oauthbearer.sub.claim.name",
            "client_id",
            |c| c.sasl_oauthbearer_sub_claim_name == "client_id",
            Some(""),
        ),
        (
            "send.buffer.bytes",
            "65536",
            |c| c.send_buffer_bytes == Some(65_536),
            Some("-2"),
        ),
        (
            "receive.buffer.bytes",
            "-1",
            |c| c.receive_buffer_bytes.is_none(),
            Some("lots"),
        ),
        (
            "connections.max.idle.ms",
            "1000",
            |c| c.connections_max_idle == ms(1000),
            Some("-1"),
        ),
        (
            "client.dns.lookup",
            "use_all_dns_ips",
            |_| true,
            Some("resolve_canonical_bootstrap_servers_only"),
        ),
        (
            "sasl.login.refresh.window.factor",
            "0.9",
            |c| c.sasl_login_refresh_window_factor == 0.9,
            Some("0.4"),
        ),
        (
            "sasl.login.refresh.window.jitter",
            "0",
            |c| c.sasl_login_refresh_window_jitter == 0.0,
            Some("0.3"),
        ),
        (
            "sasl.login.refresh.min.period.seconds",
            "900",
            |c| c.sasl_login_refresh_min_period == Duration::from_secs(900),
            Some("901"),
        ),
        (
            "sasl.login.refresh.buffer.seconds",
            "0",
            |c| c.sasl_login_refresh_buffer == Duration::ZERO,
            Some("3601"),
        ),
        (
            "partitioner.rack.aware",
            "true",
            |c| c.partitioner_rack_aware,
            Some("yes"),
        ),
        (
            "partitioner.adaptive.partitioning.enable",
            "false",
            |c| !c.partitioner_adaptive,
            Some("no"),
        ),
        (
            "partitioner.availability.timeout.ms",
            "250",
            |c| c.partitioner_availability_timeout == Duration::from_millis(250),
            Some("-1"),
        ),
        (
            "client.rack",
            "use1-az1",
            |c| c.client_rack == "use1-az1",
            None,
        ),
        (
            "transaction.two.phase.commit.enable",
            "false",
            |_| true,
            Some("true"),
        ),
        (
            "config.providers",
            "",
            |_| true,
            Some("org.example.VaultProvider"),
        ),
        (
            "ssl.cipher.suites",
            "",
            |_| true,
            Some("TLS_AES_128_GCM_SHA256"),
        ),
        ("ssl.protocol", "TLSv1.2", |_| true, Some("SSLv3")),
        (
            "metadata.recovery.strategy",
            "REBOOTSTRAP",
            |_| true,
            Some("none"),
        ),
    ];
    // The table covers every property `set` takes.
    for (name, _) in KEYS {
        assert!(cases.iter().any(|case| case.0 == *name), "{name} untested");
    }
    for &(key, good, check, bad) in cases {
        let mut c = ProducerConfig::default();
        assert!(!c.is_explicit(key));
        c.set(key, good)
            .unwrap_or_else(|e| panic!("{key}={good}: {e}"));
        assert!(check(&c), "{key}={good} did not land");
        assert!(c.is_explicit(key), "{key}");
        // Free-form strings (only client.id) have no bad value.
        let Some(bad) = bad else { continue };
        match c.set(key, bad) {
            Err(ConfigError::InvalidValue { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{key}={bad:?}: {other:?}"),
        }
        // A refused value changes nothing.
        assert!(check(&c), "{key}={bad:?} changed the setting");
    }
    assert_eq!(
        ProducerConfig::default().set("linger", "5"),
        Err(ConfigError::UnknownKey {
            key: "linger".into()
        })
    );
    // Java's names are case-sensitive.
    assert!(matches!(
        ProducerConfig::default().set("LINGER.MS", "5"),
        Err(ConfigError::UnknownKey { .. })
    ));
}

#[test]
fn aliases_share_the_java_setting() {
    let mut c = ProducerConfig::default();
    c.set("queue.buffering.max.ms", "7").unwrap();
    assert!(c.is_explicit("linger.ms") && c.is_explicit("queue.buffering.max.ms"));
    c.set("message.timeout.ms", "1").unwrap();
    assert!(c.is_explicit("delivery.timeout.ms"));
    c.set("compression.codec", "gzip").unwrap();
    assert_eq!(c.compression_type, Compression::Gzip);
    c.set(
        "metadata.broker.list",
        "PLAINTEXT://h1:1,SASL_SSL://[fe80::1%eth0]:2",
    )
    .unwrap();
    assert_eq!(
        c.bootstrap_servers,
        [
            BrokerAddress {
                host: "h1".into(),
                port: 1
            },
            BrokerAddress {
                host: "fe80::1%eth0".into(),
                port: 2
            }
        ]
    );
    assert!(c.is_explicit("bootstrap.servers"));
    // Explicitly set through the alias, so too small is an error.
    assert!(matches!(c.validate(), Err(ConfigError::Conflict { .. })));
}

#[test]
fn numbers_are_ranged_like_java_types() {
    let mut c = ProducerConfig::default();
    c.set("linger.ms", " 9223372036854775807 ").unwrap();
    assert_eq!(c.linger, ms(i64::MAX.unsigned_abs()));
    c.set("retries", "+2147483647").unwrap();
    assert_eq!(c.retries, 2_147_483_647);
    for (key, value, reason) in [
        ("linger.ms", "9223372036854775808", "out of range"),
        ("linger.ms", "-9223372036854775809", "negative"),
        ("request.timeout.ms", "2147483648", "out of range"),
        ("retries", "4294967296", "out of range"),
        ("batch.size", "-1", "negative"),
        ("max.in.flight.requests.per.connection", "0", "at least 1"),
        ("metadata.max.idle.ms", "100", "at least 5000"),
        ("max.block.ms", "5s", "whole number"),
    ] {
        match c.set(key, value) {
            Err(ConfigError::InvalidValue { reason: r, .. }) => {
                assert!(r.contains(reason), "{key}={value}: {r}")
            }
            other => panic!("{key}={value}: {other:?}"),
        }
    }
}

#[test]
fn bootstrap_servers_parse() {
    let c = ProducerConfig::from_properties([(
        "bootstrap.servers",
        "kafka-1.example.com:9092,10.0.0.1:19092,[::1]:9093,[2001:db8::7]:65535",
    )])
    .unwrap();
    let shown: Vec<String> = c
        .bootstrap_servers
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        [
            "kafka-1.example.com:9092",
            "10.0.0.1:19092",
            "[::1]:9093",
            "[2001:db8::7]:65535"
        ]
    );
    assert_eq!(c.bootstrap_servers[2].host, "::1");
    assert_eq!(
        "[::1]:1".parse::<BrokerAddress>(),
        Ok(BrokerAddress {
            host: "::1".into(),
            port: 1
        })
    );
    for bad in [
        "h",
        "h:",
        "h:0",
        "h:65536",
        "h:-1",
        "h:+1",
        "h:x",
        ":9092",
        "::1:9092",
        "[::1]",
        "[::1]9092",
        "[::1:9092",
        "[]:9092",
        "[host]:9092",
        "bad host:9092",
        "a:1,b",
    ] {
        let e = ProducerConfig::default()
            .set("bootstrap.servers", bad)
            .unwrap_err();
        assert!(
            matches!(&e, ConfigError::InvalidValue { key, .. } if key == "bootstrap.servers"),
            "{bad}: {e:?}"
        );
        assert!(bad.parse::<BrokerAddress>().is_err(), "{bad}");
    }
    // An empty list is accepted by `set`, refused by `validate`.
    let mut c = ProducerConfig::default();
    c.set("bootstrap.servers", " , ").unwrap();
    assert_eq!(
        c.validate(),
        Err(ConfigError::Missing {
            key: "bootstrap.servers"
        })
    );
}

#[test]
fn enum_values_parse_and_print() {
    assert_eq!("all".parse::<Acks>(), Ok(Acks::All));
    // Java's acks validator is case-sensitive.
    assert!("ALL".parse::<Acks>().is_err());
    assert_eq!("-1".parse::<Acks>(), Ok(Acks::All));
    assert_eq!(Acks::All.as_i16(), -1);
    assert_eq!(Acks::Leader.as_i16(), 1);
    assert_eq!(Acks::None.as_i16(), 0);
    assert_eq!(Acks::All.to_string(), "all");
    assert!(matches!(
        "2".parse::<Acks>(),
        Err(ConfigError::InvalidValue { key, .. }) if key == "acks"
    ));
    for p in [
        "default",
        "",
        "org.apache.kafka.clients.producer.internals.DefaultPartitioner",
    ] {
        assert_eq!(
            p.parse::<PartitionerChoice>(),
            Ok(PartitionerChoice::Default),
            "{p}"
        );
    }
    for p in ["round_robin", "RoundRobin"] {
        assert_eq!(
            p.parse::<PartitionerChoice>(),
            Ok(PartitionerChoice::RoundRobin)
        );
    }
    match "org.apache.kafka.clients.producer.UniformStickyPartitioner".parse::<PartitionerChoice>()
    {
        Err(ConfigError::InvalidValue { reason, .. }) => {
            assert!(reason.contains("partitioner.ignore.keys"))
        }
        other => panic!("{other:?}"),
    }
    for (name, p, tls, sasl) in [
        ("plaintext", SecurityProtocol::Plaintext, false, false),
        ("Ssl", SecurityProtocol::Ssl, true, false),
        (
            "SASL_PLAINTEXT",
            SecurityProtocol::SaslPlaintext,
            false,
            true,
        ),
        ("sasl_ssl", SecurityProtocol::SaslSsl, true, true),
    ] {
        assert_eq!(name.parse::<SecurityProtocol>(), Ok(p));
        assert_eq!(p.to_string(), name.to_ascii_uppercase());
        assert_eq!((p.uses_tls(), p.uses_sasl()), (tls, sasl), "{name}");
    }
}

#[test]
fn explicit_idempotence_conflicts_and_default_idempotence_yields() {
    for (key, value, because) in [
        ("acks", "1", "acks is not all"),
        ("acks", "0", "acks is not all"),
        ("retries", "0", "retries is 0"),
    ] {
        let mut c = base();
        c.set("enable.idempotence", "true").unwrap();
        c.set(key, value).unwrap();
        match c.validate() {
            Err(ConfigError::Conflict { reason }) => {
                assert!(reason.contains("enable.idempotence"), "{reason}");
                assert!(reason.contains(key), "{reason}");
            }
            other => panic!("{key}={value}: {other:?}"),
        }

        let mut c = base();
        c.set(key, value).unwrap();
        c.validate().unwrap();
        assert!(!c.enable_idempotence, "{key}={value}");
        assert!(
            c.idempotence_disabled_because().unwrap().contains(because),
            "{key}={value}"
        );
        // Settled: validating again is fine and keeps the reason.
        c.validate().unwrap();
        assert!(c.idempotence_disabled_because().is_some());
    }
    // More than 5 in flight is an error with idempotence on, even by default (Java 4.x).
    for explicit in [false, true] {
        let mut c = base();
        if explicit {
            c.set("enable.idempotence", "true").unwrap();
        }
        c.set("max.in.flight.requests.per.connection", "6").unwrap();
        c.set("acks", "1").unwrap();
        match c.validate() {
            Err(ConfigError::Conflict { reason }) if !explicit => {
                assert!(reason.contains("max.in.flight"), "{reason}")
            }
            Err(ConfigError::Conflict { reason }) => assert!(reason.contains("acks"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
    // Explicitly off: no limits apply.
    let mut c = base();
    c.set("enable.idempotence", "false").unwrap();
    c.set("max.in.flight.requests.per.connection", "10")
        .unwrap();
    c.set("acks", "1").unwrap();
    c.validate().unwrap();
    assert!(!c.enable_idempotence);
    assert_eq!(c.idempotence_disabled_because(), None);
}

#[test]
fn oauthbearer_takes_java_s_unsecured_login_and_needs_no_password() {
    let mut c = base();
    c.set("security.protocol", "SASL_PLAINTEXT").unwrap();
    c.set("sasl.mechanism", "oauthbearer").unwrap();
    c.set(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
         unsecuredLoginStringClaim_sub=\"alice\" unsecuredLoginLifetimeSeconds=\"120\" \
         unsecuredLoginListClaim_scope=\"read write\" unsecuredLoginExtension_traceId=\"t1\";",
    )
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.sasl_mechanism, "OAUTHBEARER");
    let login = c.sasl_oauthbearer_unsecured.clone().unwrap();
    assert_eq!(login.principal, "alice");
    assert_eq!(login.lifetime, Duration::from_secs(120));
    assert_eq!(login.scope, ["read", "write"]);
    assert_eq!(login.extensions, [("traceId".to_owned(), "t1".to_owned())]);
    // Without unsecured options the module needs a token provider (no login here).
    let mut c = base();
    c.set(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
    )
    .unwrap();
    assert_eq!(c.sasl_oauthbearer_unsecured, None);
    // An unsecured login without a principal, or a reserved extension, is refused.
    let mut c = base();
    assert!(
        c.set(
            "sasl.jaas.config",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
             unsecuredLoginLifetimeSeconds=\"60\";",
        )
        .is_err()
    );
    assert!(
        c.set(
            "sasl.jaas.config",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
             unsecuredLoginStringClaim_sub=\"a\" unsecuredLoginExtension_auth=\"x\";",
        )
        .is_err()
    );
}

#[test]
fn transactional_id_needs_idempotence() {
    let mut c = base();
    c.set("transactional.id", "tx").unwrap();
    c.validate().unwrap();
    assert!(c.enable_idempotence);

    let mut c = base();
    c.set("enable.idempotence", "false").unwrap();
    c.set("transactional.id", "tx").unwrap();
    match c.validate() {
        Err(ConfigError::Conflict { reason }) => {
            assert!(reason.contains("transactional.id") && reason.contains("enable.idempotence"))
        }
        other => panic!("{other:?}"),
    }

    // Idempotence turned off implicitly is just as fatal to transactions.
    let mut c = base();
    c.set("transactional.id", "tx").unwrap();
    c.set("acks", "1").unwrap();
    match c.validate() {
        Err(ConfigError::Conflict { reason }) => {
            assert!(reason.contains("transactional.id") && reason.contains("acks"))
        }
        other => panic!("{other:?}"),
    }

    let mut c = base();
    c.transactional_id = Some(String::new());
    assert!(matches!(
        c.validate(),
        Err(ConfigError::InvalidValue { .. })
    ));
}

#[test]
fn delivery_timeout_must_cover_linger_and_request_timeout() {
    // Chosen and too small: refused.
    let mut c = base();
    c.set("delivery.timeout.ms", "30004").unwrap();
    match c.validate() {
        Err(ConfigError::Conflict { reason }) => {
            assert!(reason.contains("delivery.timeout.ms") && reason.contains("30005"))
        }
        other => panic!("{other:?}"),
    }
    // Exactly the sum is enough.
    let mut c = base();
    c.set("delivery.timeout.ms", "30005").unwrap();
    c.validate().unwrap();
    assert_eq!(c.delivery_timeout, ms(30_005));
    // Assigned in code counts as chosen.
    let mut c = base();
    c.delivery_timeout = ms(1_000);
    assert!(matches!(c.validate(), Err(ConfigError::Conflict { .. })));
    // Left at the default: raised to the sum.
    let mut c = base();
    c.set("request.timeout.ms", "200000").unwrap();
    c.set("linger.ms", "50").unwrap();
    c.validate().unwrap();
    assert_eq!(c.delivery_timeout, ms(200_050));
    // Huge values saturate rather than overflow.
    let mut c = base();
    c.linger = Duration::MAX;
    c.request_timeout = Duration::MAX;
    c.validate().unwrap();
    assert_eq!(c.delivery_timeout, Duration::MAX);
}

#[test]
fn backoff_maxima_are_raised_to_the_backoff() {
    let mut c = base();
    c.set("retry.backoff.ms", "5000").unwrap();
    c.set("reconnect.backoff.ms", "3000").unwrap();
    c.validate().unwrap();
    assert_eq!(c.retry_backoff_max, ms(5_000));
    assert_eq!(c.reconnect_backoff_max, ms(3_000));
    let mut c = base();
    c.set("retry.backoff.max.ms", "10").unwrap();
    c.validate().unwrap();
    assert_eq!((c.retry_backoff, c.retry_backoff_max), (ms(100), ms(100)));
}

#[test]
fn sizes_and_limits_are_checked() {
    let mut c = base();
    c.set("batch.size", "0").unwrap();
    c.validate().unwrap();
    for (key, set) in [
        (
            "max.in.flight.requests.per.connection",
            (|c: &mut ProducerConfig| c.max_in_flight_requests_per_connection = 0)
                as fn(&mut ProducerConfig),
        ),
        ("max.request.size", |c| c.max_request_size = 0),
        ("buffer.memory", |c| c.buffer_memory = 0),
        ("metadata.max.idle.ms", |c| c.metadata_max_idle = ms(4_999)),
        ("sasl.mechanism", |c| c.sasl_mechanism = "GSSAPI".into()),
    ] {
        let mut c = base();
        set(&mut c);
        match c.validate() {
            Err(ConfigError::InvalidValue { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{key}: {other:?}"),
        }
    }
    // A mechanism assigned in lower case is normalised.
    let mut c = base();
    c.sasl_mechanism = "scram-sha-256".into();
    c.validate().unwrap();
    assert_eq!(c.sasl_mechanism, "SCRAM-SHA-256");
}

#[test]
fn sasl_needs_credentials() {
    let mut c = base();
    c.set("security.protocol", "SASL_SSL").unwrap();
    assert_eq!(
        c.validate(),
        Err(ConfigError::Missing {
            key: "sasl.username"
        })
    );
    c.set("sasl.username", "alice").unwrap();
    assert_eq!(
        c.validate(),
        Err(ConfigError::Missing {
            key: "sasl.password"
        })
    );
    c.set("sasl.password", PASSWORD).unwrap();
    c.validate().unwrap();
    // Without SASL, no credentials are needed.
    let mut c = base();
    c.set("security.protocol", "SSL").unwrap();
    c.validate().unwrap();
}

#[test]
fn jaas_config_fills_the_credentials() {
    for (line, user, pass) in [
        (
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             username=\"alice\" password=\"alice-secret\";",
            "alice",
            "alice-secret",
        ),
        (
            "  org.apache.kafka.common.security.scram.ScramLoginModule required\n\
             \tpassword = \"p w;=\" username = bob  ;  ",
            "bob",
            "p w;=",
        ),
        (
            "org.apache.kafka.common.security.scram.ScramLoginModule REQUIRED \
             username=\"carol\" password=\"q\\\"uo\\\\te\" tokenauth=true;",
            "carol",
            "q\"uo\\te",
        ),
    ] {
        let mut c = base();
        c.set("sasl.jaas.config", line)
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(c.sasl_username.as_deref(), Some(user));
        assert_eq!(c.sasl_password.as_ref().map(Secret::expose), Some(pass));
        assert!(c.is_explicit("sasl.jaas.config"));
    }
    let plain = "org.apache.kafka.common.security.plain.PlainLoginModule";
    for (bad, reason) in [
        (format!("{plain} required username=\"u\";"), "no password"),
        (format!("{plain} required password=\"p\";"), "no username"),
        (
            format!("{plain} required username=\"u\" password=\"p\""),
            "ending with ';'",
        ),
        (
            format!("{plain} username=\"u\" password=\"p\";"),
            "control flag",
        ),
        (
            format!("{plain} required username=\"u\" password=\"p;"),
            "not closed",
        ),
        (
            format!("{plain} required username \"u\" password=\"p\";"),
            "'='",
        ),
        (
            format!("{plain} required username=\"\" password=\"p\";"),
            "empty",
        ),
        (
            format!("{plain} required username=\"u\" password=\"p\"; {plain} required;"),
            "exactly one",
        ),
        (
            "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;".into(),
            "JAAS entry",
        ),
        (String::new(), "JAAS entry"),
    ] {
        match base().set("sasl.jaas.config", &bad) {
            Err(ConfigError::InvalidValue {
                value, reason: r, ..
            }) => {
                assert_eq!(value, "<redacted>");
                assert!(r.contains(reason), "{bad}: {r}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn the_password_never_shows() {
    let mut c = base();
    c.set("security.protocol", "SASL_PLAINTEXT").unwrap();
    c.set(
        "sasl.jaas.config",
        &format!(
            "org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"alice\" password=\"{PASSWORD}\";"
        ),
    )
    .unwrap();
    c.set("sasl.mechanism", "SCRAM-SHA-256").unwrap();
    c.validate().unwrap();
    assert_eq!(c.sasl_password.as_ref().map(Secret::expose), Some(PASSWORD));
    assert!(!format!("{c:?}").contains(PASSWORD));
    assert!(!format!("{c:#?}").contains(PASSWORD));
    assert!(format!("{c:?}").contains("<redacted>"));
    assert_eq!(format!("{:?}", Secret::from(PASSWORD)), "<redacted>");

    let mut errors = vec![
        c.clone().set("sasl.password", "").unwrap_err(),
        c.clone().set("sasl.jaas.config", PASSWORD).unwrap_err(),
        c.clone()
            .set(
                "sasl.jaas.config",
                &format!("{PASSWORD} required username=\"a\" password=\"{PASSWORD}\";"),
            )
            .unwrap_err(),
        c.clone()
            .set(
                "sasl.jaas.config",
                &format!(
                    "org.apache.kafka.common.security.plain.PlainLoginModule required \
                     password=\"{PASSWORD}\" {PASSWORD}"
                ),
            )
            .unwrap_err(),
    ];
    let mut conflicting = c.clone();
    conflicting.set("delivery.timeout.ms", "1").unwrap();
    errors.push(conflicting.validate().unwrap_err());
    let mut missing = c.clone();
    missing.sasl_username = None;
    errors.push(missing.validate().unwrap_err());
    for e in &errors {
        assert!(!format!("{e:?}").contains(PASSWORD), "{e:?}");
        assert!(!e.to_string().contains(PASSWORD), "{e}");
        assert!(!e.to_string().contains("Sup3r"), "{e}");
    }
}

#[test]
fn from_properties_sets_in_order_then_validates() {
    let c = ProducerConfig::from_properties([
        ("bootstrap.servers", "a:1"),
        ("linger.ms", "1"),
        ("linger.ms", "20"),
        ("enable.idempotence", "true"),
        ("compression.type", "snappy"),
    ])
    .unwrap();
    assert_eq!(c.linger, ms(20));
    assert_eq!(c.compression_type, Compression::Snappy);
    assert!(matches!(
        ProducerConfig::from_properties([("bootstrap.servers", "a:1"), ("nope", "1")]),
        Err(ConfigError::UnknownKey { .. })
    ));
    assert!(matches!(
        ProducerConfig::from_properties([
            ("bootstrap.servers", "a:1"),
            ("enable.idempotence", "true"),
            ("acks", "1"),
        ]),
        Err(ConfigError::Conflict { .. })
    ));
    assert_eq!(
        ProducerConfig::from_properties([("linger.ms", "1")]).unwrap_err(),
        ConfigError::Missing {
            key: "bootstrap.servers"
        }
    );
}

#[test]
fn errors_display_the_key_and_reason() {
    let e = ProducerConfig::default().set("acks", "2").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value \"2\" for acks: expected all, -1, 1 or 0"
    );
    assert_eq!(
        ConfigError::Missing {
            key: "sasl.username"
        }
        .to_string(),
        "sasl.username must be set"
    );
    let source: &dyn std::error::Error = &e;
    assert!(source.source().is_none());
}

#[test]
fn every_other_property_has_a_fate() {
    for (name, fate) in known_properties() {
        assert_eq!(property_fate(name), Some(fate), "{name}");
        let mut c = ProducerConfig::default();
        match fate {
            Fate::Honoured => {}
            Fate::Transport => {
                c.set(name, "x").unwrap();
                c.set(name, "y").unwrap();
                assert_eq!(
                    c.transport_properties(),
                    [(name.to_owned(), "y".to_owned())]
                );
            }
            Fate::Ignored(reason) => {
                c.set(name, "whatever").unwrap();
                c.set(name, "again").unwrap();
                assert_eq!(
                    c.warnings(),
                    [ConfigWarning {
                        key: name.to_owned(),
                        reason
                    }]
                );
                assert!(c.warnings()[0].to_string().starts_with(name));
            }
            Fate::Refused(reason) => {
                let err = c.set(name, "x").unwrap_err();
                assert_eq!(
                    err,
                    ConfigError::Unsupported {
                        key: name.to_owned(),
                        reason
                    }
                );
                assert!(err.to_string().contains("not supported"), "{err}");
            }
        }
    }
    assert_eq!(property_fate("linger"), None);
    assert_eq!(
        property_fate("key.serializer"),
        Some(Fate::Ignored(
            "a Java class: records are bytes; serialize in Rust (the runtime crates' Serializer trait)"
        ))
    );
}

#[test]
fn compression_levels_follow_the_codec() {
    let mut c = ProducerConfig::default();
    assert_eq!(c.compression_level(), None);
    c.compression_type = Compression::Gzip;
    assert_eq!(c.compression_level(), None);
    c.set("compression.gzip.level", "1").unwrap();
    assert_eq!(c.compression_level(), Some(1));
    c.compression_type = Compression::Zstd;
    assert_eq!(c.compression_level(), Some(3));
    c.compression_type = Compression::Lz4;
    // Java's default level 9 is not used unless asked for: the fast level.
    assert_eq!(c.compression_lz4_level, 9);
    assert_eq!(c.compression_level(), None);
    c.set("compression.lz4.level", "12").unwrap();
    assert_eq!(c.compression_level(), Some(12));
    // With the default features every level has its effect: no warning.
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
}

/// A level the build cannot honour is accepted with a warning, never
/// silently (run with `--no-default-features --features lz4` on a build
/// where nothing else turns kafka-proto's `lz4-hc` on to see it).
#[test]
fn an_lz4_level_without_lz4_hc_is_warned_about() {
    let mut c = ProducerConfig::default();
    c.set("compression.lz4.level", "9").unwrap();
    if kafka_proto::compression::honours_levels(Compression::Lz4) {
        assert!(c.warnings().is_empty());
    } else {
        assert_eq!(c.warnings().len(), 1);
        assert!(c.warnings()[0].to_string().contains("lz4-hc"));
    }
}

/// PROPERTIES.md, the table of every property's fate, as the code decides it.
fn properties_table() -> String {
    let mut rows: Vec<(&str, String)> = known_properties()
        .map(|(name, fate)| {
            let what = match fate {
                Fate::Honoured => match Key::from_name(name) {
                    Some(key) if key.name() != name => {
                        format!("honoured (librdkafka's name for `{}`)", key.name())
                    }
                    Some(key) => match key.limits() {
                        Some(limits) => format!("honoured: {limits}"),
                        None => "honoured".to_owned(),
                    },
                    None => "honoured".to_owned(),
                },
                Fate::Transport => "honoured by the runtime crate (TLS)".to_owned(),
                Fate::Ignored(why) => format!("accepted with a warning: {why}"),
                Fate::Refused(why) => format!("refused: {why}"),
            };
            (name, what)
        })
        .collect();
    rows.sort();
    let mut out = String::from(
        "# Producer properties\n\n\
         What the producer does with each property of the Kafka 4.4 Java producer (and the \
         librdkafka names it also takes). *Honoured* properties take Java's values and \
         defaults (the `ProducerConfig` field docs say where they differ); some refuse values \
         they cannot honour, saying why. *Accepted with a warning* means the property has no \
         meaning here and is logged when the producer is built. *Refused* properties fail \
         `set` with `ConfigError::Unsupported`. A name not in this table (a typo) fails with \
         `ConfigError::UnknownKey`.\n\n\
         Generated from `kafka_producer_core::config::known_properties()`; \
         `UPDATE_PROPERTIES_MD=1 cargo test -p kafka-producer-core --lib properties_md` \
         rewrites it. The integration test `tests/tests/java_config.rs` checks against the \
         Java producer itself that no property of it is missing.\n\n\
         | Property | Fate |\n| --- | --- |\n",
    );
    for (name, what) in rows {
        out.push_str(&format!("| `{name}` | {what} |\n"));
    }
    out
}

#[test]
fn properties_md_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/PROPERTIES.md");
    let want = properties_table();
    if std::env::var_os("UPDATE_PROPERTIES_MD").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "PROPERTIES.md is stale: UPDATE_PROPERTIES_MD=1 cargo test -p kafka-producer-core --lib properties_md"
    );
}

#[test]
fn oidc_client_credentials_come_from_properties_or_jaas() {
    let mut c = base();
    c.set("security.protocol", "SASL_SSL").unwrap();
    c.set("sasl.mechanism", "OAUTHBEARER").unwrap();
    c.set("sasl.oauthbearer.token.endpoint.url", "https://idp/token")
        .unwrap();
    assert!(matches!(c.validate(), Err(ConfigError::Missing { .. })));
    c.set(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
         clientId=\"producer\" clientSecret=\"s3cret\" scope=\"kafka\";",
    )
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.sasl_oauthbearer_client_id.as_deref(), Some("producer"));
    assert_eq!(
        c.sasl_oauthbearer_client_secret
            .as_ref()
            .map(Secret::expose),
        Some("s3cret")
    );
    assert_eq!(c.sasl_oauthbearer_scope.as_deref(), Some("kafka"));
    assert!(!format!("{c:?}").contains("s3cret"));
    // A file: URL needs no client.
    let mut f = base();
    f.set("security.protocol", "SASL_PLAINTEXT").unwrap();
    f.set("sasl.mechanism", "OAUTHBEARER").unwrap();
    f.set("sasl.oauthbearer.token.endpoint.url", "file:/run/token")
        .unwrap();
    f.validate().unwrap();
}
