"""One pipeline run: spawn the stages, wire and pump the hops, judge, clean up.

Owns `run_stages`, the machinery behind `cuprum.pipeline.Pipeline.run` (and
so `cuprum.sh.SafeCmd.run`, a one-stage pipeline): `prepare` checks that
every stage can start, `Run` holds one run's state from spawn to clean-up,
`_Stage` and `_Hop` its stages and hops. `cuprum._stream` drives a `Run`
whose last stdout the caller reads.

How a run goes (contract sections 7 and 9):

* every working directory is checked and every program resolved on its
  stage's ``PATH`` before anything is opened or spawned;
* the redirections are opened (``stdin=``, ``stdout=``, ``stderr=``) and
  each stage is spawned (``cuprum._child``: no reaper thread) in a process
  group of its own (``process_group=0``), so a signal reaches all of it;
  the first stage reads ``/dev/null``, ``input=`` or ``stdin=``;
* each hop (stage i stdout -> stage i+1 stdin) is two pipes made by this
  process (``O_CLOEXEC``, enlarged to 1 MiB where allowed); the parent pumps
  the first pipe's read end into the second's write end, every hop of the
  run in one `cuprum.pump_many_async` batch; ``on_pair_done`` closes hop
  i's two parent ends the moment hop i ends, which gives stage i+1 its EOF
  (or, after a bounded drain behind a broken downstream, ends stage i by
  ``SIGPIPE``);
* the last stage's stdout (unless redirected or streamed) and every
  stage's stderr (unless redirected) are read concurrently from pipes of
  this process, with ``loop.add_reader``;
* whom to signal, when, and whom to blame is `cuprum._termination`'s
  (contract section 11 rules 1 and 2): when a stage fails on its own, the
  stages before it are terminated (``SIGTERM`` to each process group, a
  grace period, then ``SIGKILL``) and those after it finish on its output;
  a timeout, a cancellation or a stream left early ends every stage. This
  module only tells the policy what happened and sends what it says;
* an observed run (`cuprum._observe.Observer`) tells each stage's spawn,
  exit and output lines read here; a hook's failure ends the run as a
  failing stage does, and is raised after the clean-up.

Invariants:

* every descriptor the run creates is owned by one `cuprum._fdio.Fd` and
  closed exactly once, by whichever of spawn, ``on_pair_done`` or the final
  clean-up comes first; the clean-up runs on every path (success, failure,
  timeout, cancellation, spawn error);
* `run_stages` returns or raises only after every stage it spawned is
  reaped, the pump batch is over and every descriptor it made is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses as dc
import logging
import os
import signal
import time
import typing as typ

from cuprum._child import Child, check_directory, resolve, spawn
from cuprum._errors import EngineError
from cuprum._fdio import Capture, Fd, Fds, read_into, readers_gone, write_from
from cuprum._pump import pump_many_async
from cuprum._request import merge_env
from cuprum._tasks import finish_despite_cancel, join, settle
from cuprum._termination import Termination
from cuprum.results import (
    PipelineResult,
    ProgramNotFoundError,
    RunOutputOptions,
    StageResult,
    TimeoutExpired,
)

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._observe import Observer
    from cuprum._request import EnvOverlay, RunRequest, StageSpec, StrPath

_SETTLE_BOUND: typ.Final = 2.0
"""Seconds clean-up waits for pumps and readers once every stage is reaped."""
_REAP_BOUND: typ.Final = 2.0
"""Seconds clean-up waits, past the grace, to see stages exit before abandoning them."""
_DROP: typ.Final = RunOutputOptions(capture=False)
"""Output read only so that its writer never stalls."""
_log = logging.getLogger("cuprum.pipeline")
"""The run's logger, named for the public module users configure."""


