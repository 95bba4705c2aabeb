"""The Python backend's pair: one transfer's state machine and its descriptors.

Owns what `cuprum._pumps.python_backend`' driver steps for each pair: how a descriptor
is prepared (`_io_kind`: always ready, switchable or kept blocking; the
process-wide table of switched ``O_NONBLOCK`` flags), `FdOps` (every
descriptor call a pair or driver makes, the seam the state machine's tests
fill with fakes) and `Pair` (one reader->writer transfer driven by
readiness: copying, draining behind a broken downstream, done).

Invariants:

* a caller's descriptor is never closed;
* a descriptor's ``O_NONBLOCK`` flag is switched only for descriptors the
  caller made (never for descriptors 0 to 2, another descriptor of their
  file, or a terminal), counted per open file description across pairs and
  batches, and restored once its last pair releases it;
* a pair holds at most ``buffer_size`` unwritten bytes, or a page when
  ``buffer_size`` is smaller (`WHOLE_READ`: no read drops part of a
  packet); a write to a broken
  downstream (``EPIPE``/``ECONNRESET``) starts the drain: the reader is read
  and discarded until EOF (or the drain bound), and the pair ends with the
  bytes written before the break.
"""

from __future__ import annotations

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

from cuprum._pumps.options import check_ends, check_source

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._pumps.options import PairResult

_STEP_BUDGET: typ.Final = 16
"""Reads per pair per turn, so one always-ready pair cannot starve others."""
WHOLE_READ: typ.Final = max(os.sysconf("SC_PAGE_SIZE"), select.PIPE_BUF)
"""The least a read asks for: a pipe whose writer is in packet mode
(``O_DIRECT``) returns one packet (at most a page) per read and drops what
the read had no room for; the read end cannot tell that mode."""
_BLOCKING_WRITE_CHUNK: typ.Final = 4096
"""Largest write to a descriptor left in blocking mode after ``POLLOUT``."""
POLL_READ: typ.Final = select.POLLIN | select.POLLPRI
"""The ``poll`` events a pair (or a driver's wake-up pipe) waits for to read."""
POLL_WRITE: typ.Final = select.POLLOUT
"""The ``poll`` events a pair waits for to write."""
_TROUBLE: typ.Final = select.POLLHUP | select.POLLERR | select.POLLNVAL
"""Events ``poll`` reports whatever was asked: the next call says what."""
_DOWNSTREAM_GONE: typ.Final = (errno.EPIPE, errno.ECONNRESET)


# ---------------------------------------------------------------------------
# Descriptor handling
# ---------------------------------------------------------------------------


_IoKind = typ.Literal["always-ready", "switchable", "keep-blocking"]


