"""Child processes of a pipeline: spawn a stage, see its exit, no thread.

Owns the life of one stage's process from ``fork``/``exec`` to its reaping,
and what a spawn needs first: the program found on the stage's ``PATH``
(`resolve`), its working directory checked (`check_directory`) and its
environment built from ``os.environ`` as it is at that moment
(`environment`).
asyncio's own subprocess support on Python 3.11 reaps each child from a
``waitpid`` thread of its own; a process-directed Ctrl-C may land on such a
thread, where it is only noted for the main thread while the event loop
sleeps. Here the exit is seen through a pidfd (``os.pidfd_open``, Linux
5.3 and later) watched by the run's reactor (`cuprum._pumps.reactor`: an asyncio
loop, or a synchronous run's own poll), so no thread is started.

Invariants: a child is reaped exactly once, by `Child` (the ``Popen``
object is told the exit status, so it never waits or warns itself); where a
pidfd cannot be had, one ``waitpid`` thread per child is started with every
signal blocked, so Ctrl-C still reaches an application thread. A child that
something else reaped first (``SIGCHLD`` ignored, another ``waitpid`` in the
process) is reported with exit status 255 and a warning through `logging`,
as CPython's own pidfd watcher does: its exit is never waited for forever.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import shutil
import signal
import stat
import subprocess
import threading
import typing as typ

from cuprum._pumps.native import spawner
from cuprum._pumps.threads import start_masked
from cuprum._run import env as _env
from cuprum.results import ProgramNotFoundError

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._pumps.reactor import Reactor
    from cuprum._run.request import EnvOverlay, StrPath

_log = logging.getLogger(__name__)

REAPED_ELSEWHERE: typ.Final = 255
"""The exit status reported for a child whose status someone else took."""


class Child:
    """One spawned stage: its pid, and its exit status once reaped."""

    def __init__(self, pid: int, popen: subprocess.Popen[bytes] | None = None) -> None:
        self._pid = pid
        self._popen = popen
        """The ``Popen`` that started it, if one did (told the exit status)."""
        self._returncode: int | None = None
        self._stop_watching: cabc.Callable[[], None] = _nothing
        self._waited_in_thread = False
        self.before_reap: cabc.Callable[[], None] = _nothing
        """Called once the process has exited, just before it is reaped."""

    @property
    def pid(self) -> int:
        """The process id (also its process group id)."""
        return self._pid

    @property
    def returncode(self) -> int | None:
        """The exit status once reaped (negative: killed by that signal)."""
        return self._returncode

    def has_exited(self) -> bool:
        """Say whether the process has exited, without reaping it."""
        if self._returncode is not None:
            return True
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def watch(self, reactor: Reactor, on_exit: cabc.Callable[[int], object]) -> None:
        """Call ``on_exit(returncode)`` on ``reactor`` once the process is reaped.

        Called once per child.
        """
        if self._returncode is not None:
            reactor.call_soon(on_exit, self._returncode)
            return
        self._watch(reactor, on_exit)

    def _watch(self, reactor: Reactor, on_exit: cabc.Callable[[int], object]) -> None:
        try:
            pidfd = os.pidfd_open(self.pid)
        except OSError:
            self._watch_with_thread(reactor, on_exit)
            return

        def exited() -> None:
            self._stop_watching()
            self.before_reap()
            on_exit(self._reaped(self._collect()))

        def stop_watching() -> None:
            self._stop_watching = _nothing
            reactor.remove_reader(pidfd)
            os.close(pidfd)

        self._stop_watching = stop_watching
        reactor.add_reader(pidfd, exited)

    def _watch_with_thread(
        self, reactor: Reactor, on_exit: cabc.Callable[[int], object]
    ) -> None:
        def wait_in_thread() -> None:
            with contextlib.suppress(ChildProcessError):  # reaped elsewhere
                os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
                self.before_reap()
            # Told here too: with the reactor closed, nobody else would tell
            # it (and Popen would warn that its process is still running).
            code = self._reaped(self._collect())
            with contextlib.suppress(RuntimeError):  # reactor closed: nobody waits
                reactor.call_soon_threadsafe(on_exit, code)

        self._waited_in_thread = True
        start_masked(threading.Thread(target=wait_in_thread, daemon=True))

    def abandon(self) -> None:
        """Stop watching for the exit: the run gave up waiting for it.

        The pidfd is closed, and a thread (every signal blocked) reaps the
        process whenever it does exit, so it is not left a zombie. Where a
        thread already waits for it, that one reaps it.
        """
        self._stop_watching()
        if self._returncode is not None or self._waited_in_thread:
            return

        def reap() -> None:
            self._reaped(self._collect())

        start_masked(threading.Thread(target=reap, name="cuprum-reaper", daemon=True))

    def _collect(self) -> int | None:
        """Reap the exited child; ``None`` if something else reaped it first."""
        try:
            return os.waitpid(self.pid, 0)[1]
        except ChildProcessError:
            _log.warning(
                "child process %d exit status already read: will report returncode %d",
                self.pid,
                REAPED_ELSEWHERE,
            )
            return None

    def _reaped(self, status: int | None) -> int:
        self._returncode = code = _exit_code(status)
        if self._popen is not None:
            self._popen.returncode = code  # so it never waits or warns itself
        return code


def _exit_code(status: int | None) -> int:
    """Return the exit code of a wait status (``None``: reaped elsewhere)."""
    return REAPED_ELSEWHERE if status is None else os.waitstatus_to_exitcode(status)


def _nothing() -> None:
    """Do nothing (no watch to stop)."""


def environment(overlay: EnvOverlay) -> dict[str, str]:
    """Return ``os.environ`` as it is now, with ``overlay`` laid over it.

    ``os.environ`` itself is never changed.
    """
    return _env.over_environ(overlay)


def resolve(program: str, overlay: EnvOverlay) -> str:
    """Find ``program`` as ``subprocess`` would, on the stage's ``PATH``.

    ``PATH`` is the overlay's when it sets one. A program with a ``/`` is
    taken from this process's working directory (never a stage's ``cwd``),
    so the path returned is absolute.

    Raises
    ------
    ProgramNotFoundError
        When no executable is found.

    """
    path = os.environ.get("PATH")
    for name, value in overlay:
        if name == "PATH":
            path = value
    search = os.pathsep.join(os.get_exec_path({} if path is None else {"PATH": path}))
    if os.sep in program:  # from this process's working directory: not kept
        found = _found(program, search)
    else:
        found = _which(program, search)
        if found is not None and not os.access(found, os.X_OK):
            _which.cache_clear()  # gone since it was found: look again
            found = _which(program, search)
    if found is None:
        where = "" if os.sep in program else " on PATH"
        msg = f"program {program!r} was not found{where}"
        raise ProgramNotFoundError(errno.ENOENT, msg, program)
    return found


def _found(program: str, search: str) -> str | None:
    """Return where ``program`` is on ``search`` (absolute), or ``None``."""
    found = shutil.which(program, path=search)
    if found is None or found.startswith(os.sep):
        return found
    return os.getcwd() + os.sep + found  # noqa: PTH109 - no pathlib: import cost


_which = functools.lru_cache(maxsize=256)(_found)
"""`_found`, remembered per program and search path (decision cf).

