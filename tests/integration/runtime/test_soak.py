"""20 sessions × 20 messages, submitted concurrently, on two ``facio worker`` processes.

DESIGN.md rule 1 under load: every session's turns run one at a time, in
arrival order, each exactly once, none stranded — while two worker processes
compete for the sessions and messages keep arriving during the turns.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

from arq.connections import ArqRedis
from redis.asyncio import Redis

from core.messages import AssistantMessage, UserMessage
from tests.integration.runtime.processes import (
    SAVE_RULES,
    Processes,
    finals,
    history,
    outbox_events,
    rendered,
    until,
    write_config,
)
from tests.integration.runtime.support import inbound, send
from tests.redis_fixture import MakeRedis
from workers import keys
from workers.codec import text
from workers.worker import connect

SESSIONS = 20
MESSAGES = 20


def _session(i: int) -> str:
    return f"api:soak{i}"


async def _submit_all(pool: ArqRedis) -> list[list[str]]:
    """Each session's messages in order; the sessions interleaved. Turn ids per session."""

    async def one_session(i: int) -> list[str]:
        turn_ids = []
        for j in range(MESSAGES):
            submitted = await send(pool, inbound(f"s{i} m{j}", session=_session(i)))
            turn_ids.append(submitted.turn_id)
            # paced: later messages arrive while earlier turns run and drains close
            await asyncio.sleep(random.uniform(0, 0.02))
        return turn_ids

    return list(await asyncio.gather(*(one_session(i) for i in range(SESSIONS))))


async def test_twenty_sessions_of_twenty_messages_on_two_workers(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    server = make_redis(tmp_path / "redis", appendonly=False)
    config = write_config(tmp_path, server.url, SAVE_RULES)
    async with server, Processes(tmp_path) as procs:
        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        workers = [procs.worker(config, "worker-a"), procs.worker(config, "worker-b")]

        async def both_listening() -> bool:  # both workers up before the first message
            (_, subscribers), *_ = await redis.pubsub_numsub(keys.WAKE_CHANNEL)
            return int(subscribers) == 2

        await until(both_listening, "both workers to start", 60, procs)
        holders: set[int] = set()

        async def sample_holders() -> None:  # turns are short: watch the leases closely
            while True:
                async with redis.pipeline(transaction=False) as pipe:
                    for i in range(SESSIONS):
                        pipe.get(keys.lease(_session(i)))
                    leases = await pipe.execute()
                holders.update(int(text(lease).split(":")[1]) for lease in leases if lease)
                await asyncio.sleep(0.002)

        async def all_done() -> bool:
            async with redis.pipeline(transaction=False) as pipe:
                for i in range(SESSIONS):
                    pipe.llen(keys.history(_session(i)))
                lengths = await pipe.execute()
            return all(length == 2 * MESSAGES for length in lengths)

        sampler = asyncio.create_task(sample_holders())
        started = time.monotonic()
        turn_ids = await _submit_all(pool)
        try:
            await until(all_done, "every turn to finish", 120, procs)
        finally:
            sampler.cancel()
        print(f"{SESSIONS * MESSAGES} turns on 2 workers in {time.monotonic() - started:.1f} s")

        # None stranded: every session closed, nothing queued or leased.
        for i in range(SESSIONS):
            for key in (keys.inbox, keys.sched, keys.lease, keys.parked):
                assert not await redis.exists(key(_session(i))), key(_session(i))
        assert await redis.zcard(keys.ACTIVE) == 0
        assert holders == {w.pid for w in workers}, "both workers took sessions"

        # In order, each once: the history alternates prompt and answer, m0 … m19.
        for i in range(SESSIONS):
            messages = await history(redis, _session(i))
            expected = []
            for j in range(MESSAGES):
                expected += [
                    (UserMessage, f"s{i} m{j}"),
                    (AssistantMessage, f"You said: s{i} m{j}"),
                ]
            assert [(type(m), m.content) for m in messages] == expected, _session(i)

        # The outbox: one start and one finish per turn, no final event twice.
        events = await outbox_events(redis)
        starts = Counter(e["turn_id"] for e in events if e["type"] == "turn_started")
        ends = Counter(e["turn_id"] for e in events if e["type"] == "turn_finished")
        every_turn = {t for ids in turn_ids for t in ids}
        assert starts == ends == Counter(every_turn)
        keyed = Counter(e["idempotency_key"] for e in events if e.get("idempotency_key"))
        assert [k for k, n in keyed.items() if n > 1] == []

        # What the person sees, per session: the answers in order, each once.
        shown = await rendered(redis)
        for i in range(SESSIONS):
            expected_shown = []
            for j in range(MESSAGES):
                expected_shown += [
                    ("turn_started", ""),
                    ("response", f"You said: s{i} m{j}"),
                    ("turn_finished", ""),
                ]
            assert finals(shown, _session(i)) == expected_shown, _session(i)
        assert all(w.alive for w in workers)
        await pool.aclose()
        await redis.aclose()
