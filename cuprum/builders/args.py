"""Validated argument types for the builders: `SafePath` and `GitRef`.

Owns `safe_path` and `git_ref`, the ``str`` subtypes they return, and the
classifiers behind them (`classify_path_string`, `classify_git_ref`), which
say *why* a value is refused as a `PathRejection` or `GitRefRejection`
whose value is the exact message of the ``ValueError`` raised.

Invariants:

* the validators raise ``ValueError`` exactly when the classifier returns
  a rejection, with that rejection's value as the message; the
  classifiers never raise for any ``str``;
* a `SafePath` is never empty, holds no NUL and no ``..`` segment, is
  absolute unless the caller allowed relative paths, and can never be read
  as an option: a relative path whose first character is ``-`` is written
  ``./-...`` (the same file);
* `safe_path` is idempotent: ``safe_path(safe_path(p)) == safe_path(p)``;
* a `GitRef` is a non-empty run of ``[A-Za-z0-9._/-]`` that does not start
  with ``-`` (so it is never an option) and has none of the forms git
  itself refuses or reads specially (``..``, ``//``, ``@{``, a ``/`` at
  either end, a trailing ``.`` or ``.lock``).
"""

from __future__ import annotations

import enum
import os
import re
import typing as typ
from pathlib import PurePosixPath

SafePath = typ.NewType("SafePath", str)
"""A path string `safe_path` accepted and normalised."""

GitRef = typ.NewType("GitRef", str)
"""A ref or object name `git_ref` accepted, unchanged."""

_REF_CHARACTERS = re.compile(r"[A-Za-z0-9._/-]+")


class PathRejection(enum.Enum):
    """Why `safe_path` refuses a path; the value is the error's message.

    Members are in the order the checks run: a path failing several gets
    the first.
    """

    EMPTY = "SafePath cannot be empty"
    NUL = "SafePath cannot contain NUL characters"
    PARENT_SEGMENT = "SafePath cannot contain '..' segments"
    NOT_ABSOLUTE = "SafePath requires an absolute path by default"


class GitRefRejection(enum.Enum):
    """Why `git_ref` refuses a ref; the value is the error's message.

    Members are in the order the checks run: a ref failing several gets
    the first.
    """

    EMPTY = "GitRef cannot be empty"
    LEADING_DASH = "GitRef cannot start with '-'"
    WHITESPACE = "GitRef cannot contain whitespace"
    SLASH_BOUNDARY = "GitRef cannot start or end with '/'"
    LOCK_SUFFIX = "GitRef cannot end with '.lock'"
    DOT_SUFFIX = "GitRef cannot end with '.'"
    PARENT_SEQUENCE = "GitRef cannot contain '..'"
    DOUBLE_SLASH = "GitRef cannot contain '//' sequences"
    AT_BRACE = "GitRef cannot contain '@{' sequences"
    UNSUPPORTED_CHARS = "GitRef contains unsupported characters"


_REF_CHECKS: tuple[tuple[GitRefRejection, typ.Callable[[str], bool]], ...] = (
    (GitRefRejection.EMPTY, lambda ref: not ref),
    (GitRefRejection.LEADING_DASH, lambda ref: ref.startswith("-")),
    (GitRefRejection.WHITESPACE, lambda ref: any(c.isspace() for c in ref)),
    (GitRefRejection.SLASH_BOUNDARY, lambda ref: ref[0] == "/" or ref[-1] == "/"),
    (GitRefRejection.LOCK_SUFFIX, lambda ref: ref.endswith(".lock")),
    (GitRefRejection.DOT_SUFFIX, lambda ref: ref.endswith(".")),
    (GitRefRejection.PARENT_SEQUENCE, lambda ref: ".." in ref),
    (GitRefRejection.DOUBLE_SLASH, lambda ref: "//" in ref),
    (GitRefRejection.AT_BRACE, lambda ref: "@{" in ref),
    (
        GitRefRejection.UNSUPPORTED_CHARS,
        lambda ref: _REF_CHARACTERS.fullmatch(ref) is None,
    ),
)
"""Each rejection with its test, in the order they apply (the first test
runs on any string; the later ones only on a non-empty one)."""


