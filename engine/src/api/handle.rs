//! The caller side of the engine: [`Handle`] (submit), [`Batch`] (cancel,
//! progress), and the process-wide engine with its fork handling. Pairs
//! report their ends through a `completion::Completion`.
//!
//! # Invariants
//!
//! - Every submitted pair is completed exactly once: at submit when it
//!   fails validation, else by the reactor (or by its blocking-path thread).
//! - [`Handle::global`] returns the engine of the *current* process. It
//!   never takes a lock: after `fork()` a lock held by a parent thread would
//!   stay held forever in the child. Each process claims its own slot of a
//!   fixed table with atomics (see `claim`), so a child never touches state
//!   a parent thread may have been modifying at fork time.
//! - Which process a handle or batch belongs to is told by a fork
//!   *generation*, bumped in every fork child by a `pthread_atfork`
//!   handler registered before the first engine starts: an atomic load per
//!   call, where a `getpid` would be a system call.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::api::completion::{Completion, Report};
use crate::drive::blocking;
use crate::drive::inline;
use crate::drive::job::Job;
use crate::drive::reactor::{self, Command, Shared};
use crate::errors::EngineError;
use crate::fd::endpoint::Endpoint;
use crate::fd::kind::{self, Direction, Kind};
use crate::sys;
use crate::transfer::pair::{Pair, PairResult};
use crate::transfer::splicing::splice_enabled;

/// Largest accepted `buffer_size` (1 GiB).
pub const MAX_BUFFER_SIZE: usize = 1 << 30;

/// One reader -> writer pair to pump. The descriptors stay the caller's:
/// the engine works on duplicates and never closes these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairSpec {
    /// Read from this descriptor until EOF.
    pub reader: RawFd,
    /// Write everything read to this descriptor.
    pub writer: RawFd,
    /// Ring size in bytes, `1..=MAX_BUFFER_SIZE`.
    pub buffer_size: usize,
    /// After `EPIPE`/`ECONNRESET` on the writer, keep draining the reader
    /// for at most this long (`None`: until EOF).
    pub drain_timeout: Option<Duration>,
}

/// A cheap, shareable handle on one process's engine.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
    generation: u64,
}

/// What [`Handle::start_one`] did with its pair.
pub enum Started {
    /// Done on the calling thread without ever waiting.
    Finished(PairResult),
    /// Handed to the engine; it completes through the given `Completion`.
    Running(Batch),
}

/// The pairs of one [`Handle::submit`] call.
pub struct Batch {
    id: u64,
    cancelled: Arc<AtomicBool>,
    shared: Arc<Shared>,
    generation: u64,
    /// Each pair's bytes-written counter (`None`: failed at submit).
    progress: Vec<Option<Arc<AtomicU64>>>,
}

/// Process generations (a fork child using the engine is one more) that
/// can each have an engine.
const ENGINE_SLOTS: usize = 64;

static ENGINES: [OnceLock<Handle>; ENGINE_SLOTS] = [const { OnceLock::new() }; ENGINE_SLOTS];
/// Next unclaimed slot. A fork child inherits the parent's value, so it
/// never reuses a slot the parent claimed (even one being initialised).
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
/// Pid of the thread's process currently starting an engine (0: none). A
/// value left by a parent thread at fork time is a foreign pid in the child
/// and is simply taken over.
static CLAIMANT: AtomicU32 = AtomicU32::new(0);
/// This process's fork generation (see the module's invariants).
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Whether the fork handler that bumps [`GENERATION`] is registered.
static AT_FORK: AtomicBool = AtomicBool::new(false);

