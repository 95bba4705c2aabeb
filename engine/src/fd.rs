//! The operating-system boundary: every `unsafe` block of the crate.
//!
//! Owns the engine's view of a caller's descriptor ([`Endpoint`]), the
//! process-wide bookkeeping of `O_NONBLOCK` switches ([`NonblockTable`]),
//! readiness probing with `poll(2)` for the blocking path, and the
//! reactor's `SIGPIPE` mask.
//!
//! # Descriptor ownership
//!
//! At submit the engine duplicates each caller descriptor
//! (`F_DUPFD_CLOEXEC`, never below 3) and works on the duplicate for the
//! life of the pair. It closes only its duplicate, so
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
//! - An [`Endpoint`] is deregistered before it is dropped (dropping closes
//!   the duplicate); `debug_assert` checks it.
//! - Regular files are never registered (epoll refuses them) and their flags
//!   are never touched; other descriptors epoll refuses with `EPERM`
//!   (`/dev/null`, other character devices) become "always ready" the same
//!   way.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::{ManuallyDrop, MaybeUninit};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use crate::pair::{Sink, Source};

/// Which way a pair uses a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The pair reads from it.
    Read,
    /// The pair writes to it.
    Write,
}

/// Identifies an open file description closely enough to share its
/// `O_NONBLOCK` bookkeeping: two descriptors of one description always have
/// equal keys. (Two separate opens of one FIFO also share a key; the only
/// cost is that the flag is restored when the later of their pairs ends.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileKey {
    dev: u64,
    ino: u64,
    access: i32,
}

/// The engine's duplicate of one caller descriptor, for one pair.
#[derive(Debug)]
pub struct Endpoint {
    /// The duplicate (close-on-exec, number >= 3), closed on drop; or, while
    /// `owned` is false, the caller's own descriptor, borrowed for the
    /// length of one call and never closed (see [`Endpoint::borrow`]).
    file: ManuallyDrop<File>,
    owned: bool,
    /// The caller's number (never used for I/O; fds 0 to 2 are protected).
    caller_fd: RawFd,
    key: FileKey,
    regular: bool,
    /// A pipe or FIFO: `splice(2)` can move bytes between two of these.
    pipe: bool,
    /// Decided on first use by [`Endpoint::is_protected`].
    protected: Cell<Option<bool>>,
    readiness: Readiness,
    flag: FlagUse,
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

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(last_error())
    } else {
        Ok(ret)
    }
}

fn get_flags(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: F_GETFL takes no pointer argument; an invalid `fd` yields
    // EBADF, nothing else.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })
}

fn set_flags(fd: RawFd, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: F_SETFL takes an integer argument; only `fd`'s status flags
    // change, and `fd` is a descriptor the engine holds open.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) }).map(drop)
}

fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    let flags = get_flags(fd)?;
    let wanted = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if wanted == flags {
        return Ok(());
    }
    set_flags(fd, wanted)
}

/// Whether `O_NONBLOCK` is set on `fd`'s open file description.
pub fn is_nonblocking(fd: RawFd) -> io::Result<bool> {
    Ok(get_flags(fd)? & libc::O_NONBLOCK != 0)
}

fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer (the lowest acceptable new
    // number); on success it returns a new descriptor that nobody else owns.
    let new = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) })?;
    // SAFETY: `new` was just returned by fcntl, is open, and is owned by no
    // other object; `OwnedFd` becomes its sole owner.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// A new non-blocking, close-on-exec `eventfd` (counter 0), the doorbell
