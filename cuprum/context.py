"""Scopes and hooks: the ways to change the execution context for a block.

Owns the ways to change the current context (`cuprum._policy.scope`) for
a block: `scoped`, `allow`, `before`, `after`, `observe` and `env`, each
returning a handle that is a context manager and has ``detach()``. This is
the older cuprum's ``cuprum.context``, under its names: the context itself
(`CuprumContext`, `ScopeConfig`, `current_context`, the errors) is
re-exported from `cuprum._policy.scope`, and the older names
(`get_context`, `merge_env_overlays`, `resolve_env`) from `cuprum._older`.

Invariants:

* only `allow` adds programs to the allowlist, for as long as its handle
  is attached;
* a handle's ``detach()`` restores the context as it was when the handle was
  made (so detach in the thread or task that made it), and removes only
  what it added when others changed the context since; a second
  ``detach()`` does nothing (`cuprum._policy.handles.VarHandle`).
"""

from __future__ import annotations

import dataclasses as dc
import typing as typ

from cuprum._older.names import get_context, merge_env_overlays, resolve_env  # older
from cuprum._policy.handles import VarHandle
from cuprum._policy.scope import (
    CURRENT,
    AfterHook,
    BeforeHook,
    ContextError,
    CuprumContext,
    EnvOverlay,
    ForbiddenProgramError,
    ScopeConfig,
    current_context,
    frozen_overlay,
)
from cuprum._run import env as _env
from cuprum._run.request import config_or_fields

# At run time: `typing.get_type_hints(scoped)` resolves its annotations.
from cuprum.catalogue import ProgramCatalogue  # noqa: TC001 - see above

if typ.TYPE_CHECKING:
    import contextvars

    from cuprum.events import ExecHook
    from cuprum.program import Program

__all__ = [
    "AfterHook",
    "AllowRegistration",
    "BeforeHook",
    "ContextError",
    "CuprumContext",
    "EnvRegistration",
    "ForbiddenProgramError",
    "HookRegistration",
    "ScopeConfig",
    "after",
    "allow",
    "before",
    "current_context",
    "env",
    "get_context",
    "merge_env_overlays",
    "observe",
    "resolve_env",
    "scoped",
]

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


class _Scope:
    """The context manager `scoped` returns."""

    __slots__ = ("_context", "_token")

    def __init__(self, context: CuprumContext) -> None:
        self._context = context
        self._token: contextvars.Token[CuprumContext] | None = None

    def __enter__(self) -> CuprumContext:
        """Make the scope's context current and return it."""
        self._token = CURRENT.set(self._context)
        return self._context

    def __exit__(self, *exc_info: object) -> None:
        """Restore the context the scope was entered from."""
        token, self._token = self._token, None
        if token is not None:
            CURRENT.reset(token)


def scoped(
    config: ScopeConfig | None = None,
    *,
    catalogue: ProgramCatalogue | None = None,
    **fields: typ.Any,  # noqa: ANN401 - ScopeConfig's fields, checked there
) -> _Scope:
    """Return a context manager running its block in a narrowed context.

    ``with scoped(ScopeConfig(allowlist=frozenset([ECHO]))) as ctx:`` runs
    the block in the current context narrowed by the config (see
    `CuprumContext.narrow`); ``scoped(catalogue=catalogue)`` narrows to the
    catalogue's programs and resolves `cuprum.sh.make` in it. The older
    keyword form, ``scoped(allowlist=..., timeout=...)``, is the same as
    passing ``ScopeConfig(...)`` of those fields. The context in force
    before is restored when the block ends, however it ends.

    Raises
    ------
    TypeError
        If neither or more than one of ``config``, ``catalogue`` and the
        keyword form are given, ``config`` is not a `ScopeConfig`, or a
        keyword is not a `ScopeConfig` field.

    """
    config = config_or_fields("scoped()", ScopeConfig, config, fields)
    if config is not None and catalogue is not None:
        msg = "scoped() accepts either config or catalogue, not both"
        raise TypeError(msg)
    if catalogue is not None:
        config = ScopeConfig(allowlist=catalogue.allowlist, catalogue=catalogue)
    if config is None:
        msg = "scoped() requires config or catalogue (a ScopeConfig)"
        raise TypeError(msg)
    return _Scope(current_context().narrow(config))


def allow(*programs: Program) -> AllowRegistration:
    """Allow ``programs`` too, until the handle is detached (or its block ends)."""
    return AllowRegistration(*programs)


def before(hook: BeforeHook) -> HookRegistration:
    """Run ``hook(cmd)`` before each command is spawned, until detached."""
    return HookRegistration(hook, "before")


def after(hook: AfterHook) -> HookRegistration:
    """Run ``hook(cmd, result)`` after each command ends, until detached."""
    return HookRegistration(hook, "after")


def observe(hook: ExecHook) -> HookRegistration:
    """Give ``hook`` every `cuprum.events.ExecEvent` of runs, until detached."""
    return HookRegistration(hook, "observe")


def env(*overlays: EnvOverlay, **variables: str | None) -> EnvRegistration:
    """Lay variables over the live ``os.environ`` of processes spawned meanwhile.

    Combined as `dict` does: the mappings in order, then the keywords; a
    value ``None`` removes the variable (as ``env=`` of a run does).
    Resolved when each process is spawned, so later changes to
    ``os.environ`` are seen; an ``ExecutionContext.env`` (and a run's
    ``env=``) win over it.
    """
    return EnvRegistration(_env.merged(*overlays, variables))
