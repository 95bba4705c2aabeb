"""The older cuprum's ``cuprum.logging_hooks``: a start and an exit record per command.

Re-exports `logging_hook` and `LoggingHookRegistration` from
`cuprum._older.hook_logging`, where they live with the other older names;
for one record per `cuprum.events.ExecEvent`, the one way here, use
`cuprum.adapters.logging_adapter.structured_logging_hook`.
"""

from __future__ import annotations

from cuprum._older.hook_logging import LoggingHookRegistration, logging_hook  # older

__all__ = ["LoggingHookRegistration", "logging_hook"]
