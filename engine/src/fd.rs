//! Descriptor handling: a caller's descriptor as the engine sees it
//! (`endpoint`: what it is, who owns it, its registration and the
//! process-wide `O_NONBLOCK` table) and an endpoint used in blocking mode
//! by the inline and blocking paths (`probed`). Safe code: the system calls
//! are in `sys`.

pub(crate) mod endpoint;
pub(crate) mod kind;
pub(crate) mod probed;
