"""Shared fixtures: the stream backend fixture, pipes, and a hang guard.

``CUPRUM_TEST_HIDE_NATIVE=1`` makes the native module unimportable for the
whole run (``make test-python-only``); ``CUPRUM_REQUIRE_RUST=1`` turns every
skipped Rust leg into a failure (``make test``, after building the engine).
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import sys
import typing as typ

if os.environ.get("CUPRUM_TEST_HIDE_NATIVE") == "1":
    # An entry of None makes `import` raise ModuleNotFoundError, exactly as
    # on an install without the extension.
    sys.modules["cuprum._rust_backend_native"] = None  # type: ignore[assignment]

import pytest

from cuprum import _backend, _rust_backend
from cuprum._backend import StreamBackend

if typ.TYPE_CHECKING:
    import collections.abc as cabc

HANG_GUARD_SECONDS = 120
REQUIRE_RUST = os.environ.get("CUPRUM_REQUIRE_RUST") == "1"


@pytest.fixture(autouse=True)
def _hang_guard() -> cabc.Iterator[None]:
    """End the run with every thread's traceback if one test hangs."""
    faulthandler.dump_traceback_later(HANG_GUARD_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


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
    from cuprum import _streams_rs  # noqa: PLC0415 - only with the engine

    _streams_rs.set_splice_enabled(False)
    try:
        yield backend
    finally:
        _streams_rs.set_splice_enabled(True)


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
