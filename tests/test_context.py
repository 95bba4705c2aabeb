"""Scopes, allowlists and hooks of `cuprum.context` (behaviour section 10)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import typing as typ

import pytest

from cuprum import (
    CAT,
    ECHO,
    LS,
    TRUE,
    CommandResult,
    CuprumContext,
    DuplicateProgramError,
    ForbiddenProgramError,
    ProgramCatalogue,
    SafeCmd,
    ScopeConfig,
    UnknownProgramError,
    after,
    allow,
    before,
    current_context,
    get_context,
    scoped,
    sh,
)

if typ.TYPE_CHECKING:
    from cuprum import StreamBackend


def test_the_root_context_allows_every_program() -> None:
    root = current_context()
    assert root is get_context()
    assert root.allowlist == frozenset()
    assert not root.restricted
    root.check_allowed(LS)  # no error: nothing restricts the root
    assert root.is_allowed(LS)  # the answer check_allowed acts on
    assert root.permissive


def test_a_scope_narrows_and_never_widens() -> None:
    with scoped(ScopeConfig(allowlist=frozenset([ECHO, LS]))) as outer:
        assert current_context() is outer
        assert outer.is_allowed(ECHO)
        assert outer.is_allowed(LS)
        with scoped(ScopeConfig(allowlist=frozenset([ECHO, CAT]))) as inner:
            assert inner.allowlist == frozenset([ECHO])  # CAT is not added
            with pytest.raises(ForbiddenProgramError, match="'cat'") as caught:
                inner.check_allowed(CAT)
            assert caught.value.program == CAT
            assert caught.value.restricted_state
            assert isinstance(caught.value, PermissionError)
        with scoped(ScopeConfig()) as same:
            assert same.allowlist == outer.allowlist  # inherits the parent's
        assert current_context() is outer
    assert current_context().allowlist == frozenset()


def test_an_empty_allowlist_in_a_scope_allows_nothing() -> None:
    with scoped(ScopeConfig(allowlist=frozenset())) as nothing:
        with pytest.raises(ForbiddenProgramError):
            nothing.check_allowed(ECHO)
        with (
            scoped(ScopeConfig(allowlist=frozenset([ECHO]))) as still,
            pytest.raises(ForbiddenProgramError),
        ):
            still.check_allowed(ECHO)


def test_a_scope_is_left_even_when_its_block_raises() -> None:
    with pytest.raises(RuntimeError), scoped(ScopeConfig(allowlist=frozenset([ECHO]))):
        raise RuntimeError
    assert current_context().allowlist == frozenset()


def test_scoped_takes_a_config_or_a_catalogue() -> None:
    with pytest.raises(TypeError, match="requires config or catalogue"):
        scoped()
    with pytest.raises(TypeError, match="either config or catalogue"):
        scoped(ScopeConfig(), catalogue=sh.DEFAULT_CATALOGUE)  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="ScopeConfig"):
        scoped({"allowlist": {ECHO}})  # type: ignore[arg-type]
    with scoped(allowlist=frozenset([ECHO]), timeout=2) as older:  # the older form
        assert (older.allowlist, older.timeout) == (frozenset([ECHO]), 2.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        scoped(allowed=frozenset([ECHO]))
    with pytest.raises(TypeError, match="not both"):
        scoped(ScopeConfig(), timeout=1)
    catalogue = ProgramCatalogue.from_programs(ECHO, name="mine")
    assert current_context().catalogue is None
    with scoped(catalogue=catalogue) as ctx:
        assert ctx.allowlist == catalogue.allowlist
        assert ctx.catalogue is catalogue
        assert sh.make(ECHO)("x").project.name == "mine"  # made from it
        with pytest.raises(UnknownProgramError, match="'ls'"):
            sh.make(LS)
        foreign = sh.make(LS, ProgramCatalogue.from_programs(LS))()
        with pytest.raises(ForbiddenProgramError, match="'ls'"):
            foreign.run_sync()  # built elsewhere, refused here
        with scoped(ScopeConfig(allowlist=frozenset([ECHO]))) as inner:
            assert inner.catalogue is catalogue  # inherited
        with allow(LS):
            assert current_context().catalogue is catalogue
    assert current_context().catalogue is None
    assert typ.get_type_hints(scoped)["catalogue"] == ProgramCatalogue | None
    with pytest.raises(DuplicateProgramError):
        ProgramCatalogue.from_programs(ECHO, ECHO)


def test_allow_adds_for_as_long_as_its_handle_lasts() -> None:
    with scoped(ScopeConfig(allowlist=frozenset([ECHO]))):
        assert not current_context().is_allowed(LS)
        with allow(LS):
            assert current_context().is_allowed(LS)
        assert not current_context().is_allowed(LS)
        handle = allow(LS)
        assert current_context().is_allowed(LS)
        handle.detach()
        handle.detach()  # a second detach does nothing
        assert not current_context().is_allowed(LS)


def test_config_values_are_checked() -> None:
    with pytest.raises(ValueError, match="timeout"):
        ScopeConfig(timeout=-1)
    with pytest.raises(ValueError, match="timeout"):
        CuprumContext(timeout=float("nan"))
    with pytest.raises(TypeError, match="env overlay"):
        ScopeConfig(env_overlay={"A": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="callable"):
        before("not a hook")  # type: ignore[arg-type]


def test_a_forbidden_program_is_refused_before_anything_runs() -> None:
    seen: list[SafeCmd] = []
    with scoped(ScopeConfig(allowlist=frozenset([ECHO]))), before(seen.append):
        with pytest.raises(ForbiddenProgramError, match="'true'"):
            (sh.make(ECHO)("x") | sh.make(TRUE)()).run_sync()
        with pytest.raises(ForbiddenProgramError):
            sh.make(TRUE)().run_sync()
    assert seen == []  # no before hook ran, nothing was spawned


def test_before_hooks_run_fifo_and_after_hooks_lifo(
    stream_backend: StreamBackend,
) -> None:
    calls: list[tuple[str, str]] = []
    results: list[CommandResult] = []

    def record(name: str) -> typ.Callable[..., None]:
        def hook(cmd: SafeCmd, *rest: object) -> None:
            calls.append((name, cmd.program))
            if rest:
                results.append(typ.cast("CommandResult", rest[0]))

        return hook

    outer = ScopeConfig(before_hooks=(record("b1"),), after_hooks=(record("a1"),))
    with scoped(outer), before(record("b2")), after(record("a2")):
        result = sh.make(ECHO)("-n", "hi").run_sync()
    assert result.ok
    assert calls == [("b1", "echo"), ("b2", "echo"), ("a2", "echo"), ("a1", "echo")]
    assert results == [result, result]
    calls.clear()
    with before(record("b")), after(record("a")):
        (sh.make(ECHO)("x") | sh.make(CAT)()).run_sync()
    assert calls == [("b", "echo"), ("b", "cat"), ("a", "echo"), ("a", "cat")]


def test_hook_registrations_are_visible_and_detachable() -> None:
    def hook(_cmd: SafeCmd) -> None:
        return None

    with scoped(ScopeConfig()):
        registration = before(hook)
        assert hook in current_context().before_hooks
        registration.detach()
        assert hook not in current_context().before_hooks


def test_each_thread_has_its_own_context() -> None:
    seen: dict[str, bool] = {}
    entered = threading.Barrier(2)

    def worker(name: str, program: str) -> None:
        with scoped(ScopeConfig(allowlist=frozenset([program]))):  # type: ignore[list-item]
            entered.wait(timeout=10)  # both scopes are open at once
            seen[name] = current_context().is_allowed(ECHO)
            entered.wait(timeout=10)

    threads = [
        threading.Thread(target=worker, args=("echo", ECHO)),
        threading.Thread(target=worker, args=("ls", LS)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"echo": True, "ls": False}


def test_each_task_has_its_own_context() -> None:
    async def worker(program: str, both_in: asyncio.Event, ready: list[str]) -> bool:
        with scoped(ScopeConfig(allowlist=frozenset([program]))):  # type: ignore[list-item]
            ready.append(program)
            if len(ready) == 2:
                both_in.set()
            await both_in.wait()  # both scopes are open at once
            return current_context().is_allowed(ECHO)

    async def main() -> list[bool]:
        both_in, ready = asyncio.Event(), []
        return await asyncio.gather(
            worker(ECHO, both_in, ready), worker(LS, both_in, ready)
        )

    assert asyncio.run(main()) == [True, False]
    assert current_context().allowlist == frozenset()


def test_a_detach_in_another_context_is_refused() -> None:
    with scoped(ScopeConfig(allowlist=frozenset([ECHO]))):
        handle = allow(LS)
        try:
            with pytest.raises(ValueError, match="created in a different Context"):
                contextvars.Context().run(handle.detach)
            assert current_context().allowlist == frozenset([ECHO, LS])  # attached
        finally:
            handle.detach()
        assert current_context().allowlist == frozenset([ECHO])


def test_allow_at_the_top_level_forbids_nothing(stream_backend: StreamBackend) -> None:
    assert current_context().is_allowed(ECHO)  # the root allows every program
    with allow(LS):
        assert current_context().is_allowed(LS)
        assert current_context().is_allowed(ECHO)
        assert sh.make(ECHO)("still runs").run_sync().stdout == "still runs\n"
    assert current_context().permissive


def test_handles_detach_in_any_order() -> None:
    def first(_cmd: SafeCmd) -> None:
        return None

    def second(_cmd: SafeCmd) -> None:
        return None

    with scoped(ScopeConfig(allowlist=frozenset([ECHO]))):
        one, two = before(first), before(second)
        one.detach()
        assert current_context().before_hooks == (second,)
        two.detach()
        assert current_context().before_hooks == ()
        again = before(first)
        twice = before(first)
        again.detach()
        assert current_context().before_hooks == (first,)  # twice's stays
        twice.detach()
        ls, cat = allow(LS), allow(CAT)
        ls.detach()
        assert current_context().allowlist == frozenset([ECHO, CAT])
        cat.detach()
        echo = allow(ECHO)  # already allowed: detaching it takes nothing away
        echo.detach()
        assert current_context().allowlist == frozenset([ECHO])


def test_a_streamed_run_meets_the_hooks_too() -> None:
    calls: list[str] = []
    with (
        before(lambda cmd: calls.append(f"before {cmd.program}")),
        after(lambda _cmd, result: calls.append(f"after {result.exit_code}")),
    ):
        with (sh.make(ECHO)("x") | sh.make(CAT)()).stream_sync() as out:
            assert calls == ["before echo", "before cat"]
            assert list(out) == [b"x\n"]
        assert calls[2:] == ["after 0", "after 0"]
        with (
            scoped(ScopeConfig(allowlist=frozenset([ECHO]))),
            pytest.raises(ForbiddenProgramError),
        ):
            sh.make(CAT)().stream_sync()


def test_the_contexts_annotations_resolve_at_run_time() -> None:
    """Tools that read annotations (`typing.get_type_hints`) can."""
    import cuprum.context  # noqa: PLC0415 - the module under test, whole

    for target in (
        ScopeConfig,
        CuprumContext,
        cuprum.context.allow,
        cuprum.context.before,
        cuprum.context.after,
        cuprum.context.observe,
        cuprum.context.env,
        cuprum.context.AllowRegistration.__init__,
        cuprum.context.HookRegistration.__init__,
    ):
        assert typ.get_type_hints(target), target


def test_a_forbidden_program_error_survives_pickling() -> None:
    """It crosses a process boundary (a process pool) as it was."""
    import pickle  # noqa: PLC0415 - this test alone

    error = ForbiddenProgramError(ECHO, restricted_state=True)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is ForbiddenProgramError
    assert (copy.program, copy.restricted_state, str(copy)) == (
        ECHO,
        True,
        str(error),
    )


def test_a_scope_config_and_a_context_with_an_overlay_survive_pickling() -> None:
    """A read-only overlay pickles as its variables and comes back read-only."""
    import pickle  # noqa: PLC0415 - this test alone

    config = ScopeConfig(
        allowlist=frozenset([ECHO]), timeout=3.0, env_overlay={"A": "1", "B": None}
    )
    context = current_context().narrow(config)
    for value in (config, context):
        copy = pickle.loads(pickle.dumps(value))  # noqa: S301 - our own bytes
        assert copy == value
        assert dict(copy.env_overlay or {}) == {"A": "1", "B": None}
        with pytest.raises(TypeError):
            copy.env_overlay["A"] = "2"
