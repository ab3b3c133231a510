"""Chaos soak: two gateways and two workers, 100 turns over 10 sessions with approvals,
while a gateway and a worker are SIGKILLed and Redis restarts (issue 13).

The real programs: two ``facio gateway`` processes (production timings: a dead
gateway's outbox partitions are taken over when their 9 s leases run out,
Telegram's polling when its 30 s lease does) and two ``facio worker``
processes (15 s session leases, a reaper every 5 s) on one redis-server with
AOF; Telegram is the loopback fake (:mod:`tests.fakes.telegram_server`).

Ten sessions, ten turns each, two of every session's turns asking for
``save_note`` approval (``approvalHold`` 2 s): the first is approved at once
(held: the worker waits in process), the second only once the turn parked.

- 5 Telegram private chats show real renders: messages, approval cards
  edited in place once decided, answers — counted in the fake's chats, where
  a doubled or missing render, or one out of order, would be visible. The
  person sends a message, usually waits for the answer, and clicks the card.
- 5 ``api:`` sessions show the HTTP API: messages posted (with an
  ``Idempotency-Key``) to whichever gateway answers, approvals decided by the
  operator over ``POST /api/v1/approvals/{id}``, and an SSE client per session
  that reconnects with ``Last-Event-ID`` whenever its stream ends.

The chaos, at seeded random moments (``FACIO_SOAK_SEED`` replays a run's choices;
the timing stays the machine's): kill -9 of the worker holding the most
sessions, then started again; kill -9 of the gateway that polls Telegram (it
also reads half the outbox partitions), started again on its port once the
other took over; a Redis restart (SIGTERM, AOF) on the same socket. Then:
every session's history holds its ten prompts in order, each answered once;
each chat shows every answer and card once, in order; every SSE client got
every entry of its session's stream; nothing is left queued, leased, pending
or unacknowledged. The takeover and recovery times are printed (``-s``) and
quoted in docs/runtime.md ("What survives what").
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.messages import AssistantMessage, ToolResult, ToolStarted, UserMessage
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import message_update, user
from tests.integration.runtime.chaos import (
    HEADERS,
    ApiUser,
    Cluster,
    SseClient,
    partition_holders,
    poller_holder,
    soak_config,
)
from tests.integration.runtime.processes import SAVE_RULES, Processes, finals, history, notes
from tests.ports import free_port
from tests.redis_fixture import MakeRedis
from workers import keys
from workers.codec import text
from workers.inbox import TurnRequest
from workers.outbox_reader import GROUP

CHATS = 5
API_SESSIONS = 5
TURNS = 10
HOLD = 2.0
"""``approvalHold``: a click within it resumes the held turn; the test waits past it to park."""
THINK = (0.2, 1.2)
DEADLINE = 180.0
"""Seconds anything may take before the test gives up (the run takes about a minute)."""
CARD = "🔐 Approval needed"

T = TypeVar("T")


@dataclass
class Session:
    """One conversation: its key, its prompts, which of them ask for approval."""

    key: str
    prompts: list[str]
    saves: list[int]
    rng: random.Random
    answered: int = 0
    sent: int = 0
    decided: list[str] = field(default_factory=list)


@dataclass
class Figures:
    seed: int
    worker_sessions: int = 0
    worker_takeover: float = 0.0
    partitions_takeover: float = 0.0
    polling_takeover: float = 0.0
    redis_down: float = 0.0
    redis_recovery: float = 0.0
    redis_waiting: int = 0


def _sessions(seed: int) -> list[Session]:
    made = []
    for i in range(CHATS + API_SESSIONS):
        rng = random.Random(seed * 100 + i)
        key = f"telegram:{101 + i}" if i < CHATS else f"api:soak-{i}"
        saves = sorted(rng.sample(range(TURNS), 2))
        prompts = [f"save s{i} n{j}" if j in saves else f"s{i} m{j}" for j in range(TURNS)]
        made.append(Session(key, prompts, saves, rng))
    return made


def _person(session: Session) -> dict[str, Any]:
    uid = int(session.key.split(":")[1])
    return user(uid, f"User{uid}", f"user{uid}")


async def _until(check: Callable[[], Awaitable[T]], what: str, timeout: float = DEADLINE) -> T:
    """Poll ``check`` (a Redis error, as while it restarts, counts as "not yet")."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = await check()
        except (RedisError, OSError):
            value = None  # type: ignore[assignment]
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(0.05)


