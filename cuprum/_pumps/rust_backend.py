"""The Rust stream backend: the only module that imports the native engine.

Owns the translation between the pump calls and the native module
``cuprum._rust_backend_native`` (documented in its ``.pyi``), behind the
interface both backends offer `cuprum._pumps.calls` (`choice.PumpBackend`):

* `pump_stream` is the engine's single-pair call itself: the pair runs
  inline on the caller's thread for as long as it never has to wait;
* `pump_many` sends one pair without ``on_pair_done`` the same way (inline
  first), and any other batch to the reactor;
* `pump_many_async` is the asyncio side: one native ``AsyncDoorbell`` (an
  eventfd) per running event loop, registered with ``loop.add_reader``. The
  reactor thread pushes each pair's end onto the doorbell's queue and
  rings; the reader callback, on the loop's thread with the GIL, takes
  everything waiting and hands each result to its batch. No thread waits
  per pair or per batch: awaiting 64 batches adds no thread beyond the
  reactor. A single awaited pair also runs inline first. A loop without
  ``add_reader`` is served by the pure-Python backend (`cuprum._pumps.python_backend`).

Arguments arrive validated by `cuprum._pumps.calls`; the native functions check
them again, since they are callable on their own.

Invariants of an awaited batch: its pairs are reported exactly once each; a
cancelled batch is awaited until every pair has reported its end (so nothing
more is read or written once ``CancelledError`` propagates); a callback of a
batch whose awaiting task went away is ignored.
"""

from __future__ import annotations

import logging
import typing as typ
import weakref

from cuprum import _rust_backend_native as _native
from cuprum._pumps import python_backend as _streams
from cuprum._pumps.awaiting import Pumping, await_pumping
from cuprum._pumps.errors import EngineError
from cuprum._pumps.options import (
    DEFAULT_PROGRESS_INTERVAL,
    PumpOptions,
    pair_error,
    validate_pair,
    written_or_raise,
)

if typ.TYPE_CHECKING:
    from collections.abc import Callable

    from cuprum._pumps.options import PairResult
    from cuprum._pumps.reactor import Reactor
    from cuprum._rust_backend_native import PumpBatch

rust_pump_stream = _native.rust_pump_stream
rust_pump_many = _native.rust_pump_many
AsyncDoorbell = _native.AsyncDoorbell
set_splice_enabled = _native.set_splice_enabled
splice_enabled = _native.splice_enabled

fail_next_pairs: Callable[[int], None] | None = getattr(
    _native, "_fail_next_pairs", None
)
"""Test-only: make the reactor fail the next pairs it admits (``None`` in a
build without the ``fault-injection`` feature, which wheels never carry)."""
hang_next_blocking_pairs: Callable[..., None] | None = getattr(
    _native, "_hang_next_blocking_pairs", None
)
"""Test-only: make the next blocking-path pairs hang after their first step
(``(count, notice_fd=-1)``: each writes ``hung\\n`` to ``notice_fd`` as it
stops)."""
release_hung_pairs: Callable[[], None] | None = getattr(
    _native, "_release_hung_pairs", None
)
"""Test-only: let every hung blocking-path pair go on."""

_log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Blocking calls
# ---------------------------------------------------------------------------

pump_stream = rust_pump_stream
"""One pair with every option but ``buffer_size`` at its default: the
engine's own call, which checks the descriptor numbers itself (the fast
path of small calls; no Python frame in between)."""


def pump_many(pairs: list[tuple[int, int]], options: PumpOptions) -> list[PairResult]:
    """Pump a validated batch in the engine; block until every pair ends.

    One pair without ``on_pair_done`` runs inline first, as `pump_stream`.
    """
    if len(pairs) == 1 and options.on_pair_done is None:
        single = options.on_progress
        try:
            written = rust_pump_stream(
                *pairs[0],
                options.buffer_size,
                drain_timeout=options.drain_timeout,
                on_progress=None if single is None else lambda n: single([n]),
                progress_interval=options.progress_interval,
            )
        except (OSError, EngineError) as error:
            return [error]
        return [written]
    return rust_pump_many(
        pairs,
        options.buffer_size,
        drain_timeout=options.drain_timeout,
        on_pair_done=options.on_pair_done,
        on_progress=options.on_progress,
        progress_interval=options.progress_interval,
    )


# ---------------------------------------------------------------------------
# Awaited batches: one doorbell per event loop
# ---------------------------------------------------------------------------


class _Operation(Pumping):
    """One engine batch started on a reactor: its pairs in the engine and its end."""

    def __init__(self, reactor: Reactor, count: int, options: PumpOptions) -> None:
        super().__init__(reactor, count, options)
        self.remaining = count
        self.batch: PumpBatch | None = None
        self.indices: list[int] = []
        """Index in the caller's batch of each pair submitted to the engine."""

    def stop(self) -> None:
        if self.batch is not None:
            self.batch.cancel()

    def progress(self) -> list[int]:
        counts = super().progress()
        if self.batch is not None:
            for index, written in zip(self.indices, self.batch.progress(), strict=True):
                if self.outcome.results[index] is None:
                    counts[index] = written
        return counts

    def pair_done(self, index: int, result: PairResult) -> bool:
        """Record pair ``index``'s end; return True once every pair has."""
        self.remaining -= 1
        self.outcome.record(index, result)
        if self.remaining == 0:
            self.finish()
            return True
        return False


