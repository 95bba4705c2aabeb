"""cuprum: typed, async subprocess pipelines with a Rust pump engine.

Commands are built from a catalogue of allowed programs
(``sh.make(ECHO)("hi")``), joined with ``|`` into pipelines and run with
``run()`` (awaitable) or ``run_sync()``. The bytes between stages move
through the selected stream backend: the Rust engine when it is installed,
the pure-Python backend otherwise (``CUPRUM_STREAM_BACKEND=auto|rust|python``).
The pump calls underneath are public too.

The older cuprum's public API is here under its names too: scopes and hooks
(`cuprum.context`: ``scoped``, ``allow``, ``before``, ``after``,
``observe``, ``env``), ``ExecutionContext`` and ``StdinInput``, structured
events (`cuprum.events`), builders (`cuprum.builders`) and concurrent runs
(`cuprum.concurrent`); docs/migrating.md lists where this package
deliberately behaves differently.
"""

from __future__ import annotations

import importlib
import os
import typing as typ

if os.name != "posix":  # pragma: no cover - Windows, where the wheel installs
    msg = (
        "cuprum runs on Linux, macOS and the BSDs: it needs POSIX pipes, "
        "poll() and process groups, which Windows lacks; run it under WSL"
    )
    raise ImportError(msg)

from cuprum import sh
from cuprum._pumps.choice import StreamBackend, get_stream_backend
from cuprum._pumps.errors import EngineError
from cuprum._run.output import PipelineStream, SyncPipelineStream
from cuprum._run.request import ExecutionContext, StdinInput
from cuprum.catalogue import (
    CAT,
    CORE_OPS_PROJECT,
    CUT,
    DEFAULT_CATALOGUE,
    DEFAULT_PROJECTS,
    DOC_TOOL,
    DOCUMENTATION_PROJECT,
    ECHO,
    FALSE,
    GIT,
    GREP,
    GZIP,
    HEAD,
    LS,
    PRINTF,
    RSYNC,
    SEQ,
    SHA256SUM,
    SLEEP,
    SORT,
    TAIL,
    TAR,
    TEE,
    TR,
    TRUE,
    UNIQ,
    WC,
    YES,
    DuplicateProgramError,
    DuplicateProjectError,
    ProgramCatalogue,
    ProgramEntry,
    ProjectSettings,
    UnknownProgramError,
)
from cuprum.context import (
    AfterHook,
    AllowRegistration,
    BeforeHook,
    ContextError,
    CuprumContext,
    EnvRegistration,
    ForbiddenProgramError,
    HookRegistration,
    ScopeConfig,
    after,
    allow,
    before,
    current_context,
    env,
    get_context,
    merge_env_overlays,
    observe,
    resolve_env,
    scoped,
)
from cuprum.events import ExecEvent, ExecHook
from cuprum.pipeline import Pipeline
from cuprum.program import Program
from cuprum.results import (
    CommandError,
    CommandResult,
    PipelineError,
    PipelineResult,
    ProgramNotFoundError,
    RunOutputOptions,
    StageResult,
    TimeoutExpired,
)
from cuprum.sh import CommandBuilder, IOOptions, SafeCmd, SafeCmdBuilder

if typ.TYPE_CHECKING:
    from cuprum import builders
    from cuprum._pumps.calls import (
        pump_many,
        pump_many_async,
        pump_stream,
        pump_stream_async,
    )
    from cuprum._pumps.progress import ProgressPrinter, progress_printer
    from cuprum.concurrent import (
        ConcurrentConfig,
        ConcurrentResult,
        run_concurrent,
        run_concurrent_sync,
    )
    from cuprum.logging_hooks import LoggingHookRegistration, logging_hook
    from cuprum.pump_events import PumpEvent, PumpHook, RustPumpDeclineReason
    from cuprum.pump_observation import PumpHookRegistration, observe_pump
    from cuprum.rust import is_rust_available

