"""The fake Discord's REST API on the wire: auth, Discord's checks and error bodies, records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord_objects import role
from tests.fakes.discord_server import FakeDiscord
from tests.integration.discord.fake_world import World, button, call, make_world, row


@pytest.fixture
def world() -> Iterator[World]:
    with FakeDiscord() as fake:
        yield make_world(fake)
        assert not fake.errors


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_the_bot_token_is_required(world: World, http: aiohttp.ClientSession) -> None:
    fake = world.fake
    assert await call(http, fake, "GET", "/users/@me", auth=None) == (
        401,
        {"message": "401: Unauthorized", "code": 0},
    )
    assert (await call(http, fake, "GET", "/users/@me", auth="Bot nope"))[0] == 401
    status, me = await call(http, fake, "GET", "/users/@me")
    assert status == 200 and me["id"] == str(fake.bot.id) and me["bot"] is True
    assert await call(http, fake, "GET", "/gateway", auth=None) == (200, {"url": fake.gateway_url})
    status, bot = await call(http, fake, "GET", "/gateway/bot")
    assert bot["url"] == fake.gateway_url and bot["shards"] == 1
    assert bot["session_start_limit"]["max_concurrency"] == 1
    assert await call(http, fake, "GET", "/nowhere") == (
        404,
        {"message": "404: Not Found", "code": 0},
    )


async def test_the_application_tells_whether_message_content_is_enabled(
    http: aiohttp.ClientSession,
) -> None:
    for enabled in (True, False):
        with FakeDiscord(message_content=enabled) as fake:
            _, app = await call(http, fake, "GET", "/oauth2/applications/@me")
            assert app["id"] == str(fake.application_id)
            assert bool(app["flags"] & (1 << 19)) is enabled


async def test_content_limits_and_empty_messages(world: World, http: aiohttp.ClientSession) -> None:
    fake, path = world.fake, f"/channels/{world.general.id}/messages"
    assert await call(http, fake, "POST", path, json={"content": "x" * 2001}) == (
        400,
        {
            "code": 50035,
            "errors": {
                "content": {
                    "_errors": [
                        {
                            "code": "BASE_TYPE_MAX_LENGTH",
                            "message": "Must be 2000 or fewer in length.",
                        }
                    ]
                }
            },
            "message": "Invalid Form Body",
        },
    )
    assert (await call(http, fake, "POST", path, json={"content": "x" * 2000}))[0] == 200
    assert await call(http, fake, "POST", path, json={"content": ""}) == (
        400,
        {"message": "Cannot send an empty message", "code": 50006},
    )
    assert (await call(http, fake, "POST", path, json={"content": "   "}))[0] == 400
    assert (await call(http, fake, "POST", path, json={"embeds": [{"title": "t"}]}))[0] == 200
    status, body = await call(http, fake, "POST", path, data=b"{nope", auth=f"Bot {fake.token}")
    assert (status, body["code"]) == (400, 50109)


@pytest.mark.parametrize(
    ("components", "path", "code"),
    [
        ([row(button(f"b{i}")) for i in range(6)], ("components",), "BASE_TYPE_MAX_LENGTH"),
        (
            [row(*(button(f"b{i}") for i in range(6)))],
            ("components", "0", "components"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            [row(button("b", label="x" * 81))],
            ("components", "0", "components", "0", "label"),
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            [row(button("x" * 101))],
            ("components", "0", "components", "0", "custom_id"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            [row(button("same"), button("same"))],
            ("components", "0", "components", "1", "custom_id"),
            "COMPONENT_CUSTOM_ID_DUPLICATED",
        ),
        (
            [row(button("b"), {"type": 2, "style": 5, "label": "Docs"})],
            ("components", "0", "components", "1", "url"),
            "BASE_TYPE_REQUIRED",
        ),
        (
            [
                row(
                    {
                        "type": 2,
                        "style": 5,
                        "label": "Docs",
                        "url": "https://x.dev",
                        "custom_id": "c",
                    }
                )
            ],
            ("components", "0", "components", "0", "custom_id"),
            "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
        ),
        (
            [row({"type": 2, "style": 1, "label": "Go"})],
            ("components", "0", "components", "0", "custom_id"),
            "BASE_TYPE_REQUIRED",
        ),
        (
            [row(button("b", style=7))],
            ("components", "0", "components", "0", "style"),
            "BASE_TYPE_CHOICES",
        ),
    ],
)
async def test_components_are_checked(
    world: World,
    http: aiohttp.ClientSession,
    components: list[Any],
    path: tuple[str, ...],
    code: str,
) -> None:
    status, body = await call(
        http,
        world.fake,
        "POST",
        f"/channels/{world.general.id}/messages",
        json={"content": "card", "components": components},
    )
    assert status == 400 and body["code"] == 50035
    node = body["errors"]
    for key in path:
        node = node[key]
    assert node["_errors"][0]["code"] == code
    assert world.fake.sent() == []


async def test_five_rows_of_five_buttons_pass(world: World, http: aiohttp.ClientSession) -> None:
    rows = [row(*(button(f"r{r}b{b}") for b in range(5))) for r in range(5)]
    status, message = await call(
        http,
        world.fake,
        "POST",
        f"/channels/{world.general.id}/messages",
        json={"content": "grid", "components": rows},
    )
    assert status == 200 and message["components"] == rows


async def test_allowed_mentions_neuter_pings(world: World, http: aiohttp.ClientSession) -> None:
    fake, path = world.fake, f"/channels/{world.general.id}/messages"
    admins = role("admins")
    text = f"@everyone {admins.mention} {world.alice.mention} look"
    _, loud = await call(http, fake, "POST", path, json={"content": text})
    assert loud["mention_everyone"] is True and loud["mention_roles"] == [str(admins.id)]
    _, quiet = await call(
        http, fake, "POST", path, json={"content": text, "allowed_mentions": {"parse": []}}
    )
    assert quiet["mention_everyone"] is False and quiet["mention_roles"] == []
    assert quiet["mentions"] == []
    assert fake.allowed_mentions(int(quiet["id"])) == {"parse": []}
    _, users = await call(
        http,
        fake,
        "POST",
        path,
        json={"content": text, "allowed_mentions": {"parse": [], "users": [str(world.alice.id)]}},
    )
    assert [u["id"] for u in users["mentions"]] == [str(world.alice.id)]
    assert users["mention_everyone"] is False
    status, body = await call(
        http,
        fake,
        "POST",
        path,
        json={
            "content": text,
            "allowed_mentions": {"parse": ["users"], "users": [str(world.bob.id)]},
        },
    )
    assert status == 400 and "allowed_mentions" in body["errors"]


async def test_an_enforced_nonce_returns_the_earlier_message(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake, path = world.fake, f"/channels/{world.general.id}/messages"
    body = {"content": "once", "nonce": "turn-1-part-1", "enforce_nonce": True}
    _, first = await call(http, fake, "POST", path, json=body)
    _, again = await call(http, fake, "POST", path, json=body)
    assert again["id"] == first["id"] and first["nonce"] == "turn-1-part-1"
    _, loose = await call(http, fake, "POST", path, json={"content": "twice", "nonce": "n"})
    _, loose2 = await call(http, fake, "POST", path, json={"content": "twice", "nonce": "n"})
    assert loose["id"] != loose2["id"]
    assert len(fake.sent(world.general.id)) == 3
    status, too_long = await call(
        http, fake, "POST", path, json={"content": "x", "nonce": "n" * 26}
    )
    assert status == 400 and "nonce" in too_long["errors"]


async def test_unknown_and_forbidden_places(world: World, http: aiohttp.ClientSession) -> None:
    fake = world.fake
    assert await call(http, fake, "POST", "/channels/42/messages", json={"content": "x"}) == (
        404,
        {"message": "Unknown Channel", "code": 10003},
    )
    status, body = await call(http, fake, "GET", f"/channels/{world.general.id}/messages/42")
    assert (status, body["code"], body["message"]) == (404, 10008, "Unknown Message")
    secret = fake.add_channel(world.team, "secret")
    fake.deny(secret)
    assert await call(
        http, fake, "POST", f"/channels/{secret.id}/messages", json={"content": "x"}
    ) == (403, {"message": "Missing Access", "code": 50001})
    muted = fake.add_channel(world.team, "announcements")
    fake.deny(muted, 50013)
    status, body = await call(
        http, fake, "POST", f"/channels/{muted.id}/messages", json={"content": "x"}
    )
    assert (status, body["code"]) == (403, 50013)
    pushed = fake.push_message(world.general, world.alice, "mine")
    status, body = await call(
        http,
        fake,
        "PATCH",
        f"/channels/{world.general.id}/messages/{pushed['id']}",
        json={"content": "yours now"},
    )
    assert (status, body["code"]) == (403, 50005)


async def test_edits_are_recorded_and_an_edit_to_nothing_is_refused(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake, path = world.fake, f"/channels/{world.general.id}/messages"
    _, card = await call(
        http,
        fake,
        "POST",
        path,
        json={"content": "Approve?", "components": [row(button("ap:1:yes"))]},
    )
    one = f"{path}/{card['id']}"
    status, edited = await call(
        http, fake, "PATCH", one, json={"content": "Approved by alice", "components": []}
    )
    assert status == 200 and edited["edited_timestamp"] and edited["components"] == []
    assert (await call(http, fake, "PATCH", one, json={"content": None}))[1]["code"] == 50006
    assert (await call(http, fake, "PATCH", one, json={"content": "y" * 2001}))[0] == 400
    assert fake.message(int(card["id"]))["content"] == "Approved by alice"
    versions = fake.history(int(card["id"]))
    assert [v.by for v in versions] == ["create", "edit"]
    assert versions[0].message["components"] and not versions[1].message["components"]
    assert (await call(http, fake, "DELETE", one))[0] == 204
    assert fake.sent(world.general.id) == []
    assert [v.by for v in fake.history(int(card["id"]))] == ["create", "edit", "delete"]


async def test_replies_typing_and_dms(world: World, http: aiohttp.ClientSession) -> None:
    fake, path = world.fake, f"/channels/{world.general.id}/messages"
    asked = fake.push_message(world.general, world.alice, f"{fake.bot.mention} hi")
    _, reply = await call(
        http,
        fake,
        "POST",
        path,
        json={"content": "hello", "message_reference": {"message_id": asked["id"]}},
    )
    assert reply["type"] == 19 and reply["referenced_message"]["id"] == asked["id"]
    status, body = await call(
        http, fake, "POST", path, json={"content": "x", "message_reference": {"message_id": "42"}}
    )
    assert status == 400 and "message_reference" in body["errors"]
    _, plain = await call(
        http,
        fake,
        "POST",
        path,
        json={
            "content": "x",
            "message_reference": {"message_id": "42", "fail_if_not_exists": False},
        },
    )
    assert plain["type"] == 0
    assert (await call(http, fake, "POST", f"/channels/{world.general.id}/typing"))[0] == 204
    assert [t.channel_id for t in fake.typing()] == [world.general.id]
    _, dm = await call(
        http, fake, "POST", "/users/@me/channels", json={"recipient_id": str(world.alice.id)}
    )
    _, same = await call(
        http, fake, "POST", "/users/@me/channels", json={"recipient_id": str(world.alice.id)}
    )
    assert dm["id"] == same["id"] and dm["type"] == 1
    assert dm["recipients"][0]["id"] == str(world.alice.id)
    assert fake.dms() == {world.alice.id: int(dm["id"])}
    assert (await call(http, fake, "GET", f"/channels/{dm['id']}"))[1]["type"] == 1


async def test_uploads_are_served_as_attachments(world: World, http: aiohttp.ClientSession) -> None:
    fake = world.fake
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("payload_json", '{"content": "plot"}', content_type="application/json")
    form.add_field("files[0]", b"\x89PNG-bytes", filename="plot.png", content_type="image/png")
    status, message = await call(
        http, fake, "POST", f"/channels/{world.general.id}/messages", data=form
    )
    assert status == 200
    [attachment] = message["attachments"]
    assert attachment["filename"] == "plot.png" and attachment["size"] == 10
    async with http.get(attachment["url"]) as download:
        assert await download.read() == b"\x89PNG-bytes"
    pushed = fake.attachment(world.general, "notes.txt", b"remember")
    fake.push_message(world.general, world.alice, "see file", attachments=[pushed])
    async with http.get(pushed["url"]) as download:
        assert await download.text() == "remember"


async def test_global_commands(world: World, http: aiohttp.ClientSession) -> None:
    fake, path = world.fake, f"/applications/{world.fake.application_id}/commands"
    command = {"name": "status", "description": "Show the session", "type": 1}
    status, made = await call(http, fake, "PUT", path, json=[command])
    assert status == 200 and made[0]["name"] == "status" and made[0]["id"]
    assert (await call(http, fake, "GET", path))[1] == made == fake.commands()
    status, body = await call(
        http, fake, "PUT", path, json=[{"name": "Bad Name", "description": ""}]
    )
    assert status == 400 and set(body["errors"]["0"]) == {"name", "description"}
    assert (await call(http, fake, "GET", "/applications/42/commands"))[0] == 403
