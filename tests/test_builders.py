"""The builder library (`cuprum.builders`): validators, argv, real runs.

The argv tests need no program installed; the tests that run a built
command need ``tar`` (and a compressor), ``git`` or ``rsync`` on ``PATH``
and are skipped, naming the program, where it is missing.
"""

from __future__ import annotations

import pathlib
import typing as typ

import pytest
from hypothesis import given
from hypothesis import strategies as st
from programs import GIT_ENV, git_repository, require

from cuprum import DEFAULT_CATALOGUE, GIT, RSYNC, TAR
from cuprum.builders import (
    Compression,
    RsyncOptions,
    TarCreateOptions,
    git_checkout,
    git_ref,
    git_rev_parse,
    git_status,
    rsync_sync,
    safe_path,
    tar_create,
    tar_extract,
)
from cuprum.builders.args import (
    GitRefRejection,
    PathRejection,
    classify_git_ref,
    classify_path_string,
)
from cuprum.builders.rsync import _rsync_argv
from cuprum.builders.tar import _tar_create_argv

if typ.TYPE_CHECKING:
    from cuprum.sh import SafeCmd

FUZZ = st.text(alphabet="ab/.\\-_ \t\0:@{}~^é", max_size=12)
SEGMENT = st.text(alphabet="abcXYZ019_-", min_size=1, max_size=6)
RSYNC_OPTIONS = st.builds(
    RsyncOptions,
    archive=st.booleans(),
    delete=st.booleans(),
    dry_run=st.booleans(),
    verbose=st.booleans(),
    compress=st.booleans(),
)


# safe_path


def test_safe_path_accepts_absolute_paths_as_str_or_path(
    tmp_path: pathlib.Path,
) -> None:
    target = tmp_path / "file.txt"
    assert safe_path(target) == target.as_posix()
    assert safe_path(str(target)) == target.as_posix()
    assert isinstance(safe_path(target), str)


def test_safe_path_refuses_relative_paths_unless_allowed() -> None:
    with pytest.raises(ValueError, match=r"^SafePath requires an absolute path"):
        safe_path("data/in.txt")
    assert safe_path(pathlib.Path("data/in.txt"), allow_relative=True) == "data/in.txt"


@pytest.mark.parametrize(
    ("value", "rejection"),
    [
        ("", PathRejection.EMPTY),
        ("/bad\0path", PathRejection.NUL),
        ("/srv/../etc", PathRejection.PARENT_SEGMENT),
        ("..", PathRejection.PARENT_SEGMENT),
        ("relative", PathRejection.NOT_ABSOLUTE),
        # A drive letter means nothing on POSIX: this is a relative path.
        ("C:/Windows", PathRejection.NOT_ABSOLUTE),
    ],
)
def test_safe_path_refusals_say_why(value: str, rejection: PathRejection) -> None:
    with pytest.raises(ValueError, match="SafePath") as caught:
        safe_path(value)
    assert str(caught.value) == rejection.value


@pytest.mark.parametrize("value", [None, b"/etc", 3, pathlib.PurePath])
def test_safe_path_refuses_what_is_not_a_text_path(value: object) -> None:
    with pytest.raises(TypeError, match=r"^SafePath expects str or Path, got "):
        safe_path(typ.cast("str", value))


def test_safe_path_refuses_a_bytes_path_object() -> None:
    class BytesPath:
        def __fspath__(self) -> bytes:
            return b"/etc"

    with pytest.raises(TypeError, match="got BytesPath"):
        safe_path(typ.cast("str", BytesPath()))


def test_safe_path_takes_any_text_path_object() -> None:
    class TextPath:
        def __fspath__(self) -> str:
            return "/srv/data"

    assert safe_path(TextPath()) == "/srv/data"


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("/srv//data/./in/", "/srv/data/in"),
        ("./data", "data"),
        ("-", "./-"),
        ("-rf", "./-rf"),
        ("./--checkpoint-action=exec=sh", "./--checkpoint-action=exec=sh"),
        ("a/-b", "a/-b"),
    ],
)
def test_safe_path_normalises_and_never_yields_an_option(
    value: str, normalised: str
) -> None:
    assert safe_path(value, allow_relative=True) == normalised


@given(raw=FUZZ, allow_relative=st.booleans())
def test_safe_path_raises_exactly_when_classified(
    raw: str, *, allow_relative: bool
) -> None:
    rejection = classify_path_string(raw, allow_relative=allow_relative)
    if rejection is None:
        path = safe_path(raw, allow_relative=allow_relative)
        assert path
        assert not path.startswith("-")
        assert safe_path(path, allow_relative=allow_relative) == path
    else:
        with pytest.raises(ValueError, match="SafePath") as caught:
            safe_path(raw, allow_relative=allow_relative)
        assert str(caught.value) == rejection.value