class Soak:
    """The people of the ten sessions, and the chaos, on one cluster."""

    def __init__(
        self,
        cluster: Cluster,
        redis: Redis,
        tg: FakeTelegram,
        api: ApiUser,
        clients: dict[str, SseClient],
        figures: Figures,
    ) -> None:
        self.cluster = cluster
        self.redis = redis
        self.tg = tg
        self.api = api
        self.clients = clients
        self.figures = figures

    # --- what a person sees ------------------------------------------------

    def _chat(self, session: Session) -> list[dict[str, Any]]:
        return self.tg.sent(int(session.key.split(":")[1]))

    def _answers(self, session: Session) -> int:
        if session.key.startswith("telegram:"):
            said = [str(m["text"]) for m in self._chat(session)]
            return sum(s.startswith(("You said: ", "Tool said: ")) for s in said)
        events = self.clients[session.key].events()
        return len({e["turn_id"] for e in events if e["type"] == "turn_finished"})

    async def _answered(self, session: Session, count: int) -> None:
        async def enough() -> bool:
            session.answered = self._answers(session)
            return session.answered >= count

        await _until(enough, f"{session.key} to show {count} answers")

    # --- the people --------------------------------------------------------

    async def converse(self, session: Session) -> None:
        """Send the prompts in order: usually after the previous answer, sometimes
        one ahead (it queues behind the running turn)."""
        for j, prompt in enumerate(session.prompts):
            if j:
                ahead = session.rng.random() < 0.25
                await self._answered(session, j - 1 if ahead else j)
            await asyncio.sleep(session.rng.uniform(*THINK))
            if session.key.startswith("telegram:"):
                self.tg.push(message_update(_person(session), prompt))
            else:
                await self.api.say(session.key, prompt, f"{session.key}:{j}")
            session.sent += 1
        await self._answered(session, TURNS)

    async def approve(self, session: Session) -> None:
        """Approve each approval of the session: the first at once, the second once parked."""
        while len(session.decided) < len(session.saves):
            pending = [a for a in self._requests(session) if a not in session.decided]
            if not pending:
                await asyncio.sleep(0.05)
                continue
            approval_id = pending[0]
            if session.decided:  # the second one: let the worker give up holding it
                await _until(
                    lambda: self.redis.exists(keys.parked(session.key)),
                    f"{session.key} to park",
                )
            if session.key.startswith("telegram:"):
                card = next(m for m in self._chat(session) if approval_id in str(m))
                chat = int(session.key.split(":")[1])
                self.tg.click(
                    _person(session), chat, card["message_id"], f"ap:{approval_id}:approve"
                )
            else:
                await self.api.approve(approval_id)
            session.decided.append(approval_id)

    def _requests(self, session: Session) -> list[str]:
        """Approval ids asked so far, in order (a card shown twice counts once)."""
        found: list[str] = []
        if session.key.startswith("telegram:"):
            for message in self._chat(session):
                markup = message.get("reply_markup", {}).get("inline_keyboard", [])
                for row in markup:
                    for button in row:
                        approval_id = button["callback_data"].split(":")[1]
                        if approval_id not in found:
                            found.append(approval_id)
        else:
            for event in self.clients[session.key].events():
                if event["type"] == "approval_request" and event["approval_id"] not in found:
                    found.append(event["approval_id"])
        return found

    # --- the chaos ---------------------------------------------------------

    async def chaos(self, rng: random.Random, server: Any, sessions: list[Session]) -> None:
        await asyncio.sleep(rng.uniform(2.0, 5.0))
        await self._kill_a_worker(rng)
        await asyncio.sleep(rng.uniform(1.0, 3.0))
        await self._kill_a_gateway(rng)
        await asyncio.sleep(rng.uniform(1.0, 3.0))
        await self._restart_redis(server, sessions)

    async def _leases(self) -> dict[str, int]:
        """Session → pid of the worker leasing it."""
        found = {}
        async for raw in self.redis.scan_iter(match=keys.lease("*")):
            holder = await self.redis.get(raw)
            if holder is not None:
                found[text(raw).removeprefix(keys.lease(""))] = int(text(holder).split(":")[1])
        return found

    async def _kill_a_worker(self, rng: random.Random) -> None:
        leases = await _until(self._leases, "a worker to hold a session")
        pids = sorted(set(leases.values()), key=lambda p: (-list(leases.values()).count(p), p))
        victim = next(w for w in self.cluster.workers if w.pid == pids[0])
        heads = {}
        for sk, pid in leases.items():
            if pid == victim.pid:
                head = await self.redis.lindex(keys.inbox(sk), 0)  # type: ignore[misc]
                if head is not None:
                    heads[sk] = TurnRequest.model_validate_json(head).turn_id
        killed = victim.kill()
        self.cluster.start_worker()
        self.figures.worker_sessions = len(heads)

        async def taken_over(sk: str, turn_id: str) -> bool:
            holder = await self.redis.get(keys.lease(sk))
            if holder is not None and int(text(holder).split(":")[1]) != victim.pid:
                return True
            if await self.redis.exists(keys.parked(sk)):
                return True
            events = await self.redis.xrange(keys.events(sk))
            return any(
                b'"turn_finished"' in f[b"data"] and turn_id.encode() in f[b"data"]
                for _id, f in events
            )

        async def measure() -> None:
            await asyncio.gather(
                *(
                    _until(lambda sk=sk, t=t: taken_over(sk, t), f"{sk} taken over")
                    for sk, t in heads.items()
                )
            )
            self.figures.worker_takeover = time.monotonic() - killed

        self._worker_measure = asyncio.create_task(measure())

    async def _polling_gateway(self) -> int:
        """The port of the gateway that received Telegram's updates (it holds the poll)."""
        for port in self.cluster.alive_ports():
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/metrics", headers=HEADERS) as response,
            ):
                metrics = await response.text()
            if re.search(r'^facio_telegram_updates_total\{kind="message"\} [1-9]', metrics, re.M):
                return port
        return 0

    async def _kill_a_gateway(self, rng: random.Random) -> None:
        victim = await _until(self._polling_gateway, "a gateway to poll Telegram")
        (survivor,) = [p for p in self.cluster.alive_ports() if p != victim]
        poller = await poller_holder(self.redis, self.tg.bot_id)
        killed = self.cluster.gateways[victim].kill()

        async def survivor_reads_all() -> bool:
            holders = await partition_holders(self.redis)
            return set(holders) == {Cluster.consumer(survivor)}

        await _until(survivor_reads_all, "the survivor to take every partition")
        self.figures.partitions_takeover = time.monotonic() - killed

        async def polled_again() -> bool:
            return (await poller_holder(self.redis, self.tg.bot_id)) not in ("", poller)

        async def measure() -> None:
            await _until(polled_again, "Telegram polling to be taken over")
            self.figures.polling_takeover = time.monotonic() - killed

        self._polling_measure = asyncio.create_task(measure())
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        self.cluster.start_gateway(victim)

    async def _restart_redis(self, server: Any, sessions: list[Session]) -> None:
        waiting = [s for s in sessions if s.key.startswith("api:") and s.answered < s.sent]
        before = {s.key: self._answers(s) for s in waiting}
        stopped = time.monotonic()
        await server.stop()  # SIGTERM: the AOF is flushed
        await server.start()
        back = time.monotonic()
        self.figures.redis_down = back - stopped
        self.figures.redis_waiting = len(waiting)

        async def progressed(s: Session) -> None:
            async def more() -> bool:
                return self._answers(s) > before[s.key]

            await _until(more, f"{s.key} to answer after the Redis restart")

        await asyncio.gather(*(progressed(s) for s in waiting))
        self.figures.redis_recovery = time.monotonic() - back

    async def measured(self) -> None:
        await self._worker_measure
        await self._polling_measure


