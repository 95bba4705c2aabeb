"""The pure-Python stream backend: the reference every backend must match.

This module owns two things:

* asyncio stream helpers used by subprocess code: `_pump_stream` copies an
  ``asyncio.StreamReader`` into an ``asyncio.StreamWriter`` and
  `_consume_stream` reads a stream to text;
* descriptor-level pumping with exactly the observable behaviour of the Rust
  engine (``docs/cuprum-design.md`` section 13 and the behaviour contract):
  `pump_stream` and `pump_many` (blocking, on the caller's thread) and
  `pump_many_async` (awaitable, one driver thread per batch, cancellable),
  the interface both backends offer `cuprum._pump`.

Invariants of the descriptor pump:

* a caller's descriptor is never closed;
* a descriptor's ``O_NONBLOCK`` flag is switched only for descriptors the
  caller made (never for descriptors 0 to 2 or a terminal) and is restored
  before the call returns or raises, however it ends;
* a write to a broken downstream is reported as ``EPIPE`` (``SIGPIPE`` is
  blocked in the pumping thread and a pending one is consumed), after which
  the reader is drained to EOF (or until the optional drain bound) and the
  pair reports the bytes written before the break.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import dataclasses
import errno
import fcntl
import os
import select
import stat
import threading
import time
import typing as typ

from cuprum._awaiting import AwaitedResults, ProgressTicker, settled
from cuprum._errors import EngineError
from cuprum._options import (
    DEFAULT_BUFFER_SIZE,
    DEFAULT_PROGRESS_INTERVAL,
    PairCallback,
    PairResult,
    ProgressCallback,
    PumpOptions,
    check_ends,
    validate_pairs,
    written_or_raise,
)
from cuprum._threads import sigpipe_blocked, start_masked

if typ.TYPE_CHECKING:
    import collections.abc as cabc

_STEP_BUDGET: typ.Final = 16
"""Reads per pair per turn, so one always-ready pair cannot starve others."""
_BLOCKING_WRITE_CHUNK: typ.Final = 4096
"""Largest write to a descriptor left in blocking mode after ``POLLOUT``."""
_POLL_READ: typ.Final = select.POLLIN | select.POLLPRI
_POLL_WRITE: typ.Final = select.POLLOUT
_POLL_TROUBLE: typ.Final = select.POLLERR | select.POLLHUP | select.POLLNVAL
_DOWNSTREAM_GONE: typ.Final = (errno.EPIPE, errno.ECONNRESET)


# ---------------------------------------------------------------------------
# Descriptor handling
# ---------------------------------------------------------------------------


_IoKind = typ.Literal["always-ready", "switchable", "keep-blocking"]


def _io_kind(fd: int) -> tuple[_IoKind, os.stat_result]:
    """Classify ``fd`` for the pump (contract sections 2.8 and 2.10).

    Regular files and character devices such as ``/dev/null`` never block.
    Standard streams, any other descriptor of the file open as fd 0 to 2
    (``os.dup(0)``, say), and terminals share their open file description
    with other processes, so their ``O_NONBLOCK`` flag is left alone.
    Anything else (pipes, FIFOs, sockets) is the caller's own and may be
    switched. Returns the kind and the descriptor's ``fstat``.
    """
    info = os.fstat(fd)
    if stat.S_ISREG(info.st_mode) or stat.S_ISBLK(info.st_mode):
        return "always-ready", info
    if stat.S_ISCHR(info.st_mode):  # terminals are character devices
        return ("keep-blocking" if os.isatty(fd) else "always-ready"), info
    if fd <= 2 or _is_standard_stream(info):
        return "keep-blocking", info
    return "switchable", info


def _is_standard_stream(info: os.stat_result) -> bool:
    """Say whether ``info`` is the file open as fd 0, 1 or 2."""
    for fd in (0, 1, 2):
        try:
            other = os.fstat(fd)
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino):
            return True
    return False


_Description = tuple[int, int, int]
"""An open file description, closely enough: (device, inode, access mode)."""


class _NonblockTable:
    """Which descriptions the Python backend switched, and for how many users.

    ``O_NONBLOCK`` belongs to the open file description, which several
    descriptors (``os.dup``) and several pairs, in any batch, may share. A
    description is switched when its first user comes and put back only
    when its last user goes. One table per process, behind a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # description -> [users, flags before the switch]
        self._users: dict[_Description, list[int]] = {}

    def acquire(self, fd: int) -> tuple[bool, _Description | None]:
        """Prepare ``fd`` for the pump.

        Returns whether I/O on it never blocks (``False``: it stays in
        blocking mode and may only be read or written once per readiness
        event) and the description to `release` later (``None``: nothing
        was switched).
        """
        kind, info = _io_kind(fd)
        if kind != "switchable":
            return kind == "always-ready", None
        with self._lock:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            key = (info.st_dev, info.st_ino, flags & os.O_ACCMODE)
            entry = self._users.get(key)
            if entry is None:
                self._users[key] = [1, flags]
                if not flags & os.O_NONBLOCK:
                    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
            else:
                entry[0] += 1
        return True, key

    def release(self, fd: int, key: _Description | None) -> None:
        """Drop one user of ``key`` (through ``fd``); restore after the last."""
        if key is None:
            return
        with self._lock:
            entry = self._users[key]
            entry[0] -= 1
            if entry[0]:
                return
            del self._users[key]
            flags = entry[1]
            if not flags & os.O_NONBLOCK:
                with contextlib.suppress(OSError):  # closed by its owner meanwhile
                    fcntl.fcntl(fd, fcntl.F_SETFL, flags)


