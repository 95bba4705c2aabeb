"""Process-level behaviour of the pump calls, on both backends.

Ctrl-C, ``SIGPIPE`` and ``fork`` change a whole process, so those tests run
their pumps in a child interpreter (``sys.executable -c``) that reports a
verdict as one JSON line; the child inherits ``CUPRUM_STREAM_BACKEND`` from
the ``stream_backend`` fixture. The leak test runs in this process.

No test sleeps to synchronise: the Ctrl-C child proves its pump is running
by having the pump itself deliver the line the parent waits for, and every
wait on a child has a timeout that only guards against a hang.

Ctrl-C is sent two ways: to the process, as a terminal does (the kernel
picks the thread that takes it), and to a thread other than the main one
that leaves ``SIGINT`` unblocked, which is a choice the kernel is allowed to
make for a process-directed signal. The second makes that case
deterministic instead of a matter of scheduling luck.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import pathlib
import select
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from conftest import require_fault_injection, use_backend

import cuprum
from cuprum import StreamBackend

CHILD_GUARD_SECONDS = 20
"""How long a child may take overall: a hang guard, not a measurement."""
INTERRUPT_GUARD_SECONDS = 10
"""How long a child may take to exit after Ctrl-C: a hang guard, not a
measurement ("well under a second" holds on a quiet machine; a 2-core
machine running three suites at once once took over 3 s)."""

CALLS = ["pump_stream", "pump_many", "pump_stream_async"]

# Shared by the child scripts: run one pump call by name on one pair (plus,
# for pump_many, an idle second pair that waits forever alongside it).
CHILD_PRELUDE = """
import asyncio, fcntl, json, os, select, signal, sys, threading
if os.environ.get("CUPRUM_TEST_HIDE_NATIVE") == "1":  # as tests/conftest.py does
    sys.modules["cuprum._rust_backend_native"] = None
import cuprum

def pump(call, reader, writer, idle=None):
    if call == "pump_stream":
        return cuprum.pump_stream(reader, writer)
    if call == "pump_many":
        pairs = [(reader, writer)] + ([idle] if idle else [])
        results = cuprum.pump_many(pairs)
        for result in results:
            if isinstance(result, OSError):
                raise result
        return results[0]
    if call == "pump_stream_async":
        return asyncio.run(cuprum.pump_stream_async(reader, writer))
    raise SystemExit(f"unknown call {call}")

def flags(fds):
    return {fd: fcntl.fcntl(fd, fcntl.F_GETFL) for fd in fds}

def report(**verdict):
    verdict["backend"] = cuprum.get_stream_backend().value
    if verdict["backend"] == "rust":
        from cuprum._pumps import rust_backend as _streams_rs
        verdict["splice"] = _streams_rs.splice_enabled()
    print(json.dumps(verdict), flush=True)
"""

CTRL_C_CHILD = """
signal.signal(signal.SIGINT, signal.default_int_handler)
call = sys.argv[1]
source_r, source_w = os.pipe()  # source_w stays open: the pump waits forever
idle_r, idle_w = os.pipe()
idle_out_r, idle_out_w = os.pipe()
out = os.dup(1)  # the parent's pipe, as a descriptor this process made
watched = (source_r, out, idle_r, idle_out_w)
before = flags(watched)
# The pump itself delivers this line: once the parent reads it, the pump is
# running and waiting for more.
os.write(source_w, b"pumping\\n")
try:
    pump(call, source_r, out, (idle_r, idle_out_w))
except KeyboardInterrupt:
    try:
        after = flags(watched)
    except OSError as error:
        report(interrupted=True, open=False, error=str(error))
        sys.exit(0)
    # The pair is gone from the engine: what is written now stays unread.
    os.write(source_w, b"late")
    untouched = select.select([source_r], [], [], 0)[0] == [source_r]
    report(
        interrupted=True,
        open=True,
        flags_kept=after == before,
        late_data_left_alone=untouched,
    )
    sys.exit(0)
report(interrupted=False)
sys.exit(1)
"""

SIGPIPE_CHILD = """
call, when = sys.argv[1], sys.argv[2]

