//! An async Kafka producer for async-std and smol.
//!
//! A thin adapter around the I/O-free [`kafka_producer_core`]: this crate
//! owns the sockets (TCP, and TLS through rustls), the timers and the task
//! that drives the core; all producer logic (batching, partitioning,
//! retries, idempotence, SASL) is the core's. Its API is the one of
//! `kafka-runtime-tokio`: code written for one compiles with the other by
//! changing the crate name.
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::Duration;
//! use kafka_runtime_async_std::{ProducerBuilder, ProducerRecord};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let producer = ProducerBuilder::new()
//!     .bootstrap_servers("localhost:9092")
//!     .linger(Duration::from_millis(5))
//!     .set("compression.type", "lz4")
//!     .build()?;
//!
//! // `send` waits only for buffer space or metadata; the returned future
//! // resolves when the broker has acknowledged the record.
//! let delivery = producer
//!     .send(ProducerRecord::new("events").key("user-1").value("clicked"))
//!     .await?;
//! let metadata = delivery.await?;
//! println!("written to {}-{} at offset {}", metadata.topic, metadata.partition, metadata.offset);
//!
//! // Fire-and-forget at full speed: a callback per record, no future.
//! for i in 0..1000 {
//!     let record = ProducerRecord::new("events").value(format!("event {i}"));
//!     producer
//!         .send_with_callback(record, |result| {
//!             if let Err(e) = result {
//!                 eprintln!("not delivered: {e}");
//!             }
//!         })
//!         .await?;
//! }
//! producer.flush().await;
//! producer.close(Duration::from_secs(30)).await;
//! # Ok(())
//! # }
//! // Under async-std; `smol::block_on(run())` works just as well.
//! async_std::task::block_on(run())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it runs
//!
//! [`ProducerBuilder::build`] needs no runtime context. The producer's
//! driver and its connections are tasks of the one driver all async
//! runtime crates share ([`kafka_runtime_common::driver`]), on async-io's
//! sockets and timers (the reactor both async-std and smol use) and
//! futures-rustls. This crate does not depend on async-std (discontinued
//! upstream, RUSTSEC-2025-0052), so nothing forces its executor on smol
//! users:
//!
//! - [`Producer`] / [`ProducerBuilder`] run those tasks on a small executor
//!   of this crate, on one thread (`kafka-producer-io`) shared by every
//!   producer of the process, started with the first one;
//! - [`ProducerOn<S>`] / [`ProducerBuilderOn<S>`] hand them to your own
//!   executor through a [`Spawn`] of yours (for example
//!   `smol::spawn(task).detach()`).
//!
//! Handles share the core behind a `std::sync::Mutex` rather than talking
//! to the driver over a channel, so `send` costs no message per record;
//! the driver is woken only when a batch starts or is probably full, on
//! flush and close, and by the network and its timers. It drains the
//! core's outputs under the lock and acts on them after releasing it:
//! writes go to one task per connection (so a slow broker never stalls the
//! others), and delivery is completed per batch, fanned out to the
//! records' [`DeliveryFuture`]s or callbacks.
//!
//! # Errors
//!
//! [`SendError`] is a refusal: the record was never queued.
//! [`DeliveryError`] is the outcome of a queued record that was not
//! written; its `possibly_written` says whether it may have been written
//! anyway (a request carrying it got no definite answer).
//!
//! # Logging
//!
//! `tracing` spans `kafka_producer` (per producer) and `kafka_connection`
//! (per broker connection); events for connections (debug: connecting,
//! connected, closing; info: lost; warn: failed), failed batches and
//! unavailable topics (warn), fatal errors (error). Nothing is logged per
//! record, and no secret is ever logged.

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::sync::Once;
use std::time::Instant;

use async_executor::Executor;
use async_io::Timer;
use async_net::TcpStream;
use kafka_runtime_common::driver::{self, AsyncIo};
use kafka_runtime_common::{Parts, Runtime};

/// W3C trace-context propagation (feature `opentelemetry`).
#[cfg(feature = "opentelemetry")]
pub use kafka_runtime_common::otel;
pub use kafka_runtime_common::partitioner::Partitioner;
/// The metrics in the Prometheus text format (feature `prometheus`).
#[cfg(feature = "prometheus")]
pub use kafka_runtime_common::prometheus;
pub use kafka_runtime_common::{
    AbortReason, Acks, AnyProducer, Compression, ConfigError, ConsumerGroupMetadata, DeliveryError,
    DeliveryErrorKind, DeliveryFuture, DeliveryHandler, DeliveryResult, ErrorCode, FatalError,
    FlushTimeout, Metric, Metrics, OffsetToCommit, PartitionerChoice, ProducerConfig,
    ProducerRecord, RecordHeader, RecordMetadata, Refused, SecurityProtocol, SendError,
    TransactionError, TransactionOp, TransactionProgress, TransactionState, partitioner, serialize,
};

