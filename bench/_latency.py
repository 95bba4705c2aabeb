"""Scenario (c): the cost of one small call, 1 KiB already waiting in the source.

Per call, outside the timed region: a fresh source pipe gets 1 KiB and its
writer is closed (the pump ends at EOF). Timed: the call alone, from the
pipe's read end to the destination pipe (created once). After the call, the
source is closed and the destination drained and checked (1,024 bytes).
Every variant runs inside one asyncio event loop, in interleaved blocks
(rounds) of equal size; the figures are over every call of a variant. The
blocking splice loop is the C loop of scenario (a) called through ctypes on
the caller's thread (the older cuprum's blocking call).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import typing as typ

import _reference as ref
import _support as sup
import _syscalls

import cuprum
from cuprum._pumps import rust_backend

PAYLOAD: typ.Final = bytes(range(256)) * 4  # 1 KiB

Call = typ.Callable[[int, int], typ.Awaitable[int] | int]


def _inline(reader: int, writer: int) -> int:
    """Do the same work inline, no pump (read, write, read EOF): the floor."""
    data = os.read(reader, sup.CHUNK)
    moved = 0
    while data:
        moved += os.write(writer, data)
        data = os.read(reader, sup.CHUNK)
    return moved


class Variant(typ.NamedTuple):
    """A call to time, the backend it needs, and whether it is awaited."""

    key: str
    label: str
    call: typ.Callable[[int, int], typ.Any]
    backend: str | None
    awaited: bool
    target: str


def _variant(
    key: str,
    label: str,
    call: typ.Callable[[int, int], typ.Any],
    *,
    backend: str | None = None,
    awaited: bool = False,
    target: str = "",
) -> Variant:
    return Variant(key, label, call, backend, awaited, target)


VARIANTS: typ.Final = (
    _variant("inline", "inline os.read/os.write, no pump (floor)", _inline),
    _variant(
        "rust",
        "pump_stream, backend rust (blocking)",
        cuprum.pump_stream,
        backend="rust",
        target="<= 5 us",
    ),
    _variant(
        "native",
        "rust_backend.rust_pump_stream, native call (blocking)",
        rust_backend.rust_pump_stream,
    ),
    _variant(
        "python",
        "pump_stream, backend python (blocking)",
        cuprum.pump_stream,
        backend="python",
    ),
    _variant(
        "rust_async",
        "pump_stream_async, backend rust (awaited)",
        cuprum.pump_stream_async,
        backend="rust",
        awaited=True,
        target="<= 50 us (first), <= 10 us (later)",
    ),
    _variant(
        "python_async",
        "pump_stream_async, backend python (awaited)",
        cuprum.pump_stream_async,
        backend="python",
        awaited=True,
    ),
)


def variants() -> list[Variant]:
    """Every variant, in the order each round runs them (the C loop if built)."""
    found = list(VARIANTS)
    splice = ref.lib().splice
    if splice is not None:
        found.insert(
            3,
            _variant(
                "splice_ref",
                "blocking splice loop: C through ctypes (caller's thread)",
                splice,
            ),
        )
    return found


async def _block(variant: Variant, calls: int, dst_r: int, dst_w: int) -> list[float]:
    """Time ``calls`` calls of ``variant``; return microseconds per call."""
    if variant.backend:
        sup.use_backend(variant.backend)
    times: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        src_r, src_w = os.pipe()
        try:
            os.write(src_w, PAYLOAD)
        finally:
            os.close(src_w)  # exactly once: its number may be reused at once
        try:
            if variant.awaited:
                start = clock()
                moved = await variant.call(src_r, dst_w)
                end = clock()
            else:
                start = clock()
                moved = variant.call(src_r, dst_w)
                end = clock()
        finally:
            os.close(src_r)
        try:
            got = os.read(dst_r, 4 * len(PAYLOAD))
        except BlockingIOError:
            got = b""  # nothing arrived: reported below instead of hanging
        if moved != len(PAYLOAD) or got != PAYLOAD:
            raise sup.TransferError(
                f"{variant.key}: moved {moved}, destination got {len(got)} bytes"
            )
        times.append((end - start) / 1000)
    return times


async def _run(
    chosen: list[Variant], rounds: int, calls: int
) -> dict[str, list[list[float]]]:
    dst_r, dst_w = os.pipe()
    os.set_blocking(dst_r, False)  # only the harness's end; the pump's stays as is
    try:
        for variant in chosen:  # warm-up, untimed
            await _block(variant, max(10, calls // 10), dst_r, dst_w)
        per_round: dict[str, list[list[float]]] = {v.key: [] for v in chosen}
        for index in range(rounds):
            print(f"  round {index + 1}/{rounds}:", end="", flush=True)
            for variant in chosen:
                times = await _block(variant, calls, dst_r, dst_w)
                per_round[variant.key].append(times)
                print(
                    f" {variant.key} {statistics.median(times):.1f} us",
                    end="",
                    flush=True,
                )
            print(flush=True)
        print()
        return per_round
    finally:
        os.close(dst_r)
        os.close(dst_w)


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def _samples(label: str, blocks: list[list[float]]) -> sup.Samples:
    """Round medians, in seconds, as the summary's samples of one variant."""
    return sup.Samples(
        label, len(PAYLOAD), [statistics.median(b) / 1e6 for b in blocks]
    )


