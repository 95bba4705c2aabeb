//! `Pair`: one reader -> writer transfer as an explicit state machine.
//!
//! A pair owns its ring and its progress counters; the two ends are passed
//! to [`Pair::drive`] on each call, through the [`Source`] and [`Sink`]
//! traits, so the machine runs the same over real descriptors (`fd.rs`) and
//! over in-memory fakes (the tests below). No I/O of its own, no `unsafe`.
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

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::errors::EngineError;
use crate::ring::Ring;

/// The reading end of a pair.
pub trait Source {
    /// Read into `bufs` in order, like `readv(2)`; `Ok(0)` means EOF.
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize>;

    /// Move up to `len` bytes straight into descriptor `sink` without a
    /// copy through user space (`splice(2)`), like a read and a write in
    /// one; `Ok(0)` means EOF and `WouldBlock` means either side would
    /// block. `None`: this end cannot splice, use the ring.
    fn splice_into(&mut self, _sink: RawFd, _len: usize) -> Option<io::Result<usize>> {
        None
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
}

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
/// Ring-fulls of bytes read per [`Pair::drive`] call.
const RINGS_PER_DRIVE: usize = 4;

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
            max_bytes: capacity.saturating_mul(RINGS_PER_DRIVE),
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

/// `EPIPE` or `ECONNRESET`: the downstream is gone, start draining.
fn is_broken_downstream(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
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
    #[must_use]
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Bytes written so far.
    #[must_use]
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Bytes read but not written (dropped at a break, or drained).
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
            State::Copying => !self.reader_eof && !self.ring.is_full(),
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

    fn finish(&mut self) -> Step {
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
            return self.finish();
        }
        while !reader_blocked && !self.reader_eof {
            if budget.exhausted() {
                return Step::Yield;
            }
            match reader.read_vectored(&mut self.ring.writable_io()) {
                Ok(0) => self.reader_eof = true,
                Ok(n) => {
                    self.discarded += n as u64;
                    budget.spend(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => budget.spend(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    reader_blocked = true;
                }
                Err(e) => return self.fail(e),
            }
        }
        if self.reader_eof {
            return self.finish();
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
        let len = self.ring.capacity();
        loop {
            let Some(result) = reader.splice_into(sink, len) else {
                self.splice = SpliceMode::Off;
                return None;
            };
            match result {
                Ok(0) => return Some(self.finish()),
                Ok(n) => {
                    self.splice = SpliceMode::On;
                    self.written += n as u64;
                    budget.spend(n);
                    if budget.exhausted() {
                        return Some(Step::Yield);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => budget.spend(0),
                // Either side may be the one that blocked: wait for both.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Some(Step::Wait {
                        reader: true,
                        writer: true,
                    });
                }
                Err(e) if is_broken_downstream(&e) => {
                    self.start_drain(now);
                    return None;
                }
                // The kernel refuses to splice these two (a file opened with
                // O_APPEND, some sockets, ...): copy through the ring.
                Err(e)
                    if self.splice == SpliceMode::Untried
                        && e.raw_os_error() == Some(libc::EINVAL) =>
                {
                    self.splice = SpliceMode::Off;
                    return None;
                }
                Err(e) => return Some(self.fail(e)),
            }
        }
    }

    /// Move as many bytes as the ends allow right now (bounded), at time
    /// `now` (used for the drain deadline).
    pub fn drive<R, W>(&mut self, reader: &mut R, writer: &mut W, now: Instant) -> Step
    where
        R: Source + ?Sized,
        W: Sink + ?Sized,
    {
        let step = self.drive_once(reader, writer, now);
        self.progress.store(self.written, Ordering::Relaxed);
        step
    }

    fn drive_once<R, W>(&mut self, reader: &mut R, writer: &mut W, now: Instant) -> Step
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
                    // Fill.
                    while !reader_blocked
                        && !self.reader_eof
                        && !self.ring.is_full()
                        && !budget.exhausted()
                    {
                        match reader.read_vectored(&mut self.ring.writable_io()) {
                            Ok(0) => self.reader_eof = true,
                            Ok(n) => {
                                self.ring.commit_write(n);
                                budget.spend(n);
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => budget.spend(0),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                reader_blocked = true;
                            }
                            Err(e) => return self.fail(e),
                        }
                    }
                    // Flush.
                    while !writer_blocked && !self.ring.is_empty() {
                        match writer.write_vectored(&self.ring.readable_io()) {
                            Ok(0) => {
                                return self.fail(io::Error::from_raw_os_error(libc::EIO));
                            }
                            Ok(n) => {
                                self.ring.consume(n);
                                self.written += n as u64;
                                budget.spend(0);
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => budget.spend(0),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                writer_blocked = true;
                            }
                            Err(e) if is_broken_downstream(&e) => {
                                self.start_drain(now);
                                break;
                            }
                            Err(e) => return self.fail(e),
                        }
                        if budget.exhausted() {
                            break;
                        }
                    }
                    if !matches!(self.state, State::Copying) {
                        continue;
                    }
                    if self.reader_eof && self.ring.is_empty() {
                        return self.finish();
                    }
                    let can_read = !reader_blocked && !self.reader_eof && !self.ring.is_full();
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
mod tests {
    use super::{Pair, Sink, Source, State, Step};
    use proptest::prelude::*;
    use std::collections::VecDeque;
    use std::io::{self, IoSlice, IoSliceMut};
    use std::time::{Duration, Instant};

    /// One scripted reaction of a fake end.
    #[derive(Debug, Clone)]
    enum Act {
        /// Transfer at most this many bytes.
        Up(usize),
        WouldBlock,
        Interrupted,
        Fail(io::ErrorKind),
        /// Fail with this raw `errno`.
        Errno(i32),
    }

    /// A reader over `data`, following a script (then reading freely).
    struct FakeReader {
        data: Vec<u8>,
        pos: usize,
        script: VecDeque<Act>,
        calls: usize,
    }

    impl FakeReader {
        fn new(data: &[u8], script: Vec<Act>) -> Self {
            Self {
                data: data.to_vec(),
                pos: 0,
                script: script.into(),
                calls: 0,
            }
        }
    }

    impl Source for FakeReader {
        fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
            self.calls += 1;
            let limit = match self.script.pop_front() {
                Some(Act::Up(n)) => n,
                Some(Act::WouldBlock) => return Err(io::ErrorKind::WouldBlock.into()),
                Some(Act::Interrupted) => return Err(io::ErrorKind::Interrupted.into()),
                Some(Act::Fail(kind)) => return Err(kind.into()),
                Some(Act::Errno(errno)) => return Err(io::Error::from_raw_os_error(errno)),
                None => usize::MAX,
            };
            let mut done = 0;
            for buf in bufs.iter_mut() {
                let n = buf.len().min(self.data.len() - self.pos).min(limit - done);
                buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
                self.pos += n;
                done += n;
            }
            Ok(done)
        }
    }

    /// A writer collecting bytes, following a script (then writing freely).
    struct FakeWriter {
        out: Vec<u8>,
        script: VecDeque<Act>,
    }

    impl FakeWriter {
        fn new(script: Vec<Act>) -> Self {
            Self {
                out: Vec::new(),
                script: script.into(),
            }
        }
    }

    impl Sink for FakeWriter {
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let limit = match self.script.pop_front() {
                Some(Act::Up(n)) => n,
                Some(Act::WouldBlock) => return Err(io::ErrorKind::WouldBlock.into()),
                Some(Act::Interrupted) => return Err(io::ErrorKind::Interrupted.into()),
                Some(Act::Fail(kind)) => return Err(kind.into()),
                Some(Act::Errno(errno)) => return Err(io::Error::from_raw_os_error(errno)),
                None => usize::MAX,
            };
            let mut done = 0;
            for buf in bufs {
                let n = buf.len().min(limit - done);
                self.out.extend_from_slice(&buf[..n]);
                done += n;
            }
            Ok(done)
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// Drive until done, as a reactor would (every `Wait` is followed by an
    /// event); panics after too many calls.
    fn run(pair: &mut Pair, r: &mut impl Source, w: &mut impl Sink) {
        for _ in 0..100_000 {
            if pair.drive(r, w, Instant::now()) == Step::Done {
                return;
            }
        }
        panic!("pair never finished: {:?}", pair.state());
    }

    #[test]
    fn copies_everything_and_counts() {
        let input = data(100_000);
        let mut pair = Pair::new(4096, None);
        let mut r = FakeReader::new(&input, vec![]);
        let mut w = FakeWriter::new(vec![]);
        run(&mut pair, &mut r, &mut w);
        assert_eq!(w.out, input);
        assert_eq!(
            pair.progress().load(std::sync::atomic::Ordering::Relaxed),
            100_000
        );
        assert_eq!(pair.into_result().unwrap(), 100_000);
    }

    #[test]
    fn empty_reader_finishes_with_zero() {
        let mut pair = Pair::new(16, None);
        let mut r = FakeReader::new(b"", vec![]);
        let mut w = FakeWriter::new(vec![]);
        assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Done);
        assert_eq!(pair.into_result().unwrap(), 0);
    }

    #[test]
    fn partial_io_would_block_and_interrupts_lose_nothing() {
        let input = data(5000);
        let mut pair = Pair::new(64, None);
        let mut r = FakeReader::new(
            &input,
            vec![
                Act::Interrupted,
                Act::Up(3),
                Act::WouldBlock,
                Act::Up(100),
                Act::Interrupted,
                Act::WouldBlock,
                Act::Up(1),
            ],
        );
        let mut w = FakeWriter::new(vec![
            Act::Up(1),
            Act::WouldBlock,
            Act::Interrupted,
            Act::Up(7),
            Act::WouldBlock,
            Act::Up(5),
        ]);
        run(&mut pair, &mut r, &mut w);
        assert_eq!(w.out, input);
        assert_eq!(pair.written(), 5000);
        assert_eq!(pair.discarded(), 0);
    }

    #[test]
    fn would_block_reader_waits_on_reader() {
        let mut pair = Pair::new(16, None);
        let mut r = FakeReader::new(b"abc", vec![Act::Up(2), Act::WouldBlock]);
        let mut w = FakeWriter::new(vec![]);
        let step = pair.drive(&mut r, &mut w, Instant::now());
        assert_eq!(
            step,
            Step::Wait {
                reader: true,
                writer: false
            }
        );
        assert_eq!(w.out, b"ab");
    }

    #[test]
    fn full_ring_pauses_reader_and_writer_space_resumes_it() {
        // Ring of 4; writer blocks at once: the reader fills the ring and
        // stops (no WouldBlock from it). The next call (a writer edge) must
        // both write and read again without any reader event.
        let input = data(10);
        let mut pair = Pair::new(4, None);
        let mut r = FakeReader::new(&input, vec![]);
        let mut w = FakeWriter::new(vec![Act::WouldBlock]);
        let step = pair.drive(&mut r, &mut w, Instant::now());
        assert_eq!(
            step,
            Step::Wait {
                reader: false,
                writer: true
            }
        );
        assert_eq!(r.pos, 4);
        assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Done);
        assert_eq!(w.out, input);
    }

    #[test]
    fn broken_pipe_drains_until_eof_and_reports_bytes_written() {
        let input = data(1000);
        let mut pair = Pair::new(100, None);
        let mut r = FakeReader::new(&input, vec![Act::Up(100), Act::Up(100)]);
        let mut w = FakeWriter::new(vec![Act::Up(60), Act::Fail(io::ErrorKind::BrokenPipe)]);
        run(&mut pair, &mut r, &mut w);
        assert_eq!(r.pos, 1000, "reader drained to EOF");
        assert_eq!(pair.written(), 60);
        assert_eq!(pair.discarded(), 940);
        assert_eq!(pair.into_result().unwrap(), 60);
    }

    #[test]
    fn connection_reset_drains_too() {
        let input = data(300);
        let mut pair = Pair::new(100, None);
        let mut r = FakeReader::new(&input, vec![]);
        let mut w = FakeWriter::new(vec![Act::Fail(io::ErrorKind::ConnectionReset)]);
        run(&mut pair, &mut r, &mut w);
        assert_eq!(pair.into_result().unwrap(), 0);
    }

    #[test]
    fn drain_waits_on_reader_then_deadline_finishes() {
        let mut pair = Pair::new(16, Some(Duration::from_secs(5)));
        let mut r = FakeReader::new(&data(32), vec![Act::Up(8), Act::WouldBlock]);
        let mut w = FakeWriter::new(vec![Act::Up(3), Act::Fail(io::ErrorKind::BrokenPipe)]);
        let t0 = Instant::now();
        let step = pair.drive(&mut r, &mut w, t0);
        assert!(matches!(step, Step::Wait { reader: true, .. }), "{step:?}");
        assert_eq!(pair.deadline(), Some(t0 + Duration::from_secs(5)));
        assert!(!pair.expire(t0 + Duration::from_secs(4)));
        assert!(pair.expire(t0 + Duration::from_secs(5)));
        assert_eq!(pair.into_result().unwrap(), 3);
    }

    #[test]
    fn zero_drain_timeout_finishes_at_the_break() {
        let mut pair = Pair::new(16, Some(Duration::ZERO));
        let mut r = FakeReader::new(&data(1000), vec![]);
        let mut w = FakeWriter::new(vec![Act::Fail(io::ErrorKind::BrokenPipe)]);
        assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Done);
        assert_eq!(pair.into_result().unwrap(), 0);
    }

