"""What a run returns and raises: the public value types of commands and pipelines.

Owns `RunOutputOptions` (what a run does with output), `StageResult`,
`PipelineResult`, `CommandResult`, `TimeoutExpired`, `PipelineError` (a
failed run under ``check=True``, and `CommandError` for one command) and
`ProgramNotFoundError`; and the exit statuses of a stage ended by
``SIGPIPE`` (`SIGPIPE_CODES`).

Invariants: the options and results are immutable values (frozen
dataclasses); a result is built from what a run saw once the run is over
(`TimeoutExpired` carries the partial one of a run that was ended). This
module imports no other part of cuprum.
"""

from __future__ import annotations

import dataclasses as dc
import signal
import subprocess
import typing as typ

_T = typ.TypeVar("_T", str, bytes)
"""What a run's output is: ``str`` (text, the default) or ``bytes``."""

SIGPIPE_CODES: typ.Final = (-signal.SIGPIPE, 128 + signal.SIGPIPE)
"""The exit statuses of a stage ended by ``SIGPIPE`` (directly, or a shell's)."""


class ProgramNotFoundError(FileNotFoundError):
    """A catalogued program is not installed: ``PATH`` has no such executable."""


@dc.dataclass(frozen=True, slots=True)
class RunOutputOptions:
    """What a run does with the stages' output.

    Parameters
    ----------
    capture
        Keep stdout (of the last stage) and every stage's stderr, and return
        them (as text, or as bytes without ``text``). Without it they are
        still read (a stage never stalls) but dropped, and the results carry
        ``None``.
    echo
        Copy the output, as it arrives, to this process's ``sys.stdout`` and
        ``sys.stderr`` (decoded), or with ``text=False`` as raw bytes to
        their ``buffer``.
    encoding, errors
        How bytes become text (`bytes.decode` arguments); also how a ``str``
        given as ``input=`` is encoded.
    text
        True: captured output is decoded to ``str``. False: it is returned
        as ``bytes``, exactly as the programs wrote it.

    """

    capture: bool = True
    echo: bool = False
    encoding: str = "utf-8"
    errors: str = "replace"
    text: bool = True


@dc.dataclass(frozen=True, slots=True)
class CommandResult(typ.Generic[_T]):
    """How a single command ended: ``CommandResult[str]``, or ``[bytes]``.

    The type parameter is the output's type, as ``subprocess``'s
    ``CompletedProcess[str]`` is: ``run_sync()`` gives a ``CommandResult[str]``
    and ``run_sync(text=False)`` a ``CommandResult[bytes]``. As there, an
    output that was not captured or went elsewhere (``capture=False``,
    ``stdout=``, ``stderr=``) is ``None`` whatever the type says.

    Attributes
    ----------
    program
        The program that ran.
    argv
        Its arguments, the program not among them (see `argv_with_program`).
    exit_code
        The exit status; negative ``-N`` when ended by signal ``N``.
    pid
        The process id (``-1`` when the process never started).
    stdout, stderr
        The output (``str``, or ``bytes`` with ``text=False``), or ``None``
        when not captured or sent elsewhere.

    """

    program: str
    argv: tuple[str, ...]
    exit_code: int
    pid: int
    stdout: _T
    stderr: _T

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.exit_code == 0

    @property
    def argv_with_program(self) -> tuple[str, ...]:
        """The whole argument vector the process got: the program first."""
        return (self.program, *self.argv)


@dc.dataclass(frozen=True, slots=True)
class StageResult(CommandResult[_T]):
    """How one stage of a pipeline ended: a `CommandResult`, and two facts more.

    ``stdout`` is the last stage's captured output and ``None`` for the
    others (their stdout went to the next stage).

    Attributes
    ----------
    excused
        True when the stage ended by ``SIGPIPE`` because its downstream left
        (not a failure, behaviour section 7).
    terminated
        True when cuprum signalled the stage (``SIGTERM``, then ``SIGKILL``
        after the grace: fail-fast, timeout, cancellation, a stream left
        early). Such a stage is never a failure of its own, whatever
        status it then exits with (it may catch ``SIGTERM`` and exit 0,
        or 20 as rsync does).

    """

    excused: bool = False
    terminated: bool = False

    @property
    def ok(self) -> bool:
        """True when the stage exited 0, or was excused (see ``excused``)."""
        return self.exit_code == 0 or self.excused


