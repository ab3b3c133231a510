"""The drain job: run a session's queued turns, one at a time, in order.

One arq job per session at a time (docs/runtime.md, rule 1). The job takes
the session's lease, runs the turn at the head of the inbox, pops it only
when the turn is finished (a crash leaves it at the head for the retry), and
closes the session atomically when the inbox is empty. The worker's
:class:`~workers.lease.LeaseKeeper` renews the lease (with every other lease
of the process, in one call); if it is ever lost (a pause long enough for
another worker to take over), the job stops at once rather than run the
session twice. ``/stop`` reaches the running turn through the worker's
:class:`~workers.stops.StopWatcher`: nothing polls per turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from workers import keys, scripts
from workers.codec import text
from workers.inbox import JobQueue, TurnRequest, job_key, new_id, schedule
from workers.lease import LeaseKeeper
from workers.queue import QUEUE_NAME
from workers.redis_calls import lindex
from workers.stops import StopRead, StopWatcher
from workers.turn import Outcome, TurnRunner
from workers.turn_writes import LeaseLost, PopNext

logger = logging.getLogger(__name__)

LEASE_TTL = 15.0
"""Seconds a lease outlives its holder: another worker takes over within this plus
the reaper's period when a worker dies."""

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
    keeper: LeaseKeeper
    stops: StopWatcher
    lease_ttl: float = LEASE_TTL

    @property
    def _ttl_ms(self) -> str:
        return str(int(self.lease_ttl * 1000))

    async def drain(self, session_key: str, job_id: str) -> Result:
        """Run the session's turns under job ``job_id``; how it ended.

        The job's payload (arq's job key) goes with the script that ends the job
        (ACQUIRE skipping it, the session's close, a hand-back); a job that lost
        its lease deletes it here, and one that Redis failed under leaves it to
        expire (a day: arq's default)."""
        holder = f"{self.worker_id}:{job_id}"
        read_at = time.monotonic()
        acquired = await scripts.run_list(
            self.redis,
            scripts.ACQUIRE,
            [
                keys.sched(session_key),
                keys.lease(session_key),
                QUEUE_NAME,
                keys.inbox(session_key),
                keys.parked(session_key),
                keys.stop(session_key),
                job_key(job_id),
            ],
            [job_id, holder, self._ttl_ms],
        )
        if int(acquired[0]) != 1:
            logger.debug("drain %s for %s skipped (%s)", job_id, session_key, acquired[0])
            return "skipped"
        head = acquired[1] or None
        stop = StopRead(acquired[3], read_at)
        result = await self._hold(session_key, job_id, holder, head, bool(acquired[2]), stop)
        if result == "lost":
            try:
                await self.redis.delete(job_key(job_id))
            except RedisError as exc:
                logger.warning("could not delete job %s: %s", job_id, exc)
        return result

    async def _hold(
        self,
        session_key: str,
        job_id: str,
        holder: str,
        head: bytes | str | None,
        parked: bool,
        stop: StopRead,
    ) -> Result:
        """Drain while the lease is held; stop the turn the moment it is lost."""
        lease = keys.lease(session_key)
        work = asyncio.create_task(self._loop(session_key, job_id, holder, head, parked, stop))
        lost = self.keeper.hold(lease, holder)
        try:
            try:
                racing: set[asyncio.Future[Any]] = {work, lost.future}
                await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
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
                try:
                    return work.result()
                except LeaseLost as exc:  # a write was refused: another worker has it now
                    logger.error("%s", exc)
                    return "lost"
            logger.error("lost the lease of %s; stopping its turn", session_key)
            await stop_task(work)
            return "lost"
        finally:
            self.keeper.release(lease)
            work.cancel()  # a no-op once it has ended

    async def _run_stoppable(
        self,
        request: TurnRequest,
        holder: str,
        stop: StopRead | None,
        parked: bool,
        then: PopNext,
    ) -> Outcome:
        """Run the turn; cancel it when a ``/stop`` for it arrives (workers.stops).

        A stop requested before the watch began is in ``stop`` (the stop key as
        the script that handed over the turn read it; None: looked up now); one
        that a failed look misses is found by the next sweep.
        """
        session_key = request.inbound.session_key
        stopped = self.stops.watch(session_key, request.enqueued_at)
        turn = asyncio.create_task(self.runner.run(request, holder, parked=parked, then=then))
        try:
            if stop is None:
                await self.stops.look(session_key)
            else:
                await self.stops.seen(session_key, stop.value, stop.read_at)
            racing: set[asyncio.Future[Any]] = {turn, stopped.future}
            await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # shutdown or a lost lease: the turn ends with this job, never
            # outlives it (it would run beside whoever takes the session over)
            await stop_task(turn)
            raise
        finally:
            self.stops.unwatch(session_key)
        if turn.done() or then.sent:  # ended, or its last write (which ends it) is on its way
            return await turn
        await stop_task(turn)
        await self.runner.cancelled(request, holder)
        return "done"

    async def _hand_back(self, session_key: str, job_id: str, holder: str) -> None:
        new_job = f"drain:{new_id()}"
        handed = await scripts.run(
            self.redis,
            scripts.HAND_BACK,
            [keys.sched(session_key), keys.lease(session_key), keys.ACTIVE, job_key(job_id)],
            [job_id, holder, new_job, str(time.time()), session_key],
        )
        if handed == 1:
            logger.info("handed %s back as %s", session_key, new_job)
            await self.queue.enqueue_drain(session_key, new_job)

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
                job_key(job_id),
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

    async def _next(
        self, session_key: str, job_id: str, holder: str, raw: bytes | str
    ) -> tuple[Result | None, bytes | str | None, StopRead | None]:
        """Pop the finished turn and read the next (or close the session): ``(None,
        next item, its stop key)`` to go on, else how the drain ends."""
        read_at = time.monotonic()
        reply = await scripts.run_list(
            self.redis,
            scripts.NEXT,
            [
                keys.lease(session_key),
                keys.inbox(session_key),
                keys.sched(session_key),
                keys.ACTIVE,
                keys.parked(session_key),
                keys.stop(session_key),
                job_key(job_id),
            ],
            [holder, text(raw), session_key],
        )
        return self._popped(session_key, reply, read_at)

    @staticmethod
    def _popped(
        session_key: str, reply: list[Any], read_at: float
    ) -> tuple[Result | None, bytes | str | None, StopRead | None]:
        """NEXT's reply (or a turn's last write's, ending it the same way), as ``_next``
        answers it."""
        code = int(reply[0])
        if code == 1:
            return None, reply[1], StopRead(reply[2], read_at)
        if code == -1:
            logger.error("lost the lease of %s before popping its turn", session_key)
            return "lost", None, None
        return "done", None, None

    async def _loop(
        self,
        session_key: str,
        job_id: str,
        holder: str,
        raw: bytes | str | None,
        parked: bool,
        stop: StopRead | None,
    ) -> Result:
        inbox = keys.inbox(session_key)
        while True:
            if raw is None:
                if await self._close(session_key, job_id, park=False) == 1:
                    raw, stop = await lindex(self.redis, inbox, 0), None
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
                raw, stop = await lindex(self.redis, inbox, 0), None
                continue
            then = PopNext(text(raw), job_id)
            if request.command == "reset":
                await self.runner.reset(request, holder)
            else:
                # a parked turn stays parked while an approval is undecided, else
                # resumes; its first write clears the flag
                turn = self._run_stoppable(request, holder, stop, parked, then)
                outcome = await self._reported(request, holder, turn)
                if outcome == "parked":
                    return await self._park(session_key, job_id, request)
            parked = False
            if then.reply is None:  # it did not end with its last write (reset, stop, failure)
                ended, raw, stop = await self._next(session_key, job_id, holder, raw)
            else:
                ended, raw, stop = self._popped(session_key, then.reply, then.read_at)
            if ended is not None:
                return ended

    async def _reported(
        self, request: TurnRequest, holder: str, turn: Awaitable[Outcome]
    ) -> Outcome:
        """``turn``'s outcome; one that fails is reported to the person and ends ("done")."""
        try:
            return await turn
        except RedisError:
            raise  # Redis is the queue itself: let arq and the reaper retry
        except LeaseLost:
            raise  # not ours any more: the new owner runs it
        except Exception as exc:
            # The loop boundary: a turn that fails (model API down after its
            # retries, a bug) is reported to the person and leaves the queue,
            # so the session's next messages are not blocked behind it.
            logger.exception("turn %s of %s failed", request.turn_id, request.inbound.session_key)
            await self.runner.fail(request, holder, exc)
            return "done"
