"""A gateway restart loses no outbox entry and renders no final event twice.

Entries published while no gateway runs wait in the stream; entries a gateway
read but never acknowledged — it was SIGKILLed in the middle of rendering
one — stay pending in the consumer group. The same gateway started again
(same address and port, so the same name) takes its outbox partitions back at
once and renders them first; another gateway takes them over once their
leases expired (9 s in production; 2 s here, passed to
:class:`channels.gateway.Gateway` by the test gateway,
:mod:`tests.fakes.gateway_runner`, which renders into a file).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from core.inbound import Inbound
from tests.fakes.gateway_runner import CHANNEL
from tests.integration.runtime.processes import (
    SAVE_RULES,
    Process,
    Processes,
    outbox_events,
    until,
    write_config,
)
from tests.integration.runtime.support import send
from tests.ports import free_port
from tests.redis_fixture import MakeRedis
from workers import keys
from workers.outbox_reader import GROUP
from workers.worker import connect

LEASE_TTL = 2.0


def _message(session: str, text: str) -> Inbound:
    return Inbound(channel=CHANNEL, session_key=session, user_id="u1", text=text)


def _lines(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines()]


def _expected(session: str, prompts: list[str]) -> list[tuple[str, str, str]]:
    """Every final event of these turns, in order: (session, type, content). (The
    scripted model answers at once: its chunks are superseded by the response and
    never sent; :func:`_shown` leaves out any that a slow machine did send.)"""
    events = []
    for prompt in prompts:
        said = f"You said: {prompt}"
        events += [
            (session, "turn_started", ""),
            (session, "response", said),
            (session, "turn_finished", ""),
        ]
    return events


def _shown(out: Path) -> list[tuple[str, str, str]]:
    """(session, type, content) of every completed render, in order."""
    return [
        (line["session_key"], line["type"], line["content"])
        for line in _lines(out)
        if "hanging" not in line and line["type"] != "response_chunk"
    ]


async def test_restarted_gateways_render_what_was_missed_once_and_in_order(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    server = make_redis(tmp_path / "redis", appendonly=False)
    config = write_config(tmp_path, server.url, SAVE_RULES)
    out = tmp_path / "rendered.jsonl"
    port = free_port()
    async with server, Processes(tmp_path) as procs:
        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        procs.worker(config, "worker")
        turns = 0

        async def publish(*messages: tuple[str, str]) -> None:
            nonlocal turns
            for session, text in messages:
                await send(pool, _message(session, text))
            turns += len(messages)

            async def finished() -> bool:
                events = await outbox_events(redis)
                return sum(e["type"] == "turn_finished" for e in events) == turns

            await until(finished, "the worker to finish the turns", 30, procs)

        async def hang(gateway: Process, marker: str) -> None:
            async def hanging() -> bool:
                return any(marker in str(line.get("hanging")) for line in _lines(out))

            await until(hanging, f"{gateway.name} to hang mid-render", 30, procs)
            gateway.kill()

        async def rendered(prompts: dict[str, list[str]], what: str) -> float:
            started = time.monotonic()
            expected = [e for s, p in prompts.items() for e in _expected(s, p)]

            async def done() -> bool:
                return len(_shown(out)) >= len(expected)

            await until(done, what, 30, procs)
            return time.monotonic() - started

        # 1. Published while no gateway runs; gateway 1 hangs rendering a2: SIGKILL.
        await publish(("file:a", "a1"), ("file:a", "a2 HANG1"), ("file:a", "a3"))
        await publish(("file:b", "b1"), ("file:b", "b2"))
        first = procs.gateway(
            config, "gateway-1", out, port=port, hang_on="HANG1", lease_ttl=LEASE_TTL
        )
        await hang(first, "HANG1")
        pending = await redis.xpending(keys.outbox_stream("file:a"), GROUP)
        assert pending["pending"] >= 5, "a2's answer and finish, and a3's events were read"

        # 2. More while none runs; the same gateway again (same address, same
        #    consumer): what it had read comes back at once, before the new.
        await publish(("file:a", "a4"), ("file:b", "b3"))
        second = procs.gateway(
            config, "gateway-2", out, port=port, hang_on="HANG2", lease_ttl=LEASE_TTL
        )
        seconds = await rendered(
            {"file:a": ["a1", "a2 HANG1", "a3", "a4"], "file:b": ["b1", "b2", "b3"]},
            "gateway 2 to render what gateway 1 missed",
        )
        print(f"gateway restarted in place → missed entries rendered {seconds:.1f} s after start")

        # 3. Gateway 2 dies mid-render too and never comes back: gateway 3 (another
        #    name) takes its partitions over once their leases expired.
        await publish(("file:a", "a5 HANG2"), ("file:a", "a6"))
        await hang(second, "HANG2")
        await publish(("file:b", "b4"))
        procs.gateway(config, "gateway-3", out, lease_ttl=LEASE_TTL)
        everything = {
            "file:a": ["a1", "a2 HANG1", "a3", "a4", "a5 HANG2", "a6"],
            "file:b": ["b1", "b2", "b3", "b4"],
        }
        seconds = await rendered(everything, "gateway 3 to claim and render the rest")
        print(f"another gateway → dead one's entries rendered {seconds:.1f} s after start")

        # None lost, nothing twice, each session in order.
        shown = _shown(out)
        for session, prompts in everything.items():
            assert [s for s in shown if s[0] == session] == _expected(session, prompts), session
        assert len(shown) == sum(len(p) for p in everything.values()) * 3
        keyed = [line["idempotency_key"] for line in _lines(out) if line.get("idempotency_key")]
        assert len(keyed) == len(set(keyed))
        renderers = [line["pid"] for line in _lines(out) if "hanging" not in line]
        assert len(set(renderers)) == 3, "each gateway rendered its part"
        for session in everything:
            stream = keys.outbox_stream(session)
            assert (await redis.xpending(stream, GROUP))["pending"] == 0
        await pool.aclose()
        await redis.aclose()
