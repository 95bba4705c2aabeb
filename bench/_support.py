"""Shared pieces of the benchmark harness.

Statistics over interleaved rounds, table rendering, the thread/RSS monitor,
the producer and consumer processes, backend switching, and the clean-up
checks (every child reaped, no descriptor leaked). Nothing here measures on
its own; the scenario modules do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import textwrap
import threading
import time
import typing as typ

import cuprum
from cuprum._pumps import choice

if typ.TYPE_CHECKING:
    import collections.abc as cabc

KIB: typ.Final = 1 << 10
MIB: typ.Final = 1 << 20
GIB: typ.Final = 1 << 30
CHUNK: typ.Final = 64 * KIB

BENCH_DIR: typ.Final = pathlib.Path(__file__).resolve().parent
MUX_PRODUCER: typ.Final = BENCH_DIR / "_mux_producer.py"
MUX_CONSUMER: typ.Final = BENCH_DIR / "_mux_consumer.py"

CONSUMER_ARGV: typ.Final = ("wc", "-c")
"""The consumer of every single-pair transfer: it drains and counts."""


class TransferError(RuntimeError):
    """A transfer moved the wrong number of bytes, or a process failed."""


def dd_producer(nbytes: int) -> list[str]:
    """Argv of the one-pair producer: ``dd`` writing ``nbytes`` zeros in 64 KiB."""
    return [
        "dd",
        "if=/dev/zero",
        f"bs={CHUNK}",
        f"count={nbytes}",
        "iflag=count_bytes",
        "status=none",
    ]


def head_producer(nbytes: int) -> list[str]:
    """Argv of the small-write producer: ``head -c`` of zeros, in 8 KiB writes."""
    return ["head", "-c", str(nbytes), "/dev/zero"]


def mux_producer(nbytes: int, fds: cabc.Sequence[int]) -> list[str]:
    """Argv of the gated Python producer writing ``nbytes`` to each of ``fds``."""
    return [sys.executable, "-I", "-S", str(MUX_PRODUCER), str(nbytes), *map(str, fds)]


def mux_consumer(fds: cabc.Sequence[int]) -> list[str]:
    """Argv of the Python consumer draining ``fds`` and printing their counts."""
    return [sys.executable, "-I", "-S", str(MUX_CONSUMER), *map(str, fds)]


# ---------------------------------------------------------------------------
# Statistics and tables
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Samples:
    """Wall times of one variant, one per round, for ``nbytes`` moved."""

    name: str
    nbytes: int
    times: list[float] = dataclasses.field(default_factory=list)

    @property
    def median(self) -> float:
        """Median wall time in seconds."""
        return statistics.median(self.times)

    @property
    def rate(self) -> float:
        """MiB/s at the median wall time."""
        return self.nbytes / MIB / self.median

    def cells(self) -> list[str]:
        """Median, min-max and MiB/s, formatted."""
        return [
            fmt_seconds(self.median),
            f"{fmt_seconds(min(self.times))} - {fmt_seconds(max(self.times))}",
            f"{self.rate:,.0f}",
        ]


def ratio(num: Samples, den: Samples) -> tuple[float, float, float]:
    """Rate ratio ``num/den``: from the medians, and the per-round min and max.

    Per-round ratios pair the rounds (round i of one variant with round i of
    the other), so drift in machine load cancels out.
    """
    per_round = [d / n for n, d in zip(num.times, den.times, strict=True)]
    return den.median / num.median, min(per_round), max(per_round)


def time_ratio(num: Samples, den: Samples) -> tuple[float, float, float]:
    """Time ratio ``num/den`` (lower is faster): medians, and per-round min and max."""
    per_round = [n / d for n, d in zip(num.times, den.times, strict=True)]
    return num.median / den.median, min(per_round), max(per_round)


def fmt_ratio(value: tuple[float, float, float]) -> list[str]:
    """Format a `ratio` result as two cells."""
    med, low, high = value
    return [f"{med:.2f}x", f"{low:.2f} - {high:.2f}"]


def fmt_seconds(seconds: float) -> str:
    """Seconds to a short string (us below 1 ms, ms below one second)."""
    if seconds < 0.001:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 0.1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_bytes(nbytes: int) -> str:
    """Bytes in GiB, MiB or KiB, whichever reads best."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if nbytes >= size:
            value = nbytes / size
            return f"{value:g} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{nbytes} B"


def wrap(text: str, width: int = 80) -> list[str]:
    """Wrap a paragraph without breaking words or code spans at hyphens."""
    return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)