/// an event loop watches for completions.
pub fn new_eventfd() -> io::Result<File> {
    // SAFETY: eventfd takes no pointer; on success it returns a new
    // descriptor that nobody else owns.
    let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
    // SAFETY: `fd` was just returned by eventfd, is open, and is owned by no
    // other object; `File` becomes its sole owner.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// The `(device, inode)` of the file `fd` refers to.
pub fn file_identity(fd: RawFd) -> io::Result<(u64, u64)> {
    let st = fstat(fd)?;
    Ok((st.st_dev, st.st_ino))
}

fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` points to writable memory the size of `struct stat`.
    cvt(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so it filled the whole struct.
    Ok(unsafe { st.assume_init() })
}

fn is_tty(fd: RawFd) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// True when the file `(dev, ino)` is also open as fd 0, 1 or 2: a
/// duplicate of an inherited standard stream shares its open file
/// description (and so its `O_NONBLOCK`) with other processes. Conservative:
/// any descriptor of the same pipe or socket counts.
fn is_standard_stream(dev: u64, ino: u64) -> bool {
    (0..=2).any(|fd| fstat(fd).is_ok_and(|st| st.st_dev == dev && st.st_ino == ino))
}

/// Check that `fd` is open for `direction`; return its access mode. Fails
/// with `EBADF` for a closed descriptor or one open the wrong way. Opens
/// nothing, so a batch can be checked whole before the engine duplicates
/// any descriptor (a duplicate could otherwise take the number of a
/// descriptor the caller closed, and pass for it).
pub fn check_access(fd: RawFd, direction: Direction) -> io::Result<libc::c_int> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    let flags = get_flags(fd)?;
    let access = flags & libc::O_ACCMODE;
    let allowed = match direction {
        Direction::Read => access == libc::O_RDONLY || access == libc::O_RDWR,
        Direction::Write => access == libc::O_WRONLY || access == libc::O_RDWR,
    };
    if flags & libc::O_PATH != 0 || !allowed {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    Ok(access)
}

impl Endpoint {
    /// Validate caller descriptor `fd` for `direction` and duplicate it.
    ///
    /// Fails at once (never waits) with `EBADF` when `fd` is negative, not
    /// open, an `O_PATH` descriptor, or not open for `direction`.
    pub fn open(fd: RawFd, access: libc::c_int) -> io::Result<Self> {
        Self::new(fd, access, File::from(dup_cloexec(fd)?), true)
    }

    /// The caller's descriptor itself, not a duplicate: for the inline
    /// path, which runs on the caller's thread within one call, so the
    /// descriptor stays open throughout (a caller closing it from another
    /// thread meanwhile races as with any read or write it makes). Becomes
    /// an owned duplicate with [`Endpoint::own`] before it may outlive the
    /// call.
    pub fn borrow(fd: RawFd, access: libc::c_int) -> io::Result<Self> {
        // SAFETY: `fd` was just checked open by `check_access`, and the
        // `File` is kept in `ManuallyDrop` while `owned` is false, so it is
        // never closed: the caller keeps sole ownership.
        let file = unsafe { File::from_raw_fd(fd) };
        Self::new(fd, access, file, false)
    }

    /// Swap a borrowed descriptor for an owned duplicate (a no-op when
    /// owned already), so the endpoint may outlive the caller's call.
    pub fn own(&mut self) -> io::Result<()> {
        if !self.owned {
            let dup = File::from(dup_cloexec(self.caller_fd)?);
            // The borrowed `File` is dropped without closing (ManuallyDrop).
            self.file = ManuallyDrop::new(dup);
            self.owned = true;
        }
        Ok(())
    }

    fn new(fd: RawFd, access: libc::c_int, file: File, owned: bool) -> io::Result<Self> {
        let file = ManuallyDrop::new(file);
        let st = fstat(file.as_raw_fd())?;
        let regular = st.st_mode & libc::S_IFMT == libc::S_IFREG;
        let pipe = st.st_mode & libc::S_IFMT == libc::S_IFIFO;
        // Classifying costs a few syscalls (isatty, fstat of fds 0 to 2); the
        // inline path never needs it, so it is decided on first use.
        let protected = Cell::new(if regular { Some(false) } else { None });
        Ok(Self {
            caller_fd: fd,
            file,
            owned,
            key: FileKey {
                dev: st.st_dev,
                ino: st.st_ino,
                access,
            },
            regular,
            pipe,
            protected,
            readiness: if regular {
                Readiness::AlwaysReady
            } else {
                Readiness::Unwatched
            },
            flag: FlagUse::Untouched,
        })
    }

    /// The engine's duplicate (not the caller's number).
    #[must_use]
    pub fn raw(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// A pipe or FIFO.
    #[must_use]
    pub fn is_pipe(&self) -> bool {
        self.pipe
    }

    /// A regular file (always ready, never registered).
    #[must_use]
    pub fn is_regular(&self) -> bool {
        self.regular
    }

    /// Must never be switched to non-blocking (not a regular file, and fd 0
    /// to 2, a terminal, or another descriptor of the file open as fd 0 to
    /// 2): its pair takes the blocking path.
    #[must_use]
    pub fn is_protected(&self) -> bool {
        if let Some(protected) = self.protected.get() {
            return protected;
        }
        let protected = self.caller_fd <= 2
            || is_tty(self.raw())
            || is_standard_stream(self.key.dev, self.key.ino);
        self.protected.set(Some(protected));
        protected
    }

    /// Served without readiness events (regular file, or refused by epoll).
    #[must_use]
    pub fn is_always_ready(&self) -> bool {
        self.readiness == Readiness::AlwaysReady
    }

    /// Registered with the reactor's poll.
    #[must_use]
    pub fn is_registered(&self) -> bool {
        self.readiness == Readiness::Registered
    }

    /// Register edge-triggered with `registry`, unless always ready. A
    /// descriptor epoll refuses with `EPERM` becomes always ready instead.
    pub fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        debug_assert!(
            !self.is_protected(),
            "protected descriptors are never registered"
        );
        if self.readiness != Readiness::Unwatched {
            return Ok(());
        }
        match registry.register(&mut SourceFd(&self.raw()), token, interest) {
            Ok(()) => {
                self.readiness = Readiness::Registered;
                Ok(())
            }
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                self.readiness = Readiness::AlwaysReady;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Deregister (before the duplicate is closed). Errors are ignored: the
    /// registration dies with the duplicate in any case.
    pub fn deregister(&mut self, registry: &Registry) {
        if self.readiness == Readiness::Registered {
            let _ = registry.deregister(&mut SourceFd(&self.raw()));
            self.readiness = Readiness::Unwatched;
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        debug_assert!(!self.is_registered(), "endpoint dropped while registered");
        debug_assert!(
            self.flag == FlagUse::Untouched,
            "endpoint dropped without release"
        );
        if self.owned {
            // SAFETY: an owned `file` is the engine's duplicate, dropped
            // exactly once, here; it is not used after.
            unsafe { ManuallyDrop::drop(&mut self.file) };
        }
    }
}

impl Source for Endpoint {
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self.file).read_vectored(bufs)
    }

    fn splice_into(&mut self, sink: RawFd, len: usize) -> Option<io::Result<usize>> {
        if !self.pipe || !splice_enabled() {
            return None;
        }
        let result = splice(self.raw(), sink, len);
        if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EPIPE)) {
            consume_sigpipe();
        }
        Some(result)
    }
}

impl Sink for Endpoint {
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let result = (&*self.file).write_vectored(bufs);
        if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EPIPE)) {
            consume_sigpipe();
        }
        result
    }

    fn splice_fd(&self) -> Option<RawFd> {
        self.pipe.then(|| self.raw())
    }
}

/// Whether pairs may use `splice(2)`: `SPLICE_UNSET` until first asked,
/// then on unless the environment says `CUPRUM_SPLICE=0`. Off forces the
/// ring-buffer copy path, for tests and benchmarks.
static SPLICE: AtomicU8 = AtomicU8::new(SPLICE_UNSET);
const SPLICE_UNSET: u8 = 0;
const SPLICE_ON: u8 = 1;
const SPLICE_OFF: u8 = 2;

/// Allow or forbid the splice fast path for pairs driven from now on.
pub fn set_splice_enabled(enabled: bool) {
    SPLICE.store(
        if enabled { SPLICE_ON } else { SPLICE_OFF },
        Ordering::Relaxed,
    );
}

/// Whether the splice fast path is allowed.
#[must_use]
pub fn splice_enabled() -> bool {
    match SPLICE.load(Ordering::Relaxed) {
        SPLICE_UNSET => {
            let enabled = std::env::var_os("CUPRUM_SPLICE").is_none_or(|v| v != "0");
            set_splice_enabled(enabled);
            enabled
        }
        state => state == SPLICE_ON,
    }
}

/// Move up to `len` bytes from pipe `from` to pipe `to` inside the kernel,
/// without blocking on either pipe (`SPLICE_F_NONBLOCK`; both ends are
/// also `O_NONBLOCK`). `Ok(0)` is EOF; `WouldBlock` does not say which side
/// blocked.
fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: both offsets are null (pipes have no offset), so no pointer is
    // passed; invalid descriptors or unsupported files yield an errno.
    let moved = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE,
        )
    };
    usize::try_from(moved).map_err(|_| last_error())
}

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
pub struct NonblockTable {
    keys: HashMap<FileKey, KeyUsers>,
}

#[derive(Debug, Default)]
struct KeyUsers {
    users: usize,
    deferred: Vec<File>,
}

impl NonblockTable {
    /// Make a registered endpoint's description non-blocking (remembering
    /// whether this endpoint switched it).
    pub fn acquire(&mut self, ep: &mut Endpoint) -> io::Result<()> {
        debug_assert!(!ep.is_protected() && ep.flag == FlagUse::Untouched);
        let flags = get_flags(ep.raw())?;
        if flags & libc::O_NONBLOCK == 0 {
            set_flags(ep.raw(), flags | libc::O_NONBLOCK)?;
            ep.flag = FlagUse::Switched;
        } else {
            ep.flag = FlagUse::Counted;
        }
        self.keys.entry(ep.key).or_default().users += 1;
        Ok(())
    }

    /// Release a (deregistered) endpoint: restore the flag when it is the
    /// last user of its description, and close the duplicate.
    pub fn release(&mut self, mut ep: Endpoint) {
        debug_assert!(!ep.is_registered(), "release before deregister");
        let flag = std::mem::replace(&mut ep.flag, FlagUse::Untouched);
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
                dup_cloexec(ep.raw()).ok()
            } else {
                None
            };
            match kept {
                Some(fd) => users.deferred.push(File::from(fd)),
                None => {
                    let _ = set_nonblocking(ep.raw(), false);
                }
            }
        }
        if users.users == 0 {
            for file in users.deferred.drain(..) {
                let _ = set_nonblocking(file.as_raw_fd(), false);
            }
            self.keys.remove(&ep.key);
        }
    }

    /// Descriptions currently tracked (for tests and debugging).
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no description is tracked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Readiness probing with `poll(2)`, for the blocking path: `events` on one
/// descriptor, within `timeout_ms` (0: just probe). Hang-up and error count
/// as ready (the next I/O call reports them). `EINTR` counts as not ready.
fn poll_fds(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> io::Result<usize> {
    // SAFETY: `fds` is a valid, exclusively borrowed array of `pollfd` of
    // the length passed.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n == -1 {
        let err = last_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(err);
    }
    Ok(n.unsigned_abs() as usize)
}

fn probe(fd: RawFd, events: libc::c_short) -> io::Result<bool> {
    let mut fds = [libc::pollfd {
        fd,
        events,
        revents: 0,
    }];
    Ok(poll_fds(&mut fds, 0)? > 0 && fds[0].revents != 0)
}

/// Wait until the reader is readable (when `read`) or the writer writable
/// (when `write`), or `timeout` passes. Spurious returns are allowed.
pub fn wait_ready(
    reader: &Endpoint,
    read: bool,
    writer: &Endpoint,
    write: bool,
    timeout: Duration,
) -> io::Result<()> {
    let mut fds = Vec::with_capacity(2);
    if read {
        fds.push(libc::pollfd {
            fd: reader.raw(),
            events: libc::POLLIN,
            revents: 0,
        });
    }
    if write {
        fds.push(libc::pollfd {
            fd: writer.raw(),
            events: libc::POLLOUT,
            revents: 0,
        });
    }
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    poll_fds(&mut fds, ms).map(drop)
}

/// An endpoint used in blocking mode (its flags are never touched): each
/// read or write first probes readiness with `poll(2)` and reports
/// `WouldBlock` when the call could block. Writes to anything but a regular
/// file are capped at `PIPE_BUF` bytes, which a pipe reported writable
/// accepts without blocking.
pub struct Polled<'a>(pub &'a mut Endpoint);

impl Source for Polled<'_> {
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        if !self.0.regular && !probe(self.0.raw(), libc::POLLIN)? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.0.read_vectored(bufs)
    }
}

impl Sink for Polled<'_> {
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if self.0.regular {
            return self.0.write_vectored(bufs);
        }
        if !probe(self.0.raw(), libc::POLLOUT)? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        let capped = &first[..first.len().min(libc::PIPE_BUF)];
        self.0.write_vectored(&[IoSlice::new(capped)])
    }
}

fn sigpipe_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` points to writable memory for a `sigset_t`; sigemptyset
    // initialises all of it and sigaddset only sets a bit for a valid signal.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGPIPE);
        set.assume_init()
    }
}