def broken_downstream():
    source_r, source_w = os.pipe()
    target_r, target_w = os.pipe()
    os.close(target_r)  # the consumer is gone before anything is written
    data = b"x" * 1_000_000
    fed = []

    def feed():
        view = memoryview(data)
        while view:
            view = view[os.write(source_w, view):]
        os.close(source_w)
        fed.append(len(data))

    feeder = threading.Thread(target=feed)
    feeder.start()
    count = pump(call, source_r, target_w)
    feeder.join()
    os.close(source_r)
    os.close(target_w)
    return count, fed

def small_roundtrip():
    source_r, source_w = os.pipe()
    target_r, target_w = os.pipe()
    os.write(source_w, b"warm")
    os.close(source_w)
    count = pump(call, source_r, target_w)
    os.close(target_w)
    assert os.read(target_r, 10) == b"warm"
    os.close(source_r)
    os.close(target_r)
    return count

if when == "after-first-pump":
    small_roundtrip()  # the engine (and its threads) exist before the change
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
count, fed = broken_downstream()
report(count=count, fed=fed, pending=sorted(signal.sigpending()))
"""

FORK_CHILD = """
def roundtrip(size, seed):
    data = bytes((seed * 31 + i * 17) & 0xFF for i in range(4096)) * (size // 4096)
    source_r, source_w = os.pipe()
    target_r, target_w = os.pipe()
    received = []

    def feed():
        view = memoryview(data)
        while view:
            view = view[os.write(source_w, view):]
        os.close(source_w)

    def collect():
        while chunk := os.read(target_r, 65536):
            received.append(chunk)
        os.close(target_r)

    helpers = [threading.Thread(target=feed), threading.Thread(target=collect)]
    for helper in helpers:
        helper.start()
    count = cuprum.pump_stream(source_r, target_w)
    os.close(target_w)
    for helper in helpers:
        helper.join()
    os.close(source_r)
    return count == len(data) and b"".join(received) == data

def batch(pairs):
    pipes = [(os.pipe(), os.pipe()) for _ in range(pairs)]
    for index, ((_, source_w), _) in enumerate(pipes):
        os.write(source_w, bytes([index]) * (index + 1))
        os.close(source_w)
    results = cuprum.pump_many([(s[0], t[1]) for s, t in pipes])
    ok = results == [index + 1 for index in range(pairs)]
    for index, ((source_r, _), (target_r, target_w)) in enumerate(pipes):
        os.close(target_w)
        ok = ok and os.read(target_r, 1000) == bytes([index]) * (index + 1)
        os.close(source_r)
        os.close(target_r)
    return ok

before_fork = roundtrip(1 << 20, 1)  # the engine is running when we fork
pid = os.fork()
if pid == 0:
    signal.alarm(15)  # a hang in the forked child ends it by SIGALRM
    ok = roundtrip(2 << 20, 2) and batch(16) and roundtrip(1 << 20, 3)
    os._exit(0 if ok else 3)
parent_meanwhile = roundtrip(2 << 20, 4)
_, status = os.waitpid(pid, 0)
report(
    before_fork=before_fork,
    parent_meanwhile=parent_meanwhile,
    child_exit=os.waitstatus_to_exitcode(status),
    after_child=roundtrip(1 << 20, 5) and batch(8),
)
"""


def _child_script(body: str) -> str:
    return CHILD_PRELUDE + textwrap.dedent(body)


def _splice_enabled() -> bool | None:
    """Whether the engine may use ``splice(2)`` here; None without the engine."""
    if cuprum.get_stream_backend() is not StreamBackend.RUST:
        return None
    from cuprum._pumps import rust_backend as _streams_rs  # noqa: PLC0415 - only with the engine

    return bool(_streams_rs.splice_enabled())


def _identity() -> dict[str, object]:
    """What the child must report about its backend: the one chosen here."""
    identity: dict[str, object] = {"backend": cuprum.get_stream_backend().value}
    splice = _splice_enabled()
    if splice is not None:
        identity["splice"] = splice
    return identity


def _child_env() -> dict[str, str]:
    """The environment of a child: ours, with the engine's copy path mirrored.

    ``CUPRUM_STREAM_BACKEND`` is already in ``os.environ`` (the fixture sets
    it); the ``rust-copy`` leg turns ``splice(2)`` off in this process only,
    so the child is told through ``CUPRUM_SPLICE``.
    """
    env = dict(os.environ)
    if _splice_enabled() is False:
        env["CUPRUM_SPLICE"] = "0"
    return env


def _start_child(body: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _child_script(body), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(),
    )


def _finish(
    child: subprocess.Popen[bytes], timeout: float, context: str = ""
) -> tuple[int, dict[str, object], str]:
    """Wait for ``child``; return its exit code, verdict and stderr."""
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        pytest.fail(
            f"child still running after {timeout} s {context}\n"
            f"stdout: {out!r}\nstderr: {err.decode(errors='replace')}"
        )
    stderr = err.decode(errors="replace")
    lines = out.decode(errors="replace").splitlines()
    assert lines, f"no verdict (exit {child.returncode})\nstderr: {stderr}"
    return child.returncode, json.loads(lines[-1]), stderr


def _run_child(body: str, *args: str) -> tuple[int, dict[str, object], str]:
    child = _start_child(body, *args)
    with child:
        return _finish(child, CHILD_GUARD_SECONDS)


def _blocks_sigint(pid: int, tid: int) -> bool:
    """Say whether thread ``tid`` of process ``pid`` blocks ``SIGINT``."""
    status = pathlib.Path(f"/proc/{pid}/task/{tid}/status").read_text()
    for line in status.splitlines():
        if line.startswith("SigBlk:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


def _thread_name(pid: int, tid: int) -> str:
    return pathlib.Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()


def _send_ctrl_c(pid: int, receiver: str) -> str:
    """Send ``SIGINT`` to ``pid``; return which thread was picked to take it.

    ``process``: to the whole process, as a terminal's Ctrl-C does; the
    kernel picks the thread. ``other-thread``: straight to one thread other
    than the main one that does not block ``SIGINT``, if there is one: the
    kernel may pick any such thread for a process-directed signal, so this
    makes one of its allowed choices on purpose. With no such thread, the
    main thread takes it.
    """
    if receiver == "process":
        os.kill(pid, signal.SIGINT)
        return "the kernel's choice"
    others = [
        tid
        for tid in sorted(
            int(task.name) for task in pathlib.Path(f"/proc/{pid}/task").iterdir()
        )
        if tid != pid and not _blocks_sigint(pid, tid)
    ]
    target = others[0] if others else pid
    name = _thread_name(pid, target)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.tgkill(pid, target, signal.SIGINT) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return f"thread {target} ({name})"


@pytest.mark.parametrize("receiver", ["process", "other-thread"])
@pytest.mark.parametrize("call", CALLS)
def test_ctrl_c_interrupts_a_waiting_pump(
    stream_backend: StreamBackend, call: str, receiver: str
) -> None:
    child = _start_child(CTRL_C_CHILD, call)
    with child:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], CHILD_GUARD_SECONDS)
        if not ready:
            child.kill()
            child.communicate()
            pytest.fail("the child's pump never delivered its first line")
        line = child.stdout.readline()
        if line != b"pumping\n":
            child.kill()
            _, err = child.communicate()
            pytest.fail(f"unexpected first line {line!r}\n{err.decode()}")
        taker = _send_ctrl_c(child.pid, receiver)
        code, verdict, stderr = _finish(
            child, INTERRUPT_GUARD_SECONDS, f"Ctrl-C sent to {taker}"
        )
    assert verdict == {
        "interrupted": True,
        "open": True,
        "flags_kept": True,
        "late_data_left_alone": True,
        **_identity(),
    }, stderr
    assert code == 0, stderr


@pytest.mark.parametrize("when", ["before-first-pump", "after-first-pump"])
@pytest.mark.parametrize("call", CALLS)
def test_default_sigpipe_does_not_kill_the_process(
    stream_backend: StreamBackend, call: str, when: str
) -> None:
    code, verdict, stderr = _run_child(SIGPIPE_CHILD, call, when)
    assert code == 0, f"exit {code} (-{signal.SIGPIPE} is death by SIGPIPE)\n{stderr}"
    assert verdict == {
        "count": 0,
        "fed": [1_000_000],
        "pending": [],
        **_identity(),
    }, stderr


FIRST_CALL_CHILD = """
import errno
call = sys.argv[1]
reader, writer = os.pipe()
# The lowest free number now: the engine's own descriptors, opened by the
# process's first engine call, would take it if the call did not check first.
os.close(reader)
try:
    pump(call, reader, writer)
except OSError as error:
    report(errno=errno.errorcode.get(error.errno, error.errno))
    sys.exit(0)
report(errno=None)
"""


@pytest.mark.parametrize("call", ["pump_stream", "pump_many"])
def test_a_descriptor_closed_before_the_first_call_is_ebadf(
    stream_backend: StreamBackend, call: str
) -> None:
    # The first call of a process starts the engine (its epoll and eventfd
    # descriptors) only after noting which of its descriptors are closed.
    # (Not for an awaited call: the event loop's own descriptors, made by
    # `asyncio.run`, take the number before any pump is called.)
    code, verdict, stderr = _run_child(FIRST_CALL_CHILD, call)
    assert verdict == {"errno": "EBADF", **_identity()}, stderr
    assert code == 0, stderr


def test_a_forked_child_can_pump(stream_backend: StreamBackend) -> None:
    code, verdict, stderr = _run_child(FORK_CHILD)
    assert verdict == {
        "before_fork": True,
        "parent_meanwhile": True,
        "child_exit": 0,
        "after_child": True,
        **_identity(),
    }, stderr
    assert code == 0, stderr


# ---------------------------------------------------------------------------
# No descriptor or thread leak (in this process)
# ---------------------------------------------------------------------------


def _open_fds() -> set[int]:
    return {int(entry.name) for entry in pathlib.Path("/proc/self/fd").iterdir()}


def _tasks() -> dict[int, str]:
    """Every OS thread of this process, with its name."""
    tasks: dict[int, str] = {}
    for task in pathlib.Path("/proc/self/task").iterdir():
        try:
            tasks[int(task.name)] = (task / "comm").read_text().strip()
        except (FileNotFoundError, ProcessLookupError):  # it ended as we looked
            continue
    return tasks


class _Fds:
    """Descriptors a leak-test call made, closed exactly once each.

    Closing a number twice could close whatever reused it meanwhile (the
    engine's own descriptors, for one), so every close goes through here.
    """

    def __init__(self) -> None:
        self.open: set[int] = set()

    def pipe(self) -> tuple[int, int]:
        ends = os.pipe()
        self.open.update(ends)
        return ends

    def close(self, fd: int) -> None:
        self.open.remove(fd)
        os.close(fd)

    def close_all(self) -> None:
        for fd in sorted(self.open):
            self.close(fd)


def _one_pump_stream(index: int) -> None:
    """One pump_stream call: a plain copy, a broken downstream or an error."""
    fds = _Fds()
    try:
        source_r, source_w = fds.pipe()
        target_r, target_w = fds.pipe()
        data = bytes([index & 0xFF]) * (1 + index % 3000)
        os.write(source_w, data)
        fds.close(source_w)
        if index % 10 == 3:
            fds.close(target_r)
            assert cuprum.pump_stream(source_r, target_w) == 0
        elif index % 25 == 7:
            with pytest.raises(OSError) as caught:  # noqa: PT011 - errno checked
                cuprum.pump_stream(target_w, source_r)  # both the wrong way round
            assert caught.value.errno in {errno.EBADF, errno.EINVAL}
        else:
            assert cuprum.pump_stream(source_r, target_w) == len(data)
            fds.close(target_w)
            assert os.read(target_r, 4096) == data
    finally:
        fds.close_all()


def _one_pump_many(index: int) -> None:
    """One pump_many call of six pairs: copies, a broken one, a wrong-way one."""
    fds = _Fds()
    try:
        pairs = []
        for number in range(6):
            source_r, source_w = fds.pipe()
            target_r, target_w = fds.pipe()
            os.write(source_w, bytes([number]) * (1 + index + number))
            fds.close(source_w)
            if number == 4:
                fds.close(target_r)  # a consumer that has gone away
            # The last pair is the wrong way round: an error for it alone.
            pairs.append((target_w, source_r) if number == 5 else (source_r, target_w))
        results = cuprum.pump_many(pairs)
        assert results[:4] == [1 + index + number for number in range(4)]
        assert results[4] == 0
        assert isinstance(results[5], OSError)
    finally:
        fds.close_all()


def test_no_descriptor_or_thread_leak(stream_backend: StreamBackend) -> None:
    # One call first: the engine starts its reactor (one thread, its own
    # descriptors) lazily, once per process.
    _one_pump_stream(0)
    fds_before = _open_fds()
    tasks_before = _tasks()
    python_threads_before = threading.active_count()

    for index in range(300):
        _one_pump_stream(index)
    for index in range(50):
        _one_pump_many(index)

    fds_after = _open_fds()
    tasks_after = _tasks()
    assert fds_after - fds_before == set(), "descriptors left open"
    assert len(fds_after) <= len(fds_before)
    new_tasks = {
        tid: name for tid, name in tasks_after.items() if tid not in tasks_before
    }
    assert new_tasks == {}, "threads started and not ended"
    assert threading.active_count() <= python_threads_before
    reactors = [name for name in tasks_after.values() if name == "cuprum-reactor"]
    assert len(reactors) <= 1, f"more than one reactor thread: {tasks_after}"


STDIN_DUP_CHILD = """
import fcntl, json, os, sys, threading
if os.environ.get("CUPRUM_TEST_HIDE_NATIVE") == "1":
    sys.modules["cuprum._rust_backend_native"] = None
import cuprum

out_r, out_w = os.pipe()
source = os.dup(0)  # the inherited stdin pipe, under another number
done = []
pump = threading.Thread(target=lambda: done.append(cuprum.pump_stream(source, out_w)))
pump.start()
got = os.read(out_r, 5)  # the parent wrote "hello": the pump is running
stdin_nonblocking = bool(fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK)
print(json.dumps({"got": got.decode(), "stdin_nonblocking": stdin_nonblocking}))
sys.stdout.flush()
pump.join()  # the parent closes our stdin: EOF
print(json.dumps({"written": done[0]}))
"""


def test_a_copy_of_stdin_is_never_switched_to_nonblocking(
    stream_backend: StreamBackend,
) -> None:
    """Behaviour 2.10: the description is shared with whoever made the pipe."""
    with subprocess.Popen(
        [sys.executable, "-c", STDIN_DUP_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as child:
        assert child.stdin is not None
        assert child.stdout is not None
        child.stdin.write(b"hello")
        child.stdin.flush()
        while_running = json.loads(child.stdout.readline())
        child.stdin.close()
        at_end = json.loads(child.stdout.readline())
        assert child.wait(timeout=CHILD_GUARD_SECONDS) == 0
    assert while_running == {"got": "hello", "stdin_nonblocking": False}
    assert at_end == {"written": 5}


SETUP_FAILURE_CHILD = """
import asyncio, errno, fcntl, json, os, resource, sys
sys.modules["cuprum._rust_backend_native"] = None  # the Python backend's driver
import cuprum

src_r, src_w = os.pipe()
dst_r, dst_w = os.pipe()
highest = max(src_r, src_w, dst_r, dst_w)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

async def main():
    # asyncio.run has opened its own descriptors; now leave no room for the
    # driver's wake-up pipe.
    in_use = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 1, hard))
    try:
        await cuprum.pump_stream_async(src_r, dst_w)
    except OSError as error:
        return errno.errorcode[error.errno]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return "no error"

