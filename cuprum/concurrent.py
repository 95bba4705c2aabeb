"""Several commands at once: `run_concurrent` and `run_concurrent_sync`.

Owns `ConcurrentConfig` (how many commands may run at once, what happens to
their output, the `cuprum.ExecutionContext` they share, fail-fast),
`ConcurrentResult` (what the commands returned, in the order they were
given, which of them failed, and where each was given) and the two calls.
This is the older cuprum's ``cuprum.concurrent``, under its names; each
command is an ordinary `cuprum.SafeCmd.run`, so the current context's
before, after and observe hooks see every command, and its timeout, if
any, applies to each.

Invariants:

* nothing is spawned unless the current context allows every command's
  program: all of them are checked, on the caller's task, before the first
  starts;
* every command runs as an asyncio task on the caller's event loop, so the
  call adds no thread of its own; with a ``concurrency`` limit at most that
  many are inside ``SafeCmd.run`` at once (a semaphore; waiting commands
  start in the order they were given); with ``fail_fast``, no command
  starts once a failure is known;
* no process outlives the call: whether it returns or raises (a fail-fast
  stop, an error, its own cancellation), every command's task has ended
  first, and a cancelled ``SafeCmd.run`` terminates and reaps its process
  group; once that clean-up has begun, a further cancellation waits for it
  to finish;
* ``results`` keep the order the commands were given; ``failures`` index
  ``results`` in ascending order; ``submission_indices`` map each result
  back to its command.
"""

from __future__ import annotations

import asyncio
import dataclasses as dc
import typing as typ

from cuprum._pumps.reactor import refuse_running_loop
from cuprum._run.request import config_or_fields
from cuprum.context import current_context
from cuprum.pipeline import Pipeline, SafeCmd

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._run.request import ExecutionContext
    from cuprum.results import CommandResult

__all__ = [
    "ConcurrentConfig",
    "ConcurrentResult",
    "run_concurrent",
    "run_concurrent_sync",
]

_Task: typ.TypeAlias = "asyncio.Task[CommandResult[typ.Any] | None]"
"""A command's task: its result, or ``None`` when a fail-fast stop came first."""


@dc.dataclass(frozen=True, slots=True)
class ConcurrentConfig:
    """How `run_concurrent` runs its commands.

    Attributes
    ----------
    concurrency
        How many commands may run at once; ``None`` (the default) starts
        them all together, ``1`` runs them one after another.
    capture
        Keep each command's stdout and stderr in its `CommandResult`
        (``None`` there without it).
    echo
        Copy the output to this process's stdout and stderr (or the
        context's sinks) as it comes.
    context
        The `cuprum.ExecutionContext` every command runs with (``None``:
        each run's defaults and the current scope's).
    fail_fast
        Stop at the first command that exits non-zero (or raises): the
        commands still running are terminated and reaped, those not yet
        started never start. Without it every command runs to its end.

    Raises
    ------
    TypeError
        If ``concurrency`` is given and is not an ``int`` (``True`` is not a
        count).
    ValueError
        If ``concurrency`` is below 1.

    """

    concurrency: int | None = None
    capture: bool = True
    echo: bool = False
    context: ExecutionContext | None = None
    fail_fast: bool = False

    def __post_init__(self) -> None:
        """Check the limit."""
        limit: object = self.concurrency
        if limit is None:
            return
        if isinstance(limit, bool) or not isinstance(limit, int):
            msg = f"concurrency must be an int, got {type(limit).__name__}"
            raise TypeError(msg)
        if limit < 1:
            msg = f"concurrency must be >= 1, got {limit}"
            raise ValueError(msg)


