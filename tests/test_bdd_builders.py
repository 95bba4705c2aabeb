"""Steps for the builder scenarios (``features/builders.feature``).

The "build" steps only build a command and keep it (or the error it was
refused with); the "run" steps run what they built in a temporary
directory, and are skipped, naming the program, where it is not installed.
"""

from __future__ import annotations

import dataclasses
import typing as typ

import pytest
from programs import GIT_ENV, git_repository, require
from pytest_bdd import given, parsers, scenarios, then, when

from cuprum.builders import (
    Compression,
    RsyncOptions,
    TarCreateOptions,
    git_checkout,
    git_rev_parse,
    rsync_sync,
    tar_create,
    tar_extract,
)

if typ.TYPE_CHECKING:
    import pathlib

    from cuprum import SafeCmd

scenarios("builders.feature")

COMPRESSIONS = {
    "no": (Compression.NONE, ()),
    "gzip": (Compression.GZIP, ("gzip",)),
    "xz": (Compression.XZ, ("xz",)),
}


@dataclasses.dataclass
class Job:
    """What the steps built, ran and were given."""

    command: SafeCmd | None = None
    error: ValueError | None = None
    directory: pathlib.Path | None = None
    other: pathlib.Path | None = None
    archive: pathlib.Path | None = None
    output: str | None = None
    commit: str | None = None


@pytest.fixture
def job() -> Job:
    return Job()


def run(
    command: SafeCmd,
    cwd: pathlib.Path | None = None,
    env: dict[str, str] | None = None,
) -> str:
    result = command.run_sync(cwd=cwd, env=env, timeout=60)
    assert result.ok, result
    assert isinstance(result.stdout, str)
    return result.stdout


@given("a source directory and a destination directory")
def _(job: Job, tmp_path: pathlib.Path) -> None:
    job.directory, job.other = tmp_path / "source", tmp_path / "destination"


@given(parsers.parse('a directory holding "{name}" that says "{text}"'))
def _(job: Job, tmp_path: pathlib.Path, name: str, text: str) -> None:
    job.directory = tmp_path / "data"
    job.directory.mkdir()
    (job.directory / name).write_text(text)


@given("a git repository with one commit")
def _(job: Job, tmp_path: pathlib.Path) -> None:
    job.directory = tmp_path
    job.commit = git_repository(tmp_path)


@when(
    parsers.re(
        r'I build a git checkout of "(?P<ref>[^"]*)"(?P<create>, creating the branch)?$'
    )
)
def _(job: Job, ref: str, create: str | None) -> None:
    try:
        job.command = git_checkout(ref, create_branch=bool(create))
    except ValueError as error:
        job.error = error


@when("I build an rsync of the source into the destination, archiving and deleting")
def _(job: Job) -> None:
    assert job.directory is not None
    assert job.other is not None
    options = RsyncOptions(archive=True, delete=True)
    job.command = rsync_sync(job.directory, job.other, options=options)


@when(
    parsers.re(
        r'I build a tar extract of "(?P<path>[^"]*)"'
        r"(?P<relative>, allowing relative paths)?$"
    )
)
def _(job: Job, path: str, relative: str | None) -> None:
    try:
        job.command = tar_extract(path, allow_relative=bool(relative))
    except ValueError as error:
        job.error = error


@when(
    parsers.parse(
        "I archive the directory with {compression} compression and run the command"
    )
)
def _(job: Job, tmp_path: pathlib.Path, compression: str) -> None:
    chosen, compressors = COMPRESSIONS[compression]
    require("tar", *compressors)
    assert job.directory is not None
    job.archive = tmp_path / "backup.tar"
    options = TarCreateOptions(compression=chosen, allow_relative=True)
    command = tar_create(job.archive, [job.directory.name], options=options)
    run(command, cwd=job.directory.parent)


@when("I extract the archive into an empty directory and run the command")
def _(job: Job, tmp_path: pathlib.Path) -> None:
    assert job.archive is not None
    job.other = tmp_path / "restore"
    job.other.mkdir()
    run(tar_extract(job.archive, destination=job.other))


@when(parsers.parse('I run the built git rev-parse of "{ref}" in the repository'))
def _(job: Job, ref: str) -> None:
    job.output = run(git_rev_parse(ref), cwd=job.directory, env=GIT_ENV)


@then(parsers.parse('the command is "{text}"'))
def _(job: Job, text: str) -> None:
    assert job.error is None
    assert job.command is not None
    assert job.command.argv_with_program == tuple(text.split(" "))


@then("the command is rsync --archive --delete, then the source, then the destination")
def _(job: Job) -> None:
    assert job.command is not None
    assert job.directory is not None
    assert job.other is not None
    assert job.command.argv_with_program == (
        "rsync",
        "--archive",
        "--delete",
        job.directory.as_posix(),
        job.other.as_posix(),
    )


@then(parsers.parse('it is refused with "{reason}"'))
def _(job: Job, reason: str) -> None:
    assert job.command is None
    assert job.error is not None
    assert str(job.error) == reason


@then(parsers.parse('the empty directory now holds "{name}" that says "{text}"'))
def _(job: Job, name: str, text: str) -> None:
    assert job.directory is not None
    assert job.other is not None
    assert (job.other / job.directory.name / name).read_text() == text


@then("the output is the id of that commit")
def _(job: Job) -> None:
    assert job.output is not None
    assert job.output.strip() == job.commit