def render_table(headers: cabc.Sequence[str], rows: cabc.Sequence[list[str]]) -> str:
    """Render a Markdown table padded so it also reads well in a terminal.

    An empty cell is written as a dash (markdown linters misread a table
    whose cells are only padding), and a ``|`` inside a cell is escaped.
    """
    rows = [[(cell or "-").replace("|", "\\|") for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: cabc.Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
            + " |"
        )

    sep = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


@dataclasses.dataclass
class Section:
    """One scenario's printed output: a title and Markdown blocks."""

    title: str
    blocks: list[str] = dataclasses.field(default_factory=list)

    def add(self, text: str) -> None:
        """Append a block (a table or a paragraph) and print it at once."""
        self.blocks.append(text)
        print(text if text.startswith("|") else "\n".join(wrap(text)))
        print()


@dataclasses.dataclass
class Standing:
    """One workload's headline variants, for the summary table and the chart.

    ``variants`` maps a role to its samples: ``engine`` (the engine's default
    path), ``splice_ref`` (the blocking splice loop), ``python`` (the Python
    backend) and ``base`` (the direct pipe, bash, or for a small call the
    inline read/write floor), each present only if it was measured.
    """

    title: str
    base_label: str
    variants: dict[str, Samples] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Report:
    """Everything the run printed, plus the failures that make it exit non-zero.

    ``standings`` holds the headline figures of each workload (keyed
    ``dd``, ``head``, ``many64``, ``small``, ``small_async``, ``yes``,
    ``seq``, ``pipe3``, ``pipe5``) and ``syscalls`` the syscalls per 1 KiB
    call (or ``syscalls_skipped`` why they were not counted); the summary
    and the chart are drawn from them.
    """

    sections: list[Section] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)
    standings: dict[str, Standing] = dataclasses.field(default_factory=dict)
    syscalls: dict[str, float] = dataclasses.field(default_factory=dict)
    syscalls_skipped: str = ""

    def section(self, title: str) -> Section:
        """Start (and print the heading of) a new section."""
        sec = Section(title)
        self.sections.append(sec)
        print(f"## {title}")
        print()
        return sec

    def fail(self, message: str) -> None:
        """Record a failure; the run will exit non-zero."""
        self.failures.append(message)
        print(f"FAILURE: {message}", flush=True)


# ---------------------------------------------------------------------------
# The machine, the backend switch, limits
# ---------------------------------------------------------------------------


def machine_note() -> str:
    """One line on the machine and the caveat about absolute figures."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"Machine: nproc {len(os.sched_getaffinity(0))}, {model}, Linux "
        f"{platform.release()}, Python {platform.python_version()}; load average "
        f"at start {load}. On this machine cross-CPU wake-ups dominate and "
        "other work may share the 2 cores, so absolute figures vary from run "
        "to run: only the ratios measured within this run count."
    )


def use_backend(name: str) -> None:
    """Select ``CUPRUM_STREAM_BACKEND=name`` for the following pump calls."""
    os.environ[choice.ENV_VAR] = name
    choice.reset_backend_cache()
    got = cuprum.get_stream_backend()
    if got.value != name:
        raise TransferError(f"asked for backend {name!r}, got {got.value!r}")


class EnginePath(typ.NamedTuple):
    """One way the engine can move a pair of pipes: splice, copy, or its only one."""

    key: str
    label: str
    splice: bool | None  # None: this build has no splice switch


def engine_paths() -> list[EnginePath]:
    """Return the engine's paths this build offers, splice (its default) first."""
    if _splice_switch() is None:
        return [
            EnginePath("engine", "engine (no splice switch in this build)", splice=None)
        ]
    return [
        EnginePath("engine_splice", "engine, splice path (default)", splice=True),
        EnginePath("engine_copy", "engine, ring copy path (splice off)", splice=False),
    ]


def _splice_switch() -> typ.Callable[[bool], None] | None:
    from cuprum._pumps import rust_backend  # noqa: PLC0415 - only with the engine built

    return getattr(rust_backend, "set_splice_enabled", None)


def use_engine(path: EnginePath) -> None:
    """Select the rust backend and the engine's path for the following pumps."""
    use_backend("rust")
    switch = _splice_switch()
    if path.splice is not None and switch is not None:
        switch(path.splice)


@contextlib.contextmanager
def splice_restored() -> cabc.Iterator[None]:
    """Put the engine's splice switch back as it was, however the block ends."""
    from cuprum._pumps import rust_backend  # noqa: PLC0415 - only with the engine built

    getter = getattr(rust_backend, "splice_enabled", None)
    before = getter() if getter is not None else None
    try:
        yield
    finally:
        switch = _splice_switch()
        if before is not None and switch is not None:
            switch(before)


