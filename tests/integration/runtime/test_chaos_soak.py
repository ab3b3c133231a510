"""Chaos soak (issue 13): two gateways and two workers, 100 turns over 10 sessions with
approvals, while a worker and a gateway are SIGKILLed and Redis restarts.

The real programs: two ``facio gateway`` processes and two ``facio worker``
processes, production timings (15 s session leases, a reaper every 5 s), on
one redis-server with AOF. Ten ``api:`` sessions of ten turns; two turns of
each call ``save_note``, which asks for approval (``approvalHold`` 3 s): the
first is approved as soon as its request shows (the worker holds it), the
second only once the turn parked. Every session has a person who posts its
messages through the gateways in turn (a load balancer, ``Idempotency-Key``
on every post, retried on the other gateway when one fails) — usually after
the previous answer, sometimes one ahead, queued behind the running turn —
and an SSE client that reads the session's events from its own gateway and,
whenever the stream ends, reconnects to whichever gateway answers with
``Last-Event-ID``. The operator approves over ``POST /api/v1/approvals/{id}``,
through both gateways.

The chaos, at seeded random points of the run's progress (``FACIO_SOAK_SEED``
replays the choices; the timing stays the machine's): kill -9 of the worker
holding the most running turns (frozen with SIGSTOP first, so that what it
runs is read exactly; a new worker starts, as a supervisor would start it);
kill -9 of a gateway, kept down until approvals were decided
through the other one, then started again on its port; a Redis restart
(SIGTERM, AOF) on the same socket. Then: every session's history holds its
ten prompts in order, each answered exactly once, each approved note saved
once; every SSE client got every entry of its session's stream exactly once,
in order, across its reconnects, so it shows every final event once; nothing
is left queued, leased, parked or pending. The figures (``-s``) are quoted in
docs/runtime.md ("What survives what").

A turn whose tool call was running when its worker died or Redis went away
is, by design, reported to the model as interrupted rather than run again
(docs/runtime.md): for those turns only — the ones in flight at a kill or
at the restart — the history may show that answer instead of the saved note.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from core.agent.tool_step import INTERRUPTED
from core.messages import ToolResult
from tests.integration.runtime.chaos import ApiUser, Cluster, SseClient, until
from tests.integration.runtime.processes import (
    SAVE_RULES,
    Processes,
    finals,
    history,
    notes,
    write_config,
)
from tests.integration.runtime.soak_sessions import (
    TURNS,
    Session,
    conversations,
    expected_events,
    expected_turn,
    settled,
)
from tests.ports import free_port
from tests.redis_fixture import MakeRedis
from workers import keys
from workers.codec import text
from workers.inbox import TurnRequest
from workers.redis_server import EmbeddedRedis

HOLD = 3.0
"""``approvalHold``: the first approval of a session is decided within it (held), the
second after it (parked)."""
THINK = (0.1, 0.8)
"""Seconds a person takes before the next message."""
AHEAD = 0.25
"""How often a person sends the next message before the previous answer."""
WAIT = 120.0
"""Seconds any one condition may take before the test gives up (the run takes 30-60 s)."""


@dataclass
class Figures:
    """What the run measured (printed, and quoted in docs/runtime.md)."""

    seed: int
    startup_s: float = 0.0
    """From starting the processes until both gateways answer and both workers listen."""
    turns_s: float = 0.0
    worker_turns: int = 0
    """Turns the killed worker was running."""
    worker_recovery_s: float = 0.0
    """From the kill until the last of them finished (or parked again)."""
    gateway_down_s: float = 0.0
    decided_while_down: int = 0
    sse_reconnects: int = 0
    redis_down_s: float = 0.0
    redis_turns: int = 0
    """Turns in flight when Redis stopped."""
    redis_recovery_s: float = 0.0
    """From Redis back until every turn in flight at the stop had finished."""
    republished: int = 0
    """Final events published twice by retried turns (clients drop them by key)."""
    interrupted: int = 0
    """Tool calls reported to the model as interrupted (running at a kill or the restart)."""
    post_retries: int = 0


class Soak:
    """The people of the ten sessions, and the chaos, on one cluster."""

    def __init__(
        self,
        cluster: Cluster,
        redis: Redis,
        server: EmbeddedRedis,
        api: ApiUser,
        clients: dict[str, SseClient],
        figures: Figures,
    ) -> None:
        self.cluster = cluster
        self.redis = redis
        self.server = server
        self.api = api
        self.clients = clients
        self.figures = figures
        self.moments: list[int] = []
        """When a worker died and Redis stopped (Redis's clock, ms: stream ids are)."""
        self.victim_gateway = 0
        self.killed_gateway_at = 0.0
        self.redis_back_at = 0.0
        self.began = time.monotonic()

    def answered(self) -> int:
        return sum(c.count("turn_finished") for c in self.clients.values())

    async def _answered(self, session: Session, count: int) -> None:
        client = self.clients[session.key]

        async def enough() -> bool:
            return client.count("turn_finished") >= count

        await until(enough, f"{session.key} to show {count} answers", WAIT)

    # --- the people --------------------------------------------------------

    async def converse(self, session: Session) -> None:
        """Send the prompts in order: usually after the previous answer, sometimes one
        ahead (it queues behind the running turn)."""
        for j, prompt in enumerate(session.prompts):
            if j:
                ahead = session.rng.random() < AHEAD
                await self._answered(session, j - 1 if ahead else j)
            await asyncio.sleep(session.rng.uniform(*THINK))
            await self.api.say(session.key, prompt, f"{session.key}:{j}")
        await self._answered(session, TURNS)

    async def approve(self, session: Session) -> None:
        """The operator approves each request: the first at once, the second once its
        turn has parked (the worker gave up holding it)."""
        client = self.clients[session.key]
        while len(session.decided) < len(session.saves):
            asked = [e["approval_id"] for e in client.events() if e["type"] == "approval_request"]
            pending = [a for a in asked if a not in session.decided]
            if not pending:
                await asyncio.sleep(0.05)
                continue
            if session.decided:

                async def parked() -> bool:
                    return bool(await self.redis.exists(keys.parked(session.key)))

                await until(parked, f"{session.key} to park", WAIT)
            await self.api.approve(pending[0])
            session.decided.append(pending[0])

    # --- the chaos ---------------------------------------------------------

    async def chaos(self, rng: random.Random) -> None:
        worker_at, gateway_at, redis_at = (
            rng.randint(8, 14),
            rng.randint(25, 35),
            rng.randint(50, 65),
        )
        recovered = await self._kill_a_worker(worker_at)
        await self._kill_a_gateway(gateway_at, rng)
        await self._restart_redis(redis_at)
        await recovered

    async def _now(self) -> int:
        seconds, micros = await self.redis.time()
        return int(seconds) * 1000 + int(micros) // 1000

    async def _progress(self, count: int) -> None:
        async def reached() -> bool:
            return self.answered() >= count

        await until(reached, f"{count} answers", WAIT)

    async def _running(self) -> dict[str, tuple[int, str]]:
        """Session → (pid of the worker leasing it, the prompt of its turn) for the turns
        running now: leased, at the head of the inbox, not finished."""
        found = {}
        async for raw in self.redis.scan_iter(match=keys.lease("*")):
            session = text(raw).removeprefix(keys.lease(""))
            holder = await self.redis.get(raw)
            head = await self.redis.lindex(keys.inbox(session), 0)  # type: ignore[misc]
            if holder is None or head is None:
                continue
            turn = TurnRequest.model_validate_json(head)
            events = [
                json.loads(f[b"data"]) for _i, f in await self.redis.xrange(keys.events(session))
            ]
            ended = {e["turn_id"] for e in events if e["type"] == "turn_finished"}
            if turn.turn_id not in ended:
                found[session] = (int(text(holder).split(":")[1]), turn.inbound.text)
        return found

    async def _finished(self, running: dict[str, tuple[int, str]]) -> None:
        """Until every one of these turns has shown its end (or parked again)."""
        for session, (_pid, prompt) in running.items():
            j = int(prompt.split()[-1][1:])  # "s3 m4", "save s3 n5": turn 4, turn 5
            client = self.clients[session]

            async def done(client: SseClient = client, j: int = j, session: str = session) -> bool:
                return client.count("turn_finished") > j or bool(
                    await self.redis.exists(keys.parked(session))
                )

            await until(done, f"{session} to finish its turn {j}", WAIT)

    async def _kill_a_worker(self, at: int) -> asyncio.Task[None]:
        await self._progress(at)
        while True:
            running: dict[str, tuple[int, str]] = await until(
                self._running, "a worker to run a turn", WAIT
            )
            pids = [pid for pid, _prompt in running.values()]
            most = max(pids, key=pids.count)
            victim = next(w for w in self.cluster.live_workers() if w.pid == most)
            victim.pause()  # frozen, what it runs cannot change while we look
            await asyncio.sleep(0.1)  # the writes it had sent have landed
            mine = {s: held for s, held in (await self._running()).items() if held[0] == most}
            if mine:
                break
            victim.resume()  # its turn ended just before: another moment
            await asyncio.sleep(0.05)
        killed = victim.kill()
        self.cluster.start_worker()
        self.moments.append(await self._now())
        self.figures.worker_turns = len(mine)

        async def recovered() -> None:
            await self._finished(mine)
            self.figures.worker_recovery_s = time.monotonic() - killed

        return asyncio.create_task(recovered())

    async def _kill_a_gateway(self, at: int, rng: random.Random) -> None:
        await self._progress(at)

        async def both_decided() -> bool:  # the operator's first two went one to each gateway
            return len(self.api.decided) >= 2

        await until(both_decided, "two approvals decided", WAIT)
        victim = rng.choice(self.cluster.ports)
        killed = self.cluster.gateways[victim].kill()
        self.victim_gateway, self.killed_gateway_at = victim, killed
        stay_down = rng.uniform(2.0, 4.0)

        async def decided_elsewhere() -> bool:
            later = [d for d in self.api.decided if d.at > killed and d.port != victim]
            return len(later) >= 2 and time.monotonic() - killed >= stay_down

        await until(decided_elsewhere, "two approvals through the other gateway", WAIT)
        self.cluster.start_gateway(victim)
        async with aiohttp.ClientSession() as http:
            await until(lambda: self.cluster.serving(http, victim), "the gateway back", WAIT)
        self.figures.gateway_down_s = time.monotonic() - killed
        self.figures.decided_while_down = sum(
            killed < d.at < killed + self.figures.gateway_down_s for d in self.api.decided
        )

    async def _restart_redis(self, at: int) -> None:
        await self._progress(at)
        running = await self._running()
        self.moments.append(await self._now())
        stopped = time.monotonic()
        await self.server.stop()  # SIGTERM: the AOF is flushed
        await self.server.start()
        self.redis_back_at = time.monotonic()
        self.figures.redis_down_s = self.redis_back_at - stopped
        self.figures.redis_turns = len(running)
        await self._finished(running)
        self.figures.redis_recovery_s = time.monotonic() - self.redis_back_at


# --- what must hold afterwards ----------------------------------------------


async def _verify(soak: Soak, sessions: list[Session], workspace: Path) -> None:
    """Nothing lost, nothing doubled, per-session order kept — in the history, in the
    notes the tool wrote, and in what every SSE client received."""
    for s in sessions:
        messages = await history(soak.redis, s.key)
        shown = [(type(m), getattr(m, "content", "")) for m in messages]
        client = soak.clients[s.key]
        # a save turn running when its worker died or Redis stopped may have been
        # interrupted (by design): its result says so
        said = [m for m in messages if isinstance(m, ToolResult)]
        spans = _spans(client)
        cut = {
            j
            for j, result in zip(s.saves, said, strict=False)
            if result.content == INTERRUPTED
            and j < len(spans)
            and any(spans[j][0] <= moment <= spans[j][1] for moment in soak.moments)
        }
        soak.figures.interrupted += len(cut)
        expected = [m for j in range(TURNS) for m in expected_turn(s, j, j in cut)]
        assert shown == expected, f"{s.key}: the history is not each turn once, in order"
        # each approved note saved once, in order (an interrupted call's: at most once)
        required = [f"- {s.what(j)}\n" for j in s.saves if j not in cut]
        optional = {f"- {s.what(j)}\n" for j in s.saves if j in cut}
        path = notes(workspace, s.key)
        lines = path.read_text().splitlines(keepends=True) if path.exists() else []
        assert [line for line in lines if line not in optional] == required, (s.key, lines)
        assert all(lines.count(line) <= 1 for line in optional), (s.key, lines)

        stream = [text(i) for i, _f in await soak.redis.xrange(keys.events(s.key))]
        got = [entry_id for entry_id, _event in client.frames]
        assert got == stream, f"{s.key}: the SSE client missed or doubled stream entries"
        to_show = [e for j in range(TURNS) for e in expected_events(s, j, j in cut)]
        assert finals(client.events(), s.key) == to_show, f"{s.key}: what its person is shown"
        keyed = [e["idempotency_key"] for _i, e in client.frames if e.get("idempotency_key")]
        soak.figures.republished += len(keyed) - len(set(keyed))


def _spans(client: SseClient) -> list[tuple[int, int]]:
    """Each turn's first and last moment (Redis's clock, ms), in order."""
    started: dict[str, int] = {}
    finished: dict[str, int] = {}
    for entry_id, event in client.frames:
        ms = int(entry_id.split("-")[0])
        if event["type"] == "turn_started":
            started.setdefault(event["turn_id"], ms)
        elif event["type"] == "turn_finished":
            finished[event["turn_id"]] = ms
    return [(ms, finished.get(turn, ms)) for turn, ms in started.items()]


def _verify_chaos(soak: Soak) -> None:
    """The chaos did hit: running turns, approvals while a gateway was down, reconnects."""
    figures, killed = soak.figures, soak.killed_gateway_at
    assert figures.worker_turns >= 1, "the killed worker was running nothing"
    assert figures.decided_while_down >= 2
    assert {d.port for d in soak.api.decided} == set(soak.cluster.ports), "one gateway decided all"
    moved = 0
    for client in soak.clients.values():
        before = [port for port, at in client.connections if at < killed]
        if before[-1] == soak.victim_gateway:  # its stream died with the gateway: it moved on
            later = [port for port, at in client.connections if at > killed]
            assert later and later[0] != soak.victim_gateway, client.session
            moved += 1
    assert moved >= 1, "no SSE client was reading from the killed gateway"
    figures.sse_reconnects = sum(len(c.connections) - 1 for c in soak.clients.values())
    figures.post_retries = soak.api.retries


# --- the run -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_two_gateways_two_workers_a_hundred_turns_through_kills_and_a_redis_restart(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    seed = int(os.environ.get("FACIO_SOAK_SEED") or random.randrange(1_000_000))
    print(f"\nchaos soak: seed {seed} (FACIO_SOAK_SEED={seed} replays its choices)")
    began = time.monotonic()
    figures = Figures(seed)
    sessions = conversations(seed)
    server = make_redis(tmp_path / "redis", appendonly=True)
    async with server, Processes(tmp_path) as procs, aiohttp.ClientSession() as http:
        first = free_port()
        ports = [first, next(p for p in iter(free_port, 0) if p != first)]
        configs = {
            port: write_config(
                tmp_path,
                server.url,
                SAVE_RULES,
                name=f"gateway-{port}.json",
                gateway_port=port,
                approvalHold=HOLD,
            )
            for port in ports
        }
        cluster = Cluster(procs, configs)
        for port in ports:
            cluster.start_gateway(port)
        cluster.start_worker()
        cluster.start_worker()
        redis = Redis.from_url(server.url)
        try:
            soak = Soak(cluster, redis, server, ApiUser(http, cluster), {}, figures)
            await _run(soak, http, sessions, random.Random(seed))
            await _verify(soak, sessions, tmp_path / "ws")
            _verify_chaos(soak)
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}: {exc}\n{procs.logs()}") from exc
        finally:
            await redis.aclose()
    print(f"chaos soak: {figures} in {time.monotonic() - began:.1f} s wall")