async def run_stages(
    stages: cabc.Sequence[StageSpec],
    request: RunRequest,
    observer: Observer | None = None,
) -> PipelineResult:
    """Run ``stages`` as one pipeline; see `cuprum.pipeline.Pipeline.run`.

    A failed stage is in the result; ``check=True`` is the caller's to apply.
    ``observer`` is told the run's events (`cuprum._observe`).
    """
    if not stages:
        msg = "a pipeline needs at least one stage"
        raise ValueError(msg)
    run = Run(prepare(stages, request, observer), request, observer=observer)
    normal_end = False
    deadline = asyncio.timeout(request.timeout)
    try:
        async with deadline:
            await run.start()
            await run.wait()
        normal_end = True
    except TimeoutError:
        if not deadline.expired():
            raise
        if observer is not None:
            observer.timeout(request.timeout)
    finally:
        await finish_despite_cancel(run.shutdown(abnormal=not normal_end))
    if observer is not None:
        observer.raise_error()
    if not normal_end:
        raise TimeoutExpired(typ.cast("float", request.timeout), run.result())
    run.raise_hop_error()
    return run.result()


def prepare(
    stages: cabc.Sequence[StageSpec],
    request: RunRequest,
    observer: Observer | None = None,
) -> list[_Stage]:
    """Check every stage can start; nothing is opened or spawned yet.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        When a stage's working directory is missing or not a directory.
    ProgramNotFoundError
        When a program is not found on its stage's ``PATH``.

    """
    prepared = []
    for index, spec in enumerate(stages):
        env = merge_env(request.env, spec.env)
        cwd = spec.cwd if spec.cwd is not None else request.cwd
        if cwd is not None:
            check_directory(cwd, "working directory")
        executable = resolve(spec.program, env)
        capture = None
        if request.stderr is None:
            lines = (
                observer.lines(index, "stderr", request.output) if observer else None
            )
            capture = Capture(request.output, "stderr", request.stderr_sink, lines)
        prepared.append(_Stage(index, spec.argv, executable, capture, env, cwd))
    return prepared


# ---------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------


@dc.dataclass(slots=True)
class _Hop:
    """Stage i stdout -> parent -> stage i+1 stdin."""

    up_read: Fd
    up_write: Fd
    down_read: Fd
    down_write: Fd
    downstream_gone: bool = False
    error: OSError | EngineError | None = None
    written: int = 0
    ended_at: float | None = None


@dc.dataclass(slots=True)
class _Ends:
    """The run's own ends of its standard streams (hops apart).

    ``first_in``, ``last_out`` and ``shared_err`` are the redirections
    (opened, or the caller's); ``out`` is the pipe the last stage writes
    when its stdout is not redirected, ``feed`` the one ``input=`` goes
    through.
    """

    first_in: int | None = None
    last_out: int | None = None
    shared_err: int | None = None
    out: tuple[Fd, Fd] | None = None
    feed: tuple[Fd, Fd] | None = None


@dc.dataclass(slots=True)
class _Stage:
    index: int
    argv: tuple[str, ...]
    executable: str
    stderr: Capture | None
    env: EnvOverlay = ()
    cwd: StrPath | None = None
    process: Child | None = None
    watcher: asyncio.Task[None] | None = None
    returncode: int | None = None


