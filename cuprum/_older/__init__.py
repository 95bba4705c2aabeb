"""The older cuprum's names for things this package does one way: one layer.

Each name here is a thin form of the one way the users' guide teaches, kept
so that code written against the older cuprum runs unchanged (behaviour
section 10); `docs/migrating.md` has the table of them. The public modules
re-export each where the older cuprum had it, in one marked line, and
define none of them.

`names` holds the context's and the run's older names (`get_context`,
`merge_env_overlays`, `resolve_env`, `IOOptions`, ``Pipeline.parts``);
`commands` the command builder's (`SafeCmdBuilder`, `build_argv`);
`hook_logging` the older ``logging_hook``. Not here, and marked as older
names where they are: ``ExecutionContext.cancel_grace``, a field of a
frozen dataclass (`cuprum._run.request`, where a run reads it as
``terminate_grace``); the adapters' ``metrics_hook`` and ``tracing_hook``,
factories of classes their own modules define; and the older catalogue's
constants (`cuprum.catalogue`), which are data.
"""
