"""Commands and pipelines: what runs, joined stdout-to-stdin, and running it.

Owns `SafeCmd` (one catalogued program and its arguments; made by
`cuprum.sh.make`, which re-exports it), `Pipeline` (commands joined with
``|``) and their ``run``/``run_sync``. The two classes name each other
(``|`` builds a pipeline from commands; a pipeline's stages are commands),
so they live together, and ``cuprum.sh`` depends on this module, never the
reverse. A command runs as a one-stage pipeline; the keywords of a run are
checked by `cuprum._run.request.make_request`, the run itself is
`cuprum._run.drive.run_stages`, and what it returns and raises is in
`cuprum.results`.

Invariants: a `SafeCmd` is immutable and hashable (its argv checked when it
was built, see `cuprum.sh.CommandBuilder`); a pipeline is immutable and holds
at least one stage, each a `SafeCmd`; both can be run any number of times;
``run_sync`` never runs inside a running event loop.
"""

from __future__ import annotations

import dataclasses as dc
import typing as typ

from cuprum._older import names as _older  # older: Pipeline.parts
from cuprum._policy.admission import (
    admit,
    admitted,
    after_hooks,
    observer_of,
    report_hops,
    specs,
)
from cuprum._pumps.reactor import refuse_running_loop
from cuprum._run.drive import run_stages, run_stages_sync
from cuprum._run.output import PipelineStream, SyncPipelineStream
from cuprum._run.request import (
    DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_TERMINATE_GRACE,
    check_cwd,
    check_env,
    check_keywords,
    make_request,
    merge_env,
)
from cuprum.results import CommandError, CommandResult, PipelineError, PipelineResult

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._policy.scope import CuprumContext
    from cuprum._run.request import (
        CommandKeywords,
        CommandStreamKeywords,
        EnvOverlay,
        PipelineKeywords,
        PipelineStreamKeywords,
        PlainCommandKeywords,
        PlainPipelineKeywords,
        RunRequest,
        StrPath,
    )
    from cuprum.catalogue import Program, ProjectSettings

__all__ = [
    "DEFAULT_DRAIN_TIMEOUT",
    "DEFAULT_TERMINATE_GRACE",
    "Pipeline",
    "SafeCmd",
]


# ---------------------------------------------------------------------------
# SafeCmd
# ---------------------------------------------------------------------------


