"""Steps for ``features/async_pump.feature``: awaited pumps in asyncio."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import typing as typ
from pipes import collect, is_nonblocking, is_open, payload

import pytest
from conftest import BDD_BACKENDS, use_backend
from pytest_bdd import given, parsers, scenarios, then, when

import cuprum

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from conftest import Pipe

    MakePipe = cabc.Callable[[], Pipe]

scenarios("async_pump.feature")

PAYLOAD = 256 * 1024
RESULT_TIMEOUT = 30


@dataclasses.dataclass
class Awaited:
    """What the steps build up and observe."""

    source: Pipe | None = None
    target: Pipe | None = None
    data: bytes = b""
    received: bytes = b""
    loop_turns_while_waiting: int = 0
    cancelled: bool = False


@pytest.fixture
def awaited() -> Awaited:
    return Awaited()


@given(parsers.parse("the {backend} stream backend"))
def _backend(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_backend(monkeypatch, BDD_BACKENDS[backend])


@given("a producer that will write 256 KiB into a source pipe and close it")
def _closed_source(awaited: Awaited, make_pipe: MakePipe) -> None:
    awaited.source, awaited.target = make_pipe(), make_pipe()
    awaited.data = payload(PAYLOAD)


@when(
    "the program awaits the pump while the loop writes the payload and counts its turns"
)
def _await_with_other_task(awaited: Awaited) -> None:
    source, target = typ.cast("Pipe", awaited.source), typ.cast("Pipe", awaited.target)
    collecting = collect(target.read)

    async def main() -> None:
        turns = 0
        stop = asyncio.Event()

        async def counter() -> None:
            nonlocal turns
            while not stop.is_set():
                turns += 1
                await asyncio.sleep(0)

        counting = asyncio.ensure_future(counter())
        pump = asyncio.ensure_future(
            cuprum.pump_stream_async(source.read, target.write)
        )
        # The payload is written from the loop, in pieces, while the pump
        # waits: the loop must be free for this to finish at all.
        view = memoryview(awaited.data)
        while view:
            await asyncio.sleep(0)
            try:
                view = view[os.write(source.write, view[:16384]) :]
            except BlockingIOError:
                continue
        # The pump cannot be done before EOF: every turn counted so far was
        # taken while it was awaited.
        assert not pump.done()
        awaited.loop_turns_while_waiting = turns
        os.close(source.write)
        assert await pump == PAYLOAD
        stop.set()
        await counting

    os.set_blocking(source.write, False)
    asyncio.run(main())
    os.close(target.write)
    awaited.received = collecting.result(timeout=RESULT_TIMEOUT)


@then("the destination receives the same 256 KiB")
def _same_payload(awaited: Awaited) -> None:
    assert awaited.received == awaited.data


@then("the other task ran while the pump was awaited")
def _other_task_ran(awaited: Awaited) -> None:
    assert awaited.loop_turns_while_waiting > 0


@given(
    parsers.parse('a source pipe whose producer has written "{text}" and stays open')
)
def _open_source(awaited: Awaited, make_pipe: MakePipe, text: str) -> None:
    awaited.source, awaited.target = make_pipe(), make_pipe()
    os.write(awaited.source.write, text.encode())


@when(
    parsers.parse(
        'the program starts awaiting the pump, sees "{text}" arrive and cancels it'
    )
)
def _start_and_cancel(awaited: Awaited, text: str) -> None:
    source, target = typ.cast("Pipe", awaited.source), typ.cast("Pipe", awaited.target)

    async def main() -> None:
        task = asyncio.ensure_future(
            cuprum.pump_stream_async(source.read, target.write)
        )
        got = await asyncio.to_thread(os.read, target.read, 100)
        assert got == text.encode()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            awaited.cancelled = True

    asyncio.run(main())


@then("the task ends cancelled")
def _ended_cancelled(awaited: Awaited) -> None:
    assert awaited.cancelled


@then("both descriptors are still open and blocking")
def _open_and_blocking(awaited: Awaited) -> None:
    source, target = typ.cast("Pipe", awaited.source), typ.cast("Pipe", awaited.target)
    for fd in (source.read, target.write):
        assert is_open(fd)
        assert not is_nonblocking(fd)


@then("data written to the source afterwards is not taken by the pump")
def _left_alone(awaited: Awaited) -> None:
    source = typ.cast("Pipe", awaited.source)
    os.write(source.write, b"later")
    assert os.read(source.read, 100) == b"later"
