//! cuprum's pump engine.
//!
//! The engine moves bytes from a reader descriptor to a writer descriptor
//! ("a pair") without the Python interpreter.
//!
//! # Threads
//!
//! - One reactor thread per process (`cuprum-reactor`, started lazily by
//!   [`Handle::global`]; a fork child starts its own on first use) owns a
//!   `mio::Poll` and every pair in flight, from every caller. Callers hand
//!   pairs over with [`Handle::submit`] (a queue plus a `mio::Waker`) and
//!   receive one [`Completion`] call per pair.
//! - A pair with an end that must never be made non-blocking (fd 0 to 2,
//!   another descriptor of the file open as fd 0 to 2, a terminal) runs on a
//!   plain thread of its own (`cuprum-blocking`), which polls between chunks
//!   so a cancel is seen within about 50 ms.
//! - No engine thread touches Python.
//!
//! # Descriptor ownership
//!
//! The engine never closes a caller's descriptor. A pair that may outlive
//! the caller's call works on duplicates (close-on-exec), taken at submit,
//! or, for a single pair first run inline on the caller's thread, at the
//! moment it is handed to the reactor (until then it borrows the caller's
//! descriptors; the types say which, `fd::endpoint::Endpoint<'a>`). The engine
//! sets `O_NONBLOCK` only on descriptors it registers with epoll and
//! restores it when the pair ends, whatever the end. Regular files and
//! descriptors epoll refuses (`/dev/null`) are served as always ready.
//!
//! # Layout
//!
//! - `sys` holds every `unsafe` block: thin system-call wrappers, and the
//!   one place that knows the platform. `spawn` starts a pipeline's stages
//!   (Linux: a child that dies with its caller).
//! - `fd`: descriptor handling. `kind` (what a descriptor is, before
//!   anything is opened), `endpoint` (a descriptor as the engine sees it:
//!   borrowed or owned, registration, I/O that never blocks; its child
//!   `flag_table`, the process-wide `O_NONBLOCK` switches) and `probed`
//!   (an endpoint in blocking mode, for the inline and blocking paths).
//! - `transfer`: the state machine, no I/O of its own. `ring` (the bytes),
//!   `ends` (the `Source` and `Sink` a transfer moves between), `pair` (one
//!   transfer) and `splicing` (whether and when a pair splices).
//! - `drive`: what runs a validated pair (`job`): `reactor` (the thread),
//!   `blocking` (a thread per pair) and `inline` (the caller's thread).
//! - `api`: the public side. `handle` (the process-wide engine, submit and
//!   cancel, fork handling), `completion` (how a pair's end is reported)
//!   and `doorbell` (asyncio's completion sink).
//! - `errors` holds [`EngineError`]; `fault` the test-only fault switches.
//!   Only `python` (behind the `python` feature) touches `pyo3`.

mod api;
mod drive;
mod errors;
#[cfg(feature = "fault-injection")]
mod fault;
mod fd;
#[cfg(linux_calls)]
mod spawn;
mod sys;
mod transfer;

#[cfg(feature = "python")]
mod python;

pub use api::completion::{BlockingWaiter, Completion, CompletionQueue};
pub use api::doorbell::Doorbell;
pub use api::handle::{Batch, Handle, PairSpec, Started, MAX_BUFFER_SIZE};
pub use errors::EngineError;
#[cfg(feature = "fault-injection")]
pub use fault::{
    fail_next_own, fail_next_pairs, hang_next_blocking_pairs, panic_next_blocking_pairs,
    release_hung_pairs, steal_next_reads,
};
pub use fd::endpoint::is_nonblocking;
#[cfg(linux_calls)]
pub use spawn::{spawn, SpawnError, SpawnPlan, Step as SpawnStep};
pub use transfer::pair::PairResult;
pub use transfer::splicing::{set_splice_enabled, splice_enabled};
