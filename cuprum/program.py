"""`Program`: the typed name of an executable a catalogue may allow.

Owns the `Program` type alone, so that modules naming programs (the
catalogue, the execution context's allowlists, the builders) need not import
one another for it. It is the place the older cuprum kept it too
(``from cuprum.program import Program``).

Invariant: a `Program` is a plain ``str`` at run time (a ``NewType``); the
type only tells readers and type checkers that the string names an
executable, either a bare name looked up on ``PATH`` or an absolute path.
"""

from __future__ import annotations

import typing as typ

Program = typ.NewType("Program", str)
"""The name (or absolute path) of an executable, as listed in a catalogue."""

__all__ = ["Program"]
