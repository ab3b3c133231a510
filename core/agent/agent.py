"""The agent: a model, its tools and a session history, streamed as events.

``Agent.stream(prompt)`` runs one turn: it appends the prompt to the history,
calls the model, answers its tool calls (asking for approval), and calls the
model again until it answers without tool calls, ``max_turns`` model calls
were made, or a tool call was rejected. Everything is saved to the session
store as it happens, so the history is always a valid checkpoint:
``stream(None)`` resumes a turn that was suspended waiting for approvals.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from core.agent.model_step import ModelStepResult, model_step
from core.agent.settings import AgentSettings
from core.agent.subagent import SUBAGENT_TOOL, ChildToolsets, SubagentTool
from core.agent.tool_step import INTERRUPTED, StepEnv, StepOutcome, tool_step
from core.errors import AgentError
from core.events import MAIN_AGENT, AgentEvent, Response
from core.hooks import Hook, RunContext
from core.inbound import Inbound
from core.messages import (
    AssistantMessage,
    Message,
    ToolResult,
    ToolStarted,
    UserMessage,
    pending_tool_calls,
    started_tool_calls,
)
from core.permissions import PermissionManager
from core.providers.base import ModelRequest, Provider
from core.sessions.store import MemorySessionStore, SessionStore
from core.tools.registry import ToolRegistry
from core.tools.tool import Tool, ToolContext
from core.tools.toolset import Toolset

SUPERSEDED = "Not run: the person sent a new message instead of deciding on this call."


def closing_results(history: list[Message]) -> list[ToolResult]:
    """Results for the tool calls a new prompt leaves behind undecided.

    A history must answer every tool call before the next user message (the
    model APIs require it); calls that started are reported as interrupted.
    """
    pending = pending_tool_calls(history)
    if pending is None:
        return []
    started = started_tool_calls(history)
    return [
        ToolResult(
            tool_call_id=c.id,
            name=c.name,
            content=INTERRUPTED if c.id in started else SUPERSEDED,
            is_error=True,
        )
        for c in pending[1]
    ]


def _stopped_note(max_turns: int) -> str:
    return (
        f"I stopped after {max_turns} model calls without finishing (the max_turns limit). "
        "Send a message to let me continue."
    )


def _settings(
    settings: AgentSettings | None,
    *,
    execution_timeout: float | None,
    approval_timeout: float | None,
    max_subagents: int | None,
) -> AgentSettings:
    """``settings`` with the knobs given directly to ``Agent(...)`` in their place."""
    s = settings or AgentSettings()
    return replace(
        s,
        execution_timeout=s.execution_timeout if execution_timeout is None else execution_timeout,
        approval_timeout=s.approval_timeout if approval_timeout is None else approval_timeout,
        max_subagents=s.max_subagents if max_subagents is None else max_subagents,
    )


def _rejected_note(names: list[str]) -> str:
    listed = ", ".join(dict.fromkeys(names))
    return f"Rejected: I did not run {listed}. Tell me how you would like to proceed."


class Agent:
    """One agent on one session. Use ``async with Agent(...)`` or start()/stop()."""

    def __init__(
        self,
        provider: Provider,
        *,
        settings: AgentSettings | None = None,
        tools: ToolRegistry | Iterable[Tool] = (),
        session_key: str = "default",
        store: SessionStore | None = None,
        permissions: PermissionManager | None = None,
        hooks: Iterable[Hook] = (),
        agent_id: str = MAIN_AGENT,
        workspace: Path | None = None,
        user: str | None = None,
        toolsets: Iterable[Toolset] = (),
        origin: Inbound | None = None,
        execution_timeout: float | None = None,
        approval_timeout: float | None = None,
        max_subagents: int | None = None,
    ) -> None:
        """``toolsets`` add their tools on :meth:`start` (MCP servers, code execution);
        the agent does not close them: whoever made them does. ``origin`` is the
        message of the turn (the runtime's), handed to tools in their context.

        ``execution_timeout`` (seconds one tool call may run), ``approval_timeout``
        (seconds an approval waits, then it counts as rejected) and ``max_subagents``
        replace the same fields of ``settings`` when given. With ``max_subagents`` > 0
        the agent offers ``subagent_task`` (at most that many children at once); with
        0 (the default) it does not offer it.
        """
        self.provider = provider
        self.settings = _settings(
            settings,
            execution_timeout=execution_timeout,
            approval_timeout=approval_timeout,
            max_subagents=max_subagents,
        )
        self._given_tools = tuple(tools)
        self.tools = ToolRegistry(self._given_tools)
        if self.settings.max_subagents > 0:
            if SUBAGENT_TOOL in self.tools:
                raise ValueError(
                    f"a tool named {SUBAGENT_TOOL} was given and max_subagents is "
                    f"{self.settings.max_subagents}: the agent offers its own; give one or "
                    "the other"
                )
            subagents = SubagentTool(self._child, max_concurrent=self.settings.max_subagents)
            self.tools.add(subagents.tool)
        self.toolsets = tuple(toolsets)
        self.session_key = session_key
        self.store: SessionStore = store if store is not None else MemorySessionStore()
        self.permissions = permissions
        self.hooks = tuple(hooks)
        self.agent_id = agent_id
        self.workspace = workspace or Path.cwd()
        self.user = user
        self.origin = origin
        self._history: list[Message] = []
        self._save_lock = asyncio.Lock()
        self._started = False
        self._streaming = False

    @property
    def history(self) -> list[Message]:
        """A copy of the session history."""
        return list(self._history)

    async def start(self) -> None:
        """Load the session history and the permission rules; set up the toolsets."""
        for toolset in self.toolsets:
            for item in await toolset.tools():
                if item.name not in self.tools:
                    self.tools.add(item)
        self._history = await self.store.load(self.session_key)
        if self.permissions is not None:
            await self.permissions.load()
        self._started = True

    async def stop(self) -> None:
        self._started = False

    @contextlib.asynccontextmanager
    async def _child(self, agent_id: str, context: ToolContext) -> AsyncIterator[Agent]:
        """A started child for ``subagent_task``: this agent's model, settings, tools and
        permission rules (no subagents, no hooks: its approvals are asked through this
        agent), an empty history, toolsets of its own; closed when the context exits."""
        toolsets = ChildToolsets(self.toolsets)
        permissions = self.permissions
        try:
            child = Agent(
                self.provider,
                settings=replace(self.settings, max_subagents=0),
                tools=self._given_tools,
                session_key=context.session_key,
                store=MemorySessionStore(),
                permissions=PermissionManager(
                    store=permissions.store,
                    session_key=context.session_key,
                    defaults=permissions.defaults,
                )
                if permissions is not None
                else None,
                agent_id=agent_id,
                workspace=self.workspace,
                user=context.user,
                toolsets=toolsets.toolsets,
                origin=context.origin,
            )
            await child.start()
            yield child
        finally:
            await toolsets.close(context.session_key, agent_id)

    async def __aenter__(self) -> Agent:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _save(self, *messages: Message) -> None:
        # one save at a time: parallel tool calls (subagents) save concurrently,
        # and the stored order must be the order the history keeps in memory
        async with self._save_lock:
            await self.store.append(self.session_key, messages)
            self._history.extend(messages)

    async def stream(
        self,
        prompt: str | None = None,
        *,
        max_turns: int | None = None,
        decisions: Mapping[str, bool] | None = None,
    ) -> AsyncGenerator[AgentEvent, None]:
        """Run a turn for ``prompt``; with None, continue the unfinished turn.

        Continuing picks up whatever the history shows unfinished (tool calls
        awaiting decisions, a prompt the model never answered because the
        process stopped); it yields nothing when the last turn is complete.
        ``decisions`` maps tool call ids to approvals already given (a resume
        after the person answered elsewhere).
        """
        if self._streaming:
            raise AgentError("this agent is already streaming; one turn at a time per session")
        if not self._started:
            await self.start()
        self._streaming = True
        ctx = RunContext(session_key=self.session_key, agent_id=self.agent_id, prompt=prompt)
        try:
            for hook in self.hooks:
                await hook.before_run(ctx)
            last = ""
            # closed at once with the stream: an abandoned stream stops its running
            # tool now (rejecting approvals raised inside it), not whenever the
            # garbage collector finalizes the inner generators
            async with aclosing(self._turn(ctx, prompt, max_turns, decisions or {})) as turn:
                async for event in turn:
                    if isinstance(event, Response):
                        last = event.content
                    yield event
            for hook in self.hooks:
                await hook.after_run(ctx, last)
        except Exception as exc:
            for hook in self.hooks:
                await hook.on_error(ctx, exc)
            raise
        finally:
            self._streaming = False

    def unfinished(self) -> bool:
        """True when the history ends mid-turn: tool calls without results, or a
        prompt or tool result the model has not answered yet."""
        if pending_tool_calls(self._history) is not None:
            return True
        last = next((m for m in reversed(self._history) if not isinstance(m, ToolStarted)), None)
        return isinstance(last, UserMessage | ToolResult)

    async def _begin(self, prompt: str | None) -> bool:
        """Prepare the history; False when there is nothing to do."""
        pending = pending_tool_calls(self._history)
        if prompt is None:
            return self.unfinished()
        if pending is not None:
            await self._save(*closing_results(self._history))
        await self._save(UserMessage(content=prompt, user=self.user))
        return True

    def _step_env(self, ctx: RunContext) -> StepEnv:
        return StepEnv(
            registry=self.tools,
            hooks=self.hooks,
            permissions=self.permissions,
            context=ToolContext(
                session_key=self.session_key,
                agent_id=self.agent_id,
                workspace=self.workspace,
                user=self.user,
                origin=self.origin,
            ),
            run_context=ctx,
            approval_timeout=self.settings.approval_timeout,
            execution_timeout=self.settings.execution_timeout,
            save=self._save,
        )

    async def _turn(
        self,
        ctx: RunContext,
        prompt: str | None,
        max_turns: int | None,
        decisions: Mapping[str, bool],
    ) -> AsyncGenerator[AgentEvent, None]:
        if not await self._begin(prompt):
            return
        limit = max_turns if max_turns is not None else self.settings.max_turns
        env = self._step_env(ctx)
        calls_made = 0
        while True:
            pending = pending_tool_calls(self._history)
            if pending is not None:
                outcome = StepOutcome()
                started = started_tool_calls(self._history)
                step = tool_step(env, pending[1], started, decisions, outcome)
                async with aclosing(step):
                    async for event in step:
                        yield event
                if outcome.rejected:
                    note = _rejected_note(outcome.rejected)
                    await self._save(AssistantMessage(content=note))
                    yield Response(content=note, agent_id=self.agent_id)
                    return
                continue
            if calls_made >= limit:
                note = _stopped_note(limit)
                await self._save(AssistantMessage(content=note))
                yield Response(content=note, agent_id=self.agent_id)
                return
            calls_made += 1
            result = ModelStepResult()
            async for event in model_step(self.provider, self._request(), self.agent_id, result):
                yield event
            assert result.turn is not None
            message = result.turn.message
            await self._save(message)
            if message.content:
                yield Response(content=message.content, agent_id=self.agent_id)
            if not message.tool_calls:
                return

    def _request(self) -> ModelRequest:
        return ModelRequest(
            model=self.settings.model,
            system_prompt=self.settings.system_prompt,
            messages=tuple(self._history),
            tools=self.tools.specs(),
            max_tokens=self.settings.max_tokens,
        )
