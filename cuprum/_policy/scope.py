"""The execution context as a value, and the one in force.

Owns `CuprumContext` (an immutable value: an allowlist, before/after/observe
hooks, a default timeout and an environment overlay), `ScopeConfig` (what a
scope changes), the errors a context raises (`ContextError`,
`ForbiddenProgramError`) and the current context: a
``contextvars.ContextVar`` (`CURRENT`), so each thread and each asyncio task
sees its own (`current_context`). The ways to change it for a block
(``scoped``, ``allow``, ``before``, ...) are `cuprum.context`'s, which
re-exports these names under the older cuprum's import path; runs consult
the context in `cuprum._policy.admission`.

Invariants:

* a scope can narrow the allowlist, never widen it: a scope's allowlist is
  intersected with its parent's (the root, with an empty allowlist that is
  not *restricted*, allows every program);
* before hooks run first-registered first (a parent's before a child's);
  after hooks run last-registered first (a child's before its parent's);
  observe hooks first-registered first;
* an overlay never snapshots ``os.environ``: it is laid over the live
  environment when a process is spawned (`cuprum._run.env`); later layers
  win.
"""

from __future__ import annotations

import collections.abc as cabc
import contextvars
import dataclasses as dc
import types
import typing as typ

from cuprum._pumps.options import check_timeout
from cuprum._run import env as _env
from cuprum._run.request import check_env

# At run time: `typing.get_type_hints` resolves the annotations of
# `ScopeConfig` and `CuprumContext` (all three are imported with the package).
from cuprum.catalogue import ProgramCatalogue  # noqa: TC001 - see above
from cuprum.events import ExecHook  # noqa: TC001 - see above
from cuprum.program import Program  # noqa: TC001 - see above
from cuprum.results import CommandResult

# The command a hook is given is a `cuprum.SafeCmd`; it is typed ``Any`` here
# because `cuprum.pipeline` (which runs the hooks) depends on this module, and
# a hook annotated ``(cmd: SafeCmd)`` must still be accepted. Real aliases,
# not strings, so that `typing.get_type_hints` resolves a user's annotations.
BeforeHook: typ.TypeAlias = cabc.Callable[[typ.Any], None]
"""Called with each command (a `cuprum.SafeCmd`; each stage of a pipeline)
before it is spawned."""
AfterHook: typ.TypeAlias = cabc.Callable[[typ.Any, CommandResult[typ.Any]], None]
"""Called with each command and how it ended, once its run is over."""
EnvOverlay: typ.TypeAlias = cabc.Mapping[str, str | None]
"""Variables laid over the live ``os.environ`` at spawn time (``None``
removes one)."""


class ContextError(Exception):
    """An execution-context rule was broken."""

    # Tracebacks and pickles name the public path, where users import it.
    __module__ = "cuprum.context"


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

    __module__ = "cuprum.context"

    def __init__(self, program: Program, *, restricted_state: bool) -> None:
        super().__init__(
            f"program {program!r} is not allowed in the current context; "
            "widen the scope's allowlist or wrap the run in allow(...)"
        )
        self.program = program
        self.restricted_state = restricted_state

    def __reduce__(self) -> tuple[typ.Any, ...]:
        """Pickle by the program and the flag (``__init__`` takes a keyword)."""
        return (_forbidden, (self.program, self.restricted_state))


def _forbidden(program: Program, restricted_state: bool) -> ForbiddenProgramError:
    """Remake a pickled `ForbiddenProgramError`."""
    return ForbiddenProgramError(program, restricted_state=restricted_state)


def frozen_overlay(overlay: object, owner: str) -> EnvOverlay | None:
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


def laid_over(parent: EnvOverlay | None, child: EnvOverlay | None) -> EnvOverlay | None:
    """Lay ``child`` over ``parent`` (its values win); ``None`` adds nothing.

    Returns a read-only mapping, or ``None`` when both are ``None``.
    ``os.environ`` is not read.
    """
    if parent is None and child is None:
        return None
    return types.MappingProxyType(_env.merged(parent, child))


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

    def __reduce__(self) -> tuple[typ.Any, ...]:
        """Pickle by the fields, the overlay as a plain ``dict``."""
        return (type(self), _picklable_fields(self))

    def __post_init__(self) -> None:
        """Check the timeout and freeze the overlay and the sequences."""
        object.__setattr__(
            self, "timeout", check_timeout(self.timeout, "ScopeConfig timeout")
        )
        object.__setattr__(
            self, "env_overlay", frozen_overlay(self.env_overlay, "ScopeConfig")
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

    def __reduce__(self) -> tuple[typ.Any, ...]:
        """Pickle by the fields, the overlay as a plain ``dict``."""
        return (type(self), _picklable_fields(self))

    def __post_init__(self) -> None:
        """Check the timeout and freeze the overlay."""
        object.__setattr__(
            self, "timeout", check_timeout(self.timeout, "CuprumContext timeout")
        )
        object.__setattr__(
            self, "env_overlay", frozen_overlay(self.env_overlay, "CuprumContext")
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
            env_overlay=laid_over(self.env_overlay, config.env_overlay),
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
        checked = frozen_overlay(overlay, "env")
        return dc.replace(self, env_overlay=laid_over(self.env_overlay, checked))


_H = typ.TypeVar("_H")


def _without(hooks: tuple[_H, ...], hook: _H) -> tuple[_H, ...]:
    return tuple(each for each in hooks if each is not hook)


def _picklable_fields(value: ScopeConfig | CuprumContext) -> tuple[object, ...]:
    """Return the fields of ``value`` in order, a read-only overlay as a ``dict``.

    A ``mappingproxy`` does not pickle; ``__post_init__`` freezes the
    ``dict`` again when the value is remade.
    """
    return tuple(
        dict(field) if isinstance(field, types.MappingProxyType) else field
        for field in (getattr(value, each.name) for each in dc.fields(value))
    )


_ROOT: typ.Final = CuprumContext()
CURRENT: contextvars.ContextVar[CuprumContext] = contextvars.ContextVar(
    "cuprum_context", default=_ROOT
)


def current_context() -> CuprumContext:
    """Return the context of the running thread or task."""
    return CURRENT.get()
