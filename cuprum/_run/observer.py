"""Telling a run's observe hooks what happens: building and delivering events.

Owns `Observer` (the observe hooks of one run, the pending tasks of the
hooks that returned an awaitable and the first error a hook raised),
`Execution` (one command or pipeline stage as its events describe it: its
``exec_id``, program, argv, directory, overlay and tags), `observer_for`
(which makes an `Observer` only when the current context has observe
hooks) and `LineEvents` (an output stream cut into decoded lines, one
``stdout`` or ``stderr`` event each). `cuprum._run.run` and `cuprum._run.output`
call them at the points a run reaches: spawn, exit, a chunk of output, the
end of the input, the deadline.

Invariants:

* no hooks, no `Observer`: a run without observers builds no event and
  does no per-chunk work (the callers test ``observer is None`` once per
  stage or per chunk);
* hooks are called on the event loop's thread, in the order the context
  holds them, one event at a time; an awaitable a hook returns becomes a
  task, and every such task is awaited (`Observer.finish`) before the run
  returns or raises;
* every event of one `Execution` carries its ``exec_id``; ``plan`` comes
  first, ``exit`` last (``timeout`` just before it when the deadline
  passed), and no event is delivered after the run is over;
* the first exception a hook raises (or a hook's task ends with) is kept
  and ends the run: no more events are delivered, the run's stages are
  terminated and reaped, every descriptor is closed, and then the run
  raises that exception in place of its result.
"""

from __future__ import annotations

import dataclasses as dc
import inspect
import os
import time
import types
import typing as typ

from cuprum._run import env as _env
from cuprum._run.lines import TextLines
from cuprum.events import ExecEvent, new_exec_id

if typ.TYPE_CHECKING:
    import asyncio
    import collections.abc as cabc
    from pathlib import Path

    from cuprum._run.request import RunRequest
    from cuprum.events import ExecHook, ExecId, ExecPhase
    from cuprum.program import Program
    from cuprum.results import RunOutputOptions

Overlay: typ.TypeAlias = "cabc.Iterable[tuple[str, str | None]]"


class _Project(typ.Protocol):
    @property
    def name(self) -> str: ...


class Command(typ.Protocol):
    """What the events tell of a command (`cuprum.pipeline.SafeCmd` is one)."""

    @property
    def program(self) -> Program:
        """The program."""
        ...

    @property
    def argv_with_program(self) -> tuple[str, ...]:
        """The whole argv."""
        ...

    @property
    def project(self) -> _Project:
        """The catalogue project that owns the program."""
        ...

    @property
    def env(self) -> Overlay:
        """The command's own overlay."""
        ...

    @property
    def cwd(self) -> str | os.PathLike[str] | None:
        """The command's own working directory."""
        ...


_STDIN_CLOSED_NOTE: typ.Final = (
    "the process closed its standard input before reading all of it"
)


class Execution:
    """One command, or one stage of a pipeline, as its events describe it."""

    __slots__ = (
        "argv",
        "cwd",
        "env",
        "exec_id",
        "exited",
        "open_streams",
        "pending_exit",
        "pid",
        "program",
        "project",
        "started",
        "tags",
    )

    def __init__(  # noqa: PLR0913 - the fields every event of it repeats
        self,
        *,
        program: Program,
        argv: tuple[str, ...],
        cwd: Path | None,
        env: cabc.Mapping[str, str | None] | None,
        tags: cabc.Mapping[str, object],
        project: str | None,
    ) -> None:
        self.exec_id: ExecId = new_exec_id()
        self.program = program
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.tags = tags
        self.project = project
        self.pid: int | None = None
        self.started: float | None = None
        self.exited = False
        self.open_streams = 0
        """Output streams of this execution still being told (`LineEvents`)."""
        self.pending_exit: tuple[int, float | None] | None = None
        """Exit code and duration, told once the last stream has ended."""


