"""Sending: streaming by edits, long answers split at 2,000 characters, 429s, and a send
retried after a timeout that does not post twice (``nonce`` + ``enforce_nonce``)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import wire
from tests.integration.discord_channel.support import (
    World,
    channel_of,
    dc_config,
    running,
    texts,
    world,
)

MESSAGES = "POST /channels/{channel_id}/messages"


@pytest.fixture
def w() -> Iterator[World]:
    with world() as made:
        yield made


async def test_a_long_answer_is_split_at_2000_without_breaking_its_code_block(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w), redis_url):
        fake.push_message(dm, w.alice, "a long answer please")
        parts = await fake.until(
            lambda: (
                (t := texts(fake, dm.id))
                and t[-1].rstrip().endswith("The end of a long answer.")
                and t
            )
        )
    assert len(parts) >= 3
    assert all(len(part) <= 2000 for part in parts)
    assert all(part.count("```") % 2 == 0 for part in parts)  # every block closed where cut
    assert "def main():" in "".join(parts)


async def test_an_answer_grows_in_one_message_by_throttled_edits(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    where = {"channel_id": str(dm.id)}
    session = f"discord:dm:{dm.id}"
    async with running(dc_config(tmp_path, w), redis_url, worker=False) as gateway:
        channel = channel_of(gateway)

        def chunk(text: str) -> wire.ResponseChunkEvent:
            return wire.ResponseChunkEvent(
                session_key=session, turn_id="t1", channel="discord", reply_to=where, content=text
            )

        await channel.render(chunk("Hello"))
        [first] = await fake.until(lambda: fake.sent(dm.id))
        await channel.render(chunk(", wor"))
        await channel.render(chunk("ld"))  # within the interval: held, written by a timer
        await fake.until(lambda: fake.message(int(first["id"]))["content"] == "Hello, world")
        final = wire.ResponseEvent(
            session_key=session,
            turn_id="t1",
            channel="discord",
            reply_to=where,
            content="Hello, world!",
        )
        await channel.render(final)
    assert [m["content"] for m in fake.sent(dm.id)] == ["Hello, world!"]
    versions = fake.history(int(first["id"]))
    assert [v.by for v in versions] == ["create", "edit", "edit"]  # "…, wor" never shown alone
    gaps = [b.at - a.at for a, b in itertools.pairwise(versions)]
    assert gaps[0] >= 0.15  # streamInterval 0.2, less the clock's grain


async def test_rate_limits_are_waited_out(w: World, redis_url: str, tmp_path: Path) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w), redis_url):
        fake.fail(MESSAGES, 429, retry_after=0.4)
        started = time.perf_counter()
        fake.push_message(dm, w.alice, "hello")
        await fake.until(lambda: texts(fake, dm.id))
    assert time.perf_counter() - started >= 0.4
    statuses = [c.status for c in fake.calls(MESSAGES)]
    assert statuses == [429, 200]
    assert texts(fake, dm.id) == ["Hi **there**! Ask me `anything`."]


async def test_a_send_retried_after_a_timeout_posts_once(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w), redis_url, send_timeout=0.3):
        fake.slow(MESSAGES, 0.8)  # the first try is made, but its answer comes too late
        fake.push_message(dm, w.alice, "hello")
        await fake.until(lambda: len(fake.calls(MESSAGES)) >= 2 and fake.calls(MESSAGES)[0].status)
    first, retry = fake.calls(MESSAGES)[:2]
    assert first.body is not None and retry.body is not None
    assert first.body["nonce"] == retry.body["nonce"] and retry.body["enforce_nonce"] is True
    assert texts(fake, dm.id) == ["Hi **there**! Ask me `anything`."]  # once, not twice


async def test_a_dropped_connection_on_send_is_retried_once_posted(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w), redis_url):
        fake.drop(MESSAGES)  # aiohttp's ServerDisconnectedError on Linux
        fake.push_message(dm, w.alice, "hello")
        await fake.until(lambda: texts(fake, dm.id))
    assert [c.status for c in fake.calls(MESSAGES)] == [0, 200]
    assert texts(fake, dm.id) == ["Hi **there**! Ask me `anything`."]
