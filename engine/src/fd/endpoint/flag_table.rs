//! The process-wide bookkeeping of the `O_NONBLOCK` switches the reactor
//! makes ([`NonblockTable`]): a child of `endpoint`, whose private state
//! (each endpoint's key, its part in the table) it keeps.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};

use super::{Endpoint, FileKey, FlagUse};
use crate::sys;

/// Which descriptions the engine switched to non-blocking, and for how many
/// live endpoints. Owned by the reactor thread.
///
/// # Invariant
///
/// A description's flag is restored when its last live endpoint is
/// released; an endpoint that set the flag but is not the last keeps its
/// duplicate here (`deferred`) until then, so restoring never needs a
/// descriptor number that may have been reused.
#[derive(Debug, Default)]
pub(crate) struct NonblockTable {
    keys: HashMap<FileKey, KeyUsers>,
    /// The reactor's poll was lost: every number the engine holds is
    /// suspect, and is used (or closed) only while it names its file.
    pub(crate) suspect: bool,
}

#[derive(Debug, Default)]
struct KeyUsers {
    users: usize,
    deferred: Vec<OwnedFd>,
}

impl NonblockTable {
    /// Make a registered endpoint's description non-blocking (remembering
    /// whether this endpoint switched it).
    pub(crate) fn acquire(&mut self, ep: &mut Endpoint<'static>) -> io::Result<()> {
        debug_assert!(!ep.is_protected() && ep.changes.flag == FlagUse::Untouched);
        let flags = sys::get_flags(ep.raw())?;
        if flags & libc::O_NONBLOCK == 0 {
            sys::set_flags(ep.raw(), flags | libc::O_NONBLOCK)?;
            ep.changes.flag = FlagUse::Switched;
        } else {
            ep.changes.flag = FlagUse::Counted;
        }
        self.keys.entry(ep.key).or_default().users += 1;
        Ok(())
    }

    /// Release a (deregistered) endpoint: restore the flag when it is the
    /// last user of its description, and close the duplicate.
    pub(crate) fn release(&mut self, mut ep: Endpoint<'static>) {
        debug_assert!(!ep.is_registered(), "release before deregister");
        if self.suspect && !ep.names_its_file() {
            // Someone else's number now: count it out, touch nothing.
            let (flag, key) = (ep.changes.flag, ep.key);
            ep.abandon();
            if flag != FlagUse::Untouched {
                if let Some(users) = self.keys.get_mut(&key) {
                    users.users -= 1;
                    if users.users == 0 {
                        self.restore(key);
                    }
                }
            }
            return;
        }
        let flag = std::mem::replace(&mut ep.changes.flag, FlagUse::Untouched);
        if flag == FlagUse::Untouched {
            return;
        }
        let Some(users) = self.keys.get_mut(&ep.key) else {
            return;
        };
        users.users -= 1;
        if flag == FlagUse::Switched {
            // Another live endpoint may share the description: keep a
            // duplicate for the restore when the last one ends. If even that
            // dup fails (EMFILE), restore now rather than never.
            let kept = if users.users > 0 {
                sys::dup_cloexec(ep.raw()).ok()
            } else {
                None
            };
            match kept {
                Some(fd) => users.deferred.push(fd),
                None => {
                    let _ = set_nonblocking(ep.raw(), false);
                }
            }
        }
        if users.users == 0 {
            self.restore(ep.key);
        }
    }

    /// The last user of `key` is gone: restore the flag through the kept
    /// duplicates (while suspect, only those that still name the file;
    /// the others are given up unclosed).
    fn restore(&mut self, key: FileKey) {
        let Some(users) = self.keys.remove(&key) else {
            return;
        };
        for fd in users.deferred {
            let ours = !self.suspect
                || (key.identity.is_some()
                    && crate::fd::kind::file_identity(fd.as_raw_fd()).ok() == key.identity);
            if ours {
                let _ = set_nonblocking(fd.as_raw_fd(), false);
            } else {
                let _ = fd.into_raw_fd();
            }
        }
    }
}

/// Set or clear `O_NONBLOCK` on `fd`'s open file description.
pub(crate) fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    let flags = sys::get_flags(fd)?;
    let wanted = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if wanted != flags {
        sys::set_flags(fd, wanted)?;
    }
    Ok(())
}

/// Whether `O_NONBLOCK` is set on `fd`'s open file description.
pub fn is_nonblocking(fd: RawFd) -> io::Result<bool> {
    Ok(sys::get_flags(fd)? & libc::O_NONBLOCK != 0)
}
