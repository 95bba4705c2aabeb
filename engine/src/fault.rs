//! Test-only fault injection: the cargo feature `fault-injection`, which
//! the development build (`make build`) turns on and a shipped wheel does
//! not carry.
//!
//! [`fail_next_pairs`] makes the reactor fail the next pairs it admits
//! with [`crate::EngineError::Internal`], exactly as it fails pairs when it
//! breaks (registered, then ended through the usual `finish`: deregistered,
//! flags restored, duplicates closed). Tests use it to prove that an engine
//! failure reaches every caller as an error and never as a count.

use std::sync::atomic::{AtomicUsize, Ordering};

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
