"""Where the first stage reads and the stages write (behaviour 9.2 to 9.5)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import signal
import subprocess
import sys
import typing as typ
from pipes import payload

import pytest
from processes import children, open_fds

from cuprum import (
    CAT,
    ECHO,
    GZIP,
    HEAD,
    SHA256SUM,
    SLEEP,
    YES,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    TimeoutExpired,
    sh,
)

if typ.TYPE_CHECKING:
    import collections.abc as cabc
    from pathlib import Path

    from cuprum import StreamBackend

PYTHON = Program(sys.executable)
python = sh.make(PYTHON, ProgramCatalogue(projects=[ProjectSettings("t", (PYTHON,))]))
cat, gzip_, sha256sum = sh.make(CAT), sh.make(GZIP), sh.make(SHA256SUM)
TALK = (
    "import sys; sys.stderr.write(sys.argv[1] + ' on stderr\\n'); sys.stderr.flush(); "
    "sys.stdout.write(sys.stdin.read() + sys.argv[1] + ' on stdout\\n')"
)


def talk(name: str) -> typ.Any:
    return python("-c", TALK, name)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "payload.bin"
    path.write_bytes(payload(2 << 20))
    return path


@pytest.fixture
def umask() -> cabc.Iterator[int]:
    before = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(before)


@pytest.fixture(autouse=True)
def _warm(stream_backend: StreamBackend) -> None:
    """Let the backend make what it keeps for good before fds are compared."""
    (sh.make(ECHO)("warm") | cat()).run_sync()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- stdin= -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["str", "Path"])
def test_stdin_from_a_path(
    stream_backend: StreamBackend, data: Path, kind: str
) -> None:
    before = open_fds()
    source = str(data) if kind == "str" else data
    result = (cat() | sha256sum()).run_sync(stdin=source)
    assert result.ok, result
    assert result.stdout == f"{digest(data)}  -\n"
    assert open_fds() == before  # the path cuprum opened is closed


def test_stdin_from_a_file_object_or_a_descriptor_is_not_closed(
    stream_backend: StreamBackend, data: Path
) -> None:
    with data.open("rb") as source:
        result = sha256sum().run_sync(stdin=source)
        assert not source.closed
        assert result.stdout == f"{digest(data)}  -\n"
    fd = os.open(data, os.O_RDONLY)
    try:
        assert (cat() | sha256sum()).run_sync(stdin=fd).stdout == f"{digest(data)}  -\n"
        os.fstat(fd)  # still open
    finally:
        os.close(fd)


def test_stdin_devnull(stream_backend: StreamBackend) -> None:
    assert cat().run_sync(stdin=subprocess.DEVNULL).stdout == ""


def test_a_missing_stdin_path_is_named_before_anything_runs(
    stream_backend: StreamBackend, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-input"
    target = tmp_path / "out"
    before = open_fds()
    with pytest.raises(FileNotFoundError, match="no-such-input"):
        (cat() | cat()).run_sync(stdin=missing, stdout=target)
    assert not children()
    assert not target.exists()
    assert open_fds() == before


def test_stdin_with_input_is_refused(stream_backend: StreamBackend) -> None:
    with pytest.raises(ValueError, match=r"stdin=.*input="):
        cat().run_sync(stdin=subprocess.DEVNULL, input=b"x")
    assert not children()


# -- stdout= ----------------------------------------------------------------


def test_stdout_to_a_path(
    stream_backend: StreamBackend, data: Path, tmp_path: Path, umask: int
) -> None:
    target = tmp_path / "out.gz"
    target.write_bytes(b"old content, longer than nothing" * 100_000)
    before = open_fds()
    result = (cat(str(data)) | gzip_("-c", "-1")).run_sync(stdout=target)
    assert result.ok, result
    assert result.stdout is None
    assert gzip.decompress(target.read_bytes()) == data.read_bytes()  # truncated
    assert open_fds() == before
    fresh = tmp_path / "fresh"
    sh.make(ECHO)("made").run_sync(stdout=str(fresh))
    assert fresh.read_text() == "made\n"
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask


def test_stdout_to_a_file_object_opened_for_append(
    stream_backend: StreamBackend, tmp_path: Path
) -> None:
    target = tmp_path / "log"
    target.write_bytes(b"before\n")
    with target.open("ab") as log:
        log.write(b"from python, still in its buffer\n")
        result = (sh.make(ECHO)("from a stage") | cat()).run_sync(stdout=log)
        assert not log.closed
        log.write(b"after\n")
    assert result.stdout is None
    assert target.read_bytes() == (
        b"before\nfrom python, still in its buffer\nfrom a stage\nafter\n"
    )


def test_stdout_to_a_descriptor_is_not_closed(stream_backend: StreamBackend) -> None:
    read, write = os.pipe()
    try:
        result = (sh.make(ECHO)("through a pipe") | cat()).run_sync(stdout=write)
        os.close(write)
        write = -1
        assert os.read(read, 100) == b"through a pipe\n"
        assert result.stdout is None
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)


def test_stdout_devnull(stream_backend: StreamBackend) -> None:
    result = (sh.make(YES)() | sh.make(HEAD)("-c", "1000000")).run_sync(
        stdout=subprocess.DEVNULL
    )
    assert result.ok
    assert result.stdout is None


# -- stderr= ----------------------------------------------------------------


def test_stderr_stdout_joins_each_stages_own_stdout(
    stream_backend: StreamBackend,
) -> None:
    result = (talk("one") | talk("two")).run_sync(stderr=subprocess.STDOUT)
    assert result.ok, result
    # Stage 0's stderr went into the hop, so stage 1 read it as input.
    assert result.stdout == (
        "two on stderr\none on stderr\none on stdout\ntwo on stdout\n"
    )
    assert [stage.stderr for stage in result.stages] == [None, None]


def test_stderr_to_a_path_is_shared_and_appended(
    stream_backend: StreamBackend, tmp_path: Path
) -> None:
    log = tmp_path / "errors.log"
    log.write_text("earlier run\n")
    before = open_fds()
    result = (talk("one") | talk("two")).run_sync(stderr=log)
    assert result.ok, result
    assert result.stdout == "one on stdout\ntwo on stdout\n"
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier run"
    assert sorted(lines[1:]) == ["one on stderr", "two on stderr"]
    assert [stage.stderr for stage in result.stages] == [None, None]
    assert open_fds() == before


def test_stderr_to_a_file_object_is_shared_and_not_closed(
    stream_backend: StreamBackend, tmp_path: Path
) -> None:
    path = tmp_path / "errors.log"
    with path.open("wb") as log:
        (talk("one") | talk("two")).run_sync(stderr=log)
        assert not log.closed
    assert sorted(path.read_text().splitlines()) == ["one on stderr", "two on stderr"]


def test_stderr_devnull(stream_backend: StreamBackend) -> None:
    result = talk("one").run_sync(stderr=subprocess.DEVNULL)
    assert result.stderr is None
    assert result.stdout == "one on stdout\n"


# -- what is refused, ownership, combinations ----------------------------------

BAD: list[tuple[str, object, type[Exception], str]] = [
    ("stdout", 1.5, TypeError, "stdout="),
    ("stdin", True, TypeError, "bool"),
    ("stderr", object(), TypeError, "file object"),
    ("stdout", subprocess.PIPE, ValueError, "PIPE"),
    ("stdout", subprocess.STDOUT, ValueError, "not a descriptor"),
    ("stdin", -7, ValueError, "not a descriptor"),
    ("stdout", io.BytesIO(), ValueError, "without a descriptor"),
    ("stdout", "bad\0path", ValueError, "NUL"),
]


@pytest.mark.parametrize(("name", "value", "error", "message"), BAD)
def test_a_bad_redirection_is_refused_before_anything_runs(
    stream_backend: StreamBackend,
    name: str,
    value: object,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        (sh.make(ECHO)("x") | cat()).run_sync(**{name: value})
    assert not children()


def test_a_descriptor_must_be_open_the_right_way(
    stream_backend: StreamBackend, data: Path
) -> None:
    closed = 999
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(closed)
    with pytest.raises(OSError, match="is not open") as caught:
        cat().run_sync(stdin=closed)
    assert caught.value.errno == 9  # EBADF
    fd = os.open(data, os.O_RDONLY)
    try:
        with pytest.raises(OSError, match="not open for writing"):
            cat().run_sync(stdout=fd)
        with pytest.raises(OSError, match="not open for writing"):
            cat().run_sync(stderr=fd)
    finally:
        os.close(fd)
    assert not children()


def test_what_cuprum_opened_is_closed_whatever_fails(
    stream_backend: StreamBackend, data: Path, tmp_path: Path
) -> None:
    before = open_fds()
    with pytest.raises(FileNotFoundError):
        cat().run_sync(stdin=data, stdout=tmp_path / "no" / "such" / "dir")
    with pytest.raises(IsADirectoryError):
        cat().run_sync(stdin=data, stderr=tmp_path, stdout=tmp_path / "x")
    assert open_fds() == before
    assert not children()


def test_the_sigpipe_rule_holds_with_files(
    stream_backend: StreamBackend, tmp_path: Path
) -> None:
    out, log = tmp_path / "out", tmp_path / "log"
    result = (sh.make(YES)() | sh.make(HEAD)("-n", "1")).run_sync(
        stdout=out, stderr=log, timeout=30
    )
    assert result.ok
    assert result.exit_codes == (-signal.SIGPIPE, 0)
    assert out.read_text() == "y\n"


def test_a_timeout_with_files_closes_them(
    stream_backend: StreamBackend, data: Path, tmp_path: Path
) -> None:
    before = open_fds()
    with pytest.raises(TimeoutExpired) as caught:
        (cat() | sh.make(SLEEP)("30")).run_sync(
            stdin=data, stdout=tmp_path / "out", stderr=tmp_path / "log", timeout=0.5
        )
    assert caught.value.result.stages[1].terminated
    assert caught.value.output is None
    del caught  # its traceback holds the run's loop, and the engine's doorbell
    assert open_fds() == before
    assert not children()


def test_a_command_takes_them_too(
    stream_backend: StreamBackend, tmp_path: Path
) -> None:
    source, target = tmp_path / "in", tmp_path / "out"
    source.write_bytes(b"round trip\n")
    result = cat().run_sync(stdin=source, stdout=target, stderr=subprocess.STDOUT)
    assert (result.stdout, result.stderr) == (None, None)
    assert target.read_bytes() == b"round trip\n"