@dc.dataclass(frozen=True, slots=True)
class PipelineResult(typ.Generic[_T]):
    """How a pipeline ended: ``PipelineResult[str]``, or ``[bytes]``.

    The type parameter is the output's type (see `CommandResult`).

    Attributes
    ----------
    stages
        One `StageResult` per stage, in pipeline order.
    failure_index
        The lowest index among stages that failed on their own (not by
        cuprum's termination, not by ``SIGPIPE`` after their downstream
        left); ``None`` when none did.
    hop_bytes
        Bytes cuprum pumped through each hop (stage i -> stage i+1).
    hop_seconds
        Seconds from the start of the run to the end of each hop.

    """

    stages: tuple[StageResult[_T], ...]
    failure_index: int | None = None
    hop_bytes: tuple[int, ...] = ()
    hop_seconds: tuple[float, ...] = ()

    @property
    def final(self) -> StageResult[_T]:
        """The last stage's result."""
        return self.stages[-1]

    @property
    def failure(self) -> StageResult[_T] | None:
        """The stage at ``failure_index``, or ``None`` when none failed."""
        if self.failure_index is None:
            return None
        return self.stages[self.failure_index]

    @property
    def stdout(self) -> _T:
        """The last stage's stdout (``str``, or ``bytes`` with ``text=False``).

        ``None`` when not captured or sent elsewhere.
        """
        return self.final.stdout

    @property
    def stderr(self) -> _T:
        """Every stage's captured stderr, joined in stage order.

        What ``2>&1`` of every stage into one terminal would show, stage by
        stage (``str``, or ``bytes`` with ``text=False``); ``None`` when no
        stage's stderr was captured. A stage's own is on ``stages[i]``;
        the failing stage's is ``failure.stderr`` (and `PipelineError`'s).
        """
        return typ.cast("_T", _joined([stage.stderr for stage in self.stages]))

    @property
    def ok(self) -> bool:
        """True when no stage failed on its own."""
        return self.failure_index is None

    @property
    def exit_codes(self) -> tuple[int, ...]:
        """Every stage's exit code, in order."""
        return tuple(stage.exit_code for stage in self.stages)


class TimeoutExpired(subprocess.TimeoutExpired, TimeoutError):  # noqa: N818 - subprocess's name
    """A run outlived its ``timeout``; every stage has been ended and reaped.

    Both a `subprocess.TimeoutExpired` and a `TimeoutError` (as the older
    cuprum's was), so either ``except`` clause catches it.

    Attributes
    ----------
    cmd
        Every stage's argv, in pipeline order: a list of lists of ``str``
        (one inner list for a single command), not the one argv a
        ``subprocess`` timeout holds.
    timeout
        The timeout, in seconds.
    output, stdout
        The last stage's stdout captured before the end (``None`` when not
        captured).
    stderr
        Every stage's captured stderr, concatenated in stage order (``str``,
        or ``bytes`` with ``text=False``; ``None`` when none was captured).
    result
        The partial `PipelineResult`: per-stage exit codes and stderr.

    """

    def __init__(self, timeout: float, result: PipelineResult[typ.Any]) -> None:
        stderr = _joined([stage.stderr for stage in result.stages])
        super().__init__([], timeout, output=result.stdout, stderr=stderr)
        # One argv per stage, where subprocess's holds one command's.
        self.cmd: list[list[str]] = [
            list(stage.argv_with_program) for stage in result.stages
        ]
        self.result = result

    def __str__(self) -> str:
        """Say which pipeline timed out and after how long."""
        shown = " | ".join(
            " ".join(stage.argv_with_program) for stage in self.result.stages
        )
        return f"{shown!r} timed out after {self.timeout} seconds"


class PipelineError(subprocess.CalledProcessError):
    """A run under ``check=True`` whose result is not ``ok``.

    Raised after the clean-up: every stage has been reaped.

    Attributes
    ----------
    returncode
        The failing stage's exit status (negative ``-N``: killed by signal
        ``N``).
    cmd
        The failing stage's argv, a list of ``str``.
    output, stdout
        The last stage's captured stdout (``None`` when not captured).
    stderr
        The failing stage's captured stderr (``None`` when not captured).
    failure_index
        The failing stage's index (`PipelineResult.failure_index`).
    result
        The whole `PipelineResult`.

    """

    def __init__(self, result: PipelineResult[typ.Any]) -> None:
        if result.failure_index is None:
            msg = "PipelineError needs a result that failed"
            raise ValueError(msg)
        stage = result.stages[result.failure_index]
        super().__init__(
            stage.exit_code,
            list(stage.argv_with_program),
            output=result.stdout,
            stderr=stage.stderr,
        )
        self.failure_index: int = result.failure_index
        self.result = result

    def __str__(self) -> str:
        """Say which stage failed, in which pipeline, and how."""
        code = self.returncode
        how = f"exited with status {code}"
        if code < 0:
            try:
                how = f"died of {signal.Signals(-code).name}"
            except ValueError:
                how = f"died of signal {-code}"
        stages = self.result.stages
        failed = " ".join(stages[self.failure_index].argv_with_program)
        if len(stages) == 1:
            return f"{failed!r} {how}"
        shown = " | ".join(" ".join(stage.argv_with_program) for stage in stages)
        return f"stage {self.failure_index} ({failed!r}) of {shown!r} {how}"


class CommandError(PipelineError):
    """The `PipelineError` of a single command (``SafeCmd.run``, ``check=True``).

    The same attributes; ``except PipelineError`` catches it too.
    """


def _joined(parts: list[str | bytes | None]) -> str | bytes | None:
    """Concatenate the parts that are not ``None`` (all ``str`` or all ``bytes``)."""
    present = [part for part in parts if part is not None]
    if not present:
        return None
    if isinstance(present[0], bytes):
        return b"".join(typ.cast("list[bytes]", present))
    return "".join(typ.cast("list[str]", present))


__all__ = [
    "CommandError",
    "CommandResult",
    "PipelineError",
    "PipelineResult",
    "ProgramNotFoundError",
    "RunOutputOptions",
    "StageResult",
    "TimeoutExpired",
]
