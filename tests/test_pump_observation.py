"""The pump routing channel: hops that lost the engine are reported.

`cuprum.pump_observation`, behaviour sections 6 and 10.
"""

from __future__ import annotations

import logging
import typing as typ

import pytest
from conftest import select_backend

import cuprum
from cuprum import CAT, ECHO, PumpEvent, RustPumpDeclineReason, observe_pump, sh
from cuprum._pumps import native as _rust_backend
from cuprum._pumps.choice import reset_backend_cache

if typ.TYPE_CHECKING:
    import collections.abc as cabc

PIPELINE = sh.make(ECHO)("x") | sh.make(CAT)() | sh.make(CAT)()


@pytest.fixture
def engine_missing(monkeypatch: pytest.MonkeyPatch) -> cabc.Iterator[None]:
    """``auto`` with the probe answering "not installed"."""
    _rust_backend.is_available.cache_clear()
    monkeypatch.setattr(_rust_backend, "is_available", lambda: False)
    select_backend(monkeypatch, "auto")
    yield
    monkeypatch.undo()
    _rust_backend.is_available.cache_clear()
    reset_backend_cache()


def test_each_hop_without_the_engine_is_reported(engine_missing: None) -> None:
    events: list[PumpEvent] = []
    with observe_pump(events.append):
        assert PIPELINE.run_sync().stdout == "x\n"
        with PIPELINE.stream_sync() as out:
            assert list(out) == [b"x\n"]
        sh.make(ECHO)("one stage, no hop").run_sync()
    declined = PumpEvent("declined", RustPumpDeclineReason.RUST_UNAVAILABLE)
    assert events == [declined] * 4  # two hops, two runs
    PIPELINE.run_sync()
    assert len(events) == 4  # the hook is detached


@pytest.mark.parametrize("backend", ["python", "rust"])
def test_a_chosen_backend_is_not_a_decline(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    if backend == "rust" and not cuprum.is_rust_available():
        pytest.skip("the native engine is not built")
    select_backend(monkeypatch, backend)
    events: list[PumpEvent] = []
    with observe_pump(events.append):
        PIPELINE.run_sync()
    assert events == []


def test_a_failing_pump_hook_is_logged_and_the_run_goes_on(
    engine_missing: None, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_event: PumpEvent) -> None:
        raise RuntimeError("metrics backend down")

    async def not_sync(_event: PumpEvent) -> None:
        return None

    with (
        caplog.at_level(logging.WARNING, "cuprum.pump_observation"),
        observe_pump(broken),
        observe_pump(not_sync),  # type: ignore[arg-type]
    ):
        assert PIPELINE.run_sync().ok
    messages = [record.getMessage() for record in caplog.records]
    assert sum("raised" in message for message in messages) == 2
    assert sum("synchronous" in message for message in messages) == 2


def test_a_pump_hook_must_be_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        observe_pump(42)  # type: ignore[arg-type]
