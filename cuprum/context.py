"""The execution context: which programs may run, hooks, overlays, a timeout.

Owns `CuprumContext` (an immutable value: an allowlist, before/after/observe
hooks, a default timeout and an environment overlay), `ScopeConfig` (what a
scope changes), the current context (a `contextvars.ContextVar`, so each
thread and each asyncio task sees its own: `current_context`,
`get_context`), the ways to change it for a block (`scoped`, `allow`,
`before`, `after`, `observe`, `env`, each returning a handle that is a
context manager and has ``detach()``), the overlay helpers
(`merge_env_overlays`, `resolve_env`) and the error a run raises for a
program the context does not allow (`ForbiddenProgramError`). This is the
older cuprum's ``cuprum.context``, under its names; runs consult it in
`cuprum._policy.admission`.

Invariants:

* a scope can narrow the allowlist, never widen it: a scope's allowlist is
  intersected with its parent's (the root, with an empty allowlist that is
  not *restricted*, allows every program); only `allow` adds programs, for
  as long as its handle is attached;
* before hooks run first-registered first (a parent's before a child's);
  after hooks run last-registered first (a child's before its parent's);
  observe hooks first-registered first;
* an overlay never snapshots ``os.environ``: it is laid over the live
  environment when a process is spawned (`resolve_env`); later layers win;
* a handle's ``detach()`` restores the context as it was when the handle was
  made (so detach in the thread or task that made it); a second ``detach()``
  does nothing (`cuprum._policy.handles.VarHandle`).
"""

from __future__ import annotations

import contextvars
import dataclasses as dc
import logging
import types
import typing as typ

from cuprum._policy.handles import VarHandle
from cuprum._pumps.options import check_timeout
from cuprum._run import env as _env
from cuprum._run.request import check_env, config_or_fields

# At run time: `typing.get_type_hints(scoped)` resolves its annotations.
from cuprum.catalogue import ProgramCatalogue  # noqa: TC001 - see above

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum.events import ExecHook
    from cuprum.program import Program
    from cuprum.results import CommandResult

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

# The command a hook is given is a `cuprum.SafeCmd`; it is typed ``Any`` here
# because `cuprum.pipeline` (which runs the hooks) depends on this module, and
# a hook annotated ``(cmd: SafeCmd)`` must still be accepted.
BeforeHook: typ.TypeAlias = "cabc.Callable[[typ.Any], None]"
"""Called with each command (a `cuprum.SafeCmd`; each stage of a pipeline)
before it is spawned."""
AfterHook: typ.TypeAlias = "cabc.Callable[[typ.Any, CommandResult[typ.Any]], None]"
"""Called with each command and how it ended, once its run is over."""
EnvOverlay: typ.TypeAlias = "cabc.Mapping[str, str | None]"
"""Variables laid over the live ``os.environ`` at spawn time (``None``
removes one)."""

_log = logging.getLogger("cuprum.context")


class ContextError(Exception):
    """An execution-context rule was broken."""


class ForbiddenProgramError(ContextError, PermissionError):
    """A run named a program that the current context does not allow.

    Raised before anything is spawned.

    Attributes
    ----------
    program
        The program refused.
    restricted_state
        Whether the context's allowlist was restricted (set by a scope)
        when it refused.

    """

    def __init__(self, program: Program, *, restricted_state: bool) -> None:
        super().__init__(
            f"program {program!r} is not allowed in the current context; "
            "widen the scope's allowlist or wrap the run in allow(...)"
        )
        self.program = program
        self.restricted_state = restricted_state


def _frozen_overlay(overlay: object, owner: str) -> EnvOverlay | None:
    """Return a read-only copy of an overlay (``None`` stays ``None``).

    Raises
    ------
    TypeError
        If ``overlay`` is not a mapping of ``str`` to ``str``.
    ValueError
        If a name is empty or holds ``=`` or NUL, or a value holds NUL.

    """
    if overlay is None:
        return None
    return types.MappingProxyType(dict(check_env(overlay, f"{owner} env overlay")))


def merge_env_overlays(
    parent: EnvOverlay | None, child: EnvOverlay | None
) -> EnvOverlay | None:
    """Lay ``child`` over ``parent`` (its values win); ``None`` adds nothing.

    Returns a read-only mapping, or ``None`` when both are ``None``.
    ``os.environ`` is not read.
    """
    if parent is None and child is None:
        return None
    return types.MappingProxyType(_env.merged(parent, child))


def resolve_env(*layers: EnvOverlay | None) -> dict[str, str] | None:
    """Return ``os.environ`` as it is now with ``layers`` laid over it, in order.

    A value ``None`` removes the variable. ``None`` and empty layers add
    nothing; when every layer is such, the result is ``None`` (the child
    inherits this process's environment).
    """
    if not any(layers):
        return None
    return _env.over_environ(*layers)


