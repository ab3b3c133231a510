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
import time
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core import wire
from core.agent import Agent
from core.agent.agent import closing_results
from core.config import AgentConfig
from core.errors import FacioError
from core.events import ApprovalRequest, Response, ToolOutput
from core.messages import AssistantMessage, Message, ToolResult, UserMessage
from workers import keys
from workers.approval_record import ABANDONED_BY, ApprovalRecord, Decision
from workers.approvals import ApprovalStore
from workers.bots import Bots
from workers.codec import text
from workers.decisions import announce
from workers.inbox import TurnRequest
from workers.outbox import Outbox, TurnPublisher
from workers.stores import RedisSessionStore, forget_session

logger = logging.getLogger(__name__)

TURN_TTL = 24 * 3600
APPROVAL_FIELD = "approval:"
INNER_FIELD = "inner:"
"""Turn-hash fields of approvals raised inside running code (not parkable)."""
Outcome = Literal["done", "parked"]
HOLD_RETRY = 1.0
"""Seconds between tries while Redis does not answer a held approval's wait."""


class TurnRunner:
    """Runs turns for the drain job; one instance per worker process."""

    def __init__(self, redis: Redis, bots: Bots, approvals: ApprovalStore, outbox: Outbox) -> None:
        self.redis = redis
        self.bots = bots
        self.approvals = approvals
        self.outbox = outbox

    async def _state(self, turn_id: str) -> dict[str, str]:
        raw = await self.redis.hgetall(keys.turn(turn_id))  # type: ignore[misc]
        return {text(k): text(v) for k, v in raw.items()}

    async def pending_approvals(self, turn_id: str) -> bool:
        """True while an approval of this turn's step is still undecided."""
        for field, approval_id in (await self._state(turn_id)).items():
            if field.startswith(APPROVAL_FIELD):
                record = await self.approvals.get(approval_id)
                if record is not None and record.status == "pending":
                    return True
        return False

    async def run(self, request: TurnRequest, holder: str) -> Outcome:
        inbound = request.inbound
        facio = self.bots.get(inbound.bot)
        agent = facio.agent(inbound.session_key, user=inbound.user_id)
        publisher = TurnPublisher(self.outbox, inbound, request.turn_id, lambda: len(agent.history))
        state = await self._state(request.turn_id)
        first_attempt = "appended" not in state
        if first_attempt:
            await self._append_prompt(request, await facio.sessions.load(inbound.session_key))
        await agent.start()  # the history as it now stands, prompt included
        if first_attempt:
            await publisher.runtime(wire.TurnStartedEvent, user_name=inbound.user_name)
        elif state.get("running"):
            # an earlier attempt died mid-turn: publish its steps again; the
            # gateway drops what it already rendered (same idempotency keys)
            await self._republish(agent, publisher, int(state.get("start", "0")))
        await self.redis.hset(keys.turn(request.turn_id), "running", holder)  # type: ignore[misc]
        await self._abandon_inner(state)  # an earlier attempt's code is not running any more
        decisions = await self._decisions(state)
        try:
            outcome = await self._stream(agent, publisher, request, decisions, facio.config.agent)
        finally:
            await publisher.close()
        # parked or done is an orderly stop: only a crash leaves "running" set,
        # which is what makes the next attempt republish the turn's steps
        await self.redis.hdel(keys.turn(request.turn_id), "running")  # type: ignore[misc]
        if outcome == "done":
            await publisher.runtime(wire.TurnFinishedEvent)
        return outcome

    async def _abandon_inner(self, state: dict[str, str]) -> None:
        """Reject the in-code approvals still pending in ``state``: nothing waits for them."""
        await self._abandon(state, (INNER_FIELD,))

    async def _abandon(self, state: dict[str, str], prefixes: tuple[str, ...]) -> None:
        """Reject the turn's approvals under ``prefixes`` that are still pending, and say so."""
        for field, approval_id in state.items():
            if not field.startswith(prefixes):
                continue
            result = await self.approvals.decide(
                approval_id, Decision.REJECT, ABANDONED_BY, operator=True
            )
            if result.decided and result.record is not None:
                await announce(self.outbox, result.record)

    async def cancelled(self, request: TurnRequest) -> None:
        """The person stopped the turn: say so; the history keeps what was done.

        Its approvals still pending are rejected (``decided_by`` "facio"), so
        their cards say so and a late click cannot approve what will never run.
        """
        await self._abandon(await self._state(request.turn_id), (APPROVAL_FIELD, INNER_FIELD))
        publisher = TurnPublisher(self.outbox, request.inbound, request.turn_id, lambda: 0)
        await publisher.runtime(wire.TurnFinishedEvent, cancelled=True)
        await self.redis.hdel(keys.turn(request.turn_id), "running")  # type: ignore[misc]

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
        await self.redis.hdel(keys.turn(request.turn_id), "running")  # type: ignore[misc]

    async def _append_prompt(self, request: TurnRequest, history: list[Message]) -> None:
        """Prompt into the history and the turn marked appended, in one transaction."""
        inbound = request.inbound
        messages: list[Message] = [
            *closing_results(history),
            UserMessage(content=inbound.text, user=inbound.user_id),
        ]
        turn_key = keys.turn(request.turn_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            RedisSessionStore.stage_append(pipe, inbound.session_key, messages)
            pipe.hset(turn_key, mapping={"appended": "1", "start": str(len(history))})
            pipe.expire(turn_key, TURN_TTL)
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

    async def _decisions(self, state: dict[str, str]) -> dict[str, bool]:
        decisions: dict[str, bool] = {}
        for field, approval_id in state.items():
            if not field.startswith(APPROVAL_FIELD):
                continue
            record = await self.approvals.get(approval_id)
            if record is not None and record.status != "pending":
                decisions[field.removeprefix(APPROVAL_FIELD)] = record.status == "approved"
        return decisions

    async def _record(
        self, event: ApprovalRequest, request: TurnRequest, timeout: float
    ) -> ApprovalRecord:
        """The durable record of ``event``: the existing one after a retry, else a new one."""
        turn_key = keys.turn(request.turn_id)
        if event.parkable:
            field = APPROVAL_FIELD + event.tool_call_id
            existing = await self.redis.hget(turn_key, field)  # type: ignore[misc]
            if existing is not None:
                record = await self.approvals.get(text(existing))
                if record is not None:
                    return record
        else:  # raised by running code: new each time, never resumed elsewhere
            field = INNER_FIELD + event.approval_id
        inbound = request.inbound
        now = time.time()
        record = ApprovalRecord(
            approval_id=event.approval_id,
            session_key=inbound.session_key,
            turn_id=request.turn_id,
            tool_call_id=event.tool_call_id,
            agent_id=event.agent_id,
            bot=inbound.bot,
            tool_name=event.tool_name,
            tool_args=event.tool_args,
            deciders=tuple(dict.fromkeys((inbound.user_id, *inbound.approvers))),
            status="pending",
            created_at=now,
            expires_at=now + timeout,
            parkable=event.parkable,
        )
        await self.approvals.create(record)
        await self.redis.hset(turn_key, field, record.approval_id)  # type: ignore[misc]
        return record

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
                record = await self._record(event, request, settings.approval_timeout)
                await publisher.event(
                    event,
                    key=f"approval:{record.approval_id}",
                    approval_id=record.approval_id,
                    expires_at=record.expires_at,
                )
                watchers.append(asyncio.create_task(self._watch(event, record, hold, park)))

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
            await self._abandon_inner(await self._state(request.turn_id))

    async def _wait(self, approval_id: str, budget: float) -> ApprovalRecord | None:
        """The decided record within ``budget`` seconds, else None; Redis trouble is waited out.

        A dropped connection (Redis restarting, a blip) ends the blocked read
        with an error; giving up there would leave the turn waiting for the
        agent's own timer while the person's click goes unheard.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        while (left := deadline - loop.time()) > 0:
            try:
                return await self.approvals.wait(approval_id, left)
            except RedisError as exc:
                logger.warning("holding approval %s: Redis unavailable (%s)", approval_id, exc)
                await asyncio.sleep(min(HOLD_RETRY, left))
        return None

    async def _watch(
        self, event: ApprovalRequest, record: ApprovalRecord, hold: float, park: asyncio.Event
    ) -> None:
        """Hold ``event`` for ``hold`` seconds; decide it, or ask the turn to park.

        When the approval's own deadline comes first, the record is expired
        here — not left "pending" for the sweeper while the agent has already
        given up — so a late click is told "expired" instead of winning a
        decision that nothing acts on.
        """
        if not record.parkable:
            hold = record.expires_at - time.time()  # held here until it expires
        budget = min(hold, record.expires_at - time.time())
        decided = await self._wait(record.approval_id, budget)
        if decided is None and time.time() >= record.expires_at:
            try:
                decided = await self.approvals.expire_if_due(record.approval_id)
            except RedisError as exc:  # undecided as far as we know: park, or never run
                logger.warning("could not expire approval %s: %s", record.approval_id, exc)
            if decided is not None and decided.status == "expired":
                await announce(self.outbox, decided)
        if decided is None or decided.status == "pending":
            if record.parkable:
                park.set()
            else:
                event.approve(False)  # the record could not be expired: never run unasked
            return
        event.approve(decided.status == "approved")
