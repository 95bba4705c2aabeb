"""Syscall-count child of scenario (c): N small calls of one kind, under strace.

Usage: ``python _syscall_child.py MODE N LIB``. MODE is ``none`` (the
harness loop alone), ``engine`` (``cuprum.pump_stream``, backend rust),
``native`` (``rust_backend.rust_pump_stream``), ``python`` (``pump_stream``,
backend python) or ``splice_ref`` (the C blocking splice loop of ``LIB``
through ctypes). Every mode first warms up every callee once, so what
differs between the modes' totals is the N calls alone; the parent
(``_syscalls.py``) subtracts mode ``none`` and divides by N. Each call
moves 1 KiB from a fresh pipe whose writer is already closed into one
destination pipe, as in scenario (c). Exits 0, or 1 on a wrong count.
"""

from __future__ import annotations

import ctypes
import os
import sys
import typing as typ

import cuprum
from cuprum._pumps import choice, rust_backend

PAYLOAD: typ.Final = bytes(range(256)) * 4  # 1 KiB


def use_backend(name: str) -> None:
    """Select ``CUPRUM_STREAM_BACKEND=name`` for the following calls."""
    os.environ[choice.ENV_VAR] = name
    choice.reset_backend_cache()
    cuprum.get_stream_backend()


def splice_ref(path: str) -> typ.Callable[[int, int], int]:
    """Load the C blocking splice loop from ``path``."""
    func = ctypes.CDLL(path).bench_splice
    func.restype = ctypes.c_longlong
    func.argtypes = (ctypes.c_int, ctypes.c_int)
    return lambda reader, writer: int(func(reader, writer))


def one_call(call: typ.Callable[[int, int], int], dst_r: int, dst_w: int) -> bool:
    """Move 1 KiB from a fresh pipe with ``call``; return whether it arrived."""
    src_r, src_w = os.pipe()
    os.write(src_w, PAYLOAD)
    os.close(src_w)
    moved = call(src_r, dst_w)
    os.close(src_r)
    try:
        got = os.read(dst_r, 4 * len(PAYLOAD))
    except BlockingIOError:
        got = b""
    return moved == len(PAYLOAD) and got == PAYLOAD


def main() -> int:
    """Warm every callee up, then make N calls of the chosen kind."""
    mode, count, lib = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ref = splice_ref(lib)
    calls: dict[str, tuple[str, typ.Callable[[int, int], int]]] = {
        "none": ("rust", lambda _r, _w: len(PAYLOAD)),
        "engine": ("rust", cuprum.pump_stream),
        "native": ("rust", rust_backend.rust_pump_stream),
        "python": ("python", cuprum.pump_stream),
        "splice_ref": ("rust", ref),
    }
    dst_r, dst_w = os.pipe()
    os.set_blocking(dst_r, False)
    for backend in ("python", "rust"):
        use_backend(backend)
        one_call(cuprum.pump_stream, dst_r, dst_w)
    one_call(rust_backend.rust_pump_stream, dst_r, dst_w)
    one_call(ref, dst_r, dst_w)
    backend, call = calls[mode]
    use_backend(backend)
    wrong = 0
    for _ in range(count):
        if not one_call(call, dst_r, dst_w) and mode != "none":
            wrong += 1
    sys.stdout.flush()
    os._exit(1 if wrong else 0)  # skip interpreter teardown: the same in every mode


if __name__ == "__main__":
    sys.exit(main())
