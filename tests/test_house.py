"""The package's house rules, over every module of ``cuprum/`` and its sub-packages.

No module is over 600 lines, and no import cycle runs between modules,
counting imports made inside functions (design section 4).
"""

from __future__ import annotations

import ast
import pathlib

import cuprum

PACKAGE = pathlib.Path(cuprum.__file__).parent
MAX_LINES = 600


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: pathlib.Path, modules: set[str]) -> set[str]:
    """Every module of ``modules`` that ``path`` imports, at any depth."""
    found: set[str] = set()
    here = module_name(path)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in modules and name != here}


def test_no_module_is_over_600_lines() -> None:
    sizes = {
        module_name(path): len(path.read_text().splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert sizes, "no module found"
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_no_import_cycle() -> None:
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    modules = set(paths) - {"cuprum"}  # the package's __init__ imports its own
    graph = {name: imports_of(paths[name], modules) for name in modules}
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(name: str, stack: list[str]) -> None:
        for dependency in sorted(graph[name]):
            if dependency in stack:
                cycles.append([*stack[stack.index(dependency) :], dependency])
            elif dependency not in done:
                visit(dependency, [*stack, dependency])
        done.add(name)

    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert cycles == []
