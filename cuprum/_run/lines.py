r"""Cutting decoded output into lines: the one place the rule lives.

A line ends with ``\n`` and keeps it; a line longer than `LINE_LIMIT`
characters comes in pieces of that size; what is left when the output
ends is the last line. `TextLines` applies it to bytes as they arrive,
decoding them incrementally, for a stream's ``lines()`` (under an encoding
whose newline is not one byte) and for the line events of an observed
run; `HeldLines` holds a stream's bytes cut at the byte ``\n`` (where
`newline_is_one_byte`), decoded only as each line is handed out. This
module imports no other part of cuprum.
"""

from __future__ import annotations

import codecs
import collections
import typing as typ

LINE_LIMIT: typ.Final = 1 << 20
"""Characters after which a line without its ``\\n`` comes in pieces."""


class TextLines:
    """Bytes in, lines out: decoded as they arrive, cut as the module says."""

    __slots__ = ("_decoder", "_partial", "ready")

    def __init__(self, encoding: str, errors: str) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
        self._partial = ""
        self.ready: collections.deque[str] = collections.deque()
        """The lines cut so far and not yet taken, each whole one with its ``\\n``."""

    def holds_text(self) -> bool:
        """Say whether decoded text waits to be taken as lines."""
        return bool(self.ready or self._partial)

    def add(self, data: bytes, *, final: bool = False) -> None:
        """Decode ``data`` and cut what it completes; ``final``: the output ended."""
        text = self._decoder.decode(data, final=final)
        if text:
            parts = (self._partial + text).split("\n")
            self._partial = parts.pop()
            self.ready.extend(part + "\n" for part in parts)
            while len(self._partial) >= LINE_LIMIT:
                self.ready.append(self._partial[:LINE_LIMIT])
                self._partial = self._partial[LINE_LIMIT:]
        if final and self._partial:
            self.ready.append(self._partial)
            self._partial = ""


class HeldLines:
    r"""Output read and not yet handed out: whole lines, then the rest.

    Lines are kept as bytes without their ``\n`` (cut with one C-level
    ``split`` per chunk) and decoded one by one as they are handed out, so
    chunks read later get the same bytes back.
    """

    __slots__ = ("lines", "rest", "split")

    def __init__(self, *, split: bool) -> None:
        self.lines: collections.deque[bytes] = collections.deque()
        self.rest = b""
        self.split = split
        """Whether to cut lines at the byte ``\\n`` (else all is ``rest``)."""

    def __bool__(self) -> bool:
        """Say whether anything is held."""
        return bool(self.lines or self.rest)

    def add(self, data: bytes) -> None:
        """Hold ``data`` too, cut into whole lines and a rest."""
        if not self.split or b"\n" not in data:
            self.rest += data
            return
        parts = (self.rest + data).split(b"\n")
        self.rest = parts.pop()
        self.lines.extend(parts)

    def take(self) -> bytes:
        """Hand out everything held, as bytes."""
        lines = self.lines
        data = b"\n".join(lines) + b"\n" if lines else b""
        lines.clear()  # in place: an iteration may hold this deque
        data, self.rest = data + self.rest, b""
        return data


def newline_is_one_byte(encoding: str) -> bool:
    r"""Say whether ``encoding`` writes ``\n`` as the byte ``\n`` alone.

    Then no other character's bytes contain it (UTF-8, Latin-1 and every
    other ASCII-compatible encoding), and lines can be cut before decoding.
    """
    return "\n".encode(encoding) == b"\n"
