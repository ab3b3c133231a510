"""Run one queued turn on a worker: the agent, its events, its approvals.

A turn reads Redis once — its state, the session's history (incrementally:
:class:`~workers.stores.RedisSessionStore`) and the bot's rules, in one round
trip — and writes through its :class:`~workers.turn_writes.TurnWriter`,
fenced by its lease. The prompt is appended to the history in the same
script call that marks the turn ``appended`` and publishes ``turn_started``,
so a retried turn never appends it twice and never loses it; the agent then
continues whatever the history shows unfinished (``Agent.stream(None)``).

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

from bots.sdk import Facio
from core import wire
from core.agent import Agent
from core.agent.agent import closing_results
from core.config import AgentConfig
from core.errors import FacioError
from core.events import ApprovalRequest, Response, ToolOutput
from core.messages import AssistantMessage, Message, ToolResult, UserMessage
from workers import keys
from workers.approval_hold import ApprovalHold
from workers.approvals import ApprovalStore
from workers.bots import Bots
from workers.flag import Flag
from workers.inbox import TurnRequest
from workers.publisher import TurnHistory, TurnPublisher
from workers.stores import PreloadedPermissions, RedisPermissionStore, forget_session, texts
from workers.turn_state import TurnState, TurnStates
from workers.turn_writes import PopNext, TurnWriter

logger = logging.getLogger(__name__)

Outcome = Literal["done", "parked"]


class TurnRunner:
    """Runs turns for the drain job, one instance per worker process: it only sequences
    (the turn's state is :mod:`workers.turn_state`, its writes :mod:`workers.turn_writes`,
    its approvals :mod:`workers.approval_hold`)."""

    def __init__(
        self,
        redis: Redis,
        bots: Bots,
        approvals: ApprovalStore,
        *,
        pressure: asyncio.Event | None = None,
    ) -> None:
        """``pressure`` is set by the worker while its slots are full and work waits."""
        self.redis = redis
        self.bots = bots
        self.states = TurnStates(redis)
        self.holds = ApprovalHold(approvals, pressure)

    async def pending_approvals(self, turn_id: str) -> bool:
        """True while an approval of this turn's step is still undecided."""
        return await self.holds.pending(await self.states.get(turn_id))

    async def _read(
        self, request: TurnRequest
    ) -> tuple[TurnState, list[Message], PreloadedPermissions]:
        """The turn's state, the session's history and the bot's rules: one round trip."""
        inbound = request.inbound
        sk = inbound.session_key
        sessions = self.bots.sessions
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.turn(request.turn_id))
            pipe.smembers(keys.perm_always(inbound.bot))
            pipe.smembers(keys.perm_session(sk))
            staged = sessions.stage_load(pipe, sk, at=3)
            results = await pipe.execute()
        history = await sessions.finish_load(staged, results)
        rules = RedisPermissionStore(self.redis, inbound.bot)
        permissions = PreloadedPermissions(rules, texts(results[1]), texts(results[2]))
        return TurnState.parse(results[0]), history, permissions

    async def run(
        self,
        request: TurnRequest,
        holder: str,
        *,
        parked: bool = False,
        then: PopNext | None = None,
    ) -> Outcome:
        """Run the turn (go on with it, when an earlier attempt got somewhere).

        ``parked``: the session was left parked on this turn's approvals; it stays so
        ("parked", nothing written) while one is undecided, else the turn resumes and
        its first write clears the flag. ``then``: a turn that ends ("done") leaves
        the inbox with its last write (:class:`~workers.turn_writes.PopNext`)."""
        inbound = request.inbound
        sk = inbound.session_key
        facio = self.bots.get(inbound.bot)
        state, history, permissions = await self._read(request)
        decisions, undecided = await self.holds.read(state)  # no I/O for a fresh turn
        if parked and undecided:
            return "parked"
        version = self.bots.sessions.version_of(sk) or ""
        writer = TurnWriter(
            self.redis, sk, request.turn_id, holder, inbound.channel, length=len(history)
        )
        agent: Agent | None = None
        publisher = TurnPublisher(
            writer, inbound, request.turn_id, lambda: len(agent.history) if agent else 0
        )
        if parked:
            writer.unpark()
        if not state.appended:
            prompt: list[Message] = [
                *closing_results(history),
                UserMessage(content=inbound.text, user=inbound.user_id),
            ]
            writer.add_messages(prompt)
            writer.set_fields(appended="1", start=str(len(history)), running=holder)
            scheduled = {"schedule_id": request.schedule_id} if request.schedule_id else {}
            publisher.stage_runtime(wire.TurnStartedEvent, user_name=inbound.user_name, **scheduled)
            history = [*history, *prompt]
        else:
            writer.set_fields(running=holder)
        await writer.flush()
        agent = self._agent(facio, request, history, publisher, permissions)
        await agent.start()  # the history as read, prompt included: no Redis
        if state.appended and state.running:
            # an earlier attempt died mid-turn: publish its steps again; the
            # gateway drops what it already rendered (same idempotency keys)
            await self._republish(agent, publisher, state.start)
        await self.holds.abandon(state.inner)  # an earlier attempt's code is not running
        try:
            outcome = await self._stream(agent, publisher, request, state, decisions, facio)
        except BaseException:
            await publisher.close()  # what the turn got to, before it fails
            raise
        await publisher.close(write=False)  # written with the turn's end, in one call
        writer.delete_fields("running")  # only a crash leaves it: a retry then republishes
        if outcome == "done":
            publisher.stage_runtime(wire.TurnFinishedEvent)
            if then is not None:
                writer.pop_after(then)
        await writer.flush()
        self.bots.sessions.remember(sk, version, agent.history)
        return outcome

    def _agent(
        self,
        facio: Facio,
        request: TurnRequest,
        history: list[Message],
        publisher: TurnPublisher,
        permissions: PreloadedPermissions,
    ) -> Agent:
        inbound = request.inbound
        return facio.agent(
            inbound.session_key,
            user=inbound.user_id,
            store=TurnHistory(history, publisher),
            permission_store=permissions,
            origin=inbound,
        )

    def _writer(self, request: TurnRequest, holder: str) -> TurnWriter:
        """A writer for a turn's end that adds nothing to the history."""
        inbound = request.inbound
        return TurnWriter(
            self.redis, inbound.session_key, request.turn_id, holder, inbound.channel, length=1
        )

    async def cancelled(self, request: TurnRequest, holder: str) -> None:
        """The person stopped the turn: say so; the history keeps what was done; its
        approvals still pending are rejected (their cards say so)."""
        state = await self.states.get(request.turn_id)
        await self.holds.abandon([*state.approvals.values(), *state.inner])
        writer = self._writer(request, holder)
        TurnPublisher(writer, request.inbound, request.turn_id, lambda: 0).stage_runtime(
            wire.TurnFinishedEvent, cancelled=True
        )
        writer.delete_fields("running")
        await writer.flush()

    async def reset(self, request: TurnRequest, holder: str) -> None:
        """Start the session over (``/new``): history and session rules go."""
        inbound = request.inbound
        await forget_session(self.redis, inbound.session_key)
        self.bots.sessions.forget(inbound.session_key)
        await self.bots.get(inbound.bot).forget_tool_state(inbound.session_key)
        publisher = TurnPublisher(
            self._writer(request, holder), inbound, request.turn_id, lambda: 0
        )
        await publisher.runtime(wire.SessionResetEvent)

    async def fail(self, request: TurnRequest, holder: str, error: BaseException) -> None:
        """Tell the person the turn failed; the turn leaves the queue."""
        inbound = request.inbound
        writer = self._writer(request, holder)
        publisher = TurnPublisher(writer, inbound, request.turn_id, lambda: 0)
        message = str(error) if isinstance(error, FacioError) else "an internal error occurred"
        publisher.stage_runtime(wire.ErrorEvent, message=message, error_type=type(error).__name__)
        publisher.stage_runtime(wire.TurnFinishedEvent)
        writer.delete_fields("running")
        await writer.flush()
        self.bots.sessions.forget(inbound.session_key)

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
        state: TurnState,
        decisions: dict[str, bool],
        facio: Facio,
    ) -> Outcome:
        settings: AgentConfig = facio.config.agent
        hold = settings.approval_hold
        park = Flag()
        watchers: list[asyncio.Task[None]] = []
        inner: list[str] = []

        async def consume() -> None:
            async for event in agent.stream(None, decisions=decisions):
                if not isinstance(event, ApprovalRequest):
                    await publisher.event(event)
                    continue
                timeout = settings.approval_timeout
                record = await self.holds.record(event, request, state, publisher.writer, timeout)
                if not record.parkable:
                    inner.append(record.approval_id)
                await publisher.event(
                    event,
                    key=f"approval:{record.approval_id}",
                    approval_id=record.approval_id,
                    expires_at=record.expires_at,
                )
                watchers.append(asyncio.create_task(self.holds.watch(event, record, hold, park)))

        task = asyncio.create_task(consume())
        try:
            await asyncio.wait({task, park.future}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()
                return "done"
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return "parked"
        finally:
            for watcher in watchers:
                watcher.cancel()
            task.cancel()  # a no-op once it has ended; cancelled, its cleanup runs now
            ended = await asyncio.gather(task, *watchers, return_exceptions=True)
            for outcome in ended[1:]:  # the stream's own outcome was dealt with above
                if isinstance(outcome, Exception):  # e.g. Redis failed while holding
                    logger.warning("holding an approval of %s failed: %s", request.turn_id, outcome)
            await self.holds.abandon(inner)  # the code that asked has stopped
