"""Benchmark producer: after the gate opens, write N zero bytes to each descriptor.

Usage: ``python _mux_producer.py NBYTES FD [FD ...]``. Blocks reading its
stdin (the harness's gate pipe) until the harness closes the gate, so every
producer starts at the same moment and none pre-fills its pipe while the
others are still being spawned. Writes 64 KiB chunks; with several
descriptors they are non-blocking and served by one epoll loop. Each
descriptor is closed once its N bytes are written. Exits non-zero on any
error (EPIPE included), so a short transfer cannot pass unnoticed.
"""

from __future__ import annotations

import os
import select
import sys

CHUNK = 65536


def write_one(fd: int, nbytes: int, view: memoryview) -> None:
    """Write ``nbytes`` to a blocking descriptor."""
    left = nbytes
    while left:
        left -= os.write(fd, view[: min(left, CHUNK)])
    os.close(fd)


def write_many(fds: list[int], nbytes: int, view: memoryview) -> None:
    """Write ``nbytes`` to each of ``fds`` through one epoll loop."""
    left = dict.fromkeys(fds, nbytes)
    poller = select.epoll()
    for fd in fds:
        os.set_blocking(fd, False)
        poller.register(fd, select.EPOLLOUT)
    while left:
        for fd, _events in poller.poll():
            try:
                written = os.write(fd, view[: min(left[fd], CHUNK)])
            except BlockingIOError:
                continue
            left[fd] -= written
            if not left[fd]:
                poller.unregister(fd)
                os.close(fd)
                del left[fd]
    poller.close()


def main() -> None:
    """Wait for the gate, then write."""
    nbytes = int(sys.argv[1])
    fds = [int(arg) for arg in sys.argv[2:]]
    view = memoryview(bytes(CHUNK))
    os.read(0, 1)  # the gate: returns b"" when the harness closes it
    if len(fds) == 1:
        write_one(fds[0], nbytes, view)
    else:
        write_many(fds, nbytes, view)
    os._exit(0)  # skip interpreter teardown: the harness times until the reap


if __name__ == "__main__":
    main()
