"""A run's keywords: their types, their defaults, and their checks.

Owns what ``run``, ``run_sync``, ``stream`` and ``stream_sync`` of
`cuprum.pipeline.Pipeline` and `cuprum.pipeline.SafeCmd` accept, in one
place: the keyword types (`CommandKeywords`, `PipelineKeywords` and their
streaming forms, for ``**options: Unpack[...]``), the defaults
(`DEFAULT_DRAIN_TIMEOUT`, `DEFAULT_TERMINATE_GRACE`), `make_request` (every
keyword checked and normalised into a `RunRequest`), `StageSpec` (what
one stage runs) and the checks of an environment overlay and a working
directory (`check_env`, `merge_env`, `check_cwd`), which
`SafeCmd.with_env` and ``with_cwd`` share with the run's keywords.

Invariants: `make_request` raises ``TypeError``, ``ValueError`` or
``LookupError`` for a bad keyword before anything is opened or spawned; a
`RunRequest` and a `StageSpec` are immutable; an overlay is a tuple of
``(name, value)`` pairs, names unique, values ``str`` or ``None`` (remove).
"""

from __future__ import annotations

import codecs
import collections.abc as cabc
import dataclasses as dc
import os
import typing as typ

from cuprum._fdio import check_redirect
from cuprum._options import validate_drain_timeout
from cuprum.results import RunOutputOptions

if typ.TYPE_CHECKING:
    from cuprum._fdio import Redirect, Redirection
    from cuprum._options import ProgressCallback

DEFAULT_DRAIN_TIMEOUT: typ.Final = 0.0
"""Seconds a hop keeps draining its upstream after the downstream left."""

DEFAULT_TERMINATE_GRACE: typ.Final = 1.0
"""Seconds between ``SIGTERM`` and ``SIGKILL`` when stages are terminated."""

EnvOverlay: typ.TypeAlias = tuple[tuple[str, str | None], ...]
"""Variables laid over ``os.environ``: ``(name, value)``, ``None`` removes."""
StrPath: typ.TypeAlias = "str | os.PathLike[str]"


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
    env: cabc.Mapping[str, str | None] | None
    cwd: StrPath | None
    stdin: Redirection
    stderr: Redirection


class CommandKeywords(CommandStreamKeywords, total=False):
    """The keywords of ``SafeCmd.run`` and ``run_sync``."""

    stdout: Redirection


class PipelineStreamKeywords(CommandStreamKeywords, total=False):
    """The keywords of ``Pipeline.stream`` and ``stream_sync``."""

    drain_timeout: float
    on_progress: ProgressCallback | None


class PipelineKeywords(PipelineStreamKeywords, CommandKeywords, total=False):
    """The keywords of ``Pipeline.run`` and ``run_sync``."""


@dc.dataclass(frozen=True, slots=True)
class StageSpec:
    """What one stage runs: argv, program, its own overlay and directory.

    The overlay is applied after the run's; a ``cwd`` of ``None`` means the
    run's.
    """

    argv: tuple[str, ...]
    program: str
    env: EnvOverlay = ()
    cwd: StrPath | None = None


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
    env: EnvOverlay = ()
    cwd: StrPath | None = None
    stdin: Redirect | None = None
    stdout: Redirect | None = None
    stderr: Redirect | None = None


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
    env: cabc.Mapping[str, str | None] | None = None,
    cwd: StrPath | None = None,
    stdin: Redirection = None,
    stdout: Redirection = None,
    stderr: Redirection = None,
) -> RunRequest:
    """Check a run's keywords and return them as a `RunRequest`.

    See `cuprum.pipeline.Pipeline.run` for what each keyword means.

    Raises
    ------
    TypeError
        For an ``env`` that is not a mapping of ``str`` to ``str`` or
        ``None``, a ``cwd`` that is not a ``str`` path, or a redirection
        of the wrong type (see `cuprum._fdio.check_redirect`).
    ValueError
        For a negative or NaN ``timeout`` or ``drain_timeout``, a bad
        variable name or value (see `check_env`), ``stdin`` with
        ``input``, or a bad redirection.
    OSError
        For a redirection to a descriptor that is not open that way.
    LookupError
        For an unknown encoding.

    """
    options = _merge_output_options(output, capture, echo, text)
    codecs.lookup(options.encoding)  # an unknown encoding fails before spawning
    if timeout is not None and not timeout >= 0:
        msg = f"timeout must be None or a number >= 0, got {timeout}"
        raise ValueError(msg)
    if stdin is not None and input is not None:
        msg = (
            "stdin= and input= cannot both be given: input= is the first stage's stdin"
        )
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
        env=() if env is None else check_env(env, "env"),
        cwd=None if cwd is None else check_cwd(cwd, "cwd"),
        stdin=check_redirect("stdin", stdin),
        stdout=check_redirect("stdout", stdout),
        stderr=check_redirect("stderr", stderr),
    )


def check_env(overlay: object, what: str) -> EnvOverlay:
    """Check an environment overlay and return it as ``(name, value)`` pairs.

    Raises
    ------
    TypeError
        When ``overlay`` is not a mapping, or a name is not a ``str``, or a
        value is neither ``str`` nor ``None`` (``what`` names the keyword).
    ValueError
        When a name is empty or holds ``=`` or NUL, or a value holds NUL.

    """
    if not isinstance(overlay, cabc.Mapping):
        msg = f"{what} must be a mapping of str to str or None, not {_kind(overlay)}"
        raise TypeError(msg)
    pairs: list[tuple[str, str | None]] = []
    for name, value in overlay.items():
        if not isinstance(name, str):
            msg = f"{what}: variable names must be str, not {_kind(name)} ({name!r})"
            raise TypeError(msg)
        if not name or "=" in name or "\0" in name:
            msg = f"{what}: {name!r} is not a valid variable name (empty, '=' or NUL)"
            raise ValueError(msg)
        if value is not None and not isinstance(value, str):
            msg = f"{what}: {name} must be a str or None, not {_kind(value)}"
            raise TypeError(msg)
        if value is not None and "\0" in value:
            msg = f"{what}: the value of {name} contains a NUL character"
            raise ValueError(msg)
        pairs.append((name, value))
    return tuple(pairs)


def merge_env(*overlays: EnvOverlay) -> EnvOverlay:
    """Merge overlays in order: a later value for a name wins."""
    merged: dict[str, str | None] = {}
    for overlay in overlays:
        merged.update(overlay)
    return tuple(merged.items())


def check_cwd(path: object, what: str) -> StrPath:
    """Check that ``path`` can name a working directory, and return it.

    Whether the directory exists is checked when the run starts.

    Raises
    ------
    TypeError
        When ``path`` is not a ``str`` or ``os.PathLike`` giving a ``str``.
    ValueError
        When it contains a NUL character.

    """
    try:
        text = os.fspath(typ.cast("StrPath", path))
    except TypeError:
        text = None
    if not isinstance(text, str):
        msg = f"{what} must be a str or os.PathLike path, not {_kind(path)}"
        raise TypeError(msg)
    if "\0" in text:
        msg = f"{what} contains a NUL character"
        raise ValueError(msg)
    return typ.cast("StrPath", path)


def _kind(value: object) -> str:
    return type(value).__name__


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
