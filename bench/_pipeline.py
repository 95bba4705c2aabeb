"""Scenario (d): 3- and 5-stage pipelines, ``cat FILE | cat ... | wc -c``, against bash.

The input is a file of zeros in a temporary directory (page-cached after it
is written). bash runs ``bash -c 'cat "$1" | cat | wc -c'`` (and with two
more ``cat`` stages for the 5-stage case); cuprum runs the same programs
through its pipeline API, each hop pumped by the selected backend (the
engine with backend ``rust``, or the Python backend). Wall time from
starting the pipeline to its result with every stage reaped; the count
printed by ``wc -c`` is checked. Rounds interleave bash and cuprum. The
3-stage engine run is timed once more under an observe hook that counts
the output's lines (what observing costs when the output is a line).
"""

from __future__ import annotations

import functools
import importlib
import os
import subprocess
import tempfile
import typing as typ

import _support as sup

if typ.TYPE_CHECKING:
    import types

STAGES: typ.Final = (3, 5)
BACKENDS: typ.Final = (
    ("rust", "cuprum pipeline, backend rust"),
    ("python", "cuprum pipeline, backend python"),
)
OBSERVED: typ.Final = "rust+observe"
"""The 3-stage engine run again under an observe hook (<= 5% cost, design 13.5)."""

# ===========================================================================
# HOOK: the cuprum side of the pipeline scenarios (d) and (e).
#
# These functions are the only places that know the pipeline API's shape:
# `sh.make(CAT)` returns a builder, calling it with argv items returns a
# `SafeCmd`, `cmd | cmd` builds a `Pipeline`, and `Pipeline.run_sync()`
# returns a `PipelineResult` whose `stdout` is the last stage's output. If
# the API changes, adapt these functions only.
# ===========================================================================


def find(pipeline_mod: types.ModuleType, name: str) -> typ.Any:  # noqa: ANN401 - whatever the API exposes
    """Look ``name`` up in cuprum, cuprum.pipeline, then cuprum.catalogue."""
    import cuprum  # noqa: PLC0415 - the hook resolves names at call time

    for module in (cuprum, pipeline_mod):
        if hasattr(module, name):
            return getattr(module, name)
    try:
        catalogue = importlib.import_module("cuprum.catalogue")
    except ImportError:
        catalogue = None
    if catalogue is not None and hasattr(catalogue, name):
        return getattr(catalogue, name)
    raise LookupError(f"{name} is neither in cuprum nor in cuprum.pipeline")


def run_stages(
    pipeline_mod: types.ModuleType, argvs: list[tuple[str, list[str]]]
) -> str:
    """Run ``argvs`` (catalogue name, arguments) as one pipeline; return stdout.

    Raises TransferError if a stage failed (a stage killed by ``SIGPIPE``
    after its downstream left counts as ``ok``, as the pipeline decides).
    """
    sh = find(pipeline_mod, "sh")
    cmds = [sh.make(find(pipeline_mod, prog))(*args) for prog, args in argvs]
    pipeline = cmds[0]
    for cmd in cmds[1:]:
        pipeline = pipeline | cmd
    result = pipeline.run_sync()
    failed = [s for s in getattr(result, "stages", []) if not getattr(s, "ok", True)]
    if failed:
        raise sup.TransferError(f"cuprum pipeline: failed stages {failed}")
    return str(result.stdout)


def run_cuprum_pipeline(pipeline_mod: types.ModuleType, path: str, stages: int) -> int:
    """Run ``cat path | cat ... | wc -c`` (``stages`` in all); return the count."""
    argvs = [("CAT", [path]), *[("CAT", [])] * (stages - 2), ("WC", ["-c"])]
    return int(run_stages(pipeline_mod, argvs).split()[0])


def run_observed_pipeline(
    pipeline_mod: types.ModuleType, path: str, stages: int
) -> int:
    """`run_cuprum_pipeline` with an observe hook that only counts output lines."""
    observe = find(pipeline_mod, "observe")
    lines = 0

    def count(event: typ.Any) -> None:  # noqa: ANN401 - an ExecEvent
        nonlocal lines
        if event.phase == "stdout":
            lines += 1

    with observe(count):
        counted = run_cuprum_pipeline(pipeline_mod, path, stages)
    if lines != 1:
        raise sup.TransferError(f"observed pipeline: {lines} stdout events, not 1")
    return counted


# ===========================================================================
# End of the hook.
# ===========================================================================


def bash_script(stages: int) -> str:
    """Spell ``stages`` stages for bash: ``cat "$1" | cat ... | wc -c``."""
    return " | ".join(['cat "$1"', *["cat"] * (stages - 2), "wc -c"])


