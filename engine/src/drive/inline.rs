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
//!   timeout) whether a pipe end is ready before each read or write, reads
//!   a ready pipe and writes at most `PIPE_BUF` bytes to a writable pipe
//!   (which always fits). Regular files never block.
//! - Only pipes and regular files go inline; anything else (sockets,
//!   devices, terminals) goes straight to the reactor or the blocking path.
//! - Unless `SIGPIPE` is ignored (the `CPython` default), it is blocked on
//!   the calling thread while it writes, and one raised meanwhile is
//!   consumed before the mask is restored.
//! - The work is one bounded [`Pair::drive`] call. A pair not done by then
//!   goes to the reactor with its ring and counters, so no byte is lost or
//!   counted twice.

use std::time::Instant;

use crate::drive::job::Job;
use crate::fd::endpoint::Endpoint;
use crate::fd::probed::Probed;
use crate::sys::SigpipeBlocked;
use crate::transfer::pair::Step;

/// Whether this job may run inline. Protected descriptors (fds 0 to 2,
/// terminals) may: the inline path never touches their flags.
pub(crate) fn eligible(job: &Job<'_>) -> bool {
    let fits = |end: &Endpoint<'_>| end.is_pipe() || end.is_regular();
    fits(&job.reader) && fits(&job.writer)
}

/// Drive `job` once on this thread; `true` when the pair is done. Pipes
/// are probed before each call and splice as in the reactor.
pub(crate) fn drive(job: &mut Job<'_>) -> bool {
    let _sigpipe = SigpipeBlocked::new();
    let mut reader = Probed::new(&mut job.reader, true);
    let mut writer = Probed::new(&mut job.writer, true);
    job.pair.drive(&mut reader, &mut writer, Instant::now()) == Step::Done
}
