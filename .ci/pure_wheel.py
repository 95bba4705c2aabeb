#!/usr/bin/env python3
# ruff: noqa: T201 - a build script: it reports on stdout
"""Build cuprum's pure-Python wheel (``py3-none-any``): ``make wheels``.

The wheel pip takes where no native wheel fits (another platform, another
architecture, no Rust toolchain to build the sdist): the package without
its engine, served by the pure-Python backend (decision ck). It holds every
module of ``cuprum/`` and ``py.typed``, not the native module's stub; its
metadata comes from ``pyproject.toml``'s ``[project]`` table, the same as
the native wheels'. Written with the standard library only (the wheel
format is a zip with a ``RECORD`` of hashes, PEP 427), into ``dist/`` or
the directory given.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "cuprum"
LEFT_OUT = {"_rust_backend_native.pyi"}
"""The native module's stub: there is no native module in this wheel."""


def _metadata(project: dict[str, object]) -> str:
    """Return the core metadata (``METADATA``) of ``project``."""
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project['description']}",
        f"Requires-Python: {project['requires-python']}",
    ]
    licence = project.get("license")
    if isinstance(licence, dict) and "text" in licence:
        lines.append(f"License: {licence['text']}")
    classifiers = project.get("classifiers", [])
    assert isinstance(classifiers, list)  # noqa: S101 - pyproject's shape
    lines += [f"Classifier: {c}" for c in classifiers]
    lines += ["Description-Content-Type: text/markdown", ""]
    readme = (REPO / str(project.get("readme", "README.md"))).read_text()
    return "\n".join(lines) + "\n" + readme


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"{name},sha256={digest.decode()},{len(data)}"


def build(out: Path) -> Path:
    """Write the wheel into ``out``; return its path."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    dist_info = f"{name}-{version}.dist-info"
    files: dict[str, bytes] = {}
    for path in sorted(PACKAGE.rglob("*")):
        if (
            path.is_file()
            and "__pycache__" not in path.parts
            and path.name not in LEFT_OUT
            and path.suffix in {".py", ".pyi", ".typed"}
        ):
            files[path.relative_to(REPO).as_posix()] = path.read_bytes()
    files[f"{dist_info}/METADATA"] = _metadata(project).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\n"
        b"Generator: cuprum .ci/pure_wheel.py\n"
        b"Root-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    record = [_record_line(n, d) for n, d in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return wheel


def main(argv: list[str]) -> int:
    """Build the wheel into ``argv[0]`` (default ``dist/``)."""
    out = Path(argv[0]) if argv else REPO / "dist"
    print(f"built {build(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
