"""The pure-Python stream backend: the reference every backend must match.

Owns the backend's side of the interface both backends offer `cuprum._pumps.calls`
(`cuprum._pumps.choice.PumpBackend`), with exactly the observable behaviour of
the Rust engine (``docs/cuprum-design.md`` section 13 and the behaviour
contract): `pump_stream` and `pump_many` run a batch's pairs
(`cuprum._pumps.python_pair.Pair`) with one ``poll`` loop, `_Driver`, on the
caller's thread; `pump_many_async` runs that loop on one driver thread per
batch and awaits it, cancellably. It also holds the reference asyncio
stream helpers behaviour section 1 names: `_pump_stream`
copies an ``asyncio.StreamReader`` into an ``asyncio.StreamWriter`` and
`_consume_stream` reads a stream to text.

Invariants:

* every pair's descriptors are released (flags put back, see
  `cuprum._pumps.python_pair`) before its end is reported, and before a call
  returns or raises, however it ends;
* ``SIGPIPE`` is blocked in the pumping thread (a pending one is
  consumed), so a broken downstream is always ``EPIPE``;
* a failure of the driver itself (not of a caller's callback) ends every
  pair with `cuprum.EngineError`, its cause attached;
* an awaited batch returns or raises only once its driver thread has let
  go of every descriptor.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import threading
import time
import typing as typ

from cuprum._pumps.awaiting import Pumping, await_pumping
from cuprum._pumps.errors import EngineError
from cuprum._pumps.options import (
    DEFAULT_BUFFER_SIZE,
    DEFAULT_PROGRESS_INTERVAL,
    PairResult,
    ProgressCallback,
    PumpOptions,
    validate_pair,
    written_or_raise,
)
from cuprum._pumps.python_pair import OS_OPS, POLL_READ, FdOps, Pair, Poller
from cuprum._pumps.threads import sigpipe_blocked, start_masked

if typ.TYPE_CHECKING:
    import asyncio
    import collections.abc as cabc

    from cuprum._pumps.reactor import Reactor


# ---------------------------------------------------------------------------
# The driver: one poll loop over every pair of a batch
# ---------------------------------------------------------------------------


class _Driver:
    """Serve a batch of pairs with one ``poll`` loop on the current thread."""

    def __init__(
        self,
        on_done: cabc.Callable[[int, PairResult], None],
        wake_fd: int | None = None,
        ops: FdOps = OS_OPS,
    ) -> None:
        self._on_done = on_done
        self.wake_fd = wake_fd
        self.ops = ops
        self._active: list[Pair] = []
        self._pairs: list[Pair | None] = []
        self.cancelled = False
        self.on_progress: ProgressCallback | None = None
        self.progress_interval = DEFAULT_PROGRESS_INTERVAL
        self._next_progress = float("inf")

    def progress(self) -> list[int]:
        """Bytes written so far by each pair (0 for one that failed at once)."""
        return [0 if pair is None else pair.written for pair in self._pairs]

    def add(
        self,
        pairs: list[tuple[int, int]],
        buffer_size: int,
        drain_timeout: float | None,
    ) -> None:
        """Start every pair; one that fails validation is reported at once."""
        for index, (reader, writer) in enumerate(pairs):
            try:
                pair = Pair(
                    index, reader, writer, buffer_size, drain_timeout, ops=self.ops
                )
            except OSError as error:
                self._pairs.append(None)
                self._on_done(index, error)
            else:
                self._pairs.append(pair)
                self._active.append(pair)
        # Only now: every pair's numbers are checked (see Pair.open_privately).
        for pair in self._active:
            pair.open_privately()

    def run(self) -> None:
        """Run until every pair is done or the driver is cancelled."""
        with sigpipe_blocked():
            try:
                self._loop()
            finally:
                self.cancel_all()

    def _loop(self) -> None:
        if self.on_progress is not None:
            self._next_progress = time.monotonic() + self.progress_interval
        while self._active and not self.cancelled:
            now = time.monotonic()
            for pair in self._active:
                pair.check_deadline(now)
            self._finish_done()
            if not self._active:
                return
            if self.on_progress is not None and now >= self._next_progress:
                self._next_progress = now + self.progress_interval
                self.on_progress(self.progress())
            try:
                self._turn()
            except Exception as error:  # noqa: BLE001 - the backend's own failure
                self._fail_all(error)
                return
            self._finish_done()

    def _turn(self) -> None:
        """Wait for readiness (or a deadline), then step every woken pair.

        Calls no callback: an exception from here is the backend's own.
        """
        poller, timeout_ms = self._poller(time.monotonic())
        ready = dict(poller.poll(timeout_ms))
        if self.wake_fd is not None and self.wake_fd in ready:
            _drain_wake_fd(self.wake_fd)
        now = time.monotonic()
        for pair in self._active:
            if pair.woken_by(ready):
                pair.step(now)

    def _fail_all(self, cause: Exception) -> None:
        """End every active pair with `EngineError`: the backend itself failed.

        Each pair lets go of its descriptors first, as `_finish_done` does;
        the error's ``__cause__`` is what went wrong.
        """
        failed, self._active = self._active, []
        for pair in failed:
            pair.release()
        for pair in failed:
            error = EngineError(f"cuprum's Python backend failed: {cause!r}")
            error.__cause__ = cause
            self._on_done(pair.index, error)

    def _poller(self, now: float) -> tuple[Poller, int | None]:
        poller = self.ops.poll()
        events: dict[int, int] = {}
        deadline: float | None = None
        for pair in self._active:
            reader_events, writer_events = pair.wanted_events()
            if reader_events:
                events[pair.reader] = events.get(pair.reader, 0) | reader_events
            if writer_events:
                events[pair.writer] = events.get(pair.writer, 0) | writer_events
            if pair.drain_deadline is not None and pair.drain_deadline < float("inf"):
                deadline = min(deadline or pair.drain_deadline, pair.drain_deadline)
        if self.wake_fd is not None:
            events[self.wake_fd] = POLL_READ
        for fd, mask in events.items():
            poller.register(fd, mask)
        if self._next_progress < float("inf"):
            deadline = min(deadline or self._next_progress, self._next_progress)
        if deadline is None:
            return poller, None
        return poller, max(0, int((deadline - now) * 1000) + 1)

    def _finish_done(self) -> None:
        still = [pair for pair in self._active if pair.result is None]
        finished = [pair for pair in self._active if pair.result is not None]
        self._active = still
        # Every finished pair lets go before any callback: one that raises
        # must not leave a later pair's flags switched (it is off the list
        # `cancel_all` puts back).
        for pair in finished:
            pair.release()
        for pair in finished:
            self._on_done(pair.index, typ.cast("PairResult", pair.result))

    def cancel_all(self) -> None:
        """Abandon every pair still active, putting its flags back."""
        active, self._active = self._active, []
        for pair in active:
            pair.release()


def _drain_wake_fd(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 4096):
            pass


# ---------------------------------------------------------------------------
# Public descriptor-level entry points of the Python backend
# ---------------------------------------------------------------------------


def pump_stream(reader_fd: int, writer_fd: int, buffer_size: int, /) -> int:
    """Pump one pair, every option but ``buffer_size`` at its default.

    The descriptor numbers are checked here (`cuprum._pumps.calls` leaves that to
    the backend on this path); the pair's error is raised.
    """
    pair = validate_pair(reader_fd, writer_fd)
    options = PumpOptions(buffer_size, None, None, None, DEFAULT_PROGRESS_INTERVAL)
    return written_or_raise(pump_many([pair], options)[0])


async def pump_stream_async(reader_fd: int, writer_fd: int, buffer_size: int, /) -> int:
    """Await one pair, every option but ``buffer_size`` at its default.

    Checked and reported as `pump_stream`.
    """
    pair = validate_pair(reader_fd, writer_fd)
    options = PumpOptions(buffer_size, None, None, None, DEFAULT_PROGRESS_INTERVAL)
    return written_or_raise((await pump_many_async([pair], options))[0])


def pump_many(pairs: list[tuple[int, int]], options: PumpOptions) -> list[PairResult]:
    """Pump every pair concurrently on the calling thread; block until done.

    Arguments are already validated. A signal handler that raises (Ctrl-C)
    abandons the batch with every flag restored; the exception propagates.
    """
    results: list[PairResult | None] = [None] * len(pairs)

    def on_done(index: int, result: PairResult) -> None:
        results[index] = result
        if options.on_pair_done is not None:
            options.on_pair_done(index, result)

    driver = _Driver(on_done)
    driver.on_progress = options.on_progress
    driver.progress_interval = options.progress_interval
    try:
        # Inside: a pair refused at once is reported from here, and a
        # callback raising for it must not leave earlier pairs switched.
        driver.add(pairs, options.buffer_size, options.drain_timeout)
        driver.run()
    finally:
        driver.cancel_all()
    return typ.cast("list[PairResult]", results)


class _StartedBatch(Pumping):
    """A batch served by a driver thread, told on a reactor.

    Results reach the reactor through ``call_soon_threadsafe``; the thread's
    end finishes the batch after it has let go of every descriptor. The
    wake-up pipe (`stop` writes to it) belongs to the thread once started:
    the thread closes it when it ends, under `_wake_lock`, so a late stop
    never writes to a closed (or reused) descriptor.
    """

    def __init__(self, reactor: Reactor, count: int, options: PumpOptions) -> None:
        super().__init__(reactor, count, options)
        self.reactor = reactor
        self.driver = _Driver(self.on_done)
        self._wake_lock = threading.Lock()
        self._wake: tuple[int, int] | None = None

    def progress(self) -> list[int]:
        return self.driver.progress()

    def open_wake_pipe(self) -> None:
        """Make the pipe `stop` wakes the driver through."""
        self._wake = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.driver.wake_fd = self._wake[0]

    def close_wake_pipe(self) -> None:
        """Close the wake-up pipe (once)."""
        with self._wake_lock:
            wake, self._wake = self._wake, None
        if wake is not None:
            os.close(wake[0])
            os.close(wake[1])

    def on_done(self, index: int, result: PairResult) -> None:
        """Hand pair ``index``'s end to the reactor (any thread)."""
        with contextlib.suppress(RuntimeError):  # reactor closed: nobody waits
            self.reactor.call_soon_threadsafe(self.outcome.record, index, result)

    def stop(self) -> None:
        """Make the driver abandon its pairs and return."""
        self.driver.cancelled = True
        with self._wake_lock:
            if self._wake is not None:
                os.write(self._wake[1], b"x")

    def work(self) -> None:
        """Run the driver (on its own thread), then finish the batch."""
        error: BaseException | None = None
        try:
            self.driver.run()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            error = exc
        finally:
            self.driver.cancel_all()
            self.close_wake_pipe()
        with contextlib.suppress(RuntimeError):
            self.reactor.call_soon_threadsafe(self.finish, error)


