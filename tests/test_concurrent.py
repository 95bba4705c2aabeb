"""`cuprum.concurrent`: several commands at once, limited, ordered, fail-fast.

The commands are this Python, each held at a gate the test controls: a
FIFO the test opens first (read and write, so neither side blocks on
opening), which the command reads one byte from; the test releases it by
writing that byte. So "how many are running" is known without a sleep
standing in for synchronisation: the context's before and after hooks
mark each run's start and end on the event loop, each command writes its
pid before it waits at its gate, and the test waits (polling, with a
deadline) for those facts, never for time to pass.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import threading
import typing as typ

import pytest
from processes import assert_reaped, children

from cuprum import (
    DEFAULT_CATALOGUE,
    ECHO,
    CommandResult,
    ConcurrentConfig,
    ConcurrentResult,
    ExecutionContext,
    ForbiddenProgramError,
    Pipeline,
    Program,
    ProgramNotFoundError,
    SafeCmd,
    ScopeConfig,
    after,
    before,
    run_concurrent,
    run_concurrent_sync,
    scoped,
    sh,
)

if typ.TYPE_CHECKING:
    import collections.abc as cabc
    from pathlib import Path

    from cuprum import StreamBackend

PYTHON = Program(sys.executable)
MISSING = Program("cuprum-test-no-such-program")
CATALOGUE = DEFAULT_CATALOGUE.extended(programs=[PYTHON, MISSING])
python = sh.make(PYTHON, CATALOGUE)
GATED = """\
import os, sys
gate, mark, code, word = sys.argv[1:]
with open(mark + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(mark + ".tmp", mark + ".pid")
with open(gate, "rb") as g:
    g.read(1)
open(mark + ".done", "w").close()
print(word)
sys.exit(int(code))
"""
DEADLINE_SECONDS = 20.0


class Gates:
    """Gated commands and what the test learns about their runs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.fds: dict[str, int] = {}
        self.started: list[str] = []
        self.ended: list[str] = []
        self.in_flight = 0
        self.peak = 0

    def command(self, name: str, code: int = 0) -> SafeCmd:
        """A command that waits at gate ``name``, prints ``name``, exits ``code``."""
        gate = self.directory / f"{name}.gate"
        os.mkfifo(gate)
        self.fds[name] = os.open(gate, os.O_RDWR)
        mark = str(self.directory / name)
        return python("-c", GATED, str(gate), mark, str(code), name)

    def release(self, name: str) -> None:
        os.write(self.fds[name], b"x")

    def pid(self, name: str) -> int | None:
        path = self.directory / f"{name}.pid"
        return int(path.read_text()) if path.exists() else None

    def done(self, name: str) -> bool:
        return (self.directory / f"{name}.done").exists()

    def on_start(self, command: SafeCmd) -> None:
        """Before hook: one more command inside its run."""
        self.started.append(command.argv[-1])
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def on_end(self, command: SafeCmd, _result: CommandResult) -> None:
        """After hook: the command's run is over (its process reaped)."""
        self.ended.append(command.argv[-1])
        self.in_flight -= 1

    def have_started(self, count: int) -> cabc.Callable[[], bool]:
        return lambda: len(self.started) >= count

    def has_ended(self, name: str) -> cabc.Callable[[], bool]:
        return lambda: name in self.ended

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)


@pytest.fixture
def gates(tmp_path: Path) -> cabc.Iterator[Gates]:
    made = Gates(tmp_path)
    with before(made.on_start), after(made.on_end):
        yield made
    made.close()


