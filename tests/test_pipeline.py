"""Pipelines of real processes (behaviour section 7), on both backends."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import sys
import time
import typing as typ
from pathlib import Path
from pipes import payload

import pytest
from processes import assert_reaped, children, open_fds

from cuprum import (
    CAT,
    ECHO,
    FALSE,
    GREP,
    HEAD,
    SHA256SUM,
    SLEEP,
    WC,
    YES,
    Pipeline,
    Program,
    ProgramCatalogue,
    ProgramNotFoundError,
    ProjectSettings,
    TimeoutExpired,
    sh,
)

if typ.TYPE_CHECKING:
    from cuprum import StreamBackend

PYTHON = Program(sys.executable)
MISSING = Program("cuprum-test-no-such-program")
TEST_CATALOGUE = ProgramCatalogue(
    projects=[ProjectSettings(name="test", programs=(PYTHON, MISSING))]
)
python = sh.make(PYTHON, catalogue=TEST_CATALOGUE)
cat, head, yes = sh.make(CAT), sh.make(HEAD), sh.make(YES)
PROMPT = 10.0
"""Seconds within which an early-exit, fail-fast or timeout run must end."""


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "payload.bin"
    path.write_bytes(payload(8 << 20))
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_stages_move_every_byte(
    stream_backend: StreamBackend, data_file: Path
) -> None:
    result = (cat(str(data_file)) | sh.make(SHA256SUM)()).run_sync()
    assert result.ok
    assert result.stdout == f"{sha256_of(data_file)}  -\n"
    assert result.exit_codes == (0, 0)
    assert result.hop_bytes == (8 << 20,)
    assert len(result.hop_seconds) == 1
    assert [stage.ok for stage in result.stages] == [True, True]


def test_twelve_stages_move_every_byte(
    stream_backend: StreamBackend, data_file: Path
) -> None:
    pipeline = cat(str(data_file))
    for _ in range(10):
        pipeline |= cat()
    pipeline |= sh.make(SHA256SUM)()
    assert len(pipeline) == 12
    result = pipeline.run_sync(timeout=60)
    assert result.ok, result
    assert result.stdout == f"{sha256_of(data_file)}  -\n"
    assert set(result.exit_codes) == {0}


def test_endless_producer_into_head_n_1(stream_backend: StreamBackend) -> None:
    started = time.monotonic()
    result = (yes() | head("-n", "1")).run_sync(timeout=30)
    assert time.monotonic() - started < PROMPT
    assert result.stdout == "y\n"
    assert result.ok
    assert result.failure_index is None
    assert result.stages[0].exit_code == -signal.SIGPIPE
    assert result.stages[0].ok
    assert not result.stages[0].terminated


def test_producer_into_head_c_10(stream_backend: StreamBackend, tmp_path: Path) -> None:
    text = tmp_path / "text"
    text.write_text("0123456789abcdef\n" * 500_000)
    started = time.monotonic()
    result = (cat(str(text)) | cat() | head("-c", "10")).run_sync(timeout=30)
    assert time.monotonic() - started < PROMPT
    assert result.stdout == "0123456789"
    assert result.ok, result


def test_configurable_drain_timeout(stream_backend: StreamBackend) -> None:
    result = (yes() | head("-n", "2")).run_sync(drain_timeout=0.05)
    assert result.stdout == "y\ny\n"
    assert result.ok


# 5 MB cannot fit in a hop (1 MiB pipe and a 64 KiB ring): the producer is
# still writing when its consumer leaves after one byte.
PRODUCER = ("-c", "5000000", "/dev/zero")


def test_by_default_an_early_exit_ends_the_upstream_at_once(
    stream_backend: StreamBackend,
) -> None:
    result = (head(*PRODUCER) | head("-c", "1")).run_sync(timeout=PROMPT)
    assert result.exit_codes == (-signal.SIGPIPE, 0)
    assert result.ok


def test_a_drain_timeout_lets_the_upstream_finish(
    stream_backend: StreamBackend,
) -> None:
    pipeline = head(*PRODUCER) | head("-c", "1")
    result = pipeline.run_sync(drain_timeout=PROMPT, timeout=PROMPT)
    assert result.exit_codes == (0, 0)
    assert result.hop_bytes[0] < 5_000_000  # the rest was drained, not written


def test_chatty_stderr_never_stalls(stream_backend: StreamBackend) -> None:
    chatty = "import sys; sys.stderr.write('e' * (5 << 20)); print('done')"
    started = time.monotonic()
    result = (python("-c", chatty) | cat() | sh.make(WC)("-l")).run_sync(timeout=30)
    assert time.monotonic() - started < PROMPT
    assert result.ok
    assert result.stdout is not None
    assert result.stdout.strip() == "1"
    assert result.stages[0].stderr == "e" * (5 << 20)
    assert result.stages[1].stderr == ""


def test_fail_fast_names_the_failing_stage(stream_backend: StreamBackend) -> None:
    started = time.monotonic()
    result = (yes() | sh.make(FALSE)() | cat()).run_sync(timeout=30)
    assert time.monotonic() - started < PROMPT
    assert not result.ok
    assert result.failure_index == 1
    assert result.stages[1].exit_code == 1
    assert not result.stages[1].ok
    assert not result.stages[1].terminated
    # The producer ended by SIGPIPE or by cuprum's SIGTERM: not its own failure.
    assert result.stages[0].exit_code in {-signal.SIGPIPE, -signal.SIGTERM}
    assert_reaped(stage.pid for stage in result.stages)


def test_fail_fast_terminates_a_long_stage(stream_backend: StreamBackend) -> None:
    started = time.monotonic()
    result = (sh.make(SLEEP)("30") | sh.make(FALSE)()).run_sync(timeout=30)
    assert time.monotonic() - started < PROMPT
    assert result.failure_index == 1
    assert result.stages[0].terminated
    assert result.stages[0].exit_code == -signal.SIGTERM


def test_sigterm_ignored_escalates_to_sigkill(stream_backend: StreamBackend) -> None:
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(30)"
    )
    # The failing stage waits until the first one ignores SIGTERM.
    failing = python("-c", "import sys; sys.stdin.readline(); sys.exit(3)")
    pipeline = python("-c", stubborn) | failing
    result = pipeline.run_sync(timeout=30, terminate_grace=0.3)
    assert result.failure_index == 1
    assert result.stages[0].exit_code == -signal.SIGKILL


def test_last_stage_failure(stream_backend: StreamBackend) -> None:
    result = (sh.make(ECHO)("hay") | sh.make(GREP)("needle")).run_sync()
    assert result.failure_index == 1
    assert result.stdout == ""
    assert result.exit_codes[1] == 1
    # echo has normally exited 0 before grep fails; if fail-fast caught it
    # still exiting (echo closes stdout in an exit handler, so grep can see
    # EOF first), it was terminated, by the signal or just after its own
    # exit 0, and a terminated stage is never a failure of its own.
    first = result.stages[0]
    assert (first.exit_code, first.terminated) in {
        (0, False),
        (0, True),
        (-signal.SIGTERM, True),
    }


# A stage that catches SIGTERM and exits with a status of its own; it says
# "ready" (to the next stage) only once its handler is in place.
TRAP_TERM = (
    "import signal, sys\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(int(sys.argv[1])))\n"
    "print('ready', flush=True)\n"
    "signal.pause()\n"
)
# Fails once its upstream is ready, so fail-fast signals a stage that waits.
FAIL_WHEN_READY = "import sys; sys.stdin.readline(); sys.exit(1)"


@pytest.mark.parametrize("status", [0, 3, 20])
def test_a_signalled_stage_is_never_blamed_whatever_its_status(
    stream_backend: StreamBackend, status: int
) -> None:
    pipeline = python("-c", TRAP_TERM, str(status)) | python("-c", FAIL_WHEN_READY)
    result = pipeline.run_sync(timeout=PROMPT)
    first, second = result.stages
    # cuprum signalled the first stage (fail-fast); it exited with a status
    # of its own (rsync exits 20 on SIGTERM), yet the failure is the second's.
    assert (first.exit_code, first.terminated) == (status, True)
    assert (second.exit_code, second.terminated) == (1, False)
    assert result.failure_index == 1
    assert result.stages[result.failure_index] is second


def test_a_stage_dying_of_the_signal_sent_is_terminated(
    stream_backend: StreamBackend,
) -> None:
    waits = "import signal; print('ready', flush=True); signal.pause()"
    result = (python("-c", waits) | python("-c", FAIL_WHEN_READY)).run_sync(
        timeout=PROMPT
    )
    first = result.stages[0]
    assert (first.exit_code, first.terminated, first.ok) == (
        -signal.SIGTERM,
        True,
        False,
    )
    assert result.failure_index == 1


def test_timeout_reaps_every_stage_and_keeps_partial_output(
    stream_backend: StreamBackend,
) -> None:
    talker = (
        "import sys, time; print('partial', flush=True); "
        "sys.stderr.write('said so far'); sys.stderr.flush(); time.sleep(30)"
    )
    pipeline = yes() | sh.make(SLEEP)("30") | python("-c", talker)
    started = time.monotonic()
    with pytest.raises(TimeoutExpired) as caught:
        pipeline.run_sync(timeout=1)
    assert time.monotonic() - started < PROMPT
    error = caught.value
    assert error.output == "partial\n"
    assert error.stdout == "partial\n"
    assert error.stderr == "said so far"
    assert error.result.stages[2].stderr == "said so far"
    assert all(stage.terminated for stage in error.result.stages[1:])
    assert "timed out after 1 seconds" in str(error)
    assert error.cmd == [["yes"], ["sleep", "30"], [sys.executable, "-c", talker]]
    assert_reaped(stage.pid for stage in error.result.stages)
    assert not children()


def test_cancelling_run_cleans_up(stream_backend: StreamBackend) -> None:
    pipeline = yes() | sh.make(SLEEP)("30") | cat()

    async def scenario() -> set[int]:
        task = asyncio.create_task(pipeline.run())
        deadline = time.monotonic() + PROMPT
        # Polling /proc: no event says "a child was forked".
        while len(children()) < 3 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        spawned = children()
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < PROMPT
        return spawned

    (sh.make(ECHO)("warm") | cat()).run_sync()  # what a backend keeps for good
    before = open_fds()
    spawned = asyncio.run(scenario())
    assert len(spawned) == 3
    assert not children()
    assert_reaped(spawned)
    assert open_fds() == before


def test_missing_program_spawns_nothing(stream_backend: StreamBackend) -> None:
    pipeline = sh.make(ECHO)("x") | sh.make(MISSING, catalogue=TEST_CATALOGUE)()
    before = open_fds()
    with pytest.raises(ProgramNotFoundError, match=MISSING) as caught:
        pipeline.run_sync()
    assert isinstance(caught.value, FileNotFoundError)
    assert caught.value.filename == MISSING
    assert not children()
    assert open_fds() == before


def test_empty_pipeline_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one stage"):
        Pipeline([])


def test_pipeline_stages_must_be_commands() -> None:
    with pytest.raises(TypeError, match="must be a SafeCmd"):
        Pipeline(["echo"])  # type: ignore[list-item]


def test_echo_tees_output_live(
    stream_backend: StreamBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    noisy = "import sys; sys.stderr.write('note\\n'); print('x')"
    result = (python("-c", noisy) | cat()).run_sync(echo=True)
    assert result.stdout == "x\n"
    assert capsys.readouterr() == ("x\n", "note\n")


def test_no_descriptor_or_process_leak(stream_backend: StreamBackend) -> None:
    pipeline = sh.make(ECHO)("hi") | cat() | cat()

    async def many() -> None:
        await pipeline.run()  # warm up whatever the backend keeps for good
        before = open_fds()
        for _ in range(40):
            assert (await pipeline.run()).stdout == "hi\n"
        results = await asyncio.gather(*(pipeline.run() for _ in range(10)))
        assert all(result.ok for result in results)
        assert open_fds() == before

    asyncio.run(many())
    assert not children()


def test_run_sync_refuses_a_running_loop() -> None:
    async def inside() -> None:
        (sh.make(ECHO)() | cat()).run_sync()

    with pytest.raises(RuntimeError, match="running event loop"):
        asyncio.run(inside())


def test_progress_reports_bytes_per_hop(stream_backend: StreamBackend) -> None:
    """An idle first stage: reports arrive (all zero) while the hops wait."""
    reports: list[list[int]] = []
    pipeline = sh.make(SLEEP)("0.6") | sh.make(CAT)() | sh.make(WC)("-c")
    result = pipeline.run_sync(on_progress=reports.append)
    assert result.ok
    assert reports, "a run of 0.6 s reports at least once every 0.25 s"
    assert all(report == [0, 0] for report in reports)


def test_a_running_pipeline_adds_no_thread_per_stage_or_hop(
    stream_backend: StreamBackend,
) -> None:
    """Stages are reaped through pidfds and hops pumped by one batch."""
    task_dir = Path("/proc/self/task")
    (sh.make(ECHO)("warm") | sh.make(CAT)()).run_sync()  # the reactor is up
    baseline = len(list(task_dir.iterdir()))
    seen: list[int] = []
    stages = [sh.make(SLEEP)("0.6")] + [sh.make(CAT)() for _ in range(6)]
    pipeline = Pipeline(stages)
    result = pipeline.run_sync(
        on_progress=lambda _hops: seen.append(len(list(task_dir.iterdir())))
    )
    assert result.ok
    assert seen, "a run of 0.6 s reports at least once every 0.25 s"
    # The Python backend drives an awaited batch from one thread of its own.
    allowed = 1 if stream_backend.value == "python" else 0
    assert max(seen) <= baseline + allowed


def test_a_raising_progress_callback_ends_the_run(
    stream_backend: StreamBackend,
) -> None:
    """The error propagates once every stage is reaped; nothing hangs."""

    def explode(_hops: list[int]) -> None:
        raise OverflowError

    pipeline = sh.make(YES)() | sh.make(CAT)() | sh.make(WC)("-c")
    with pytest.raises(OverflowError):
        pipeline.run_sync(on_progress=explode, timeout=20)


def test_failure_index_is_the_lowest_stage_failing_on_its_own(
    stream_backend: StreamBackend,
) -> None:
    """Two stages fail at about the same time, in either order.

    Whichever fails first has the stage before it terminated. A stage cuprum
    signalled is never the one named, even if it exited 1 by itself just
    before the signal landed (behaviour 11.2); the lowest stage that failed
    unsignalled is.
    """
    for _ in range(10):
        result = (sh.make(FALSE)() | sh.make(FALSE)()).run_sync()
        first, second = result.stages
        own = [
            stage.exit_code == 1 and not stage.terminated for stage in (first, second)
        ]
        assert any(own)
        assert result.failure_index == own.index(True)
        assert not second.terminated  # only stages before a failure are
        for stage in (first, second):
            assert stage.exit_code in {1, -signal.SIGTERM}
            if stage.exit_code == -signal.SIGTERM:
                assert stage.terminated


def test_input_feeds_the_first_stage(stream_backend: StreamBackend) -> None:
    data = payload(3 * 1024 * 1024)
    result = (sh.make(CAT)() | sh.make(SHA256SUM)()).run_sync(input=data)
    assert result.ok
    assert result.stdout.split()[0] == hashlib.sha256(data).hexdigest()


def test_text_input_is_encoded(stream_backend: StreamBackend) -> None:
    result = sh.make(WC)("-c").run_sync(input="héllo\n")
    assert result.ok
    assert result.stdout.strip() == "7"


def test_a_first_stage_that_reads_part_of_its_input_is_fine(
    stream_backend: StreamBackend,
) -> None:
    result = (sh.make(HEAD)("-c", "5") | sh.make(CAT)()).run_sync(
        input=b"y" * (8 * 1024 * 1024), timeout=20
    )
    assert result.ok
    assert result.stdout == "yyyyy"
