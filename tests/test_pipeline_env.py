"""A run's environment and working directory (behaviour 9.6 and 9.7)."""

from __future__ import annotations

import json
import os
import sys
import typing as typ

import pytest
from processes import children, open_fds

from cuprum import (
    CAT,
    ECHO,
    Program,
    ProgramCatalogue,
    ProgramNotFoundError,
    ProjectSettings,
    sh,
)

if typ.TYPE_CHECKING:
    from pathlib import Path

    from cuprum import SafeCmd, StreamBackend

PYTHON = Program(sys.executable)
TOOL = Program("cuprum-test-tool")
RELATIVE = Program("bin/tool")
CATALOGUE = ProgramCatalogue(
    projects=[ProjectSettings("test", (PYTHON, TOOL, RELATIVE))]
)
python = sh.make(PYTHON, CATALOGUE)
SHOW = (
    "import json, os, sys; "
    "print(json.dumps({n: os.environ.get(n) for n in sys.argv[1:]}))"
)
WHERE = "import os; print(os.getcwd())"


def shown(command: SafeCmd, **options: typ.Any) -> dict[str, str | None]:
    """Run ``command`` (a `show`); return the variables the stage saw."""
    result = command.run_sync(**options)
    assert result.ok, result
    return typ.cast("dict[str, str | None]", json.loads(str(result.stdout)))


def show(*names: str) -> SafeCmd:
    return python("-c", SHOW, *names)


