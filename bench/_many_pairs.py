"""Scenario (b): many concurrent pairs in one ``pump_many`` batch on the engine.

Processes. Producers are the gated Python writer ``_mux_producer.py``
(64 KiB writes of zeros): for one pair (the like-for-like reference, 1 GiB)
and for 64 pairs one producer process per pair, for
1,024 pairs 8 producer processes each writing to 128 pipes through one
epoll loop. Consumers are ``wc -c`` per pair (1 and 64 pairs) or 8 processes of
``_mux_consumer.py`` each draining 128 pipes (1,024 pairs); every pair's
count is checked. So the 1,024-pair case runs 16 processes, not 2,048, but
every pair is still its own pipe -> pump -> pipe path.

Timing. Every process is spawned first and blocks on a shared gate pipe
(producers) or on its empty input (consumers); the clock starts when the
gate is closed and stops once every consumer is reaped. The engine's
variant is one ``pump_many`` call whose ``on_pair_done`` closes the pair's
two descriptors as it ends (that is each consumer's EOF). The direct
variant connects each producer pipe straight to its consumer: the same
processes, no pump.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import typing as typ

import _support as sup

import cuprum


@dataclasses.dataclass(frozen=True)
class Layout:
    """A case: ``pairs`` pairs of ``nbytes`` each, ``group`` pairs per process."""

    pairs: int
    nbytes: int
    group: int

    @property
    def title(self) -> str:
        """E.g. ``1,024 x 1 MiB``."""
        return f"{self.pairs:,} x {sup.fmt_bytes(self.nbytes)}"

    @property
    def total(self) -> int:
        """Bytes moved by the whole case."""
        return self.pairs * self.nbytes

    def groups(self) -> list[range]:
        """Pair indices served by each producer (and each consumer) process."""
        return [
            range(i, min(i + self.group, self.pairs))
            for i in range(0, self.pairs, self.group)
        ]


@dataclasses.dataclass
class Processes:
    """The spawned processes of one round and the parent's gate."""

    producers: list[subprocess.Popen[bytes]]
    consumers: list[tuple[subprocess.Popen[bytes], range]]
    gate_w: int


def _spawn(
    layout: Layout, producer_fds: list[int], consumer_fds: list[int]
) -> Processes:
    """Spawn gated producers on ``producer_fds`` and consumers on ``consumer_fds``.

    Closes each of those descriptors in the parent exactly once: as soon as
    its child holds it, or on the way out if spawning fails.
    """
    pending = {*producer_fds, *consumer_fds}

    def hand_over(fds: list[int]) -> None:
        for fd in fds:
            pending.discard(fd)
            os.close(fd)

    gate_r, gate_w = os.pipe()
    procs = Processes([], [], gate_w)
    try:
        for rng in layout.groups():
            fds = [producer_fds[i] for i in rng]
            procs.producers.append(
                sup.spawn(
                    sup.mux_producer(layout.nbytes, fds),
                    stdin=gate_r,
                    stdout=subprocess.DEVNULL,
                    pass_fds=fds,
                )
            )
            hand_over(fds)
        for rng in layout.groups():
            fds = [consumer_fds[i] for i in rng]
            if layout.group == 1:
                cons = sup.spawn(
                    sup.CONSUMER_ARGV, stdin=fds[0], stdout=subprocess.PIPE
                )
            else:
                cons = sup.spawn(
                    sup.mux_consumer(fds), stdout=subprocess.PIPE, pass_fds=fds
                )
            procs.consumers.append((cons, rng))
            hand_over(fds)
    except BaseException:
        hand_over([*pending, gate_w])
        raise
    finally:
        os.close(gate_r)
    return procs


