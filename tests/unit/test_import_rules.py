"""The house rules, checked on the source: which packages may import which, and nothing shipped is dead.

Imports are read with ``ast`` (function-level imports included), so a lazy import cannot hide an arrow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = ("app.py", "functions", "chalicelib/cli.py")
"""What ships and runs: the API, the functions (each catalogued handler) and the admin CLI."""
PLUGIN_PACKAGES = {"chalicelib.video.detect": "plugin_"}
"""Packages that import their ``plugin_*`` modules by name (pkgutil): reaching the package reaches them."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    found = {}
    for top in ("chalicelib", "functions", "local"):
        for path in (ROOT / top).rglob("*.py"):
            found[_module_name(path)] = path
    found["app"] = ROOT / "app.py"
    return found


def _resolve(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


@cache
def imports_of(module: str) -> frozenset[str]:
    """Every module ``module`` imports, at any depth of its code (``from a import b`` names ``a.b``
    when that is a module of ours, else ``a``)."""
    path = _modules()[module]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, module, path.name == "__init__.py")
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in _modules() else target)
    return frozenset(found)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _in_package(prefix: str) -> Iterator[str]:
    return (name for name in sorted(_modules()) if _under(name, prefix))


RULES = [
    ("chalicelib.services", ("chalicelib.adapters", "chalicelib.wiring", "chalicelib.api", "boto3", "botocore",
                             "local")),
    ("chalicelib.adapters", ("chalicelib.services", "chalicelib.wiring", "chalicelib.api", "local")),
    ("chalicelib.models", ("chalicelib.services", "chalicelib.adapters", "chalicelib.wiring", "boto3", "local")),
    ("chalicelib", ("local",)),
    ("functions", ("local",)),
]


@pytest.mark.parametrize(("package", "forbidden"), RULES, ids=[rule[0] for rule in RULES])
def test_no_arrow_runs_back_up(package: str, forbidden: tuple[str, ...]) -> None:
    broken = sorted(f"{module} imports {name}" for module in _in_package(package)
                    for name in imports_of(module) if any(_under(name, f) for f in forbidden))
    assert not broken, "\n".join(broken)


def _shipped_reach() -> set[str]:
    """Our modules reachable by imports from the entry points (a package counts once any module in it does)."""
    todo = [name for name in _modules() if any(_under(name, _module_name(ROOT / e) if e.endswith(".py") else e)
                                               for e in ENTRY_POINTS)]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen or module not in _modules():
            continue
        seen.add(module)
        if module in PLUGIN_PACKAGES:
            todo += [name for name in _in_package(module) if name.rsplit(".", 1)[-1].startswith(PLUGIN_PACKAGES[module])]
        for name in imports_of(module):
            parts = name.split(".")
            todo += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]  # a module imports its packages
    return seen


def test_nothing_in_chalicelib_is_used_only_by_local_or_tests() -> None:
    shipped = _shipped_reach()
    dead = [name for name in _in_package("chalicelib") if name not in shipped]
    assert not dead, f"shipped but reached only from local/ or tests (move them under local/): {dead}"


def test_the_rules_see_lazy_imports() -> None:
    """A function-level import counts: the wiring's lazy imports are what makes this check worth having."""
    assert "chalicelib.wiring.saferet" in imports_of("chalicelib.wiring.selective_monitor")
    assert "chalicelib.adapters.resources" in imports_of("chalicelib.wiring.cameras")
    assert "local.seoul_catalog" not in _shipped_reach()


@pytest.mark.parametrize("package", sorted(PLUGIN_PACKAGES))
def test_plugin_packages_do_load_their_plugins_by_name(package: str) -> None:
    source = _modules()[package].read_text()
    assert "pkgutil" in source and f'"{PLUGIN_PACKAGES[package]}"' in source