/// Runs in the child after every `fork()`: only an atomic add, which is
/// async-signal-safe.
extern "C" fn forked() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Make [`generation`] move at every `fork()` from now on (once per
/// process; whatever keeps a generation calls it first).
pub(crate) fn watch_forks() -> std::io::Result<()> {
    // Registered before the flag says so: a fork in between leaves a child
    // that registers again (its generation then moves by two: harmless),
    // never one that believes in a handler it lacks.
    if !AT_FORK.load(Ordering::Acquire) {
        sys::at_fork_child(forked)?;
        AT_FORK.store(true, Ordering::Release);
    }
    Ok(())
}

/// The calling process's fork generation.
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// This process's live engine, if it has one (a reactor that stopped is
/// passed over, so the next caller starts a new one).
fn find(generation: u64) -> Option<&'static Handle> {
    let claimed = NEXT_SLOT.load(Ordering::Acquire).min(ENGINE_SLOTS);
    ENGINES[..claimed]
        .iter()
        .filter_map(OnceLock::get)
        .find(|h| h.generation == generation && !h.shared.is_dead())
}

/// Start this process's engine in a fresh slot (called by the one claimant
/// thread of the process).
fn claim() -> Result<&'static Handle, EngineError> {
    watch_forks().map_err(|err| {
        EngineError::Internal(format!("cannot register the engine's fork handler: {err}"))
    })?;
    let generation = generation();
    if let Some(handle) = find(generation) {
        return Ok(handle);
    }
    let slot = NEXT_SLOT.load(Ordering::Acquire);
    if slot >= ENGINE_SLOTS {
        return Err(EngineError::Internal(
            "too many engines started (forked generations or stopped reactors); \
             set CUPRUM_STREAM_BACKEND=python to go on without the engine"
                .into(),
        ));
    }
    let shared = reactor::start().map_err(EngineError::Os)?;
    // Only this process's claimant touches slot `slot`: parents claimed the
    // ones below, and the bump happens before the slot is published.
    NEXT_SLOT.store(slot + 1, Ordering::Release);
    let handle = ENGINES[slot].get_or_init(|| Handle { shared, generation });
    Ok(handle)
}