Finding a program stats every ``PATH`` entry until it is found, which costs
more than a spawn's ``fork``; `resolve` checks a remembered answer still
names an executable file (one ``access`` call) and looks again when it does
not. A program installed later in a directory earlier on ``PATH`` than the
one it was found in is found there by the next process, not this one.
"""


def check_directory(path: StrPath, what: str) -> None:
    """Check that ``path`` is a directory a stage can start in.

    Raises
    ------
    FileNotFoundError
        When nothing is there (the error names ``path``).
    NotADirectoryError
        When something other than a directory is there.

    """
    missing = f"{what} {os.fspath(path)!r} does not exist"
    if not os.fspath(path):  # pathlib would read "" as "."
        raise FileNotFoundError(errno.ENOENT, missing, os.fspath(path))
    try:
        info = os.stat(path)  # noqa: PTH116 - no pathlib: import cost
    except FileNotFoundError as error:
        raise FileNotFoundError(errno.ENOENT, missing, os.fspath(path)) from error
    if not stat.S_ISDIR(info.st_mode):
        msg = f"{what} {os.fspath(path)!r} is not a directory"
        raise NotADirectoryError(errno.ENOTDIR, msg, os.fspath(path))


def spawn(  # noqa: PLR0913 - the standard streams and the environment of a child
    argv: cabc.Sequence[str],
    *,
    executable: str,
    stdin: int | None,
    stdout: int,
    stderr: int,
    env: EnvOverlay = (),
    cwd: StrPath | None = None,
    outlive_caller: bool = False,
    new_group: bool = True,
) -> Child:
    """Start ``argv``, in a process group of its own (``new_group``) or ours.

    ``stdin`` ``None`` means ``/dev/null``. The descriptors are the child's
    standard streams; every other descriptor is closed in the child. Its
    environment is `environment` (``env``) at this moment; ``cwd`` ``None``
    is this process's working directory. Where the engine can (Linux), it
    starts the child, which then gets ``SIGKILL`` when the spawning thread
    dies (behaviour section 11 rule 5), unless ``outlive_caller``; elsewhere
    ``subprocess.Popen`` does, without that.

    Raises
    ------
    FileNotFoundError, PermissionError
        When ``executable`` cannot be started (``filename`` names it), or
        ``cwd`` cannot be entered (``filename`` names that).

    """
    start = spawner()
    if start is None:
        popen = subprocess.Popen(
            list(argv),
            executable=executable,
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=stdout,
            stderr=stderr,
            process_group=0 if new_group else None,
            env=environment(env) if env else None,
            cwd=cwd,
        )
        return Child(popen.pid, popen)
    null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC) if stdin is None else None
    try:
        pid = start(
            os.fsencode(executable),
            [os.fsencode(arg) for arg in argv],
            _entries(environment(env)) if env else None,
            None if cwd is None else os.fsencode(cwd),
            (stdin if null is None else null, stdout, stderr),
            new_group=new_group,
            death_signal=0 if outlive_caller else signal.SIGKILL,
        )
    finally:
        if null is not None:
            os.close(null)
    return Child(pid)


def _entries(env: dict[str, str]) -> list[bytes]:
    """Return ``env`` as the ``NAME=value`` entries ``execve`` takes."""
    entries = []
    for name, value in env.items():
        key = os.fsencode(name)
        if not key or b"=" in key:
            msg = f"illegal environment variable name {name!r}"
            raise ValueError(msg)
        entries.append(key + b"=" + os.fsencode(value))
    return entries


def in_terminal_foreground() -> bool:
    """Say whether this process is in the foreground of its controlling terminal.

    Then a stage put in a process group of its own would be in the
    background, stopped by ``SIGTTIN``/``SIGTTOU`` as soon as it read the
    terminal (or set its modes, as a password prompt does).
    """
    try:
        tty = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return False  # no controlling terminal
    try:
        return os.tcgetpgrp(tty) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(tty)


def process_tree(pid: int) -> list[int]:
    """Return ``pid`` and every process descended from it, deepest first.

    Read from ``/proc`` (each process's parent); a process that ends or
    starts meanwhile may be missed. Deepest first, so a child is signalled
    before its parent can exit and hand it to another parent.
    """
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")  # noqa: PTH208 - names only, thousands
    except OSError:
        return [pid]
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat_file:  # noqa: PTH123
                fields = stat_file.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    tree, level = [pid], [pid]
    while level:
        level = [child for parent in level for child in children.get(parent, ())]
        tree.extend(level)
    return tree[::-1]
