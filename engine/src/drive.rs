//! The drivers that run a validated pair (`job`): the reactor thread
//! (`reactor`: every pair whose ends can be made non-blocking), a thread of
//! its own per pair (`blocking`: an end never switched, or a regular file)
//! and the caller's own thread (`inline`: a single pair until it would
//! wait).

pub(crate) mod blocking;
pub(crate) mod inline;
pub(crate) mod job;
pub(crate) mod reactor;
