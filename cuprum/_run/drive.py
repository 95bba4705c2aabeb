"""Driving a run to its end: awaited on an asyncio loop, or on this thread.

Owns `run_stages` (``await pipeline.run()``) and `run_stages_sync`
(``pipeline.run_sync()``), and `Waiting`, how either side waits for a
`cuprum._run.run.Run` to move on. The run itself (`cuprum._run.run`) is the same
for both: it acts in callbacks on a reactor; here the asynchronous side
gives it the running loop and awaits a future, the synchronous side gives
it this thread's `cuprum._pumps.reactor.SelectReactor` and polls until it is
done, with no event loop (behaviour section 11 rule 7).

Invariants: both return or raise only once the run is `closed` (every
stage reaped, every descriptor closed), whatever ends them: the result, a
timeout, an error, a cancellation or a Ctrl-C. A cancellation (or a
``KeyboardInterrupt``) that arrives during the clean-up is raised after it.
"""

from __future__ import annotations

import typing as typ

from cuprum._pumps.reactor import for_this_thread
from cuprum._run.run import Run
from cuprum._run.wiring import prepare

if typ.TYPE_CHECKING:
    import asyncio
    import collections.abc as cabc

    from cuprum._pumps.reactor import Reactor, SelectReactor
    from cuprum._run.observer import Observer
    from cuprum._run.request import RunRequest, StageSpec
    from cuprum.results import PipelineResult


def _made(
    stages: cabc.Sequence[StageSpec],
    request: RunRequest,
    observer: Observer | None,
    reactor: Reactor,
) -> Run:
    if not stages:
        msg = "a pipeline needs at least one stage"
        raise ValueError(msg)
    return Run(prepare(stages, request, observer), request, reactor, observer=observer)


def _over(run: Run) -> cabc.Callable[[], bool]:
    return lambda: run.settled or run.expired


async def run_stages(
    stages: cabc.Sequence[StageSpec],
    request: RunRequest,
    observer: Observer | None = None,
) -> PipelineResult[typ.Any]:
    """Run ``stages`` as one pipeline; see `cuprum.pipeline.Pipeline.run`.

    A failed stage is in the result; ``check=True`` is the caller's to apply.
    ``observer`` is told the run's events (`cuprum._run.observer`).
    """
    import asyncio  # noqa: PLC0415 - on first use: import cost

    run = _made(stages, request, observer, asyncio.get_running_loop())
    normal = False
    try:
        run.start()
        await wait_async(run, _over(run))
        normal = not run.expired
    finally:
        try:
            await close_async(run, abnormal=not normal)
        finally:
            if observer is not None:
                await observer.finish()
    run.raise_errors()
    return run.result()


def run_stages_sync(
    stages: cabc.Sequence[StageSpec],
    request: RunRequest,
    observer: Observer | None = None,
) -> PipelineResult[typ.Any]:
    """`run_stages` on this thread, with no event loop (see module)."""
    with for_this_thread() as reactor:
        run = _made(stages, request, observer, reactor)
        normal = False
        try:
            run.start()
            reactor.run_until(_over(run))
            normal = not run.expired
        finally:
            try:
                close_sync(run, reactor, abnormal=not normal)
            finally:
                if observer is not None:
                    observer.finish_sync()
    run.raise_errors()
    return run.result()


async def wait_async(run: Run, done: cabc.Callable[[], bool]) -> None:
    """Wait on the running loop until ``done()`` (checked as the run moves on)."""
    import asyncio  # noqa: PLC0415 - on first use: import cost

    while not done():
        moved: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake(moved: asyncio.Future[None] = moved) -> None:
            if not moved.done():
                moved.set_result(None)

        run.changed = wake
        try:
            await moved
        finally:
            run.changed = _nothing


async def close_async(run: Run, *, abnormal: bool) -> None:
    """Clean ``run`` up to its end; a cancellation meanwhile is raised after."""
    import asyncio  # noqa: PLC0415 - on first use: import cost

    run.close(abnormal=abnormal)
    cancelled = False
    while not run.closed:
        try:
            await wait_async(run, lambda: run.closed)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


def close_sync(run: Run, reactor: SelectReactor, *, abnormal: bool) -> None:
    """Clean ``run`` up to its end; a Ctrl-C meanwhile is raised after."""
    run.close(abnormal=abnormal)
    interrupted: KeyboardInterrupt | None = None
    while not run.closed:
        try:
            reactor.run_until(lambda: run.closed)
        except KeyboardInterrupt as error:
            interrupted = error
    if interrupted is not None:
        raise interrupted


def _nothing() -> None:
    """Wake no one."""