async def until(condition: cabc.Callable[[], bool], what: str) -> None:
    """Wait, polling, until ``condition()`` holds; fail after the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"still waiting for {what}")
        await asyncio.sleep(0.002)


def test_results_keep_the_order_the_commands_were_given(
    stream_backend: StreamBackend, gates: Gates
) -> None:
    names = ["zero", "one", "two"]
    commands = [gates.command(name) for name in names]

    async def main() -> ConcurrentResult:
        running = asyncio.create_task(run_concurrent(*commands))
        await until(lambda: len(gates.started) == len(names), "all three to start")
        for name in reversed(names):  # they end last given first
            gates.release(name)
            await until(gates.has_ended(name), f"{name} to end")
        return await running

    result = asyncio.run(main())
    assert gates.ended == ["two", "one", "zero"]
    assert [r.stdout for r in result.results] == ["zero\n", "one\n", "two\n"]
    assert result.ok
    assert result.failures == ()
    assert result.submission_indices == (0, 1, 2)
    assert result.first_failure is None


@pytest.mark.parametrize("limit", [1, 2, 3, None])
def test_no_more_than_the_limit_run_at_once(
    stream_backend: StreamBackend, gates: Gates, limit: int | None
) -> None:
    names = [f"c{index}" for index in range(5)]
    commands = [gates.command(name) for name in names]
    width = len(names) if limit is None else limit
    threads_before = threading.active_count()
    most_threads = 0

    async def main() -> ConcurrentResult:
        nonlocal most_threads
        config = ConcurrentConfig(concurrency=limit)
        running = asyncio.create_task(run_concurrent(*commands, config=config))
        for released in range(len(names)):
            wanted = min(len(names), released + width)
            await until(gates.have_started(wanted), f"{wanted} started")
            # As many as the limit allows are running, each held at its gate.
            assert gates.in_flight <= width
            if released + width <= len(names):
                assert gates.in_flight == width
            assert len(children()) <= width
            most_threads = max(most_threads, threading.active_count())
            gates.release(gates.started[released])
        return await running

    result = asyncio.run(main())
    assert result.ok
    assert len(result.results) == len(names)
    assert gates.peak == width  # reached, and never passed
    # In the order given: the semaphore lets waiting commands in first come.
    assert gates.started == names
    # Each command is a task on the loop, not a thread of its own.
    assert most_threads <= threads_before + 2


def test_collect_all_runs_every_command_and_reports_the_failures(
    stream_backend: StreamBackend,
) -> None:
    commands = [
        python("-c", "print('ok')"),
        python("-c", "import sys; sys.exit(1)"),
        python("-c", "print('ok')"),
        python("-c", "import sys; sys.exit(2)"),
    ]
    result = run_concurrent_sync(*commands)
    assert not result.ok
    assert [r.exit_code for r in result.results] == [0, 1, 0, 2]
    assert result.failures == (1, 3)
    assert result.failure_submission_indices == (1, 3)
    assert result.first_failure is result.results[1]


@pytest.mark.parametrize("limit", [None, 2])
def test_fail_fast_stops_the_others_and_reaps_them(
    stream_backend: StreamBackend, gates: Gates, limit: int | None
) -> None:
    """The first non-zero exit ends the run; nothing is left behind.

    With a limit of 2, the third command waits for a place and never starts.
    """
    commands = [
        gates.command("blocker"),
        gates.command("failing", code=3),
        gates.command("later"),
    ]
    running_before = children()
    config = ConcurrentConfig(concurrency=limit, fail_fast=True)
    width = 3 if limit is None else limit

    async def main() -> ConcurrentResult:
        running = asyncio.create_task(run_concurrent(*commands, config=config))
        await until(
            lambda: sum(gates.pid(n) is not None for n in gates.fds) == width,
            "the running commands to wait at their gates",
        )
        gates.release("failing")
        return await running

    result = asyncio.run(main())
    assert [r.exit_code for r in result.results] == [3]
    assert result.failures == (0,)
    assert result.submission_indices == (1,)
    assert result.failure_submission_indices == (1,)
    assert result.first_failure is result.results[0]
    stopped = [n for n in ("blocker", "later") if gates.pid(n) is not None]
    assert len(stopped) == width - 1
    assert_reaped(typ.cast("int", gates.pid(n)) for n in stopped)
    assert not any(gates.done(n) for n in stopped)
    assert children() == running_before
    if limit == 2:
        assert gates.started == ["blocker", "failing"]  # "later" never started
    assert gates.ended == ["failing"]  # no after hook for a stopped command


def test_cancelling_the_call_stops_and_reaps_every_command(
    stream_backend: StreamBackend, gates: Gates
) -> None:
    commands = [gates.command(f"c{index}") for index in range(3)]
    running_before = children()

    async def main() -> None:
        config = ConcurrentConfig(concurrency=2)
        running = asyncio.create_task(run_concurrent(*commands, config=config))
        await until(lambda: gates.pid("c1") is not None, "two commands to run")
        await until(lambda: gates.pid("c0") is not None, "two commands to run")
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    asyncio.run(main())
    assert_reaped(typ.cast("int", gates.pid(n)) for n in ("c0", "c1"))
    assert gates.pid("c2") is None
    assert children() == running_before


def test_an_error_waits_for_the_others_then_the_earliest_is_raised(
    stream_backend: StreamBackend, gates: Gates
) -> None:
    """Collect-all: a command that raises does not stop the others."""
    missing = sh.make(MISSING, CATALOGUE)
    commands = [missing("a"), gates.command("ok"), missing("b")]

    async def main() -> None:
        running = asyncio.create_task(run_concurrent(*commands))
        await until(lambda: gates.pid("ok") is not None, "the command to run")
        await until(lambda: len(gates.started) == len(commands), "every start")
        gates.release("ok")
        with pytest.raises(ProgramNotFoundError) as raised:
            await running
        assert "command 2" in "".join(raised.value.__notes__)

    asyncio.run(main())
    assert gates.done("ok")  # it ran to its end
    assert gates.ended == ["ok"]


def test_fail_fast_raises_a_commands_error_itself_and_stops_the_others(
    gates: Gates,
) -> None:
    """An error (here an after hook's) stops the others like a failure."""
    commands = [gates.command("blocker"), gates.command("trigger")]

    def refuse(command: SafeCmd, _result: CommandResult) -> None:
        if command.argv[-1] == "trigger":
            msg = "refused by a hook"
            raise LookupError(msg)

    async def main() -> None:
        config = ConcurrentConfig(fail_fast=True)
        running = asyncio.create_task(run_concurrent(*commands, config=config))
        await until(
            lambda: None not in (gates.pid("blocker"), gates.pid("trigger")),
            "both to run",
        )
        gates.release("trigger")
        with pytest.raises(LookupError, match="refused"):  # not in a group
            await running

    with after(refuse):
        asyncio.run(main())
    assert_reaped([typ.cast("int", gates.pid("blocker"))])
    assert not gates.done("blocker")
    assert gates.done("trigger")


def test_a_forbidden_program_refuses_the_whole_run_before_anything_starts(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "ran"
    allowed = python("-c", "import sys; open(sys.argv[1], 'w').close()", str(marker))
    seen: list[SafeCmd] = []
    running_before = children()
    with (
        scoped(ScopeConfig(allowlist=frozenset([PYTHON]))),
        before(seen.append),
        pytest.raises(ForbiddenProgramError),
    ):
        run_concurrent_sync(allowed, sh.make(ECHO)("hi"))
    assert seen == []
    assert not marker.exists()
    assert children() == running_before


def test_hooks_see_each_command_once() -> None:
    commands = [python("-c", f"print({index})") for index in range(4)]
    seen_before: list[str] = []
    seen_after: list[tuple[str, int]] = []

    def record(command: SafeCmd, result: CommandResult) -> None:
        seen_after.append((command.argv[-1], result.exit_code))

    with before(lambda command: seen_before.append(command.argv[-1])), after(record):
        result = run_concurrent_sync(*commands)
    assert result.ok
    assert sorted(seen_before) == [f"print({index})" for index in range(4)]
    assert sorted(seen_after) == [(f"print({index})", 0) for index in range(4)]


def test_the_config_reaches_every_command(tmp_path: Path) -> None:
    show = "import os; print(os.environ['CUPRUM_SHARED'], os.getcwd())"
    context = ExecutionContext(env={"CUPRUM_SHARED": "shared"}, cwd=tmp_path)
    result = run_concurrent_sync(
        python("-c", show), python("-c", show), config=ConcurrentConfig(context=context)
    )
    assert [r.stdout for r in result.results] == [f"shared {tmp_path}\n"] * 2
    quiet = run_concurrent_sync(
        python("-c", "print('x')"), config=ConcurrentConfig(capture=False)
    )
    assert quiet.ok
    assert quiet.results[0].stdout is None
    older = run_concurrent_sync(python("-c", "print('x')"), capture=False)  # keywords
    assert older.results[0].stdout is None


def test_the_blocking_form_refuses_to_run_inside_an_event_loop() -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="event loop; await run_concurrent"):
            run_concurrent_sync(python("-c", "pass"))

    asyncio.run(main())


def test_what_run_concurrent_refuses() -> None:
    with pytest.raises(ValueError, match=r"^At least one command must be provided$"):
        run_concurrent_sync()
    cmd = python("-c", "pass")
    with pytest.raises(TypeError, match="Pipeline"):
        run_concurrent_sync(typ.cast("SafeCmd", Pipeline((cmd, cmd))))
    with pytest.raises(TypeError, match="ConcurrentConfig"):
        run_concurrent_sync(cmd, config=typ.cast("ConcurrentConfig", {}))
    with pytest.raises(TypeError, match="not both"):
        run_concurrent_sync(cmd, config=ConcurrentConfig(), fail_fast=True)
    with pytest.raises(TypeError, match="unexpected keyword"):
        run_concurrent_sync(cmd, limit=2)


@pytest.mark.parametrize(
    ("concurrency", "error", "message"),
    [
        (0, ValueError, "concurrency must be >= 1, got 0"),
        (-1, ValueError, "concurrency must be >= 1, got -1"),
        (True, TypeError, "concurrency must be an int, got bool"),
        (1.5, TypeError, "concurrency must be an int, got float"),
    ],
)
def test_a_config_with_a_bad_limit_is_refused(
    concurrency: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"^{message}$"):
        ConcurrentConfig(concurrency=typ.cast("int", concurrency))


def test_a_config_is_a_frozen_value() -> None:
    config = ConcurrentConfig(concurrency=2)
    assert config == ConcurrentConfig(2, capture=True, echo=False, fail_fast=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.concurrency = 3  # type: ignore[misc]


def _result(code: int) -> CommandResult:
    return CommandResult(PYTHON, (), code, 1, "", "")


def test_a_result_fills_in_its_submission_indices() -> None:
    result = ConcurrentResult((_result(0), _result(1)), failures=(1,))
    assert result.submission_indices == (0, 1)
    assert result.failure_submission_indices == (1,)
    assert not result.ok
    assert ConcurrentResult(()).submission_indices == ()
    compacted = ConcurrentResult((_result(7),), (0,), submission_indices=(4,))
    assert compacted.failure_submission_indices == (4,)


@pytest.mark.parametrize(
    ("failures", "positions", "error", "message"),
    [
        ((2,), None, ValueError, "failures index 2 is out of range for 2 results"),
        ((-1,), None, ValueError, "failures index -1 is out of range"),
        ((1, 0), None, ValueError, "failures must be strictly ascending"),
        ((True,), None, TypeError, "failures index must be an int, got bool"),
        ((), (0,), ValueError, r"submission_indices length \(1\) must match"),
        ((), (), ValueError, r"submission_indices length \(0\) must match"),
        ((), (1, 1), ValueError, "submission_indices must be strictly ascending"),
        ((), (-1, 0), ValueError, "submission_indices must be non-negative"),
        ((), (0.0, 1), TypeError, "submission_indices must be ints, got float"),
    ],
)
def test_a_result_with_inconsistent_indices_is_refused(
    failures: tuple[int, ...],
    positions: tuple[int, ...] | None,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        ConcurrentResult((_result(0), _result(1)), failures, positions)