def test_env_is_laid_over_every_stage(
    stream_backend: StreamBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUPRUM_KEEP", "kept")
    monkeypatch.setenv("CUPRUM_GONE", "here")
    before = dict(os.environ)
    sees_it = python("-c", "import os, sys; sys.exit(os.environ['CUPRUM_SET'] != 'x')")
    pipeline = sees_it | show("CUPRUM_SET", "CUPRUM_KEEP", "CUPRUM_GONE")
    result = pipeline.run_sync(env={"CUPRUM_SET": "x", "CUPRUM_GONE": None})
    assert result.ok, result
    assert json.loads(str(result.stdout)) == {
        "CUPRUM_SET": "x",
        "CUPRUM_KEEP": "kept",
        "CUPRUM_GONE": None,
    }
    assert dict(os.environ) == before


def test_the_environment_is_read_at_spawn_time(
    stream_backend: StreamBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = show("CUPRUM_LATER", "CUPRUM_MINE").with_env({"CUPRUM_MINE": "1"})
    monkeypatch.setenv("CUPRUM_LATER", "set after the command was built")
    assert shown(command) == {
        "CUPRUM_LATER": "set after the command was built",
        "CUPRUM_MINE": "1",
    }


def test_a_commands_overlay_comes_after_the_runs(
    stream_backend: StreamBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUPRUM_C", "from os.environ")
    command = (
        show("CUPRUM_A", "CUPRUM_B", "CUPRUM_C")
        .with_env({"CUPRUM_A": "first", "CUPRUM_B": "first"})
        .with_env({"CUPRUM_B": "second", "CUPRUM_C": None})
    )
    assert command.env == (
        ("CUPRUM_A", "first"),
        ("CUPRUM_B", "second"),
        ("CUPRUM_C", None),
    )
    run_env = {"CUPRUM_A": "run", "CUPRUM_B": "run", "CUPRUM_C": "run"}
    assert shown(command, env=run_env) == {
        "CUPRUM_A": "first",
        "CUPRUM_B": "second",
        "CUPRUM_C": None,
    }
    # Only the command that has the overlay gets it.
    pipeline = command | show("CUPRUM_A")
    result = pipeline.run_sync(env={"CUPRUM_A": "run"})
    assert json.loads(str(result.stdout)) == {"CUPRUM_A": "run"}


BAD_ENVS: list[tuple[object, type[Exception], str]] = [
    ({1: "x"}, TypeError, "names must be str"),
    ({b"NAME": "x"}, TypeError, "names must be str"),
    ({"NAME": 1}, TypeError, "NAME must be a str or None"),
    ({"NAME": b"x"}, TypeError, "NAME must be a str or None"),
    ({"A=B": "x"}, ValueError, "not a valid variable name"),
    ({"A\0B": "x"}, ValueError, "not a valid variable name"),
    ({"": "x"}, ValueError, "not a valid variable name"),
    ({"NAME": "a\0b"}, ValueError, "contains a NUL"),
    ([("NAME", "x")], TypeError, "must be a mapping"),
]


@pytest.mark.parametrize(("env", "error", "message"), BAD_ENVS)
def test_a_bad_environment_is_refused_before_anything_runs(
    stream_backend: StreamBackend, env: object, error: type[Exception], message: str
) -> None:
    pipeline = sh.make(ECHO)("x") | sh.make(CAT)()
    before = open_fds()
    with pytest.raises(error, match=message):
        pipeline.run_sync(env=env)  # type: ignore[arg-type]
    with pytest.raises(error, match=message):
        sh.make(ECHO)().with_env(env)  # type: ignore[arg-type]
    assert not children()
    assert open_fds() == before


def test_cwd_is_every_stages_and_a_commands_own_wins(
    stream_backend: StreamBackend, tmp_path: Path
) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "own").mkdir()
    tell = "import os, sys; sys.stderr.write(os.getcwd())"
    pipeline = python("-c", tell) | python("-c", WHERE).with_cwd(tmp_path / "own")
    result = pipeline.run_sync(cwd=tmp_path / "run")
    assert result.ok, result
    assert result.stages[0].stderr == str(tmp_path / "run")
    assert result.stdout == f"{tmp_path / 'own'}\n"


def test_a_relative_cwd_is_taken_from_the_callers_directory(
    stream_backend: StreamBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    assert python("-c", WHERE).run_sync(cwd="sub").stdout == f"{tmp_path / 'sub'}\n"


@pytest.mark.parametrize("where", ["run", "command"])
def test_a_missing_cwd_is_named_before_anything_runs(
    stream_backend: StreamBackend, tmp_path: Path, where: str
) -> None:
    missing = tmp_path / "no-such-directory"
    first = sh.make(ECHO)("x")
    last = python("-c", WHERE)
    before = open_fds()
    if where == "run":
        pipeline, cwd = first | last, missing
    else:
        pipeline, cwd = first | last.with_cwd(missing), None
    with pytest.raises(FileNotFoundError, match="no-such-directory") as caught:
        pipeline.run_sync(cwd=cwd)
    assert not isinstance(caught.value, ProgramNotFoundError)
    assert caught.value.filename == str(missing)
    assert not children()
    assert open_fds() == before


def test_a_file_is_not_a_directory(
    stream_backend: StreamBackend, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="file"):
        sh.make(ECHO)().run_sync(cwd=tmp_path / "file")
    assert not children()


@pytest.mark.parametrize(
    ("cwd", "error"), [(b"/tmp", TypeError), (3, TypeError), ("/t\0", ValueError)]
)
def test_a_bad_cwd_type_is_refused(
    stream_backend: StreamBackend, cwd: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="cwd"):
        sh.make(ECHO)().run_sync(cwd=cwd)  # type: ignore[arg-type]
    with pytest.raises(error, match="with_cwd"):
        sh.make(ECHO)().with_cwd(cwd)  # type: ignore[arg-type]


def test_a_relative_program_is_not_found_against_cwd(
    stream_backend: StreamBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = tmp_path / "bin" / "tool"
    tool.parent.mkdir()
    tool.write_text('#!/bin/sh\necho tool ran in "$PWD"\n')
    tool.chmod(0o755)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    result = sh.make(RELATIVE, CATALOGUE)().run_sync(cwd="elsewhere")
    assert result.stdout == f"tool ran in {tmp_path / 'elsewhere'}\n"


def test_programs_are_found_on_the_stages_path(
    stream_backend: StreamBackend, tmp_path: Path
) -> None:
    tool = tmp_path / TOOL
    tool.write_text("#!/bin/sh\necho found on the overlay PATH\n")
    tool.chmod(0o755)
    command = sh.make(TOOL, CATALOGUE)()
    with pytest.raises(ProgramNotFoundError):
        command.run_sync()
    path = f"{tmp_path}{os.pathsep}{os.environ['PATH']}"
    assert command.run_sync(env={"PATH": path}).stdout == (
        "found on the overlay PATH\n"
    )
    assert command.with_env({"PATH": path}).run_sync().ok


def test_with_env_and_with_cwd_make_new_commands(tmp_path: Path) -> None:
    command = sh.make(ECHO)("x")
    changed = command.with_env({"A": "1"}).with_cwd(tmp_path)
    assert (command.env, command.cwd) == ((), None)
    assert (changed.env, changed.cwd) == ((("A", "1"),), tmp_path)
    assert changed != command
    assert changed.with_cwd(None).cwd is None
    assert hash(changed) == hash(command.with_env({"A": "1"}).with_cwd(tmp_path))
