"""Shared fixtures: the stream backend fixture, pipes, and a hang guard.

Also what the behaviour tests share: the backends by the names the feature
files use (`BDD_BACKENDS`), the step "the <name> backend moves the bytes",
and `build_pipeline` for "a x piped into b y".

``CUPRUM_TEST_HIDE_NATIVE=1`` makes the native module unimportable for the
whole run (``make test-python-only``); ``CUPRUM_REQUIRE_RUST=1`` turns every
skipped Rust leg into a failure (``make test``, after building the engine).
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import shlex
import signal
import sys
import typing as typ

if os.environ.get("CUPRUM_TEST_HIDE_NATIVE") == "1":
    # An entry of None makes `import` raise ModuleNotFoundError, exactly as
    # on an install without the extension.
    sys.modules["cuprum._rust_backend_native"] = None  # type: ignore[assignment]

import pytest
from pytest_bdd import given, parsers

from cuprum import DEFAULT_CATALOGUE, Pipeline, sh
from cuprum._pumps import choice as _backend
from cuprum._pumps import native as _rust_backend
from cuprum._pumps.choice import StreamBackend

if typ.TYPE_CHECKING:
    import collections.abc as cabc

TEST_TIME_LIMIT_SECONDS = 60.0
"""How long one test may take before it fails as hung (``time_limit`` marker)."""
HANG_GUARD_SECONDS = 180
"""Backstop: a hang that even the time limit cannot break ends the run."""
REQUIRE_RUST = os.environ.get("CUPRUM_REQUIRE_RUST") == "1"


class TestTimeLimitExceeded(BaseException):
    """A test outlived its time limit (a hang, not a slow machine).

    A ``BaseException``, like ``KeyboardInterrupt``, so that no
    ``except Exception`` in the code under test swallows it.
    """


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers this file reads."""
    config.addinivalue_line(
        "markers",
        "time_limit(seconds): fail the test as hung after this many seconds "
        f"(default {TEST_TIME_LIMIT_SECONDS:g})",
    )


@pytest.fixture(autouse=True)
def _time_limit(request: pytest.FixtureRequest) -> cabc.Iterator[None]:
    """Fail one hung test with its own traceback, and let the run go on.

    ``SIGALRM`` (a real-time interval timer) raises `TestTimeLimitExceeded`
    in the main thread, where every test runs; waits in the engine and the
    Python backend check signals, so the hang is broken there too. Should a
    hang block signal handlers as well, faulthandler ends the whole run with
    every thread's traceback after `HANG_GUARD_SECONDS`.
    """
    marker = request.node.get_closest_marker("time_limit")
    limit = float(marker.args[0]) if marker else TEST_TIME_LIMIT_SECONDS

    def expired(_signum: int, _frame: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        msg = f"{request.node.nodeid} still running after {limit:g} s: hung"
        raise TestTimeLimitExceeded(msg)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, limit)
    faulthandler.dump_traceback_later(HANG_GUARD_SECONDS, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def rust_engine_missing_reason() -> str | None:
    """Say why the Rust leg cannot run here, or ``None`` if it can."""
    if not _rust_backend.is_available():
        return "native engine not built (make build); Python backend only"
    return None


def select_backend(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Select backend ``name`` through the environment, as a user would."""
    monkeypatch.setenv(_backend.ENV_VAR, name)
    _backend.reset_backend_cache()


def use_backend(monkeypatch: pytest.MonkeyPatch, backend: StreamBackend) -> None:
    """Select ``backend`` for this test, or skip (fail under REQUIRE_RUST).

    The Rust leg is skipped with a visible reason where the engine is not
    built, and fails instead when ``CUPRUM_REQUIRE_RUST=1``.
    """
    if backend is StreamBackend.RUST:
        reason = rust_engine_missing_reason()
        if reason is not None:
            if REQUIRE_RUST:
                pytest.fail(f"CUPRUM_REQUIRE_RUST=1 but {reason}")
            pytest.skip(reason)
    select_backend(monkeypatch, backend.value)
    assert _backend.get_stream_backend() is backend


BDD_BACKENDS: typ.Final = {
    "pure-Python": StreamBackend.PYTHON,
    "Rust": StreamBackend.RUST,
}
"""The backends by the names the feature files give them."""


@given(parsers.parse("the {backend} backend moves the bytes"))
def backend_moves_the_bytes(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    use_backend(monkeypatch, BDD_BACKENDS[backend])


def build_pipeline(text: str) -> Pipeline:
    """Turn ``a x piped into b y`` into ``make(a)(x) | make(b)(y)``."""
    stages = []
    for part in text.split(" piped into "):
        program, *args = shlex.split(part)
        stages.append(sh.make(DEFAULT_CATALOGUE.lookup(program).program)(*args))
    return Pipeline(stages)


REQUIRE_FAULT_INJECTION = os.environ.get("CUPRUM_REQUIRE_FAULT_INJECTION") == "1"


def require_fault_injection(switch: object) -> None:
    """Skip (or fail) a test whose engine fault switch is missing.

    A build without the ``fault-injection`` feature (an installed wheel)
    lacks the switches: the test is skipped, saying so, unless
    ``CUPRUM_REQUIRE_FAULT_INJECTION=1`` (``make test``) makes that a
    failure.
    """
    if switch is None:
        reason = "engine built without the fault-injection feature (a wheel)"
        if REQUIRE_FAULT_INJECTION:
            pytest.fail(f"CUPRUM_REQUIRE_FAULT_INJECTION=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_backend_cache() -> cabc.Iterator[None]:
    _backend.reset_backend_cache()
    yield
    _backend.reset_backend_cache()


@pytest.fixture(params=["python", "rust", "rust-copy"])
def stream_backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> cabc.Iterator[StreamBackend]:
    """Run the test once per stream backend, selected by environment.

    ``rust`` is the engine as shipped (``splice(2)`` between two pipes);
    ``rust-copy`` forces its ring-buffer copy path.
    """
    variant = typ.cast("str", request.param)
    backend = StreamBackend(variant.split("-")[0])
    use_backend(monkeypatch, backend)
    if variant != "rust-copy":
        yield backend
        return
    with splice_disabled():
        yield backend


@contextlib.contextmanager
def splice_disabled() -> cabc.Iterator[None]:
    """Turn the engine's splice path off, then put back what was there.

    What was there may be off already (``CUPRUM_SPLICE=0``): restoring
    "on" unconditionally would undo that for every later test.
    """
    from cuprum._pumps import rust_backend as _streams_rs  # noqa: PLC0415 - only with the engine

    before = _streams_rs.splice_enabled()
    _streams_rs.set_splice_enabled(False)
    try:
        yield
    finally:
        _streams_rs.set_splice_enabled(before)


class Pipe(typ.NamedTuple):
    """A pipe's two ends."""

    read: int
    write: int


@pytest.fixture
def make_pipe() -> cabc.Iterator[cabc.Callable[[], Pipe]]:
    """Create pipes; after the test, close the ends the test left open.

    An end the test closed itself may have had its number reused by then, so
    only a descriptor that still names the same pipe is closed.
    """
    made: list[tuple[int, tuple[int, int]]] = []

    def make() -> Pipe:
        pipe = Pipe(*os.pipe())
        for fd in pipe:
            info = os.fstat(fd)
            made.append((fd, (info.st_dev, info.st_ino)))
        return pipe

    yield make
    for fd, identity in made:
        with contextlib.suppress(OSError):
            info = os.fstat(fd)
            if (info.st_dev, info.st_ino) == identity:
                os.close(fd)
