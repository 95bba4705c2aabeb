"""A raising ``on_pair_done`` and the descriptors of the batch (behaviour 2.6).

An exception from a callback abandons a blocking batch; whatever ended
when, every descriptor's ``O_NONBLOCK`` must be back to what it was, and
(Python backend) nothing may be left in the backend's flag table.
"""

from __future__ import annotations

import os
import typing as typ
from pipes import is_nonblocking, set_nonblocking

import pytest

import cuprum
from cuprum import StreamBackend
from cuprum._pumps import python_pair as _streams_pair

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from conftest import Pipe

    from cuprum._pumps.options import PairResult

    MakePipe = cabc.Callable[[], Pipe]


class CallbackError(Exception):
    """Raised by the test's ``on_pair_done``."""


@pytest.mark.parametrize("before", [False, True], ids=["blocking", "nonblocking"])
def test_raising_callback_releases_every_pair_that_ended_in_the_same_turn(
    stream_backend: StreamBackend, make_pipe: MakePipe, before: bool
) -> None:
    """Both readers are at EOF before the call, so both pairs end at once."""
    sources = [make_pipe(), make_pipe()]
    sinks = [make_pipe(), make_pipe()]
    for source in sources:
        os.close(source.write)  # EOF at once
    watched = [source.read for source in sources] + [sink.write for sink in sinks]
    for fd in watched:
        set_nonblocking(fd, before)
    calls: list[int] = []

    def on_pair_done(index: int, result: PairResult) -> None:
        calls.append(index)
        raise CallbackError(index, result)

    pairs = [
        (source.read, sink.write) for source, sink in zip(sources, sinks, strict=True)
    ]
    with pytest.raises(CallbackError):
        cuprum.pump_many(pairs, on_pair_done=on_pair_done)
    assert len(calls) == 1, "the batch is abandoned at the first callback error"
    assert [is_nonblocking(fd) for fd in watched] == [before] * len(watched)
    if stream_backend is StreamBackend.PYTHON:
        assert _streams_pair._NONBLOCK._users == {}  # noqa: SLF001 - the flag table


def test_raising_callback_for_a_pair_that_fails_at_once_releases_the_others(
    stream_backend: StreamBackend, make_pipe: MakePipe
) -> None:
    """Pair 1 is refused at once; its callback raises while pair 0 waits."""
    source, sink, wrong = make_pipe(), make_pipe(), make_pipe()
    calls: list[int] = []

    def on_pair_done(index: int, result: PairResult) -> None:
        calls.append(index)
        raise CallbackError(index, result)

    # Pair 1's ends are the wrong way round: refused without waiting.
    pairs = [(source.read, sink.write), (wrong.write, wrong.read)]
    with pytest.raises(CallbackError):
        cuprum.pump_many(pairs, on_pair_done=on_pair_done)
    assert calls == [1]
    assert not is_nonblocking(source.read)
    assert not is_nonblocking(sink.write)
    if stream_backend is StreamBackend.PYTHON:
        assert _streams_pair._NONBLOCK._users == {}  # noqa: SLF001 - the flag table
