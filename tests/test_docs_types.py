"""The README's code and the guide's quick start type-check (mypy ``--strict``).

A newcomer's first lines (``result.stdout.strip()``) must pass their type
checker as they run: each ```python block of the README and of the guide's
"Quick start" section is written to a file of its own and checked with
mypy against the package in this tree.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

pytest.importorskip("mypy", reason="mypy is a dev tool: not in a wheel's test venv")

REPO = pathlib.Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _quick_start(guide: str) -> str:
    """Return the guide's "Quick start" section (up to the next heading).

    A line starting with ``#`` inside a code block is not a heading.
    """
    section: list[str] = []
    inside = fenced = False
    for line in guide.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            if inside:
                break
            inside = line.lstrip("#").strip().startswith("Quick start")
            continue
        if inside:
            section.append(line)
    assert section, "the guide has no Quick start section"
    return "".join(section)


def test_the_readme_and_the_quick_start_type_check(tmp_path: pathlib.Path) -> None:
    readme = (REPO / "README.md").read_text()
    guide = (REPO / "docs" / "users-guide.md").read_text()
    blocks = BLOCK.findall(readme) + BLOCK.findall(_quick_start(guide))
    assert len(blocks) >= 2
    files = []
    for index, block in enumerate(blocks):
        path = tmp_path / f"block_{index}.py"
        path.write_text(block)
        files.append(str(path))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            *files,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
