//! The asyncio side of the engine, in pure Rust: a [`Doorbell`] collects
//! the completions of many batches and rings one bell (`Bell`: an
//! `eventfd` on Linux, a self-pipe elsewhere; "the eventfd" below) that an event
//! loop watches (`loop.add_reader`). The loop's reader callback then takes
//! every waiting completion with [`Doorbell::take`] and resolves futures.
//!
//! # Invariants
//!
//! - The reactor thread only pushes onto the queue and writes the eventfd;
//!   it never calls into Python.
//! - The eventfd is written while the queue lock is held and only when the
//!   queue goes from empty to non-empty; [`Doorbell::take`] resets the
//!   counter before taking the queue under the same lock, so no completion
//!   is ever left in the queue without a pending ring.
//! - The eventfd is closed only when the last reference goes, and every
//!   in-flight pair's completion holds one, so the reactor never writes to
//!   a closed (or reused) descriptor number.
//! - A forked child shares the eventfd's counter with its parent: a
//!   doorbell inherited across `fork()` never reads or writes it, so the
//!   child can neither take the parent's pending ring (whose queued
//!   completions would then never ring again) nor ring the parent's loop.

use std::fs::File;
use std::io;
#[cfg(not(linux_calls))]
use std::os::fd::OwnedFd;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::api::completion::Completion;
use crate::api::handle::{generation, watch_forks};
use crate::sys;
use crate::transfer::pair::PairResult;

/// One completion as the loop sees it: the operation (batch) id, the
/// pair's index in its batch, and how the pair ended.
pub type Tagged = (u64, usize, PairResult);

/// Completions of many batches behind one eventfd.
pub struct Doorbell {
    bell: Bell,
    queue: Mutex<Vec<Tagged>>,
    next_op: AtomicU64,
    /// The fork generation it was made in (see the invariants).
    generation: u64,
}

impl Doorbell {
    /// A doorbell with a fresh eventfd.
    pub fn new() -> io::Result<Arc<Self>> {
        watch_forks()?;
        Ok(Arc::new(Self {
            bell: Bell::new()?,
            queue: Mutex::new(Vec::new()),
            next_op: AtomicU64::new(1),
            generation: generation(),
        }))
    }

    /// The descriptor to watch for readability.
    #[must_use]
    pub fn fd(&self) -> RawFd {
        self.bell.fd()
    }

    /// A fresh operation id and the [`Completion`] that reports its pairs
    /// here.
    #[must_use]
    pub fn operation(self: &Arc<Self>) -> (u64, Arc<dyn Completion>) {
        let op = self.next_op.fetch_add(1, Ordering::Relaxed);
        let completion = Arc::new(OperationSink {
            doorbell: Arc::clone(self),
            op,
        });
        (op, completion)
    }

    /// Take every completion waiting, resetting the ring (in the process
    /// that made the doorbell; an inherited one leaves the ring alone).
    pub fn take(&self) -> Vec<Tagged> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if self.is_own() {
            self.bell.reset();
        }
        std::mem::take(&mut *queue)
    }

    /// Whether this process made the doorbell (not a forked child of it).
    #[must_use]
    pub fn is_own(&self) -> bool {
        self.generation == generation()
    }

    fn push(&self, tagged: Tagged) {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.push(tagged);
        if queue.len() == 1 && self.is_own() {
            self.bell.ring();
        }
    }
}

/// The [`Completion`] of one operation: tags each pair with the op id.
struct OperationSink {
    doorbell: Arc<Doorbell>,
    op: u64,
}

impl Completion for OperationSink {
    fn complete(&self, index: usize, result: PairResult) {
        self.doorbell.push((self.op, index, result));
    }
}

/// A doorbell descriptor an event loop can watch for readability: rung by
/// [`Bell::ring`], silenced by [`Bell::reset`]. An `eventfd` on Linux; a
/// non-blocking self-pipe elsewhere.
#[derive(Debug)]
pub(crate) struct Bell {
    /// The end to watch (and, for an eventfd, to write too).
    watch: File,
    /// The self-pipe's write end (`None` for an eventfd).
    #[cfg_attr(linux_calls, allow(dead_code))]
    ring: Option<File>,
}

impl Bell {
    /// A new, silent bell (non-blocking, close-on-exec).
    pub(crate) fn new() -> io::Result<Self> {
        #[cfg(linux_calls)]
        let (watch, ring) = (File::from(sys::eventfd()?), None);
        #[cfg(not(linux_calls))]
        let (watch, ring) = {
            // A self-pipe: both ends non-blocking (std makes them
            // close-on-exec).
            let (watch, ring) = std::io::pipe()?;
            let (watch, ring) = (
                File::from(OwnedFd::from(watch)),
                File::from(OwnedFd::from(ring)),
            );
            for end in [&watch, &ring] {
                let fd = std::os::fd::AsRawFd::as_raw_fd(end);
                sys::set_flags(fd, sys::get_flags(fd)? | libc::O_NONBLOCK)?;
            }
            (watch, Some(ring))
        };
        Ok(Self { watch, ring })
    }

    /// The descriptor to watch.
    pub(crate) fn fd(&self) -> RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.watch)
    }

    /// Make the watched descriptor readable. Cannot block: an eventfd
    /// counter's limit is 2^64 - 2, and a full self-pipe is readable
    /// already; a failure would only delay the wake-up.
    pub(crate) fn ring(&self) {
        use std::io::Write;
        let target = self.ring.as_ref().unwrap_or(&self.watch);
        let _ = (&*target).write(&1_u64.to_ne_bytes());
    }

    /// Make the watched descriptor silent again (`WouldBlock`: it was).
    pub(crate) fn reset(&self) {
        use std::io::Read;
        let mut drained = [0_u8; 64];
        while matches!((&self.watch).read(&mut drained), Ok(n) if n == drained.len()) {}
    }

    /// The watched end, for tests that read it themselves.
    #[cfg(test)]
    pub(crate) fn watched(&self) -> &File {
        &self.watch
    }
}

#[cfg(test)]
mod tests {
    use super::Doorbell;
    use std::io::Read;

    /// Read (and so reset) the counter through a duplicate of the eventfd.
    fn counter(doorbell: &Doorbell) -> Option<u64> {
        let mut file = doorbell.bell.watched().try_clone().expect("dup");
        let mut raw = [0_u8; 8];
        file.read_exact(&mut raw)
            .ok()
            .map(|()| u64::from_ne_bytes(raw))
    }

    #[test]
    fn rings_once_per_empty_to_non_empty_and_take_resets() {
        let doorbell = Doorbell::new().expect("eventfd");
        let (op_a, ring_a) = doorbell.operation();
        let (op_b, ring_b) = doorbell.operation();
        assert_ne!(op_a, op_b);
        ring_a.complete(0, Ok(5));
        ring_b.complete(1, Ok(7));
        let taken = doorbell.take();
        assert_eq!(taken.len(), 2);
        assert_eq!((taken[0].0, taken[0].1), (op_a, 0));
        assert_eq!((taken[1].0, taken[1].1), (op_b, 1));
        assert_eq!(counter(&doorbell), None, "take() reset the counter");
        ring_a.complete(1, Ok(0));
        assert_eq!(counter(&doorbell), Some(1));
    }
}
