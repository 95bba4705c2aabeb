"""Structured execution events (`cuprum.observe`), on every backend.

What an observe hook is told of commands and pipelines: each phase and its
order, one ``exec_id`` per execution, the default and caller's tags, lines
of the streams cuprum reads (and none of redirected ones), stdin written or
refused, timeouts, async hooks awaited, and a hook that raises failing the
run with nothing left running or open.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
import typing as typ

import pytest
from processes import children, open_fds

from cuprum import (
    CAT,
    ECHO,
    ExecutionContext,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    TimeoutExpired,
    observe,
    sh,
)
from cuprum._run.observer import observer_for
from cuprum._run.request import make_request

if typ.TYPE_CHECKING:
    from pathlib import Path

    from cuprum import ExecEvent, StreamBackend

PYTHON = Program(sys.executable)
CATALOGUE = ProgramCatalogue(
    projects=[ProjectSettings(name="observed", programs=(PYTHON,))]
)
python = sh.make(PYTHON, catalogue=CATALOGUE)
PROMPT = 10.0
"""Seconds within which a run that a hook failed must end."""
CHATTY = "import sys; print('out1'); print('out2'); print('err1', file=sys.stderr)"
READS_THEN_CHATS = (
    "import sys; sys.stdin.buffer.read(); " + CHATTY[len("import sys; ") :]
)
"""CHATTY reading its input first: the input is written whole, never refused."""


class Recorder:
    """An observe hook keeping every event, and the thread it was called on."""

    def __init__(self) -> None:
        self.events: list[ExecEvent] = []
        self.threads: set[int] = set()

    def __call__(self, event: ExecEvent) -> None:
        self.events.append(event)
        self.threads.add(threading.get_ident())

    def phases(self, exec_index: int | None = None) -> list[str]:
        ids = list(dict.fromkeys(event.exec_id for event in self.events))
        return [
            event.phase
            for event in self.events
            if exec_index is None or event.exec_id == ids[exec_index]
        ]

    def lines(self, phase: str) -> list[str | None]:
        return [event.line for event in self.events if event.phase == phase]


class HookFailedError(Exception):
    """What the failing hooks of these tests raise."""


@pytest.fixture
def recorder() -> typ.Iterator[Recorder]:
    hook = Recorder()
    with observe(hook):
        yield hook


def test_command_phases_in_order(
    stream_backend: StreamBackend, recorder: Recorder
) -> None:
    result = python("-c", READS_THEN_CHATS).run_sync(input=b"ignored")
    assert result.ok
    phases = recorder.phases()
    assert phases[:2] == ["plan", "start"]
    assert phases[-1] == "exit"
    assert sorted(phases[2:-1]) == ["stderr", "stdin", "stdout", "stdout"]
    assert recorder.lines("stdout") == ["out1", "out2"]
    assert recorder.lines("stderr") == ["err1"]
    assert recorder.threads == {threading.get_ident()}


def test_every_event_of_a_command_carries_its_facts(
    stream_backend: StreamBackend, recorder: Recorder, tmp_path: Path
) -> None:
    context = ExecutionContext(
        cwd=tmp_path, env={"CUPRUM_OBSERVED": "1"}, tags={"run_id": "unit"}
    )
    result = python("-c", "print('x')").run_sync(context=context)
    events = recorder.events
    assert len({event.exec_id for event in events}) == 1
    assert events[0].exec_id is not None
    plan, start, exit_ = events[0], events[1], events[-1]
    assert plan.pid is None
    assert start.pid == exit_.pid == result.pid
    assert exit_.exit_code == 0
    assert exit_.duration_s is not None
    assert exit_.duration_s >= 0
    for event in events:
        assert event.program == PYTHON
        assert event.argv == (PYTHON, "-c", "print('x')")
        assert event.cwd == tmp_path
        assert event.env is not None
        assert event.env["CUPRUM_OBSERVED"] == "1"
        assert event.project == "observed"
        assert dict(event.tags) == {
            "project": "observed",
            "capture": True,
            "echo": False,
            "run_id": "unit",
        }
        assert abs(event.timestamp - time.time()) < 60


def test_caller_tags_win_over_the_defaults(
    stream_backend: StreamBackend, recorder: Recorder
) -> None:
    context = ExecutionContext(tags={"project": "mine", "capture": "yes"})
    python("-c", "pass").run_sync(context=context, capture=False)
    assert dict(recorder.events[0].tags) == {
        "project": "mine",
        "capture": "yes",
        "echo": False,
    }
    assert recorder.events[0].project == "observed"
    assert recorder.events[0].env is None
    assert recorder.events[0].cwd is None


def test_line_endings_are_stripped_and_a_last_line_is_told(
    stream_backend: StreamBackend, recorder: Recorder
) -> None:
    script = "import sys; sys.stdout.write('a\\r\\nb\\n\\nc')"
    python("-c", script).run_sync(capture=False)
    assert recorder.lines("stdout") == ["a", "b", "", "c"]


def test_lines_are_decoded_with_the_run_encoding(
    stream_backend: StreamBackend, recorder: Recorder
) -> None:
    script = "import sys; sys.stdout.buffer.write('é\\n'.encode('latin-1'))"
    python("-c", script).run_sync(context=ExecutionContext(encoding="latin-1"))
    assert recorder.lines("stdout") == ["é"]


def test_pipeline_stages_each_have_their_events(
    stream_backend: StreamBackend, recorder: Recorder
) -> None:
    upper = "import sys; sys.stderr.write('two\\n'); print(sys.stdin.read().upper())"
    pipeline = python("-c", "print('hello')") | python("-c", upper)
    result = pipeline.run_sync()
    assert result.stdout == "HELLO\n\n"
    ids = list(dict.fromkeys(event.exec_id for event in recorder.events))
    assert len(ids) == 2
    for index, exec_id in enumerate(ids):
        own = [event for event in recorder.events if event.exec_id == exec_id]
        assert own[0].phase == "plan"
        assert own[1].phase == "start"
        assert own[-1].phase == "exit"
        assert own[-1].pid == result.stages[index].pid
        for event in own:
            assert event.tags["pipeline_stage_index"] == index
            assert event.tags["pipeline_stages"] == 2
    first = [event.phase for event in recorder.events if event.exec_id == ids[0]]
    assert "stdout" not in first  # its stdout went to the next stage
    assert recorder.lines("stdout") == ["HELLO", ""]
    assert recorder.lines("stderr") == ["two"]


def test_redirected_streams_have_no_line_events(
    stream_backend: StreamBackend, recorder: Recorder
) -> None:
    python("-c", CHATTY).run_sync(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert recorder.phases() == ["plan", "start", "exit"]


def test_input_written_is_told_with_its_size(
    stream_backend: StreamBackend, recorder: Recorder
) -> None:
    script = "import sys; sys.stdin.buffer.read()"
    python("-c", script).run_sync(input=b"x" * 100_000)
    (stdin,) = [event for event in recorder.events if event.phase == "stdin"]
    assert stdin.byte_count == 100_000
    assert stdin.pid is not None


def test_input_refused_is_a_stdin_error(
    stream_backend: StreamBackend, recorder: Recorder
) -> None:
    result = python("-c", "import os; os.close(0)").run_sync(input=b"x" * (4 << 20))
    assert result.ok
    (error,) = [event for event in recorder.events if event.phase == "stdin_error"]
    assert error.operation == "write"
    assert error.error_type == "BrokenPipeError"
    assert error.note
    assert error.byte_count is not None
    assert error.byte_count < 4 << 20
    assert "stdin" not in recorder.phases()


def test_a_timeout_is_told_before_the_exit(
    stream_backend: StreamBackend, recorder: Recorder
) -> None:
    with pytest.raises(TimeoutExpired):
        python("-c", "import time; time.sleep(30)").run_sync(timeout=0.3)
    assert recorder.phases() == ["plan", "start", "timeout", "exit"]
    timeout = recorder.events[2]
    assert timeout.timeout_s == 0.3
    assert timeout.error_type == "TimeoutExpired"


def test_a_stream_tells_the_lines_it_reads(
    stream_backend: StreamBackend, recorder: Recorder
) -> None:
    with (sh.make(ECHO)("a\nb") | sh.make(CAT)()).stream_sync() as out:
        assert list(out.lines()) == ["a\n", "b\n"]
    assert recorder.lines("stdout") == ["a", "b"]
    assert recorder.phases().count("exit") == 2


def test_hooks_are_called_in_registration_order(
    stream_backend: StreamBackend,
) -> None:
    calls: list[tuple[str, str]] = []
    with (
        observe(lambda event: calls.append(("first", event.phase))),
        observe(lambda event: calls.append(("second", event.phase))),
    ):
        python("-c", "pass").run_sync()
    assert [who for who, _ in calls] == ["first", "second"] * 3
    assert [phase for _, phase in calls[::2]] == ["plan", "start", "exit"]


def test_async_hooks_are_awaited_before_the_run_returns(
    stream_backend: StreamBackend,
) -> None:
    done: list[str] = []

    async def slow(event: ExecEvent) -> None:
        await asyncio.sleep(0.05)
        done.append(event.phase)

    with observe(slow):
        python("-c", "print('x')").run_sync()
    assert sorted(done) == ["exit", "plan", "start", "stdout"]


def test_no_hooks_no_observer() -> None:
    request = make_request()
    assert observer_for((), [python("-c", "pass")], request) is None


def test_a_hook_raising_at_plan_spawns_nothing(stream_backend: StreamBackend) -> None:
    def refuse(event: ExecEvent) -> None:
        if event.phase == "plan":
            raise HookFailedError

    before_fds = open_fds()
    with observe(refuse), pytest.raises(HookFailedError):
        (python("-c", "pass") | python("-c", "pass")).run_sync()
    assert not children()
    assert open_fds() == before_fds


def test_a_hook_raising_on_a_line_ends_the_run(stream_backend: StreamBackend) -> None:
    told: list[str] = []

    def fail_on_line(event: ExecEvent) -> None:
        told.append(event.phase)
        if event.phase == "stdout":
            raise HookFailedError

    script = "import time; print('x', flush=True); time.sleep(30)"
    before_fds = open_fds()
    started = time.monotonic()
    with observe(fail_on_line), pytest.raises(HookFailedError):
        (python("-c", script) | sh.make(CAT)()).run_sync()
    assert time.monotonic() - started < PROMPT
    assert not children()
    assert open_fds() == before_fds
    assert told[-1] == "stdout"  # nothing is told after the failure


def test_a_failing_async_hook_fails_the_run_after_it(
    stream_backend: StreamBackend,
) -> None:
    async def fail_late(event: ExecEvent) -> None:
        await asyncio.sleep(0)
        if event.phase == "exit":
            raise HookFailedError

    with observe(fail_late), pytest.raises(HookFailedError):
        python("-c", "pass").run_sync()
    assert not children()


def test_a_hook_raising_in_a_stream_is_raised_at_the_block_exit(
    stream_backend: StreamBackend,
) -> None:
    def fail_on_line(event: ExecEvent) -> None:
        if event.phase == "stdout":
            raise HookFailedError

    read: list[str] = []
    with (
        observe(fail_on_line),
        pytest.raises(HookFailedError),
        python("-c", "print('x')").stream_sync() as out,
    ):
        read.extend(out.lines())
    assert read == ["x\n"]
    assert not children()
