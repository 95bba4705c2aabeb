"""The telemetry adapters: structured logging, metrics and tracing hooks."""

from __future__ import annotations

import json
import logging
import sys
import typing as typ

from cuprum import ExecEvent, Program, ProgramCatalogue, ProjectSettings, observe, sh
from cuprum.adapters.logging_adapter import (
    JsonLoggingFormatter,
    LogLevels,
    structured_logging_hook,
)
from cuprum.adapters.metrics_adapter import InMemoryMetrics, MetricsHook, metrics_hook
from cuprum.adapters.tracing_adapter import InMemoryTracer, TracingHook, tracing_hook

if typ.TYPE_CHECKING:
    import pytest

    from cuprum import StreamBackend

PYTHON = Program(sys.executable)
CATALOGUE = ProgramCatalogue(
    projects=[ProjectSettings(name="adapted", programs=(PYTHON,))]
)
python = sh.make(PYTHON, catalogue=CATALOGUE)
CHATTY = "import sys; print('out1'); print('out2'); print('err1', file=sys.stderr)"
READS_THEN_CHATS = (
    "import sys; sys.stdin.buffer.read(); " + CHATTY[len("import sys; ") :]
)
"""CHATTY reading its input first: the input is written whole, never refused."""
LOGGER = "cuprum.test.adapters"