def _collect(label: str, layout: Layout, procs: Processes) -> None:
    """Read every consumer's counts, reap everyone, check counts and exit codes."""
    bad: list[str] = []
    for cons, rng in procs.consumers:
        assert cons.stdout is not None  # noqa: S101 - spawned with PIPE
        output = cons.stdout.read()
        if sup.reap(cons) != 0:
            bad.append(f"consumer {cons.pid} exited {cons.returncode}")
        counts = output.split()
        if layout.group == 1:
            counts = counts[:1]
        if len(counts) != len(rng):
            bad.append(f"consumer {cons.pid} printed {output!r}")
            continue
        bad.extend(
            f"pair {i}: consumer counted {int(c)} bytes"
            for i, c in zip(rng, counts, strict=True)
            if int(c) != layout.nbytes
        )
    codes = [(prod.pid, sup.reap(prod)) for prod in procs.producers]
    bad.extend(f"producer {pid} exited {code}" for pid, code in codes if code != 0)
    if bad:
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise sup.TransferError(f"{label} {layout.title}: {'; '.join(bad[:3])}{more}")


def run_direct(layout: Layout) -> float:
    """Each producer pipe read straight by its consumer; return the wall time."""
    pipes = [os.pipe() for _ in range(layout.pairs)]
    procs = _spawn(layout, [w for _, w in pipes], [r for r, _ in pipes])
    start = sup.now()
    os.close(procs.gate_w)
    _collect("direct", layout, procs)
    return sup.now() - start


def run_engine(layout: Layout) -> tuple[float, sup.Monitor]:
    """One pump_many batch on the engine; return the wall time and the monitor."""
    from_producers = [os.pipe() for _ in range(layout.pairs)]
    to_consumers = [os.pipe() for _ in range(layout.pairs)]
    pairs = [
        (fr[0], tc[1]) for fr, tc in zip(from_producers, to_consumers, strict=True)
    ]
    open_fds = {fd for pair in pairs for fd in pair}

    def release(fds: typ.Iterable[int]) -> None:
        for fd in list(fds):  # each exactly once: numbers are reused at once
            open_fds.discard(fd)
            os.close(fd)

    try:
        procs = _spawn(
            layout, [w for _, w in from_producers], [r for r, _ in to_consumers]
        )
    except BaseException:
        release(open_fds)
        raise

    def on_pair_done(index: int, _result: object) -> None:
        release(pairs[index])

    with sup.Monitor() as monitor:
        start = sup.now()
        os.close(procs.gate_w)
        try:
            results = cuprum.pump_many(pairs, on_pair_done=on_pair_done)
        finally:
            release(open_fds)
        _collect("engine", layout, procs)
        elapsed = sup.now() - start
    wrong = [(i, r) for i, r in enumerate(results) if r != layout.nbytes]
    if wrong:
        raise sup.TransferError(
            f"engine {layout.title}: pump results {wrong[:3]} (of {len(wrong)} wrong)"
        )
    return elapsed, monitor


def layouts(quick: bool) -> list[Layout]:
    """Return the cases: one reference pair, 64 x 16 MiB, 1,024 x 1 MiB.

    The reference pair (1 GiB, 64 MiB with --quick) uses the same producer
    and consumer as the 64-pair case, so the many-pair rates have a
    like-for-like one-pair rate measured in the same rounds.
    """
    if quick:
        return [
            Layout(1, 64 * sup.MIB, 1),
            Layout(64, 1 * sup.MIB, 1),
            Layout(1024, 64 * sup.KIB, 128),
        ]
    return [
        Layout(1, sup.GIB, 1),
        Layout(64, 16 * sup.MIB, 1),
        Layout(1024, 1 * sup.MIB, 128),
    ]


def _variant_row(
    layout: Layout,
    *,
    label: str,
    samples: sup.Samples,
    direct: sup.Samples,
    one_pairs: tuple[sup.Samples, sup.Samples | None],
    mons: list[sup.Monitor],
) -> list[str]:
    same_run, from_a = one_pairs
    vs_b = "-" if samples is same_run else f"{samples.rate / same_run.rate:.2f}x"
    vs_a = f"{samples.rate / from_a.rate:.2f}x" if from_a is not None else "n/a"
    vs_direct = sup.fmt_ratio(sup.ratio(samples, direct))
    peak_threads = max(mons, key=lambda m: m.peak_threads)
    rss_kib = max(m.peak_rss_delta_kib for m in mons)
    budget_kib = 64 * layout.pairs + 32 * 1024
    verdict = "within" if rss_kib < budget_kib else "OVER"
    return [
        f"{layout.title}, {label}",
        *samples.cells(),
        vs_b,
        vs_a,
        f"{vs_direct[0]} ({vs_direct[1]})",
        peak_threads.thread_summary(),
        f"{rss_kib / 1024:.1f} MiB ({rss_kib / layout.pairs:.1f} KiB/pair)",
        f"{budget_kib / 1024:.0f} MiB: {verdict}",
    ]


