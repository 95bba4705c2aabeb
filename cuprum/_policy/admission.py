"""How a run meets the execution context: the allowlist, hooks, its request.

Owns `admit` (the current context checks every stage's program, then its
before hooks see every stage, before anything is spawned), `admitted`
(that, the run's keywords checked into a request, and its observer when
the context has observe hooks), `specs` (what each stage runs), and
`after_hooks` (the context's after hooks see each command and how it
ended). `cuprum.pipeline` calls them around `cuprum._run.drive`'s drivers; the
rules themselves are `cuprum.context`'s.

Invariants: `admit` raises `cuprum.context.ForbiddenProgramError` before
any hook runs or anything is spawned; hooks run on the caller's thread, in
the context's order (before: FIFO; after: as stored, LIFO of
registration), each stage in pipeline order; an exception from a hook
propagates (a before hook's stops the run before spawning).
"""

from __future__ import annotations

import typing as typ

from cuprum._policy.scope import current_context
from cuprum._pumps.choice import engine_declined
from cuprum._run.request import StageSpec, check_keywords, make_request
from cuprum.pump_observation import report_hops_declined

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._policy.scope import CuprumContext
    from cuprum._run.observer import Command as Runnable
    from cuprum._run.observer import Observer
    from cuprum._run.request import CommandKeywords, PipelineKeywords, RunRequest
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


def specs(stages: cabc.Iterable[Runnable]) -> list[StageSpec]:
    """Return what each of ``stages`` runs, as the run takes it."""
    return [
        StageSpec(stage.argv_with_program, stage.program, tuple(stage.env), stage.cwd)
        for stage in stages
    ]


def admitted(
    stages: cabc.Sequence[Runnable],
    options: CommandKeywords | PipelineKeywords,
    caller: str,
) -> tuple[CuprumContext, RunRequest, Observer | None]:
    """Admit ``stages`` in the current context; check ``options``.

    Returns the context (for the after hooks), the checked request and the
    run's observer, if its context has observe hooks.
    """
    check_keywords(options, caller)
    context = admit(stages)
    request = make_request(scope=context, **options)
    report_hops(stages)
    return context, request, observer_of(context, stages, request)


def observer_of(
    context: CuprumContext, stages: cabc.Sequence[Runnable], request: RunRequest
) -> Observer | None:
    """Return the run's observer, ``None`` when its context has no observe hooks."""
    if not context.observe_hooks:
        return None
    from cuprum._run.observer import observer_for  # noqa: PLC0415 - with hooks only

    return observer_for(context.observe_hooks, stages, request)


def report_hops(stages: cabc.Sized) -> None:
    """Tell pump hooks of hops the Python backend pumps for want of the engine."""
    if len(stages) > 1 and engine_declined():
        report_hops_declined(len(stages) - 1)