def raise_fd_limit() -> tuple[int, int]:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; return the new pair."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# ---------------------------------------------------------------------------
# Processes: registry, reaping, leak checks
# ---------------------------------------------------------------------------

_spawned: list[subprocess.Popen[bytes]] = []


def spawn(argv: cabc.Sequence[str], **kwargs: typ.Any) -> subprocess.Popen[bytes]:  # noqa: ANN401 - Popen's keywords
    """Start a child and remember it, so a failed round can still reap it."""
    proc = subprocess.Popen(argv, **kwargs)
    _spawned.append(proc)
    return proc


def reap(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """Wait for ``proc`` (killing it after ``timeout``) and forget it."""
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    with contextlib.suppress(ValueError):
        _spawned.remove(proc)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return code


def kill_all() -> int:
    """Kill and reap every child still remembered; return how many there were."""
    left = list(_spawned)
    for proc in left:
        if proc.poll() is None:
            proc.kill()
        reap(proc)
    return len(left)


def live_children() -> list[int]:
    """Pids of this process's children, zombies included."""
    pids: list[int] = []
    task_dir = pathlib.Path("/proc/self/task")
    for task in task_dir.iterdir():
        with contextlib.suppress(OSError):
            pids.extend(int(p) for p in (task / "children").read_text().split())
    return pids


def open_fds() -> set[int]:
    """Return the descriptors open in this process right now."""
    fds = {int(p.name) for p in pathlib.Path("/proc/self/fd").iterdir()}
    return {fd for fd in fds if _still_open(fd)}


def _still_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False  # the directory handle of the listing itself
    return True


def check_count(label: str, expected: int, output: bytes) -> None:
    """Check a consumer's ``wc -c`` output against the bytes sent."""
    try:
        got = int(output.split()[0])
    except (ValueError, IndexError):
        raise TransferError(f"{label}: consumer printed {output!r}") from None
    if got != expected:
        raise TransferError(
            f"{label}: consumer counted {got} bytes, expected {expected}"
        )


# ---------------------------------------------------------------------------
# Thread and memory monitor
# ---------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (``clear_refs`` value 5, Linux >= 4.0)."""
    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Monitor:
    """Samples this process's threads and RSS from a background thread.

    ``peak_threads`` counts every thread of the process except the monitor
    itself; ``peak_rss_delta_kib`` is the peak resident set during the run
    (VmHWM after resetting it, or the highest sampled VmRSS if the reset is
    refused) minus VmRSS just before it.
    """

    def __init__(self, interval: float = 0.005) -> None:
        """Prepare a monitor sampling every ``interval`` seconds."""
        self.interval = interval
        self.peak_threads = 0
        self.names_at_peak: list[str] = []
        self.base_rss_kib = 0
        self.peak_rss_kib = 0
        self.hwm_reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="bench-monitor", daemon=True
        )

    def _sample(self) -> None:
        me = str(self._thread.native_id)
        tasks = [p.name for p in pathlib.Path("/proc/self/task").iterdir()]
        tasks = [tid for tid in tasks if tid != me]
        if len(tasks) > self.peak_threads:
            self.peak_threads = len(tasks)
            names = []
            for tid in tasks:
                with contextlib.suppress(OSError):
                    comm = pathlib.Path(f"/proc/self/task/{tid}/comm").read_text()
                    names.append(comm.strip())
            self.names_at_peak = names
        self.peak_rss_kib = max(self.peak_rss_kib, _status_kib("VmRSS"))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> typ.Self:
        """Take the baseline and start sampling."""
        self.base_rss_kib = _status_kib("VmRSS")
        self.hwm_reset = _reset_peak_rss()
        self.peak_rss_kib = self.base_rss_kib
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop sampling and fold in the kernel's peak."""
        self._sample()
        self._stop.set()
        self._thread.join()
        if self.hwm_reset:
            self.peak_rss_kib = max(self.peak_rss_kib, _status_kib("VmHWM"))

    @property
    def peak_rss_delta_kib(self) -> int:
        """Peak RSS during the run minus RSS before it, in KiB."""
        return self.peak_rss_kib - self.base_rss_kib

    def thread_summary(self) -> str:
        """Peak thread count with the names of the threads at that moment."""
        names: dict[str, int] = {}
        for name in self.names_at_peak:
            names[name] = names.get(name, 0) + 1
        listed = ", ".join(
            f"{n}" if c == 1 else f"{n} x{c}" for n, c in sorted(names.items())
        )
        return f"{self.peak_threads} ({listed})"


def now() -> float:
    """Read the clock of every wall-time figure, in seconds."""
    return time.perf_counter()
