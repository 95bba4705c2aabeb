"""The public pump calls: validate once, then hand over to the backend.

Owns `pump_stream`, `pump_many` and their awaitable forms: each validates
its arguments (`cuprum._pumps.options`) and calls the backend that
`cuprum._pumps.choice.pump_backend` selects, through the interface both backends
offer (`cuprum._pumps.choice.PumpBackend`). Both meet the same contract
(``docs/cuprum-design.md`` section 13), so callers never need to know which
one served them, and nothing here belongs to one backend.

Invariant: a backend receives only validated arguments, except on the fast
path of `pump_stream` with every option at its default, where the
descriptor numbers (already known to be ``int``) are left to the backend.
"""

from __future__ import annotations

import typing as typ

from cuprum._pumps import choice as _backend
from cuprum._pumps.choice import pump_backend
from cuprum._pumps.options import (
    DEFAULT_BUFFER_SIZE,
    DEFAULT_PROGRESS_INTERVAL,
    MAX_BUFFER_SIZE,
    PairCallback,
    PairResult,
    ProgressCallback,
    PumpOptions,
    validate_pair,
    validate_pairs,
    written_or_raise,
)

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._pumps.awaiting import Pumping
    from cuprum._pumps.reactor import Reactor


def _single(
    on_progress: cabc.Callable[[int], object] | None,
) -> ProgressCallback | None:
    """Adapt a one-pair progress callback to the batch form."""
    if on_progress is None:
        return None
    return lambda counts: on_progress(counts[0])


def _small_call(  # noqa: PLR0913, PLR0917 - the options of one pump call, as given
    reader_fd: object,
    writer_fd: object,
    buffer_size: object,
    drain_timeout: object,
    on_progress: object,
    progress_interval: object,
) -> bool:
    """Say whether a single-pair call may take the backend's fast path.

    Every option at its default and a valid ``buffer_size``: only the
    descriptor numbers are left to check, which the backend does itself.
    """
    return (
        type(reader_fd) is int
        and type(writer_fd) is int
        and type(buffer_size) is int
        and 0 < buffer_size <= MAX_BUFFER_SIZE
        and drain_timeout is None
        and on_progress is None
        and progress_interval is DEFAULT_PROGRESS_INTERVAL
    )


def pump_stream(  # noqa: PLR0913 - keyword-only options of one call
    reader_fd: int,
    writer_fd: int,
    *,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    drain_timeout: float | None = None,
    on_progress: cabc.Callable[[int], object] | None = None,
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
) -> int:
    """Copy everything readable from ``reader_fd`` to ``writer_fd``.

    Blocks until the reader's EOF and returns the bytes written. Neither
    descriptor is closed, and each one's blocking mode is what it was before.
    If the downstream goes away (``EPIPE``/``ECONNRESET``), the reader is
    drained to EOF (or for at most ``drain_timeout`` seconds) and the bytes
    written before the break are returned; no exception. Ctrl-C interrupts
    the call promptly with every flag restored.

    Parameters
    ----------
    reader_fd, writer_fd
        Open descriptors: pipes, sockets, FIFOs, regular files or devices.
    buffer_size
        The pair's buffer, in bytes (1 to 2**30; 64 KiB by default).
    drain_timeout
        Bound, in seconds, on reading after the downstream broke; ``None``
        reads until EOF.
    on_progress
        Called on this thread with the bytes written so far, at most every
        ``progress_interval`` seconds while the transfer runs. An exception
        from it abandons the transfer and propagates.
    progress_interval
        Seconds between two progress reports (0.25 by default).

    Returns
    -------
    int
        The number of bytes written to ``writer_fd``.

    Raises
    ------
    OSError
        With the original errno, for any I/O error other than a broken
        downstream (``EBADF`` for a closed descriptor or one open the wrong
        way, for example).
    ValueError, TypeError
        For a bad descriptor number, ``buffer_size``, ``drain_timeout`` or
        ``progress_interval``.

    """
    if _small_call(
        reader_fd, writer_fd, buffer_size, drain_timeout, on_progress, progress_interval
    ):
        # The fast path of small calls, with every option at its default:
        # only the descriptor numbers are left to check, which the backend
        # does (same errors; the engine then runs the pair inline on this
        # thread while the transfer never has to wait). The resolved
        # backend is read directly, sparing a call on the path of the
        # smallest pumps (docs/benchmarks.md, scenario c).
        backend = _backend.resolved_module or pump_backend()
        return backend.pump_stream(reader_fd, writer_fd, buffer_size)
    pair = validate_pair(reader_fd, writer_fd)
    options = PumpOptions.check(
        buffer_size, drain_timeout, None, _single(on_progress), progress_interval
    )
    return written_or_raise(pump_backend().pump_many([pair], options)[0])


