"""Environment overlays: the one place their rules live.

An overlay maps variable names to values, ``None`` meaning "remove it". A
run's environment is ``os.environ`` as it is when the stage is spawned,
with the overlays of its scopes, its ``ExecutionContext``, its ``env=``
and its command laid over it in that order (a later value for a name
wins). `merged` lays overlays over one another; `over_environ` lays them
over ``os.environ``. This module imports no other part of cuprum.
"""

from __future__ import annotations

import os
import typing as typ

if typ.TYPE_CHECKING:
    import collections.abc as cabc

Layer: typ.TypeAlias = (
    "cabc.Mapping[str, str | None] | cabc.Iterable[tuple[str, str | None]] | None"
)
"""An overlay as a mapping or as (name, value) pairs; ``None`` adds nothing."""


def merged(*layers: Layer) -> dict[str, str | None]:
    """Lay ``layers`` over one another, in order: a later value for a name wins."""
    result: dict[str, str | None] = {}
    for layer in layers:
        if layer:
            result.update(layer)
    return result


def over_environ(*layers: Layer) -> dict[str, str]:
    """Return ``os.environ`` as it is now with ``layers`` laid over it.

    A value ``None`` removes the variable; ``os.environ`` is not changed.
    """
    env = dict(os.environ)
    for name, value in merged(*layers).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