class _LoopDoorbell:
    """The doorbell of one reactor and the batches started on it."""

    def __init__(self, loop: Reactor) -> None:
        self._bell = AsyncDoorbell()
        self._operations: dict[int, _Operation] = {}
        loop.add_reader(self._bell.fileno(), self._on_ring)

    def start(
        self,
        operation: _Operation,
        pairs: list[tuple[int, int]],
        options: PumpOptions,
    ) -> PairResult | None:
        """Start ``pairs`` (the operation's pairs at ``operation.indices``).

        A single pair first runs inline, on this thread with the GIL
        released, for as long as it never has to wait; its result is
        returned when it finished that way (``None`` otherwise: it runs in
        the engine and reports through this doorbell).
        """
        if len(pairs) == 1:
            try:
                started = self._bell.start_one(
                    *pairs[0], options.buffer_size, drain_timeout=options.drain_timeout
                )
            except (OSError, EngineError) as error:
                return error
            if isinstance(started, int):
                return started
            batch = started
        else:
            batch = self._bell.submit(
                pairs, options.buffer_size, drain_timeout=options.drain_timeout
            )
        self.adopt(operation, batch)
        return None

    def start_one(
        self, reader_fd: int, writer_fd: int, buffer_size: int
    ) -> int | PumpBatch:
        """Start one pair with default options, inline first (see `start`).

        The engine checks the descriptor numbers; an error is raised.
        """
        return self._bell.start_one(reader_fd, writer_fd, buffer_size)

    def adopt(self, operation: _Operation, batch: PumpBatch) -> None:
        """Report ``batch``'s pairs to ``operation`` as they end."""
        operation.batch = batch
        self._operations[batch.op_id] = operation

    def _on_ring(self) -> None:
        for op_id, index, result in self._bell.drain():
            operation = self._operations.get(op_id)
            if operation is not None and operation.pair_done(
                operation.indices[index], result
            ):
                del self._operations[op_id]


_doorbells: weakref.WeakKeyDictionary[Reactor, _LoopDoorbell] = (
    weakref.WeakKeyDictionary()
)


def _doorbell_for(loop: Reactor) -> _LoopDoorbell | None:
    """Return ``loop``'s doorbell, or None if the loop cannot watch one.

    A new doorbell also drops those of loops closed since (their eventfds
    close once no batch of theirs is left in the engine), instead of
    waiting for the closed loop objects to be garbage-collected.
    """
    doorbell = _doorbells.get(loop)
    if doorbell is None:
        for closed in [other for other in _doorbells if other.is_closed()]:
            del _doorbells[closed]
        try:
            doorbell = _LoopDoorbell(loop)
        except NotImplementedError:
            return None
        _doorbells[loop] = doorbell
    return doorbell


def start_many(
    reactor: Reactor, pairs: list[tuple[int, int]], options: PumpOptions
) -> Pumping:
    """Start a batch in the engine, told on ``reactor`` (arguments validated).

    A reactor without ``add_reader`` (not one on Linux, where cuprum runs,
    but a proactor loop elsewhere) is served by the pure-Python driver,
    which needs only ``call_soon_threadsafe``.
    """
    # Check every pair before the doorbell may open its eventfd.
    failed = [pair_error(reader, writer) for reader, writer in pairs]
    doorbell = _doorbell_for(reactor)
    if doorbell is None:
        _log.debug("loop %r has no add_reader: Python driver used", reactor)
        return _streams.start_many(reactor, pairs, options)
    operation = _Operation(reactor, len(pairs), options)
    if not pairs:
        operation.finish()
        return operation
    operation.indices = [index for index, error in enumerate(failed) if error is None]
    for index, error in enumerate(failed):
        if error is not None:
            reactor.call_soon(operation.pair_done, index, error)
    if operation.indices:
        inline = doorbell.start(
            operation, [pairs[i] for i in operation.indices], options
        )
        if inline is not None:
            operation.pair_done(operation.indices[0], inline)
    operation.begin()
    return operation


async def pump_many_async(
    pairs: list[tuple[int, int]], options: PumpOptions
) -> list[PairResult]:
    """Await a batch pumped by the engine (arguments already validated)."""
    import asyncio  # noqa: PLC0415 - on first use: import cost

    if not pairs:
        return []
    return await await_pumping(start_many(asyncio.get_running_loop(), pairs, options))


async def pump_stream_async(reader_fd: int, writer_fd: int, buffer_size: int, /) -> int:
    """Await one pair with default options: the fast path of small calls.

    On a loop that already has its doorbell, the pair goes straight to the
    engine (which checks the descriptor numbers, with the errors of
    `pump_stream`) and runs inline first; a loop's first awaited call takes
    the general path, which checks the pair before the eventfd is opened.
    """
    import asyncio  # noqa: PLC0415 - on first use: import cost

    loop = asyncio.get_running_loop()
    doorbell = _doorbells.get(loop)
    if doorbell is None:
        pair = validate_pair(reader_fd, writer_fd)
        options = PumpOptions(buffer_size, None, None, None, DEFAULT_PROGRESS_INTERVAL)
        return written_or_raise((await pump_many_async([pair], options))[0])
    started = doorbell.start_one(reader_fd, writer_fd, buffer_size)
    if isinstance(started, int):
        return started  # done inline: nothing built for the wait
    options = PumpOptions(buffer_size, None, None, None, DEFAULT_PROGRESS_INTERVAL)
    operation = _Operation(loop, 1, options)
    operation.indices = [0]
    doorbell.adopt(operation, started)
    operation.begin()
    return written_or_raise((await await_pumping(operation))[0])
