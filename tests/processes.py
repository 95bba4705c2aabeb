"""Helpers that look at this process's children and descriptors in /proc."""

from __future__ import annotations

import contextlib
import gc
import os
import select
import time
import typing as typ
from pathlib import Path

import pytest


def ends_within(pid: int, seconds: float) -> bool:
    """Say whether process ``pid`` ends within ``seconds`` (or is already gone).

    Watched through a pidfd, which any process can open for a pid it sees.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True  # already gone (and reaped)
    try:
        ready, _, _ = select.select([pidfd], [], [], seconds)
        return bool(ready)
    finally:
        os.close(pidfd)


def children() -> set[int]:
    """Return the pids whose parent is this process (zombies included)."""
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[1] == me:
            found.add(int(entry.name))
    return found


def open_fds() -> dict[str, str]:
    """Map this process's open descriptors to what they name."""
    gc.collect()  # a closed loop may free what it held at collection
    found = {}
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            found[fd.name] = str(fd.readlink())
    return found


def assert_reaped(pids: typ.Iterable[int]) -> None:
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)


def wait_in_epoll(pid: int, *, task: int | None = None, seconds: float = 10.0) -> None:
    """Wait until process ``pid`` (or its thread ``task``) sleeps in ``epoll_wait``.

    Polls ``/proc``: no event says so; the kernel wait channel does. Where
    the kernel hides it (``0``), a sleeping state is taken as the sign.
    """
    deadline = time.monotonic() + seconds
    proc = Path(f"/proc/{pid}") if task is None else Path(f"/proc/{pid}/task/{task}")
    while time.monotonic() < deadline:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        channel = (proc / "wchan").read_text()
        if state == "S" and channel in {"do_epoll_wait", "ep_poll", "0"}:
            return
        time.sleep(0.001)
    pytest.fail(f"{proc} never waited in epoll_wait")


def thread_named(name: str) -> int:
    """Return the id of this process's thread called ``name``."""
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            if (task / "comm").read_text().strip() == name:
                return int(task.name)
    pytest.fail(f"no thread named {name}")
