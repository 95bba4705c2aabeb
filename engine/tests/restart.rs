//! A reactor whose own epoll descriptor is replaced under it (a program bug
//! elsewhere: a `dup2` onto a number the engine owns) stops with a clear
//! error, and the next caller gets a new one. Its own test binary: it breaks
//! the process-wide engine on purpose.

mod common;

use std::io::Write;
use std::os::fd::RawFd;

use common::{pipe, pump, spec};
use cuprum_engine::EngineError;

/// The descriptors of this process that are epoll instances.
fn epoll_fds() -> Vec<RawFd> {
    common::fds_naming("anon_inode:[eventpoll]")
}

/// One small transfer through the global engine.
fn transfer() -> Result<u64, EngineError> {
    let (src_r, mut src_w) = pipe();
    let (dst_r, dst_w) = pipe();
    src_w.write_all(b"ping").expect("write");
    drop(src_w);
    let result = pump(spec(&src_r, &dst_w));
    drop(dst_r);
    result
}

#[test]
fn a_broken_reactor_is_replaced_on_the_next_call() {
    assert_eq!(transfer().expect("engine works"), 4);
    let before = epoll_fds();
    assert!(!before.is_empty(), "the reactor owns an epoll instance");
    let null = std::fs::File::open("/dev/null").expect("/dev/null");
    for fd in &before {
        // SAFETY: dup2 takes two integers; replacing the engine's epoll
        // descriptor with /dev/null is the program bug this test simulates
        // (the number stays open, so the engine's own close stays valid).
        unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), *fd) };
    }
    // The next calls may fail (the reactor notices its poll is gone) with an
    // error that says what happened; within a few calls a new reactor serves.
    let mut errors = Vec::new();
    let mut recovered = false;
    for _ in 0..5 {
        match transfer() {
            Ok(4) => {
                recovered = true;
                break;
            }
            Ok(n) => panic!("moved {n} bytes, not 4"),
            Err(err) => errors.push(err.to_string()),
        }
    }
    assert!(recovered, "no new reactor after: {errors:?}");
    for error in &errors {
        assert!(error.contains("reactor stopped"), "unclear error: {error}");
    }
}
