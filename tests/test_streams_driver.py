"""The Python backend's pair and driver state machine, on scripted fake descriptors.

The model is ``engine/src/pair.rs``'s tests. `Pair` and `_Driver` are handed
fake descriptor operations (`cuprum._pumps.python_pair.FdOps`) whose ends follow a
script: short reads and writes, ``EAGAIN``, ``EINTR``, a broken downstream,
other errors, and readiness as ``poll`` reports it. Each transition is checked
on its own, without threads or real pipes, and hypothesis checks arbitrary
schedules: the bytes that arrive are the input or a prefix of it, the count
is what arrived, every pair finishes, and the reader is drained to EOF.
"""

from __future__ import annotations

import collections
import dataclasses
import errno
import os
import select
import time
import typing as typ

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cuprum._pumps.python_backend import _Driver
from cuprum._pumps.python_pair import (
    _BLOCKING_WRITE_CHUNK,
    _STEP_BUDGET,
    POLL_READ,
    POLL_WRITE,
    FdOps,
    Pair,
)

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._pumps.options import PairResult


# ---------------------------------------------------------------------------
# Scripted fake descriptors
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Up:
    """Transfer at most ``limit`` bytes (at least 1)."""

    limit: int


@dataclasses.dataclass(frozen=True)
class Fail:
    """Fail with ``code`` (``OSError`` picks the subclass, as ``os`` does)."""

    code: int


Act = Up | Fail
EAGAIN = Fail(errno.EAGAIN)
EINTR = Fail(errno.EINTR)
EPIPE = Fail(errno.EPIPE)
DOWNSTREAM_GONE = (errno.EPIPE, errno.ECONNRESET)


