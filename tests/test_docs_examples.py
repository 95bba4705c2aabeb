"""Every ```python block of the users' guide and the README runs as is.

Each block is run on its own, in a fresh interpreter (``sys.executable``)
with the repository root as working directory, once per stream backend
(``CUPRUM_STREAM_BACKEND=python`` and ``=rust``), and must exit 0. The Rust
leg is skipped with a reason when the engine is not built, and fails instead
under ``CUPRUM_REQUIRE_RUST=1``. Under ``CUPRUM_TEST_HIDE_NATIVE=1`` the
examples run with the native module hidden too. Blocks that are not meant to
run use another fence (```text, ```sh).

Each block must also print what its comments say, doctest style:

- A ``print(...)`` statement with a comment at the end of its (last) line
  states its output: ``print(n)  # 42``. Comment lines right below the
  print (no blank line between, any indentation) state further lines of
  it; a print with no comment of its own but such lines below (a print in
  a loop, say) is stated by them alone. Keep prose comments apart from a
  stated print with a blank line.
- What the print writes in the whole run (every call, for a print in a
  loop) is compared, line by line, with those comment lines, each without
  its ``#`` and the one space after it. Trailing whitespace and trailing
  blank lines are not compared.
- ``...`` in a comment stands for any text, as with doctest's ELLIPSIS
  (including none, and across lines): it is how a comment states a value
  that varies from run to run or between backends.
- Other prints, and comments on lines that are not prints, are not checked.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import tokenize
import typing as typ

import pytest
from conftest import REQUIRE_RUST, rust_engine_missing_reason

REPO = pathlib.Path(__file__).resolve().parent.parent
DOCUMENTS = (
    "README.md",
    "docs/users-guide.md",
    "docs/migrating.md",
    "docs/pumping.md",
    "docs/backends.md",
)
TIMEOUT_SECONDS = 60
"""A guard against a hanging example, not a speed requirement."""

HIDE_NATIVE = os.environ.get("CUPRUM_TEST_HIDE_NATIVE") == "1"
WILDCARD = "..."
TAG = "_doc_print"
"""Each stated print runs as ``_doc_print(index)(...)``, which records it."""

_RUNNER = """\
import io, json, runpy, sys
if {hide!r}:
    sys.modules["cuprum._rust_backend_native"] = None
printed = {{}}


def _doc_print(index):
    def tagged(*args, **kwargs):
        buffer = io.StringIO()
        print(*args, **kwargs, file=buffer)
        printed.setdefault(index, []).append(buffer.getvalue())
        sys.stdout.write(buffer.getvalue())
        sys.stdout.flush()

    return tagged


try:
    runpy.run_path(
        sys.argv[1], init_globals={{{tag!r}: _doc_print}}, run_name="__main__"
    )
finally:
    with open(sys.argv[2], "w", encoding="utf-8") as record:
        json.dump(printed, record)
"""


class Example(typ.NamedTuple):
    """One ```python block: where it is, under which heading, its source."""

    document: str
    line: int
    source: str
    heading: str = ""

    @property
    def name(self) -> str:
        return f"{self.document}:{self.line}"


class Stated(typ.NamedTuple):
    """A print whose output the comments state."""

    line: int
    """The print's first line in the example (1-based)."""
    name: slice
    """Where the name ``print`` is on that line, in UTF-8 bytes."""
    code: str
    expected: list[str]


def extract(document: str) -> list[Example]:
    """Return every ```python block of ``document`` (a path under the repo)."""
    examples: list[Example] = []
    lines = (REPO / document).read_text(encoding="utf-8").splitlines()
    body: list[str] | None = None
    fence: str | None = None
    heading = ""
    start = 0
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if fence is None:
            if stripped.startswith("```"):
                fence = stripped
                if fence == "```python":
                    body, start = [], number + 1
            elif line.startswith("#"):
                heading = line
        elif stripped.startswith("```"):
            if body is not None:
                source = "\n".join(body) + "\n"
                examples.append(Example(document, start, source, heading))
            body = fence = None
        elif body is not None:
            body.append(line)
    assert fence is None, f"{document}: a ``` block is never closed"
    return examples


def _comment_text(comment: str) -> str:
    """A comment's stated line: without ``#``, one space, trailing blanks."""
    return comment.removeprefix("#").removeprefix(" ").rstrip()


def stated_prints(source: str) -> list[Stated]:
    """Return the prints of ``source`` that comments state, in source order."""
    lines = source.splitlines()
    trailing: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        row, column = token.start
        if token.type == tokenize.COMMENT and lines[row - 1][:column].strip():
            trailing[row] = token.string
    calls = [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "print"
    ]
    stated: list[Stated] = []
    for call in sorted(calls, key=lambda call: (call.lineno, call.col_offset)):
        last = typ.cast("int", call.end_lineno)
        comments = [trailing[last]] if last in trailing else []
        for line in lines[last:]:
            if not line.lstrip().startswith("#"):
                break
            comments.append(line.strip())
        if not comments:
            continue
        code = ast.get_source_segment(source, call) or "print(...)"
        assert not any(keyword.arg == "file" for keyword in call.keywords), (
            f"line {call.lineno}: {code} has its output stated, so it must "
            "write to stdout"
        )
        assert all(other.line != call.lineno for other in stated), (
            f"line {call.lineno}: two prints on one line cannot both be stated"
        )
        name = slice(call.func.col_offset, call.func.end_col_offset)
        expected = [_comment_text(comment) for comment in comments]
        stated.append(Stated(call.lineno, name, code, expected))
    return stated


