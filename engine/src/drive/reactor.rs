//! The reactor: one thread (`cuprum-reactor`) that owns a `mio::Poll`, its
//! `Events`, a token slab and every pair in flight, and drives them.
//!
//! One turn: take the queued commands (submit, cancel) -> poll (timeout 0
//! when a pair yielded with work left, else the nearest timer) -> drive
//! every pair with an event -> fire due timers (drain deadlines, retries).
//!
//! # Invariants
//!
//! - Only this thread touches the pairs, the slab and the `Poll`. Callers
//!   reach it through [`Shared`] (a queue plus a `mio::Waker`); results
//!   leave through each batch's [`Completion`], called once per pair.
//! - Tokens: slot `s` registers its reader as `2s` and its writer as
//!   `2s + 1`; the waker is `usize::MAX`. A slot freed during a turn is
//!   reused only after that turn's events are all dispatched, and a freed
//!   slot's descriptors were deregistered first, so no stale event reaches
//!   a new pair.
//! - A pair ends in `retire`: deregister both ends, restore `O_NONBLOCK`,
//!   close the engine's duplicates, then complete. So when a caller sees a
//!   completion, nothing more is read from or written to that pair.
//! - `SIGPIPE` is blocked on this thread; a pending one is consumed after
//!   each `EPIPE` (`sys.rs`). The thread never calls into Python.
//! - Always-ready ends (regular files, descriptors epoll refuses) do blocking
//!   I/O on this thread: a slow disk slows every pair. Their pairs are
//!   driven in bounded steps (`pair.rs`) so they cannot starve the others.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::AsRawFd;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};

use crate::api::completion::Report;
use crate::drive::job::Job;
use crate::errors::EngineError;
use crate::fd::endpoint::{Endpoint, NonblockTable};
use crate::sys;
use crate::transfer::pair::{Pair, PairResult, Step};

const WAKER: Token = Token(usize::MAX);
/// Events fetched per poll.
const EVENTS_CAPACITY: usize = 1024;
/// Retry delay for an always-ready end that reported `WouldBlock` (a
/// descriptor epoll refuses but the caller made non-blocking).
const RETRY_DELAY: Duration = Duration::from_millis(5);

/// What callers ask of the reactor.
pub(crate) enum Command {
    Submit {
        batch: u64,
        cancelled: Arc<AtomicBool>,
        /// Each job with the report it owes (sent however the job ends).
        jobs: Vec<(Job<'static>, Report)>,
    },
    Cancel {
        batch: u64,
    },
}

struct Queue {
    commands: Vec<Command>,
    /// The reactor stopped (its poll failed); nothing will be served.
    dead: bool,
}

/// The caller side of one reactor: its command queue and waker.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    waker: Waker,
    next_batch: AtomicU64,
    /// Mirrors `Queue::dead` for lock-free readers.
    stopped: AtomicBool,
}

impl Shared {
    /// The command queue, locked (a panic while it was held poisons
    /// nothing: the queue is only ever pushed to or emptied whole).
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queue `cmd` and wake the reactor; gives it back when the reactor is
    /// gone.
    pub(crate) fn send(&self, cmd: Command) -> Result<(), Command> {
        {
            let mut queue = self.queue();
            if queue.dead {
                return Err(cmd);
            }
            queue.commands.push(cmd);
        }
        // An eventfd write; it cannot fail short of a broken engine, and a
        // missed wake-up is covered by the next command's.
        let _ = self.waker.wake();
        Ok(())
    }

    /// Whether the reactor has stopped (its poll failed); a new one is
    /// started for the next caller (see `Handle::global`).
    pub(crate) fn is_dead(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// A fresh batch id.
    pub(crate) fn next_batch(&self) -> u64 {
        self.next_batch.fetch_add(1, Ordering::Relaxed)
    }
}

/// Start a reactor thread; returns its caller side.
pub(crate) fn start() -> io::Result<Arc<Shared>> {
    let poll = Poll::new()?;
    let poll_identity = crate::fd::kind::file_identity(poll.as_raw_fd())?;
    let waker = Waker::new(poll.registry(), WAKER)?;
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            commands: Vec::new(),
            dead: false,
        }),
        waker,
        next_batch: AtomicU64::new(0),
        stopped: AtomicBool::new(false),
    });
    let mut reactor = Reactor {
        poll,
        events: Events::with_capacity(EVENTS_CAPACITY),
        shared: Arc::clone(&shared),
        slab: Vec::new(),
        free: Vec::new(),
        released: Vec::new(),
        ready: Vec::new(),
        scratch: Vec::new(),
        timers: BinaryHeap::new(),
        nonblock: NonblockTable::default(),
        next_serial: 0,
        broken: None,
        poll_identity,
    };
    sys::spawn_masked("cuprum-reactor", move || {
        // A panic (an engine bug) must not leave callers waiting forever:
        // stop the reactor, failing every pair, as for a failed poll.
        let stop = catch_unwind(AssertUnwindSafe(|| reactor.run())).unwrap_or_else(|_| {
            reactor.die(&io::Error::other(
                "the engine panicked (a bug: please report it)",
            ));
            Stop::PollFailed
        });
        if stop == Stop::PollLost {
            // The poll's descriptor number belongs to someone else now:
            // closing it (by dropping `Poll`) would close theirs.
            std::mem::forget(reactor.poll);
        }
    })?;
    Ok(shared)
}