/// Spawn a named engine thread with every asynchronous signal blocked.
///
/// The thread inherits the mask from birth (it is set around the spawn and
/// put back in the caller), so there is no moment at which it could take a
/// process-directed signal meant for the application: Ctrl-C always reaches
/// a thread of the application, such as the one running Python's event
/// loop, and a write to a broken pipe from an engine thread is always
/// `EPIPE`. Faults (`SIGSEGV`, `SIGBUS`, ...) stay unblocked.
pub fn spawn_masked<F>(name: &str, body: F) -> io::Result<()>
where
    F: FnOnce() + Send + 'static,
{
    let mut all = MaybeUninit::<libc::sigset_t>::uninit();
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `all` is valid for writes and fully initialised by
    // sigfillset; removing members from an initialised set is sound.
    let all = unsafe {
        libc::sigfillset(all.as_mut_ptr());
        for fault in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGILL,
            libc::SIGTRAP,
            libc::SIGSYS,
        ] {
            libc::sigdelset(all.as_mut_ptr(), fault);
        }
        all.assume_init()
    };
    // SAFETY: `all` is initialised and `old` is valid for writes; with a
    // valid `how` the call cannot fail, so `old` is initialised after it.
    let old = unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &raw const all, old.as_mut_ptr());
        old.assume_init()
    };
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(body)
        .map(drop);
    // SAFETY: `old` is the caller's initialised mask, saved above.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const old, std::ptr::null_mut());
    }
    spawned
}

