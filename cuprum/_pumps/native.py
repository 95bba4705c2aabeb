"""Availability probe for the optional native engine.

Owns one question, answered once per process: can the native module
``cuprum._rust_backend_native`` be used? A module that is simply absent (a
pure-Python install) answers ``False``. A module that is present but broken
(an import error from inside it, a wrong build, a probe that fails) is not
silently ignored: a warning is logged and the error is raised, with a hint
on what to do.
"""

from __future__ import annotations

import functools
import importlib
import logging
import typing as typ

if typ.TYPE_CHECKING:
    import collections.abc as cabc

NATIVE_MODULE = "cuprum._rust_backend_native"
_log = logging.getLogger(__name__)


class NativeBackendBrokenError(ImportError):
    """The native module is installed but cannot be used."""


@functools.cache
def is_available() -> bool:
    """Return whether the native engine is installed and working.

    Returns
    -------
    bool
        ``True`` when the native module imports and its own probe says so;
        ``False`` when it is not installed.

    Raises
    ------
    NativeBackendBrokenError
        When the module is present but fails to import or to answer. The
        message says how to recover (rebuild it, or select the Python
        backend with ``CUPRUM_STREAM_BACKEND=python``).

    """
    try:
        native = importlib.import_module(NATIVE_MODULE)
    except ModuleNotFoundError as error:
        if error.name == NATIVE_MODULE:
            return False
        raise _broken(error) from error
    except ImportError as error:
        raise _broken(error) from error
    try:
        answer = native.is_available()
    except Exception as error:
        raise _broken(error) from error
    if answer is not True:
        raise _broken(RuntimeError(f"is_available() returned {answer!r}"))
    return True


def _broken(cause: BaseException) -> NativeBackendBrokenError:
    if isinstance(cause, OSError) or isinstance(cause.__cause__, OSError):
        # Loading failed for want of a resource (EMFILE, ENOMEM, ...): the
        # install may be fine.
        state = "could not be loaded"
        advice = (
            "the system refused a resource; free some (for EMFILE, raise the "
            "descriptor limit: ulimit -n) and retry"
        )
    else:
        state = "is installed but broken"
        advice = "rebuild it (make build)"
    message = (
        f"the native module {NATIVE_MODULE} {state} "
        f"({type(cause).__name__}: {cause}); {advice}, or set "
        "CUPRUM_STREAM_BACKEND=python to use the pure-Python backend"
    )
    _log.warning(message)
    return NativeBackendBrokenError(message)


Spawn: typ.TypeAlias = "cabc.Callable[..., int]"


@functools.cache
def spawner() -> Spawn | None:
    """Return the engine's ``spawn`` (Linux builds), or ``None``.

    ``None`` where the engine is absent, broken (the pump calls say so) or
    built without it (other Unix systems); stages are then started with
    ``subprocess.Popen``.
    """
    try:
        if not is_available():
            return None
    except NativeBackendBrokenError:
        return None
    native = importlib.import_module(NATIVE_MODULE)
    return typ.cast("Spawn | None", getattr(native, "spawn", None))