outcome = asyncio.run(main())
flags = [bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK) for fd in (src_r, dst_w)]
print(json.dumps({"outcome": outcome, "nonblocking": flags}))
"""


def test_awaited_setup_failure_puts_flags_back() -> None:
    """No descriptor left for the driver's wake-up pipe: EMFILE, flags restored."""
    done = subprocess.run(
        [sys.executable, "-c", SETUP_FAILURE_CHILD],
        capture_output=True,
        check=True,
        timeout=CHILD_GUARD_SECONDS,
    )
    assert json.loads(done.stdout) == {
        "outcome": "EMFILE",
        "nonblocking": [False, False],
    }


STUCK_CHILD = """
from cuprum._pumps import rust_backend as _streams_rs

def on_int(signum, frame):
    os.write(2, b"int\\n")
    raise KeyboardInterrupt

signal.signal(signal.SIGINT, on_int)
source_r, source_w = os.pipe()  # source_w stays open: the pump never ends
# fd 1 (the parent's pipe) is a standard stream: the blocking path serves
# it. Its pair hangs after its first step, as a write to a stopped terminal
# does; the pump itself delivers the line the parent waits for.
_streams_rs.hang_next_blocking_pairs(1, 2)  # says "hung" on stderr as it stops
os.write(source_w, b"pumping\\n")
try:
    cuprum.pump_stream(source_r, 1)
except KeyboardInterrupt as error:
    chained = isinstance(error.__cause__, KeyboardInterrupt)
    os.write(2, json.dumps({"interrupted": True, "chained": chained}).encode())
    _streams_rs.release_hung_pairs()
    os._exit(0)
os._exit(1)
"""


