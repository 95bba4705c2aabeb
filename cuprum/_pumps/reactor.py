"""What a run waits on: an asyncio loop, or a plain ``selectors`` poll.

Owns `Reactor` (the few loop calls a run, its pumps and its children use:
watching descriptors, timers, callbacks from other threads) and
`SelectReactor`, the synchronous side (behaviour section 11 rule 7): a
``run_sync`` or ``stream_sync`` polls its own descriptors (the stages'
pidfds, the capture and input pipes, the engine's doorbell) with
``selectors`` on the caller's thread, with no event loop, no coroutine and
no thread of its own. An asyncio loop is a `Reactor` as it is, so one
run's code serves both sides.

One `SelectReactor` per thread is kept (`for_this_thread`) and reused by
every synchronous run on that thread, so its epoll descriptor, wake-up pipe
and the engine's doorbell are made once, not per run; they are closed when
the thread ends (or by `release_this_thread`). A reactor inherited across
``fork`` is never reused (the poll descriptor would be the parent's).

Invariants: callbacks run only on the reactor's thread, inside `run_until`;
`call_soon_threadsafe` is the one call safe from other threads; a
Ctrl-C (``KeyboardInterrupt``) interrupts the poll and propagates from
`run_until`, leaving every registration in place for the caller's
clean-up.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import os
import selectors
import sys
import threading
import time
import typing as typ
import weakref

if typ.TYPE_CHECKING:
    import collections.abc as cabc

SIGNAL_WAKE_INTERVAL: typ.Final = 0.05
"""Seconds a main-thread poll waits at most (see `SelectReactor`)."""
_Ts = typ.TypeVarTuple("_Ts")
_Callback: typ.TypeAlias = "cabc.Callable[..., object]"


class Handle(typ.Protocol):
    """A callback that is due (or timed); ``cancel()`` stops it."""

    def cancel(self) -> None:
        """Do not call the callback (no effect once called)."""


class Reactor(typ.Protocol):
    """The loop calls a run uses (an ``asyncio`` loop has them all)."""

    def time(self) -> float:
        """Return the reactor's clock (``time.monotonic`` seconds)."""

    def add_reader(
        self,
        fd: int,
        callback: cabc.Callable[[typ.Unpack[_Ts]], object],
        *args: *_Ts,
    ) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is readable."""

    def remove_reader(self, fd: int) -> bool:
        """Stop watching ``fd`` for reading."""

    def add_writer(
        self,
        fd: int,
        callback: cabc.Callable[[typ.Unpack[_Ts]], object],
        *args: *_Ts,
    ) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is writable."""

    def remove_writer(self, fd: int) -> bool:
        """Stop watching ``fd`` for writing."""

    def call_soon(
        self, callback: cabc.Callable[[typ.Unpack[_Ts]], object], *args: *_Ts
    ) -> Handle:
        """Call ``callback(*args)`` on the next turn."""

    def call_at(
        self,
        when: float,
        callback: cabc.Callable[[typ.Unpack[_Ts]], object],
        *args: *_Ts,
    ) -> Handle:
        """Call ``callback(*args)`` once `time` reaches ``when``."""

    def call_later(
        self,
        delay: float,
        callback: cabc.Callable[[typ.Unpack[_Ts]], object],
        *args: *_Ts,
    ) -> Handle:
        """Call ``callback(*args)`` ``delay`` seconds from now."""

    def call_soon_threadsafe(
        self, callback: cabc.Callable[[typ.Unpack[_Ts]], object], *args: *_Ts
    ) -> Handle:
        """`call_soon` from any thread (wakes the reactor)."""

    def is_closed(self) -> bool:
        """Say whether the reactor was closed."""