@dc.dataclass(frozen=True, slots=True)
class ConcurrentResult:
    """What the commands of one `run_concurrent` returned.

    Attributes
    ----------
    results
        The commands' results, in the order the commands were given. After
        a fail-fast stop only the commands that ended by themselves are
        here (a command stopped by it, or never started, has none), so
        this may be shorter than the commands given.
    failures
        Positions in ``results`` (not in the commands given) of the results
        that are not ``ok``, ascending.
    submission_indices
        For each entry of ``results``, the position of its command among
        those given, ascending. Left out (``None``), it is filled in as
        ``0, 1, ..., len(results) - 1``, which is what a run without a
        fail-fast stop returns; it is never ``None`` once the result is
        made.

    Raises
    ------
    TypeError
        If an index is not an ``int``.
    ValueError
        If a failure index is outside ``results``, a submission index is
        negative, either sequence is not strictly ascending, or
        ``submission_indices`` is given with a length other than
        ``results``'s.

    """

    results: tuple[CommandResult[typ.Any], ...]
    failures: tuple[int, ...] = ()
    submission_indices: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        """Check the indices and fill ``submission_indices`` in if left out."""
        count = len(self.results)
        _check_indices(
            self.failures, "failures", "failures index must be an int", bound=count
        )
        positions = self.submission_indices
        if positions is None:
            object.__setattr__(self, "submission_indices", tuple(range(count)))
            return
        if len(positions) != count:
            msg = (
                f"submission_indices length ({len(positions)}) "
                f"must match results length ({count})"
            )
            raise ValueError(msg)
        _check_indices(
            positions, "submission_indices", "submission_indices must be ints"
        )

    @property
    def ok(self) -> bool:
        """Whether no result failed."""
        return not self.failures

    @property
    def first_failure(self) -> CommandResult[typ.Any] | None:
        """The earliest failed result (in ``results`` order), or ``None``."""
        return self.results[self.failures[0]] if self.failures else None

    @property
    def failure_submission_indices(self) -> tuple[int, ...]:
        """Positions among the commands given of those that failed, ascending.

        The same as ``failures`` unless a fail-fast stop left commands out
        of ``results``.
        """
        positions = self.submission_indices or ()
        return tuple(positions[index] for index in self.failures)


def _check_indices(
    indices: tuple[int, ...], name: str, type_message: str, *, bound: int | None = None
) -> None:
    """Check ``indices``: ints, at least 0 (below ``bound``), strictly ascending."""
    previous = -1
    for index in indices:
        if isinstance(index, bool) or not isinstance(index, int):
            msg = f"{type_message}, got {type(index).__name__}"
            raise TypeError(msg)
        if bound is not None and not 0 <= index < bound:
            msg = f"{name} index {index} is out of range for {bound} results"
            raise ValueError(msg)
        if index < 0:
            msg = f"{name} must be non-negative, got {index}"
            raise ValueError(msg)
        if index <= previous:
            msg = f"{name} must be strictly ascending and unique, got {indices}"
            raise ValueError(msg)
        previous = index


def _collect_results_and_failures(
    ended: cabc.Iterable[tuple[int, CommandResult[typ.Any] | None]],
) -> tuple[list[CommandResult[typ.Any]], list[int], list[int]]:
    """Compact ``(submission index, result or None)`` pairs, in their order.

    Returns the results that exist, the submission index of each, and the
    positions among them of those that are not ``ok``: a `ConcurrentResult`'s
    three fields. ``None`` stands for a command with no result (stopped by a
    fail-fast stop, or never started).
    """
    results: list[CommandResult[typ.Any]] = []
    positions: list[int] = []
    failures: list[int] = []
    for position, result in ended:
        if result is None:
            continue
        if not result.ok:
            failures.append(len(results))
        results.append(result)
        positions.append(position)
    return results, positions, failures


async def run_concurrent(
    *commands: SafeCmd,
    config: ConcurrentConfig | None = None,
    **fields: typ.Any,  # noqa: ANN401 - ConcurrentConfig's fields, checked there
) -> ConcurrentResult:
    """Run ``commands`` at the same time and return what each returned.

    Each command runs as ``SafeCmd.run(capture=, echo=, context=)`` with the
    config's settings, as a task on the running event loop. A non-zero exit
    is a failure to report, not an error: it is in ``failures``, and with
    ``fail_fast`` it stops the others.

    Parameters
    ----------
    *commands
        The commands, at least one.
    config
        How to run them; ``None`` is ``ConcurrentConfig()``: all at once,
        output captured, every command to its end.
    **fields
        The older keyword form: ``concurrency=2, fail_fast=True`` is
        ``config=ConcurrentConfig(concurrency=2, fail_fast=True)`` (not
        with ``config``).

    Returns
    -------
    ConcurrentResult
        The results in the order of ``commands``.

    Raises
    ------
    ValueError
        If no command is given.
    TypeError
        If a command is not a `SafeCmd`, ``config`` not a `ConcurrentConfig`,
        or a keyword not one of its fields (or given with ``config``).
    ForbiddenProgramError
        If the current context does not allow one of the programs; raised
        before any command starts.
    Exception
        What a command's run raised (`ProgramNotFoundError`,
        `TimeoutExpired`, a hook's exception): once every other command
        has ended (run to its end; with ``fail_fast``, stopped), the error
        of the earliest such command in ``commands`` is raised, with a note
        naming any other command that raised.
    asyncio.CancelledError
        When the call is cancelled, once every command has been stopped and
        its processes reaped.

    """
    given = config_or_fields("run_concurrent()", ConcurrentConfig, config, fields)
    chosen = ConcurrentConfig() if given is None else given
    if not commands:
        msg = "At least one command must be provided"
        raise ValueError(msg)
    for command in commands:
        if not isinstance(command, SafeCmd):
            msg = (
                f"run_concurrent() runs SafeCmd commands, not {type(command).__name__}"
            )
            if isinstance(command, list | tuple):
                msg += "; pass them one by one: run_concurrent(*commands)"
            elif isinstance(command, Pipeline):
                msg += (
                    "; run pipelines at once with asyncio.gather(p.run(), q.run()), "
                    "or run_sync() from threads"
                )
            raise TypeError(msg)
    context = current_context()
    for command in commands:
        context.check_allowed(command.program)
    tasks = _start(commands, chosen)
    try:
        await _wait(tasks, fail_fast=chosen.fail_fast)
    finally:
        await _stop(tasks)
    return _outcome(commands, tasks)


