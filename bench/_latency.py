"""Scenario (c): the cost of one small call, 1 KiB already waiting in the source.

Per call, outside the timed region: a fresh source pipe gets 1 KiB and its
writer is closed (the pump ends at EOF). Timed: the call alone, from the
pipe's read end to the destination pipe (created once). After the call, the
source is closed and the destination drained and checked (1,024 bytes).
Every variant runs inside one asyncio event loop, in interleaved blocks
(rounds) of equal size; the figures are over every call of a variant.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import typing as typ

import _support as sup

import cuprum
from cuprum import _streams_rs

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
        "_streams_rs.rust_pump_stream, native call (blocking)",
        _streams_rs.rust_pump_stream,
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
        target="<= 50 us",
    ),
    _variant(
        "python_async",
        "pump_stream_async, backend python (awaited)",
        cuprum.pump_stream_async,
        backend="python",
        awaited=True,
    ),
)


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


async def _run(rounds: int, calls: int) -> dict[str, list[list[float]]]:
    dst_r, dst_w = os.pipe()
    os.set_blocking(dst_r, False)  # only the harness's end; the pump's stays as is
    try:
        for variant in VARIANTS:  # warm-up, untimed
            await _block(variant, max(10, calls // 10), dst_r, dst_w)
        per_round: dict[str, list[list[float]]] = {v.key: [] for v in VARIANTS}
        for index in range(rounds):
            print(f"  round {index + 1}/{rounds}:", end="", flush=True)
            for variant in VARIANTS:
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


def scenario(report: sup.Report, rounds: int, total_calls: int) -> None:
    """Run scenario (c) and print its table."""
    calls = max(1, total_calls // rounds)
    sec = report.section("(c) Small calls: 1 KiB waiting in the source pipe")
    sec.add(
        __doc__.split("\n\n", 1)[1].strip().replace("\n", " ")
        + f" {rounds} rounds x {calls} calls per variant, after {max(10, calls // 10)} "
        "untimed warm-up calls each."
    )
    per_round = asyncio.run(_run(rounds, calls))
    rows = []
    for variant in VARIANTS:
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
        "target (issue 5)",
    ]
    sec.add(sup.render_table(headers, rows))
    note = (
        "Issue 5 targets the public calls: blocking <= 5 us median (finish inline on "
        "the caller's thread when the transfer never has to wait), awaited <= 50 us."
    )
    sec.add(note)
