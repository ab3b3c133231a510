"""The arq worker that runs drain jobs, woken at once when a job is enqueued.

arq polls its queue every ``poll_delay`` (0.5 s by default: a quarter second
of latency on average). facio's enqueue also publishes on ``facio:wake``; a
subscriber in each worker sets an event that ends the poll wait early. The
poll stays as the fallback (a missed notification costs at most one
``poll_delay``), so an idle worker sleeps instead of spinning.

arq also fills free job slots only when it polls: a worker running
``max_jobs`` jobs skips the queue, and the jobs it skipped would wait for the
next poll after a slot frees — up to ``poll_delay`` per job, which caps a busy
worker at ``max_jobs / poll_delay`` turns a second (20 with the defaults;
docs/benchmarks.md, "Runtime"). So a full worker also ends its wait when one
of its jobs ends.

arq starts each job with four round trips (a WATCH transaction), then reads
it in a transaction of four more commands, and ends it with a fifth. A drain
job needs none of that: the session's lease already decides who runs it, and
the scripts that take and end the session take the job off the queue and
delete it (:meth:`FacioWorker.start_jobs`). The rest keeps arq's protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from asyncio import FIRST_COMPLETED
from collections.abc import Coroutine
from typing import Any

from arq import Worker
from arq.connections import ArqRedis, RedisSettings, create_pool, log_redis_info
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from redis.exceptions import RedisError

from core.config import FacioConfig
from workers import keys
from workers.codec import text
from workers.inbox import DRAIN_JOB, job_key
from workers.job_claim import claim
from workers.queue import QUEUE_NAME, drain_job, dumps, loads
from workers.runtime import CTX_KEY, WorkerRuntime, drain_session
from workers.schedules import Clock

logger = logging.getLogger(__name__)

POLL_DELAY = 0.5
JOB_TIMEOUT = 7 * 24 * 3600
"""arq's job timeout is not how facio recovers crashed turns (leases are), and a
turn may wait hours for an approval while holding nothing; keep it out of the way."""
SHUTDOWN_GRACE = 10
"""Seconds running turns get to finish on SIGTERM before they are handed back."""
REDIS_RETRY = 1.0
"""Seconds between polls while Redis does not answer."""
SUBSCRIBE_WAIT = 5.0
"""Seconds a starting worker waits for its wake-up subscription before it polls anyway."""


class FacioWorker(Worker):
    """arq's Worker with a doorbell: ``facio:wake`` ends the poll wait early."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._unstarted = False
        """The last poll read jobs it had no slot for (they wait for the next)."""

    async def _listen(self) -> None:
        while True:
            pubsub = self.pool.pubsub()
            try:
                await pubsub.subscribe(keys.WAKE_CHANNEL, keys.STOP_CHANNEL)
                async for message in pubsub.listen():
                    kind = message.get("type")
                    channel = text(message.get("channel") or b"")
                    if kind == "subscribe" and channel == keys.WAKE_CHANNEL:
                        # Redis confirmed it: no enqueue from now on goes unheard;
                        # poll once for those made while nobody listened.
                        self._subscribed.set()
                        self._wake.set()
                    elif kind == "subscribe":  # stops sent while nobody listened
                        self._spawn(self._runtime().stops.sweep())
                    elif kind == "message" and channel == keys.STOP_CHANNEL:
                        self._spawn(self._runtime().stops.notified(text(message["data"])))
                    elif kind == "message":
                        self._wake.set()
            except RedisError:
                logger.warning("wake-up subscription lost; polling until it is back")
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(RedisError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _runtime(self) -> WorkerRuntime:
        runtime: WorkerRuntime = self.ctx[CTX_KEY]
        return runtime

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beside the listener (a stop check must not hold the doorbell)."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def main(self) -> None:
        """arq's main loop, with the poll wait ending on a wake-up."""
        if self._pool is None:
            self._pool = await create_pool(
                self.redis_settings,
                job_deserializer=self.job_deserializer,
                job_serializer=self.job_serializer,
                default_queue_name=self.queue_name,
                expires_extra_ms=self.expires_extra_ms,
            )
        await log_redis_info(self.pool, logger.info)
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)
        self._listener = asyncio.create_task(self._listen())
        try:
            # Subscribed before the first poll: a job enqueued in between would
            # otherwise ring a bell nobody hears and wait for the poll.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), SUBSCRIBE_WAIT)
            while True:
                try:
                    await self._poll_iteration()
                    await self._measure_pressure()
                    if self.burst and await self._burst_done():
                        return
                except RedisError as exc:
                    # The loop boundary: Redis restarting must not end the worker.
                    # Queued turns, leases and schedules are all in Redis, so polling
                    # again once it is back is all it takes; a turn that failed
                    # meanwhile is picked up again by the reaper (docs/runtime.md).
                    logger.warning(
                        "Redis unavailable (%s); polling again in %g s", exc, REDIS_RETRY
                    )
                    await asyncio.sleep(REDIS_RETRY)
                    continue
                await self._wait_for_work()
        finally:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def close(self) -> None:
        """arq's close, safe after running jobs were cancelled and when Redis is gone.

        arq's own close gathers the job tasks without ``return_exceptions``: a
        job cancelled while arq was writing its bookkeeping ends *cancelled*,
        and the gather would raise CancelledError out of a clean shutdown. The
        tasks are awaited here first, what they raised is logged, and finished
        ones are dropped before arq closes the rest.
        """
        outcomes = await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                logger.warning("a job ended with %s: %s", type(outcome).__name__, outcome)
        for job_id in [job_id for job_id, task in self.tasks.items() if task.done()]:
            del self.tasks[job_id]
        try:
            await super().close()
        except RedisError as exc:
            # Redis went first (``docker compose down`` stops it with us): arq
            # could not delete its health-check key (it expires by itself) and
            # stopped there; the runtime (kernels, HTTP clients) must close anyway.
            logger.warning("closing without Redis (%s)", exc)
            if self.on_shutdown:
                await self.on_shutdown(self.ctx)
            await self.pool.close(close_connection_pool=True)
            self._pool = None

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """Start the jobs a poll read that fit in the free slots.

        A drain job starts with its payload, read for the whole batch with one
        MGET: its first step, ACQUIRE (workers.scripts), claims it — the session's
        lease lets one worker have it and takes it off the queue in the same
        call — so arq's in-progress mark, retry counter and run_job transaction
        would only repeat what the lease does. Anything else (a payload that
        expired, or that is not a drain job) goes arq's way: claimed in one call
        (workers.job_claim) and run by arq's run_job, which fails it as arq would.

        arq waits inside this loop for a slot; here the loop ends when the slots are
        full and :meth:`_wait_for_work` waits for a job to end (jobs it read and could
        not start yet are read again by the next poll)."""
        pending = [job_id for raw in job_ids if (job_id := raw.decode()) not in self.tasks]
        while pending and self.job_counter < self.max_jobs:
            free = self.max_jobs - self.job_counter
            batch, pending = pending[:free], pending[free:]
            payloads = await self.pool.mget([job_key(job_id) for job_id in batch])
            others: list[str] = []
            for job_id, payload in zip(batch, payloads, strict=True):
                job = drain_job(payload)
                if job is None:
                    others.append(job_id)
                else:
                    await self._start(job_id, self._run_drain(job_id, *job))
            if others:
                await self._start_arq_jobs(others)
        self._unstarted = bool(pending)

    async def _start_arq_jobs(self, job_ids: list[str]) -> None:
        scores = await claim(
            self.pool,
            self.queue_name,
            in_progress_key_prefix,
            job_ids,
            timestamp_ms(),
            int(self.in_progress_timeout_s * 1000),
        )
        for job_id, score in zip(job_ids, scores, strict=True):
            if score is None:
                logger.debug("job %s already running elsewhere", job_id)
            else:
                await self._start(job_id, self.run_job(job_id, score))

    async def _start(self, job_id: str, job: Coroutine[Any, Any, None]) -> None:
        await self.sem.acquire()  # a free slot: does not wait
        self.job_counter += 1
        task = asyncio.create_task(job)
        task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
        self.tasks[job_id] = task

    async def _run_drain(self, job_id: str, session_key: str, enqueued_ms: int) -> None:
        """A drain job, logged and counted as arq's run_job would (one not run here —
        another worker took it — neither), without its Redis bookkeeping: the drain
        claims the job and removes it (workers.drain).

        A job cancelled by a stopping worker has handed its session back under a new
        job (workers.drain), so it is not queued again as arq would; one that raised
        is logged and over, and the reaper reschedules its session (docs/runtime.md).
        """
        ref = f"{job_id}:{DRAIN_JOB}"
        started = timestamp_ms()
        logger.debug("%6.2fs → %s(%r)", (started - enqueued_ms) / 1000, ref, session_key)
        try:
            result = await self._runtime().drainer.drain(session_key, job_id)
        except asyncio.CancelledError:
            self.jobs_retried += 1
            logger.info("%6.2fs ↻ %s cancelled", (timestamp_ms() - started) / 1000, ref)
            raise
        except Exception as exc:  # the job's boundary, as arq's run_job has it
            self.jobs_failed += 1
            seconds = (timestamp_ms() - started) / 1000
            logger.exception("%6.2fs ! %s failed, %s: %s", seconds, ref, type(exc).__name__, exc)
            return
        seconds = (timestamp_ms() - started) / 1000
        if result == "skipped":  # another worker took it, or it was stale: not run here
            logger.debug("%6.2fs ← %s ● skipped", seconds, ref)
            return
        self.jobs_complete += 1
        logger.info("%6.2fs ← %s(%r) ● %s", seconds, ref, session_key, result)

    async def _measure_pressure(self) -> None:
        """Every slot taken while jobs wait in the queue: tell held approvals to park.

        Running jobs leave arq's queue once they hold their session (workers.scripts
        ACQUIRE), so what is left there waits for a slot.
        """
        pressure = self._runtime().pressure
        if self.job_counter < self.max_jobs:
            pressure.clear()
            return
        waiting = await self.pool.zcount(self.queue_name, "-inf", timestamp_ms())
        if waiting:
            pressure.set()
        else:
            pressure.clear()

    async def _wait_for_work(self) -> None:
        """Until a wake-up, ``poll_delay``, or — when every slot is taken — a job ends."""
        if self._unstarted and self.job_counter < self.max_jobs:
            return  # a slot freed since the poll left jobs waiting: poll again now
        wake = asyncio.create_task(self._wake.wait())
        watched: set[asyncio.Task[Any]] = {wake}
        if self.job_counter >= self.max_jobs:
            watched |= {task for task in self.tasks.values() if not task.done()}
        try:
            await asyncio.wait(watched, timeout=self.poll_delay_s, return_when=FIRST_COMPLETED)
        finally:
            wake.cancel()
        self._wake.clear()

    async def _burst_done(self) -> bool:
        if 0 <= self.max_burst_jobs <= self._jobs_started():
            await asyncio.gather(*self.tasks.values())
            return True
        if await self.pool.zcard(self.queue_name) == 0:
            await asyncio.gather(*self.tasks.values())
            return True
        return False


