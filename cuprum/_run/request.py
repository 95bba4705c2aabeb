"""A run's keywords: their types, their defaults, and their checks.

Owns what ``run``, ``run_sync``, ``stream`` and ``stream_sync`` of
`cuprum.pipeline.Pipeline` and `cuprum.pipeline.SafeCmd` accept, in one
place: the older cuprum's bundles of them (`ExecutionContext`,
`StdinInput`), the keyword types (`CommandKeywords`, `PipelineKeywords` and their
streaming forms, for ``**options: Unpack[...]``), the defaults
(`DEFAULT_DRAIN_TIMEOUT`, `DEFAULT_TERMINATE_GRACE`), `make_request` (every
keyword checked and normalised into a `RunRequest`), `StageSpec` (what
one stage runs) and the checks of an environment overlay and a working
directory (`check_env`, `merge_env`, `check_cwd`), which
`SafeCmd.with_env` and ``with_cwd`` share with the run's keywords.

How a run's settings combine (`make_request`): a keyword given wins over
the ``context=`` `ExecutionContext`, which wins over the current scope
(`cuprum.context`); environment overlays stack, lowest first: the scope's
``env()`` overlays, ``ExecutionContext.env``, ``env=``, then each
command's `SafeCmd.with_env`, all laid over ``os.environ`` as it is at
spawn time.

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

from cuprum._pumps.options import check_seconds, check_timeout, validate_drain_timeout
from cuprum._run import env as _env
from cuprum._run.fdio import check_redirect
from cuprum.results import RunOutputOptions

if typ.TYPE_CHECKING:
    from cuprum._pumps.options import ProgressCallback
    from cuprum._run.fdio import Redirect, Redirection

DEFAULT_DRAIN_TIMEOUT: typ.Final = 0.0
"""Seconds a hop keeps draining its upstream after the downstream left."""

DEFAULT_TERMINATE_GRACE: typ.Final = 1.0
"""Seconds between ``SIGTERM`` and ``SIGKILL`` when stages are terminated."""

EnvOverlay: typ.TypeAlias = tuple[tuple[str, str | None], ...]
"""Variables laid over ``os.environ``: ``(name, value)``, ``None`` removes."""
StrPath: typ.TypeAlias = "str | os.PathLike[str]"

_DEFAULT_OUTPUT: typ.Final = RunOutputOptions()


class ScopeDefaults(typ.Protocol):
    """What a run takes from the scope it starts in (a `cuprum.CuprumContext`)."""

    @property
    def timeout(self) -> float | None:
        """The scope's default timeout."""

    @property
    def env_overlay(self) -> cabc.Mapping[str, str | None] | None:
        """The scope's ``env()`` overlays, merged."""


@dc.dataclass(frozen=True, slots=True)
class ExecutionContext:
    """Settings of one run, in one value (the older cuprum's ``context=``).

    Each field is the default of a keyword of ``run`` (a keyword given
    wins) and wins over the current scope's setting.

    Attributes
    ----------
    env
        Variables laid over the live ``os.environ`` (over a scope's
        ``env()`` overlays, under ``env=``); ``None`` removes one.
    cwd
        The working directory of every stage (``cwd=``).
    cancel_grace
        Seconds between ``SIGTERM`` and ``SIGKILL`` when stages are ended:
        the older cuprum's name (docs/migrating.md) for the run's
        ``terminate_grace=``, with the same default, 1 s.
    timeout
        Seconds the run may take (``timeout=``; over a scope's timeout).
    stdout_sink, stderr_sink
        Text streams echoed output goes to (``sys.stdout``/``sys.stderr``
        when ``None``) when echo is on.
    encoding, errors
        How output is decoded and ``StdinInput.text`` encoded; where they
        differ from ``"utf-8"``/``"replace"`` they win over ``output=``'s.
    tags
        Metadata added to every `cuprum.events.ExecEvent` of the run.

    """

    env: cabc.Mapping[str, str | None] | None = None
    cwd: StrPath | None = None
    cancel_grace: float = DEFAULT_TERMINATE_GRACE
    timeout: float | None = None
    stdout_sink: typ.IO[str] | None = None
    stderr_sink: typ.IO[str] | None = None
    encoding: str = "utf-8"
    errors: str = "replace"
    tags: cabc.Mapping[str, object] | None = None

    def __post_init__(self) -> None:
        """Check the grace: a finite number of seconds, not negative."""
        object.__setattr__(
            self,
            "cancel_grace",
            check_seconds(self.cancel_grace, "ExecutionContext.cancel_grace"),
        )