/// Keeps `SIGPIPE` blocked in the calling thread while alive, then restores
/// the thread's previous mask. For writes made on a caller's thread (the
/// inline path); every write or splice that fails with `EPIPE` consumes the
/// `SIGPIPE` it raised, before the mask is restored.
pub struct SigpipeBlocked {
    old: libc::sigset_t,
    was_blocked: bool,
}

impl SigpipeBlocked {
    /// Block `SIGPIPE` until the guard is dropped.
    #[must_use]
    pub fn new() -> Self {
        let set = sigpipe_set();
        let mut old = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: `set` is initialised and `old` is valid for writes;
        // pthread_sigmask fills `old` on success (it cannot fail with a
        // valid `how`).
        let old = unsafe {
            libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, old.as_mut_ptr());
            old.assume_init()
        };
        // SAFETY: `old` is an initialised signal set.
        let was_blocked = unsafe { libc::sigismember(&raw const old, libc::SIGPIPE) } == 1;
        Self { old, was_blocked }
    }
}

impl Default for SigpipeBlocked {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SigpipeBlocked {
    fn drop(&mut self) {
        if !self.was_blocked {
            // SAFETY: `self.old` is the initialised mask saved by `new`.
            unsafe {
                libc::pthread_sigmask(libc::SIG_SETMASK, &raw const self.old, std::ptr::null_mut());
            }
        }
    }
}

/// Whether `fd` is ready for `events` (`POLLIN` or `POLLOUT`) right now;
/// a hang-up or error counts as ready (the next read or write reports it).
pub fn ready_now(fd: RawFd, events: libc::c_short) -> io::Result<bool> {
    probe(fd, events)
}

/// Consume a `SIGPIPE` pending on the calling thread (after an `EPIPE`), so
/// it is not delivered if the thread ever unblocks it.
pub fn consume_sigpipe() {
    let set = sigpipe_set();
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `set` and `zero` are initialised; a null `siginfo_t` pointer is
    // allowed. With a zero timeout the call never blocks.
    unsafe {
        libc::sigtimedwait(&raw const set, std::ptr::null_mut(), &raw const zero);
    }
}
