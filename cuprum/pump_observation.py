"""The pump routing channel: who hears `cuprum.pump_events.PumpEvent`s.

Owns `observe_pump` (register a `PumpHook` for as long as its handle is
attached), `PumpHookRegistration` and `report_hops_declined`, which the
runs call when their hops take the Python backend for want of the engine.

Invariants:

* hooks live in a `contextvars.ContextVar`, like `cuprum.context`'s: each
  thread and task sees its own registrations; ``detach()`` restores what
  was there when the handle was made, once (`cuprum._policy.handles.VarHandle`);
* a hook that raises an ``Exception`` is logged (``cuprum.pump_observation``,
  ``WARNING``, with its traceback) and the run goes on: a broken metrics
  backend never fails a pipeline. ``BaseException``s (``KeyboardInterrupt``,
  cancellation) propagate. A hook must be synchronous: an awaitable it
  returns is closed unrun and logged;
* with no hook registered, reporting costs one ``ContextVar.get``.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import typing as typ

from cuprum._policy.handles import VarHandle
from cuprum.pump_events import PumpEvent, RustPumpDeclineReason

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum.pump_events import PumpHook

__all__ = ["PumpHookRegistration", "observe_pump"]

_log = logging.getLogger("cuprum.pump_observation")
_hooks: contextvars.ContextVar[tuple[PumpHook, ...]] = contextvars.ContextVar(
    "cuprum_pump_hooks", default=()
)


class PumpHookRegistration(VarHandle[tuple["PumpHook", ...]]):
    """A registered pump hook; ``detach()`` or leave its block to remove it."""

    __slots__ = ("hook",)

    def __init__(self, hook: PumpHook) -> None:
        if not callable(hook):
            msg = f"a pump hook must be callable, not {hook!r}"
            raise TypeError(msg)
        self.hook = hook
        super().__init__(_hooks, (*_hooks.get(), hook))


def observe_pump(hook: PumpHook) -> PumpHookRegistration:
    """Call ``hook`` with each `PumpEvent`, until the handle is detached."""
    return PumpHookRegistration(hook)


def report_hops_declined(hops: int) -> None:
    """Tell the hooks that ``hops`` hops took the Python backend (no engine)."""
    hooks = _hooks.get()
    if not hooks or hops <= 0:
        return
    event = PumpEvent("declined", RustPumpDeclineReason.RUST_UNAVAILABLE)
    for _ in range(hops):
        for hook in hooks:
            _call(hook, event)


def _call(hook: PumpHook, event: PumpEvent) -> None:
    loose: cabc.Callable[[PumpEvent], object] = hook  # it may break its contract
    try:
        returned = loose(event)
    except Exception:  # noqa: BLE001 - any hook failure is logged, the run goes on
        _log.warning("pump hook %r raised; the run goes on", hook, exc_info=True)
        return
    if inspect.isawaitable(returned):
        if inspect.iscoroutine(returned):
            returned.close()
        _log.warning(
            "pump hook %r returned an awaitable; pump hooks are synchronous", hook
        )
