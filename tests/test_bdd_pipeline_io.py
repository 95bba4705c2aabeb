"""Steps for the real-job scenarios (``features/pipeline_io.feature``).

Commands come from the default catalogue (extended with this Python for
the command that shows its environment); a "When I run" step names them the
way a shell user would and builds the argv lists from that text: no shell
is ever involved.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shlex
import subprocess
import sys
import typing as typ

import pytest
from conftest import build_pipeline
from pytest_bdd import given, parsers, scenarios, then, when

import cuprum
from cuprum import DEFAULT_CATALOGUE, Pipeline, PipelineResult, sh

if typ.TYPE_CHECKING:
    from pathlib import Path

scenarios("pipeline_io.feature")

PYTHON = cuprum.Program(sys.executable)
CATALOGUE = DEFAULT_CATALOGUE.extended(programs=[PYTHON])
SHOW = "import json, os; print(json.dumps([os.environ.get('GREETING'), os.getcwd()]))"


@dataclasses.dataclass
class Job:
    """What the scenario set up, what the When step ran and how it ended."""

    source: Path | None = None
    target: Path | None = None
    directory: Path | None = None
    result: PipelineResult | None = None
    error: cuprum.PipelineError | None = None
    lines: list[str] = dataclasses.field(default_factory=list)


@pytest.fixture
def job() -> Job:
    return Job()


def pids(result: PipelineResult) -> list[int]:
    return [stage.pid for stage in result.stages]


@given(parsers.parse("a text file of {size:d} MiB"))
def _(job: Job, tmp_path: Path, size: int) -> None:
    job.source = tmp_path / "text"
    line = b"copper carries what the makers say, byte by byte\n"
    job.source.write_bytes(line * ((size << 20) // len(line)))


@given("a directory to work in")
def _(job: Job, tmp_path: Path) -> None:
    job.directory = tmp_path / "work"
    job.directory.mkdir()


@when(
    parsers.parse("I run cat of that file piped into gzip -c, writing into a new file")
)
def _(job: Job, tmp_path: Path) -> None:
    job.target = tmp_path / "text.gz"
    pipeline = build_pipeline(f"cat {shlex.quote(str(job.source))} piped into gzip -c")
    job.result = pipeline.run_sync(stdout=job.target, timeout=60)


@when(parsers.parse("I read the lines of {text} as they come and stop after {count:d}"))
def _(job: Job, text: str, count: int) -> None:
    with build_pipeline(text).stream_sync(timeout=60) as out:
        for line in out.lines():
            job.lines.append(line)
            if len(job.lines) == count:
                break
    job.result = out.result


@when(
    parsers.parse(
        "I run a command that shows GREETING and where it runs, with GREETING "
        'set to "{value}" in that directory'
    )
)
def _(job: Job, value: str) -> None:
    command = sh.make(PYTHON, CATALOGUE)("-c", SHOW)
    job.result = Pipeline([command]).run_sync(
        env={"GREETING": value}, cwd=job.directory, timeout=60
    )
    assert job.result.ok, job.result


@when(parsers.re(r"I run (?P<text>.+), asking for a failure to be raised$"))
def _(job: Job, text: str) -> None:
    # printf reads the \n of the feature's text as a newline.
    with pytest.raises(cuprum.PipelineError) as caught:
        build_pipeline(text).run_sync(check=True, timeout=60)
    job.error = caught.value
    job.result = caught.value.result


@then("the pipeline succeeds")
def _(job: Job) -> None:
    assert job.result is not None
    assert job.result.ok, job.result


@then("the new file decompresses to the text file")
def _(job: Job) -> None:
    assert job.source is not None
    assert job.target is not None
    assert gzip.decompress(job.target.read_bytes()) == job.source.read_bytes()


@then("the result holds no output of its own")
def _(job: Job) -> None:
    assert job.result is not None
    assert job.result.stdout is None


@then(parsers.parse('I have read {count:d} lines saying "{text}"'))
def _(job: Job, count: int, text: str) -> None:
    assert job.lines == [text + "\n"] * count


@then(parsers.parse('the command saw GREETING "{value}" and ran in that directory'))
def _(job: Job, value: str) -> None:
    assert job.result is not None
    greeting, where = json.loads(str(job.result.stdout))
    assert greeting == value
    assert where == os.path.realpath(str(job.directory))


@then("my own environment has no GREETING")
def _() -> None:
    assert "GREETING" not in os.environ


@then(
    parsers.parse(
        "a PipelineError says stage {index:d} ({argv}) exited with status {code:d}"
    )
)
def _(job: Job, index: int, argv: str, code: int) -> None:
    error = job.error
    assert error is not None
    assert error.failure_index == index
    assert error.cmd == shlex.split(argv)
    assert error.returncode == code
    assert str(error).startswith(f"stage {index} ({argv!r}) of ")
    assert str(error).endswith(f"exited with status {code}")


@then("the error is a CalledProcessError carrying the whole result")
def _(job: Job) -> None:
    assert isinstance(job.error, subprocess.CalledProcessError)
    assert job.error.result is job.result
    assert job.error.output == ""


@then("no stage is left running")
def _(job: Job) -> None:
    assert job.result is not None
    for pid in pids(job.result):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
