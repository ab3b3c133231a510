"""Dependency traps that must fail loudly, not in production.

ipybox 0.9.2 (code actions) imports mcpygen, whose code generator imports
names that mcp 2.x removed: with mcp>=2, ``import ipybox`` fails. pyproject.toml
pins mcp below 2. If someone lifts the pin without a fix, these tests fail.
"""

from __future__ import annotations

import importlib
import importlib.metadata

from packaging.version import Version


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