@given(segments=st.lists(SEGMENT, min_size=1, max_size=4))
def test_absolute_paths_round_trip(segments: list[str]) -> None:
    raw = "/" + "/".join(segments)
    assert classify_path_string(raw, allow_relative=False) is None
    assert safe_path(raw) == raw


# git_ref


@pytest.mark.parametrize(
    "value", ["main", "feature/one", "v1.2.3", "refs/heads/main", "deadbeef", "a-b_c"]
)
def test_git_ref_accepts_names_unchanged(value: str) -> None:
    assert git_ref(value) == value


@pytest.mark.parametrize(
    ("value", "rejection"),
    [
        ("", GitRefRejection.EMPTY),
        ("-branch", GitRefRejection.LEADING_DASH),
        ("--force", GitRefRejection.LEADING_DASH),
        (" bad", GitRefRejection.WHITESPACE),
        ("bad ref", GitRefRejection.WHITESPACE),
        ("/bad", GitRefRejection.SLASH_BOUNDARY),
        ("bad/", GitRefRejection.SLASH_BOUNDARY),
        ("bad.lock", GitRefRejection.LOCK_SUFFIX),
        ("bad.", GitRefRejection.DOT_SUFFIX),
        ("bad..ref", GitRefRejection.PARENT_SEQUENCE),
        ("bad//ref", GitRefRejection.DOUBLE_SLASH),
        ("bad@{", GitRefRejection.AT_BRACE),
        ("HEAD~1", GitRefRejection.UNSUPPORTED_CHARS),
        ("main^", GitRefRejection.UNSUPPORTED_CHARS),
        ("caf\u00e9", GitRefRejection.UNSUPPORTED_CHARS),
    ],
)
def test_git_ref_refusals_say_why(value: str, rejection: GitRefRejection) -> None:
    assert classify_git_ref(value) is rejection
    with pytest.raises(ValueError, match="GitRef") as caught:
        git_ref(value)
    assert str(caught.value) == rejection.value


def test_git_ref_refuses_what_is_not_a_str() -> None:
    with pytest.raises(TypeError, match=r"^GitRef expects str, got bytes$"):
        git_ref(typ.cast("str", b"main"))


@given(raw=FUZZ)
def test_git_ref_raises_exactly_when_classified(raw: str) -> None:
    rejection = classify_git_ref(raw)
    if rejection is None:
        assert git_ref(raw) == raw
        assert not raw.startswith("-")
        assert not any(character.isspace() for character in raw)
    else:
        with pytest.raises(ValueError, match="GitRef") as caught:
            git_ref(raw)
        assert str(caught.value) == rejection.value


@given(segments=st.lists(SEGMENT, min_size=1, max_size=3))
def test_slash_joined_names_are_refs(segments: list[str]) -> None:
    raw = "/".join(segments)
    expected = GitRefRejection.LEADING_DASH if raw.startswith("-") else None
    assert classify_git_ref(raw) is expected


# git builders


def test_git_builders_run_the_catalogued_git() -> None:
    command = git_status()
    assert command.program == GIT
    assert command.project == DEFAULT_CATALOGUE.project_for(GIT)
    assert command.project.name == "core-ops"


@pytest.mark.parametrize(
    ("flags", "argv"),
    [
        ({}, ("status",)),
        ({"short": True}, ("status", "--short")),
        ({"branch": True}, ("status", "--branch")),
        ({"short": True, "branch": True}, ("status", "--short", "--branch")),
    ],
)
def test_git_status_argv(flags: dict[str, bool], argv: tuple[str, ...]) -> None:
    assert git_status(**flags).argv == argv


@pytest.mark.parametrize(
    ("flags", "argv"),
    [
        ({}, ("checkout", "main")),
        ({"create_branch": True}, ("checkout", "-b", "main")),
        ({"create_branch": True, "force": True}, ("checkout", "-B", "main")),
        ({"detach": True}, ("checkout", "--detach", "main")),
        ({"force": True}, ("checkout", "--force", "main")),
        ({"detach": True, "force": True}, ("checkout", "--detach", "--force", "main")),
    ],
)
def test_git_checkout_argv(flags: dict[str, bool], argv: tuple[str, ...]) -> None:
    assert git_checkout("main", **flags).argv == argv
    assert git_checkout("main", **flags).argv_with_program == ("git", *argv)


