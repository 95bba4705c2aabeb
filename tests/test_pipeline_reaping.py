"""Stages whose exit cuprum cannot see: reaped elsewhere, or never seen.

A process may ignore ``SIGCHLD`` (the kernel then reaps every child at
once) or run another reaper; the run must still end, reporting such a
stage with exit status 255 and a warning, as CPython's own pidfd watcher
does. And whatever happens to a stage's exit, ``timeout=`` ends the run:
every wait of the clean-up is bounded.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import typing as typ

import pytest
from processes import ends_within

from cuprum import CAT, SEQ, SLEEP, TRUE, WC, TimeoutExpired, sh
from cuprum._run import child as _child

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum import StreamBackend

GUARD = 10.0
"""Seconds within which each run here must end: a hang guard, not a figure."""


@pytest.fixture
def sigchld_ignored() -> cabc.Iterator[None]:
    """Ignore ``SIGCHLD`` for the test: the kernel reaps every child itself."""
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGCHLD, previous)


@pytest.fixture
def no_pidfd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``pidfd_open`` fail, as on a kernel older than 5.3."""

    def refuse(_pid: int, _flags: int = 0) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", refuse)


def already_read_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "cuprum._run.child" and "already read" in record.getMessage()
    ]


@pytest.mark.usefixtures("sigchld_ignored")
@pytest.mark.parametrize("watch", ["pidfd", "thread"])
def test_a_child_reaped_elsewhere_reports_255_and_the_run_ends(
    watch: str,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if watch == "thread":
        request.getfixturevalue("no_pidfd")
    caplog.set_level(logging.WARNING, logger="cuprum._run.child")
    started = time.monotonic()
    result = sh.make(TRUE)().run_sync(timeout=GUARD)
    assert time.monotonic() - started < GUARD
    assert result.exit_code == 255
    assert not result.ok
    assert len(already_read_warnings(caplog)) == 1


@pytest.mark.usefixtures("sigchld_ignored")
def test_a_pipeline_reaped_elsewhere_loses_no_output(
    stream_backend: StreamBackend, caplog: pytest.LogCaptureFixture
) -> None:
    # seq's unknown status reads as 255: a failure of its own, yet wc, after
    # it, is not signalled: it counts every line and ends on its own (its
    # status is lost too). Which of the two is blamed depends on whose exit
    # is seen first: wc's EOF comes when seq closes its stdout, which may be
    # before seq has quite exited, and a stage still running when a stage
    # after it fails is terminated (and so never blamed).
    caplog.set_level(logging.WARNING, logger="cuprum._run.child")
    started = time.monotonic()
    result = (sh.make(SEQ)("1", "1000") | sh.make(WC)("-l")).run_sync(timeout=GUARD)
    assert time.monotonic() - started < GUARD
    assert result.stdout is not None
    assert result.stdout.strip() == "1000"
    assert result.failure_index in {0, 1}
    assert result.exit_codes == (255, 255)
    assert not result.stages[1].terminated
    assert len(already_read_warnings(caplog)) == 2


def test_timeout_ends_a_run_whose_stage_exit_is_never_seen(
    stream_backend: StreamBackend,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A watch that never reports: the stage's exit is never seen, whatever
    # cuprum signals. The deadline must still end the run, and clean-up
    # must give up on the stage within its bound instead of waiting forever.
    monkeypatch.setattr(_child.Child, "_watch", lambda *_: None)
    caplog.set_level(logging.WARNING, logger="cuprum.pipeline")
    pipeline = sh.make(SLEEP)("30") | sh.make(CAT)()
    started = time.monotonic()
    with pytest.raises(TimeoutExpired) as caught:
        pipeline.run_sync(timeout=0.2)
    assert time.monotonic() - started < GUARD
    # Each reads as the signal that ended it (the reaper thread may have
    # seen it by now) or, never seen, as the SIGKILL cuprum sent last.
    for code in caught.value.result.exit_codes:
        assert code in {-signal.SIGTERM, -signal.SIGKILL}
    abandoned = [r for r in caplog.records if "abandoned" in r.getMessage()]
    assert len(abandoned) == 2
    # The stages were killed all the same: each pidfd reports an exit.
    for stage in caught.value.result.stages:
        assert has_ended(stage.pid)


def has_ended(pid: int) -> bool:
    """Say whether process ``pid`` ends within `GUARD` (or already was reaped)."""
    return ends_within(pid, GUARD)
