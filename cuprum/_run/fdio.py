"""A run's descriptors and output plumbing.

Owns the descriptors a pipeline run makes or is given, and what flows
through those that cuprum reads or writes itself (the hops are pumped by
`cuprum._pumps.calls`): `Fd` (one descriptor, closed exactly once), `Fds` (every
descriptor of a run, for the final clean-up; hop pipes enlarged to
`HOP_PIPE_SIZE`), `Redirect` (a ``stdin=``, ``stdout=`` or ``stderr=``
given to a run, checked by `check_redirect` and opened for the stage),
`Capture` (one output stream kept and/or echoed live, as text or bytes,
and told line by line to a run's observers when it has any),
`Reader` (a stage's stdout or stderr, read to EOF), `Writer` (the first
stage's input, written as the pipe drains), both on the run's reactor
(`cuprum._pumps.reactor`), and `readers_gone` (has a hop's downstream left).

Invariants: every descriptor cuprum makes or opens is ``O_CLOEXEC`` and
owned by one `Fd`, closed by whichever of its users comes first and never
twice; a descriptor or file object the caller gave is never closed; a
reader or writer closes its end when it ends, however it ends; waiting for
readiness goes through the run's reactor (``add_reader``/``add_writer``),
never a thread; a write is made with ``SIGPIPE`` blocked, so a reader that
left is ``EPIPE``, which ends the writing quietly.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses as dc
import errno
import fcntl
import os
import select
import subprocess
import sys
import typing as typ

from cuprum._pumps.threads import sigpipe_blocked

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._pumps.reactor import Reactor
    from cuprum.results import RunOutputOptions

HOP_PIPE_SIZE: typ.Final = 1 << 20
"""Capacity asked for each hop pipe (``F_SETPIPE_SZ``); refusals are ignored."""

_READ_CHUNK: typ.Final = 1 << 16
_F_SETPIPE_SZ: typ.Final[int | None] = getattr(fcntl, "F_SETPIPE_SZ", None)


# ---------------------------------------------------------------------------
# Descriptors
# ---------------------------------------------------------------------------


class Fd:
    """One descriptor this run made; closed exactly once."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    @property
    def number(self) -> int:
        """The descriptor number; ``ValueError`` once closed."""
        if self.fd is None:
            msg = "descriptor already closed"
            raise ValueError(msg)
        return self.fd

    def close(self) -> None:
        """Close the descriptor, unless it already is."""
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


class Fds:
    """Every descriptor of one run, for the final clean-up."""

    def __init__(self) -> None:
        self._all: list[Fd] = []

    def pipe(self, *, enlarge: bool = False) -> tuple[Fd, Fd]:
        """Make a pipe (read end, write end); ``enlarge`` for a hop's."""
        read, write = os.pipe2(os.O_CLOEXEC)
        ends = (Fd(read), Fd(write))
        self._all.extend(ends)
        if enlarge and _F_SETPIPE_SZ is not None:
            with contextlib.suppress(OSError):
                fcntl.fcntl(write, _F_SETPIPE_SZ, HOP_PIPE_SIZE)
        return ends

    def open(self, path: str | bytes, flags: int) -> Fd:
        """Open ``path`` (``O_CLOEXEC``, mode 0o666 less the umask) for the run."""
        end = Fd(os.open(path, flags | os.O_CLOEXEC, 0o666))
        self._all.append(end)
        return end

    def close_all(self) -> None:
        """Close every descriptor still open."""
        for end in self._all:
            with contextlib.suppress(OSError):
                end.close()


# ---------------------------------------------------------------------------
# Redirections: stdin=, stdout=, stderr=
# ---------------------------------------------------------------------------


class HasFileno(typ.Protocol):
    """A file object: anything with a ``fileno()`` method."""

    def fileno(self) -> int:
        """Return the object's descriptor."""
        ...


