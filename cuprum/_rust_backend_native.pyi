"""The native pump engine, built from ``engine/`` by maturin.

Import it only through ``cuprum._pumps.rust_backend``; everything else asks
``cuprum._pumps.native.is_available()`` first.
"""

from collections.abc import Callable, Sequence
from typing import TypeAlias, final

from cuprum._pumps.errors import EngineError

# A pair's end: the bytes written, the ``OSError`` that ended it, or the
# ``cuprum.EngineError`` when the engine itself failed it.
_PairResult: TypeAlias = int | OSError | EngineError

def is_available() -> bool:
    """Return ``True``: the engine was built and imported."""

def set_splice_enabled(enabled: bool) -> None:
    """Allow or forbid the ``splice(2)`` fast path for pairs started from now.

    On by default (unless the environment had ``CUPRUM_SPLICE=0`` when the
    engine first looked). Off forces the ring-buffer copy path, for tests
    and benchmarks; the observable behaviour is the same either way.
    """

def splice_enabled() -> bool:
    """Return whether pairs of two pipes are moved with ``splice(2)``."""

def spawn(
    program: bytes,
    argv: list[bytes],
    env: list[bytes] | None,
    cwd: bytes | None,
    fds: tuple[int, int, int],
    *,
    new_group: bool,
    death_signal: int,
) -> int:
    """Start ``program`` (Linux builds only) and return its pid.

    ``argv`` is the whole argument vector, ``env`` its ``NAME=value``
    entries (``None``: this process's environment), ``cwd`` its working
    directory (``None``: this one's) and ``fds`` its standard input, output
    and error. Like ``subprocess.Popen`` (the child shares this process's
    memory until it execs; caught signals, ``SIGPIPE`` and ``SIGXFSZ`` are
    set back to their defaults; every other descriptor is closed), plus:
    ``new_group`` puts it in a process group of its own, and
    ``death_signal`` (0: none) is sent to it when the spawning thread dies
    (``PR_SET_PDEATHSIG``, set before exec; a child whose parent already
    died exits at once). Raises ``OSError`` naming ``program`` when exec
    fails and ``cwd`` when changing to it fails, ``ValueError`` for an
    embedded null byte. The child is the caller's to reap.
    """

def rust_pump_stream(
    reader_fd: int,
    writer_fd: int,
    buffer_size: int = 65536,
    *,
    drain_timeout: float | None = None,
    on_progress: Callable[[int], object] | None = None,
    progress_interval: float = 0.25,
) -> int:
    """Copy ``reader_fd`` to ``writer_fd`` until EOF in the engine's reactor.

    Blocks with the GIL released and returns the bytes written. Checks for
    signals at least every 50 ms: a handler that raises (Ctrl-C) cancels the
    pair, and the exception propagates once the engine has let go of both
    descriptors. A pair of the blocking path (a standard stream or a
    terminal) stuck in a write that never returns (a stopped terminal) is
    not waited for after a second raising signal, which propagates at once
    with the first as its ``__cause__``. Never closes either descriptor;
    restores each one's ``O_NONBLOCK`` flag. A broken downstream
    (``EPIPE``/``ECONNRESET``) is
    not an error: the reader is drained to EOF, or for at most
    ``drain_timeout`` seconds, and the bytes written before the break are
    returned. ``on_progress(bytes_written)`` is called on this thread at
    most every ``progress_interval`` seconds while the pair runs in the
    reactor (a transfer done inline, without ever waiting, reports none).

    Raises
    ------
    OSError
        With the original errno (``EBADF`` for a closed descriptor or one
        open in the wrong direction, and so on).
    ValueError
        For a negative or oversized descriptor, ``buffer_size`` outside
        ``1..2**30``, or a negative ``drain_timeout``.
    TypeError
        For non-integer arguments.
    cuprum.EngineError
        When the engine itself failed the pair (its reactor stopped, ...).

    """

def rust_pump_many(
    pairs: Sequence[tuple[int, int]],
    buffer_size: int = 65536,
    *,
    drain_timeout: float | None = None,
    on_pair_done: Callable[[int, _PairResult], object] | None = None,
    on_progress: Callable[[list[int]], object] | None = None,
    progress_interval: float = 0.25,
) -> list[_PairResult]:
    """Pump every pair concurrently in the reactor; block until all end.

    The whole batch is submitted at once. The result holds one entry per
    pair, in order: the bytes written, the ``OSError`` that ended it, or a
    ``cuprum.EngineError`` where the engine itself failed it.
    ``on_pair_done(index, result)`` is called on the calling thread, with
    the GIL, as each pair ends (the engine has let go of that pair's
    descriptors by then). ``on_progress(counts)`` gets the bytes written so
    far by each pair, at most every ``progress_interval`` seconds. An
    interrupting signal, or an exception from a callback, cancels every pair
    still running and is raised once the engine has let go of them all.
    """

@final
class PumpBatch:
    """The pairs of one batch started with `AsyncDoorbell.submit`."""

    @property
    def op_id(self) -> int:
        """The batch's id, which tags its completions in `AsyncDoorbell.drain`."""

    def progress(self) -> list[int]:
        """Return the bytes written so far by each pair, in pair order."""

    def cancel(self) -> None:
        """Cancel every pair of the batch still in the engine.

        Each cancelled pair still reports its end (a ``cuprum.EngineError``
        saying it was cancelled) once the engine has let go of its descriptors and
        restored their flags; pairs already done are unaffected.
        """

@final
class AsyncDoorbell:
    """One event loop's doorbell: an eventfd rung as pairs complete.

    The loop watches `fileno` with ``loop.add_reader`` and calls `drain`
    when it is readable. The engine's reactor thread only queues results
    and writes the eventfd; it never calls into Python. The eventfd is
    closed when the doorbell and every batch submitted through it are gone.
    """

    def __init__(self) -> None:
        """Create the eventfd (non-blocking, close-on-exec)."""

    def fileno(self) -> int:
        """Return the eventfd to watch for readability."""

    def submit(
        self,
        pairs: Sequence[tuple[int, int]],
        buffer_size: int = 65536,
        *,
        drain_timeout: float | None = None,
    ) -> PumpBatch:
        """Submit a batch; its pairs' ends will be queued on this doorbell.

        Arguments are checked as for `rust_pump_many`; a pair that fails at
        submit (``EBADF``, ...) is queued at once with its ``OSError`` (or
        ``cuprum.EngineError``, for a failure of the engine's own).
        """

    def start_one(
        self,
        reader_fd: int,
        writer_fd: int,
        buffer_size: int = 65536,
        *,
        drain_timeout: float | None = None,
    ) -> int | PumpBatch:
        """Start one pair, inline first, as `rust_pump_stream` does.

        Runs on the calling thread (the GIL released) for as long as the
        transfer never has to wait, and returns the bytes written if it
        finished that way; otherwise hands it to the engine and returns its
        `PumpBatch`, whose end is queued on this doorbell like `submit`'s.

        Raises
        ------
        OSError
            When the pair fails before it needs the engine (``EBADF``, ...).
        cuprum.EngineError
            When the engine itself failed it.

        """

    def drain(self) -> list[tuple[int, int, _PairResult]]:
        """Take every queued completion as ``(op_id, index, result)``.

        Resets the eventfd, so the loop's reader callback fires again only
        for completions queued after this call.
        """
