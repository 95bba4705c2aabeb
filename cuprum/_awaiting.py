"""What the awaitable pump calls of both backends share.

Owns `AwaitedResults` (an awaited batch's results and callbacks on its
event loop), `ProgressTicker` (periodic progress reports on the loop) and
`settled` (wait for a batch to let go, whatever else is cancelled).

Invariants: everything here runs on the batch's event loop; each pair's end
is recorded once; once a batch is abandoned (a callback raised or the task
was cancelled) no callback is made; an awaiting task never returns before
the batch has let go of its descriptors. This module imports no other part
of cuprum but `cuprum._options`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import typing as typ

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._options import PairCallback, PairResult, ProgressCallback


class AwaitedResults:
    """An awaited batch's results and callbacks, on its event loop.

    Shared by both backends: each pair's end is recorded once and handed to
    ``on_pair_done``; the first exception from a callback is kept (the
    awaiting task raises it) and abandons the batch; once the batch is
    abandoned (that, or the task cancelled), no callback is made.
    """

    def __init__(
        self,
        count: int,
        on_pair_done: PairCallback | None,
        abandon: cabc.Callable[[], None],
    ) -> None:
        self.results: list[PairResult | None] = [None] * count
        self.error: Exception | None = None
        self.abandoned = False
        self._on_pair_done = on_pair_done
        self._abandon = abandon

    def record(self, index: int, result: PairResult) -> None:
        """Record pair ``index``'s end and call back, unless abandoned."""
        self.results[index] = result
        if self._on_pair_done is None or self.abandoned:
            return
        try:
            self._on_pair_done(index, result)
        except Exception as error:  # noqa: BLE001 - raised by the awaiting task
            self.fail(error)

    def fail(self, error: Exception) -> None:
        """Keep the first callback error and abandon the batch."""
        if self.error is None:
            self.error = error
        self.abandon()

    def abandon(self) -> None:
        """Stop the batch's pairs (once); no callback is made after."""
        if not self.abandoned:
            self.abandoned = True
            self._abandon()

    def final(self) -> list[PairResult]:
        """Return every pair's result, or raise the callback error."""
        if self.error is not None:
            raise self.error
        return typ.cast("list[PairResult]", self.results)


SIGNAL_WAKE_INTERVAL: typ.Final = 0.05
"""Seconds between two wake-ups of a main-thread loop awaiting a batch."""


class ProgressTicker:
    """Report an awaited batch's progress on its event loop, periodically.

    On the main thread it also wakes the loop every `SIGNAL_WAKE_INTERVAL`
    while the batch runs, reporting or not. A Ctrl-C that lands just before
    the loop blocks in ``select`` only sets CPython's "signal pending" flag,
    and without a wake-up descriptor (``asyncio.run`` sets none for its own
    SIGINT handler) the loop would sleep on with the handler never run;
    the periodic wake-up bounds that to 50 ms.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_progress: ProgressCallback | None,
        interval: float,
    ) -> None:
        self._loop = loop
        self._on_progress = on_progress
        self._interval = interval
        self._handle: asyncio.TimerHandle | None = None
        self._wake: asyncio.TimerHandle | None = None
        self._read: cabc.Callable[[], list[int]] = list
        self._outcome: AwaitedResults | None = None

    def start(
        self, read: cabc.Callable[[], list[int]], outcome: AwaitedResults
    ) -> None:
        """Call ``on_progress(read())`` every interval until `stop`.

        No report is made once ``outcome`` is abandoned (a callback raised,
        or the task was cancelled). An exception from ``on_progress`` stops
        the reports and abandons the batch (``outcome.fail``); the loop's
        wake-ups go on until `stop`, while the batch settles.
        """
        if self._on_progress is not None:
            self._read = read
            self._outcome = outcome
            self._handle = self._loop.call_later(self._interval, self._tick)
        if threading.current_thread() is threading.main_thread():
            self._wake = self._loop.call_later(SIGNAL_WAKE_INTERVAL, self._wake_up)

    def _wake_up(self) -> None:
        """Nothing to do but return to Python, where pending signals run."""
        self._wake = self._loop.call_later(SIGNAL_WAKE_INTERVAL, self._wake_up)

    def _tick(self) -> None:
        outcome = typ.cast("AwaitedResults", self._outcome)
        if outcome.abandoned:
            self._handle = None
            return
        self._handle = self._loop.call_later(self._interval, self._tick)
        try:
            typ.cast("ProgressCallback", self._on_progress)(self._read())
        except Exception as error:  # noqa: BLE001 - handed to the batch
            self._handle.cancel()
            self._handle = None
            outcome.fail(error)

    def stop(self) -> None:
        """Stop reporting (and waking the loop)."""
        for handle in (self._handle, self._wake):
            if handle is not None:
                handle.cancel()
        self._handle = self._wake = None


async def settled(future: asyncio.Future[None]) -> None:
    """Wait for the driver thread to let go, whatever else is cancelled."""
    while not future.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(future)
    if not future.cancelled():
        future.exception()  # retrieved: the cancellation is what propagates
