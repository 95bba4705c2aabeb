//! cuprum's pump engine.
//!
//! The engine moves bytes from a reader descriptor to a writer descriptor
//! ("a pair") without the Python interpreter. One reactor thread per process
//! (`cuprum-reactor`, started lazily) owns a `mio::Poll` and every pair in
//! flight; callers hand pairs over through a queue and a waker and receive
//! one completion per pair.
//!
//! Descriptor ownership: the engine never closes a caller's descriptor. It
//! borrows the raw descriptor for the life of the pair, saves its
//! `O_NONBLOCK` state and restores it when the pair ends, whatever the end.
//!
//! Only `python.rs` (behind the `python` feature) touches PyO3; only `fd.rs`
//! contains `unsafe` code.

#[cfg(feature = "python")]
mod python;