def run_bash(script: str, *args: str) -> bytes:
    """Run ``bash -c script`` and return its stdout; raise if it fails."""
    proc = sup.spawn(
        ["bash", "-c", script, "bench-pipeline", *args], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None  # noqa: S101 - spawned with PIPE
    output = proc.stdout.read()
    if sup.reap(proc) != 0:
        raise sup.TransferError(f"bash {script!r} exited {proc.returncode}")
    return output


def _bash_count(stages: int, path: str) -> int:
    return int(run_bash(bash_script(stages), path).split()[0])


def _write_input(path: str, nbytes: int) -> None:
    block = bytes(sup.MIB)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        left = nbytes
        while left:
            left -= os.write(fd, block[: min(left, len(block))])
    finally:
        os.close(fd)


def load_pipeline_module() -> tuple[types.ModuleType | None, str]:
    """Import cuprum.pipeline if it exists; say why not otherwise."""
    try:
        return importlib.import_module("cuprum.pipeline"), ""
    except ModuleNotFoundError as exc:
        if exc.name in {"cuprum.pipeline", "cuprum"}:
            return None, "pipeline API not available yet"
        return None, f"cuprum.pipeline failed to import: {exc!r}"
    except Exception as exc:  # noqa: BLE001 - a half-written module must not stop the run
        return None, f"cuprum.pipeline failed to import: {exc!r}"


class Variant(typ.NamedTuple):
    """One timed way to run a case: its samples, a selector and the run."""

    samples: sup.Samples
    setup: typ.Callable[[], None]
    run: typ.Callable[[], int]


def _variants(
    module: types.ModuleType | None, path: str, nbytes: int
) -> dict[tuple[int, str], Variant]:
    found: dict[tuple[int, str], Variant] = {}
    for stages in STAGES:
        found[stages, "bash"] = Variant(
            sup.Samples(f"{stages} stages, bash -c", nbytes),
            lambda: None,
            functools.partial(_bash_count, stages, path),
        )
        if module is None:
            continue
        for backend, label in BACKENDS:
            found[stages, backend] = Variant(
                sup.Samples(f"{stages} stages, {label}", nbytes),
                functools.partial(sup.use_backend, backend),
                functools.partial(run_cuprum_pipeline, module, path, stages),
            )
    if module is not None:
        found[3, OBSERVED] = Variant(
            sup.Samples(
                "3 stages, backend rust, observed (a hook counting lines)", nbytes
            ),
            functools.partial(sup.use_backend, "rust"),
            functools.partial(run_observed_pipeline, module, path, 3),
        )
    return found


def _warm_up(
    sec: sup.Section, variants: dict[tuple[int, str], Variant]
) -> dict[tuple[int, str], Variant]:
    """Run each variant once, untimed; drop cuprum's if the hook lags the API."""
    for key, variant in list(variants.items()):
        variant.setup()
        try:
            variant.run()
        except sup.TransferError:
            raise
        except Exception as exc:
            if key[1] == "bash":
                raise
            sec.add(
                "cuprum.pipeline is importable but the hook in bench/_pipeline.py "
                f"(run_cuprum_pipeline) does not match its API yet: {exc!r}; only "
                "the bash figures are measured."
            )
            return {k: v for k, v in variants.items() if k[1] == "bash"}
    return variants


def scenario(report: sup.Report, rounds: int, nbytes: int) -> None:
    """Run scenario (d) and print its tables (bash alone while the API is missing)."""
    sec = report.section(
        f"(d) 3- and 5-stage pipelines, {sup.fmt_bytes(nbytes)}: "
        "cat FILE | cat ... | wc -c"
    )
    module, why_not = load_pipeline_module()
    if module is None:
        sec.add(f"{why_not}; only the bash figures are measured.")
    sec.add(" ".join(__doc__.split("\n\n", 1)[1].split()))
    with tempfile.TemporaryDirectory(prefix="cuprum-bench-") as tmp:
        path = os.path.join(tmp, "input.bin")  # noqa: PTH118 - a plain path string
        _write_input(path, nbytes)
        variants = _warm_up(sec, _variants(module, path, nbytes))
        for index in range(rounds):
            print(f"  round {index + 1}/{rounds}:", end="", flush=True)
            for (stages, key), variant in variants.items():
                variant.setup()
                start = sup.now()
                count = variant.run()
                elapsed = sup.now() - start
                if count != nbytes:
                    raise sup.TransferError(
                        f"{variant.samples.name}: wc counted {count}, expected {nbytes}"
                    )
                variant.samples.times.append(elapsed)
                print(f" {stages}/{key} {sup.fmt_seconds(elapsed)}", end="", flush=True)
            print(flush=True)
        print()
    sec.add(
        sup.render_table(
            ["variant", "median", "min - max", "MiB/s"],
            [[v.samples.name, *v.samples.cells()] for v in variants.values()],
        )
    )
    ratio_rows = [
        [
            f"{stages} stages, {label.removeprefix('cuprum pipeline, ')} / bash",
            *sup.fmt_ratio(
                sup.time_ratio(
                    variants[stages, backend].samples,
                    variants[stages, "bash"].samples,
                )
            ),
            "<= 1.0x" if backend == "rust" else "reference",
        ]
        for stages in STAGES
        for backend, label in BACKENDS
        if (stages, backend) in variants
    ]
    if (3, OBSERVED) in variants:
        ratio_rows.append(
            [
                "3 stages, observed / unobserved (backend rust)",
                *sup.fmt_ratio(
                    sup.time_ratio(
                        variants[3, OBSERVED].samples, variants[3, "rust"].samples
                    )
                ),
                "<= 1.05x",
            ]
        )
    if ratio_rows:
        sec.add(
            sup.render_table(
                ["ratio (time)", "of medians", "per round", "target"], ratio_rows
            )
        )
    for stages in STAGES:
        report.standings[f"pipe{stages}"] = sup.Standing(
            f"{stages}-stage pipeline",
            "bash",
            {
                role: variants[stages, key].samples
                for role, key in (
                    ("engine", "rust"),
                    ("python", "python"),
                    ("base", "bash"),
                )
                if (stages, key) in variants
            },
        )
