//! How each pair's end reaches whoever waits for it: the [`Completion`]
//! trait, and its sinks for blocking callers ([`BlockingWaiter`], all at
//! the end; [`CompletionQueue`], each as it comes). The asyncio sink is
//! `doorbell::Doorbell`'s.
//!
//! # Invariants
//!
//! - `complete` is called exactly once per pair, from whichever thread
//!   ended it (the reactor, a blocking-path thread, or the submitting
//!   thread for a pair that failed at submit); it never blocks for long
//!   and never touches Python. From the moment a pair is handed to the
//!   reactor or its blocking thread, a [`Report`] carries what it owes: a
//!   panic that drops the pair unreported still reports it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::errors::EngineError;
use crate::transfer::pair::PairResult;

/// Receives each pair's end.
pub trait Completion: Send + Sync + 'static {
    /// Called exactly once per pair, from the reactor thread (or the pair's
    /// blocking-path thread, or the submitting thread for pairs that fail
    /// validation at submit). Must be cheap and never block for long; never
    /// touches Python.
    fn complete(&self, index: usize, result: PairResult);
}

/// One pair's report, owed to its [`Completion`] (behaviour 3.10): `send`
/// delivers it; a `Report` dropped unsent (engine code panicked while it
/// held the pair, or dropped it by mistake) delivers
/// [`EngineError::Internal`] instead, so the waiter never waits for ever.
/// A panicking `complete` is contained (it must not take the engine down).
pub(crate) struct Report {
    completion: Arc<dyn Completion>,
    index: usize,
    sent: bool,
}

impl Report {
    /// The report of pair `index`, owed to `completion`.
    pub(crate) fn new(completion: &Arc<dyn Completion>, index: usize) -> Self {
        Self {
            completion: Arc::clone(completion),
            index,
            sent: false,
        }
    }

    /// Deliver how the pair ended.
    pub(crate) fn send(mut self, result: PairResult) {
        self.sent = true;
        let (completion, index) = (&self.completion, self.index);
        let _ = catch_unwind(AssertUnwindSafe(|| completion.complete(index, result)));
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        if !self.sent {
            let lost = EngineError::Internal(
                "the engine lost this pair before reporting it (a bug: please report it)".into(),
            );
            let (completion, index) = (&self.completion, self.index);
            let _ = catch_unwind(AssertUnwindSafe(|| completion.complete(index, Err(lost))));
        }
    }
}

/// A ready-made [`Completion`] for blocking callers (a mutex and a
/// condition variable).
pub struct BlockingWaiter {
    state: Mutex<WaiterState>,
    done: Condvar,
}

struct WaiterState {
    results: Vec<Option<PairResult>>,
    remaining: usize,
}

impl BlockingWaiter {
    /// A waiter for `n` pairs.
    #[must_use]
    pub fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(WaiterState {
                results: (0..n).map(|_| None).collect(),
                remaining: n,
            }),
            done: Condvar::new(),
        })
    }

    /// Wait up to `timeout` for all pairs; returns true when every pair has
    /// completed.
    pub fn wait_all_timeout(&self, timeout: Duration) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (state, _) = self
            .done
            .wait_timeout_while(state, timeout, |s| s.remaining > 0)
            .unwrap_or_else(PoisonError::into_inner);
        state.remaining == 0
    }

    /// Pairs not completed yet.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remaining
    }

    /// Results in pair order (call after [`Self::wait_all_timeout`] returned
    /// true; a pair not completed yet reads as `Internal`). Taking leaves
    /// the same `Internal` placeholder behind.
    pub fn take_results(&self) -> Vec<PairResult> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state
            .results
            .iter_mut()
            .map(|r| {
                r.take()
                    .unwrap_or_else(|| Err(EngineError::Internal("pair result missing".into())))
            })
            .collect()
    }
}

impl Completion for BlockingWaiter {
    fn complete(&self, index: usize, result: PairResult) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = state.results.get_mut(index) {
            if slot.is_none() {
                *slot = Some(result);
                state.remaining -= 1;
                if state.remaining == 0 {
                    self.done.notify_all();
                }
            }
        }
    }
}

/// A [`Completion`] that hands each pair's end to a waiting caller as soon
/// as it happens (behaviour section 4, rule 4): the caller takes whatever has
/// completed since it last looked, in completion order.
pub struct CompletionQueue {
    state: Mutex<QueueState>,
    arrived: Condvar,
}

struct QueueState {
    completed: Vec<(usize, PairResult)>,
    outstanding: usize,
}

impl CompletionQueue {
    /// A queue for `n` pairs.
    #[must_use]
    pub fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(QueueState {
                completed: Vec::new(),
                outstanding: n,
            }),
            arrived: Condvar::new(),
        })
    }

    /// Wait up to `timeout` until at least one completion is waiting (or
    /// none can come any more), then take every waiting completion.
    pub fn wait_timeout(&self, timeout: Duration) -> Vec<(usize, PairResult)> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut state, _) = self
            .arrived
            .wait_timeout_while(state, timeout, |s| {
                s.completed.is_empty() && s.outstanding > 0
            })
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut state.completed)
    }

    /// Pairs whose completion has not arrived yet.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .outstanding
    }
}

impl Completion for CompletionQueue {
    fn complete(&self, index: usize, result: PairResult) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.outstanding = state.outstanding.saturating_sub(1);
        state.completed.push((index, result));
        self.arrived.notify_all();
    }
}
