"""`ExecutionContext`, `StdinInput`, env overlays and the older result shapes.

Behaviour section 10: the older cuprum's names reach section 9's mechanism.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import typing as typ
import warnings

import pytest

from cuprum import (
    CAT,
    DEFAULT_CATALOGUE,
    ECHO,
    FALSE,
    SLEEP,
    CommandResult,
    ExecutionContext,
    IOOptions,
    Pipeline,
    PipelineError,
    Program,
    RunOutputOptions,
    ScopeConfig,
    StageResult,
    StdinInput,
    TimeoutExpired,
    current_context,
    env,
    merge_env_overlays,
    resolve_env,
    scoped,
    sh,
)
from cuprum._run.request import DEFAULT_TERMINATE_GRACE, make_request

if typ.TYPE_CHECKING:
    from pathlib import Path

    from cuprum import StreamBackend

PYTHON = Program(sys.executable)
python = sh.make(PYTHON, DEFAULT_CATALOGUE.extended(programs=[PYTHON]))
SHOW = (
    "import json, os, sys; "
    "print(json.dumps({n: os.environ.get(n) for n in sys.argv[1:]}))"
)


def shown(*names: str, **options: typ.Any) -> dict[str, str | None]:
    result = python("-c", SHOW, *names).run_sync(**options)
    assert result.ok, result
    return typ.cast("dict[str, str | None]", json.loads(str(result.stdout)))


def test_env_layers_stack_over_the_live_environment(
    stream_backend: StreamBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ("CUPRUM_A", "CUPRUM_B", "CUPRUM_C", "CUPRUM_D", "CUPRUM_LIVE")
    monkeypatch.setenv("CUPRUM_GONE", "from os.environ")
    names = (*names, "CUPRUM_GONE")
    with env(CUPRUM_A="scope", CUPRUM_B="scope", CUPRUM_C="scope", CUPRUM_GONE=None):
        with env({"CUPRUM_B": "inner scope"}):
            # Set after the scopes were entered: still seen (read at spawn).
            monkeypatch.setenv("CUPRUM_LIVE", "live")
            context = ExecutionContext(env={"CUPRUM_C": "context", "CUPRUM_D": "x"})
            seen = shown(*names, context=context, env={"CUPRUM_D": "keyword"})
        assert current_context().env_overlay == {
            "CUPRUM_A": "scope",
            "CUPRUM_B": "scope",
            "CUPRUM_C": "scope",
            "CUPRUM_GONE": None,
        }
    assert seen == {
        "CUPRUM_A": "scope",
        "CUPRUM_B": "inner scope",
        "CUPRUM_C": "context",
        "CUPRUM_D": "keyword",
        "CUPRUM_LIVE": "live",
        "CUPRUM_GONE": None,  # removed by the scope
    }
    assert current_context().env_overlay is None


def test_overlay_helpers_merge_without_reading_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUPRUM_HOME", "live")
    merged = merge_env_overlays({"A": "1", "B": "1"}, {"B": "2"})
    assert merged == {"A": "1", "B": "2"}
    with pytest.raises(TypeError):
        merged["A"] = "x"  # type: ignore[index]
    assert merge_env_overlays(None, None) is None
    assert resolve_env(None, {}) is None  # nothing to lay: inherit
    resolved = resolve_env({"A": "1"}, None, {"A": "2", "CUPRUM_HOME": None})
    assert resolved is not None
    assert resolved["A"] == "2"
    assert "CUPRUM_HOME" not in resolved  # None removes
    assert resolve_env({"B": "1"}) == {**os.environ, "B": "1"}


def test_context_cwd_and_a_keyword_cwd(tmp_path: Path) -> None:
    where = "import os; print(os.getcwd())"
    context = ExecutionContext(cwd=tmp_path)
    assert python("-c", where).run_sync(context=context).stdout == f"{tmp_path}\n"
    other = tmp_path / "sub"
    other.mkdir()
    result = python("-c", where).run_sync(context=context, cwd=other)
    assert result.stdout == f"{other}\n"  # the keyword wins


def test_timeout_comes_from_the_keyword_then_the_context_then_the_scope() -> None:
    sleep = sh.make(SLEEP)("5")
    with scoped(ScopeConfig(timeout=0.1)):
        with pytest.raises(TimeoutExpired) as caught:
            sleep.run_sync()
        assert caught.value.timeout == pytest.approx(0.1)
        with pytest.raises(TimeoutExpired) as caught:
            sleep.run_sync(context=ExecutionContext(timeout=0.2))
        assert caught.value.timeout == pytest.approx(0.2)
        with pytest.raises(TimeoutExpired) as caught:
            sleep.run_sync(timeout=0.3, context=ExecutionContext(timeout=0.2))
        assert caught.value.timeout == pytest.approx(0.3)
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert isinstance(error, subprocess.TimeoutExpired)
    assert error.stdout == ""


def test_echo_goes_to_the_context_sinks() -> None:
    out, err = io.StringIO(), io.StringIO()
    context = ExecutionContext(stdout_sink=out, stderr_sink=err)
    script = "import sys; print('to out'); print('to err', file=sys.stderr)"
    result = python("-c", script).run_sync(
        output=RunOutputOptions(echo=True), context=context
    )
    assert (out.getvalue(), err.getvalue()) == ("to out\n", "to err\n")
    assert (result.stdout, result.stderr) == ("to out\n", "to err\n")


def test_context_encoding_decodes_output_and_encodes_stdin_text() -> None:
    context = ExecutionContext(encoding="latin-1")
    script = "import sys; data = sys.stdin.buffer.read(); sys.stdout.buffer.write(data)"
    result = python("-c", script).run_sync(
        context=context, stdin=StdinInput(text="caf\u00e9")
    )
    assert result.stdout == "caf\u00e9"
    raw = python("-c", script).run_sync(
        stdin=StdinInput(data=b"\xff\x00"), output=RunOutputOptions(text=False)
    )
    assert raw.stdout == b"\xff\x00"


def test_stdin_input_takes_text_or_data() -> None:
    with pytest.raises(ValueError, match="text and data cannot both be provided"):
        StdinInput(text="a", data=b"a")
    with pytest.raises(TypeError, match="bytes"):
        StdinInput(data="a")  # type: ignore[arg-type]
    assert StdinInput(text="\u00e9").resolve(ExecutionContext()) == b"\xc3\xa9"
    assert StdinInput().resolve(ExecutionContext()) is None
    with pytest.raises(ValueError, match="input="):
        sh.make(CAT)().run_sync(stdin=StdinInput(text="a"), input="b")
    with pytest.raises(TypeError, match="ExecutionContext"):
        sh.make(CAT)().run_sync(context={"cwd": "/"})  # type: ignore[typeddict-item]


def test_stdin_input_feeds_the_first_stage_of_a_pipeline(
    stream_backend: StreamBackend,
) -> None:
    pipeline = sh.make(CAT)() | sh.make(CAT)()
    assert pipeline.run_sync(stdin=StdinInput(text="through\n")).stdout == "through\n"


def test_cancel_grace_is_the_terminate_grace() -> None:
    # A stage that ignores SIGTERM is killed after cancel_grace, not 1 s.
    stubborn = python(
        "-c",
        "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(30)",
    )
    with pytest.raises(TimeoutExpired) as caught:
        stubborn.run_sync(context=ExecutionContext(cancel_grace=0.05, timeout=1.0))
    assert caught.value.result.stages[0].exit_code == -9


def test_result_shapes_match_the_older_cuprum(stream_backend: StreamBackend) -> None:
    result = sh.make(ECHO)("-n", "hi").run_sync()
    assert isinstance(result, CommandResult)
    assert (result.program, result.argv) == ("echo", ("-n", "hi"))
    assert result.argv_with_program == ("echo", "-n", "hi")
    pipeline = sh.make(ECHO)("x") | sh.make(FALSE)() | sh.make(CAT)()
    assert pipeline.parts == pipeline.stages
    ran = pipeline.run_sync()
    assert all(isinstance(stage, StageResult) for stage in ran.stages)
    assert all(isinstance(stage, CommandResult) for stage in ran.stages)
    assert ran.final is ran.stages[-1]
    assert ran.failure is ran.stages[1]
    assert ran.failure.program == "false"
    assert [stage.stdout for stage in ran.stages] == [None, None, ""]
    assert ran.stdout == ran.final.stdout
    with pytest.raises(PipelineError) as caught:
        pipeline.run_sync(check=True)
    assert caught.value.cmd == ["false"]


def test_concat_joins_commands_and_pipelines() -> None:
    echo, cat = sh.make(ECHO)("x"), sh.make(CAT)()
    joined = Pipeline.concat(echo | cat, cat)
    assert [stage.program for stage in joined.parts] == ["echo", "cat", "cat"]
    with pytest.raises(TypeError, match="concat"):
        Pipeline.concat(echo, "cat")  # type: ignore[arg-type]


def test_io_options_is_a_deprecated_run_output_options() -> None:
    with pytest.warns(DeprecationWarning, match="RunOutputOptions"):
        options = IOOptions(capture=False)
    assert isinstance(options, RunOutputOptions)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RunOutputOptions()  # the new name does not warn
    assert sh.make(ECHO)("x").run_sync(output=options).stdout is None


@pytest.mark.parametrize("timeout", [0, -1.5])
def test_a_timeout_of_zero_or_less_has_already_passed(
    stream_backend: StreamBackend, timeout: float
) -> None:
    with pytest.raises(TimeoutExpired) as caught:
        (sh.make(SLEEP)("10") | sh.make(CAT)()).run_sync(timeout=timeout)
    assert caught.value.timeout == timeout
    assert all(stage.terminated for stage in caught.value.result.stages)
    with pytest.raises(ValueError, match="timeout"):
        sh.make(CAT)().run_sync(timeout=float("nan"))


def test_one_default_grace_with_or_without_a_context() -> None:
    plain = make_request()
    assert plain.terminate_grace == DEFAULT_TERMINATE_GRACE
    assert (
        make_request(context=ExecutionContext()).terminate_grace
        == plain.terminate_grace
    )
    assert (
        make_request(context=ExecutionContext(cancel_grace=0.2)).terminate_grace == 0.2
    )


@pytest.mark.parametrize("bad", [float("nan"), -1.0, float("inf")])
def test_a_grace_that_is_not_seconds_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="terminate_grace must be a finite number"):
        sh.make(ECHO)("x").run_sync(terminate_grace=bad)
    with pytest.raises(ValueError, match="cancel_grace must be a finite number"):
        ExecutionContext(cancel_grace=bad)
    with pytest.raises(TypeError, match="terminate_grace must be a number"):
        sh.make(ECHO)("x").run_sync(terminate_grace="1")  # type: ignore[arg-type]
