"""What the adapters read off an event: the fields they all report.

Owns `common_fields` (an event's program, argv, pid, working directory,
exit code, duration and line, each only when the event has it, under names
an adapter chooses) and `project_of` (the ``project`` tag, as text).

Invariant: pure functions of the event; nothing here keeps state.
"""

from __future__ import annotations

import typing as typ

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum.events import ExecEvent


def common_fields(
    event: ExecEvent, prefix: str, *, argv_as_list: bool = False
) -> cabc.Iterator[tuple[str, object]]:
    """Yield ``(prefix + field, value)`` for the fields ``event`` carries.

    ``program`` and ``argv`` always; ``pid``, ``cwd`` (as text),
    ``exit_code``, ``duration_s`` and ``line`` when not ``None``.
    """
    yield f"{prefix}program", str(event.program)
    yield f"{prefix}argv", list(event.argv) if argv_as_list else event.argv
    optional: tuple[tuple[str, object], ...] = (
        ("pid", event.pid),
        ("cwd", None if event.cwd is None else str(event.cwd)),
        ("exit_code", event.exit_code),
        ("duration_s", event.duration_s),
        ("line", event.line),
    )
    for name, value in optional:
        if value is not None:
            yield f"{prefix}{name}", value


def project_of(event: ExecEvent) -> str | None:
    """Return the event's ``project`` tag as text (``None`` when unset)."""
    project = event.tags.get("project")
    return None if project is None else str(project)
