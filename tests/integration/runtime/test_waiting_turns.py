"""Waiting turns cost the worker nothing per turn: leases renewed together, stops heard
by pub/sub and sweeps, running jobs out of arq's queue, held approvals that park when the
worker's slots are all taken."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from core.config import FacioConfig, parse_config
from tests.integration.runtime.support import Background, inbound, send, wait_for
from tests.redis_fixture import MakeRedis
from workers import keys
from workers.approval_record import Decision
from workers.approvals import ApprovalStore
from workers.decisions import decide
from workers.lease import RENEW_BATCH, LeaseKeeper
from workers.maintenance import reap
from workers.queue import QUEUE_NAME, ArqJobQueue
from workers.stops import StopWatcher
from workers.worker import build_worker, connect


def _config(tmp_path: Path, *, worker: dict[str, Any] | None = None, **agent: Any) -> FacioConfig:
    (tmp_path / "script.json").write_text(
        json.dumps(
            {
                "rules": [
                    {"on": "user", "match": "slow", "text": "finally", "delay": 30},
                    {
                        "on": "user",
                        "match": "^remember (?P<w>.+)",
                        "text": "Saving.",
                        "toolCalls": [{"name": "save_note", "arguments": {"text": "\\g<w>"}}],
                    },
                    {"on": "tool", "match": "(?s).*", "text": "Saved."},
                ],
                "fallback": "quick",
            }
        )
    )
    model = "scripted:script.json"
    data = {
        "workspace": "ws",
        "agent": {"model": model, **agent},
        "bots": {"main": {"model": model, "tools": ["save_note"]}},
        "worker": worker or {},
    }
    return parse_config(data, base_dir=tmp_path, env={}, source=tmp_path / "config.json")


async def test_one_call_renews_every_lease_and_names_the_lost_ones(redis: Redis) -> None:
    keeper = LeaseKeeper(redis, ttl=30)
    events = {}
    for i in range(200):
        await redis.set(f"facio:lease:s{i}", f"w:{i}", px=30_000)
        events[i] = keeper.hold(f"facio:lease:s{i}", f"w:{i}")
    await keeper.renew_all()  # the script is loaded into Redis on first use
    await redis.set("facio:lease:s7", "someone else", px=30_000)  # taken over meanwhile
    await redis.pexpire("facio:lease:s8", 1)
    await asyncio.sleep(0.01)  # s8 expired
    await redis.config_resetstat()
    await keeper.renew_all()
    stats = await redis.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] == 1  # one call for 200 leases
    assert {i for i, lost in events.items() if lost.is_set()} == {7, 8}
    assert len(keeper) == 198
    assert 29_000 < await redis.pttl("facio:lease:s0") <= 30_000


async def test_many_leases_are_renewed_in_batches_that_leave_redis_to_others(
    redis: Redis,
) -> None:
    """Redis runs a script alone: 1,200 leases go in three calls of at most 500."""
    keeper = LeaseKeeper(redis, ttl=30)
    events = {}
    for i in range(1200):
        await redis.set(f"facio:lease:s{i}", f"w:{i}", px=30_000)
        events[i] = keeper.hold(f"facio:lease:s{i}", f"w:{i}")
    await keeper.renew_all()
    for i in (3, 777, 1199):  # one lost in each batch
        await redis.set(f"facio:lease:s{i}", "someone else", px=30_000)
    await redis.config_resetstat()
    await keeper.renew_all()
    stats = await redis.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] == -(-1200 // RENEW_BATCH) == 3
    assert {i for i, lost in events.items() if lost.is_set()} == {3, 777, 1199}
    assert len(keeper) == 1197


async def test_a_lease_taken_again_during_a_renewal_is_not_lost(redis: Redis) -> None:
    """A renewal reads the owners, then waits for Redis: a session that closed and was
    taken again meanwhile (a new job, a new owner) keeps its new lease."""
    keeper = LeaseKeeper(redis, ttl=30)
    keeper.hold("facio:lease:s", "w:job-1")  # its key is gone already: the job closed
    renewal = asyncio.create_task(keeper.renew_all())
    await asyncio.sleep(0)  # the renewal is waiting for Redis, with job-1 as the owner
    keeper.release("facio:lease:s")
    await redis.set("facio:lease:s", "w:job-2", px=30_000)
    again = keeper.hold("facio:lease:s", "w:job-2")
    await renewal  # job-1's lease is gone: not a reason to stop job-2
    assert not again.is_set() and len(keeper) == 1


async def test_the_keeper_stamps_running_sessions_so_the_reaper_skips_them(
    redis: Redis, redis_url: str
) -> None:
    keeper = LeaseKeeper(redis, ttl=30, stamps=(keys.ACTIVE, keys.lease("")))
    long_ago = time.time() - 3600
    for i in range(300):
        session = f"api:run{i}"
        await redis.set(keys.sched(session), f"drain:{i}")
        await redis.zadd(keys.ACTIVE, {session: long_ago})  # scheduled an hour ago
        await redis.set(keys.lease(session), f"w:{i}", px=30_000)
        keeper.hold(keys.lease(session), f"w:{i}")
    await redis.set(keys.lease("api:run7"), "someone else", px=30_000)  # not ours: no stamp
    await redis.zrem(keys.ACTIVE, "api:run8")  # closed meanwhile: not added back
    await keeper.renew_all()
    scores = dict(await redis.zrange(keys.ACTIVE, 0, -1, withscores=True))
    assert b"api:run8" not in scores and len(scores) == 299
    assert scores[b"api:run7"] == long_ago
    assert all(time.time() - score < 5 for name, score in scores.items() if name != b"api:run7")
    # the reaper now looks at none of the running sessions, only at run7 (not stamped)
    pool = await connect(redis_url)
    await redis.config_resetstat()
    assert await reap(redis, ArqJobQueue(pool)) == []
    stats = await redis.info("commandstats")
    assert stats["cmdstat_get"]["calls"] == 1, stats  # one candidate looked at: run7
    await pool.aclose()


async def test_a_keeper_that_cannot_reach_redis_gives_its_leases_up_in_time(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    server = make_redis(tmp_path / "gone", appendonly=False)
    async with server:
        redis = Redis.from_url(server.url)
        now = [0.0]
        keeper = LeaseKeeper(redis, ttl=15, clock=lambda: now[0])
        await redis.set("facio:lease:x", "w", px=15_000)
        lost = keeper.hold("facio:lease:x", "w")
        await keeper.renew_all()
        await server.stop()  # Redis goes away
        now[0] = 5.0
        await keeper.renew_all()  # a failed renewal is logged, not raised
        assert not lost.is_set()  # one failure: tried again at the next beat
        now[0] = 10.0  # two thirds of the TTL without a renewal: stop before others take over
        await keeper.renew_all()
        assert lost.is_set()
        await redis.aclose()


async def test_a_stop_missed_on_pub_sub_is_found_by_the_sweep(redis: Redis) -> None:
    stops = StopWatcher(redis)
    before = time.time()
    stopped = stops.watch("api:a", enqueued_at=before)
    other = stops.watch("api:b", enqueued_at=before)
    await redis.set(keys.stop("api:a"), str(time.time()))  # no message on facio:stop
    await redis.set(keys.stop("api:b"), str(before - 60))  # older than the turn: not for it
    await redis.config_resetstat()
    await stops.sweep()
    assert (await redis.info("commandstats"))["cmdstat_mget"]["calls"] == 1
    assert stopped.is_set() and not other.is_set()
    assert not await redis.exists(keys.stop("api:a"))  # used up


async def test_a_sweep_of_many_sessions_reads_them_in_batches(redis: Redis) -> None:
    stops = StopWatcher(redis)
    before = time.time()
    flags = {i: stops.watch(f"api:s{i}", enqueued_at=before) for i in range(2500)}
    for i in (0, 1999, 2499):
        await redis.set(keys.stop(f"api:s{i}"), str(time.time()))
    await redis.config_resetstat()
    await stops.sweep()
    assert (await redis.info("commandstats"))["cmdstat_mget"]["calls"] == 3  # 1,000 each
    assert {i for i, flag in flags.items() if flag.is_set()} == {0, 1999, 2499}


async def test_a_running_job_leaves_arqs_queue_and_waits_for_nothing(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    pool = await connect(redis_url)
    async with Background(config, redis_url):
        for i in range(5):
            await send(pool, inbound("slow please", session=f"api:w{i}"))
        await wait_for(redis, "turn_started", count=5)
        # five turns wait on the model: none is in the queue arq walks on every poll
        assert await redis.zcard(QUEUE_NAME) == 0
        await redis.config_resetstat()
        await asyncio.sleep(2.0)
        stats = await redis.info("commandstats")
        calls = sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")
        assert calls < 20, stats  # arq's idle polls only: nothing per waiting turn
    await pool.aclose()


async def test_held_approvals_park_when_every_slot_is_taken(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, worker={"maxJobs": 2}, approvalHold=600)
    pool = await connect(redis_url)
    assert build_worker(config, pool).max_jobs == 2  # the config key, not the old default
    async with Background(config, redis_url):
        await send(pool, inbound("remember a", session="api:h1"))
        await send(pool, inbound("remember b", session="api:h2"))
        requests = await wait_for(redis, "approval_request", count=2)
        started = time.monotonic()
        await send(pool, inbound("hello", session="api:other"))  # both slots hold approvals
        finished = await wait_for(redis, "turn_finished", count=1, timeout=15)
        assert finished[0]["session_key"] == "api:other"
        assert time.monotonic() - started < 5.0  # not approvalHold (600 s) later
        assert await redis.exists(keys.parked("api:h1"), keys.parked("api:h2")) == 2
        # a click on a parked one resumes it on a free slot
        approval_id = requests[0]["approval_id"]
        queue = ArqJobQueue(pool)
        store = ApprovalStore(pool)
        result = await decide(store, queue, approval_id, Decision.APPROVE, "u1")
        assert result.decided
        await wait_for(redis, "turn_finished", count=2, timeout=15)
    await pool.aclose()


async def test_a_stop_read_with_the_turn_costs_no_call_of_its_own(redis: Redis) -> None:
    stops = StopWatcher(redis)
    before = time.time()
    read_at = time.monotonic()
    stopped = stops.watch("api:a", enqueued_at=before)
    quiet = stops.watch("api:b", enqueued_at=before)
    await redis.set(keys.stop("api:a"), str(time.time()))
    await redis.config_resetstat()
    await stops.seen("api:a", str(time.time()).encode(), read_at)  # as NEXT/ACQUIRE read it
    await stops.seen("api:b", None, read_at)
    stats = await redis.info("commandstats")
    assert stopped.is_set() and not quiet.is_set()
    assert "cmdstat_mget" not in stats and "cmdstat_get" not in stats  # nothing looked up
    assert not await redis.exists(keys.stop("api:a"))  # used up
    old = stops.watch("api:c", enqueued_at=before)
    await stops.seen("api:c", str(before - 60).encode(), read_at)  # older than the turn
    assert not old.is_set()


async def test_a_stop_announced_after_the_read_is_looked_up(redis: Redis) -> None:
    stops = StopWatcher(redis)
    read_at = time.monotonic()  # the script read no stop key …
    await redis.set(keys.stop("api:a"), str(time.time()))  # … then /stop came,
    await stops.notified("api:a")  # announced before the turn was watched
    stopped = stops.watch("api:a", enqueued_at=time.time() - 1)
    await stops.seen("api:a", None, read_at)
    assert stopped.is_set()
    # announced before the read: what the script read is the truth, nothing looked up
    await redis.set(keys.stop("api:b"), str(time.time()))
    await stops.notified("api:b")
    fresh = stops.watch("api:b", enqueued_at=time.time() + 1)
    await redis.config_resetstat()
    await stops.seen("api:b", None, time.monotonic())
    assert not fresh.is_set()
    assert "cmdstat_mget" not in await redis.info("commandstats")