/// How the producer's tasks (its driver and one per broker connection)
/// get run: a hook into the executor of your choice.
///
/// ```
/// use kafka_runtime_async_std::{ProducerBuilderOn, Spawn, Task};
///
/// /// smol's global executor.
/// enum Smol {}
/// impl Spawn for Smol {
///     fn spawn(task: Task) {
///         smol::spawn(task).detach();
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = ProducerBuilderOn::<Smol>::new()
///     .bootstrap_servers("localhost:9092")
///     .build()?;
/// # drop(producer);
/// # Ok(())
/// # }
/// ```
pub trait Spawn: 'static {
    /// Runs `task` in the background until it completes (the tasks end by
    /// themselves once the producer has closed). It must not run it on the
    /// calling thread: the caller is often the producer's driver.
    fn spawn(task: Task);
}

pub use kafka_runtime_common::driver::Task;

/// The default [`Spawn`]: a small executor of this crate (async-executor)
/// on one thread, `kafka-producer-io`, shared by every producer of the
/// process and started with the first one.
#[derive(Debug)]
pub enum IoThread {}

/// The executor [`IoThread`] runs.
static EXECUTOR: Executor<'static> = Executor::new();

thread_local! {
    /// Set on the `kafka-producer-io` thread: a blocking call there (from a
    /// delivery callback) would stop the very tasks that end the wait.
    static ON_IO_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Spawn for IoThread {
    fn spawn(task: Task) {
        static STARTED: Once = Once::new();
        STARTED.call_once(|| {
            let started = std::thread::Builder::new()
                .name("kafka-producer-io".to_owned())
                .spawn(|| {
                    ON_IO_THREAD.set(true);
                    async_io::block_on(EXECUTOR.run(std::future::pending::<()>()));
                });
            if let Err(e) = started {
                // Tasks then wait until another thread runs the executor:
                // nothing does, so say why the producer never starts.
                tracing::error!(error = %e, "cannot start the kafka-producer-io thread");
            }
        });
        EXECUTOR.spawn(task).detach();
    }
}

/// async-io's sockets and timers, with tasks spawned by `S`.
struct AsyncIoOn<S>(PhantomData<fn() -> S>);

impl<S: Spawn> AsyncIo for AsyncIoOn<S> {
    type Tcp = TcpStream;

    fn spawn(&self, task: Task) {
        S::spawn(task);
    }

    // Not an `async fn`: the future must not borrow `self` ('static).
    #[allow(clippy::manual_async_fn)]
    fn connect(
        &self,
        host: String,
        port: u16,
    ) -> impl Future<Output = io::Result<TcpStream>> + Send + 'static {
        async move {
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            // Requests are whole frames written at once; Nagle would only
            // add latency.
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
            Ok(tcp)
        }
    }

    #[allow(clippy::manual_async_fn)]
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + 'static {
        async move {
            Timer::at(deadline).await;
        }
    }

    fn set_buffer_sizes(
        &self,
        tcp: &TcpStream,
        send: Option<usize>,
        receive: Option<usize>,
    ) -> io::Result<()> {
        kafka_runtime_common::driver::set_buffer_sizes(socket2::SockRef::from(tcp), send, receive)
    }
}

/// The [`Runtime`] of producers whose tasks `S` spawns; waits use async-io
/// timers, so handles work under any executor.
pub struct On<S>(PhantomData<fn() -> S>, std::convert::Infallible);

impl<S> fmt::Debug for On<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("On")
    }
}

/// async-std and smol (whose reactor they share), as the [`Runtime`] of the
/// shared producer API: tasks on this crate's [`IoThread`].
pub type AsyncStd = On<IoThread>;

/// An async Kafka producer for async-std and smol: a cheap, cloneable,
/// `Send + Sync` handle (see [`kafka_runtime_common::Producer`] for every
/// method).
pub type Producer = kafka_runtime_common::Producer<AsyncStd>;

/// Builds a [`Producer`]; see [`kafka_runtime_common::ProducerBuilder`]
/// for the settings.
pub type ProducerBuilder = kafka_runtime_common::ProducerBuilder<AsyncStd>;

/// A [`Producer`] whose tasks run on the executor `S` spawns on.
pub type ProducerOn<S> = kafka_runtime_common::Producer<On<S>>;

/// Builds a [`ProducerOn<S>`].
pub type ProducerBuilderOn<S> = kafka_runtime_common::ProducerBuilder<On<S>>;

impl<S: Spawn> Runtime for On<S> {
    type Producer = kafka_runtime_common::Producer<On<S>>;

    /// Spawns the driver task with `S`.
    fn start(parts: Parts) -> Result<Self::Producer, ConfigError> {
        let shared = driver::start(AsyncIoOn::<S>(PhantomData), parts);
        Ok(kafka_runtime_common::Producer::new(shared))
    }

    async fn timeout_at<F: Future + Send>(deadline: Instant, future: F) -> Option<F::Output> {
        let expired = async {
            Timer::at(deadline).await;
            None
        };
        futures_lite::future::or(async { Some(future.await) }, expired).await
    }

