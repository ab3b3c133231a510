"""The errors of facio's core, in one hierarchy.

FacioError
├── ConfigError            broken config: names the key path and the problem
├── ProviderError          see core.providers.errors for its subclasses
├── SessionStoreError
│   └── CorruptSessionError    a history file that cannot be read back whole
├── ToolError              a tool call the agent cannot run (unknown tool, bad arguments)
├── McpServerError         an MCP server could not be started, reached or used
│   └── McpServerDown          it is not running (failed to start, exited, unreachable)
└── AgentError             misuse of the Agent (stream while another stream runs, …)
"""

from __future__ import annotations


class FacioError(Exception):
    """Base of every error facio raises on purpose."""


class ConfigError(FacioError):
    """The configuration is missing or invalid.

    ``path`` is the dotted key path (``channels.telegram.token``) when the
    problem belongs to one key, else "".
    """

    def __init__(self, message: str, *, path: str = "", source: str = "") -> None:
        self.path = path
        self.source = source
        where = f"{source}: " if source else ""
        at = f"{path}: " if path else ""
        super().__init__(f"{where}{at}{message}")


class SessionStoreError(FacioError):
    """A session history could not be read or written."""


class CorruptSessionError(SessionStoreError):
    """A stored history is damaged; nothing is dropped silently."""


class ToolError(FacioError):
    """A tool call cannot be run; the message is what the model is told."""


class McpServerError(FacioError):
    """An MCP server could not be used; ``server`` is its key in ``mcpServers``.

    The message never holds the server's ``env`` or ``headers`` values.
    """

    def __init__(self, server: str, message: str) -> None:
        self.server = server
        super().__init__(message)


class McpServerDown(McpServerError):
    """The server is not running: it failed to start, exited, or cannot be reached."""


class AgentError(FacioError):
    """The Agent was used in a way it does not support."""
