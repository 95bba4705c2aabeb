"""The descriptor pump calls (behaviour sections 2, 4 and 8), on both backends."""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
import typing as typ
from pipes import (
    collect,
    endless,
    feed,
    is_nonblocking,
    is_open,
    payload,
    set_nonblocking,
)

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuprum

if typ.TYPE_CHECKING:
    import collections.abc as cabc
    import pathlib

    from conftest import Pipe

    from cuprum import StreamBackend

    MakePipe = cabc.Callable[[], Pipe]


def roundtrip(make_pipe: MakePipe, data: bytes, **kwargs: typ.Any) -> tuple[int, bytes]:
    src, dst = make_pipe(), make_pipe()
    feeding = feed(src.write, data)
    collecting = collect(dst.read)
    try:
        count = cuprum.pump_stream(src.read, dst.write, **kwargs)
    finally:
        os.close(dst.write)
    feeding.result(timeout=30)
    return count, collecting.result(timeout=30)


@pytest.mark.parametrize("size", [0, 1, 4095, 65536, 65537, 5 * 1024 * 1024 + 3])
def test_copies_every_byte_to_eof(
    stream_backend: StreamBackend, make_pipe: MakePipe, size: int
) -> None:
    data = payload(size)
    count, received = roundtrip(make_pipe, data)
    assert count == size
    assert received == data


@pytest.mark.parametrize("buffer_size", [1, 7, 4096, 1 << 20])
def test_buffer_size_changes_nothing_observable(
    stream_backend: StreamBackend, make_pipe: MakePipe, buffer_size: int
) -> None:
    data = payload(300_001)
    assert roundtrip(make_pipe, data, buffer_size=buffer_size) == (len(data), data)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(max_size=200_000), buffer_size=st.integers(1, 1 << 17))
