"""The older cuprum's names for making commands.

`SafeCmdBuilder` is the type of what builds commands (`cuprum.sh.make`
returns a `cuprum.sh.CommandBuilder`); `build_argv` spells every keyword
``--name=value``, as the older cuprum's builders did (``True`` as
``--name=True``), where a builder here follows sh and plumbum
(`cuprum._run.argv.options`).
"""

from __future__ import annotations

import typing as typ

from cuprum._run.argv import ArgValue, arg_text, positional

if typ.TYPE_CHECKING:
    import collections.abc as cabc

    from cuprum.pipeline import SafeCmd

SafeCmdBuilder: typ.TypeAlias = "cabc.Callable[..., SafeCmd]"
"""A callable returning commands: what `cuprum.sh.make` returns, and the
builders in `cuprum.builders` are."""


def build_argv(*args: ArgValue, **flags: ArgValue) -> tuple[str, ...]:
    """Return the argv (the program not in it) the older cuprum's builders made.

    ``build_argv("status", porcelain=True, branch="main")`` is
    ``("status", "--porcelain=True", "--branch=main")``.

    Raises
    ------
    TypeError
        For an argument that is ``None``, ``bytes`` or another type a
        command cannot take (the message names it).
    ValueError
        For a NUL character.

    """
    named = (
        f"--{name.replace('_', '-')}={arg_text(value, f'build_argv: keyword {name}')}"
        for name, value in flags.items()
    )
    return (*positional("build_argv", args), *named)
