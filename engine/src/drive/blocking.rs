//! The blocking path: a pair with an end the engine must never switch to
//! non-blocking (fd 0 to 2, or a terminal; behaviour 2.10), or with a
//! regular file (behaviour 3.8), runs on its own plain thread
//! (`cuprum-blocking`), one per such pair.
//!
//! # Invariants
//!
//! - Neither end's flags are touched. A terminal end is first opened
//!   afresh on Linux (`Endpoint::open_privately`: an open file description
//!   of the engine's own, non-blocking, that nobody else can switch back),
//!   so its reads and writes return `WouldBlock` and never block, even
//!   when another reader takes the readiness first. Sockets are read and
//!   written with calls that return `WouldBlock` whatever their flags. Any
//!   other end (a pipe at fd 0 to 2, a terminal that cannot be reopened)
//!   is probed with `poll(2)` first and written at most
//!   `PIPE_BUF` bytes at a time (`probed::Probed`), so the pair can still
//!   stop between chunks. Pairs with a regular-file end run here too:
//!   their reads may wait for the disk, never on the reactor's thread.
//! - Between chunks the thread waits with `poll(2)` for at most
//!   [`POLL_SLICE`], then checks its batch's cancel flag: cancellation is
//!   seen within about that long.
//! - `SIGPIPE` is blocked on the thread, as on the reactor.
//!
//! Limitation: a blocking write to a terminal or socket reported writable
//! may still block while the other side makes no progress (a terminal
//! stopped with ^S, a socket whose peer stops reading); a cancel is then
//! seen only once that write returns. A caller waiting for such a pair
//! after Ctrl-C stops waiting on a second Ctrl-C (`python.rs`); the thread
//! still ends the pair, and closes its duplicates, when the write returns.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::completion::{Completion, Report};
use crate::drive::job::Job;
use crate::errors::EngineError;
use crate::fd::kind::Direction;
use crate::fd::probed::{self, Probed};
use crate::sys;
use crate::transfer::pair::{PairResult, Step};

/// Longest wait between checks of the cancel flag.
pub(crate) const POLL_SLICE: Duration = Duration::from_millis(50);

/// Run `job` on a new thread; `completion` is called from that thread.
pub(crate) fn spawn(
    job: Job<'static>,
    cancelled: Arc<AtomicBool>,
    completion: Arc<dyn Completion>,
) -> io::Result<()> {
    sys::spawn_masked("cuprum-blocking", move || {
        // Made on the thread: a thread that never started leaves the
        // report to the caller (the spawn error); once made, a panic in
        // `run` still reports the pair (`Report`'s drop).
        let report = Report::new(&completion, job.index);
        #[cfg(feature = "fault-injection")]
        crate::fault::maybe_panic();
        report.send(run(job, &cancelled));
    })
}

/// Run `job` to its end on this thread (until `cancelled`).
pub(crate) fn run(job: Job<'_>, cancelled: &AtomicBool) -> PairResult {
    let Job {
        mut pair,
        mut reader,
        mut writer,
        ..
    } = job;
    reader.open_privately(Direction::Read);
    writer.open_privately(Direction::Write);
    loop {
        if cancelled.load(Ordering::Acquire) {
            return Err(EngineError::Cancelled);
        }
        let now = Instant::now();
        if pair.expire(now) {
            break;
        }
        let step = pair.drive(
            &mut Probed::new(&mut reader, false),
            &mut Probed::new(&mut writer, false),
            now,
        );
        #[cfg(feature = "fault-injection")]
        crate::fault::maybe_hang();
        match step {
            Step::Done => break,
            Step::Yield => {}
            Step::Wait { .. } => {
                let wait = pair.deadline().map_or(POLL_SLICE, |d| {
                    d.saturating_duration_since(now).min(POLL_SLICE)
                });
                probed::wait_ready(
                    &reader,
                    pair.wants_read(),
                    &writer,
                    pair.wants_write(),
                    wait,
                )?;
            }
        }
    }
    // `reader` and `writer` (the duplicates) close when this returns, before
    // the completion is called.
    pair.into_result()
}