RATIOS: typ.Final = (
    (
        "rust",
        "splice_ref",
        "pump_stream (rust) / blocking splice loop",
        "<= 1.3x",
    ),
    ("native", "splice_ref", "native call / blocking splice loop", "reference"),
    ("rust", "inline", "pump_stream (rust) / inline floor", "reference"),
    ("splice_ref", "inline", "blocking splice loop / inline floor", "reference"),
    (
        "rust_async",
        "splice_ref",
        "pump_stream_async (rust) / blocking splice loop",
        "reference",
    ),
)


def _syscall_table(sec: sup.Section, report: sup.Report, calls: int) -> None:
    """Count syscalls per call under strace and add their table (or why not)."""
    found, why_not = _syscalls.count(ref.lib().path, calls)
    if not found:
        report.syscalls_skipped = why_not
        sec.add(f"Syscalls per call: skipped ({why_not}).")
        return
    labels = {
        "engine": "pump_stream, backend rust (blocking)",
        "native": "rust_backend.rust_pump_stream, native call",
        "python": "pump_stream, backend python (blocking)",
        "splice_ref": "blocking splice loop: C through ctypes",
    }
    rows = [
        [labels[mode], f"{c.total:.1f}", c.breakdown()] for mode, c in found.items()
    ]
    sec.add(sup.render_table(["call", "syscalls per call", "which (per call)"], rows))
    sec.add(
        f"Syscalls per call: {calls:,} calls of each kind in a child process under "
        "strace -c -f (every thread counted, the engine's reactor included), minus "
        "the same loop with no call, divided by the number of calls "
        "(bench/_syscalls.py). Target (design 13.5): <= 4 syscalls per blocking "
        "pump_stream call."
    )
    report.syscalls = {mode: c.total for mode, c in found.items()}


def scenario(report: sup.Report, rounds: int, total_calls: int) -> None:
    """Run scenario (c) and print its tables."""
    calls = max(1, total_calls // rounds)
    chosen = variants()
    sec = report.section("(c) Small calls: 1 KiB waiting in the source pipe")
    sec.add(
        __doc__.split("\n\n", 1)[1].strip().replace("\n", " ")
        + f" {rounds} rounds x {calls} calls per variant, after {max(10, calls // 10)} "
        "untimed warm-up calls each."
    )
    per_round = asyncio.run(_run(chosen, rounds, calls))
    rows = []
    for variant in chosen:
        blocks = per_round[variant.key]
        flat = [t for block in blocks for t in block]
        medians = [statistics.median(b) for b in blocks]
        rows.append(
            [
                variant.label,
                f"{statistics.median(flat):.1f}",
                f"{_p99(flat):.1f}",
                f"{min(medians):.1f} - {max(medians):.1f}",
                f"{len(flat):,}",
                variant.target,
            ]
        )
    headers = [
        "call",
        "median us",
        "p99 us",
        "round medians",
        "calls",
        "target",
    ]
    sec.add(sup.render_table(headers, rows))
    samples = {v.key: _samples(v.label, per_round[v.key]) for v in chosen}
    ratio_rows = [
        [title, *sup.fmt_ratio(sup.time_ratio(samples[num], samples[den])), target]
        for num, den, title, target in RATIOS
        if num in samples and den in samples
    ]
    sec.add(
        sup.render_table(
            ["ratio (time)", "of round medians", "per round", "target"], ratio_rows
        )
    )
    sec.add(
        "Targets for the public calls (design 13.5): first, blocking <= 5 us median "
        "(finish inline on the caller's thread when the transfer never has to "
        "wait), awaited <= 50 us; later, blocking <= 1.3x the blocking splice loop, "
        "awaited <= 10 us."
    )
    _syscall_table(sec, report, 200 if total_calls < 1000 else 2000)
    report.standings["small"] = _standing(
        "1 KiB blocking call", samples, engine="rust", python="python"
    )
    report.standings["small_async"] = _standing(
        "1 KiB awaited call", samples, engine="rust_async", python="python_async"
    )


def _standing(
    title: str, samples: dict[str, sup.Samples], *, engine: str, python: str
) -> sup.Standing:
    """One small-call row of the summary: engine, loop, Python, inline floor."""
    roles = (
        ("engine", engine),
        ("splice_ref", "splice_ref"),
        ("python", python),
        ("base", "inline"),
    )
    return sup.Standing(
        title,
        "inline read/write",
        {role: samples[key] for role, key in roles if key in samples},
    )
