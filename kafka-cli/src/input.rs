//! `produce`'s input, read on a thread of its own so that the command can
//! watch for Ctrl-C while the input is quiet, and stopped so that nothing
//! read is lost.
//!
//! The reader waits until the input is readable (poll(2)) and only then
//! reads, marking the read under a lock. [`Input::stop`] forbids further
//! reads and waits out a read in progress, so what it returns is exactly
//! everything read from the input and not yet handed out: no byte leaves
//! the pipe after the stop, none read before it is dropped. At most
//! [`QUEUE_LIMIT`] bytes are read ahead of the command.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

/// How far the reader may get ahead of the command, in bytes.
const QUEUE_LIMIT: usize = 256 * 1024;

/// How much one read asks for.
const READ_SIZE: usize = 64 * 1024;

/// A source of input for [`Input::start`]: a file or stdin.
pub(crate) trait Source: Read + Send + 'static {
    /// Waits until a read would not block (or the source is at its end or
    /// failed: the read then says so).
    fn wait_readable(&self);
}

#[cfg(unix)]
fn poll_readable(fd: std::os::fd::BorrowedFd<'_>) {
    use rustix::event::{PollFd, PollFlags, poll};
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    // EINTR (a signal arrived) just means: wait again. Any other error is
    // left for the read to report.
    while let Err(rustix::io::Errno::INTR) = poll(&mut fds, None) {}
}

impl Source for std::fs::File {
    fn wait_readable(&self) {
        #[cfg(unix)]
        poll_readable(std::os::fd::AsFd::as_fd(self));
    }
}

impl Source for std::io::Stdin {
    fn wait_readable(&self) {
        #[cfg(unix)]
        poll_readable(std::os::fd::AsFd::as_fd(self));
    }
}

/// The command's end of the reader thread.
pub(crate) struct Input {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// The reader waits here for queue space; [`Input::stop`] for the end
    /// of a read in progress.
    changed: Condvar,
}

#[derive(Default)]
struct State {
    chunks: VecDeque<Vec<u8>>,
    queued: usize,
    /// Set by the reader while a read is in progress: bytes may have left
    /// the input that are not in `chunks` yet.
    reading: bool,
    /// The reader will not read again.
    stopped: bool,
    /// The input's end (`Ok`) or its read error, once met.
    end: Option<Result<(), String>>,
    /// The command, waiting in [`Input::next`].
    waker: Option<Waker>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Input {
    /// Starts reading `source` on a thread of its own.
    pub(crate) fn start<S: Source>(source: S) -> Result<Input, String> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let reader = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("kprod-input".into())
            .spawn(move || read_loop(source, &reader))
            .map_err(|e| format!("cannot start the input thread: {e}"))?;
        Ok(Input { shared })
    }

