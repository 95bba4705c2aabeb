"""The availability probe and the backend dispatcher (behaviour section 6)."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
import types

import pytest
from conftest import select_backend

import cuprum
from cuprum import StreamBackend
from cuprum._pumps import choice as _backend
from cuprum._pumps import native as _rust_backend


@pytest.fixture
def fresh_probe():
    """Let a test change what the probe sees; restore the real answer after."""
    _rust_backend.is_available.cache_clear()
    yield
    _rust_backend.is_available.cache_clear()


def test_python_is_always_selectable(monkeypatch: pytest.MonkeyPatch) -> None:
    select_backend(monkeypatch, "python")
    assert cuprum.get_stream_backend() is StreamBackend.PYTHON


@pytest.mark.parametrize("value", ["", "auto", "AUTO", " Auto "])
def test_auto_picks_rust_exactly_when_available(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    select_backend(monkeypatch, value)
    expected = (
        StreamBackend.RUST if cuprum.is_rust_available() else StreamBackend.PYTHON
    )
    assert cuprum.get_stream_backend() is expected


def test_unset_means_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_backend.ENV_VAR, raising=False)
    _backend.reset_backend_cache()
    assert cuprum.get_stream_backend() is not StreamBackend.AUTO


def test_invalid_value_lists_the_valid_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    select_backend(monkeypatch, "fortran")
    with pytest.raises(ValueError, match="'auto', 'rust', 'python'") as caught:
        cuprum.get_stream_backend()
    assert "fortran" in str(caught.value)


def test_invalid_value_reaches_pump_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    select_backend(monkeypatch, "turbo")
    with pytest.raises(ValueError, match="CUPRUM_STREAM_BACKEND"):
        cuprum.pump_many([])


def test_resolved_once_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    select_backend(monkeypatch, "python")
    assert cuprum.get_stream_backend() is StreamBackend.PYTHON
    monkeypatch.setenv(_backend.ENV_VAR, "nonsense")
    assert cuprum.get_stream_backend() is StreamBackend.PYTHON
    _backend.reset_backend_cache()
    with pytest.raises(ValueError, match="nonsense"):
        cuprum.get_stream_backend()


def test_rust_requested_but_absent(
    monkeypatch: pytest.MonkeyPatch, fresh_probe: None
) -> None:
    monkeypatch.setitem(sys.modules, "cuprum._rust_backend_native", None)
    select_backend(monkeypatch, "rust")
    assert cuprum.is_rust_available() is False
    with pytest.raises(ImportError, match="CUPRUM_STREAM_BACKEND=auto or python"):
        cuprum.get_stream_backend()


def test_absent_module_falls_back_to_python(
    monkeypatch: pytest.MonkeyPatch, fresh_probe: None
) -> None:
    monkeypatch.setitem(sys.modules, "cuprum._rust_backend_native", None)
    select_backend(monkeypatch, "auto")
    assert cuprum.get_stream_backend() is StreamBackend.PYTHON
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    with open(os.devnull, "wb") as null:  # noqa: PTH123
        assert cuprum.pump_many([(read_fd, null.fileno())]) == [0]
    os.close(read_fd)


def test_broken_module_warns_and_raises(
    monkeypatch: pytest.MonkeyPatch, fresh_probe: None, caplog: pytest.LogCaptureFixture
) -> None:
    broken = types.ModuleType("cuprum._rust_backend_native")

    def is_available() -> bool:
        raise RuntimeError("symbol not found")

    broken.is_available = is_available  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cuprum._rust_backend_native", broken)
    select_backend(monkeypatch, "auto")
    with (
        caplog.at_level(logging.WARNING, logger="cuprum._pumps.native"),
        pytest.raises(
            _rust_backend.NativeBackendBrokenError, match="CUPRUM_STREAM_BACKEND=python"
        ),
    ):
        cuprum.get_stream_backend()
    assert "symbol not found" in caplog.text


def test_module_without_probe_is_broken(
    monkeypatch: pytest.MonkeyPatch, fresh_probe: None
) -> None:
    monkeypatch.setitem(
        sys.modules, "cuprum._rust_backend_native", types.ModuleType("x")
    )
    with pytest.raises(ImportError, match="broken"):
        cuprum.is_rust_available()


def test_broken_module_does_not_stop_the_python_backend(
    monkeypatch: pytest.MonkeyPatch, fresh_probe: None
) -> None:
    monkeypatch.setitem(
        sys.modules, "cuprum._rust_backend_native", types.ModuleType("x")
    )
    select_backend(monkeypatch, "python")
    assert cuprum.get_stream_backend() is StreamBackend.PYTHON


def test_is_rust_available_is_the_cached_probe() -> None:
    assert cuprum.is_rust_available is _rust_backend.is_available
    assert cuprum.is_rust_available() is cuprum.is_rust_available()


def test_a_resource_error_while_loading_says_so(
    monkeypatch: pytest.MonkeyPatch, fresh_probe: None
) -> None:
    starved = types.ModuleType("cuprum._rust_backend_native")

    def is_available() -> bool:
        raise OSError(errno.EMFILE, "Too many open files")

    starved.is_available = is_available  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cuprum._rust_backend_native", starved)
    with pytest.raises(ImportError, match="ulimit -n") as caught:
        cuprum.is_rust_available()
    assert "rebuild" not in str(caught.value)


def test_importing_cuprum_off_posix_says_where_it_runs() -> None:
    script = "import os; os.name = 'nt'; import cuprum"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "ImportError: cuprum runs on Linux, macOS and the BSDs" in done.stderr
    assert "WSL" in done.stderr