def _io_kind(fd: int) -> tuple[_IoKind, os.stat_result]:
    """Classify ``fd`` for the pump (behaviour sections 2.8 and 2.10).

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


class Poller(typ.Protocol):
    """What the driver uses of a ``select.poll`` object."""

    def register(self, fd: int, eventmask: int, /) -> None: ...

    def poll(self, timeout: float | None, /) -> list[tuple[int, int]]: ...


@dataclasses.dataclass(frozen=True, slots=True)
class FdOps:
    """Every descriptor call of `Pair` and the driver (`python_backend`), in one place.

    `OS_OPS`, the default, is the system's. The state machine's tests hand
    in fakes (scripted readiness, short reads and writes, errors) and drive
    pairs and drivers without a descriptor. A pair calls ``self.ops.read``
    where it called ``os.read``: the hot path costs what it did.
    """

    read: cabc.Callable[[int, int], bytes]
    write: cabc.Callable[[int, memoryview], int]
    poll: cabc.Callable[[], Poller]
    check_ends: cabc.Callable[[int, int], None]
    acquire: cabc.Callable[[int], tuple[bool, _Description | None]]
    release: cabc.Callable[[int, _Description | None], None]
    nonblocking: cabc.Callable[[int], bool]
    """Whether an end's ``O_NONBLOCK`` is (still) set: someone else may
    clear it under a pair (behaviour 3.8)."""
    whole_read: int = 1
    """The least a read asks for, whatever ``buffer_size`` (`WHOLE_READ`
    for real descriptors; a script's reads lose nothing)."""
    open_privately: cabc.Callable[[int, bool], int | None] = lambda _fd, _write: None
    """For an end kept blocking: a descriptor of a new, non-blocking open
    file description of the same terminal, opened for writing when the flag
    says so, or ``None`` (`_open_privately`)."""
    close: cabc.Callable[[int], None] = os.close


def _nonblocking(fd: int) -> bool:
    return not os.get_blocking(fd)


def _open_privately(fd: int, write: bool) -> int | None:
    """Open the terminal ``fd`` names afresh, non-blocking, or say ``None``.

    A terminal kept blocking shares its open file description, and so its
    ``O_NONBLOCK``, with other processes. A description of the pump's own
    (``/proc/self/fd``, Linux) is never switched by anyone else, so its
    reads and writes never block: a second reader of the same terminal
    taking the readiness between ``poll`` and the read leaves
    ``BlockingIOError``, not a driver held until the next key (behaviour
    3.8). Only a terminal whose device an open gives again
    (`_reopens_as_itself`); ``None`` for anything else, or where the open
    fails (no ``/proc``, no permission): the end is then served once per
    readiness event, as before.
    """
    try:
        info = os.fstat(fd)
        if not _reopens_as_itself(fd, info):
            return None
        access = os.O_WRONLY if write else os.O_RDONLY
        flags = access | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        own = os.open(f"/proc/self/fd/{fd}", flags)
    except OSError:
        return None
    try:
        if own < 3:  # never one of the standard numbers
            low, own = own, fcntl.fcntl(own, fcntl.F_DUPFD_CLOEXEC, 3)
            os.close(low)
        mine = os.fstat(own)
    except OSError:
        os.close(own)
        return None
    if mine.st_rdev != info.st_rdev:
        os.close(own)
        return None
    return own


_PTY_SLAVE_MAJORS: typ.Final = range(136, 144)
"""Linux's pseudo-terminal slaves (``/dev/pts/N``)."""
_VT_MAJOR: typ.Final = 4
"""Linux's virtual consoles (``/dev/ttyN``, minor 1 to 63; minor 0,
``/dev/tty0``, is whichever console is in front)."""
_VT_MINORS: typ.Final = range(1, 64)


def _reopens_as_itself(fd: int, info: os.stat_result) -> bool:
    """Say whether ``fd`` is a terminal that an open of its device gives again.

    A pty's slave or a virtual console. Not the aliases (``/dev/tty``,
    ``/dev/console``, ``/dev/tty0``), and not ``/dev/ptmx``, an open of which
    makes a new terminal: a pty's master would be swapped for a stranger.
    """
    if not (stat.S_ISCHR(info.st_mode) and os.isatty(fd)):
        return False
    major, minor = os.major(info.st_rdev), os.minor(info.st_rdev)
    return major in _PTY_SLAVE_MAJORS or (major == _VT_MAJOR and minor in _VT_MINORS)


def _check_pair(reader: int, writer: int) -> None:
    """Check both ends' directions (``EBADF``) and the reader's kind."""
    check_ends(reader, writer)
    check_source(reader)


OS_OPS: typ.Final = FdOps(
    os.read,
    os.write,
    select.poll,
    _check_pair,
    _NONBLOCK.acquire,
    _NONBLOCK.release,
    _nonblocking,
    WHOLE_READ,
    _open_privately,
)


# ---------------------------------------------------------------------------
# One pair's state machine
# ---------------------------------------------------------------------------


class Pair:
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
        "own",
        "pending",
        "read_size",
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
        ops: FdOps = OS_OPS,
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
        self.read_size = max(buffer_size, ops.whole_read)
        self.own: list[int] = []
        self.reader_loops, self.reader_key = ops.acquire(reader)
        try:
            self.writer_loops, self.writer_key = ops.acquire(writer)
        except OSError:
            ops.release(reader, self.reader_key)
            raise
        self.released = False

    def open_privately(self) -> None:
        """Serve a terminal end kept blocking through a description of its own.

        A second step after the pair is made: the driver takes it once every
        pair of its batch has been checked, so the descriptor it opens
        cannot take the number of a descriptor a later pair names but the
        caller closed. Never raises (``None`` from ``ops.open_privately``
        leaves the end as it is).
        """
        if not self.reader_loops and self.reader_key is None:
            self.reader, self.reader_loops = self._own_copy(self.reader, write=False)
        if not self.writer_loops and self.writer_key is None:
            self.writer, self.writer_loops = self._own_copy(self.writer, write=True)

    def _own_copy(self, fd: int, *, write: bool) -> tuple[int, bool]:
        """Return our own descriptor for ``fd`` and ``True``, else ``fd``, ``False``."""
        own = self.ops.open_privately(fd, write)
        if own is None:
            return fd, False
        self.own.append(own)
        return own, True

    def release(self) -> None:
        """Put back the flags this pair switched, close its own descriptors (once)."""
        if not self.released:
            self.released = True
            self.ops.release(self.writer, self.writer_key)
            self.ops.release(self.reader, self.reader_key)
            for fd in self.own:
                self.ops.close(fd)

    @property
    def draining(self) -> bool:
        return self.drain_deadline is not None

    def wanted_events(self) -> tuple[int, int]:
        """Return the poll events wanted on (reader, writer); 0 means none."""
        if self.pending and not self.draining:
            return 0, POLL_WRITE
        return POLL_READ, 0

    def woken_by(self, ready: dict[int, int]) -> bool:
        """Say whether poll results ``ready`` concern what this pair waits for.

        Only the events it waits for count (or a hang-up or error, which the
        call reports): one descriptor may be one pair's reader and another's
        writer, and its ``POLLOUT`` must not send the first to a read that
        could block (`step`'s first call is made without a check).
        """
        reader_events, writer_events = self.wanted_events()
        reader_woken = ready.get(self.reader, 0) & (
            reader_events and reader_events | _TROUBLE
        )
        writer_woken = ready.get(self.writer, 0) & (
            writer_events and writer_events | _TROUBLE
        )
        return bool(reader_woken or writer_woken)

    def step(self, now: float) -> None:
        """Move bytes until an end would block, the budget is spent or done.

        The first call goes to the end ``poll`` found ready (the one
        `wanted_events` named); a further call goes only to an end that is
        in non-blocking mode just before it (`_free`). So an end left
        blocking (a terminal), or made blocking by someone else (a
        duplicate's owner clearing ``O_NONBLOCK``, behaviour 3.8), gets one
        bounded call per readiness event and never holds the driver.
        """
        asked = True
        try:
            for _ in range(_STEP_BUDGET):
                if self.pending:
                    if not self._write(asked=asked):
                        return
                    asked = False
                if self.result is not None:
                    return
                if not self._read(now, asked=asked):
                    return
                asked = False
        except OSError as error:
            self.result = error

    def check_deadline(self, now: float) -> None:
        """Finish a bounded drain whose time is up."""
        if self.result is None and self.drain_deadline and now >= self.drain_deadline:
            self.result = self.written

    def _free(self, fd: int, key: _Description | None, loops: bool) -> bool:
        """Say whether a call on ``fd`` cannot block, whatever its readiness.

        A switched end (``key``) is asked each time: its flag is shared
        with whoever else holds the open file.
        """
        return loops if key is None else self.ops.nonblocking(fd)

    def _write(self, *, asked: bool) -> bool:
        """Write pending bytes; return whether to go on without a readiness event.

        A writer in blocking mode gets at most `_BLOCKING_WRITE_CHUNK`
        bytes, and only when ``poll`` said it is ready (``asked``).
        """
        free = self._free(self.writer, self.writer_key, self.writer_loops)
        if not (asked or free):
            return False
        data = self.pending if free else self.pending[:_BLOCKING_WRITE_CHUNK]
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
        # A short write says the writer is full: wait for its readiness.
        return free and not self.pending

    def _read(self, now: float, *, asked: bool) -> bool:
        """Read one chunk; return whether to go on without a readiness event."""
        if not (asked or self._free(self.reader, self.reader_key, self.reader_loops)):
            return False
        try:
            data = self.ops.read(self.reader, self.read_size)
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
        return True

    def _start_drain(self, now: float) -> None:
        self.pending = memoryview(b"")
        timeout = self.drain_timeout
        self.drain_deadline = now + timeout if timeout is not None else float("inf")
        if self.eof:
            self.result = self.written
