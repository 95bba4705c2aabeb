"""The program catalogue: which executables cuprum commands may name.

Owns `Program`, `ProjectSettings`, `ProgramCatalogue` (and its one-call
extension, `ProgramCatalogue.extended`), `UnknownProgramError` and
`DEFAULT_CATALOGUE` with its program constants (`ECHO`, `CAT`, ...).

Invariants:

* a catalogue is immutable once built, and every program in it belongs to
  exactly one project (a program listed twice, or two projects with one
  name, is a ``ValueError`` at construction);
* a lookup never consults ``PATH``: the catalogue is an allowlist of names,
  checked when a command is *built*; whether the program is installed is
  checked when a command is *run* (see `cuprum._run`).
"""

from __future__ import annotations

import dataclasses as dc
import types
import typing as typ

if typ.TYPE_CHECKING:
    import collections.abc as cabc

Program = typ.NewType("Program", str)
"""The name (or absolute path) of an executable, as listed in a catalogue."""

EXTRA_PROJECT: typ.Final = "extra"
"""The project `ProgramCatalogue.extended` puts loose programs in."""


class UnknownProgramError(LookupError):
    """A command named a program that its catalogue does not list."""


@dc.dataclass(frozen=True, slots=True)
class ProjectSettings:
    """A group of programs with the metadata they share.

    Parameters
    ----------
    name
        The project's name, unique within a catalogue.
    programs
        The programs the project owns.
    documentation_locations
        Where the programs are documented (URLs or paths), for people.
    noise_rules
        Regular expressions matching output lines that are mere noise;
        metadata for callers, cuprum itself does not filter output.

    """

    name: str
    programs: tuple[Program, ...]
    documentation_locations: tuple[str, ...] = ()
    noise_rules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Store every sequence as a tuple and check the programs are strings."""
        for field in ("programs", "documentation_locations", "noise_rules"):
            value = getattr(self, field)
            if isinstance(value, str):
                msg = f"ProjectSettings.{field} must be a sequence of str, not a str"
                raise TypeError(msg)
            object.__setattr__(self, field, tuple(value))
        for program in self.programs:
            if not isinstance(program, str) or not program:
                msg = (
                    f"project {self.name!r}: a program must be a non-empty str, "
                    f"got {program!r}"
                )
                raise TypeError(msg)

    def owns(self, program: str) -> bool:
        """Say whether ``program`` belongs to this project."""
        return program in self.programs


@dc.dataclass(frozen=True, slots=True)
class ProgramEntry:
    """A program found in a catalogue, with the project that owns it."""

    program: Program
    project: ProjectSettings


class ProgramCatalogue:
    """An allowlist of programs, grouped by project.

    Parameters
    ----------
    projects
        The projects; their names and their programs must be unique.

    Raises
    ------
    ValueError
        If two projects share a name or a program is listed twice.

    """

    __slots__ = ("_by_program", "_projects")

    def __init__(self, *, projects: cabc.Iterable[ProjectSettings]) -> None:
        by_name: dict[str, ProjectSettings] = {}
        by_program: dict[str, ProjectSettings] = {}
        for project in projects:
            if project.name in by_name:
                msg = f"project {project.name!r} is registered more than once"
                raise ValueError(msg)
            by_name[project.name] = project
            for program in project.programs:
                owner = by_program.get(program)
                if owner is not None:
                    msg = f"program {program!r} is already owned by {owner.name!r}"
                    raise ValueError(msg)
                by_program[program] = project
        self._projects = types.MappingProxyType(by_name)
        self._by_program = types.MappingProxyType(by_program)

    @property
    def allowlist(self) -> frozenset[Program]:
        """Every program the catalogue allows."""
        return frozenset(Program(name) for name in self._by_program)

    @property
    def projects(self) -> cabc.Mapping[str, ProjectSettings]:
        """The projects, by name (read-only)."""
        return self._projects

    def is_allowed(self, program: str) -> bool:
        """Say whether ``program`` is in the catalogue."""
        return program in self._by_program

    def lookup(self, program: str) -> ProgramEntry:
        """Return ``program``'s entry.

        Raises
        ------
        UnknownProgramError
            If the catalogue does not list ``program``.
        TypeError
            If ``program`` is not a str.

        """
        if not isinstance(program, str):
            msg = f"program must be a str, not {type(program).__name__}"
            raise TypeError(msg)
        project = self._by_program.get(program)
        if project is None:
            msg = (
                f"program {program!r} is not in the catalogue; add it to a "
                "ProjectSettings of a ProgramCatalogue to allow it"
            )
            raise UnknownProgramError(msg)
        return ProgramEntry(Program(program), project)

    def extended(
        self,
        *,
        projects: cabc.Iterable[ProjectSettings] = (),
        programs: cabc.Iterable[str] = (),
        project: str = EXTRA_PROJECT,
    ) -> ProgramCatalogue:
        """Return a new catalogue: this one, with more projects or programs.

        ``DEFAULT_CATALOGUE.extended(programs=[sys.executable])`` allows one
        more program in a call; this catalogue is unchanged.

        Parameters
        ----------
        projects
            Whole projects to add, each with its programs and metadata.
        programs
            Programs to add to the project named ``project``: to that
            project when this catalogue has it (its metadata kept), to a new
            project of that name otherwise.
        project
            Where ``programs`` go; ``"extra"`` by default.

        Raises
        ------
        ValueError
            If a project name or a program would be in the catalogue twice,
            as `ProgramCatalogue` refuses.
        TypeError
            If ``programs`` is a single ``str`` rather than a collection of
            them, or a program is not a non-empty ``str``.

        """
        if isinstance(programs, str):
            msg = "programs must be a collection of str; wrap a single program"
            raise TypeError(msg)
        added = tuple(Program(name) for name in programs)
        kept = dict(self._projects)
        if added:
            owner = kept.get(project)
            kept[project] = (
                ProjectSettings(project, added)
                if owner is None
                else dc.replace(owner, programs=(*owner.programs, *added))
            )
        return ProgramCatalogue(projects=[*kept.values(), *projects])

    def project_for(self, program: str) -> ProjectSettings:
        """Return the project that owns ``program`` (see `lookup`)."""
        return self.lookup(program).project

    def __repr__(self) -> str:
        """Name the projects."""
        return f"ProgramCatalogue(projects={list(self._projects)!r})"


ECHO = Program("echo")
CAT = Program("cat")
HEAD = Program("head")
TAIL = Program("tail")
TR = Program("tr")
WC = Program("wc")
SORT = Program("sort")
UNIQ = Program("uniq")
CUT = Program("cut")
PRINTF = Program("printf")
TEE = Program("tee")
YES = Program("yes")
SEQ = Program("seq")
TRUE = Program("true")
FALSE = Program("false")
SLEEP = Program("sleep")
SHA256SUM = Program("sha256sum")
GREP = Program("grep")
GZIP = Program("gzip")

COREUTILS_PROJECT: typ.Final = "coreutils"
GREP_PROJECT: typ.Final = "grep"
GZIP_PROJECT: typ.Final = "gzip"

DEFAULT_PROJECTS: tuple[ProjectSettings, ...] = (
    ProjectSettings(
        name=COREUTILS_PROJECT,
        programs=(
            ECHO,
            CAT,
            HEAD,
            TAIL,
            TR,
            WC,
            SORT,
            UNIQ,
            CUT,
            PRINTF,
            TEE,
            YES,
            SEQ,
            TRUE,
            FALSE,
            SLEEP,
            SHA256SUM,
        ),
        documentation_locations=("https://www.gnu.org/software/coreutils/manual/",),
    ),
    ProjectSettings(
        name=GREP_PROJECT,
        programs=(GREP,),
        documentation_locations=("https://www.gnu.org/software/grep/manual/",),
    ),
    ProjectSettings(
        name=GZIP_PROJECT,
        programs=(GZIP,),
        documentation_locations=("https://www.gnu.org/software/gzip/manual/",),
    ),
)
"""The projects of `DEFAULT_CATALOGUE`: common POSIX text tools."""

DEFAULT_CATALOGUE = ProgramCatalogue(projects=DEFAULT_PROJECTS)
"""The catalogue `cuprum.sh.make` uses unless given another."""