_NONBLOCK = _NonblockTable()


class _Poller(typ.Protocol):
    """What the driver uses of a ``select.poll`` object."""

    def register(self, fd: int, eventmask: int, /) -> None: ...

    def poll(self, timeout: float | None, /) -> list[tuple[int, int]]: ...


@dataclasses.dataclass(frozen=True, slots=True)
class _FdOps:
    """Every descriptor call of `_Pair` and `_Driver`, in one place.

    `_OS_OPS`, the default, is the system's. The state machine's tests hand
    in fakes (scripted readiness, short reads and writes, errors) and drive
    pairs and drivers without a descriptor. A pair calls ``self.ops.read``
    where it called ``os.read``: the hot path costs what it did.
    """

    read: cabc.Callable[[int, int], bytes]
    write: cabc.Callable[[int, memoryview], int]
    poll: cabc.Callable[[], _Poller]
    check_ends: cabc.Callable[[int, int], None]
    acquire: cabc.Callable[[int], tuple[bool, _Description | None]]
    release: cabc.Callable[[int, _Description | None], None]


_OS_OPS: typ.Final = _FdOps(
    os.read,
    os.write,
    select.poll,
    check_ends,
    _NONBLOCK.acquire,
    _NONBLOCK.release,
)


# ---------------------------------------------------------------------------
# One pair's state machine
# ---------------------------------------------------------------------------


