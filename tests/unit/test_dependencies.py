"""Dependency traps that must fail loudly, not in production.

ipybox 0.9.2 (code actions) imports mcpygen, whose code generator imports
names that mcp 2.x removed: with mcp>=2, ``import ipybox`` fails. pyproject.toml
pins mcp below 2. If someone lifts the pin without a fix, these tests fail: the
pin is read from pyproject.toml itself (failing before anything is reinstalled),
and the installed versions are checked too.

jsonschema 4.24+ makes every kernel and MCP server start ~1.9 s slower (its
format-nongpl extra brings rfc3987-syntax, which builds Earley parsers at
import); pyproject.toml pins 4.23, and a test fails if the pinned one pulls it in.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
MCP_PIN = "mcp==1.30.0"


def test_ipybox_and_its_code_generator_import() -> None:
    ipybox = importlib.import_module("ipybox")
    assert hasattr(ipybox, "generate_mcp_sources")
    importlib.import_module("ipybox.code_exec")
    importlib.import_module("ipybox.mcp_server")


def test_mcp_is_pinned_below_2_while_ipybox_needs_it() -> None:
    ipybox = Version(importlib.metadata.version("ipybox"))
    mcp = Version(importlib.metadata.version("mcp"))
    if ipybox <= Version("0.9.2"):
        assert mcp < Version("2"), (
            f"mcp {mcp} with ipybox {ipybox}: ipybox's generator breaks on mcp 2.x; "
            "keep the pin in pyproject.toml or upgrade ipybox"
        )


def _comment_above(lines: list[str], index: int) -> str:
    """The ``#`` comment lines right above ``lines[index]``, joined."""
    comment: list[str] = []
    while index > 0 and lines[index - 1].strip().startswith("#"):
        index -= 1
        comment.insert(0, lines[index].strip().lstrip("#").strip())
    return " ".join(comment)


def test_pyproject_pins_mcp_and_says_why() -> None:
    text = PYPROJECT.read_text(encoding="utf-8")
    dependencies = tomllib.loads(text)["project"]["dependencies"]
    pins = [d for d in dependencies if Requirement(d).name == "mcp"]
    assert pins == [MCP_PIN], (
        f"pyproject.toml pins {pins or 'no mcp'}: ipybox 0.9.2's generator breaks on mcp 2.x; "
        "keep the pin or upgrade ipybox (then update this test)"
    )
    lines = text.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.strip().startswith(f'"{MCP_PIN}"')]
    reason = _comment_above(lines, at)
    assert "ipybox" in reason and "mcp 2" in reason, f"the pin's comment says: {reason!r}"


def test_the_installed_mcp_is_the_pinned_one() -> None:
    pinned = Requirement(MCP_PIN).specifier
    installed = importlib.metadata.version("mcp")
    assert installed in pinned, f"mcp {installed} is installed; pyproject.toml pins {MCP_PIN}"


def test_jsonschema_does_not_bring_the_slow_iri_parser() -> None:
    requires = importlib.metadata.requires("jsonschema") or []
    slow = [r for r in requires if Requirement(r).name == "rfc3987-syntax"]
    assert not slow, (
        f"jsonschema {importlib.metadata.version('jsonschema')} requires {slow}: importing it "
        "costs ~1.9 s in every kernel start; keep jsonschema==4.23.0 in pyproject.toml"
    )
