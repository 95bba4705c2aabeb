#!/usr/bin/env python3
# ruff: noqa: T201 - a CI script: it reports on stdout
"""Test the abi3 wheel on every CPython 3.11+ found here: ``make test-wheels``.

Builds the wheel once (``.venv/bin/maturin build --release``), then for each
of python3.11, 3.12, 3.13 and any newer 3.x on this machine: a fresh venv,
the wheel and the suite's pinned test tools (``-c requirements-dev.txt``),
and the whole pytest suite with ``CUPRUM_REQUIRE_RUST=1``, run from a copy
of ``tests/``, ``features/``, ``docs/``, ``README.md`` and ``pyproject.toml``
in a temporary directory, so ``import cuprum`` can only find the installed
wheel (checked and printed before the run).

An interpreter is looked for as ``python3.N`` on ``PATH`` (it must run and
be CPython 3.N: a pyenv shim for a version not selected does not), then
under pyenv's ``versions/3.N.*``. One that is absent is named and skipped.
Exits non-zero if no interpreter is found, the build fails, or any run
fails. Arguments are passed on to pytest (``-x``, ``-k ...``).

``--pure`` (``make test-pure-wheel``) tests the pure-Python wheel instead
(``.ci/pure_wheel.py``, what pip takes where no native wheel fits) on the
oldest interpreter found, with no Rust toolchain on ``PATH``: it must
install, load no engine, select the Python backend and pass the suite.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import typing as typ
from pathlib import Path

import pure_wheel

if typ.TYPE_CHECKING:
    import io

REPO = Path(__file__).resolve().parent.parent
MATURIN = REPO / ".venv" / "bin" / "maturin"
CONSTRAINTS = REPO / "requirements-dev.txt"
TEST_TOOLS = ("pytest", "pytest-bdd", "hypothesis")
"""What the suite imports; their versions (and their dependencies') are
pinned by ``requirements-dev.txt``, used as a constraints file."""
SUITE = ("tests", "features", "docs", "README.md", "pyproject.toml")
"""The test code, its BDD features, the documents whose examples it runs, and
the pytest configuration (``[tool.pytest.ini_options]``)."""
RUST = ("cargo", "rustc", "rustup")
"""What the pure wheel's test keeps off ``PATH``."""
MINORS = (11, 12, 13)
"""Always looked for (and named when absent); newer ones when found."""
PIP = ("-m", "pip", "install", "--disable-pip-version-check", "--quiet")
PIP_LEAN = ("--no-compile",)  # a throwaway venv: modules compile as imported
PROBE = (
    "import json, sys, sysconfig; print(json.dumps([sys.implementation.name,"
    " list(sys.version_info[:2]), sys.executable, sys.version.split()[0],"
    " bool(sysconfig.get_config_var('Py_GIL_DISABLED'))]))"
)
PURE_INSTALLED = (
    "import importlib.util, json, sysconfig, cuprum;"
    " print(json.dumps([cuprum.__file__,"
    " importlib.util.find_spec('cuprum._rust_backend_native') is None,"
    " cuprum.get_stream_backend().value, sysconfig.get_path('purelib')]))"
)
INSTALLED = (
    "import json, sysconfig, cuprum, cuprum._rust_backend_native as native;"
    " print(json.dumps([cuprum.__file__, native.__file__,"
    " cuprum.get_stream_backend().value, sysconfig.get_path('platlib')]))"
)


class Interpreter(typ.NamedTuple):
    """A CPython found on this machine."""

    name: str
    path: Path
    version: str


class Outcome(typ.NamedTuple):
    """How one interpreter's run ended: ``ok``, ``FAILED`` or ``skipped``."""

    name: str
    status: str
    detail: str


def probe(candidate: Path, minor: int) -> Interpreter | None:
    """Return ``candidate`` if it runs and is a GIL build of CPython 3.minor."""
    try:
        done = subprocess.run(
            [str(candidate), "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    if done.returncode != 0:
        return None
    impl, version, executable, full, free_threaded = json.loads(done.stdout)
    if impl != "cpython" or version != [3, minor] or free_threaded:
        return None
    return Interpreter(f"python3.{minor}", Path(executable), full)


def pyenv_root() -> Path | None:
    """Return pyenv's root (``PYENV_ROOT``, ``pyenv root``, ``~/.pyenv``)."""
    if root := os.environ.get("PYENV_ROOT"):
        return Path(root)
    if pyenv := shutil.which("pyenv"):
        done = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, check=False
        )
        if done.returncode == 0 and done.stdout.strip():
            return Path(done.stdout.strip())
    home = Path.home() / ".pyenv"
    return home if home.is_dir() else None


def pyenv_candidates(minor: int) -> list[Path]:
    """Return pyenv's ``python3.minor`` binaries, newest release first."""
    root = pyenv_root()
    if root is None:
        return []
    found: list[tuple[tuple[int, ...], Path]] = []
    for version in (root / "versions").glob(f"3.{minor}.*"):
        # 3.13.0 and 3.14.0rc1, not a free-threaded 3.13.0t or a virtualenv.
        match = re.fullmatch(rf"3\.{minor}\.(\d+)((?:a|b|rc)\d+)?", version.name)
        binary = version / "bin" / f"python3.{minor}"
        if match and binary.is_file():
            final = match.group(2) is None
            found.append(((int(match.group(1)), final), binary))
    return [binary for _, binary in sorted(found, reverse=True)]


def wanted_minors() -> list[int]:
    """Return 3.11 to 3.13, and any newer minor on PATH or under pyenv."""
    minors = set(MINORS)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        with_names = Path(directory).glob("python3.*") if directory else ()
        for path in with_names:
            if match := re.fullmatch(r"python3\.(\d+)", path.name):
                minors.add(int(match.group(1)))
    if (root := pyenv_root()) is not None:
        for version in (root / "versions").glob("3.*"):
            if match := re.match(r"3\.(\d+)\.", version.name):
                minors.add(int(match.group(1)))
    return sorted(minor for minor in minors if minor >= MINORS[0])


def find(minor: int) -> tuple[Interpreter | None, list[str]]:
    """Find CPython 3.minor: ``python3.minor`` on PATH first, then pyenv.

    Returns the interpreter (or ``None``) and what was tried, for the
    message that names an absent one.
    """
    tried: list[str] = []
    name = f"python3.{minor}"
    on_path = shutil.which(name)
    candidates = [Path(on_path)] if on_path else []
    tried.append(f"PATH {name}: {on_path or 'none'}")
    from_pyenv = pyenv_candidates(minor)
    candidates += from_pyenv
    tried.append(f"pyenv versions/3.{minor}.*: {len(from_pyenv)} found")
    for candidate in candidates:
        if (interpreter := probe(candidate, minor)) is not None:
            return interpreter, tried
        tried.append(f"{candidate} is not a working CPython 3.{minor}")
    return None, tried


def build_wheel(into: Path) -> Path:
    """Build the wheel once with the venv's maturin; return its path."""
    if not MATURIN.is_file():
        sys.exit(f"test-wheels: {MATURIN} not found; run `make venv` first")
    subprocess.run(
        [str(MATURIN), "build", "--release", "--quiet", "-o", str(into)],
        cwd=REPO,
        check=True,
    )
    wheels = sorted(into.glob("cuprum-*.whl"))
    if len(wheels) != 1:
        sys.exit(f"test-wheels: expected one wheel in {into}, found {wheels}")
    return wheels[0]


def copy_suite(into: Path) -> None:
    """Copy the suite (and nothing of ``cuprum/``) to ``into``, once.

    Taken with the wheel, so every interpreter runs the same tests.
    """
    into.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".hypothesis")
    for name in SUITE:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=skip)
        else:
            shutil.copy2(source, into / name)
    assert not (into / "cuprum").exists()  # noqa: S101 - a guard, not a test


