"""The program catalogue: which executables cuprum commands may name.

Owns `ProjectSettings`, `ProgramEntry`, `ProgramCatalogue` (and its one-call
extension, `ProgramCatalogue.extended`), the errors of a lookup and of a
construction (`UnknownProgramError`, `DuplicateProjectError`,
`DuplicateProgramError`) and `DEFAULT_CATALOGUE` with its program constants
(`ECHO`, `LS`, `GIT`, `CAT`, ...). `Program` itself is `cuprum.program`'s,
re-exported here.

Invariants:

* a catalogue is immutable once built, and every program in it belongs to
  exactly one project (two projects with one name raise
  `DuplicateProjectError`, a program listed twice `DuplicateProgramError`,
  both ``ValueError``);
* a lookup never consults ``PATH``: the catalogue is an allowlist of names,
  checked when a command is *built*; whether the program is installed is
  checked when a command is *run* (see `cuprum._run.run`).
"""

from __future__ import annotations

import dataclasses as dc
import types
import typing as typ

from cuprum.program import Program as Program  # noqa: PLC0414 - re-exported

if typ.TYPE_CHECKING:
    import collections.abc as cabc

EXTRA_PROJECT: typ.Final = "extra"
"""The project `ProgramCatalogue.extended` puts loose programs in."""


class UnknownProgramError(LookupError):
    """A command named a program that its catalogue does not list."""


def _unknown(program: str, catalogue: ProgramCatalogue) -> str:
    """Say why ``program`` is not in ``catalogue``, and the one-line fix."""
    words = program.split()
    if len(words) > 1 or (words and words[0] != program):
        args = ", ".join(repr(word) for word in words[1:])
        fix = f"sh.make(Program({words[0]!r}))({args})"
        if words and not catalogue.is_allowed(words[0]):
            hint = _allow_hint(words[0], catalogue)
            fix += f"; {words[0]!r} is not in the catalogue either: {hint}"
        return (
            f"program {program!r} is not in the catalogue: a program is one name, "
            f"and its arguments go separately: {fix}"
        )
    hint = _allow_hint(program, catalogue)
    return f"program {program!r} is not in the catalogue; {hint}"


def _allow_hint(program: str, catalogue: ProgramCatalogue) -> str:
    """Say how to allow ``program``, given the catalogue that lacks it."""
    if catalogue is not DEFAULT_CATALOGUE and DEFAULT_CATALOGUE.is_allowed(program):
        return (
            f"the default catalogue has it, but the catalogue in use "
            f"(projects {sorted(catalogue.projects)}, from scoped(catalogue=...) "
            "or catalogue=) does not: add it there with "
            f".extended(programs=[{program!r}])"
        )
    extended = f"DEFAULT_CATALOGUE.extended(programs=[{program!r}])"
    return (
        f"allow it with catalogue = {extended}, "
        f"then sh.make(Program({program!r}), catalogue) or, for a block, "
        "with scoped(catalogue=catalogue): ..."
    )


class DuplicateProjectError(ValueError):
    """Two projects of one catalogue share a name.

    Attributes
    ----------
    project_name
        The name given twice.

    """

    def __init__(self, project_name: str) -> None:
        super().__init__(f"project {project_name!r} is registered more than once")
        self.project_name = project_name


class DuplicateProgramError(ValueError):
    """Two projects of one catalogue claim one program.

    Attributes
    ----------
    program
        The program claimed twice.
    owner
        The name of the project that claimed it first.

    """

    def __init__(self, program: str, owner: str) -> None:
        super().__init__(f"program {program!r} is already owned by {owner!r}")
        self.program = Program(program)
        self.owner = owner


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

    @property
    def project_name(self) -> str:
        """The owning project's name."""
        return self.project.name


