//! Test-only fault injection: the cargo feature `fault-injection`, which
//! the development build (`make build`) turns on and a shipped wheel does
//! not carry.
//!
//! - [`fail_next_pairs`] makes the reactor fail the next pairs it admits
//!   with [`crate::EngineError::Internal`], exactly as it fails pairs when
//!   it breaks (registered, then ended through the usual `retire`:
//!   deregistered, flags restored, duplicates closed). Tests use it to
//!   prove that an engine failure reaches every caller as an error and
//!   never as a count.
//! - [`hang_next_blocking_pairs`] makes the next pairs of the blocking path
//!   stop after their first step, as a write to a stopped terminal does,
//!   until [`release_hung_pairs`]: they see no cancel meanwhile. Each says
//!   `hung` on a descriptor of the test's choosing as it stops, so a test
//!   acts only once the pair really is stuck, and `cancelled` there when a
//!   caller cancels a batch while a pair is hung ([`note_cancel`]), so a
//!   test knows the caller is in its wait for the engine to let go. Tests
//!   use it to prove that a caller is never held hostage by such a pair.
//! - [`steal_next_reads`] makes the next reads of the blocking path that
//!   find something to read let a thief take it first, as a second reader
//!   of the same terminal or pipe can between the engine's `poll` and its
//!   read, each saying `stolen` on a descriptor of the test's choosing.
//!   Tests use it to prove that such a read never blocks past a cancel.
//! - [`panic_next_blocking_pairs`] makes the next pairs of the blocking
//!   path panic on their thread before they start, as an engine bug would:
//!   tests use it to prove that every pair still completes exactly once.

use std::io::IoSlice;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

/// Pairs still to fail.
static PENDING: AtomicUsize = AtomicUsize::new(0);

/// Make the reactor fail the next `count` pairs it admits (0 disarms).
pub fn fail_next_pairs(count: usize) {
    PENDING.store(count, Ordering::SeqCst);
}

/// Take one pending failure, if one is armed.
pub(crate) fn take() -> bool {
    PENDING
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// Hand-overs from the inline path still to fail, and where each says so.
static OWN_FAILURES: AtomicUsize = AtomicUsize::new(0);
static OWN_NOTICE: AtomicI32 = AtomicI32::new(-1);

/// Make the next `count` hand-overs from the inline path fail as if out of
/// descriptors (`EMFILE`), each writing `own failed\n` to `notice` (when
/// it is not negative) as it does.
pub fn fail_next_own(count: usize, notice: RawFd) {
    OWN_NOTICE.store(notice, Ordering::SeqCst);
    OWN_FAILURES.store(count, Ordering::SeqCst);
}

/// Take one armed hand-over failure, if any (true: fail this one).
pub(crate) fn take_own_failure() -> bool {
    let armed = OWN_FAILURES
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let notice = OWN_NOTICE.load(Ordering::SeqCst);
    if armed && notice >= 0 {
        let _ = crate::sys::writev(notice, &[IoSlice::new(b"own failed\n")]);
    }
    armed
}

/// Blocking-path reads still to be robbed, and where each says so.
static STEALS: AtomicUsize = AtomicUsize::new(0);
static STEAL_NOTICE: AtomicI32 = AtomicI32::new(-1);

/// Make the next `count` blocking-path reads that find `fd` readable lose
/// what is there to a thief first, each writing `stolen\n` to `notice`
/// (when it is not negative).
pub fn steal_next_reads(count: usize, notice: RawFd) {
    STEAL_NOTICE.store(notice, Ordering::SeqCst);
    STEALS.store(count, Ordering::SeqCst);
}

/// Called by a blocking-path read just before it reads `fd`: if armed and
/// something is there, take it all.
pub(crate) fn maybe_steal(fd: RawFd) {
    let readable = || crate::fd::kind::ready_now(fd, libc::POLLIN).unwrap_or(false);
    if STEALS.load(Ordering::SeqCst) == 0 || !readable() {
        return;
    }
    if STEALS
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_err()
    {
        return;
    }
    let mut scratch = [0u8; 4096];
    while readable() {
        match crate::sys::readv(fd, &mut [std::io::IoSliceMut::new(&mut scratch)]) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    let notice = STEAL_NOTICE.load(Ordering::SeqCst);
    if notice >= 0 {
        let _ = crate::sys::writev(notice, &[IoSlice::new(b"stolen\n")]);
    }
}

/// Blocking-path pairs still to panic.
static PANIC: AtomicUsize = AtomicUsize::new(0);

/// Make the next `count` blocking-path pairs panic on their thread.
pub fn panic_next_blocking_pairs(count: usize) {
    PANIC.store(count, Ordering::SeqCst);
}

/// Called by a blocking-path pair's thread as it starts: panic if armed.
pub(crate) fn maybe_panic() {
    let armed = PANIC
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    assert!(!armed, "injected panic (fault-injection feature)");
}

/// Blocking-path pairs still to hang.
static HANG: AtomicUsize = AtomicUsize::new(0);
/// Where a pair says `hung\n` as it stops (-1: nowhere).
static HUNG_NOTICE: AtomicI32 = AtomicI32::new(-1);
/// Pairs hung right now.
static HUNG_NOW: AtomicUsize = AtomicUsize::new(0);
/// Bumped by each release; a hung pair waits for it to change.
static RELEASES: Mutex<u64> = Mutex::new(0);
static RELEASED: Condvar = Condvar::new();

/// Make the next `count` blocking-path pairs hang after their first step,
/// each writing `hung\n` to `notice` (when it is not negative) as it does.
pub fn hang_next_blocking_pairs(count: usize, notice: RawFd) {
    HUNG_NOTICE.store(notice, Ordering::SeqCst);
    HANG.store(count, Ordering::SeqCst);
}

/// Let every hung pair go on.
pub fn release_hung_pairs() {
    *RELEASES.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    RELEASED.notify_all();
}

/// Called by a blocking-path pair after each step: hang here if armed.
pub(crate) fn maybe_hang() {
    if HANG
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_err()
    {
        return;
    }
    let releases = RELEASES.lock().unwrap_or_else(PoisonError::into_inner);
    let start = *releases;
    let notice = HUNG_NOTICE.load(Ordering::SeqCst);
    HUNG_NOW.fetch_add(1, Ordering::SeqCst);
    if notice >= 0 {
        let _ = crate::sys::writev(notice, &[IoSlice::new(b"hung\n")]);
    }
    drop(
        RELEASED
            .wait_while(releases, |now| *now == start)
            .unwrap_or_else(PoisonError::into_inner),
    );
    HUNG_NOW.fetch_sub(1, Ordering::SeqCst);
}

/// Called when a caller cancels a batch: say `cancelled` if a pair is hung.
pub(crate) fn note_cancel() {
    let notice = HUNG_NOTICE.load(Ordering::SeqCst);
    if notice >= 0 && HUNG_NOW.load(Ordering::SeqCst) > 0 {
        let _ = crate::sys::writev(notice, &[IoSlice::new(b"cancelled\n")]);
    }
}
