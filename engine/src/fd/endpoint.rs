//! A caller's descriptor as the engine sees it ([`Endpoint`]), what it is
//! ([`Kind`]), the process-wide bookkeeping of `O_NONBLOCK` switches
//! ([`NonblockTable`]) and the splice switch. Safe code: the system calls
//! are in `sys`. The inline and blocking paths use an endpoint through
//! `probed::Probed`.
//!
//! # Descriptor ownership, in the types
//!
//! An [`Endpoint<'a>`] holds either the caller's own descriptor, borrowed
//! for `'a` (the inline path, within one call), or the engine's duplicate
//! (`F_DUPFD_CLOEXEC`, never below 3), owned: `Endpoint<'static>`. Only an
//! owned endpoint may go to the reactor or a blocking-path thread, and the
//! compiler enforces it: [`Endpoint::own`] (through `Job::own`) is the one
//! hand-over. The engine closes only its duplicates, so
//!
//! - a caller's descriptor is never closed by the engine;
//! - a caller closing its descriptor early cannot make the engine touch a
//!   reused descriptor number (the duplicate keeps the file open);
//! - the same descriptor may appear in several pairs at once.
//!
//! # Invariants
//!
//! - `O_NONBLOCK` lives on the open file description, shared with the
//!   caller (and maybe other processes). The engine sets it only on
//!   descriptors it registers with epoll, never on fds 0 to 2 nor on
//!   terminals (those pairs take the blocking path), and clears it again
//!   when the last pair using that description ends, whatever the end.
//! - An endpoint is deregistered and released before it is dropped;
//!   `debug_assert` checks it.
//! - Regular files are never registered (epoll refuses them) and their flags
//!   are never touched; other descriptors epoll refuses with `EPERM`
//!   (`/dev/null`, other character devices) become "always ready" the same
//!   way.

use std::cell::Cell;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use crate::fd::kind::{check_access, first_capped, is_standard_stream, ready_now, Direction, Kind};
use crate::sys;
use crate::transfer::ends::{Sink, Source};
use crate::transfer::splicing::splice_enabled;

pub use flag_table::is_nonblocking;
pub(crate) use flag_table::NonblockTable;

mod flag_table;

/// Identifies an open file description closely enough to share its
/// `O_NONBLOCK` bookkeeping: two descriptors of one description always have
/// equal keys. (Two separate opens of one FIFO also share a key; the only
/// cost is that the flag is restored when the later of their pairs ends.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileKey {
    /// The file's `(device, inode)`; `None` for a pipe the inline path told
    /// by [`sys::is_pipe`] alone, until it is owned. Always known once owned.
    identity: Option<(u64, u64)>,
    /// The access mode; `None` until asked for (a borrowed endpoint of the
    /// inline path may never need it). Always known once owned.
    access: Option<i32>,
}

/// The descriptor an endpoint does its I/O on.
#[derive(Debug)]
enum Fd<'a> {
    /// The caller's own, for the length of one call; never closed.
    Borrowed(BorrowedFd<'a>),
    /// The engine's duplicate; closed when dropped.
    Owned(OwnedFd),
}

impl Fd<'_> {
    fn raw(&self) -> RawFd {
        match self {
            Fd::Borrowed(fd) => fd.as_raw_fd(),
            Fd::Owned(fd) => fd.as_raw_fd(),
        }
    }
}

/// One caller descriptor, for one pair.
#[derive(Debug)]
pub(crate) struct Endpoint<'a> {
    fd: Fd<'a>,
    /// The caller's number (never used for I/O; fds 0 to 2 are protected).
    caller_fd: RawFd,
    key: FileKey,
    regular: bool,
    /// A pipe or FIFO: `splice(2)` can move bytes between two of these.
    pipe: bool,
    /// Decided on first use by [`Endpoint::is_protected`].
    protected: Cell<Option<bool>>,
    /// How a read or write here avoids depending on the file's own
    /// `O_NONBLOCK` flag, which other parties may clear (behaviour 3.8).
    nowait: Cell<NoWait>,
    /// A short splice or write proves nothing here (sticky): the reactor
    /// saw the end hang up or fail, and no edge need come again.
    hung_up: bool,
    changes: Changes,
}

