"""Which tools a bot gets: built-ins by name, the user's by import path, plus
the toolsets its config asks for.

A bot spec names its tools (``bots.<name>.tools`` or its preset's). A name is
a built-in tool (:data:`core.tools.builtin.BUILTIN_TOOLS`) or one a toolset
provides (code execution: ``ipybox_execute_ipython_cell``…); an entry with a
``:`` or a ``.`` is the import path of tools of the user's own
(:mod:`bots.imports`). Every entry must resolve, or the config is wrong.
Toolsets that the config enables as a whole (``mcpServers``) are added for
every bot. :func:`check_bots` checks every bot's tools without building
anything: worker start and ``facio doctor`` use it.

The schedule tools (:data:`RUNTIME_TOOLS`) exist only where a process
provides them: the distributed runtime's workers pass them in ``available``
(they need Redis, and a worker to fire what they schedule). A bot may always
name them; without a provider (the SDK, ``facio chat``/``facio run``) they
are left out rather than offered to do nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bots.imports import ImportedTool, import_tools, is_import_path
from bots.resolve import resolve_bot
from bots.spec import BotSpec
from core.agent.subagent import SUBAGENT_TOOL
from core.code import CODE_TOOL_NAMES, CodeToolset
from core.config.models import FacioConfig
from core.errors import ConfigError
from core.tools.builtin import BUILTIN_TOOLS
from core.tools.tool import Tool
from core.tools.toolset import Toolset

__all__ = [
    "RUNTIME_TOOLS",
    "BotTools",
    "CheckedTools",
    "check_bot",
    "check_bots",
    "check_tools",
    "resolve_tools",
    "search_folder",
]

RUNTIME_TOOLS = frozenset({"schedule_create", "schedule_list", "schedule_cancel"})
"""Tools that only the distributed runtime provides (workers/schedules/tools.py)."""

OWN_TOOLS = frozenset({*BUILTIN_TOOLS, *CODE_TOOL_NAMES, SUBAGENT_TOOL, *RUNTIME_TOOLS})
"""Every name of facio's own tools: a bot may name them; the user's tools may not take them."""


@dataclass(frozen=True)
class CheckedTools:
    """A bot's tool entries, checked: facio's own by name, the user's imported."""

    spec: BotSpec
    own: tuple[str, ...]
    """The names of facio's own tools, as the entries give them."""
    imported: tuple[ImportedTool, ...]
    """The user's tools, from the import-path entries."""


def search_folder(config: FacioConfig | None) -> Path | None:
    """Where the user's tool modules may lie besides the installed packages: the
    config file's folder (none for a config without a file)."""
    if config is None or config.config_path is None:
        return None
    return config.config_path.parent


def check_tools(
    bot: str,
    names: Sequence[str],
    *,
    known: frozenset[str] = OWN_TOOLS,
    search: Path | None = None,
) -> list[ImportedTool]:
    """Check ``bots.<bot>.tools`` without building anything; the user's tools it imports.

    ConfigError naming ``bots.<bot>.tools`` for an unknown tool name, or
    ``bots.<bot>.tools[<i>]`` for an import path that does not give tools
    (see :mod:`bots.imports`). ``known``: the names of facio's own tools.
    """
    missing = [name for name in names if not is_import_path(name) and name not in known]
    if missing:
        raise ConfigError(
            f"unknown tool(s) {', '.join(missing)}; available: {', '.join(sorted(known))}; "
            "tools of your own are named by import path ('package.module:tool')",
            path=f"bots.{bot}.tools",
        )
    return import_tools(bot, names, reserved=known, search=search)


def check_bot(config: FacioConfig, name: str) -> CheckedTools:
    """Bot ``name``'s tools, checked: its preset resolved, the user's tools imported."""
    spec = resolve_bot(name, config.bots[name], config.agent)
    imported = check_tools(name, spec.tools, search=search_folder(config))
    own = tuple(t for t in spec.tools if not is_import_path(t))
    return CheckedTools(spec, own, tuple(imported))


def check_bots(config: FacioConfig) -> dict[str, CheckedTools]:
    """Every bot's tools, checked (:func:`check_bot`).

    A process that runs the agent calls it at start, so a wrong entry stops it
    there with a ConfigError rather than failing a person's first message.
    """
    return {name: check_bot(config, name) for name in config.bots}


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

    Import-path entries give the user's tools (:func:`check_tools`), imported
    with the folder of ``config``'s file searched too.

    ``subagent_task`` is only flagged (``BotTools.subagents``): the agent
    offers it itself, when :class:`bots.sdk.Facio` gives it ``max_subagents``.
    The code tools (``ipybox_execute_ipython_cell``, ``ipybox_reset``) come
    from one :class:`~core.code.CodeToolset` built from ``config`` (its
    workspace, ``code`` section and ``ptcServers``), which they require.
    With ``config``, the toolsets it enables for every bot are added too: the
    MCP servers of ``mcpServers`` (nothing starts until an agent starts).
    """
    known = OWN_TOOLS | frozenset(available)
    imported = check_tools(bot, names, known=known, search=search_folder(config))
    tools = [available[name] for name in names if name in available]
    tools += [item.tool for item in imported]
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
