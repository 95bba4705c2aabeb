"""Typed commands: ``sh.make(program)`` -> builder -> `SafeCmd`.

Owns `make`, `CommandBuilder` and `build_argv`: how a command is made from
a catalogue entry and its arguments. A command is an argv list and nothing
else: no shell, no string splitting, no globbing, no variable expansion.
`SafeCmd` itself (and running it, as a one-stage pipeline) is
`cuprum.pipeline`'s; it, the run's value types and the execution context's
names (``observe``, ``scoped``, ...) are re-exported here, where the older
cuprum's users import them from.

Arguments: a positional argument becomes one argv item (``str`` as it is;
a path, ``int`` or ``float`` as its ``str``); a keyword argument becomes an
option after the positional ones, as sh and plumbum users expect
(``all=True`` is ``--all``, ``all=False`` nothing, ``l=True`` is ``-l``,
``level=2`` is ``--level=2``; `_flags`). `build_argv` keeps the older
cuprum's ``--name=value`` for every keyword.

Invariants:

* a `SafeCmd`'s program is in the catalogue it was built from (checked when
  the builder is made, `UnknownProgramError` otherwise);
* every argv item is a ``str`` without NUL characters (checked when the
  command is built, ``TypeError``/``ValueError`` otherwise; ``None`` and
  ``bytes`` are refused, never turned into ``"None"`` or ``"b'...'"``).
"""

from __future__ import annotations

import dataclasses as dc
import os
import typing as typ

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
    IOOptions,
    PipelineResult,
    RunOutputOptions,
    TimeoutExpired,
)

if typ.TYPE_CHECKING:
    import collections.abc as cabc


ArgValue: typ.TypeAlias = "str | os.PathLike[str] | int | float"
"""What a command builder takes as an argument (``bool`` is an ``int``)."""
SafeCmdBuilder: typ.TypeAlias = "cabc.Callable[..., SafeCmd]"
"""A callable returning commands: what `make` returns, and builders in
`cuprum.builders` are."""


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


def _arg_text(value: object, what: str) -> str:
    """Return argument ``value`` as one argv item.

    Raises
    ------
    TypeError
        For ``None``, ``bytes`` or any type other than ``str``, a path,
        ``int`` or ``float``.
    ValueError
        For a NUL character.

    """
    if isinstance(value, str):
        text = value
    elif isinstance(value, os.PathLike):
        text = os.fspath(value)
        if not isinstance(text, str):
            msg = f"{what} must be a str path, not a bytes path ({value!r})"
            raise TypeError(msg)
    elif isinstance(value, int | float):
        text = str(value)
    elif value is None:
        msg = f"{what}: None is not a valid argv element; leave the argument out"
        raise TypeError(msg)
    else:
        hint = "; decode bytes first" if isinstance(value, bytes | bytearray) else ""
        msg = (
            f"{what} must be a str, path, int or float, "
            f"not {type(value).__name__} ({value!r}){hint}"
        )
        raise TypeError(msg)
    if "\0" in text:
        msg = f"{what} contains a NUL character"
        raise ValueError(msg)
    return text


def build_argv(*args: ArgValue, **flags: ArgValue) -> tuple[str, ...]:
    """Return the argv (the program not in it) a builder would make.

    ``build_argv("status", porcelain=True, branch="main")`` is
    ``("status", "--porcelain=True", "--branch=main")``.

    Raises
    ------
    TypeError
        For an argument that is ``None``, ``bytes`` or another type a
        command cannot take (the message names it).
    ValueError
        For a NUL character.

    """
    return _argv("build_argv", args, flags)


def _argv(
    who: str, args: tuple[object, ...], flags: cabc.Mapping[str, object]
) -> tuple[str, ...]:
    positional = (
        _arg_text(arg, f"{who}: argument {position}")
        for position, arg in enumerate(args, start=1)
    )
    named = (
        f"--{name.replace('_', '-')}={_arg_text(value, f'{who}: keyword {name}')}"
        for name, value in flags.items()
    )
    return (*positional, *named)


def _flags(who: str, flags: cabc.Mapping[str, object]) -> list[str]:
    """Turn a command's keywords into options, as sh and plumbum users expect.

    ``all=True`` is ``--all`` and ``all=False`` nothing; a one-letter name is
    a short option (``l=True`` is ``-l``, ``n=5`` is ``-n 5``); any other
    value is ``--name=value``, with ``_`` in the name as ``-``.
    """
    argv: list[str] = []
    for name, value in flags.items():
        option = f"-{name}" if len(name) == 1 else f"--{name.replace('_', '-')}"
        if value is True:
            argv.append(option)
        elif value is False:
            continue
        elif len(name) == 1:
            argv += [option, _arg_text(value, f"{who}: keyword {name}")]
        else:
            argv.append(f"{option}={_arg_text(value, f'{who}: keyword {name}')}")
    return argv


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

        Positional arguments become argv items as in `build_argv`; keywords
        become options: ``all=True`` is ``--all``, ``all=False`` is left
        out, ``l=True`` is ``-l``, ``n=5`` is ``-n 5``, ``level=2`` is
        ``--level=2`` (`build_argv` keeps the older cuprum's
        ``--name=True``). A keyword
        that is an option of ``run`` (``timeout``, ``cwd``, ``env``,
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
        argv = (*_argv(self._program, args, {}), *_flags(self._program, flags))
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
    "DEFAULT_CATALOGUE",
    "ArgValue",
    "CommandBuilder",
    "CommandResult",
    "ExecutionContext",
    "IOOptions",
    "Pipeline",
    "PipelineResult",
    "Program",
    "ProgramCatalogue",
    "ProjectSettings",
    "RunOutputOptions",
    "SafeCmd",
    "SafeCmdBuilder",
    "StdinInput",
    "TimeoutExpired",
    "UnknownProgramError",
    "build_argv",
    "current_context",
    "make",
    "observe",
    "scoped",
]
