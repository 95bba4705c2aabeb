"""Typed commands: ``sh.make(program)`` -> builder -> `SafeCmd`.

Owns `make` and `CommandBuilder`: how a command is made from a catalogue
entry and its arguments. A command is an argv list and nothing else: no
shell, no string splitting, no globbing, no variable expansion. `SafeCmd`
itself (and running it, as a one-stage pipeline) is `cuprum.pipeline`'s,
re-exported here.

Invariants:

* a `SafeCmd`'s program is in the catalogue it was built from (checked when
  the builder is made, `UnknownProgramError` otherwise);
* every argv item is a ``str`` without NUL characters (checked when the
  command is built, ``TypeError``/``ValueError`` otherwise).
"""

from __future__ import annotations

import typing as typ

from cuprum.catalogue import DEFAULT_CATALOGUE, Program, ProgramCatalogue
from cuprum.pipeline import SafeCmd

if typ.TYPE_CHECKING:
    from cuprum.catalogue import ProjectSettings


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
