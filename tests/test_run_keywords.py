"""A run's keywords: wrong ones refused at once, saying what to use instead."""

from __future__ import annotations

import io
import subprocess
import typing as typ

import pytest
from processes import children

import cuprum
from cuprum import (
    CAT,
    DEFAULT_CATALOGUE,
    ECHO,
    LS,
    WC,
    Program,
    ProgramCatalogue,
    run_concurrent_sync,
    sh,
)
from cuprum.context import scoped

if typ.TYPE_CHECKING:
    import pathlib

    from cuprum import StreamBackend


@pytest.mark.parametrize(
    "bad",
    [[b"a"], (chunk for chunk in [b"a"]), io.BytesIO(b"a"), 5],
    ids=["list", "generator", "file", "int"],
)
def test_a_wrong_input_is_refused_before_anything_is_spawned(bad: object) -> None:
    before = children()
    with pytest.raises(TypeError, match=r"input= must be str or bytes-like .* stdin="):
        sh.make(WC)("-c").run_sync(input=bad, timeout=5)  # type: ignore[arg-type]
    assert children() == before


def test_bytes_like_input_is_written(stream_backend: StreamBackend) -> None:
    for given in (bytearray(b"abc"), memoryview(b"abc"), "abc", b"abc"):
        assert sh.make(CAT)().run_sync(input=given).stdout == "abc"


@pytest.mark.parametrize(
    ("keyword", "says"),
    [
        ("capture_output", "captured by default"),
        ("shell", "no shell, by design"),
        ("universal_newlines", "text=False"),
        ("preexec_fn", "not supported"),
    ],
)
def test_a_subprocess_keyword_is_answered_with_the_cuprum_spelling(
    keyword: str, says: str
) -> None:
    with pytest.raises(TypeError, match=rf"SafeCmd.run_sync\(\) .*'{keyword}'.*{says}"):
        sh.make(LS)().run_sync(**{keyword: True})  # type: ignore[arg-type]
    pipeline = sh.make(LS)() | sh.make(CAT)()
    with pytest.raises(TypeError, match=rf"Pipeline.run_sync\(\) .*'{keyword}'"):
        pipeline.run_sync(**{keyword: True})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=rf"Pipeline.stream\(\) .*'{keyword}'"):
        pipeline.stream_sync(**{keyword: True})  # type: ignore[arg-type]


def test_an_unknown_keyword_names_the_call() -> None:
    with pytest.raises(
        TypeError,
        match=r"^SafeCmd.run_sync\(\) got an unexpected keyword argument 'tiemout'$",
    ):
        sh.make(LS)().run_sync(tiemout=3)  # type: ignore[call-arg]


def test_a_relative_stdin_path_is_said_to_be_taken_from_here(
    tmp_path: pathlib.Path,
) -> None:
    (tmp_path / "in.txt").write_text("there\n")
    with pytest.raises(FileNotFoundError, match=r"not from cwd=; pass an absolute"):
        sh.make(CAT)().run_sync(stdin="cuprum-no-such-in.txt", cwd=tmp_path)
    given = tmp_path / "in.txt"
    assert sh.make(CAT)().run_sync(stdin=given, cwd=tmp_path).stdout == "there\n"


def test_errors_that_say_the_fix() -> None:
    with pytest.raises(LookupError, match=r"extended\(programs=\['date'\]\)"):
        sh.make(Program("date"))
    with pytest.raises(LookupError, match=r"sh.make\(Program\('ls'\)\)\('-l'\)"):
        sh.make(Program("ls -l"))
    with pytest.raises(TypeError, match=r"run_concurrent\(\*commands\)"):
        run_concurrent_sync([sh.make(LS)()])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^writer_fd must be an int"):
        cuprum.pump_stream(0, "x")  # type: ignore[arg-type]


def test_check_on_one_command_raises_a_command_error() -> None:
    with pytest.raises(cuprum.CommandError) as caught:
        sh.make(LS)("/cuprum-no-such-dir").run_sync(check=True)
    assert isinstance(caught.value, cuprum.PipelineError)
    assert caught.value.returncode != 0
    assert "cuprum-no-such-dir" in str(caught.value.stderr)


def test_a_pipeline_result_has_every_stage_stderr_joined(
    stream_backend: StreamBackend,
) -> None:
    # The second reads its input to the end before it fails, so the first
    # has written its complaint by then. It may still be running (GNU cat
    # closes stdout in an exit handler, before it exits), and is then
    # terminated by fail-fast: its stderr is in the result either way.
    first = sh.make(CAT)("/cuprum-no-such-a")
    second = sh.make(CAT)("-", "/cuprum-no-such-b")
    result = (first | second).run_sync()
    assert not result.stages[1].terminated
    assert isinstance(result.stderr, str)
    assert result.stderr.index("cuprum-no-such-a") < result.stderr.index(
        "cuprum-no-such-b"
    )
    assert result.stderr == (result.stages[0].stderr or "") + (
        result.stages[1].stderr or ""
    )


def test_outlive_caller_takes_a_bool() -> None:
    with pytest.raises(TypeError, match=r"^outlive_caller must be True or False"):
        sh.make(LS)().run_sync(outlive_caller="yes")  # type: ignore[arg-type]


def test_subprocess_pipe_is_answered_with_what_cuprum_does_instead() -> None:
    with pytest.raises(
        ValueError,
        match=r"stdout=subprocess.PIPE is not needed: .*"
        r"captured by default; leave stdout= at None",
    ):
        sh.make(LS)().run_sync(stdout=subprocess.PIPE)
    with pytest.raises(ValueError, match=r"input= gives it data"):
        sh.make(LS)().run_sync(stdin=subprocess.PIPE)


def test_the_catalogue_hints_fit_the_mistake() -> None:
    with pytest.raises(LookupError, match=r"'uname' is not in the catalogue either"):
        sh.make(Program("uname -a"))
    narrow = ProgramCatalogue.from_programs(Program("date"))
    with (
        scoped(catalogue=narrow),
        pytest.raises(LookupError, match=r"the default catalogue has it, but"),
    ):
        sh.make(ECHO)
    wider = DEFAULT_CATALOGUE.extended(programs=["date", "ls", "date"])
    assert wider.project_for("ls").name == DEFAULT_CATALOGUE.project_for("ls").name
    assert wider.is_allowed("date")


def test_run_concurrent_says_how_to_run_pipelines_at_once() -> None:
    with pytest.raises(TypeError, match=r"asyncio.gather\(p.run\(\), q.run\(\)\)"):
        run_concurrent_sync(sh.make(LS)() | sh.make(CAT)())  # type: ignore[arg-type]
