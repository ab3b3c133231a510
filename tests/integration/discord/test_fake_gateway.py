"""The fake Discord's gateway on the wire: opcodes, close codes, sequence, resume, intents."""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord_server import FakeDiscord
from tests.integration.discord.fake_world import World, make_world

GUILDS, GUILD_MESSAGES, DIRECT_MESSAGES, MESSAGE_CONTENT = 1, 1 << 9, 1 << 12, 1 << 15
ALL = GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT
QUERY = "?v=10&encoding=json&compress=zlib-stream"


class Wire:
    """A bare gateway client: zlib-stream decoding as discord.py does it."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse, fake: FakeDiscord) -> None:
        self.socket, self.fake = socket, fake
        self.inflate = zlib.decompressobj()
        self.buffer = bytearray()
        self.frames = 0

    async def recv(self, timeout: float = 3.0) -> dict[str, Any]:
        while True:
            msg = await self.socket.receive(timeout=timeout)
            if msg.type is aiohttp.WSMsgType.TEXT:
                return dict(json.loads(msg.data))
            if msg.type is not aiohttp.WSMsgType.BINARY:
                raise ConnectionError(f"closed: {self.socket.close_code}")
            self.frames += 1
            self.buffer.extend(msg.data)
            if bytes(self.buffer[-4:]) == b"\x00\x00\xff\xff":
                text = self.inflate.decompress(bytes(self.buffer))
                self.buffer.clear()
                return dict(json.loads(text))

    async def until(self, event: str) -> dict[str, Any]:
        while True:
            frame = await self.recv()
            if frame.get("t") == event:
                return frame

    async def send(self, op: int, data: Any) -> None:
        await self.socket.send_str(json.dumps({"op": op, "d": data}))

    async def identify(self, intents: int = ALL, token: str | None = None) -> dict[str, Any]:
        await self.send(
            2,
            {
                "token": token or self.fake.token,
                "intents": intents,
                "properties": {"os": "linux", "browser": "t", "device": "t"},
            },
        )
        return await self.until("READY")

    async def closed(self) -> int | None:
        msg = await self.socket.receive(timeout=3)
        while msg.type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            msg = await self.socket.receive(timeout=3)
        return self.socket.close_code


@pytest.fixture
def world() -> Iterator[World]:
    with FakeDiscord(heartbeat_interval=5.0) as fake:
        yield make_world(fake)
        assert not fake.errors


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def connect(
    http: aiohttp.ClientSession, fake: FakeDiscord, url: str = "", query: str = QUERY
) -> Wire:
    wire = Wire(await http.ws_connect((url or fake.gateway_url) + query, autoclose=False), fake)
    return wire


async def test_hello_heartbeat_and_ack(world: World, http: aiohttp.ClientSession) -> None:
    fake = world.fake
    wire = await connect(http, fake)
    assert await wire.recv() == {"op": 10, "d": {"heartbeat_interval": 5000}}
    await wire.send(1, None)
    assert await wire.recv() == {"op": 11}
    fake.acks = False
    await wire.send(1, None)
    with pytest.raises(TimeoutError):
        await wire.recv(timeout=0.3)
    fake.acks = True
    await wire.identify()
    await wire.until("GUILD_CREATE")
    fake.request_heartbeat()  # Discord may ask for one at any time
    assert await wire.recv() == {"op": 1, "d": None}
    assert fake.connections()[0].heartbeats == 2


async def test_ready_then_guild_create(world: World, http: aiohttp.ClientSession) -> None:
    fake = world.fake
    plan = fake.add_thread(world.general, "plan")
    wire = await connect(http, fake)
    await wire.recv()
    ready = await wire.identify()
    assert ready["s"] == 1
    data = ready["d"]
    assert data["user"]["id"] == str(fake.bot.id) and data["v"] == 10
    assert data["resume_gateway_url"] == fake.resume_gateway_url
    assert data["guilds"] == [{"id": str(world.team.id), "unavailable": True}]
    assert data["application"] == {"id": str(fake.application_id), "flags": fake.application_flags}
    created = await wire.recv()
    assert (created["t"], created["s"]) == ("GUILD_CREATE", 2)
    guild = created["d"]
    assert [c["name"] for c in guild["channels"]] == ["general"]
    assert [t["id"] for t in guild["threads"]] == [str(plan.id)]
    assert {m["user"]["username"] for m in guild["members"]} == {"facio-test", "alice", "bob"}
    assert guild["roles"][0]["id"] == str(world.team.id)  # @everyone


@pytest.mark.parametrize(
    ("query", "payload", "code"),
    [
        (QUERY, {"op": 2, "d": {"token": "wrong", "intents": 1, "properties": {}}}, 4004),
        (QUERY, {"op": 2, "d": {"token": "", "intents": 1 << 30, "properties": {}}}, 4013),
        (QUERY, {"op": 3, "d": {"status": "online"}}, 4003),
        (QUERY, {"op": 99, "d": None}, 4001),
        ("?v=9&encoding=json", None, 4012),
        ("?v=10&encoding=etf", None, 4002),
    ],
)
async def test_refusals_close_with_discords_codes(
    world: World, http: aiohttp.ClientSession, query: str, payload: Any, code: int
) -> None:
    fake = world.fake
    if payload and payload["op"] == 2 and payload["d"]["token"] == "":
        payload["d"]["token"] = fake.token
    wire = await connect(http, fake, query=query)
    if payload is not None:
        await wire.recv()
        await wire.socket.send_str(json.dumps(payload))
    assert await wire.closed() == code


async def test_bad_payloads_and_a_second_identify(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake = world.fake
    for text in ("{not json", json.dumps({"op": 1, "d": "x" * 5000})):
        wire = await connect(http, fake)
        await wire.recv()
        await wire.socket.send_str(text)
        assert await wire.closed() == 4002
    wire = await connect(http, fake)
    await wire.recv()
    await wire.identify()
    await wire.send(2, {"token": fake.token, "intents": ALL, "properties": {}})
    assert await wire.closed() == 4005


async def test_a_disallowed_intent_closes_4014(http: aiohttp.ClientSession) -> None:
    with FakeDiscord(message_content=False) as fake:
        wire = await connect(http, fake)
        await wire.recv()
        await wire.send(2, {"token": fake.token, "intents": ALL, "properties": {}})
        assert await wire.closed() == 4014
        wire = await connect(http, fake)
        await wire.recv()
        await wire.identify(intents=ALL & ~MESSAGE_CONTENT)  # without it: fine


async def test_resume_replays_what_was_missed(world: World, http: aiohttp.ClientSession) -> None:
    fake = world.fake
    wire = await connect(http, fake)
    await wire.recv()
    session = (await wire.identify())["d"]["session_id"]
    seq = (await wire.until("GUILD_CREATE"))["s"]
    await wire.socket.close(code=4000)
    fake.push_message(world.general, world.alice, "one")
    fake.push_message(world.general, world.alice, "two")
    again = await connect(http, fake, url=fake.resume_gateway_url)
    await again.recv()
    await again.send(6, {"token": fake.token, "session_id": session, "seq": seq})
    replayed = [await again.recv() for _ in range(3)]
    assert [(f["t"], f["s"]) for f in replayed] == [
        ("MESSAGE_CREATE", seq + 1),
        ("MESSAGE_CREATE", seq + 2),
        ("RESUMED", seq + 3),
    ]
    assert [f["d"]["content"] for f in replayed[:2]] == ["one", "two"]
    future = await connect(http, fake, url=fake.resume_gateway_url)
    await future.recv()
    await future.send(6, {"token": fake.token, "session_id": session, "seq": seq + 99})
    assert await future.closed() == 4007
    unknown = await connect(http, fake)
    await unknown.recv()
    await unknown.send(6, {"token": fake.token, "session_id": "nope", "seq": 1})
    assert await unknown.recv() == {"op": 9, "d": False}


async def test_a_clean_close_ends_the_session(world: World, http: aiohttp.ClientSession) -> None:
    fake = world.fake
    wire = await connect(http, fake)
    await wire.recv()
    session = (await wire.identify())["d"]["session_id"]
    await wire.socket.close(code=1000)
    await fake.until(lambda: not fake.sessions())
    again = await connect(http, fake, url=fake.resume_gateway_url)
    await again.recv()
    await again.send(6, {"token": fake.token, "session_id": session, "seq": 1})
    assert await again.recv() == {"op": 9, "d": False}


async def test_intents_filter_events_and_content(world: World, http: aiohttp.ClientSession) -> None:
    fake = world.fake
    wire = await connect(http, fake)
    await wire.recv()
    await wire.identify(intents=GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES)
    await wire.until("GUILD_CREATE")
    fake.push_message(world.general, world.alice, "secret plans")
    fake.push_message(world.general, world.alice, f"{fake.bot.mention} for you")
    fake.push_message(fake.dm(world.alice), world.alice, "in private")
    contents = [(await wire.until("MESSAGE_CREATE"))["d"]["content"] for _ in range(3)]
    assert contents == ["", f"{fake.bot.mention} for you", "in private"]
    quiet = await connect(http, fake)
    await quiet.recv()
    await quiet.identify(intents=DIRECT_MESSAGES)
    fake.push_message(world.general, world.alice, "not for you")
    fake.push_message(fake.dm(world.bob), world.bob, "for you")
    frame = await quiet.recv()
    assert (frame["t"], frame["d"]["content"]) == ("MESSAGE_CREATE", "for you")


async def test_two_sessions_of_one_token_both_get_every_event(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake = world.fake
    first, second = await connect(http, fake), await connect(http, fake)
    for wire in (first, second):
        await wire.recv()
        await wire.identify()
    fake.push_message(world.general, world.alice, "hello")
    for wire in (first, second):
        assert (await wire.until("MESSAGE_CREATE"))["d"]["content"] == "hello"
    assert len(fake.sessions()) == 2 and len(fake.identifies()) == 2


async def test_large_payloads_split_over_frames_and_plain_text(
    world: World, http: aiohttp.ClientSession
) -> None:
    fake = world.fake
    fake.gateway.zlib_chunk = 64
    wire = await connect(http, fake)
    await wire.recv()
    await wire.identify()
    await wire.until("GUILD_CREATE")
    assert wire.frames > 4
    plain = await connect(http, fake, query="?v=10&encoding=json")
    assert (await plain.recv())["op"] == 10  # a text frame
    await plain.identify()
    clicked = fake.add_thread(world.general, "plan")
    frame = await plain.until("THREAD_CREATE")
    assert frame["d"]["id"] == str(clicked.id) and frame["d"]["newly_created"] is True