class _Call:
    """One callback due now or at ``when``."""

    __slots__ = ("args", "callback", "cancelled", "when")

    def __init__(
        self, when: float, callback: _Callback, args: tuple[object, ...]
    ) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class SelectReactor:
    """A `Reactor` over ``selectors``, run step by step by its caller."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._ready: collections.deque[_Call] = collections.deque()
        self._timers: list[tuple[float, int, _Call]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._from_threads: list[_Call] = []
        self._closed = False
        self._pid = os.getpid()
        self._depth = 0
        on_main = threading.current_thread() is threading.main_thread()
        self._longest_wait = SIGNAL_WAKE_INTERVAL if on_main else None
        """A Ctrl-C landing just before the poll blocks only sets CPython's
        "signal pending" flag (no wake-up descriptor is set): on the main
        thread the poll returns this often, so the handler runs."""
        self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        # Closed with the reactor, or when it is dropped: at the latest when
        # the thread it belongs to ends (its thread-local goes).
        self._release = weakref.finalize(
            self, _close, self._selector, self._wake_read, self._wake_write
        )

    # -- the Reactor calls -----------------------------------------------------

    @staticmethod
    def time() -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    def add_reader(
        self,
        fd: int,
        callback: cabc.Callable[[typ.Unpack[_Ts]], object],
        *args: *_Ts,
    ) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is readable."""
        self._watch(fd, 0, _Call(0.0, callback, args))

    def remove_reader(self, fd: int) -> bool:
        """Stop watching ``fd`` for reading."""
        return self._unwatch(fd, 0)

    def add_writer(
        self,
        fd: int,
        callback: cabc.Callable[[typ.Unpack[_Ts]], object],
        *args: *_Ts,
    ) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is writable."""
        self._watch(fd, 1, _Call(0.0, callback, args))

    def remove_writer(self, fd: int) -> bool:
        """Stop watching ``fd`` for writing."""
        return self._unwatch(fd, 1)

    def call_soon(
        self, callback: cabc.Callable[[typ.Unpack[_Ts]], object], *args: *_Ts
    ) -> _Call:
        """Call ``callback(*args)`` on the next step."""
        call = _Call(0.0, callback, args)
        self._ready.append(call)
        return call

    def call_at(
        self,
        when: float,
        callback: cabc.Callable[[typ.Unpack[_Ts]], object],
        *args: *_Ts,
    ) -> _Call:
        """Call ``callback(*args)`` once `time` reaches ``when``."""
        call = _Call(when, callback, args)
        heapq.heappush(self._timers, (when, next(self._order), call))
        return call

    def call_later(
        self,
        delay: float,
        callback: cabc.Callable[[typ.Unpack[_Ts]], object],
        *args: *_Ts,
    ) -> _Call:
        """Call ``callback(*args)`` ``delay`` seconds from now."""
        return self.call_at(self.time() + delay, callback, *args)

    def call_soon_threadsafe(
        self, callback: cabc.Callable[[typ.Unpack[_Ts]], object], *args: *_Ts
    ) -> _Call:
        """`call_soon` from any thread; wakes a poll in progress.

        Raises
        ------
        RuntimeError
            Once the reactor is closed (as an asyncio loop does).

        """
        call = _Call(0.0, callback, args)
        with self._lock:
            if self._closed:
                msg = "the reactor is closed"
                raise RuntimeError(msg)
            self._from_threads.append(call)
            with contextlib.suppress(BlockingIOError):  # a wake-up is pending
                os.write(self._wake_write, b"\0")
        return call

    def is_closed(self) -> bool:
        """Say whether `close` was called."""
        return self._closed

    # -- running ---------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Say whether `run_until` is running (a callback of it is calling)."""
        return self._depth > 0

    def is_own(self) -> bool:
        """Say whether this process made the reactor (not a parent before a fork)."""
        return self._pid == os.getpid()

    def run_until(self, done: cabc.Callable[[], bool]) -> None:
        """Run due callbacks and poll, until ``done()`` says so."""
        self._depth += 1
        try:
            while not done():
                self._step()
        finally:
            self._depth -= 1

    def _step(self) -> None:
        """Wait for the first event or timer due, then run what is due."""
        for key, events in self._selector.select(self._timeout()):
            if key.fd == self._wake_read:
                self._take_from_threads()
                continue
            reader, writer = key.data
            if events & selectors.EVENT_READ and reader is not None:
                self._ready.append(reader)
            if events & selectors.EVENT_WRITE and writer is not None:
                self._ready.append(writer)
        now = self.time()
        while self._timers and self._timers[0][0] <= now:
            self._ready.append(heapq.heappop(self._timers)[2])
        for _ in range(len(self._ready)):
            call = self._ready.popleft()
            if not call.cancelled:
                call.callback(*call.args)

    def _timeout(self) -> float | None:
        """Return how long the next poll may wait (``None``: until an event)."""
        if self._ready:
            return 0.0
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return self._longest_wait
        due = max(0.0, self._timers[0][0] - self.time())
        return due if self._longest_wait is None else min(self._longest_wait, due)

    def _take_from_threads(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_read, 4096):
                pass
        with self._lock:
            calls, self._from_threads = self._from_threads, []
        self._ready.extend(calls)

    def close(self) -> None:
        """Close the poll and the wake-up pipe (once)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._release()

    # -- internals -------------------------------------------------------------

    def _watch(self, fd: int, side: int, call: _Call) -> None:
        try:
            data = list(self._selector.get_key(fd).data)
        except KeyError:
            data = [None, None]
            data[side] = call
            self._selector.register(fd, _mask(data), tuple(data))
            return
        data[side] = call
        self._selector.modify(fd, _mask(data), tuple(data))

    def _unwatch(self, fd: int, side: int) -> bool:
        try:
            data = list(self._selector.get_key(fd).data)
        except KeyError:
            return False
        if data[side] is None:
            return False
        data[side] = None
        if data == [None, None]:
            self._selector.unregister(fd)
        else:
            self._selector.modify(fd, _mask(data), tuple(data))
        return True


def _close(selector: selectors.BaseSelector, *fds: int) -> None:
    """Close a reactor's poll and wake-up pipe (its finalizer)."""
    selector.close()
    for fd in fds:
        os.close(fd)