/// A pair in flight.
struct Entry {
    /// Unique per pair for the life of the reactor (slots are reused).
    serial: u64,
    batch: u64,
    report: Report,
    pair: Pair,
    reader: Endpoint<'static>,
    writer: Endpoint<'static>,
    /// Already in this turn's (or the next turn's) drive list.
    queued: bool,
    /// The earliest timer armed for this pair, if any.
    timer: Option<Instant>,
}

struct Reactor {
    poll: Poll,
    events: Events,
    shared: Arc<Shared>,
    slab: Vec<Option<Entry>>,
    free: Vec<usize>,
    /// Slots freed this turn; reusable from the next turn on.
    released: Vec<usize>,
    /// `(slot, serial)` to drive next turn without waiting for readiness.
    ready: Vec<(usize, u64)>,
    /// This turn's drive list (kept to reuse its allocation).
    scratch: Vec<(usize, u64)>,
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    nonblock: NonblockTable,
    next_serial: u64,
    /// Set when the poll instance turned out to be unusable; the loop then
    /// stops the reactor.
    broken: Option<io::Error>,
    /// `(device, inode)` of the epoll instance, to tell it was replaced.
    poll_identity: (u64, u64),
}

/// The error every pair gets when the reactor stops under it.
fn stopped(err: &io::Error) -> EngineError {
    EngineError::Internal(format!(
        "reactor stopped: {err} (were the engine's own descriptors closed or \
         replaced by another part of the program?); the next call starts a new reactor"
    ))
}

/// Why the reactor stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The poll failed but its descriptor is still the reactor's own.
    PollFailed,
    /// The poll's descriptor was closed or replaced by someone else.
    PollLost,
}

impl Reactor {
    /// Whether the poll's descriptor still names the epoll instance the
    /// reactor made.
    fn poll_is_ours(&self) -> bool {
        crate::fd::kind::file_identity(self.poll.as_raw_fd()).ok() == Some(self.poll_identity)
    }

    /// Serve pairs until the poll fails; say whether its descriptor was
    /// lost (closed or replaced under the engine).
    fn run(&mut self) -> Stop {
        loop {
            self.run_commands();
            if let Some(err) = self.broken.take() {
                self.nonblock.suspect = true;
                self.die(&err);
                return Stop::PollLost;
            }
            let timeout = if self.ready.is_empty() {
                self.timers
                    .peek()
                    .map(|Reverse((at, _, _))| at.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            match self.poll.poll(&mut self.events, timeout) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    // Decided before the clean-up: a lost poll means the
                    // numbers the engine holds may be someone else's now.
                    let lost = !self.poll_is_ours();
                    self.nonblock.suspect = lost;
                    self.die(&err);
                    return if lost {
                        Stop::PollLost
                    } else {
                        Stop::PollFailed
                    };
                }
            }
            let mut to_drive = std::mem::take(&mut self.scratch);
            to_drive.append(&mut self.ready);
            for event in &self.events {
                if event.token() == WAKER {
                    continue;
                }
                let slot = event.token().0 >> 1;
                if let Some(Some(entry)) = self.slab.get_mut(slot) {
                    // A hang-up or error brings no further edge: from now on
                    // a short transfer on that end proves nothing (pair.rs).
                    if event.token().0 & 1 == 0 {
                        if event.is_read_closed() || event.is_error() {
                            entry.reader.mark_hung_up();
                        }
                    } else if event.is_write_closed() || event.is_error() {
                        entry.writer.mark_hung_up();
                    }
                    if !entry.queued {
                        entry.queued = true;
                        to_drive.push((slot, entry.serial));
                    }
                }
            }
            let now = Instant::now();
            for &(slot, serial) in &to_drive {
                self.drive(slot, serial, now);
            }
            to_drive.clear();
            self.scratch = to_drive;
            self.fire_timers(Instant::now());
            self.free.append(&mut self.released);
        }
    }

    fn run_commands(&mut self) {
        let commands = std::mem::take(&mut self.shared.queue().commands);
        for command in commands {
            match command {
                Command::Submit {
                    batch,
                    cancelled,
                    jobs,
                } => {
                    for (job, report) in jobs {
                        if cancelled.load(Ordering::Acquire) {
                            report.send(Err(EngineError::Cancelled));
                        } else {
                            self.admit(batch, report, job);
                        }
                    }
                }
                Command::Cancel { batch } => self.cancel_batch(batch),
            }
        }
    }

