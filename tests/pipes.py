"""Helpers that put real processes' roles on pipe ends: feed and collect."""

from __future__ import annotations

import concurrent.futures as cf
import fcntl
import os
import typing as typ

if typ.TYPE_CHECKING:
    import collections.abc as cabc

_POOL = cf.ThreadPoolExecutor(max_workers=64, thread_name_prefix="test-pipes")


def _feed(fd: int, data: bytes, close: bool) -> int:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    finally:
        if close:
            os.close(fd)
    return len(data)


def feed(fd: int, data: bytes, *, close: bool = True) -> cf.Future[int]:
    """Write ``data`` to ``fd`` on a helper thread, then close ``fd``."""
    return _POOL.submit(_feed, fd, data, close)


def _collect(fd: int, close: bool) -> bytes:
    chunks: list[bytes] = []
    try:
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        if close:
            os.close(fd)
    return b"".join(chunks)


def collect(fd: int, *, close: bool = True) -> cf.Future[bytes]:
    """Read ``fd`` to EOF on a helper thread, then close ``fd``."""
    return _POOL.submit(_collect, fd, close)


def is_nonblocking(fd: int) -> bool:
    """Say whether ``fd``'s open file description has ``O_NONBLOCK``."""
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)


def set_nonblocking(fd: int, value: bool) -> None:
    """Set or clear ``O_NONBLOCK`` on ``fd``."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    flags = flags | os.O_NONBLOCK if value else flags & ~os.O_NONBLOCK
    fcntl.fcntl(fd, fcntl.F_SETFL, flags)


def is_open(fd: int) -> bool:
    """Say whether ``fd`` is an open descriptor."""
    try:
        fcntl.fcntl(fd, fcntl.F_GETFD)
    except OSError:
        return False
    return True


def payload(size: int, seed: int = 7) -> bytes:
    """Deterministic, non-repeating-looking bytes of ``size``."""
    block = bytes((seed * 31 + i * 17 + (i >> 8)) & 0xFF for i in range(4096))
    whole, rest = divmod(size, len(block))
    return block * whole + block[:rest]


def endless(fd: int, stop: cabc.Callable[[], bool]) -> cf.Future[int]:
    """Write to ``fd`` until ``stop()`` or the reader goes away; then close."""

    def run() -> int:
        chunk = b"y\n" * 8192
        total = 0
        try:
            while not stop():
                total += os.write(fd, chunk)
        except BrokenPipeError:
            pass
        finally:
            os.close(fd)
        return total

    return _POOL.submit(run)
