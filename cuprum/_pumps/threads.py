"""Signal discipline for the threads cuprum starts and the writes it makes.

Owns `start_masked` (start a thread with every asynchronous signal blocked)
and `sigpipe_blocked` (block ``SIGPIPE`` around writes in this thread).

Invariants: a thread cuprum starts never takes a process-directed signal
(Ctrl-C reaches an application thread), but synchronous faults stay
unblocked in it; the caller's own mask is what it was once either call
returns; a ``SIGPIPE`` raised while blocked is consumed, never delivered
later. This module imports no other part of cuprum.
"""

from __future__ import annotations

import contextlib
import signal
import typing as typ

if typ.TYPE_CHECKING:
    import collections.abc as cabc
    import threading

_SYNCHRONOUS_FAULTS: typ.Final = frozenset(
    {
        signal.SIGSEGV,
        signal.SIGBUS,
        signal.SIGFPE,
        signal.SIGILL,
        signal.SIGTRAP,
        signal.SIGSYS,
    }
)
"""Signals a thread raises on itself; never blocked (as ``spawn_masked``)."""


def start_masked(thread: threading.Thread) -> None:
    """Start ``thread`` with every asynchronous signal blocked from birth.

    A process-directed signal (Ctrl-C) may go to any thread that does not
    block it; one taken by a library thread would only be noted for the main
    thread, which may sleep in its event loop without waking. Blocking them
    around the start makes the new thread inherit the mask; the caller's own
    mask is put back at once (a signal arriving meanwhile stays pending for
    it). Synchronous faults (``SIGSEGV``, ``SIGBUS``, ``SIGFPE``, ``SIGILL``,
    ``SIGTRAP``, ``SIGSYS``) stay unblocked, as in the engine's
    ``spawn_masked``: blocked, a fault the thread raised would be undefined
    behaviour instead of a crash.
    """
    old = signal.pthread_sigmask(
        signal.SIG_BLOCK, signal.valid_signals() - _SYNCHRONOUS_FAULTS
    )
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def sigpipe_blocked() -> cabc.Iterator[None]:
    """Block ``SIGPIPE`` in this thread, consuming one raised meanwhile."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPIPE})
    try:
        yield
    finally:
        if signal.SIGPIPE not in old:
            while signal.SIGPIPE in signal.sigpending():
                signal.sigtimedwait({signal.SIGPIPE}, 0)
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
