"""Backend dispatcher: which stream backend serves the pump calls.

Owns the reading of ``CUPRUM_STREAM_BACKEND`` (``auto``, ``rust`` or
``python``; ``auto`` when unset or empty) and the module that answer names
(`pump_backend`: `cuprum._pumps.rust_backend` or `cuprum._pumps.python_backend`), and
`PumpBackend`, the interface both modules offer `cuprum._pumps.calls`. The answer is
resolved once per process and cached; an invalid setting raises on every
call instead of being cached. Tests that change the variable call
`reset_backend_cache` (or use the ``monkeypatch``-based fixtures in
``tests/conftest.py``).

Invariant: the Rust backend's module (the native module's only importer) is
imported only once the Rust backend is selected.
"""

from __future__ import annotations

import enum
import functools
import os
import threading
import typing as typ

from cuprum._pumps import native as _rust_backend

if typ.TYPE_CHECKING:
    from cuprum._pumps.awaiting import Pumping
    from cuprum._pumps.options import PairResult, PumpOptions
    from cuprum._pumps.reactor import Reactor

ENV_VAR = "CUPRUM_STREAM_BACKEND"


class StreamBackend(enum.StrEnum):
    """The stream backends, and ``AUTO`` for "Rust when available"."""

    AUTO = "auto"
    RUST = "rust"
    PYTHON = "python"


_lock = threading.Lock()
_resolved: StreamBackend | None = None
resolved_module: PumpBackend | None = None
"""The backend `pump_backend` resolved (``None`` until its first call).

Read directly by `cuprum._pumps.calls.pump_stream`'s fast path, where a function
call is a tenth of a small call's cost.
"""
_fell_back = False
"""``auto`` resolved to the Python backend because the engine is missing."""


def get_stream_backend() -> StreamBackend:
    """Return the backend in use: ``StreamBackend.RUST`` or ``PYTHON``.

    Never returns ``AUTO``.

    Raises
    ------
    ValueError
        If ``CUPRUM_STREAM_BACKEND`` holds anything but ``auto``, ``rust``
        or ``python``.
    ImportError
        If ``rust`` is requested but the native engine is not available, or
        the native module is installed but broken.

    """
    global _resolved  # noqa: PLW0603 - the per-process cache
    resolved = _resolved
    if resolved is not None:
        return resolved
    with _lock:
        if _resolved is None:
            _resolved = _resolve(os.environ.get(ENV_VAR, ""))
        return _resolved


def engine_declined() -> bool:
    """Say whether ``auto`` fell back to the Python backend for want of the engine.

    False when the engine is in use or ``python`` was asked for.

    Raises
    ------
    ValueError, ImportError
        As `get_stream_backend`.

    """
    get_stream_backend()
    return _fell_back


def pump_backend() -> PumpBackend:
    """Return the module of the backend in use (see `get_stream_backend`).

    Raises
    ------
    ValueError, ImportError
        As `get_stream_backend`.

    """
    global resolved_module  # noqa: PLW0603 - the per-process cache
    module = resolved_module
    if module is None:
        # Once per process (or per reset): the call path of small pumps
        # then costs one global read here.
        module = resolved_module = _module(get_stream_backend())
    return module


@functools.cache
def _module(backend: StreamBackend) -> PumpBackend:
    if backend is StreamBackend.RUST:
        from cuprum._pumps import rust_backend as _streams_rs  # noqa: PLC0415 - only when selected

        return _streams_rs
    from cuprum._pumps import python_backend as _streams  # noqa: PLC0415 - only when selected

    return _streams


def reset_backend_cache() -> None:
    """Forget the resolved backend so the next call reads the environment.

    For tests and for programs that change ``CUPRUM_STREAM_BACKEND`` at run
    time; the availability probe's answer is kept (the native module cannot
    be unloaded).
    """
    global _resolved, resolved_module, _fell_back  # noqa: PLW0603 - the cache
    with _lock:
        _resolved = None
        resolved_module = None
        _fell_back = False


def _resolve(raw: str) -> StreamBackend:
    value = raw.strip().lower() or StreamBackend.AUTO.value
    try:
        requested = StreamBackend(value)
    except ValueError:
        valid = ", ".join(repr(member.value) for member in StreamBackend)
        msg = f"{ENV_VAR}={raw!r} is not a stream backend; use one of {valid}"
        raise ValueError(msg) from None
    if requested is StreamBackend.PYTHON:
        return StreamBackend.PYTHON
    available = _rust_backend.is_available()
    if requested is StreamBackend.RUST and not available:
        msg = (
            f"{ENV_VAR}=rust but the native engine is not installed; build it "
            "(make build, or pip install a cuprum wheel) or set "
            f"{ENV_VAR}=auto or python"
        )
        raise ImportError(msg)
    if not available:
        global _fell_back  # noqa: PLW0603 - the per-process cache, under _lock
        _fell_back = True
        return StreamBackend.PYTHON
    return StreamBackend.RUST


class PumpBackend(typ.Protocol):
    """What a backend module offers `cuprum._pumps.calls`: five calls, nothing else.

    `pump_backend` returns the selected module (the engine's `rust_backend`
    or the pure-Python `python_backend`); both meet the same contract, so
    `cuprum._pumps.calls` holds no backend's own logic.
    """

    def pump_stream(self, reader_fd: int, writer_fd: int, buffer_size: int, /) -> int:
        """Pump one pair, every option but ``buffer_size`` at its default.

        ``buffer_size`` is valid; the descriptor numbers are ``int`` but not
        yet range-checked (the backend checks them, with the errors of
        `validate_fd`). Returns the bytes written or raises the pair's error.
        """
        ...

    def pump_many(
        self, pairs: list[tuple[int, int]], options: PumpOptions, /
    ) -> list[PairResult]:
        """Pump validated ``pairs`` with validated ``options``; block until done."""
        ...

    def start_many(
        self, reactor: Reactor, pairs: list[tuple[int, int]], options: PumpOptions, /
    ) -> Pumping:
        """Start the batch of `pump_many`, told on ``reactor``; return at once."""
        ...

    async def pump_many_async(
        self, pairs: list[tuple[int, int]], options: PumpOptions, /
    ) -> list[PairResult]:
        """Await the batch of `pump_many`; cancelling the task stops every pair."""
        ...

    async def pump_stream_async(
        self, reader_fd: int, writer_fd: int, buffer_size: int, /
    ) -> int:
        """Await `pump_stream` (the same arguments, checked the same way)."""
        ...
