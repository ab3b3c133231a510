"""A post whose answer is lost is never posted twice: it is looked for by its metadata id.

Through the real gateway (a streamed answer in a DM and in a thread) and
through :class:`~channels.slack.web.SlackApi` and the chat layer's streams
on the fake Slack, whose ``lose_answers`` posts the message and then drops
the connection or holds it past the client's timeout.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from arq.connections import ArqRedis
from redis.asyncio import Redis

from channels.chat.platform import Target
from channels.chat.stream import Streams
from channels.runtime import RuntimeClient
from channels.slack.errors import SlackMaybeSent, SlackUnreachable
from channels.slack.platform import SlackPlatform
from channels.slack.web import POST_EVENT, SlackApi, make_client
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_workspace import Channel
from tests.integration.slack.support import running, slack_config, texts

STREAMED = "Streaming: " + "words that keep coming in small chunks. " * 60
"""Over 2,048 characters: a chunk goes out (the post) before the response (an edit)."""
STREAM_SCRIPT = {"rules": [{"on": "user", "match": "stream", "text": STREAMED}], "chunkSize": 40}


def _post_ids(slack: FakeSlack) -> list[str]:
    """The metadata id each ``chat.postMessage`` call carried, in order."""
    ids = []
    for call in slack.calls("chat.postMessage"):
        metadata = call.params["metadata"]
        assert metadata["event_type"] == POST_EVENT
        ids.append(metadata["event_payload"]["id"])
    return ids


def _streamed_once(slack: FakeSlack, channel: str, thread_ts: str | None = None) -> None:
    """One message holds the whole answer: posted once, then grown by edits."""
    (message,) = slack.sent(channel, thread_ts)
    assert message["text"] == STREAMED.strip()
    vias = [v.via for v in slack.versions(channel, message["ts"])]
    assert vias[0] == "chat.postMessage" and vias[1:] and set(vias[1:]) == {"chat.update"}
    assert len(slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize("hang", [0.0, 2.0], ids=["dropped", "timed-out"])
async def test_a_streamed_answer_whose_post_lost_its_answer_is_found_and_edited(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path, hang: float
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    config = slack_config(
        tmp_path, slack, allow=[alice.id], script=STREAM_SCRIPT, streamInterval=0.05
    )
    async with running(config, redis_url, slack, channel_options={"web_timeout": 1}):
        slack.lose_answers("chat.postMessage", hang=hang)  # posted; the answer never comes
        slack.say(alice, dm, "stream it")
        await slack.until(lambda: texts(slack, dm.id) == [STREAMED.strip()], timeout=20)
    _streamed_once(slack, dm.id)
    (looked,) = slack.calls("conversations.history")
    assert looked.params["channel"] == dm.id and looked.params["include_all_metadata"] == "1"
    assert float(looked.params["oldest"]) <= float(slack.sent(dm.id)[0]["ts"])


async def test_in_a_thread_the_lost_post_is_looked_for_in_the_thread(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    general = slack.add_channel("general", members=[alice])
    config = slack_config(
        tmp_path, slack, allow=[alice.id], script=STREAM_SCRIPT, streamInterval=0.05
    )
    async with running(config, redis_url, slack):
        slack.lose_answers("chat.postMessage")
        said = slack.say(alice, general, f"<@{slack.bot_user_id}> stream it")
        await slack.until(
            lambda: texts(slack, general.id, said.ts) == [STREAMED.strip()], timeout=20
        )
    _streamed_once(slack, general.id, said.ts)
    (looked,) = slack.calls("conversations.replies")
    assert looked.params["ts"] == said.ts and looked.params["include_all_metadata"] == "1"
    assert not slack.calls("conversations.history")


async def test_a_post_lost_before_it_landed_is_posted_again_with_the_same_id(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    config = slack_config(
        tmp_path, slack, allow=[alice.id], script=STREAM_SCRIPT, streamInterval=0.05
    )
    async with running(config, redis_url, slack):
        slack.drop("chat.postMessage")  # the connection drops before Slack posts anything
        slack.say(alice, dm, "stream it")
        await slack.until(lambda: texts(slack, dm.id) == [STREAMED.strip()], timeout=20)
    assert len(slack.sent(dm.id)) == 1
    first, second = _post_ids(slack)  # looked, not there: posted again, the same post
    assert first == second
    assert [c.method for c in slack.calls() if c.method.startswith(("chat.post", "conv"))][:3] == [
        "chat.postMessage",
        "conversations.history",
        "chat.postMessage",
    ]


# --- SlackApi and the streams on the fake ------------------------------------


class _FirstConnectRefused(AbstractResolver):
    """Resolves ``slack.test`` to the fake Slack, but the first time to a port where
    nothing listens: that connection never opens (``ClientConnectorError``)."""

    def __init__(self, live: int, dead: int) -> None:
        self.ports = [dead]
        self.live = live
        self.resolved = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.resolved += 1
        port = self.ports.pop() if self.ports else self.live
        return [
            ResolveResult(
                hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port that is bound but does not listen: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
async def api(slack: FakeSlack) -> AsyncIterator[SlackApi]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session:
        client = make_client(slack.bot_token, slack.api_url, session=session, timeout=1)
        yield SlackApi(client, retry_delay=0.01)


@pytest.fixture
def general(slack: FakeSlack) -> Channel:
    return slack.add_channel("general", members=[slack.add_user("alice")])


async def test_a_connection_that_never_opened_is_simply_tried_again(
    slack: FakeSlack, general: Channel, dead_port: int
) -> None:
    resolver = _FirstConnectRefused(slack.port, dead_port)
    connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = make_client(
            slack.bot_token, f"http://slack.test:{slack.port}/api/", session=session
        )
        posted = await SlackApi(client, retry_delay=0.01).post(general.id, "once")
    assert resolver.resolved == 2  # the refused connection, then the one that went through
    assert [(m["ts"], m["text"]) for m in slack.sent(general.id)] == [(posted.ts, "once")]
    assert len(slack.calls("chat.postMessage")) == 1  # the refused try never reached Slack
    assert not slack.calls("conversations.history")  # nothing to look for


async def test_when_reading_back_fails_too_the_post_is_not_repeated(
    slack: FakeSlack, general: Channel, api: SlackApi
) -> None:
    slack.lose_answers("chat.postMessage")
    slack.fail("conversations.history", 500, times=2)  # slack_sdk tries a read twice
    with pytest.raises(SlackMaybeSent, match="not posted again"):
        await api.post(general.id, "maybe")
    assert [m["text"] for m in slack.sent(general.id)] == ["maybe"]
    assert len(slack.calls("chat.postMessage")) == 1


async def test_a_post_lost_every_time_and_never_there_gives_up_unreachable(
    slack: FakeSlack, general: Channel, api: SlackApi
) -> None:
    slack.drop("chat.postMessage", times=3)
    with pytest.raises(SlackUnreachable, match=r"chat\.postMessage"):
        await api.post(general.id, "never")
    assert slack.sent(general.id) == []
    assert len(set(_post_ids(slack))) == 1 and len(slack.calls("conversations.history")) == 3


def _streams(api: SlackApi, redis: Redis) -> Streams[Any]:
    runtime = RuntimeClient(ArqRedis(connection_pool=redis.connection_pool))
    return Streams(runtime, SlackPlatform(api), interval=0.0, retry_delay=0.0)


async def test_a_streamed_answer_whose_post_may_have_landed_is_never_doubled(
    slack: FakeSlack, general: Channel, api: SlackApi, redis: Redis
) -> None:
    streams, target = _streams(api, redis), Target(general.id)
    slack.lose_answers("chat.postMessage")
    slack.fail("conversations.history", 500, times=2)  # cannot tell whether it landed
    await streams.chunk("t1", "main", target, "The whole answer.")  # maybe sent: not again
    await streams.final("t1", "main", target, "The whole answer.")  # the same text
    assert texts(slack, general.id) == ["The whole answer."]
    assert len(slack.calls("chat.postMessage")) == 1 and not slack.calls("chat.update")


async def test_a_streamed_answer_whose_lost_post_was_found_is_edited(
    slack: FakeSlack, general: Channel, api: SlackApi, redis: Redis
) -> None:
    streams, target = _streams(api, redis), Target(general.id)
    slack.lose_answers("chat.postMessage")
    await streams.chunk("t2", "main", target, "The first")  # lost, then found by its id
    await streams.final("t2", "main", target, "The first words, and the rest.")
    assert texts(slack, general.id) == ["The first words, and the rest."]
    (message,) = slack.sent(general.id)
    vias = [v.via for v in slack.versions(general.id, message["ts"])]
    assert vias == ["chat.postMessage", "chat.update"]
