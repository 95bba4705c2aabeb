"""Reading a pipeline's output as it comes (behaviour 9.9)."""

from __future__ import annotations

import asyncio
import json
import select
import signal
import subprocess
import sys
import threading
import time
import typing as typ

import pytest
from processes import assert_reaped, children, open_fds, wait_in_epoll

from cuprum import (
    CAT,
    ECHO,
    HEAD,
    SEQ,
    SLEEP,
    YES,
    PipelineError,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    RunOutputOptions,
    TimeoutExpired,
    sh,
)
from cuprum._run.output import CHUNK, LINE_LIMIT

if typ.TYPE_CHECKING:
    from pathlib import Path

    from cuprum import PipelineResult, StreamBackend

PYTHON = Program(sys.executable)
python = sh.make(PYTHON, ProgramCatalogue(projects=[ProjectSettings("t", (PYTHON,))]))
cat, yes, seq = sh.make(CAT), sh.make(YES), sh.make(SEQ)
MISSING_CATALOGUE = ProgramCatalogue(
    projects=[ProjectSettings("t", (Program("cuprum-test-no-such-program"),))]
)
PROMPT = 10.0
"""Seconds within which an early exit or a timeout must end the run."""


@pytest.fixture(autouse=True)
def _warm(stream_backend: StreamBackend) -> None:
    """Let the backend make what it keeps for good before fds are compared."""
    (sh.make(ECHO)("warm") | cat()).run_sync()


def all_reaped(result: PipelineResult) -> None:
    assert_reaped(stage.pid for stage in result.stages)
    assert not children()


def test_chunks_come_as_the_output_does(stream_backend: StreamBackend) -> None:
    async def scenario() -> tuple[bytes, PipelineResult]:
        chunks = []
        async with (seq("1", "100000") | cat()).stream() as out:
            async for chunk in out:
                assert isinstance(chunk, bytes)
                assert len(chunk) <= CHUNK
                chunks.append(chunk)
        return b"".join(chunks), out.result

    data, result = asyncio.run(scenario())
    assert data == "".join(f"{n}\n" for n in range(1, 100_001)).encode()
    assert result.ok
    assert result.stdout is None
    assert result.hop_bytes == (len(data),)
    all_reaped(result)


def test_lines_keep_their_newline_and_the_last_comes_as_it_is(
    stream_backend: StreamBackend,
) -> None:
    script = "import sys; sys.stdout.write('one\\ntwo\\r\\n\\nlast')"
    with python("-c", script).stream_sync() as out:
        lines = list(out.lines())
    assert lines == ["one\n", "two\r\n", "\n", "last"]
    assert out.result.ok


def test_lines_are_decoded_per_the_output_options(
    stream_backend: StreamBackend,
) -> None:
    script = "import sys; sys.stdout.buffer.write(b'caf\\xe9\\n\\xff\\n')"
    latin = RunOutputOptions(encoding="latin-1")
    with python("-c", script).stream_sync(output=latin) as out:
        assert list(out.lines()) == ["café\n", "ÿ\n"]
    with python("-c", script).stream_sync() as out:
        assert list(out.lines()) == ["caf\ufffd\n", "\ufffd\n"]


def test_a_very_long_line_comes_in_pieces(stream_backend: StreamBackend) -> None:
    size = 2 * LINE_LIMIT + 10
    script = f"import sys; sys.stdout.write('x' * {size} + '\\nend')"
    with python("-c", script).stream_sync() as out:
        lengths = [len(line) for line in out.lines()]
    assert lengths == [LINE_LIMIT, LINE_LIMIT, 11, 3]


def test_lines_continue_where_the_last_iteration_stopped(
    stream_backend: StreamBackend,
) -> None:
    numbers = [f"{n}\n" for n in range(1, 20001)]  # several chunks
    with (seq("1", "20000") | cat()).stream_sync() as out:
        assert next(out.lines()) == "1\n"  # the generator is dropped
        for line in out.lines():
            if line == "10\n":
                break
        rest = list(out.lines())
    assert [*numbers[:10], *rest] == numbers
    assert out.result.ok
    assert all(not stage.terminated for stage in out.result.stages)


def test_lines_and_chunks_mix_without_losing_a_byte(
    stream_backend: StreamBackend,
) -> None:
    expected = "".join(f"{n}\n" for n in range(1, 20001)).encode()
    with seq("1", "20000").stream_sync(text=False) as out:
        read = bytearray()
        for line in out.lines():
            read += line.encode()
            if len(read) > 100:
                break
        read += next(iter(out))  # what lines() held comes first
        for line in out.lines():
            read += line.encode()
            if len(read) > CHUNK * 2:
                break
        read += b"".join(out)
    assert bytes(read) == expected
    assert out.result.ok