@dc.dataclass(frozen=True, slots=True)
class StdinInput:
    """Data for a command's standard input: ``text`` or ``data``, not both.

    ``text`` is encoded with the run's encoding and errors; ``data`` is
    written as it is.

    Raises
    ------
    ValueError
        If both are given.
    TypeError
        If ``text`` is not a ``str`` or ``data`` not bytes-like.

    """

    text: str | None = None
    data: bytes | None = None

    def __post_init__(self) -> None:
        """Refuse both at once, and the wrong types."""
        if self.text is not None and self.data is not None:
            msg = "text and data cannot both be provided (StdinInput takes one)"
            raise ValueError(msg)
        if self.text is not None and not isinstance(self.text, str):
            msg = f"StdinInput.text must be a str, not {type(self.text).__name__}"
            raise TypeError(msg)
        if self.data is not None and not isinstance(self.data, bytes | bytearray):
            msg = f"StdinInput.data must be bytes, not {type(self.data).__name__}"
            raise TypeError(msg)

    def resolve(self, context: ExecutionContext) -> bytes | None:
        """Return the bytes to write: ``text`` encoded as ``context`` says."""
        if self.text is not None:
            return self.text.encode(context.encoding, context.errors)
        return None if self.data is None else bytes(self.data)


class _RunKeywords(typ.TypedDict, total=False):
    """The keywords every run takes but the output's codec (`_Codec`)."""

    capture: bool | None
    echo: bool | None
    check: bool
    timeout: float | None
    terminate_grace: float | None
    input: bytes | bytearray | memoryview | str | None
    env: cabc.Mapping[str, str | None] | None
    cwd: StrPath | None
    stdin: Redirection | StdinInput
    stderr: Redirection
    context: ExecutionContext | None
    outlive_caller: bool


class _Codec(typ.TypedDict, total=False):
    """The keywords that say whether the output is ``str`` or ``bytes``."""

    output: RunOutputOptions | None
    text: bool | None


class _HopKeywords(typ.TypedDict, total=False):
    """The keywords of a run with hops (a pipeline)."""

    drain_timeout: float
    on_progress: ProgressCallback | None


class CommandStreamKeywords(_RunKeywords, _Codec, total=False):
    """The keywords of ``SafeCmd.stream`` and ``stream_sync``."""


class PlainCommandKeywords(_RunKeywords, total=False):
    """`CommandKeywords` but ``output`` and ``text`` (the typed overloads')."""

    stdout: Redirection


class CommandKeywords(PlainCommandKeywords, _Codec, total=False):
    """The keywords of ``SafeCmd.run`` and ``run_sync``."""


class PipelineStreamKeywords(CommandStreamKeywords, _HopKeywords, total=False):
    """The keywords of ``Pipeline.stream`` and ``stream_sync``."""


class PlainPipelineKeywords(PlainCommandKeywords, _HopKeywords, total=False):
    """`PipelineKeywords` but ``output`` and ``text`` (the typed overloads')."""


class PipelineKeywords(PlainPipelineKeywords, _Codec, total=False):
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
    stdout_sink: typ.IO[str] | None = None
    stderr_sink: typ.IO[str] | None = None
    tags: cabc.Mapping[str, object] = dc.field(default_factory=dict)
    outlive_caller: bool = False


_SUBPROCESS_SPELLINGS: typ.Final = {
    "capture_output": "output is captured by default; capture=False drops it",
    "shell": (
        "cuprum runs no shell, by design: pass each argument separately, "
        "join commands with |, and use stdin=/stdout= for redirections"
    ),
    "universal_newlines": "output is text by default; text=False gives bytes",
    "encoding": "use output=RunOutputOptions(encoding=...)",
    "errors": "use output=RunOutputOptions(errors=...)",
    "executable": "the catalogue names the program (sh.make(program))",
    "preexec_fn": "not supported: cuprum runs no Python code in the child",
    "start_new_session": "every stage already runs in a process group of its own",
    "close_fds": "a stage gets its three standard streams and nothing else",
}
"""What a `subprocess` keyword is in cuprum, for the error that refuses it."""


