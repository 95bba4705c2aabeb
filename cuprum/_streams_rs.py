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
    from cuprum._streams import PairCallback, PairResult

rust_pump_stream = _native.rust_pump_stream
rust_pump_many = _native.rust_pump_many
AsyncDoorbell = _native.AsyncDoorbell
set_splice_enabled = _native.set_splice_enabled
splice_enabled = _native.splice_enabled


def pump_many(
    pairs: list[tuple[int, int]],
    buffer_size: int,
    drain_timeout: float | None,
    on_pair_done: PairCallback | None = None,
) -> list[PairResult]:
    """Pump a batch in the engine, blocking with the GIL released."""
    return rust_pump_many(
        pairs, buffer_size, drain_timeout=drain_timeout, on_pair_done=on_pair_done
    )
