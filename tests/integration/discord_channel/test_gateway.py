"""The gateway connection: malformed payloads (Hypothesis-generated), a frame that is not JSON,
a resume, one connection per token under the lease with a standby taking over, a missing
message-content intent and a refused token."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.discord_channel.support import (
    World,
    channel_of,
    dc_config,
    running,
    texts,
    wait_ready,
    world,
)
from tests.integration.runtime.support import Background

EVENTS = (
    "MESSAGE_CREATE",
    "MESSAGE_UPDATE",
    "MESSAGE_DELETE",
    "INTERACTION_CREATE",
    "THREAD_CREATE",
    "CHANNEL_CREATE",
    "TYPING_START",
    "GUILD_ROLE_CREATE",
    "NOT_AN_EVENT",
)
FIELDS = (
    "id",
    "channel_id",
    "guild_id",
    "author",
    "member",
    "user",
    "content",
    "type",
    "data",
    "message",
    "mentions",
    "attachments",
    "components",
    "custom_id",
    "token",
    "timestamp",
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.text(max_size=12)
    | st.floats(allow_nan=False)
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5)
    ),
    max_leaves=12,
)
PAYLOADS = st.tuples(
    st.sampled_from(EVENTS),
    st.dictionaries(st.sampled_from(FIELDS), _json, max_size=8) | _json,
)


def malformed_payloads(count: int) -> list[tuple[str, Any]]:
    """``count`` payloads Hypothesis makes up (bounded: this is a slow, real-socket test)."""
    found: list[tuple[str, Any]] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(PAYLOADS)
    def collect(payload: tuple[str, Any]) -> None:
        found.append(payload)

    collect()
    return found


@pytest.fixture
def w() -> Iterator[World]:
    with world() as made:
        yield made


async def test_malformed_payloads_are_skipped_and_the_connection_goes_on(
    w: World, redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    payloads = malformed_payloads(60)
    caplog.set_level(logging.WARNING, logger="channels.discord")
    async with running(dc_config(tmp_path, w), redis_url) as gateway:
        for event, data in payloads:
            fake.push_event(event, data)
        fake.push_event("MESSAGE_CREATE", None)
        fake.push_event("INTERACTION_CREATE", {"type": 3, "data": {"custom_id": "ap:x:approve"}})
        fake.push_message(dm, w.alice, "hello")
        await fake.until(lambda: texts(fake, dm.id))
        channel = channel_of(gateway)
        assert channel.events.value(kind="malformed") >= 2
        assert await channel.health() == "ok"
    assert len(fake.identifies()) == 1  # never reconnected: one session throughout
    assert "a malformed MESSAGE_CREATE event was skipped (TypeError" in caplog.text


async def test_a_frame_that_is_not_json_costs_a_reconnect_not_the_channel(
    w: World, redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    caplog.set_level(logging.WARNING, logger="channels.discord")
    async with running(dc_config(tmp_path, w), redis_url):
        fake.push_frame("this is not JSON")
        await fake.until(lambda: len(fake.identifies()) == 2 and len(fake.sessions()) == 1)
        fake.push_frame("[1, 2, 3]")
        await fake.until(lambda: len(fake.identifies()) == 3 and len(fake.sessions()) == 1)
        fake.push_message(dm, w.alice, "hello")
        await fake.until(lambda: texts(fake, dm.id))
    assert "the gateway sent what discord.py cannot read (JSONDecodeError" in caplog.text


async def test_a_dropped_socket_is_resumed_with_what_was_missed(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w), redis_url):
        fake.drop_gateway()
        fake.push_message(dm, w.alice, "hello")  # while the socket is down
        await fake.until(lambda: texts(fake, dm.id))
    assert len(fake.identifies()) == 1
    assert [c.path for c in fake.connections()][:2] == ["/gateway", "/resume"]


async def test_one_gateway_connects_per_token_and_a_standby_takes_over(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    config = dc_config(tmp_path, w)
    async with Background(config, redis_url), contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(running(config, redis_url, worker=False))
        second_stack = contextlib.AsyncExitStack()
        second = await second_stack.enter_async_context(
            running(config, redis_url, worker=False, ready=False)
        )
        async with second_stack:
            standby = channel_of(second)
            await asyncio.wait_for(_standing_by(standby), 30)  # a bound under load, not a speed
            assert len(fake.sessions()) == 1 and len(fake.identifies()) == 1
            fake.push_message(dm, w.alice, "hello")
            await fake.until(lambda: texts(fake, dm.id))
            await stack.aclose()  # the holder stops: it releases the lease
            await wait_ready(standby, timeout=30)
            fake.push_message(dm, w.alice, "hello again")
            await fake.until(lambda: len(texts(fake, dm.id)) == 2)
    assert len(fake.identifies()) == 2
    assert len(texts(fake, dm.id)) == 2  # each message answered once, by one gateway


async def _standing_by(channel: Any) -> None:
    while not (await channel.health() == "ok" and not channel.client.is_ready()):
        await asyncio.sleep(0.02)


async def test_a_missing_message_content_intent_is_reported(
    redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with world(message_content=False) as w:
        async with running(dc_config(tmp_path, w), redis_url, worker=False, ready=False) as g:
            channel = channel_of(g)
            await w.fake.until(lambda: channel.status.startswith("the Message Content intent"))
            health = await channel.health()
    assert "Privileged Gateway Intents → Message Content Intent" in health
    assert "the Message Content intent is not enabled" in caplog.text
    assert [c.close_code for c in w.fake.connections()] == [4014]


async def test_a_refused_token_is_reported_and_never_logged(
    w: World, redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = w.fake
    wrong = fake.token[:-4] + "abcd"
    async with running(
        dc_config(tmp_path, w, token=wrong), redis_url, worker=False, ready=False
    ) as gateway:
        channel = channel_of(gateway)
        await fake.until(lambda: "refused" in channel.status)
        assert await channel.health() == "the Discord token was refused (401 Unauthorized)"
    assert fake.connections() == []
    assert wrong not in caplog.text and fake.token not in caplog.text
