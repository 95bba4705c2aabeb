//! Test-only fault injection: the cargo feature `fault-injection`, which
//! the development build (`make build`) turns on and a shipped wheel does
//! not carry.
//!
//! - [`fail_next_pairs`] makes the reactor fail the next pairs it admits
//!   with [`crate::EngineError::Internal`], exactly as it fails pairs when
//!   it breaks (registered, then ended through the usual `finish`:
//!   deregistered, flags restored, duplicates closed). Tests use it to
//!   prove that an engine failure reaches every caller as an error and
//!   never as a count.
//! - [`hang_next_blocking_pairs`] makes the next pairs of the blocking path
//!   stop after their first step, as a write to a stopped terminal does,
//!   until [`release_hung_pairs`]: they see no cancel meanwhile. Tests use
//!   it to prove that a caller is never held hostage by such a pair.

use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Blocking-path pairs still to hang.
static HANG: AtomicUsize = AtomicUsize::new(0);
/// Bumped by each release; a hung pair waits for it to change.
static RELEASES: Mutex<u64> = Mutex::new(0);
static RELEASED: Condvar = Condvar::new();

/// Make the next `count` blocking-path pairs hang after their first step.
pub fn hang_next_blocking_pairs(count: usize) {
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
    drop(
        RELEASED
            .wait_while(releases, |now| *now == start)
            .unwrap_or_else(PoisonError::into_inner),
    );
}