def tag_prints(source: str) -> str:
    """Return ``source`` with stated print number i calling ``_doc_print(i)``.

    Only the name ``print`` is replaced, so every line keeps its number and
    a traceback points at the document's line.
    """
    lines = source.splitlines(keepends=True)
    for index, stated in enumerate(stated_prints(source)):
        raw = bytearray(lines[stated.line - 1].encode("utf-8"))
        raw[stated.name] = f"{TAG}({index})".encode()
        lines[stated.line - 1] = raw.decode("utf-8")
    return "".join(lines)


def matches(expected: list[str], printed: list[str]) -> bool:
    """Whether ``printed`` is ``expected``, where ``...`` stands for any text."""
    pattern = ".*".join(map(re.escape, "\n".join(expected).split(WILDCARD)))
    return re.fullmatch(pattern, "\n".join(printed), re.DOTALL) is not None


def printed_lines(calls: list[str]) -> list[str]:
    """The lines a print wrote over ``calls``, as they are compared."""
    return [line.rstrip() for line in "".join(calls).rstrip().split("\n")]


class Run(typ.NamedTuple):
    """How an example's run ended, and what each stated print wrote."""

    returncode: int
    stdout: str
    stderr: str
    printed: dict[int, list[str]]


def run_example(
    example: Example, backend: str, directory: pathlib.Path, source: str
) -> Run:
    """Run ``source`` (``example``, tagged) as a script on ``backend``."""
    script = directory / "example.py"
    record = directory / "printed.json"
    script.write_text(source, encoding="utf-8")
    env = dict(os.environ)
    env["CUPRUM_STREAM_BACKEND"] = backend
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    runner = _RUNNER.format(hide=HIDE_NATIVE, tag=TAG)
    try:
        done = subprocess.run(
            [sys.executable, "-c", runner, str(script), str(record)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{example.name} still ran after {TIMEOUT_SECONDS} s")
    printed: dict[str, list[str]] = {}
    if record.exists():
        printed = json.loads(record.read_text(encoding="utf-8"))
    return Run(
        done.returncode,
        done.stdout,
        done.stderr,
        {int(index): calls for index, calls in printed.items()},
    )


def differences(example: Example, run: Run) -> list[str]:
    """Say, for each stated print of ``example``, how ``run`` differs."""
    found: list[str] = []
    for index, stated in enumerate(stated_prints(example.source)):
        where = f"{example.document}:{example.line + stated.line - 1}: {stated.code}"
        if index not in run.printed:
            stated_lines = "".join(f"    # {line}\n" for line in stated.expected)
            found.append(f"{where}\n  never ran; its comments state:\n{stated_lines}")
            continue
        printed = printed_lines(run.printed[index])
        if not matches(stated.expected, printed):
            diff = difflib.unified_diff(
                stated.expected, printed, "stated", "printed", lineterm=""
            )
            found.append(where + "\n" + "".join(f"  {line}\n" for line in diff))
    return found


def check(example: Example, backend: str, directory: pathlib.Path) -> None:
    """Run ``example`` on ``backend``; fail unless it runs as documented."""
    run = run_example(example, backend, directory, tag_prints(example.source))
    title = f"{example.name} ({example.heading.lstrip('# ')}), {backend} backend"
    if run.returncode != 0:
        pytest.fail(
            f"{title}: exited {run.returncode}\n"
            f"--- stdout\n{run.stdout}--- stderr\n{run.stderr}",
            pytrace=False,
        )
    found = differences(example, run)
    if found:
        pytest.fail(
            f"{title}: {len(found)} print(s) differ from their comments "
            "(the lines they state, '...' standing for any text):\n"
            + "".join(found)
            + f"--- the whole stdout\n{run.stdout}",
            pytrace=False,
        )


EXAMPLES = [example for document in DOCUMENTS for example in extract(document)]


def test_the_guide_and_readme_have_examples() -> None:
    found = {example.document for example in EXAMPLES}
    assert found == set(DOCUMENTS)
    stating = {e.document for e in EXAMPLES if stated_prints(e.source)}
    assert stating == set(DOCUMENTS), "each document states some output"


@pytest.mark.parametrize("backend", ["python", "rust"])
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_runs_and_prints_what_it_states(
    example: Example, backend: str, tmp_path: pathlib.Path
) -> None:
    if backend == "rust":
        reason = rust_engine_missing_reason()
        if reason is not None:
            if REQUIRE_RUST:
                pytest.fail(f"CUPRUM_REQUIRE_RUST=1 but {reason}")
            pytest.skip(reason)
    check(example, backend, tmp_path)


SAMPLE = """\
for word in ("one", "two"):
    print(word)  # one
    # two

print(6 * 7, end="")  # 42

# Not a stated line: a blank line ends what a print states.
print("not stated")
print("tail -f /tmp/x.log timed out")  # tail -f ... timed out
print([1, 2, 3])  # [...]
"""


def test_stated_prints_follow_the_convention() -> None:
    stated = stated_prints(SAMPLE)
    assert [(s.line, s.expected) for s in stated] == [
        (2, ["one", "two"]),
        (5, ["42"]),
        (9, ["tail -f ... timed out"]),
        (10, ["[...]"]),
    ]
    assert matches(["[...]"], ["[]"])
    assert matches(["a ... z"], ["a b", "y z"])
    assert not matches(["42"], ["42", "43"])
    assert not matches(["a..."], ["b"])


def test_a_sample_that_prints_what_it_states_passes(tmp_path: pathlib.Path) -> None:
    check(Example("sample.md", 1, SAMPLE), "python", tmp_path)


def test_a_wrong_comment_fails_naming_its_line(tmp_path: pathlib.Path) -> None:
    wrong = SAMPLE.replace("# 42", "# 43")
    with pytest.raises(pytest.fail.Exception, match=r"sample\.md:14: print\(6"):
        check(Example("sample.md", 10, wrong), "python", tmp_path)
