"""One pipeline run: spawn the stages, wire and pump the hops, judge, clean up.

The machinery behind `cuprum.pipeline.Pipeline.run` and ``run_sync`` (and
so `cuprum.sh.SafeCmd.run`, a one-stage pipeline): `Run` holds one run's
state from spawn to clean-up; its plan and descriptors (`prepare`, its
stages and hops, the pipes) are `cuprum._run.wiring`'s. A `Run` never waits: it acts in
callbacks on a reactor (`cuprum._pumps.reactor`), an asyncio loop for ``run``
and ``stream``, a plain ``selectors`` poll on the caller's thread for
``run_sync`` and ``stream_sync`` (behaviour section 11 rule 7). The drivers
(`cuprum._run.drive`, `cuprum._run.output`) start it and wait on their side.

How a run goes (behaviour sections 7 and 9):

* every working directory is checked and every program resolved on its
  stage's ``PATH`` before anything is opened or spawned;
* the redirections are opened (``stdin=``, ``stdout=``, ``stderr=``) and
  each stage is spawned (``cuprum._run.child``: no reaper thread) in a process
  group of its own (``process_group=0``), so a signal reaches all of it;
  the first stage reads ``/dev/null``, ``input=`` or ``stdin=``;
* each hop (stage i stdout -> stage i+1 stdin) is two pipes made by this
  process (``O_CLOEXEC``, enlarged to 1 MiB where allowed); the parent pumps
  the first pipe's read end into the second's write end, every hop of the
  run in one batch started on the run's reactor (`cuprum._pumps.calls.start_pumps`);
  ``on_pair_done`` closes hop i's two parent ends the moment hop i ends,
  which gives stage i+1 its EOF
  (or, after a bounded drain behind a broken downstream, ends stage i by
  ``SIGPIPE``);
* the last stage's stdout (unless redirected or streamed) and every
  stage's stderr (unless redirected) are read concurrently from pipes of
  this process, with the reactor's ``add_reader``; each stage's exit is
  seen through its pidfd, watched the same way;
* whom to signal, when, and whom to blame is `cuprum._run.termination`'s
  (behaviour section 11 rules 1 and 2): when a stage fails on its own, the
  stages before it are terminated (``SIGTERM`` to each process group, a
  grace period, then ``SIGKILL``) and those after it finish on its output;
  a timeout, a cancellation or a stream left early ends every stage. This
  module only tells the policy what happened and sends what it says;
* an observed run (`cuprum._run.observer.Observer`) tells each stage's spawn,
  exit and output lines read here; a hook's failure ends the run as a
  failing stage does, and is raised after the clean-up.

Invariants:

* every descriptor the run creates is owned by one `cuprum._run.fdio.Fd` and
  closed exactly once, by whichever of spawn, ``on_pair_done`` or the final
  clean-up comes first; the clean-up runs on every path (success, failure,
  timeout, cancellation, spawn error);
* `Run.closed` turns true only after every stage it spawned is reaped (or,
  never seen to exit, killed and abandoned), the pump batch is over and
  every descriptor it made is closed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import typing as typ

from cuprum._pumps.calls import start_pumps
from cuprum._pumps.errors import EngineError
from cuprum._run.child import (
    in_terminal_foreground,
    process_tree,
    spawn,
)
from cuprum._run.fdio import Capture, Fd, Fds, Reader, Writer, readers_gone
from cuprum._run.termination import Termination
from cuprum._run.wiring import Hop, Stage, open_ends, stage_ends
from cuprum.results import (
    PipelineResult,
    ProgramNotFoundError,
    RunOutputOptions,
    StageResult,
    TimeoutExpired,
)

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._pumps.awaiting import Pumping
    from cuprum._pumps.reactor import Handle, Reactor
    from cuprum._run.observer import Observer
    from cuprum._run.request import RunRequest

_SETTLE_BOUND: typ.Final = 2.0
"""Seconds clean-up waits for pumps and readers once every stage is reaped."""
_REAP_BOUND: typ.Final = 2.0
"""Seconds clean-up waits, past the grace, to see stages exit before abandoning them."""
_DROP: typ.Final = RunOutputOptions(capture=False)
"""Output read only so that its writer never stalls."""
_log = logging.getLogger("cuprum.pipeline")
"""The run's logger, named for the public module users configure."""


