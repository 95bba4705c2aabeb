"""Benchmark consumer: drain every descriptor given to EOF and print the counts.

Usage: ``python _mux_consumer.py FD [FD ...]``. Reads 64 KiB at a time from
non-blocking descriptors served by one epoll loop, closes each at EOF, and
prints one line: the byte count of each descriptor, in argument order,
separated by spaces.
"""

from __future__ import annotations

import os
import select
import sys

CHUNK = 65536


def main() -> None:
    """Drain, count, report."""
    fds = [int(arg) for arg in sys.argv[1:]]
    counts = dict.fromkeys(fds, 0)
    poller = select.epoll()
    for fd in fds:
        os.set_blocking(fd, False)
        poller.register(fd, select.EPOLLIN)
    live = len(fds)
    while live:
        for fd, _events in poller.poll():
            try:
                data = os.read(fd, CHUNK)
            except BlockingIOError:
                continue
            if data:
                counts[fd] += len(data)
            else:
                poller.unregister(fd)
                os.close(fd)
                live -= 1
    poller.close()
    sys.stdout.write(" ".join(str(counts[fd]) for fd in fds) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: the harness times until the reap


if __name__ == "__main__":
    main()
