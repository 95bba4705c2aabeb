"""Scenario (a): one pair, producer -> pump -> consumer, several pumps side by side.

Every variant moves the same ``N`` bytes from a ``dd`` producer (64 KiB
writes of zeros) to a ``wc -c`` consumer, whose printed count is checked.
The wall time of a round runs from spawning both processes to reaping them,
for every variant alike (the spawn costs a few milliseconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import subprocess
import tempfile
import threading
import typing as typ

import _support as sup

import cuprum

if typ.TYPE_CHECKING:
    import collections.abc as cabc

ASYNCIO_READ: typ.Final = 4096

Runner = typ.Callable[[int], None]


# ---------------------------------------------------------------------------
# The variants: each moves nbytes and raises TransferError on a wrong count
# ---------------------------------------------------------------------------


def _finish(
    label: str,
    prod: subprocess.Popen[bytes],
    cons: subprocess.Popen[bytes],
    nbytes: int,
) -> None:
    """Close the parent's pipe ends, collect the consumer's count, reap both."""
    for stream in (prod.stdout, cons.stdin):
        if stream is not None:
            stream.close()
    assert cons.stdout is not None  # noqa: S101 - spawned with stdout=PIPE
    output = cons.stdout.read()
    cons_code = sup.reap(cons)
    prod_code = sup.reap(prod)
    if prod_code != 0 or cons_code != 0:
        raise sup.TransferError(
            f"{label}: producer exited {prod_code}, consumer {cons_code}"
        )
    sup.check_count(label, nbytes, output)


def _spawn_ends(
    nbytes: int,
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], int, int]:
    prod = sup.spawn(sup.dd_producer(nbytes), stdout=subprocess.PIPE)
    cons = sup.spawn(sup.CONSUMER_ARGV, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert prod.stdout is not None  # noqa: S101 - spawned with PIPE
    assert cons.stdin is not None  # noqa: S101 - spawned with PIPE
    return prod, cons, prod.stdout.fileno(), cons.stdin.fileno()


def run_direct(nbytes: int) -> None:
    """No pump: the producer's stdout is the consumer's stdin (one kernel hop)."""
    prod = sup.spawn(sup.dd_producer(nbytes), stdout=subprocess.PIPE)
    cons = sup.spawn(sup.CONSUMER_ARGV, stdin=prod.stdout, stdout=subprocess.PIPE)
    _finish("direct pipe", prod, cons, nbytes)


def _run_with(label: str, nbytes: int, pump: typ.Callable[[int, int], int]) -> None:
    prod, cons, reader, writer = _spawn_ends(nbytes)
    try:
        moved = pump(reader, writer)
    finally:
        _finish(label, prod, cons, nbytes)
    if moved != nbytes:
        raise sup.TransferError(
            f"{label}: pump reported {moved} bytes, expected {nbytes}"
        )


def run_python_backend(nbytes: int) -> None:
    """Pump with the pure-Python backend: ``pump_stream``, backend ``python``."""
    _run_with("python backend", nbytes, cuprum.pump_stream)


def _in_thread(copy: typ.Callable[[int, int], int]) -> typ.Callable[[int, int], int]:
    """Run ``copy`` on a fresh thread and wait for it: one thread per pair."""

    def pump(reader: int, writer: int) -> int:
        result: list[int | BaseException] = []

        def body() -> None:
            try:
                result.append(copy(reader, writer))
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller
                result.append(exc)

        thread = threading.Thread(target=body, name="bench-thread-pump")
        thread.start()
        thread.join()
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    return pump


def _py_copy(reader: int, writer: int) -> int:
    """os.read/os.write of 64 KiB chunks on blocking descriptors."""
    total = 0
    while chunk := os.read(reader, sup.CHUNK):
        view = memoryview(chunk)
        while view:
            view = view[os.write(writer, view) :]
        total += len(chunk)
    return total


def run_py_thread(nbytes: int) -> None:
    """Pump on a Python thread: blocking os.read/os.write, GIL released in each."""
    _run_with("py thread", nbytes, _in_thread(_py_copy))


class CLoop:
    """The C copy loop of ``_copy_loop.c``, compiled at run time if cc exists."""

    def __init__(self) -> None:
        """Compile the loop into a temporary directory (or note why not)."""
        self.why_not = ""
        self._dir = tempfile.TemporaryDirectory(prefix="cuprum-bench-")
        self._fn: typ.Callable[[int, int], int] | None = None
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            self.why_not = "no C compiler on PATH"
            return
        lib = os.path.join(self._dir.name, "copy_loop.so")  # noqa: PTH118 - a plain path string
        src = sup.BENCH_DIR / "_copy_loop.c"
        done = subprocess.run(
            [compiler, "-O2", "-shared", "-fPIC", "-o", lib, str(src)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            self.why_not = f"cc failed: {done.stderr.decode(errors='replace').strip()}"
            return
        dll = ctypes.CDLL(lib)
        dll.bench_copy.restype = ctypes.c_longlong
        dll.bench_copy.argtypes = (ctypes.c_int, ctypes.c_int)
        func = dll.bench_copy

        def copy(reader: int, writer: int) -> int:
            got = int(func(reader, writer))
            if got < 0:
                raise OSError(-got, os.strerror(-got))
            return got

        self._fn = copy

    def close(self) -> None:
        """Remove the temporary directory."""
        self._dir.cleanup()

    def runner(self) -> Runner | None:
        """Return the variant, or ``None`` when the loop could not be built."""
        fn = self._fn
        if fn is None:
            return None

        def run_c_thread(nbytes: int) -> None:
            _run_with("C thread", nbytes, _in_thread(fn))

        return run_c_thread


async def _asyncio_pump(nbytes: int) -> None:
    prod = await asyncio.create_subprocess_exec(
        *sup.dd_producer(nbytes), stdout=subprocess.PIPE
    )
    cons = await asyncio.create_subprocess_exec(
        *sup.CONSUMER_ARGV, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert prod.stdout is not None  # noqa: S101 - spawned with PIPE
    assert cons.stdin is not None  # noqa: S101 - spawned with PIPE
    assert cons.stdout is not None  # noqa: S101 - spawned with PIPE
    moved = 0
    try:
        while chunk := await prod.stdout.read(ASYNCIO_READ):
            cons.stdin.write(chunk)
            await cons.stdin.drain()
            moved += len(chunk)
        cons.stdin.close()
        await cons.stdin.wait_closed()
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
    sup.check_count("asyncio 4 KiB", nbytes, output)
    if moved != nbytes:
        raise sup.TransferError(f"asyncio 4 KiB: pumped {moved}, expected {nbytes}")


def run_asyncio(nbytes: int) -> None:
    """Pump with the naive asyncio loop: StreamReader.read(4096), write, drain."""
    asyncio.run(_asyncio_pump(nbytes))


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
    def run_engine(nbytes: int) -> None:
        _run_with(path.key, nbytes, cuprum.pump_stream)

    return Variant(
        path.key,
        f"{path.label}: pump_stream",
        run_engine,
        lambda: sup.use_engine(path),
    )


def variants(c_loop: CLoop) -> list[Variant]:
    """Every variant of scenario (a), in the order each round runs them."""
    found = [
        Variant("direct", "direct pipe, no pump (kernel one hop)", run_direct),
        *(_engine_variant(path) for path in sup.engine_paths()),
        Variant(
            "py_thread", "thread pump: Python os.read/os.write 64 KiB", run_py_thread
        ),
    ]
    c_runner = c_loop.runner()
    if c_runner is not None:
        found.append(
            Variant(
                "c_thread", "thread pump: C read/write loop 64 KiB (ctypes)", c_runner
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
    return found


def run_rounds(
    chosen: cabc.Sequence[Variant], nbytes: int, rounds: int, warmup: int
) -> dict[str, sup.Samples]:
    """Warm every variant up once, then run ``rounds`` interleaved rounds."""
    for variant in chosen:
        if variant.setup:
            variant.setup()
        variant.run(warmup)
    samples = {v.key: sup.Samples(v.label, nbytes) for v in chosen}
    for index in range(rounds):
        print(f"  round {index + 1}/{rounds}:", end="", flush=True)
        for variant in chosen:
            if variant.setup:
                variant.setup()
            start = sup.now()
            variant.run(nbytes)
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
        ">= 0.9x (issues 3, 5)",
    ),
    ("engine_copy", "c_thread", "engine copy / C thread pump", "reference"),
    ("engine_copy", "direct", "engine copy / direct pipe", ">= 0.75x (issue 3)"),
    ("engine_splice", "direct", "engine splice / direct pipe", ">= 1.0x (issue 5)"),
    ("engine_splice", "engine_copy", "engine splice / engine copy", "reference"),
    ("engine_splice", "py_thread", "engine splice / Python thread pump", "reference"),
    ("engine", "py_thread", "engine / Python thread pump", ">= 0.9x (issue 3)"),
    ("engine", "direct", "engine / direct pipe", ">= 0.75x (issue 3)"),
    ("python", "asyncio", "python backend / asyncio 4 KiB", ">= 2x (issue 5)"),
    ("python", "py_thread", "python backend / Python thread pump", "reference"),
    ("py_thread", "c_thread", "Python thread pump / C thread pump", "Python overhead"),
)


def scenario(report: sup.Report, nbytes: int, rounds: int) -> dict[str, sup.Samples]:
    """Run scenario (a); return every variant's samples (b compares with them)."""
    sec = report.section(
        f"(a) One pair, {sup.fmt_bytes(nbytes)}: producer -> pump -> consumer"
    )
    c_loop = CLoop()
    try:
        chosen = variants(c_loop)
        sec.add(
            f"Producer `{' '.join(sup.dd_producer(nbytes))}` (64 KiB writes), consumer "
            f"`{' '.join(sup.CONSUMER_ARGV)}` (its count is checked). Wall time from "
            "spawning both to reaping both; one untimed warm-up of each variant, then "
            f"{rounds} rounds, variants interleaved in the order listed. The engine "
            "rows use the public pump_stream with CUPRUM_STREAM_BACKEND=rust; the "
            "copy path is forced with _streams_rs.set_splice_enabled(False)."
            + (f" C thread pump skipped: {c_loop.why_not}." if c_loop.why_not else "")
        )
        with sup.splice_restored():
            samples = run_rounds(
                chosen, nbytes, rounds, warmup=min(nbytes, 16 * sup.MIB)
            )
    finally:
        c_loop.close()
    rows = [[s.name, *s.cells()] for s in samples.values()]
    sec.add(sup.render_table(["variant", "median", "min - max", "MiB/s"], rows))
    ratio_rows = [
        [title, *sup.fmt_ratio(sup.ratio(samples[num], samples[den])), target]
        for num, den, title, target in RATIOS
        if num in samples and den in samples
    ]
    sec.add(
        sup.render_table(
            ["ratio (rate)", "of medians", "per round", "target"], ratio_rows
        )
    )
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
    return samples
