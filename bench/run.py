"""cuprum's benchmark harness (``make bench``): figures and in-run ratios.

Scenarios (targets: design 13.5), each in interleaved rounds (every variant
once per round, in a fixed order) with real processes at both ends:

(a) one pair, 1 GiB, two workloads (``dd`` 64 KiB writes into ``wc -c``,
    ``head -c`` 8 KiB writes into ``cat > /dev/null``): the engine, the
    blocking splice loop of the older cuprum (C, ``_reference.py``), thread
    pumps (Python and C), the Python backend, a naive asyncio pump and a
    direct pipe (``_one_pair.py``);
(b) 64 x 16 MiB and 1,024 x 1 MiB pairs: one engine or Python-backend
    batch, or one blocking splice loop thread per pair: aggregate rate,
    threads, peak RSS (``_many_pairs.py``);
(c) the latency of one small call, blocking and awaited, and its syscalls
    per call under ``strace`` (``_latency.py``, ``_syscalls.py``);
(d) 3- and 5-stage pipelines against bash (``_pipeline.py``, which holds
    the hook on the pipeline API);
(e) early exits, ``yes | head -n 1`` and ``seq ... | head -n 1``, against
    bash (``_early_exit.py``);
(f) everyday runs: one command, a small pipeline, streamed lines, 20
    pipelines at once and ``import cuprum``, against ``subprocess``, a
    ``Popen`` chain and bash (``_everyday.py``).

A summary of the engine's targets follows (``_summary.py``). Speed is only
printed, never asserted. The run exits non-zero if any transfer moved the
wrong number of bytes, a process failed or was left behind, or a descriptor
leaked. ``--write-docs`` also writes the tables to ``docs/benchmarks.md``
and the bar chart of ``_chart.py`` to ``docs/benchmarks.svg``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import pathlib
import shlex
import sys
import threading
import time

import _chart
import _early_exit
import _everyday
import _latency
import _many_pairs
import _one_pair
import _pipeline
import _reference
import _summary
import _support as sup

import cuprum
from cuprum._pumps import choice

DOCS_PATH = sup.BENCH_DIR.parent / "docs" / "benchmarks.md"
CHART_PATH = DOCS_PATH.with_suffix(".svg")
SCENARIOS = ("a", "b", "c", "d", "e", "f")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="cuprum benchmarks: figures and ratios measured in the same run.",
    )
    parser.add_argument(
        "--size",
        type=int,
        help="bytes moved in scenario (a) (default 1 GiB, 64 MiB with --quick)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="interleaved rounds per scenario (default 5)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes: a smoke run of about a minute",
    )
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help="comma-separated scenarios to run (a,b,c,d,e,f)",
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help=f"also write the tables to {DOCS_PATH.name} and the chart to "
        f"{CHART_PATH.name}",
    )
    args = parser.parse_args(argv)
    args.only = {s.strip() for s in args.only.split(",") if s.strip()}
    if not args.only or args.only - set(SCENARIOS):
        parser.error(f"--only takes a comma-separated subset of {','.join(SCENARIOS)}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.size is not None and args.size < 1:
        parser.error("--size must be positive")
    return args


def warm_engine() -> None:
    """Start the engine's reactor (and its descriptors) before the leak baseline.

    A pipeline, not a small pump (which finishes inline, without the
    reactor): its hops go through the reactor thread, its epoll
    descriptor, self-pipe and doorbell, which live as long as the process.
    """
    sup.use_backend("rust")
    (cuprum.sh.make(cuprum.ECHO)("warm") | cuprum.sh.make(cuprum.CAT)()).run_sync()


def run_scenarios(args: argparse.Namespace, report: sup.Report) -> None:
    """Run the chosen scenarios; a failing one is recorded and the next runs."""
    size = args.size or (64 * sup.MIB if args.quick else sup.GIB)
    one_pair: dict[str, sup.Samples] = {}
    steps = {
        "a": lambda: _one_pair.scenario(report, size, args.rounds),
        "b": lambda: _many_pairs.scenario(report, args.rounds, args.quick, one_pair),
        "c": lambda: _latency.scenario(
            report, args.rounds, 500 if args.quick else 2000
        ),
        "d": lambda: _pipeline.scenario(
            report, args.rounds, (16 if args.quick else 256) * sup.MIB
        ),
        "e": lambda: _early_exit.scenario(report, args.rounds, 3 if args.quick else 5),
        "f": lambda: _everyday.scenario(report, args.rounds, 30 if args.quick else 200),
    }
    for key in SCENARIOS:
        if key not in args.only:
            continue
        try:
            result = steps[key]()
        except (sup.TransferError, OSError, ValueError) as exc:
            report.fail(f"scenario ({key}): {exc!r}")
            left = sup.kill_all()
            if left:
                print(f"  (killed and reaped {left} processes of the failed scenario)")
            print()
            continue
        if key == "a":
            one_pair.update(result)
    _summary.section(report)


def settled_leaks(fds_before: set[int], patience: float = 2.0) -> list[int]:
    """Descriptors opened since ``fds_before`` and still open after ``patience`` s.

    A closed event loop's doorbell descriptor is released a little after the
    loop closes (observed: under 300 ms), so a descriptor counts as leaked
    only if it outlives the wait.
    """
    deadline = sup.now() + patience
    while True:
        gc.collect()
        leaked = sorted(sup.open_fds() - fds_before)
        if not leaked or sup.now() > deadline:
            return leaked
        time.sleep(0.05)


def check_clean(report: sup.Report, fds_before: set[int], threads_before: int) -> str:
    """Reap stragglers and compare descriptors and threads with the start."""
    notes = []
    left = sup.kill_all()
    if left:
        report.fail(f"{left} child processes were still running or unreaped at the end")
    children = sup.live_children()
    if children:
        report.fail(f"children still present at the end: {children}")
    leaked = settled_leaks(fds_before)
    if leaked:
        targets = []
        for fd in leaked[:5]:
            try:
                targets.append(
                    f"{fd} -> {pathlib.Path(f'/proc/self/fd/{fd}').readlink()}"
                )
            except OSError:
                targets.append(str(fd))
        report.fail(f"{len(leaked)} descriptors leaked: {', '.join(targets)}")
    else:
        notes.append("no descriptor leaked")
    threads = threading.active_count()
    notes.append(f"Python threads {threads_before} before, {threads} after")
    if not children and not left:
        notes.append("every child reaped")
    return "; ".join(notes)


def write_docs(report: sup.Report, command: str, note: str, footer: str) -> None:
    """Write the run's tables to docs/benchmarks.md and its chart beside them.

    The summary (and the chart) come first, then each scenario's section.
    """
    date = dt.datetime.now(dt.UTC).date().isoformat()
    machine = ", ".join(note.removeprefix("Machine: ").split(", ")[:2])
    chart = _chart.render(report, f"{date}, {command.split(' ', 1)[1]}; {machine}")
    if chart is not None:
        CHART_PATH.write_text(chart)
        print(f"wrote {CHART_PATH}")
    lines = [
        "# Benchmarks",
        "",
        *sup.wrap(
            f"Measured on {dt.datetime.now(dt.UTC).date().isoformat()} "
            f"with `{command}` "
            "(`make bench` runs the same without `--write-docs`). The harness is "
            "`bench/run.py`; each scenario's notes say how it measures.",
            80,
        ),
        "",
        *sup.wrap(note),
        "",
    ]
    summary = [sec for sec in report.sections if sec.title == _summary.TITLE]
    rest = [sec for sec in report.sections if sec.title != _summary.TITLE]
    for sec in [*summary, *rest]:
        lines += [f"## {sec.title}", ""]
        if sec.title == _summary.TITLE and chart is not None:
            lines += [
                f"![Speed relative to the direct pipe or bash]({CHART_PATH.name})",
                "",
            ]
        for block in sec.blocks:
            lines += [
                *(block.splitlines() if block.startswith("|") else sup.wrap(block)),
                "",
            ]
    lines += [*sup.wrap(footer), ""]
    DOCS_PATH.write_text("\n".join(lines))
    print(f"wrote {DOCS_PATH}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; return the exit status."""
    args = parse_args(argv)
    started = sup.now()
    if not cuprum.is_rust_available():
        print("the native engine is not built: run `make build` first", file=sys.stderr)
        return 2
    soft, hard = sup.raise_fd_limit()
    original = os.environ.get(choice.ENV_VAR)
    command = shlex.join(
        [
            ".venv/bin/python",
            "bench/run.py",
            *(argv if argv is not None else sys.argv[1:]),
        ]
    )
    note = sup.machine_note()
    print("# cuprum benchmarks")
    print()
    print("\n".join(sup.wrap(note)))
    print(f"RLIMIT_NOFILE {soft}/{hard}. Command: {command}")
    print()
    report = sup.Report()
    try:
        warm_engine()
        fds_before = sup.open_fds()
        threads_before = threading.active_count()
        run_scenarios(args, report)
    finally:
        _reference.close()
        if original is None:
            os.environ.pop(choice.ENV_VAR, None)
        else:
            os.environ[choice.ENV_VAR] = original
        choice.reset_backend_cache()
    clean = check_clean(report, fds_before, threads_before)
    elapsed = sup.now() - started
    status = (
        f"{len(report.failures)} FAILURES"
        if report.failures
        else "all byte counts correct"
    )
    footer = f"Run time {elapsed:.0f} s; {status}; {clean}."
    print("\n".join(sup.wrap(footer)))
    if args.write_docs:
        write_docs(report, command, note, footer)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
