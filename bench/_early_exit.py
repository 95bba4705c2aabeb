"""Scenario (e): early exits, ``yes | head -n 1`` and ``seq 1 1000000000 | head -n 1``.

The last stage leaves after one line and its upstream dies of ``SIGPIPE``;
what is measured is how soon the whole run ends. bash runs
``bash -c 'yes | head -n 1'``; cuprum runs the same two programs as a
pipeline (``sh.make(YES)() | sh.make(HEAD)("-n", "1")``, ``run_sync()``
with its defaults), on the engine (backend ``rust``) and on the Python
backend. Wall time from starting the run to its result with every stage
reaped; the output (``y`` or ``1``) is checked. Each round runs every
variant several times in a row and keeps the median, and rounds
interleave the variants.
"""

from __future__ import annotations

import functools
import statistics
import typing as typ

import _pipeline
import _support as sup

if typ.TYPE_CHECKING:
    import types


class Case(typ.NamedTuple):
    """A pipeline that ends early: its bash spelling, its stages, its output."""

    key: str
    title: str
    script: str
    stages: list[tuple[str, list[str]]]
    expected: str


CASES: typ.Final = (
    Case(
        "yes",
        "yes | head -n 1",
        "yes | head -n 1",
        [("YES", []), ("HEAD", ["-n", "1"])],
        "y\n",
    ),
    Case(
        "seq",
        "seq 1 1000000000 | head -n 1",
        "seq 1 1000000000 | head -n 1",
        [("SEQ", ["1", "1000000000"]), ("HEAD", ["-n", "1"])],
        "1\n",
    ),
)
BACKENDS: typ.Final = (
    ("rust", "cuprum pipeline, backend rust"),
    ("python", "cuprum pipeline, backend python"),
)


def _bash(case: Case) -> str:
    return _pipeline.run_bash(case.script).decode()


def _cuprum(module: types.ModuleType, case: Case) -> str:
    return _pipeline.run_stages(module, case.stages)


class Variant(typ.NamedTuple):
    """One timed way to run a case."""

    key: str
    samples: sup.Samples
    setup: typ.Callable[[], None]
    run: typ.Callable[[], str]


def _variants(module: types.ModuleType | None) -> list[tuple[Case, Variant]]:
    found = []
    for case in CASES:
        found.append(
            (
                case,
                Variant(
                    "bash",
                    sup.Samples(f"{case.title}: bash -c", 0),
                    lambda: None,
                    functools.partial(_bash, case),
                ),
            )
        )
        if module is None:
            continue
        found += [
            (
                case,
                Variant(
                    backend,
                    sup.Samples(f"{case.title}: {label}", 0),
                    functools.partial(sup.use_backend, backend),
                    functools.partial(_cuprum, module, case),
                ),
            )
            for backend, label in BACKENDS
        ]
    return found


def _time_block(case: Case, variant: Variant, reps: int) -> float:
    """Run ``variant`` ``reps`` times; return the median wall time."""
    variant.setup()
    times = []
    for _ in range(reps):
        start = sup.now()
        output = variant.run()
        times.append(sup.now() - start)
        if output != case.expected:
            raise sup.TransferError(
                f"{variant.samples.name}: printed {output!r}, "
                f"expected {case.expected!r}"
            )
    return statistics.median(times)


def _bound(bash: sup.Samples) -> str:
    return f"<= 2x bash + 10 ms (= {sup.fmt_seconds(2 * bash.median + 0.010)} here)"


def scenario(report: sup.Report, rounds: int, reps: int) -> None:
    """Run scenario (e) and print its tables."""
    sec = report.section("(e) Early exits: yes | head -n 1, seq | head -n 1")
    module, why_not = _pipeline.load_pipeline_module()
    if module is None:
        sec.add(f"{why_not}; only the bash figures are measured.")
    sec.add(
        " ".join(__doc__.split("\n\n", 1)[1].split())
        + f" {rounds} rounds x {reps} runs per variant, after one untimed run each."
    )
    chosen = _variants(module)
    for case, variant in chosen:  # warm-up, untimed
        _time_block(case, variant, 1)
    for index in range(rounds):
        print(f"  round {index + 1}/{rounds}:", end="", flush=True)
        for case, variant in chosen:
            elapsed = _time_block(case, variant, reps)
            variant.samples.times.append(elapsed)
            print(
                f" {case.key}/{variant.key} {sup.fmt_seconds(elapsed)}",
                end="",
                flush=True,
            )
        print(flush=True)
    print()
    sec.add(
        sup.render_table(
            ["variant", "median", "round medians"],
            [[v.samples.name, *v.samples.cells()[:2]] for _, v in chosen],
        )
    )
    by_key = {(c.key, v.key): v.samples for c, v in chosen}
    ratio_rows = [
        [
            f"{case.title}: {label.removeprefix('cuprum pipeline, ')} / bash",
            *sup.fmt_ratio(
                sup.time_ratio(by_key[case.key, backend], by_key[case.key, "bash"])
            ),
            _bound(by_key[case.key, "bash"]) if backend == "rust" else "reference",
        ]
        for case in CASES
        for backend, label in BACKENDS
        if (case.key, backend) in by_key
    ]
    if ratio_rows:
        sec.add(
            sup.render_table(
                ["ratio (time)", "of medians", "per round", "target"],
                ratio_rows,
            )
        )
    for case in CASES:
        report.standings[case.key] = sup.Standing(
            case.title,
            "bash",
            {
                role: by_key[case.key, key]
                for role, key in (
                    ("engine", "rust"),
                    ("python", "python"),
                    ("base", "bash"),
                )
                if (case.key, key) in by_key
            },
        )