impl Handle {
    /// The process-wide engine; starts the reactor on first use. After
    /// `fork()`, the child gets a fresh reactor on first use (the fork
    /// generation is checked on every call) and the parent is unaffected.
    pub fn global() -> Result<&'static Handle, EngineError> {
        if let Some(handle) = find(generation()) {
            return Ok(handle);
        }
        let pid = std::process::id();
        loop {
            if let Some(handle) = find(generation()) {
                return Ok(handle);
            }
            let current = CLAIMANT.load(Ordering::Acquire);
            if current == pid {
                // Another thread of this process is starting the engine.
                std::thread::yield_now();
                continue;
            }
            if CLAIMANT
                .compare_exchange(current, pid, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                continue;
            }
            let result = claim();
            CLAIMANT.store(0, Ordering::Release);
            return result;
        }
    }

    /// [`Handle::global`] for a call about to pump `pairs`. When this call
    /// is the one that starts an engine (the process's first, the first
    /// after a fork or after a lost poll), each closed descriptor of
    /// `pairs` becomes -1 first, so that it still fails with `EBADF` as
    /// closed: the engine's new epoll and eventfd descriptors would
    /// otherwise take its number, and the pair would run on them.
    pub fn global_for(pairs: &mut [PairSpec]) -> Result<&'static Handle, EngineError> {
        if let Some(handle) = find(generation()) {
            return Ok(handle);
        }
        for pair in pairs.iter_mut() {
            for fd in [&mut pair.reader, &mut pair.writer] {
                if sys::get_flags(*fd).is_err() {
                    *fd = -1;
                }
            }
        }
        Handle::global()
    }

    /// Submit a batch at once (one wake-up). Pair `i` is reported to
    /// `completion.complete(i, ..)`. Validation failures (`EBADF` for a
    /// closed, negative or wrong-direction descriptor, `EINVAL` for a
    /// `buffer_size` of 0 or above [`MAX_BUFFER_SIZE`]) are completed before
    /// this returns, for that pair only; the other pairs still run.
    pub fn submit(&self, mut pairs: Vec<PairSpec>, completion: Arc<dyn Completion>) -> Batch {
        if self.generation != generation() {
            // A handle inherited across fork(): use this process's engine.
            return match Handle::global_for(&mut pairs) {
                Ok(handle) => handle.submit(pairs, completion),
                Err(err) => {
                    for index in 0..pairs.len() {
                        completion.complete(index, Err(EngineError::Internal(err.to_string())));
                    }
                    // One (absent) progress entry per pair, as every batch has.
                    let mut batch = self.batch(u64::MAX);
                    batch.progress = vec![None; pairs.len()];
                    batch
                }
            };
        }
        let mut batch = self.batch(self.shared.next_batch());
        batch.progress = vec![None; pairs.len()];
        // Check every pair before duplicating any descriptor (see
        // `kind::check_access`).
        let checked: Vec<_> = pairs.iter().map(validate).collect();
        let mut jobs = Vec::new();
        for (index, (spec, check)) in pairs.into_iter().zip(checked).enumerate() {
            let job = check.and_then(|access| prepare(index, &spec, &access));
            if let Ok(job) = &job {
                batch.progress[index] = Some(job.pair.progress());
            }
            match job {
                Err(err) => completion.complete(index, Err(err)),
                Ok(job) if job.needs_a_thread() => {
                    if let Err(err) =
                        blocking::spawn(job, Arc::clone(&batch.cancelled), Arc::clone(&completion))
                    {
                        completion.complete(index, Err(err.into()));
                    }
                }
                Ok(job) => jobs.push(job),
            }
        }
        self.send(&batch, &completion, jobs);
        batch
    }

    /// Pump one pair on the calling thread for as long as it never has to
    /// wait (see `inline.rs`), and hand it to the reactor the moment it
    /// would. A pair done inline is returned as [`Started::Finished`] and
    /// `completion` is never called; otherwise it is called once, with
    /// index 0, as for [`Handle::submit`].
    pub fn start_one(&self, spec: PairSpec, completion: Arc<dyn Completion>) -> Started {
        if self.generation != generation() {
            return Started::Running(self.submit(vec![spec], completion));
        }
        // One probe per end: the number is open, and what kind of file it
        // is (the inline path needs no more to start).
        let kinds = Kind::of(spec.reader).and_then(|r| Ok((r, Kind::of(spec.writer)?)));
        let (reader_kind, writer_kind) = match kinds {
            Ok(kinds) => kinds,
            Err(err) => return Started::Finished(Err(err.into())),
        };
        if let Err(err) = kind::check_source(spec.reader, &reader_kind) {
            return Started::Finished(Err(err));
        }
        if spec.buffer_size == 0 || spec.buffer_size > MAX_BUFFER_SIZE {
            return Started::Finished(Err(EngineError::from_errno(libc::EINVAL)));
        }
        let started = sys::with_borrowed(spec.reader, spec.writer, |reader, writer| {
            let mut job = Job {
                index: 0,
                pair: Pair::new(spec.buffer_size, spec.drain_timeout),
                reader: Endpoint::borrowed(reader, &reader_kind),
                writer: Endpoint::borrowed(writer, &writer_kind),
            };
            // A splice between two pipes (the first thing such a pair does)
            // fails with EBADF at once on an end open the wrong way, as
            // `check_access` would: only other pairs check first (behaviour
            // 2.9: a wrong-direction end never waits).
            let splices = job.reader.is_pipe() && job.writer.is_pipe() && splice_enabled();
            if !splices {
                let checked = job.reader.check(Direction::Read);
                if let Err(err) = checked.and_then(|()| job.writer.check(Direction::Write)) {
                    return Started::Finished(Err(err.into()));
                }
            }
            if inline::eligible(&job) && inline::drive(&mut job) {
                return Started::Finished(job.pair.into_result());
            }
            // The pair outlives this call: the engine takes duplicates now.
            match job.own() {
                Ok(job) => Started::Running(self.hand_over(job, &completion)),
                // It cannot be handed over (no descriptor for a duplicate):
                // it ends here, on the caller's thread, as on the blocking
                // path, so the bytes its ring holds are still delivered.
                Err(job) => Started::Finished(blocking::run(*job, &AtomicBool::new(false))),
            }
        });
        started.unwrap_or_else(|err| Started::Finished(Err(err.into())))
    }

    /// Send one owned job on its way (the blocking path or the reactor) as
    /// a batch of its own.
    fn hand_over(&self, job: Job<'static>, completion: &Arc<dyn Completion>) -> Batch {
        let mut batch = self.batch(self.shared.next_batch());
        batch.progress = vec![Some(job.pair.progress())];
        if job.needs_a_thread() {
            if let Err(err) =
                blocking::spawn(job, Arc::clone(&batch.cancelled), Arc::clone(completion))
            {
                completion.complete(0, Err(err.into()));
            }
        } else {
            self.send(&batch, completion, vec![job]);
        }
        batch
    }

    /// Hand `jobs` to the reactor as part of `batch`.
    fn send(&self, batch: &Batch, completion: &Arc<dyn Completion>, jobs: Vec<Job<'static>>) {
        if jobs.is_empty() {
            return;
        }
        let jobs = jobs
            .into_iter()
            .map(|job| {
                let report = Report::new(completion, job.index);
                (job, report)
            })
            .collect();
        let command = Command::Submit {
            batch: batch.id,
            cancelled: Arc::clone(&batch.cancelled),
            jobs,
        };
        if let Err(Command::Submit { jobs, .. }) = self.shared.send(command) {
            for (_, report) in jobs {
                report.send(Err(EngineError::Internal("reactor stopped".into())));
            }
        }
    }

    fn batch(&self, id: u64) -> Batch {
        Batch {
            id,
            cancelled: Arc::new(AtomicBool::new(false)),
            shared: Arc::clone(&self.shared),
            generation: self.generation,
            progress: Vec::new(),
        }
    }
}