def start_many(
    reactor: Reactor, pairs: list[tuple[int, int]], options: PumpOptions
) -> Pumping:
    """Pump every pair on one driver thread, told on ``reactor``.

    ``on_pair_done`` is called on the reactor for each pair as soon as it
    ends (behaviour section 4, rule 4); an exception from it abandons the
    batch and is raised from `Pumping.final`. `Pumping.stop` stops the
    driver; the batch ends once the thread has left the descriptors alone
    and their flags are restored.
    """
    batch = _StartedBatch(reactor, len(pairs), options)
    # Validate (and take) the pairs before this call opens any descriptor of
    # its own, so a caller's closed descriptor number cannot be reused by the
    # wake-up pipe and mistaken for the caller's.
    batch.driver.add(pairs, options.buffer_size, options.drain_timeout)
    thread = threading.Thread(target=batch.work, name="cuprum-py-pump", daemon=True)
    try:
        batch.open_wake_pipe()
        start_masked(thread)
    except BaseException:
        if thread.ident is None:  # never started: nothing else holds the pairs
            batch.driver.cancel_all()  # put the caller's flags back
            batch.close_wake_pipe()
        else:  # a Ctrl-C just after the start: the thread lets go on its way out
            batch.stop()
        raise
    batch.begin()
    return batch


