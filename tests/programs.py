"""Real programs for the builder tests: skip without them, and a git repository.

`require` skips a test, naming what is missing, when a program is not on
``PATH``; `GIT_ENV` keeps git away from the user's and the system's
configuration and names the author; `git_repository` makes a repository
with one empty commit and returns that commit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import typing as typ

import pytest

if typ.TYPE_CHECKING:
    import pathlib

GIT_ENV: typ.Final = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "cuprum",
    "GIT_AUTHOR_EMAIL": "cuprum@example.invalid",
    "GIT_COMMITTER_NAME": "cuprum",
    "GIT_COMMITTER_EMAIL": "cuprum@example.invalid",
}


def require(*programs: str) -> None:
    """Skip the calling test unless every one of ``programs`` is installed."""
    missing = [program for program in programs if shutil.which(program) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def git_repository(path: pathlib.Path) -> str:
    """Make ``path`` a git repository with one empty commit; return its id."""
    require("git")
    env = {**os.environ, **GIT_ENV}
    for argv in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "first"]):
        subprocess.run(["git", *argv], cwd=path, env=env, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"],
        cwd=path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