Redirection: typ.TypeAlias = "int | HasFileno | str | os.PathLike[str] | None"
"""What ``stdin=``, ``stdout=`` and ``stderr=`` accept."""

_PATH_FLAGS: typ.Final = {
    "stdin": os.O_RDONLY,
    "stdout": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    "stderr": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
}
"""How a path is opened per stream: read; create or truncate; append."""
_WANTED_ACCESS: typ.Final = {
    "stdin": (os.O_RDONLY, os.O_RDWR),
    "stdout": (os.O_WRONLY, os.O_RDWR),
    "stderr": (os.O_WRONLY, os.O_RDWR),
}


@dc.dataclass(frozen=True, slots=True)
class Redirect:
    """Where one standard stream of a run comes from or goes, not yet opened.

    Exactly one of: ``fd`` (the caller's descriptor, borrowed), ``path``
    (opened by the run, closed by it), ``devnull``, or ``join_stdout``
    (``stderr=subprocess.STDOUT``: each stage's stderr is its stdout).
    """

    name: str
    fd: int | None = None
    path: str | bytes | None = None
    devnull: bool = False
    join_stdout: bool = False
    flush: typ.Callable[[], object] | None = dc.field(default=None, compare=False)

    def open(self, fds: Fds) -> int:
        """Return the descriptor the stage gets; open a path now, owned by ``fds``.

        A file object's own buffer is flushed first, so what Python wrote to
        it comes before what the stage writes.
        """
        if self.flush is not None:
            self.flush()
        if self.fd is not None:
            return self.fd
        if self.devnull:
            return fds.open(os.devnull, _PATH_FLAGS[self.name] & ~os.O_CREAT).number
        path = typ.cast("str | bytes", self.path)
        try:
            return fds.open(path, _PATH_FLAGS[self.name]).number
        except FileNotFoundError as error:
            if os.fsdecode(path).startswith("/"):
                raise
            # A path relative to this process's directory, which cwd= (the
            # stages' directory) does not change: say so.
            here = os.getcwd()  # noqa: PTH109 - no pathlib: import cost
            msg = (
                f"{self.name}={os.fsdecode(path)!r} not found in {here!r}: "
                f"{self.name}= paths are taken from this process's working "
                "directory, not from cwd=; pass an absolute path"
            )
            raise FileNotFoundError(error.errno, msg, error.filename) from error


def check_redirect(name: str, value: object) -> Redirect | None:
    """Check what was given as ``stdin=``, ``stdout=`` or ``stderr=`` (``name``).

    ``None`` (the default) gives ``None``. A descriptor (or a file object's)
    must be open in the right direction now; a path is only checked for its
    type (``stdin=``'s is opened, and found missing, before any spawn).

    Raises
    ------
    TypeError
        For anything but ``None``, an ``int``, a file object or a path.
    ValueError
        For ``subprocess.PIPE`` or another negative number,
        ``subprocess.STDOUT`` anywhere but ``stderr=``, or a file object
        without a descriptor.
    OSError
        ``EBADF`` for a descriptor that is not open, or not open for
        reading (``stdin=``) or writing.

    """
    if value is None:
        return None
    if isinstance(value, bool):
        msg = f"{name}= must be a descriptor, file object or path, not a bool"
        raise TypeError(msg)
    if isinstance(value, int):
        return _special(name, value) or Redirect(name, fd=_checked_fd(name, value))
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if "\0" in str(path):
            msg = f"{name}= path contains a NUL character"
            raise ValueError(msg)
        return Redirect(name, path=path)
    fileno = getattr(value, "fileno", None)
    if not callable(fileno):
        msg = (
            f"{name}= must be None, a descriptor, a file object with fileno() "
            f"or a path, not {type(value).__name__}"
        )
        raise TypeError(msg)
    try:
        fd = fileno()
    except (OSError, ValueError) as error:  # io.UnsupportedOperation is both
        msg = f"{name}= got a file object without a descriptor ({error})"
        raise ValueError(msg) from error
    flush = getattr(value, "flush", None) if name != "stdin" else None
    return Redirect(name, fd=_checked_fd(name, fd), flush=flush)


