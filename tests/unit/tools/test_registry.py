"""ToolRegistry: unique names, lookups that explain themselves, specs for the model."""

from __future__ import annotations

import pytest

from core.errors import ToolError
from core.providers.base import ToolSpec
from core.tools import Tool, ToolRegistry


def _tool(name: str, doc: str = "Does a thing.") -> Tool:
    def fn(value: str) -> str:
        return value

    return Tool(fn, name=name, description=doc)


def test_tools_are_found_by_name_in_order() -> None:
    alpha, beta = _tool("beta"), _tool("alpha")
    registry = ToolRegistry([alpha, beta])
    assert registry.get("beta") is alpha
    assert registry.get("alpha") is beta
    assert registry.names() == ["beta", "alpha"]
    assert list(registry) == [alpha, beta]
    assert len(registry) == 2
    assert "alpha" in registry
    assert "gamma" not in registry


def test_duplicate_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate tool name: same"):
        ToolRegistry([_tool("same"), _tool("same")])
    registry = ToolRegistry([_tool("same", "first")])
    with pytest.raises(ValueError, match="same"):
        registry.add(_tool("same", "second"))
    assert registry.get("same").description == "first"
    assert len(registry) == 1


def test_unknown_tool_lists_the_available_ones() -> None:
    registry = ToolRegistry([_tool("save_note"), _tool("current_time")])
    with pytest.raises(ToolError) as info:
        registry.get("delete_everything")
    message = str(info.value)
    assert "'delete_everything'" in message
    assert message.endswith("available tools: current_time, save_note")


def test_unknown_tool_in_an_empty_registry() -> None:
    with pytest.raises(ToolError, match="available tools: none"):
        ToolRegistry().get("anything")


def test_specs_describe_every_tool_in_order() -> None:
    first, second = _tool("first", "The first."), _tool("second", "The second.")
    specs = ToolRegistry([first, second]).specs()
    assert specs == [
        ToolSpec("first", "The first.", first.parameters),
        ToolSpec("second", "The second.", second.parameters),
    ]
    assert specs[0].parameters["required"] == ["value"]
    assert ToolRegistry().specs() == []