/// How I/O on an endpoint stays non-blocking without the file's own
/// `O_NONBLOCK` flag, which belongs to the open file description and so to
/// every process and library holding it: one that clears it (a forked
/// child whose pair ended, `os.set_blocking(fd, True)` on a duplicate)
/// must not make a read or write block the reactor (behaviour 3.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoWait {
    /// `recvmsg`/`sendmsg` with `MSG_DONTWAIT`.
    Socket,
    /// A pipe off Linux, or one whose flag someone else cleared (the
    /// reactor checks before each drive, `recheck_flag`): `poll` first,
    /// then a read, or a write of at most `PIPE_BUF` bytes,
    /// which a pipe reported ready takes without blocking whatever its
    /// flags. One more call per transfer; the only window left is another
    /// reader or writer of the same pipe taking the readiness in between.
    Probe,
    /// Plain `readv`/`writev`: the flag the engine set is relied on (a
    /// Linux pipe, checked before each drive; any other file).
    Flag,
    /// Plain `readv`/`writev` on an open file description of the engine's
    /// own, non-blocking, that nobody else holds
    /// ([`Endpoint::open_privately`]).
    Own,
}

/// What owning an endpoint takes, made before it is given up
/// ([`Endpoint::prepare_own`]).
pub(crate) struct Owning {
    key: FileKey,
    /// The duplicate of a borrowed end.
    dup: Option<OwnedFd>,
}

/// What the reactor changed on an endpoint (registered it, switched its
/// flag), each undone before it is dropped (checked then).
#[derive(Debug)]
struct Changes {
    readiness: Readiness,
    flag: FlagUse,
}

impl Drop for Changes {
    fn drop(&mut self) {
        debug_assert!(
            self.readiness != Readiness::Registered,
            "endpoint dropped while registered"
        );
        debug_assert!(
            self.flag == FlagUse::Untouched,
            "endpoint dropped without release"
        );
    }
}

/// How the reactor learns that an endpoint can make progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readiness {
    /// Not decided yet (before `register`), or a blocking-path endpoint.
    Unwatched,
    /// Never registered: I/O on it never returns `WouldBlock`.
    AlwaysReady,
    /// Registered edge-triggered with the reactor's poll.
    Registered,
}

/// The endpoint's part in the [`NonblockTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlagUse {
    /// Not in the table; flags untouched.
    Untouched,
    /// In the table; the flag was already set when it joined.
    Counted,
    /// In the table; this endpoint set the flag.
    Switched,
}

impl Endpoint<'static> {
    /// Duplicate caller descriptor `fd` (already checked by
    /// [`check_access`], which gave `access`): an owned endpoint.
    pub(crate) fn open(fd: RawFd, access: libc::c_int) -> io::Result<Self> {
        let dup = sys::dup_cloexec(fd)?;
        let st = sys::fstat(dup.as_raw_fd())?;
        Ok(Self::new(fd, Some(access), &Kind::Stat(st), Fd::Owned(dup)))
    }
}

impl<'a> Endpoint<'a> {
    /// The caller's descriptor itself, not a duplicate: for the inline
    /// path, which runs on the caller's thread within one call (a caller
    /// closing it from another thread meanwhile races as with any read or
    /// write it makes). [`Endpoint::own`] makes it owned before it may
    /// outlive the call.
    /// `kind` is what the caller learnt of it (which is how it knew the
    /// number was open).
    pub(crate) fn borrowed(fd: BorrowedFd<'a>, kind: &Kind) -> Self {
        Self::new(fd.as_raw_fd(), None, kind, Fd::Borrowed(fd))
    }

    /// Check that the descriptor is open for `direction` (once; see
    /// [`check_access`]).
    pub(crate) fn check(&mut self, direction: Direction) -> io::Result<()> {
        self.key.access = Some(check_access(self.caller_fd, direction)?);
        Ok(())
    }

