//! The operating-system boundary: every `unsafe` block of the crate, each
//! a thin wrapper over one system call (or one family of them) with its
//! `// SAFETY:` comment. Nothing here decides policy: the safe modules
//! above do (`fd`, `drive`). Linux's own calls (`F_GETPIPE_SZ`, `eventfd`,
//! `splice`, `MSG_NOSIGNAL`, `sigtimedwait`, the spawning `clone`) compile
//! where `linux_calls` holds; elsewhere a portable twin of each stands in
//! (design 13.1a), which the `generic-unix` feature builds on Linux too.
//!
//! # Invariants
//!
//! - Every wrapper returns `io::Error` with the raw `errno` kept.
//! - The only way to borrow a caller's raw descriptor number is
//!   [`with_borrowed`], whose closure bounds the borrow's lifetime to the
//!   call that the caller keeps the descriptor open for.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

#[cfg(linux_calls)]
use crate::spawn::setup::ChildSetup;

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

fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| last_error())
}

/// `fcntl(F_GETFL)`: the file status flags and access mode of `fd`.
pub(crate) fn get_flags(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: F_GETFL takes no argument and only inspects the descriptor.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })
}

/// Whether `fd` is an open pipe or FIFO, by `fcntl(F_GETPIPE_SZ)` (cheaper
/// than an `fstat`). `false` says nothing more: a closed descriptor, an
/// `O_PATH` one and one that is not a pipe all answer `EBADF`.
#[cfg(linux_calls)]
pub(crate) fn is_pipe(fd: RawFd) -> bool {
    // SAFETY: F_GETPIPE_SZ takes no argument and only inspects the
    // descriptor.
    unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) >= 0 }
}

/// Without `F_GETPIPE_SZ` nothing is cheaper than the `fstat` the caller
/// then takes, which tells a pipe by its mode: say "don't know".
#[cfg(not(linux_calls))]
pub(crate) fn is_pipe(_fd: RawFd) -> bool {
    false
}

/// The memory page size: the most a packet-mode pipe puts in one packet
/// (a write of more is split into packets of at most a page).
pub(crate) fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf takes a constant and touches no memory of ours.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size).unwrap_or(4096).max(libc::PIPE_BUF)
    })
}

/// The type of socket `fd` (`SOCK_STREAM`, `SOCK_DGRAM`, ...).
pub(crate) fn socket_type(fd: RawFd) -> io::Result<libc::c_int> {
    let mut kind: libc::c_int = 0;
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>())
        .expect("an int's size fits a socklen_t");
    // SAFETY: SO_TYPE writes one c_int into `kind`, whose size `len` gives;
    // both outlive the call.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&raw mut kind).cast(),
            &raw mut len,
        )
    })?;
    Ok(kind)
}

/// `fcntl(F_SETFL)`.
pub(crate) fn set_flags(fd: RawFd, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: F_SETFL takes an integer argument; a bad descriptor is an
    // errno, not undefined behaviour.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) }).map(drop)
}

/// A close-on-exec duplicate of `fd`, numbered 3 or above.
pub(crate) fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer (the lowest number to use).
    let new = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) })?;
    // SAFETY: fcntl succeeded: `new` is a fresh descriptor owned by no one.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// A new, silent `eventfd` (non-blocking, close-on-exec): a doorbell.
#[cfg(linux_calls)]
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes two integers and returns a descriptor or -1.
    let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
    // SAFETY: eventfd succeeded: `fd` is a fresh descriptor owned by no one.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstat(2)`.
pub(crate) fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is valid for writes of one `stat`, which fstat fills on
    // success.
    cvt(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so `st` is initialised.
    Ok(unsafe { st.assume_init() })
}

/// `isatty(3)`.
pub(crate) fn is_tty(fd: RawFd) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// Run `body` with borrowed views of the caller's descriptors `a` and `b`:
/// the borrows die with `body`, and the caller keeps both numbers open for
/// the call that runs it (`Handle::start_one`; checked open by `Kind::of`).
///
/// # Errors
///
/// `EBADF` for a negative number (which no `BorrowedFd` may hold).
pub(crate) fn with_borrowed<R>(
    a: RawFd,
    b: RawFd,
    body: impl for<'fd> FnOnce(BorrowedFd<'fd>, BorrowedFd<'fd>) -> R,
) -> io::Result<R> {
    if a < 0 || b < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: both numbers are non-negative and open for the whole call
    // (the caller's contract, checked at entry by `Kind::of`), and the
    // borrows die with `body`.
    let (a, b) = unsafe { (BorrowedFd::borrow_raw(a), BorrowedFd::borrow_raw(b)) };
    Ok(body(a, b))
}

