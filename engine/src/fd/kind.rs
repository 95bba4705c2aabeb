//! What a caller's descriptor is, learnt before anything is opened: the
//! direction a pair uses it in and whether it is open that way
//! ([`check_access`]), a pipe or its `fstat` ([`Kind`]), a source that
//! cannot be pumped without loss ([`check_source`]), a descriptor of an
//! inherited standard stream ([`is_standard_stream`]), and the two probes
//! of a descriptor's readiness the inline and blocking paths use. Safe
//! code: the system calls are in `sys`.

use std::io::{self, IoSlice};
use std::os::fd::RawFd;

use crate::errors::EngineError;
use crate::sys;

/// Which way a pair uses a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// The pair reads from it.
    Read,
    /// The pair writes to it.
    Write,
}

/// Check that `fd` is open for `direction`; return its access mode. Fails
/// with `EBADF` for a closed descriptor or one open the wrong way. Opens
/// nothing, so a batch can be checked whole before the engine duplicates
/// any descriptor (a duplicate could otherwise take the number of a
/// descriptor the caller closed, and pass for it).
pub(crate) fn check_access(fd: RawFd, direction: Direction) -> io::Result<libc::c_int> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    let flags = sys::get_flags(fd)?;
    let access = flags & libc::O_ACCMODE;
    let allowed = match direction {
        Direction::Read => access == libc::O_RDONLY || access == libc::O_RDWR,
        Direction::Write => access == libc::O_WRONLY || access == libc::O_RDWR,
    };
    if is_path_only(flags) || !allowed {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    Ok(access)
}

/// True when the file `(dev, ino)` is also open as fd 0, 1 or 2: a
/// duplicate of an inherited standard stream shares its open file
/// description (and so its `O_NONBLOCK`) with other processes. Conservative:
/// any descriptor of the same pipe or socket counts.
pub(crate) fn is_standard_stream(dev: u64, ino: u64) -> bool {
    (0..=2).any(|fd| sys::fstat(fd).is_ok_and(|st| st.st_dev == dev && st.st_ino == ino))
}

/// What a descriptor is, learnt as cheaply as the inline path allows: a
/// pipe told by one `F_GETPIPE_SZ`, anything else by its `fstat`.
#[derive(Debug)]
pub(crate) enum Kind {
    /// A pipe or FIFO, not identified yet.
    Pipe,
    /// Its `fstat`.
    Stat(libc::stat),
}

impl Kind {
    /// Probe caller descriptor `fd`: `EBADF` when it is not open (from the
    /// `fstat` that anything but a pipe takes).
    pub(crate) fn of(fd: RawFd) -> io::Result<Self> {
        if sys::is_pipe(fd) {
            return Ok(Self::Pipe);
        }
        sys::fstat(fd).map(Self::Stat)
    }
}

/// Refuse a reader the engine cannot pump without loss: a socket that
/// keeps message boundaries (datagram, sequenced packet) truncates a
/// message a read has no room for, and reads an empty message as EOF.
pub(crate) fn check_source(fd: RawFd, kind: &Kind) -> Result<(), EngineError> {
    let Kind::Stat(st) = kind else {
        return Ok(()); // a pipe
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Ok(());
    }
    let name = match sys::socket_type(fd)? {
        libc::SOCK_STREAM => return Ok(()),
        libc::SOCK_DGRAM => "SOCK_DGRAM".to_owned(),
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET".to_owned(),
        libc::SOCK_RAW => "SOCK_RAW".to_owned(),
        libc::SOCK_RDM => "SOCK_RDM".to_owned(),
        other => format!("type {other}"),
    };
    // The wording of the Python backend's refusal (`_pumps.options.check_source`).
    Err(EngineError::Unpumpable(format!(
        "reader_fd {fd} is a {name} socket: its messages would be cut to the \
         buffer and an empty one read as the end; read it with recv() \
         yourself, or pump a stream socket or a pipe"
    )))
}

/// Whether `fd` is ready for `events` (`POLLIN` or `POLLOUT`) right now;
/// a hang-up or error counts as ready (the next read or write reports it).
pub(crate) fn ready_now(fd: RawFd, events: libc::c_short) -> io::Result<bool> {
    let mut fds = [libc::pollfd {
        fd,
        events,
        revents: 0,
    }];
    Ok(sys::poll(&mut fds, std::time::Duration::ZERO)? > 0 && fds[0].revents != 0)
}

/// The first non-empty buffer of `bufs`, cut to `PIPE_BUF` bytes: what a
/// pipe reported writable takes whole, whatever its flags.
pub(crate) fn first_capped<'b>(bufs: &'b [IoSlice<'_>]) -> &'b [u8] {
    let first = bufs
        .iter()
        .find(|b| !b.is_empty())
        .map_or(&[][..], |b| &b[..]);
    &first[..first.len().min(libc::PIPE_BUF)]
}

/// The `(device, inode)` of the file `fd` refers to.
pub(crate) fn file_identity(fd: RawFd) -> io::Result<(u64, u64)> {
    let st = sys::fstat(fd)?;
    Ok((st.st_dev, st.st_ino))
}

/// Whether file status `flags` say a path-only descriptor (`O_PATH`).
#[cfg(linux_calls)]
fn is_path_only(flags: libc::c_int) -> bool {
    flags & libc::O_PATH != 0
}

/// No path-only descriptors here.
#[cfg(not(linux_calls))]
fn is_path_only(_flags: libc::c_int) -> bool {
    false
}
