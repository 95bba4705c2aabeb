"""Commands: building argv-only SafeCmd objects and running one command."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import weakref
from pathlib import Path

import pytest

from cuprum import (
    CAT,
    ECHO,
    FALSE,
    HEAD,
    LS,
    Pipeline,
    Program,
    ProgramCatalogue,
    ProgramNotFoundError,
    ProjectSettings,
    SafeCmd,
    StreamBackend,
    TimeoutExpired,
    UnknownProgramError,
    sh,
)

PYTHON = Program(sys.executable)
TEST_CATALOGUE = ProgramCatalogue(
    projects=[ProjectSettings(name="test", programs=(PYTHON,))]
)


def test_builder_makes_argv() -> None:
    cmd = sh.make(ECHO)("-n", "hi there")
    assert isinstance(cmd, SafeCmd)
    assert cmd.argv == ("-n", "hi there")  # the arguments, as the older cuprum
    assert cmd.program == "echo"
    assert cmd.argv_with_program == ("echo", "-n", "hi there")
    assert cmd.project.name == "core-ops"
    assert cmd == sh.make(ECHO)("-n", "hi there")


def test_unknown_program_fails_when_building() -> None:
    with pytest.raises(UnknownProgramError, match="'rm'"):
        sh.make(Program("rm"))


def test_arguments_are_stringified_and_keywords_become_flags() -> None:
    cmd = sh.make(ECHO)("a", 3, 1.5, Path("/srv/x"), dry_run=True, level=2)
    assert cmd.argv == ("a", "3", "1.5", "/srv/x", "--dry-run", "--level=2")
    # build_argv keeps the older cuprum's spelling of a boolean.
    assert sh.build_argv("status", porcelain=True) == ("status", "--porcelain=True")


def test_boolean_and_one_letter_keywords_read_as_sh_and_plumbum_users_expect() -> None:
    ls = sh.make(LS)
    assert ls(all=True).argv == ("--all",)
    assert ls(all=False, l=False).argv == ()
    assert ls("/srv", l=True, sort="size").argv == ("/srv", "-l", "--sort=size")
    assert sh.make(HEAD)(n=5).argv == ("-n", "5")
    assert sh.make(HEAD)(n=1).run_sync(input="a\nb\n").stdout == "a\n"


def test_a_run_option_is_not_taken_for_a_flag() -> None:
    echo = sh.make(ECHO)
    with pytest.raises(TypeError, match=r"^cwd is an execution option; pass Exec"):
        echo("x", cwd="/", timeout=5)  # the first one is named
    with pytest.raises(TypeError, match=r"^timeout is .*; pass timeout=\.\.\. to"):
        echo(timeout=5)
    with pytest.raises(TypeError, match=r"^check is an execution option"):
        echo(check=True)
    assert echo("--cwd=/").argv == ("--cwd=/",)  # positionally, it is a flag
    assert sh.build_argv(timeout=5) == ("--timeout=5",)  # no run to mix up


def test_argument_that_cannot_be_text_is_refused_by_name() -> None:
    echo = sh.make(ECHO)
    with pytest.raises(
        TypeError, match=r"echo: argument 2: None is not a valid argv element; leave"
    ):
        echo("a", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"not bytes.*decode"):
        echo(b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"keyword flag .* not list"):
        echo(flag=["x"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="build_argv: argument 1"):
        sh.build_argv(object())  # type: ignore[arg-type]


def test_nul_in_argument_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        sh.make(ECHO)("a\0b")


def test_or_builds_pipelines() -> None:
    echo, cat = sh.make(ECHO)("x"), sh.make(CAT)()
    pipeline = echo | cat
    assert isinstance(pipeline, Pipeline)
    assert pipeline.stages == (echo, cat)
    longer = pipeline | cat
    assert len(longer) == 3
    assert len(echo | (cat | cat)) == 3
    assert len(pipeline | pipeline) == 4
    with pytest.raises(TypeError):
        echo | "cat"  # type: ignore[operator]


def test_run_sync_captures_output(stream_backend: StreamBackend) -> None:
    result = sh.make(ECHO)("-n", "hi").run_sync()
    assert result.stdout == "hi"
    assert result.stderr == ""
    assert result.exit_code == 0
    assert result.ok
    assert result.pid > 0


def test_non_zero_exit_is_reported_not_raised(stream_backend: StreamBackend) -> None:
    result = sh.make(FALSE)().run_sync()
    assert result.exit_code == 1
    assert not result.ok


def test_awaited_run_and_stderr() -> None:
    code = "import sys; sys.stderr.write('oops'); print('out')"
    cmd = sh.make(PYTHON, catalogue=TEST_CATALOGUE)("-c", code)
    result = asyncio.run(cmd.run())
    assert (result.stdout, result.stderr) == ("out\n", "oops")


def test_capture_false_and_echo(capsys: pytest.CaptureFixture[str]) -> None:
    result = sh.make(ECHO)("echoed").run_sync(capture=False, echo=True)
    assert result.stdout is None
    assert result.stderr is None
    assert capsys.readouterr().out == "echoed\n"


def test_bad_bytes_are_replaced() -> None:
    code = "import sys; sys.stdout.buffer.write(b'a\\xffb')"
    result = sh.make(PYTHON, catalogue=TEST_CATALOGUE)("-c", code).run_sync()
    assert result.stdout == "a\ufffdb"


def test_missing_program_is_named() -> None:
    name = Program("cuprum-test-no-such-program")
    catalogue = ProgramCatalogue(projects=[ProjectSettings("x", (name,))])
    cmd = sh.make(name, catalogue=catalogue)()
    with pytest.raises(ProgramNotFoundError, match=name) as caught:
        cmd.run_sync()
    assert isinstance(caught.value, FileNotFoundError)


def test_timeout_of_one_command_keeps_partial_output() -> None:
    code = "import time; print('early', flush=True); time.sleep(30)"
    cmd = sh.make(PYTHON, catalogue=TEST_CATALOGUE)("-c", code)
    started = time.monotonic()
    with pytest.raises(TimeoutExpired) as caught:
        cmd.run_sync(timeout=1)
    assert time.monotonic() - started < 10
    assert caught.value.output == "early\n"
    assert caught.value.timeout == 1
    (stage,) = caught.value.result.stages
    assert stage.terminated
    with pytest.raises(ProcessLookupError):
        os.kill(stage.pid, 0)


def test_run_sync_refuses_a_running_loop() -> None:
    async def inside() -> None:
        sh.make(ECHO)().run_sync()

    with pytest.raises(RuntimeError, match="running event loop"):
        asyncio.run(inside())


def test_a_command_can_be_weakly_referenced() -> None:
    cmd = sh.make(ECHO)("x")
    table = weakref.WeakKeyDictionary({cmd: "started"})
    assert table[cmd] == "started"
    assert hash(cmd) == hash(sh.make(ECHO)("x"))
