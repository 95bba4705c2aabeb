"""Every name the older cuprum exports is here, where its users import it.

Behaviour section 10: a user of the older cuprum switches by changing the
dependency, so the import paths and names must all resolve.
"""

from __future__ import annotations

import importlib

import pytest

import cuprum

OLDER_TOP_LEVEL = [
    "CORE_OPS_PROJECT",
    "DEFAULT_CATALOGUE",
    "DEFAULT_PROJECTS",
    "DOCUMENTATION_PROJECT",
    "DOC_TOOL",
    "ECHO",
    "GIT",
    "LS",
    "PACKAGE_NAME",
    "RSYNC",
    "TAR",
    "AfterHook",
    "AllowRegistration",
    "BeforeHook",
    "CommandResult",
    "ConcurrentConfig",
    "ConcurrentResult",
    "CuprumContext",
    "EnvRegistration",
    "ExecEvent",
    "ExecHook",
    "ExecutionContext",
    "ForbiddenProgramError",
    "HookRegistration",
    "IOOptions",
    "LoggingHookRegistration",
    "Pipeline",
    "PipelineResult",
    "Program",
    "ProgramCatalogue",
    "ProgramEntry",
    "ProjectSettings",
    "PumpEvent",
    "PumpHook",
    "PumpHookRegistration",
    "RunOutputOptions",
    "RustPumpDeclineReason",
    "SafeCmd",
    "SafeCmdBuilder",
    "ScopeConfig",
    "StdinInput",
    "TimeoutExpired",
    "UnknownProgramError",
    "after",
    "allow",
    "before",
    "builders",
    "current_context",
    "env",
    "get_context",
    "is_rust_available",
    "logging_hook",
    "merge_env_overlays",
    "observe",
    "observe_pump",
    "resolve_env",
    "run_concurrent",
    "run_concurrent_sync",
    "scoped",
    "sh",
    "DuplicateProgramError",
    "DuplicateProjectError",
]

WHERE = {
    "cuprum.program": "Program",
    "cuprum.catalogue": "CORE_OPS_PROJECT DEFAULT_CATALOGUE DEFAULT_PROJECTS "
    "DOCUMENTATION_PROJECT DOC_TOOL ECHO GIT LS RSYNC TAR ProgramCatalogue "
    "ProgramEntry ProjectSettings UnknownProgramError",
    "cuprum.context": "AfterHook AllowRegistration BeforeHook CuprumContext "
    "EnvRegistration ForbiddenProgramError HookRegistration ScopeConfig after "
    "allow before current_context env get_context merge_env_overlays observe "
    "resolve_env scoped",
    "cuprum.events": "ExecEvent ExecHook",
    "cuprum.concurrent": "ConcurrentConfig ConcurrentResult run_concurrent "
    "run_concurrent_sync",
    "cuprum.logging_hooks": "LoggingHookRegistration logging_hook",
    "cuprum.pump_events": "PumpEvent PumpHook RustPumpDeclineReason",
    "cuprum.pump_observation": "PumpHookRegistration observe_pump",
    "cuprum.rust": "is_rust_available",
    "cuprum.sh": "CommandResult ExecutionContext IOOptions Pipeline PipelineResult "
    "RunOutputOptions SafeCmd SafeCmdBuilder StdinInput TimeoutExpired make "
    "observe scoped build_argv",
    "cuprum.builders": "Compression GitRef RsyncOptions SafePath TarCreateOptions "
    "git_checkout git_ref git_rev_parse git_status rsync_sync safe_path "
    "tar_create tar_extract",
    "cuprum.adapters.logging_adapter": "structured_logging_hook JsonLoggingFormatter",
    "cuprum.adapters.metrics_adapter": "InMemoryMetrics MetricsCollector MetricsHook",
    "cuprum.adapters.tracing_adapter": "InMemoryTracer Span Tracer TracingHook",
}


@pytest.mark.parametrize("name", OLDER_TOP_LEVEL)
def test_the_package_exports_the_older_name(name: str) -> None:
    assert name in cuprum.__all__
    assert getattr(cuprum, name) is not None


@pytest.mark.parametrize(("module", "names"), WHERE.items(), ids=list(WHERE))
def test_each_older_module_has_its_names(module: str, names: str) -> None:
    imported = importlib.import_module(module)
    for name in names.split():
        assert hasattr(imported, name), f"{module}.{name}"
        if hasattr(cuprum, name) and name not in {"sh", "builders"}:
            # One object, whichever path a user imports it from.
            assert getattr(cuprum, name) is getattr(imported, name), name


def test_the_older_constants_have_their_values() -> None:
    assert (cuprum.ECHO, cuprum.LS, cuprum.GIT, cuprum.RSYNC, cuprum.TAR) == (
        "echo",
        "ls",
        "git",
        "rsync",
        "tar",
    )
    assert (cuprum.DOC_TOOL, cuprum.CORE_OPS_PROJECT) == ("mdbook", "core-ops")
    assert cuprum.DOCUMENTATION_PROJECT == "docs"
    assert cuprum.PACKAGE_NAME == "cuprum"
    assert cuprum.sh.observe is cuprum.observe
    assert not hasattr(importlib.import_module("cuprum.context"), "ExecHook")
