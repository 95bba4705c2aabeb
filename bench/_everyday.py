"""Scenario (f): everyday runs, against what a user would write by hand.

Small runs cost spawning, waiting and bookkeeping, not bytes. Each row
times cuprum's call and the hand-written alternative in interleaved rounds
(every variant once per round, in a fixed order), on the default backend
(rust); each round's figure is the mean per call over ``calls`` calls:

* one command, ``true``: ``run_sync`` against ``subprocess.run``, with
  and without ``capture_output=True`` (cuprum captures stdout and stderr);
* ``echo hi | tr a-z A-Z | wc -c``: ``run_sync`` against a
  ``subprocess.Popen`` chain and against bash running the same pipeline
  in its own loop (per iteration);
* 100,000 lines of ``seq``: ``stream_sync().lines()`` and ``async with
  stream()`` against iterating a ``Popen``'s stdout (per line);
* 20 such 3-stage pipelines at once (``asyncio.gather`` of ``run()``)
  against 20 ``Popen`` chains started together;
* ``import cuprum`` in a fresh interpreter against ``import subprocess``
  (``-X importtime``, cumulative microseconds of the package).

Ratios are time ratios (lower is faster), of medians with the per-round
range; the targets are the roadmap's (4.2.17).
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
import typing as typ

import _support as sup

from cuprum import ECHO, SEQ, TR, TRUE, WC, sh
from cuprum._pumps.reactor import release_this_thread

LINES: typ.Final = 100_000
AT_ONCE: typ.Final = 20


def _pipeline() -> typ.Any:  # noqa: ANN401 - a cuprum Pipeline
    return sh.make(ECHO)("hi") | sh.make(TR)("a-z", "A-Z") | sh.make(WC)("-c")


def _cuprum_true(calls: int) -> None:
    command = sh.make(TRUE)()
    for _ in range(calls):
        command.run_sync()


def _subprocess_true(calls: int) -> None:
    for _ in range(calls):
        subprocess.run(["true"], check=False)


def _subprocess_true_captured(calls: int) -> None:
    for _ in range(calls):
        subprocess.run(["true"], capture_output=True, check=False)


def _cuprum_three(calls: int) -> None:
    pipeline = _pipeline()
    for _ in range(calls):
        result = pipeline.run_sync()
        if result.stdout.strip() != "3":
            raise sup.TransferError(f"3-stage pipeline gave {result.stdout!r}")


def _popen_chain() -> subprocess.Popen[bytes]:
    echo = subprocess.Popen(["echo", "hi"], stdout=subprocess.PIPE)
    tr = subprocess.Popen(
        ["tr", "a-z", "A-Z"], stdin=echo.stdout, stdout=subprocess.PIPE
    )
    typ.cast("typ.IO[bytes]", echo.stdout).close()
    wc = subprocess.Popen(["wc", "-c"], stdin=tr.stdout, stdout=subprocess.PIPE)
    typ.cast("typ.IO[bytes]", tr.stdout).close()
    wc.echo, wc.tr = echo, tr  # type: ignore[attr-defined]
    return wc


def _finish_chain(wc: subprocess.Popen[bytes]) -> None:
    out, _ = wc.communicate()
    wc.echo.wait()  # type: ignore[attr-defined]
    wc.tr.wait()  # type: ignore[attr-defined]
    if out.strip() != b"3":
        raise sup.TransferError(f"Popen chain gave {out!r}")


def _popen_three(calls: int) -> None:
    for _ in range(calls):
        _finish_chain(_popen_chain())


def _bash_three(calls: int) -> float:
    """Run the pipeline ``calls`` times in bash's own loop; return its seconds."""
    script = f"for i in $(seq {calls}); do echo hi | tr a-z A-Z | wc -c; done"
    started = time.perf_counter()
    out = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        check=True,
    ).stdout
    elapsed = time.perf_counter() - started
    if out.split() != [b"3"] * calls:
        raise sup.TransferError("bash's loop gave the wrong output")
    return elapsed


def _cuprum_lines_sync(_calls: int) -> None:
    with sh.make(SEQ)("1", str(LINES)).stream_sync() as out:
        count = sum(1 for _ in out.lines())
    if count != LINES:
        raise sup.TransferError(f"stream_sync gave {count} lines")


def _cuprum_lines_async(_calls: int) -> None:
    async def read() -> int:
        count = 0
        async with sh.make(SEQ)("1", str(LINES)).stream() as out:
            async for _ in out.lines():
                count += 1
        return count

    count = asyncio.run(read())
    if count != LINES:
        raise sup.TransferError(f"stream() gave {count} lines")


def _popen_lines(_calls: int) -> None:
    with subprocess.Popen(
        ["seq", "1", str(LINES)],
        stdout=subprocess.PIPE,
        text=True,
    ) as seq:
        count = sum(1 for _ in typ.cast("typ.IO[str]", seq.stdout))
    if count != LINES:
        raise sup.TransferError(f"Popen gave {count} lines")


def _cuprum_at_once(calls: int) -> None:
    async def all_at_once() -> None:
        pipeline = _pipeline()
        results = await asyncio.gather(*(pipeline.run() for _ in range(AT_ONCE)))
        if any(r.stdout.strip() != "3" for r in results):
            raise sup.TransferError("a pipeline of the 20 gave the wrong output")

    for _ in range(calls):
        asyncio.run(all_at_once())