    /// Prepare the same endpoint on a descriptor the engine owns (a
    /// duplicate of a borrowed one), so that it may outlive the caller's
    /// call. An end not checked yet is checked for `direction` now (`EBADF`
    /// when open the wrong way): nothing unchecked reaches the reactor,
    /// where a wrong direction would wait for ever (behaviour 2.9).
    ///
    /// Everything that can fail (the access check, the duplicate, the
    /// identity) happens here, without giving the endpoint up: a caller
    /// whose hand-over fails keeps the pair. [`Endpoint::own_with`] then
    /// makes the owned endpoint.
    pub(crate) fn prepare_own(&self, direction: Direction) -> io::Result<Owning> {
        let mut key = self.key;
        if key.access.is_none() {
            key.access = Some(check_access(self.raw(), direction)?);
        }
        let dup = match &self.fd {
            Fd::Borrowed(fd) => Some(sys::dup_cloexec(fd.as_raw_fd())?),
            Fd::Owned(_) => None,
        };
        if key.identity.is_none() {
            let fd = dup.as_ref().map_or(self.raw(), AsRawFd::as_raw_fd);
            key.identity = Some(crate::fd::kind::file_identity(fd)?);
        }
        Ok(Owning { key, dup })
    }

    /// The owned endpoint, from what [`Endpoint::prepare_own`] made.
    pub(crate) fn own_with(self, owning: Owning) -> Endpoint<'static> {
        let fd = match (self.fd, owning.dup) {
            (Fd::Owned(fd), _) | (Fd::Borrowed(_), Some(fd)) => fd,
            (Fd::Borrowed(_), None) => unreachable!("prepare_own duplicates a borrowed end"),
        };
        let key = owning.key;
        Endpoint {
            fd: Fd::Owned(fd),
            caller_fd: self.caller_fd,
            key,
            regular: self.regular,
            pipe: self.pipe,
            protected: self.protected,
            nowait: self.nowait,
            hung_up: self.hung_up,
            changes: self.changes,
        }
    }

    fn new(caller_fd: RawFd, access: Option<libc::c_int>, kind: &Kind, fd: Fd<'a>) -> Self {
        let (regular, pipe, socket, identity) = match kind {
            Kind::Pipe => (false, true, false, None),
            Kind::Stat(st) => (
                st.st_mode & libc::S_IFMT == libc::S_IFREG,
                st.st_mode & libc::S_IFMT == libc::S_IFIFO,
                st.st_mode & libc::S_IFMT == libc::S_IFSOCK,
                Some((st.st_dev, st.st_ino)),
            ),
        };
        // Classifying costs a few syscalls (isatty, fstat of fds 0 to 2); the
        // inline path never needs it, so it is decided on first use.
        let protected = Cell::new(if regular { Some(false) } else { None });
        Self {
            fd,
            caller_fd,
            key: FileKey { identity, access },
            regular,
            pipe,
            protected,
            nowait: Cell::new(if pipe && cfg!(linux_calls) {
                NoWait::Flag
            } else if pipe {
                NoWait::Probe
            } else if socket {
                NoWait::Socket
            } else {
                NoWait::Flag
            }),
            hung_up: false,
            changes: Changes {
                readiness: if regular {
                    Readiness::AlwaysReady
                } else {
                    Readiness::Unwatched
                },
                flag: FlagUse::Untouched,
            },
        }
    }

    /// The descriptor I/O goes to (the duplicate, once owned).
    #[must_use]
    pub(crate) fn raw(&self) -> RawFd {
        self.fd.raw()
    }

    /// A pipe or FIFO.
    #[must_use]
    pub(crate) fn is_pipe(&self) -> bool {
        self.pipe
    }

    /// Whether a read or write here returns `WouldBlock` rather than
    /// blocking, whatever the file's own flags (a pipe or socket, through
    /// [`NoWait`]), or never has to wait (a regular file).
    #[must_use]
    pub(crate) fn never_blocks(&self) -> bool {
        self.regular || self.nowait.get() != NoWait::Flag
    }

    /// On the blocking path: do a terminal end's I/O on an open file
    /// description of the engine's own, non-blocking, rather than on a
    /// duplicate of the caller's (whose flags are never touched there), so
    /// no read or write can block, however others share the terminal: a
    /// second reader taking the readiness between a `poll` and the call
    /// leaves `WouldBlock`, and the thread sees a cancel within its poll
    /// slice. Only a terminal that an open of its device gives again, on
    /// Linux (`/proc/self/fd`); any other end, or a reopen that fails (no
    /// permission), keeps the duplicate and its probe. Not pipes: a new
    /// description of a pipe loses the caller's packet mode, and one of a
    /// named FIFO opened with no writer never reports their hang-up.
    pub(crate) fn open_privately(&mut self, direction: Direction) {
        let Some(rdev) = reopens_as_itself(self.raw()) else {
            return;
        };
        let Ok(own) = reopen_nonblocking(self.raw(), direction == Direction::Write) else {
            return;
        };
        if sys::fstat(own.as_raw_fd()).is_ok_and(|st| st.st_rdev == rdev) {
            self.fd = Fd::Owned(own);
            self.nowait.set(NoWait::Own);
        }
    }

    /// Before a drive in the reactor: a pipe whose reads and writes rely
    /// on the `O_NONBLOCK` the engine set checks that it is still set (one
    /// `F_GETFL`). One cleared by someone else (a duplicate's holder, a
    /// forked child whose pair ended) is probed with `poll` from then on,
    /// so it cannot block the reactor (behaviour 3.8).
    pub(crate) fn recheck_flag(&self) {
        if self.pipe
            && self.nowait.get() == NoWait::Flag
            && self.changes.flag != FlagUse::Untouched
            && sys::get_flags(self.raw()).is_ok_and(|f| f & libc::O_NONBLOCK == 0)
        {
            self.nowait.set(NoWait::Probe);
        }
    }

    /// A regular file (always ready, never registered).
    #[must_use]
    pub(crate) fn is_regular(&self) -> bool {
        self.regular
    }

    /// Must never be switched to non-blocking (not a regular file, and fd 0
    /// to 2, a terminal, or another descriptor of the file open as fd 0 to
    /// 2): its pair takes the blocking path.
    #[must_use]
    pub(crate) fn is_protected(&self) -> bool {
        if let Some(protected) = self.protected.get() {
            return protected;
        }
        // Owned endpoints (the only ones asked) always know their file; one
        // that does not counts as a standard stream: when in doubt, never
        // switch.
        let protected = self.caller_fd <= 2
            || sys::is_tty(self.raw())
            || self
                .key
                .identity
                .is_none_or(|(dev, ino)| is_standard_stream(dev, ino));
        self.protected.set(Some(protected));
        protected
    }

    /// Registered with the reactor's poll.
    #[must_use]
    pub(crate) fn is_registered(&self) -> bool {
        self.changes.readiness == Readiness::Registered
    }

    /// The reactor saw a hang-up or error event on this end.
    pub(crate) fn mark_hung_up(&mut self) {
        self.hung_up = true;
    }

    /// An edge-triggered pipe that has not hung up: a short splice proves
    /// it emptied (or filled), a short write that it filled, and the next
    /// change brings an edge. Not a probed pipe: its writes are cut to
    /// `PIPE_BUF` by the engine, so a short one proves nothing.
    fn short_promises_edge(&self) -> bool {
        self.pipe && self.is_registered() && !self.hung_up && self.nowait.get() != NoWait::Probe
    }

    /// Register edge-triggered with `registry`, unless always ready. A
    /// descriptor epoll refuses with `EPERM` becomes always ready instead.
    pub(crate) fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        debug_assert!(
            !self.is_protected(),
            "protected descriptors are never registered"
        );
        if self.changes.readiness != Readiness::Unwatched {
            return Ok(());
        }
        match registry.register(&mut SourceFd(&self.raw()), token, interest) {
            Ok(()) => {
                self.changes.readiness = Readiness::Registered;
                Ok(())
            }
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                self.changes.readiness = Readiness::AlwaysReady;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Deregister (before the duplicate is closed). Errors are ignored: the
    /// registration dies with the duplicate in any case. With `poll_lost`
    /// the poll is not told (its number may name someone else's file now).
    pub(crate) fn deregister(&mut self, registry: &Registry, poll_lost: bool) {
        if self.changes.readiness == Readiness::Registered {
            if !poll_lost {
                let _ = registry.deregister(&mut SourceFd(&self.raw()));
            }
            self.changes.readiness = Readiness::Unwatched;
        }
    }

    /// Whether this owned end's number still names the file it was opened
    /// for. After a lost poll (numbers the engine held were closed or
    /// replaced under it), one that does not is someone else's now.
    fn names_its_file(&self) -> bool {
        self.key.identity.is_some()
            && crate::fd::kind::file_identity(self.raw()).ok() == self.key.identity
    }

    /// Give up this end's number without closing it or touching its flags:
    /// it names someone else's file now.
    fn abandon(self) {
        let Endpoint {
            fd, mut changes, ..
        } = self;
        changes.readiness = Readiness::Unwatched;
        changes.flag = FlagUse::Untouched;
        if let Fd::Owned(fd) = fd {
            let _ = fd.into_raw_fd();
        }
    }
}

