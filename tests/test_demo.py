"""The demo (``make demo``), run small: real processes, a verified checksum."""

from __future__ import annotations

import subprocess
import sys
import typing as typ

if typ.TYPE_CHECKING:
    from cuprum import StreamBackend


def test_demo_moves_the_data_and_verifies_the_checksum(
    stream_backend: StreamBackend,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cuprum.demo", "--size", "3000000"],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"backend: {stream_backend.value}" in out
    assert "3,000,000 bytes of built-in text" in out
    assert out.count("3,000,000 bytes in") == 2  # both hops moved everything
    assert "matches the digest computed in-process" in out
    assert "exit codes: producer=0 tr=0 sha256sum=0" in out
