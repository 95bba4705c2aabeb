"""Scenario (d): a 3-stage pipeline, ``cat FILE | cat | wc -c``, cuprum against bash.

The input is a file of zeros in a temporary directory (page-cached after it
is written). bash runs ``bash -c 'cat "$1" | cat | wc -c'``; cuprum runs the
same three programs through its pipeline API, each hop pumped by the
selected backend (the engine, with backend ``rust``). Wall time from
starting the pipeline to its result with every stage reaped; the count
printed by ``wc -c`` is checked. Rounds interleave bash and cuprum.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import tempfile
import typing as typ

import _support as sup

if typ.TYPE_CHECKING:
    import types

# ===========================================================================
# HOOK: the cuprum side of the 3-stage pipeline scenario.
#
# The pipeline API (cuprum/pipeline.py, issue 4) is being written by another
# engineer. This function is the only place that knows its shape; it follows
# the API issue 4 describes: `sh.make(CAT)` returns a builder, calling it with
# argv items returns a `SafeCmd`, `cmd | cmd` builds a `Pipeline`, and
# `Pipeline.run_sync()` returns a `PipelineResult` whose `stdout` is the last
# stage's output. If the final API differs, adapt this function only.
# ===========================================================================


def run_cuprum_pipeline(pipeline_mod: types.ModuleType, path: str) -> int:
    """Run ``cat path | cat | wc -c`` through cuprum; return ``wc``'s count."""
    import cuprum  # noqa: PLC0415 - the hook resolves names at call time

    def find(name: str) -> typ.Any:  # noqa: ANN401 - whatever the API exposes
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

    sh = find("sh")
    cat = sh.make(find("CAT"))
    wc = sh.make(find("WC"))
    result = (cat(path) | cat() | wc("-c")).run_sync()
    failed = [s for s in getattr(result, "stages", []) if not getattr(s, "ok", True)]
    if failed:
        raise sup.TransferError(f"cuprum pipeline: failed stages {failed}")
    return int(result.stdout.split()[0])


# ===========================================================================
# End of the hook.
# ===========================================================================


def _run_bash(path: str) -> int:
    proc = sup.spawn(
        ["bash", "-c", 'cat "$1" | cat | wc -c', "bench-pipeline", path],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None  # noqa: S101 - spawned with PIPE
    output = proc.stdout.read()
    if sup.reap(proc) != 0:
        raise sup.TransferError(f"bash pipeline exited {proc.returncode}")
    return int(output.split()[0])


def _write_input(path: str, nbytes: int) -> None:
    block = bytes(sup.MIB)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        left = nbytes
        while left:
            left -= os.write(fd, block[: min(left, len(block))])
    finally:
        os.close(fd)


def _load_pipeline_module() -> tuple[types.ModuleType | None, str]:
    """Import cuprum.pipeline if it exists; say why not otherwise."""
    try:
        return importlib.import_module("cuprum.pipeline"), ""
    except ModuleNotFoundError as exc:
        if exc.name in {"cuprum.pipeline", "cuprum"}:
            return None, "pipeline API not available yet"
        return None, f"cuprum.pipeline failed to import: {exc!r}"
    except Exception as exc:  # noqa: BLE001 - a half-written module must not stop the run
        return None, f"cuprum.pipeline failed to import: {exc!r}"


def scenario(report: sup.Report, rounds: int, nbytes: int) -> None:
    """Run scenario (d) and print its table (bash alone while the API is missing)."""
    sec = report.section(
        f"(d) 3-stage pipeline, {sup.fmt_bytes(nbytes)}: cat FILE | cat | wc -c"
    )
    module, why_not = _load_pipeline_module()
    if module is None:
        sec.add(f"{why_not}; only the bash figure is measured.")
    else:
        sup.use_backend("rust")
    sec.add(" ".join(__doc__.split("\n\n", 1)[1].split()))
    bash = sup.Samples("bash -c (the same 3 stages)", nbytes)
    cup = sup.Samples("cuprum pipeline (backend rust)", nbytes)
    with tempfile.TemporaryDirectory(prefix="cuprum-bench-") as tmp:
        path = os.path.join(tmp, "input.bin")  # noqa: PTH118 - a plain path string
        _write_input(path, nbytes)
        variants: list[tuple[sup.Samples, typ.Callable[[], int]]] = [
            (bash, lambda: _run_bash(path))
        ]
        if module is not None:
            variants.append((cup, lambda: run_cuprum_pipeline(module, path)))
        _run_bash(path)  # warm-up, untimed
        if module is not None:
            try:
                run_cuprum_pipeline(module, path)
            except sup.TransferError:
                raise
            except Exception as exc:  # noqa: BLE001 - the hook may lag behind the API
                sec.add(
                    "cuprum.pipeline is importable but the hook in bench/_pipeline.py "
                    f"(run_cuprum_pipeline) does not match its API yet: {exc!r}; only "
                    "the bash figure is measured."
                )
                module = None
                variants = variants[:1]
        for index in range(rounds):
            print(f"  round {index + 1}/{rounds}:", end="", flush=True)
            for samples, run in variants:
                start = sup.now()
                count = run()
                elapsed = sup.now() - start
                if count != nbytes:
                    raise sup.TransferError(
                        f"{samples.name}: wc counted {count}, expected {nbytes}"
                    )
                samples.times.append(elapsed)
                print(f" {sup.fmt_seconds(elapsed)}", end="", flush=True)
            print(flush=True)
        print()
    measured = [s for s, _ in variants]
    sec.add(
        sup.render_table(
            ["variant", "median", "min - max", "MiB/s"],
            [[s.name, *s.cells()] for s in measured],
        )
    )
    if module is not None:
        value = sup.fmt_ratio(sup.ratio(bash, cup))
        sec.add(
            sup.render_table(
                ["ratio (time)", "of medians", "per round", "target (issue 5)"],
                [["cuprum / bash", *value, "<= 1.0x"]],
            )
        )
