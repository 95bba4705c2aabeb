"""Steps for the concurrency scenarios (``features/concurrency.feature``).

The commands are this Python (added to the default catalogue) and echo; a
"When" step runs them with ``run_concurrent_sync`` and keeps the result or
the error, and the context's before and after hooks count how many are
running at once. ``tests/test_concurrent.py`` holds the exact proofs (the
limit reached and never passed, processes reaped); these say the same in
users' words.
"""

from __future__ import annotations

import dataclasses
import sys

import pytest
from processes import children
from pytest_bdd import given, parsers, scenarios, then, when

from cuprum import (
    DEFAULT_CATALOGUE,
    ECHO,
    CommandResult,
    ConcurrentConfig,
    ConcurrentResult,
    ForbiddenProgramError,
    Program,
    SafeCmd,
    ScopeConfig,
    after,
    before,
    run_concurrent_sync,
    scoped,
    sh,
)

scenarios("concurrency.feature")

PYTHON = Program(sys.executable)
python = sh.make(PYTHON, DEFAULT_CATALOGUE.extended(programs=[PYTHON]))


@dataclasses.dataclass
class Run:
    """The commands, the scope to run them in, and how the run went."""

    commands: list[SafeCmd] = dataclasses.field(default_factory=list)
    allowlist: frozenset[Program] | None = None
    result: ConcurrentResult | None = None
    error: Exception | None = None
    children_before: set[int] = dataclasses.field(default_factory=set)
    started: list[SafeCmd] = dataclasses.field(default_factory=list)
    ended: list[SafeCmd] = dataclasses.field(default_factory=list)
    running: int = 0
    most_running: int = 0

    def on_start(self, command: SafeCmd) -> None:
        self.started.append(command)
        self.running += 1
        self.most_running = max(self.most_running, self.running)

    def on_end(self, command: SafeCmd, _result: CommandResult) -> None:
        self.ended.append(command)
        self.running -= 1

    def go(self, config: ConcurrentConfig | None = None) -> None:
        self.children_before = children()
        scope = ScopeConfig(allowlist=self.allowlist)
        with scoped(scope), before(self.on_start), after(self.on_end):
            try:
                self.result = run_concurrent_sync(*self.commands, config=config)
            except ForbiddenProgramError as error:
                self.error = error

    @property
    def finished(self) -> ConcurrentResult:
        assert self.error is None, self.error
        assert self.result is not None
        return self.result


@pytest.fixture
def run() -> Run:
    return Run()


def printing(word: str) -> SafeCmd:
    return python("-c", f"print({word!r})")


@given('three commands that print "first", "second" and "third"')
def _(run: Run) -> None:
    run.commands = [printing(word) for word in ("first", "second", "third")]


@given("five commands that each take a moment")
def _(run: Run) -> None:
    run.commands = [python("-c", "import time; time.sleep(0.05)")] * 5


@given('three commands: one prints "one", one exits with status 3, one prints "three"')
def _(run: Run) -> None:
    run.commands = [
        printing("one"),
        python("-c", "raise SystemExit(3)"),
        printing("three"),
    ]


@given("a command that exits with status 4 between two that run for a minute")
def _(run: Run) -> None:
    minute = python("-c", "import time; time.sleep(60)")
    run.commands = [minute, python("-c", "raise SystemExit(4)"), minute]


@given("a scope that allows only this Python")
def _(run: Run) -> None:
    run.allowlist = frozenset([PYTHON])


@given("a before hook and an after hook that record each command")
def _() -> None:
    """The hooks are always there (`Run.go`); the Then step reads them."""


@when("I run them concurrently")
def _(run: Run) -> None:
    run.go()


@when(parsers.parse("I run them concurrently, at most {limit:d} at a time"))
def _(run: Run, limit: int) -> None:
    run.go(ConcurrentConfig(concurrency=limit))


@when("I run them concurrently, stopping at the first failure")
def _(run: Run) -> None:
    run.go(ConcurrentConfig(fail_fast=True))


@when("I run this Python and echo concurrently in that scope")
def _(run: Run) -> None:
    run.commands = [printing("allowed"), sh.make(ECHO)("forbidden")]
    run.go()


@when("I run three commands concurrently")
def _(run: Run) -> None:
    run.commands = [printing(word) for word in ("a", "b", "c")]
    run.go()


@then('the results say "first", "second" and "third", in that order')
def _(run: Run) -> None:
    assert [r.stdout for r in run.finished.results] == [
        "first\n",
        "second\n",
        "third\n",
    ]


@then("every command succeeded")
def _(run: Run) -> None:
    assert run.finished.ok
    assert all(r.exit_code == 0 for r in run.finished.results)
    assert len(run.finished.results) == len(run.commands)


@then(parsers.parse("no more than {limit:d} were ever running at once"))
def _(run: Run, limit: int) -> None:
    assert 1 <= run.most_running <= limit


@then(parsers.parse("there are {count:d} results"))
def _(run: Run, count: int) -> None:
    assert len(run.finished.results) == count


@then("the only failure is the second command, which exited with status 3")
def _(run: Run) -> None:
    assert run.finished.failures == (1,)
    failure = run.finished.first_failure
    assert failure is not None
    assert failure.exit_code == 3


@then("only the failing command has a result, and it was given second")
def _(run: Run) -> None:
    assert [r.exit_code for r in run.finished.results] == [4]
    assert run.finished.failure_submission_indices == (1,)


@then("no command is left running")
def _(run: Run) -> None:
    assert children() == run.children_before


@then("the run is refused because echo is forbidden")
def _(run: Run) -> None:
    assert isinstance(run.error, ForbiddenProgramError)
    assert "echo" in str(run.error)


@then("no command was started")
def _(run: Run) -> None:
    assert run.started == []
    assert children() == run.children_before


@then("each hook saw each of the three commands once")
def _(run: Run) -> None:
    expected = sorted(map(str, run.commands))
    assert sorted(map(str, run.started)) == expected
    assert sorted(map(str, run.ended)) == expected
