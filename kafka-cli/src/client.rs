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
use std::path::PathBuf;
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

/// Where the producer's properties come from, as `produce` and `perf`
/// take them: a properties file (`--producer.config FILE` as Kafka's
/// tools, `-F FILE` as kcat), then `-b` / `--bootstrap-server(s)`, then
/// every `-X key=value`, each overriding what came before.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Connect {
    /// The broker(s) to bootstrap from: `host:port[,host:port...]`. May be
    /// left out when the properties file sets bootstrap.servers.
    #[arg(
        short = 'b',
        long = "bootstrap-servers",
        visible_alias = "bootstrap-server",
        value_name = "HOST:PORT"
    )]
    pub(crate) bootstrap_servers: Option<String>,
    /// A Java producer properties file, loaded first (`--command-config`
    /// as kafka-topics calls it).
    #[arg(
        short = 'F',
        long = "producer.config",
        visible_alias = "command-config",
        value_name = "FILE"
    )]
    pub(crate) producer_config: Option<PathBuf>,
    /// A producer property, Java or librdkafka name (repeatable; overrides
    /// the file and -b), e.g. -X linger.ms=20 -X compression.type=lz4.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_property)]
    pub(crate) properties: Vec<(String, String)>,
    /// The properties file's entries, read once (through the library's
    /// loader) for both [`apply`](Self::apply) and
    /// [`delivery_timeout`](Self::delivery_timeout).
    #[arg(skip)]
    file: std::sync::OnceLock<Option<Vec<(String, String)>>>,
}

impl Connect {
    /// The properties in the order they apply: the file's (when it can be
    /// read; the build reports it otherwise), `-b`, then `-X`.
    fn all_properties(&self) -> Vec<(String, String)> {
        let mut all = Vec::new();
        all.extend(self.file_entries().into_iter().flatten().cloned());
        if let Some(b) = &self.bootstrap_servers {
            all.push(("bootstrap.servers".to_owned(), b.clone()));
        }
        all.extend(self.properties.iter().cloned());
        all
    }

    /// `builder` with the properties file (through the library's loader),
    /// `-b` and the `-X` properties set on it, in that order.
    pub(crate) fn apply<R: Runtime>(
        &self,
        mut builder: kafka_runtime_common::ProducerBuilder<R>,
    ) -> kafka_runtime_common::ProducerBuilder<R> {
        if let Some(file) = &self.producer_config {
            builder = match self.file_entries() {
                Some(entries) => entries.iter().fold(builder, |b, (k, v)| b.set(k, v)),
                // The library's loader reports what is wrong with the file
                // when the producer is built.
                None => builder.properties_file(file),
            };
        }
        if let Some(b) = &self.bootstrap_servers {
            builder = builder.bootstrap_servers(b);
        }
        self.properties
            .iter()
            .fold(builder, |b, (k, v)| b.set(k, v))
    }

    /// The file's entries, when there is a file and it could be read.
    fn file_entries(&self) -> Option<&Vec<(String, String)>> {
        self.file
            .get_or_init(|| {
                let path = self.producer_config.as_ref()?;
                kafka_runtime_common::load_properties_file(path).ok()
            })
            .as_ref()
    }

    /// Adds a property after the others (so it wins).
    pub(crate) fn push(&mut self, key: &str, value: &str) {
        self.properties.push((key.to_owned(), value.to_owned()));
    }

    /// `delivery.timeout.ms` of the producer these properties configure
    /// (with Java's rule that raises it to `linger.ms +
    /// request.timeout.ms`): how long a record may take from `send` to its
    /// outcome, so also how long `close` needs to give every buffered
    /// record its own outcome.
    pub(crate) fn delivery_timeout(&self) -> Duration {
        let mut config = ProducerConfig::default();
        // Errors here are the build's to report; only the timeouts matter.
        for (key, value) in self.all_properties() {
            let _ = config.set(&key, &value);
        }
        let _ = config.validate();
        config.delivery_timeout
    }
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

/// Builds a producer from the properties file, `-b` and the `-X`
/// properties ([`Connect::apply`]).
fn build<R: Runtime>(connect: &Connect) -> Result<R::Producer, String> {
    connect
        .apply(kafka_runtime_common::ProducerBuilder::<R>::new())
        .build()
        .map_err(|e| format!("bad producer configuration: {e}"))
}

/// Builds the producer on `runtime` and runs `job` with it there.
pub(crate) fn run_on<J: Job>(
    runtime: RuntimeChoice,
    connect: &Connect,
    job: J,
) -> Result<J::Output, String> {
    match runtime {
        RuntimeChoice::Tokio => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a Tokio runtime: {e}"))?;
            rt.block_on(async {
                let producer = build::<kafka_runtime_tokio::Tokio>(connect)?;
                Ok(job.run(producer).await)
            })
        }
        // The async-std crate's producer runs its own tasks: the command's
        // future needs no executor, only a thread to run on.
        RuntimeChoice::AsyncStd => kafka_runtime_common::block_on(async {
            let producer = build::<kafka_runtime_async_std::AsyncStd>(connect)?;
            Ok(job.run(producer).await)
        }),
        RuntimeChoice::Mio => {
            let producer = build::<kafka_runtime_mio::Mio>(connect)?;
            Ok(kafka_runtime_common::block_on(job.run(producer)))
        }
    }
}
