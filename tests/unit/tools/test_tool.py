"""Tool: the schema the model sees, argument validation, context injection, results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from core.errors import ToolError
from core.tools import Tool, ToolContext, tool


def search(
    query: str,
    limit: int = 5,
    exact: bool = False,
    tags: list[str] | None = None,
    order: Literal["newest", "oldest"] = "newest",
) -> str:
    """Search the notes.

    Looks through every saved note.

    Args:
        query: Words to look for.
        limit (int): How many results at most.
        order: Which results come first.

    Returns:
        The matching notes.
    """
    return query


def _schema_props(t: Tool) -> dict[str, Any]:
    props = t.parameters["properties"]
    assert isinstance(props, dict)
    return props


class Weather(BaseModel):
    city: str
    celsius: float


def test_schema_types_and_defaults() -> None:
    props = _schema_props(Tool(search))
    assert props["query"]["type"] == "string"
    assert props["limit"] == {
        "type": "integer",
        "default": 5,
        "description": "How many results at most.",
        "title": "Limit",
    }
    assert props["exact"]["type"] == "boolean"
    assert props["exact"]["default"] is False
    assert {"type": "array", "items": {"type": "string"}} in props["tags"]["anyOf"]
    assert props["tags"]["default"] is None
    assert props["order"]["enum"] == ["newest", "oldest"]
    assert props["order"]["default"] == "newest"


def test_schema_is_a_closed_object_with_the_right_required_list() -> None:
    schema = Tool(search).parameters
    assert schema["type"] == "object"
    assert schema["required"] == ["query"]
    assert schema["additionalProperties"] is False
    assert "title" not in schema


def test_schema_without_required_parameters() -> None:
    def ping(loud: bool = False) -> str:
        """Ping."""
        return "pong"

    assert Tool(ping).parameters.get("required", []) == []


def test_descriptions_come_from_the_docstring() -> None:
    t = Tool(search)
    assert t.description == "Search the notes. Looks through every saved note."
    props = _schema_props(t)
    assert props["query"]["description"] == "Words to look for."
    assert props["order"]["description"] == "Which results come first."
    assert "description" not in props["exact"]  # not documented in Args:
    assert "Returns" not in json.dumps(t.parameters)


def test_description_falls_back_to_name_and_can_be_given() -> None:
    def undocumented(x: int) -> int:
        return x

    assert Tool(undocumented).description == "undocumented"
    assert Tool(undocumented, description="Explicit.").description == "Explicit."


def test_context_parameter_is_not_in_the_schema() -> None:
    def whoami(greeting: str, ctx: ToolContext) -> str:
        """Who is calling."""
        return f"{greeting} {ctx.session_key}"

    t = Tool(whoami)
    assert list(_schema_props(t)) == ["greeting"]
    assert t.parameters["required"] == ["greeting"]
    # the model may not pass it either
    with pytest.raises(ToolError, match="ctx"):
        t.validate({"greeting": "hi", "ctx": {}})


async def test_context_is_injected_on_call(tmp_path: Path) -> None:
    seen: list[ToolContext] = []

    def whoami(greeting: str, ctx: ToolContext) -> str:
        """Who is calling."""
        seen.append(ctx)
        return f"{greeting} {ctx.session_key} {ctx.user}"

    context = ToolContext(session_key="telegram:7", workspace=tmp_path, user="ann")
    assert await Tool(whoami).call({"greeting": "hi"}, context) == "hi telegram:7 ann"
    assert seen == [context]


async def test_default_context_when_none_is_given() -> None:
    def whoami(ctx: ToolContext) -> str:
        """Who is calling."""
        return f"{ctx.session_key}/{ctx.agent_id}"

    assert await Tool(whoami).call({}) == "default/main"


async def test_sync_and_async_functions() -> None:
    def double(n: int) -> int:
        """Double."""
        return n * 2

    async def triple(n: int) -> int:
        """Triple."""
        return n * 3

    assert await Tool(double).call({"n": 4}) == "8"
    assert await Tool(triple).call({"n": 4}) == "12"


async def test_arguments_are_validated_and_defaults_filled() -> None:
    received: list[dict[str, Any]] = []

    def record(query: str, limit: int = 5, order: Literal["newest", "oldest"] = "newest") -> str:
        """Record."""
        received.append({"query": query, "limit": limit, "order": order})
        return "ok"

    await Tool(record).call({"query": "milk", "limit": "7"})
    assert received == [{"query": "milk", "limit": 7, "order": "newest"}]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ("plain text, not quoted", "plain text, not quoted"),
        ("", ""),
        ({"b": 1, "a": [1, 2], "name": "Zoë"}, {"b": 1, "a": [1, 2], "name": "Zoë"}),
        ([1, "two", None], [1, "two", None]),
        (42, 42),
        (None, None),
        (Weather(city="Oslo", celsius=-3.5), {"city": "Oslo", "celsius": -3.5}),
    ],
    ids=["str", "empty-str", "dict", "list", "int", "none", "pydantic"],
)
async def test_result_conversion(result: Any, expected: Any) -> None:
    def produce() -> Any:
        """Produce."""
        return result

    text = await Tool(produce).call({})
    assert isinstance(text, str)
    if isinstance(result, str):
        assert text == expected
    else:
        assert json.loads(text) == expected


async def test_dict_result_keeps_non_ascii_readable() -> None:
    def produce() -> dict[str, str]:
        """Produce."""
        return {"city": "Zürich"}

    assert "Zürich" in await Tool(produce).call({})


@pytest.mark.parametrize(
    ("arguments", "field", "problem"),
    [
        ({}, "query", "required"),
        ({"query": "x", "limit": "many"}, "limit", "integer"),
        ({"query": "x", "exact": "perhaps"}, "exact", "boolean"),
        ({"query": "x", "order": "random"}, "order", "newest"),
        ({"query": "x", "tags": "not-a-list"}, "tags", "list"),
        ({"query": "x", "color": "red"}, "color", "extra"),
    ],
    ids=["missing", "wrong-int", "wrong-bool", "bad-literal", "wrong-list", "extra"],
)
def test_validation_errors_name_the_field(
    arguments: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(ToolError) as info:
        Tool(search).validate(arguments)
    message = str(info.value)
    assert message.startswith("invalid arguments for search: ")
    assert f"{field}:" in message
    assert problem in message.lower()


def test_validation_reports_every_problem() -> None:
    with pytest.raises(ToolError) as info:
        Tool(search).validate({"limit": "x", "color": 1})
    message = str(info.value)
    assert "query:" in message and "limit:" in message and "color:" in message


async def test_invalid_arguments_never_run_the_function() -> None:
    calls: list[int] = []

    def count(n: int) -> str:
        """Count."""
        calls.append(n)
        return "ok"

    with pytest.raises(ToolError, match="n:"):
        await Tool(count).call({"n": "lots"})
    assert calls == []


@pytest.mark.parametrize(
    "name", ["has space", "1starts_with_digit", "_underscore_first", "a" * 65, "dot.ted"]
)
def test_invalid_tool_names_are_rejected(name: str) -> None:
    def fn() -> str:
        """Fn."""
        return ""

    with pytest.raises(ValueError, match="invalid tool name"):
        Tool(fn, name=name)


def test_lambda_needs_a_name() -> None:
    with pytest.raises(ValueError, match="invalid tool name"):
        Tool(lambda: "x")
    assert Tool(lambda: "x", name="anon").name == "anon"


@pytest.mark.parametrize("name", ["a", "mcp_time-now", "Tool2", "a" * 64])
def test_valid_tool_names(name: str) -> None:
    def fn() -> str:
        """Fn."""
        return ""

    assert Tool(fn, name=name).name == name


async def test_decorator_forms() -> None:
    @tool
    def plain(x: int) -> int:
        """Plain."""
        return x + 1

    @tool(name="renamed", description="Given.")
    def original(x: int) -> int:
        return x - 1

    assert isinstance(plain, Tool) and plain.name == "plain"
    assert await plain.call({"x": 1}) == "2"
    assert isinstance(original, Tool)
    assert (original.name, original.description) == ("renamed", "Given.")
    assert await original.call({"x": 1}) == "0"


async def test_optional_context_parameter_is_injected() -> None:
    from core.tools import Tool, ToolContext

    def where(context: ToolContext | None = None) -> str:
        """Where am I."""
        assert context is not None
        return context.session_key

    t = Tool(where)
    assert "context" not in t.parameters.get("properties", {})
    assert await t.call({}, ToolContext(session_key="s:1")) == "s:1"


def test_empty_tool_name_is_rejected() -> None:
    from core.tools import Tool

    def f() -> str:
        """F."""
        return ""

    with pytest.raises(ValueError, match="invalid tool name"):
        Tool(f, name="")


class Item(BaseModel):
    a: int


async def test_list_of_models_becomes_json() -> None:
    import json as _json

    from core.tools import Tool

    def items() -> list[Item]:
        """Items."""
        return [Item(a=1), Item(a=2)]

    assert _json.loads(await Tool(items).call({})) == [{"a": 1}, {"a": 2}]
