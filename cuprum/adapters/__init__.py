"""Telemetry adapters: observe hooks for logging, metrics and tracing.

Owns three modules, each an `cuprum.events.ExecHook` (or a factory of one)
to register with `cuprum.sh.observe`: `logging_adapter`
(`structured_logging_hook`, one `logging` record per event, with
``cuprum_*`` extras, and `JsonLoggingFormatter`), `metrics_adapter`
(`MetricsHook` feeding a `MetricsCollector`, Prometheus-style counters and
a duration histogram; `InMemoryMetrics` for tests) and `tracing_adapter`
(`TracingHook` making one span per execution through a `Tracer`,
OpenTelemetry-style; `InMemoryTracer` for tests). This is the older
cuprum's ``cuprum.adapters``, under its names.

Invariants: only the standard library is imported, here and in every
adapter; a telemetry library is reached through the protocols, which the
caller implements with it. The package itself exports nothing: import the
module you need.
"""

from __future__ import annotations

__all__: list[str] = []
