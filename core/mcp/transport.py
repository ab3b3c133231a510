"""How facio reaches an MCP server: the process environment, the HTTP client, redaction.

A stdio server is started with exactly ``command`` and ``args``, in the
workspace folder, with an environment of the config's ``env`` on top of a
small safe base (:data:`SAFE_ENV`): never the whole host environment, which
holds facio's own API keys and tokens. A streamable-HTTP server gets the
config's ``headers`` on every request.

``env`` and ``headers`` values may be secrets: a :class:`Redactor` removes
them from everything facio logs or reports about the server.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import httpx
from mcp.client.stdio import StdioServerParameters

from core.config.models_servers import McpServerConfig

__all__ = [
    "SAFE_ENV",
    "Redactor",
    "address",
    "display_url",
    "http_client",
    "server_env",
    "stdio_parameters",
]

SAFE_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
)
"""Host variables a stdio server inherits; everything else comes from its ``env``."""

MIN_SECRET = 6
"""Shorter values are not redacted: too likely to be ordinary words."""

HTTP_CONNECT_TIMEOUT = 30.0
HTTP_READ_TIMEOUT = 300.0
"""The MCP SDK's defaults: a server may hold a response stream open for long."""


def server_env(config: McpServerConfig, host: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a stdio server: the safe base from ``host``, then ``env``."""
    source = os.environ if host is None else host
    base = {
        key: value
        for key in SAFE_ENV
        if (value := source.get(key)) is not None and not value.startswith("()")
    }
    return {**base, **config.env}


def stdio_parameters(config: McpServerConfig, cwd: Path) -> StdioServerParameters:
    """How to start a stdio server (``config.command`` must be set)."""
    assert config.command is not None
    return StdioServerParameters(
        command=config.command,
        args=list(config.args),
        env=server_env(config),
        cwd=cwd,
        encoding_error_handler="replace",
    )


def http_client(config: McpServerConfig) -> httpx.AsyncClient:
    """The HTTP client of a streamable-HTTP server, with its headers."""
    return httpx.AsyncClient(
        headers=dict(config.headers),
        timeout=httpx.Timeout(HTTP_CONNECT_TIMEOUT, read=HTTP_READ_TIMEOUT),
    )


def display_url(url: str) -> str:
    """``url`` without user info, query or fragment (they may carry tokens)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "(invalid url)"
    host = parsed.host or ""
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{host}{port}{parsed.path}"


def address(config: McpServerConfig) -> str:
    """The server for messages: its command line or its URL (never env or headers)."""
    if config.command is not None:
        return " ".join([config.command, *config.args])
    return display_url(config.url or "")


class Redactor:
    """Replaces known secret values with ``***`` in text about a server."""

    def __init__(self, values: Iterable[str]) -> None:
        parts: set[str] = set()
        for value in values:
            parts.add(value)
            words = value.split()
            if len(words) > 1:  # "Bearer <token>", "Basic <credentials>": the last word alone
                parts.add(words[-1])
        # Longest first, so a whole value goes before its parts.
        self._secrets = sorted((p for p in parts if len(p) >= MIN_SECRET), key=len, reverse=True)

    @classmethod
    def for_server(cls, config: McpServerConfig) -> Redactor:
        """A redactor for the server's ``env`` and ``headers`` values."""
        return cls([*config.env.values(), *config.headers.values()])

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text
