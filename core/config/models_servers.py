"""`mcpServers` / `ptcServers`: MCP servers the agent reaches.

A server is either a local process spoken to over stdio (`command`) or a
streamable-HTTP endpoint (`url`); one model with a check instead of a union
keeps the error messages about the user's keys, not about union branches.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from core.config.models_base import ConfigModel, Loc, PositiveSeconds, fail


class McpServerConfig(ConfigModel):
    """One MCP server: `{command, args, env}` or `{url, headers}`."""

    command: str | None = None
    """Program to start for a stdio server."""

    args: list[str] = Field(default_factory=list)
    """Arguments of `command`."""

    env: dict[str, str] = Field(default_factory=dict, repr=False)
    """Extra environment variables for `command` (kept out of repr: they may hold keys)."""

    url: str | None = None
    """Endpoint of a streamable-HTTP server."""

    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    """HTTP headers sent to `url` (kept out of repr: they may hold tokens)."""

    enabled_tools: list[str] | None = None
    """Only these tools of the server are offered to the agent; unset means all."""

    excluded_tools: list[str] = Field(default_factory=list)
    """Tools of the server never offered to the agent."""

    timeout: PositiveSeconds = 60
    """Seconds one tool call may take."""

    @model_validator(mode="after")
    def _one_transport(self) -> Self:
        if (self.command is None) == (self.url is None):
            both = ", not both" if self.command is not None else ""
            message = f"set command (a stdio server) or url (an HTTP server){both}"
            fail("McpServerConfig", [((), message)])
        if self.url is not None:
            misplaced = {"args": self.args, "env": self.env}
            only_for = "only for stdio servers (with command)"
        else:
            misplaced = {"headers": self.headers}
            only_for = "only for HTTP servers (with url)"
        problems: list[tuple[Loc, str]] = [((key,), only_for) for key, v in misplaced.items() if v]
        if problems:
            fail("McpServerConfig", problems)
        return self

    @property
    def transport(self) -> str:
        """`"stdio"` or `"http"`."""
        return "stdio" if self.command is not None else "http"
