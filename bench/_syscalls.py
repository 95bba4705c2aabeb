"""Syscalls per small call (scenario (c)): ``strace -c -f`` around N calls.

One child process per kind of call (``_syscall_child.py``) makes N calls of
1 KiB under ``strace -c -f`` (every thread counted, the engine's reactor
included); the same loop with no call at all (mode ``none``) is counted the
same way, and a kind's figure is its total minus that baseline, divided by
N, per syscall. Start-up costs cancel: every child warms up every callee
before its N calls. Without ``strace`` (or when it cannot trace, as under a
seccomp profile that forbids ``ptrace``) the count is skipped and the
reason printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import typing as typ

import _support as sup

CHILD: typ.Final = sup.BENCH_DIR / "_syscall_child.py"
MODES: typ.Final = ("engine", "native", "python", "splice_ref")


class Count(typ.NamedTuple):
    """Syscalls per call of one kind: the total and each syscall's share."""

    total: float
    by_name: dict[str, float]

    def breakdown(self) -> str:
        """``name n`` for each syscall made at least once per 20 calls."""
        shown = sorted(
            ((n, c) for n, c in self.by_name.items() if c >= 0.05),
            key=lambda item: (-item[1], item[0]),
        )
        return ", ".join(f"{name} {_fmt(c)}" for name, c in shown) or "-"


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def parse_summary(text: str) -> dict[str, int]:
    """Read the calls per syscall from a ``strace -c`` summary table."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or not fields[3].isdigit() or fields[-1] == "total":
            continue
        counts[fields[-1]] = int(fields[3])
    return counts


def _strace_run(
    strace: str, mode: str, calls: int, lib: str, tmp: str
) -> dict[str, int]:
    out = os.path.join(tmp, f"{mode}.txt")  # noqa: PTH118 - a plain path string
    done = subprocess.run(
        [
            strace,
            "-f",
            "-c",
            "-o",
            out,
            sys.executable,
            str(CHILD),
            mode,
            str(calls),
            lib,
        ],
        capture_output=True,
        check=False,
        env={**os.environ, "CUPRUM_STREAM_BACKEND": "rust"},
    )
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(
            f"strace of mode {mode} exited {done.returncode}: "
            f"{err[-1] if err else 'no output'}"
        )
    with open(out, encoding="utf-8") as summary:  # noqa: PTH123 - a plain path string
        return parse_summary(summary.read())


def count(lib: str, calls: int) -> tuple[dict[str, Count], str]:
    """Count syscalls per call for each kind; return the counts or why not."""
    strace = shutil.which("strace")
    if strace is None:
        return {}, "strace is not on PATH"
    if not lib:
        return {}, "the C reference loop could not be built"
    with tempfile.TemporaryDirectory(prefix="cuprum-bench-") as tmp:
        try:
            base = _strace_run(strace, "none", calls, lib, tmp)
            if not base:
                return {}, "strace printed no summary (is ptrace allowed?)"
            found = {}
            for mode in MODES:
                got = _strace_run(strace, mode, calls, lib, tmp)
                by_name = {
                    name: (got.get(name, 0) - base.get(name, 0)) / calls
                    for name in {*got, *base}
                }
                by_name = {n: c for n, c in by_name.items() if abs(c) >= 0.005}
                found[mode] = Count(sum(by_name.values()), by_name)
        except (OSError, RuntimeError) as exc:
            return {}, str(exc)
    return found, ""
