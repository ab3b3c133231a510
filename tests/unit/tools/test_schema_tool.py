"""SchemaTool: a JSON Schema tool with cheap argument checks and an async callable."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import ToolError
from core.tools.schema_tool import SchemaTool
from core.tools.tool import ToolContext

SCHEMA = {
    "title": "addArguments",
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}


async def _add(arguments: dict[str, Any], context: ToolContext) -> str:
    return str(arguments["a"] + arguments["b"]) + f" in {context.session_key}"


def test_schema_is_offered_as_given_without_title() -> None:
    tool = SchemaTool("srv_add", "Add.", SCHEMA, _add)
    assert tool.parameters == {k: v for k, v in SCHEMA.items() if k != "title"}
    assert (tool.name, tool.description, tool.manages_timeout) == ("srv_add", "Add.", False)


def test_missing_properties_and_type_are_filled_in() -> None:
    tool = SchemaTool("srv_ping", "", {}, _add)
    assert tool.parameters == {"type": "object", "properties": {}}
    assert tool.description == "srv_ping"


def test_non_object_schema_and_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match="object schema"):
        SchemaTool("srv_x", "", {"type": "string"}, _add)
    with pytest.raises(ValueError, match="invalid tool name"):
        SchemaTool("srv.x", "", SCHEMA, _add)


def test_cheap_checks() -> None:
    tool = SchemaTool("srv_add", "Add.", SCHEMA, _add)
    assert tool.validate({"a": 1, "b": 2, "extra": True}) == {"a": 1, "b": 2, "extra": True}
    with pytest.raises(ToolError, match=r"invalid arguments for srv_add: missing .*: a, b"):
        tool.validate({})
    with pytest.raises(ToolError, match="expected a JSON object"):
        tool.validate([1, 2])  # type: ignore[arg-type]
    closed = SchemaTool("srv_add", "Add.", {**SCHEMA, "additionalProperties": False}, _add)
    with pytest.raises(ToolError, match=r"unknown argument\(s\): extra"):
        closed.validate({"a": 1, "b": 2, "extra": True})


async def test_call_validates_then_runs_with_the_context() -> None:
    tool = SchemaTool("srv_add", "Add.", SCHEMA, _add)
    assert await tool.call({"a": 1, "b": 2}, ToolContext(session_key="s1")) == "3 in s1"
    assert await tool.call({"a": 1, "b": 2}) == "3 in default"
    with pytest.raises(ToolError):
        await tool.call({"a": 1})