def test_git_checkout_refuses_creating_and_detaching() -> None:
    with pytest.raises(ValueError, match="create_branch and detach cannot both"):
        git_checkout("main", create_branch=True, detach=True)


def test_git_builders_refuse_bad_refs() -> None:
    with pytest.raises(ValueError, match="GitRef cannot start with '-'"):
        git_checkout("--orphan")
    with pytest.raises(ValueError, match="GitRef contains unsupported"):
        git_rev_parse("HEAD~1")
    with pytest.raises(TypeError, match="GitRef expects str"):
        git_rev_parse(typ.cast("str", 1))


def test_git_rev_parse_argv() -> None:
    assert git_rev_parse("refs/heads/main").argv == ("rev-parse", "refs/heads/main")


# rsync


def test_rsync_argv_gives_flags_in_fixed_order_then_paths(
    tmp_path: pathlib.Path,
) -> None:
    source, destination = tmp_path / "source", tmp_path / "destination"
    every = RsyncOptions(
        compress=True, verbose=True, dry_run=True, delete=True, archive=True
    )
    command = rsync_sync(source, destination, options=every)
    assert command.program == RSYNC
    assert command.argv == (
        "--archive",
        "--delete",
        "--dry-run",
        "--verbose",
        "--compress",
        source.as_posix(),
        destination.as_posix(),
    )
    assert rsync_sync("/a", "/b").argv == ("/a", "/b")


def test_rsync_refuses_relative_paths_unless_allowed() -> None:
    with pytest.raises(ValueError, match="absolute path"):
        rsync_sync("src", "/dst")
    with pytest.raises(ValueError, match="absolute path"):
        rsync_sync("/src", "dst")
    allowed = RsyncOptions(allow_relative=True)
    assert rsync_sync("src/", "-dst", options=allowed).argv == ("src", "./-dst")


@given(
    source=st.lists(SEGMENT, min_size=1, max_size=3).map("/".join),
    options=RSYNC_OPTIONS,
)
def test_rsync_argv_matches_its_options(source: str, options: RsyncOptions) -> None:
    source = "/" + source
    argv = _rsync_argv(source, pathlib.Path("/dst"), options)
    names = ("archive", "delete", "dry_run", "verbose", "compress")
    flags = tuple(
        "--" + name.replace("_", "-") for name in names if getattr(options, name)
    )
    assert argv == (*flags, source, "/dst")
    assert rsync_sync(source, "/dst", options=options).argv == argv


def test_rsync_options_are_frozen() -> None:
    with pytest.raises(AttributeError):
        RsyncOptions().archive = True  # type: ignore[misc]


# tar


@pytest.mark.parametrize(
    ("compression", "flag"),
    [
        (Compression.NONE, ()),
        (Compression.GZIP, ("-z",)),
        (Compression.BZIP2, ("-j",)),
        (Compression.XZ, ("-J",)),
    ],
)
def test_tar_create_argv(compression: Compression, flag: tuple[str, ...]) -> None:
    options = TarCreateOptions(compression=compression)
    command = tar_create("/b/out.tar", ["/s/a", pathlib.Path("/s/b")], options=options)
    assert command.program == TAR
    assert command.argv == ("-c", *flag, "-f", "/b/out.tar", "/s/a", "/s/b")


@pytest.mark.parametrize(
    ("switch", "compression"),
    [("gzip", Compression.GZIP), ("bzip2", Compression.BZIP2), ("xz", Compression.XZ)],
)
def test_tar_options_take_the_older_boolean_spelling(
    switch: str, compression: Compression
) -> None:
    flag: dict[str, typ.Any] = {switch: True}
    older = TarCreateOptions(**flag)
    assert older == TarCreateOptions(compression=compression)
    assert older.compression is compression
    assert getattr(TarCreateOptions(compression=compression), switch) is True
    assert TarCreateOptions(compression=compression, **flag) == older


@pytest.mark.parametrize(
    "options",
    [
        {"gzip": True, "bzip2": True},
        {"bzip2": True, "xz": True},
        {"gzip": True, "compression": Compression.XZ},
    ],
)
def test_tar_options_refuse_two_compressions(options: dict[str, typ.Any]) -> None:
    with pytest.raises(ValueError, match="only one compression option for tar_create"):
        TarCreateOptions(**options)


def test_tar_options_refuse_a_compression_by_name() -> None:
    with pytest.raises(TypeError, match="compression must be a Compression"):
        TarCreateOptions(compression=typ.cast("Compression", "gzip"))


