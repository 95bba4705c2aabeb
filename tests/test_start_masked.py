"""`cuprum._pumps.threads.start_masked`: the Python backend's threads' signal mask.

Asynchronous signals are blocked in a library thread from birth (Ctrl-C
goes to the application's threads); synchronous faults are not, as in the
Rust twin ``spawn_masked`` (``engine/src/fd.rs``): a fault raised by the
thread itself must kill the process, not leave it hung.
"""

from __future__ import annotations

import signal
import threading

import pytest

from cuprum._pumps.threads import start_masked

FAULTS = [
    signal.SIGSEGV,
    signal.SIGBUS,
    signal.SIGFPE,
    signal.SIGILL,
    signal.SIGTRAP,
    signal.SIGSYS,
]
ASYNCHRONOUS = [signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGHUP]


def mask_of_a_masked_thread() -> set[int]:
    seen: list[set[int]] = []

    def report() -> None:
        seen.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))

    thread = threading.Thread(target=report)
    start_masked(thread)
    thread.join()
    (mask,) = seen
    return mask


@pytest.mark.parametrize("fault", FAULTS, ids=lambda s: s.name)
def test_synchronous_faults_stay_unblocked(fault: signal.Signals) -> None:
    assert fault not in mask_of_a_masked_thread()


@pytest.mark.parametrize("sig", ASYNCHRONOUS, ids=lambda s: s.name)
def test_asynchronous_signals_are_blocked(sig: signal.Signals) -> None:
    assert sig in mask_of_a_masked_thread()


def test_the_callers_mask_is_put_back() -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    mask_of_a_masked_thread()
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