def _start(commands: cabc.Sequence[SafeCmd], config: ConcurrentConfig) -> list[_Task]:
    """Make one task per command, each waiting for a place under the limit.

    With ``fail_fast``, the first failure is known before its place is
    given up, so a command still waiting for one never starts: its task
    returns ``None``.
    """
    limit = (
        None if config.concurrency is None else asyncio.Semaphore(config.concurrency)
    )
    stopping = False

    async def run_unless_stopping(command: SafeCmd) -> CommandResult[typ.Any] | None:
        nonlocal stopping
        if stopping:
            return None
        try:
            result = await command.run(
                capture=config.capture, echo=config.echo, context=config.context
            )
        except Exception:
            stopping = stopping or config.fail_fast
            raise
        stopping = stopping or (config.fail_fast and not result.ok)
        return result

    async def run(command: SafeCmd) -> CommandResult[typ.Any] | None:
        if limit is None:
            return await run_unless_stopping(command)
        async with limit:
            return await run_unless_stopping(command)

    return [
        asyncio.create_task(run(command), name=f"cuprum-concurrent-{index}")
        for index, command in enumerate(commands)
    ]


async def _wait(tasks: list[_Task], *, fail_fast: bool) -> None:
    """Return when every task is done, or (fail-fast) one has failed."""
    if not fail_fast:
        await asyncio.wait(tasks)
        return
    pending: set[_Task] = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if any(_failed(task) for task in done):
            return


def _failed(task: _Task) -> bool:
    if task.cancelled():
        return False
    if task.exception() is not None:
        return True
    result = task.result()
    return result is not None and not result.ok


async def _stop(tasks: list[_Task]) -> None:
    """Cancel the tasks still running and wait until every one has ended.

    A cancelled run terminates and reaps its processes before its task
    ends. A cancellation of this wait is held until then (a process must not
    outlive the call) and raised afterwards.
    """
    for task in tasks:
        task.cancel()  # does nothing to a task that is done
    interrupted: asyncio.CancelledError | None = None
    while running := [task for task in tasks if not task.done()]:
        try:
            await asyncio.wait(running)
        except asyncio.CancelledError as error:
            interrupted = error
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: never logged as lost if we raise
    if interrupted is not None:
        raise interrupted


def _outcome(commands: cabc.Sequence[SafeCmd], tasks: list[_Task]) -> ConcurrentResult:
    """Raise the earliest command's error, if any; else build the result."""
    errors = [
        (index, error)
        for index, task in enumerate(tasks)
        if not task.cancelled() and (error := task.exception()) is not None
    ]
    if errors:
        _, first = errors[0]
        for index, other in errors[1:]:
            first.add_note(
                f"run_concurrent: command {index} ({commands[index].program}) "
                f"raised too: {other!r}"
            )
        raise first
    results, positions, failures = _collect_results_and_failures(
        (index, None if task.cancelled() else task.result())
        for index, task in enumerate(tasks)
    )
    return ConcurrentResult(tuple(results), tuple(failures), tuple(positions))


def run_concurrent_sync(
    *commands: SafeCmd,
    config: ConcurrentConfig | None = None,
    **fields: typ.Any,  # noqa: ANN401 - ConcurrentConfig's fields, checked there
) -> ConcurrentResult:
    """Run ``commands`` at the same time from synchronous code; see `run_concurrent`.

    Runs them in a new event loop of its own.

    Raises
    ------
    RuntimeError
        When called from a running event loop (``await run_concurrent()``
        there).

    """
    refuse_running_loop("run_concurrent_sync()", "await run_concurrent()")
    # The check comes before the coroutine is made, so none is left unawaited.
    return asyncio.run(run_concurrent(*commands, config=config, **fields))
