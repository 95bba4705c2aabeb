"""The termination policy on its own (behaviour section 11 rules 1 and 2).

`cuprum._run.termination.Termination` does no I/O: these tests feed it events
and times and check what it says to send and whom it blames, including
random histories (hypothesis) against its invariants.
"""

from __future__ import annotations

import signal

from hypothesis import given
from hypothesis import strategies as st

from cuprum._run.termination import Termination

GRACE = 1.0


def never_exited(index: int) -> bool:
    del index
    return False


def test_a_failure_terminates_the_stages_before_it_at_once() -> None:
    policy = Termination(4, GRACE)
    policy.exited(2, 1, now=10.0)
    assert policy.due(10.0, never_exited) == [
        (0, signal.SIGTERM),
        (1, signal.SIGTERM),
    ]
    assert policy.next_deadline() == 11.0
    assert policy.due(11.0, never_exited) == [
        (0, signal.SIGKILL),
        (1, signal.SIGKILL),
    ]
    assert policy.failure_index == 2


def test_a_stage_after_a_failure_has_the_grace_once_its_input_ended() -> None:
    policy = Termination(3, GRACE)
    policy.exited(0, 3, now=5.0)
    assert policy.due(5.0, never_exited) == []
    assert policy.next_deadline() is None  # its input still flows
    policy.input_ended(1, now=7.0)
    assert policy.next_deadline() == 8.0
    policy.exited(1, 0, now=7.5)  # it ended on its own in time
    policy.input_ended(2, now=7.5)
    assert policy.due(8.4, never_exited) == []
    assert policy.due(8.5, never_exited) == [(2, signal.SIGTERM)]
    assert not policy.signalled(1)
    assert policy.signalled(2)


def test_an_input_that_ended_before_the_failure_counts_from_its_end() -> None:
    policy = Termination(2, GRACE)
    policy.input_ended(1, now=1.0)
    policy.exited(0, 3, now=1.5)
    assert policy.next_deadline() == 2.0


def test_a_signalled_stage_is_never_blamed() -> None:
    policy = Termination(2, GRACE)
    policy.end_all(now=0.0)
    assert len(policy.due(0.0, never_exited)) == 2
    policy.exited(0, 20, now=0.1)
    policy.exited(1, 3, now=0.2)
    assert policy.failure_index is None
    assert not policy.own_failure(0)
    assert not policy.excused(0)


def test_a_stage_that_already_exited_is_spared() -> None:
    policy = Termination(2, GRACE)
    policy.exited(1, 1, now=0.0)
    assert policy.due(0.0, lambda index: index == 0) == []
    assert not policy.signalled(0)
    policy.exited(0, 4, now=0.1)  # its own status stands
    assert policy.failure_index == 0


def test_sigpipe_after_the_downstream_left_is_excused() -> None:
    policy = Termination(2, GRACE)
    policy.exited(1, 0, now=0.0)
    policy.exited(0, -signal.SIGPIPE, now=0.1)
    assert policy.excused(0)
    lonely = Termination(2, GRACE)
    lonely.exited(0, 141, now=0.0)  # nobody left: a failure of its own
    assert lonely.failure_index == 0
    left = Termination(1, GRACE)
    left.downstream_left(0)
    left.exited(0, 141, now=0.0)
    assert left.excused(0)


STAGES = 4
events = st.lists(
    st.one_of(
        st.tuples(
            st.just("exited"),
            st.integers(0, STAGES - 1),
            st.sampled_from([0, 1, 3, 20, -15, -9, -13, 141, 255]),
        ),
        st.tuples(st.just("input"), st.integers(1, STAGES - 1), st.just(0)),
        st.tuples(st.just("left"), st.integers(0, STAGES - 1), st.just(0)),
        st.tuples(st.just("end"), st.just(0), st.just(0)),
        st.tuples(st.just("tick"), st.just(0), st.floats(0.0, 2.0)),
    ),
    max_size=40,
)


@given(events)
def test_random_histories_keep_the_invariants(
    history: list[tuple[str, int, float]],
) -> None:
    policy = Termination(STAGES, GRACE)
    now = 0.0
    reaped: set[int] = set()
    sent: dict[int, list[signal.Signals]] = {index: [] for index in range(STAGES)}
    blamed_after_signal: list[int] = []
    for kind, index, value in history:
        if kind == "exited" and index not in reaped:
            reaped.add(index)
            signalled = policy.signalled(index)
            policy.exited(index, int(value), now)
            if signalled and policy.own_failure(index):
                blamed_after_signal.append(index)
        elif kind == "input":
            policy.input_ended(index, now)
        elif kind == "left":
            policy.downstream_left(index)
        elif kind == "end":
            policy.end_all(now)
        elif kind == "tick":
            now += value
        for stage, signum in policy.due(now, never_exited):
            assert stage not in reaped
            sent[stage].append(signum)
        deadline = policy.next_deadline()
        assert deadline is None or deadline >= now
    assert not blamed_after_signal
    for index, signals in sent.items():
        assert signals in ([], [signal.SIGTERM], [signal.SIGTERM, signal.SIGKILL])
        assert policy.signalled(index) == bool(signals)
    own = [index for index in range(STAGES) if policy.own_failure(index)]
    assert policy.failure_index == (min(own) if own else None)
