"""Every ```python block of the users' guide and the README runs as is.

Each block is run on its own, in a fresh interpreter (``sys.executable``)
with the repository root as working directory, once per stream backend
(``CUPRUM_STREAM_BACKEND=python`` and ``=rust``), and must exit 0. The Rust
leg is skipped with a reason when the engine is not built, and fails instead
under ``CUPRUM_REQUIRE_RUST=1``. Under ``CUPRUM_TEST_HIDE_NATIVE=1`` the
examples run with the native module hidden too. Blocks that are not meant to
run use another fence (```text, ```sh).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import typing as typ

import pytest
from conftest import REQUIRE_RUST, rust_engine_missing_reason

REPO = pathlib.Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs/users-guide.md")
TIMEOUT_SECONDS = 60
"""A guard against a hanging example, not a speed requirement."""

HIDE_NATIVE = os.environ.get("CUPRUM_TEST_HIDE_NATIVE") == "1"
_RUNNER = """\
import runpy, sys
if {hide!r}:
    sys.modules["cuprum._rust_backend_native"] = None
runpy.run_path(sys.argv[1], run_name="__main__")
"""


class Example(typ.NamedTuple):
    """One ```python block: where it is and its source."""

    document: str
    line: int
    source: str

    @property
    def name(self) -> str:
        return f"{self.document}:{self.line}"


def extract(document: str) -> list[Example]:
    """Return every ```python block of ``document`` (a path under the repo)."""
    examples: list[Example] = []
    lines = (REPO / document).read_text(encoding="utf-8").splitlines()
    body: list[str] | None = None
    start = 0
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if body is None:
            if stripped == "```python":
                body, start = [], number + 1
        elif stripped.startswith("```"):
            examples.append(Example(document, start, "\n".join(body) + "\n"))
            body = None
        else:
            body.append(line)
    assert body is None, f"{document}: a ```python block is never closed"
    return examples


EXAMPLES = [example for document in DOCUMENTS for example in extract(document)]


def test_the_guide_and_readme_have_examples() -> None:
    found = {example.document for example in EXAMPLES}
    assert found == set(DOCUMENTS)


@pytest.mark.parametrize("backend", ["python", "rust"])
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_runs(example: Example, backend: str, tmp_path: pathlib.Path) -> None:
    if backend == "rust":
        reason = rust_engine_missing_reason()
        if reason is not None:
            if REQUIRE_RUST:
                pytest.fail(f"CUPRUM_REQUIRE_RUST=1 but {reason}")
            pytest.skip(reason)
    script = tmp_path / "example.py"
    script.write_text(example.source, encoding="utf-8")
    env = dict(os.environ)
    env["CUPRUM_STREAM_BACKEND"] = backend
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", _RUNNER.format(hide=HIDE_NATIVE), str(script)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{example.name} still ran after {TIMEOUT_SECONDS} s")
    assert done.returncode == 0, (
        f"{example.name} ({backend}) exited {done.returncode}\n"
        f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    )
