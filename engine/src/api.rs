//! The engine's public side: the process-wide engine and its handle
//! (`handle`: submit, cancel, the inline fast path, fork handling), how a
//! pair's end is reported (`completion`) and asyncio's completion sink
//! (`doorbell`).

pub(crate) mod completion;
pub(crate) mod doorbell;
pub(crate) mod handle;
