"""Others' actions on pumped ends stall nothing (behaviour 3.8), on both backends.

``O_NONBLOCK`` belongs to the open file, shared with every duplicate, library
and forked child. Whoever clears it under a pumped end may slow that pair
down; the other pairs of the batch go on.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import select
import threading
import time
import tty
import typing as typ
from pipes import collect, feed

import pytest
from processes import thread_named, wait_in_epoll

import cuprum
from cuprum import StreamBackend
from cuprum._pumps.python_pair import OS_OPS, Pair

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._pumps.options import PairResult
    from tests.conftest import Pipe

GUARD_SECONDS = 10.0
"""How long pair B may take: it moves 100,000 bytes between pipes."""


def until_taken_on(fd: int, backend: StreamBackend) -> None:
    """Wait until the pump has switched ``fd`` and, on the engine, is idle.

    The engine checks a pipe's flag once per drive: a flag cleared during
    the drive that follows the pair's registration could still hold that
    drive's next read (design 13.1). The test clears it once the reactor
    waits in ``epoll_wait``, between drives, as other parties do.
    """
    deadline = time.monotonic() + GUARD_SECONDS
    while os.get_blocking(fd):
        assert time.monotonic() < deadline, "the pump never took the pair on"
        os.sched_yield()
    if backend is StreamBackend.RUST:
        wait_in_epoll(os.getpid(), task=thread_named("cuprum-reactor"))


@pytest.mark.parametrize("side", ["reader", "writer"])
def test_an_end_made_blocking_by_someone_else_holds_no_other_pair(
    stream_backend: StreamBackend,
    make_pipe: cabc.Callable[[], Pipe],
    side: str,
) -> None:
    a_in, a_out, b_in, b_out = make_pipe(), make_pipe(), make_pipe(), make_pipe()
    b_done = threading.Event()
    results: list[list[PairResult]] = []

    def on_pair_done(index: int, _result: PairResult) -> None:
        if index == 1:
            b_done.set()

    pumping = threading.Thread(
        target=lambda: results.append(
            cuprum.pump_many(
                [(a_in.read, a_out.write), (b_in.read, b_out.write)],
                on_pair_done=on_pair_done,
            )
        )
    )
    pumping.start()
    a_sent = b"wake" if side == "reader" else bytes(range(256)) * 1024
    if side == "reader":
        # Read once, then read again: on a blocking file, for ever.
        until_taken_on(a_in.read, stream_backend)
        os.set_blocking(a_in.read, True)
        os.write(a_in.write, a_sent)
        a_fed = None
    else:
        # Nobody reads A's output yet: writes fill it, then the next blocks.
        until_taken_on(a_out.write, stream_backend)
        os.set_blocking(a_out.write, True)
        a_fed = feed(a_in.write, a_sent)
    b_sent = bytes(range(250)) * 400
    b_fed = feed(b_in.write, b_sent)
    b_received = collect(b_out.read, close=False)
    b_finished = b_done.wait(GUARD_SECONDS)
    # Unstick A either way: a reader for its output, then its input's EOF.
    a_received = collect(a_out.read, close=False)
    if a_fed is None:
        os.close(a_in.write)
    else:
        a_fed.result()
    pumping.join()
    for out in (a_out, b_out):
        os.close(out.write)  # the pump is done with it: the collector's EOF
    b_fed.result()
    assert b_finished, f"pair B waited behind A's {side} made blocking"
    assert results == [[len(a_sent), len(b_sent)]]
    assert a_received.result() == a_sent
    assert b_received.result() == b_sent


def test_a_read_robbed_of_its_readiness_never_holds_the_python_driver() -> None:
    # Between the driver's poll and its read, another reader of the same
    # terminal takes the byte. The read must not wait for the next one.
    master, slave = os.openpty()
    tty.setraw(slave)
    out_r, out_w = os.pipe()

    def robbed_read(fd: int, size: int) -> bytes:
        while select.select([slave], [], [], 0)[0]:  # the thief
            os.read(slave, 4096)
        return os.read(fd, size)

    ops = dataclasses.replace(OS_OPS, read=robbed_read)
    pair = Pair(0, slave, out_w, 65536, None, ops=ops)
    pair.open_privately()
    stepped = threading.Event()
    os.write(master, b"x")

    def step() -> None:
        pair.step(time.monotonic())
        stepped.set()

    stepper = threading.Thread(target=step)
    stepper.start()
    ended = stepped.wait(GUARD_SECONDS)
    os.write(master, b"y")  # a read that did block (the failure) returns
    stepper.join()
    terminal_blocking = os.get_blocking(slave)
    pair.release()
    for fd in (master, slave, out_r, out_w):
        os.close(fd)
    assert ended, "the driver waited for a read robbed of its byte"
    assert pair.result is None, "nothing was read: the pair goes on"
    assert terminal_blocking, "the terminal's own flag is never switched"


def test_a_pseudo_terminals_master_is_pumped_itself(
    stream_backend: StreamBackend, make_pipe: cabc.Callable[[], Pipe]
) -> None:
    # An end kept blocking is opened afresh (decision cm), but not a pty's
    # master: an open of its device, /dev/ptmx, makes a new terminal.
    master, slave = os.openpty()
    tty.setraw(slave)
    out = make_pipe()
    results: list[list[PairResult]] = []
    pumping = threading.Thread(
        target=lambda: results.append(cuprum.pump_many([(master, out.write)]))
    )
    pumping.start()
    os.write(slave, b"typed")
    ready = select.select([out.read], [], [], GUARD_SECONDS)[0]
    received = os.read(out.read, 16) if ready else b""
    os.close(slave)  # the master then reads EIO: the pair ends
    pumping.join()
    os.close(master)
    assert received == b"typed"
    [[result]] = results
    assert isinstance(result, OSError), result
    assert result.errno == errno.EIO


def test_a_closed_number_beside_a_terminal_is_refused(
    stream_backend: StreamBackend, make_pipe: cabc.Callable[[], Pipe]
) -> None:
    # Pair 0's terminal is opened afresh (decision cm): that descriptor must
    # not give pair 1's closed number a file to pass its checks with.
    master, slave = os.openpty()
    tty.setraw(slave)
    out0, out1 = make_pipe(), make_pipe()
    closed = os.dup(0)
    os.close(closed)  # the lowest free number, the next one anything opens
    results: list[list[PairResult]] = []
    pumping = threading.Thread(
        target=lambda: results.append(
            cuprum.pump_many([(slave, out0.write), (closed, out1.write)])
        )
    )
    pumping.start()
    os.write(master, b"x")
    assert os.read(out0.read, 1) == b"x", "pair 0 runs, its terminal open"
    os.close(master)  # the terminal hangs up: pair 0 ends
    pumping.join()
    os.close(slave)
    [[_, refused]] = results
    assert isinstance(refused, OSError), refused
    assert refused.errno == errno.EBADF
