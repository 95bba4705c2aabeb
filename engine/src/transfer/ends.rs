//! The two ends a transfer moves bytes between, as the state machine sees
//! them: a [`Source`] to read (or splice) from and a [`Sink`] to write to.
//! The engine's descriptors implement them (`fd::endpoint`, `fd::probed`);
//! the state machine's tests implement them with in-memory fakes.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::RawFd;

/// The reading end of a pair.
pub trait Source {
    /// Read into `bufs` in order, like `readv(2)`; `Ok(0)` means EOF.
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize>;

    /// The least room a read must offer so that it loses nothing: a pipe
    /// whose writer is in packet mode (`O_DIRECT`) returns one packet per
    /// read and drops what the read had no room for, and a packet holds
    /// at most a page. (The read end cannot tell that mode: every pipe is
    /// read so.)
    fn whole_read(&self) -> usize {
        1
    }

    /// Move up to `len` bytes straight into descriptor `sink` without a
    /// copy through user space (`splice(2)`), like a read and a write in
    /// one; `Ok(0)` means EOF and `WouldBlock` means either side would
    /// block. `None`: this end cannot splice, use the ring.
    fn splice_into(&mut self, _sink: RawFd, _len: usize) -> Option<io::Result<usize>> {
        None
    }

    /// Whether a splice out of this end that moved less than it asked
    /// proves it empty, with a readiness edge sure to come when there is
    /// more (an edge-triggered pipe with no hang-up seen): the call that
    /// would only say `WouldBlock` is then skipped. (Not a read: a pipe
    /// whose writer is in packet mode returns one packet per read, and its
    /// read end cannot tell.)
    fn short_promises_edge(&self) -> bool {
        false
    }
}

/// The writing end of a pair.
pub trait Sink {
    /// Write from `bufs` in order, like `writev(2)`.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;

    /// The descriptor a [`Source`] may splice into, if this end allows it.
    fn splice_fd(&self) -> Option<RawFd> {
        None
    }

    /// Whether a write (or splice) that took less than offered proves this
    /// end full, with a readiness edge sure to come when it has room (an
    /// edge-triggered pipe with no hang-up seen).
    fn short_promises_edge(&self) -> bool {
        false
    }
}
