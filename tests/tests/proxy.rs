//! Truthful outcomes through a faulty network: every runtime produces (idempotent, acks=all,
//! 5 in flight) through [`FaultProxy`] in front of a 1-node Apache Kafka cluster that
//! advertises the proxy's port, while every 7th Produce request (12th for held responses) is hit by one fault: the
//! connection cut mid-request, the response dropped after the append, the response cut in
//! half, the response held past `request.timeout.ms` (and, with a short `delivery.timeout.ms`,
//! past it: those records fail as possibly written). Then confluent-kafka reads the topic
//! back (through the proxy, faults off) and each record's outcome is checked against the log:
//! acknowledged records at their reported offsets, "not written" records absent,
//! possibly-written ones either way; nothing duplicated, order kept per partition.
//!
//! One cluster and one proxy per test binary; the scenarios take [`FAULTS`] in turn (the fault
//! is the proxy's, shared).

// `FAULTS` serialises whole tests: each runs its scenario on an executor of its own thread
// (`runtimes::suite!`), where nothing else waits for the guard held across awaits.
#![allow(clippy::await_holding_lock)]

mod outcomes;
mod runtimes;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kafka_integration_tests::kafka::{ClusterConfig, KafkaCluster, Listener};
use kafka_integration_tests::proxy::{Fault, FaultProxy};
use kafka_integration_tests::require_tools;
use kafka_integration_tests::tools::Tool;
use kafka_runtime_common::{Acks, ProducerBuilder};
use outcomes::{Gate, Ledger, stream, verify};
use runtimes::{Rt, TestProducer};

/// One fault at a time: the proxy is shared.
static FAULTS: Mutex<()> = Mutex::new(());

/// The producer's `request.timeout.ms`; held responses wait longer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// The fault hits every N-th Produce request.
const EVERY: u64 = 7;

/// A held response stalls its connection for `request.timeout.ms`: rarer, or delivery
/// timeouts expire.
const EVERY_HELD: u64 = 12;

/// Long enough for every record to arrive despite the faults.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// A held response outlasts this one.
const SHORT_DELIVERY_TIMEOUT: Duration = Duration::from_secs(4);

fn held() -> Fault {
    Fault::HoldResponse(REQUEST_TIMEOUT + Duration::from_secs(2))
}

fn setup() -> &'static (FaultProxy, KafkaCluster) {
    static SETUP: OnceLock<(FaultProxy, KafkaCluster)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let proxy = FaultProxy::bind().expect("bind the proxy");
        let cluster = KafkaCluster::start(ClusterConfig::single_node().broker_config(
            "advertised.listeners",
            &format!("PLAINTEXT://{}", proxy.address()),
        ));
        proxy.set_upstream(SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            cluster.node_port(1, Listener::Plaintext),
        )));
        (proxy, cluster)
    })
}

fn records_for<T: Rt>() -> usize {
    if T::NAME == "tokio" { 20_000 } else { 10_000 }
}

/// Streams through the proxy with `fault` at every `every`-th Produce request. With
/// `delivery_timeout` long enough every record must arrive; otherwise (`all_arrive` false)
/// some must fail, truthfully.
async fn through_the_proxy<T: Rt>(
    name: &str,
    fault: Fault,
    every: u64,
    delivery_timeout: Duration,
    all_arrive: bool,
) {
    require_tools!(Tool::Kafka, Tool::Python);
    let _faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    let (proxy, cluster) = setup();
    static N: AtomicUsize = AtomicUsize::new(0);
    let topic = format!(
        "proxy-{name}-{}-{}-{}",
        T::NAME,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    cluster.create_topic(&topic, 3);
    let producer = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&proxy.address())
        .client_id(&format!("proxy-{}", T::NAME))
        .acks(Acks::All)
        .enable_idempotence(true)
        .max_in_flight(5)
        .linger(Duration::from_millis(5))
        .request_timeout(REQUEST_TIMEOUT)
        .delivery_timeout(delivery_timeout)
        .set("retry.backoff.ms", "50")
        .set("retry.backoff.max.ms", "500")
        .build()
        .expect("build the producer");
    let n = records_for::<T>();
    let ledger = Ledger::new(n);
    let (faults_before, started) = (proxy.faults_injected(), Instant::now());
    proxy.inject(fault, every);
    let topic_arc: Arc<str> = topic.as_str().into();
    stream(
        &producer,
        &topic_arc,
        0..n,
        Duration::from_secs(6),
        &ledger,
        &Gate::default(),
        None,
    )
    .await;
    producer.flush().await;
    proxy.clear();
    producer.close(Duration::from_secs(10)).await;
    let faults = proxy.faults_injected() - faults_before;
    eprintln!(
        "proxy: {fault:?} on {}: {n} records in {:.1?}, {faults} faults injected",
        T::NAME,
        started.elapsed()
    );
    let verdict = verify(cluster, &topic, &ledger);
    assert!(faults >= 2, "only {faults} faults were injected");
    if all_arrive {
        assert_eq!(
            verdict.acked,
            n,
            "with retries and a long delivery timeout every record arrives: {:?}",
            ledger.errors()
        );
    } else {
        // `verify` checked the truth of each: "not written" ones (expired before a request
        // carried them) are absent. Those whose held request was appended must have said
        // "possibly written".
        assert!(
            verdict.acked < n,
            "some records outlast the delivery timeout"
        );
        assert!(
            verdict.possibly_written_present > 0,
            "records in held (appended) requests fail as possibly written: {:?}",
            ledger.errors()
        );
    }
}

