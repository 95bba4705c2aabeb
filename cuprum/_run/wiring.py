"""A run's plan and its descriptors, before anything is spawned.

Owns `prepare` (every working directory checked and every program found
before anything is opened or spawned), `Stage` and `Hop` (a run's stages
and hops), `Ends` (the run's own ends of its standard streams),
`open_ends` (the redirections opened and every pipe made: each hop is two
pipes, stage i writes the first, stage i+1 reads the second and the parent
pumps between them) and `stage_ends` (the three descriptors one stage gets,
and which of the run's ends go to it alone). `cuprum._run.run` uses them.

Invariant: every descriptor made here is owned by one `cuprum._run.fdio.Fd`
registered with the run's `cuprum._run.fdio.Fds`, so it is closed exactly once.
"""

from __future__ import annotations

import dataclasses as dc
import typing as typ

from cuprum._run.child import Child, check_directory, resolve
from cuprum._run.fdio import Capture, Fd, Fds
from cuprum._run.request import merge_env

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum._pumps.errors import EngineError
    from cuprum._run.observer import Observer
    from cuprum._run.request import EnvOverlay, RunRequest, StageSpec, StrPath


def prepare(
    stages: cabc.Sequence[StageSpec],
    request: RunRequest,
    observer: Observer | None = None,
) -> list[Stage]:
    """Check every stage can start; nothing is opened or spawned yet.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        When a stage's working directory is missing or not a directory.
    ProgramNotFoundError
        When a program is not found on its stage's ``PATH``.

    """
    prepared = []
    for index, spec in enumerate(stages):
        env = merge_env(request.env, spec.env)
        cwd = spec.cwd if spec.cwd is not None else request.cwd
        if cwd is not None:
            check_directory(cwd, "working directory")
        executable = resolve(spec.program, env)
        capture = None
        if request.stderr is None:
            lines = (
                observer.lines(index, "stderr", request.output) if observer else None
            )
            capture = Capture(request.output, "stderr", request.stderr_sink, lines)
        prepared.append(Stage(index, spec.argv, executable, capture, env, cwd))
    return prepared


@dc.dataclass(slots=True)
class Hop:
    """Stage i stdout -> parent -> stage i+1 stdin."""

    up_read: Fd
    up_write: Fd
    down_read: Fd
    down_write: Fd
    downstream_gone: bool = False
    error: OSError | EngineError | None = None
    written: int = 0
    ended_at: float | None = None


@dc.dataclass(slots=True)
class Ends:
    """The run's own ends of its standard streams (hops apart).

    ``first_in``, ``last_out`` and ``shared_err`` are the redirections
    (opened, or the caller's); ``out`` is the pipe the last stage writes
    when its stdout is not redirected, ``feed`` the one ``input=`` goes
    through.
    """

    first_in: int | None = None
    last_out: int | None = None
    shared_err: int | None = None
    out: tuple[Fd, Fd] | None = None
    feed: tuple[Fd, Fd] | None = None


@dc.dataclass(slots=True)
class Stage:
    """One stage: what it runs, where its stderr goes, its process once spawned."""

    index: int
    argv: tuple[str, ...]
    executable: str
    stderr: Capture | None
    env: EnvOverlay = ()
    cwd: StrPath | None = None
    process: Child | None = None
    returncode: int | None = None
    reaped: bool = False


def open_ends(request: RunRequest, fds: Fds, count: int) -> tuple[Ends, list[Hop]]:
    """Open the redirections and make every pipe of a run of ``count`` stages."""
    ends = Ends()
    hops: list[Hop] = []
    if request.stdin is not None:
        ends.first_in = request.stdin.open(fds)
    if request.stdout is not None:
        ends.last_out = request.stdout.open(fds)
    if request.stderr is not None and not request.stderr.join_stdout:
        ends.shared_err = request.stderr.open(fds)
    for _ in range(count - 1):
        up_read, up_write = fds.pipe(enlarge=True)
        down_read, down_write = fds.pipe(enlarge=True)
        hops.append(Hop(up_read, up_write, down_read, down_write))
    if ends.last_out is None:
        ends.out = fds.pipe()
    if request.input is not None:
        ends.feed = fds.pipe()
    return ends, hops


def stage_ends(
    stage: Stage, ends: Ends, hops: list[Hop], fds: Fds, request: RunRequest
) -> tuple[tuple[int | None, int, int], list[Fd], Fd | None]:
    """Say what ``stage`` reads, writes and errs to.

    Returns its three descriptors, the run's pipe ends that go to it
    alone (the run closes them once it is spawned) and the read end of its own
    stderr pipe (``None`` when its stderr is routed).
    """
    made: list[Fd] = []
    index = stage.index
    stdin, stdout = ends.first_in, ends.last_out
    feed, out = ends.feed, ends.out
    upstream = hops[index - 1].down_read if index else feed and feed[0]
    if upstream:
        made.append(upstream)
        stdin = upstream.number
    downstream = hops[index].up_write if index < len(hops) else out and out[1]
    if downstream:
        made.append(downstream)
        stdout = downstream.number
    if stdout is None:
        msg = "a stage has nowhere to write"  # unreachable: out or last_out
        raise AssertionError(msg)
    err_read: Fd | None = None
    if request.stderr is None:
        err_read, err_write = fds.pipe()
        made.append(err_write)
        stderr = err_write.number
    else:
        stderr = stdout if ends.shared_err is None else ends.shared_err
    return (stdin, stdout, stderr), made, err_read
