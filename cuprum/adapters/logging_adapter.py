"""Structured logging of execution events: one `logging` record per event.

Owns `structured_logging_hook` (an observe hook logging every
`cuprum.events.ExecEvent` at the level its phase is given, with
``cuprum_*`` extra fields on the record), `LogLevels` (those levels) and
`JsonLoggingFormatter` (a `logging.Formatter` writing a record and its
``cuprum_*`` fields as one JSON object). Unlike `cuprum.logging_hook`,
which logs only each command's start and exit, this sees every phase,
every output line included.

Invariants: a record is built only when its level is enabled for the
logger; the message names the phase first (``cuprum.start ...``); the
extras are ``cuprum_phase``, ``cuprum_program``, ``cuprum_argv``,
``cuprum_tags``, ``cuprum_exec_id`` and ``cuprum_project``, and
``cuprum_pid``, ``cuprum_cwd``, ``cuprum_exit_code``, ``cuprum_duration_s``,
``cuprum_line``, ``cuprum_byte_count``, ``cuprum_error_type`` and
``cuprum_note`` when the event has them. The argv is logged as it is:
nothing is redacted.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses as dc
import json
import logging
import typing as typ

from cuprum.adapters._fields import common_fields

if typ.TYPE_CHECKING:
    from cuprum.events import ExecEvent, ExecHook

__all__ = ["JsonLoggingFormatter", "LogLevels", "structured_logging_hook"]

DEFAULT_LOGGER_NAME: typ.Final = "cuprum.exec"


@dc.dataclass(frozen=True, slots=True)
class LogLevels:
    """The level each phase is logged at.

    Attributes
    ----------
    plan_level
        ``plan`` (about to spawn); DEBUG.
    start_level
        ``start`` (spawned); INFO.
    output_level
        ``stdout`` and ``stderr`` lines; DEBUG.
    exit_level
        ``exit``; INFO.
    problem_level
        ``stdin_error`` and ``timeout``; WARNING.

    Other phases (``stdin``) are logged at DEBUG.

    """

    plan_level: int = logging.DEBUG
    start_level: int = logging.INFO
    output_level: int = logging.DEBUG
    exit_level: int = logging.INFO
    problem_level: int = logging.WARNING


def structured_logging_hook(  # noqa: PLR0913 - a level per phase, as keywords
    *,
    logger: logging.Logger | None = None,
    levels: LogLevels | None = None,
    plan_level: int | None = None,
    start_level: int | None = None,
    output_level: int | None = None,
    exit_level: int | None = None,
) -> ExecHook:
    """Return an observe hook that logs each event with ``cuprum_*`` extras.

    Parameters
    ----------
    logger
        Where the records go; ``logging.getLogger("cuprum.exec")`` by
        default.
    levels
        The level of each phase (`LogLevels()` by default).
    plan_level, start_level, output_level, exit_level
        One phase's level, over ``levels`` (the older cuprum's keywords).

    """
    log = logger or logging.getLogger(DEFAULT_LOGGER_NAME)
    chosen = levels or LogLevels()
    given = {
        "plan_level": plan_level,
        "start_level": start_level,
        "output_level": output_level,
        "exit_level": exit_level,
    }
    chosen = dc.replace(chosen, **{k: v for k, v in given.items() if v is not None})
    by_phase = {
        "plan": chosen.plan_level,
        "start": chosen.start_level,
        "stdout": chosen.output_level,
        "stderr": chosen.output_level,
        "exit": chosen.exit_level,
        "stdin_error": chosen.problem_level,
        "timeout": chosen.problem_level,
    }

    def hook(event: ExecEvent) -> None:
        level = by_phase.get(event.phase, logging.DEBUG)
        if log.isEnabledFor(level):
            message, args = _message(event)
            log.log(level, message, *args, extra=_extra(event))

    return hook


_MESSAGES: typ.Final = {
    "plan": ("cuprum.plan program=%s argv=%r", ("program", "argv")),
    "start": ("cuprum.start program=%s pid=%s", ("program", "pid")),
    "stdout": ("cuprum.stdout pid=%s line=%r", ("pid", "line")),
    "stderr": ("cuprum.stderr pid=%s line=%r", ("pid", "line")),
    "exit": (
        "cuprum.exit program=%s pid=%s exit_code=%s duration_s=%s",
        ("program", "pid", "exit_code", "duration_s"),
    ),
    "stdin": ("cuprum.stdin pid=%s byte_count=%s", ("pid", "byte_count")),
    "stdin_error": (
        "cuprum.stdin_error program=%s pid=%s note=%s",
        ("program", "pid", "note"),
    ),
    "timeout": ("cuprum.timeout program=%s pid=%s note=%s", ("program", "pid", "note")),
}
"""Each phase's message format and the event fields it shows."""


def _message(event: ExecEvent) -> tuple[str, tuple[object, ...]]:
    """Return the record's format and arguments for ``event``."""
    text, names = _MESSAGES.get(
        event.phase, (f"cuprum.{event.phase} program=%s", ("program",))
    )
    args: list[object] = []
    for name in names:
        value = getattr(event, name)
        if name == "duration_s":
            value = "unknown" if value is None else f"{value:.6f}"
        args.append(value)
    return text, tuple(args)


def _extra(event: ExecEvent) -> dict[str, object]:
    """Return the ``cuprum_*`` fields of ``event``'s record."""
    extra: dict[str, object] = {"cuprum_phase": event.phase}
    extra.update(common_fields(event, "cuprum_"))
    extra["cuprum_tags"] = dict(event.tags)
    extra["cuprum_exec_id"] = None if event.exec_id is None else str(event.exec_id)
    extra["cuprum_project"] = event.project
    for name in ("byte_count", "error_type", "note"):
        value = getattr(event, name)
        if value is not None:
            extra[f"cuprum_{name}"] = value
    return extra


class JsonLoggingFormatter(logging.Formatter):
    """Format a record as one JSON object, with every ``cuprum_*`` field.

    The object holds ``timestamp``, ``level``, ``logger`` and ``message``,
    then the record's ``cuprum_*`` attributes (mappings and sequences made
    plain, anything else not JSON-native written as text).
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as a JSON text."""
        fields: dict[str, object] = {
            "timestamp": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name.startswith("cuprum_"):
                fields[name] = _plain(value)
        return json.dumps(fields, default=str)


def _plain(value: object) -> object:
    """Return ``value`` as JSON can hold it."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, cabc.Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value)