def _popen_at_once(calls: int) -> None:
    for _ in range(calls):
        chains = [_popen_chain() for _ in range(AT_ONCE)]
        for wc in chains:
            _finish_chain(wc)


def import_micros(module: str) -> int:
    """Return the microseconds ``import module`` takes in a fresh interpreter.

    As installed: with bytecode caches (written by a first import when
    missing), whatever ``PYTHONDONTWRITEBYTECODE`` says here.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-X", "importtime", "-c", f"import {module}"]
    subprocess.run(command, capture_output=True, check=True, env=env)  # the caches
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s*\d+ \|\s*(\d+) \| (\S+)$", line)
        if match and match.group(2) == module:
            return int(match.group(1))
    msg = f"no import time line for {module}"
    raise ValueError(msg)


class Row(typ.NamedTuple):
    """One row: its label, the unit a figure is per, and its variants."""

    label: str
    per: str
    count: int
    variants: dict[str, typ.Callable[[int], float | None]]
    target: str


def _timed(work: typ.Callable[[int], object]) -> typ.Callable[[int], float | None]:
    def run(calls: int) -> float | None:
        started = time.perf_counter()
        elapsed = work(calls)
        if isinstance(elapsed, float):
            return elapsed
        return time.perf_counter() - started

    return run


def _rows(calls: int) -> list[Row]:
    return [
        Row(
            "`true`, one command",
            "call",
            calls,
            {
                "cuprum run_sync": _timed(_cuprum_true),
                "subprocess.run": _timed(_subprocess_true),
                "subprocess.run(capture_output=True)": _timed(
                    _subprocess_true_captured
                ),
            },
            "<= 1.0x subprocess.run",
        ),
        Row(
            "`echo hi | tr a-z A-Z | wc -c`",
            "call",
            calls,
            {
                "cuprum run_sync": _timed(_cuprum_three),
                "Popen chain": _timed(_popen_three),
                "bash's own loop": _timed(_bash_three),
            },
            "<= 1.0x a Popen chain, <= 1.2x bash",
        ),
        Row(
            f"{LINES:,} lines of `seq`",
            "line",
            LINES,
            {
                "cuprum stream_sync().lines()": _timed(_cuprum_lines_sync),
                "cuprum stream().lines()": _timed(_cuprum_lines_async),
                "iterating a Popen's stdout": _timed(_popen_lines),
            },
            "<= 3x a Popen iteration",
        ),
        Row(
            f"{AT_ONCE} 3-stage pipelines at once",
            "batch",
            max(1, calls // 20),
            {
                "cuprum gather of run()": _timed(_cuprum_at_once),
                f"{AT_ONCE} Popen chains": _timed(_popen_at_once),
            },
            "<= 1.0x 20 Popen chains",
        ),
    ]


def _measure(row: Row, rounds: int) -> dict[str, list[float]]:
    """Time every variant of ``row`` once per round; seconds per unit."""
    per_round: dict[str, list[float]] = {name: [] for name in row.variants}
    runs = 1 if row.per == "line" else row.count
    for _ in range(rounds):
        for name, variant in row.variants.items():
            elapsed = typ.cast("float", variant(runs))
            per_round[name].append(elapsed / row.count)
    return per_round


def _lines_of(
    label: str, per_round: dict[str, list[float]], target: str
) -> list[list[str]]:
    """Table lines: each cuprum variant with its ratio to every other one."""
    ours = [name for name in per_round if name.startswith("cuprum")]
    theirs = [name for name in per_round if name not in ours]
    lines = []
    for name in [*ours, *theirs]:
        times = per_round[name]
        versus = []
        for other in theirs if name in ours else []:
            ratio = sup.time_ratio(
                sup.Samples(name, 0, times), sup.Samples(other, 0, per_round[other])
            )
            med, spread = sup.fmt_ratio(ratio)
            versus.append(f"{med} ({spread}) {other}")
        lines.append(
            [
                label,
                name,
                sup.fmt_seconds(statistics.median(times)),
                "; ".join(versus) or "-",
                target if name in ours else "-",
            ]
        )
    return lines


def scenario(report: sup.Report, rounds: int, calls: int) -> None:
    """Run scenario (f); add its table to ``report``."""
    sup.use_backend("rust")
    sec = report.section("(f) Everyday runs against hand-written alternatives")
    sec.add(
        "Medians of per-round means, per call (per line for the lines row, per "
        f"batch of {AT_ONCE} for the batch row); time ratios, lower is faster, "
        "with the per-round range; targets are the roadmap's (4.2.17). Backend rust."
    )
    table: list[list[str]] = []
    for row in _rows(calls):
        table += _lines_of(row.label, _measure(row, rounds), row.target)
    imports: dict[str, list[float]] = {"cuprum": [], "subprocess": []}
    for _ in range(rounds):
        for name, times in imports.items():
            times.append(import_micros(name) / 1e6)
    table += _lines_of(
        "import in a fresh interpreter",
        {f"{name} import {name}": times for name, times in imports.items()},
        "<= 3x import subprocess",
    )
    headers = ["run", "variant", "median per call", "time ratio", "target"]
    sec.add(sup.render_table(headers, table))
    release_this_thread()  # its poll and doorbell are not a leak
