"""Progress on screen (behaviour 9.10): the printer and the close() rule."""

from __future__ import annotations

import io
import os
import re
import sys
import typing as typ

import pytest
from processes import children

import cuprum
from cuprum import CAT, ECHO, SLEEP, WC, YES, TimeoutExpired, sh
from cuprum._pumps.progress import human_bytes

if typ.TYPE_CHECKING:
    from cuprum import StreamBackend

REPORT = re.compile(r"hop \d+: [\d.]+ (B|KiB|MiB|GiB) \([\d.]+ (B|KiB|MiB|GiB)/s\)")


class Terminal(io.StringIO):
    """A text sink that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Recorder:
    """A progress callback with close(): records what the run did, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def __call__(self, hop_bytes: list[int]) -> None:
        self.events.append(f"report {hop_bytes}")

    def close(self) -> None:
        self.events.append("close")


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (5 << 20, "5.0 MiB"),
        (3 << 30, "3.0 GiB"),
        (2.5 * (1 << 40), "2.5 TiB"),
        (1 << 60, "1024.0 PiB"),
    ],
)
def test_bytes_in_human_units(count: float, shown: str) -> None:
    assert human_bytes(count) == shown


def test_one_line_per_report_on_a_file() -> None:
    sink = io.StringIO()
    printer = cuprum.progress_printer(file=sink)
    printer([1536, 0])
    printer([5 << 20, 1 << 20])
    lines = sink.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("hop 0: 5.0 MiB (")
    assert " | hop 1: 1.0 MiB (" in lines[1]
    assert all(len(REPORT.findall(line)) == 2 for line in lines)
    printer.close()
    printer([6 << 20, 2 << 20])
    printer.close()
    assert sink.getvalue().count("\n") == 2  # nothing after close


def test_one_line_rewritten_in_place_on_a_terminal() -> None:
    sink = Terminal()
    printer = cuprum.progress_printer(file=sink)
    printer([10 << 20, 10 << 20])
    printer([1, 2])  # a shorter line pads over the longer one
    printer.close()
    text = sink.getvalue()
    first, second = text.split("\r")[1:]
    assert "\n" not in first
    assert second.endswith("\n")
    assert len(second.rstrip("\n")) == len(first)
    printer([3, 4])
    assert sink.getvalue() == text


def test_a_real_terminal_is_recognised() -> None:
    main, secondary = os.openpty()
    try:
        with os.fdopen(secondary, "w", closefd=False) as tty:
            printer = cuprum.progress_printer(file=tty)
            printer([2048])
            printer.close()
        assert os.read(main, 1000).startswith(b"\rhop 0: 2.0 KiB (")
    finally:
        os.close(main)
        os.close(secondary)


def test_stderr_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    printer = cuprum.progress_printer()
    printer([7])
    assert capsys.readouterr().err.startswith("hop 0: 7 B (")


def test_a_run_prints_and_closes_the_printer(stream_backend: StreamBackend) -> None:
    sink = Terminal()
    pipeline = sh.make(SLEEP)("0.6") | sh.make(CAT)() | sh.make(WC)("-c")
    result = pipeline.run_sync(on_progress=cuprum.progress_printer(file=sink))
    assert result.ok
    text = sink.getvalue()
    assert text.startswith("\rhop 0: 0 B (0 B/s) | hop 1: 0 B (0 B/s)")
    assert text.endswith("\n")  # closed by the run: the line is ended


def test_close_is_called_once_after_the_last_report(
    stream_backend: StreamBackend,
) -> None:
    recorder = Recorder()
    pipeline = sh.make(SLEEP)("0.6") | sh.make(CAT)()
    assert pipeline.run_sync(on_progress=recorder).ok
    assert recorder.events[-1] == "close"
    assert recorder.events.count("close") == 1
    assert len(recorder.events) >= 2  # at least one report in 0.6 s


def test_close_is_called_once_however_the_run_ends(
    stream_backend: StreamBackend,
) -> None:
    no_hops = Recorder()
    assert cuprum.Pipeline([sh.make(ECHO)("x")]).run_sync(on_progress=no_hops).ok
    assert no_hops.events == ["close"]
    timed_out = Recorder()
    with pytest.raises(TimeoutExpired):
        (sh.make(YES)() | sh.make(SLEEP)("30")).run_sync(
            on_progress=timed_out, timeout=0.5
        )
    assert timed_out.events.count("close") == 1
    assert timed_out.events[-1] == "close"
    streamed = Recorder()
    with (sh.make(YES)() | sh.make(CAT)()).stream_sync(on_progress=streamed) as out:
        next(iter(out))
    assert streamed.events[-1] == "close"
    assert streamed.events.count("close") == 1
    assert not children()


def test_an_error_from_close_is_raised_after_the_clean_up(
    stream_backend: StreamBackend,
) -> None:
    class Failing(Recorder):
        def close(self) -> None:
            raise OverflowError

    with pytest.raises(OverflowError):
        (sh.make(ECHO)("x") | sh.make(CAT)()).run_sync(on_progress=Failing())
    assert not children()


def test_the_printer_writes_nothing_of_its_own_after_the_run(
    stream_backend: StreamBackend,
) -> None:
    sink = io.StringIO()
    printer = cuprum.progress_printer(file=sink)
    (sh.make(ECHO)("x") | sh.make(CAT)()).run_sync(on_progress=printer)
    before = sink.getvalue()
    printer([1, 2])
    assert sink.getvalue() == before
    assert sys.stderr is not sink


def test_the_last_report_is_every_hop_total(stream_backend: StreamBackend) -> None:
    # Shorter than one interval: the final report is the only one.
    reports: list[list[int]] = []
    pipeline = sh.make(ECHO)("hi") | sh.make(CAT)() | sh.make(CAT)()
    result = pipeline.run_sync(on_progress=reports.append)
    assert reports
    assert reports[-1] == list(result.hop_bytes) == [3, 3]
    log = io.StringIO()
    pipeline.run_sync(on_progress=cuprum.progress_printer(file=log))
    assert log.getvalue().splitlines()[-1].startswith("hop 0: 3 B (")