class Run:
    """The state of one pipeline run, from spawn to clean-up, on a reactor.

    Everything here happens in callbacks on ``reactor`` (an asyncio loop or
    a synchronous run's `cuprum._pumps.reactor.SelectReactor`); nothing awaits.
    A driver (`cuprum._run.drive`) calls `start`, waits until `settled` (or
    `expired`), calls `close`, waits until `closed`, then reads `result`.
    `changed` is called after everything that may have moved the run on.
    """

    def __init__(
        self,
        stages: list[Stage],
        request: RunRequest,
        reactor: Reactor,
        *,
        stream: bool = False,
        observer: Observer | None = None,
    ) -> None:
        options = request.output
        self._reactor = reactor
        self._options = options
        self._grace = request.terminate_grace
        self._request = request
        self._stages = stages
        self._observer = observer
        self._policy = Termination(len(stages), request.terminate_grace)
        self._police_at: Handle | None = None
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
        self._hops: list[Hop] = []
        self._pumping: Pumping | None = None
        self._io: list[Reader | Writer] = []
        self._io_error: BaseException | None = None
        self._progress_closed = False
        self._close_error: Exception | None = None
        self._started = time.monotonic()
        self._deadline: Handle | None = None
        self._deadline_at: float | None = None
        self._grouped = True
        """Each stage in a process group of its own (not at a terminal)."""
        self.expired = False
        """The run's ``timeout`` passed before it settled (every stage is ended)."""
        self._closing = False
        self._reaping_over = False
        self._bound: Handle | None = None
        self.closed = False
        """The clean-up is over: every stage reaped, every descriptor closed."""
        self.changed: cabc.Callable[[], object] = _nothing
        """Called after anything that may have moved the run on (for drivers)."""

    # -- start ---------------------------------------------------------------

    def start(self) -> None:
        r"""Start the deadline, open the redirections, make the pipes, spawn.

        Then the readers, the input's writer and the hops' pump batch.
        When this raises, the caller still `close`\ s the run.
        """
        self._grouped = not in_terminal_foreground()
        timeout = self._request.timeout
        if timeout is not None:
            self._deadline_at = self._reactor.time() + timeout
            self._deadline = self._reactor.call_at(self._deadline_at, self._expire)
        ends, self._hops = open_ends(self._request, self._fds, len(self._stages))
        for stage in self._stages:
            streams, made, err_read = stage_ends(
                stage, ends, self._hops, self._fds, self._request
            )
            self._spawn(stage, streams, made)
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
            self._io.append(
                Writer(self._reactor, data, ends.feed[1], told, self._io_ended)
            )
        if self._hops:
            self._pumping = start_pumps(
                self._reactor,
                [(hop.up_read.number, hop.down_write.number) for hop in self._hops],
                drain_timeout=self._request.drain_timeout,
                on_pair_done=self._hop_done,
                on_progress=self._request.on_progress,
            )
            self._pumping.when_ended(self._pump_ended)

    def _read(self, end: Fd, capture: Capture | None) -> None:
        """Read ``end`` to EOF into ``capture`` (dropped when ``None``)."""
        sink = capture if capture is not None else Capture(_DROP, "stdout")
        self._io.append(Reader(self._reactor, end, sink, self._io_ended))

    def _spawn(
        self, stage: Stage, streams: tuple[int | None, int, int], made: list[Fd]
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
                outlive_caller=self._request.outlive_caller,
                new_group=self._grouped,
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
        stage.process.watch(self._reactor, lambda code: self._exited(stage, code))
        if self._observer is not None:
            self._observer.start(stage.index, stage.process.pid)

    # -- while running -------------------------------------------------------

    @property
    def settled(self) -> bool:
        """Every stage is reaped, the pump batch over, every reader and writer done."""
        return (
            all(stage.reaped for stage in self._stages)
            and (self._pumping is None or self._pumping.ended)
            and all(io.done for io in self._io)
        )

    def _pump_ended(self) -> None:
        """Let every stage end when the batch ended early (a callback raised).

        Without its pump no hop would ever see EOF; the parent ends of every
        hop are closed and the stages terminated, and the error propagates
        once they are reaped. Whichever way it ended, the hops are done: the
        progress callback is given each hop's final count (when the batch
        ended normally), then closed.
        """
        pumping = typ.cast("Pumping", self._pumping)
        failed = pumping.error is not None or pumping.outcome.error is not None
        if not failed and not pumping.outcome.abandoned:
            self._final_progress()
        self._close_progress()
        if failed:
            for hop in self._hops:
                hop.up_read.close()
                hop.down_write.close()
            self.end_all()
        self._advance()

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
        self._policy.input_ended(index + 1, self._reactor.time())
        self._police()

    def _io_ended(self, error: BaseException | None) -> None:
        """Note that a reader or writer ended; its error ends the run (raised later)."""
        if error is not None and self._io_error is None:
            self._io_error = error
            self.end_all()
        self._advance()

    def _exited(self, stage: Stage, code: int) -> None:
        stage.returncode = code
        stage.reaped = True
        if self._observer is not None:
            self._observer.exit(stage.index, code)
        self._policy.exited(stage.index, code, self._reactor.time())
        self._police()
        self._advance()

    def _before_reap(self, stage: Stage) -> None:
        """Kill what a signalled stage left in its group, before reaping it.

        The leader is a zombie until it is reaped, so its group id cannot
        have been handed to anyone else yet (after the reaping it could).
        """
        if self._policy.signalled(stage.index) and self._grouped:
            self._signal_group(stage, signal.SIGKILL)

    def end_all(self) -> None:
        """End the run: every stage still running is terminated."""
        self._policy.end_all(self._reactor.time())
        self._police()

    def check_deadline(self) -> None:
        """Expire now if the deadline passed and its timer has not run yet."""
        at = self._deadline_at
        if at is not None and self._reactor.time() >= at and not self._closing:
            self._expire(settled_too=True)

    def _expire(self, *, settled_too: bool = False) -> None:
        """End every stage: the deadline passed (the driver raises the timeout).

        A run already settled is left alone, unless ``settled_too`` (a
        stream left after its deadline times out, however its stages ended).
        """
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._closing or self.expired or (self.settled and not settled_too):
            return
        self.expired = True
        if self._observer is not None:
            self._observer.timeout(self._request.timeout)
        self.end_all()
        self.changed()

    def _police(self) -> None:
        """Send the signals the policy says are due; ask again when it says."""
        if self._police_at is not None:
            self._police_at.cancel()
            self._police_at = None
        for index, signum in self._policy.due(self._reactor.time(), self._has_exited):
            self._signal_group(self._stages[index], signum)
        deadline = self._policy.next_deadline()
        if deadline is not None:
            self._police_at = self._reactor.call_at(deadline, self._police)

    def _has_exited(self, index: int) -> bool:
        """Say whether stage ``index`` has exited (or was never spawned)."""
        process = self._stages[index].process
        return process is None or process.has_exited()

    def _signal_group(self, stage: Stage, signum: int) -> None:
        """Signal everything ``stage`` runs; only while its leader is unreaped.

        Its process group, or, where the stages share this process's group
        (at a terminal, behaviour section 11 rule 4), its process tree.
        """
        process = stage.process
        if process is None or process.returncode is not None:
            return
        if self._grouped:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signum)
            return
        for pid in process_tree(process.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)

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

    # -- the end ---------------------------------------------------------------

    def close(self, *, abnormal: bool) -> None:
        """Begin the clean-up: end every stage still running, then wait, bounded.

        Every stage is reaped within the grace and `_REAP_BOUND` (or
        abandoned), then the pumps and readers are given `_SETTLE_BOUND`;
        `closed` turns true once every descriptor is closed.
        """
        if self._closing:
            return
        self._closing = True
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if abnormal or not all(stage.reaped for stage in self._stages):
            self.end_all()
        self._bound = self._reactor.call_later(
            self._grace + _REAP_BOUND, self._give_up_reaping
        )
        self._advance()

    def _advance(self) -> None:
        """Move the clean-up on as far as what has ended allows."""
        if self._closing and not self.closed:
            if not self._reaping_over and all(s.reaped for s in self._stages):
                self._reaping_over = True
                self._rebound(_SETTLE_BOUND, self._give_up_settling)
            if self._reaping_over and self.settled:
                self._finish()
        self.changed()

    def _rebound(self, seconds: float, then: cabc.Callable[[], None]) -> None:
        if self._bound is not None:
            self._bound.cancel()
        self._bound = self._reactor.call_later(seconds, then)

    def _give_up_reaping(self) -> None:
        """Abandon every stage whose exit was not seen within the bound.

        Every stage has been told to end by now (or exited), and ``SIGKILL``
        follows ``SIGTERM`` within the grace, so this only happens when a
        stage's exit can never be seen; that stage is then killed once more
        and abandoned (its exit status unknown), so the clean-up always ends.
        """
        self._bound = None
        for stage in self._stages:
            if stage.reaped:
                continue
            stage.reaped = True
            if stage.process is not None:
                _log.warning(
                    "stage %d (pid %d) was not seen to exit within %.1f s of "
                    "its termination; abandoned",
                    stage.index,
                    stage.process.pid,
                    self._grace + _REAP_BOUND,
                )
                self._signal_group(stage, signal.SIGKILL)
                stage.process.abandon()
        self._advance()

    def _give_up_settling(self) -> None:
        """Stop the readers, writer and pumps still going (each then ends)."""
        self._bound = None
        for io in self._io:
            io.stop()
        if self._pumping is not None:
            self._pumping.outcome.abandon()
        self._advance()

    def _finish(self) -> None:
        if self._bound is not None:
            self._bound.cancel()
            self._bound = None
        if self._police_at is not None:
            self._police_at.cancel()
            self._police_at = None
        try:
            self._close_progress()  # a run without hops, or whose spawn failed
        finally:
            self._fds.close_all()
            self.closed = True

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

        An error from it is raised after the clean-up (`raise_errors`).
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

    def raise_errors(self) -> None:
        """Raise what ended the run badly, after the clean-up, if anything did.

        In order: the deadline (`TimeoutExpired`, after a hook's error),
        the batch's own failure or its progress callback's error, a
        reader's or writer's error, a hook's, the first error (I/O or the
        engine's) that ended a hop, then an error from the progress
        callback's ``close()``.
        """
        if self.expired:
            if self._observer is not None:
                self._observer.raise_error()
            raise TimeoutExpired(
                typ.cast("float", self._request.timeout), self.result()
            )
        if self._pumping is not None:
            self._pumping.final()  # the batch's own failure, or a callback's
        if self._io_error is not None:
            raise self._io_error
        if self._observer is not None:
            self._observer.raise_error()
        for hop in self._hops:
            if hop.error is not None:
                raise hop.error
        if self._close_error is not None:
            raise self._close_error

    def result(self) -> PipelineResult[typ.Any]:
        """Build the result from what the run saw (partial before the end)."""
        # Typed as the run's codec says; None when not captured (see results).
        stdout: typ.Any = None if self._stdout is None else self._stdout.value()
        last, policy = len(self._stages) - 1, self._policy
        stages = tuple(
            StageResult(
                program=stage.argv[0],
                argv=stage.argv[1:],
                exit_code=_exit_code(stage),
                pid=stage.process.pid if stage.process is not None else -1,
                stdout=stdout if stage.index == last else None,
                stderr=typ.cast(
                    "typ.Any", None if stage.stderr is None else stage.stderr.value()
                ),
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


def _exit_code(stage: Stage) -> int:
    if stage.returncode is not None:
        return stage.returncode
    process = stage.process
    if process is not None and process.returncode is not None:
        return process.returncode
    return -signal.SIGKILL


def _nothing() -> None:
    """Do nothing (the default of `Run.changed`)."""