@pytest.mark.parametrize("sources", ["", "/s/a", pathlib.Path("/s/a"), b"/s/a", 5])
def test_tar_create_refuses_a_single_path_for_sources(sources: object) -> None:
    with pytest.raises(TypeError, match="tar_create requires a sequence of"):
        tar_create("/b/out.tar", typ.cast("list[str]", sources))


def test_tar_create_needs_a_source() -> None:
    with pytest.raises(ValueError, match="tar_create requires at least one source"):
        tar_create("/b/out.tar", [])


def test_tar_create_takes_any_iterable_of_sources() -> None:
    sources = typ.cast("list[str]", (f"/s/{name}" for name in "ab"))
    assert _tar_create_argv("/o.tar", sources, TarCreateOptions())[-2:] == (
        "/s/a",
        "/s/b",
    )


def test_tar_refuses_relative_paths_unless_allowed() -> None:
    with pytest.raises(ValueError, match="absolute path"):
        tar_create("out.tar", ["/s"])
    with pytest.raises(ValueError, match="absolute path"):
        tar_create("/out.tar", ["s"])
    with pytest.raises(ValueError, match="absolute path"):
        tar_extract("out.tar")
    with pytest.raises(ValueError, match="absolute path"):
        tar_extract("/out.tar", destination="here")
    relative = TarCreateOptions(allow_relative=True)
    assert tar_create("-", ["-v"], options=relative).argv == (
        "-c",
        "-f",
        "./-",
        "./-v",
    )
    assert tar_extract("-", destination="d", allow_relative=True).argv == (
        "-x",
        "-f",
        "./-",
        "-C",
        "d",
    )


def test_tar_extract_argv() -> None:
    assert tar_extract("/b/out.tar").argv == ("-x", "-f", "/b/out.tar")
    command = tar_extract(pathlib.Path("/b/out.tar"), destination=pathlib.Path("/r"))
    assert command.argv_with_program == ("tar", "-x", "-f", "/b/out.tar", "-C", "/r")


# Real runs


COMPRESSORS = {
    Compression.NONE: (),
    Compression.GZIP: ("gzip",),
    Compression.BZIP2: ("bzip2",),
    Compression.XZ: ("xz",),
}


@pytest.mark.parametrize("compression", list(Compression))
def test_tar_create_then_extract_for_real(
    tmp_path: pathlib.Path, compression: Compression
) -> None:
    require("tar", *COMPRESSORS[compression])
    (tmp_path / "data" / "deep").mkdir(parents=True)
    (tmp_path / "data" / "deep" / "notes.txt").write_text("copper\n")
    (tmp_path / "-v").write_text("a file named like a flag\n")
    archive = tmp_path / "backup.tar"
    options = TarCreateOptions(compression=compression, allow_relative=True)

    created = tar_create(archive, ["data", "-v"], options=options).run_sync(
        cwd=tmp_path, timeout=60
    )
    assert created.ok, created

    restore = tmp_path / "restore"
    restore.mkdir()
    extracted = tar_extract(archive, destination=restore).run_sync(timeout=60)
    assert extracted.ok, extracted
    assert (restore / "data" / "deep" / "notes.txt").read_text() == "copper\n"
    assert (restore / "-v").read_text() == "a file named like a flag\n"


def test_git_builders_for_real(tmp_path: pathlib.Path) -> None:
    git_repository(tmp_path)

    def run(command: SafeCmd) -> str:
        result = command.run_sync(cwd=tmp_path, env=GIT_ENV, timeout=60)
        assert result.ok, result
        assert isinstance(result.stdout, str)
        return result.stdout

    commit = run(git_rev_parse("HEAD")).strip()
    assert len(commit) == 40
    run(git_checkout("feature/one", create_branch=True))
    assert run(git_status(short=True, branch=True)).startswith("## feature/one")
    run(git_checkout(commit, detach=True))
    assert run(git_status(short=True, branch=True)).startswith("## HEAD (no branch)")
    assert run(git_rev_parse("feature/one")).strip() == commit


def test_rsync_sync_for_real(tmp_path: pathlib.Path) -> None:
    require("rsync")
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "notes.txt").write_text("copper\n")
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "stale.txt").write_text("old\n")
    options = RsyncOptions(archive=True, delete=True)
    result = rsync_sync(
        tmp_path / "source", tmp_path / "mirror", options=options
    ).run_sync(timeout=60)
    assert result.ok, result
    # Without a trailing slash rsync copies the directory itself.
    assert (tmp_path / "mirror" / "source" / "notes.txt").read_text() == "copper\n"
