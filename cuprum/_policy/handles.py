"""`VarHandle`: a change to a `contextvars.ContextVar`, undone by ``detach()``.

Owns the one token discipline the registration handles share:
`cuprum.context`'s (``allow``, ``before``, ``after``, ``observe``,
``env``) and `cuprum.pump_observation`'s (``observe_pump``).

Invariants: the change is in force from the handle's creation; ``detach()``
restores the variable as it was when the handle was made, once (a second
call does nothing); a ``detach()`` in another thread or task than the one
that made the handle raises `contextvars.ContextVar.reset`'s
``ValueError`` and leaves the handle attached; a handle is also a context
manager that detaches on exit.
"""

from __future__ import annotations

import typing as typ

if typ.TYPE_CHECKING:
    import contextvars

_V = typ.TypeVar("_V")


class VarHandle(typ.Generic[_V]):
    """``var`` set to ``value`` until `detach` (or the end of a ``with``)."""

    __slots__ = ("_token", "_var")

    def __init__(self, var: contextvars.ContextVar[_V], value: _V) -> None:
        self._var = var
        self._token: contextvars.Token[_V] | None = var.set(value)

    def detach(self) -> None:
        """Restore the variable as it was when this handle was made (once).

        Raises
        ------
        ValueError
            When called in another thread or task than the one that made
            the handle; the handle stays attached.

        """
        if self._token is not None:
            self._var.reset(self._token)
            self._token = None

    def __enter__(self) -> typ.Self:
        """Return the handle; the change is already in force."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Detach."""
        self.detach()
