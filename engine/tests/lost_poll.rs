//! A reactor whose poll is lost (its number closed or replaced under it by
//! a program bug elsewhere, as a `closerange` or a `dup2` does) touches
//! nothing it cannot prove it still owns as it stops: a number it held
//! that now names someone else's file is neither closed nor switched. Its
//! own test binary: it breaks the process-wide engine on purpose.

mod common;

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Instant;

use common::{fds_naming, nonblocking, pipe, pump, set_nonblocking, spec, GUARD};
use cuprum_engine::{BlockingWaiter, Handle};

fn target_of(fd: RawFd) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Point descriptor number `at` at `file` (closing what it named).
fn dup2(file: &impl AsRawFd, at: RawFd) {
    // SAFETY: dup2 takes two integers; replacing a number the engine holds
    // is the program bug this test simulates.
    assert_eq!(unsafe { libc::dup2(file.as_raw_fd(), at) }, at);
}

#[test]
fn a_lost_poll_leaves_numbers_now_naming_others_alone() {
    let (src_r, src_w) = pipe(); // open writer: the pair waits in the reactor
    let (_out_r, out_w) = pipe();
    let waiter = BlockingWaiter::new(1);
    let _batch = Handle::global()
        .expect("engine")
        .submit(vec![spec(&src_r, &out_w)], Arc::clone(&waiter) as _);
    let deadline = Instant::now() + GUARD;
    while !nonblocking(&src_r) {
        assert!(
            Instant::now() < deadline,
            "the pair never reached the reactor"
        );
        std::thread::yield_now();
    }
    // The engine's duplicate of the source: the other number naming it.
    // (A pipe's two ends read alike in /proc: the test's own are left out.)
    let engine_dup = fds_naming(&target_of(src_r.as_raw_fd()))
        .into_iter()
        .find(|&fd| fd != src_r.as_raw_fd() && fd != src_w.as_raw_fd())
        .expect("the engine holds a duplicate");
    // Someone closes it and its number is reused for a file of theirs...
    let (victim_r, _victim_w) = pipe();
    set_nonblocking(&victim_r, true);
    dup2(&victim_r, engine_dup);
    let victim = target_of(engine_dup);
    // ...and the engine's epoll goes the same way.
    let null = File::open("/dev/null").unwrap();
    for fd in fds_naming("anon_inode:[eventpoll]") {
        dup2(&null, fd);
    }
    // The next call makes the reactor notice (and fail) and stop; the
    // waiting pair is failed too.
    let (a_r, mut a_w) = pipe();
    let (_b_r, b_w) = pipe();
    a_w.write_all(b"x").unwrap();
    drop(a_w);
    let _ = pump(spec(&a_r, &b_w));
    assert!(
        waiter.wait_all_timeout(GUARD),
        "the stopped reactor failed it"
    );
    assert_eq!(target_of(engine_dup), victim, "the number was closed");
    let reused = victim_r.try_clone().unwrap();
    assert!(nonblocking(&reused), "the victim's flags were changed");
    drop(reused);
    // SAFETY: the number is the test's own now (the victim's duplicate).
    unsafe { libc::close(engine_dup) };
}
