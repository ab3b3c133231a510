"""Answers out: streaming by chat.update, long answers split, 429s waited out, no double posts."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from channels.slack.blocks import MESSAGE_LIMIT
from tests.fakes.slack_server import FakeSlack
from tests.integration.slack.support import SCRIPT, running, slack_config, texts

LONG = "Here is a *long* answer."
STREAMED = "Streaming: " + "words that keep coming in small chunks. " * 60


async def test_a_long_answer_streams_and_splits_below_slacks_limits(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    async with running(slack_config(tmp_path, slack, allow=[alice.id]), redis_url, slack):
        slack.say(alice, dm, "a long one, please")
        await slack.until(
            lambda: any("The end of a long answer." in t for t in texts(slack, dm.id))
        )
    sent = texts(slack, dm.id)
    whole = "\n".join(sent)
    assert len(whole) > 5000 and len(sent) >= 2
    assert all(len(t) <= MESSAGE_LIMIT for t in sent)
    assert all(t.count("```") % 2 == 0 for t in sent)  # no message leaves a code block open
    code = next(t for t in sent if "def main():" in t)
    assert "total_44 = compute(44)" in code  # the 2,300-character block whole in one message
    assert LONG in whole and "**" not in whole  # Markdown became mrkdwn
    updates = [c for c in slack.calls("chat.update") if c.params.get("channel") == dm.id]
    posts = [c for c in slack.calls("chat.postMessage") if c.params.get("channel") == dm.id]
    assert len(posts) == len(sent) and all(c.error is None for c in updates + posts)


async def test_a_429_mid_stream_is_waited_out_and_the_answer_completes(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    script = {"rules": [{"on": "user", "match": "stream", "text": STREAMED}], "chunkSize": 40}
    config = slack_config(tmp_path, slack, allow=[alice.id], script=script, streamInterval=0.05)
    slack.fail("chat.update", 429, retry_after=1)  # the first update of the answer: 429
    async with running(config, redis_url, slack):
        slack.say(alice, dm, "stream it")
        await slack.until(lambda: texts(slack, dm.id) == [STREAMED.strip()], timeout=20)
    updates = slack.calls("chat.update")
    limited = [c for c in updates if c.status == 429]
    assert limited, "the rate limit was never hit"
    assert updates[-1].status == 200  # the last one went through after the wait
    assert updates[-1].at - limited[0].at >= 1.0  # Retry-After was honoured
    assert len(slack.calls("chat.postMessage")) == 1  # one message, never a second


async def test_a_post_whose_answer_was_lost_is_not_posted_twice(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    config = slack_config(tmp_path, slack, allow=[alice.id])
    options = {"web_timeout": 1, "retry_delay": 1.0}
    async with running(config, redis_url, slack, channel_options=options):
        slack.slow("chat.postMessage", 1.5)  # Slack posts it, but after the client gave up
        slack.say(alice, dm, "hello")
        await slack.until(lambda: "Hi *there*! Ask me `anything`." in texts(slack, dm.id))
        slack.say(alice, dm, "and again")
        await slack.until(lambda: "You said: and again" in texts(slack, dm.id))
    assert texts(slack, dm.id) == ["Hi *there*! Ask me `anything`.", "You said: and again"]
    looked = slack.calls("conversations.history")
    assert looked and looked[0].params["channel"] == dm.id


async def test_model_text_cannot_ping_a_channel(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    config = slack_config(tmp_path, slack, allow=[alice.id], script=SCRIPT)
    async with running(config, redis_url, slack):
        slack.say(alice, dm, "<!channel> & <@U0OTHER> look")
        await slack.until(lambda: texts(slack, dm.id))
    (answer,) = texts(slack, dm.id)
    assert answer == "You said: &lt;!channel&gt; &amp; &lt;@U0OTHER&gt; look"