impl Source for Endpoint<'_> {
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let fd = self.raw();
        match self.nowait.get() {
            NoWait::Socket => sys::recv_nowait(fd, bufs),
            NoWait::Probe if !ready_now(fd, libc::POLLIN)? => Err(io::ErrorKind::WouldBlock.into()),
            NoWait::Probe | NoWait::Flag | NoWait::Own => sys::readv(fd, bufs),
        }
    }

    fn whole_read(&self) -> usize {
        if self.pipe {
            sys::page_size()
        } else {
            1
        }
    }

    fn splice_into(&mut self, sink: RawFd, len: usize) -> Option<io::Result<usize>> {
        if !self.pipe || !splice_enabled() {
            return None;
        }
        let result = sys::splice(self.raw(), sink, len);
        if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EPIPE)) {
            sys::consume_sigpipe();
        }
        Some(result)
    }

    fn short_promises_edge(&self) -> bool {
        self.short_promises_edge()
    }
}

impl Sink for Endpoint<'_> {
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let fd = self.raw();
        let result = match self.nowait.get() {
            NoWait::Socket => sys::send_nowait(fd, bufs),
            NoWait::Probe if !ready_now(fd, libc::POLLOUT)? => {
                Err(io::ErrorKind::WouldBlock.into())
            }
            NoWait::Probe => sys::writev(fd, &[IoSlice::new(first_capped(bufs))]),
            NoWait::Flag | NoWait::Own => sys::writev(fd, bufs),
        };
        if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EPIPE)) {
            sys::consume_sigpipe();
        }
        result
    }

    fn splice_fd(&self) -> Option<RawFd> {
        self.pipe.then(|| self.raw())
    }

    fn short_promises_edge(&self) -> bool {
        self.short_promises_edge()
    }
}

