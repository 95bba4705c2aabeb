"""The handles that change the current context until they are detached.

Owns `AllowRegistration`, `HookRegistration` and `EnvRegistration`: what
`cuprum.context`'s ``allow``, ``before``/``after``/``observe`` and ``env``
return. Each sets the current context (`cuprum._policy.scope.CURRENT`) to
one with its change when made, and undoes it on ``detach()`` or at the end
of its ``with`` block.

Invariants:

* a handle's ``detach()`` restores the context as it was when the handle was
  made (so detach in the thread or task that made it); a second
  ``detach()`` does nothing (`cuprum._policy.handles.VarHandle`);
* an `AllowRegistration` or `HookRegistration` detached after others
  changed the context removes only what it added, so those detach in any
  order; an `EnvRegistration` restores the context as it was, so detach
  overlays innermost first, as their ``with`` blocks do;
* in a permissive context (the root) ``allow`` changes nothing: every
  program is allowed already.
"""

from __future__ import annotations

import dataclasses as dc
import typing as typ

from cuprum._policy.handles import VarHandle
from cuprum._policy.scope import (
    CURRENT,
    AfterHook,
    BeforeHook,
    CuprumContext,
    EnvOverlay,
    current_context,
    frozen_overlay,
)

# At run time: `typing.get_type_hints` resolves the handles' annotations.
from cuprum.events import ExecHook  # noqa: TC001 - see above
from cuprum.program import Program  # noqa: TC001 - see above

_H = typ.TypeVar("_H")


def _without_one(hooks: tuple[_H, ...], hook: object) -> tuple[_H, ...]:
    """Return ``hooks`` less the first occurrence of ``hook``."""
    index = next((at for at, each in enumerate(hooks) if each is hook), len(hooks))
    return hooks[:index] + hooks[index + 1 :]


class _Registration(VarHandle[CuprumContext]):
    """A change to the current context, undone by ``detach()`` or on block exit."""

    __slots__ = ()

    def __init__(self, changed: CuprumContext) -> None:
        super().__init__(CURRENT, changed)


class _Undoable(_Registration):
    """A registration whose ``detach()`` undoes its own change and no other's.

    Handles may be detached in any order: ``detach()`` restores the context
    as it was at registration when nothing changed it since, and otherwise
    takes the current context and removes exactly what this handle added
    (`_undo`), where restoring the older context would also drop what later
    handles added. The token is reset first either way, so a detach from
    another thread or task is refused as `VarHandle` refuses it.
    """

    __slots__ = ("_changed",)

    def __init__(self, changed: CuprumContext) -> None:
        self._changed = changed
        super().__init__(changed)

    def detach(self) -> None:
        """Remove what this handle added (once); see the class."""
        if self._token is None:
            return
        current = self._var.get()
        super().detach()  # ValueError in another context; nothing changes then
        if current is not self._changed:
            self._var.set(self._undo(current))

    def _undo(self, context: CuprumContext) -> CuprumContext:
        raise NotImplementedError


class AllowRegistration(_Undoable):
    """Programs added to the current allowlist; see `allow`.

    In a permissive context (the root) every program is allowed already,
    and the context is left as it is.
    """

    __slots__ = ("_added", "programs")

    def __init__(self, *programs: Program) -> None:
        self.programs = frozenset(programs)
        context = current_context()
        self._added = (
            frozenset() if context.permissive else self.programs - context.allowlist
        )
        super().__init__(context.with_allowlist(context.allowlist | self._added))

    def _undo(self, context: CuprumContext) -> CuprumContext:
        return dc.replace(context, allowlist=context.allowlist - self._added)


class HookRegistration(_Undoable):
    """A hook added to the current context; see `before`, `after`, `observe`."""

    __slots__ = ("hook", "kind")

    def __init__(
        self,
        hook: BeforeHook | AfterHook | ExecHook,
        kind: typ.Literal["before", "after", "observe"],
    ) -> None:
        if not callable(hook):
            msg = f"a {kind} hook must be callable, not {hook!r}"
            raise TypeError(msg)
        self.hook = hook
        self.kind = kind
        context = current_context()
        if kind == "before":
            changed = context.with_before_hook(typ.cast("BeforeHook", hook))
        elif kind == "after":
            changed = context.with_after_hook(typ.cast("AfterHook", hook))
        elif kind == "observe":
            changed = context.with_observe_hook(typ.cast("ExecHook", hook))
        else:
            msg = f"unknown hook kind {kind!r}: use before, after or observe"
            raise ValueError(msg)
        super().__init__(changed)

    def _undo(self, context: CuprumContext) -> CuprumContext:
        """Remove one registration of the hook (it may be registered twice)."""
        if self.kind == "before":
            before = _without_one(context.before_hooks, self.hook)
            return dc.replace(context, before_hooks=before)
        if self.kind == "after":
            after = _without_one(context.after_hooks, self.hook)
            return dc.replace(context, after_hooks=after)
        observe = _without_one(context.observe_hooks, self.hook)
        return dc.replace(context, observe_hooks=observe)


class EnvRegistration(_Registration):
    """An overlay laid over the current context's; see `env`."""

    __slots__ = ("overlay",)

    def __init__(self, overlay: EnvOverlay) -> None:
        self.overlay = frozen_overlay(overlay, "env")
        super().__init__(current_context().with_env_overlay(self.overlay))