class _Pair:
    """One reader->writer transfer, driven by readiness.

    States: copying (``pending`` holds at most ``buffer_size`` unwritten
    bytes), draining (the downstream broke: read and discard), done
    (``result`` set).
    """

    __slots__ = (
        "buffer_size",
        "discarded",
        "drain_deadline",
        "drain_timeout",
        "eof",
        "index",
        "ops",
        "pending",
        "reader",
        "reader_key",
        "reader_loops",
        "released",
        "result",
        "writer",
        "writer_key",
        "writer_loops",
        "written",
    )

    def __init__(  # noqa: PLR0913 - ops: the tests' seam, by keyword
        self,
        index: int,
        reader: int,
        writer: int,
        buffer_size: int,
        drain_timeout: float | None,
        *,
        ops: _FdOps = _OS_OPS,
    ) -> None:
        self.index = index
        self.ops = ops
        self.reader = reader
        self.writer = writer
        self.buffer_size = buffer_size
        self.drain_timeout = drain_timeout
        self.drain_deadline: float | None = None
        self.pending = memoryview(b"")
        self.written = 0
        self.discarded = 0
        self.eof = False
        self.result: PairResult | None = None
        ops.check_ends(reader, writer)
        self.reader_loops, self.reader_key = ops.acquire(reader)
        try:
            self.writer_loops, self.writer_key = ops.acquire(writer)
        except OSError:
            ops.release(reader, self.reader_key)
            raise
        self.released = False

    def release(self) -> None:
        """Put back the flags this pair switched (once)."""
        if not self.released:
            self.released = True
            self.ops.release(self.writer, self.writer_key)
            self.ops.release(self.reader, self.reader_key)

    @property
    def draining(self) -> bool:
        return self.drain_deadline is not None

    def wanted_events(self) -> tuple[int, int]:
        """Return the poll events wanted on (reader, writer); 0 means none."""
        if self.pending and not self.draining:
            return 0, _POLL_WRITE
        return _POLL_READ, 0

    def woken_by(self, ready: dict[int, int]) -> bool:
        """Say whether poll results ``ready`` concern what this pair waits for."""
        reader_events, writer_events = self.wanted_events()
        reader_woken = reader_events and ready.get(self.reader, 0)
        writer_woken = writer_events and ready.get(self.writer, 0)
        return bool(reader_woken or writer_woken)

    def step(self, now: float) -> None:
        """Move bytes until a descriptor would block, the budget is spent or done."""
        try:
            for _ in range(_STEP_BUDGET):
                if self.pending and not self._write():
                    return
                if self.result is not None:
                    return
                if not self._read(now):
                    return
        except OSError as error:
            self.result = error

    def check_deadline(self, now: float) -> None:
        """Finish a bounded drain whose time is up."""
        if self.result is None and self.drain_deadline and now >= self.drain_deadline:
            self.result = self.written

    def _write(self) -> bool:
        """Write pending bytes; return False when the writer is not to be retried."""
        data = self.pending
        if not self.writer_loops:
            data = data[:_BLOCKING_WRITE_CHUNK]
        try:
            count = self.ops.write(self.writer, data)
        except (BlockingIOError, InterruptedError):
            # os.write retries EINTR itself (PEP 475); a substitute may not.
            return False
        except OSError as error:
            if error.errno not in _DOWNSTREAM_GONE:
                raise
            self._start_drain(time.monotonic())
            return True
        self.written += count
        self.pending = self.pending[count:]
        if not self.pending and self.eof:
            self.result = self.written
        # A descriptor left in blocking mode gets one write per readiness event.
        return self.writer_loops and not self.pending

    def _read(self, now: float) -> bool:
        """Read one chunk; return False when the reader would block."""
        try:
            data = self.ops.read(self.reader, self.buffer_size)
        except (BlockingIOError, InterruptedError):
            return False
        if not data:
            self.eof = True
            if not self.pending or self.draining:
                self.result = self.written
            return True
        if self.draining:
            self.discarded += len(data)
            self.check_deadline(now)
        else:
            self.pending = memoryview(data)
        # A descriptor left in blocking mode gets one read per readiness event.
        return self.reader_loops

    def _start_drain(self, now: float) -> None:
        self.pending = memoryview(b"")
        timeout = self.drain_timeout
        self.drain_deadline = now + timeout if timeout is not None else float("inf")
        if self.eof:
            self.result = self.written


# ---------------------------------------------------------------------------
# The driver: one poll loop over every pair of a batch
# ---------------------------------------------------------------------------


