//! [`Job`]: one validated pair ready to run, its transfer state and both
//! endpoints. `Job<'a>` borrows the caller's descriptors (the inline path,
//! within one call); `Job<'static>` owns duplicates and is the only kind
//! the reactor and the blocking path accept, so [`Job::own`] is the one
//! place a pair is handed over.

use crate::fd::endpoint::Endpoint;
use crate::fd::kind::Direction;
use crate::transfer::pair::Pair;

/// One validated pair: its index in its batch, its transfer state and the
/// two ends.
pub(crate) struct Job<'a> {
    pub(crate) index: usize,
    pub(crate) pair: Pair,
    pub(crate) reader: Endpoint<'a>,
    pub(crate) writer: Endpoint<'a>,
}

impl Job<'_> {
    /// Whether the pair runs on a thread of its own (the blocking path)
    /// rather than in the reactor: an end whose flags must never be
    /// switched (fd 0 to 2, a terminal), or a regular file, whose reads
    /// and writes may wait for the disk and so never run on the reactor's
    /// thread (behaviour 3.8).
    pub(crate) fn needs_a_thread(&self) -> bool {
        let own_thread = |end: &Endpoint<'_>| end.is_protected() || end.is_regular();
        own_thread(&self.reader) || own_thread(&self.writer)
    }

    /// The same job on descriptors the engine owns (duplicates of any
    /// borrowed end), so it may outlive the caller's call. On failure (out
    /// of descriptors, say) the job comes back as it was, with the bytes
    /// its ring holds, so they can still be delivered (the reason is not
    /// kept: the pair goes on without the engine's duplicates).
    pub(crate) fn own(self) -> Result<Job<'static>, Box<Self>> {
        #[cfg(feature = "fault-injection")]
        if crate::fault::take_own_failure() {
            return Err(Box::new(self));
        }
        let prepared = self
            .reader
            .prepare_own(Direction::Read)
            .and_then(|r| Ok((r, self.writer.prepare_own(Direction::Write)?)));
        match prepared {
            Ok((reader, writer)) => Ok(Job {
                index: self.index,
                pair: self.pair,
                reader: self.reader.own_with(reader),
                writer: self.writer.own_with(writer),
            }),
            Err(_) => Err(Box::new(self)),
        }
    }
}
