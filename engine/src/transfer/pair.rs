//! `Pair`: one reader -> writer transfer as an explicit state machine.
//!
//! A pair owns its ring and its progress counters; the two ends are passed
//! to [`Pair::drive`] on each call, through the [`Source`] and [`Sink`]
//! traits, so the machine runs the same over real descriptors (`endpoint.rs`)
//! and over in-memory fakes (`pair/tests.rs`). No I/O of its own, no `unsafe`.
//!
//! # States
//!
//! - `Copying`: read into the ring, write out of it.
//! - `Draining`: a write failed with `EPIPE`/`ECONNRESET`; buffered bytes are
//!   discarded and the reader is read and discarded until EOF (so the
//!   upstream producer never blocks on a full pipe), or until the optional
//!   drain deadline passes.
//! - `Finished(n)`: done; `n` bytes were written.
//! - `Failed(err)`: done with an error.
//!
//! # Invariants
//!
//! - `written` only counts bytes a write reported as accepted; `discarded`
//!   counts bytes read but never written (dropped at the break or drained).
//! - [`Pair::drive`] reads until `WouldBlock`, EOF or a full ring and writes
//!   until `WouldBlock` or an empty ring, retrying `Interrupted`, and loops
//!   while either side can move. So a reader paused by a full ring is resumed
//!   by the same call that frees space, which is what edge-triggered
//!   readiness needs: no new edge will come for a reader that was never
//!   drained to `WouldBlock`.
//! - An end that returned `WouldBlock` is not retried within the same call:
//!   an edge-triggered source reports the next transition.
//! - Work per call is bounded (a few ring-fulls of bytes, a fixed number of
//!   syscalls); a call that stops for that reason returns [`Step::Yield`] and
//!   must be called again soon without waiting for readiness.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::errors::EngineError;
use crate::transfer::ends::{Sink, Source};
use crate::transfer::ring::Ring;
use crate::transfer::splicing::SpliceWindow;

/// Whether a pair moves bytes with `splice(2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpliceMode {
    /// Not tried yet: the first call decides (`EINVAL` means never).
    Untried,
    /// Splicing works for this pair.
    On,
    /// The ring-buffer copy path.
    Off,
}

/// The outcome of one pair: bytes written, or why it ended otherwise.
pub type PairResult = Result<u64, EngineError>;

/// Where a transfer is.
#[derive(Debug)]
pub enum State {
    /// Moving bytes reader -> ring -> writer.
    Copying,
    /// The writer broke; reading and discarding until EOF or the deadline.
    Draining {
        /// When to stop draining, if bounded.
        deadline: Option<Instant>,
    },
    /// Done; this many bytes were written.
    Finished(u64),
    /// Done with an error.
    Failed(EngineError),
}

/// What the caller of [`Pair::drive`] should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The pair is finished or failed; take its result.
    Done,
    /// The work bound was reached while progress was still possible: drive
    /// again soon, without waiting for readiness.
    Yield,
    /// Nothing can move until an end becomes ready again. `reader` and
    /// `writer` say which end returned `WouldBlock` in this call.
    Wait {
        /// The reader returned `WouldBlock`.
        reader: bool,
        /// The writer returned `WouldBlock`.
        writer: bool,
    },
}

/// Syscalls allowed per [`Pair::drive`] call.
const MAX_OPS_PER_DRIVE: u32 = 64;
/// Ring-fulls of bytes moved (read, spliced and written, each counted) per
/// [`Pair::drive`] call...
const RINGS_PER_DRIVE: usize = 8;
/// ...and never more than this, whatever the ring's size (up to 1 GiB):
/// one turn of one pair must not keep every other pair, cancel and submit
/// waiting for long (behaviour 3.8).
const MAX_BYTES_PER_DRIVE: usize = 8 << 20;
/// The least a splice asks for, whatever the ring's size: a splice moves
/// page references, not through the ring, so asking for more costs nothing
/// and one call empties a source pipe larger than the ring (pipelines'
/// hop pipes are 1 MiB), where one of ring size would be followed by
/// another (and often by one that only says `EAGAIN`).
const MIN_SPLICE_LEN: usize = 1 << 20;

