"""The ``rsync`` builder: `rsync_sync` and its `RsyncOptions`.

Owns `RsyncOptions`, `rsync_sync` and ``_rsync_argv``, the argv alone (no
catalogue involved), which `rsync_sync` wraps into a `SafeCmd` for the
default catalogue's `RSYNC`.

Invariants:

* the argv is the enabled flags in one fixed order (``--archive``,
  ``--delete``, ``--dry-run``, ``--verbose``, ``--compress``), then the
  source, then the destination; nothing else;
* both paths pass through `safe_path` (absolute unless the options allow
  relative ones). Normalising drops a trailing ``/``, so the source is
  always copied as a directory, never as "its contents".
"""

from __future__ import annotations

import dataclasses as dc
import typing as typ

from cuprum import sh
from cuprum.builders.args import safe_path
from cuprum.catalogue import RSYNC

if typ.TYPE_CHECKING:
    import os

    from cuprum.sh import SafeCmd


@dc.dataclass(frozen=True, slots=True)
class RsyncOptions:
    """What `rsync_sync` adds to a plain ``rsync source destination``.

    Attributes
    ----------
    archive
        ``--archive``: recurse and keep permissions, times, links, owners.
    delete
        ``--delete``: remove destination files the source does not have.
    dry_run
        ``--dry-run``: report what would change, change nothing.
    verbose
        ``--verbose``.
    compress
        ``--compress``: compress what crosses the network.
    allow_relative
        Accept relative source and destination paths.

    """

    archive: bool = False
    delete: bool = False
    dry_run: bool = False
    verbose: bool = False
    compress: bool = False
    allow_relative: bool = False


_FLAG_ORDER: typ.Final = (
    ("archive", "--archive"),
    ("delete", "--delete"),
    ("dry_run", "--dry-run"),
    ("verbose", "--verbose"),
    ("compress", "--compress"),
)
"""Each option's flag, in the order the argv gives them."""


def _rsync_argv(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    options: RsyncOptions,
) -> tuple[str, ...]:
    """Return the argv (the program not in it) `rsync_sync` builds."""
    paths = (
        safe_path(source, allow_relative=options.allow_relative),
        safe_path(destination, allow_relative=options.allow_relative),
    )
    flags = tuple(flag for name, flag in _FLAG_ORDER if getattr(options, name))
    return (*flags, *paths)


def rsync_sync(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    *,
    options: RsyncOptions | None = None,
) -> SafeCmd:
    """Return ``rsync [flags] source destination``.

    Parameters
    ----------
    source
        What to copy.
    destination
        Where to copy it.
    options
        The flags to add (none by default, ``RsyncOptions()``).

    Raises
    ------
    ValueError
        If a path is refused by `safe_path` (relative paths without
        ``options.allow_relative`` included).
    TypeError
        If a path is neither a ``str`` nor a ``str`` path.

    """
    argv = _rsync_argv(source, destination, options or RsyncOptions())
    return sh.make(RSYNC)(*argv)


__all__ = ["RsyncOptions", "rsync_sync"]