def build_worker(
    config: FacioConfig,
    pool: ArqRedis,
    *,
    burst: bool = False,
    handle_signals: bool = True,
    max_jobs: int | None = None,
    poll_delay: float = POLL_DELAY,
    clock: Clock | None = None,
) -> FacioWorker:
    """A worker on ``pool`` running ``config``'s bots.

    ``max_jobs`` (sessions at once) defaults to ``worker.maxJobs``; ``poll_delay``
    is the fallback poll (seconds) behind the wake-up doorbell; ``clock`` times the
    schedules (tests pass a ``ManualClock``).
    """

    async def startup(ctx: dict[str, Any]) -> None:
        runtime = WorkerRuntime(config, pool, clock=clock)
        runtime.start()
        ctx[CTX_KEY] = runtime

    async def shutdown(ctx: dict[str, Any]) -> None:
        runtime: WorkerRuntime | None = ctx.get(CTX_KEY)
        if runtime is not None:
            await runtime.stop()

    return FacioWorker(
        functions=[drain_session],
        redis_pool=pool,
        queue_name=QUEUE_NAME,
        burst=burst,
        handle_signals=handle_signals,
        job_completion_wait=SHUTDOWN_GRACE,
        on_startup=startup,
        on_shutdown=shutdown,
        max_jobs=max_jobs if max_jobs is not None else config.worker.max_jobs,
        job_timeout=JOB_TIMEOUT,
        keep_result=0,  # nobody reads a drain job's result
        poll_delay=poll_delay,
        max_tries=100,
        job_serializer=dumps,
        job_deserializer=loads,
    )


async def connect(url: str) -> ArqRedis:
    """An arq pool (a redis.asyncio client) on ``url``, JSON jobs."""
    return await create_pool(
        RedisSettings.from_dsn(url),
        job_serializer=dumps,
        job_deserializer=loads,
        default_queue_name=QUEUE_NAME,
    )
