"""Steps for the observing scenarios (``features/observability.feature``).

Commands come from the default catalogue; a "When I run" step names them
the way a shell user would and builds the argv lists from that text (no
shell is ever involved). Observe hooks are registered for the scenario and
detached after it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import typing as typ

import pytest
from conftest import build_pipeline
from processes import children
from pytest_bdd import given, parsers, scenarios, then, when

from cuprum import ExecEvent, observe
from cuprum.adapters.logging_adapter import structured_logging_hook
from cuprum.adapters.metrics_adapter import InMemoryMetrics, MetricsHook
from cuprum.adapters.tracing_adapter import InMemoryTracer, TracingHook

if typ.TYPE_CHECKING:
    import collections.abc as cabc

scenarios("observability.feature")

LOGGER = "cuprum.test.observability"


class HookFailedError(Exception):
    """What the failing hook raises."""


@dataclasses.dataclass
class Watch:
    """The hooks registered, what they saw, how the run ended."""

    hooks: contextlib.ExitStack = dataclasses.field(
        default_factory=contextlib.ExitStack
    )
    events: list[ExecEvent] = dataclasses.field(default_factory=list)
    metrics: InMemoryMetrics = dataclasses.field(default_factory=InMemoryMetrics)
    tracer: InMemoryTracer = dataclasses.field(default_factory=InMemoryTracer)
    error: BaseException | None = None
    seconds: float = 0.0


@pytest.fixture
def watch() -> cabc.Iterator[Watch]:
    found = Watch()
    with found.hooks:
        yield found


@given("an observe hook that keeps every event")
def _(watch: Watch) -> None:
    watch.hooks.enter_context(observe(watch.events.append))


@given("the logging, metrics and tracing hooks are registered")
def _(watch: Watch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    logger = logging.getLogger(LOGGER)
    watch.hooks.enter_context(observe(structured_logging_hook(logger=logger)))
    watch.hooks.enter_context(observe(MetricsHook(watch.metrics)))
    watch.hooks.enter_context(observe(TracingHook(watch.tracer)))


@given("an observe hook that fails on the first line of output")
def _(watch: Watch) -> None:
    def fail(event: ExecEvent) -> None:
        if event.phase == "stdout":
            raise HookFailedError

    watch.hooks.enter_context(observe(fail))


@when(parsers.re(r"I run (?P<text>.+?), expecting the hook's error"))
def _(watch: Watch, text: str) -> None:
    started = time.monotonic()
    with pytest.raises(HookFailedError) as raised:
        build_pipeline(text).run_sync()
    watch.seconds = time.monotonic() - started
    watch.error = raised.value


@when(parsers.re(r"I run (?P<text>(?:(?!expecting).)+)$"))
def _(watch: Watch, text: str) -> None:
    assert build_pipeline(text.encode().decode("unicode_escape")).run_sync().ok


@then(
    parsers.parse("the hook saw plan, start and exit for each of the {count:d} stages")
)
def _(watch: Watch, count: int) -> None:
    for index in range(count):
        phases = [
            event.phase
            for event in watch.events
            if event.tags.get("pipeline_stage_index") == index
        ]
        assert phases[:2] == ["plan", "start"]
        assert phases[-1] == "exit"


@then(
    parsers.parse(
        'the hook saw the lines "{first}" and "{second}" from the last stage only'
    )
)
def _(watch: Watch, first: str, second: str) -> None:
    lines = [
        (event.tags["pipeline_stage_index"], event.line)
        for event in watch.events
        if event.phase == "stdout"
    ]
    assert lines == [(1, first), (1, second)]


@then("every event of one stage carries the same id")
def _(watch: Watch) -> None:
    ids: dict[object, set[object]] = {}
    for event in watch.events:
        ids.setdefault(event.tags["pipeline_stage_index"], set()).add(event.exec_id)
    assert all(len(found) == 1 for found in ids.values())
    assert len({next(iter(found)) for found in ids.values()}) == len(ids)


@then("a log record says the command started and one says it exited")
def _(caplog: pytest.LogCaptureFixture) -> None:
    kinds = [record.getMessage().split()[0] for record in caplog.records]
    assert kinds.count("cuprum.start") == 1
    assert kinds.count("cuprum.exit") == 1


@then(parsers.parse("the metrics count {runs:d} execution and {lines:d} stdout line"))
def _(watch: Watch, runs: int, lines: int) -> None:
    assert watch.metrics.counters["cuprum_executions_total"] == runs
    assert watch.metrics.counters["cuprum_stdout_lines_total"] == lines


@then(parsers.parse('one span named "{name}" ended with exit code {code:d}'))
def _(watch: Watch, name: str, code: int) -> None:
    (span,) = watch.tracer.spans
    assert span.name == name
    assert span.ended
    assert span.attributes["cuprum.exit_code"] == code


@then(parsers.parse("the hook's error is raised within {seconds:d} seconds"))
def _(watch: Watch, seconds: int) -> None:
    assert isinstance(watch.error, HookFailedError)
    assert watch.seconds < seconds


@then("no stage is left running")
def _() -> None:
    assert not children()
