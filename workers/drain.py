"""The drain job: run a session's queued turns, one at a time, in order.

One arq job per session at a time (docs/runtime.md, rule 1). The job takes
the session's lease, runs the turn at the head of the inbox, pops it only
when the turn is finished (a crash leaves it at the head for the retry), and
closes the session atomically when the inbox is empty. The lease is renewed
while the job runs; if it is ever lost (a pause long enough for another
worker to take over), the job stops at once rather than run the session
twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from workers import keys, scripts
from workers.inbox import JobQueue, TurnRequest, new_id, schedule
from workers.lease import renew
from workers.redis_calls import lindex
from workers.turn import Outcome, TurnRunner

logger = logging.getLogger(__name__)

LEASE_TTL = 15.0
"""Seconds a lease outlives its holder: another worker takes over within this plus
the reaper's period when a worker dies."""

STOP_POLL = 0.2
"""Seconds between checks for ``/stop`` while a turn runs."""

Result = Literal["done", "parked", "skipped", "lost"]


async def stop_task(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and return once it has ended, however it ends.

    Its cleanup (``finally`` blocks that still talk to Redis) runs now, while
    the lease is held and Redis is up, not at some later shutdown.
    """
    task.cancel()
    for ended in await asyncio.gather(task, return_exceptions=True):
        if isinstance(ended, Exception):
            logger.warning("a stopped task ended with %s: %s", type(ended).__name__, ended)


@dataclass(frozen=True)
class Drainer:
    redis: Redis
    runner: TurnRunner
    worker_id: str
    queue: JobQueue
    lease_ttl: float = LEASE_TTL

    @property
    def _ttl_ms(self) -> str:
        return str(int(self.lease_ttl * 1000))

    async def drain(self, session_key: str, job_id: str) -> Result:
        holder = f"{self.worker_id}:{job_id}"
        acquired = await scripts.run(
            self.redis,
            scripts.ACQUIRE,
            [keys.sched(session_key), keys.lease(session_key)],
            [job_id, holder, self._ttl_ms],
        )
        if acquired != 1:
            logger.debug("drain %s for %s skipped (%s)", job_id, session_key, acquired)
            return "skipped"
        work = asyncio.create_task(self._loop(session_key, job_id, holder))
        keeper = asyncio.create_task(self._keep_lease(session_key, holder))
        try:
            try:
                await asyncio.wait({work, keeper}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                # The worker is shutting down: stop the turn (the lease still
                # kept meanwhile), then hand the session back at once instead
                # of letting it wait for the lease to expire.
                await stop_task(work)
                try:
                    await self._hand_back(session_key, job_id, holder)
                except RedisError as exc:  # the lease expires; the reaper reschedules
                    logger.warning("could not hand %s back: %s", session_key, exc)
                raise
            if work.done():
                return work.result()
            logger.error("lost the lease of %s; stopping its turn", session_key)
            await stop_task(work)
            return "lost"
        finally:
            keeper.cancel()
            work.cancel()  # a no-op once it has ended

    async def _run_stoppable(self, request: TurnRequest, holder: str) -> Outcome:
        """Run the turn; cancel it when a ``/stop`` for it arrives."""
        turn = asyncio.create_task(self.runner.run(request, holder))
        stopper = asyncio.create_task(self._stop_requested(request))
        try:
            await asyncio.wait({turn, stopper}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # shutdown or a lost lease: the turn ends with this job, never
            # outlives it (it would run beside whoever takes the session over)
            await stop_task(turn)
            raise
        finally:
            stopper.cancel()
        if turn.done():
            return turn.result()
        await stop_task(turn)
        await self.runner.cancelled(request)
        return "done"

    async def _stop_requested(self, request: TurnRequest) -> None:
        """Return once a stop was requested after this turn was queued.

        Only a stop ends it: a poll that fails (Redis restarting, a dropped
        connection) is tried again, so it never passes for the person's
        ``/stop``; the turn's own Redis writes fail if Redis stays away.
        """
        key = keys.stop(request.inbound.session_key)
        while True:
            try:
                value = await self.redis.get(key)
                if value is not None and float(value) >= request.enqueued_at:
                    await self.redis.delete(key)
                    return
            except RedisError as exc:
                logger.warning("could not check %s for a stop (%s); trying again", key, exc)
            await asyncio.sleep(STOP_POLL)

    async def _hand_back(self, session_key: str, job_id: str, holder: str) -> None:
        new_job = f"drain:{new_id()}"
        handed = await scripts.run(
            self.redis,
            scripts.HAND_BACK,
            [keys.sched(session_key), keys.lease(session_key), keys.ACTIVE],
            [job_id, holder, new_job, str(time.time()), session_key],
        )
        if handed == 1:
            logger.info("handed %s back as %s", session_key, new_job)
            await self.queue.enqueue_drain(session_key, new_job)

    async def _keep_lease(self, session_key: str, holder: str) -> None:
        """Renew every third of the TTL; return (lease lost) when it is not ours any more.

        A renewal that fails (Redis unreachable for a moment) is tried again at
        the next beat; a second failure in a row gives the lease up while it
        still has a third of its TTL to run, so the turn stops before another
        worker can take the session over.
        """
        renewed_at = time.monotonic()
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                renewed = await renew(self.redis, keys.lease(session_key), holder, self.lease_ttl)
            except RedisError as exc:
                if time.monotonic() - renewed_at >= self.lease_ttl * 2 / 3:
                    return
                logger.warning("could not renew the lease of %s (%s)", session_key, exc)
                continue
            if not renewed:
                return
            renewed_at = time.monotonic()

    async def _close(self, session_key: str, job_id: str, *, park: bool) -> int:
        return await scripts.run(
            self.redis,
            scripts.CLOSE,
            [
                keys.inbox(session_key),
                keys.sched(session_key),
                keys.ACTIVE,
                keys.lease(session_key),
                keys.parked(session_key),
            ],
            [job_id, session_key, "1" if park else "0"],
        )

    async def _park(self, session_key: str, job_id: str, request: TurnRequest) -> Result:
        """Close the session parked; resume it at once if the approvals were decided meanwhile.

        A decision resumes a parked session only when it sees the parked flag
        and no drain job (``resume_if_parked``). A click that lands after the
        hold gave up but before the close — or, for a parked session checked
        again by a new job, between that check and the close — finds neither,
        and nothing would ever resume the turn. So after closing, look once
        more: a decision made before this look is seen here; one made after
        it sees the flag set and ``sched`` gone, and schedules the resume
        itself. Both scheduling is harmless: ``SET NX`` lets one job win.
        """
        await self._close(session_key, job_id, park=True)
        if not await self.runner.pending_approvals(request.turn_id):
            logger.info("approvals of %s decided while it parked; resuming", session_key)
            await schedule(self.redis, session_key, self.queue)
        return "parked"

    async def _pop(self, session_key: str, holder: str, raw: bytes | str) -> bool:
        """Take the finished turn off the inbox, if this drainer still holds the session."""
        popped = await scripts.run(
            self.redis,
            scripts.POP_HEAD,
            [keys.lease(session_key), keys.inbox(session_key)],
            [holder, raw.decode() if isinstance(raw, bytes) else raw],
        )
        if popped != 1:
            logger.error("lost the lease of %s before popping its turn", session_key)
        return popped == 1

    async def _loop(self, session_key: str, job_id: str, holder: str) -> Result:
        inbox = keys.inbox(session_key)
        while True:
            raw = await lindex(self.redis, inbox, 0)
            if raw is None:
                if await self._close(session_key, job_id, park=False) == 1:
                    continue  # a message arrived as we were closing
                return "done"
            try:
                request = TurnRequest.model_validate_json(raw)
            except ValidationError:
                logger.error("unreadable turn in %s moved to %s", inbox, keys.DEAD_LETTERS)
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.rpush(keys.DEAD_LETTERS, raw)
                    pipe.lpop(inbox)
                    await pipe.execute()
                continue
            if await self.redis.exists(keys.parked(session_key)):
                if await self.runner.pending_approvals(request.turn_id):
                    return await self._park(session_key, job_id, request)
                await self.redis.delete(keys.parked(session_key))
            if request.command == "reset":
                await self.runner.reset(request)
                if not await self._pop(session_key, holder, raw):
                    return "lost"
                continue
            try:
                outcome = await self._run_stoppable(request, holder)
            except RedisError:
                raise  # Redis is the queue itself: let arq and the reaper retry
            except Exception as exc:
                # The loop boundary: a turn that fails (model API down after its
                # retries, a bug) is reported to the person and leaves the queue,
                # so the session's next messages are not blocked behind it.
                logger.exception("turn %s of %s failed", request.turn_id, session_key)
                await self.runner.fail(request, exc)
                outcome = "done"
            if outcome == "parked":
                return await self._park(session_key, job_id, request)
            if not await self._pop(session_key, holder, raw):
                return "lost"
