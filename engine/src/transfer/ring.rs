//! `Ring`: the fixed-capacity byte ring one pair copies through.
//!
//! Owns `capacity` bytes (the pair's `buffer_size`), allocated on first use
//! and kept: a pair that only ever splices (pipe to pipe) never allocates
//! its ring. Filled and free space are each exposed as at most two slices,
//! so one read or one write is a single vectored syscall. No I/O and no
//! `unsafe` here.
//!
//! # Invariants
//!
//! - `0 <= len <= capacity` and `head < capacity` (or `head == 0`).
//! - `buf` is empty (not allocated yet) or exactly `capacity` long; while it
//!   is empty, `len == 0`.
//! - Filled bytes are `buf[head..]` followed by `buf[..]`, wrapping, `len` of
//!   them in the order they were written.
//! - When the ring becomes empty `head` returns to 0, so a ring that is
//!   drained as fast as it is filled always transfers one contiguous slice.

use std::io::{IoSlice, IoSliceMut};

/// A fixed-capacity FIFO of bytes.
#[derive(Debug)]
pub struct Ring {
    buf: Box<[u8]>,
    capacity: usize,
    head: usize,
    len: usize,
}

impl Ring {
    /// A ring holding at most `capacity` bytes.
    ///
    /// # Panics
    ///
    /// When `capacity` is zero (the submit path rejects that first).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "ring capacity must be positive");
        Self {
            buf: Box::default(),
            capacity,
            head: 0,
            len: 0,
        }
    }

    /// Total capacity in bytes.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes currently buffered.
    #[cfg(test)]
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no byte is buffered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when no free space is left.
    #[cfg(test)]
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.len == self.capacity()
    }

    /// Free space in bytes.
    #[must_use]
    pub fn free(&self) -> usize {
        self.capacity() - self.len
    }

    /// The buffered bytes, oldest first, as at most two slices (the second
    /// is empty unless the data wraps).
    #[must_use]
    pub fn readable_slices(&self) -> (&[u8], &[u8]) {
        let cap = self.capacity();
        let end = self.head + self.len;
        if end <= cap {
            (&self.buf[self.head..end], &[])
        } else {
            (&self.buf[self.head..], &self.buf[..end - cap])
        }
    }

    /// The free space, in the order it will be filled, as at most two slices.
    pub fn writable_slices(&mut self) -> (&mut [u8], &mut [u8]) {
        if self.buf.is_empty() {
            self.buf = vec![0; self.capacity].into_boxed_slice();
        }
        let cap = self.capacity();
        let end = self.head + self.len;
        if end < cap {
            let (front, back) = self.buf.split_at_mut(end);
            (back, &mut front[..self.head])
        } else {
            let tail = end - cap;
            (&mut self.buf[tail..self.head], &mut [])
        }
    }

    /// The buffered bytes as `IoSlice`s for one `writev`.
    #[must_use]
    pub fn readable_io(&self) -> [IoSlice<'_>; 2] {
        let (a, b) = self.readable_slices();
        [IoSlice::new(a), IoSlice::new(b)]
    }

    /// The free space as `IoSliceMut`s for one `readv`.
    pub fn writable_io(&mut self) -> [IoSliceMut<'_>; 2] {
        let (a, b) = self.writable_slices();
        [IoSliceMut::new(a), IoSliceMut::new(b)]
    }

    /// Mark `n` bytes of the free space (from `writable_slices`) as filled.
    ///
    /// # Panics
    ///
    /// When `n` exceeds the free space: the caller's read returned more than
    /// it was offered, which is a bug.
    pub fn commit_write(&mut self, n: usize) {
        assert!(n <= self.free(), "commit_write({n}) beyond free space");
        self.len += n;
    }

    /// Drop the `n` oldest bytes (they were written out).
    ///
    /// # Panics
    ///
    /// When `n` exceeds the buffered length.
    pub fn consume(&mut self, n: usize) {
        assert!(n <= self.len, "consume({n}) beyond buffered length");
        self.len -= n;
        if self.len == 0 {
            self.head = 0;
        } else {
            self.head = (self.head + n) % self.capacity();
        }
    }

    /// Make the capacity at least `capacity`, keeping the buffered bytes in
    /// order (they move to the front of the new buffer).
    pub fn grow_to(&mut self, capacity: usize) {
        if capacity <= self.capacity {
            return;
        }
        if !self.buf.is_empty() {
            let mut buf = vec![0; capacity].into_boxed_slice();
            let (a, b) = self.readable_slices();
            buf[..a.len()].copy_from_slice(a);
            buf[a.len()..a.len() + b.len()].copy_from_slice(b);
            self.buf = buf;
            self.head = 0;
        }
        self.capacity = capacity;
    }

    /// Drop every buffered byte; returns how many were dropped.
    pub fn clear(&mut self) -> usize {
        let dropped = self.len;
        self.len = 0;
        self.head = 0;
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;
    use proptest::prelude::*;

    fn fill(ring: &mut Ring, data: &[u8]) -> usize {
        let (a, b) = ring.writable_slices();
        let n1 = a.len().min(data.len());
        a[..n1].copy_from_slice(&data[..n1]);
        let n2 = b.len().min(data.len() - n1);
        b[..n2].copy_from_slice(&data[n1..n1 + n2]);
        ring.commit_write(n1 + n2);
        n1 + n2
    }

    fn drain(ring: &mut Ring, max: usize, out: &mut Vec<u8>) -> usize {
        let (a, b) = ring.readable_slices();
        let n1 = a.len().min(max);
        out.extend_from_slice(&a[..n1]);
        let n2 = b.len().min(max - n1);
        out.extend_from_slice(&b[..n2]);
        ring.consume(n1 + n2);
        n1 + n2
    }

    #[test]
    fn starts_empty_with_one_free_slice() {
        let mut ring = Ring::new(8);
        assert!(ring.is_empty());
        assert!(!ring.is_full());
        assert_eq!(ring.free(), 8);
        let (a, b) = ring.writable_slices();
        assert_eq!((a.len(), b.len()), (8, 0));
        let (a, b) = ring.readable_slices();
        assert_eq!((a.len(), b.len()), (0, 0));
    }

    #[test]
    fn wraps_into_two_slices() {
        let mut ring = Ring::new(8);
        let mut out = Vec::new();
        assert_eq!(fill(&mut ring, b"abcdef"), 6);
        assert_eq!(drain(&mut ring, 4, &mut out), 4);
        // Filled: "ef" at 4..6; free: 6..8 then 0..4.
        let (a, b) = ring.writable_slices();
        assert_eq!((a.len(), b.len()), (2, 4));
        assert_eq!(fill(&mut ring, b"ghijkl"), 6);
        assert!(ring.is_full());
        let (a, b) = ring.readable_slices();
        assert_eq!((a, b), (&b"efgh"[..], &b"ijkl"[..]));
        let (a, b) = ring.writable_slices();
        assert_eq!((a.len(), b.len()), (0, 0));
        drain(&mut ring, 8, &mut out);
        assert_eq!(out, b"abcdefghijkl");
    }

    #[test]
    fn empty_ring_resets_to_one_contiguous_slice() {
        let mut ring = Ring::new(8);
        let mut out = Vec::new();
        fill(&mut ring, b"abcde");
        drain(&mut ring, 5, &mut out);
        let (a, b) = ring.writable_slices();
        assert_eq!((a.len(), b.len()), (8, 0));
    }

    #[test]
    fn clear_drops_everything() {
        let mut ring = Ring::new(4);
        fill(&mut ring, b"abc");
        assert_eq!(ring.clear(), 3);
        assert!(ring.is_empty());
        assert_eq!(ring.writable_io()[0].len(), 4);
    }

    #[test]
    #[should_panic(expected = "beyond free space")]
    fn over_commit_panics() {
        let mut ring = Ring::new(4);
        ring.commit_write(5);
    }

    #[test]
    #[should_panic(expected = "beyond buffered length")]
    fn over_consume_panics() {
        let mut ring = Ring::new(4);
        ring.consume(1);
    }

    proptest! {
        /// Any interleaving of partial fills and partial drains delivers the
        /// bytes that went in, in order, and never loses or invents one.
        #[test]
        fn bytes_out_equal_bytes_in(
            capacity in 1usize..64,
            data in proptest::collection::vec(any::<u8>(), 0..512),
            steps in proptest::collection::vec((any::<bool>(), 0usize..80), 1..200),
        ) {
            let mut ring = Ring::new(capacity);
            let mut fed = 0;
            let mut out = Vec::new();
            for (is_fill, amount) in steps {
                if is_fill {
                    let end = (fed + amount).min(data.len());
                    fed += fill(&mut ring, &data[fed..end]);
                } else {
                    drain(&mut ring, amount, &mut out);
                }
                prop_assert!(ring.len() <= ring.capacity());
                let (a, b) = ring.readable_slices();
                prop_assert_eq!(a.len() + b.len(), ring.len());
                let free = ring.free();
                let (a, b) = ring.writable_slices();
                prop_assert_eq!(a.len() + b.len(), free);
            }
            while !ring.is_empty() || fed < data.len() {
                fed += fill(&mut ring, &data[fed..]);
                drain(&mut ring, usize::MAX, &mut out);
            }
            prop_assert_eq!(out, data);
        }
    }

    #[test]
    fn growing_keeps_the_bytes_in_order() {
        let mut ring = Ring::new(8);
        let mut out = Vec::new();
        fill(&mut ring, b"abcdefgh");
        drain(&mut ring, 5, &mut out);
        fill(&mut ring, b"ijk"); // wraps: "fgh" then "ijk"
        ring.grow_to(32);
        assert_eq!(ring.capacity(), 32);
        assert_eq!(fill(&mut ring, b"lmnopqrstuvwxyz"), 15);
        drain(&mut ring, 100, &mut out);
        assert_eq!(out, b"abcdefghijklmnopqrstuvwxyz");
        let mut lazy = Ring::new(4); // never allocated: only the size changes
        lazy.grow_to(2);
        assert_eq!(lazy.capacity(), 4);
        lazy.grow_to(16);
        assert_eq!(fill(&mut lazy, &[7; 20]), 16);
    }
}
