"""Tracing of executions, OpenTelemetry-style: one span per execution.

Owns `Tracer` and `Span` (the protocols a tracing library is reached
through), `InMemoryTracer` and `InMemorySpan` (a tracer keeping its spans
in memory, for tests and examples), `TracingHook` (the observe hook) and
`tracing_hook` (its factory).

A span named ``cuprum.exec <program>`` starts at an execution's ``start``
event, with the attributes ``cuprum.program``, ``cuprum.argv`` (a list),
``cuprum.pid``, ``cuprum.cwd`` (when set), ``cuprum.project`` (the
``project`` tag), and ``cuprum.pipeline_stage_index`` and
``cuprum.pipeline_stages`` for a pipeline's stage; each output line
becomes a span event ``cuprum.stdout`` or ``cuprum.stderr`` (attribute
``line``) unless ``record_output=False``; a ``timeout`` or ``stdin_error``
becomes a span event of that name; the ``exit`` event sets
``cuprum.exit_code`` and ``cuprum.duration_s``, the status (ok for status
0) and ends the span.

Invariants: events are matched to their span by ``exec_id`` (a pid can be
reused), so an event without one is ignored; a span is ended exactly once;
the hook's table of open spans is changed under a lock, so runs in several
threads may share one hook; only the standard library is imported.
"""

from __future__ import annotations

import dataclasses as dc
import threading
import typing as typ

from cuprum.adapters._fields import common_fields, project_of

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum.events import ExecEvent, ExecHook, ExecId

__all__ = [
    "InMemorySpan",
    "InMemoryTracer",
    "Span",
    "Tracer",
    "TracingHook",
    "tracing_hook",
]


class Span(typ.Protocol):
    """A span of a tracing backend: one execution."""

    def set_attribute(self, key: str, value: object) -> None:
        """Set attribute ``key`` (a text, number, boolean or list of them)."""

    def add_event(
        self, name: str, attributes: cabc.Mapping[str, object] | None = None
    ) -> None:
        """Add a timestamped event to the span."""

    def set_status(self, *, ok: bool) -> None:
        """Say whether the execution succeeded."""

    def end(self) -> None:
        """End the span."""


class Tracer(typ.Protocol):
    """A tracing backend; it must be safe to call from several threads."""

    def start_span(
        self, name: str, attributes: cabc.Mapping[str, object] | None = None
    ) -> Span:
        """Start a span called ``name`` with ``attributes``."""
        ...


@dc.dataclass(slots=True)
class InMemorySpan:
    """A span kept in memory: what was set on it, and whether it ended."""

    name: str
    attributes: dict[str, object] = dc.field(default_factory=dict)
    events: list[tuple[str, dict[str, object]]] = dc.field(default_factory=list)
    status_ok: bool | None = None
    ended: bool = False

    def set_attribute(self, key: str, value: object) -> None:
        """Set ``attributes[key]``."""
        self.attributes[key] = value

    def add_event(
        self, name: str, attributes: cabc.Mapping[str, object] | None = None
    ) -> None:
        """Append ``(name, attributes)`` to ``events``."""
        self.events.append((name, dict(attributes or {})))

    def set_status(self, *, ok: bool) -> None:
        """Set ``status_ok``."""
        self.status_ok = ok

    def end(self) -> None:
        """Set ``ended``."""
        self.ended = True


@dc.dataclass(slots=True)
class InMemoryTracer:
    """A tracer keeping every span it started, in order, in ``spans``."""

    spans: list[InMemorySpan] = dc.field(default_factory=list)
    _lock: threading.Lock = dc.field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def start_span(
        self, name: str, attributes: cabc.Mapping[str, object] | None = None
    ) -> InMemorySpan:
        """Start (and keep) a span."""
        span = InMemorySpan(name, dict(attributes or {}))
        with self._lock:
            self.spans.append(span)
        return span

    def reset(self) -> None:
        """Forget every span."""
        with self._lock:
            self.spans.clear()


class TracingHook:
    """An observe hook making one span per execution (see the module).

    Parameters
    ----------
    tracer
        The backend spans are started with.
    record_output
        Whether output lines become span events (they do by default).

    """

    __slots__ = ("_lock", "_open", "_record_output", "_tracer")

    def __init__(self, tracer: Tracer, *, record_output: bool = True) -> None:
        self._tracer = tracer
        self._record_output = record_output
        self._open: dict[ExecId, Span] = {}
        self._lock = threading.Lock()

    def __call__(self, event: ExecEvent) -> None:
        """Start, enrich or end the span of ``event``'s execution."""
        exec_id = event.exec_id
        if exec_id is None:
            return
        phase = event.phase
        if phase == "start":
            started = self._tracer.start_span(
                f"cuprum.exec {event.program}", _attributes(event)
            )
            with self._lock:
                self._open[exec_id] = started
            return
        with self._lock:
            span = (
                self._open.pop(exec_id, None)
                if phase == "exit"
                else self._open.get(exec_id)
            )
        if span is None:
            return
        if phase in {"stdout", "stderr"}:
            if self._record_output:
                span.add_event(f"cuprum.{phase}", {"line": event.line})
        elif phase in {"timeout", "stdin_error"}:
            span.add_event(f"cuprum.{phase}", {"note": event.note or ""})
        elif phase == "exit":
            _end(span, event)


def _attributes(event: ExecEvent) -> dict[str, object]:
    """Return a span's first attributes, from its ``start`` event."""
    attributes = dict(common_fields(event, "cuprum.", argv_as_list=True))
    project = project_of(event)
    if project is not None:
        attributes["cuprum.project"] = project
    for tag in ("pipeline_stage_index", "pipeline_stages"):
        if tag in event.tags:
            attributes[f"cuprum.{tag}"] = event.tags[tag]
    return attributes


def _end(span: Span, event: ExecEvent) -> None:
    """Record how the execution ended on ``span`` and end it."""
    if event.exit_code is not None:
        span.set_attribute("cuprum.exit_code", event.exit_code)
    if event.duration_s is not None:
        span.set_attribute("cuprum.duration_s", event.duration_s)
    span.set_status(ok=event.exit_code in {0, None})
    span.end()


def tracing_hook(tracer: Tracer, *, record_output: bool = True) -> ExecHook:
    """Return a `TracingHook` for ``tracer``.

    The older cuprum's factory, kept for its users (docs/migrating.md);
    ``TracingHook(tracer)`` is the one way.
    """
    return TracingHook(tracer, record_output=record_output)