class Observer:
    """The observe hooks of one run, and what they left pending.

    Parameters
    ----------
    hooks
        The hooks, in the order they are called.
    executions
        One `Execution` per stage, first to last.

    """

    __slots__ = (
        "_awaitables",
        "_hooks",
        "_on_failure",
        "_tasks",
        "error",
        "executions",
    )

    def __init__(
        self, hooks: tuple[ExecHook, ...], executions: list[Execution]
    ) -> None:
        self._hooks = hooks
        self.executions = executions
        self._tasks: list[asyncio.Future[typ.Any]] = []
        self._awaitables: list[cabc.Awaitable[typ.Any]] = []
        self._on_failure: cabc.Callable[[], object] | None = None
        self.error: BaseException | None = None
        """The first exception a hook raised; the run raises it at its end."""

    def attach(
        self, on_failure: cabc.Callable[[], object], request: RunRequest
    ) -> LineEvents | None:
        """Start observing a run; return what tells its last stdout's lines.

        ``on_failure`` is called when a hook first fails (it ends the run).
        ``None`` when the last stage's stdout is redirected (not read here).
        """
        self._on_failure = on_failure
        if request.stdout is not None:
            return None
        return self.lines(len(self.executions) - 1, "stdout", request.output)

    # -- the events ------------------------------------------------------------

    def emit(
        self,
        execution: Execution,
        phase: ExecPhase,
        **fields: typ.Any,  # noqa: ANN401 - ExecEvent's optional fields
    ) -> None:
        """Build the ``phase`` event of ``execution`` and give it to every hook.

        ``fields`` are `ExecEvent` fields other than the execution's own
        (``pid`` defaults to its pid). Nothing is delivered once a hook has
        failed.
        """
        if self.error is not None:
            return
        pid = fields.pop("pid", execution.pid)
        event = self._event(execution, phase, pid, None)
        self._deliver(dc.replace(event, **fields) if fields else event)

    def emit_line(self, execution: Execution, phase: ExecPhase, line: str) -> None:
        """Tell one output line (the path taken once per line: no keywords)."""
        if self.error is None:
            self._deliver(self._event(execution, phase, execution.pid, line))

    @staticmethod
    def _event(
        execution: Execution, phase: ExecPhase, pid: int | None, line: str | None
    ) -> ExecEvent:
        """Return ``execution``'s ``phase`` event, built positionally, now."""
        return ExecEvent(
            phase,
            execution.program,
            execution.argv,
            execution.cwd,
            execution.env,
            pid,
            time.time(),
            line,
            None,
            None,
            execution.tags,
            None,
            None,
            None,
            None,
            execution.exec_id,
            execution.project,
        )

    def _deliver(self, event: ExecEvent) -> None:
        for hook in self._hooks:
            try:
                outcome = hook(event)
                if outcome is not None and inspect.isawaitable(outcome):
                    self._await(outcome)
            except BaseException as error:  # noqa: BLE001 - raised at the run's end
                self._fail(error)
                return

    def plan(self, index: int) -> None:
        """Stage ``index`` is about to be spawned.

        Raises
        ------
        BaseException
            What a hook raised (so that nothing more is spawned).

        """
        self.emit(self.executions[index], "plan", pid=None)
        self.raise_error()

    def start(self, index: int, pid: int) -> None:
        """Stage ``index`` was spawned as ``pid``; raises as `plan` does."""
        execution = self.executions[index]
        execution.pid = pid
        execution.started = time.monotonic()
        self.emit(execution, "start")
        self.raise_error()

    def exit(self, index: int, exit_code: int) -> None:
        """Stage ``index`` exited (and is reaped) with ``exit_code``.

        The ``exit`` event is told once the stage's output streams that
        cuprum reads have ended too, so that it comes after their lines
        (`finish` tells it at the latest).
        """
        execution = self.executions[index]
        started = execution.started
        duration = None if started is None else time.monotonic() - started
        execution.exited = True
        execution.pending_exit = (exit_code, duration)
        if not execution.open_streams:
            self.tell_exit(execution)

    def tell_exit(self, execution: Execution) -> None:
        """Tell ``execution``'s exit, if it is held back (its streams are over)."""
        pending, execution.pending_exit = execution.pending_exit, None
        if pending is not None:
            code, duration = pending
            self.emit(execution, "exit", exit_code=code, duration_s=duration)

    def timeout(self, timeout: float | None) -> None:
        """Tell every stage still running that the run's deadline passed."""
        for execution in self.executions:
            if execution.started is not None and not execution.exited:
                self.emit(
                    execution,
                    "timeout",
                    timeout_s=timeout,
                    error_type="TimeoutExpired",
                    note=f"the run's timeout of {timeout} s passed; ending the stage",
                )

    def stdin_written(self, written: int, error: OSError | None) -> None:
        """Tell what became of the run's input: all of it written, or ``written``."""
        execution = self.executions[0]
        if error is None:
            self.emit(execution, "stdin", byte_count=written)
            return
        self.emit(
            execution,
            "stdin_error",
            byte_count=written,
            operation="write",
            error_type=type(error).__name__,
            note=_STDIN_CLOSED_NOTE,
        )

    def lines(
        self, index: int, phase: ExecPhase, options: RunOutputOptions
    ) -> LineEvents:
        """Return what tells one output stream of stage ``index`` as events."""
        execution = self.executions[index]
        execution.open_streams += 1
        return LineEvents(self, execution, phase, options.encoding, options.errors)

    # -- failures and pending tasks ---------------------------------------------

    def _fail(self, error: BaseException) -> None:
        if self.error is not None:
            return
        self.error = error
        if self._on_failure is not None:
            self._on_failure()

    def _await(self, awaitable: cabc.Awaitable[typ.Any]) -> None:
        """Run a hook's awaitable as a task of the running loop.

        A synchronous run has none: the awaitable waits for `finish_sync`.
        """
        import asyncio  # noqa: PLC0415 - on first use: import cost

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._awaitables.append(awaitable)
            return
        task = asyncio.ensure_future(awaitable)
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    def _task_done(self, task: asyncio.Future[typ.Any]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self._fail(error)

    def _tell_held_exits(self) -> None:
        """Tell every exit not told yet (its streams are over or abandoned).

        A hook failing from now on fails the run without ending it again.
        """
        self._on_failure = None
        for execution in self.executions:
            execution.open_streams = 0
            self.tell_exit(execution)

    async def finish(self) -> None:
        """End the run's telling: the exits held back, then every hook's task.

        Every task a hook's awaitable became is waited for (an error in one
        is kept like a hook's). Never raises.
        """
        import asyncio  # noqa: PLC0415 - on first use: import cost

        self._tell_held_exits()
        while self._tasks:
            tasks, self._tasks = self._tasks, []
            await asyncio.wait(tasks)

    def finish_sync(self) -> None:
        """`finish` for a synchronous run.

        Awaitables the hooks returned (async hooks on a synchronous run) are
        run to their end on an event loop made for them alone; a run whose
        hooks return none makes no loop.
        """
        import asyncio  # noqa: PLC0415 - on first use: import cost

        self._tell_held_exits()
        while self._awaitables:
            awaitables, self._awaitables = self._awaitables, []
            asyncio.run(self._await_all(awaitables))

    async def _await_all(self, awaitables: list[cabc.Awaitable[typ.Any]]) -> None:
        for awaitable in awaitables:
            self._await(awaitable)
        await self.finish()

    def raise_error(self) -> None:
        """Raise the first exception a hook raised, if one did."""
        if self.error is not None:
            raise self.error


class LineEvents:
    r"""One output stream of one stage, cut into lines told to the observer.

    Fed the chunks as they are read and cut as `cuprum._run.lines` says; each
    line becomes one event, its ``\n`` (and a ``\r`` before it) left out.
    """

    __slots__ = ("_execution", "_lines", "_observer", "_phase")

    def __init__(
        self,
        observer: Observer,
        execution: Execution,
        phase: ExecPhase,
        encoding: str,
        errors: str,
    ) -> None:
        self._observer = observer
        self._execution = execution
        self._phase = phase
        self._lines = TextLines(encoding, errors)

    def feed(self, data: bytes) -> None:
        """Tell the lines ``data`` completes (nothing once a hook has failed)."""
        if self._observer.error is None:
            self._lines.add(data)
            self._tell_ready()

    def finish(self) -> None:
        """Tell what is left: the stream ended."""
        if self._observer.error is None:
            self._lines.add(b"", final=True)
            self._tell_ready()
        execution = self._execution
        execution.open_streams -= 1
        if execution.open_streams <= 0:
            self._observer.tell_exit(execution)

    def _tell_ready(self) -> None:
        ready = self._lines.ready
        while ready:
            line = ready.popleft()
            if line.endswith("\n"):
                line = line[:-1].removesuffix("\r")
            self._observer.emit_line(self._execution, self._phase, line)


def observer_for(
    hooks: tuple[ExecHook, ...],
    commands: cabc.Sequence[Command],
    request: RunRequest,
) -> Observer | None:
    """Return the `Observer` of a run of ``commands``, or ``None`` without hooks.

    Each stage's tags are the defaults (``project``, ``capture``, ``echo``
    and, for two stages or more, ``pipeline_stage_index`` and
    ``pipeline_stages``) with ``ExecutionContext.tags`` laid over them.
    """
    if not hooks:
        return None
    count = len(commands)
    executions = []
    for index, command in enumerate(commands):
        tags: dict[str, object] = {
            "project": command.project.name,
            "capture": request.output.capture,
            "echo": request.output.echo,
        }
        if count > 1:
            tags["pipeline_stage_index"] = index
            tags["pipeline_stages"] = count
        tags.update(request.tags)
        cwd = command.cwd if command.cwd is not None else request.cwd
        executions.append(
            Execution(
                program=command.program,
                argv=command.argv_with_program,
                cwd=None if cwd is None else _path(cwd),
                env=_overlay(request.env, command.env),
                tags=types.MappingProxyType(tags),
                project=command.project.name,
            )
        )
    return Observer(hooks, executions)


def _overlay(*overlays: Overlay) -> cabc.Mapping[str, str | None] | None:
    """Return the stage's overlay as a read-only mapping, ``None`` when empty."""
    merged = _env.merged(*overlays)
    return types.MappingProxyType(merged) if merged else None


def _path(cwd: str | os.PathLike[str]) -> Path:
    """Return ``cwd`` as a `pathlib.Path` (imported here: import cost)."""
    from pathlib import Path  # noqa: PLC0415

    return Path(os.fspath(cwd))
