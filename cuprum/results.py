"""What a run returns and raises: the public value types of commands and pipelines.

Owns `RunOutputOptions` (what a run does with output), `StageResult`,
`PipelineResult`, `CommandResult`, `TimeoutExpired`, `PipelineError` (a
failed run under ``check=True``) and `ProgramNotFoundError`.

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
class StageResult:
    """How one stage of a pipeline ended.

    Attributes
    ----------
    argv
        The stage's arguments, program first.
    exit_code
        The exit status; negative ``-N`` when ended by signal ``N``.
    pid
        The stage's process id (also its process group id).
    stderr
        The stage's stderr (``str``, or ``bytes`` with ``text=False``), or
        ``None`` when not captured or routed elsewhere.
    ok
        True when the stage exited 0, or ended by ``SIGPIPE`` because its
        downstream left (not a failure, contract section 7).
    terminated
        True when the stage died of a signal cuprum sent it (``SIGTERM`` or
        ``SIGKILL``: fail-fast, timeout or cancellation). A stage that
        exited with a status of its own was not terminated, whoever
        signalled it.

    """

    argv: tuple[str, ...]
    exit_code: int
    pid: int
    stderr: str | bytes | None
    ok: bool
    terminated: bool = False


@dc.dataclass(frozen=True, slots=True)
class PipelineResult:
    """How a pipeline ended.

    Attributes
    ----------
    stdout
        The last stage's stdout (``str``, or ``bytes`` with ``text=False``),
        or ``None`` when not captured or sent elsewhere.
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

    stdout: str | bytes | None
    stages: list[StageResult]
    failure_index: int | None
    hop_bytes: tuple[int, ...] = ()
    hop_seconds: tuple[float, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no stage failed on its own."""
        return self.failure_index is None

    @property
    def exit_codes(self) -> tuple[int, ...]:
        """Every stage's exit code, in order."""
        return tuple(stage.exit_code for stage in self.stages)


@dc.dataclass(frozen=True, slots=True)
class CommandResult:
    """How a single command ended.

    Attributes
    ----------
    argv
        The command's arguments, program first.
    exit_code
        The exit status; negative ``-N`` when ended by signal ``N``.
    pid
        The process id.
    stdout, stderr
        The output (``str``, or ``bytes`` with ``text=False``), or ``None``
        when not captured or sent elsewhere.

    """

    argv: tuple[str, ...]
    exit_code: int
    pid: int
    stdout: str | bytes | None
    stderr: str | bytes | None

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.exit_code == 0


class TimeoutExpired(subprocess.TimeoutExpired):
    """A run outlived its ``timeout``; every stage has been ended and reaped.

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

    def __init__(self, timeout: float, result: PipelineResult) -> None:
        stderr = _joined([stage.stderr for stage in result.stages])
        super().__init__([], timeout, output=result.stdout, stderr=stderr)
        # One argv per stage, where subprocess's holds one command's.
        self.cmd: list[list[str]] = [list(stage.argv) for stage in result.stages]
        self.result = result

    def __str__(self) -> str:
        """Say which pipeline timed out and after how long."""
        shown = " | ".join(" ".join(stage.argv) for stage in self.result.stages)
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

    def __init__(self, result: PipelineResult) -> None:
        if result.failure_index is None:
            msg = "PipelineError needs a result that failed"
            raise ValueError(msg)
        stage = result.stages[result.failure_index]
        super().__init__(
            stage.exit_code, list(stage.argv), output=result.stdout, stderr=stage.stderr
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
        failed = " ".join(stages[self.failure_index].argv)
        if len(stages) == 1:
            return f"{failed!r} {how}"
        shown = " | ".join(" ".join(stage.argv) for stage in stages)
        return f"stage {self.failure_index} ({failed!r}) of {shown!r} {how}"


def _joined(parts: list[str | bytes | None]) -> str | bytes | None:
    """Concatenate the parts that are not ``None`` (all ``str`` or all ``bytes``)."""
    present = [part for part in parts if part is not None]
    if not present:
        return None
    if isinstance(present[0], bytes):
        return b"".join(typ.cast("list[bytes]", present))
    return "".join(typ.cast("list[str]", present))
