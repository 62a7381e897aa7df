//! One scenario list, run on every runtime: the test-side abstraction over
//! kafka-runtime-tokio, kafka-runtime-async-std and kafka-runtime-mio.
//!
//! A scenario is an `async fn name<T: Rt>()` that builds its producers with
//! `ProducerBuilder::<T::R>::new()` and uses them through [`TestProducer`]
//! (the methods the async [`kafka_runtime_common::Producer`] and the mio
//! `BlockingProducer` share). Scenario bodies wait only in ways that work
//! under any executor: delivery futures, [`sleep`] and [`timeout`] (async-io
//! timers, whose reactor runs on a thread of its own when no executor drives
//! it), joins of futures, and threads; never `tokio::time` or
//! `tokio::spawn`.
//!
//! [`suite!`] turns the list into one `#[test]` per scenario and runtime, in
//! the modules `tokio`, `async_std` and `mio`:
//!
//! ```ignore
//! mod runtimes;
//!
//! async fn round_trip<T: Rt>() { /* ... */ }
//!
//! runtimes::suite!(round_trip);
//! // tests `tokio::round_trip`, `async_std::round_trip`, `mio::round_trip`
//! ```

#![allow(dead_code)]

pub(crate) mod read_back;

use std::future::Future;
use std::time::Duration;

use kafka_runtime_common::Runtime;
use kafka_runtime_mio::BlockingProducer;

/// A runtime the suite runs on.
pub(crate) trait Rt: 'static {
    /// The module the suite puts this runtime's tests in (`tokio`,
    /// `async_std`, `mio`); scenarios use it in names (client ids).
    const NAME: &'static str;
    /// The runtime crate's [`Runtime`], for `ProducerBuilder::<T::R>`.
    type R: Runtime<Producer = Self::P>;
    /// What `build()` returns on this runtime.
    type P: TestProducer;
    /// Runs a scenario to completion on this runtime, as an application
    /// using it would.
    fn block_on<F: Future>(future: F) -> F::Output;
}

/// What scenarios call on a producer, whatever the runtime: the runtime
/// crates' shared trait. The mio producer blocks inside its futures: its
/// scenarios run under [`kafka_runtime_common::block_on`] on the test's own
/// thread, where blocking holds up nothing else.
pub(crate) use kafka_runtime_common::AnyProducer as TestProducer;

/// kafka-runtime-tokio on a multi-threaded runtime with two workers (the
/// shape of the `#[tokio::test(flavor = "multi_thread")]` tests this suite
/// replaced). The scenario runs inside the runtime, so `build()` finds it.
pub(crate) enum TokioRt {}

impl Rt for TokioRt {
    const NAME: &'static str = "tokio";
    type R = kafka_runtime_tokio::Tokio;
    type P = kafka_runtime_tokio::Producer;

    fn block_on<F: Future>(future: F) -> F::Output {
        ::tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("build a Tokio runtime")
            .block_on(future)
    }
}

/// kafka-runtime-async-std: the scenario on async-std's `block_on`, the
/// producer's driver on the crate's own executor thread.
pub(crate) enum AsyncStdRt {}

impl Rt for AsyncStdRt {
    const NAME: &'static str = "async_std";
    type R = kafka_runtime_async_std::AsyncStd;
    type P = kafka_runtime_async_std::Producer;

    fn block_on<F: Future>(future: F) -> F::Output {
        ::async_std::task::block_on(future)
    }
}

/// kafka-runtime-mio's blocking producer (its driver on a thread of its
/// own), with the scenario on the test's thread.
pub(crate) enum MioRt {}

impl Rt for MioRt {
    const NAME: &'static str = "mio";
    type R = kafka_runtime_mio::Mio;
    type P = BlockingProducer;

    fn block_on<F: Future>(future: F) -> F::Output {
        kafka_runtime_common::block_on(future)
    }
}

/// Waits `duration`, under any executor.
pub(crate) async fn sleep(duration: Duration) {
    async_io::Timer::after(duration).await;
}

/// `future`'s output, or `None` if `duration` passes first; under any
/// executor.
pub(crate) async fn timeout<F: Future>(duration: Duration, future: F) -> Option<F::Output> {
    futures_lite::future::or(async { Some(future.await) }, async {
        sleep(duration).await;
        None
    })
    .await
}

/// One `#[test]` per scenario and runtime: `suite!(a, b)` makes
/// `tokio::a`, `async_std::a`, `mio::a`, `tokio::b`, ... each running
/// `super::a::<Runtime>()` with that runtime's [`Rt::block_on`].
macro_rules! suite {
    ($($scenario:ident),+ $(,)?) => {
        $crate::runtimes::suite!(@on tokio, $crate::runtimes::TokioRt; $($scenario),+);
        $crate::runtimes::suite!(@on async_std, $crate::runtimes::AsyncStdRt; $($scenario),+);
        $crate::runtimes::suite!(@on mio, $crate::runtimes::MioRt; $($scenario),+);
    };
    (@on $module:ident, $rt:ty; $($scenario:ident),+) => {
        mod $module {
            $(
                #[test]
                fn $scenario() {
                    <$rt as $crate::runtimes::Rt>::block_on(super::$scenario::<$rt>());
                }
            )+
        }
    };
}

pub(crate) use suite;
