//! Whether and when pairs splice: the process-wide switch (on unless
//! `CUPRUM_SPLICE=0`; tests and benchmarks turn it off to force the ring's
//! copy path) and each pair's window, which gives splicing up once its
//! splices are small.
//!
//! A splice moves what the source pipe holds when the reactor gets to it.
//! Behind a producer that writes small pieces (8 KiB from `head -c`), that
//! is a piece or two, and every splice hands them on to the consumer at
//! once: a wake-up downstream per piece. The ring path reads until the
//! source is empty and writes what it gathered in one call, so the
//! consumer wakes far less often; behind large writes (`dd`'s 64 KiB)
//! splicing stays ahead. The measurements are in `docs/benchmarks.md` and
//! the design's decision bu.

use std::sync::atomic::{AtomicU8, Ordering};

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
    if !cfg!(linux_calls) {
        return false; // no splice(2) on this platform (see `sys`)
    }
    match SPLICE.load(Ordering::Relaxed) {
        SPLICE_ON => true,
        SPLICE_OFF => false,
        _ => {
            let enabled = std::env::var_os("CUPRUM_SPLICE").is_none_or(|v| v != "0");
            set_splice_enabled(enabled);
            enabled
        }
    }
}

/// Splices per window; the average over one window decides.
const WINDOW: u32 = 256;

/// A pipe's default capacity. No splice moves more than its source pipe
/// holds, so a ring larger than this is judged as if it were this large
/// (otherwise a `buffer_size` of 1 MiB would stop every pair splicing).
const PIPE_DEFAULT: usize = 64 * 1024;

/// The bytes moved by the splices of the current window.
#[derive(Debug, Default)]
pub(crate) struct SpliceWindow {
    splices: u32,
    bytes: u64,
}

impl SpliceWindow {
    /// Count one splice that moved `moved` bytes; `true` when the window it
    /// closes averaged under 3/8 of a ring of `capacity` bytes (24 KiB of
    /// the default 64 KiB; a larger ring counts as 64 KiB), so the pair
    /// should copy from now on.
    pub(crate) fn small_after(&mut self, moved: usize, capacity: usize) -> bool {
        self.splices += 1;
        self.bytes = self.bytes.saturating_add(moved as u64);
        if self.splices < WINDOW {
            return false;
        }
        let average = self.bytes / u64::from(WINDOW);
        *self = Self::default();
        average < capacity.min(PIPE_DEFAULT) as u64 * 3 / 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_of_small_splices_says_copy() {
        let mut window = SpliceWindow::default();
        let said: Vec<bool> = (0..WINDOW)
            .map(|_| window.small_after(1000, 4096))
            .collect();
        assert_eq!(said.iter().filter(|&&s| s).count(), 1);
        assert!(said[said.len() - 1], "decided when the window closes");
    }

    #[test]
    fn a_ring_larger_than_a_pipe_is_judged_as_a_pipe_full() {
        // 30 KB splices out of 64 KiB pipes are large, even for a 1 MiB ring.
        let mut window = SpliceWindow::default();
        assert!(!(0..WINDOW).any(|_| window.small_after(30_000, 1 << 20)));
        assert!((0..WINDOW).any(|_| window.small_after(20_000, 1 << 20)));
    }

    #[test]
    fn a_window_of_large_splices_says_splice_and_starts_again() {
        let mut window = SpliceWindow::default();
        for _ in 0..WINDOW * 3 {
            assert!(!window.small_after(2000, 4096));
        }
        // The next window is judged on its own.
        let small = (0..WINDOW).any(|_| window.small_after(10, 4096));
        assert!(small);
    }
}
