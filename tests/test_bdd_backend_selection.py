"""Steps for "Backend selection by environment" (behaviour section 6).

"The native engine is not installed" is simulated the way a pure-Python
install looks to cuprum: the native module cannot be imported. The
availability probe's cached answer is cleared before and after, so the
tests around this one see the real engine again.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import typing as typ

import pytest
from conftest import REQUIRE_RUST, rust_engine_missing_reason, select_backend
from pytest_bdd import given, parsers, scenarios, then, when

import cuprum
from cuprum import StreamBackend
from cuprum._pumps import choice as _backend
from cuprum._pumps import native as _rust_backend

if typ.TYPE_CHECKING:
    import collections.abc as cabc

scenarios("backend_selection.feature")


@dataclasses.dataclass
class Choice:
    """What the scenario set up and what cuprum answered."""

    backend: StreamBackend | None = None
    error: Exception | None = None


@pytest.fixture
def choice() -> Choice:
    return Choice()


@pytest.fixture
def native_engine_hidden() -> cabc.Iterator[None]:
    """Make the native module unimportable, as on a pure-Python install."""
    _rust_backend.is_available.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, _rust_backend.NATIVE_MODULE, None)
        yield
    _rust_backend.is_available.cache_clear()  # the next probe sees the real module


# ---------------------------------------------------------------------------
# Given
# ---------------------------------------------------------------------------


@given("the native engine is installed")
def _() -> None:
    reason = rust_engine_missing_reason()
    if reason is not None:
        if REQUIRE_RUST:
            pytest.fail(f"CUPRUM_REQUIRE_RUST=1 but {reason}")
        pytest.skip(reason)


@given("the native engine is not installed")
def _(native_engine_hidden: None) -> None:
    assert cuprum.is_rust_available() is False


@given(parsers.parse('CUPRUM_STREAM_BACKEND is set to "{value}"'))
def _(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    select_backend(monkeypatch, value)


@given("CUPRUM_STREAM_BACKEND is not set")
def _(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_backend.ENV_VAR, raising=False)
    _backend.reset_backend_cache()


# ---------------------------------------------------------------------------
# When
# ---------------------------------------------------------------------------


@when("cuprum picks its stream backend")
def _(choice: Choice) -> None:
    try:
        choice.backend = cuprum.get_stream_backend()
    except (ValueError, ImportError) as error:
        choice.error = error


# ---------------------------------------------------------------------------
# Then
# ---------------------------------------------------------------------------


@then("the pure-Python backend is in use")
def _(choice: Choice) -> None:
    assert choice.error is None
    assert choice.backend is StreamBackend.PYTHON


@then("the Rust backend is in use")
def _(choice: Choice) -> None:
    assert choice.error is None
    assert choice.backend is StreamBackend.RUST


@then(
    "the Rust backend is in use if the native engine is installed, "
    "the pure-Python one otherwise"
)
def _(choice: Choice) -> None:
    assert choice.error is None
    installed = rust_engine_missing_reason() is None
    assert choice.backend is (StreamBackend.RUST if installed else StreamBackend.PYTHON)


@then("pumping still works")
def _() -> None:
    source_read, source_write = os.pipe()
    target_read, target_write = os.pipe()
    try:
        os.write(source_write, b"still moving")
        os.close(source_write)
        assert cuprum.pump_stream(source_read, target_write) == 12
        os.close(target_write)
        assert os.read(target_read, 100) == b"still moving"
    finally:
        for fd in (source_read, target_read):
            os.close(fd)


@then("the user is told the native engine is not installed, and how to fix that")
def _(choice: Choice) -> None:
    assert isinstance(choice.error, ImportError)
    message = str(choice.error)
    assert "CUPRUM_STREAM_BACKEND=rust" in message
    assert "not installed" in message
    assert "make build" in message
    assert "CUPRUM_STREAM_BACKEND=auto or python" in message


@then(
    parsers.parse(
        'the user is told "{value}" is not a stream backend, '
        "with the valid choices listed"
    )
)
def _(choice: Choice, value: str) -> None:
    assert isinstance(choice.error, ValueError)
    message = str(choice.error)
    assert "CUPRUM_STREAM_BACKEND" in message
    assert repr(value) in message
    assert "'auto', 'rust', 'python'" in message


@then("a pump call is refused the same way")
def _(choice: Choice) -> None:
    assert choice.error is not None
    source_read, source_write = os.pipe()
    try:
        with pytest.raises(type(choice.error)) as caught:
            cuprum.pump_stream(source_read, source_write)
        assert str(caught.value) == str(choice.error)
    finally:
        os.close(source_read)
        os.close(source_write)
