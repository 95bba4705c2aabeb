"""Builders of ``git`` commands: status, checkout and rev-parse.

Owns `git_status`, `git_checkout` and `git_rev_parse`. Each returns a
`SafeCmd` for the default catalogue's `GIT`; nothing runs until the caller
runs it (in the repository's directory: ``run_sync(cwd=repo)``).

Invariants:

* every ref reaches the argv through `git_ref`, so it is never an option
  and never revision syntax;
* flags come before the ref, in a fixed order, each spelled the long way
  except ``-b``/``-B`` (git has no long form for them).
"""

from __future__ import annotations

import typing as typ

from cuprum import sh
from cuprum.builders.args import git_ref
from cuprum.catalogue import GIT

if typ.TYPE_CHECKING:
    from cuprum.sh import SafeCmd


def git_status(*, short: bool = False, branch: bool = False) -> SafeCmd:
    """Return ``git status [--short] [--branch]``.

    Parameters
    ----------
    short
        Ask for the short format.
    branch
        Show the branch and its tracking state too.

    """
    flags = [
        flag for flag, wanted in (("--short", short), ("--branch", branch)) if wanted
    ]
    return sh.make(GIT)("status", *flags)


def git_checkout(
    ref: str,
    *,
    create_branch: bool = False,
    detach: bool = False,
    force: bool = False,
) -> SafeCmd:
    """Return ``git checkout`` of ``ref``.

    Parameters
    ----------
    ref
        The branch, tag or commit to check out; with ``create_branch``, the
        name of the branch to create at ``HEAD``.
    create_branch
        Create the branch: ``-b`` (``-B``, which resets an existing branch
        of that name, with ``force``).
    detach
        Check out in detached ``HEAD`` state (``--detach``).
    force
        Throw away local changes (``--force``), or with ``create_branch``
        reset an existing branch (``-B``).

    Raises
    ------
    ValueError
        If both ``create_branch`` and ``detach`` are true, or ``ref`` is not
        an acceptable ref (see `git_ref`).
    TypeError
        If ``ref`` is not a ``str``.

    """
    if create_branch and detach:
        raise ValueError("create_branch and detach cannot both be True")
    checked = git_ref(ref)
    if create_branch:
        flags = ["-B" if force else "-b"]
    else:
        flags = [
            flag
            for flag, wanted in (("--detach", detach), ("--force", force))
            if wanted
        ]
    return sh.make(GIT)("checkout", *flags, checked)


def git_rev_parse(ref: str) -> SafeCmd:
    """Return ``git rev-parse ref``: what object ``ref`` names.

    Raises
    ------
    ValueError
        If ``ref`` is not an acceptable ref (see `git_ref`).
    TypeError
        If ``ref`` is not a ``str``.

    """
    return sh.make(GIT)("rev-parse", git_ref(ref))


__all__ = ["git_checkout", "git_rev_parse", "git_status"]