def test_async_lines_continue_where_the_last_iteration_stopped(
    stream_backend: StreamBackend,
) -> None:
    async def scenario() -> list[str]:
        async with seq("1", "5").stream() as out:
            async for line in out.lines():
                first = line
                break
            return [first] + [line async for line in out.lines()]

    assert asyncio.run(scenario()) == ["1\n", "2\n", "3\n", "4\n", "5\n"]


def test_lines_of_a_wide_encoding_refuse_a_chunk_while_they_hold_text(
    stream_backend: StreamBackend,
) -> None:
    script = "import sys; sys.stdout.buffer.write('a\\nb\\nc'.encode('utf-16'))"
    wide = RunOutputOptions(encoding="utf-16")
    with python("-c", script).stream_sync(output=wide) as out:
        assert next(out.lines()) == "a\n"
        with pytest.raises(RuntimeError, match="read them to the end"):
            next(iter(out))
        assert list(out.lines()) == ["b\n", "c"]


def test_stderr_is_still_captured(stream_backend: StreamBackend) -> None:
    talk = "import sys; sys.stderr.write('noted'); print('out')"
    with (python("-c", talk) | cat()).stream_sync(text=False) as out:
        assert b"".join(out) == b"out\n"
    assert out.result.stages[0].stderr == b"noted"


def test_a_slow_reader_makes_the_stages_wait(stream_backend: StreamBackend) -> None:
    """Nothing is read ahead: the producer blocks once the pipes are full."""
    producer = sh.make(HEAD)("-c", str(256 << 20), "/dev/zero")
    with (producer | cat()).stream_sync() as out:
        first = next(iter(out))
        time.sleep(0.5)  # 256 MiB would pass in far less if cuprum read ahead
    assert len(first) <= CHUNK
    result = out.result
    assert result.ok, result  # leaving early is not a failure
    assert all(stage.terminated for stage in result.stages)
    assert result.hop_bytes[0] < 16 << 20  # pipe buffers, not the output
    all_reaped(result)


def test_leaving_early_ends_an_endless_pipeline(stream_backend: StreamBackend) -> None:
    before = open_fds()
    started = time.monotonic()
    with (yes() | cat() | cat()).stream_sync() as out:
        for index, line in enumerate(out.lines()):
            assert line == "y\n"
            if index == 1000:
                break
    assert time.monotonic() - started < PROMPT
    result = out.result
    assert result.ok, result
    assert result.failure_index is None
    for stage in result.stages:
        assert stage.terminated or stage.exit_code == -signal.SIGPIPE
    all_reaped(result)
    assert open_fds() == before


def test_an_exception_in_the_block_propagates_after_the_clean_up(
    stream_backend: StreamBackend,
) -> None:
    class StopReadingError(Exception):
        pass

    def read_one(out: typ.Iterable[bytes]) -> None:
        for _chunk in out:
            raise StopReadingError

    with (
        pytest.raises(StopReadingError),
        (yes() | cat()).stream_sync(check=True) as out,
    ):
        read_one(out)
    assert out.result.ok
    all_reaped(out.result)


def test_a_timeout_is_raised_from_the_iteration_in_progress(
    stream_backend: StreamBackend,
) -> None:
    talker = "import time; print('first', flush=True); time.sleep(30)"
    started = time.monotonic()
    received = []
    with (
        pytest.raises(TimeoutExpired) as caught,
        python("-c", talker).stream_sync(timeout=0.5) as out,
    ):
        received.extend(out.lines())
    assert time.monotonic() - started < PROMPT
    assert received == ["first\n"]
    assert caught.value.result.stages[0].terminated
    assert out.result == caught.value.result
    all_reaped(out.result)


def test_a_timeout_passing_outside_an_iteration_is_raised_at_exit(
    stream_backend: StreamBackend,
) -> None:
    stream = sh.make(SLEEP)("30").stream_sync(timeout=0.3)
    with pytest.raises(TimeoutExpired), stream:
        time.sleep(0.5)
    assert stream.result.stages[0].terminated
    all_reaped(stream.result)


def test_an_awaited_stream_times_out_while_the_block_waits(
    stream_backend: StreamBackend,
) -> None:
    async def scenario() -> PipelineResult:
        started = time.monotonic()
        stream = sh.make(SLEEP)("30").stream(timeout=0.3)
        with pytest.raises(TimeoutExpired):
            async with stream:
                await asyncio.sleep(0.6)  # the stage is ended meanwhile
        assert time.monotonic() - started < PROMPT
        return stream.result

    result = asyncio.run(scenario())
    assert result.stages[0].terminated
    all_reaped(result)


def test_check_raises_at_the_blocks_exit(stream_backend: StreamBackend) -> None:
    fails = "import sys; print('partial'); sys.exit(3)"
    lines = []
    with (
        pytest.raises(PipelineError) as caught,
        python("-c", fails).stream_sync(check=True) as out,
    ):
        lines.extend(out.lines())
    assert lines == ["partial\n"]
    assert caught.value.returncode == 3
    assert caught.value.output is None  # the stream was the output
    assert out.result.failure_index == 0


