"""What every pump call shares, whichever backend serves it.

Owns the defaults and limits of a pump call (`DEFAULT_BUFFER_SIZE`,
`MAX_BUFFER_SIZE`, `DEFAULT_PROGRESS_INTERVAL`), the types its results and
callbacks take (`PairResult`, `PairCallback`, `ProgressCallback`), the
validators of its arguments and `PumpOptions` (the validated keywords);
the interface both backends offer, `PumpBackend`, is `cuprum._pumps.choice`'s.

Invariants: a validator returns its argument (as the type the backends
expect) or raises ``TypeError``/``ValueError`` naming it; a `PumpOptions`
holds only validated values; `pair_error` and `check_ends` open nothing.
This module imports no other part of cuprum but `cuprum._pumps.errors`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import math
import os
import stat
import typing as typ

from cuprum._pumps.errors import EngineError

if typ.TYPE_CHECKING:
    import collections.abc as cabc


DEFAULT_BUFFER_SIZE: typ.Final = 65536
"""Default size of one pair's buffer, in bytes (64 KiB)."""

MAX_BUFFER_SIZE: typ.Final = 1 << 30
"""Largest accepted ``buffer_size`` (1 GiB)."""

_MAX_FD: typ.Final = (1 << 31) - 1

PairResult = int | OSError | EngineError
"""What one pair ends with: the bytes written, or the error that ended it
(``EngineError`` when the backend itself failed it)."""

PairCallback = typ.Callable[[int, PairResult], object]
"""Called with a pair's index and result as soon as that pair ends."""

ProgressCallback = typ.Callable[[list[int]], object]
"""Called with the bytes written so far by each pair of a running batch."""

DEFAULT_PROGRESS_INTERVAL: typ.Final = 0.25
"""Seconds between two progress reports, by default."""


def validate_buffer_size(buffer_size: object) -> int:
    """Return ``buffer_size`` if it is a valid pair buffer size.

    Raises
    ------
    TypeError
        If ``buffer_size`` is not an integer.
    ValueError
        If ``buffer_size`` is not in ``1..2**30``.

    """
    if isinstance(buffer_size, bool) or not isinstance(buffer_size, int):
        msg = f"buffer_size must be an int, not {type(buffer_size).__name__}"
        raise TypeError(msg)
    if not 0 < buffer_size <= MAX_BUFFER_SIZE:
        msg = f"buffer_size must be between 1 and {MAX_BUFFER_SIZE}, got {buffer_size}"
        raise ValueError(msg)
    return buffer_size


def validate_fd(fd: object, role: str) -> int:
    """Return ``fd`` if it can name a descriptor; ``role`` names it in errors.

    Raises
    ------
    TypeError
        If ``fd`` is not an integer.
    ValueError
        If ``fd`` is negative or does not fit a C ``int``.

    """
    if isinstance(fd, bool) or not isinstance(fd, int):
        msg = f"{role} must be an int file descriptor, not {type(fd).__name__}"
        raise TypeError(msg)
    if fd < 0:
        msg = f"{role} must be a non-negative file descriptor, got {fd}"
        raise ValueError(msg)
    if fd > _MAX_FD:
        msg = f"{role} {fd} is too large for a file descriptor"
        raise ValueError(msg)
    return fd


def validate_drain_timeout(drain_timeout: object) -> float | None:
    """Return ``drain_timeout`` as seconds, or ``None`` for "until EOF".

    Raises
    ------
    TypeError
        If it is neither ``None`` nor a real number.
    ValueError
        If it is negative or not finite.

    """
    return (
        None if drain_timeout is None else check_seconds(drain_timeout, "drain_timeout")
    )


