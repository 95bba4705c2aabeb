"""The C reference pumps (``_copy_loop.c``), compiled once per run and loaded.

``bench_copy`` is the read/write thread pump of scenario (a);
``bench_splice`` is the blocking splice design of the older cuprum that the
benchmarks measure the engine against (decision au): one blocking
``splice(2)`` loop per pair (64 KiB, ``SPLICE_F_MOVE | SPLICE_F_MORE``,
retried on ``EINTR``). The library is built with the machine's C compiler
into a temporary directory that lives until `close` (the syscall count of
scenario (c) loads it again in a child process); without a compiler every
reference variant is skipped and the reason printed.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import threading
import typing as typ

import _support as sup

Pump = typ.Callable[[int, int], int]


class CLib:
    """The compiled ``_copy_loop.c``: its two pumps, or why it is missing."""

    def __init__(self) -> None:
        """Compile the loops into a temporary directory (or note why not)."""
        self.why_not = ""
        self.path = ""
        self.copy: Pump | None = None
        self.splice: Pump | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="cuprum-bench-")
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            self.why_not = "no C compiler on PATH"
            return
        lib = os.path.join(self._dir.name, "copy_loop.so")  # noqa: PTH118 - a plain path string
        src = sup.BENCH_DIR / "_copy_loop.c"
        done = subprocess.run(
            [compiler, "-O2", "-shared", "-fPIC", "-o", lib, str(src)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            self.why_not = f"cc failed: {done.stderr.decode(errors='replace').strip()}"
            return
        self.path = lib
        dll = ctypes.CDLL(lib)
        self.copy = _checked(dll.bench_copy)
        self.splice = _checked(dll.bench_splice)

    def close(self) -> None:
        """Remove the temporary directory (the loaded library stays mapped)."""
        self._dir.cleanup()


def _checked(func: typ.Any) -> Pump:  # noqa: ANN401 - a ctypes function
    """Type ``func`` as ``(int, int) -> long long`` and raise on ``-errno``."""
    func.restype = ctypes.c_longlong
    func.argtypes = (ctypes.c_int, ctypes.c_int)

    def pump(reader: int, writer: int) -> int:
        got = int(func(reader, writer))
        if got < 0:
            raise OSError(-got, os.strerror(-got))
        return got

    return pump


def in_thread(pump: Pump, name: str = "bench-thread-pump") -> Pump:
    """Run ``pump`` on a fresh thread and wait for it: one thread per pair."""

    def run(reader: int, writer: int) -> int:
        result: list[int | BaseException] = []

        def body() -> None:
            try:
                result.append(pump(reader, writer))
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller
                result.append(exc)

        thread = threading.Thread(target=body, name=name)
        thread.start()
        thread.join()
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    return run


_lib: CLib | None = None


def lib() -> CLib:
    """Return the run's compiled library, building it on first use."""
    global _lib  # noqa: PLW0603 - one build per run, shared by every scenario
    if _lib is None:
        _lib = CLib()
    return _lib


def close() -> None:
    """Remove the run's build directory, if one was made."""
    global _lib  # noqa: PLW0603 - see lib()
    if _lib is not None:
        _lib.close()
        _lib = None
