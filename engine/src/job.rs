//! [`Job`]: one validated pair ready to run, its transfer state and both
//! endpoints. `Job<'a>` borrows the caller's descriptors (the inline path,
//! within one call); `Job<'static>` owns duplicates and is the only kind
//! the reactor and the blocking path accept, so [`Job::own`] is the one
//! place a pair is handed over.

use std::io;

use crate::endpoint::{Direction, Endpoint};
use crate::pair::Pair;

/// One validated pair: its index in its batch, its transfer state and the
/// two ends.
pub(crate) struct Job<'a> {
    pub(crate) index: usize,
    pub(crate) pair: Pair,
    pub(crate) reader: Endpoint<'a>,
    pub(crate) writer: Endpoint<'a>,
}

impl Job<'_> {
    /// The same job on descriptors the engine owns (duplicates of any
    /// borrowed end), so it may outlive the caller's call.
    pub(crate) fn own(self) -> io::Result<Job<'static>> {
        Ok(Job {
            index: self.index,
            pair: self.pair,
            reader: self.reader.own(Direction::Read)?,
            writer: self.writer.own(Direction::Write)?,
        })
    }
}