def _special(name: str, value: int) -> Redirect | None:
    """Read the negative constants of `subprocess`; ``None`` for a descriptor."""
    if value == subprocess.DEVNULL:
        return Redirect(name, devnull=True)
    if value == subprocess.STDOUT and name == "stderr":
        return Redirect(name, join_stdout=True)
    if value == subprocess.PIPE:
        said = {
            "stdin": "the first stage reads /dev/null, or input= gives it data",
            "stdout": "the last stage's stdout is captured by default",
            "stderr": "every stage's stderr is captured by default",
        }[name]
        msg = f"{name}=subprocess.PIPE is not needed: {said}; leave {name}= at None"
        raise ValueError(msg)
    if value < 0:
        msg = f"{name}= got {value}, which is not a descriptor"
        raise ValueError(msg)
    return None


def _checked_fd(name: str, fd: int) -> int:
    try:
        access = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
    except OSError as error:
        msg = f"{name}= descriptor {fd} is not open"
        raise OSError(error.errno, msg) from error
    if access not in _WANTED_ACCESS[name]:
        way = "reading" if name == "stdin" else "writing"
        msg = f"{name}= descriptor {fd} is not open for {way}"
        raise OSError(errno.EBADF, msg)
    return fd


# ---------------------------------------------------------------------------
# Output readers
# ---------------------------------------------------------------------------


class LineSink(typ.Protocol):
    """What tells a stream's lines to observers (`cuprum._run.observer.LineEvents`)."""

    def feed(self, data: bytes) -> None:
        """Take a chunk as it arrives."""

    def finish(self) -> None:
        """Take the end of the stream."""


class Capture:
    """Collect one output stream; optionally echo it live.

    As text (decoded incrementally, written to ``sink``, or when it is
    ``None`` to ``sys.stdout`` or ``sys.stderr`` as it is then, named by
    ``sink_name``) or, with ``text=False``, as the raw bytes (written to
    that stream's ``buffer``; a stream without one gets the decoded text
    instead). ``lines``, given only when the run is observed, is fed every
    chunk too and told the end.
    """

    def __init__(
        self,
        options: RunOutputOptions,
        sink_name: str,
        sink: typ.IO[str] | None = None,
        lines: LineSink | None = None,
    ) -> None:
        self.lines = lines
        self._keep = options.capture
        self._options = options
        self._chunks: list[bytes] = []
        self._sink = sink
        self._sink_name = sink_name if options.echo else None
        self._decoder = codecs.getincrementaldecoder(options.encoding)(
            errors=options.errors
        )

    def feed(self, data: bytes) -> None:
        """Keep and/or echo a chunk as it arrives."""
        if self._keep:
            self._chunks.append(data)
        if self._sink_name is not None:
            self._echo(data)
        if self.lines is not None:
            self.lines.feed(data)

    def _echo(self, data: bytes, *, final: bool = False) -> None:
        if self._sink_name is None:
            return
        sink = self._sink or typ.cast("typ.TextIO", getattr(sys, self._sink_name))
        raw = getattr(sink, "buffer", None) if not self._options.text else None
        if raw is not None:
            if data:
                raw.write(data)
                raw.flush()
            return
        text = self._decoder.decode(data, final=final)
        if text:
            sink.write(text)
            sink.flush()

    def finish(self) -> None:
        """Echo, and tell, what the decoders still hold (the stream ended)."""
        if self._sink_name is not None:
            self._echo(b"", final=True)
            self._sink_name = None
        lines, self.lines = self.lines, None
        if lines is not None:
            lines.finish()

    def value(self) -> str | bytes | None:
        """Return everything kept (``bytes`` without ``text``), or ``None``."""
        if not self._keep:
            return None
        data = b"".join(self._chunks)
        if not self._options.text:
            return data
        return data.decode(self._options.encoding, self._options.errors)


