"""MCP tool names: ``<server>_<tool>``, cleaned and shortened deterministically."""

from __future__ import annotations

from core.mcp.names import exposed_name
from core.tools.tool import TOOL_NAME


def test_valid_names_are_kept() -> None:
    assert exposed_name("time", "get_current_time") == "time_get_current_time"
    assert exposed_name("gh", "list-issues") == "gh_list-issues"


def test_invalid_characters_are_replaced_and_hashed() -> None:
    dotted = exposed_name("files", "read.file")
    assert dotted.startswith("files_read_file_") and TOOL_NAME.match(dotted)
    # Two names that clean to the same text stay apart.
    assert exposed_name("files", "read/file") != dotted
    assert exposed_name("files", "read.file") == dotted  # deterministic


def test_long_names_are_cut_to_64() -> None:
    name = exposed_name("server", "x" * 100)
    assert len(name) == 64 and TOOL_NAME.match(name)
    assert exposed_name("server", "x" * 100 + "y") != name
    assert len(exposed_name("s" * 70, "t")) == 64


def test_unicode_is_cleaned() -> None:
    name = exposed_name("wiki", "søk")
    assert name.startswith("wiki_s_k_") and TOOL_NAME.match(name)