class Run:
    """The state of one pipeline run, from spawn to clean-up."""

    def __init__(
        self,
        stages: list[_Stage],
        request: RunRequest,
        *,
        stream: bool = False,
        observer: Observer | None = None,
    ) -> None:
        options = request.output
        self._options = options
        self._drain_timeout = request.drain_timeout
        self._grace = request.terminate_grace
        self._request = request
        self._stages = stages
        self._observer = observer
        self._policy = Termination(len(stages), request.terminate_grace)
        self._police_at: asyncio.TimerHandle | None = None
        last_lines = observer.attach(self.end_all, request) if observer else None
        self.stream_lines = last_lines if stream else None
        """What tells the streamed stdout's lines, when the run is observed."""
        self._stdout: Capture | None = None
        if request.stdout is None and not stream:
            self._stdout = Capture(options, "stdout", request.stdout_sink, last_lines)
        self._stream = stream
        self.stream_end: Fd | None = None
        """The read end of the last stage's stdout, when a caller streams it."""
        self.reader_left = False
        """The caller stopped reading the stream: the last stage's downstream left."""
        self._fds = Fds()
        self._hops: list[_Hop] = []
        self._pump: asyncio.Task[object] | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._progress_closed = False
        self._close_error: Exception | None = None
        self._started = time.monotonic()

    # -- start ---------------------------------------------------------------

    async def start(self) -> None:
        """Open the redirections, make the pipes, spawn, start pumps and readers."""
        ends = self._open_ends()
        for stage in self._stages:
            streams, made, err_read = self._stage_ends(stage, ends)
            await self._spawn(stage, streams, made)
            # Readers start once the writer is in a child (and closed here), so
            # a failed spawn leaves no reader waiting for an EOF that never comes.
            if err_read is not None:
                self._read(err_read, stage.stderr)
        if ends.out is not None and self._stream:
            self.stream_end = ends.out[0]
        elif ends.out is not None:
            self._read(ends.out[0], self._stdout)
        if ends.feed is not None:
            data = typ.cast("bytes", self._request.input)
            told = self._observer.stdin_written if self._observer else None
            self._readers.append(
                asyncio.create_task(write_from(data, ends.feed[1], told))
            )
        if self._hops:
            self._pump = asyncio.create_task(
                pump_many_async(
                    [(hop.up_read.number, hop.down_write.number) for hop in self._hops],
                    drain_timeout=self._drain_timeout,
                    on_pair_done=self._hop_done,
                    on_progress=self._request.on_progress,
                )
            )
            self._pump.add_done_callback(self._pump_ended)

    def _open_ends(self) -> _Ends:
        """Open the redirections and make every pipe of the run."""
        request, fds = self._request, self._fds
        ends = _Ends()
        if request.stdin is not None:
            ends.first_in = request.stdin.open(fds)
        if request.stdout is not None:
            ends.last_out = request.stdout.open(fds)
        if request.stderr is not None and not request.stderr.join_stdout:
            ends.shared_err = request.stderr.open(fds)
        for _ in range(len(self._stages) - 1):
            up_read, up_write = fds.pipe(enlarge=True)
            down_read, down_write = fds.pipe(enlarge=True)
            self._hops.append(_Hop(up_read, up_write, down_read, down_write))
        if ends.last_out is None:
            ends.out = fds.pipe()
        if request.input is not None:
            ends.feed = fds.pipe()
        return ends

    def _stage_ends(
        self, stage: _Stage, ends: _Ends
    ) -> tuple[tuple[int | None, int, int], list[Fd], Fd | None]:
        """Say what ``stage`` reads, writes and errs to.

        Returns its three descriptors, the run's pipe ends that go to it
        alone (closed here once it is spawned) and the read end of its own
        stderr pipe (``None`` when its stderr is routed).
        """
        made: list[Fd] = []
        hops, index = self._hops, stage.index
        stdin, stdout = ends.first_in, ends.last_out
        feed, out = ends.feed, ends.out
        upstream = hops[index - 1].down_read if index else feed and feed[0]
        if upstream:
            made.append(upstream)
            stdin = upstream.number
        downstream = hops[index].up_write if index < len(hops) else out and out[1]
        if downstream:
            made.append(downstream)
            stdout = downstream.number
        if stdout is None:
            msg = "a stage has nowhere to write"  # unreachable: out or last_out
            raise AssertionError(msg)
        err_read: Fd | None = None
        if self._request.stderr is None:
            err_read, err_write = self._fds.pipe()
            made.append(err_write)
            stderr = err_write.number
        else:
            stderr = stdout if ends.shared_err is None else ends.shared_err
        return (stdin, stdout, stderr), made, err_read

    def _read(self, end: Fd, capture: Capture | None) -> None:
        """Read ``end`` to EOF into ``capture`` (dropped when ``None``)."""
        sink = capture if capture is not None else Capture(_DROP, "stdout")
        self._readers.append(asyncio.create_task(read_into(end, sink)))

    async def _spawn(
        self, stage: _Stage, streams: tuple[int | None, int, int], made: list[Fd]
    ) -> None:
        """Spawn ``stage`` on ``streams``; close ``made`` (its ends) either way."""
        stdin, stdout, stderr = streams
        if self._observer is not None:
            self._observer.plan(stage.index)  # a hook failing raises: no spawn
        try:
            stage.process = spawn(
                stage.argv,
                executable=stage.executable,
                env=stage.env,
                cwd=stage.cwd,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
            )
        except FileNotFoundError as error:
            if error.filename != stage.executable:
                raise  # not the program: the working directory went away
            msg = f"program {stage.argv[0]!r} could not be started: {error.strerror}"
            raise ProgramNotFoundError(error.errno, msg, stage.executable) from error
        finally:
            # The child holds its own copies now (or was never made).
            for end in made:
                end.close()
        stage.process.before_reap = lambda: self._before_reap(stage)
        stage.watcher = asyncio.create_task(self._watch(stage))
        if self._observer is not None:
            self._observer.start(stage.index, stage.process.pid)

    # -- while running -------------------------------------------------------

    def _pump_ended(self, pump: asyncio.Task[object]) -> None:
        """Let every stage end when the batch ended early (a callback raised).

        Without its pump no hop would ever see EOF; the parent ends of every
        hop are closed and the stages terminated, and the error propagates
        from `wait` once they are reaped. Whichever way it ended, the hops
        are done: the progress callback is given each hop's final count
        (when the batch ended normally), then closed.
        """
        if not pump.cancelled() and pump.exception() is None:
            self._final_progress()
        self._close_progress()
        if pump.cancelled() or pump.exception() is None:
            return
        for hop in self._hops:
            hop.up_read.close()
            hop.down_write.close()
        self.end_all()

    def _hop_done(self, index: int, result: int | OSError | EngineError) -> None:
        """Hop ``index`` ended: close its parent ends (EOF downstream, SIGPIPE up)."""
        hop = self._hops[index]
        hop.ended_at = time.monotonic()
        if isinstance(result, (OSError, EngineError)):
            # The hop's I/O failed, or the engine failed it: the run's error.
            hop.error = result
            hop.downstream_gone = True
        elif isinstance(result, int):
            hop.written = result
        if hop.error is None and hop.down_write.fd is not None:
            hop.downstream_gone = readers_gone(hop.down_write.fd)
        if hop.downstream_gone:
            self._policy.downstream_left(index)
        hop.up_read.close()
        hop.down_write.close()
        self._policy.input_ended(index + 1, _now())
        self._police()

    async def _watch(self, stage: _Stage) -> None:
        process = typ.cast("Child", stage.process)
        stage.returncode = code = await process.wait()
        if self._observer is not None:
            self._observer.exit(stage.index, code)
        self._policy.exited(stage.index, code, _now())
        self._police()

    def _before_reap(self, stage: _Stage) -> None:
        """Kill what a signalled stage left in its group, before reaping it.

        The leader is a zombie until it is reaped, so its group id cannot
        have been handed to anyone else yet (after the reaping it could).
        """
        if self._policy.signalled(stage.index):
            self._signal_group(stage, signal.SIGKILL)

    def end_all(self) -> None:
        """End the run: every stage still running is terminated."""
        self._policy.end_all(_now())
        self._police()

    def _police(self) -> None:
        """Send the signals the policy says are due; ask again when it says."""
        if self._police_at is not None:
            self._police_at.cancel()
            self._police_at = None
        for index, signum in self._policy.due(_now(), self._has_exited):
            self._signal_group(self._stages[index], signum)
        deadline = self._policy.next_deadline()
        if deadline is not None:
            loop = asyncio.get_running_loop()
            self._police_at = loop.call_at(deadline, self._police)

    def _has_exited(self, index: int) -> bool:
        """Say whether stage ``index`` has exited (or was never spawned)."""
        process = self._stages[index].process
        return process is None or process.has_exited()

    @staticmethod
    def _running(stage: _Stage) -> bool:
        process = stage.process
        return process is not None and process.returncode is None

    @staticmethod
    def _signal_group(stage: _Stage, signum: int) -> None:
        """Signal ``stage``'s process group; only while its leader is unreaped."""
        process = stage.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)

    def leave_stream(self) -> None:
        """Note that the caller stopped reading the stream before its end.

        That counts as the last stage's downstream leaving (the SIGPIPE
        rule); what is still written is read and dropped, as a cancelled
        run's output is, so no stage stalls while it is ended.
        """
        self.reader_left = True
        self._policy.downstream_left(len(self._stages) - 1)
        end = self.stream_end
        if end is not None and end.fd is not None:
            self._read(end, None)

    async def wait(self) -> None:
        """Wait until every stage ended, the pump batch and every reader too.

        Cancelling this leaves the tasks it waits for running (`cuprum._tasks.join`):
        `shutdown` still needs them to reap the stages and collect output.
        """
        await join(stage.watcher for stage in self._stages)
        await join([self._pump])
        await join(self._readers)

    # -- the end ---------------------------------------------------------------

    async def shutdown(self, *, abnormal: bool) -> None:
        """End and reap every stage, settle pump and readers, close every fd."""
        try:
            if abnormal or any(self._running(stage) for stage in self._stages):
                self.end_all()
            await self._reap_within(self._grace + _REAP_BOUND)
            if self._police_at is not None:
                self._police_at.cancel()
            tasks: list[asyncio.Task[typ.Any]] = [*self._readers]
            if self._pump is not None:
                tasks.append(self._pump)
            await settle(tasks, _SETTLE_BOUND)
            self._close_progress()  # a run without hops, or whose spawn failed
            if self._observer is not None:
                await self._observer.finish()
        finally:
            self._fds.close_all()

    def _final_progress(self) -> None:
        """Report every hop's final count, so the last report is the total.

        A run shorter than the progress interval gets this one report; an
        error from the callback is raised after the clean-up, as one from
        ``close()`` is.
        """
        on_progress = self._request.on_progress
        if on_progress is None or self._progress_closed:
            return
        try:
            on_progress([hop.written for hop in self._hops])
        except Exception as error:  # noqa: BLE001 - raised after the clean-up
            self._close_error = error

    def _close_progress(self) -> None:
        """Call the progress callback's ``close()``, if it has one, once.

        An error from it is raised after the clean-up (`raise_hop_error`).
        """
        if self._progress_closed:
            return
        self._progress_closed = True
        close = getattr(self._request.on_progress, "close", None)
        if callable(close):
            try:
                close()
            except Exception as error:  # noqa: BLE001 - raised after the clean-up
                self._close_error = error

    async def _reap_within(self, bound: float) -> None:
        """Wait at most ``bound`` seconds for every stage's watcher.

        Every stage has been told to end by now (or exited), and ``SIGKILL``
        follows ``SIGTERM`` within the grace, so this only waits long when
        a stage's exit can never be seen; that stage is then killed once
        more and abandoned (its watcher cancelled, its exit status
        unknown), so the clean-up always ends.
        """
        watchers = [stage.watcher for stage in self._stages if stage.watcher]
        if not watchers:
            return
        _, pending = await asyncio.wait(watchers, timeout=bound)
        for stage in self._stages:
            if stage.watcher in pending and stage.process is not None:
                _log.warning(
                    "stage %d (pid %d) was not seen to exit within %.1f s of "
                    "its termination; abandoned",
                    stage.index,
                    stage.process.pid,
                    bound,
                )
                self._signal_group(stage, signal.SIGKILL)
                stage.process.abandon()
        for watcher in pending:
            watcher.cancel()
        if pending:
            await asyncio.wait(pending)

    def raise_hop_error(self) -> None:
        """Raise the first error (I/O or the engine's) that ended a hop, if any.

        Then an error from the progress callback's ``close()``, if any.
        """
        for hop in self._hops:
            if hop.error is not None:
                raise hop.error
        if self._close_error is not None:
            raise self._close_error

    def result(self) -> PipelineResult:
        """Build the result from what the run saw (partial before the end)."""
        stdout = None if self._stdout is None else self._stdout.value()
        last, policy = len(self._stages) - 1, self._policy
        stages = tuple(
            StageResult(
                program=stage.argv[0],
                argv=stage.argv[1:],
                exit_code=_exit_code(stage),
                pid=stage.process.pid if stage.process is not None else -1,
                stdout=stdout if stage.index == last else None,
                stderr=None if stage.stderr is None else stage.stderr.value(),
                excused=policy.excused(stage.index),
                terminated=policy.signalled(stage.index),
            )
            for stage in self._stages
        )
        return PipelineResult(
            stages=stages,
            failure_index=policy.failure_index,
            hop_bytes=tuple(hop.written for hop in self._hops),
            hop_seconds=tuple(
                (hop.ended_at or time.monotonic()) - self._started for hop in self._hops
            ),
        )


def _exit_code(stage: _Stage) -> int:
    if stage.returncode is not None:
        return stage.returncode
    process = stage.process
    if process is not None and process.returncode is not None:
        return process.returncode
    return -signal.SIGKILL


def _now() -> float:
    """Return the running loop's clock (the policy's times and the timers')."""
    return asyncio.get_running_loop().time()