def _input_bytes(given: object, encoding: str) -> bytes | None:
    """Return ``input=`` as the bytes to write (``None``: no input).

    Raises
    ------
    TypeError
        For anything but ``str`` and bytes-like values, at once: a list, a
        generator or an open file would otherwise be written as nothing and
        leave the first stage waiting for input.

    """
    if given is None or isinstance(given, bytes):
        return given
    if isinstance(given, str):
        return given.encode(encoding)
    if isinstance(given, bytearray | memoryview):
        return bytes(given)
    msg = (
        "input= must be str or bytes-like (bytes, bytearray, memoryview), "
        f"not {type(given).__name__}; to feed a file or a stream, pass "
        "stdin= a path, a file object or a descriptor"
    )
    raise TypeError(msg)


def check_keywords(options: cabc.Mapping[str, object], caller: str) -> None:
    """Refuse a keyword ``caller`` does not take, saying what to use instead.

    Raises
    ------
    TypeError
        Naming ``caller`` and the keyword; for a `subprocess` keyword, the
        cuprum spelling (or why there is none).

    """
    known = _RUN_KEYWORDS
    for name in options:
        if name in known:
            continue
        hint = _SUBPROCESS_SPELLINGS.get(name)
        msg = f"{caller}() got an unexpected keyword argument {name!r}"
        if hint is not None:
            msg += f" (a subprocess keyword: {hint})"
        raise TypeError(msg)


def make_request(  # noqa: PLR0913 - every keyword of a run, defaulted
    *,
    output: RunOutputOptions | None = None,
    capture: bool | None = None,
    echo: bool | None = None,
    text: bool | None = None,
    check: bool = False,
    timeout: float | None = None,
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
    terminate_grace: float | None = None,
    on_progress: ProgressCallback | None = None,
    input: bytes | bytearray | memoryview | str | None = None,  # noqa: A002 - subprocess's name
    env: cabc.Mapping[str, str | None] | None = None,
    cwd: StrPath | None = None,
    stdin: Redirection | StdinInput = None,
    stdout: Redirection = None,
    stderr: Redirection = None,
    context: ExecutionContext | None = None,
    scope: ScopeDefaults | None = None,
    outlive_caller: bool = False,
) -> RunRequest:
    """Check a run's keywords and return them as a `RunRequest`.

    See `cuprum.pipeline.Pipeline.run` for what each keyword means;
    ``scope`` is the context the run starts in (a `cuprum.CuprumContext`;
    its timeout and overlay are defaults too).

    Raises
    ------
    TypeError
        For an ``env`` that is not a mapping of ``str`` to ``str`` or
        ``None``, a ``cwd`` that is not a ``str`` path, or a redirection
        of the wrong type (see `cuprum._run.fdio.check_redirect`).
    ValueError
        For a NaN ``timeout``, a negative or NaN ``drain_timeout``, a bad
        variable name or value (see `check_env`), ``stdin`` with
        ``input``, or a bad redirection.
    OSError
        For a redirection to a descriptor that is not open that way.
    LookupError
        For an unknown encoding.

    """
    if context is not None and not isinstance(context, ExecutionContext):
        msg = f"context= must be an ExecutionContext, not {type(context).__name__}"
        raise TypeError(msg)
    given = context or ExecutionContext()
    options = _with_context_codec(
        _merge_output_options(output, capture, echo, text), given
    )
    codecs.lookup(options.encoding)  # an unknown encoding fails before spawning
    if isinstance(stdin, StdinInput):
        if input is not None:
            msg = "stdin=StdinInput(...) and input= cannot both be given"
            raise ValueError(msg)
        codec = dc.replace(given, encoding=options.encoding, errors=options.errors)
        input, stdin = stdin.resolve(codec), None  # noqa: A001
    if timeout is None:
        timeout = given.timeout if given.timeout is not None else _scope_timeout(scope)
    if terminate_grace is None:
        terminate_grace = given.cancel_grace
    if cwd is None:
        cwd = given.cwd
    timeout = check_timeout(timeout, "timeout", passed=True)
    if stdin is not None and input is not None:
        msg = (
            "stdin= and input= cannot both be given: input= is the first stage's stdin"
        )
        raise ValueError(msg)
    data = _input_bytes(input, options.encoding)
    return RunRequest(
        output=options,
        check=bool(check),
        timeout=timeout,
        drain_timeout=validate_drain_timeout(drain_timeout),
        terminate_grace=check_seconds(terminate_grace, "terminate_grace"),
        on_progress=on_progress,
        input=data,
        env=merge_env(
            _overlay(None if scope is None else scope.env_overlay, "env() scope"),
            _overlay(given.env, "ExecutionContext.env"),
            _overlay(env, "env"),
        ),
        cwd=None if cwd is None else check_cwd(cwd, "cwd"),
        stdin=check_redirect("stdin", stdin),
        stdout=check_redirect("stdout", stdout),
        stderr=check_redirect("stderr", stderr),
        stdout_sink=given.stdout_sink,
        stderr_sink=given.stderr_sink,
        tags=dict(given.tags or {}),
        outlive_caller=_flag(outlive_caller, "outlive_caller"),
    )


