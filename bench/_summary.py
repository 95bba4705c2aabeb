"""The run's summary: the engine's targets table, from every scenario's standings.

Each row is one workload's headline figure for the engine with its ratio to
the blocking splice loop and to the direct pipe or bash, each a ratio of
medians with the per-round range beside it, and the target. Rate rows
(higher is faster) and time rows (lower is faster) say which they are. A
workload whose scenario did not run prints a dash.
"""

from __future__ import annotations

import typing as typ

import _support as sup

TITLE: typ.Final = "Summary: the engine's targets (design 13.5)"


class Row(typ.NamedTuple):
    """One line of the targets table."""

    key: str
    label: str
    kind: str  # "rate" or "time"
    target: str


ROWS: typ.Final = (
    Row(
        "small",
        "1 KiB blocking pump_stream (time)",
        "time",
        "<= 1.3x the loop, <= 4 syscalls per call",
    ),
    Row("small_async", "1 KiB awaited pump_stream_async (time)", "time", "<= 10 us"),
    Row(
        "head",
        "head -c -> pump -> cat > /dev/null, 1 pair (rate)",
        "rate",
        ">= 1.2x the loop, >= 0.7x direct",
    ),
    Row("dd", "dd -> pump -> wc -c, 1 pair (rate)", "rate", "stays >= 1.3x direct"),
    Row(
        "many64",
        "64 pairs x 16 MiB, aggregate (rate)",
        "rate",
        ">= 0.8x direct, one reactor thread",
    ),
    Row("yes", "yes | head -n 1 pipeline (time)", "time", "<= 2x bash + 10 ms"),
    Row(
        "seq",
        "seq 1 1000000000 | head -n 1 pipeline (time)",
        "time",
        "<= 2x bash + 10 ms",
    ),
    Row("pipe3", "3-stage pipeline (time)", "time", "stays faster than bash"),
    Row("pipe5", "5-stage pipeline (time)", "time", "stays faster than bash"),
)


def _headline(kind: str, samples: sup.Samples) -> str:
    if kind == "rate":
        return f"{samples.rate:,.0f} MiB/s"
    low, high = min(samples.times), max(samples.times)
    return (
        f"{sup.fmt_seconds(samples.median)} "
        f"({sup.fmt_seconds(low)} - {sup.fmt_seconds(high)})"
    )


def _versus(kind: str, num: sup.Samples | None, den: sup.Samples | None) -> str:
    if num is None or den is None:
        return "-"
    value = sup.ratio(num, den) if kind == "rate" else sup.time_ratio(num, den)
    med, spread = sup.fmt_ratio(value)
    return f"{med} ({spread})"


def _row(report: sup.Report, row: Row) -> list[str]:
    standing = report.standings.get(row.key)
    if standing is None or "engine" not in standing.variants:
        return [row.label, "not measured", "-", "-", row.target]
    got = standing.variants
    label = f"{standing.title} (rate)" if row.key == "many64" else row.label
    engine = _headline(row.kind, got["engine"])
    loop = _versus(row.kind, got["engine"], got.get("splice_ref"))
    base = _versus(row.kind, got["engine"], got.get("base"))
    if "splice_ref" in got and row.kind == "time":
        loop += f"; loop {sup.fmt_seconds(got['splice_ref'].median)}"
    if "base" in got and standing.base_label == "bash":
        base += f"; bash {sup.fmt_seconds(got['base'].median)}"
    target = row.target
    if row.key in {"yes", "seq"} and "base" in got:
        bound = 2 * got["base"].median + 0.010
        target += f" (= {sup.fmt_seconds(bound)} here)"
    if row.key == "small":
        calls = report.syscalls
        if calls:
            engine += f"; {calls.get('engine', float('nan')):.1f} syscalls per call"
            loop += f"; {calls.get('splice_ref', float('nan')):.1f} syscalls per call"
        elif report.syscalls_skipped:
            engine += f"; syscalls not counted ({report.syscalls_skipped})"
    if base != "-" and standing.base_label.startswith("inline"):
        base += f" (vs {standing.base_label})"
    return [label, engine, loop, base, target]


def section(report: sup.Report) -> None:
    """Print (and keep for the docs) the summary table."""
    if not report.standings:
        return
    sec = report.section(TITLE)
    sec.add(
        "The later targets' rows (design 13.5), from the scenarios' tables "
        "(engine: the default path, backend rust). Each ratio is of medians with "
        "the per-round range in brackets; rate rows are rate ratios (higher is "
        "faster), time rows are time ratios (lower is faster). The blocking splice "
        "loop is the older cuprum's design (one blocking splice(2) loop per pair on "
        "its own thread, in C). Small calls: medians of round medians; their "
        "baseline is the inline os.read/os.write floor, not a direct pipe."
    )
    headers = [
        "row",
        "engine",
        "vs blocking splice loop",
        "vs direct pipe or bash",
        "target",
    ]
    sec.add(sup.render_table(headers, [_row(report, row) for row in ROWS]))
