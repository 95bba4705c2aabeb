"""A command's arguments as argv items: the one place their rules live.

A positional argument becomes one argv item (``str`` as it is; a path,
``int`` or ``float`` as its ``str``; `positional`); a keyword argument
becomes an option, as sh and plumbum users expect (`options`). ``None``,
``bytes`` and other types are refused with the position and type named,
never turned into ``"None"`` or ``"b'...'"``; so is a NUL character.
`cuprum.sh`'s builders use these, as does the older cuprum's
``build_argv`` (`cuprum._older.commands`).
"""

from __future__ import annotations

import os
import typing as typ

if typ.TYPE_CHECKING:
    import collections.abc as cabc

# A real alias, not a string: `typing.get_type_hints` resolves annotations
# that use it (in `cuprum.sh`, and in a user's code the guide invites).
ArgValue: typ.TypeAlias = str | os.PathLike[str] | int | float
"""What a command builder takes as an argument (``bool`` is an ``int``)."""


def arg_text(value: object, what: str) -> str:
    """Return argument ``value`` as one argv item.

    Raises
    ------
    TypeError
        For ``None``, ``bytes`` or any type other than ``str``, a path,
        ``int`` or ``float``.
    ValueError
        For a NUL character.

    """
    if isinstance(value, str):
        text = value
    elif isinstance(value, os.PathLike):
        text = os.fspath(value)
        if not isinstance(text, str):
            msg = f"{what} must be a str path, not a bytes path ({value!r})"
            raise TypeError(msg)
    elif isinstance(value, int | float):
        text = str(value)
    elif value is None:
        msg = f"{what}: None is not a valid argv element; leave the argument out"
        raise TypeError(msg)
    else:
        hint = "; decode bytes first" if isinstance(value, bytes | bytearray) else ""
        msg = (
            f"{what} must be a str, path, int or float, "
            f"not {type(value).__name__} ({value!r}){hint}"
        )
        raise TypeError(msg)
    if "\0" in text:
        msg = f"{what} contains a NUL character"
        raise ValueError(msg)
    return text


def positional(who: str, args: cabc.Iterable[object]) -> list[str]:
    """Return ``args`` as argv items, one each (see `arg_text`).

    ``who`` names the caller in an error, with the argument's position.
    """
    return [
        arg_text(arg, f"{who}: argument {position}")
        for position, arg in enumerate(args, start=1)
    ]


def options(who: str, flags: cabc.Mapping[str, object]) -> list[str]:
    """Turn a command's keywords into options, as sh and plumbum users expect.

    ``all=True`` is ``--all`` and ``all=False`` nothing; a one-letter name is
    a short option (``l=True`` is ``-l``, ``n=5`` is ``-n 5``); any other
    value is ``--name=value``, with ``_`` in the name as ``-``.
    """
    argv: list[str] = []
    for name, value in flags.items():
        option = f"-{name}" if len(name) == 1 else f"--{name.replace('_', '-')}"
        if value is True:
            argv.append(option)
        elif value is False:
            continue
        elif len(name) == 1:
            argv += [option, arg_text(value, f"{who}: keyword {name}")]
        else:
            argv.append(f"{option}={arg_text(value, f'{who}: keyword {name}')}")
    return argv
