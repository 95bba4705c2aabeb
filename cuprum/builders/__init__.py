"""Builders of common commands: ``git``, ``rsync`` and ``tar``.

Owns nothing of its own: it gathers the public names of its modules, one
module per tool (`cuprum.builders.git`, `.rsync`, `.tar`) plus the checked
argument types they share (`cuprum.builders.args`). A builder is a plain
function returning a `SafeCmd` for the default catalogue's program; it
builds the argv and runs nothing.

Invariants:

* every path a builder puts in an argv went through `safe_path` and every
  ref through `git_ref`, so no caller's value is ever read as an option;
* a builder's argv is fixed by its arguments alone (flags in a documented
  order, then the operands), so it can be compared in tests and logs.
"""

from __future__ import annotations

from cuprum.builders.args import GitRef, SafePath, git_ref, safe_path
from cuprum.builders.git import git_checkout, git_rev_parse, git_status
from cuprum.builders.rsync import RsyncOptions, rsync_sync
from cuprum.builders.tar import Compression, TarCreateOptions, tar_create, tar_extract

__all__ = [
    "Compression",
    "GitRef",
    "RsyncOptions",
    "SafePath",
    "TarCreateOptions",
    "git_checkout",
    "git_ref",
    "git_rev_parse",
    "git_status",
    "rsync_sync",
    "safe_path",
    "tar_create",
    "tar_extract",
]