@dc.dataclass(frozen=True, slots=True, weakref_slot=True)
class SafeCmd:
    """One command: a catalogued program and its arguments.

    Build it with `cuprum.sh.make`; join commands with ``|`` into a
    `Pipeline`. A command can be weakly referenced (a hook may key a
    `weakref.WeakKeyDictionary` on it, as the older cuprum's do).

    Attributes
    ----------
    program
        The program, as listed in the catalogue.
    argv
        The arguments after the program (the program is not among them; see
        `argv_with_program`).
    project
        The catalogue project that owns the program.
    env
        The command's own environment overlay, ``(name, value)`` pairs laid
        over ``os.environ`` after a run's ``env=`` (``None`` removes a
        variable); see `with_env`.
    cwd
        The command's own working directory (``None``: the run's); see
        `with_cwd`.

    """

    program: Program
    argv: tuple[str, ...]
    project: ProjectSettings = dc.field(compare=False, repr=False)
    env: EnvOverlay = ()
    cwd: StrPath | None = None

    @property
    def argv_with_program(self) -> tuple[str, ...]:
        """The whole argument vector the process gets: the program first."""
        return (self.program, *self.argv)

    def with_env(self, env: cabc.Mapping[str, str | None]) -> SafeCmd:
        """Return this command with ``env`` laid over its environment.

        The command's overlay is applied after the run's ``env=``, at spawn
        time, over ``os.environ`` as it is then; a value ``None`` removes
        the variable. A second ``with_env`` merges into the first (the
        later value wins). ``os.environ`` is never changed.

        Raises
        ------
        TypeError
            If ``env`` is not a mapping of ``str`` to ``str`` or ``None``.
        ValueError
            If a name is empty or contains ``=`` or NUL, or a value NUL.

        """
        return dc.replace(self, env=merge_env(self.env, check_env(env, "with_env")))

    def with_cwd(self, cwd: StrPath | None) -> SafeCmd:
        """Return this command run in ``cwd`` (it wins over a run's ``cwd=``).

        A relative path is taken from this process's working directory at
        spawn time; whether the directory exists is checked when a run
        starts (``FileNotFoundError`` before any stage is spawned).
        ``None`` gives the command the run's directory again.

        Raises
        ------
        TypeError
            If ``cwd`` is not a ``str`` or ``os.PathLike`` path.
        ValueError
            If it contains a NUL character.

        """
        checked = None if cwd is None else check_cwd(cwd, "with_cwd")
        return dc.replace(self, cwd=checked)

    def __or__(self, other: object) -> Pipeline:
        """Pipe this command's stdout into ``other`` (a command or pipeline)."""
        if isinstance(other, SafeCmd):
            return Pipeline((self, other))
        if isinstance(other, Pipeline):
            return Pipeline((self, *other.stages))
        return NotImplemented

    @typ.overload
    async def run(
        self, *, text: typ.Literal[False], **options: typ.Unpack[PlainCommandKeywords]
    ) -> CommandResult[bytes]: ...
    @typ.overload
    async def run(
        self,
        *,
        text: typ.Literal[True] = ...,
        **options: typ.Unpack[PlainCommandKeywords],
    ) -> CommandResult[str]: ...
    @typ.overload
    async def run(
        self, **options: typ.Unpack[CommandKeywords]
    ) -> CommandResult[typ.Any]: ...
    async def run(
        self, **options: typ.Unpack[CommandKeywords]
    ) -> CommandResult[typ.Any]:
        """Run the command (a one-stage `Pipeline`) and return how it ended.

        Takes the keywords of `Pipeline.run`, less ``drain_timeout`` and
        ``on_progress`` (a command has no hops).

        Returns
        -------
        CommandResult
            A non-zero exit is reported there (``ok``), not raised, unless
            ``check=True``.

        Raises
        ------
        PipelineError
            With ``check=True``, when the command fails.
        TimeoutExpired
            When ``timeout`` passes, after the process (group) is reaped,
            carrying the output captured so far.
        ProgramNotFoundError
            When the program is not on ``PATH``.

        """
        context, request, result = await _execute((self,), options, "SafeCmd.run")
        return self._ended(context, request, result)

    @typ.overload
    def run_sync(
        self, *, text: typ.Literal[False], **options: typ.Unpack[PlainCommandKeywords]
    ) -> CommandResult[bytes]: ...
    @typ.overload
    def run_sync(
        self,
        *,
        text: typ.Literal[True] = ...,
        **options: typ.Unpack[PlainCommandKeywords],
    ) -> CommandResult[str]: ...
    @typ.overload
    def run_sync(
        self, **options: typ.Unpack[CommandKeywords]
    ) -> CommandResult[typ.Any]: ...
    def run_sync(
        self, **options: typ.Unpack[CommandKeywords]
    ) -> CommandResult[typ.Any]:
        """Run the command from synchronous code; see `run`.

        No event loop is made: the run polls its own descriptors on this
        thread.

        Raises
        ------
        RuntimeError
            When called from a running event loop (``await run()`` there).

        """
        return self._ended(*_execute_sync((self,), options, "SafeCmd.run_sync"))

    def _ended(
        self,
        context: CuprumContext,
        request: RunRequest,
        result: PipelineResult[typ.Any],
    ) -> CommandResult[typ.Any]:
        """Tell the after hooks how the command ended; apply ``check``."""
        (stage,) = result.stages
        ended = CommandResult(
            program=stage.program,
            argv=stage.argv,
            exit_code=stage.exit_code,
            pid=stage.pid,
            stdout=stage.stdout,
            stderr=stage.stderr,
        )
        after_hooks(context, [(self, ended)])
        if request.check and not result.ok:
            raise CommandError(result)
        return ended

    def stream(self, **options: typ.Unpack[CommandStreamKeywords]) -> PipelineStream:
        """Run the command while the caller reads its stdout; see `Pipeline.stream`."""
        return Pipeline((self,)).stream(**options)

    def stream_sync(
        self, **options: typ.Unpack[CommandStreamKeywords]
    ) -> SyncPipelineStream:
        """`stream` for ordinary code; see `Pipeline.stream_sync`."""
        return SyncPipelineStream(self.stream(**options), "SafeCmd.stream_sync")