def _read_line(fd: int, guard: float) -> bytes:
    """One line from ``fd`` (which must come within ``guard`` seconds)."""
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], guard)
        assert ready, f"no line within {guard} s (got {line!r})"
        chunk = os.read(fd, 1)
        assert chunk, f"EOF before a whole line (got {line!r})"
        line += chunk
    return line


def test_a_second_ctrl_c_ends_the_wait_for_a_stuck_pair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C twice leaves a pair stuck on the blocking path (behaviour 2.7).

    The first Ctrl-C cancels the pair and waits for the engine to let go,
    which a pair stuck in a write (a stopped terminal) never does; a second
    Ctrl-C ends the wait at once, its cause the first. The stuck write is
    the engine's test-only fault switch (``fault-injection`` feature).
    """
    use_backend(monkeypatch, StreamBackend.RUST)
    from cuprum._pumps import rust_backend as _streams_rs  # noqa: PLC0415 - only with the engine

    require_fault_injection(_streams_rs.hang_next_blocking_pairs)
    child = _start_child(STUCK_CHILD)
    with child:
        try:
            assert child.stdout is not None
            assert child.stderr is not None
            out, err = child.stdout.fileno(), child.stderr.fileno()
            assert _read_line(out, CHILD_GUARD_SECONDS) == b"pumping\n"
            # Only once the pair is stuck: a Ctrl-C before that would find
            # it still able to see its cancel, and nothing to wait for.
            assert _read_line(err, CHILD_GUARD_SECONDS) == b"hung\n"
            os.kill(child.pid, signal.SIGINT)
            assert _read_line(err, CHILD_GUARD_SECONDS) == b"int\n"
            # Only once the first KeyboardInterrupt has left its handler and
            # the batch is cancelled: a Ctrl-C still inside the handler would
            # run a nested handler there, and its exception would be the
            # first one, not a second.
            assert _read_line(err, CHILD_GUARD_SECONDS) == b"cancelled\n"
            os.kill(child.pid, signal.SIGINT)
            assert _read_line(err, INTERRUPT_GUARD_SECONDS) == b"int\n", (
                "the second Ctrl-C was not even handled: the wait ignores signals"
            )
            try:
                code = child.wait(timeout=INTERRUPT_GUARD_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                pytest.fail(
                    "still running after a second Ctrl-C; stderr: "
                    + child.stderr.read().decode(errors="replace")
                )
            verdict = json.loads(child.stderr.read())
        finally:
            if child.poll() is None:
                child.kill()
    assert (code, verdict) == (0, {"interrupted": True, "chained": True})
