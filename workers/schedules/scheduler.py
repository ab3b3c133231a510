"""The fire loop every worker runs: due schedules become turns, each run exactly once.

No leader: every worker runs this loop on the same ``due`` zset, and the
Redis scripts decide (docs/schedules.md, "Protocol").

1. ``ZRANGEBYSCORE due -inf now LIMIT 0 BATCH``: the runs that are due, read
   with their scores; the records in one ``MGET``.
2. For each, :func:`workers.schedules.expressions.plan` decides at ``now``:
   fire the latest missed run if it is at most ``schedules.grace`` old,
   skip older ones (logged), and the next run after now.
3. Firing is one script (:data:`~workers.schedules.scripts.FIRE`): if the
   schedule's score is still the one read in 1 (compare-and-set), move it to
   the next run (or delete a finished one-shot) and queue the turn on the
   session's inbox exactly as :func:`workers.inbox.submit` does — its own
   enqueue script, which also starts the drain job — with the event id
   ``schedule:{id}:{due}``. Of several workers that read the same run, one
   script wins; the others find the score moved and do nothing. A worker
   killed before the script left the run due for another; after it, the
   turn is queued with its job (a session whose job is lost is the reaper's).
   Skipping is the same compare-and-set without the enqueue (``ADVANCE``).
4. Sleep until the earliest score, at most ``MAX_IDLE`` (a schedule made
   meanwhile may be due sooner): an idle worker costs one ``ZRANGE`` a
   second, however many schedules wait.

The scheduled turn is an ordinary turn of its session: queued behind what
is running, its approvals, ``/stop`` and crash recovery are the drain's.
Redis errors are the loop's one broad concern: logged, and the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.config import FacioConfig
from workers import scripts as runtime_scripts
from workers.codec import text
from workers.inbox import JobQueue, TurnRequest, enqueue_call
from workers.schedules import keys, scripts
from workers.schedules.clock import Clock, SystemClock
from workers.schedules.expressions import format_time, plan
from workers.schedules.record import ScheduleRecord
from workers.schedules.store import ScheduleStore, read_record

__all__ = ["BATCH", "MAX_IDLE", "Fired", "Scheduler"]

logger = logging.getLogger(__name__)

BATCH = 100
"""Due runs read per round trip."""
MAX_IDLE = 1.0
"""Most seconds (of the schedules' clock) between looks at the earliest due run."""
RETRY = 1.0
"""Seconds between tries while Redis does not answer."""


@dataclass(frozen=True)
class Fired:
    """A run this worker started: the turn it queued."""

    schedule_id: str
    due: int
    turn_id: str


class Scheduler:
    """Fires due schedules on ``redis``; one per worker process."""

    def __init__(
        self,
        redis: Redis,
        config: FacioConfig,
        queue: JobQueue,
        *,
        clock: Clock | None = None,
        max_idle: float = MAX_IDLE,
    ) -> None:
        self.redis = redis
        self.config = config
        self.queue = queue
        self.clock: Clock = clock or SystemClock()
        self.store = ScheduleStore(redis, config, clock=self.clock)
        self.max_idle = max_idle

    async def run_forever(self) -> None:
        """Write the config's jobs, then fire due runs until cancelled."""
        synced = False
        while True:
            try:
                if not synced:
                    await self.store.sync_config()
                    synced = True
                await self.tick()
                wait = await self._until_next()  # 0 while more runs are due
            except RedisError as exc:
                logger.warning("schedules: Redis unavailable (%s); trying again", exc)
                await asyncio.sleep(RETRY)  # real seconds: a sped-up clock must not spin
                continue
            except Exception:  # the loop boundary: log it, keep firing the others
                logger.exception("schedules: the fire loop failed; trying again")
                await asyncio.sleep(RETRY)
                continue
            await self.clock.sleep(wait)

    async def _until_next(self) -> float:
        earliest = await self.redis.zrange(keys.DUE, 0, 0, withscores=True)
        if not earliest:
            return self.max_idle
        return min(max(float(earliest[0][1]) - self.clock.now(), 0.0), self.max_idle)

    async def tick(self) -> list[Fired]:
        """Handle the runs due now (one batch); the turns this worker queued.

        Sessions are handled side by side (their scripts and enqueues overlap);
        the runs of one session one after another, in due order, so its turns
        are queued in that order.
        """
        now = self.clock.now()
        due = await self.redis.zrangebyscore(
            keys.DUE, "-inf", now, start=0, num=BATCH, withscores=True
        )
        if not due:
            return []
        ids = [text(i) for i, _ in due]
        raws = await self.redis.mget([keys.record(i) for i in ids])
        sessions: dict[str, list[tuple[ScheduleRecord, int]]] = {}
        for schedule_id, (_, score), raw in zip(ids, due, raws, strict=True):
            record = read_record(schedule_id, raw)
            if record is None:
                await self._drop(schedule_id, int(score))
                continue
            sessions.setdefault(record.session_key, []).append((record, int(score)))
        groups = list(sessions.values())
        random.shuffle(groups)  # workers woken together contend less
        done = await asyncio.gather(
            *(self._run_in_order(runs, now) for runs in groups), return_exceptions=True
        )
        fired: list[Fired] = []
        for outcome in done:
            if isinstance(outcome, BaseException):
                raise outcome  # after every group has ended: nothing is left running
            fired += outcome
        return fired

    async def _run_in_order(
        self, runs: list[tuple[ScheduleRecord, int]], now: float
    ) -> list[Fired]:
        fired: list[Fired] = []
        for record, score in runs:  # ZRANGEBYSCORE order: by due time
            try:
                started = await self._run(record, score, now)
            except RedisError:
                raise
            except Exception:  # one run's boundary: a schedule that cannot run must not
                # come back every second, nor hold up the others
                logger.exception("schedule %s failed to run", record.schedule_id)
                await self._drop(record.schedule_id, score)
                continue
            if started is not None:
                fired.append(started)
        return fired

    async def _run(self, record: ScheduleRecord, due: int, now: float) -> Fired | None:
        decided = plan(record.timing, due, now, self.config.schedules.grace)
        following = "" if decided.next_run is None else str(decided.next_run)
        if decided.skipped_from is not None:
            self._log_skipped(record, decided.skipped_from, decided.fire, decided.next_run)
        if decided.fire is None:
            await self._advance(record, due, following)
            return None
        return await self._fire(record, due, decided.fire, following)

    def _log_skipped(
        self, record: ScheduleRecord, since: int, fired: int | None, following: int | None
    ) -> None:
        tz = record.timing.timezone
        then = format_time(since, tz)
        if fired is not None:
            logger.warning(
                "schedule %s (%s) missed its runs from %s on; only the latest, of %s, fires",
                record.schedule_id,
                record.session_key,
                then,
                format_time(fired, tz),
            )
            return
        logger.warning(
            "schedule %s (%s) missed its runs from %s on by more than the grace of %g s: "
            "skipped; %s",
            record.schedule_id,
            record.session_key,
            then,
            self.config.schedules.grace,
            f"next run {format_time(following, tz)}" if following is not None else "it is done",
        )

    async def _fire(
        self, record: ScheduleRecord, due: int, run: int, following: str
    ) -> Fired | None:
        inbound = record.inbound(run, approvers=self._approvers(record.origin.channel))
        request = TurnRequest(inbound=inbound, schedule_id=record.schedule_id)
        call = enqueue_call(request, self.queue)
        sk = record.session_key
        result = await runtime_scripts.run(
            self.redis,
            scripts.FIRE,
            [*call.keys, keys.DUE, keys.record(record.schedule_id), keys.session(sk)],
            [*call.args, record.schedule_id, str(due), following],
        )
        if result == -2:
            return None  # another worker fired (or skipped) it, or it was cancelled
        if result == 1 and call.staged is None:
            await self.queue.enqueue_drain(sk, call.job_id)
        if result == -1:
            logger.warning("schedule %s: run %s was queued before", record.schedule_id, run)
            return None
        logger.info("schedule %s fired its run of %s in %s", record.schedule_id, run, sk)
        return Fired(record.schedule_id, run, request.turn_id)

    def _approvers(self, channel: str) -> tuple[str, ...]:
        """The channel's approvers as the config says now (not as when the schedule was
        made): someone removed from them no longer decides a scheduled turn's approvals."""
        settings = self.config.channels.enabled().get(channel)
        if settings is None:
            return ()
        return tuple(a.strip() for a in settings.approvers if a.strip())

    async def _advance(self, record: ScheduleRecord, due: int, following: str) -> None:
        await runtime_scripts.run(
            self.redis,
            scripts.ADVANCE,
            [keys.DUE, keys.record(record.schedule_id), keys.session(record.session_key)],
            [record.schedule_id, str(due), following],
        )

    async def _drop(self, schedule_id: str, due: int) -> None:
        """Take a schedule that cannot run off the due list (its record stays to inspect),
        unless it moved on meanwhile (another worker fired it: then it can run)."""
        dropped = await runtime_scripts.run(
            self.redis, scripts.DROP, [keys.DUE], [schedule_id, str(due)]
        )
        if dropped == 1:
            logger.error("schedule %s (due %s) cannot run: off the due list", schedule_id, due)