# --- what must hold afterwards ----------------------------------------------


def _expected_history(session: Session) -> list[tuple[type, str]]:
    expected: list[tuple[type, str]] = []
    for j, prompt in enumerate(session.prompts):
        expected.append((UserMessage, prompt))
        if j in session.saves:
            what = prompt.removeprefix("save ")
            expected += [
                (AssistantMessage, f"Saving {what}."),
                (ToolStarted, ""),
                (ToolResult, f"Saved note: {what}"),
                (AssistantMessage, f"Tool said: Saved note: {what}"),
            ]
        else:
            expected.append((AssistantMessage, f"You said: {prompt}"))
    return expected


def _expected_chat(session: Session) -> list[str]:
    uid = session.key.split(":")[1]
    shown = []
    for j, prompt in enumerate(session.prompts):
        if j in session.saves:
            what = prompt.removeprefix("save ")
            shown += [
                f"Saving {what}.",
                f"card: ✅ Approved by @user{uid}",
                f"Tool said: Saved note: {what}",
            ]
        else:
            shown.append(f"You said: {prompt}")
    return shown


def _chat_as_read(tg: FakeTelegram, session: Session) -> list[str]:
    shown = []
    for message in tg.sent(int(session.key.split(":")[1])):
        said = str(message["text"])
        if said.startswith(CARD):
            said = (
                "card: "
                + said.splitlines()[-1]
                + (" [buttons]" if "reply_markup" in message else "")
            )
        shown.append(said)
    return shown


