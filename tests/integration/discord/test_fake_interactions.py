"""Interaction callbacks and follow-ups, and the REST faults, on the wire."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord_server import Click, FakeDiscord
from tests.integration.discord.fake_world import World, button, call, make_world, row

MESSAGES = "POST /channels/{channel_id}/messages"


@pytest.fixture
def world() -> Iterator[World]:
    with FakeDiscord(interaction_window=0.5) as fake:
        yield make_world(fake)
        assert not fake.errors


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def card_and_click(world: World, http: aiohttp.ClientSession) -> tuple[dict[str, Any], Click]:
    _, card = await call(
        http,
        world.fake,
        "POST",
        f"/channels/{world.general.id}/messages",
        json={"content": "Approve?", "components": [row(button("ap:7:approve"))]},
    )
    return card, world.fake.click(card, "ap:7:approve", world.alice)


def callback_path(click: Click) -> str:
    return f"/interactions/{click.id}/{click.token}/callback"


def webhook_path(fake: FakeDiscord, click: Click, tail: str = "") -> str:
    return f"/webhooks/{fake.application_id}/{click.token}{tail}"


async def test_the_click_is_what_discord_sends(world: World, http: aiohttp.ClientSession) -> None:
    card, click = await card_and_click(world, http)
    payload = world.fake.interaction(click).payload
    assert payload["type"] == 3 and payload["version"] == 1
    assert payload["data"] == {"custom_id": "ap:7:approve", "component_type": 2, "id": 0}
    assert payload["member"]["user"]["id"] == str(world.alice.id) and "user" not in payload
    assert payload["guild_id"] == str(world.team.id)
    assert payload["channel_id"] == str(world.general.id)
    assert payload["message"]["id"] == card["id"]
    assert payload["application_id"] == str(world.fake.application_id)
    dm = world.fake.dm(world.alice)
    _, private = await call(
        http,
        world.fake,
        "POST",
        f"/channels/{dm.id}/messages",
        json={"content": "Approve?", "components": [row(button("ap:8:x"))]},
    )
    in_dm = world.fake.interaction(world.fake.click(private, "ap:8:x", world.alice)).payload
    assert in_dm["user"]["id"] == str(world.alice.id) and "member" not in in_dm
    assert "guild_id" not in in_dm and in_dm["context"] == 1


async def test_an_update_answer_then_a_second_answer(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake = world.fake
    card, click = await card_and_click(world, http)
    status, body = await call(
        http,
        fake,
        "POST",
        callback_path(click) + "?with_response=true",
        auth=None,
        json={"type": 7, "data": {"content": "Approved", "components": []}},
    )
    assert status == 200 and body["resource"]["message"]["content"] == "Approved"
    assert body["interaction"] == {
        "id": str(click.id),
        "type": 3,
        "response_message_loading": False,
        "response_message_ephemeral": False,
        "response_message_id": card["id"],
    }
    assert await call(http, fake, "POST", callback_path(click), auth=None, json={"type": 6}) == (
        400,
        {"message": "Interaction has already been acknowledged.", "code": 40060},
    )
    first, second = fake.callbacks(click)
    assert (first.type, first.status, second.code) == (7, 200, 40060)
    assert fake.message(int(card["id"]))["components"] == []


async def test_too_late_or_unknown_is_an_unknown_interaction(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake = world.fake
    _, click = await card_and_click(world, http)
    await asyncio.sleep(0.6)
    assert await call(http, fake, "POST", callback_path(click), auth=None, json={"type": 6}) == (
        404,
        {"message": "Unknown interaction", "code": 10062},
    )
    assert (
        await call(
            http,
            fake,
            "POST",
            f"/interactions/{click.id}/forged/callback",
            auth=None,
            json={"type": 6},
        )
    )[1]["code"] == 10062
    [late] = fake.callbacks(click)
    assert late.after >= 0.6 and late.code == 10062


async def test_a_deferred_message_is_filled_by_the_first_follow_up(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake = world.fake
    _, click = await card_and_click(world, http)
    status, body = await call(
        http, fake, "POST", webhook_path(fake, click), auth=None, json={"content": "too early"}
    )
    assert (status, body["code"]) == (404, 10015)
    assert (await call(http, fake, "POST", callback_path(click), auth=None, json={"type": 5}))[
        0
    ] == 204
    [loading] = [m for m in fake.sent(world.general.id) if m["flags"] & 128]
    _, filled = await call(
        http, fake, "POST", webhook_path(fake, click), auth=None, json={"content": "Done."}
    )
    assert filled["id"] == loading["id"] and filled["flags"] == 0 and filled["content"] == "Done."
    _, more = await call(
        http,
        fake,
        "POST",
        webhook_path(fake, click),
        auth=None,
        json={"content": "And another thing.", "flags": 64},
    )
    assert more["id"] != filled["id"] and fake.ephemerals(world.alice.id)[0]["id"] == more["id"]
    _, original = await call(
        http, fake, "GET", webhook_path(fake, click, "/messages/@original"), auth=None
    )
    assert original["id"] == loading["id"]


async def test_a_deferred_update_then_editing_the_original(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake = world.fake
    card, click = await card_and_click(world, http)
    await call(http, fake, "POST", callback_path(click), auth=None, json={"type": 6})
    status, edited = await call(
        http,
        fake,
        "PATCH",
        webhook_path(fake, click, "/messages/@original"),
        auth=None,
        json={"content": "Approved by alice", "components": []},
    )
    assert status == 200 and edited["id"] == card["id"]
    assert fake.message(int(card["id"]))["content"] == "Approved by alice"
    assert [v.by for v in fake.history(int(card["id"]))] == ["create", "edit"]
    wrong = f"/webhooks/{fake.application_id}/not-a-token/messages/@original"
    assert (await call(http, fake, "PATCH", wrong, auth=None, json={"content": "x"}))[0] == 401


async def test_an_invalid_answer_does_not_acknowledge(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake = world.fake
    _, click = await card_and_click(world, http)
    status, body = await call(
        http,
        fake,
        "POST",
        callback_path(click),
        auth=None,
        json={"type": 4, "data": {"content": "x" * 2001}},
    )
    assert (status, body["code"]) == (400, 50035)
    assert (
        await call(
            http,
            fake,
            "POST",
            callback_path(click),
            auth=None,
            json={"type": 4, "data": {"content": "ok"}},
        )
    )[0] == 204
    assert [c.status for c in fake.callbacks(click)] == [400, 204]


async def test_a_429_as_discord_sends_it(world: World, http: aiohttp.ClientSession) -> None:
    fake, path = world.fake, fake_path(world)
    fake.fail(MESSAGES, 429, retry_after=0.25)
    async with http.post(
        fake.api_base + path, json={"content": "x"}, headers={"Authorization": f"Bot {fake.token}"}
    ) as reply:
        assert reply.status == 429
        assert await reply.json() == {
            "message": "You are being rate limited.",
            "retry_after": 0.25,
            "global": False,
        }
        headers = reply.headers
    assert headers["Retry-After"] == "1" and headers["Via"] == "1.1 google"
    assert headers["X-RateLimit-Remaining"] == "0" and headers["X-RateLimit-Scope"] == "user"
    assert float(headers["X-RateLimit-Reset-After"]) == 0.25 and headers["X-RateLimit-Bucket"]
    fake.fail("*", 429, retry_after=1.5, global_=True)
    async with http.get(
        fake.api_base + "/users/@me", headers={"Authorization": f"Bot {fake.token}"}
    ) as reply:
        assert reply.headers["X-RateLimit-Global"] == "true" and reply.headers["Retry-After"] == "2"
        assert (await reply.json())["global"] is True
    assert (await call(http, fake, "POST", path, json={"content": "x"}))[0] == 200


def fake_path(world: World) -> str:
    return f"/channels/{world.general.id}/messages"


async def test_a_500_a_drop_and_a_slow_answer(world: World, http: aiohttp.ClientSession) -> None:
    fake, path = world.fake, fake_path(world)
    fake.fail(MESSAGES, 500)
    assert await call(http, fake, "POST", path, json={"content": "x"}) == (
        500,
        {"message": "500: Internal Server Error", "code": 0},
    )
    fake.drop(MESSAGES)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, fake, "POST", path, json={"content": "x"})
    assert fake.calls(MESSAGES)[-1].status == 0
    fake.slow(MESSAGES, 0.3)
    started = time.perf_counter()
    assert (await call(http, fake, "POST", path, json={"content": "late"}))[0] == 200
    assert time.perf_counter() - started >= 0.3
    assert [m["content"] for m in fake.sent(world.general.id)] == ["late"]


async def test_a_bucket_announces_itself_then_limits(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake, path = world.fake, fake_path(world)
    fake.limit(MESSAGES, 2, 0.5)
    remaining = []
    for _ in range(3):
        async with http.post(
            fake.api_base + path,
            json={"content": "x"},
            headers={"Authorization": f"Bot {fake.token}"},
        ) as reply:
            remaining.append((reply.status, reply.headers.get("X-RateLimit-Remaining")))
    assert remaining == [(200, "1"), (200, "0"), (429, "0")]
    other = fake.add_channel(world.team, "other")  # another channel, another bucket
    assert (
        await call(http, fake, "POST", f"/channels/{other.id}/messages", json={"content": "x"})
    )[0] == 200
    await asyncio.sleep(0.55)
    assert (await call(http, fake, "POST", path, json={"content": "x"}))[0] == 200


async def test_a_slash_command_is_what_discord_sends_and_takes_only_message_answers(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake = world.fake
    commands = f"/applications/{fake.application_id}/commands"
    with pytest.raises(AssertionError, match="no registered command"):
        fake.command(world.general.id, "stop", world.alice)  # Discord lists only registered ones
    status, made = await call(
        http, fake, "PUT", commands, json=[{"name": "stop", "description": "Stop", "type": 1}]
    )
    assert status == 200
    command = fake.command(world.general.id, "stop", world.alice, reason="now")
    payload = fake.interaction(command).payload
    assert payload["type"] == 2 and "message" not in payload
    assert payload["data"] == {
        "id": made[0]["id"],
        "name": "stop",
        "type": 1,
        "options": [{"type": 3, "name": "reason", "value": "now"}],
    }
    assert payload["member"]["user"]["id"] == str(world.alice.id)
    for kind in (6, 7):  # they answer a component, never a command
        status, body = await call(
            http, fake, "POST", callback_path(command), auth=None, json={"type": kind}
        )
        assert (status, body["code"]) == (400, 50035)
    status, _ = await call(
        http,
        fake,
        "POST",
        callback_path(command),
        auth=None,
        json={"type": 4, "data": {"content": "ok", "flags": 64}},
    )
    assert status == 204
    assert [m["content"] for m in fake.ephemerals(world.alice.id)] == ["ok"]
