"""Scenario (a): one pair, producer -> pump -> consumer, several pumps side by side.

Two workloads, each its own table. ``dd``: a ``dd`` producer (64 KiB writes
of zeros) into a ``wc -c`` consumer, whose printed count is checked.
``head``: ``head -c N /dev/zero`` (8 KiB writes) into ``cat > /dev/null``;
there the pump's own count is checked, and every producer and consumer must
exit 0 (``head`` exits 0 only once it has written all N bytes, ``cat`` only
after reading to EOF). The wall time of a round runs from spawning both
processes to reaping them, for every variant alike (the spawn costs a few
milliseconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import subprocess
import typing as typ

import _reference as ref
import _support as sup

import cuprum

if typ.TYPE_CHECKING:
    import collections.abc as cabc

ASYNCIO_READ: typ.Final = 4096


@dataclasses.dataclass(frozen=True)
class Workload:
    """A producer and a consumer, and which variants run between them."""

    key: str
    title: str
    producer: typ.Callable[[int], list[str]]
    consumer: tuple[str, ...]
    counts: bool  # the consumer prints its count; else its stdout is /dev/null
    skip: frozenset[str] = frozenset()

    def consumer_shell(self) -> str:
        """Spell the consumer as a shell would."""
        argv = " ".join(self.consumer)
        return argv if self.counts else f"{argv} > /dev/null"


DD: typ.Final = Workload(
    "dd",
    "64 KiB writes: dd -> pump -> wc -c",
    sup.dd_producer,
    sup.CONSUMER_ARGV,
    counts=True,
)
HEAD: typ.Final = Workload(
    "head",
    "8 KiB writes: head -c -> pump -> cat > /dev/null",
    sup.head_producer,
    ("cat",),
    counts=False,
    skip=frozenset({"py_thread", "asyncio"}),
)

Runner = typ.Callable[[Workload, int], None]


# ---------------------------------------------------------------------------
# The variants: each moves nbytes and raises TransferError on a wrong count
# ---------------------------------------------------------------------------


def _finish(
    label: str,
    work: Workload,
    procs: tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]],
    nbytes: int,
) -> None:
    """Close the parent's pipe ends, collect the consumer's count, reap both."""
    prod, cons = procs
    for stream in (prod.stdout, cons.stdin):
        if stream is not None:
            stream.close()
    output = cons.stdout.read() if cons.stdout is not None else b""
    cons_code = sup.reap(cons)
    prod_code = sup.reap(prod)
    if prod_code != 0 or cons_code != 0:
        raise sup.TransferError(
            f"{label}: producer exited {prod_code}, consumer {cons_code}"
        )
    if work.counts:
        sup.check_count(label, nbytes, output)


def _consumer_stdout(work: Workload) -> int:
    return subprocess.PIPE if work.counts else subprocess.DEVNULL


def _spawn_ends(
    work: Workload, nbytes: int
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], int, int]:
    prod = sup.spawn(work.producer(nbytes), stdout=subprocess.PIPE)
    cons = sup.spawn(
        work.consumer, stdin=subprocess.PIPE, stdout=_consumer_stdout(work)
    )
    assert prod.stdout is not None  # noqa: S101 - spawned with PIPE
    assert cons.stdin is not None  # noqa: S101 - spawned with PIPE
    return prod, cons, prod.stdout.fileno(), cons.stdin.fileno()


def run_direct(work: Workload, nbytes: int) -> None:
    """No pump: the producer's stdout is the consumer's stdin (one kernel hop)."""
    prod = sup.spawn(work.producer(nbytes), stdout=subprocess.PIPE)
    cons = sup.spawn(work.consumer, stdin=prod.stdout, stdout=_consumer_stdout(work))
    _finish("direct pipe", work, (prod, cons), nbytes)


def _run_with(
    label: str, work: Workload, nbytes: int, pump: typ.Callable[[int, int], int]
) -> None:
    prod, cons, reader, writer = _spawn_ends(work, nbytes)
    try:
        moved = pump(reader, writer)
    finally:
        _finish(label, work, (prod, cons), nbytes)
    if moved != nbytes:
        raise sup.TransferError(
            f"{label}: pump reported {moved} bytes, expected {nbytes}"
        )


def run_python_backend(work: Workload, nbytes: int) -> None:
    """Pump with the pure-Python backend: ``pump_stream``, backend ``python``."""
    _run_with("python backend", work, nbytes, cuprum.pump_stream)


def _py_copy(reader: int, writer: int) -> int:
    """os.read/os.write of 64 KiB chunks on blocking descriptors."""
    total = 0
    while chunk := os.read(reader, sup.CHUNK):
        view = memoryview(chunk)
        while view:
            view = view[os.write(writer, view) :]
        total += len(chunk)
    return total


def run_py_thread(work: Workload, nbytes: int) -> None:
    """Pump on a Python thread: blocking os.read/os.write, GIL released in each."""
    _run_with("py thread", work, nbytes, ref.in_thread(_py_copy))


def _c_runner(label: str, pump: ref.Pump, name: str) -> Runner:
    def run(work: Workload, nbytes: int) -> None:
        _run_with(label, work, nbytes, ref.in_thread(pump, name))

    return run


async def _asyncio_pump(work: Workload, nbytes: int) -> None:
    prod = await asyncio.create_subprocess_exec(
        *work.producer(nbytes), stdout=subprocess.PIPE
    )
    cons = await asyncio.create_subprocess_exec(
        *work.consumer, stdin=subprocess.PIPE, stdout=_consumer_stdout(work)
    )
    assert prod.stdout is not None  # noqa: S101 - spawned with PIPE
    assert cons.stdin is not None  # noqa: S101 - spawned with PIPE
    moved = 0
    output = b""
    try:
        while chunk := await prod.stdout.read(ASYNCIO_READ):
            cons.stdin.write(chunk)
            await cons.stdin.drain()
            moved += len(chunk)
        cons.stdin.close()
        await cons.stdin.wait_closed()
        if cons.stdout is not None:
            output = await cons.stdout.read()
    finally:
        for proc in (prod, cons):
            if proc.returncode is None and proc.stdin is not None:
                proc.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            if prod.returncode is None and moved < nbytes:
                prod.kill()
        prod_code = await prod.wait()
        cons_code = await cons.wait()
    if prod_code != 0 or cons_code != 0:
        raise sup.TransferError(
            f"asyncio: producer exited {prod_code}, consumer {cons_code}"
        )
    if work.counts:
        sup.check_count("asyncio 4 KiB", nbytes, output)
    if moved != nbytes:
        raise sup.TransferError(f"asyncio 4 KiB: pumped {moved}, expected {nbytes}")


def run_asyncio(work: Workload, nbytes: int) -> None:
    """Pump with the naive asyncio loop: StreamReader.read(4096), write, drain."""
    asyncio.run(_asyncio_pump(work, nbytes))


# ---------------------------------------------------------------------------
# The scenario
# ---------------------------------------------------------------------------


class Variant(typ.NamedTuple):
    """A named way to move the bytes, and what to select before it runs."""

    key: str
    label: str
    run: Runner
    setup: typ.Callable[[], None] | None = None


def _engine_variant(path: sup.EnginePath) -> Variant:
    def run_engine(work: Workload, nbytes: int) -> None:
        _run_with(path.key, work, nbytes, cuprum.pump_stream)

    return Variant(
        path.key,
        f"{path.label}: pump_stream",
        run_engine,
        lambda: sup.use_engine(path),
    )


def variants(work: Workload, clib: ref.CLib) -> list[Variant]:
    """Every variant of ``work``, in the order each round runs them."""
    found = [
        Variant("direct", "direct pipe, no pump (kernel one hop)", run_direct),
        *(_engine_variant(path) for path in sup.engine_paths()),
    ]
    if clib.splice is not None:
        found.append(
            Variant(
                "splice_ref",
                "blocking splice loop: C, own thread, 64 KiB (ctypes)",
                _c_runner("splice loop", clib.splice, "bench-splice"),
            )
        )
    found.append(
        Variant(
            "py_thread", "thread pump: Python os.read/os.write 64 KiB", run_py_thread
        )
    )
    if clib.copy is not None:
        found.append(
            Variant(
                "c_thread",
                "thread pump: C read/write loop 64 KiB (ctypes)",
                _c_runner("C thread", clib.copy, "bench-thread-pump"),
            )
        )
    found += [
        Variant(
            "python",
            "python backend: pump_stream",
            run_python_backend,
            lambda: sup.use_backend("python"),
        ),
        Variant(
            "asyncio", "asyncio pump: StreamReader.read(4096) + drain", run_asyncio
        ),
    ]
    return [v for v in found if v.key not in work.skip]


def run_rounds(
    chosen: cabc.Sequence[Variant],
    work: Workload,
    sizes: tuple[int, int],
    rounds: int,
) -> dict[str, sup.Samples]:
    """Warm every variant up once, then run ``rounds`` interleaved rounds."""
    nbytes, warmup = sizes
    for variant in chosen:
        if variant.setup:
            variant.setup()
        variant.run(work, warmup)
    samples = {v.key: sup.Samples(v.label, nbytes) for v in chosen}
    for index in range(rounds):
        print(f"  round {index + 1}/{rounds}:", end="", flush=True)
        for variant in chosen:
            if variant.setup:
                variant.setup()
            start = sup.now()
            variant.run(work, nbytes)
            elapsed = sup.now() - start
            samples[variant.key].times.append(elapsed)
            print(f" {variant.key} {sup.fmt_seconds(elapsed)}", end="", flush=True)
        print(flush=True)
    print()
    return samples


RATIOS: typ.Final = (
    (
        "engine_copy",
        "py_thread",
        "engine copy / Python thread pump",
        ">= 0.9x",
    ),
    ("engine_copy", "c_thread", "engine copy / C thread pump", "reference"),
    ("engine_copy", "direct", "engine copy / direct pipe", ">= 0.75x"),
    ("engine_splice", "direct", "engine splice / direct pipe", ">= 1.0x"),
    (
        "engine_splice",
        "splice_ref",
        "engine splice / blocking splice loop",
        "reference",
    ),
    ("engine_copy", "splice_ref", "engine copy / blocking splice loop", "reference"),
    ("engine_splice", "engine_copy", "engine splice / engine copy", "reference"),
    ("engine_splice", "py_thread", "engine splice / Python thread pump", "reference"),
    ("engine", "py_thread", "engine / Python thread pump", ">= 0.9x"),
    ("engine", "direct", "engine / direct pipe", ">= 0.75x"),
    ("engine", "splice_ref", "engine / blocking splice loop", "reference"),
    ("splice_ref", "direct", "blocking splice loop / direct pipe", "reference"),
    ("splice_ref", "c_thread", "blocking splice loop / C thread pump", "reference"),
    ("python", "asyncio", "python backend / asyncio 4 KiB", ">= 2x"),
    ("python", "py_thread", "python backend / Python thread pump", "reference"),
    ("python", "splice_ref", "python backend / blocking splice loop", "reference"),
    ("py_thread", "c_thread", "Python thread pump / C thread pump", "Python overhead"),
)

TARGETS: typ.Final[dict[str, dict[tuple[str, str], str]]] = {
    "dd": {
        ("engine_splice", "direct"): ">= 1.0x (first), stays >= 1.3x (later)",
        ("engine", "direct"): ">= 1.3x",
    },
    "head": {
        ("engine_splice", "direct"): ">= 0.7x",
        ("engine_splice", "splice_ref"): ">= 1.2x",
        ("engine", "direct"): ">= 0.7x",
        ("engine", "splice_ref"): ">= 1.2x",
    },
}


def _ratio_table(work: Workload, samples: dict[str, sup.Samples]) -> str:
    targets = TARGETS.get(work.key, {})
    rows = [
        [
            title,
            *sup.fmt_ratio(sup.ratio(samples[num], samples[den])),
            targets.get((num, den), target),
        ]
        for num, den, title, target in RATIOS
        if num in samples and den in samples
    ]
    return sup.render_table(["ratio (rate)", "of medians", "per round", "target"], rows)


def _record(
    report: sup.Report, work: Workload, samples: dict[str, sup.Samples]
) -> None:
    """Keep the headline variants for the summary and the chart."""
    roles = {
        "engine": sup.engine_paths()[0].key,
        "splice_ref": "splice_ref",
        "python": "python",
        "base": "direct",
    }
    report.standings[work.key] = sup.Standing(
        f"1 pair, {work.title.split(': ', 1)[1]}",
        "direct pipe",
        {role: samples[key] for role, key in roles.items() if key in samples},
    )


def run_workload(
    report: sup.Report, work: Workload, nbytes: int, rounds: int
) -> dict[str, sup.Samples]:
    """Run one workload of scenario (a) and print its tables."""
    sec = report.section(f"(a) One pair, {sup.fmt_bytes(nbytes)}, {work.title}")
    clib = ref.lib()
    chosen = variants(work, clib)
    check = (
        "its count is checked"
        if work.counts
        else "the pump's count is checked, and both must exit 0"
    )
    sec.add(
        f"Producer `{' '.join(work.producer(nbytes))}`, consumer "
        f"`{work.consumer_shell()}` ({check}). Wall time from "
        "spawning both to reaping both; one untimed warm-up of each variant, then "
        f"{rounds} rounds, variants interleaved in the order listed. The engine "
        "rows use the public pump_stream with CUPRUM_STREAM_BACKEND=rust; the "
        "copy path is forced with rust_backend.set_splice_enabled(False). The "
        "blocking splice loop is the older cuprum's design: one "
        "blocking splice(2) loop per pair on its own thread, 64 KiB per call, "
        "SPLICE_F_MOVE | SPLICE_F_MORE, retried on EINTR (bench/_copy_loop.c)."
        + (f" C pumps skipped: {clib.why_not}." if clib.why_not else "")
    )
    with sup.splice_restored():
        samples = run_rounds(chosen, work, (nbytes, min(nbytes, 16 * sup.MIB)), rounds)
    rows = [[s.name, *s.cells()] for s in samples.values()]
    sec.add(sup.render_table(["variant", "median", "min - max", "MiB/s"], rows))
    sec.add(_ratio_table(work, samples))
    if "py_thread" in samples and "c_thread" in samples:
        py_c = sup.ratio(samples["py_thread"], samples["c_thread"])[0]
        verdict = (
            "Python overhead dominates the thread pump"
            if py_c < 0.8
            else "Python's per-chunk overhead does not dominate"
        )
        sec.add(
            f"The Python thread pump runs at {py_c:.2f}x the C loop: {verdict} "
            "(one os.read + os.write per 64 KiB chunk; the copies and wake-ups in "
            "the kernel cost more), so it stands for a thread-per-pair design."
        )
    _record(report, work, samples)
    return samples


def scenario(report: sup.Report, nbytes: int, rounds: int) -> dict[str, sup.Samples]:
    """Run scenario (a), both workloads; return the dd workload's samples.

    Scenario (b) compares its one-pair rates with the dd workload's.
    """
    samples = run_workload(report, DD, nbytes, rounds)
    run_workload(report, HEAD, nbytes, rounds)
    return samples
