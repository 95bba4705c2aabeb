"""The awaitable pump calls (behaviour sections 5 and 8), on both backends."""

from __future__ import annotations

import asyncio
import errno
import os
import pathlib
import threading
import typing as typ
from pipes import collect, feed, is_nonblocking, is_open, payload

import pytest

import cuprum

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from conftest import Pipe

    from cuprum import StreamBackend

    MakePipe = cabc.Callable[[], Pipe]


def test_awaited_single_pair(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()
    data = payload(2_000_000)
    feeding = feed(src.write, data)
    collecting = collect(dst.read)
    count = asyncio.run(cuprum.pump_stream_async(src.read, dst.write))
    os.close(dst.write)
    assert count == len(data)
    assert collecting.result(timeout=30) == data
    feeding.result(timeout=30)


def test_awaited_batch_reports_each_pair_as_it_ends(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    a, b, c = make_pipe(), make_pipe(), make_pipe()
    data = payload(500_000)
    feeding = feed(a.write, data)
    collecting = collect(c.read)
    seen: list[tuple[int, int | OSError]] = []

    def on_pair_done(index: int, result: int | OSError) -> None:
        seen.append((index, result))
        os.close((b.write, c.write)[index])

    results = asyncio.run(
        cuprum.pump_many_async(
            [(a.read, b.write), (b.read, c.write)], on_pair_done=on_pair_done
        )
    )
    assert results == [len(data), len(data)]
    assert seen == [(0, len(data)), (1, len(data))]
    assert collecting.result(timeout=30) == data
    feeding.result(timeout=30)


def test_other_tasks_run_while_a_pump_is_awaited(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()
    collecting = collect(dst.read)

    async def main() -> int:
        pump = asyncio.ensure_future(cuprum.pump_stream_async(src.read, dst.write))
        for _ in range(10):
            await asyncio.sleep(0)  # the loop is free while the pump waits
        assert not pump.done()
        os.write(src.write, b"late")
        os.close(src.write)
        return await pump

    assert asyncio.run(main()) == 4
    os.close(dst.write)
    assert collecting.result(timeout=30) == b"late"


def test_cancel_stops_the_pair_and_restores_flags(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()
    started = threading.Event()

    async def main() -> None:
        task = asyncio.ensure_future(cuprum.pump_stream_async(src.read, dst.write))
        os.write(src.write, b"first")
        # Once "first" came through, the pump is running and now waits.
        assert await asyncio.to_thread(os.read, dst.read, 100) == b"first"
        started.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert started.is_set()
    assert is_open(src.read)
    assert is_open(dst.write)
    assert not is_nonblocking(src.read)
    assert not is_nonblocking(dst.write)
    # Nothing reads from the source any more: what we write stays there.
    os.write(src.write, b"still here")
    assert os.read(src.read, 100) == b"still here"


def test_sixty_four_awaited_pumps_at_once(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    pipes = [(make_pipe(), make_pipe()) for _ in range(64)]
    feeding = [
        feed(src.write, payload(50_000, seed=i)) for i, (src, _) in enumerate(pipes)
    ]
    collecting = [collect(dst.read) for _, dst in pipes]

    async def main() -> list[int]:
        return list(
            await asyncio.gather(
                *(cuprum.pump_stream_async(src.read, dst.write) for src, dst in pipes)
            )
        )

    assert asyncio.run(main()) == [50_000] * 64
    for i, ((_, dst), got) in enumerate(zip(pipes, collecting, strict=True)):
        os.close(dst.write)
        assert got.result(timeout=30) == payload(50_000, seed=i)
    for future in feeding:
        future.result(timeout=30)


def test_awaited_errors_are_oserrors(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    pipe = make_pipe()

    async def main() -> int:
        # Closed inside the loop: asyncio.run opens descriptors of its own,
        # which could otherwise take the closed number.
        os.close(pipe.read)
        return await cuprum.pump_stream_async(pipe.read, pipe.write)

    with pytest.raises(OSError) as caught:  # noqa: PT011 - the errno is what matters
        asyncio.run(main())
    assert caught.value.errno == errno.EBADF
    with pytest.raises(ValueError, match="buffer_size"):
        asyncio.run(cuprum.pump_stream_async(0, 1, buffer_size=0))


def _thread_count() -> int:
    return len(list(pathlib.Path("/proc/self/task").iterdir()))


def test_awaited_rust_pumps_add_no_thread(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    """64 awaited pumps, all waiting at once, run on the reactor alone."""
    if stream_backend.value != "rust":
        pytest.skip("the Python backend uses one driver thread per awaited batch")
    warm = make_pipe()
    os.close(warm.write)
    asyncio.run(cuprum.pump_stream_async(warm.read, make_pipe().write))  # reactor up
    pipes = [(make_pipe(), make_pipe()) for _ in range(64)]

    async def main() -> tuple[int, list[int]]:
        pumps = [
            asyncio.ensure_future(cuprum.pump_stream_async(src.read, dst.write))
            for src, dst in pipes
        ]
        await asyncio.sleep(0)  # one turn: every task runs up to its submit
        for src, dst in pipes:
            os.write(src.write, b"ping")
            # The engine moves it without the loop's help; this blocks only
            # until it has, which proves the pump is running.
            assert os.read(dst.read, 4) == b"ping"
        threads_while_waiting = _thread_count()
        for src, _ in pipes:
            os.close(src.write)
        return threads_while_waiting, list(await asyncio.gather(*pumps))

    before = _thread_count()
    waiting, results = asyncio.run(main())
    assert results == [4] * 64
    assert waiting <= before


def test_callback_error_cancels_the_rest_and_propagates(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    quick, stalled, out = make_pipe(), make_pipe(), make_pipe()
    os.close(quick.write)
    collecting = collect(out.read)

    def on_pair_done(index: int, result: int | OSError) -> None:
        raise LookupError(index)

    with pytest.raises(LookupError):
        asyncio.run(
            cuprum.pump_many_async(
                [(quick.read, out.write), (stalled.read, out.write)],
                on_pair_done=on_pair_done,
            )
        )
    # The stalled pair was cancelled: its source is untouched and restored.
    assert not is_nonblocking(stalled.read)
    os.write(stalled.write, b"kept")
    assert os.read(stalled.read, 10) == b"kept"
    os.close(out.write)
    assert collecting.result(timeout=30) == b""


def test_awaited_progress_reports_on_the_loop(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()
    os.write(src.write, b"abcd")
    reports: list[list[int]] = []

    def on_progress(counts: list[int]) -> None:
        asyncio.get_running_loop()  # raises unless called on the loop
        reports.append(counts)
        if counts == [4]:
            os.close(src.write)

    results = asyncio.run(
        cuprum.pump_many_async(
            [(src.read, dst.write)], on_progress=on_progress, progress_interval=0.01
        )
    )
    assert results == [4]
    assert reports[-1] == [4]


class _LoopWithoutAddReader(asyncio.SelectorEventLoop):
    """A loop that cannot watch descriptors (like a proactor loop)."""

    def add_reader(self, *_args: object, **_kwargs: object) -> None:
        raise NotImplementedError


def test_a_loop_without_add_reader_is_served_by_the_python_driver(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    src, dst = make_pipe(), make_pipe()
    os.write(src.write, b"no doorbell")
    os.close(src.write)
    loop = _LoopWithoutAddReader()
    try:
        results = loop.run_until_complete(
            cuprum.pump_many_async([(src.read, dst.write)])
        )
    finally:
        loop.close()
    assert results == [11]
    assert os.read(dst.read, 100) == b"no doorbell"


def test_awaiting_from_another_threads_loop(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    """A loop running in another thread serves the awaited pump as its own."""
    src, dst = make_pipe(), make_pipe()
    os.write(src.write, b"elsewhere")
    os.close(src.write)
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever)
    runner.start()
    try:
        future = asyncio.run_coroutine_threadsafe(
            cuprum.pump_stream_async(src.read, dst.write), loop
        )
        assert future.result(timeout=30) == 9
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join()
        loop.close()
    assert os.read(dst.read, 100) == b"elsewhere"


def test_no_callback_after_an_awaited_batch_is_cancelled(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    """Cancelled pairs end silently: on_pair_done is not told about them."""
    first, second, out = make_pipe(), make_pipe(), make_pipe()
    os.write(first.write, b"go")
    calls: list[int] = []

    async def main() -> None:
        task = asyncio.ensure_future(
            cuprum.pump_many_async(
                [(first.read, out.write), (second.read, out.write)],
                on_pair_done=lambda index, _result: calls.append(index),
            )
        )
        # "go" came through: both pairs run, and both now wait for more.
        assert await asyncio.to_thread(os.read, out.read, 2) == b"go"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert calls == []


def test_no_progress_report_after_an_awaited_pump_is_cancelled(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    """Once cancelled (abandoned), a batch makes no more progress reports."""
    source, sink = make_pipe(), make_pipe()
    late: list[int] = []
    cancelled = False

    async def main() -> None:
        nonlocal cancelled
        reported = asyncio.Event()

        def on_progress(written: int) -> None:
            if cancelled:
                late.append(written)
            reported.set()

        task = asyncio.ensure_future(
            cuprum.pump_stream_async(
                source.read,
                sink.write,
                on_progress=on_progress,
                progress_interval=0.001,
            )
        )
        await reported.wait()
        task.cancel()
        cancelled = True
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert late == []


def test_a_closed_loops_doorbell_is_dropped_by_the_next_loop(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    if stream_backend.value != "rust":
        pytest.skip("the doorbell belongs to the engine's asyncio side")
    from cuprum._pumps import rust_backend as _streams_rs  # noqa: PLC0415 - engine only

    def one_awaited_pump() -> asyncio.AbstractEventLoop:
        src, dst = make_pipe(), make_pipe()
        os.close(src.write)
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(cuprum.pump_stream_async(src.read, dst.write))
        finally:
            loop.close()
        return loop

    first = one_awaited_pump()
    assert first in _streams_rs._doorbells  # noqa: SLF001 - the registry under test
    second = one_awaited_pump()
    assert first not in _streams_rs._doorbells  # noqa: SLF001
    assert second in _streams_rs._doorbells  # noqa: SLF001
