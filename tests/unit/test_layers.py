"""The layers import downward only: core knows no bots, channels, workers or front door;
channels reach workers through one client; the low parts of core know no assembly."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _violations(
    package: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()
) -> list[str]:
    bad: list[str] = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in allowed:
            continue
        for module in _imports(path):
            if module.split(".")[0] in forbidden or module.startswith(forbidden):
                bad.append(f"{relative} imports {module}")
    return bad


@pytest.mark.parametrize(
    ("package", "forbidden", "allowed"),
    [
        ("core", ("bots", "channels", "workers", "facio"), ()),
        ("core/tools", ("core.agent", "core.code", "core.mcp"), ()),
        ("bots", ("channels", "workers", "facio"), ()),
        ("workers", ("channels", "facio"), ()),
        ("channels", ("workers",), ("channels/runtime.py",)),
    ],
)
def test_a_layer_imports_nothing_above_it(
    package: str, forbidden: tuple[str, ...], allowed: tuple[str, ...]
) -> None:
    assert _violations(package, forbidden, allowed) == []
