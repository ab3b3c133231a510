"""A tool described by a raw JSON Schema instead of a typed Python function.

MCP servers describe their tools with JSON Schema; there is no Python
signature to build a pydantic model from. A :class:`SchemaTool` offers the
schema to the model as it is and checks only what is cheap and certain (the
arguments are a JSON object, required keys are there, no unknown keys when the
schema forbids them); deeper checks are the server's, and its complaint comes
back as a tool error the model sees.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from core.errors import ToolError
from core.tools.tool import TOOL_NAME, Tool, ToolContext

__all__ = ["SchemaCall", "SchemaTool"]

SchemaCall = Callable[[dict[str, Any], ToolContext], Awaitable[str]]
"""Runs a call with the checked arguments; returns the text the model sees."""


def _object_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema as a JSON object schema (what the model APIs accept as parameters)."""
    parameters = {k: v for k, v in schema.items() if k != "title"}
    parameters.setdefault("type", "object")
    if parameters["type"] != "object":
        raise ValueError(f"tool parameters must be an object schema, not {parameters['type']!r}")
    properties = parameters.get("properties")
    parameters["properties"] = dict(properties) if isinstance(properties, Mapping) else {}
    return parameters


class SchemaTool(Tool):
    """A tool with a JSON Schema for parameters and an async callable behind it.

    It is a :class:`Tool` everywhere the agent looks (name, description,
    parameters, validate, call); :class:`Tool`'s own constructor is not used
    because there is no Python signature to read.
    """

    def __init__(
        self,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        call: SchemaCall,
        *,
        manages_timeout: bool = False,
    ) -> None:
        """``parameters``: the JSON Schema of the arguments (an object schema)."""
        if not TOOL_NAME.match(name):
            raise ValueError(f"invalid tool name {name!r}: use letters, digits, _ and -")
        self.name = name
        self.description = description or name
        self.parameters = _object_schema(parameters)
        self.manages_timeout = manages_timeout
        self.fn = call
        self._call = call
        required = self.parameters.get("required", [])
        self._required = [k for k in required if isinstance(k, str)]
        self._closed = self.parameters.get("additionalProperties") is False

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The cheap checks; raises ToolError with a message for the model."""
        if not isinstance(arguments, dict):
            raise ToolError(f"invalid arguments for {self.name}: expected a JSON object")
        problems: list[str] = []
        missing = [key for key in self._required if key not in arguments]
        if missing:
            problems.append(f"missing required argument(s): {', '.join(missing)}")
        if self._closed:
            unknown = [key for key in arguments if key not in self.parameters["properties"]]
            if unknown:
                problems.append(f"unknown argument(s): {', '.join(unknown)}")
        if problems:
            raise ToolError(f"invalid arguments for {self.name}: {'; '.join(problems)}")
        return dict(arguments)

    async def call(self, arguments: dict[str, Any], context: ToolContext | None = None) -> str:
        """Check the arguments, then run the callable; the result is the model's text."""
        return await self._call(self.validate(arguments), context or ToolContext())
