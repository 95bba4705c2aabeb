"""Steps for the scope and hook scenarios (``features/scopes.feature``).

Each scenario opens its scopes inside a step and keeps them open on an
`contextlib.ExitStack` for the rest of the scenario (closed by the fixture),
so "inside it" means what it says: the When step runs in the scope.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import typing as typ

import pytest
from processes import children
from pytest_bdd import given, parsers, scenarios, then, when

from cuprum import (
    CAT,
    DEFAULT_CATALOGUE,
    ECHO,
    LS,
    SLEEP,
    CuprumContext,
    ExecutionContext,
    ForbiddenProgramError,
    Program,
    ScopeConfig,
    TimeoutExpired,
    allow,
    before,
    current_context,
    env,
    scoped,
    sh,
)

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum import CommandResult, SafeCmd

scenarios("scopes.feature")

PYTHON = Program(sys.executable)
python = sh.make(PYTHON, DEFAULT_CATALOGUE.extended(programs=[PYTHON]))


@dataclasses.dataclass
class Scene:
    """The scopes a scenario opened and what its When step saw."""

    scopes: contextlib.ExitStack
    calls: list[str] = dataclasses.field(default_factory=list)
    inner: CuprumContext | None = None
    result: CommandResult | None = None
    error: BaseException | None = None


@pytest.fixture
def scene() -> cabc.Iterator[Scene]:
    with contextlib.ExitStack() as scopes:
        yield Scene(scopes)
    assert current_context().allowlist == frozenset()  # every scope was left


def hooks(scene: Scene, name: str) -> ScopeConfig:
    def started(cmd: SafeCmd) -> None:
        scene.calls.append(f"{name} before {cmd.program}")

    def ended(cmd: SafeCmd, _result: CommandResult) -> None:
        scene.calls.append(f"{name} after {cmd.program}")

    return ScopeConfig(before_hooks=(started,), after_hooks=(ended,))


@given("a scope that allows only echo")
def only_echo(scene: Scene) -> None:
    scene.scopes.enter_context(scoped(ScopeConfig(allowlist=frozenset([ECHO]))))
    scene.scopes.enter_context(before(lambda cmd: scene.calls.append(cmd.program)))


@given("an outer hook pair and an inner hook pair")
def hook_pairs(scene: Scene) -> None:
    scene.scopes.enter_context(scoped(hooks(scene, "outer")))
    scene.scopes.enter_context(scoped(hooks(scene, "inner")))


@given(
    parsers.parse('an env() scope setting STAGE to "{stage}" and COLOUR to "{colour}"')
)
def env_scope(scene: Scene, stage: str, colour: str) -> None:
    scene.scopes.enter_context(env(STAGE=stage, COLOUR=colour))


@given(parsers.parse("a scope with a timeout of {seconds:g} seconds"))
def timeout_scope(scene: Scene, seconds: float) -> None:
    scene.scopes.enter_context(scoped(ScopeConfig(timeout=seconds)))


@when("I run ls inside it")
def run_ls(scene: Scene) -> None:
    try:
        scene.result = sh.make(LS)().run_sync()
    except ForbiddenProgramError as error:
        scene.error = error


@when("I open a scope allowing echo and ls inside it")
def open_inner(scene: Scene) -> None:
    config = ScopeConfig(allowlist=frozenset([ECHO, LS]))
    scene.inner = scene.scopes.enter_context(scoped(config))


@when("I run ls with allow(ls) around it")
def run_allowed(scene: Scene, tmp_path: object) -> None:
    with allow(LS):
        scene.result = sh.make(LS)(tmp_path).run_sync()


@when("I run echo hello piped into cat under both")
def run_pipeline(scene: Scene) -> None:
    scene.result = (sh.make(ECHO)("hello") | sh.make(CAT)()).run_sync().final


@when(
    parsers.parse(
        "I run a command showing STAGE and COLOUR with an ExecutionContext "
        'setting STAGE to "{stage}"'
    )
)
def run_showing(scene: Scene, stage: str) -> None:
    show = "import json, os; print(json.dumps([os.environ[n] for n in sys.argv[1:]]))"
    context = ExecutionContext(env={"STAGE": stage})
    scene.result = python("-c", f"import sys; {show}", "STAGE", "COLOUR").run_sync(
        context=context
    )


@when("I run sleep 10 inside it")
def run_sleep(scene: Scene) -> None:
    try:
        sh.make(SLEEP)("10").run_sync()
    except TimeoutExpired as error:
        scene.error = error


@then("the run is refused with ForbiddenProgramError naming ls")
def refused(scene: Scene) -> None:
    assert isinstance(scene.error, ForbiddenProgramError)
    assert scene.error.program == LS
    assert "'ls'" in str(scene.error)


@then("no hook saw ls start")
def no_hook(scene: Scene) -> None:
    assert "ls" not in scene.calls


@then("the inner scope allows echo")
def inner_allows_echo(scene: Scene) -> None:
    assert scene.inner is not None
    assert scene.inner.is_allowed(ECHO)


@then("the inner scope does not allow ls")
def inner_refuses_ls(scene: Scene) -> None:
    assert scene.inner is not None
    assert not scene.inner.is_allowed(LS)
    with pytest.raises(ForbiddenProgramError):
        scene.inner.check_allowed(LS)


@then("ls ran and exited 0")
def ls_ran(scene: Scene) -> None:
    assert scene.result is not None
    assert scene.result.exit_code == 0
    assert scene.calls == ["ls"]


@then("after the block ls is refused again")
def ls_refused_again(scene: Scene) -> None:
    with pytest.raises(ForbiddenProgramError):
        sh.make(LS)().run_sync()


@then(parsers.parse('the hooks were called as "{order}"'))
def hooks_in_order(scene: Scene, order: str) -> None:
    assert scene.calls == order.split(", ")


@then(parsers.parse('the command saw STAGE "{stage}" and COLOUR "{colour}"'))
def saw_environment(scene: Scene, stage: str, colour: str) -> None:
    assert scene.result is not None
    assert json.loads(str(scene.result.stdout)) == [stage, colour]


@then(parsers.parse("the run raises TimeoutExpired after {seconds:g} seconds"))
def timed_out(scene: Scene, seconds: float) -> None:
    assert isinstance(scene.error, TimeoutExpired)
    assert scene.error.timeout == seconds
    assert isinstance(scene.error, TimeoutError)


@then("no stage is left running")
def nothing_left() -> None:
    assert children() == set()
