"""cuprum: typed, async subprocess pipelines with a Rust pump engine.

Commands are built from a catalogue of allowed programs
(``sh.make(ECHO)("hi")``), joined with ``|`` into pipelines and run with
``run()`` (awaitable) or ``run_sync()``. The bytes between stages move
through the selected stream backend: the Rust engine when it is installed,
the pure-Python backend otherwise (``CUPRUM_STREAM_BACKEND=auto|rust|python``).
The pump calls underneath are public too.
"""

from __future__ import annotations

from cuprum import sh
from cuprum._backend import StreamBackend, get_stream_backend
from cuprum._errors import EngineError
from cuprum._progress import ProgressPrinter, progress_printer
from cuprum._pump import pump_many, pump_many_async, pump_stream, pump_stream_async
from cuprum._rust_backend import is_available as is_rust_available
from cuprum._stream import PipelineStream, SyncPipelineStream
from cuprum.catalogue import (
    CAT,
    CUT,
    DEFAULT_CATALOGUE,
    ECHO,
    FALSE,
    GREP,
    GZIP,
    HEAD,
    PRINTF,
    SEQ,
    SHA256SUM,
    SLEEP,
    SORT,
    TAIL,
    TEE,
    TR,
    TRUE,
    UNIQ,
    WC,
    YES,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    UnknownProgramError,
)
from cuprum.pipeline import Pipeline
from cuprum.results import (
    CommandResult,
    PipelineError,
    PipelineResult,
    ProgramNotFoundError,
    RunOutputOptions,
    StageResult,
    TimeoutExpired,
)
from cuprum.sh import SafeCmd

__all__ = [
    "CAT",
    "CUT",
    "DEFAULT_CATALOGUE",
    "ECHO",
    "FALSE",
    "GREP",
    "GZIP",
    "HEAD",
    "PRINTF",
    "SEQ",
    "SHA256SUM",
    "SLEEP",
    "SORT",
    "TAIL",
    "TEE",
    "TR",
    "TRUE",
    "UNIQ",
    "WC",
    "YES",
    "CommandResult",
    "EngineError",
    "Pipeline",
    "PipelineError",
    "PipelineResult",
    "PipelineStream",
    "Program",
    "ProgramCatalogue",
    "ProgramNotFoundError",
    "ProgressPrinter",
    "ProjectSettings",
    "RunOutputOptions",
    "SafeCmd",
    "StageResult",
    "StreamBackend",
    "SyncPipelineStream",
    "TimeoutExpired",
    "UnknownProgramError",
    "get_stream_backend",
    "is_rust_available",
    "progress_printer",
    "pump_many",
    "pump_many_async",
    "pump_stream",
    "pump_stream_async",
    "sh",
]