/// `readv(2)` into `bufs`.
pub(crate) fn readv(fd: RawFd, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    let count = libc::c_int::try_from(bufs.len().min(1024)).unwrap_or(1024);
    // SAFETY: `IoSliceMut` is ABI-compatible with `iovec` on Unix (a std
    // guarantee); `count` entries of `bufs` are valid, writable buffers.
    cvt_size(unsafe { libc::readv(fd, bufs.as_mut_ptr().cast(), count) })
}

/// `writev(2)` from `bufs`.
pub(crate) fn writev(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let count = libc::c_int::try_from(bufs.len().min(1024)).unwrap_or(1024);
    // SAFETY: `IoSlice` is ABI-compatible with `iovec` on Unix (a std
    // guarantee); `count` entries of `bufs` are valid, readable buffers.
    cvt_size(unsafe { libc::writev(fd, bufs.as_ptr().cast(), count) })
}

/// A `msghdr` naming `count` iovecs at `iov` and nothing else.
fn iov_msghdr(iov: *mut libc::iovec, count: usize) -> libc::msghdr {
    // SAFETY: `msghdr` is plain data; all-zero is a valid value (no name,
    // no control data, no flags).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = count.min(1024) as _;
    msg
}

/// `recvmsg(MSG_DONTWAIT)` into `bufs`: a socket read that never blocks,
/// whatever the file's `O_NONBLOCK` flag.
pub(crate) fn recv_nowait(fd: RawFd, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    let mut msg = iov_msghdr(bufs.as_mut_ptr().cast(), bufs.len());
    // SAFETY: `IoSliceMut` is ABI-compatible with `iovec`; the message names
    // `msg_iovlen` valid, writable buffers of `bufs`, which outlive the call.
    cvt_size(unsafe { libc::recvmsg(fd, &raw mut msg, libc::MSG_DONTWAIT) })
}

/// `sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL)` from `bufs`: a socket write that
/// never blocks and never raises `SIGPIPE` (`EPIPE` is returned).
pub(crate) fn send_nowait(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    // The kernel only reads through `msg_iov` for sendmsg.
    let msg = iov_msghdr(bufs.as_ptr().cast_mut().cast(), bufs.len());
    // SAFETY: `IoSlice` is ABI-compatible with `iovec`; the message names
    // `msg_iovlen` valid, readable buffers of `bufs`, which outlive the call.
    cvt_size(unsafe { libc::sendmsg(fd, &raw const msg, libc::MSG_DONTWAIT | NO_SIGPIPE) })
}

/// `MSG_NOSIGNAL` where there is one; elsewhere `SIGPIPE` is blocked on
/// every engine thread and a pending one consumed ([`consume_sigpipe`]).
#[cfg(linux_calls)]
const NO_SIGPIPE: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(linux_calls))]
const NO_SIGPIPE: libc::c_int = 0;

/// Move up to `len` bytes from pipe `from` to pipe `to` inside the kernel,
/// without blocking on either pipe (`SPLICE_F_NONBLOCK`). `Ok(0)` is EOF;
/// `WouldBlock` does not say which side blocked.
#[cfg(linux_calls)]
pub(crate) fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
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
    cvt_size(moved)
}

/// No `splice(2)` here: `EINVAL`, which a pair's first splice takes as
/// "never", so it copies through its ring from then on.
#[cfg(not(linux_calls))]
pub(crate) fn splice(_from: RawFd, _to: RawFd, _len: usize) -> io::Result<usize> {
    Err(io::Error::from_raw_os_error(libc::EINVAL))
}

/// `poll(2)` over `fds` for at most `timeout` (zero: just probe); returns
/// how many have events. `EINTR` counts as none ready.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<usize> {
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    let len = libc::nfds_t::try_from(fds.len()).unwrap_or(libc::nfds_t::MAX);
    // SAFETY: `fds` is a valid, exclusively borrowed array of `pollfd` of
    // the length passed.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), len, ms) };
    if n == -1 {
        let err = last_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(err);
    }
    Ok(usize::try_from(n).unwrap_or(0))
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
pub(crate) fn spawn_masked<F>(name: &str, body: F) -> io::Result<()>
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