class Reader:
    """Read ``end`` to EOF into ``capture``, on ``reactor``; close ``end`` at the end.

    One chunk is read each time the end is readable, so a fast producer
    never starves the reactor's other callbacks (exits, timeouts,
    termination). `done` turns true, and ``on_end(error)`` is called once,
    at EOF, on an error (of the read or of the capture, which is passed)
    or when `stop` gives up on the rest.
    """

    def __init__(
        self,
        reactor: Reactor,
        end: Fd,
        capture: Capture,
        on_end: cabc.Callable[[BaseException | None], object],
    ) -> None:
        self._reactor = reactor
        self._end = end
        self._capture = capture
        self._on_end = on_end
        self.done = False
        fd = end.number
        os.set_blocking(fd, False)
        reactor.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._end.number, _READ_CHUNK)
        except BlockingIOError:
            return
        except Exception as error:  # noqa: BLE001 - handed to the run
            self._finish(error)
            return
        if not data:
            self._finish(None)
            return
        try:
            self._capture.feed(data)
        except Exception as error:  # noqa: BLE001 - handed to the run
            self._finish(error)

    def stop(self) -> None:
        """Give up on the rest (the run's clean-up ran out of time)."""
        self._finish(None)

    def _finish(self, error: BaseException | None) -> None:
        if self.done:
            return
        self.done = True
        self._reactor.remove_reader(self._end.number)
        try:
            self._capture.finish()
        except Exception as late:  # noqa: BLE001 - handed to the run
            error = error or late
        self._end.close()
        self._on_end(error)


class Writer:
    """Write ``data`` to ``end`` as it drains, on ``reactor``; then close ``end``.

    A reader that goes away first (``EPIPE``) ends the writing quietly: a
    first stage may stop reading its input (``head -n 1``). ``SIGPIPE`` is
    blocked around each write, so that holds whatever its disposition.
    ``told``, when given, is told the bytes written and the error that
    stopped the writing (``None`` when all of ``data`` went); ``on_end``
    is called once, with an error ``told`` raised, if it did.
    """

    def __init__(
        self,
        reactor: Reactor,
        data: bytes,
        end: Fd,
        told: cabc.Callable[[int, OSError | None], object] | None,
        on_end: cabc.Callable[[BaseException | None], object],
    ) -> None:
        self._reactor = reactor
        self._data = data
        self._view = memoryview(data)
        self._end = end
        self._told = told
        self._on_end = on_end
        self.done = False
        os.set_blocking(end.number, False)
        self._watching = False
        self._writable()

    def _writable(self) -> None:
        stopped: OSError | None = None
        fd = self._end.number
        try:
            while self._view:
                with sigpipe_blocked():
                    self._view = self._view[os.write(fd, self._view) :]
        except BlockingIOError:
            if not self._watching:
                self._watching = True
                self._reactor.add_writer(fd, self._writable)
            return
        except OSError as error:
            stopped = error
        self._finish(stopped)

    def stop(self) -> None:
        """Give up on the rest (the run's clean-up ran out of time)."""
        self._finish(None)

    def _finish(self, stopped: OSError | None) -> None:
        if self.done:
            return
        self.done = True
        if self._watching:
            self._reactor.remove_writer(self._end.number)
        self._end.close()
        error: BaseException | None = None
        if stopped is not None and not isinstance(
            stopped, (BrokenPipeError, ConnectionResetError)
        ):
            error = stopped
        if self._told is not None:
            try:
                self._told(len(self._data) - len(self._view), stopped)
            except Exception as raised:  # noqa: BLE001 - handed to the run
                error = error or raised
        self._on_end(error)


def readers_gone(write_fd: int) -> bool:
    """Say whether nobody reads the pipe ``write_fd`` writes to (``POLLERR``)."""
    poller = select.poll()
    poller.register(write_fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))