def _expected_events(session: Session) -> list[tuple[str, str]]:
    shown: list[tuple[str, str]] = []
    for j, prompt in enumerate(session.prompts):
        shown.append(("turn_started", ""))
        if j in session.saves:
            what = prompt.removeprefix("save ")
            shown += [
                ("response", f"Saving {what}."),
                ("approval_request", ""),
                ("approval_decided", ""),
                ("tool_output", f"Saved note: {what}"),
                ("response", f"Tool said: Saved note: {what}"),
            ]
        else:
            shown.append(("response", f"You said: {prompt}"))
        shown.append(("turn_finished", ""))
    return shown


async def _settled(redis: Redis, sessions: list[Session]) -> bool:
    """Nothing queued, leased, parked, pending or unacknowledged any more."""
    for s in sessions:
        for key in (keys.inbox, keys.sched, keys.lease, keys.parked):
            if await redis.exists(key(s.key)):
                return False
    if await redis.zcard(keys.ACTIVE) or await redis.zcard(keys.PENDING_APPROVALS):
        return False
    for p in range(keys.OUTBOX_PARTITIONS):
        stream = keys.partition_stream(p)
        if await redis.exists(stream) and (await redis.xpending(stream, GROUP))["pending"]:
            return False
    return True


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_two_gateways_two_workers_a_hundred_turns_through_kills_and_a_redis_restart(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    seed = int(os.environ.get("FACIO_SOAK_SEED") or random.randrange(1_000_000))
    print(f"\nchaos soak: seed {seed} (FACIO_SOAK_SEED={seed} replays its choices)")
    figures = Figures(seed)
    rng = random.Random(seed)
    sessions = _sessions(seed)
    server = make_redis(tmp_path / "redis", appendonly=True)
    with FakeTelegram() as tg:
        async with server, Processes(tmp_path) as procs, aiohttp.ClientSession() as http:
            ports = [free_port()]
            ports.append(next(p for p in iter(free_port, 0) if p != ports[0]))
            allow = [s.key.split(":")[1] for s in sessions if s.key.startswith("telegram:")]
            configs = {
                port: soak_config(
                    tmp_path,
                    server.url,
                    tg,
                    SAVE_RULES,
                    port=port,
                    allow_from=allow,
                    approval_hold=HOLD,
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
                await _run(cluster, redis, tg, http, server, sessions, figures, rng, tmp_path)
            except AssertionError as exc:
                raise AssertionError(f"seed {seed}: {exc}\n{procs.logs()}") from exc
            finally:
                await redis.aclose()
    print(f"chaos soak figures: {figures}")


async def _ready(cluster: Cluster, redis: Redis, http: aiohttp.ClientSession) -> None:
    async def healthy() -> bool:
        for port in cluster.alive_ports():
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status != 200:
                        return False
            except aiohttp.ClientError:
                return False
        return True

    async def both_workers() -> bool:
        (_, subscribers), *_ = await redis.pubsub_numsub(keys.WAKE_CHANNEL)
        return int(subscribers) == 2

    async def shared() -> bool:
        holders = await partition_holders(redis)
        return "" not in holders and len(set(holders)) == 2

    await _until(healthy, "both gateways to answer", 60)
    await _until(both_workers, "both workers to listen", 60)
    await _until(shared, "the gateways to share the outbox partitions", 60)


async def _run(
    cluster: Cluster,
    redis: Redis,
    tg: FakeTelegram,
    http: aiohttp.ClientSession,
    server: Any,
    sessions: list[Session],
    figures: Figures,
    rng: random.Random,
    tmp_path: Path,
) -> None:
    await _ready(cluster, redis, http)
    api = ApiUser(http, cluster)
    ports = cluster.alive_ports()
    clients = {
        s.key: SseClient(http, cluster, s.key, prefer=ports[i % 2])
        for i, s in enumerate(sessions)
        if s.key.startswith("api:")
    }
    readers = [asyncio.create_task(c.run()) for c in clients.values()]
    try:
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients.values())), 30)
        soak = Soak(cluster, redis, tg, api, clients, figures)
        started = time.monotonic()
        await asyncio.gather(
            *(soak.converse(s) for s in sessions),
            *(soak.approve(s) for s in sessions),
            soak.chaos(rng, server, sessions),
        )
        await soak.measured()
        elapsed = time.monotonic() - started
        await _until(lambda: _settled(redis, sessions), "everything to settle", 60)
        print(f"chaos soak: {len(sessions) * TURNS} turns in {elapsed:.1f} s")
        await _verify(redis, tg, clients, sessions, tmp_path)
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


async def _verify(
    redis: Redis,
    tg: FakeTelegram,
    clients: dict[str, SseClient],
    sessions: list[Session],
    tmp_path: Path,
) -> None:
    for s in sessions:
        # in order, each once: the history
        messages = await history(redis, s.key)
        said = [(type(m), getattr(m, "content", "")) for m in messages]
        assert said == _expected_history(s), s.key
        saved = [p.removeprefix("save ") for j, p in enumerate(s.prompts) if j in s.saves]
        assert notes(tmp_path / "ws", s.key).read_text() == "".join(f"- {w}\n" for w in saved)
        if s.key.startswith("telegram:"):
            assert _chat_as_read(tg, s) == _expected_chat(s), s.key
        else:
            client = clients[s.key]
            stream = [text(i) for i, _f in await redis.xrange(keys.events(s.key))]
            assert [i for i, _e in client.frames] == stream, (
                f"{s.key}: SSE missed or doubled entries"
            )
            assert finals(client.events(), s.key) == _expected_events(s), s.key