    /// Register a new pair's ends and schedule its first drive.
    fn admit(&mut self, batch: u64, report: Report, job: Job<'static>) {
        let Job {
            index: _,
            pair,
            mut reader,
            mut writer,
        } = job;
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slab.push(None);
            self.slab.len() - 1
        });
        let registry = self.poll.registry();
        let mut setup = || -> io::Result<()> {
            reader.register(registry, Token(slot * 2), Interest::READABLE)?;
            if reader.is_registered() {
                self.nonblock.acquire(&mut reader)?;
            }
            writer.register(registry, Token(slot * 2 + 1), Interest::WRITABLE)?;
            if writer.is_registered() {
                self.nonblock.acquire(&mut writer)?;
            }
            Ok(())
        };
        if let Err(err) = setup() {
            self.let_go(reader, writer);
            self.released.push(slot);
            // EBADF or EINVAL from epoll_ctl on the engine's fresh duplicates
            // means the poll itself is gone, if its descriptor no longer
            // names the epoll instance the reactor made (else it is this
            // pair's: an epoll descriptor given as an end, say).
            if matches!(err.raw_os_error(), Some(libc::EBADF | libc::EINVAL))
                && !self.poll_is_ours()
            {
                report.send(Err(stopped(&err)));
                self.broken = Some(err);
            } else {
                report.send(Err(err.into()));
            }
            return;
        }
        self.next_serial += 1;
        let serial = self.next_serial;
        self.slab[slot] = Some(Entry {
            serial,
            batch,
            report,
            pair,
            reader,
            writer,
            queued: true,
            timer: None,
        });
        #[cfg(feature = "fault-injection")]
        if crate::fault::take() {
            let injected = EngineError::Internal("injected fault (fault-injection feature)".into());
            self.retire(slot, Some(Err(injected)));
            return;
        }
        self.ready.push((slot, serial));
    }

    fn drive(&mut self, slot: usize, serial: u64, now: Instant) {
        let Some(Some(entry)) = self.slab.get_mut(slot) else {
            return;
        };
        if entry.serial != serial {
            return;
        }
        entry.queued = false;
        entry.reader.recheck_flag();
        entry.writer.recheck_flag();
        let step = entry.pair.drive(&mut entry.reader, &mut entry.writer, now);
        match step {
            Step::Done => self.retire(slot, None),
            Step::Yield => {
                entry.queued = true;
                self.ready.push((slot, serial));
            }
            Step::Wait { reader, writer } => {
                // An end with no readiness events that still said
                // `WouldBlock` is retried on a short timer.
                let unwatched = (reader && !entry.reader.is_registered())
                    || (writer && !entry.writer.is_registered());
                let mut wake = entry.pair.deadline();
                if unwatched {
                    let retry = now + RETRY_DELAY;
                    wake = Some(wake.map_or(retry, |d| d.min(retry)));
                }
                if let Some(at) = wake {
                    if entry.timer.is_none_or(|armed| at < armed) {
                        entry.timer = Some(at);
                        self.timers.push(Reverse((at, slot, serial)));
                    }
                }
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(&Reverse((at, slot, serial))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(Some(entry)) = self.slab.get_mut(slot) else {
                continue;
            };
            if entry.serial != serial || entry.timer != Some(at) {
                continue;
            }
            entry.timer = None;
            if entry.pair.expire(now) {
                self.retire(slot, None);
            } else if !entry.queued {
                entry.queued = true;
                self.ready.push((slot, serial));
            }
        }
    }

    fn cancel_batch(&mut self, batch: u64) {
        let slots: Vec<usize> = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(slot, e)| e.as_ref().filter(|e| e.batch == batch).map(|_| slot))
            .collect();
        for slot in slots {
            self.retire(slot, Some(Err(EngineError::Cancelled)));
        }
    }

    /// Deregister, restore flags, close the duplicates: in that order.
    fn let_go(&mut self, mut reader: Endpoint<'static>, mut writer: Endpoint<'static>) {
        let registry = self.poll.registry();
        reader.deregister(registry, self.nonblock.suspect);
        writer.deregister(registry, self.nonblock.suspect);
        self.nonblock.release(reader);
        self.nonblock.release(writer);
    }

    /// End the pair in `slot` and report it (`result` overrides the pair's
    /// own, for cancellation and engine failure).
    fn retire(&mut self, slot: usize, result: Option<PairResult>) {
        let Some(entry) = self.slab[slot].take() else {
            return;
        };
        self.released.push(slot);
        let Entry {
            report,
            pair,
            reader,
            writer,
            ..
        } = entry;
        self.let_go(reader, writer);
        report.send(result.unwrap_or_else(|| pair.into_result()));
    }

    /// The poll failed for good: refuse new work, fail everything in flight.
    fn die(&mut self, err: &io::Error) {
        let commands = {
            let mut queue = self.shared.queue();
            queue.dead = true;
            self.shared.stopped.store(true, Ordering::Release);
            std::mem::take(&mut queue.commands)
        };
        let broken = || stopped(err);
        for slot in 0..self.slab.len() {
            self.retire(slot, Some(Err(broken())));
        }
        for command in commands {
            if let Command::Submit { jobs, .. } = command {
                for (_, report) in jobs {
                    report.send(Err(broken()));
                }
            }
        }
    }
}
