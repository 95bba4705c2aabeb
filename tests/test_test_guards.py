"""The suite's own guards: the per-test time limit and the splice switch.

A guard that never fires proves nothing, so each is made to fire here: an
inner pytest run (``pytester``, in a subprocess so its alarm and signal
handlers are its own) hangs one test and must fail that test alone.
"""

from __future__ import annotations

import pathlib

import pytest
from conftest import rust_engine_missing_reason, splice_disabled

pytest_plugins = ["pytester"]

CONFTEST = pathlib.Path(__file__).with_name("conftest.py")

HUNG_TESTS = """
import os, threading
import pytest
import cuprum

@pytest.mark.time_limit(0.5)
def test_hangs_in_python():
    threading.Event().wait()

@pytest.mark.time_limit(0.5)
def test_hangs_in_a_pump(stream_backend):
    reader, writer = os.pipe()  # the write end stays open: no EOF, ever
    sink_reader, sink_writer = os.pipe()
    cuprum.pump_stream(reader, sink_writer)

def test_after_the_hangs():
    assert True
"""


def test_a_hung_test_fails_alone_and_the_run_goes_on(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(test_hung=HUNG_TESTS)
    legs = 3 if rust_engine_missing_reason() is None else 1
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1 + legs, passed=1, skipped=3 - legs)
    result.stdout.fnmatch_lines(["*TestTimeLimitExceeded*still running after 0.5 s*"])


@pytest.mark.parametrize("before", [True, False])
def test_splice_switch_is_put_back_as_it_was(before: bool) -> None:
    missing = rust_engine_missing_reason()
    if missing is not None:
        pytest.skip(f"the splice switch belongs to the engine: {missing}")
    from cuprum._pumps import rust_backend as _streams_rs  # noqa: PLC0415 - only with the engine

    original = _streams_rs.splice_enabled()
    _streams_rs.set_splice_enabled(before)
    state = _streams_rs.splice_enabled()  # False where there is no splice(2)
    try:
        with splice_disabled():
            assert not _streams_rs.splice_enabled()
        assert _streams_rs.splice_enabled() is state
    finally:
        _streams_rs.set_splice_enabled(original)