class ProgramCatalogue:
    """An allowlist of programs, grouped by project.

    Parameters
    ----------
    projects
        The projects; their names and their programs must be unique.

    Raises
    ------
    DuplicateProjectError
        If two projects share a name (a ``ValueError``).
    DuplicateProgramError
        If a program is listed twice (a ``ValueError``).

    """

    __slots__ = ("_by_program", "_projects")

    def __init__(self, *, projects: cabc.Iterable[ProjectSettings]) -> None:
        by_name: dict[str, ProjectSettings] = {}
        by_program: dict[str, ProjectSettings] = {}
        for project in projects:
            if project.name in by_name:
                raise DuplicateProjectError(project.name)
            by_name[project.name] = project
            for program in project.programs:
                owner = by_program.get(program)
                if owner is not None:
                    raise DuplicateProgramError(program, owner.name)
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

    def visible_settings(self) -> cabc.Mapping[str, ProjectSettings]:
        """Return the projects, by name, for services that apply their metadata.

        The same read-only mapping as `projects` (the older cuprum's name).
        """
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
            raise UnknownProgramError(_unknown(program, self))
        return ProgramEntry(Program(program), project)

    @classmethod
    def from_programs(
        cls, *programs: str, name: str = EXTRA_PROJECT
    ) -> ProgramCatalogue:
        """Return a catalogue of one project, ``name``, holding ``programs``.

        ``ProgramCatalogue.from_programs(ECHO, LS)`` allows exactly those
        two, for example for ``scoped(catalogue=...)``.

        Raises
        ------
        DuplicateProgramError
            If a program is given twice.
        TypeError
            If a program is not a non-empty ``str``.

        """
        seen: set[str] = set()
        for program in programs:
            if program in seen:
                raise DuplicateProgramError(program, name)
            seen.add(program)
        added = tuple(Program(program) for program in programs)
        return cls(projects=[ProjectSettings(name, added)])

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
            project of that name otherwise. A program this catalogue already
            allows is left in its own project.
        project
            Where ``programs`` go; ``"extra"`` by default.

        Raises
        ------
        ValueError
            If a project name or a program of ``projects`` would be in the
            catalogue twice, as `ProgramCatalogue` refuses.
        TypeError
            If ``programs`` is a single ``str`` rather than a collection of
            them, or a program is not a non-empty ``str``.

        """
        if isinstance(programs, str):
            msg = "programs must be a collection of str; wrap a single program"
            raise TypeError(msg)
        # Programs this catalogue allows already stay where they are, so
        # extended(programs=[argv[0]]) is safe whatever argv[0] is.
        added = tuple(
            Program(name)
            for name in dict.fromkeys(programs)
            if not self.is_allowed(name)
        )
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
LS = Program("ls")
GIT = Program("git")
RSYNC = Program("rsync")
TAR = Program("tar")
DOC_TOOL = Program("mdbook")
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

CORE_OPS_PROJECT: typ.Final = "core-ops"
DOCUMENTATION_PROJECT: typ.Final = "docs"
COREUTILS_PROJECT: typ.Final = "coreutils"
GREP_PROJECT: typ.Final = "grep"
GZIP_PROJECT: typ.Final = "gzip"

DEFAULT_PROJECTS: tuple[ProjectSettings, ...] = (
    # The older cuprum's two projects, as its users know them.
    ProjectSettings(
        name=CORE_OPS_PROJECT,
        programs=(ECHO, GIT, LS, RSYNC, TAR),
        documentation_locations=(
            "docs/users-guide.md#catalogues-which-programs-a-command-may-name",
        ),
        noise_rules=(r"^progress:", r"^note:"),
    ),
    ProjectSettings(
        name=DOCUMENTATION_PROJECT,
        programs=(DOC_TOOL,),
        documentation_locations=("https://docs.example.invalid/cuprum/catalogue",),
        noise_rules=(r"^\[INFO\]",),
    ),
    # The text tools pipelines are made of.
    ProjectSettings(
        name=COREUTILS_PROJECT,
        programs=(
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
"""The projects of `DEFAULT_CATALOGUE`: the older cuprum's ``core-ops``
(``echo``, ``git``, ``ls``, ``rsync``, ``tar``) and ``docs`` (``mdbook``),
and the common POSIX text tools."""

DEFAULT_CATALOGUE = ProgramCatalogue(projects=DEFAULT_PROJECTS)
"""The catalogue `cuprum.sh.make` uses unless given another."""

__all__ = [
    "CAT",
    "CORE_OPS_PROJECT",
    "CUT",
    "DEFAULT_CATALOGUE",
    "DEFAULT_PROJECTS",
    "DOCUMENTATION_PROJECT",
    "DOC_TOOL",
    "ECHO",
    "FALSE",
    "GIT",
    "GREP",
    "GZIP",
    "HEAD",
    "LS",
    "PRINTF",
    "RSYNC",
    "SEQ",
    "SHA256SUM",
    "SLEEP",
    "SORT",
    "TAIL",
    "TAR",
    "TEE",
    "TR",
    "TRUE",
    "UNIQ",
    "WC",
    "YES",
    "DuplicateProgramError",
    "DuplicateProjectError",
    "ProgramCatalogue",
    "ProgramEntry",
    "ProjectSettings",
    "UnknownProgramError",
]
