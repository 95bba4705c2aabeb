"""The Rust stream backend: the only module that imports the native engine.

Owns the translation between the public pump calls and the native module
``cuprum._rust_backend_native`` (documented in its ``.pyi``). Arguments
arrive validated by `cuprum._pump`; the native functions check them again,
since they are callable on their own.
"""

from __future__ import annotations

import typing as typ

from cuprum import _rust_backend_native as _native

if typ.TYPE_CHECKING:
    from collections.abc import Callable

rust_pump_stream = _native.rust_pump_stream
rust_pump_many = _native.rust_pump_many
AsyncDoorbell = _native.AsyncDoorbell
set_splice_enabled = _native.set_splice_enabled
splice_enabled = _native.splice_enabled

fail_next_pairs: Callable[[int], None] | None = getattr(
    _native, "_fail_next_pairs", None
)
"""Test-only: make the reactor fail the next pairs it admits (``None`` in a
build without the ``fault-injection`` feature, which wheels never carry)."""
hang_next_blocking_pairs: Callable[[int], None] | None = getattr(
    _native, "_hang_next_blocking_pairs", None
)
"""Test-only: make the next blocking-path pairs hang after their first step."""
release_hung_pairs: Callable[[], None] | None = getattr(
    _native, "_release_hung_pairs", None
)
"""Test-only: let every hung blocking-path pair go on."""
