"""Run one queued turn on a worker: the agent, its events, its approvals.

The prompt is appended to the history in the same Redis transaction that
marks the turn ``appended``, so a retried turn never appends it twice and
never loses it; the agent then continues whatever the history shows
unfinished (``Agent.stream(None)``).

Approvals: each request becomes a durable record and an ``approval_request``
event. The worker holds the step in process for ``approvalHold`` seconds; a
decision within that time resumes the agent at once. Otherwise the step
parks: the agent's stream is cancelled (the history keeps the suspended tool
calls), and the turn is resumed later, on any worker, with the recorded
decisions.

Approvals raised inside running code (``ApprovalRequest.parkable`` False: a
kernel calling an MCP tool, a shell command, a subagent's tool call) are
held here until ``approvalTimeout`` and never park: only this process runs
that code. They are kept apart in the turn's hash (``inner:`` fields); when
the turn stops without them decided (cancelled, crashed and retried
elsewhere) they are rejected on the record, so a late click is told so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Literal

from redis.asyncio import Redis

from core import wire
from core.agent import Agent
from core.agent.agent import closing_results
from core.config import AgentConfig
from core.errors import FacioError
from core.events import ApprovalRequest, Response, ToolOutput
from core.messages import AssistantMessage, Message, ToolResult, UserMessage
from workers.approval_hold import ApprovalHold
from workers.approvals import ApprovalStore
from workers.bots import Bots
from workers.inbox import TurnRequest
from workers.outbox import Outbox, TurnPublisher
from workers.stores import RedisSessionStore, forget_session
from workers.turn_state import TurnStates

logger = logging.getLogger(__name__)

Outcome = Literal["done", "parked"]


class TurnRunner:
    """Runs turns for the drain job, one instance per worker process: it only sequences
    (the turn's state is :mod:`workers.turn_state`, its approvals :mod:`workers.approval_hold`)."""

    def __init__(
        self,
        redis: Redis,
        bots: Bots,
        approvals: ApprovalStore,
        outbox: Outbox,
        *,
        pressure: asyncio.Event | None = None,
    ) -> None:
        """``pressure`` is set by the worker while its slots are full and work waits."""
        self.redis = redis
        self.bots = bots
        self.outbox = outbox
        self.states = TurnStates(redis)
        self.holds = ApprovalHold(approvals, outbox, self.states, pressure)

    async def pending_approvals(self, turn_id: str) -> bool:
        """True while an approval of this turn's step is still undecided."""
        return await self.holds.pending(await self.states.get(turn_id))

    async def run(self, request: TurnRequest, holder: str) -> Outcome:
        inbound = request.inbound
        facio = self.bots.get(inbound.bot)
        agent = facio.agent(inbound.session_key, user=inbound.user_id)
        publisher = TurnPublisher(self.outbox, inbound, request.turn_id, lambda: len(agent.history))
        state = await self.states.get(request.turn_id)
        if not state.appended:
            await self._append_prompt(request, await facio.sessions.load(inbound.session_key))
        await agent.start()  # the history as it now stands, prompt included
        if not state.appended:
            await publisher.runtime(wire.TurnStartedEvent, user_name=inbound.user_name)
        elif state.running:
            # an earlier attempt died mid-turn: publish its steps again; the
            # gateway drops what it already rendered (same idempotency keys)
            await self._republish(agent, publisher, state.start)
        await self.states.set_running(request.turn_id, holder)
        await self.holds.abandon(state, inner_only=True)  # an earlier attempt's code is gone
        decisions = await self.holds.decisions(state)
        try:
            outcome = await self._stream(agent, publisher, request, decisions, facio.config.agent)
        finally:
            await publisher.close()
        await self.states.clear_running(request.turn_id)
        if outcome == "done":
            await publisher.runtime(wire.TurnFinishedEvent)
        return outcome

    async def cancelled(self, request: TurnRequest) -> None:
        """The person stopped the turn: say so; the history keeps what was done; its
        approvals still pending are rejected (their cards say so)."""
        await self.holds.abandon(await self.states.get(request.turn_id))
        publisher = TurnPublisher(self.outbox, request.inbound, request.turn_id, lambda: 0)
        await publisher.runtime(wire.TurnFinishedEvent, cancelled=True)
        await self.states.clear_running(request.turn_id)

    async def reset(self, request: TurnRequest) -> None:
        """Start the session over (``/new``): history and session rules go."""
        inbound = request.inbound
        await forget_session(self.redis, inbound.session_key)
        await self.bots.get(inbound.bot).forget_tool_state(inbound.session_key)
        publisher = TurnPublisher(self.outbox, inbound, request.turn_id, lambda: 0)
        await publisher.runtime(wire.SessionResetEvent)

    async def fail(self, request: TurnRequest, error: BaseException) -> None:
        """Tell the person the turn failed; the turn leaves the queue."""
        inbound = request.inbound
        publisher = TurnPublisher(self.outbox, inbound, request.turn_id, lambda: 0)
        message = str(error) if isinstance(error, FacioError) else "an internal error occurred"
        await publisher.runtime(wire.ErrorEvent, message=message, error_type=type(error).__name__)
        await publisher.runtime(wire.TurnFinishedEvent)
        await self.states.clear_running(request.turn_id)

    async def _append_prompt(self, request: TurnRequest, history: list[Message]) -> None:
        """Prompt into the history and the turn marked appended, in one transaction."""
        inbound = request.inbound
        messages: list[Message] = [
            *closing_results(history),
            UserMessage(content=inbound.text, user=inbound.user_id),
        ]
        async with self.redis.pipeline(transaction=True) as pipe:
            RedisSessionStore.stage_append(pipe, inbound.session_key, messages)
            TurnStates.stage_appended(pipe, request.turn_id, len(history))
            await pipe.execute()

    async def _republish(self, agent: Agent, publisher: TurnPublisher, start: int) -> None:
        for index, message in enumerate(agent.history[start:], start=start):
            if isinstance(message, AssistantMessage) and message.content:
                event = Response(content=message.content)
                await publisher.event(event, key=f"{publisher.turn_id}:m{index + 1}:response")
            elif isinstance(message, ToolResult):
                output = ToolOutput(
                    tool_name=message.name,
                    tool_call_id=message.tool_call_id,
                    content=message.content,
                    is_error=message.is_error,
                )
                await publisher.event(output, key=f"{publisher.turn_id}:m{index + 1}:tool_output")

    async def _stream(
        self,
        agent: Agent,
        publisher: TurnPublisher,
        request: TurnRequest,
        decisions: dict[str, bool],
        settings: AgentConfig,
    ) -> Outcome:
        hold = settings.approval_hold
        park = asyncio.Event()
        watchers: list[asyncio.Task[None]] = []

        async def consume() -> None:
            async for event in agent.stream(None, decisions=decisions):
                if not isinstance(event, ApprovalRequest):
                    await publisher.event(event)
                    continue
                record = await self.holds.record(event, request, settings.approval_timeout)
                await publisher.event(
                    event,
                    key=f"approval:{record.approval_id}",
                    approval_id=record.approval_id,
                    expires_at=record.expires_at,
                )
                watchers.append(asyncio.create_task(self.holds.watch(event, record, hold, park)))

        task = asyncio.create_task(consume())
        parker = asyncio.create_task(park.wait())
        try:
            await asyncio.wait({task, parker}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()
                return "done"
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return "parked"
        finally:
            parker.cancel()
            for watcher in watchers:
                watcher.cancel()
            task.cancel()  # a no-op once it has ended; cancelled, its cleanup runs now
            ended = await asyncio.gather(task, *watchers, return_exceptions=True)
            for outcome in ended[1:]:  # the stream's own outcome was dealt with above
                if isinstance(outcome, Exception):  # e.g. Redis failed while holding
                    logger.warning("holding an approval of %s failed: %s", request.turn_id, outcome)
            await self.holds.abandon(await self.states.get(request.turn_id), inner_only=True)
