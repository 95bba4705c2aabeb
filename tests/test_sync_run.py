"""A synchronous run needs no event loop of its own (behaviour section 11 rule 7).

``run_sync`` and ``stream_sync`` poll the run's own descriptors on the
caller's thread: no asyncio loop is made (any loop's ``__init__`` fails
here), no ``SIGCHLD`` handler is set and, with the engine pumping the hops,
no Python thread is started.
"""

from __future__ import annotations

import asyncio
import gc
import pathlib
import signal
import subprocess
import sys
import threading
import typing as typ

import pytest

from cuprum import CAT, ECHO, SEQ, SLEEP, TR, WC, TimeoutExpired, sh
from cuprum._pumps.choice import StreamBackend
from cuprum.context import observe

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum.events import ExecEvent


@pytest.fixture
def no_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every asyncio event loop fail to be made."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        msg = "a synchronous run made an event loop"
        raise AssertionError(msg)

    monkeypatch.setattr(asyncio.BaseEventLoop, "__init__", refuse)


@pytest.fixture
def no_thread(
    monkeypatch: pytest.MonkeyPatch, stream_backend: StreamBackend
) -> cabc.Iterator[list[str]]:
    """Record every Python thread started (the pure-Python pump starts one)."""
    started: list[str] = []
    original = threading.Thread.start

    def start(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    handler = signal.getsignal(signal.SIGCHLD)
    yield started
    assert signal.getsignal(signal.SIGCHLD) == handler
    if stream_backend is StreamBackend.RUST:
        assert started == []
    else:  # one driver thread per pipeline's hops, none per command
        assert all(name == "cuprum-py-pump" for name in started)


@pytest.mark.usefixtures("no_event_loop")
def test_run_sync_makes_no_loop_and_starts_no_thread(no_thread: list[str]) -> None:
    assert sh.make(ECHO)("hi").run_sync().stdout == "hi\n"
    pipeline = sh.make(CAT)() | sh.make(TR)("a-z", "A-Z") | sh.make(WC)("-c")
    assert pipeline.run_sync(input="abc\n").stdout.strip() == "4"
    with pytest.raises(TimeoutExpired):
        sh.make(SLEEP)("5").run_sync(timeout=0.1)
    failed = (sh.make(SEQ)("1", "3") | sh.make(CAT)("/cuprum-no-such")).run_sync()
    assert failed.failure_index == 1
    assert "cuprum-no-such" in str(failed.stages[1].stderr)


@pytest.mark.usefixtures("no_event_loop")
def test_stream_sync_makes_no_loop_and_starts_no_thread(no_thread: list[str]) -> None:
    with (sh.make(SEQ)("1", "20000") | sh.make(CAT)()).stream_sync() as out:
        lines = list(out.lines())
    assert lines == [f"{n}\n" for n in range(1, 20001)]
    assert out.result.ok
    with sh.make(SEQ)("1", "100000").stream_sync() as out:
        assert next(iter(out)).startswith(b"1\n")
    assert out.result.stages[0].terminated or out.result.ok


def test_an_async_hook_on_a_synchronous_run_is_awaited() -> None:
    told: list[str] = []

    async def hook(event: ExecEvent) -> None:
        await asyncio.sleep(0)
        told.append(event.phase)

    with observe(hook):
        assert sh.make(ECHO)("hi").run_sync().ok
    assert "exit" in told


def test_a_run_inside_a_hook_of_a_synchronous_run_gets_a_reactor_of_its_own() -> None:
    inner: list[str | None] = []

    def hook(event: ExecEvent) -> None:
        if event.phase == "exit" and event.argv[1:] == ("outer",):
            inner.append(sh.make(ECHO)("inner").run_sync().stdout)

    with observe(hook):
        assert sh.make(ECHO)("outer").run_sync().stdout == "outer\n"
    assert inner == ["inner\n"]


def test_importing_cuprum_and_a_synchronous_run_do_not_import_asyncio() -> None:
    script = (
        "import sys\n"
        "from cuprum import ECHO, TR, sh\n"
        "(sh.make(ECHO)('hi') | sh.make(TR)('a-z', 'A-Z')).run_sync()\n"
        "print(sorted(m for m in ('asyncio', 'pathlib') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_thread_that_ran_commands_leaves_no_descriptor_behind(
    stream_backend: StreamBackend,
) -> None:
    def run() -> None:
        (sh.make(ECHO)("x") | sh.make(TR)("a-z", "A-Z")).run_sync()

    run()  # this thread's reactor, kept for the next run here
    gc.collect()
    before = len(list(pathlib.Path("/proc/self/fd").iterdir()))
    for _ in range(20):
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    gc.collect()
    assert len(list(pathlib.Path("/proc/self/fd").iterdir())) == before