/// Check one spec without opening anything; return both access modes.
fn validate(spec: &PairSpec) -> Result<Access, EngineError> {
    let reader = kind::check_access(spec.reader, Direction::Read)?;
    let writer = kind::check_access(spec.writer, Direction::Write)?;
    kind::check_source(spec.reader, &Kind::of(spec.reader)?)?;
    if spec.buffer_size == 0 || spec.buffer_size > MAX_BUFFER_SIZE {
        return Err(EngineError::from_errno(libc::EINVAL));
    }
    Ok(Access { reader, writer })
}

/// The access modes of a validated spec's descriptors.
struct Access {
    reader: libc::c_int,
    writer: libc::c_int,
}

/// Build one validated spec's job (duplicating both descriptors).
fn prepare(index: usize, spec: &PairSpec, access: &Access) -> Result<Job<'static>, EngineError> {
    let reader = Endpoint::open(spec.reader, access.reader)?;
    let writer = Endpoint::open(spec.writer, access.writer)?;
    Ok(Job {
        index,
        pair: Pair::new(spec.buffer_size, spec.drain_timeout),
        reader,
        writer,
    })
}

impl Batch {
    /// Bytes written so far by each pair, in pair order (a pair that failed
    /// at submit reads 0). Cheap: one atomic load per pair.
    #[must_use]
    pub fn progress(&self) -> Vec<u64> {
        self.progress
            .iter()
            .map(|p| p.as_ref().map_or(0, |p| p.load(Ordering::Relaxed)))
            .collect()
    }

    /// Ask the engine to cancel every pair of this batch still in flight.
    /// Cancelled pairs complete with `Err(EngineError::Cancelled)` only
    /// after they are deregistered, their flags restored and their
    /// duplicates closed, so once the caller has seen all completions,
    /// nothing more is read or written. Pairs already done are unaffected.
    pub fn cancel(&self) {
        if self.generation != generation() {
            // Inherited across fork(): the pairs live in the parent.
            return;
        }
        self.cancelled.store(true, Ordering::Release);
        // A dead reactor has already failed every pair.
        let _ = self.shared.send(Command::Cancel { batch: self.id });
        #[cfg(feature = "fault-injection")]
        crate::fault::note_cancel();
    }
}
