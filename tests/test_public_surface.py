"""Each public module exports what the guide documents, and no more.

A name in a public module's ``__all__`` must be named (in backticks) in
the users' guide or a page it links to for users: the guide itself,
``pumping.md``, ``backends.md`` or the migration page, where the older
cuprum's names are documented once. A name the guide does not teach
stays out of ``__all__``.
"""

from __future__ import annotations

import importlib
import pathlib
import pkgutil
import re

import pytest

import cuprum

ROOT = pathlib.Path(__file__).resolve().parent.parent
GUIDE_PAGES = ("users-guide.md", "pumping.md", "backends.md", "migrating.md")
PROGRAMS = {"cuprum.demo"}
"""Modules that are programs (``python -m``), not a library's API."""


def public_modules() -> list[str]:
    found = {
        info.name
        for info in pkgutil.walk_packages(cuprum.__path__, "cuprum.")
        if not any(part.startswith("_") for part in info.name.split("."))
    }
    return sorted({"cuprum", *found} - PROGRAMS)


def documented_names() -> set[str]:
    """Every identifier written in backticks on the guide's pages."""
    names: set[str] = set()
    for page in GUIDE_PAGES:
        for span in re.findall(r"`([^`\n]+)`", (ROOT / "docs" / page).read_text()):
            names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span))
    return names


@pytest.mark.parametrize("module", public_modules())
def test_a_public_module_exports_only_documented_names(module: str) -> None:
    imported = importlib.import_module(module)
    exported = getattr(imported, "__all__", None)
    assert exported is not None, f"{module} has no __all__"
    assert sorted(set(exported) - documented_names()) == []


def test_every_exported_name_resolves() -> None:
    for module in public_modules():
        imported = importlib.import_module(module)
        for name in imported.__all__:
            assert getattr(imported, name, None) is not None, f"{module}.{name}"
