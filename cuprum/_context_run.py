"""How a run meets the execution context: the allowlist, before and after hooks.

Owns `admit` (the current context checks every stage's program, then its
before hooks see every stage, before anything is spawned) and
`after_hooks` (the context's after hooks see each command and how it
ended). `cuprum.pipeline` calls them around `cuprum._run.run_stages`; the
rules themselves are `cuprum.context`'s.

Invariants: `admit` raises `cuprum.context.ForbiddenProgramError` before
any hook runs or anything is spawned; hooks run on the caller's thread, in
the context's order (before: FIFO; after: as stored, LIFO of
registration), each stage in pipeline order; an exception from a hook
propagates (a before hook's stops the run before spawning).
"""

from __future__ import annotations

import typing as typ

from cuprum.context import current_context

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum.context import CuprumContext
    from cuprum.results import CommandResult


class Command(typ.Protocol):
    """What the context is told of a command (`cuprum.SafeCmd` is one).

    A protocol, so that this module needs nothing of `cuprum.pipeline`,
    which calls it.
    """

    @property
    def program(self) -> str:
        """The program the command runs."""


def admit(commands: cabc.Sequence[Command]) -> CuprumContext:
    """Check ``commands`` against the current context, run its before hooks.

    Returns the context, for the after hooks and the run's defaults.

    Raises
    ------
    ForbiddenProgramError
        If the context does not allow one of the programs.

    """
    context = current_context()
    for command in commands:
        context.check_allowed(command.program)
    for command in commands:
        for hook in context.before_hooks:
            hook(command)
    return context


def after_hooks(
    context: CuprumContext, ended: cabc.Iterable[tuple[Command, CommandResult[typ.Any]]]
) -> None:
    """Give each command and its result to ``context``'s after hooks."""
    for command, result in ended:
        for hook in context.after_hooks:
            hook(command, result)