    /// The next bytes read (`Some(Ok)`), the input's end (`None`) or its
    /// read error.
    pub(crate) fn next(
        &self,
    ) -> impl std::future::Future<Output = Option<Result<Vec<u8>, String>>> {
        std::future::poll_fn(|cx| {
            let mut st = self.shared.lock();
            if let Some(chunk) = st.chunks.pop_front() {
                st.queued -= chunk.len();
                drop(st);
                self.shared.changed.notify_all();
                return Poll::Ready(Some(Ok(chunk)));
            }
            match &st.end {
                Some(Ok(())) => Poll::Ready(None),
                Some(Err(e)) => Poll::Ready(Some(Err(e.clone()))),
                None => {
                    st.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }

    /// Stops reading: no read starts after this, and a read in progress is
    /// waited for. Returns what was read and not yet handed out, and the
    /// read error if one ended the input.
    pub(crate) fn stop(&self) -> (Vec<u8>, Option<String>) {
        let mut st = self.shared.lock();
        st.stopped = true;
        self.shared.changed.notify_all();
        while st.reading {
            st = self
                .shared
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let rest = st.chunks.drain(..).flatten().collect();
        st.queued = 0;
        let error = match &st.end {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        };
        (rest, error)
    }
}

fn read_loop<S: Source>(mut source: S, shared: &Shared) {
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        {
            let mut st = shared.lock();
            while !st.stopped && st.queued >= QUEUE_LIMIT {
                st = shared
                    .changed
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if st.stopped {
                return;
            }
        }
        // Nothing leaves the input while we wait here, so a stop may come
        // in: it is checked again before the read.
        source.wait_readable();
        {
            let mut st = shared.lock();
            if st.stopped {
                return;
            }
            st.reading = true;
        }
        let read = loop {
            match source.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let mut st = shared.lock();
        st.reading = false;
        let ended = match read {
            Ok(0) => {
                st.end = Some(Ok(()));
                true
            }
            Ok(n) => {
                st.chunks.push_back(buf[..n].to_vec());
                st.queued += n;
                false
            }
            Err(e) => {
                st.end = Some(Err(format!("reading input: {e}")));
                true
            }
        };
        let waker = st.waker.take();
        drop(st);
        shared.changed.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
        if ended {
            return;
        }
    }
}

/// Splits the bytes read into lines, across chunk boundaries.
#[derive(Default)]
pub(crate) struct Lines {
    buf: Vec<u8>,
    /// Where the next line starts in `buf`.
    start: usize,
    /// How far `buf` is known to hold no `\n` (from `start`).
    scanned: usize,
}

impl Lines {
    /// Appends bytes read.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 {
            // Only the incomplete line is left before `start`'s bytes go.
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete line, without its `\n`.
    pub(crate) fn next_line(&mut self) -> Option<&[u8]> {
        match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(at) => {
                let line = self.start..self.scanned + at;
                self.start = line.end + 1;
                self.scanned = self.start;
                Some(&self.buf[line])
            }
            None => {
                self.scanned = self.buf.len();
                None
            }
        }
    }

    /// The incomplete last line (text after the last `\n`), if any.
    pub(crate) fn take_partial(&mut self) -> Option<Vec<u8>> {
        let partial = (self.start < self.buf.len()).then(|| self.buf[self.start..].to_vec());
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
        partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
        let mut lines = Lines::default();
        let mut out = Vec::new();
        for c in chunks {
            lines.push(c);
            while let Some(l) = lines.next_line() {
                out.push(l.to_vec());
            }
        }
        (out, lines.take_partial())
    }

    #[test]
    fn lines_span_chunks_and_the_last_may_lack_its_newline() {
        let (lines, partial) = split_all(&[b"a\nb", b"c", b"\n\nd"]);
        assert_eq!(lines, vec![b"a".to_vec(), b"bc".to_vec(), b"".to_vec()]);
        assert_eq!(partial, Some(b"d".to_vec()));
        let (lines, partial) = split_all(&[b"x\n"]);
        assert_eq!(lines, vec![b"x".to_vec()]);
        assert_eq!(partial, None);
    }

    /// A source that hands out its chunks one read at a time, then blocks
    /// (as a quiet pipe does) until the test ends.
    struct Scripted {
        chunks: VecDeque<Vec<u8>>,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let chunk = self.chunks.pop_front().unwrap_or_default();
            buf[..chunk.len()].copy_from_slice(&chunk);
            Ok(chunk.len())
        }
    }

    impl Source for Scripted {
        fn wait_readable(&self) {
            while self.chunks.is_empty() {
                std::thread::park();
            }
        }
    }

    #[test]
    fn stop_returns_everything_read_and_not_handed_out() {
        let input = Input::start(Scripted {
            chunks: VecDeque::from([b"one\n".to_vec(), b"two\nthr".to_vec()]),
        })
        .expect("start");
        let first = kafka_runtime_common::block_on(input.next());
        assert_eq!(first, Some(Ok(b"one\n".to_vec())));
        // The reader gets to the quiet input after its second chunk.
        let mut waited = 0;
        while input.shared.lock().chunks.is_empty() && waited < 500 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            waited += 1;
        }
        let (rest, error) = input.stop();
        assert_eq!(rest, b"two\nthr");
        assert_eq!(error, None);
        let (rest, _) = input.stop();
        assert!(rest.is_empty(), "handed out once");
    }

    #[test]
    fn the_end_of_input_and_read_errors_are_reported() {
        let input = Input::start(Scripted {
            chunks: VecDeque::from([b"a\n".to_vec(), Vec::new()]),
        })
        .expect("start");
        let next = || kafka_runtime_common::block_on(input.next());
        assert_eq!(next(), Some(Ok(b"a\n".to_vec())));
        assert_eq!(next(), None, "a read of 0 bytes is the end");
        assert_eq!(next(), None, "and stays so");

        let input = Input::start(Failing).expect("start");
        let error = kafka_runtime_common::block_on(input.next());
        assert_eq!(error, Some(Err("reading input: broken".to_owned())));
        assert_eq!(
            input.stop(),
            (Vec::new(), Some("reading input: broken".to_owned()))
        );
    }

    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("broken"))
        }
    }

    impl Source for Failing {
        fn wait_readable(&self) {}
    }
}
