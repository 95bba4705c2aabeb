"""Pump routing events: a pipeline's hops did not take the Rust engine.

Owns `PumpEvent`, `PumpPhase`, `RustPumpDeclineReason` and the hook type
`PumpHook`. These describe how bytes were moved, not a command's lifecycle,
so they have a channel of their own (`cuprum.pump_observation`), apart from
`cuprum.events`: an ``observe`` hook never sees them.

When a hop declines the engine (behaviour section 6): with
``CUPRUM_STREAM_BACKEND=auto`` and the native engine not installed, every
hop of a pipeline is pumped by the Python backend; each such hop is
reported ``declined`` with reason ``rust_unavailable``, so a deployment
that silently lost its engine shows up in the metrics. A backend chosen
explicitly (``python``) is not a decline. The older cuprum's other reasons
(``raw_fd_unavailable`` and the rest) name hand-offs of asyncio transports
that this engine never makes (it pumps descriptors it made itself); they
are kept so code enumerating the reasons keeps working, and are never
emitted.

Invariants: an event carries the phase and the reason only (nothing from
a descriptor, argv or exception, so a metric label's values stay few);
this module imports no other part of cuprum.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses as dc
import enum
import typing as typ


class RustPumpDeclineReason(enum.StrEnum):
    """Why a hop was pumped by the Python backend instead of the engine."""

    RUST_UNAVAILABLE = "rust_unavailable"
    """``auto`` was asked for and the native engine is not installed."""
    RAW_FD_UNAVAILABLE = "raw_fd_unavailable"
    READER_UNRESUMABLE = "reader_unresumable"
    READER_PAUSE_FAILED = "reader_pause_failed"
    BLOCKING_MODE_UNAVAILABLE = "blocking_mode_unavailable"


PumpPhase: typ.TypeAlias = typ.Literal["declined", "failed_after_cancel"]
"""``declined``: a hop took the Python backend (``reason`` says why).
``failed_after_cancel``: a cancelled hop's engine failure was swallowed by
the cancellation (this engine reports hop failures with the run, so it
does not emit it)."""


@dc.dataclass(frozen=True, slots=True)
class PumpEvent:
    """One routing fact about one hop.

    Attributes
    ----------
    phase
        What happened (see `PumpPhase`).
    reason
        Why, for ``declined``; ``None`` otherwise.

    """

    phase: PumpPhase
    reason: RustPumpDeclineReason | None = None


PumpHook: typ.TypeAlias = cabc.Callable[[PumpEvent], None]
"""A pump hook: called synchronously with each `PumpEvent`."""

__all__ = ["PumpEvent", "PumpHook", "PumpPhase", "RustPumpDeclineReason"]
