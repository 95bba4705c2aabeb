"""The public pump calls: validate once, then hand over to the backend.

Owns the dispatch from `pump_stream`, `pump_many` and their awaitable forms
to the backend that `get_stream_backend` selects. Both backends meet the same
contract (``docs/cuprum-design.md`` section 13), so callers never need to
know which one served them.
"""

from __future__ import annotations

import typing as typ

from cuprum import _streams
from cuprum._backend import StreamBackend, get_stream_backend
from cuprum._streams import DEFAULT_BUFFER_SIZE, PairCallback, PairResult

if typ.TYPE_CHECKING:
    import collections.abc as cabc


def _raise_if_error(result: PairResult) -> int:
    if isinstance(result, OSError):
        raise result
    return result


def pump_stream(
    reader_fd: int,
    writer_fd: int,
    *,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    drain_timeout: float | None = None,
) -> int:
    """Copy everything readable from ``reader_fd`` to ``writer_fd``.

    Blocks until the reader's EOF and returns the bytes written. Neither
    descriptor is closed, and each one's blocking mode is what it was before.
    If the downstream goes away (``EPIPE``/``ECONNRESET``), the reader is
    drained to EOF (or for at most ``drain_timeout`` seconds) and the bytes
    written before the break are returned; no exception.

    Parameters
    ----------
    reader_fd, writer_fd
        Open descriptors: pipes, sockets, FIFOs, regular files or devices.
    buffer_size
        The pair's buffer, in bytes (1 to 2**30; 64 KiB by default).
    drain_timeout
        Bound, in seconds, on reading after the downstream broke; ``None``
        reads until EOF.

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
        For a bad descriptor number, ``buffer_size`` or ``drain_timeout``.

    """
    (pair,) = _streams.validate_pairs([(reader_fd, writer_fd)])
    size = _streams.validate_buffer_size(buffer_size)
    bound = _streams.validate_drain_timeout(drain_timeout)
    if get_stream_backend() is StreamBackend.RUST:
        from cuprum import _streams_rs  # noqa: PLC0415 - only when selected

        # Runs inline on this thread while the transfer never has to wait.
        return _streams_rs.rust_pump_stream(*pair, size, drain_timeout=bound)
    return _raise_if_error(_streams.pump_fds([pair], size, bound)[0])


def pump_many(
    pairs: cabc.Iterable[tuple[int, int]],
    *,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    drain_timeout: float | None = None,
    on_pair_done: PairCallback | None = None,
) -> list[PairResult]:
    """Pump every ``(reader_fd, writer_fd)`` pair concurrently; block until done.

    Returns one entry per pair, in order: the bytes written, or the
    ``OSError`` that ended that pair. One failing pair never stops the
    others. Each pair follows the rules of `pump_stream`.

    ``on_pair_done(index, result)`` is called on the calling thread as soon
    as pair ``index`` ends, while the others still run; the engine has let go
    of that pair's descriptors by then, so the callback may close them (that
    is how a chain of hops gives each stage its EOF). An exception from the
    callback abandons the batch, like Ctrl-C, and propagates.

    Raises
    ------
    ValueError, TypeError
        For malformed ``pairs``, ``buffer_size`` or ``drain_timeout``.

    """
    return _pump_many_checked(
        _streams.validate_pairs(pairs),
        _streams.validate_buffer_size(buffer_size),
        _streams.validate_drain_timeout(drain_timeout),
        on_pair_done,
    )


async def pump_stream_async(
    reader_fd: int,
    writer_fd: int,
    *,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    drain_timeout: float | None = None,
) -> int:
    """Await the transfer of `pump_stream`; cancelling the task stops it.

    After cancellation both descriptors are open, their flags restored, and
    nothing more is read from or written to them.
    """
    (pair,) = _streams.validate_pairs([(reader_fd, writer_fd)])
    results = await _pump_many_async_checked(
        [pair],
        _streams.validate_buffer_size(buffer_size),
        _streams.validate_drain_timeout(drain_timeout),
    )
    return _raise_if_error(results[0])


async def pump_many_async(
    pairs: cabc.Iterable[tuple[int, int]],
    *,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    drain_timeout: float | None = None,
    on_pair_done: PairCallback | None = None,
) -> list[PairResult]:
    """Await the batch of `pump_many`; cancelling the task stops every pair.

    ``on_pair_done`` is called on the event loop as each pair ends.
    """
    return await _pump_many_async_checked(
        _streams.validate_pairs(pairs),
        _streams.validate_buffer_size(buffer_size),
        _streams.validate_drain_timeout(drain_timeout),
        on_pair_done,
    )


def _pump_many_checked(
    pairs: list[tuple[int, int]],
    buffer_size: int,
    drain_timeout: float | None,
    on_pair_done: PairCallback | None = None,
) -> list[PairResult]:
    if get_stream_backend() is StreamBackend.RUST:
        from cuprum import _streams_rs  # noqa: PLC0415 - only when selected

        return _streams_rs.pump_many(pairs, buffer_size, drain_timeout, on_pair_done)
    return _streams.pump_fds(pairs, buffer_size, drain_timeout, on_pair_done)


async def _pump_many_async_checked(
    pairs: list[tuple[int, int]],
    buffer_size: int,
    drain_timeout: float | None,
    on_pair_done: PairCallback | None = None,
) -> list[PairResult]:
    if get_stream_backend() is StreamBackend.RUST:
        from cuprum import _completion  # noqa: PLC0415 - only when selected

        return await _completion.pump_many_async(
            pairs, buffer_size, drain_timeout, on_pair_done
        )
    return await _streams.pump_fds_async(
        pairs, buffer_size, drain_timeout, on_pair_done
    )
