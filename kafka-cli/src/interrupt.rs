//! Ctrl-C (SIGINT) and SIGTERM for `produce` and `perf`.
//!
//! Kafka's console producer closes its producer in a JVM shutdown hook, so
//! what it has buffered is still delivered when it is stopped. We do the
//! same without a hook: the signals go to a thread of ours (signal-hook's
//! iterator, so no code of ours runs in signal context), which raises an
//! [`Interrupt`] that the command's loop watches. The command then stops
//! reading input or generating records, closes the producer (with
//! `delivery.timeout.ms` as the timeout: no buffered record can outlive it
//! anyway), prints its summary and exits with [`Signal::exit_code`].
//!
//! A second signal exits at once, with the same status, without waiting
//! for outstanding records (as a second Ctrl-C stops a JVM whose hooks
//! hang).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// The signals that stop `produce` and `perf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGINT: Ctrl-C.
    Int,
    /// SIGTERM: `kill`, a service manager stopping us.
    Term,
}

impl Signal {
    /// The signal's name, as `kill -l` spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
        }
    }

    /// 128 + the signal number: what a shell reports for a process the
    /// signal ended, and what the JVM exits with after its shutdown hooks
    /// (130 for SIGINT, 143 for SIGTERM).
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Signal::Int => 130,
            Signal::Term => 143,
        }
    }
}

/// Whether (and by which signal) the command was asked to stop; shared by
/// the signal thread and the command.
#[derive(Clone)]
pub(crate) struct Interrupt {
    inner: Arc<Inner>,
}

struct Inner {
    /// Set with `state.signal`: read without the lock on hot paths.
    raised: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    signal: Option<Signal>,
    /// Tasks waiting in [`Interrupt::wait`].
    wakers: Vec<Waker>,
}

impl Interrupt {
    /// An interrupt that only [`raise`](Self::raise) sets.
    fn new() -> Interrupt {
        Interrupt {
            inner: Arc::new(Inner {
                raised: AtomicBool::new(false),
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
            }),
        }
    }

    /// Takes over SIGINT and SIGTERM for the rest of the process: the first
    /// raises the returned interrupt, a second exits at once. `command`
    /// names the command in messages.
    #[cfg(unix)]
    pub(crate) fn install(command: &'static str) -> Result<Interrupt, String> {
        use signal_hook::consts::{SIGINT, SIGTERM};

        let interrupt = Interrupt::new();
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
            .map_err(|e| format!("cannot handle SIGINT/SIGTERM: {e}"))?;
        let raised = interrupt.clone();
        std::thread::Builder::new()
            .name("kprod-signals".into())
            .spawn(move || {
                for number in signals.forever() {
                    let signal = if number == SIGTERM {
                        Signal::Term
                    } else {
                        Signal::Int
                    };
                    if raised.raise(signal) {
                        continue;
                    }
                    eprintln!(
                        "kprod {command}: {} again: exiting without waiting for outstanding records",
                        signal.name()
                    );
                    std::process::exit(i32::from(signal.exit_code()));
                }
            })
            .map_err(|e| format!("cannot start the signal thread: {e}"))?;
        Ok(interrupt)
    }

    /// Without Unix signals, Ctrl-C keeps its default effect: the interrupt
    /// is never raised.
    #[cfg(not(unix))]
    pub(crate) fn install(_command: &'static str) -> Result<Interrupt, String> {
        Ok(Interrupt::new())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Raises the interrupt with `signal`; returns false if it was raised
    /// already (the signal is then a second one).
    fn raise(&self, signal: Signal) -> bool {
        let wakers = {
            let mut st = self.state();
            if st.signal.is_some() {
                return false;
            }
            st.signal = Some(signal);
            self.inner.raised.store(true, Ordering::Release);
            std::mem::take(&mut st.wakers)
        };
        self.inner.changed.notify_all();
        wakers.into_iter().for_each(Waker::wake);
        true
    }

    /// Whether the interrupt was raised: one atomic load.
    pub(crate) fn is_raised(&self) -> bool {
        self.inner.raised.load(Ordering::Acquire)
    }

    /// The signal that raised the interrupt, if one did.
    pub(crate) fn signal(&self) -> Option<Signal> {
        if self.is_raised() {
            self.state().signal
        } else {
            None
        }
    }

    /// Completes when the interrupt is raised, on any runtime (the signal
    /// thread wakes the task).
    pub(crate) fn wait(&self) -> impl Future<Output = Signal> + '_ {
        std::future::poll_fn(move |cx| {
            let mut st = self.state();
            match st.signal {
                Some(signal) => Poll::Ready(signal),
                None => {
                    if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                        st.wakers.push(cx.waker().clone());
                    }
                    Poll::Pending
                }
            }
        })
    }

    /// Blocks the calling thread for `duration` or until the interrupt is
    /// raised; returns whether it was.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now().checked_add(duration);
        let mut st = self.state();
        loop {
            if st.signal.is_some() {
                return true;
            }
            let left = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => duration,
            };
            if left.is_zero() {
                return false;
            }
            st = self
                .inner
                .changed
                .wait_timeout(st, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_signal_raises_a_second_does_not() {
        let i = Interrupt::new();
        assert!(!i.is_raised());
        assert_eq!(i.signal(), None);
        assert!(i.raise(Signal::Term));
        assert!(!i.raise(Signal::Int));
        assert_eq!(i.signal(), Some(Signal::Term));
        assert_eq!(Signal::Term.exit_code(), 143);
        assert_eq!(Signal::Int.exit_code(), 130);
    }

    #[test]
    fn wait_and_sleep_end_when_raised_from_another_thread() {
        let i = Interrupt::new();
        assert!(!i.sleep(Duration::from_millis(10)));
        let raiser = i.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            raiser.raise(Signal::Int);
        });
        assert_eq!(
            kafka_runtime_common::block_on(i.wait()),
            Signal::Int,
            "the waiting task is woken"
        );
        assert!(i.sleep(Duration::from_secs(3600)));
        t.join().expect("raiser thread");
    }
}