def test_any_payload_any_buffer(
    stream_backend: StreamBackend, make_pipe: MakePipe, data: bytes, buffer_size: int
) -> None:
    assert roundtrip(make_pipe, data, buffer_size=buffer_size) == (len(data), data)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"buffer_size": 0}, ValueError, "buffer_size"),
        ({"buffer_size": -5}, ValueError, "buffer_size"),
        ({"buffer_size": (1 << 30) + 1}, ValueError, "buffer_size"),
        ({"buffer_size": 1.5}, TypeError, "buffer_size"),
        ({"buffer_size": "64k"}, TypeError, "buffer_size"),
        ({"drain_timeout": -1}, ValueError, "drain_timeout"),
        ({"drain_timeout": "soon"}, TypeError, "drain_timeout"),
        ({"buffer_size": 2**70}, ValueError, "buffer_size"),
        ({"drain_timeout": True}, TypeError, "drain_timeout"),
        ({"progress_interval": True}, TypeError, "progress_interval"),
    ],
)
def test_bad_arguments_are_named(
    stream_backend: StreamBackend,
    make_pipe: MakePipe,
    kwargs: dict[str, object],
    error: type[Exception],
    words: str,
) -> None:
    pipe = make_pipe()
    with pytest.raises(error, match=words):
        cuprum.pump_stream(pipe.read, pipe.write, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reader", "writer", "error"),
    [
        (-1, 1, ValueError),
        (0, -3, ValueError),
        (1 << 40, 1, (ValueError, OverflowError)),
        ("0", 1, TypeError),
    ],
)
def test_bad_descriptor_numbers(
    stream_backend: StreamBackend,
    reader: object,
    writer: object,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        cuprum.pump_stream(reader, writer)  # type: ignore[arg-type]


def test_closed_descriptor_is_ebadf(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    pipe = make_pipe()
    os.close(pipe.read)
    with pytest.raises(OSError) as caught:  # noqa: PT011 - the errno is what matters
        cuprum.pump_stream(pipe.read, pipe.write)
    assert caught.value.errno == errno.EBADF
    assert type(caught.value) is OSError


def test_wrong_direction_fails_at_once(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    pipe = make_pipe()
    with pytest.raises(OSError) as caught:  # noqa: PT011 - the errno is what matters
        cuprum.pump_stream(pipe.write, pipe.read)
    assert caught.value.errno in {errno.EBADF, errno.EINVAL}


def test_broken_downstream_drains_upstream(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()
    os.close(dst.read)  # the downstream is gone before anything is written
    data = payload(3 * 1024 * 1024)
    feeding = feed(src.write, data)
    count = cuprum.pump_stream(src.read, dst.write)
    assert count == 0
    assert feeding.result(timeout=30) == len(data)  # the producer never blocked


def test_downstream_leaving_midway_reports_bytes_written(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()
    data = payload(4 * 1024 * 1024)
    feeding = feed(src.write, data)
    taken = threading.Event()

    def take_some_then_leave() -> int:
        got = len(os.read(dst.read, 1000))
        os.close(dst.read)
        taken.set()
        return got

    thread_result: list[int] = []
    leaver = threading.Thread(
        target=lambda: thread_result.append(take_some_then_leave())
    )
    leaver.start()
    count = cuprum.pump_stream(src.read, dst.write)
    leaver.join()
    assert taken.is_set()
    assert thread_result[0] <= count < len(data)
    assert feeding.result(timeout=30) == len(data)


def test_drain_timeout_bounds_an_endless_upstream(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()
    os.close(dst.read)
    stop = threading.Event()
    producer = endless(src.write, stop.is_set)
    assert cuprum.pump_stream(src.read, dst.write, drain_timeout=0.05) == 0
    stop.set()
    os.close(src.read)  # the producer now ends by EPIPE
    assert producer.result(timeout=30) > 0


def test_connection_reset_counts_as_broken_downstream(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    with listener, socket.create_connection(listener.getsockname()) as client:
        peer, _ = listener.accept()
        peer.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
        )
        peer.close()  # linger 0: the next write meets a reset
        src = make_pipe()
        data = payload(2 * 1024 * 1024)
        feeding = feed(src.write, data)
        count = cuprum.pump_stream(src.read, client.fileno())
        assert count < len(data)
        assert feeding.result(timeout=30) == len(data)


@pytest.mark.parametrize("before", [False, True], ids=["blocking", "nonblocking"])
def test_flags_restored_and_descriptors_left_open(
    stream_backend: StreamBackend, make_pipe: MakePipe, before: bool
) -> None:
    src, dst = make_pipe(), make_pipe()
    for fd in (src.read, dst.write):
        set_nonblocking(fd, before)
    feeding = feed(src.write, b"hello")
    collecting = collect(dst.read)
    assert cuprum.pump_stream(src.read, dst.write) == 5
    assert is_open(src.read)
    assert is_open(dst.write)
    assert is_nonblocking(src.read) is before
    assert is_nonblocking(dst.write) is before
    os.close(dst.write)
    feeding.result(timeout=30)
    assert collecting.result(timeout=30) == b"hello"


def test_flags_restored_after_an_error(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()
    os.close(dst.read)
    with pytest.raises(OSError):  # noqa: PT011
        cuprum.pump_stream(src.read, dst.read)
    assert not is_nonblocking(src.read)


def test_regular_file_to_pipe_and_pipe_to_file(
    stream_backend: StreamBackend, make_pipe: MakePipe, tmp_path: pathlib.Path
) -> None:
    data = payload(1_000_003)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    pipe = make_pipe()
    target = tmp_path / "target.bin"
    with source.open("rb") as reader, target.open("wb") as writer:
        collecting = collect(pipe.read)
        assert cuprum.pump_stream(reader.fileno(), pipe.write) == len(data)
        os.close(pipe.write)
        assert collecting.result(timeout=30) == data
        back = make_pipe()
        feeding = feed(back.write, data)
        assert cuprum.pump_stream(back.read, writer.fileno()) == len(data)
        feeding.result(timeout=30)
    assert target.read_bytes() == data


def test_dev_null_as_writer(stream_backend: StreamBackend, make_pipe: MakePipe) -> None:
    pipe = make_pipe()
    feeding = feed(pipe.write, payload(200_000))
    with open(os.devnull, "wb") as null:  # noqa: PTH123
        assert cuprum.pump_stream(pipe.read, null.fileno()) == 200_000
    feeding.result(timeout=30)


def test_pump_many_reports_each_pair_in_order(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    pairs: list[tuple[int, int]] = []
    expected: list[bytes] = []
    collecting = []
    feeding = []
    for index in range(40):
        src, dst = make_pipe(), make_pipe()
        data = payload(10_000 * index + 1, seed=index)
        expected.append(data)
        feeding.append(feed(src.write, data))
        collecting.append(collect(dst.read))
        pairs.append((src.read, dst.write))
    closed = make_pipe()
    os.close(closed.read)
    pairs.insert(3, (closed.read, closed.write))  # EBADF for this pair only
    results = cuprum.pump_many(pairs)
    assert isinstance(results[3], OSError)
    assert results[3].errno == errno.EBADF
    del results[3], pairs[3]
    assert results == [len(data) for data in expected]
    for (_, writer), got, data in zip(pairs, collecting, expected, strict=True):
        os.close(writer)
        assert got.result(timeout=30) == data
    for future in feeding:
        future.result(timeout=30)


def test_pump_many_per_pair_callback_allows_chained_hops(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    """A -> B -> C through two hops: hop 1's writer closes as hop 1 ends."""
    a, b, c = make_pipe(), make_pipe(), make_pipe()
    data = payload(777_777)
    feeding = feed(a.write, data)
    collecting = collect(c.read)
    order: list[int] = []

    def on_pair_done(index: int, result: int | OSError) -> None:
        order.append(index)
        os.close((b.write, c.write)[index])

    results = cuprum.pump_many(
        [(a.read, b.write), (b.read, c.write)], on_pair_done=on_pair_done
    )
    assert results == [len(data), len(data)]
    assert order == [0, 1]
    assert collecting.result(timeout=30) == data
    feeding.result(timeout=30)


def test_empty_batch(stream_backend: StreamBackend) -> None:
    assert cuprum.pump_many([]) == []


def test_malformed_pairs_raise(stream_backend: StreamBackend) -> None:
    with pytest.raises(TypeError, match="pairs"):
        cuprum.pump_many([(1, 2, 3)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="pairs"):
        cuprum.pump_many(5)  # type: ignore[arg-type]


def test_other_threads_run_while_a_pump_waits(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()
    ticks = 0
    done = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            if ticks >= 1000:
                os.close(src.write)  # the pump may end only after we ran
                return
            time.sleep(0)

    collecting = collect(dst.read)
    thread = threading.Thread(target=ticker)
    thread.start()
    assert cuprum.pump_stream(src.read, dst.write) == 0
    done.set()
    thread.join()
    assert ticks >= 1000
    os.close(dst.write)
    assert collecting.result(timeout=30) == b""


def test_progress_is_reported_while_a_transfer_waits(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    """A pump stalled after 3 bytes reports 3, then its writer is closed."""
    src, dst = make_pipe(), make_pipe()
    os.write(src.write, b"abc")
    reports: list[list[int]] = []

    def on_progress(counts: list[int]) -> None:
        reports.append(counts)
        if counts == [3]:
            os.close(src.write)  # seen: let the transfer end

    results = cuprum.pump_many(
        [(src.read, dst.write)], on_progress=on_progress, progress_interval=0.01
    )
    assert results == [3]
    assert reports[-1] == [3]
    assert all(len(report) == 1 and report[0] <= 3 for report in reports)
    assert os.read(dst.read, 10) == b"abc"


def test_single_pair_progress_gets_an_int(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()
    os.write(src.write, b"hello")
    seen: list[int] = []

    def on_progress(written: int) -> None:
        seen.append(written)
        if written == 5:
            os.close(src.write)

    assert cuprum.pump_stream(src.read, dst.write, on_progress=on_progress) == 5
    assert seen[-1] == 5


def test_progress_callback_error_abandons_the_transfer(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()

    def on_progress(counts: list[int]) -> None:
        raise ArithmeticError(counts)

    with pytest.raises(ArithmeticError):
        cuprum.pump_many(
            [(src.read, dst.write)], on_progress=on_progress, progress_interval=0.01
        )
    assert not is_nonblocking(src.read)
    os.write(src.write, b"kept")
    assert os.read(src.read, 10) == b"kept"


@pytest.mark.parametrize("interval", [0, -1, float("nan"), "1"])
def test_bad_progress_interval(
    stream_backend: StreamBackend, make_pipe: MakePipe, interval: object
) -> None:
    pipe = make_pipe()
    with pytest.raises((ValueError, TypeError), match="progress_interval"):
        cuprum.pump_many([(pipe.read, pipe.write)], progress_interval=interval)  # type: ignore[arg-type]


def test_a_description_shared_by_two_pairs_stays_switched_while_either_runs(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    """O_NONBLOCK belongs to the description: put back after its last user."""
    a, b, out = make_pipe(), make_pipe(), make_pipe()
    out_dup = os.dup(out.write)
    os.close(a.write)  # pair 0 ends at once
    seen: dict[int, bool] = {}

    def on_pair_done(index: int, result: int | OSError) -> None:
        seen[index] = is_nonblocking(out.write)
        if index == 0:
            os.close(b.write)  # now pair 1 may end too

    try:
        results = cuprum.pump_many(
            [(a.read, out.write), (b.read, out_dup)], on_pair_done=on_pair_done
        )
        assert results == [0, 0]
        # When pair 0 ended, pair 1 still ran on the same description: it was
        # not made blocking behind its back. After the last user, it was.
        assert seen == {0: True, 1: False}
        assert not is_nonblocking(out.write)
    finally:
        os.close(out_dup)