    /// Everywhere but on the `kafka-producer-io` thread (a callback calling
    /// a `*_blocking` method there is refused where it would wait).
    fn may_block() -> bool {
        !ON_IO_THREAD.get()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_std::task::block_on;

    use super::*;

    /// smol's global executor, through the spawn hook.
    enum Smol {}
    impl Spawn for Smol {
        fn spawn(task: Task) {
            smol::spawn(task).detach();
        }
    }

    /// A callback on the executor thread that sends with a blocking call
    /// is refused where it would wait, rather than stopping the producer.
    #[test]
    fn blocking_calls_never_wait_on_the_io_thread() {
        let p = ProducerBuilder::new()
            .bootstrap_servers("127.0.0.1:1")
            .max_block(Duration::from_secs(60))
            .build()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let probe = p.clone();
        IoThread::spawn(Box::pin(async move {
            let start = Instant::now();
            let refused = probe.send_blocking(ProducerRecord::new("t")).unwrap_err();
            let _ = tx.send((refused, start.elapsed()));
        }));
        let (refused, took) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert!(
            matches!(refused, SendError::TopicUnavailable { .. }),
            "{refused}"
        );
        assert!(took < Duration::from_secs(30), "did not wait max.block.ms");
        block_on(p.close(Duration::ZERO));
    }

    #[test]
    fn a_spawn_hook_runs_the_driver_on_the_users_executor() {
        smol::block_on(async {
            let p = ProducerBuilderOn::<Smol>::new()
                .bootstrap_servers("127.0.0.1:1")
                .max_block(Duration::ZERO)
                .build()
                .unwrap();
            let e = p.send(ProducerRecord::new("t")).await.unwrap_err();
            assert!(matches!(e, SendError::TopicUnavailable { .. }), "{e}");
            // Only a running driver completes a close.
            p.close(Duration::from_millis(100)).await;
            assert!(p.is_closed());
        });
    }

    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: T) {}

    /// Handles and every future of the API can move between threads (a
    /// lock guard held across an await would break this).
    #[test]
    fn the_handle_is_send_and_sync_and_its_futures_are_send() {
        let p = ProducerBuilder::new()
            .bootstrap_servers("127.0.0.1:1")
            .build()
            .unwrap();
        send_sync(&p);
        send(p.send(ProducerRecord::new("t")));
        send(p.send_with_callback(ProducerRecord::new("t"), |_| {}));
        send(p.flush());
        send(p.close(Duration::ZERO));
        send(p.partitions_for("t"));
        send(AsyncStd::timeout_at(Instant::now(), async {}));
        block_on(p.close(Duration::ZERO));
        assert!(p.is_closed());
    }

    /// async-std needs no runtime context: building from a plain thread
    /// starts a driver that answers.
    #[test]
    fn building_outside_any_runtime_works() {
        let p = ProducerBuilder::new()
            .bootstrap_servers("127.0.0.1:1")
            .build()
            .unwrap();
        assert!(!p.is_closed());
        // Only a running driver completes a close.
        kafka_runtime_common::block_on(p.close(Duration::from_millis(100)));
        assert!(p.is_closed());
        let e = kafka_runtime_common::block_on(p.send(ProducerRecord::new("t"))).unwrap_err();
        assert_eq!(e, SendError::Closed);
    }

    #[test]
    fn java_long_max_value_timeouts_do_not_overflow() {
        let p = ProducerBuilder::new()
            .bootstrap_servers("127.0.0.1:1")
            .set("max.block.ms", &i64::MAX.to_string())
            .build()
            .unwrap();
        let send = p.send(ProducerRecord::new("t").value("v"));
        let soon = Instant::now() + Duration::from_millis(200);
        let waited = block_on(AsyncStd::timeout_at(soon, send));
        assert!(waited.is_none(), "still waiting for metadata");
        block_on(p.close(Duration::MAX));
        assert!(p.is_closed());
    }

    #[test]
    fn max_block_zero_fails_at_once_without_a_broker() {
        block_on(async {
            let p = ProducerBuilder::new()
                .bootstrap_servers("127.0.0.1:1")
                .max_block(Duration::ZERO)
                .build()
                .unwrap();
            let e = p
                .send(ProducerRecord::new("t").value("v"))
                .await
                .unwrap_err();
            assert!(matches!(e, SendError::TopicUnavailable { .. }), "{e}");
            p.close(Duration::from_millis(100)).await;
            let e = p.send(ProducerRecord::new("t")).await.unwrap_err();
            assert_eq!(e, SendError::Closed);
        });
    }

    #[test]
    fn timeout_at_prefers_a_ready_future_and_gives_up_at_the_deadline() {
        let past = Instant::now();
        assert_eq!(block_on(AsyncStd::timeout_at(past, async { 7 })), Some(7));
        let soon = Instant::now() + Duration::from_millis(20);
        let never = std::future::pending::<()>();
        assert_eq!(block_on(AsyncStd::timeout_at(soon, never)), None);
        assert!(Instant::now() >= soon);
    }
}