def test_a_stage_failing_on_its_own_is_reported(stream_backend: StreamBackend) -> None:
    fails = python("-c", "import sys; sys.stdin.read(10); sys.exit(4)")
    with (yes() | fails).stream_sync() as out:
        assert list(out) == []
    assert out.result.failure_index == 1
    assert out.result.stages[1].exit_code == 4


def test_cancelling_the_reader_ends_the_run(stream_backend: StreamBackend) -> None:
    async def scenario() -> PipelineResult:
        stream = (yes() | cat()).stream()

        async def read() -> None:
            async with stream as out:
                async for _chunk in out:
                    await asyncio.sleep(0.001)

        task = asyncio.create_task(read())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return stream.result

    result = asyncio.run(scenario())
    assert result.ok
    all_reaped(result)


def test_stream_sync_starts_no_thread(stream_backend: StreamBackend) -> None:
    # By identity: a thread an earlier test left may end meanwhile.
    before = {thread.ident for thread in threading.enumerate()}
    with seq("1", "200000").stream_sync() as out:
        seen = [
            {thread.ident for thread in threading.enumerate()} - before
            for _chunk in out
        ]
    assert seen
    assert not any(seen)  # no thread started during the stream
    assert out.result.ok


def test_stream_sync_refuses_a_running_loop(stream_backend: StreamBackend) -> None:
    async def inside() -> None:
        with seq("1").stream_sync():
            pass

    with pytest.raises(RuntimeError, match="running event loop"):
        asyncio.run(inside())
    assert not children()


def test_misuse_is_refused(stream_backend: StreamBackend) -> None:
    with pytest.raises(TypeError, match="stdout"):
        seq("1").stream(stdout=None)  # type: ignore[call-arg]
    stream = seq("1").stream_sync()
    with pytest.raises(RuntimeError, match="known once"):
        _ = stream.result
    with pytest.raises(RuntimeError, match="inside its block"):
        next(iter(stream))
    with stream as out:
        assert list(out) == [b"1\n"]
    with pytest.raises(RuntimeError, match="runs once"), stream:
        pass


def test_a_stream_reads_its_input_from_a_file(
    stream_backend: StreamBackend, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    source.write_text("alpha\nbeta\n")
    with (cat() | cat()).stream_sync(stdin=source, stderr=tmp_path / "log") as out:
        assert list(out.lines()) == ["alpha\n", "beta\n"]
    assert out.result.stages[0].stderr is None


CTRL_C_CHILD = """
import json, os, signal, sys, time
import cuprum
from cuprum import CAT, sh

signal.signal(signal.SIGINT, signal.default_int_handler)
python = cuprum.Program(sys.executable)
catalogue = cuprum.DEFAULT_CATALOGUE.extended(programs=[python])
talker = "import time; print('first', flush=True); time.sleep(30)"
stream = (sh.make(python, catalogue)("-c", talker) | sh.make(CAT)()).stream_sync()
try:
    with stream as out:
        for line in out.lines():
            print("streaming", flush=True)  # the parent sends Ctrl-C now
except KeyboardInterrupt:
    result = stream.result
    me = str(os.getpid())
    def parent_of(pid):
        try:  # a process may end between the listing and the read
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[1]
        except OSError:
            return None
    left = [
        entry for entry in os.listdir("/proc")
        if entry.isdigit() and parent_of(entry) == me
    ]
    print(json.dumps({
        "interrupted": True,
        "ok": result.ok,
        "terminated": [stage.terminated for stage in result.stages],
        "children": len(left),
    }), flush=True)
    sys.exit(0)
print(json.dumps({"interrupted": False}), flush=True)
"""


def test_ctrl_c_while_streaming_cleans_up(stream_backend: StreamBackend) -> None:
    """Ctrl-C in a stream_sync block: the step is cancelled, the exit reaps."""
    child = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    with child:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], PROMPT)
        assert ready, "the child never started streaming"
        assert child.stdout.readline() == b"streaming\n"
        wait_in_epoll(child.pid)  # the child waits in the stream's next step
        child.send_signal(signal.SIGINT)
        try:
            out, err = child.communicate(timeout=PROMPT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            pytest.fail("still running after Ctrl-C")
    lines = out.decode().splitlines()
    assert lines, f"no verdict; stderr: {err.decode(errors='replace')}"
    verdict = json.loads(lines[-1])
    assert verdict == {
        "interrupted": True,
        "ok": True,
        "terminated": [True, True],
        "children": 0,
    }, err.decode(errors="replace")


def test_a_stream_whose_program_is_missing_starts_nothing(
    stream_backend: StreamBackend,
) -> None:
    missing = sh.make(Program("cuprum-test-no-such-program"), MISSING_CATALOGUE)()
    stream = (seq("1") | missing).stream_sync()
    with pytest.raises(FileNotFoundError, match="cuprum-test-no-such-program"):
        stream.__enter__()
    assert list(stream) == []
    assert list(stream.lines()) == []
    assert not children()
