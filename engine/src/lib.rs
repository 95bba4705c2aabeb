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
//! descriptors; the types say which, `endpoint::Endpoint<'a>`). The engine
//! sets `O_NONBLOCK` only on descriptors it registers with epoll and
//! restores it when the pair ends, whatever the end. Regular files and
//! descriptors epoll refuses (`/dev/null`) are served as always ready.
//!
//! # Layout
//!
//! `ring` (the byte ring) -> `pair` (one transfer's state machine) ->
//! `sys` (the only `unsafe`: thin system-call wrappers) -> `endpoint` (a
//! descriptor as the engine sees it, the flag table) -> `probed` (an
//! endpoint in blocking mode, probed with `poll(2)` before each call) ->
//! `job` -> `reactor` (the thread), `blocking` (the blocking path) and
//! `inline` (the caller's thread) -> `completion` (how ends are reported)
//! and `handle` (the public side). `doorbell` is asyncio's completion sink;
//! `spawn` starts a pipeline's stages (Linux: a child that dies with its
//! caller);
//! `errors` holds [`EngineError`]. Only `python.rs` (behind the `python`
//! feature) touches `pyo3`.

mod blocking;
mod completion;
mod doorbell;
mod endpoint;
mod errors;
#[cfg(feature = "fault-injection")]
mod fault;
mod handle;
mod inline;
mod job;
mod pair;
mod probed;
mod reactor;
mod ring;
#[cfg(linux_calls)]
mod spawn;
mod sys;

#[cfg(feature = "python")]
mod python;

pub use completion::{BlockingWaiter, Completion, CompletionQueue};
pub use doorbell::Doorbell;
pub use endpoint::{set_splice_enabled, splice_enabled};
pub use errors::EngineError;
#[cfg(feature = "fault-injection")]
pub use fault::{
    fail_next_own, fail_next_pairs, hang_next_blocking_pairs, panic_next_blocking_pairs,
    release_hung_pairs, steal_next_reads,
};
pub use handle::{Batch, Handle, PairSpec, Started, MAX_BUFFER_SIZE};
pub use pair::PairResult;
#[cfg(linux_calls)]
pub use spawn::{spawn, SpawnError, SpawnPlan, Step as SpawnStep};
pub use sys::is_nonblocking;