def scenario(
    report: sup.Report,
    rounds: int,
    quick: bool,
    one_pair: dict[str, sup.Samples],
) -> None:
    """Run scenario (b) and print its table."""
    cases = layouts(quick)
    paths = sup.engine_paths()
    sec = report.section("(b) Many pairs in one pump_many batch (engine)")
    sec.add(" ".join(__doc__.split("\n\n", 1)[1].split()))
    with sup.splice_restored():
        for layout in cases:  # warm-up, untimed: a small round of each variant
            small = Layout(layout.pairs, 4 * sup.KIB, layout.group)
            run_direct(small)
            for path in paths:
                sup.use_engine(path)
                run_engine(small)
        engine = {
            (c, p.key): sup.Samples(f"{p.key} {c.title}", c.total)
            for c in cases
            for p in paths
        }
        monitors: dict[tuple[Layout, str], list[sup.Monitor]] = {
            key: [] for key in engine
        }
        direct = {c: sup.Samples(f"direct {c.title}", c.total) for c in cases}
        for index in range(rounds):
            print(f"  round {index + 1}/{rounds}:", end="", flush=True)
            for layout in cases:
                print(f" {layout.title}:", end="", flush=True)
                for path in paths:
                    sup.use_engine(path)
                    elapsed, monitor = run_engine(layout)
                    engine[layout, path.key].times.append(elapsed)
                    monitors[layout, path.key].append(monitor)
                    print(
                        f" {path.key} {sup.fmt_seconds(elapsed)},", end="", flush=True
                    )
                elapsed = run_direct(layout)
                direct[layout].times.append(elapsed)
                print(f" direct {sup.fmt_seconds(elapsed)};", end="", flush=True)
            print(flush=True)
        print()
    rows = []
    for layout in cases:
        for path in paths:
            key = (layout, path.key)
            rows.append(
                _variant_row(
                    layout,
                    label=path.label.split(" (", 1)[0],
                    samples=engine[key],
                    direct=direct[layout],
                    one_pairs=(engine[cases[0], path.key], one_pair.get(path.key)),
                    mons=monitors[key],
                )
            )
        ref = direct[cases[0]]
        vs_b = "-" if layout is cases[0] else f"{direct[layout].rate / ref.rate:.2f}x"
        rows.append(
            [f"{layout.title}, direct", *direct[layout].cells(), vs_b, *[""] * 5]
        )
    headers = [
        "case",
        "median",
        "min - max",
        "aggregate MiB/s",
        "vs 1 pair (b)",
        "vs 1 pair (a)",
        "vs direct (per round)",
        "threads (peak)",
        "peak RSS delta",
        "RSS budget",
    ]
    sec.add(sup.render_table(headers, rows))
    sec.add(
        "vs 1 pair (b): this aggregate rate over the rate of the one-pair case "
        "above, same path, same kind of producer and consumer, same rounds (the "
        "like-for-like figure). vs 1 pair (a): over the same engine path's rate "
        "in (a), with its dd producer (n/a when (a) did not run). "
        "Threads: the benchmark process's threads at the highest sample during the "
        "engine's rounds (every 5 ms; the monitor thread itself not counted; "
        "Python threads carry the process's name). Peak RSS delta: VmHWM (reset "
        "through /proc/self/clear_refs before each round) minus VmRSS at the start "
        "of the round, worst round; producers and consumers are separate processes "
        "and not included. Targets (issues 3 and 5): 1,024 pairs >= 0.8x the "
        "one-pair rate with one reactor thread, RSS under 64 KiB per pair + 32 MiB."
    )
