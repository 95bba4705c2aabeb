"""The older cuprum's ``logging_hook``: a start and an exit record per command.

Owns `logging_hook` (registers a before hook that logs
``cuprum.start program=... argv=...`` and an after hook that logs
``cuprum.exit program=... pid=... exit_code=... duration_s=...
stdout_len=... stderr_len=...``, both through `logging`) and
`LoggingHookRegistration` (the handle that detaches both), with the older
cuprum's record formats; `cuprum.logging_hooks` re-exports them where the
older cuprum had them. The one way here, one record per
`cuprum.events.ExecEvent`, is
`cuprum.adapters.logging_adapter.structured_logging_hook`.

Invariants: the two hooks are registered before-then-after and detached
after-then-before (the reverse, as the context's tokens require); a
second ``detach()`` does nothing; the duration is measured from the before
hook to the after hook of the same command (``unknown`` when the start was
not seen); a record is built only when its level is enabled.
"""

from __future__ import annotations

import dataclasses as dc
import logging
import threading
import time
import typing as typ
import weakref

from cuprum._policy.registrations import HookRegistration

if typ.TYPE_CHECKING:
    import collections.abc as cabc
    import types

    from cuprum.pipeline import SafeCmd
    from cuprum.results import CommandResult

_START_FORMAT: typ.Final = "cuprum.start program=%s argv=%r"
_EXIT_FORMAT: typ.Final = (
    "cuprum.exit program=%s pid=%s exit_code=%s duration_s=%s "
    "stdout_len=%s stderr_len=%s"
)


@dc.dataclass(slots=True)
class LoggingHookRegistration:
    """The two hooks `logging_hook` registered; ``detach()`` removes both.

    Also a context manager: the hooks are detached when its block ends.

    Attributes
    ----------
    start_registration
        The before hook's registration (``None`` once detached).
    exit_registration
        The after hook's registration (``None`` once detached).

    """

    start_registration: HookRegistration | None
    exit_registration: HookRegistration | None

    def detach(self) -> None:
        """Detach the exit hook, then the start hook; later calls do nothing."""
        exit_registration, self.exit_registration = self.exit_registration, None
        start_registration, self.start_registration = self.start_registration, None
        if exit_registration is not None:
            exit_registration.detach()
        if start_registration is not None:
            start_registration.detach()

    def __enter__(self) -> typ.Self:
        """Return the handle; the hooks are already registered."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        """Detach both hooks."""
        self.detach()


def logging_hook(
    *,
    logger: logging.Logger | None = None,
    start_level: int = logging.INFO,
    exit_level: int = logging.INFO,
) -> LoggingHookRegistration:
    """Log every command's start and exit until the handle is detached.

    Parameters
    ----------
    logger
        Where the records go; ``logging.getLogger("cuprum")`` by default.
    start_level, exit_level
        The levels of the start and exit records.

    Returns
    -------
    LoggingHookRegistration
        Detach it (or leave its ``with`` block) to stop logging.

    """
    on_start, on_exit = _build_logging_hooks(
        logger=logger or logging.getLogger("cuprum"),
        start_level=start_level,
        exit_level=exit_level,
    )
    return LoggingHookRegistration(
        HookRegistration(on_start, "before"), HookRegistration(on_exit, "after")
    )


def _build_logging_hooks(
    *, logger: logging.Logger, start_level: int, exit_level: int
) -> tuple[
    cabc.Callable[[SafeCmd], None],
    cabc.Callable[[SafeCmd, CommandResult[typ.Any]], None],
]:
    """Return the before and after hooks `logging_hook` registers.

    The start times are kept per command, weakly (a run that raises before
    its after hook leaves nothing behind), equal commands running at once
    matched first-started first, under a lock, since the hooks of runs in
    several threads share them.
    """
    started: weakref.WeakKeyDictionary[SafeCmd, list[float]] = (
        weakref.WeakKeyDictionary()
    )
    lock = threading.Lock()

    def on_start(command: SafeCmd) -> None:
        now = time.perf_counter()
        with lock:
            started.setdefault(command, []).append(now)
        if logger.isEnabledFor(start_level):
            logger.log(
                start_level,
                _START_FORMAT,
                command.program,
                command.argv_with_program,
            )

    def on_exit(command: SafeCmd, result: CommandResult[typ.Any]) -> None:
        with lock:
            times = started.get(command)
            began = times.pop(0) if times else None
            if times is not None and not times:
                del started[command]
        if not logger.isEnabledFor(exit_level):
            return
        duration = "unknown" if began is None else f"{time.perf_counter() - began:.6f}"
        logger.log(
            exit_level,
            _EXIT_FORMAT,
            result.program,
            result.pid,
            result.exit_code,
            duration,
            0 if result.stdout is None else len(result.stdout),
            0 if result.stderr is None else len(result.stderr),
        )

    return on_start, on_exit
