//! What `produce` and `perf` share: `-X key=value` properties, the choice
//! of runtime (`--runtime tokio|async-std|mio`), and building the producer
//! on it.
//!
//! The commands are written once, as async code against [`Sink`] (the
//! runtime crates' `AnyProducer`), and run on the chosen runtime: Tokio's
//! multi-thread runtime, the async-std crate's producer (whose tasks run on
//! its own executor thread) or the mio crate's blocking producer (whose
//! calls complete before returning), the last two driven by
//! [`kafka_runtime_common::block_on`]. The command's own future runs on the
//! calling thread in every case, apart from the producer's driver, so it may
//! block briefly (reading stdin, throttling).

use std::future::Future;
use std::time::Duration;

use kafka_runtime_common::{ProducerConfig, Runtime};

/// The runtime that drives the producer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RuntimeChoice {
    /// kafka-runtime-tokio.
    #[default]
    Tokio,
    /// kafka-runtime-async-std.
    AsyncStd,
    /// kafka-runtime-mio's blocking producer.
    Mio,
}

/// Parses `key=value` (for `-X`); the value may itself contain `=`.
pub(crate) fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected key=value, got {s:?}")),
    }
}

/// `delivery.timeout.ms` of the producer `properties` configure (with
/// Java's rule that raises it to `linger.ms + request.timeout.ms`): how
/// long a record may take from `send` to its outcome, so also how long
/// `close` needs to give every buffered record its own outcome.
pub(crate) fn delivery_timeout(bootstrap: &str, properties: &[(String, String)]) -> Duration {
    let mut config = ProducerConfig::default();
    // Errors here (and properties the core does not know, such as the TLS
    // ones) are the build's to report; only the timeouts matter.
    let _ = config.set("bootstrap.servers", bootstrap);
    for (key, value) in properties {
        let _ = config.set(key, value);
    }
    let _ = config.validate();
    config.delivery_timeout
}

/// The producer calls the commands make, on any runtime: the runtime
/// crates' shared trait.
pub(crate) use kafka_runtime_common::AnyProducer as Sink;

/// A command, run with a producer on whichever runtime was chosen.
pub(crate) trait Job {
    /// What the command returns.
    type Output;
    /// Runs the command with `producer`.
    fn run<P: Sink>(self, producer: P) -> impl Future<Output = Self::Output>;
}

/// Builds a producer for `bootstrap` with the `-X` properties applied on
/// top (so `-X bootstrap.servers=...` is not needed but would win).
fn build<R: Runtime>(
    bootstrap: &str,
    properties: &[(String, String)],
) -> Result<R::Producer, String> {
    let builder = properties.iter().fold(
        kafka_runtime_common::ProducerBuilder::<R>::new().bootstrap_servers(bootstrap),
        |b, (k, v)| b.set(k, v),
    );
    builder
        .build()
        .map_err(|e| format!("bad producer configuration: {e}"))
}

/// Builds the producer on `runtime` and runs `job` with it there.
pub(crate) fn run_on<J: Job>(
    runtime: RuntimeChoice,
    bootstrap: &str,
    properties: &[(String, String)],
    job: J,
) -> Result<J::Output, String> {
    match runtime {
        RuntimeChoice::Tokio => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a Tokio runtime: {e}"))?;
            rt.block_on(async {
                let producer = build::<kafka_runtime_tokio::Tokio>(bootstrap, properties)?;
                Ok(job.run(producer).await)
            })
        }
        // The async-std crate's producer runs its own tasks: the command's
        // future needs no executor, only a thread to run on.
        RuntimeChoice::AsyncStd => kafka_runtime_common::block_on(async {
            let producer = build::<kafka_runtime_async_std::AsyncStd>(bootstrap, properties)?;
            Ok(job.run(producer).await)
        }),
        RuntimeChoice::Mio => {
            let producer = build::<kafka_runtime_mio::Mio>(bootstrap, properties)?;
            Ok(kafka_runtime_common::block_on(job.run(producer)))
        }
    }
}