async def pump_many_async(
    pairs: list[tuple[int, int]], options: PumpOptions
) -> list[PairResult]:
    """Pump every pair on one driver thread; await the batch.

    Cancelling the awaiting task stops the driver: by the time
    ``CancelledError`` propagates, the thread has left the descriptors
    alone and their flags are restored.
    """
    import asyncio  # noqa: PLC0415 - on first use: import cost

    return await await_pumping(start_many(asyncio.get_running_loop(), pairs, options))


# ---------------------------------------------------------------------------
# asyncio stream helpers (subprocess plumbing)
# ---------------------------------------------------------------------------


async def _pump_stream(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    chunk_size: int = DEFAULT_BUFFER_SIZE,
) -> int:
    """Copy ``reader`` into ``writer`` until EOF; return the bytes written.

    A downstream that goes away (``BrokenPipeError`` or
    ``ConnectionResetError``) stops the writes; the reader is still drained
    to EOF so the upstream never blocks on a full pipe. The writer is not
    closed: it belongs to its owner.
    """
    written = 0
    downstream_open = True
    while chunk := await reader.read(chunk_size):
        if not downstream_open:
            continue
        try:
            writer.write(chunk)
            await writer.drain()
        except (BrokenPipeError, ConnectionResetError):
            downstream_open = False
        else:
            written += len(chunk)
    return written


async def _consume_stream(
    stream: asyncio.StreamReader,
    *,
    encoding: str = "utf-8",
    errors: str = "replace",
    sink: typ.TextIO | None = None,
    chunk_size: int = DEFAULT_BUFFER_SIZE,
) -> str:
    """Read ``stream`` to EOF and return it decoded as text.

    Bytes that do not decode are replaced (``errors="replace"`` by default),
    including a multi-byte character split across chunks, which is decoded
    whole. With ``sink``, each decoded piece is also written (and flushed)
    there as it arrives, for echoing output live.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    pieces: list[str] = []
    while True:
        chunk = await stream.read(chunk_size)
        text = decoder.decode(chunk, final=not chunk)
        if text:
            pieces.append(text)
            if sink is not None:
                sink.write(text)
                sink.flush()
        if not chunk:
            return "".join(pieces)