/// Register `handler` to run in the child after every `fork()`.
pub(crate) fn at_fork_child(handler: extern "C" fn()) -> io::Result<()> {
    // SAFETY: pthread_atfork only stores the function pointers (no prepare
    // or parent handler); `handler` is a plain `extern "C"` function.
    let rc = unsafe { libc::pthread_atfork(None, None, Some(handler)) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Whether `SIGPIPE` is ignored process-wide (`SIG_IGN`, as `CPython` sets it
/// at start-up): then a write to a broken pipe can only fail with `EPIPE`.
fn sigpipe_ignored() -> bool {
    let mut current = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: with a null new action, sigaction only writes the current one
    // into `current`, which is valid for writes of one `sigaction`.
    let rc = unsafe { libc::sigaction(libc::SIGPIPE, std::ptr::null(), current.as_mut_ptr()) };
    // SAFETY: zero-initialised, and filled by sigaction when it succeeded.
    rc == 0 && unsafe { current.assume_init() }.sa_sigaction == libc::SIG_IGN
}

/// Keeps `SIGPIPE` from killing the process through the calling thread
/// while alive. For writes made on a caller's thread (the inline path).
/// Where `SIGPIPE` is ignored (the `CPython` default) nothing needs doing: one
/// `sigaction` query instead of two mask changes. Otherwise `SIGPIPE` is
/// blocked in the thread until the guard drops, and every write or splice
/// that fails with `EPIPE` consumes the `SIGPIPE` it raised first. (A
/// disposition changed by another thread during the call is not seen.)
pub(crate) struct SigpipeBlocked {
    old: libc::sigset_t,
    was_blocked: bool,
}

impl SigpipeBlocked {
    /// Guard the calling thread against `SIGPIPE` until dropped.
    #[must_use]
    pub(crate) fn new() -> Self {
        if sigpipe_ignored() {
            return Self {
                old: sigpipe_set(),
                was_blocked: true,
            };
        }
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

/// Consume a `SIGPIPE` pending on the calling thread (after an `EPIPE`), so
/// it is not delivered if the thread ever unblocks it.
#[cfg(linux_calls)]
pub(crate) fn consume_sigpipe() {
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

/// Consume a `SIGPIPE` pending on the calling thread (after an `EPIPE`):
/// without `sigtimedwait`, ask `sigpending` first, so `sigwait` (which
/// blocks until one is pending) is called only when it returns at once.
#[cfg(not(linux_calls))]
pub(crate) fn consume_sigpipe() {
    let set = sigpipe_set();
    let mut pending = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `pending` is valid for writes; sigpending fills it on success.
    if unsafe { libc::sigpending(pending.as_mut_ptr()) } != 0 {
        return;
    }
    // SAFETY: sigpending succeeded, so `pending` is initialised.
    let pending = unsafe { pending.assume_init() };
    // SAFETY: `pending` is an initialised signal set.
    if unsafe { libc::sigismember(&raw const pending, libc::SIGPIPE) } == 1 {
        let mut taken = 0;
        // SAFETY: `set` is initialised and `taken` writable; SIGPIPE is
        // pending and blocked on this thread, so sigwait returns at once.
        unsafe {
            libc::sigwait(&raw const set, &raw mut taken);
        }
    }
}

// Spawning a child (Linux): clone(CLONE_VM | CLONE_VFORK), as posix_spawn does.

/// The failed step [`spawn_child`] reports: set-up (or the clone), chdir, exec.
#[cfg(linux_calls)]
pub(crate) const STEP_SETUP: libc::c_int = 1;
#[cfg(linux_calls)]
pub(crate) const STEP_CHDIR: libc::c_int = 2;
#[cfg(linux_calls)]
pub(crate) const STEP_EXEC: libc::c_int = 3;
/// The child's stack: it makes a few system calls and never returns.
#[cfg(linux_calls)]
const CHILD_STACK: usize = 64 * 1024;

#[cfg(linux_calls)]
extern "C" {
    static environ: *const *const libc::c_char;
}

/// Start `setup`'s program in a child and return its pid: a `clone` that
/// shares this process's memory until the child execs (this thread waits
/// meanwhile, as under `vfork`), with every signal blocked around it. What
/// the child does is `crate::spawn`'s module doc; `child_steps` does it.
///
/// # Errors
///
/// The step that failed (`STEP_*`), with its `errno`; the child is then
/// reaped.
#[cfg(linux_calls)]
pub(crate) fn spawn_child(setup: &mut ChildSetup) -> Result<libc::pid_t, (libc::c_int, io::Error)> {
    let mut stack = vec![0_u8; CHILD_STACK];
    // SAFETY: getpid cannot fail.
    setup.parent = unsafe { libc::getpid() };
    let mut all = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `all` is valid for writes; sigfillset initialises it.
    let all = unsafe {
        libc::sigfillset(all.as_mut_ptr());
        all.assume_init()
    };
    // SAFETY: both sets are valid; the old mask is saved in `setup.mask`
    // for the child to restore and for this thread below.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const all, setup.mask.as_mut_ptr());
    }
    // The stack grows down from its end, aligned to 16 bytes.
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK) & !15;
    // SAFETY: `child_main` never returns into this frame: it execs or
    // calls _exit. CLONE_VFORK suspends this thread until then, so `stack`
    // and every pointer in `setup` (kept alive by the caller) outlive the
    // child's use of them; the child writes only `setup`'s failure fields.
    let pid = unsafe {
        libc::clone(
            child_main,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            std::ptr::from_mut(setup).cast::<libc::c_void>(),
        )
    };
    let clone_error = last_error();
    // SAFETY: `setup.mask` holds the mask saved above.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, setup.mask.as_ptr(), std::ptr::null_mut());
    }
    drop(stack);
    if pid == -1 {
        return Err((STEP_SETUP, clone_error));
    }
    // SAFETY: the child has exec'd or exited (CLONE_VFORK); the fields are
    // plain integers it may have written through the shared memory.
    let (step, errno) = unsafe {
        (
            std::ptr::read_volatile(&raw const setup.failed_step),
            std::ptr::read_volatile(&raw const setup.failed_errno),
        )
    };
    if step == 0 {
        return Ok(pid);
    }
    let mut status = 0;
    // SAFETY: `pid` is our child, exited; reaping it here is its only wait.
    while unsafe { libc::waitpid(pid, &raw mut status, 0) } == -1
        && last_error().kind() == io::ErrorKind::Interrupted
    {}
    Err((step, io::Error::from_raw_os_error(errno)))
}

/// The child of [`spawn_child`]: only async-signal-safe calls, no
/// allocation, no return.
#[cfg(linux_calls)]
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildSetup` spawn_child passed, alive and not
    // touched by the suspended caller until this child execs or exits.
    let setup = unsafe { &mut *arg.cast::<ChildSetup>() };
    // SAFETY: see `child_steps`; on success it does not return.
    let step = unsafe { child_steps(setup) };
    // SAFETY: errno is this thread's (shared with the suspended caller,
    // which reads the copy made here).
    setup.failed_errno = unsafe { *libc::__errno_location() };
    setup.failed_step = step;
    // SAFETY: _exit ends the child without running anything of the parent's.
    unsafe { libc::_exit(127) }
}

/// The child's set-up then `execve`; returns the failed step.
///
/// # Safety
///
/// Only in the child of `spawn_child`, with every signal blocked.
#[cfg(linux_calls)]
unsafe fn child_steps(setup: &ChildSetup) -> libc::c_int {
    // SAFETY: each call below is async-signal-safe, allocates nothing and
    // is given pointers the caller keeps valid (see `ChildSetup`).
    unsafe {
        let mut action = MaybeUninit::<libc::sigaction>::zeroed().assume_init();
        for signum in 1..libc::SIGRTMAX() {
            if libc::sigaction(signum, std::ptr::null(), &raw mut action) != 0 {
                continue;
            }
            let caught =
                action.sa_sigaction != libc::SIG_DFL && action.sa_sigaction != libc::SIG_IGN;
            if caught || signum == libc::SIGPIPE || signum == libc::SIGXFSZ {
                action.sa_sigaction = libc::SIG_DFL;
                action.sa_flags = 0;
                libc::sigaction(signum, &raw const action, std::ptr::null_mut());
            }
        }
        if setup.new_group && libc::setpgid(0, 0) != 0 {
            return STEP_SETUP;
        }
        if setup.death_signal != 0 {
            let signal = libc::c_ulong::try_from(setup.death_signal).unwrap_or(0);
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal) != 0 {
                return STEP_SETUP;
            }
            if libc::getppid() != setup.parent {
                libc::_exit(128 + setup.death_signal); // the caller already died
            }
        }
        let mut fds = setup.fds;
        for fd in &mut fds {
            if *fd < 3 {
                // Moved above 2 first, so no dup2 below overwrites a source.
                *fd = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 3);
                if *fd < 0 {
                    return STEP_SETUP;
                }
            }
        }
        for (target, fd) in (0..).zip(fds) {
            if libc::dup2(fd, target) < 0 {
                return STEP_SETUP;
            }
        }
        if !setup.cwd.is_null() && libc::chdir(setup.cwd) != 0 {
            return STEP_CHDIR;
        }
        // Everything but 0-2; where close_range is missing (before Linux
        // 5.9) the descriptors are close-on-exec anyway.
        libc::syscall(libc::SYS_close_range, 3_u32, u32::MAX, 0_u32);
        libc::pthread_sigmask(libc::SIG_SETMASK, setup.mask.as_ptr(), std::ptr::null_mut());
        let envp = if setup.envp.is_null() {
            environ
        } else {
            setup.envp
        };
        libc::execve(setup.program, setup.argv, envp);
        STEP_EXEC
    }
}

/// `waitpid(pid, status, 0)`, retried on `EINTR`; the pid reaped, or -1.
#[cfg(all(test, linux_calls))]
pub(crate) fn wait_for(pid: libc::pid_t, status: &mut libc::c_int) -> libc::pid_t {
    loop {
        // SAFETY: `status` is valid for writes.
        let got = unsafe { libc::waitpid(pid, std::ptr::from_mut(status), 0) };
        if got != -1 || last_error().kind() != io::ErrorKind::Interrupted {
            return got;
        }
    }
}
