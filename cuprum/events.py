"""Structured execution events: what an ``observe`` hook is told.

Owns `ExecEvent` (one thing that happened to one execution: planned,
started, a line of output, stdin written or refused, exited, ...), its
phase names (`ExecPhase`), the per-execution correlation token (`ExecId`,
`new_exec_id`) and the hook type (`ExecHook`). Hooks are registered with
`cuprum.context.observe` (also ``cuprum.sh.observe``); the runs emit the
events.

Invariants: an event is an immutable value; every event of one execution
(a command, or one stage of a pipeline) carries the same ``exec_id``; new
fields are only ever appended, so positional construction keeps working.
This module imports no other part of cuprum at run time.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses as dc
import typing as typ

if typ.TYPE_CHECKING:
    from pathlib import Path

    from cuprum.program import Program

ExecPhase: typ.TypeAlias = typ.Literal[
    "plan",
    "start",
    "stdout",
    "stderr",
    "stdin",
    "stdin_error",
    "exit",
    "timeout",
]
"""The phases: ``plan`` (about to spawn), ``start`` (spawned), ``stdout`` and
``stderr`` (one line each), ``stdin`` (input written), ``stdin_error`` (the
process stopped reading its input), ``exit`` (reaped), ``timeout`` (the run's
deadline passed; the ``exit`` follows)."""

if typ.TYPE_CHECKING:
    import uuid

    ExecId = typ.NewType("ExecId", uuid.UUID)
else:  # uuid (and platform, which it imports) only once a run is observed
    ExecId = typ.NewType("ExecId", object)
"""A token shared by every event of one execution (a pid can be reused)."""


def new_exec_id() -> ExecId:
    """Return a fresh correlation token (a random UUID)."""
    import uuid  # noqa: PLC0415 - on first use: import cost

    return ExecId(uuid.uuid4())


@dc.dataclass(frozen=True, slots=True)
class ExecEvent:
    """One thing that happened to one execution.

    Attributes
    ----------
    phase
        What happened (see `ExecPhase`).
    program
        The program executing.
    argv
        The whole argument vector, the program first.
    cwd
        The working directory, when one was set.
    env
        The environment overlay of this execution (not the whole
        environment), when there was one; a value ``None`` removes the
        variable.
    pid
        The process id; ``None`` for ``plan`` (nothing spawned yet).
    timestamp
        Wall-clock time of the event (``time.time()``).
    line
        The line, for ``stdout`` and ``stderr``, without its line ending.
    exit_code
        The exit status, for ``exit``.
    duration_s
        Seconds from ``start`` to the process's exit, for ``exit``.
    tags
        Metadata: the project, the pipeline stage, what the caller passed as
        ``ExecutionContext(tags=...)``.
    note
        A human-readable remark (why stdin failed, for example).
    byte_count
        Bytes written, for ``stdin`` (and, for ``stdin_error``, before the
        error).
    operation
        The operation that failed, for ``stdin_error`` (``"write"``).
    error_type
        The class name of the error, for ``stdin_error`` and ``timeout``.
    exec_id
        The execution's correlation token (``None`` on events built by
        hand).
    project
        The name of the catalogue project that owns the program.
    timeout_s
        The timeout that passed, for ``timeout``.

    """

    phase: ExecPhase
    program: Program
    argv: tuple[str, ...]
    cwd: Path | None
    env: cabc.Mapping[str, str | None] | None
    pid: int | None
    timestamp: float
    line: str | None
    exit_code: int | None
    duration_s: float | None
    tags: cabc.Mapping[str, object]
    note: str | None = None
    byte_count: int | None = None
    operation: str | None = None
    error_type: str | None = None
    exec_id: ExecId | None = None
    project: str | None = None
    timeout_s: float | None = None


ExecHook: typ.TypeAlias = cabc.Callable[[ExecEvent], cabc.Awaitable[None] | None]
"""An observe hook: called with each event; an awaitable it returns is
awaited before the run returns."""

__all__ = [
    "ExecEvent",
    "ExecHook",
    "ExecId",
    "ExecPhase",
    "new_exec_id",
]
