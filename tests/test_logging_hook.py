"""`cuprum.logging_hook`: a start and an exit record per command (older cuprum's)."""

from __future__ import annotations

import logging
import typing as typ

from cuprum import (
    ECHO,
    FALSE,
    CommandResult,
    LoggingHookRegistration,
    current_context,
    logging_hook,
    sh,
)
from cuprum._older.hook_logging import _build_logging_hooks

if typ.TYPE_CHECKING:
    import pytest

    from cuprum import StreamBackend

LOGGER = "cuprum.test.logging_hook"


def messages(caplog: pytest.LogCaptureFixture, kind: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(kind)]


def test_registers_a_before_and_an_after_hook_until_detached() -> None:
    before = current_context()
    registration = logging_hook(logger=logging.getLogger(LOGGER))
    assert isinstance(registration, LoggingHookRegistration)
    context = current_context()
    assert len(context.before_hooks) == len(before.before_hooks) + 1
    assert len(context.after_hooks) == len(before.after_hooks) + 1
    registration.detach()
    registration.detach()  # a second detach does nothing
    assert current_context() is before
    assert registration.start_registration is None
    assert registration.exit_registration is None


def test_a_command_logs_its_start_and_exit(
    stream_backend: StreamBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    with logging_hook(logger=logging.getLogger(LOGGER)):
        result = sh.make(ECHO)("-n", "hello logs").run_sync()
    (start,) = messages(caplog, "cuprum.start")
    (finish,) = messages(caplog, "cuprum.exit")
    assert start == "cuprum.start program=echo argv=('echo', '-n', 'hello logs')"
    assert finish.startswith(f"cuprum.exit program=echo pid={result.pid} exit_code=0 ")
    assert "duration_s=unknown" not in finish
    assert finish.endswith("stdout_len=10 stderr_len=0")


def test_every_stage_of_a_pipeline_is_logged(
    stream_backend: StreamBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    with logging_hook(logger=logging.getLogger(LOGGER)):
        (sh.make(ECHO)("x") | sh.make(FALSE)()).run_sync()
    assert len(messages(caplog, "cuprum.start")) == 2
    exits = messages(caplog, "cuprum.exit")
    assert len(exits) == 2
    assert any("program=false" in line and "exit_code=1" in line for line in exits)


def test_uncaptured_output_has_length_zero(
    stream_backend: StreamBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    with logging_hook(logger=logging.getLogger(LOGGER)):
        sh.make(ECHO)("unseen").run_sync(capture=False)
    (finish,) = messages(caplog, "cuprum.exit")
    assert finish.endswith("stdout_len=0 stderr_len=0")


def test_levels_are_the_callers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    with logging_hook(
        logger=logging.getLogger(LOGGER),
        start_level=logging.DEBUG,
        exit_level=logging.WARNING,
    ):
        sh.make(ECHO)("x").run_sync()
    assert not messages(caplog, "cuprum.start")
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_the_default_logger_is_cuprum(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cuprum")
    with logging_hook():
        sh.make(ECHO)("x").run_sync()
    assert {r.name for r in caplog.records if "cuprum." in r.getMessage()} == {"cuprum"}


def test_an_exit_without_its_start_has_an_unknown_duration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    _, on_exit = _build_logging_hooks(
        logger=logging.getLogger(LOGGER),
        start_level=logging.INFO,
        exit_level=logging.INFO,
    )
    command = sh.make(ECHO)("x")
    result = CommandResult(
        program=command.program,
        argv=command.argv,
        exit_code=3,
        pid=1234,
        stdout="x" * 10,
        stderr="y" * 5,
    )
    on_exit(command, result)
    (finish,) = messages(caplog, "cuprum.exit")
    assert finish == (
        "cuprum.exit program=echo pid=1234 exit_code=3 duration_s=unknown "
        "stdout_len=10 stderr_len=5"
    )