    #[test]
    fn read_error_fails_with_errno() {
        let mut pair = Pair::new(16, None);
        let mut r = FakeReader::new(b"abc", vec![]);
        r.script.push_back(Act::Up(3));
        let mut r = FakeReaderErr(r);
        let mut w = FakeWriter::new(vec![]);
        assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Done);
        let err = pair.into_result().unwrap_err();
        assert_eq!(err.errno(), Some(libc::EIO));
        // The error ends the pair at once; buffered bytes are not written.
        assert!(w.out.is_empty());
    }

    /// Reads scripted data then fails with a real errno.
    struct FakeReaderErr(FakeReader);

    impl Source for FakeReaderErr {
        fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
            if self.0.script.is_empty() {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            self.0.read_vectored(bufs)
        }
    }

    #[test]
    fn write_error_other_than_broken_pipe_fails() {
        let mut pair = Pair::new(16, None);
        let mut r = FakeReader::new(b"abc", vec![]);
        let mut w = FakeWriter::new(vec![Act::Fail(io::ErrorKind::PermissionDenied)]);
        assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Done);
        assert!(matches!(pair.state(), State::Failed(_)));
    }

    #[test]
    fn always_ready_pair_yields_within_its_budget() {
        let input = data(1 << 20);
        let mut pair = Pair::new(1024, None);
        let mut r = FakeReader::new(&input, vec![]);
        let mut w = FakeWriter::new(vec![]);
        assert_eq!(pair.drive(&mut r, &mut w, Instant::now()), Step::Yield);
        assert!(r.calls <= 64, "bounded syscalls per call: {}", r.calls);
        assert!(pair.written() <= 4 * 1024);
        run(&mut pair, &mut r, &mut w);
        assert_eq!(w.out, input);
    }

    fn act() -> impl Strategy<Value = Act> {
        prop_oneof![
            4 => (0usize..50).prop_map(Act::Up),
            1 => Just(Act::WouldBlock),
            1 => Just(Act::Interrupted),
        ]
    }

    proptest! {
        /// Whatever partial reads, partial writes, `WouldBlock`s and
        /// interrupts the ends produce, every byte arrives once, in order.
        #[test]
        fn any_schedule_delivers_all_bytes(
            capacity in 1usize..40,
            len in 0usize..600,
            rs in proptest::collection::vec(act(), 0..100),
            ws in proptest::collection::vec(act(), 0..100),
        ) {
            let input = data(len);
            let mut pair = Pair::new(capacity, None);
            // `Up(0)` would be an early EOF from a reader and an EIO from a
            // writer: both ends make at least one byte of progress instead.
            let nonzero = |a| match a { Act::Up(0) => Act::Up(1), a => a };
            let mut r = FakeReader::new(&input, rs.into_iter().map(nonzero).collect());
            let mut w = FakeWriter::new(ws.into_iter().map(nonzero).collect());
            run(&mut pair, &mut r, &mut w);
            prop_assert_eq!(&w.out, &input);
            prop_assert_eq!(pair.into_result().unwrap(), len as u64);
        }
    }

    /// The descriptor number the splice fakes agree on.
    const FAKE_SINK: i32 = 42;

    /// A pipe-like reader that also splices, following a splice script
    /// (then splicing freely); spliced bytes land in `spliced`.
    struct SplicingReader {
        inner: FakeReader,
        splice_script: VecDeque<Act>,
        spliced: Vec<u8>,
    }

    impl SplicingReader {
        fn new(data: &[u8], splice_script: Vec<Act>) -> Self {
            Self {
                inner: FakeReader::new(data, vec![]),
                splice_script: splice_script.into(),
                spliced: Vec::new(),
            }
        }
    }

    impl Source for SplicingReader {
        fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
            self.inner.read_vectored(bufs)
        }

        fn splice_into(&mut self, sink: i32, len: usize) -> Option<io::Result<usize>> {
            assert_eq!(sink, FAKE_SINK);
            let limit = match self.splice_script.pop_front() {
                Some(Act::Up(n)) => n,
                Some(Act::WouldBlock) => return Some(Err(io::ErrorKind::WouldBlock.into())),
                Some(Act::Interrupted) => return Some(Err(io::ErrorKind::Interrupted.into())),
                Some(Act::Fail(kind)) => return Some(Err(kind.into())),
                Some(Act::Errno(errno)) => return Some(Err(io::Error::from_raw_os_error(errno))),
                None => usize::MAX,
            };
            let r = &mut self.inner;
            let n = len.min(limit).min(r.data.len() - r.pos);
            self.spliced.extend_from_slice(&r.data[r.pos..r.pos + n]);
            r.pos += n;
            Some(Ok(n))
        }
    }

    /// A writer that accepts splices (into `FAKE_SINK`).
    struct SplicingWriter(FakeWriter);

    impl Sink for SplicingWriter {
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.0.write_vectored(bufs)
        }

        fn splice_fd(&self) -> Option<i32> {
            Some(FAKE_SINK)
        }
    }

    fn einval() -> Act {
        Act::Errno(libc::EINVAL)
    }

    #[test]
    fn splices_when_both_ends_can_and_waits_on_both_when_blocked() {
        let input = data(50_000);
        let mut pair = Pair::new(4096, None);
        let script = vec![Act::Up(1000), Act::Interrupted, Act::WouldBlock];
        let mut r = SplicingReader::new(&input, script);
        let mut w = SplicingWriter(FakeWriter::new(vec![]));
        let step = pair.drive(&mut r, &mut w, Instant::now());
        assert_eq!(
            step,
            Step::Wait {
                reader: true,
                writer: true
            }
        );
        assert_eq!(pair.written(), 1000);
        run(&mut pair, &mut r, &mut w);
        assert_eq!(r.spliced, input);
        assert!(w.0.out.is_empty(), "no byte went through the ring");
        assert_eq!(pair.into_result().unwrap(), 50_000);
    }

    #[test]
    fn einval_on_the_first_splice_falls_back_to_the_ring() {
        let input = data(30_000);
        let mut pair = Pair::new(4096, None);
        let mut r = SplicingReader::new(&input, vec![einval()]);
        let mut w = SplicingWriter(FakeWriter::new(vec![]));
        run(&mut pair, &mut r, &mut w);
        assert!(r.spliced.is_empty());
        assert_eq!(w.0.out, input);
        assert_eq!(pair.into_result().unwrap(), 30_000);
    }

    #[test]
    fn einval_after_splicing_worked_is_an_error() {
        let input = data(30_000);
        let mut pair = Pair::new(4096, None);
        let mut r = SplicingReader::new(&input, vec![Act::Up(10), einval()]);
        let mut w = SplicingWriter(FakeWriter::new(vec![]));
        run(&mut pair, &mut r, &mut w);
        let err = pair.into_result().unwrap_err();
        assert_eq!(err.errno(), Some(libc::EINVAL));
    }

    #[test]
    fn broken_downstream_while_splicing_drains_the_reader() {
        let input = data(40_000);
        let mut pair = Pair::new(4096, None);
        let script = vec![Act::Up(700), Act::Fail(io::ErrorKind::BrokenPipe)];
        let mut r = SplicingReader::new(&input, script);
        let mut w = SplicingWriter(FakeWriter::new(vec![]));
        run(&mut pair, &mut r, &mut w);
        assert_eq!(r.inner.pos, input.len(), "the reader was drained to EOF");
        assert_eq!(pair.discarded(), 40_000 - 700);
        assert_eq!(pair.into_result().unwrap(), 700);
    }
}
