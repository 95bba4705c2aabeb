"""Scenario (b): many concurrent pairs, in one ``pump_many`` batch or one thread each.

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
variants and the Python backend's are one ``pump_many`` call whose
``on_pair_done`` closes the pair's two descriptors as it ends (that is each
consumer's EOF). The blocking splice loop starts one thread per pair, each
running the C loop of scenario (a) and closing its pair's descriptors when
the loop returns. The direct variant connects each producer pipe straight
to its consumer: the same processes, no pump.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import threading
import typing as typ

import _reference as ref
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


PumpAll = typ.Callable[
    [list[tuple[int, int]], typ.Callable[[int, object], None]], list[object]
]
"""Moves every pair, calling ``on_pair_done(index, result)`` as each ends."""


def _pump_many(
    pairs: list[tuple[int, int]], on_pair_done: typ.Callable[[int, object], None]
) -> list[object]:
    """One ``pump_many`` batch on the selected backend."""
    return list(cuprum.pump_many(pairs, on_pair_done=on_pair_done))


def thread_per_pair(pump: ref.Pump) -> PumpAll:
    """Move each pair with ``pump`` on a thread of its own (the reference design)."""

    def pump_all(
        pairs: list[tuple[int, int]], on_pair_done: typ.Callable[[int, object], None]
    ) -> list[object]:
        results: list[object] = [None] * len(pairs)

        def body(index: int) -> None:
            try:
                results[index] = pump(*pairs[index])
            except OSError as exc:
                results[index] = exc
            on_pair_done(index, results[index])

        threads = [
            threading.Thread(target=body, args=(i,), name="bench-splice")
            for i in range(len(pairs))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    return pump_all


def run_pumped(
    label: str, layout: Layout, pump_all: PumpAll
) -> tuple[float, sup.Monitor]:
    """Move every pair through ``pump_all``; return the wall time and the monitor."""
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
            results = pump_all(pairs, on_pair_done)
        finally:
            release(open_fds)
        _collect(label, layout, procs)
        elapsed = sup.now() - start
    wrong = [(i, r) for i, r in enumerate(results) if r != layout.nbytes]
    if wrong:
        raise sup.TransferError(
            f"{label} {layout.title}: pump results {wrong[:3]} (of {len(wrong)} wrong)"
        )
    return elapsed, monitor


class Pumped(typ.NamedTuple):
    """A variant that pumps every pair: what to select, then how to move them."""

    key: str
    label: str
    setup: typ.Callable[[], None]
    pump_all: PumpAll


def pumped_variants(clib: ref.CLib) -> list[Pumped]:
    """Return the engine's paths, the Python backend and the blocking splice loop."""
    found = [
        Pumped(p.key, p.label, functools.partial(sup.use_engine, p), _pump_many)
        for p in sup.engine_paths()
    ]
    found.append(
        Pumped(
            "python",
            "python backend",
            functools.partial(sup.use_backend, "python"),
            _pump_many,
        )
    )
    if clib.splice is not None:
        found.append(
            Pumped(
                "splice_ref",
                "blocking splice loop, thread per pair",
                lambda: None,
                thread_per_pair(clib.splice),
            )
        )
    return found


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
    refs: tuple[sup.Samples, sup.Samples | None],
    one_pairs: tuple[sup.Samples, sup.Samples | None],
    mons: list[sup.Monitor],
) -> list[str]:
    direct, splice_ref = refs
    same_run, from_a = one_pairs
    vs_b = "-" if samples is same_run else f"{samples.rate / same_run.rate:.2f}x"
    vs_a = f"{samples.rate / from_a.rate:.2f}x" if from_a is not None else "n/a"

    def vs(other: sup.Samples | None) -> str:
        if other is None or other is samples:
            return "-"
        med, per_round = sup.fmt_ratio(sup.ratio(samples, other))
        return f"{med} ({per_round})"

    peak_threads = max(mons, key=lambda m: m.peak_threads)
    rss_kib = max(m.peak_rss_delta_kib for m in mons)
    budget_kib = 64 * layout.pairs + 32 * 1024
    verdict = "within" if rss_kib < budget_kib else "OVER"
    return [
        f"{layout.title}, {label}",
        *samples.cells(),
        vs_b,
        vs_a,
        vs(direct),
        vs(splice_ref),
        peak_threads.thread_summary(),
        f"{rss_kib / 1024:.1f} MiB ({rss_kib / layout.pairs:.1f} KiB/pair)",
        f"{budget_kib / 1024:.0f} MiB: {verdict}",
    ]


def _warm_up(cases: list[Layout], variants: list[Pumped]) -> None:
    """Run a small round of every variant on every case, untimed."""
    for layout in cases:
        small = Layout(layout.pairs, 4 * sup.KIB, layout.group)
        run_direct(small)
        for variant in variants:
            variant.setup()
            run_pumped(variant.key, small, variant.pump_all)


