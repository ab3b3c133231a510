"""Which tools a bot gets: built-ins by name, plus the toolsets its config asks for.

A bot spec names its tools (``bots.<name>.tools`` or its preset's). A name is
a built-in tool (:data:`core.tools.builtin.BUILTIN_TOOLS`) or one a toolset
provides (code execution: ``ipybox_execute_ipython_cell``…); every name must
resolve, or the config is wrong. Toolsets that the config enables as a whole
(``mcpServers``) are added for every bot.

The schedule tools (:data:`RUNTIME_TOOLS`) exist only where a process
provides them: the distributed runtime's workers pass them in ``available``
(they need Redis, and a worker to fire what they schedule). A bot may always
name them; without a provider (the SDK, ``facio chat``/``facio run``) they
are left out rather than offered to do nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.agent.subagent import SUBAGENT_TOOL
from core.code import CODE_TOOL_NAMES, CodeToolset
from core.config.models import FacioConfig
from core.errors import ConfigError
from core.tools.builtin import BUILTIN_TOOLS
from core.tools.tool import Tool
from core.tools.toolset import Toolset

__all__ = ["RUNTIME_TOOLS", "BotTools", "resolve_tools"]

RUNTIME_TOOLS = frozenset({"schedule_create", "schedule_list", "schedule_cancel"})
"""Tools that only the distributed runtime provides (workers/schedules/tools.py)."""


@dataclass
class BotTools:
    """A bot's tools: ready ones, and toolsets that set up when an agent starts."""

    tools: list[Tool] = field(default_factory=list)
    toolsets: list[Toolset] = field(default_factory=list)
    subagents: bool = False
    """The bot names ``subagent_task``: its agents offer it (``AgentSettings.max_subagents``,
    from ``agent.maxSubagents``; with 0 they do not)."""


def resolve_tools(
    bot: str,
    names: tuple[str, ...],
    *,
    available: Mapping[str, Tool] = BUILTIN_TOOLS,
    config: FacioConfig | None = None,
) -> BotTools:
    """The tools ``names`` select; ConfigError naming ``bots.<bot>.tools`` for unknown ones.

    ``subagent_task`` is only flagged (``BotTools.subagents``): the agent
    offers it itself, when :class:`bots.sdk.Facio` gives it ``max_subagents``.
    The code tools (``ipybox_execute_ipython_cell``, ``ipybox_reset``) come
    from one :class:`~core.code.CodeToolset` built from ``config`` (its
    workspace, ``code`` section and ``ptcServers``), which they require.
    With ``config``, the toolsets it enables for every bot are added too: the
    MCP servers of ``mcpServers`` (nothing starts until an agent starts).
    """
    known = {*available, *CODE_TOOL_NAMES, SUBAGENT_TOOL, *RUNTIME_TOOLS}
    missing = [name for name in names if name not in known]
    if missing:
        raise ConfigError(
            f"unknown tool(s) {', '.join(missing)}; available: {', '.join(sorted(known))}",
            path=f"bots.{bot}.tools",
        )
    tools = [available[name] for name in names if name in available]
    toolsets: list[Toolset] = []
    code = tuple(name for name in names if name in CODE_TOOL_NAMES)
    if code:
        if config is None:
            raise ConfigError(f"{', '.join(code)} need the config", path=f"bots.{bot}.tools")
        toolsets.append(CodeToolset.from_config(config, tools=code))
    if config is not None and config.mcp_servers:
        from core.mcp import McpToolset  # the mcp package is slow to import: only when needed

        reserved = [t.name for t in tools] + list(code)
        toolsets.append(McpToolset.from_config(config, reserved=reserved))
    return BotTools(tools=tools, toolsets=toolsets, subagents=SUBAGENT_TOOL in names)