# ---------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------


class Pipeline(_older.OlderPipelineNames):
    """Commands joined stdout-to-stdin: ``cmd1 | cmd2 | ...``.

    Build one with ``|`` between `SafeCmd` objects (or pipelines);
    extend one with ``|``. A pipeline is immutable and can be run any number
    of times.

    Parameters
    ----------
    stages
        The commands, first to last.

    Raises
    ------
    ValueError
        If ``stages`` is empty.
    TypeError
        If a stage is not a `SafeCmd`.

    """

    __slots__ = ("_stages",)

    def __init__(self, stages: cabc.Iterable[SafeCmd]) -> None:
        checked = tuple(stages)
        if not checked:
            msg = "a pipeline needs at least one stage"
            raise ValueError(msg)
        for index, stage in enumerate(checked):
            if not isinstance(stage, SafeCmd):
                msg = f"pipeline stage {index} must be a SafeCmd, not {stage!r}"
                raise TypeError(msg)
        self._stages = checked

    @property
    def stages(self) -> tuple[SafeCmd, ...]:
        """The commands, first to last."""
        return self._stages

    @classmethod
    def concat(cls, left: SafeCmd | Pipeline, right: SafeCmd | Pipeline) -> Pipeline:
        """Return ``left | right``: the stages of both, in order.

        Raises
        ------
        TypeError
            If either is not a `SafeCmd` or `Pipeline`.

        """
        stages: list[SafeCmd] = []
        for operand in (left, right):
            if isinstance(operand, Pipeline):
                stages.extend(operand.stages)
            elif isinstance(operand, SafeCmd):
                stages.append(operand)
            else:
                msg = f"Pipeline.concat takes commands or pipelines, not {operand!r}"
                raise TypeError(msg)
        return cls(stages)

    def __or__(self, other: object) -> Pipeline:
        """Append a command or another pipeline's stages."""
        if isinstance(other, Pipeline):
            return Pipeline(self._stages + other.stages)
        if isinstance(other, SafeCmd):
            return Pipeline((*self._stages, other))
        return NotImplemented

    def __len__(self) -> int:
        """Return the number of stages."""
        return len(self._stages)

    def __repr__(self) -> str:
        """Show the stages as argv lists."""
        return f"Pipeline({[list(s.argv_with_program) for s in self._stages]!r})"

    @typ.overload
    async def run(
        self, *, text: typ.Literal[False], **options: typ.Unpack[PlainPipelineKeywords]
    ) -> PipelineResult[bytes]: ...
    @typ.overload
    async def run(
        self,
        *,
        text: typ.Literal[True] = ...,
        **options: typ.Unpack[PlainPipelineKeywords],
    ) -> PipelineResult[str]: ...
    @typ.overload
    async def run(
        self, **options: typ.Unpack[PipelineKeywords]
    ) -> PipelineResult[typ.Any]: ...
    async def run(
        self, **options: typ.Unpack[PipelineKeywords]
    ) -> PipelineResult[typ.Any]:
        """Run the pipeline and return how every stage ended.

        Every keyword is optional.

        Parameters
        ----------
        output
            What to do with output; ``RunOutputOptions()`` by default.
        capture, echo, text
            Shorthands overriding the fields of ``output`` (``text=False``:
            output as ``bytes``).
        check
            True: a run that is not ``ok`` raises `PipelineError` (after
            the clean-up) instead of returning.
        timeout
            Seconds the whole run may take; ``None`` (the default) for no
            limit. Zero or less has already passed: the stages are spawned,
            then ended at once (``TimeoutExpired``), as the older cuprum
            does.
        drain_timeout
            Seconds a hop keeps reading its upstream after the downstream
            stage left, before closing it so the upstream ends by
            ``SIGPIPE``; 0 (the default) closes it at once, as a shell's
            pipe does.
        terminate_grace
            Seconds between ``SIGTERM`` and ``SIGKILL`` when stages are
            terminated (fail-fast, timeout, cancellation); 1 by default.
        on_progress
            Called on the event loop with the bytes moved so far by each hop
            (a list, hop 0 first), about every 0.25 s while the hops run.
        input
            Data for the first stage's standard input (``str`` is encoded
            with the output encoding), written while the pipeline runs and
            then closed; ``None`` (the default) gives it ``/dev/null``. A
            first stage that exits without reading it all is not an error.
        stdin
            Where the first stage reads: ``None`` (``/dev/null``, or
            ``input``), ``subprocess.DEVNULL``, a descriptor, a binary file
            object with ``fileno()`` or a path (opened read-only). Not with
            ``input``.
        stdout
            Where the last stage writes instead of being captured (then
            ``result.stdout`` is ``None``): ``subprocess.DEVNULL``, a
            descriptor, a file object (append mode respected) or a path
            (created or truncated). The bytes never pass through Python.
        stderr
            Where every stage's stderr goes instead of being captured:
            ``subprocess.DEVNULL``, ``subprocess.STDOUT`` (each stage's
            own stdout, like ``2>&1``), or a descriptor, file object or
            path (opened once, appended to) shared by every stage. A
            descriptor or file object passed is never closed; a path is
            closed when the run ends.
        env
            Variables laid over ``os.environ`` (as it is at spawn time) for
            every stage, a mapping of ``str`` to ``str``, or to ``None`` to
            remove one; a command's `SafeCmd.with_env` comes after it. The
            stage's ``PATH`` is where its program is looked for.
        cwd
            The working directory of every stage (a command's
            `SafeCmd.with_cwd` wins); a relative path is taken from this
            process's working directory. Programs are found as without it.
        outlive_caller
            ``False`` (the default): on Linux with the engine, a stage still
            running when this process dies, even by ``SIGKILL``, is killed
            with it (behaviour section 11 rule 5). ``True`` lets the stages
            outlive this process (a daemon started on purpose); a run still
            ends its stages when it ends itself.

        Returns
        -------
        PipelineResult
            A stage failing is reported there (``ok``, ``failure_index``),
            not raised, unless ``check=True``.

        Raises
        ------
        PipelineError
            With ``check=True``, when a stage failed on its own; raised
            after every stage is reaped.
        TimeoutExpired
            When ``timeout`` passes; raised after every stage is reaped,
            carrying the output captured so far.
        ProgramNotFoundError
            When a program is not on ``PATH`` (nothing is spawned).
        FileNotFoundError
            When a working directory or the ``stdin`` path is missing
            (nothing is spawned).
        OSError
            When a redirection's descriptor is not open for its direction.
        TypeError, ValueError, LookupError
            For a bad keyword (nothing is spawned).

        """
        context, request, result = await _execute(self._stages, options, "Pipeline.run")
        return self._ended(context, request, result)

    @typ.overload
    def run_sync(
        self, *, text: typ.Literal[False], **options: typ.Unpack[PlainPipelineKeywords]
    ) -> PipelineResult[bytes]: ...
    @typ.overload
    def run_sync(
        self,
        *,
        text: typ.Literal[True] = ...,
        **options: typ.Unpack[PlainPipelineKeywords],
    ) -> PipelineResult[str]: ...
    @typ.overload
    def run_sync(
        self, **options: typ.Unpack[PipelineKeywords]
    ) -> PipelineResult[typ.Any]: ...
    def run_sync(
        self, **options: typ.Unpack[PipelineKeywords]
    ) -> PipelineResult[typ.Any]:
        """Run the pipeline from synchronous code; see `run`.

        No event loop is made: the run polls its own descriptors on this
        thread.

        Raises
        ------
        RuntimeError
            When called from a running event loop (``await run()`` there).

        """
        return self._ended(*_execute_sync(self._stages, options, "Pipeline.run_sync"))

    def _ended(
        self,
        context: CuprumContext,
        request: RunRequest,
        result: PipelineResult[typ.Any],
    ) -> PipelineResult[typ.Any]:
        """Tell the after hooks how each stage ended; apply ``check``."""
        after_hooks(context, zip(self._stages, result.stages, strict=True))
        if request.check and not result.ok:
            raise PipelineError(result)
        return result

    def stream(self, **options: typ.Unpack[PipelineStreamKeywords]) -> PipelineStream:
        """Run the pipeline while the caller reads the last stage's stdout.

        Use it as ``async with pipeline.stream() as out:`` and read ``async
        for chunk in out`` (``bytes``) or ``async for line in out.lines()``
        (``str``, decoded per ``output``); ``out.result`` is the
        `PipelineResult` after the block (its ``stdout`` is ``None``).
        Takes the keywords of `run` but ``stdout`` (the stream is it).

        Nothing is read ahead: a slow reader makes the stages wait, and
        cuprum holds at most one 64 KiB chunk (and, for lines, a line of at
        most 1 MiB characters). Leaving the block before the end of the
        output terminates and reaps every stage still running, as a
        cancellation does; that counts as the last stage's downstream
        leaving, so ``result.ok`` stays true unless a stage failed on its
        own. ``timeout`` raises `TimeoutExpired` from the iteration in
        progress, or at the block's exit; ``check=True`` raises at the
        block's exit. The current context's allowlist and before hooks
        apply here, when ``stream()`` is called; its after hooks when the
        block ends.

        Raises
        ------
        TypeError, ValueError, LookupError
            For a bad keyword, here (nothing is spawned).

        """
        if "stdout" in options:
            msg = "stream() takes no stdout=: the stream is the last stage's stdout"
            raise TypeError(msg)
        check_keywords(options, "Pipeline.stream")
        context = admit(self._stages)
        report_hops(self._stages)
        request = make_request(scope=context, **options)
        observer = observer_of(context, self._stages, request)
        stages = self._stages

        def after(result: PipelineResult[typ.Any]) -> None:
            after_hooks(context, zip(stages, result.stages, strict=True))

        return PipelineStream(specs(stages), request, observer, after)

    def stream_sync(
        self, **options: typ.Unpack[PipelineStreamKeywords]
    ) -> SyncPipelineStream:
        """`stream` for ordinary code: ``with pipeline.stream_sync() as out:``.

        Iterate with ``for chunk in out`` or ``for line in out.lines()``.
        The run's descriptors are polled on this thread, step by step: no
        event loop and no thread is started for it.

        Raises
        ------
        RuntimeError
            When the block is entered in a running event loop (use
            ``async with stream()`` there).

        """
        return SyncPipelineStream(self.stream(**options), "Pipeline.stream_sync")


async def _execute(
    stages: tuple[SafeCmd, ...],
    options: CommandKeywords | PipelineKeywords,
    caller: str,
) -> tuple[CuprumContext, RunRequest, PipelineResult[typ.Any]]:
    """Admit ``stages`` and run them with ``options`` on the running loop.

    Returns the context, the checked request and the result; ``check=True``
    is left to the caller, after its after hooks.
    """
    context, request, observer = admitted(stages, options, caller)
    return context, request, await run_stages(specs(stages), request, observer)


def _execute_sync(
    stages: tuple[SafeCmd, ...],
    options: CommandKeywords | PipelineKeywords,
    caller: str,
) -> tuple[CuprumContext, RunRequest, PipelineResult[typ.Any]]:
    """`_execute` on this thread, with no event loop (behaviour 11.7)."""
    refuse_running_loop(f"{caller}()", "await run()")
    context, request, observer = admitted(stages, options, caller)
    return context, request, run_stages_sync(specs(stages), request, observer)
