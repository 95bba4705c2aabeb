"""Scopes and hooks: the ways to change the execution context for a block.

Owns the ways to change the current context (`cuprum._policy.scope`) for
a block: `scoped`, `allow`, `before`, `after`, `observe` and `env`, each
returning a handle that is a context manager and has ``detach()``
(`cuprum._policy.registrations`). This is the older cuprum's
``cuprum.context``, under its names: the context itself (`CuprumContext`,
`ScopeConfig`, `current_context`, the errors) and the handles' types are
re-exported from `cuprum._policy`, and the older names (`get_context`,
`merge_env_overlays`, `resolve_env`) from `cuprum._older`.

Invariants: only `allow` adds programs to the allowlist, for as long as
its handle is attached; a scope's context is restored when its block
ends, however it ends.
"""

from __future__ import annotations

import typing as typ

# `ExecHook` through its module, at run time (see below): the older
# cuprum's `cuprum.context` has no such name (behaviour section 10).
from cuprum import events as _events  # noqa: TC001 - see above
from cuprum._older.names import get_context, merge_env_overlays, resolve_env  # older
from cuprum._policy import scope as _scope
from cuprum._policy.registrations import (
    AllowRegistration,
    EnvRegistration,
    HookRegistration,
)
from cuprum._policy.scope import (
    AfterHook,
    BeforeHook,
    ContextError,
    CuprumContext,
    EnvOverlay,
    ForbiddenProgramError,
    ScopeConfig,
    current_context,
)
from cuprum._run import env as _env
from cuprum._run.request import config_or_fields

# At run time: `typing.get_type_hints` resolves the annotations of
# `scoped`, `allow` and `observe`.
from cuprum.catalogue import ProgramCatalogue  # noqa: TC001 - see above
from cuprum.program import Program  # noqa: TC001 - see above

if typ.TYPE_CHECKING:
    import contextvars

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


class _Scope:
    """The context manager `scoped` returns."""

    __slots__ = ("_context", "_token")

    def __init__(self, context: CuprumContext) -> None:
        self._context = context
        self._token: contextvars.Token[CuprumContext] | None = None

    def __enter__(self) -> CuprumContext:
        """Make the scope's context current and return it."""
        self._token = _scope.CURRENT.set(self._context)
        return self._context

    def __exit__(self, *exc_info: object) -> None:
        """Restore the context the scope was entered from."""
        token, self._token = self._token, None
        if token is not None:
            _scope.CURRENT.reset(token)


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


def observe(hook: _events.ExecHook) -> HookRegistration:
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
