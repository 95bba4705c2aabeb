"""The run's bar chart: each workload's speed relative to its baseline, as SVG.

Drawn from the scenarios' standings with the standard library (plain SVG
text, no plotting dependency). One group of horizontal bars per workload:
the engine, the blocking splice loop, the Python backend and the baseline
(the direct pipe, bash, or for the 1 KiB call the inline read/write floor),
each bar the baseline's median time over the variant's (1 is as fast as
the baseline, higher is faster), with a whisker from the lowest to the
highest per-round ratio. ``--write-docs`` writes it next to
``docs/benchmarks.md``, which shows it.
"""

from __future__ import annotations

import math
import typing as typ
from xml.sax.saxutils import escape

import _support as sup

GROUPS: typ.Final = ("dd", "head", "many64", "small", "yes", "seq", "pipe3", "pipe5")
ROLES: typ.Final = (
    ("engine", "engine", "#b87333"),
    ("splice_ref", "blocking splice loop", "#4a6fa5"),
    ("python", "Python backend", "#7a8f4e"),
    ("base", "", "#9a9a9a"),
)
WIDTH: typ.Final = 820
LEFT: typ.Final = 190  # where the bars start
PLOT: typ.Final = 520  # the width of the value axis
BAR: typ.Final = 13
ROW: typ.Final = 18
HEAD: typ.Final = 22
GAP: typ.Final = 10
TOP: typ.Final = 74


class Bar(typ.NamedTuple):
    """One bar: its label, colour, and ratio (median, per-round low and high)."""

    label: str
    colour: str
    value: tuple[float, float, float] | None


def _groups(report: sup.Report) -> list[tuple[str, list[Bar]]]:
    found = []
    for key in GROUPS:
        standing = report.standings.get(key)
        if standing is None or "base" not in standing.variants:
            continue
        base = standing.variants["base"]
        bars = []
        for role, label, colour in ROLES:
            samples = standing.variants.get(role)
            value = sup.ratio(samples, base) if samples is not None else None
            bars.append(Bar(label or standing.base_label, colour, value))
        found.append((standing.title, bars))
    return found


def _fmt(value: float) -> str:
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.3f}x"


def _text(x: float, y: float, text: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
        'stroke="#222222"/>'
    )


def render(report: sup.Report, subtitle: str) -> str | None:
    """Return the chart as SVG text, or ``None`` when nothing was measured."""
    groups = _groups(report)
    if not groups:
        return None
    highs = [b.value[2] for _, bars in groups for b in bars if b.value is not None]
    top = max(1.0, *highs)
    step = 0.25 if top <= 2 else 0.5 if top <= 4 else 1.0
    axis_max = math.ceil(top / step) * step
    scale = PLOT / axis_max
    height = TOP + sum(HEAD + ROW * len(bars) + GAP for _, bars in groups) + 40
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
            f'height="{height}" viewBox="0 0 {WIDTH} {height}" '
            'font-family="sans-serif" font-size="12">'
        ),
        "<title>cuprum benchmarks: speed relative to the direct pipe or bash</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        _text(
            16,
            24,
            "cuprum: speed relative to the baseline (higher is faster)",
            font_size="16",
            font_weight="bold",
        ),
        _text(16, 44, subtitle, fill="#444444"),
        _text(
            16,
            60,
            "Bars: baseline median time / variant median time; whiskers: "
            "per-round range. Baseline: direct pipe, bash, or (1 KiB call) inline "
            "read/write.",
            fill="#444444",
            font_size="11",
        ),
    ]
    plot_bottom = height - 40
    ticks = round(axis_max / step)
    for i in range(ticks + 1):
        x = LEFT + i * step * scale
        colour = "#555555" if abs(i * step - 1.0) < 1e-9 else "#e2e2e2"
        dash = ' stroke-dasharray="4 3"' if colour == "#555555" else ""
        out.append(
            f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{plot_bottom}" '
            f'stroke="{colour}"{dash}/>'
        )
        out.append(
            _text(
                x,
                plot_bottom + 16,
                f"{i * step:g}",
                text_anchor="middle",
                fill="#444444",
            )
        )
    out.append(
        _text(
            LEFT + PLOT / 2,
            plot_bottom + 32,
            "speed relative to the baseline",
            text_anchor="middle",
            fill="#444444",
        )
    )
    y = TOP
    for title, bars in groups:
        out.append(_text(16, y + 14, title, font_weight="bold"))
        y += HEAD
        for bar in bars:
            mid = y + BAR / 2
            out.append(_text(LEFT - 8, mid + 4, bar.label, text_anchor="end"))
            if bar.value is None:
                out.append(
                    _text(
                        LEFT + 4,
                        mid + 4,
                        "not measured",
                        fill="#888888",
                        font_style="italic",
                    )
                )
                y += ROW
                continue
            med, low, high = bar.value
            out.append(
                f'<rect x="{LEFT}" y="{y:.1f}" width="{max(med * scale, 1):.1f}" '
                f'height="{BAR}" fill="{bar.colour}"/>'
            )
            if high - low > 1e-9:
                x1, x2 = LEFT + low * scale, LEFT + high * scale
                out += [
                    _line(x1, mid, x2, mid),
                    _line(x1, mid - 4, x1, mid + 4),
                    _line(x2, mid - 4, x2, mid + 4),
                ]
            end = LEFT + max(med, high) * scale
            out.append(_text(end + 6, mid + 4, _fmt(med)))
            y += ROW
        y += GAP
    out.append("</svg>")
    return "\n".join(out) + "\n"