def oserror(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def data_of(size: int) -> bytes:
    return bytes((i * 7 + i // 251) & 0xFF for i in range(size))


class FakeReader:
    """A reader over ``data`` that follows a script, then reads freely."""

    def __init__(self, data: bytes, script: cabc.Iterable[Act] = ()) -> None:
        self.data = data
        self.pos = 0
        self.script = collections.deque(script)
        self.reads = 0
        self.eof_seen = False
        self.reads_after_eof = 0

    def read(self, size: int) -> bytes:
        assert size > 0
        self.reads += 1
        if self.eof_seen:
            self.reads_after_eof += 1
        limit = size
        if self.script:
            act = self.script.popleft()
            if isinstance(act, Fail):
                raise oserror(act.code)
            limit = min(size, act.limit)
        chunk = self.data[self.pos : self.pos + limit]
        self.pos += len(chunk)
        if not chunk:
            self.eof_seen = True
        return chunk


class FakeWriter:
    """A writer collecting bytes that follows a script, then writes freely.

    Once it has failed with ``EPIPE`` or ``ECONNRESET`` it stays broken.
    """

    def __init__(self, script: cabc.Iterable[Act] = ()) -> None:
        self.out = bytearray()
        self.script = collections.deque(script)
        self.writes = 0
        self.broken = False
        self.writes_after_break = 0

    def write(self, data: memoryview) -> int:
        assert len(data) > 0, "a pair never writes nothing"
        self.writes += 1
        if self.broken:
            self.writes_after_break += 1
            raise oserror(errno.EPIPE)
        limit = len(data)
        if self.script:
            act = self.script.popleft()
            if isinstance(act, Fail):
                self.broken = act.code in DOWNSTREAM_GONE
                raise oserror(act.code)
            limit = min(limit, act.limit)
        self.out += data[:limit]
        return limit


class FakePoller:
    """``select.poll()`` over a `FakeSystem`: it blocks until an end is ready."""

    def __init__(self, system: FakeSystem) -> None:
        self.system = system
        self.registered: dict[int, int] = {}

    def register(self, fd: int, eventmask: int, /) -> None:
        self.registered[fd] = eventmask

    def poll(self, timeout: float | None, /) -> list[tuple[int, int]]:
        for _ in range(10_000):  # each round: time passes, scripts advance
            ready = [
                (fd, mask)
                for fd, mask in self.registered.items()
                if self.system.ready_now(fd)
            ]
            if ready or timeout is not None:
                self.system.log.append(("poll", frozenset(fd for fd, _ in ready)))
                return ready
        msg = f"poll would block forever on {self.registered}"
        raise AssertionError(msg)


class FakeSystem:
    """Fake ends by descriptor number, and the operations a pair makes on them.

    ``loops`` says whether an end is in non-blocking mode (``False``: it was
    left blocking, like a terminal); ``readiness`` scripts, per descriptor,
    whether each ``poll`` finds it ready (then it is, for good); ``users``
    counts acquisitions not yet released.
    """

    def __init__(self) -> None:
        self.readers: dict[int, FakeReader] = {}
        self.writers: dict[int, FakeWriter] = {}
        self.loops: dict[int, bool] = {}
        self.readiness: dict[int, collections.deque[bool]] = {}
        self.users: collections.Counter[int] = collections.Counter()
        self.log: list[tuple[str, object]] = []
        self.refuse_acquire: set[int] = set()
        self._next_fd = 100

    def add(
        self,
        reader: FakeReader,
        writer: FakeWriter,
        *,
        reader_loops: bool = True,
        writer_loops: bool = True,
        reader_ready: cabc.Iterable[bool] = (),
        writer_ready: cabc.Iterable[bool] = (),
    ) -> tuple[int, int]:
        """Give ``reader`` and ``writer`` descriptor numbers; return them."""
        rfd, wfd = self._next_fd, self._next_fd + 1
        self._next_fd += 2
        self.readers[rfd], self.writers[wfd] = reader, writer
        self.loops[rfd], self.loops[wfd] = reader_loops, writer_loops
        self.readiness[rfd] = collections.deque(reader_ready)
        self.readiness[wfd] = collections.deque(writer_ready)
        return rfd, wfd

    def ops(self) -> FdOps:
        return FdOps(
            self.read,
            self.write,
            self.poller,
            self.check_ends,
            self.acquire,
            self.release,
            self.nonblocking,
        )

    def ready_now(self, fd: int) -> bool:
        script = self.readiness.get(fd)
        return script.popleft() if script else True

    def read(self, fd: int, size: int) -> bytes:
        self.log.append(("read", fd))
        return self.readers[fd].read(size)

    def write(self, fd: int, data: memoryview) -> int:
        self.log.append(("write", fd))
        return self.writers[fd].write(data)

    def poller(self) -> FakePoller:
        return FakePoller(self)

    def check_ends(self, reader: int, writer: int) -> None:
        if reader not in self.readers or writer not in self.writers:
            raise oserror(errno.EBADF)

    def acquire(self, fd: int) -> tuple[bool, tuple[int, int, int] | None]:
        if fd in self.refuse_acquire:
            raise oserror(errno.EPERM)
        self.users[fd] += 1
        return self.loops[fd], (0, fd, 0)

    def nonblocking(self, fd: int) -> bool:
        self.log.append(("flags", fd))
        return self.loops[fd]

    def release(self, fd: int, key: tuple[int, int, int] | None) -> None:
        assert key == (0, fd, 0)
        self.users[fd] -= 1
        assert self.users[fd] >= 0, f"fd {fd} released more often than acquired"

    def all_released(self) -> bool:
        return not any(self.users.values())


# ---------------------------------------------------------------------------
# Driving one pair
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Rig:
    """One pair on fake ends."""

    pair: Pair
    reader: FakeReader
    writer: FakeWriter
    system: FakeSystem


def rig(
    data: bytes,
    reader_script: cabc.Iterable[Act] = (),
    writer_script: cabc.Iterable[Act] = (),
    *,
    buffer_size: int = 16,
    drain_timeout: float | None = None,
    reader_loops: bool = True,
    writer_loops: bool = True,
) -> Rig:
    system = FakeSystem()
    reader, writer = FakeReader(data, reader_script), FakeWriter(writer_script)
    rfd, wfd = system.add(
        reader, writer, reader_loops=reader_loops, writer_loops=writer_loops
    )
    pair = Pair(0, rfd, wfd, buffer_size, drain_timeout, ops=system.ops())
    return Rig(pair, reader, writer, system)


def run(pair: Pair, limit: int = 200_000) -> PairResult:
    """Step ``pair`` until done, as a driver whose every wait is answered."""
    for _ in range(limit):
        now = time.monotonic()
        pair.check_deadline(now)
        if pair.result is not None:
            return pair.result
        pair.step(now)
    msg = f"pair never finished: written={pair.written} eof={pair.eof}"
    raise AssertionError(msg)


def test_copies_everything_and_counts() -> None:
    data = data_of(100_000)
    r = rig(data, buffer_size=4096)
    assert run(r.pair) == 100_000
    assert r.writer.out == data
    assert r.pair.written == 100_000
    assert r.reader.eof_seen
    assert r.reader.reads_after_eof == 0


def test_empty_reader_finishes_with_zero_in_one_step() -> None:
    r = rig(b"")
    r.pair.step(time.monotonic())
    assert r.pair.result == 0
    assert r.writer.writes == 0


def test_short_write_keeps_the_remaining_bytes() -> None:
    r = rig(b"abcdefgh", writer_script=[Up(3), EAGAIN])
    r.pair.step(time.monotonic())
    assert r.writer.out == b"abc"
    assert bytes(r.pair.pending) == b"defgh"
    assert r.pair.result is None
    assert r.pair.wanted_events() == (0, POLL_WRITE), "waits on the writer"
    assert r.reader.reads == 1, "no read while bytes are pending"
    assert run(r.pair) == 8
    assert r.writer.out == b"abcdefgh"


def test_eagain_on_read_waits_on_the_reader() -> None:
    r = rig(b"abcdef", reader_script=[Up(2), EAGAIN])
    r.pair.step(time.monotonic())
    assert r.writer.out == b"ab"
    assert r.pair.result is None
    assert r.pair.wanted_events() == (POLL_READ, 0)
    assert run(r.pair) == 6
    assert r.writer.out == b"abcdef"


def test_eagain_on_write_waits_on_the_writer_and_loses_nothing() -> None:
    r = rig(b"abcdef", writer_script=[EAGAIN, EAGAIN])
    r.pair.step(time.monotonic())
    assert r.writer.out == b""
    assert bytes(r.pair.pending) == b"abcdef"
    assert r.pair.wanted_events() == (0, POLL_WRITE)
    assert run(r.pair) == 6
    assert r.writer.out == b"abcdef"


def test_eintr_is_retried_never_surfaced() -> None:
    data = data_of(5000)
    r = rig(
        data,
        [EINTR, Up(3), EAGAIN, Up(100), EINTR, EINTR, Up(1)],
        [Up(1), EINTR, EAGAIN, Up(7), EINTR, Up(5)],
        buffer_size=64,
    )
    assert run(r.pair) == 5000
    assert r.writer.out == data
    assert r.pair.discarded == 0


@pytest.mark.parametrize("code", DOWNSTREAM_GONE, ids=errno.errorcode.get)
def test_broken_downstream_drains_to_eof_and_counts_bytes_written_before(
    code: int,
) -> None:
    data = data_of(1000)
    r = rig(data, [Up(100), Up(100)], [Up(60), Fail(code)], buffer_size=100)
    assert run(r.pair) == 60
    assert r.writer.out == data[:60]
    assert r.pair.draining
    assert r.reader.pos == 1000
    assert r.reader.eof_seen, "the reader was drained to EOF"
    assert r.pair.discarded == 900, "the 40 pending bytes dropped, the rest read"
    assert r.writer.writes_after_break == 0


def test_draining_pair_waits_on_the_reader_only() -> None:
    r = rig(data_of(100), [Up(10), Up(10), EAGAIN], [Up(3), EPIPE])
    r.pair.step(time.monotonic())  # a short write: the writer is full
    assert not r.pair.draining
    assert r.pair.wanted_events() == (0, POLL_WRITE)
    r.pair.step(time.monotonic())  # EPIPE, then discard until EAGAIN
    assert r.pair.draining
    assert r.pair.discarded == 10
    assert r.pair.result is None
    assert r.pair.wanted_events() == (POLL_READ, 0)
    assert run(r.pair) == 3


def test_bounded_drain_ends_at_its_deadline() -> None:
    r = rig(data_of(1000), [Up(8), EAGAIN], [Up(3), EPIPE], drain_timeout=5.0)
    r.pair.step(time.monotonic())  # a short write: the writer is full
    before = time.monotonic()
    r.pair.step(before)  # EPIPE: the drain starts
    deadline = r.pair.drain_deadline
    assert deadline is not None
    assert before + 5.0 <= deadline <= time.monotonic() + 5.0
    r.pair.check_deadline(deadline - 0.001)
    assert r.pair.result is None
    r.pair.check_deadline(deadline)
    assert r.pair.result == 3


@pytest.mark.parametrize("code", [errno.EIO, errno.ENOSPC, errno.EBADF])
def test_other_write_error_ends_the_pair_with_that_error(code: int) -> None:
    r = rig(data_of(100), writer_script=[Up(5), Fail(code)])
    result = run(r.pair)
    assert isinstance(result, OSError)
    assert result.errno == code
    assert not r.pair.draining
    assert r.writer.out == data_of(5)
    assert not r.reader.eof_seen, "an error ends the pair at once: no drain"


@pytest.mark.parametrize("code", [errno.EIO, errno.EINVAL, errno.EBADF])
def test_read_error_ends_the_pair_with_that_error(code: int) -> None:
    r = rig(b"abcdef", reader_script=[Up(3), Fail(code)])
    result = run(r.pair)
    assert isinstance(result, OSError)
    assert result.errno == code
    assert r.writer.out == b"abc", "bytes read before the error were written"


def test_eof_after_pending_bytes_ends_once_they_are_written() -> None:
    r = rig(b"abc", writer_script=[Up(1), EAGAIN, Up(1), EAGAIN])
    r.pair.step(time.monotonic())
    r.pair.step(time.monotonic())
    assert r.pair.result is None
    assert not r.pair.eof, "no read while bytes are pending"
    assert run(r.pair) == 3
    assert r.pair.eof


def test_blocking_mode_writer_gets_one_bounded_write_per_readiness() -> None:
    data = data_of(10_000)
    r = rig(data, buffer_size=10_000, writer_loops=False)
    r.pair.step(time.monotonic())
    assert (r.reader.reads, r.writer.writes) == (1, 0), "not written unasked"
    assert r.pair.wanted_events() == (0, POLL_WRITE)
    r.pair.step(time.monotonic())
    assert r.writer.writes == 1
    assert len(r.writer.out) == _BLOCKING_WRITE_CHUNK
    assert run(r.pair) == 10_000
    assert r.writer.out == data


def test_blocking_mode_reader_gets_one_read_per_step() -> None:
    r = rig(data_of(100), buffer_size=10, reader_loops=False)
    r.pair.step(time.monotonic())
    assert r.reader.reads == 1
    # The writer is non-blocking: written in the same step. The reader is
    # not read again without its own readiness (the read could block the
    # driver for ever).
    assert r.writer.out == data_of(10)
    assert r.pair.wanted_events() == (POLL_READ, 0)
    r.pair.step(time.monotonic())
    assert r.reader.reads == 2
    assert run(r.pair) == 100


@pytest.mark.parametrize("end", ["reader", "writer"])
def test_an_end_made_blocking_under_the_pair_gets_one_call_per_readiness(
    end: str,
) -> None:
    # Behaviour 3.8: whoever else holds the open file may clear O_NONBLOCK.
    r = rig(data_of(100), buffer_size=10)
    r.pair.step(time.monotonic())
    assert r.writer.out == data_of(100), "non-blocking: many calls in one step"
    r = rig(data_of(100), buffer_size=10)
    fd = r.pair.reader if end == "reader" else r.pair.writer
    r.system.loops[fd] = False  # cleared after the pair switched it
    r.pair.step(time.monotonic())
    calls = [op for op in r.system.log if op[0] in {"read", "write"}]
    # Reader: read (asked), write, then no second read. Writer: read (asked),
    # then no write until the writer says it is ready.
    assert len(calls) == (2 if end == "reader" else 1), calls
    assert ("flags", fd) in r.system.log, "the flag is asked before a further call"
    assert run(r.pair) == 100
    assert r.writer.out == data_of(100)


def test_an_always_ready_pair_yields_after_its_budget() -> None:
    r = rig(data_of(64 * 1024), buffer_size=1024)
    r.pair.step(time.monotonic())
    assert r.pair.result is None
    assert r.reader.reads == _STEP_BUDGET
    assert r.pair.written == (_STEP_BUDGET - 1) * 1024, "the last read is pending"


def test_woken_by_concerns_only_the_awaited_end() -> None:
    r = rig(b"abcdef", reader_script=[EAGAIN], writer_script=[Up(1), EAGAIN])
    pair, rfd, wfd = r.pair, r.pair.reader, r.pair.writer
    pair.step(time.monotonic())  # reader would block
    assert pair.woken_by({rfd: select.POLLIN})
    assert pair.woken_by({rfd: select.POLLHUP}), "a hang-up is read to EOF"
    assert not pair.woken_by({wfd: select.POLLOUT})
    pair.step(time.monotonic())  # one byte written, then the writer blocks
    assert pair.woken_by({wfd: select.POLLOUT})
    assert pair.woken_by({wfd: select.POLLERR})
    assert not pair.woken_by({rfd: select.POLLIN})


def test_woken_by_concerns_only_the_awaited_events() -> None:
    # One descriptor can be this pair's reader and another pair's writer:
    # the POLLOUT the other asked for must not wake this one to a read.
    r = rig(b"abcdef", reader_script=[EAGAIN])
    pair, rfd = r.pair, r.pair.reader
    pair.step(time.monotonic())  # reader would block
    assert not pair.woken_by({rfd: select.POLLOUT})
    assert pair.woken_by({rfd: select.POLLOUT | select.POLLIN})


def test_release_puts_back_both_ends_once() -> None:
    r = rig(b"")
    assert r.system.users == {r.pair.reader: 1, r.pair.writer: 1}
    r.pair.release()
    r.pair.release()
    assert r.system.all_released()


def test_refused_writer_releases_the_reader() -> None:
    system = FakeSystem()
    rfd, wfd = system.add(FakeReader(b""), FakeWriter())
    system.refuse_acquire.add(wfd)
    with pytest.raises(PermissionError):
        Pair(0, rfd, wfd, 16, None, ops=system.ops())
    assert system.all_released()


# ---------------------------------------------------------------------------
# The driver on fake ends
# ---------------------------------------------------------------------------


class Outcomes:
    """What a driver reported, through its ``on_done``."""

    def __init__(self) -> None:
        self.results: dict[int, PairResult] = {}
        self.calls: list[int] = []

    def on_done(self, index: int, result: PairResult) -> None:
        assert index not in self.results, f"pair {index} reported twice"
        self.results[index] = result
        self.calls.append(index)


def test_driver_runs_every_pair_to_its_end_and_releases_each() -> None:
    system = FakeSystem()
    inputs = [data_of(n) for n in (0, 1, 999, 5000)]
    rigs = [
        (FakeReader(data, [Up(7), EAGAIN]), FakeWriter([EAGAIN])) for data in inputs
    ]
    pairs = [system.add(reader, writer) for reader, writer in rigs]
    outcomes = Outcomes()
    driver = _Driver(outcomes.on_done, ops=system.ops())
    driver.add(pairs, 64, None)
    driver.run()
    assert outcomes.results == {i: len(data) for i, data in enumerate(inputs)}
    assert [writer.out for _, writer in rigs] == inputs
    assert driver.progress() == [len(data) for data in inputs]
    assert system.all_released()


def test_driver_reports_a_refused_pair_at_once() -> None:
    system = FakeSystem()
    good = system.add(FakeReader(b"abc"), FakeWriter())
    outcomes = Outcomes()
    driver = _Driver(outcomes.on_done, ops=system.ops())
    driver.add([good, (7, 8)], 64, None)
    assert list(outcomes.results) == [1], "reported before anything runs"
    refused = outcomes.results[1]
    assert isinstance(refused, OSError)
    assert refused.errno == errno.EBADF
    driver.run()
    assert outcomes.results[0] == 3
    assert driver.progress() == [3, 0]
    assert system.all_released()


def test_driver_releases_every_pair_ended_in_a_turn_before_a_raising_callback() -> None:
    """Two pairs end in the same turn; the first callback raises."""
    system = FakeSystem()
    pairs = [system.add(FakeReader(b""), FakeWriter()) for _ in range(2)]

    class CallbackError(Exception):
        pass

    def on_done(index: int, result: PairResult) -> None:
        raise CallbackError(index, result)

    driver = _Driver(on_done, ops=system.ops())
    driver.add(pairs, 64, None)
    with pytest.raises(CallbackError):
        driver.run()
    assert system.all_released()


def test_driver_steps_a_pair_only_when_its_end_is_ready() -> None:
    system = FakeSystem()
    late = system.add(FakeReader(b"late"), FakeWriter(), reader_ready=[False] * 5)
    early = system.add(FakeReader(b"early" * 100, [Up(5), EAGAIN] * 100), FakeWriter())
    outcomes = Outcomes()
    driver = _Driver(outcomes.on_done, ops=system.ops())
    driver.add([late, early], 8, None)
    driver.run()
    assert outcomes.results == {0: 4, 1: 500}
    late_reader = late[0]
    first_ready = next(
        i
        for i, (what, fds) in enumerate(system.log)
        if what == "poll" and late_reader in typ.cast("frozenset[int]", fds)
    )
    first_read = system.log.index(("read", late_reader))
    assert first_read > first_ready > 5, "five polls found it not ready"


def test_cancel_all_releases_the_pairs_still_running() -> None:
    system = FakeSystem()
    pairs = [system.add(FakeReader(b"x"), FakeWriter()) for _ in range(3)]
    outcomes = Outcomes()
    driver = _Driver(outcomes.on_done, ops=system.ops())
    driver.add(pairs, 64, None)
    driver.cancel_all()
    assert system.all_released()
    driver.run()  # nothing left to run
    assert outcomes.results == {}


# ---------------------------------------------------------------------------
# Arbitrary schedules
# ---------------------------------------------------------------------------

io_act = st.one_of(
    st.integers(1, 50).map(Up),
    st.sampled_from([EAGAIN, EINTR]),
)
scripts = st.lists(io_act, max_size=60)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """One pair's input and how its ends behave."""

    data: bytes
    reader_script: list[Act]
    writer_script: list[Act]
    break_at: int | None
    """Where in the writer's script the downstream breaks (``None``: never)."""
    reader_loops: bool
    writer_loops: bool
    reader_ready: list[bool]
    writer_ready: list[bool]

    def writer_acts(self) -> list[Act]:
        acts = list(self.writer_script)
        if self.break_at is not None:
            acts.insert(min(self.break_at, len(acts)), EPIPE)
        return acts


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    return Schedule(
        data=data_of(draw(st.integers(0, 2000))),
        reader_script=draw(scripts),
        writer_script=draw(scripts),
        break_at=draw(st.none() | st.integers(0, 60)),
        reader_loops=draw(st.booleans()),
        writer_loops=draw(st.booleans()),
        reader_ready=draw(st.lists(st.booleans(), max_size=8)),
        writer_ready=draw(st.lists(st.booleans(), max_size=8)),
    )


def check_outcome(
    schedule: Schedule,
    result: PairResult,
    reader: FakeReader,
    writer: FakeWriter,
    buffer_size: int,
) -> None:
    """The properties every schedule must keep."""
    data = schedule.data
    assert isinstance(result, int), result
    assert bytes(writer.out) == data[: len(writer.out)], "a prefix of the input"
    assert result == len(writer.out), "the count is what arrived"
    if not writer.broken:
        assert bytes(writer.out) == data
    assert writer.writes_after_break == 0
    assert reader.eof_seen, "the reader is drained to EOF"
    assert reader.pos == len(data)
    assert reader.reads_after_eof == 0


@settings(max_examples=150, deadline=None)
@given(schedule=schedules(), buffer_size=st.integers(1, 64))
def test_any_schedule_delivers_a_prefix_and_counts_it(
    schedule: Schedule, buffer_size: int
) -> None:
    r = rig(
        schedule.data,
        schedule.reader_script,
        schedule.writer_acts(),
        buffer_size=buffer_size,
        reader_loops=schedule.reader_loops,
        writer_loops=schedule.writer_loops,
    )
    result = run(r.pair)
    check_outcome(schedule, result, r.reader, r.writer, buffer_size)
    assert r.pair.written == result
    lost = len(schedule.data) - r.pair.written - r.pair.discarded
    assert 0 <= lost <= (buffer_size if r.writer.broken else 0), (
        "only bytes pending at the break are dropped"
    )


@settings(max_examples=60, deadline=None)
@given(
    batch=st.lists(schedules(), min_size=1, max_size=4), buffer_size=st.integers(1, 64)
)
def test_a_driver_finishes_every_schedule_of_a_batch(
    batch: list[Schedule], buffer_size: int
) -> None:
    system = FakeSystem()
    ends = [
        (FakeReader(s.data, s.reader_script), FakeWriter(s.writer_acts()))
        for s in batch
    ]
    pairs = [
        system.add(
            reader,
            writer,
            reader_loops=s.reader_loops,
            writer_loops=s.writer_loops,
            reader_ready=s.reader_ready,
            writer_ready=s.writer_ready,
        )
        for s, (reader, writer) in zip(batch, ends, strict=True)
    ]
    outcomes = Outcomes()
    driver = _Driver(outcomes.on_done, ops=system.ops())
    driver.add(pairs, buffer_size, None)
    driver.run()
    assert sorted(outcomes.results) == list(range(len(batch))), "each reported once"
    for index, (s, (reader, writer)) in enumerate(zip(batch, ends, strict=True)):
        check_outcome(s, outcomes.results[index], reader, writer, buffer_size)
    assert driver.progress() == [len(writer.out) for _, writer in ends]
    assert system.all_released()
