"""What a run gives back: bytes mode (behaviour 9.1) and ``check=True`` (9.8)."""

from __future__ import annotations

import gzip
import io
import pickle
import signal
import subprocess
import sys
import typing as typ
from pipes import payload

import pytest
from processes import assert_reaped

from cuprum import (
    CAT,
    FALSE,
    GZIP,
    HEAD,
    PRINTF,
    YES,
    PipelineError,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    RunOutputOptions,
    TimeoutExpired,
    sh,
)

if typ.TYPE_CHECKING:
    from pathlib import Path

    from cuprum import StreamBackend

PYTHON = Program(sys.executable)
python = sh.make(PYTHON, ProgramCatalogue(projects=[ProjectSettings("t", (PYTHON,))]))
cat, gzip_ = sh.make(CAT), sh.make(GZIP)
NOT_UTF8 = b"\xff\xfe caf\xe9 \x00\x80\n"
WRITE_BOTH = (
    "import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1])); "
    "sys.stderr.buffer.write(bytes.fromhex(sys.argv[1]))"
)


def test_text_false_gives_the_bytes_a_program_wrote(
    stream_backend: StreamBackend, tmp_path: Path
) -> None:
    data = payload(3 << 20)
    source = tmp_path / "data"
    source.write_bytes(data)
    result = (cat(str(source)) | gzip_("-c")).run_sync(text=False)
    assert result.ok
    assert isinstance(result.stdout, bytes)
    assert gzip.decompress(result.stdout) == data


def test_output_options_text_false_is_the_same(stream_backend: StreamBackend) -> None:
    result = (python("-c", WRITE_BOTH, NOT_UTF8.hex()) | cat()).run_sync(
        output=RunOutputOptions(text=False)
    )
    assert result.stdout == NOT_UTF8
    assert result.stages[0].stderr == NOT_UTF8
    assert result.stages[1].stderr == b""


def test_a_command_gives_bytes_too(stream_backend: StreamBackend) -> None:
    result = python("-c", WRITE_BOTH, NOT_UTF8.hex()).run_sync(text=False)
    assert (result.stdout, result.stderr) == (NOT_UTF8, NOT_UTF8)


def test_the_shorthand_overrides_the_options(stream_backend: StreamBackend) -> None:
    printf = sh.make(PRINTF)("ok")
    assert printf.run_sync(output=RunOutputOptions(text=False), text=True).stdout == (
        "ok"
    )
    assert printf.run_sync(text=False, capture=False).stdout is None


def test_text_is_still_the_default(stream_backend: StreamBackend) -> None:
    result = python("-c", WRITE_BOTH, NOT_UTF8.hex()).run_sync()
    assert result.stdout == NOT_UTF8.decode("utf-8", "replace")


def test_echo_copies_the_raw_bytes(
    stream_backend: StreamBackend, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    result = (python("-c", WRITE_BOTH, NOT_UTF8.hex()) | cat()).run_sync(
        text=False, echo=True
    )
    assert result.stdout == NOT_UTF8
    assert capsysbinary.readouterr() == (NOT_UTF8, NOT_UTF8)


def test_echo_to_a_stream_without_a_buffer_writes_text(
    stream_backend: StreamBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = io.StringIO()
    monkeypatch.setattr(sys, "stdout", sink)
    sh.make(PRINTF)(r"caf\303\251").run_sync(text=False, echo=True)
    assert sink.getvalue() == "café"


def test_a_timeout_carries_bytes(stream_backend: StreamBackend) -> None:
    talker = (
        "import sys, time; sys.stdout.buffer.write(b'\\xff'); sys.stdout.flush(); "
        "sys.stderr.buffer.write(b'\\xfe'); sys.stderr.flush(); time.sleep(30)"
    )
    with pytest.raises(TimeoutExpired) as caught:
        (python("-c", talker) | cat()).run_sync(text=False, timeout=1)
    assert caught.value.output == b"\xff"
    assert caught.value.stderr == b"\xfe"


FAIL_LOUDLY = (
    "import sys; print('out of stage 1'); sys.stderr.write('why it failed'); "
    "sys.exit(3)"
)


def test_check_raises_a_called_process_error_after_the_clean_up(
    stream_backend: StreamBackend,
) -> None:
    pipeline = sh.make(YES)() | python("-c", FAIL_LOUDLY) | cat()
    with pytest.raises(PipelineError) as caught:
        pipeline.run_sync(check=True, timeout=30)
    error = caught.value
    assert isinstance(error, subprocess.CalledProcessError)
    assert error.returncode == 3
    assert error.cmd == [sys.executable, "-c", FAIL_LOUDLY]
    assert error.output == error.stdout == "out of stage 1\n"
    assert error.stderr == "why it failed"
    assert error.failure_index == 1
    assert error.result.failure_index == 1
    assert len(error.result.stages) == 3
    assert_reaped(stage.pid for stage in error.result.stages)
    assert str(error) == (
        f"stage 1 ({sys.executable + ' -c ' + FAIL_LOUDLY!r}) of "
        f"{'yes | ' + sys.executable + ' -c ' + FAIL_LOUDLY + ' | cat'!r} "
        "exited with status 3"
    )


def test_check_on_a_command(stream_backend: StreamBackend) -> None:
    with pytest.raises(PipelineError) as caught:
        sh.make(FALSE)().run_sync(check=True)
    assert (caught.value.returncode, caught.value.cmd) == (1, ["false"])
    assert str(caught.value) == "'false' exited with status 1"
    assert caught.value.stderr == ""


def test_check_names_a_death_by_signal(stream_backend: StreamBackend) -> None:
    suicide = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    with pytest.raises(PipelineError) as caught:
        python("-c", suicide).run_sync(check=True, text=False)
    assert caught.value.returncode == -signal.SIGKILL
    assert str(caught.value).endswith("died of SIGKILL")
    assert (caught.value.output, caught.value.stderr) == (b"", b"")


def test_check_passes_a_successful_run_through(stream_backend: StreamBackend) -> None:
    result = (sh.make(YES)() | sh.make(HEAD)("-n", "1")).run_sync(check=True)
    assert result.ok  # the SIGPIPE of yes is not a failure
    assert result.stdout == "y\n"


def test_without_check_a_failure_is_reported(stream_backend: StreamBackend) -> None:
    result = sh.make(FALSE)().run_sync()
    assert not result.ok


def test_a_pipeline_error_pickles(stream_backend: StreamBackend) -> None:
    with pytest.raises(PipelineError) as caught:
        (sh.make(PRINTF)("x") | sh.make(FALSE)()).run_sync(check=True)
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own bytes
    assert (copy.returncode, copy.cmd, copy.output) == (1, ["false"], "")
    assert copy.result == caught.value.result
    assert str(copy) == str(caught.value)
