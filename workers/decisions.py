"""Deciding an approval, wherever the click comes from (API, Telegram, Slack…).

The compare-and-set itself is the approval store's; this adds what a
decision means for the rest of the runtime: "session" and "always" become
permission rules, the decision is announced, and a parked turn is scheduled
to resume on any worker.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from core import wire
from workers import keys
from workers.approval_record import ApprovalRecord, DecideResult, Decision
from workers.approvals import ApprovalStore
from workers.inbox import JobQueue, schedule
from workers.outbox import Outbox
from workers.stores import RedisPermissionStore


async def announce(outbox: Outbox, record: ApprovalRecord) -> None:
    """Publish ``approval_decided`` so the gateway can update the card.

    Whoever decided (a click, the API, the expiry sweeper) knows only the
    record, not the turn's inbound message: the event is addressed to the
    channel named by the session key (``telegram:…`` → ``telegram``), whose
    adapter finds its card by the approval id.
    """
    await outbox.publish(
        wire.ApprovalDecidedEvent(
            session_key=record.session_key,
            channel=record.session_key.partition(":")[0],
            bot=record.bot,
            ts=time.time(),
            turn_id=record.turn_id,
            agent_id=record.agent_id,
            approval_id=record.approval_id,
            tool_name=record.tool_name,
            decision=record.decision or record.status,
            status=record.status,
            decided_by=record.decided_by,
            idempotency_key=f"approval:{record.approval_id}:decided",
        )
    )


async def resume_if_parked(redis: Redis, session_key: str, queue: JobQueue) -> None:
    if await redis.exists(keys.parked(session_key)):
        await schedule(redis, session_key, queue)


async def expired(redis: Redis, outbox: Outbox, queue: JobQueue, record: ApprovalRecord) -> None:
    """An approval ran out of time (a rejection): tell the person, resume its turn.

    Whoever expired it — the sweeper, or a click that came too late — calls
    this, so an expiry is never left unannounced or its parked turn stranded.
    """
    await announce(outbox, record)
    await resume_if_parked(redis, record.session_key, queue)


async def decide(
    redis: Redis,
    approvals: ApprovalStore,
    queue: JobQueue,
    outbox: Outbox,
    approval_id: str,
    decision: Decision,
    user_id: str,
    *,
    operator: bool = False,
) -> DecideResult:
    """Decide ``approval_id``; on success apply rules, announce, resume."""
    result = await approvals.decide(approval_id, decision, user_id, operator=operator)
    record = result.record
    if result.expired_now and record is not None:
        # the click came after the deadline and expired the approval itself:
        # the sweeper will not see it any more
        await expired(redis, outbox, queue, record)
        return result
    if not result.decided or record is None:
        return result
    rules = RedisPermissionStore(redis, record.bot)
    if decision is Decision.SESSION:
        await rules.add_session(record.session_key, record.tool_name)
    elif decision is Decision.ALWAYS:
        await rules.add_always(record.tool_name)
    await announce(outbox, record)
    await resume_if_parked(redis, record.session_key, queue)
    return result
