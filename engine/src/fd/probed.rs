//! An endpoint used in blocking mode, by the inline path and the blocking
//! path ([`Probed`]), and the `poll(2)` waits of the blocking path. Safe
//! code: the system calls are in `sys`.
//!
//! # Invariants
//!
//! - A probed endpoint's flags are never touched. A socket is read and
//!   written with calls that return `WouldBlock` whatever its flags, a
//!   regular file never waits, and the blocking path's ends opened afresh
//!   (`Endpoint::open_privately`) are non-blocking descriptions of the
//!   engine's own: those go straight through (`Endpoint::never_blocks`).
//!   Anything else (a pipe at fd 0 to 2, a terminal not reopened) is read
//!   or written only after `poll(2)` said the end is
//!   ready, and a write then offers at most `PIPE_BUF` bytes. (Between
//!   that `poll` and the call, another reader of the same pipe or terminal
//!   can take the readiness: that call may then block.)

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::RawFd;
use std::time::Duration;

use crate::fd::endpoint::Endpoint;
use crate::fd::kind::{first_capped, ready_now};
use crate::sys;
use crate::transfer::ends::{Sink, Source};

/// Wait until the reader is readable (when `read`) or the writer writable
/// (when `write`), or `timeout` passes. Spurious returns are allowed.
pub(crate) fn wait_ready(
    reader: &Endpoint<'_>,
    read: bool,
    writer: &Endpoint<'_>,
    write: bool,
    timeout: Duration,
) -> io::Result<()> {
    let mut fds = Vec::with_capacity(2);
    if read {
        fds.push(libc::pollfd {
            fd: reader.raw(),
            events: libc::POLLIN,
            revents: 0,
        });
    }
    if write {
        fds.push(libc::pollfd {
            fd: writer.raw(),
            events: libc::POLLOUT,
            revents: 0,
        });
    }
    sys::poll(&mut fds, timeout).map(drop)
}

/// An endpoint used in blocking mode (its flags are never touched), by the
/// inline path and the blocking path: a read or write of an end that could
/// block (a terminal) first asks `poll(2)` whether it is ready and reports
/// `WouldBlock` when not, and such a write is capped at `PIPE_BUF` bytes;
/// sockets and regular files go straight through (see the module). With `splice`, pipes
/// splice as they would in the reactor (`SPLICE_F_NONBLOCK` never blocks on
/// a pipe, whatever the descriptor's own flags).
pub(crate) struct Probed<'e, 'a> {
    end: &'e mut Endpoint<'a>,
    splice: bool,
}

impl<'e, 'a> Probed<'e, 'a> {
    /// Probe `end` before each call; splice between pipes when `splice`.
    pub(crate) fn new(end: &'e mut Endpoint<'a>, splice: bool) -> Self {
        Self { end, splice }
    }
}

fn would_block() -> io::Error {
    io::ErrorKind::WouldBlock.into()
}

impl Source for Probed<'_, '_> {
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        if !self.end.never_blocks() && !ready_now(self.end.raw(), libc::POLLIN)? {
            return Err(would_block());
        }
        #[cfg(feature = "fault-injection")]
        crate::fault::maybe_steal(self.end.raw());
        self.end.read_vectored(bufs)
    }

    fn whole_read(&self) -> usize {
        self.end.whole_read()
    }

    fn splice_into(&mut self, sink: RawFd, len: usize) -> Option<io::Result<usize>> {
        if self.splice {
            self.end.splice_into(sink, len)
        } else {
            None
        }
    }
}

impl Sink for Probed<'_, '_> {
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if self.end.never_blocks() {
            return self.end.write_vectored(bufs);
        }
        if !ready_now(self.end.raw(), libc::POLLOUT)? {
            return Err(would_block());
        }
        self.end.write_vectored(&[IoSlice::new(first_capped(bufs))])
    }

    fn splice_fd(&self) -> Option<RawFd> {
        if self.splice {
            self.end.splice_fd()
        } else {
            None
        }
    }
}