class _Driver:
    """Serve a batch of pairs with one ``poll`` loop on the current thread."""

    def __init__(
        self,
        on_done: cabc.Callable[[int, PairResult], None],
        wake_fd: int | None = None,
        ops: _FdOps = _OS_OPS,
    ) -> None:
        self._on_done = on_done
        self.wake_fd = wake_fd
        self.ops = ops
        self._active: list[_Pair] = []
        self._pairs: list[_Pair | None] = []
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
                pair = _Pair(
                    index, reader, writer, buffer_size, drain_timeout, ops=self.ops
                )
            except OSError as error:
                self._pairs.append(None)
                self._on_done(index, error)
            else:
                self._pairs.append(pair)
                self._active.append(pair)

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

    def _poller(self, now: float) -> tuple[_Poller, int | None]:
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
            events[self.wake_fd] = _POLL_READ
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

    The descriptor numbers are checked here (`cuprum._pump` leaves that to
    the backend on this path); the pair's error is raised.
    """
    (pair,) = validate_pairs([(reader_fd, writer_fd)])
    options = PumpOptions(buffer_size, None, None, None, DEFAULT_PROGRESS_INTERVAL)
    return written_or_raise(pump_many([pair], options)[0])


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


class _AwaitedBatch:
    """A batch served by a driver thread for an awaiting task.

    Results reach the loop through ``call_soon_threadsafe``; the thread's
    end settles `finished` after it has let go of every descriptor. The
    wake-up pipe (`_stop_driver` writes to it) belongs to the thread once
    started: the thread closes it when it ends, under `_wake_lock`, so a
    late stop never writes to a closed (or reused) descriptor.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        count: int,
        on_pair_done: PairCallback | None,
    ) -> None:
        self.loop = loop
        self.outcome = AwaitedResults(count, on_pair_done, self._stop_driver)
        self.finished: asyncio.Future[None] = loop.create_future()
        self.driver = _Driver(self.on_done)
        self._wake_lock = threading.Lock()
        self._wake: tuple[int, int] | None = None

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
        """Hand pair ``index``'s end to the loop (any thread)."""
        with contextlib.suppress(RuntimeError):  # loop closed: nobody waits
            self.loop.call_soon_threadsafe(self.outcome.record, index, result)

    def _stop_driver(self) -> None:
        """Make the driver abandon its pairs and return."""
        self.driver.cancelled = True
        with self._wake_lock:
            if self._wake is not None:
                os.write(self._wake[1], b"x")

    def work(self) -> None:
        """Run the driver (on its own thread), then settle `finished`."""
        error: BaseException | None = None
        try:
            self.driver.run()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            error = exc
        finally:
            self.driver.cancel_all()
            self.close_wake_pipe()
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.settle, error)

    def settle(self, error: BaseException | None) -> None:
        if self.finished.done():
            return
        if error is None:
            self.finished.set_result(None)
        else:
            self.finished.set_exception(error)


async def pump_many_async(
    pairs: list[tuple[int, int]], options: PumpOptions
) -> list[PairResult]:
    """Pump every pair on one driver thread; await the batch.

    ``on_pair_done`` is called on the event loop for each pair as soon as it
    ends (contract section 4, rule 4); an exception from it abandons the
    batch and is raised. Cancelling the awaiting task stops the driver: by
    the time ``CancelledError`` propagates, the thread has left the
    descriptors alone and their flags are restored.
    """
    batch = _AwaitedBatch(asyncio.get_running_loop(), len(pairs), options.on_pair_done)
    # Validate (and take) the pairs before this call opens any descriptor of
    # its own, so a caller's closed descriptor number cannot be reused by the
    # wake-up pipe and mistaken for the caller's.
    batch.driver.add(pairs, options.buffer_size, options.drain_timeout)
    thread = threading.Thread(target=batch.work, name="cuprum-py-pump", daemon=True)
    try:
        batch.open_wake_pipe()
        start_masked(thread)
    except BaseException:
        batch.driver.cancel_all()  # put the caller's flags back
        batch.close_wake_pipe()
        raise
    ticker = ProgressTicker(batch.loop, options.on_progress, options.progress_interval)
    try:
        ticker.start(batch.driver.progress, batch.outcome.fail)
        await asyncio.shield(batch.finished)
    except asyncio.CancelledError:
        batch.outcome.abandon()
        await settled(batch.finished)
        raise
    except BaseException:
        batch.outcome.abandon()  # the loop is going away: the thread lets go
        raise
    finally:
        ticker.stop()
    return batch.outcome.final()


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
