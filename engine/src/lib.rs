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
//! The engine never closes a caller's descriptor. At submit it duplicates
//! each one (close-on-exec) and works on the duplicate for the life of the
//! pair; it sets `O_NONBLOCK` only on descriptors it registers with epoll
//! and restores it when the pair ends, whatever the end. Regular files and
//! descriptors epoll refuses (`/dev/null`) are served as always ready.
//!
//! # Layout
//!
//! `ring` (the byte ring) -> `pair` (one transfer's state machine) ->
//! `fd` (the only `unsafe`: descriptors, flags, signals) -> `reactor` (the
//! thread) and `blocking` (the blocking path) -> `handle` (the public
//! side). `errors` holds [`EngineError`]. Only `python.rs` (behind the
//! `python` feature) touches `pyo3`.

pub mod doorbell;
pub mod errors;
pub mod fd;
pub mod handle;
pub mod pair;
pub mod ring;

mod blocking;
#[cfg(feature = "fault-injection")]
mod fault;
mod inline;
mod reactor;

#[cfg(feature = "python")]
mod python;

pub use doorbell::Doorbell;
pub use errors::EngineError;
#[cfg(feature = "fault-injection")]
pub use fault::{fail_next_pairs, hang_next_blocking_pairs, release_hung_pairs};
pub use handle::{
    Batch, BlockingWaiter, Completion, CompletionQueue, Handle, PairSpec, Started, MAX_BUFFER_SIZE,
};
pub use pair::PairResult;
