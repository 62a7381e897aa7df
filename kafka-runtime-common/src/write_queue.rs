//! [`WriteQueue`]: the bytes waiting to be written to one connection.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes};

/// Buffers handed to one vectored write.
pub const MAX_IOV: usize = 64;

/// The frames waiting to be written to one connection, in order, handed to
/// vectored writes a few dozen at a time. Every runtime's writer uses it:
/// queue what the core transmits, write [`io_slices`](Self::io_slices),
/// [`advance`](Self::advance) by what was written.
#[derive(Debug, Default)]
pub struct WriteQueue {
    buffers: VecDeque<Bytes>,
}

impl WriteQueue {
    /// An empty queue.
    pub fn new() -> WriteQueue {
        WriteQueue::default()
    }

    /// Queues `data` after what is already queued (empty data is dropped:
    /// a vectored write of only empty buffers would look like a closed
    /// socket).
    pub fn push(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.buffers.push_back(data);
        }
    }

    /// Whether everything has been written.
    pub fn is_empty(&self) -> bool {
        self.buffers.is_empty()
    }

    /// How many buffers are queued: a writer gathering more before writing
    /// stops at [`MAX_IOV`].
    pub fn buffers(&self) -> usize {
        self.buffers.len()
    }

    /// The first (up to [`MAX_IOV`]) queued buffers, and how many of the
    /// slots are used: write `&slices[..n]`.
    pub fn io_slices(&self) -> ([IoSlice<'_>; MAX_IOV], usize) {
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let n = iov.len().min(self.buffers.len());
        for (slot, data) in iov.iter_mut().zip(&self.buffers) {
            *slot = IoSlice::new(data);
        }
        (iov, n)
    }

    /// Drops `written` bytes from the front, whole buffers and part of one.
    pub fn advance(&mut self, mut written: usize) {
        while written > 0 {
            let Some(front) = self.buffers.front_mut() else {
                return;
            };
            if written >= front.len() {
                written -= front.len();
                self.buffers.pop_front();
            } else {
                front.advance(written);
                written = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(parts: &[&'static [u8]]) -> WriteQueue {
        let mut q = WriteQueue::new();
        for p in parts {
            q.push(Bytes::from_static(p));
        }
        q
    }

    #[test]
    fn advance_consumes_whole_and_partial_buffers() {
        let mut q = queue(&[b"abc", b"", b"de", b"fgh"]);
        assert_eq!(q.buffers(), 3, "the empty one is dropped");
        q.advance(4);
        let (iov, n) = q.io_slices();
        let left: Vec<&[u8]> = iov[..n].iter().map(|s| &s[..]).collect();
        assert_eq!(left, [&b"e"[..], b"fgh"]);
        q.advance(4);
        assert!(q.is_empty());
        q.advance(1);
        assert!(q.is_empty());
    }

    #[test]
    fn io_slices_take_at_most_max_iov_buffers_in_order() {
        let mut q = WriteQueue::new();
        for i in 0..MAX_IOV + 3 {
            q.push(Bytes::from(vec![i as u8]));
        }
        let (iov, n) = q.io_slices();
        assert_eq!(n, MAX_IOV);
        assert!(iov.iter().enumerate().all(|(i, s)| s[..] == [i as u8]));
    }
}
