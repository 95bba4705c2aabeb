"""Typed commands: ``sh.make(program)`` -> builder -> `SafeCmd`.

Owns `make`, `CommandBuilder` and `SafeCmd`. A command is an argv list and
nothing else: no shell, no string splitting, no globbing, no variable
expansion. Running it is `cuprum.pipeline`'s job.

Invariants:

* a `SafeCmd`'s program is in the catalogue it was built from (checked when
  the builder is made, `UnknownProgramError` otherwise);
* every argv item is a ``str`` without NUL characters (checked when the
  command is built, ``TypeError``/``ValueError`` otherwise);
* a `SafeCmd` is immutable and hashable, and can be run any number of times.
"""

from __future__ import annotations

import asyncio
import dataclasses as dc
import typing as typ

from cuprum._run import run_stages
from cuprum.catalogue import DEFAULT_CATALOGUE, Program, ProgramCatalogue
from cuprum.pipeline import (
    DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_TERMINATE_GRACE,
    Pipeline,
    ensure_no_running_loop,
    merge_output_options,
)
from cuprum.results import CommandResult, RunOutputOptions

if typ.TYPE_CHECKING:
    from cuprum.catalogue import ProjectSettings


@dc.dataclass(frozen=True, slots=True)
class SafeCmd:
    """One command: a catalogued program and its arguments.

    Build it with `make`; join commands with ``|`` into a `Pipeline`.

    Attributes
    ----------
    program
        The program, as listed in the catalogue.
    args
        The arguments after the program.
    project
        The catalogue project that owns the program.

    """

    program: Program
    args: tuple[str, ...]
    project: ProjectSettings = dc.field(compare=False, repr=False)

    @property
    def argv(self) -> tuple[str, ...]:
        """The full argument vector, program first."""
        return (self.program, *self.args)

    def __or__(self, other: object) -> Pipeline:
        """Pipe this command's stdout into ``other`` (a command or pipeline)."""
        if isinstance(other, SafeCmd):
            return Pipeline((self, other))
        if isinstance(other, Pipeline):
            return Pipeline((self, *other.stages))
        return NotImplemented

    async def run(  # noqa: PLR0913 - every knob is keyword-only and defaulted
        self,
        *,
        output: RunOutputOptions | None = None,
        capture: bool | None = None,
        echo: bool | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the API of issue 4
        terminate_grace: float = DEFAULT_TERMINATE_GRACE,
        input: bytes | str | None = None,  # noqa: A002 - subprocess's name
    ) -> CommandResult:
        """Run the command and return how it ended.

        Parameters
        ----------
        output
            What to do with output; ``RunOutputOptions()`` by default.
        capture, echo
            Shorthands overriding the fields of ``output``.
        timeout
            Seconds the command may take; ``None`` for no limit.
        terminate_grace
            Seconds between ``SIGTERM`` and ``SIGKILL`` when the command is
            ended by a timeout or by cancellation.
        input
            Data for the command's standard input (``str`` is encoded with
            the output encoding); ``None`` gives it ``/dev/null``.

        Returns
        -------
        CommandResult
            A non-zero exit is reported there (``ok``), not raised.

        Raises
        ------
        TimeoutExpired
            When ``timeout`` passes, after the process (group) is reaped,
            carrying the output captured so far.
        ProgramNotFoundError
            When the program is not on ``PATH``.

        """
        result = await run_stages(
            [(self.argv, self.program)],
            output=merge_output_options(output, capture, echo),
            timeout=timeout,
            drain_timeout=DEFAULT_DRAIN_TIMEOUT,
            terminate_grace=terminate_grace,
            input=input,
        )
        (stage,) = result.stages
        return CommandResult(
            argv=stage.argv,
            exit_code=stage.exit_code,
            pid=stage.pid,
            stdout=result.stdout,
            stderr=stage.stderr,
        )

    def run_sync(  # noqa: PLR0913 - mirrors run
        self,
        *,
        output: RunOutputOptions | None = None,
        capture: bool | None = None,
        echo: bool | None = None,
        timeout: float | None = None,
        terminate_grace: float = DEFAULT_TERMINATE_GRACE,
        input: bytes | str | None = None,  # noqa: A002 - subprocess's name
    ) -> CommandResult:
        """Run the command from synchronous code; see `run`.

        Raises
        ------
        RuntimeError
            When called from a running event loop (``await run()`` there).

        """
        ensure_no_running_loop("SafeCmd.run_sync")
        return asyncio.run(
            self.run(
                output=output,
                capture=capture,
                echo=echo,
                timeout=timeout,
                terminate_grace=terminate_grace,
                input=input,
            )
        )


class CommandBuilder:
    """Builds `SafeCmd` objects for one catalogued program.

    Call it with the arguments: ``make(ECHO)("-n", "hi")``.
    """

    __slots__ = ("_program", "_project")

    def __init__(self, program: Program, project: ProjectSettings) -> None:
        self._program = program
        self._project = project

    @property
    def program(self) -> Program:
        """The program every command of this builder runs."""
        return self._program

    def __call__(self, *args: str) -> SafeCmd:
        """Return the command ``program *args``.

        Raises
        ------
        TypeError
            If an argument is not a ``str`` (the message names its position
            and type).
        ValueError
            If an argument contains a NUL character.

        """
        for position, arg in enumerate(args, start=1):
            if not isinstance(arg, str):
                msg = (
                    f"{self._program}: argument {position} must be a str, "
                    f"not {type(arg).__name__} ({arg!r})"
                )
                raise TypeError(msg)
            if "\0" in arg:
                msg = f"{self._program}: argument {position} contains a NUL character"
                raise ValueError(msg)
        return SafeCmd(self._program, tuple(args), self._project)

    def __repr__(self) -> str:
        """Name the program."""
        return f"CommandBuilder({self._program!r})"


def make(
    program: Program | str, catalogue: ProgramCatalogue = DEFAULT_CATALOGUE
) -> CommandBuilder:
    """Return a builder of commands running ``program``.

    Parameters
    ----------
    program
        A program listed in ``catalogue``.
    catalogue
        The allowlist to check ``program`` against.

    Raises
    ------
    UnknownProgramError
        If ``catalogue`` does not list ``program``.

    """
    entry = catalogue.lookup(program)
    return CommandBuilder(entry.program, entry.project)


__all__ = [
    "CommandBuilder",
    "SafeCmd",
    "make",
]
