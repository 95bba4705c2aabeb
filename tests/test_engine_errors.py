"""Failures of the engine itself reach every caller as `cuprum.EngineError`.

Behaviour section 2, rule 4: an engine failure is raised by a single-pair
call, held in that pair's slot by a batch (``int | OSError | EngineError``)
and raised as a pipeline's error; it is never returned where a count is
expected. The failure is injected: the development build carries the
``fault-injection`` cargo feature, whose ``_fail_next_pairs(n)`` makes the
reactor fail the next ``n`` pairs it admits, through the same path as a
reactor that broke (flags restored, duplicates closed).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import typing as typ

import pytest
from conftest import require_fault_injection, use_backend

import cuprum
from cuprum import CAT, ECHO, EngineError, StreamBackend, sh
from cuprum._pumps import python_backend as _streams

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from conftest import Pipe


@pytest.fixture
def fail_next_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> cabc.Iterator[cabc.Callable[[int], None]]:
    """Select the engine and hand out its fault switch (disarmed afterwards).

    A build without the ``fault-injection`` feature (an installed wheel)
    skips these tests, saying so; ``CUPRUM_REQUIRE_FAULT_INJECTION=1``
    (``make test``) makes that a failure instead.
    """
    use_backend(monkeypatch, StreamBackend.RUST)
    from cuprum._pumps import rust_backend as _streams_rs  # noqa: PLC0415 - only with the engine

    switch = _streams_rs.fail_next_pairs
    require_fault_injection(switch)
    assert switch is not None
    try:
        yield switch
    finally:
        switch(0)


def waiting_pair(make_pipe: cabc.Callable[[], Pipe]) -> tuple[Pipe, Pipe]:
    """A source with its write end open (so the pair must wait) and a sink."""
    return make_pipe(), make_pipe()


def flags(*fds: int) -> list[int]:
    return [fcntl.fcntl(fd, fcntl.F_GETFL) for fd in fds]


def test_engine_error_is_a_runtime_error_exported_from_cuprum() -> None:
    assert issubclass(EngineError, RuntimeError)
    assert "EngineError" in cuprum.__all__


def single_pair_call(form: str, reader: int, writer: int) -> int:
    """Run one pair through the blocking or the awaited single-pair call."""
    if form == "pump_stream":
        return cuprum.pump_stream(reader, writer)
    return asyncio.run(cuprum.pump_stream_async(reader, writer))


@pytest.mark.parametrize("form", ["pump_stream", "pump_stream_async"])
def test_single_pair_calls_raise_it(
    fail_next_pairs: cabc.Callable[[int], None],
    make_pipe: cabc.Callable[[], Pipe],
    form: str,
) -> None:
    source, sink = waiting_pair(make_pipe)
    before = flags(source.read, sink.write)
    fail_next_pairs(1)
    with pytest.raises(EngineError, match="injected fault"):
        single_pair_call(form, source.read, sink.write)
    assert flags(source.read, sink.write) == before


@pytest.mark.parametrize("form", ["blocking", "awaited"])
def test_a_batch_holds_it_in_the_failed_pairs_slot(
    fail_next_pairs: cabc.Callable[[int], None],
    make_pipe: cabc.Callable[[], Pipe],
    form: str,
) -> None:
    failed_source, failed_sink = waiting_pair(make_pipe)
    good_source, good_sink = make_pipe(), make_pipe()
    os.write(good_source.write, b"still moved")
    os.close(good_source.write)
    pairs = [
        (failed_source.read, failed_sink.write),  # admitted first: fails
        (good_source.read, good_sink.write),
    ]
    fail_next_pairs(1)
    if form == "blocking":
        results = cuprum.pump_many(pairs)
    else:
        results = asyncio.run(cuprum.pump_many_async(pairs))
    assert isinstance(results[0], EngineError)
    assert results[1] == len(b"still moved")
    assert os.read(good_sink.read, 100) == b"still moved"


def test_a_pipeline_raises_it_as_the_runs_error(
    fail_next_pairs: cabc.Callable[[int], None],
) -> None:
    # Two hops go to the engine as one batch (a lone hop may finish inline,
    # never reaching the reactor); the first admitted, hop 0, fails.
    cat = sh.make(CAT)()
    fail_next_pairs(1)
    with pytest.raises(EngineError, match="injected fault"):
        (sh.make(ECHO)("lost") | cat | cat).run_sync(timeout=10)
    # The engine is sound again: the next run moves its bytes.
    result = (sh.make(ECHO)("found") | cat | cat).run_sync(timeout=10)
    assert (result.stdout, result.hop_bytes) == ("found\n", (6, 6))


# The pure-Python backend reports its own failures with the same class.


@pytest.fixture
def broken_python_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Select the Python backend and make its driver fail on its first wait."""
    use_backend(monkeypatch, StreamBackend.PYTHON)

    def broken(*_: object) -> typ.NoReturn:
        msg = "poller gone"
        raise RuntimeError(msg)

    monkeypatch.setattr(_streams._Driver, "_poller", broken)  # noqa: SLF001


@pytest.mark.usefixtures("broken_python_backend")
@pytest.mark.parametrize("form", ["pump_stream", "pump_stream_async"])
def test_python_backend_single_pair_calls_raise_it(
    make_pipe: cabc.Callable[[], Pipe], form: str
) -> None:
    source, sink = waiting_pair(make_pipe)
    before = flags(source.read, sink.write)

    with pytest.raises(EngineError, match="Python backend failed") as caught:
        single_pair_call(form, source.read, sink.write)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert flags(source.read, sink.write) == before


@pytest.mark.usefixtures("broken_python_backend")
@pytest.mark.parametrize("form", ["blocking", "awaited"])
def test_python_backend_batches_hold_it(
    make_pipe: cabc.Callable[[], Pipe], form: str
) -> None:
    (a, a_sink), (b, b_sink) = waiting_pair(make_pipe), waiting_pair(make_pipe)
    pairs = [(a.read, a_sink.write), (b.read, b_sink.write)]
    before = flags(a.read, a_sink.write, b.read, b_sink.write)
    if form == "blocking":
        results = cuprum.pump_many(pairs)
    else:
        results = asyncio.run(cuprum.pump_many_async(pairs))
    assert all(isinstance(result, EngineError) for result in results)
    assert flags(a.read, a_sink.write, b.read, b_sink.write) == before


@pytest.mark.usefixtures("broken_python_backend")
def test_python_backend_pipeline_raises_it() -> None:
    cat = sh.make(CAT)()
    with pytest.raises(EngineError, match="Python backend failed"):
        (sh.make(ECHO)("lost") | cat | cat).run_sync(timeout=10)