@dc.dataclass(frozen=True, slots=True)
class ScopeConfig:
    """What a scope changes in the context it narrows.

    Attributes
    ----------
    allowlist
        The programs the scope allows (intersected with the parent's);
        ``None`` keeps the parent's.
    before_hooks, after_hooks, observe_hooks
        Hooks added for the scope (see `CuprumContext`).
    timeout
        The default timeout, in seconds, of runs in the scope that give
        none; ``None`` keeps the parent's.
    env_overlay
        Variables laid over the parent's overlay for the scope.
    catalogue
        The catalogue `cuprum.sh.make` resolves programs in, inside the
        scope, when it is given none (``None`` keeps the parent's); set by
        `scoped(catalogue=...)` together with its allowlist.

    Raises
    ------
    ValueError, TypeError
        For a negative or non-numeric timeout, or an overlay that is not a
        mapping of ``str`` to ``str``.

    """

    allowlist: frozenset[Program] | None = None
    before_hooks: tuple[BeforeHook, ...] = ()
    after_hooks: tuple[AfterHook, ...] = ()
    observe_hooks: tuple[ExecHook, ...] = ()
    timeout: float | None = None
    env_overlay: EnvOverlay | None = None
    catalogue: ProgramCatalogue | None = dc.field(default=None, compare=False)

    def __post_init__(self) -> None:
        """Check the timeout and freeze the overlay and the sequences."""
        object.__setattr__(
            self, "timeout", check_timeout(self.timeout, "ScopeConfig timeout")
        )
        object.__setattr__(
            self, "env_overlay", _frozen_overlay(self.env_overlay, "ScopeConfig")
        )
        if self.allowlist is not None:
            object.__setattr__(self, "allowlist", frozenset(self.allowlist))
        for field in ("before_hooks", "after_hooks", "observe_hooks"):
            object.__setattr__(self, field, tuple(getattr(self, field)))


