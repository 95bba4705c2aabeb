"""Whom a run signals, when, and whom it blames: one policy, no I/O.

Owns `Termination`, the whole of behaviour section 11 rules 1 and 2 and of
section 7's SIGPIPE rule for one run. A driver (`cuprum._run.run.Run`) tells it
what happened, with the time it happened, and asks it what to do:

* `exited` (a stage was reaped, with its status), `input_ended` (the hop
  feeding a stage ended: that stage has seen, or will see, EOF),
  `downstream_left` (a stage's reader went away: the hop behind it broke,
  or the caller left the stream) and `end_all` (a timeout, a cancellation,
  a stream left early, a hook or the pump failing: every stage goes);
* `due` answers which signal to send to which stage's process group now,
  `next_deadline` when to ask again; `failure_index`, `signalled` and
  `excused` are the verdict once every stage is reaped.

The rules, in the order they are applied:

1. A stage that exits 0 is fine. A stage cuprum signalled is never blamed,
   whatever status it exits with (``trap 'exit 20' TERM`` included). A
   stage that ends by ``SIGPIPE`` (or a shell's 141) after its downstream
   left is excused. Any other non-zero status is a failure of its own.
2. When stage i fails on its own, every stage before it still running is
   terminated at once: nothing it writes can reach the result. A stage
   after it is not signalled while its input flows; once its input has
   ended it has `grace` seconds to end on its own, then it is terminated.
3. `end_all` terminates every stage still running at once.
4. Terminating is ``SIGTERM`` to the stage's group, then ``SIGKILL`` if it
   is still running `grace` seconds later. A stage that has already exited
   (not yet reaped) is never signalled: its own status stands.

Invariants: no stage is sent a signal after it was reaped; each stage is
sent ``SIGTERM`` at most once and ``SIGKILL`` at most once, ``SIGKILL``
never before its ``SIGTERM``; a stage is marked signalled exactly when a
signal is handed out for it. This module does no I/O and reads no clock:
times come in as arguments.
"""

from __future__ import annotations

import dataclasses as dc
import signal
import typing as typ

from cuprum.results import SIGPIPE_CODES

if typ.TYPE_CHECKING:
    import collections.abc as cabc


@dc.dataclass(slots=True)
class _Stage:
    """What the policy knows of one stage."""

    reaped: bool = False
    term_at: float | None = None
    """When ``SIGTERM`` is due (``None``: not scheduled)."""
    kill_at: float | None = None
    """When ``SIGKILL`` is due (set when ``SIGTERM`` is sent)."""
    signalled: bool = False
    input_ended_at: float | None = None
    downstream_left: bool = False
    own_failure: bool = False
    excused: bool = False


class Termination:
    """The termination policy of one run of ``count`` stages (see module)."""

    def __init__(self, count: int, grace: float) -> None:
        self._grace = grace
        self._stages = [_Stage() for _ in range(count)]
        self._first_failure: int | None = None

    # -- what happened ---------------------------------------------------------

    def exited(self, index: int, code: int, now: float) -> None:
        """Note that stage ``index`` was reaped with exit status ``code``."""
        stage = self._stages[index]
        stage.reaped = True
        stage.term_at = stage.kill_at = None
        if code == 0:
            return
        if stage.signalled:
            return  # never blamed, whatever its status
        if code in SIGPIPE_CODES and self._downstream_gone(index):
            stage.excused = True
            return
        stage.own_failure = True
        if self._first_failure is None or index < self._first_failure:
            self._first_failure = index
        for before in self._stages[:index]:
            self._terminate(before, now)
        for after in self._stages[index + 1 :]:
            if after.input_ended_at is not None:
                self._terminate(after, after.input_ended_at + self._grace)

    def input_ended(self, index: int, now: float) -> None:
        """Note that the input of stage ``index`` (the hop before it) ended."""
        stage = self._stages[index]
        stage.input_ended_at = now
        failure = self._first_failure
        if failure is not None and failure < index:
            self._terminate(stage, now + self._grace)

    def downstream_left(self, index: int) -> None:
        """Note that whoever reads stage ``index``'s stdout went away."""
        self._stages[index].downstream_left = True

    def end_all(self, now: float) -> None:
        """End the run: every stage still running is terminated at once."""
        for stage in self._stages:
            self._terminate(stage, now)

    # -- what to do ------------------------------------------------------------

    def due(
        self, now: float, has_exited: cabc.Callable[[int], bool]
    ) -> list[tuple[int, signal.Signals]]:
        """Return the signals to send at ``now``, as (stage, signal), in order.

        ``has_exited(index)`` says whether a stage has exited but is not yet
        reaped; such a stage is spared (rule 4).
        """
        sends: list[tuple[int, signal.Signals]] = []
        for index, stage in enumerate(self._stages):
            if stage.reaped:
                continue
            if stage.term_at is not None and stage.term_at <= now:
                stage.term_at = None
                if has_exited(index):
                    continue
                stage.signalled = True
                stage.kill_at = now + self._grace
                sends.append((index, signal.SIGTERM))
            elif stage.kill_at is not None and stage.kill_at <= now:
                stage.kill_at = None
                sends.append((index, signal.SIGKILL))
        return sends

    def next_deadline(self) -> float | None:
        """Return when `due` next has something to say (``None``: nothing)."""
        times = [
            moment
            for stage in self._stages
            if not stage.reaped
            for moment in (stage.term_at, stage.kill_at)
            if moment is not None
        ]
        return min(times, default=None)

    # -- the verdict -----------------------------------------------------------

    @property
    def failure_index(self) -> int | None:
        """The lowest index among stages that failed on their own."""
        return self._first_failure

    def own_failure(self, index: int) -> bool:
        """Say whether stage ``index`` failed on its own."""
        return self._stages[index].own_failure

    def signalled(self, index: int) -> bool:
        """Say whether cuprum signalled stage ``index`` (it was terminated)."""
        return self._stages[index].signalled

    def excused(self, index: int) -> bool:
        """Say whether stage ``index`` ended by SIGPIPE after its reader left."""
        return self._stages[index].excused

    # -- internals -------------------------------------------------------------

    def _terminate(self, stage: _Stage, at: float) -> None:
        """Schedule ``SIGTERM`` for ``stage`` at ``at`` (the earlier time wins)."""
        if stage.reaped or stage.signalled:
            return
        if stage.term_at is None or at < stage.term_at:
            stage.term_at = at

    def _downstream_gone(self, index: int) -> bool:
        """Say whether stage ``index``'s reader left (its SIGPIPE is excused)."""
        if self._stages[index].downstream_left:
            return True
        after = index + 1
        return after < len(self._stages) and self._stages[after].reaped
