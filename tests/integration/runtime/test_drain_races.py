"""The drain protocol's races, on a real Redis, with the interleavings forced.

A stand-in turn runner puts the competing action exactly in the window under
test (the real ``Drainer``, Lua scripts, ``submit``, ``decide``), so each test
fails deterministically when the window is open.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from redis.asyncio import Redis

from core.inbound import Inbound
from tests.integration.runtime.support import drainer_of
from workers import keys
from workers.approval_record import Decision
from workers.approvals import ApprovalStore
from workers.decisions import decide
from workers.drain import Drainer
from workers.inbox import QUEUE_NAME, TurnRequest, submit
from workers.turn import Outcome

SESSION = "api:race"


class Recorder:
    """Queues drain jobs in arq's queue (where a drainer takes them from) and records
    them; no worker runs them."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.jobs: list[tuple[str, str]] = []

    def stage(self, session_key: str, job_id: str) -> None:
        return None  # enqueued by enqueue_drain, which records it

    async def enqueue_drain(self, session_key: str, job_id: str) -> None:
        await self.redis.zadd(QUEUE_NAME, {job_id: time.time() * 1000})
        self.jobs.append((session_key, job_id))


class ParkingRunner:
    """A turn that parks on one approval; the click lands in the window under test."""

    def __init__(self, redis: Redis, queue: Recorder, approval_id: str, window: str) -> None:
        self.redis = redis
        self.queue = queue
        self.approval_id = approval_id
        self.window = window

    async def _click(self) -> None:
        store = ApprovalStore(self.redis)
        result = await decide(store, self.queue, self.approval_id, Decision.APPROVE, "u1")
        assert result.decided

    async def run(
        self, request: TurnRequest, holder: str, *, parked: bool = False, then: Any = None
    ) -> Outcome:
        if self.window == "after_hold":  # the hold gave up; the click comes before the close
            await self._click()
        if self.window == "reparking":
            assert parked  # a new job found the session parked and pending; the click comes now
            await self._click()
        return "parked"

    async def pending_approvals(self, turn_id: str) -> bool:
        record = await ApprovalStore(self.redis).get(self.approval_id)
        return record is not None and record.status == "pending"


async def _parked_turn(redis: Redis, queue: Recorder, window: str) -> tuple[Drainer, str]:
    await submit(redis, Inbound(channel="api", session_key=SESSION, user_id="u1", text="x"), queue)
    store = ApprovalStore(redis)
    record = store.new_record(
        session_key=SESSION,
        turn_id="t",
        tool_call_id="c",
        tool_name="save_note",
        tool_args={},
        deciders=["u1"],
        timeout=3600,
    )
    await store.create(record)
    if window == "reparking":
        await redis.set(keys.parked(SESSION), "1")
    runner = ParkingRunner(redis, queue, record.approval_id, window)
    return drainer_of(redis, runner, queue), record.approval_id


async def _check_resumable(redis: Redis, queue: Recorder) -> None:
    """The turn is still queued and a drain job exists to resume it."""
    assert await redis.llen(keys.inbox(SESSION)) == 1
    scheduled = await redis.get(keys.sched(SESSION))
    assert scheduled is not None, "the decided turn was left parked with no job to resume it"
    assert (SESSION, scheduled.decode()) in queue.jobs


async def test_a_click_between_giving_up_the_hold_and_parking_resumes_the_turn(
    redis: Redis,
) -> None:
    queue = Recorder(redis)
    drainer, _ = await _parked_turn(redis, queue, "after_hold")
    (_, job), *_ = queue.jobs
    queue.jobs.clear()
    assert await drainer.drain(SESSION, job) == "parked"
    await _check_resumable(redis, queue)


async def test_a_click_while_a_new_job_reparks_the_session_resumes_the_turn(
    redis: Redis,
) -> None:
    queue = Recorder(redis)
    drainer, _ = await _parked_turn(redis, queue, "reparking")
    (_, job), *_ = queue.jobs
    queue.jobs.clear()
    assert await drainer.drain(SESSION, job) == "parked"
    await _check_resumable(redis, queue)


class SlowRunner:
    """A turn that outlives its lease: another worker takes the session meanwhile."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def run(
        self, request: TurnRequest, holder: str, *, parked: bool = False, then: Any = None
    ) -> Outcome:
        await self.redis.set(keys.lease(SESSION), "w2:other-job")  # the lease changed hands
        await submit(
            self.redis,
            Inbound(channel="api", session_key=SESSION, user_id="u1", text="second"),
            Recorder(self.redis),
        )
        return "done"

    async def pending_approvals(self, turn_id: str) -> bool:
        return False


async def test_a_drainer_that_lost_its_lease_does_not_pop_the_new_owners_turn(
    redis: Redis,
) -> None:
    queue = Recorder(redis)
    await submit(
        redis, Inbound(channel="api", session_key=SESSION, user_id="u1", text="first"), queue
    )
    (_, job), *_ = queue.jobs
    # a long lease: the keeper never notices within the test, only the fenced pop can
    drainer = drainer_of(redis, SlowRunner(redis), queue, ttl=60)
    assert await drainer.drain(SESSION, job) == "lost"
    items = [
        TurnRequest.model_validate_json(i) for i in await redis.lrange(keys.inbox(SESSION), 0, -1)
    ]
    # the first turn stays for the new owner to see (it resumes it from its history),
    # and the second is untouched
    assert [i.inbound.text for i in items] == ["first", "second"]


async def test_enqueue_racing_the_close_never_strands_a_message(redis: Redis) -> None:
    """Many rounds of a message arriving just as the drainer finds the inbox empty."""

    class Idle:
        async def run(
            self, request: TurnRequest, holder: str, *, parked: bool = False, then: Any = None
        ) -> Outcome:
            return "done"

        async def pending_approvals(self, turn_id: str) -> bool:
            return False

    for round_ in range(60):
        await redis.flushall()
        queue = Recorder(redis)
        session = f"api:r{round_}"
        first = Inbound(channel="api", session_key=session, user_id="u", text="a")
        await submit(redis, first, queue)
        (_, job), *_ = queue.jobs
        drainer = drainer_of(redis, Idle(), queue)
        late = Inbound(channel="api", session_key=session, user_id="u", text="b")
        await asyncio.gather(drainer.drain(session, job), submit(redis, late, queue))
        waiting = await redis.llen(keys.inbox(session))
        if waiting:  # the drainer had closed before "b" came: a new job must own it
            scheduled = await redis.get(keys.sched(session))
            assert scheduled is not None and (session, scheduled.decode()) in queue.jobs[1:]
        else:  # the drainer saw "b" and ran it
            assert await redis.get(keys.sched(session)) is None
