"""Answer the tool calls of one assistant message: validate, decide, run.

Order of work, so that a suspended step can be resumed from the history:
1. calls marked started but without a result may have run before a crash:
   the model is told so, they are not run again;
2. unknown tools and invalid arguments become tool errors for the model;
3. every remaining call is decided — by a resume decision, a hook, a
   permission rule, or else by the person through an ``ApprovalRequest``
   (all requests of the step are yielded first, then awaited together, so
   answers may come in any order);
4. approved calls run in the model's order, each marked started first —
   except calls of tools marked ``parallel`` (subagents), which run side by
   side after the others; rejected calls get a "rejected" result and end the
   turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any

from core.agent.execute import ToolRun, execute_tool
from core.agent.merge import merge
from core.errors import ToolError
from core.events import AgentEvent, ApprovalRequest, ToolOutput
from core.hooks import Hook, RunContext, ToolCallInfo
from core.messages import Message, ToolCall, ToolResult, ToolStarted
from core.permissions import PermissionManager
from core.tools.registry import ToolRegistry
from core.tools.tool import Tool, ToolContext

INTERRUPTED = (
    "This tool call was interrupted after it started (the process running it stopped). "
    "It may or may not have taken effect: check before repeating it."
)
REJECTED = "Rejected: the person did not approve this call, so it did not run."


@dataclass
class StepEnv:
    """What the tool step needs from the agent running it."""

    registry: ToolRegistry
    hooks: tuple[Hook, ...]
    permissions: PermissionManager | None
    context: ToolContext
    run_context: RunContext
    approval_timeout: float
    execution_timeout: float
    save: Callable[[Message], Awaitable[None]]


@dataclass
class StepOutcome:
    rejected: list[str] = field(default_factory=list)
    tools_used: list[str] = field(default_factory=list)


async def _policy(env: StepEnv, request: ApprovalRequest) -> bool | None:
    for hook in env.hooks:
        decision = await hook.on_approval_request(env.run_context, request)
        if decision is not None:
            return decision
    if env.permissions is not None and env.permissions.is_allowed(
        request.tool_name, request.tool_args
    ):
        return True
    return None


def _prepare(env: StepEnv, call: ToolCall) -> tuple[Tool, dict[str, Any]]:
    tool = env.registry.get(call.name)
    try:
        arguments = call.parsed_arguments()
    except ValueError as exc:
        raise ToolError(f"arguments for {call.name} are not a JSON object: {exc}") from exc
    tool.validate(arguments)
    return tool, arguments


async def _result(env: StepEnv, call: ToolCall, content: str, is_error: bool) -> ToolOutput:
    await env.save(
        ToolResult(tool_call_id=call.id, name=call.name, content=content, is_error=is_error)
    )
    return ToolOutput(
        tool_name=call.name,
        tool_call_id=call.id,
        content=content,
        is_error=is_error,
        agent_id=env.context.agent_id,
    )


async def tool_step(
    env: StepEnv,
    calls: list[ToolCall],
    started: set[str],
    decisions: Mapping[str, bool],
    outcome: StepOutcome,
) -> AsyncGenerator[AgentEvent, None]:
    """Yield the events of answering ``calls``; fill ``outcome``."""
    ready: list[tuple[ToolCall, Tool, dict[str, Any]]] = []
    for call in calls:
        if call.id in started:
            yield await _result(env, call, INTERRUPTED, True)
            continue
        try:
            tool, arguments = _prepare(env, call)
        except ToolError as exc:
            yield await _result(env, call, str(exc), True)
            continue
        ready.append((call, tool, arguments))

    approved: dict[str, bool] = {}
    waiting: list[ApprovalRequest] = []
    for call, _tool, arguments in ready:
        request = ApprovalRequest(
            tool_name=call.name,
            tool_args=arguments,
            tool_call_id=call.id,
            agent_id=env.context.agent_id,
        )
        decision = decisions.get(call.id)
        if decision is None:
            decision = await _policy(env, request)
        if decision is None:
            waiting.append(request)
            yield request
        else:
            request.approve(decision)
            approved[call.id] = decision

    loop = asyncio.get_running_loop()
    deadline = loop.time() + env.approval_timeout
    for request in waiting:
        approved[request.tool_call_id] = await request.wait(max(0.0, deadline - loop.time()))

    async with aclosing(_execute(env, ready, approved, outcome)) as events:
        async for event in events:
            yield event


async def _execute(
    env: StepEnv,
    ready: list[tuple[ToolCall, Tool, dict[str, Any]]],
    approved: dict[str, bool],
    outcome: StepOutcome,
) -> AsyncGenerator[AgentEvent, None]:
    """Run the approved calls, answer the rejected ones (see the module docstring, 4)."""
    side_by_side: list[AsyncGenerator[AgentEvent, None]] = []
    for call, tool, arguments in ready:
        if not approved[call.id]:
            outcome.rejected.append(call.name)
            yield await _result(env, call, REJECTED, True)
            continue
        if tool.parallel:  # run with the step's other parallel calls, after the rest
            side_by_side.append(_run(env, call, tool, arguments, outcome))
            continue
        async with aclosing(_run(env, call, tool, arguments, outcome)) as events:
            async for event in events:
                yield event
    if side_by_side:
        async with aclosing(merge(side_by_side)) as events:
            async for event in events:
                yield event


async def _run(
    env: StepEnv, call: ToolCall, tool: Tool, arguments: dict[str, Any], outcome: StepOutcome
) -> AsyncGenerator[AgentEvent, None]:
    info = ToolCallInfo(tool_call_id=call.id, tool_name=call.name, tool_args=arguments)
    await env.save(ToolStarted(tool_call_id=call.id))
    for hook in env.hooks:
        await hook.before_tool_call(env.run_context, info)
    run = ToolRun()
    context = replace(env.context, tool_call_id=call.id)

    async def policy(request: ApprovalRequest) -> bool | None:
        return await _policy(env, request)

    running = execute_tool(
        tool,
        arguments,
        context,
        run,
        timeout=env.execution_timeout,
        approval_timeout=env.approval_timeout,
        policy=policy,
    )
    async with aclosing(running):
        async for event in running:
            yield event
    outcome.rejected.extend(run.rejected)
    output = await _result(env, call, run.content, run.is_error)
    outcome.tools_used.append(call.name)
    for hook in env.hooks:
        await hook.after_tool_call(env.run_context, info, output)
    yield output
