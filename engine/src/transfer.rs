//! The transfer state machine, with no I/O of its own: the byte ring
//! (`ring`) and one reader->writer transfer over any [`ends::Source`] and
//! [`ends::Sink`] (`pair`: fill, flush, splice, drain, bounded turns), and whether and when
//! it splices (`splicing`).

pub(crate) mod ends;
pub(crate) mod pair;
pub(crate) mod ring;
pub(crate) mod splicing;