_LAZY: typ.Final = {
    "builders": ("cuprum.builders", None),
    "ProgressPrinter": ("cuprum._pumps.progress", "ProgressPrinter"),
    "progress_printer": ("cuprum._pumps.progress", "progress_printer"),
    "pump_many": ("cuprum._pumps.calls", "pump_many"),
    "pump_many_async": ("cuprum._pumps.calls", "pump_many_async"),
    "pump_stream": ("cuprum._pumps.calls", "pump_stream"),
    "pump_stream_async": ("cuprum._pumps.calls", "pump_stream_async"),
    "ConcurrentConfig": ("cuprum.concurrent", "ConcurrentConfig"),
    "ConcurrentResult": ("cuprum.concurrent", "ConcurrentResult"),
    "run_concurrent": ("cuprum.concurrent", "run_concurrent"),
    "run_concurrent_sync": ("cuprum.concurrent", "run_concurrent_sync"),
    "LoggingHookRegistration": ("cuprum.logging_hooks", "LoggingHookRegistration"),
    "logging_hook": ("cuprum.logging_hooks", "logging_hook"),
    "PumpEvent": ("cuprum.pump_events", "PumpEvent"),
    "PumpHook": ("cuprum.pump_events", "PumpHook"),
    "RustPumpDeclineReason": ("cuprum.pump_events", "RustPumpDeclineReason"),
    "PumpHookRegistration": ("cuprum.pump_observation", "PumpHookRegistration"),
    "observe_pump": ("cuprum.pump_observation", "observe_pump"),
    "is_rust_available": ("cuprum.rust", "is_rust_available"),
}
"""Public names imported on first use, not with the package (import cost:
a script that runs one command needs none of them)."""


def __getattr__(name: str) -> object:
    """Import a public name of `_LAZY` on first use."""
    where = _LAZY.get(name)
    if where is None:
        msg = f"module 'cuprum' has no attribute {name!r}"
        raise AttributeError(msg)
    module_name, attribute = where
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


PACKAGE_NAME: typ.Final = "cuprum"
"""The distribution's name."""

__all__ = [
    "CAT",
    "CORE_OPS_PROJECT",
    "CUT",
    "DEFAULT_CATALOGUE",
    "DEFAULT_PROJECTS",
    "DOCUMENTATION_PROJECT",
    "DOC_TOOL",
    "ECHO",
    "FALSE",
    "GIT",
    "GREP",
    "GZIP",
    "HEAD",
    "LS",
    "PACKAGE_NAME",
    "PRINTF",
    "RSYNC",
    "SEQ",
    "SHA256SUM",
    "SLEEP",
    "SORT",
    "TAIL",
    "TAR",
    "TEE",
    "TR",
    "TRUE",
    "UNIQ",
    "WC",
    "YES",
    "AfterHook",
    "AllowRegistration",
    "BeforeHook",
    "CommandBuilder",
    "CommandError",
    "CommandResult",
    "ConcurrentConfig",
    "ConcurrentResult",
    "ContextError",
    "CuprumContext",
    "DuplicateProgramError",
    "DuplicateProjectError",
    "EngineError",
    "EnvRegistration",
    "ExecEvent",
    "ExecHook",
    "ExecutionContext",
    "ForbiddenProgramError",
    "HookRegistration",
    "IOOptions",
    "LoggingHookRegistration",
    "Pipeline",
    "PipelineError",
    "PipelineResult",
    "PipelineStream",
    "Program",
    "ProgramCatalogue",
    "ProgramEntry",
    "ProgramNotFoundError",
    "ProgressPrinter",
    "ProjectSettings",
    "PumpEvent",
    "PumpHook",
    "PumpHookRegistration",
    "RunOutputOptions",
    "RustPumpDeclineReason",
    "SafeCmd",
    "SafeCmdBuilder",
    "ScopeConfig",
    "StageResult",
    "StdinInput",
    "StreamBackend",
    "SyncPipelineStream",
    "TimeoutExpired",
    "UnknownProgramError",
    "after",
    "allow",
    "before",
    "builders",
    "current_context",
    "env",
    "get_context",
    "get_stream_backend",
    "is_rust_available",
    "logging_hook",
    "merge_env_overlays",
    "observe",
    "observe_pump",
    "progress_printer",
    "pump_many",
    "pump_many_async",
    "pump_stream",
    "pump_stream_async",
    "resolve_env",
    "run_concurrent",
    "run_concurrent_sync",
    "scoped",
    "sh",
]
