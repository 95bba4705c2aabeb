"""Runs that lose nothing and blame no one wrongly (behaviour section 11 rules 1, 2).

When a stage fails on its own, the stages before it are terminated and the
stages after it finish on its output; a stage cuprum signalled is never the
one blamed. Every test runs on each backend.
"""

from __future__ import annotations

import os
import signal
import sys
import typing as typ

import pytest
from processes import assert_reaped

from cuprum import (
    CAT,
    SORT,
    WC,
    PipelineError,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    TimeoutExpired,
    sh,
)

if typ.TYPE_CHECKING:
    from cuprum import StreamBackend

PYTHON = Program(sys.executable)
SH = Program("sh")
CATALOGUE = ProgramCatalogue(
    projects=[ProjectSettings(name="test", programs=(PYTHON, SH))]
)
python, shell = sh.make(PYTHON, catalogue=CATALOGUE), sh.make(SH, catalogue=CATALOGUE)
GUARD = 30.0
"""A timeout that only a hang reaches."""


def test_a_failing_stage_output_reaches_the_last_stage(
    stream_backend: StreamBackend,
) -> None:
    result = (shell("-c", "echo x; exit 3") | sh.make(CAT)()).run_sync(timeout=GUARD)
    assert result.stdout == "x\n"
    assert result.exit_codes == (3, 0)
    assert result.failure_index == 0
    assert not result.stages[1].terminated


def test_check_carries_the_output_the_failure_left(
    stream_backend: StreamBackend,
) -> None:
    pipeline = shell("-c", "printf 'b\\na\\n'; exit 3") | sh.make(SORT)()
    with pytest.raises(PipelineError) as caught:
        pipeline.run_sync(check=True, timeout=GUARD)
    assert caught.value.stdout == "a\nb\n"
    assert caught.value.result.exit_codes == (3, 0)
    assert caught.value.failure_index == 0


def test_stages_after_a_failure_get_every_byte_it_wrote(
    stream_backend: StreamBackend,
) -> None:
    size = 4 << 20  # more than the hop's pipes hold
    writes = f"import sys; sys.stdout.buffer.write(b'x' * {size}); sys.exit(3)"
    result = (python("-c", writes) | sh.make(CAT)() | sh.make(WC)("-c")).run_sync(
        timeout=GUARD
    )
    assert result.stdout is not None
    assert int(result.stdout) == size
    assert result.exit_codes == (3, 0, 0)
    assert result.failure_index == 0


def test_a_stage_after_a_failure_that_outstays_the_grace_is_terminated(
    stream_backend: StreamBackend,
) -> None:
    lingers = (
        "import signal, sys; data = sys.stdin.read(); "
        "print(len(data), flush=True); signal.pause()"
    )
    pipeline = shell("-c", "echo four; exit 3") | python("-c", lingers)
    result = pipeline.run_sync(timeout=GUARD, terminate_grace=0.2)
    assert result.stdout == "5\n"  # it read everything first
    assert result.failure_index == 0
    assert result.stages[1].terminated
    assert result.exit_codes == (3, -signal.SIGTERM)
    assert_reaped(stage.pid for stage in result.stages)


def test_stages_before_a_failure_are_terminated_and_not_blamed(
    stream_backend: StreamBackend,
) -> None:
    # The producer traps SIGTERM and exits 20, as rsync does: still not blamed.
    producer = shell(
        "-c", "trap 'exit 20' TERM; echo ready; while :; do sleep 0.05; done"
    )
    fails = "import sys; sys.stdin.readline(); sys.stderr.write('why'); sys.exit(3)"
    pipeline = producer | python("-c", fails) | sh.make(CAT)()
    with pytest.raises(PipelineError) as caught:
        pipeline.run_sync(check=True, timeout=GUARD)
    result = caught.value.result
    assert result.failure_index == 1
    assert caught.value.stderr == "why"
    assert (result.exit_codes[0], result.stages[0].terminated) == (20, True)
    assert (result.exit_codes[2], result.stages[2].terminated) == (0, False)
    assert_reaped(stage.pid for stage in result.stages)


def test_no_group_is_signalled_once_its_leader_is_reaped(
    stream_backend: StreamBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reaped leader's group id may be handed to a new process (another
    # run's stage, most likely under run_concurrent): never signal it then.
    late: list[tuple[int, int]] = []
    real_killpg = os.killpg

    def killpg(pgid: int, signum: int) -> None:
        try:
            os.waitid(os.P_PID, pgid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            late.append((pgid, signum))  # reaped already
        real_killpg(pgid, signum)

    monkeypatch.setattr(os, "killpg", killpg)
    fails = shell("-c", "echo ready; exit 3")
    waits = "import sys, signal; sys.stdin.readline(); signal.pause()"
    result = (fails | python("-c", waits)).run_sync(timeout=GUARD, terminate_grace=0.2)
    assert result.stages[1].terminated
    with pytest.raises(TimeoutExpired):
        (shell("-c", "sleep 30") | sh.make(CAT)()).run_sync(timeout=0.5)
    assert late == []
