//! Helpers shared by the integration tests: real pipes, descriptor probes,
//! and a one-call pump on the global engine. The `unsafe` here is test
//! scaffolding (creating pipes, probing descriptors), each block justified.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use cuprum_engine::{BlockingWaiter, Handle, PairResult, PairSpec};

/// Failure guard for waits that should end much sooner.
pub const GUARD: Duration = Duration::from_secs(20);

/// A new pipe `(read end, write end)`, close-on-exec, blocking.
pub fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a writable array of two ints, as pipe2 requires.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 succeeded: both descriptors are open and owned by no one
    // else.
    unsafe {
        (
            File::from(OwnedFd::from_raw_fd(fds[0])),
            File::from(OwnedFd::from_raw_fd(fds[1])),
        )
    }
}

/// A new packet-mode pipe (`O_DIRECT`): each write is a packet, and each
/// read returns at most one.
pub fn packet_pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a writable array of two ints, as pipe2 requires.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_DIRECT) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 succeeded: both descriptors are open and owned by no one
    // else.
    unsafe {
        (
            File::from(OwnedFd::from_raw_fd(fds[0])),
            File::from(OwnedFd::from_raw_fd(fds[1])),
        )
    }
}

/// True while `fd` is an open descriptor of this process.
pub fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD takes no argument and only inspects the descriptor.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// `O_NONBLOCK` of `fd`'s open file description.
pub fn nonblocking(fd: &impl AsRawFd) -> bool {
    cuprum_engine::is_nonblocking(fd.as_raw_fd()).expect("F_GETFL")
}

/// Set or clear `O_NONBLOCK` on `fd`.
pub fn set_nonblocking(fd: &impl AsRawFd, on: bool) {
    let fd = fd.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL take integers; `fd` is open (borrowed).
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        assert!(flags != -1);
        let flags = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        assert_eq!(libc::fcntl(fd, libc::F_SETFL, flags), 0);
    }
}

/// Raise the soft `RLIMIT_NOFILE` to at least `want` (up to the hard
/// limit).
pub fn raise_nofile(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a writable rlimit struct.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) };
    assert_eq!(rc, 0);
    if lim.rlim_cur < want {
        lim.rlim_cur = want.min(lim.rlim_max);
        // SAFETY: `lim` is an initialised rlimit struct.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const lim) };
        assert_eq!(rc, 0);
    }
}

/// Deterministic test bytes.
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// A spec with the default 64 KiB ring.
pub fn spec(reader: &impl AsRawFd, writer: &impl AsRawFd) -> PairSpec {
    PairSpec {
        reader: reader.as_raw_fd(),
        writer: writer.as_raw_fd(),
        buffer_size: 65536,
        drain_timeout: None,
    }
}

/// Pump a batch on the global engine and wait for every result.
pub fn pump_all(pairs: Vec<PairSpec>) -> Vec<PairResult> {
    let waiter = BlockingWaiter::new(pairs.len());
    let handle = Handle::global().expect("engine");
    let _batch = handle.submit(pairs, Arc::clone(&waiter) as _);
    assert!(waiter.wait_all_timeout(GUARD), "batch did not finish");
    waiter.take_results()
}

/// Pump one pair on the global engine.
pub fn pump(spec: PairSpec) -> PairResult {
    pump_all(vec![spec]).pop().expect("one result")
}

/// Spawn a thread writing `data` to `w`, then closing it; joins to the
/// number of bytes written before an error (e.g. EPIPE).
pub fn produce(mut w: File, data: Vec<u8>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut done = 0;
        for chunk in data.chunks(16 * 1024) {
            if w.write_all(chunk).is_err() {
                break;
            }
            done += chunk.len();
        }
        done
    })
}

/// Spawn a thread reading `r` to EOF.
pub fn consume(mut r: File) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        r.read_to_end(&mut out).expect("read");
        out
    })
}

/// A pseudo-terminal `(master, slave)` with the slave in raw mode.
pub fn pty() -> (File, File) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: the two out-pointers are writable ints; the optional name,
    // termios and winsize arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &raw mut master,
            &raw mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty succeeded: both descriptors are open and ours alone.
    let (master, slave) = unsafe {
        (
            File::from(OwnedFd::from_raw_fd(master)),
            File::from(OwnedFd::from_raw_fd(slave)),
        )
    };
    let mut tio = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: `tio` is writable termios storage; tcgetattr fills it on
    // success, after which cfmakeraw and tcsetattr read a valid struct.
    unsafe {
        assert_eq!(libc::tcgetattr(slave.as_raw_fd(), tio.as_mut_ptr()), 0);
        let mut tio = tio.assume_init();
        libc::cfmakeraw(&raw mut tio);
        assert_eq!(
            libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &raw const tio),
            0
        );
    }
    (master, slave)
}

/// This process's descriptors whose `/proc/self/fd` link reads `target`
/// (`anon_inode:[eventpoll]`, `pipe:[1234]`, ...).
pub fn fds_naming(target: &str) -> Vec<RawFd> {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let link = std::fs::read_link(entry.path()).ok()?;
            let fd: RawFd = entry.file_name().to_str()?.parse().ok()?;
            (link.to_str()? == target).then_some(fd)
        })
        .collect()
}