def record_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_structured_logging_logs_every_phase(
    stream_backend: StreamBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    with observe(structured_logging_hook(logger=logging.getLogger(LOGGER))):
        result = python("-c", CHATTY).run_sync()
    got = record_messages(caplog)
    assert got[0].startswith(f"cuprum.plan program={PYTHON} argv=(")
    assert got[1] == f"cuprum.start program={PYTHON} pid={result.pid}"
    assert f"cuprum.stdout pid={result.pid} line='out1'" in got
    assert f"cuprum.stderr pid={result.pid} line='err1'" in got
    assert got[-1].startswith(f"cuprum.exit program={PYTHON} pid={result.pid} ")
    assert "exit_code=0 duration_s=" in got[-1]


def test_structured_logging_attaches_cuprum_extras(
    stream_backend: StreamBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    with observe(structured_logging_hook(logger=logging.getLogger(LOGGER))):
        python("-c", "print('hello')").run_sync()
    start = next(r for r in caplog.records if r.getMessage().startswith("cuprum.start"))
    assert vars(start)["cuprum_phase"] == "start"
    assert vars(start)["cuprum_program"] == PYTHON
    assert vars(start)["cuprum_pid"] > 0
    assert vars(start)["cuprum_tags"]["project"] == "adapted"
    assert vars(start)["cuprum_project"] == "adapted"
    exit_ = caplog.records[-1]
    assert vars(exit_)["cuprum_exit_code"] == 0
    assert vars(exit_)["cuprum_exec_id"] == vars(start)["cuprum_exec_id"]


def test_structured_logging_levels(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    hook = structured_logging_hook(
        logger=logging.getLogger(LOGGER),
        levels=LogLevels(exit_level=logging.ERROR),
        output_level=logging.WARNING,
    )
    with observe(hook):
        python("-c", "print('x')").run_sync()
    levels = {r.getMessage().split()[0]: r.levelno for r in caplog.records}
    assert levels == {
        "cuprum.start": logging.INFO,
        "cuprum.stdout": logging.WARNING,
        "cuprum.exit": logging.ERROR,
    }


def test_json_formatter_writes_the_record_and_its_fields() -> None:
    record = logging.LogRecord(
        "cuprum.exec", logging.INFO, "x.py", 1, "cuprum.start program=echo", (), None
    )
    vars(record).update(
        cuprum_phase="start", cuprum_argv=("echo", "x"), cuprum_tags={"n": object}
    )
    data = json.loads(JsonLoggingFormatter().format(record))
    assert data["level"] == "INFO"
    assert data["logger"] == "cuprum.exec"
    assert data["message"] == "cuprum.start program=echo"
    assert data["cuprum_phase"] == "start"
    assert data["cuprum_argv"] == ["echo", "x"]
    assert data["cuprum_tags"] == {"n": str(object)}


def test_metrics_count_executions_lines_and_durations(
    stream_backend: StreamBackend,
) -> None:
    metrics = InMemoryMetrics()
    with observe(MetricsHook(metrics)):
        python("-c", READS_THEN_CHATS).run_sync(input=b"12345")
        python("-c", "raise SystemExit(3)").run_sync()
    assert metrics.counters == {
        "cuprum_executions_total": 2.0,
        "cuprum_stdout_lines_total": 2.0,
        "cuprum_stderr_lines_total": 1.0,
        "cuprum_stdin_bytes_total": 5.0,
        "cuprum_failures_total": 1.0,
    }
    assert len(metrics.histograms["cuprum_duration_seconds"]) == 2
    metrics.reset()
    assert metrics.counters == {}
    assert metrics.histograms == {}


def test_metrics_labels_are_program_and_project() -> None:
    seen: list[tuple[str, dict[str, str]]] = []

    class Collector:
        def inc_counter(self, name: str, value: float, labels: typ.Any) -> None:
            del value
            seen.append((name, dict(labels)))

        def observe_histogram(self, name: str, value: float, labels: typ.Any) -> None:
            del value
            seen.append((name, dict(labels)))

    with observe(metrics_hook(Collector())):
        python("-c", "pass").run_sync()
    assert {name for name, _ in seen} == {
        "cuprum_executions_total",
        "cuprum_duration_seconds",
    }
    assert all(
        labels == {"program": PYTHON, "project": "adapted"} for _, labels in seen
    )


def test_tracing_makes_one_span_per_execution(stream_backend: StreamBackend) -> None:
    tracer = InMemoryTracer()
    with observe(TracingHook(tracer)):
        # The second stage fails only after the first has ended (no fail-fast).
        failing = python("-c", "import sys; sys.stdin.read(); raise SystemExit(4)")
        result = (python("-c", CHATTY) | failing).run_sync()
    first, second = tracer.spans
    assert first.name == second.name == f"cuprum.exec {PYTHON}"
    assert first.ended
    assert second.ended
    assert first.attributes["cuprum.pid"] == result.stages[0].pid
    assert first.attributes["cuprum.argv"] == [PYTHON, "-c", CHATTY]
    assert first.attributes["cuprum.project"] == "adapted"
    assert first.attributes["cuprum.pipeline_stage_index"] == 0
    assert second.attributes["cuprum.pipeline_stages"] == 2
    assert second.attributes["cuprum.exit_code"] == 4
    assert second.status_ok is False
    assert ("cuprum.stderr", {"line": "err1"}) in first.events
    assert not [name for name, _ in first.events if name == "cuprum.stdout"]


def test_tracing_without_output_records_no_span_event(
    stream_backend: StreamBackend,
) -> None:
    tracer = InMemoryTracer()
    with observe(tracing_hook(tracer, record_output=False)):
        python("-c", CHATTY).run_sync()
    (span,) = tracer.spans
    assert span.events == []
    assert span.status_ok is True
    assert span.attributes["cuprum.exit_code"] == 0
    assert span.attributes["cuprum.duration_s"] >= 0
    tracer.reset()
    assert tracer.spans == []


def test_tracing_correlates_by_exec_id_not_pid() -> None:
    tracer = InMemoryTracer()
    hook = TracingHook(tracer)

    def event(phase: str, exec_id: typ.Any, **fields: typ.Any) -> ExecEvent:
        return ExecEvent(
            typ.cast("typ.Any", phase),
            PYTHON,
            (PYTHON,),
            None,
            None,
            42,
            0.0,
            fields.get("line"),
            fields.get("exit_code"),
            None,
            {},
            exec_id=exec_id,
        )

    hook(event("start", None))
    assert tracer.spans == []  # no exec_id: nothing to correlate
    hook(event("start", "first"))
    hook(event("start", "second"))  # the same pid, another execution
    hook(event("stdout", "second", line="hi"))
    hook(event("exit", "first", exit_code=0))
    first, second = tracer.spans
    assert first.ended
    assert not second.ended
    assert second.events == [("cuprum.stdout", {"line": "hi"})]
