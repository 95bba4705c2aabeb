"""Metrics of execution events, Prometheus-style: counters and a histogram.

Owns `MetricsCollector` (the protocol a metrics library is reached
through: ``inc_counter`` and ``observe_histogram``), `InMemoryMetrics` (a
collector keeping the sums and observations, for tests and examples),
`MetricsHook` (the observe hook) and `metrics_hook` (its factory).

The metrics, each labelled ``program`` and ``project`` (the ``project``
tag, ``unknown`` when missing):

* ``cuprum_executions_total``: +1 at each ``start``;
* ``cuprum_failures_total``: +1 at an ``exit`` with a non-zero status;
* ``cuprum_duration_seconds``: the histogram of ``exit`` durations;
* ``cuprum_stdout_lines_total``, ``cuprum_stderr_lines_total``: +1 a line;
* ``cuprum_stdin_bytes_total``: the bytes of each ``stdin`` event;
* ``cuprum_stdin_errors_total``: +1 at each ``stdin_error``;
* ``cuprum_timeouts_total``: +1 at each ``timeout``.

Invariants: labels are low-cardinality (never a pid, argv or line);
`InMemoryMetrics` changes its stores under one lock, so hooks of runs in
several threads may share it; only the standard library is imported.
"""

from __future__ import annotations

import dataclasses as dc
import threading
import typing as typ

from cuprum.adapters._fields import project_of

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum.events import ExecEvent, ExecHook

__all__ = ["InMemoryMetrics", "MetricsCollector", "MetricsHook", "metrics_hook"]

_COUNTED: typ.Final = {
    "start": "cuprum_executions_total",
    "stdout": "cuprum_stdout_lines_total",
    "stderr": "cuprum_stderr_lines_total",
    "stdin_error": "cuprum_stdin_errors_total",
    "timeout": "cuprum_timeouts_total",
}
"""Phases that add one to a counter."""


class MetricsCollector(typ.Protocol):
    """A metrics backend; it must be safe to call from several threads."""

    def inc_counter(
        self, name: str, value: float, labels: cabc.Mapping[str, str]
    ) -> None:
        """Add ``value`` to the counter ``name`` with ``labels``."""

    def observe_histogram(
        self, name: str, value: float, labels: cabc.Mapping[str, str]
    ) -> None:
        """Record ``value`` in the histogram ``name`` with ``labels``."""


@dc.dataclass
class InMemoryMetrics:
    """A collector that keeps everything in memory (labels are ignored).

    Attributes
    ----------
    counters
        Each counter's sum, by name.
    histograms
        Each histogram's observations, in order, by name.

    """

    counters: dict[str, float] = dc.field(default_factory=dict)
    histograms: dict[str, list[float]] = dc.field(default_factory=dict)
    _lock: threading.Lock = dc.field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def inc_counter(
        self, name: str, value: float, labels: cabc.Mapping[str, str]
    ) -> None:
        """Add ``value`` to ``counters[name]``."""
        del labels
        with self._lock:
            self.counters[name] = self.counters.get(name, 0.0) + value

    def observe_histogram(
        self, name: str, value: float, labels: cabc.Mapping[str, str]
    ) -> None:
        """Append ``value`` to ``histograms[name]``."""
        del labels
        with self._lock:
            self.histograms.setdefault(name, []).append(value)

    def reset(self) -> None:
        """Forget every counter and histogram."""
        with self._lock:
            self.counters.clear()
            self.histograms.clear()


class MetricsHook:
    """An observe hook that turns events into metrics (see the module).

    Parameters
    ----------
    collector
        The backend the metrics go to.

    """

    __slots__ = ("_collector",)

    def __init__(self, collector: MetricsCollector) -> None:
        self._collector = collector

    def __call__(self, event: ExecEvent) -> None:
        """Count ``event``."""
        phase = event.phase
        counter = _COUNTED.get(phase)
        if counter is None and phase not in {"exit", "stdin"}:
            return  # plan
        labels = {
            "program": str(event.program) or "unknown",
            "project": project_of(event) or "unknown",
        }
        collector = self._collector
        if counter is not None:
            collector.inc_counter(counter, 1.0, labels)
        elif phase == "stdin":
            if event.byte_count is not None:
                collector.inc_counter(
                    "cuprum_stdin_bytes_total", float(event.byte_count), labels
                )
        else:
            if event.exit_code is not None and event.exit_code != 0:
                collector.inc_counter("cuprum_failures_total", 1.0, labels)
            if event.duration_s is not None:
                collector.observe_histogram(
                    "cuprum_duration_seconds", event.duration_s, labels
                )


def metrics_hook(collector: MetricsCollector) -> ExecHook:
    """Return a `MetricsHook` for ``collector``.

    The older cuprum's factory, kept for its users (docs/migrating.md);
    ``MetricsHook(collector)`` is the one way.
    """
    return MetricsHook(collector)