/// One reader -> writer transfer.
#[derive(Debug)]
pub struct Pair {
    ring: Ring,
    state: State,
    reader_eof: bool,
    drain_timeout: Option<Duration>,
    written: u64,
    discarded: u64,
    splice: SpliceMode,
    /// Whether the splices have been large enough to keep splicing.
    window: SpliceWindow,
    /// The least free space a read is made with (the reader's
    /// [`Source::whole_read`], learnt at the first read; the ring is grown
    /// to hold it), so that no read drops part of a packet.
    whole: usize,
    /// `written`, published after every [`Pair::drive`] for progress
    /// reports read by other threads.
    progress: Arc<AtomicU64>,
}

/// Per-call work bound.
struct Budget {
    ops: u32,
    bytes: usize,
    max_bytes: usize,
}

impl Budget {
    fn new(capacity: usize) -> Self {
        Self {
            ops: 0,
            bytes: 0,
            max_bytes: capacity
                .saturating_mul(RINGS_PER_DRIVE)
                .min(MAX_BYTES_PER_DRIVE),
        }
    }

    fn spend(&mut self, bytes: usize) {
        self.ops += 1;
        self.bytes = self.bytes.saturating_add(bytes);
    }

    fn exhausted(&self) -> bool {
        self.ops >= MAX_OPS_PER_DRIVE || self.bytes >= self.max_bytes
    }
}

/// What one read, write or splice call came to.
enum Outcome {
    /// This many bytes (more than zero) moved.
    Moved(usize),
    /// `Ok(0)`: EOF for a read or splice.
    Ended,
    /// `Interrupted`: call again.
    Retry,
    /// `WouldBlock`: wait for readiness.
    Blocked,
    /// `EPIPE` or `ECONNRESET`: for a write, the downstream is gone.
    Broken(io::Error),
    /// Any other error.
    Failed(io::Error),
}

impl From<io::Result<usize>> for Outcome {
    fn from(result: io::Result<usize>) -> Self {
        match result {
            Ok(0) => Self::Ended,
            Ok(n) => Self::Moved(n),
            Err(e) => match e.kind() {
                io::ErrorKind::Interrupted => Self::Retry,
                io::ErrorKind::WouldBlock => Self::Blocked,
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Self::Broken(e),
                _ => Self::Failed(e),
            },
        }
    }
}

