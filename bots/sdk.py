"""The SDK: one direct agent run in the caller's process (no Redis, no gateway).

    async with Facio.from_config("config.json") as bot:  # kernels start warming
        result = await bot.run("remember to buy milk", session_key="me")
        print(result.content, result.tools_used, result.rejected)

Deny by default: a tool call that no permission rule allows and no hook
approves is rejected, and ``RunResult.rejected`` says which.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from bots.presets import builtin_scripts
from bots.resolve import resolve_bot
from bots.toolbox import resolve_tools
from core.agent import Agent, AgentSettings
from core.config import FacioConfig, load_config
from core.errors import ConfigError
from core.events import ApprovalRequest, Response
from core.hooks import Hook
from core.inbound import Inbound
from core.messages import AssistantMessage, Message, ToolStarted
from core.permissions import PermissionManager
from core.permissions.manager import PERMISSIONS_FILE
from core.permissions.store import FilePermissionStore, PermissionStore
from core.providers.base import Provider
from core.providers.factory import build_provider
from core.sessions import JsonlSessionStore, SessionStore
from core.tools.builtin import BUILTIN_TOOLS
from core.tools.tool import Tool
from core.tools.toolset import SessionToolset, Toolset, WarmingToolset

SESSIONS_DIR = Path(".facio") / "sessions"


@dataclass(frozen=True)
class RunResult:
    """What one ``Facio.run`` did."""

    content: str
    """The last answer of the run ("" when there was none)."""
    tools_used: list[str]
    """Tools that ran, in order (rejected and invalid calls are not counted)."""
    messages: list[Message]
    """The messages this run added to the session history, the prompt first."""
    rejected: list[str]
    """Tools whose calls were rejected (by a hook, the person, or deny-by-default)."""


def _ran(messages: list[Message]) -> list[str]:
    names = {
        call.id: call.name
        for m in messages
        if isinstance(m, AssistantMessage)
        for call in m.tool_calls
    }
    return [names.get(m.tool_call_id, "?") for m in messages if isinstance(m, ToolStarted)]


class Facio:
    """A configured bot, ready to run in this process."""

    def __init__(
        self,
        config: FacioConfig,
        *,
        bot: str = "main",
        client: httpx.AsyncClient | None = None,
        sessions: SessionStore | None = None,
        permission_store: PermissionStore | None = None,
        runtime_tools: Mapping[str, Tool] | None = None,
    ) -> None:
        """``sessions`` and ``permission_store`` default to files in the workspace;
        the distributed runtime passes Redis-backed ones, and ``runtime_tools``: the
        tools of :data:`~bots.toolbox.RUNTIME_TOOLS` (schedules), offered
        when the bot names them. In the SDK nothing would ever fire a schedule,
        so without them those names are left out."""
        if bot not in config.bots:
            raise ConfigError(f"no bot named {bot!r}; bots: {', '.join(config.bots)}", path="bots")
        self.config = config
        self.spec = resolve_bot(bot, config.bots[bot], config.agent)
        self.workspace = config.workspace
        available = {**BUILTIN_TOOLS, **(runtime_tools or {})}
        bot_tools = resolve_tools(bot, self.spec.tools, available=available, config=config)
        self.tools: list[Tool] = bot_tools.tools
        self.toolsets: list[Toolset] = bot_tools.toolsets
        base_dir = config.config_path.parent if config.config_path else Path.cwd()
        built = build_provider(
            self.spec.model,
            config.providers,
            scripts=builtin_scripts(),
            base_dir=base_dir,
            client=client,
        )
        self.provider: Provider = built.provider
        self.settings = AgentSettings(
            model=built.model,
            system_prompt=self.spec.system_prompt,
            max_turns=config.agent.max_turns,
            approval_timeout=config.agent.approval_timeout,
            execution_timeout=config.agent.execution_timeout,
            # the agent offers subagent_task when the bot names it and agent.maxSubagents > 0
            max_subagents=config.agent.max_subagents if bot_tools.subagents else 0,
        )
        self.sessions: SessionStore = sessions or JsonlSessionStore(self.workspace / SESSIONS_DIR)
        self.permission_store: PermissionStore = permission_store or FilePermissionStore(
            self.workspace / PERMISSIONS_FILE
        )
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_config(
        cls,
        config_path: str | Path | None = None,
        *,
        workspace: str | Path | None = None,
        bot: str = "main",
    ) -> Facio:
        """Load config.json (lookup order of docs/design.md when no path is given)."""
        return cls(load_config(config_path, workspace=workspace), bot=bot)

    def permissions(
        self, session_key: str, *, store: PermissionStore | None = None
    ) -> PermissionManager:
        return PermissionManager(
            store=store or self.permission_store, session_key=session_key, defaults=self.spec.allow
        )

    def agent(
        self,
        session_key: str,
        *,
        hooks: Iterable[Hook] = (),
        user: str | None = None,
        store: SessionStore | None = None,
        permission_store: PermissionStore | None = None,
        origin: Inbound | None = None,
    ) -> Agent:
        """An Agent on ``session_key`` with this bot's model, tools and rules; ``store`` and
        ``permission_store`` replace the bot's for this agent (the runtime's turns read
        the history and the rules once, with the turn's state, and write through the turn);
        ``origin`` is the runtime's message of the turn (tools see it)."""
        return Agent(
            self.provider,
            settings=self.settings,
            tools=self.tools,
            session_key=session_key,
            store=store or self.sessions,
            permissions=self.permissions(session_key, store=permission_store),
            hooks=hooks,
            workspace=self.workspace,
            user=user,
            toolsets=self.toolsets,
            origin=origin,
        )

    async def reset_session(self, session_key: str) -> None:
        """Start the session over: forget its history, its "allow for session" rules
        and what toolsets keep for it (its Python kernel)."""
        async with self._locks.setdefault(session_key, asyncio.Lock()):
            await self.sessions.delete(session_key)
            await self.permission_store.clear_session(session_key)
            await self.forget_tool_state(session_key)

    async def forget_tool_state(self, session_key: str) -> None:
        """Let toolsets drop what they keep for ``session_key`` (stop its kernels)."""
        for toolset in self.toolsets:
            if isinstance(toolset, SessionToolset):
                await toolset.forget_session(session_key)

    async def run(
        self,
        message: str,
        *,
        session_key: str = "sdk:default",
        hooks: Iterable[Hook] = (),
        max_turns: int | None = None,
        user: str | None = None,
    ) -> RunResult:
        """Run one turn to the end; undecided approvals are rejected (deny by default)."""
        lock = self._locks.setdefault(session_key, asyncio.Lock())
        async with lock:
            agent = self.agent(session_key, hooks=hooks, user=user)
            async with agent:
                before = len(agent.history)
                content, rejected = "", []
                async for event in agent.stream(message, max_turns=max_turns):
                    if isinstance(event, ApprovalRequest):
                        if event.decision is None:
                            event.approve(False)
                        if event.decision is False:
                            rejected.append(event.tool_name)
                    elif isinstance(event, Response):
                        content = event.content
                added = agent.history[before:]
        return RunResult(content=content, tools_used=_ran(added), messages=added, rejected=rejected)

    async def aclose(self) -> None:
        """Close the model client and the toolsets (kernels, MCP server processes)."""
        try:
            for toolset in self.toolsets:
                await toolset.aclose()
        finally:
            await self.provider.aclose()

    async def start(self) -> None:
        """Get ready for the first message, in the background, and return at once: a bot
        with code actions starts warming its kernels (``code.poolSize``), so its first
        code action takes the warm kernel (or waits for the one starting) instead of
        starting one then. ``async with Facio...`` calls it; without it, kernels start
        warming when the first agent starts."""
        for toolset in self.toolsets:
            if isinstance(toolset, WarmingToolset):
                toolset.warm_up()

    async def __aenter__(self) -> Facio:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
