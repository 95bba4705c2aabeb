"""The ``tar`` builders: `tar_create` and `tar_extract`.

Owns `Compression`, `TarCreateOptions`, `tar_create`, `tar_extract` and
the argv alone (``_tar_create_argv``, ``_tar_extract_argv``, no catalogue
involved), which the builders wrap into a `SafeCmd` for the default
catalogue's `TAR`.

Invariants:

* a create argv is ``-c``, at most one compression flag (``-z``, ``-j`` or
  ``-J``), ``-f`` and the archive, then the sources in the order given; an
  extract argv is ``-x -f`` and the archive, then ``-C`` and the
  destination when there is one;
* every path passes through `safe_path` (absolute unless relative paths
  are allowed), so none is empty, has a ``..`` segment or reads as an
  option;
* a `TarCreateOptions` names one compression at most: ``compression`` and
  the older cuprum's ``gzip``/``bzip2``/``xz`` booleans always agree
  (checked and filled in when the options are made).
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses as dc
import enum
import os
import typing as typ

from cuprum import sh
from cuprum.builders.args import safe_path
from cuprum.catalogue import TAR

if typ.TYPE_CHECKING:
    from cuprum.sh import SafeCmd


class Compression(enum.Enum):
    """How `tar_create` compresses the archive."""

    NONE = "none"
    """No compression, no flag."""
    GZIP = "gzip"
    """``-z``."""
    BZIP2 = "bzip2"
    """``-j``."""
    XZ = "xz"
    """``-J``."""


_FLAG: typ.Final = {
    Compression.NONE: None,
    Compression.GZIP: "-z",
    Compression.BZIP2: "-j",
    Compression.XZ: "-J",
}
"""Each compression's flag on the ``tar -c`` command line."""

_SWITCHES: typ.Final = (
    ("gzip", Compression.GZIP),
    ("bzip2", Compression.BZIP2),
    ("xz", Compression.XZ),
)
"""The older boolean spelling of each compression."""


@dc.dataclass(frozen=True, slots=True)
class TarCreateOptions:
    """What `tar_create` adds to a plain ``tar -c -f archive sources``.

    Attributes
    ----------
    compression
        How to compress the archive (none by default).
    allow_relative
        Accept a relative archive path and relative sources (a relative
        source is stored under that name, taken from the run's ``cwd=``).
    gzip, bzip2, xz
        The older cuprum's spelling of ``compression``, keyword only:
        ``gzip=True`` is ``compression=Compression.GZIP``. The two always
        agree once the options are made.

    Raises
    ------
    ValueError
        If more than one compression is asked for.
    TypeError
        If ``compression`` is not a `Compression`.

    """

    compression: Compression = Compression.NONE
    allow_relative: bool = False
    _: dc.KW_ONLY
    gzip: bool = False
    bzip2: bool = False
    xz: bool = False

    def __post_init__(self) -> None:
        """Check that one compression at most is chosen; fill in the other view."""
        if not isinstance(self.compression, Compression):
            msg = (
                "TarCreateOptions: compression must be a Compression, "
                f"not {type(self.compression).__name__} ({self.compression!r})"
            )
            raise TypeError(msg)
        chosen = {name: member for name, member in _SWITCHES if getattr(self, name)}
        if self.compression is not Compression.NONE:
            chosen.setdefault(self.compression.value, self.compression)
        if len(set(chosen.values())) > 1:
            msg = (
                "Select only one compression option for tar_create "
                f"(got {', '.join(sorted(chosen))})"
            )
            raise ValueError(msg)
        for member in chosen.values():
            object.__setattr__(self, "compression", member)
            object.__setattr__(self, member.value, True)


def _tar_create_argv(
    archive: str | os.PathLike[str],
    sources: cabc.Sequence[str | os.PathLike[str]],
    options: TarCreateOptions,
) -> tuple[str, ...]:
    """Return the argv (the program not in it) `tar_create` builds."""
    if isinstance(sources, str | bytes | os.PathLike) or not isinstance(
        sources, cabc.Iterable
    ):
        msg = "tar_create requires a sequence of source paths, not a single path"
        raise TypeError(msg)
    relative = options.allow_relative
    paths = tuple(safe_path(source, allow_relative=relative) for source in sources)
    if not paths:
        raise ValueError("tar_create requires at least one source path")
    flag = _FLAG[options.compression]
    head = ("-c",) if flag is None else ("-c", flag)
    return (*head, "-f", safe_path(archive, allow_relative=relative), *paths)


def tar_create(
    archive: str | os.PathLike[str],
    sources: cabc.Sequence[str | os.PathLike[str]],
    *,
    options: TarCreateOptions | None = None,
) -> SafeCmd:
    """Return ``tar -c [-z|-j|-J] -f archive sources...``.

    Parameters
    ----------
    archive
        The archive file to write.
    sources
        The files and directories to put in it, at least one: a sequence
        (a list, a tuple), never a single path.
    options
        Compression and relative paths (none by default,
        ``TarCreateOptions()``).

    Raises
    ------
    TypeError
        If ``sources`` is a single path (a ``str`` or a path object) rather
        than a sequence of them, or a path is neither a ``str`` nor a
        ``str`` path.
    ValueError
        If ``sources`` is empty or a path is refused by `safe_path`
        (relative paths without ``options.allow_relative`` included).

    """
    argv = _tar_create_argv(archive, sources, options or TarCreateOptions())
    return sh.make(TAR)(*argv)


def _tar_extract_argv(
    archive: str | os.PathLike[str],
    destination: str | os.PathLike[str] | None,
    *,
    allow_relative: bool,
) -> tuple[str, ...]:
    """Return the argv (the program not in it) `tar_extract` builds."""
    argv = ("-x", "-f", safe_path(archive, allow_relative=allow_relative))
    if destination is None:
        return argv
    return (*argv, "-C", safe_path(destination, allow_relative=allow_relative))


def tar_extract(
    archive: str | os.PathLike[str],
    *,
    destination: str | os.PathLike[str] | None = None,
    allow_relative: bool = False,
) -> SafeCmd:
    """Return ``tar -x -f archive [-C destination]``.

    ``tar`` recognises a compressed archive by itself, so extracting needs
    no compression flag.

    Parameters
    ----------
    archive
        The archive file to read.
    destination
        The directory to extract into (it must exist); without one, the
        run's working directory.
    allow_relative
        Accept relative paths.

    Raises
    ------
    ValueError
        If a path is refused by `safe_path`.
    TypeError
        If a path is neither a ``str`` nor a ``str`` path.

    """
    argv = _tar_extract_argv(archive, destination, allow_relative=allow_relative)
    return sh.make(TAR)(*argv)


__all__ = ["Compression", "TarCreateOptions", "tar_create", "tar_extract"]
