"""No stage outlives the calling process (behaviour section 11 rule 5).

A caller runs ``sleep 30 | cat`` (or ``sleep 30`` alone) and prints each
stage's pid as it starts; the test kills the caller with ``SIGKILL`` (no
clean-up of cuprum's can run) and watches each stage's pidfd: every stage
must end within a second. With ``outlive_caller=True`` the stage is left
running (and ended by the test).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from processes import ends_within

from cuprum._pumps.native import spawner

pytestmark = pytest.mark.skipif(
    spawner() is None,
    reason="stages are started without PR_SET_PDEATHSIG where the engine is "
    "absent (decision cg)",
)

CALLER = """
import sys
from cuprum import CAT, SLEEP, sh
from cuprum.context import observe

def tell(event):
    if event.phase == "start":
        print(event.pid, flush=True)

outlive = sys.argv[1] == "outlive"
with observe(tell):
    if sys.argv[2] == "pipeline":
        (sh.make(SLEEP)("30") | sh.make(CAT)()).run_sync(outlive_caller=outlive)
    else:
        sh.make(SLEEP)("30").run_sync(outlive_caller=outlive)
"""


def _killed_caller(mode: str, shape: str, count: int) -> list[int]:
    """Start a caller, read its stages' pids, kill it by SIGKILL, reap it."""
    with subprocess.Popen(
        [sys.executable, "-c", CALLER, mode, shape],
        stdout=subprocess.PIPE,
        text=True,
    ) as caller:
        assert caller.stdout is not None
        pids = [int(caller.stdout.readline()) for _ in range(count)]
        caller.kill()
    return pids


@pytest.mark.parametrize(("shape", "count"), [("command", 1), ("pipeline", 2)])
def test_the_stages_die_with_a_caller_killed_by_sigkill(shape: str, count: int) -> None:
    pids = _killed_caller("die", shape, count)
    for pid in pids:
        assert ends_within(pid, 1.0), f"stage {pid} outlived its caller"


def test_a_stage_may_outlive_its_caller_on_request() -> None:
    (pid,) = _killed_caller("outlive", "command", 1)
    try:
        # The death signal comes at once if it comes at all.
        assert not ends_within(pid, 0.5)
    finally:
        os.kill(pid, signal.SIGKILL)
