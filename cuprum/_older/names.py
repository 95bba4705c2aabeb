"""The older cuprum's names for the context's and a run's one way.

`get_context` is `cuprum.context.current_context`; `merge_env_overlays`
and `resolve_env` lay overlays over one another and over ``os.environ``
(`cuprum._run.env`, where a run does it itself); `IOOptions` is a
`RunOutputOptions` that warns when made; `OlderPipelineNames` gives
`cuprum.Pipeline` its ``parts``.
"""

from __future__ import annotations

import dataclasses as dc
import typing as typ
import warnings

from cuprum._policy.scope import CuprumContext, EnvOverlay, current_context, laid_over
from cuprum._run import env as _env
from cuprum.results import RunOutputOptions

_Stage_co = typ.TypeVar("_Stage_co", covariant=True)


def get_context() -> CuprumContext:
    """Return the context of the running thread or task (`current_context`)."""
    return current_context()


def merge_env_overlays(
    parent: EnvOverlay | None, child: EnvOverlay | None
) -> EnvOverlay | None:
    """Lay ``child`` over ``parent`` (its values win); ``None`` adds nothing.

    Returns a read-only mapping, or ``None`` when both are ``None``.
    ``os.environ`` is not read.
    """
    return laid_over(parent, child)


def resolve_env(*layers: EnvOverlay | None) -> dict[str, str] | None:
    """Return ``os.environ`` as it is now with ``layers`` laid over it, in order.

    A value ``None`` removes the variable. ``None`` and empty layers add
    nothing; when every layer is such, the result is ``None`` (the child
    inherits this process's environment).
    """
    if not any(layers):
        return None
    return _env.over_environ(*layers)


@dc.dataclass(frozen=True, slots=True)
class IOOptions(RunOutputOptions):
    """Deprecated: the older cuprum's name for `RunOutputOptions`.

    Making one warns (``DeprecationWarning``); it is a `RunOutputOptions`
    in every other way.
    """

    def __post_init__(self) -> None:
        """Warn that the name is deprecated."""
        warnings.warn(
            "IOOptions is deprecated; use RunOutputOptions instead",
            DeprecationWarning,
            stacklevel=3,
        )


class _HasStages(typ.Protocol[_Stage_co]):
    @property
    def stages(self) -> tuple[_Stage_co, ...]: ...


class OlderPipelineNames:
    """What `cuprum.Pipeline` answers to under the older cuprum's names."""

    __slots__ = ()

    @property
    def parts(self: _HasStages[_Stage_co]) -> tuple[_Stage_co, ...]:
        """The commands, first to last (the older cuprum's name for ``stages``)."""
        return self.stages
