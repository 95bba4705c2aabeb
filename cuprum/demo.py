"""The main job, as a runnable demo: ``python -m cuprum.demo``.

Runs a three-stage pipeline through the pipeline API: a producer of
built-in text (this module run with ``--produce``) | ``tr a-z A-Z`` |
``sha256sum``. cuprum pumps both hops in one batch and gives each next
stage its EOF the moment a hop ends. Prints what moved per hop, how fast,
which backend did it, and checks the checksum against one computed in this
process.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import typing as typ

import cuprum
from cuprum import SHA256SUM, TR, sh

if typ.TYPE_CHECKING:
    import collections.abc as cabc

_PYTHON = cuprum.Program(sys.executable)
_DEMO_CATALOGUE = cuprum.DEFAULT_CATALOGUE.extended(programs=[_PYTHON], project="demo")
_VERSE = (
    b"copper runs in quiet wires, carrying what the makers say;\n"
    b"every byte that enters here must leave the other way.\n"
)
_LINE_NUMBER_WIDTH = 10


def built_in_data(size: int) -> cabc.Iterator[bytes]:
    """Yield ``size`` bytes of numbered verse lines, in 1 MiB pieces."""
    produced = 0
    line = 0
    piece: list[bytes] = []
    piece_len = 0
    while produced + piece_len < size:
        text = b"%0*d " % (_LINE_NUMBER_WIDTH, line) + _VERSE
        piece.append(text)
        piece_len += len(text)
        line += 1
        if piece_len >= 1 << 20:
            chunk = b"".join(piece)[: size - produced]
            produced += len(chunk)
            yield chunk
            piece, piece_len = [], 0
    if piece:
        yield b"".join(piece)[: size - produced]


def produce(size: int) -> None:
    """Write the built-in data to standard output."""
    out = sys.stdout.buffer
    for chunk in built_in_data(size):
        out.write(chunk)
    out.flush()


def expected_digest(size: int) -> str:
    """Return the digest ``sha256sum`` should print for the upper-cased data."""
    digest = hashlib.sha256()
    for chunk in built_in_data(size):
        digest.update(chunk.upper())
    return digest.hexdigest()


def run(size: int) -> int:
    """Run the three-stage pipeline; return the process exit status."""
    backend = cuprum.get_stream_backend()
    producer = sh.make(_PYTHON, _DEMO_CATALOGUE)(
        "-m", "cuprum.demo", "--produce", str(size)
    )
    pipeline = producer | sh.make(TR)("a-z", "A-Z") | sh.make(SHA256SUM)()
    print(f"cuprum demo: {size:,} bytes of built-in text | tr a-z A-Z | sha256sum")
    print(f"backend: {backend.value}", flush=True)
    result = pipeline.run_sync(on_progress=cuprum.progress_printer(sys.stdout))
    names = ["producer -> tr", "tr -> sha256sum"]
    for index, name in enumerate(names):
        moved, seconds = result.hop_bytes[index], result.hop_seconds[index]
        rate = moved / seconds / (1 << 20) if seconds > 0 else float("inf")
        print(
            f"  hop {index} {name:>16}: {moved:>13,} bytes in {seconds:6.3f} s"
            f" ({rate:8.1f} MiB/s)"
        )
    digest = str(result.stdout).split()[0] if result.stdout else ""
    verdict = "matches" if digest == expected_digest(size) else "DOES NOT MATCH"
    print(f"sha256 {digest} {verdict} the digest computed in-process")
    codes = result.exit_codes
    print(f"exit codes: producer={codes[0]} tr={codes[1]} sha256sum={codes[2]}")
    return 0 if verdict == "matches" and result.ok else 1


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the demo (or, with ``--produce``, the producer)."""
    parser = argparse.ArgumentParser(prog="python -m cuprum.demo")
    parser.add_argument("--size", type=int, default=256 << 20, help="bytes to move")
    parser.add_argument("--produce", type=int, metavar="SIZE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.produce is not None:
        produce(args.produce)
        return 0
    return run(args.size)


if __name__ == "__main__":
    sys.exit(main())
