"""Waiting on asyncio tasks without being cancelled along with them.

Owns `finish_despite_cancel` (run a clean-up to its end even if the caller
is cancelled meanwhile), `join` (wait for tasks; a cancellation of the
caller does not reach them) and `settle` (let tasks finish within a bound,
then cancel the rest): what a run's clean-up needs so that it always ends
and never abandons a task half-way.

Invariants: none of these cancels a task it waits for, except `settle` once
its bound has passed; a cancellation of the caller is re-raised by
`finish_despite_cancel` only after its coroutine has finished. This module
imports no other part of cuprum.
"""

from __future__ import annotations

import asyncio
import typing as typ

if typ.TYPE_CHECKING:
    import collections.abc as cabc


async def finish_despite_cancel(coro: cabc.Coroutine[object, object, None]) -> None:
    """Run ``coro`` to the end even if this task is cancelled meanwhile.

    A cancellation that arrives meanwhile is re-raised afterwards.
    """
    task = asyncio.ensure_future(coro)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                break
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError


async def join(
    tasks: cabc.Iterable[asyncio.Task[typ.Any] | None], *, raise_errors: bool = True
) -> None:
    """Wait for ``tasks`` (``None`` entries skipped) without cancelling them.

    Unlike ``gather`` or awaiting a task directly, a cancellation of the
    caller does not reach the tasks. The first error is raised afterwards
    unless ``raise_errors`` is false.
    """
    waiting = [task for task in tasks if task is not None]
    if not waiting:
        return
    await asyncio.wait(waiting)
    for task in waiting:
        if not task.cancelled() and task.exception() is not None and raise_errors:
            raise typ.cast("BaseException", task.exception())


async def settle(tasks: list[asyncio.Task[typ.Any]], bound: float) -> None:
    """Let ``tasks`` finish within ``bound`` seconds, then cancel the rest."""
    pending = [task for task in tasks if not task.done()]
    if pending:
        _, still = await asyncio.wait(pending, timeout=bound)
        for task in still:
            task.cancel()
        if still:
            await asyncio.wait(still)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: errors surface through the result
