//! A handle used after `fork()` in a child that cannot start an engine of
//! its own: every pair fails with a clear error, and the batch still has
//! one progress entry per pair (as every batch does), so callers that read
//! progress per pair never see a short list. Its own test binary: it forks.

mod common;

use std::sync::Arc;

use common::{pipe, spec};
use cuprum_engine::{BlockingWaiter, EngineError, Handle};

/// What the child checks; its exit code is the number of failed checks.
fn child_checks(handle: &Handle) -> i32 {
    let (a_r, _a_w) = pipe();
    let (_b_r, b_w) = pipe();
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a writable rlimit struct; then an initialised one.
    // With no descriptor left to open, the child cannot make a poll.
    let mut failed = unsafe {
        let got = libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit);
        limit.rlim_cur = 0;
        i32::from(got != 0 || libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) != 0)
    };
    let waiter = BlockingWaiter::new(2);
    let batch = handle.submit(
        vec![spec(&a_r, &b_w), spec(&a_r, &b_w)],
        Arc::clone(&waiter) as _,
    );
    failed += i32::from(batch.progress().len() != 2);
    failed += i32::from(!waiter.wait_all_timeout(common::GUARD));
    for result in waiter.take_results() {
        failed += i32::from(!matches!(result, Err(EngineError::Internal(_))));
    }
    failed
}

#[test]
fn a_child_without_an_engine_fails_its_pairs_with_a_full_progress_list() {
    let handle = Handle::global().expect("the parent's engine");
    // SAFETY: the child only submits (allocation, the engine's lock-free
    // globals), is ended by SIGALRM should it hang, and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: alarm takes an integer; `_exit` ends the child at once.
        unsafe {
            libc::alarm(20);
            libc::_exit(child_checks(handle));
        }
    }
    let mut status = 0;
    // SAFETY: `status` is a writable int; `pid` is our own child.
    let rc = unsafe { libc::waitpid(pid, &raw mut status, 0) };
    assert_eq!(rc, pid, "waitpid");
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "checks failed in the child");
}