def pump_many(  # noqa: PLR0913 - keyword-only options of one call
    pairs: cabc.Iterable[tuple[int, int]],
    *,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    drain_timeout: float | None = None,
    on_pair_done: PairCallback | None = None,
    on_progress: ProgressCallback | None = None,
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
) -> list[PairResult]:
    """Pump every ``(reader_fd, writer_fd)`` pair concurrently; block until done.

    Returns one entry per pair, in order: the bytes written, or the
    ``OSError`` that ended that pair. One failing pair never stops the
    others. Each pair follows the rules of `pump_stream`.

    ``on_pair_done(index, result)`` is called on the calling thread as soon
    as pair ``index`` ends, while the others still run; the engine has let go
    of that pair's descriptors by then, so the callback may close them (that
    is how a chain of hops gives each stage its EOF). ``on_progress(counts)``
    is called with the bytes written so far by each pair, at most every
    ``progress_interval`` seconds. An exception from either callback abandons
    the batch, like Ctrl-C, and propagates.

    Raises
    ------
    ValueError, TypeError
        For malformed ``pairs`` or options.

    """
    checked = validate_pairs(pairs)
    options = PumpOptions.check(
        buffer_size, drain_timeout, on_pair_done, on_progress, progress_interval
    )
    return pump_backend().pump_many(checked, options)


async def pump_stream_async(  # noqa: PLR0913 - keyword-only options of one call
    reader_fd: int,
    writer_fd: int,
    *,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    drain_timeout: float | None = None,
    on_progress: cabc.Callable[[int], object] | None = None,
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
) -> int:
    """Await the transfer of `pump_stream`; cancelling the task stops it.

    After cancellation both descriptors are open, their flags restored, and
    nothing more is read from or written to them. ``on_progress`` is called
    on the event loop.
    """
    if _small_call(
        reader_fd, writer_fd, buffer_size, drain_timeout, on_progress, progress_interval
    ):
        # The fast path of small awaited calls, as `pump_stream`'s.
        return await pump_backend().pump_stream_async(reader_fd, writer_fd, buffer_size)
    pair = validate_pair(reader_fd, writer_fd)
    options = PumpOptions.check(
        buffer_size, drain_timeout, None, _single(on_progress), progress_interval
    )
    results = await pump_backend().pump_many_async([pair], options)
    return written_or_raise(results[0])


async def pump_many_async(  # noqa: PLR0913 - keyword-only options of one call
    pairs: cabc.Iterable[tuple[int, int]],
    *,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    drain_timeout: float | None = None,
    on_pair_done: PairCallback | None = None,
    on_progress: ProgressCallback | None = None,
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
) -> list[PairResult]:
    """Await the batch of `pump_many`; cancelling the task stops every pair.

    ``on_pair_done`` and ``on_progress`` are called on the event loop.
    """
    checked = validate_pairs(pairs)
    options = PumpOptions.check(
        buffer_size, drain_timeout, on_pair_done, on_progress, progress_interval
    )
    return await pump_backend().pump_many_async(checked, options)


def start_pumps(
    reactor: Reactor,
    pairs: list[tuple[int, int]],
    *,
    drain_timeout: float | None,
    on_pair_done: PairCallback,
    on_progress: ProgressCallback | None,
) -> Pumping:
    """Start a run's hops as one batch, told on ``reactor`` (see `Pumping`).

    The descriptors are the run's own, made just now: only the options
    are checked.
    """
    options = PumpOptions.check(
        DEFAULT_BUFFER_SIZE,
        drain_timeout,
        on_pair_done,
        on_progress,
        DEFAULT_PROGRESS_INTERVAL,
    )
    return pump_backend().start_many(reactor, pairs, options)
