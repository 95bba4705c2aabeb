"""What the started (and awaited) pump batches of both backends share.

Owns `Pumping` (a batch started on a `cuprum._pumps.reactor.Reactor`: its
results, progress reports and end, told by callback), `AwaitedResults`
(its results and callbacks), `ProgressTicker` (periodic progress reports
on the reactor), `await_pumping` (the awaitable form: an asyncio loop is
a reactor) and `settled` (wait for a batch to let go, whatever else is
cancelled). A run starts its hops' batch with the backend's
``start_many`` and is told each pair's end and the batch's, on its
reactor, with no task or thread waiting for it.

Invariants: everything here runs on the batch's reactor; each pair's end
is recorded once; once a batch is abandoned (a callback raised or the task
was cancelled) no callback is made; a batch ends only once it has let go of
its descriptors, and an awaiting task never returns before that. This
module imports no other part of cuprum but `cuprum._pumps.options` and
`cuprum._pumps.reactor`.
"""

from __future__ import annotations

import contextlib
import threading
import typing as typ

from cuprum._pumps.reactor import SIGNAL_WAKE_INTERVAL, SelectReactor

if typ.TYPE_CHECKING:
    import asyncio
    import collections.abc as cabc

    from cuprum._pumps.options import PairResult, ProgressCallback, PumpOptions
    from cuprum._pumps.reactor import Handle, Reactor


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
        on_pair_done: cabc.Callable[[int, PairResult], object] | None,
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


class Pumping:
    """A batch started on a reactor: its results, its progress, its end.

    Each backend's ``start_many`` returns one (a subclass that knows how
    to stop its pairs and read their progress). `ended` turns true, and
    every callback given to `when_ended` is called once, when every pair
    has reported and the batch has let go of its descriptors; `error` is
    then a failure of the batch itself (not of a pair), if any.
    """

    def __init__(self, reactor: Reactor, count: int, options: PumpOptions) -> None:
        self.outcome = AwaitedResults(count, options.on_pair_done, self.stop)
        self.ended = False
        self.error: BaseException | None = None
        self._when_ended: list[cabc.Callable[[], object]] = []
        self._ticker = ProgressTicker(
            reactor, options.on_progress, options.progress_interval
        )

    def stop(self) -> None:
        """Stop every pair still running (each still reports its end)."""

    def progress(self) -> list[int]:
        """Bytes written so far by each pair, in the caller's order."""
        return [
            result if isinstance(result, int) else 0 for result in self.outcome.results
        ]

    def begin(self) -> None:
        """Start the progress reports (unless the batch already ended)."""
        if not self.ended:
            self._ticker.start(self.progress, self.outcome)

    def when_ended(self, callback: cabc.Callable[[], object]) -> None:
        """Call ``callback()`` at the end (at once if it is over)."""
        if self.ended:
            callback()
        else:
            self._when_ended.append(callback)

    def finish(self, error: BaseException | None = None) -> None:
        """Note the end (once): stop the reports, tell who waits."""
        if self.ended:
            return
        self.ended = True
        self.error = error
        self._ticker.stop()
        callbacks, self._when_ended = self._when_ended, []
        for callback in callbacks:
            callback()

    def final(self) -> list[PairResult]:
        """Return every pair's result, or raise the batch's (or a callback's) error."""
        if self.error is not None:
            raise self.error
        return self.outcome.final()


async def await_pumping(pumping: Pumping) -> list[PairResult]:
    """Await a batch started on the running loop; cancelling stops every pair.

    The cancellation propagates only once the batch has let go of its
    descriptors.
    """
    import asyncio  # noqa: PLC0415 - on first use: import cost

    if not pumping.ended:
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not finished.done():
                finished.set_result(None)

        pumping.when_ended(wake)
        try:
            await asyncio.shield(finished)
        except asyncio.CancelledError:
            pumping.outcome.abandon()
            await settled(finished)
            raise
        except BaseException:
            pumping.outcome.abandon()  # the loop is going away: the batch lets go
            raise
    return pumping.final()


class ProgressTicker:
    """Report a started batch's progress on its reactor, periodically.

    On the main thread it also wakes an asyncio loop every
    `SIGNAL_WAKE_INTERVAL` while the batch runs, reporting or not. A Ctrl-C
    that lands just before the loop blocks in ``select`` only sets
    CPython's "signal pending" flag, and without a wake-up descriptor
    (``asyncio.run`` sets none for its own SIGINT handler) it would sleep
    on with the handler never run; the periodic wake-up bounds that to
    50 ms. A `SelectReactor` bounds its own waits on the main thread the
    same way, so it gets no wake-ups from here.
    """

    def __init__(
        self,
        loop: Reactor,
        on_progress: ProgressCallback | None,
        interval: float,
    ) -> None:
        self._loop = loop
        self._on_progress = on_progress
        self._interval = interval
        self._handle: Handle | None = None
        self._wake: Handle | None = None
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
        if threading.current_thread() is threading.main_thread() and not isinstance(
            self._loop, SelectReactor
        ):
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
    import asyncio  # noqa: PLC0415 - on first use: import cost

    while not future.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(future)
    if not future.cancelled():
        future.exception()  # retrieved: the cancellation is what propagates
