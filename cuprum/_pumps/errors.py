"""`EngineError`: a failure of the pump engine itself, on either backend.

Owns the one exception class both backends report their own failures with
(behaviour section 2, rule 4). It lives in Python, not in the native module,
so that the pure-Python backend has it where the engine is absent; the
native module imports this class instead of making its own.
"""

from __future__ import annotations


class EngineError(RuntimeError):
    """The pump engine failed a pair for reasons of its own.

    Not an I/O error of the caller's descriptors (those are ``OSError``
    with their errno), but a broken engine: its reactor stopped, a resource
    it needs for itself ran out, or a bug. A single-pair call raises it; a
    batch holds it in that pair's slot (``int | OSError | EngineError``); a
    pipeline raises it as the run's error. The next call starts afresh
    (a new reactor), so retrying may succeed.
    """