def clean_env(venv: Path, *, pure: bool = False) -> dict[str, str]:
    """Return the environment for the venv: no leaked paths or CUPRUM_*.

    For the pure wheel, no Rust toolchain on ``PATH`` either (cargo, rustc,
    rustup), so nothing could build an engine behind the test's back.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CUPRUM_")
        and key not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}
    }
    env["VIRTUAL_ENV"] = str(venv)
    path = env.get("PATH", "").split(os.pathsep)
    if pure:
        path = [d for d in path if not any((Path(d) / t).exists() for t in RUST)]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    return env


def check_installed(
    python: Path, suite: Path, env: dict[str, str], *, pure: bool = False
) -> str | None:
    """Print where cuprum and its engine load from; say what is wrong."""
    done = subprocess.run(
        [str(python), "-P", "-c", PURE_INSTALLED if pure else INSTALLED],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"importing the installed cuprum failed:\n{done.stderr}"
    package, native, backend, site = json.loads(done.stdout)
    if pure:
        print(f"  cuprum: {package}\n  engine absent: {native} (backend {backend})")
        wrong = [] if Path(package).is_relative_to(site) else [package]
        if not native or backend != "python":
            wrong.append(f"engine absent {native}, backend {backend!r}")
        return "; ".join(wrong) or None
    print(f"  cuprum: {package}\n  engine: {native} (backend {backend})")
    outside = [p for p in (package, native) if not Path(p).is_relative_to(site)]
    if outside:
        return f"not loaded from the venv's {site}: {', '.join(outside)}"
    if backend != "rust":
        return f"the installed wheel selects backend {backend!r}, not 'rust'"
    return None


def run_pytest(
    python: Path, suite: Path, env: dict[str, str], args: list[str], *, pure: bool
) -> tuple[int, str]:
    """Run the suite, echoing its output; return the exit code and summary."""
    command = [str(python), "-P", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    last = ""
    with subprocess.Popen(
        [*command, *args],
        cwd=suite,
        env=env if pure else {**env, "CUPRUM_REQUIRE_RUST": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as pytest:
        assert pytest.stdout is not None  # noqa: S101 - for the type checker
        for line in pytest.stdout:
            print(line, end="", flush=True)
            last = line.strip() or last
    return pytest.returncode, last.strip("= ")


def run_on(  # noqa: PLR0913 - one interpreter's run, its wheel and its kind
    interpreter: Interpreter,
    wheel: Path,
    suite: Path,
    work: Path,
    args: list[str],
    *,
    pure: bool = False,
) -> Outcome:
    """Install ``wheel`` into a fresh venv of ``interpreter``; run ``suite``."""
    print(f"\n=== {interpreter.name} ({interpreter.version}): {interpreter.path}")
    started = time.monotonic()
    venv = work / "venv"
    suite = shutil.copytree(suite, work / "suite")  # fresh caches per run
    python = venv / "bin" / "python"
    env = clean_env(venv, pure=pure)
    setup = {
        "creating the venv": [str(interpreter.path), "-m", "venv", str(venv)],
        "pip install": [
            str(python),
            *PIP,
            *PIP_LEAN,
            str(wheel),
            *TEST_TOOLS,
            "-c",
            str(CONSTRAINTS),
        ],
    }
    for step, command in setup.items():
        if subprocess.run(command, env=env, check=False).returncode != 0:
            return Outcome(interpreter.name, "FAILED", f"{step} failed")
    if (wrong := check_installed(python, suite, env, pure=pure)) is not None:
        print(f"  {wrong}")
        return Outcome(interpreter.name, "FAILED", wrong)
    setup_seconds = time.monotonic() - started
    code, summary = run_pytest(python, suite, env, args, pure=pure)
    timing = f"setup {setup_seconds:.0f} s, total {time.monotonic() - started:.0f} s"
    if code < 0:
        summary = f"pytest killed by {signal.Signals(-code).name}; last: {summary}"
    status = "ok" if code == 0 else "FAILED"
    return Outcome(interpreter.name, status, f"{summary} ({timing})")


def main(args: list[str]) -> int:
    """Find the interpreters, build the wheel, test it on each (see module)."""
    pure = "--pure" in args
    args = [arg for arg in args if arg != "--pure"]
    # Line by line, in order with the output of the commands it runs.
    typ.cast("io.TextIOWrapper", sys.stdout).reconfigure(line_buffering=True)
    found: list[Interpreter] = []
    skipped: list[Outcome] = []
    for minor in wanted_minors():
        interpreter, tried = find(minor)
        if interpreter is None:
            print(f"python3.{minor}: not found, skipped ({'; '.join(tried)})")
            skipped.append(Outcome(f"python3.{minor}", "skipped", "not found"))
        else:
            print(f"python3.{minor}: {interpreter.path} ({interpreter.version})")
            found.append(interpreter)
    if not found:
        print("test-wheels: no CPython 3.11+ found; nothing was tested")
        return 1
    with tempfile.TemporaryDirectory(prefix="cuprum-wheels-") as temporary:
        work = Path(temporary)
        copy_suite(work / "suite")
        try:
            wheel = (
                pure_wheel.build(work / "dist") if pure else build_wheel(work / "dist")
            )
        except subprocess.CalledProcessError:
            print("test-wheels: the wheel build failed")
            return 1
        print(f"wheel: {wheel.name}")
        outcomes = [
            run_on(
                interpreter,
                wheel,
                work / "suite",
                work / interpreter.name,
                args,
                pure=pure,
            )
            for interpreter in (found[:1] if pure else found)
        ]
    print(f"\ntest-wheels: {wheel.name}")
    for outcome in sorted([*outcomes, *skipped], key=lambda o: o.name):
        print(f"  {outcome.name}: {outcome.status:7} {outcome.detail}")
    return 0 if all(outcome.status == "ok" for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
