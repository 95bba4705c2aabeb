r"""Progress on screen: a ready-made ``on_progress`` callback for pipelines.

Owns `progress_printer` and the `ProgressPrinter` it returns: each report
(the bytes moved so far by every hop) becomes one line with each hop's
bytes and current rate in human units (KiB, MiB, GiB, binary). On a
terminal the line is rewritten in place (``\r``) and ended by `close`; on
a pipe or a file every report is a line of its own.

Invariants: a printer writes nothing after `ProgressPrinter.close`, which a
run calls once when its hops are done (behaviour 9.10); the rate of a hop is
taken over the time since the previous report (since the printer was made
for the first one). This module imports no other part of cuprum.
"""

from __future__ import annotations

import sys
import time
import typing as typ

_UNITS: typ.Final = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_STEP: typ.Final = 1024.0


def human_bytes(count: float) -> str:
    """Return ``count`` bytes in binary units: ``512 B``, ``1.5 KiB``, ``3.0 GiB``."""
    value = float(count)
    for unit in _UNITS[:-1]:
        if abs(value) < _STEP:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= _STEP
    return f"{value:.1f} {_UNITS[-1]}"


class ProgressPrinter:
    """An ``on_progress`` callback that shows each hop's bytes and rate.

    Made by `progress_printer`. One printer shows one run: once closed
    (the run calls `close` when its hops are done) it prints nothing more.

    Parameters
    ----------
    file
        Where the lines go; a terminal (``isatty()``) gets one line
        rewritten in place.

    """

    def __init__(self, file: typ.TextIO) -> None:
        self._file = file
        self._terminal = _is_terminal(file)
        self._previous: list[int] = []
        self._previous_at = time.monotonic()
        self._width = 0
        self._closed = False

    def __call__(self, hop_bytes: list[int]) -> None:
        """Show one report: ``hop 0: 12.0 MiB (48.0 MiB/s) | hop 1: ...``."""
        if self._closed:
            return
        now = time.monotonic()
        elapsed = max(now - self._previous_at, 1e-9)
        before = self._previous or [0] * len(hop_bytes)
        line = " | ".join(
            f"hop {index}: {human_bytes(count)} "
            f"({human_bytes((count - before[index]) / elapsed)}/s)"
            for index, count in enumerate(hop_bytes)
        )
        self._previous, self._previous_at = list(hop_bytes), now
        if self._terminal:
            padding = " " * max(0, self._width - len(line))
            self._width = len(line)
            self._file.write(f"\r{line}{padding}")
        else:
            self._file.write(f"{line}\n")
        self._file.flush()

    def close(self) -> None:
        """End the line on a terminal; print nothing after this."""
        if self._closed:
            return
        self._closed = True
        if self._terminal and self._width:
            self._file.write("\n")
            self._file.flush()


def progress_printer(file: typ.TextIO | None = None) -> ProgressPrinter:
    """Return an ``on_progress`` callback that prints each hop's progress.

    Give it to ``Pipeline.run(on_progress=...)`` (or ``run_sync``,
    ``stream``): every report (about every 0.25 s) shows each hop's bytes
    so far and its current rate in human units. On a terminal the line is
    rewritten in place, and ended when the run's hops are done; on a pipe
    or a file every report is a line of its own. Make one per run.

    Parameters
    ----------
    file
        Where to print; ``sys.stderr`` (as it is when called) by default.

    """
    return ProgressPrinter(sys.stderr if file is None else file)


def _is_terminal(file: typ.TextIO) -> bool:
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or closed
        return False
