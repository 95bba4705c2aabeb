"""What a run gives back: bytes mode (contract 9.1) and ``check=True`` (9.8)."""

from __future__ import annotations

import gzip
import io
import sys
import typing as typ
from pipes import payload

import pytest

from cuprum import (
    CAT,
    GZIP,
    PRINTF,
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