def check_seconds(value: object, name: str) -> float:
    """Return ``value`` as a number of seconds, named ``name`` in errors.

    Raises
    ------
    TypeError
        If it is not a real number (``bool`` included).
    ValueError
        If it is negative or not finite (NaN, infinity).

    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number of seconds, not {type(value).__name__}"
        raise TypeError(msg)
    seconds = float(value)
    if not 0.0 <= seconds < float("inf"):
        msg = f"{name} must be a finite number >= 0, got {value}"
        raise ValueError(msg)
    return seconds


def check_timeout(value: object, name: str, *, passed: bool = False) -> float | None:
    """Return a timeout as seconds, or ``None`` for none; ``name`` it in errors.

    ``passed``: zero or less is allowed and means the deadline has already
    passed (a run's ``timeout``); otherwise it must be >= 0 and finite.

    Raises
    ------
    TypeError
        If it is neither ``None`` nor a real number (``bool`` included).
    ValueError
        If it is NaN, or (without ``passed``) negative or infinite.

    """
    if value is None:
        return None
    if not passed:
        return check_seconds(value, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number of seconds or None, not {type(value).__name__}"
        raise TypeError(msg)
    if math.isnan(value):
        msg = f"{name} must be None or a number of seconds, got {value}"
        raise ValueError(msg)
    return value  # as given: TimeoutExpired says "after 1 seconds" for 1


def validate_progress_interval(progress_interval: object) -> float:
    """Return ``progress_interval`` as seconds.

    Raises
    ------
    TypeError
        If it is not a real number.
    ValueError
        If it is not a finite number above 0.

    """
    if isinstance(progress_interval, bool) or not isinstance(
        progress_interval, int | float
    ):
        msg = (
            "progress_interval must be a number of seconds, "
            f"not {type(progress_interval).__name__}"
        )
        raise TypeError(msg)
    seconds = float(progress_interval)
    if not 0.0 < seconds < float("inf"):
        msg = f"progress_interval must be a finite number > 0, got {progress_interval}"
        raise ValueError(msg)
    return seconds


def validate_pairs(pairs: object) -> list[tuple[int, int]]:
    """Return ``pairs`` as a list of validated ``(reader_fd, writer_fd)``.

    Raises
    ------
    TypeError
        If ``pairs`` is not an iterable of 2-tuples of integers.
    ValueError
        If a descriptor is negative or too large, or a reader is a socket
        that keeps message boundaries (`check_source`).

    """
    if isinstance(pairs, str | bytes) or not hasattr(pairs, "__iter__"):
        msg = f"pairs must be a sequence of (reader_fd, writer_fd), not {pairs!r}"
        raise TypeError(msg)
    checked: list[tuple[int, int]] = []
    for index, pair in enumerate(typ.cast("cabc.Iterable[object]", pairs)):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            msg = f"pairs[{index}] must be a (reader_fd, writer_fd) pair, got {pair!r}"
            raise TypeError(msg)
        reader, writer = pair
        checked.append(
            (
                validate_fd(reader, f"pairs[{index}] reader_fd"),
                validate_fd(writer, f"pairs[{index}] writer_fd"),
            )
        )
    for index, (reader, _) in enumerate(checked):
        with contextlib.suppress(OSError):  # not open: that pair's EBADF, later
            check_source(reader, f"pairs[{index}] reader_fd")
    return checked


def validate_pair(reader_fd: object, writer_fd: object) -> tuple[int, int]:
    """Return one call's ``(reader_fd, writer_fd)``, validated as `validate_pairs`.

    Errors name the arguments as the single-pair calls spell them.
    """
    pair = (validate_fd(reader_fd, "reader_fd"), validate_fd(writer_fd, "writer_fd"))
    with contextlib.suppress(OSError):  # not open: the pair's EBADF, later
        check_source(pair[0])
    return pair


def check_source(fd: int, name: str = "reader_fd") -> None:
    """Refuse a reader that cannot be pumped without losing bytes.

    A socket that keeps message boundaries (datagram, sequenced packet)
    cuts a message a read has no room for and reads an empty one as EOF.

    Raises
    ------
    ValueError
        For such a socket.
    OSError
        When ``fd`` is not open.

    """
    if not stat.S_ISSOCK(os.fstat(fd).st_mode):
        return
    import socket  # noqa: PLC0415 - only when a socket is pumped

    probe = socket.socket(fileno=fd)
    try:
        kind = probe.type
    finally:
        probe.detach()  # the caller's descriptor stays open
    if kind != socket.SOCK_STREAM:
        kind_name = getattr(kind, "name", f"type {int(kind)}")
        msg = (
            f"{name} {fd} is a {kind_name} socket: its messages would be cut to "
            "the buffer and an empty one read as the end; read it with recv() "
            "yourself, or pump a stream socket or a pipe"
        )
        raise ValueError(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class PumpOptions:
    """A pump call's validated keyword arguments."""

    buffer_size: int
    drain_timeout: float | None
    on_pair_done: PairCallback | None
    on_progress: ProgressCallback | None
    progress_interval: float

    @classmethod
    def check(
        cls,
        buffer_size: object,
        drain_timeout: object,
        on_pair_done: PairCallback | None,
        on_progress: ProgressCallback | None,
        progress_interval: object,
    ) -> PumpOptions:
        """Validate the keyword arguments of a pump call."""
        return cls(
            validate_buffer_size(buffer_size),
            validate_drain_timeout(drain_timeout),
            on_pair_done,
            on_progress,
            validate_progress_interval(progress_interval),
        )


def written_or_raise(result: PairResult) -> int:
    """Return a pair's byte count, or raise the error that ended it."""
    if isinstance(result, (OSError, EngineError)):
        raise result
    return result


def _check_direction(fd: int, *, for_reading: bool) -> None:
    """Fail at once with ``EBADF`` if ``fd`` is closed or open the wrong way."""
    mode = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
    wanted = (os.O_RDONLY, os.O_RDWR) if for_reading else (os.O_WRONLY, os.O_RDWR)
    if mode not in wanted:
        direction = "reading" if for_reading else "writing"
        msg = f"{os.strerror(errno.EBADF)}: descriptor {fd} is not open for {direction}"
        raise OSError(errno.EBADF, msg)


def check_ends(reader: int, writer: int) -> None:
    """Fail at once with ``EBADF`` unless ``reader`` reads and ``writer`` writes."""
    _check_direction(reader, for_reading=True)
    _check_direction(writer, for_reading=False)


def pair_error(reader: int, writer: int) -> OSError | None:
    """Return the ``OSError`` a pair would fail with at once, or ``None``.

    Opens nothing: callers check a whole batch with this before opening
    descriptors of their own, which could otherwise take the number of a
    descriptor the caller closed and pass for it.
    """
    try:
        check_ends(reader, writer)
    except OSError as error:
        return error
    return None