def _run_rounds(
    cases: list[Layout], variants: list[Pumped], rounds: int
) -> tuple[
    dict[tuple[Layout, str], sup.Samples],
    dict[tuple[Layout, str], list[sup.Monitor]],
]:
    """Interleaved rounds: per round, every case, every variant then direct."""
    samples = {
        (c, v.key): sup.Samples(f"{v.key} {c.title}", c.total)
        for c in cases
        for v in [*variants, Pumped("direct", "direct", lambda: None, _pump_many)]
    }
    monitors: dict[tuple[Layout, str], list[sup.Monitor]] = {
        (c, v.key): [] for c in cases for v in variants
    }
    for index in range(rounds):
        print(f"  round {index + 1}/{rounds}:", end="", flush=True)
        for layout in cases:
            print(f" {layout.title}:", end="", flush=True)
            for variant in variants:
                variant.setup()
                elapsed, monitor = run_pumped(variant.key, layout, variant.pump_all)
                samples[layout, variant.key].times.append(elapsed)
                monitors[layout, variant.key].append(monitor)
                print(f" {variant.key} {sup.fmt_seconds(elapsed)},", end="", flush=True)
            elapsed = run_direct(layout)
            samples[layout, "direct"].times.append(elapsed)
            print(f" direct {sup.fmt_seconds(elapsed)};", end="", flush=True)
        print(flush=True)
    print()
    return samples, monitors


def scenario(
    report: sup.Report,
    rounds: int,
    quick: bool,
    one_pair: dict[str, sup.Samples],
) -> None:
    """Run scenario (b) and print its table."""
    cases = layouts(quick)
    clib = ref.lib()
    variants = pumped_variants(clib)
    sec = report.section("(b) Many pairs in one batch: engine, Python backend, threads")
    sec.add(" ".join(__doc__.split("\n\n", 1)[1].split()))
    if clib.why_not:
        sec.add(f"Blocking splice loop skipped: {clib.why_not}.")
    with sup.splice_restored():
        _warm_up(cases, variants)
        samples, monitors = _run_rounds(cases, variants, rounds)
    rows = []
    for layout in cases:
        refs = (samples[layout, "direct"], samples.get((layout, "splice_ref")))
        for variant in variants:
            key = (layout, variant.key)
            rows.append(
                _variant_row(
                    layout,
                    label=variant.label.split(" (", 1)[0],
                    samples=samples[key],
                    refs=refs,
                    one_pairs=(
                        samples[cases[0], variant.key],
                        one_pair.get(variant.key),
                    ),
                    mons=monitors[key],
                )
            )
        ref_direct = samples[cases[0], "direct"]
        direct = samples[layout, "direct"]
        vs_b = "-" if layout is cases[0] else f"{direct.rate / ref_direct.rate:.2f}x"
        rows.append([f"{layout.title}, direct", *direct.cells(), vs_b, *[""] * 6])
    headers = [
        "case",
        "median",
        "min - max",
        "aggregate MiB/s",
        "vs 1 pair (b)",
        "vs 1 pair (a)",
        "vs direct (per round)",
        "vs splice loop (per round)",
        "threads (peak)",
        "peak RSS delta",
        "RSS budget",
    ]
    sec.add(sup.render_table(headers, rows))
    sec.add(
        "vs 1 pair (b): this aggregate rate over the rate of the one-pair case "
        "above, same variant, same kind of producer and consumer, same rounds (the "
        "like-for-like figure). vs 1 pair (a): over the same variant's rate "
        "in (a), with its dd producer (n/a when (a) did not run). vs direct and "
        "vs splice loop: rate ratios to the direct pipes and to the blocking "
        "splice loop (one thread per pair, each running the C loop of (a)). "
        "Threads: the benchmark process's threads at the highest sample during the "
        "variant's rounds (every 5 ms; the monitor thread itself not counted; "
        "Python threads carry the process's name). Peak RSS delta: VmHWM (reset "
        "through /proc/self/clear_refs before each round) minus VmRSS at the start "
        "of the round, worst round; producers and consumers are separate processes "
        "and not included. Targets (design 13.5): 1,024 pairs >= 0.8x the "
        "one-pair rate with one reactor thread, RSS under 64 KiB per pair + 32 MiB; "
        "64 x 16 MiB >= 0.8x direct with one reactor thread."
    )
    _record(report, cases, variants, samples)


def _record(
    report: sup.Report,
    cases: list[Layout],
    variants: list[Pumped],
    samples: dict[tuple[Layout, str], sup.Samples],
) -> None:
    """Keep the 64-pair case's headline variants for the summary and the chart."""
    layout = next((c for c in cases if c.pairs == 64), None)
    if layout is None:
        return
    roles = {
        "engine": variants[0].key,
        "python": "python",
        "splice_ref": "splice_ref",
        "base": "direct",
    }
    report.standings["many64"] = sup.Standing(
        f"{layout.pairs} pairs x {sup.fmt_bytes(layout.nbytes)}, aggregate",
        "direct pipes",
        {r: samples[layout, k] for r, k in roles.items() if (layout, k) in samples},
    )
