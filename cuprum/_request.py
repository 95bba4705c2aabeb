"""A run's keywords: their types, their defaults, and their checks.

Owns what ``run``, ``run_sync``, ``stream`` and ``stream_sync`` of
`cuprum.pipeline.Pipeline` and `cuprum.pipeline.SafeCmd` accept, in one
place: the keyword types (`CommandKeywords`, `PipelineKeywords` and their
streaming forms, for ``**options: Unpack[...]``), the defaults
(`DEFAULT_DRAIN_TIMEOUT`, `DEFAULT_TERMINATE_GRACE`), `make_request` (every
keyword checked and normalised into a `RunRequest`) and `StageSpec` (what
one stage runs).

Invariants: `make_request` raises ``TypeError``, ``ValueError`` or
``LookupError`` for a bad keyword before anything is opened or spawned; a
`RunRequest` and a `StageSpec` are immutable.
"""

from __future__ import annotations

import codecs
import dataclasses as dc
import typing as typ

from cuprum._options import validate_drain_timeout
from cuprum.results import RunOutputOptions

if typ.TYPE_CHECKING:
    from cuprum._options import ProgressCallback

DEFAULT_DRAIN_TIMEOUT: typ.Final = 0.0
"""Seconds a hop keeps draining its upstream after the downstream left."""

DEFAULT_TERMINATE_GRACE: typ.Final = 1.0
"""Seconds between ``SIGTERM`` and ``SIGKILL`` when stages are terminated."""


class CommandStreamKeywords(typ.TypedDict, total=False):
    """The keywords of ``SafeCmd.stream`` and ``stream_sync``."""

    output: RunOutputOptions | None
    capture: bool | None
    echo: bool | None
    text: bool | None
    check: bool
    timeout: float | None
    terminate_grace: float
    input: bytes | str | None


class CommandKeywords(CommandStreamKeywords, total=False):
    """The keywords of ``SafeCmd.run`` and ``run_sync``."""


class PipelineStreamKeywords(CommandStreamKeywords, total=False):
    """The keywords of ``Pipeline.stream`` and ``stream_sync``."""

    drain_timeout: float
    on_progress: ProgressCallback | None


class PipelineKeywords(PipelineStreamKeywords, CommandKeywords, total=False):
    """The keywords of ``Pipeline.run`` and ``run_sync``."""


@dc.dataclass(frozen=True, slots=True)
class StageSpec:
    """What one stage runs: its argv and the program to find on ``PATH``."""

    argv: tuple[str, ...]
    program: str


@dc.dataclass(frozen=True, slots=True)
class RunRequest:
    """Every keyword of one run, checked (see `make_request`)."""

    output: RunOutputOptions
    check: bool
    timeout: float | None
    drain_timeout: float | None
    terminate_grace: float
    on_progress: ProgressCallback | None
    input: bytes | None


def make_request(  # noqa: PLR0913 - every keyword of a run, defaulted
    *,
    output: RunOutputOptions | None = None,
    capture: bool | None = None,
    echo: bool | None = None,
    text: bool | None = None,
    check: bool = False,
    timeout: float | None = None,
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
    terminate_grace: float = DEFAULT_TERMINATE_GRACE,
    on_progress: ProgressCallback | None = None,
    input: bytes | str | None = None,  # noqa: A002 - subprocess's name
) -> RunRequest:
    """Check a run's keywords and return them as a `RunRequest`.

    See `cuprum.pipeline.Pipeline.run` for what each keyword means.

    Raises
    ------
    ValueError
        For a negative or NaN ``timeout`` or ``drain_timeout``.
    LookupError
        For an unknown encoding.

    """
    options = _merge_output_options(output, capture, echo, text)
    codecs.lookup(options.encoding)  # an unknown encoding fails before spawning
    if timeout is not None and not timeout >= 0:
        msg = f"timeout must be None or a number >= 0, got {timeout}"
        raise ValueError(msg)
    data = input.encode(options.encoding) if isinstance(input, str) else input
    return RunRequest(
        output=options,
        check=bool(check),
        timeout=timeout,
        drain_timeout=validate_drain_timeout(drain_timeout),
        terminate_grace=terminate_grace,
        on_progress=on_progress,
        input=data,
    )


def _merge_output_options(
    output: RunOutputOptions | None,
    capture: bool | None,
    echo: bool | None,
    text: bool | None,
) -> RunOutputOptions:
    """Return ``output`` (or the defaults) with the shorthands applied."""
    options = output if output is not None else RunOutputOptions()
    if capture is not None:
        options = dc.replace(options, capture=capture)
    if echo is not None:
        options = dc.replace(options, echo=echo)
    if text is not None:
        options = dc.replace(options, text=text)
    return options
