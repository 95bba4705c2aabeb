"""Typed commands: ``sh.make(program)`` -> builder -> `SafeCmd`.

Owns `make` and `CommandBuilder`: how a command is made from a catalogue
entry and its arguments. A command is an argv list and nothing else: no
shell, no string splitting, no globbing, no variable expansion. `SafeCmd`
itself (and running it, as a one-stage pipeline) is `cuprum.pipeline`'s;
it, the run's value types and the execution context's names (``observe``,
``scoped``, ...) are re-exported here, where the older cuprum's users
import them from, as are the older names `build_argv`, `SafeCmdBuilder`
and `IOOptions` (`cuprum._older`).

Arguments (`cuprum._run.argv`): a positional argument becomes one argv
item (``str`` as it is; a path, ``int`` or ``float`` as its ``str``); a
keyword argument becomes an option after the positional ones, as sh and
plumbum users expect (``all=True`` is ``--all``, ``all=False`` nothing,
``l=True`` is ``-l``, ``level=2`` is ``--level=2``).

Invariants:

* a `SafeCmd`'s program is in the catalogue it was built from (checked when
  the builder is made, `UnknownProgramError` otherwise);
* every argv item is a ``str`` without NUL characters (checked when the
  command is built, ``TypeError``/``ValueError`` otherwise; ``None`` and
  ``bytes`` are refused, never turned into ``"None"`` or ``"b'...'"``).
"""

from __future__ import annotations

import dataclasses as dc
import typing as typ

from cuprum._older.commands import SafeCmdBuilder, build_argv  # older names
from cuprum._older.names import IOOptions  # older name
from cuprum._run import argv as _argv
from cuprum._run.argv import ArgValue
from cuprum._run.request import CommandKeywords, ExecutionContext, StdinInput
from cuprum.catalogue import (
    DEFAULT_CATALOGUE,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    UnknownProgramError,
)
from cuprum.context import current_context, observe, scoped
from cuprum.pipeline import Pipeline, SafeCmd
from cuprum.results import (
    CommandResult,
    PipelineResult,
    RunOutputOptions,
    TimeoutExpired,
)

if typ.TYPE_CHECKING:
    import collections.abc as cabc


_RUN_KEYWORDS: typ.Final = frozenset(CommandKeywords.__annotations__)
"""Keywords of ``run``: a builder refuses them as flags (a likely mix-up)."""
_CONTEXT_FIELDS: typ.Final = frozenset(
    field.name for field in dc.fields(ExecutionContext)
) - {"timeout"}


def _refuse_run_options(flags: cabc.Iterable[str]) -> None:
    """Raise for the first keyword that is a run option, not a program's flag.

    Raises
    ------
    TypeError
        Naming where the option belongs, as the older cuprum's builders do.

    """
    for name in flags:
        if name in _CONTEXT_FIELDS:
            msg = (
                f"{name} is an execution option; "
                f"pass ExecutionContext({name}=...) to run_sync"
            )
            raise TypeError(msg)
        if name in _RUN_KEYWORDS:
            msg = f"{name} is an execution option; pass {name}=... to run_sync"
            raise TypeError(msg)


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

    def __call__(self, *args: ArgValue, **flags: ArgValue) -> SafeCmd:
        """Return the command ``program *args --flag=value ...``.

        Positional arguments become argv items, one each; keywords become
        options: ``all=True`` is ``--all``, ``all=False`` is left out,
        ``l=True`` is ``-l``, ``n=5`` is ``-n 5``, ``level=2`` is
        ``--level=2`` (the older ``build_argv`` keeps ``--name=True``).
        A keyword that is an option of ``run`` (``timeout``, ``cwd``, ``env``,
        ``stdin``, ...) is refused rather than made a flag: pass it to
        ``run``, or give the flag as a positional ``"--cwd=..."``.

        Raises
        ------
        TypeError
            If an argument is ``None``, ``bytes`` or another type a command
            cannot take (the message names its position and type), or a
            keyword is a run option.
        ValueError
            If an argument contains a NUL character.

        """
        _refuse_run_options(flags)
        argv = (
            *_argv.positional(self._program, args),
            *_argv.options(self._program, flags),
        )
        return SafeCmd(self._program, argv, self._project)

    def __repr__(self) -> str:
        """Name the program."""
        return f"CommandBuilder({self._program!r})"


def make(
    program: Program | str, catalogue: ProgramCatalogue | None = None
) -> CommandBuilder:
    """Return a builder of commands running ``program``.

    Parameters
    ----------
    program
        A program listed in ``catalogue``.
    catalogue
        The allowlist to check ``program`` against; when ``None``, the
        catalogue of the innermost ``scoped(catalogue=...)`` in force, else
        `DEFAULT_CATALOGUE`. The builder keeps the one it used.

    Raises
    ------
    UnknownProgramError
        If the catalogue does not list ``program``.

    """
    if catalogue is None:
        catalogue = current_context().catalogue or DEFAULT_CATALOGUE
    entry = catalogue.lookup(program)
    return CommandBuilder(entry.program, entry.project)


__all__ = [
    "ArgValue",
    "CommandBuilder",
    "CommandResult",
    "ExecutionContext",
    "IOOptions",
    "Pipeline",
    "PipelineResult",
    "RunOutputOptions",
    "SafeCmd",
    "SafeCmdBuilder",
    "StdinInput",
    "TimeoutExpired",
    "UnknownProgramError",
    "build_argv",
    "make",
    "observe",
    "scoped",
]