async fn connection_cut_mid_request<T: Rt>() {
    through_the_proxy::<T>(
        "cut-request",
        Fault::CutMidRequest,
        EVERY,
        DELIVERY_TIMEOUT,
        true,
    )
    .await;
}

async fn response_dropped_after_the_append<T: Rt>() {
    let fault = Fault::DropResponseAfterAppend;
    through_the_proxy::<T>("drop-response", fault, EVERY, DELIVERY_TIMEOUT, true).await;
}

async fn response_cut_in_half<T: Rt>() {
    through_the_proxy::<T>(
        "half-response",
        Fault::HalfResponse,
        EVERY,
        DELIVERY_TIMEOUT,
        true,
    )
    .await;
}

async fn response_held_past_the_request_timeout<T: Rt>() {
    through_the_proxy::<T>("held-response", held(), EVERY_HELD, DELIVERY_TIMEOUT, true).await;
}

/// Responses held at every 3rd request with `delivery.timeout.ms` 4 s: records fail; those
/// whose request was in flight (and appended) must say "possibly written", those that never
/// left the producer may say "not written" and must then be absent.
async fn held_responses_outlast_the_delivery_timeout<T: Rt>() {
    through_the_proxy::<T>("held-timeout", held(), 3, SHORT_DELIVERY_TIMEOUT, false).await;
}

runtimes::suite!(
    connection_cut_mid_request,
    response_dropped_after_the_append,
    response_cut_in_half,
    response_held_past_the_request_timeout,
    held_responses_outlast_the_delivery_timeout,
);

/// The first Produce request of a fresh producer is swallowed (never reaches the broker) while
/// the next ones, on the same connection, do. Kafka accepts any first sequence from a producer
/// id it has no state for (KIP-360), so the second batch is appended at offset 0; the first,
/// retried after `request.timeout.ms`, is behind a later sequence. Its records were never
/// written: they may fail as not written, but must never be reported delivered while absent,
/// nor land after later records of the partition.
async fn swallowed_first_request_is_not_reported_delivered<T: Rt>() {
    require_tools!(Tool::Kafka, Tool::Python);
    let _faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    let (proxy, cluster) = setup();
    let topic = format!("proxy-swallowed-{}-{}", T::NAME, std::process::id());
    cluster.create_topic(&topic, 1);
    let producer = ProducerBuilder::<T::R>::new()
        .bootstrap_servers(&proxy.address())
        .client_id(&format!("proxy-{}", T::NAME))
        .acks(Acks::All)
        .enable_idempotence(true)
        .max_in_flight(5)
        .linger(Duration::from_millis(5))
        .request_timeout(REQUEST_TIMEOUT)
        .delivery_timeout(Duration::from_secs(30))
        .build()
        .expect("build the producer");
    let n = 2_000;
    let ledger = Ledger::new(n);
    proxy.inject_once(Fault::SwallowRequest);
    let topic_arc: Arc<str> = topic.as_str().into();
    let gate = Gate::default();
    stream(
        &producer,
        &topic_arc,
        0..n,
        Duration::from_secs(2),
        &ledger,
        &gate,
        None,
    )
    .await;
    producer.flush().await;
    producer.close(Duration::from_secs(10)).await;
    proxy.clear();
    verify(cluster, &topic, &ledger);
}

/// Tokio only: one run shows the core's verdict, which no runtime changes.
#[test]
fn swallowed_first_request_is_not_reported_delivered_tokio() {
    use runtimes::Rt as _;
    runtimes::TokioRt::block_on(swallowed_first_request_is_not_reported_delivered::<
        runtimes::TokioRt,
    >());
}