impl Pair {
    /// A transfer through a ring of `buffer_size` bytes; after a broken
    /// downstream, drain for at most `drain_timeout` (`None`: until EOF).
    ///
    /// # Panics
    ///
    /// When `buffer_size` is zero (validated before a pair is built).
    #[must_use]
    pub fn new(buffer_size: usize, drain_timeout: Option<Duration>) -> Self {
        Self {
            ring: Ring::new(buffer_size),
            state: State::Copying,
            reader_eof: false,
            drain_timeout,
            written: 0,
            discarded: 0,
            splice: SpliceMode::Untried,
            window: SpliceWindow::default(),
            whole: 1,
            progress: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A counter of the bytes written so far, updated after every
    /// [`Pair::drive`] call; readable from any thread while the pair runs.
    #[must_use]
    pub fn progress(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.progress)
    }

    /// The current state.
    #[cfg(test)]
    #[must_use]
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Bytes written so far.
    #[cfg(test)]
    #[must_use]
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Bytes read but not written (dropped at a break, or drained).
    #[cfg(test)]
    #[must_use]
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// True once finished or failed.
    #[must_use]
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Finished(_) | State::Failed(_))
    }

    /// True while the reader has not reached EOF, the pair is not done and
    /// there is room to read into (used to pick what to wait for).
    #[must_use]
    pub fn wants_read(&self) -> bool {
        match self.state {
            State::Copying => !self.reader_eof && self.has_room(),
            State::Draining { .. } => !self.reader_eof,
            State::Finished(_) | State::Failed(_) => false,
        }
    }

    /// True while buffered bytes wait for the writer.
    #[must_use]
    pub fn wants_write(&self) -> bool {
        matches!(self.state, State::Copying) && !self.ring.is_empty()
    }

    /// The drain deadline, while draining with a bound.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Draining { deadline } => deadline,
            _ => None,
        }
    }

    /// Finish a bounded drain whose deadline has passed at `now`; returns
    /// true when the pair is (now) done.
    pub fn expire(&mut self, now: Instant) -> bool {
        if let State::Draining {
            deadline: Some(deadline),
        } = self.state
        {
            if now >= deadline {
                self.state = State::Finished(self.written);
            }
        }
        self.is_done()
    }

    /// The result of a done pair; `Internal` if called before the end.
    pub fn into_result(self) -> PairResult {
        match self.state {
            State::Finished(n) => Ok(n),
            State::Failed(err) => Err(err),
            State::Copying | State::Draining { .. } => Err(EngineError::Internal(
                "pair result taken before its end".into(),
            )),
        }
    }

    fn fail(&mut self, err: io::Error) -> Step {
        self.state = State::Failed(err.into());
        Step::Done
    }

    fn settle(&mut self) -> Step {
        self.state = State::Finished(self.written);
        Step::Done
    }

    fn start_drain(&mut self, now: Instant) {
        self.discarded += self.ring.clear() as u64;
        self.state = State::Draining {
            deadline: self.drain_timeout.map(|t| now + t),
        };
    }

    /// The draining state: read and discard until EOF or the deadline
    /// (`reader_blocked`: the reader already said `WouldBlock` in this call).
    fn drain<R>(
        &mut self,
        reader: &mut R,
        deadline: Option<Instant>,
        mut reader_blocked: bool,
        budget: &mut Budget,
        now: Instant,
    ) -> Step
    where
        R: Source + ?Sized,
    {
        if deadline.is_some_and(|d| now >= d) {
            return self.settle();
        }
        self.learn_whole_read(reader);
        while !reader_blocked && !self.reader_eof {
            if budget.exhausted() {
                return Step::Yield;
            }
            match reader.read_vectored(&mut self.ring.writable_io()).into() {
                Outcome::Ended => self.reader_eof = true,
                Outcome::Moved(n) => {
                    self.discarded += n as u64;
                    budget.spend(n);
                }
                Outcome::Retry => budget.spend(0),
                Outcome::Blocked => reader_blocked = true,
                Outcome::Broken(e) | Outcome::Failed(e) => return self.fail(e),
            }
        }
        if self.reader_eof {
            return self.settle();
        }
        Step::Wait {
            reader: true,
            writer: false,
        }
    }

    /// The splice fast path: move bytes reader -> writer in the kernel until
    /// one would block, EOF, the budget or a break. Returns `None` when the
    /// pair must (from now on) use the ring instead, or when the state
    /// changed (draining) and `drive` should go on.
    fn splice<R, W>(
        &mut self,
        reader: &mut R,
        writer: &mut W,
        budget: &mut Budget,
        now: Instant,
    ) -> Option<Step>
    where
        R: Source + ?Sized,
        W: Sink + ?Sized,
    {
        let Some(sink) = writer.splice_fd() else {
            self.splice = SpliceMode::Off;
            return None;
        };
        let len = self.ring.capacity().max(MIN_SPLICE_LEN);
        loop {
            let Some(result) = reader.splice_into(sink, len) else {
                self.splice = SpliceMode::Off;
                return None;
            };
            match Outcome::from(result) {
                Outcome::Ended => return Some(self.settle()),
                Outcome::Moved(n) => {
                    self.splice = SpliceMode::On;
                    self.written += n as u64;
                    budget.spend(n);
                    if self.window.small_after(n, self.ring.capacity()) {
                        // Small pieces: the ring gathers them (splicing.rs).
                        self.splice = SpliceMode::Off;
                        return None;
                    }
                    // Short: the source emptied or the sink filled, and an
                    // edge comes on whichever it was; the next splice would
                    // only say WouldBlock.
                    if n < len && reader.short_promises_edge() && writer.short_promises_edge() {
                        return Some(Step::Wait {
                            reader: true,
                            writer: true,
                        });
                    }
                    if budget.exhausted() {
                        return Some(Step::Yield);
                    }
                }
                Outcome::Retry => budget.spend(0),
                // Either side may be the one that blocked: wait for both.
                Outcome::Blocked => {
                    return Some(Step::Wait {
                        reader: true,
                        writer: true,
                    });
                }
                Outcome::Broken(_) => {
                    self.start_drain(now);
                    return None;
                }
                // The kernel refuses to splice these two (a file opened with
                // O_APPEND, some sockets, ...): copy through the ring.
                Outcome::Failed(e)
                    if self.splice == SpliceMode::Untried
                        && e.raw_os_error() == Some(libc::EINVAL) =>
                {
                    self.splice = SpliceMode::Off;
                    return None;
                }
                Outcome::Failed(e) => return Some(self.fail(e)),
            }
        }
    }

    /// Read into the ring until it is full, the reader blocks or ends, or
    /// the budget is spent; `Some(Step::Done)` when a read failed.
    fn fill<R>(&mut self, reader: &mut R, blocked: &mut bool, budget: &mut Budget) -> Option<Step>
    where
        R: Source + ?Sized,
    {
        self.learn_whole_read(reader);
        while !*blocked && !self.reader_eof && self.has_room() && !budget.exhausted() {
            match reader.read_vectored(&mut self.ring.writable_io()).into() {
                Outcome::Ended => self.reader_eof = true,
                Outcome::Moved(n) => {
                    self.ring.commit_write(n);
                    budget.spend(n);
                }
                Outcome::Retry => budget.spend(0),
                Outcome::Blocked => *blocked = true,
                Outcome::Broken(e) | Outcome::Failed(e) => return Some(self.fail(e)),
            }
        }
        None
    }

    /// Whether the ring has room for one whole read.
    fn has_room(&self) -> bool {
        self.ring.free() >= self.whole
    }

    /// Learn the least room `reader` must be read with, and grow the ring
    /// to hold at least that (a ring smaller than a page would drop part
    /// of every packet).
    fn learn_whole_read<R>(&mut self, reader: &R)
    where
        R: Source + ?Sized,
    {
        let whole = reader.whole_read();
        if whole != self.whole {
            self.whole = whole;
            self.ring.grow_to(whole);
        }
    }

    /// Write the ring out until it is empty, the writer blocks, or the
    /// budget is spent; a broken downstream starts the drain (the caller
    /// sees the state change). `Some(Step::Done)` when a write failed.
    fn flush<W>(
        &mut self,
        writer: &mut W,
        blocked: &mut bool,
        budget: &mut Budget,
        now: Instant,
    ) -> Option<Step>
    where
        W: Sink + ?Sized,
    {
        while !*blocked && !self.ring.is_empty() {
            let bufs = self.ring.readable_io();
            let offered = bufs.iter().map(|b| b.len()).sum::<usize>();
            match writer.write_vectored(&bufs).into() {
                // A write that takes nothing of a non-empty buffer.
                Outcome::Ended => return Some(self.fail(io::Error::from_raw_os_error(libc::EIO))),
                Outcome::Moved(n) => {
                    self.ring.consume(n);
                    self.written += n as u64;
                    budget.spend(n);
                    // Filled: the next write would only say WouldBlock.
                    *blocked = n < offered && writer.short_promises_edge();
                }
                Outcome::Retry => budget.spend(0),
                Outcome::Blocked => *blocked = true,
                Outcome::Broken(_) => {
                    self.start_drain(now);
                    return None;
                }
                Outcome::Failed(e) => return Some(self.fail(e)),
            }
            if budget.exhausted() {
                break;
            }
        }
        None
    }

    /// Move as many bytes as the ends allow right now (bounded), at time
    /// `now` (used for the drain deadline).
    pub fn drive<R, W>(&mut self, reader: &mut R, writer: &mut W, now: Instant) -> Step
    where
        R: Source + ?Sized,
        W: Sink + ?Sized,
    {
        let step = self.turn(reader, writer, now);
        self.progress.store(self.written, Ordering::Relaxed);
        step
    }

    /// One bounded turn: until an end would block, the budget is spent or
    /// the pair ends.
    fn turn<R, W>(&mut self, reader: &mut R, writer: &mut W, now: Instant) -> Step
    where
        R: Source + ?Sized,
        W: Sink + ?Sized,
    {
        let mut budget = Budget::new(self.ring.capacity());
        let mut reader_blocked = false;
        let mut writer_blocked = false;
        loop {
            match self.state {
                State::Finished(_) | State::Failed(_) => return Step::Done,
                State::Copying if self.splice != SpliceMode::Off && self.ring.is_empty() => {
                    if let Some(step) = self.splice(reader, writer, &mut budget, now) {
                        return step;
                    }
                }
                State::Copying => {
                    if let Some(step) = self.fill(reader, &mut reader_blocked, &mut budget) {
                        return step;
                    }
                    if let Some(step) = self.flush(writer, &mut writer_blocked, &mut budget, now) {
                        return step;
                    }
                    if !matches!(self.state, State::Copying) {
                        continue;
                    }
                    if self.reader_eof && self.ring.is_empty() {
                        return self.settle();
                    }
                    let can_read = !reader_blocked && !self.reader_eof && self.has_room();
                    let can_write = !writer_blocked && !self.ring.is_empty();
                    if !can_read && !can_write {
                        return Step::Wait {
                            reader: reader_blocked,
                            writer: writer_blocked,
                        };
                    }
                    if budget.exhausted() {
                        return Step::Yield;
                    }
                }
                State::Draining { deadline } => {
                    return self.drain(reader, deadline, reader_blocked, &mut budget, now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
