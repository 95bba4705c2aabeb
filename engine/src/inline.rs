//! The inline path: a single blocking pump call first runs its pair on the
//! caller's own thread (the GIL released), and hands it to the reactor only
//! at the moment it would have to wait.
//!
//! A hand-off to another thread costs a few microseconds on the same CPU and
//! tens across CPUs, so a transfer that never has to wait (the data is
//! already in the source, the destination has room, EOF is already there)
//! finishes faster here than through the reactor.
//!
//! # Invariants
//!
//! - The inline path never switches `O_NONBLOCK`: it asks `poll(2)` (zero
//!   timeout) whether a pipe end is ready before each read or write, reads a
//!   ready pipe (which returns what is there without blocking) and writes at
//!   most `PIPE_BUF` bytes to a writable pipe (which always fits). Regular
//!   files never block.
//! - Only pipes and regular files go inline; anything else (sockets,
//!   devices, terminals) goes straight to the reactor or the blocking path.
//! - `SIGPIPE` is blocked on the calling thread while it writes, and one
//!   raised meanwhile is consumed before the mask is restored.
//! - The work is one bounded [`Pair::drive`] call. A pair not done by then
//!   goes to the reactor with its ring and counters, so no byte is lost or
//!   counted twice.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::RawFd;
use std::time::Instant;

use crate::fd::{self, Endpoint, SigpipeBlocked};
use crate::pair::{Sink, Source, Step};
use crate::reactor::Job;

/// The largest write a pipe with room (`POLLOUT`) takes without blocking.
const PIPE_BUF: usize = libc::PIPE_BUF;

/// Whether this job may run inline. Protected descriptors (fds 0 to 2,
/// terminals) may: the inline path never touches their flags.
pub fn eligible(job: &Job) -> bool {
    let fits = |end: &Endpoint| end.is_pipe() || end.is_regular();
    fits(&job.reader) && fits(&job.writer)
}

/// Drive `job` once on this thread; `true` when the pair is done.
pub fn drive(job: &mut Job) -> bool {
    let _sigpipe = SigpipeBlocked::new();
    let mut reader = Probed(&mut job.reader);
    let mut writer = Probed(&mut job.writer);
    job.pair.drive(&mut reader, &mut writer, Instant::now()) == Step::Done
}

/// An endpoint whose pipe readiness is asked of `poll(2)` before each call.
struct Probed<'a>(&'a mut Endpoint);

fn would_block() -> io::Error {
    io::ErrorKind::WouldBlock.into()
}

impl Source for Probed<'_> {
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        if self.0.is_pipe() && !fd::ready_now(self.0.raw(), libc::POLLIN)? {
            return Err(would_block());
        }
        self.0.read_vectored(bufs)
    }

    // splice(2) with SPLICE_F_NONBLOCK never blocks on a pipe, whatever
    // the descriptor's own flags: splicing inline is safe as it is.
    fn splice_into(&mut self, sink: RawFd, len: usize) -> Option<io::Result<usize>> {
        self.0.splice_into(sink, len)
    }
}

impl Sink for Probed<'_> {
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if !self.0.is_pipe() {
            return self.0.write_vectored(bufs);
        }
        if !fd::ready_now(self.0.raw(), libc::POLLOUT)? {
            return Err(would_block());
        }
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        let chunk = &first[..first.len().min(PIPE_BUF)];
        self.0.write_vectored(&[IoSlice::new(chunk)])
    }

    fn splice_fd(&self) -> Option<RawFd> {
        self.0.splice_fd()
    }
}