@dc.dataclass(frozen=True, slots=True)
class CuprumContext:
    """The rules runs follow: an allowlist, hooks, a timeout, an overlay.

    Attributes
    ----------
    allowlist
        The programs allowed. Empty and not ``restricted`` (the root): every
        program is allowed.
    before_hooks
        Run before each command is spawned, in this order (FIFO).
    after_hooks
        Run after each command ended, in this order (LIFO: the latest
        registered is first).
    observe_hooks
        Given each `cuprum.events.ExecEvent`, in this order.
    timeout
        The default timeout of runs that give none (an
        ``ExecutionContext.timeout`` or a ``timeout=`` wins).
    env_overlay
        Variables laid over the live ``os.environ`` for every process.
    restricted
        Whether a scope has set the allowlist (so that an empty one allows
        nothing).
    catalogue
        The catalogue of the innermost `scoped(catalogue=...)`, which
        `cuprum.sh.make` uses when given none; ``None`` outside any (then
        the default catalogue). Not compared: it grants nothing by itself.

    """

    allowlist: frozenset[Program] = dc.field(default_factory=frozenset)
    before_hooks: tuple[BeforeHook, ...] = ()
    after_hooks: tuple[AfterHook, ...] = ()
    observe_hooks: tuple[ExecHook, ...] = ()
    timeout: float | None = None
    env_overlay: EnvOverlay | None = None
    restricted: bool = False
    catalogue: ProgramCatalogue | None = dc.field(default=None, compare=False)

    def __post_init__(self) -> None:
        """Check the timeout and freeze the overlay."""
        object.__setattr__(
            self, "timeout", check_timeout(self.timeout, "CuprumContext timeout")
        )
        object.__setattr__(
            self, "env_overlay", _frozen_overlay(self.env_overlay, "CuprumContext")
        )
        object.__setattr__(self, "allowlist", frozenset(self.allowlist))

    def is_allowed(self, program: Program | str) -> bool:
        """Say whether a run in this context may start ``program``.

        The answer `check_allowed` acts on: every program in a permissive
        context (empty allowlist, not restricted: the root), the
        allowlist's programs otherwise.
        """
        return self.permissive or program in self.allowlist

    @property
    def permissive(self) -> bool:
        """Whether every program is allowed (no scope or list restricts it)."""
        return not self.allowlist and not self.restricted

    def check_allowed(self, program: Program | str) -> None:
        """Return if a run may start ``program``; raise otherwise.

        Raises
        ------
        ForbiddenProgramError
            If the allowlist is restricted or not empty and lacks ``program``.

        """
        if not self.is_allowed(program):
            raise ForbiddenProgramError(
                typ.cast("Program", program), restricted_state=self.restricted
            )

    def narrow(self, config: ScopeConfig) -> CuprumContext:
        """Return the context of a scope ``config`` opens inside this one."""
        allowlist = self.allowlist
        if config.allowlist is not None:
            parent_set = self.allowlist or self.restricted
            allowlist = (
                self.allowlist & config.allowlist if parent_set else config.allowlist
            )
        return CuprumContext(
            allowlist=allowlist,
            before_hooks=(*self.before_hooks, *config.before_hooks),
            after_hooks=(*config.after_hooks, *self.after_hooks),
            observe_hooks=(*self.observe_hooks, *config.observe_hooks),
            timeout=self.timeout if config.timeout is None else config.timeout,
            env_overlay=merge_env_overlays(self.env_overlay, config.env_overlay),
            restricted=self.restricted or config.allowlist is not None,
            catalogue=self.catalogue if config.catalogue is None else config.catalogue,
        )

    def with_allowlist(self, allowlist: frozenset[Program]) -> CuprumContext:
        """Return this context with ``allowlist`` in place of its own (no narrowing)."""
        return dc.replace(
            self,
            allowlist=frozenset(allowlist),
            restricted=self.restricted or bool(self.allowlist) or bool(allowlist),
        )

    def with_program(self, program: Program) -> CuprumContext:
        """Return this context allowing ``program`` too."""
        return self.with_allowlist(self.allowlist | {program})

    def without_program(self, program: Program) -> CuprumContext:
        """Return this context no longer allowing ``program``."""
        return self.with_allowlist(self.allowlist - {program})

    def with_before_hook(self, hook: BeforeHook) -> CuprumContext:
        """Return this context with ``hook`` run after its other before hooks."""
        return dc.replace(self, before_hooks=(*self.before_hooks, hook))

    def without_before_hook(self, hook: BeforeHook) -> CuprumContext:
        """Return this context without ``hook`` among its before hooks."""
        return dc.replace(self, before_hooks=_without(self.before_hooks, hook))

    def with_after_hook(self, hook: AfterHook) -> CuprumContext:
        """Return this context with ``hook`` run before its other after hooks."""
        return dc.replace(self, after_hooks=(hook, *self.after_hooks))

    def without_after_hook(self, hook: AfterHook) -> CuprumContext:
        """Return this context without ``hook`` among its after hooks."""
        return dc.replace(self, after_hooks=_without(self.after_hooks, hook))

    def with_observe_hook(self, hook: ExecHook) -> CuprumContext:
        """Return this context with ``hook`` told events after its other ones."""
        return dc.replace(self, observe_hooks=(*self.observe_hooks, hook))

    def without_observe_hook(self, hook: ExecHook) -> CuprumContext:
        """Return this context without ``hook`` among its observe hooks."""
        return dc.replace(self, observe_hooks=_without(self.observe_hooks, hook))

    def with_env_overlay(self, overlay: EnvOverlay | None) -> CuprumContext:
        """Return this context with ``overlay`` laid over its own overlay."""
        checked = _frozen_overlay(overlay, "env")
        return dc.replace(
            self, env_overlay=merge_env_overlays(self.env_overlay, checked)
        )


_H = typ.TypeVar("_H")


def _without(hooks: tuple[_H, ...], hook: _H) -> tuple[_H, ...]:
    return tuple(each for each in hooks if each is not hook)


def _without_one(hooks: tuple[_H, ...], hook: object) -> tuple[_H, ...]:
    """Return ``hooks`` less the first occurrence of ``hook``."""
    index = next((at for at, each in enumerate(hooks) if each is hook), len(hooks))
    return hooks[:index] + hooks[index + 1 :]


_ROOT: typ.Final = CuprumContext()
_current: contextvars.ContextVar[CuprumContext] = contextvars.ContextVar(
    "cuprum_context", default=_ROOT
)


def current_context() -> CuprumContext:
    """Return the context of the running thread or task."""
    return _current.get()


get_context = current_context
"""The older cuprum's other name for `current_context`."""


class _Registration(VarHandle[CuprumContext]):
    """A change to the current context, undone by ``detach()`` or on block exit."""

    __slots__ = ()

    def __init__(self, changed: CuprumContext) -> None:
        super().__init__(_current, changed)


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
        self.overlay = _frozen_overlay(overlay, "env")
        super().__init__(current_context().with_env_overlay(self.overlay))


class _Scope:
    """The context manager `scoped` returns."""

    __slots__ = ("_context", "_token")

    def __init__(self, context: CuprumContext) -> None:
        self._context = context
        self._token: contextvars.Token[CuprumContext] | None = None

    def __enter__(self) -> CuprumContext:
        """Make the scope's context current and return it."""
        self._token = _current.set(self._context)
        return self._context

    def __exit__(self, *exc_info: object) -> None:
        """Restore the context the scope was entered from."""
        token, self._token = self._token, None
        if token is not None:
            _current.reset(token)


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
