"""A stage can use the caller's terminal (behaviour section 11 rule 4).

A caller is started as the leader of a new session whose controlling
terminal is a pseudo-terminal the test holds (so the caller is in the
terminal's foreground, as a program run from a shell is). Its stages read
what is typed there, through their stdin or ``/dev/tty``, and set the
terminal's modes as a password prompt does, without being stopped by
``SIGTTIN``/``SIGTTOU``; the terminal's Ctrl-C reaches the caller and the
stages; a timeout still ends every process a stage started.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time

import pytest
from processes import ends_within

CALLER = """
import fcntl, signal, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty becomes our controlling terminal
# As an interactive shell starts a program: Ctrl-C not ignored (a test run
# started in the background by a script inherits it ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)
from cuprum import CAT, Program, ProgramCatalogue, ProjectSettings, TimeoutExpired, sh
SH = Program("sh")
shell = sh.make(SH, catalogue=ProgramCatalogue(
    projects=[ProjectSettings(name="test", programs=(SH,))]
))
case = sys.argv[1]
if case == "stdin":
    result = sh.make(CAT)().run_sync(stdin=0, timeout=10)
    print("got", repr(result.stdout), flush=True)
elif case == "tty":
    script = (
        "stty -echo < /dev/tty; read x < /dev/tty; stty echo < /dev/tty; "
        "echo got $x"
    )
    result = shell("-c", script).run_sync(timeout=10)
    print(result.stdout.strip(), result.exit_code, flush=True)
elif case == "ctrl-c":
    try:  # the stage says it is ready: the run, and this try, are under way
        shell("-c", "echo ready > /dev/tty; read x < /dev/tty").run_sync(timeout=10)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
elif case == "timeout":
    try:
        shell("-c", "sleep 30 & echo $!; wait").run_sync(timeout=0.5)
    except TimeoutExpired as error:
        print("timed out", error.result.stages[0].stdout.strip(), flush=True)
"""

DEADLINE = 10.0


def _run_at_terminal(case: str, typed: bytes = b"", *, after: str = "") -> str:
    """Run the caller on a new pty; type ``typed`` (after ``after`` shows)."""
    master, slave = os.openpty()
    try:
        caller = subprocess.Popen(
            [sys.executable, "-c", CALLER, case],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
    finally:
        os.close(slave)
    seen = b""
    try:
        if after:
            seen = _read_until(master, after.encode())
        if typed:
            os.write(master, typed)
        seen += _read_until(master, None)
    finally:
        caller.kill()
        caller.wait()
        os.close(master)
    return seen.decode(errors="replace")


def _read_until(master: int, marker: bytes | None) -> bytes:
    """Read the terminal until ``marker`` shows (``None``: until it closes)."""
    seen = b""
    deadline = time.monotonic() + DEADLINE
    while marker is None or marker not in seen:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([master], [], [], max(left, 0))
        if not ready:
            pytest.fail(f"the terminal showed {seen!r}, not {marker!r}")
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every process of the terminal closed it
            data = b""
        if not data:
            return seen
        seen += data
    return seen


def test_a_stage_reads_the_terminal_as_its_stdin() -> None:
    shown = _run_at_terminal("stdin", b"typed here\n\x04")
    assert "got 'typed here\\n'" in shown


def test_a_stage_prompts_on_dev_tty_and_sets_its_modes() -> None:
    shown = _run_at_terminal("tty", b"secret\n")
    assert "got secret 0" in shown


def test_ctrl_c_at_the_terminal_reaches_the_caller_and_its_stages() -> None:
    shown = _run_at_terminal("ctrl-c", b"\x03", after="ready")
    assert "interrupted" in shown


def test_a_timeout_ends_what_a_stage_started_at_a_terminal() -> None:
    shown = _run_at_terminal("timeout")
    words = shown.split("timed out", 1)[1].split()
    background = int(words[0])
    assert not _alive(background)


def _alive(pid: int) -> bool:
    return not ends_within(pid, 1.0)