/// A new open file description of the file `fd` names (through
/// `/proc/self/fd`), close-on-exec, numbered 3 or above, with `O_NONBLOCK`
/// set on it alone: open for reading, or for writing when `write`. Nobody
/// else holds the description, so nobody else can clear its flag. Linux
/// only (`Unsupported` elsewhere).
#[cfg(linux_calls)]
fn reopen_nonblocking(fd: RawFd, write: bool) -> io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(format!("/proc/self/fd/{fd}"))?;
    let fd = OwnedFd::from(file);
    if fd.as_raw_fd() < 3 {
        return sys::dup_cloexec(fd.as_raw_fd());
    }
    Ok(fd)
}

#[cfg(not(linux_calls))]
fn reopen_nonblocking(_fd: RawFd, _write: bool) -> io::Result<OwnedFd> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Linux's pseudo-terminal slaves (`/dev/pts/N`).
const PTY_SLAVE_MAJORS: std::ops::RangeInclusive<u32> = 136..=143;
/// Linux's virtual consoles, `/dev/tty1` to `/dev/tty63` (minor 0,
/// `/dev/tty0`, is whichever console is in front).
const VT_MAJOR: u32 = 4;
const VT_MINORS: std::ops::RangeInclusive<u32> = 1..=63;

/// The device of `fd` when it is a terminal that an open of its device
/// gives again: a pty's slave or a virtual console. Not the aliases
/// (`/dev/tty`, `/dev/console`, `/dev/tty0`), and not `/dev/ptmx`, an open
/// of which makes a new terminal (a pty's master would be swapped for a
/// stranger).
fn reopens_as_itself(fd: RawFd) -> Option<libc::dev_t> {
    if !sys::is_tty(fd) {
        return None;
    }
    let rdev = sys::fstat(fd).ok()?.st_rdev;
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    (PTY_SLAVE_MAJORS.contains(&major) || (major == VT_MAJOR && VT_MINORS.contains(&minor)))
        .then_some(rdev)
}
