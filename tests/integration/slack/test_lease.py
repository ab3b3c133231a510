"""One Socket Mode connection per app among gateways sharing a Redis; a stand-by takes over."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from tests.fakes.slack_server import FakeSlack
from tests.integration.slack.support import channel_of, running, slack_config, texts


async def test_one_gateway_connects_the_other_stands_by_and_takes_over(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    config = slack_config(tmp_path, slack, allow=[alice.id])
    async with (
        running(config, redis_url, slack, worker=False) as first,
        running(config, redis_url, slack) as second,
    ):
        standby = channel_of(second)
        await slack.until(lambda: standby.socket is not None and standby.socket.standing_by)
        assert len(slack.connections()) == 1
        assert await channel_of(first).health() == await standby.health() == "ok"  # both healthy
        slack.say(alice, dm, "hello")
        await slack.until(lambda: texts(slack, dm.id))
        await first.stop()  # the holder goes: its lease is released
        await slack.until(lambda: standby.socket is not None and standby.socket.handler is not None)
        await slack.until(slack.ready_connections)
        slack.say(alice, dm, "still there?")
        await slack.until(lambda: "You said: still there?" in texts(slack, dm.id))
    assert len(slack.connections(open_only=False)) == 2
