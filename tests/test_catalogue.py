"""The program catalogue: allowlist lookups and the default catalogue."""

from __future__ import annotations

import pytest

import cuprum
from cuprum.catalogue import (
    DEFAULT_CATALOGUE,
    ECHO,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    UnknownProgramError,
)


def test_default_catalogue_lists_the_common_tools() -> None:
    for program in (
        cuprum.ECHO,
        cuprum.CAT,
        cuprum.HEAD,
        cuprum.TR,
        cuprum.WC,
        cuprum.SORT,
        cuprum.GREP,
        cuprum.GZIP,
        cuprum.YES,
        cuprum.SHA256SUM,
        cuprum.SLEEP,
    ):
        assert DEFAULT_CATALOGUE.is_allowed(program)
        assert DEFAULT_CATALOGUE.lookup(program).program == program


def test_lookup_names_the_owning_project() -> None:
    entry = DEFAULT_CATALOGUE.lookup(ECHO)
    assert entry.project.name == "core-ops"  # the older cuprum's project
    assert entry.project_name == "core-ops"
    assert DEFAULT_CATALOGUE.project_for("cat").name == "coreutils"
    assert DEFAULT_CATALOGUE.project_for("grep").name == "grep"
    assert ECHO in DEFAULT_CATALOGUE.allowlist


def test_unknown_program_is_refused() -> None:
    with pytest.raises(UnknownProgramError, match="'rm' is not in the catalogue"):
        DEFAULT_CATALOGUE.lookup("rm")
    assert issubclass(UnknownProgramError, LookupError)


def test_lookup_wants_a_string() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        DEFAULT_CATALOGUE.lookup(3)  # type: ignore[arg-type]


def test_project_settings_store_tuples() -> None:
    project = ProjectSettings(
        name="tools",
        programs=[Program("a"), Program("b")],  # type: ignore[arg-type]
        noise_rules=["^progress"],  # type: ignore[arg-type]
    )
    assert project.programs == ("a", "b")
    assert project.noise_rules == ("^progress",)
    assert project.documentation_locations == ()
    assert project.owns("a")
    assert not project.owns("c")


def test_project_settings_reject_bad_programs() -> None:
    with pytest.raises(TypeError, match="not a str"):
        ProjectSettings(name="x", programs="echo")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="non-empty str"):
        ProjectSettings(name="x", programs=(Program(""),))


def test_catalogue_refuses_duplicates() -> None:
    one = ProjectSettings(name="one", programs=(Program("a"),))
    with pytest.raises(ValueError, match="more than once"):
        ProgramCatalogue(projects=[one, one])
    other = ProjectSettings(name="other", programs=(Program("a"),))
    with pytest.raises(ValueError, match="already owned by 'one'"):
        ProgramCatalogue(projects=[one, other])


def test_catalogue_exposes_projects_read_only() -> None:
    catalogue = ProgramCatalogue(
        projects=[ProjectSettings(name="p", programs=(Program("a"),))]
    )
    assert list(catalogue.projects) == ["p"]
    with pytest.raises(TypeError):
        catalogue.projects["q"] = catalogue.projects["p"]  # type: ignore[index]
    assert "p" in repr(catalogue)


def test_extended_adds_programs_in_one_call() -> None:
    extra = DEFAULT_CATALOGUE.extended(programs=["nl", Program("dd")])
    assert extra.is_allowed("nl")
    assert extra.project_for("dd").name == "extra"
    assert extra.is_allowed(ECHO)  # everything it had stays
    assert not DEFAULT_CATALOGUE.is_allowed("nl")  # the original is unchanged
    more = extra.extended(programs=["df"])  # into the same project
    assert more.projects["extra"].programs == ("nl", "dd", "df")
    named = DEFAULT_CATALOGUE.extended(programs=["nl"], project="mine")
    assert named.project_for("nl").name == "mine"


def test_extended_adds_projects_and_programs_to_an_existing_one() -> None:
    tools = ProjectSettings(
        "tools", (Program("jq"),), documentation_locations=("https://jqlang.org",)
    )
    catalogue = DEFAULT_CATALOGUE.extended(projects=[tools])
    assert catalogue.project_for("jq") == tools
    grown = catalogue.extended(programs=["yq"], project="tools")
    assert grown.projects["tools"].programs == ("jq", "yq")
    assert grown.projects["tools"].documentation_locations == ("https://jqlang.org",)
    coreutils = DEFAULT_CATALOGUE.extended(programs=["nproc"], project="coreutils")
    assert coreutils.project_for("nproc").name == "coreutils"


def test_extended_refuses_what_the_constructor_refuses() -> None:
    # A program already allowed stays where it is (extended(programs=[argv[0]])
    # is safe whatever argv[0] is); a whole project's still may not clash.
    kept = DEFAULT_CATALOGUE.extended(programs=["cat"])
    assert kept.project_for("cat") == DEFAULT_CATALOGUE.project_for("cat")
    with pytest.raises(ValueError, match="already owned"):
        DEFAULT_CATALOGUE.extended(projects=[ProjectSettings("mine", ("cat",))])
    with pytest.raises(ValueError, match="more than once"):
        DEFAULT_CATALOGUE.extended(projects=[ProjectSettings("grep", ("x",))])
    with pytest.raises(TypeError, match="collection of str"):
        DEFAULT_CATALOGUE.extended(programs="ls")
    with pytest.raises(TypeError, match="non-empty str"):
        DEFAULT_CATALOGUE.extended(programs=[""])