def _mask(data: list[_Call | None]) -> int:
    reads = selectors.EVENT_READ if data[0] is not None else 0
    return reads | (selectors.EVENT_WRITE if data[1] is not None else 0)


_local = threading.local()


@contextlib.contextmanager
def for_this_thread() -> cabc.Iterator[SelectReactor]:
    """Lend this thread's reactor for one synchronous run (made on first use).

    A run started from inside another's callback (a hook that runs a
    command) gets a reactor of its own, closed after it. A reactor made
    before a ``fork`` is left to the parent: the child makes its own.
    """
    reactor: SelectReactor | None = getattr(_local, "reactor", None)
    if reactor is None or reactor.is_closed() or not reactor.is_own():
        reactor = _local.reactor = SelectReactor()
    if reactor.busy:
        reactor = SelectReactor()
        try:
            yield reactor
        finally:
            reactor.close()
        return
    yield reactor


def release_this_thread() -> None:
    """Close this thread's reactor, if it has one (the next run makes another).

    For programs (and benchmarks) that count their descriptors: the reactor
    holds three (its poll, its wake-up pipe) plus the engine's doorbell once
    a run's hops used the engine.
    """
    reactor: SelectReactor | None = getattr(_local, "reactor", None)
    _local.reactor = None
    if reactor is not None and not reactor.busy:
        reactor.close()


def loop_running() -> bool:
    """Say whether an asyncio event loop runs on this thread.

    Without importing asyncio: where it was never imported, no loop runs.
    """
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def refuse_running_loop(call: str, instead: str) -> None:
    """Refuse a synchronous call made where an event loop runs on this thread.

    Raises
    ------
    RuntimeError
        When an event loop runs on this thread (``call`` names the call,
        ``instead`` what to use there).

    """
    if loop_running():
        msg = f"{call} cannot be called from a running event loop; {instead}"
        raise RuntimeError(msg)
