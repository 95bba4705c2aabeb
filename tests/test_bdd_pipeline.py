"""Steps for the pipeline scenarios (``features/pipeline.feature``).

Commands come from the default catalogue; a "When I run" step names them
the way a shell user would (``yes piped into head -n 1``) and the step
builds the argv lists from that text: no shell is ever involved.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import pytest
from conftest import build_pipeline
from pytest_bdd import parsers, scenarios, then, when

import cuprum
from cuprum import PipelineResult

scenarios("pipeline.feature")


@dataclasses.dataclass
class Run:
    """What the When step ran and how it ended."""

    result: PipelineResult | None = None
    error: cuprum.TimeoutExpired | None = None
    seconds: float = 0.0
    pids: tuple[int, ...] = ()


@pytest.fixture
def run() -> Run:
    return Run()


@when(parsers.re(r"I run (?P<text>.+?) with a timeout of (?P<seconds>\d+) seconds?"))
def _(run: Run, text: str, seconds: str) -> None:
    started = time.monotonic()
    with pytest.raises(cuprum.TimeoutExpired) as caught:
        build_pipeline(text).run_sync(timeout=float(seconds))
    run.seconds = time.monotonic() - started
    run.error = caught.value
    run.pids = tuple(stage.pid for stage in caught.value.result.stages)


@when(parsers.re(r"I run (?P<text>(?:(?!with a timeout).)+)$"))
def _(run: Run, text: str) -> None:
    started = time.monotonic()
    run.result = build_pipeline(text).run_sync(timeout=30)
    run.seconds = time.monotonic() - started
    run.pids = tuple(stage.pid for stage in run.result.stages)


@then("the pipeline succeeds")
def _(run: Run) -> None:
    assert run.result is not None
    assert run.result.ok, run.result


@then(parsers.parse("the pipeline succeeds within {limit:d} seconds"))
def _(run: Run, limit: int) -> None:
    assert run.result is not None
    assert run.result.ok, run.result
    assert run.seconds < limit


@then(parsers.parse("the pipeline fails within {limit:d} seconds"))
def _(run: Run, limit: int) -> None:
    assert run.result is not None
    assert not run.result.ok
    assert run.seconds < limit


@then(parsers.parse('its output is "{text}"'))
def _(run: Run, text: str) -> None:
    assert run.result is not None
    assert run.result.stdout == text + "\n"


@then(parsers.parse('its output lines are "{words}"'))
def _(run: Run, words: str) -> None:
    assert run.result is not None
    assert run.result.stdout is not None
    assert run.result.stdout.splitlines() == words.split()


@then(parsers.parse("the last stage ended on its own with status {status:d}"))
def _(run: Run, status: int) -> None:
    assert run.result is not None
    last = run.result.stages[-1]
    assert (last.exit_code, last.terminated) == (status, False)


@then("the first stage ended by SIGPIPE without counting as a failure")
def _(run: Run) -> None:
    assert run.result is not None
    first = run.result.stages[0]
    assert first.exit_code == -signal.SIGPIPE
    assert first.ok
    assert run.result.failure_index is None


@then(parsers.parse("the failing stage is stage {index:d}"))
def _(run: Run, index: int) -> None:
    assert run.result is not None
    assert run.result.failure_index == index


@then(parsers.parse("the run times out within {limit:d} seconds"))
def _(run: Run, limit: int) -> None:
    assert run.error is not None
    assert run.seconds < limit


@then("no stage is left running")
def _(run: Run) -> None:
    assert run.pids
    for pid in run.pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
