"""Steps for the pumping scenarios: pure-Python, downstream closes, Rust engine.

The feature files say what a user sees; the mechanics live here. A producer
is a helper thread writing into a pipe, a consumer a helper thread reading
the other pipe (``tests/pipes.py``); the pump moves the bytes in between.
Batches put each producer's whole payload in its pipe before the pump starts
(every payload fits in one page), so no helper thread is needed for them.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
import threading
import typing as typ
from pipes import collect, endless, feed, is_nonblocking, is_open, payload

import pytest
from conftest import BDD_BACKENDS, use_backend
from pytest_bdd import given, parsers, scenarios, then, when

import cuprum

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from conftest import Pipe

    MakePipe = cabc.Callable[[], Pipe]

scenarios(
    "python_backend.feature",
    "downstream_closes.feature",
    "rust_pump.feature",
)

RESULT_TIMEOUT = 30
"""Seconds a helper thread may take; a guard against hangs, not a measure."""

UNITS = {"byte": 1, "bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20}
SMALL_PAYLOAD_LIMIT = 4096
"""Largest batch payload: one page, which any pipe holds without a reader."""


@dataclasses.dataclass
class Transfer:
    """One producer -> pump -> consumer run, as the steps build it up."""

    source: Pipe | None = None
    target: Pipe | None = None
    data: bytes = b""
    endless_producer: bool = False
    stop_producer: threading.Event = dataclasses.field(default_factory=threading.Event)
    producer: cf.Future[int] | None = None
    consumer: cf.Future[bytes] | None = None
    consumer_read: list[int] = dataclasses.field(default_factory=list)
    consumer_gone: bool = False
    source_read_closed: bool = False
    consumer_leaves_early: bool = False
    flags_before: dict[int, bool] = dataclasses.field(default_factory=dict)
    flags_after: dict[int, bool | None] = dataclasses.field(default_factory=dict)
    count: int | None = None
    error: Exception | None = None
    batch: list[tuple[Pipe, Pipe, bytes]] = dataclasses.field(default_factory=list)
    batch_results: list[int | OSError] = dataclasses.field(default_factory=list)
    batch_received: list[bytes] = dataclasses.field(default_factory=list)


@pytest.fixture
def transfer(make_pipe: MakePipe) -> cabc.Iterator[Transfer]:
    """The scenario's transfer; afterwards, wait for its helper threads.

    A helper thread closes its own pipe end when it ends. It must be done
    before ``make_pipe`` tidies up, or its late ``close`` could hit a
    descriptor number that a later test reuses.
    """
    run = Transfer()
    yield run
    run.stop_producer.set()
    if run.endless_producer and run.source is not None and not run.source_read_closed:
        os.close(run.source.read)  # an endless producer may be blocked writing
    helpers = [future for future in (run.producer, run.consumer) if future]
    _, not_done = cf.wait(helpers, timeout=RESULT_TIMEOUT)
    assert not not_done, "a producer or consumer thread is stuck"


def _size(amount: int, unit: str) -> int:
    return amount * UNITS[unit]


# ---------------------------------------------------------------------------
# Given
# ---------------------------------------------------------------------------


@given(parsers.parse("the {backend} backend is selected"))
def _(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    use_backend(monkeypatch, BDD_BACKENDS[backend])


@given(parsers.parse("a producer with {amount:d} {unit} of data to send"))
def _(transfer: Transfer, make_pipe: MakePipe, amount: int, unit: str) -> None:
    transfer.source, transfer.target = make_pipe(), make_pipe()
    transfer.data = payload(_size(amount, unit))
    transfer.flags_before = {
        transfer.source.read: is_nonblocking(transfer.source.read),
        transfer.target.write: is_nonblocking(transfer.target.write),
    }


@given("a producer that never stops writing")
def _(transfer: Transfer, make_pipe: MakePipe) -> None:
    transfer.source, transfer.target = make_pipe(), make_pipe()
    transfer.endless_producer = True


@given("a consumer that has already gone away")
def _(transfer: Transfer) -> None:
    assert transfer.target is not None
    os.close(transfer.target.read)
    transfer.consumer_gone = True


@given("a consumer that reads a little and then goes away")
def _(transfer: Transfer) -> None:
    transfer.consumer_leaves_early = True


@given(parsers.parse("{count:d} producers, each with its own data to send"))
def _(transfer: Transfer, make_pipe: MakePipe, count: int) -> None:
    for index in range(count):
        source, target = make_pipe(), make_pipe()
        data = payload(1 + (index * 389) % SMALL_PAYLOAD_LIMIT, seed=index)
        assert os.write(source.write, data) == len(data)
        os.close(source.write)  # the producer has said everything
        transfer.batch.append((source, target, data))


# ---------------------------------------------------------------------------
# When
# ---------------------------------------------------------------------------


def _start_consumer(transfer: Transfer) -> threading.Thread | None:
    """Start whichever consumer the scenario asked for."""
    assert transfer.target is not None
    target = transfer.target
    if transfer.consumer_gone:
        return None
    if transfer.consumer_leaves_early:

        def take_a_little_then_leave() -> None:
            transfer.consumer_read.append(len(os.read(target.read, 1000)))
            os.close(target.read)

        leaver = threading.Thread(target=take_a_little_then_leave)
        leaver.start()
        return leaver
    transfer.consumer = collect(target.read)
    return None


def _pump(transfer: Transfer, drain_timeout: float | None = None) -> None:
    assert transfer.source is not None
    assert transfer.target is not None
    source, target = transfer.source, transfer.target
    if transfer.endless_producer:
        transfer.producer = endless(source.write, transfer.stop_producer.is_set)
    else:
        transfer.producer = feed(source.write, transfer.data)
    leaver = _start_consumer(transfer)
    try:
        transfer.count = cuprum.pump_stream(
            source.read, target.write, drain_timeout=drain_timeout
        )
    except Exception as error:  # noqa: BLE001 - a Then step judges it
        transfer.error = error
    finally:
        transfer.flags_after = {
            fd: is_nonblocking(fd) if is_open(fd) else None
            for fd in (source.read, target.write)
        }
        os.close(target.write)  # the pump never closes it: its owner does
        if leaver is not None:
            leaver.join(RESULT_TIMEOUT)


@when("the producer's output is pumped to the consumer")
def _(transfer: Transfer) -> None:
    _pump(transfer)


@when(
    parsers.parse(
        "the producer's output is pumped to the consumer, "
        "draining for at most {seconds:g} seconds"
    )
)
def _(transfer: Transfer, seconds: float) -> None:
    _pump(transfer, drain_timeout=seconds)


@when("their outputs are pumped to their consumers together")
def _(transfer: Transfer) -> None:
    pairs = [(source.read, target.write) for source, target, _ in transfer.batch]
    transfer.batch_results = cuprum.pump_many(pairs)
    for _, target, _ in transfer.batch:
        os.close(target.write)
        chunks = []
        while chunk := os.read(target.read, 1 << 16):
            chunks.append(chunk)
        transfer.batch_received.append(b"".join(chunks))


# ---------------------------------------------------------------------------
# Then
# ---------------------------------------------------------------------------


@then("no error is raised")
def _(transfer: Transfer) -> None:
    assert transfer.error is None, f"the pump raised {transfer.error!r}"
    assert transfer.count is not None


@then("the consumer receives exactly what the producer sent")
def _(transfer: Transfer) -> None:
    assert transfer.consumer is not None
    received = transfer.consumer.result(timeout=RESULT_TIMEOUT)
    assert len(received) == len(transfer.data)
    assert received == transfer.data


@then(parsers.parse("the pump reports {amount:d} {unit} written"))
def _(transfer: Transfer, amount: int, unit: str) -> None:
    assert transfer.count == _size(amount, unit)


@then("the pump reports at least what the consumer read, but not the whole payload")
def _(transfer: Transfer) -> None:
    assert transfer.consumer_read, "the consumer never read"
    assert transfer.count is not None
    assert transfer.consumer_read[0] <= transfer.count < len(transfer.data)


@then("the producer is not left blocked")
def _(transfer: Transfer) -> None:
    assert transfer.producer is not None
    # The producer wrote its whole payload and closed its end: the pump kept
    # reading after the consumer left.
    assert transfer.producer.result(timeout=RESULT_TIMEOUT) == len(transfer.data)


@then("the producer stops once its output is closed")
def _(transfer: Transfer) -> None:
    assert transfer.source is not None
    assert transfer.producer is not None
    transfer.stop_producer.set()
    os.close(transfer.source.read)  # a producer still writing now meets EPIPE
    transfer.source_read_closed = True
    assert transfer.producer.result(timeout=RESULT_TIMEOUT) > 0


@then("the ends the pump used are still open and still in blocking mode")
def _(transfer: Transfer) -> None:
    # As the pump returned: both ends open (None would mean closed), and
    # each one's blocking mode as it was before.
    assert transfer.flags_after == transfer.flags_before
    assert set(transfer.flags_before.values()) == {False}


@then("every consumer receives exactly what its producer sent")
def _(transfer: Transfer) -> None:
    expected = [data for _, _, data in transfer.batch]
    assert transfer.batch_results == [len(data) for data in expected]
    assert transfer.batch_received == expected