def classify_path_string(
    raw_value: str, *, allow_relative: bool
) -> PathRejection | None:
    """Return why `safe_path` would refuse ``raw_value``, or ``None``.

    Parameters
    ----------
    raw_value
        The path as text (a path object already turned into its string).
    allow_relative
        Whether a relative path is acceptable.

    Examples
    --------
    >>> classify_path_string("", allow_relative=True)
    <PathRejection.EMPTY: 'SafePath cannot be empty'>
    >>> classify_path_string("data/in.txt", allow_relative=True) is None
    True

    """
    if not raw_value:
        return PathRejection.EMPTY
    if "\0" in raw_value:
        return PathRejection.NUL
    path = PurePosixPath(raw_value)
    if ".." in path.parts:
        return PathRejection.PARENT_SEGMENT
    if not allow_relative and not path.is_absolute():
        return PathRejection.NOT_ABSOLUTE
    return None


def _path_text(value: object) -> str:
    """Return ``value`` (a ``str`` or a ``str`` path) as a string."""
    text = os.fspath(value) if isinstance(value, str | os.PathLike) else None
    if not isinstance(text, str):
        msg = f"SafePath expects str or Path, got {type(value).__name__}"
        raise TypeError(msg)
    return text


def safe_path(
    value: str | os.PathLike[str], *, allow_relative: bool = False
) -> SafePath:
    """Return ``value`` as a checked, normalised `SafePath`.

    Normalising joins repeated separators and drops ``.`` segments and a
    trailing ``/`` (``/srv//data/./in/`` is ``/srv/data/in``); a relative
    path starting with ``-`` comes back as ``./-...`` so no program takes
    it for an option.

    Parameters
    ----------
    value
        A ``str`` or a path object (``pathlib.Path``, any ``os.PathLike``
        of ``str``).
    allow_relative
        Accept a relative path (refused by default).

    Raises
    ------
    TypeError
        If ``value`` is neither a ``str`` nor a ``str`` path (``bytes`` and
        ``None`` included).
    ValueError
        If ``value`` is empty, contains a NUL or a ``..`` segment, or is
        relative without ``allow_relative``; the message is the
        `PathRejection`'s value.

    """
    text = _path_text(value)
    rejection = classify_path_string(text, allow_relative=allow_relative)
    if rejection is not None:
        raise ValueError(rejection.value)
    normalised = PurePosixPath(text).as_posix()
    if normalised.startswith("-"):
        normalised = f"./{normalised}"
    return SafePath(normalised)


def classify_git_ref(value: str) -> GitRefRejection | None:
    """Return why `git_ref` would refuse ``value``, or ``None``.

    Examples
    --------
    >>> classify_git_ref("release/1.2") is None
    True
    >>> classify_git_ref("--force")
    <GitRefRejection.LEADING_DASH: "GitRef cannot start with '-'">

    """
    for rejection, refused in _REF_CHECKS:
        if refused(value):
            return rejection
    return None


def git_ref(value: str) -> GitRef:
    """Return ``value`` as a checked `GitRef` (the text is unchanged).

    Accepts branch, tag and full ref names (``main``, ``v1.2.3``,
    ``refs/heads/main``) and object names (``deadbeef``); revision syntax
    such as ``HEAD~1`` or ``main@{1}`` is refused.

    Raises
    ------
    TypeError
        If ``value`` is not a ``str``.
    ValueError
        If ``value`` is not an acceptable ref; the message is the
        `GitRefRejection`'s value.

    """
    if not isinstance(value, str):
        msg = f"GitRef expects str, got {type(value).__name__}"
        raise TypeError(msg)
    rejection = classify_git_ref(value)
    if rejection is not None:
        raise ValueError(rejection.value)
    return GitRef(value)


__all__ = [
    "GitRef",
    "GitRefRejection",
    "PathRejection",
    "SafePath",
    "classify_git_ref",
    "classify_path_string",
    "git_ref",
    "safe_path",
]
