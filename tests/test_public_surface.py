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
import subprocess
import sys
import typing

import pytest

import cuprum
import cuprum.catalogue
import cuprum.sh

# At run time: `typing.get_type_hints(user_code)` resolves these.
from cuprum.context import AfterHook, BeforeHook  # noqa: TC001
from cuprum.events import ExecHook  # noqa: TC001
from cuprum.pump_events import PumpHook  # noqa: TC001
from cuprum.sh import ArgValue  # noqa: TC001

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


def test_the_package_exports_every_catalogue_name() -> None:
    assert sorted(set(cuprum.catalogue.__all__) - set(cuprum.__all__)) == []


def user_code(
    arg: ArgValue,
    first: BeforeHook,
    last: AfterHook,
    seen: ExecHook,
    pump: PumpHook,
) -> None:
    """A user's function annotated with the guide's types."""


def test_the_types_to_annotate_with_resolve_at_run_time() -> None:
    """Annotations with the guide's types resolve (`typing.get_type_hints`)."""
    hints = typing.get_type_hints(user_code)
    assert set(hints) == {"arg", "first", "last", "seen", "pump", "return"}
    made = cuprum.sh.CommandBuilder.__call__
    for function in (cuprum.sh.make, made, cuprum.sh.build_argv):
        assert typing.get_type_hints(function), function


def test_a_star_import_of_the_package_type_checks(tmp_path: pathlib.Path) -> None:
    """``from cuprum import *`` gives a type checker every name of ``__all__``."""
    pytest.importorskip("mypy", reason="mypy is a dev tool: not in a wheel's test venv")
    user = tmp_path / "star_user.py"
    names = ", ".join(name for name in cuprum.__all__ if name not in {"sh", "builders"})
    user.write_text(f"from cuprum import *  # noqa: F403\n\nused = ({names},)\n")
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(user)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