async def _run(
    soak: Soak, http: aiohttp.ClientSession, sessions: list[Session], rng: random.Random
) -> None:
    cluster, redis = soak.cluster, soak.redis

    async def ready() -> bool:
        serving = [await cluster.serving(http, port) for port in cluster.ports]
        (_, listening), *_ = await redis.pubsub_numsub(keys.WAKE_CHANNEL)
        return all(serving) and int(listening) == 2

    await until(ready, "the gateways to answer and both workers to listen", WAIT)
    soak.figures.startup_s = time.monotonic() - soak.began
    for i, s in enumerate(sessions):  # half the people read from each gateway
        soak.clients[s.key] = SseClient(http, cluster, s.key, prefer=cluster.ports[i % 2])
    readers = [asyncio.create_task(c.run()) for c in soak.clients.values()]
    try:
        connected = (c.connected.wait() for c in soak.clients.values())
        await asyncio.wait_for(asyncio.gather(*connected), WAIT)
        started = time.monotonic()
        await _all(
            *(soak.converse(s) for s in sessions),
            *(soak.approve(s) for s in sessions),
            soak.chaos(rng),
        )
        soak.figures.turns_s = time.monotonic() - started
        await until(lambda: settled(redis, sessions), "everything to settle", WAIT)

        async def read_all() -> bool:  # every client has read its stream to the end
            for s in sessions:
                (last, _fields), *_ = await redis.xrevrange(keys.events(s.key), count=1)
                frames = soak.clients[s.key].frames
                if not frames or frames[-1][0] != text(last):
                    return False
            return True

        await until(read_all, "the SSE clients to read every stream to its end", WAIT)
    finally:
        for reader in readers:
            reader.cancel()
        ended = await asyncio.gather(*readers, return_exceptions=True)
        failed = [e for e in ended if not isinstance(e, asyncio.CancelledError)]
        if failed:  # the root cause of whatever waited for its frames in vain
            raise AssertionError(f"an SSE client failed: {failed[0]!r}") from failed[0]


async def _all(*work: Coroutine[Any, Any, Any]) -> None:
    """Run them all; the first failure cancels the rest."""
    tasks = [asyncio.create_task(w) for w in work]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