def _flag(value: object, name: str) -> bool:
    """Return ``value`` if it is a ``bool``.

    Raises
    ------
    TypeError
        When it is not.

    """
    if not isinstance(value, bool):
        msg = f"{name} must be True or False, not {type(value).__name__}"
        raise TypeError(msg)
    return value


def _overlay(overlay: object, what: str) -> EnvOverlay:
    return () if overlay is None else check_env(overlay, what)


def _scope_timeout(scope: ScopeDefaults | None) -> float | None:
    return None if scope is None else scope.timeout


def _with_context_codec(
    options: RunOutputOptions, context: ExecutionContext
) -> RunOutputOptions:
    """Return ``options`` with ``context``'s encoding and errors where set.

    An `ExecutionContext` field that differs from its default wins; a
    default leaves ``options``' own value.
    """
    encoding, errors = options.encoding, options.errors
    if context.encoding != _DEFAULT_OUTPUT.encoding:
        encoding = context.encoding
    if context.errors != _DEFAULT_OUTPUT.errors:
        errors = context.errors
    if (encoding, errors) == (options.encoding, options.errors):
        return options
    return dc.replace(options, encoding=encoding, errors=errors)


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


_Config = typ.TypeVar("_Config")


def config_or_fields(
    call: str,
    kind: type[_Config],
    config: object,
    fields: cabc.Mapping[str, object],
) -> _Config | None:
    """Return a call's options, given as a ``kind`` object or as its fields.

    The older cuprum's calls take either (``scoped(ScopeConfig(...))`` or
    ``scoped(allowlist=...)``); ``None`` when neither was given.

    Raises
    ------
    TypeError
        When both are given, ``config`` is not a ``kind``, or a keyword is
        not one of ``kind``'s fields.

    """
    name = kind.__name__
    if fields:
        if config is not None:
            msg = f"{call} takes a {name} or its fields as keywords, not both"
            raise TypeError(msg)
        return kind(**fields)
    if config is not None and not isinstance(config, kind):
        msg = f"{call} takes a {name}, not {type(config).__name__}"
        raise TypeError(msg)
    return config


def merge_env(*overlays: EnvOverlay) -> EnvOverlay:
    """Merge overlays in order: a later value for a name wins."""
    return tuple(_env.merged(*overlays).items())


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
    """Return ``output`` (or the defaults) with the shorthands applied.

    The result is a plain `RunOutputOptions` (an ``IOOptions`` is copied
    into one, so it warns once, when the caller made it).
    """
    if output is not None and not isinstance(output, RunOutputOptions):
        msg = f"output= must be a RunOutputOptions, not {type(output).__name__}"
        raise TypeError(msg)
    options = output if output is not None else RunOutputOptions()
    if type(options) is not RunOutputOptions:
        options = RunOutputOptions(
            **{field.name: getattr(options, field.name) for field in dc.fields(options)}
        )
    if capture is not None:
        options = dc.replace(options, capture=capture)
    if echo is not None:
        options = dc.replace(options, echo=echo)
    if text is not None:
        options = dc.replace(options, text=text)
    return options


_RUN_KEYWORDS: typ.Final = frozenset(
    name
    for name in make_request.__code__.co_varnames[
        : make_request.__code__.co_kwonlyargcount
    ]
    if name != "scope"
)
"""The keywords a run takes (`make_request`'s, less the scope it is given)."""
