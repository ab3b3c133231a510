"""Messages in over Socket Mode: DMs, threads opened by mentions, strangers, commands, files."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from channels.chat.commands import NOTHING_TO_STOP
from channels.chat.render import RESET
from core.paths import session_name
from tests.fakes.slack_payloads import event_callback, own_message_event
from tests.fakes.slack_server import FakeSlack
from tests.integration.slack.support import running, slack_config, texts
from workers import keys

HELLO = "Hi *there*! Ask me `anything`."


async def test_a_dm_is_answered_in_the_dm_with_a_sign_of_life(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice", real_name="Alice Smith")
    dm = slack.dm(alice)
    async with running(slack_config(tmp_path, slack, allow=[alice.id]), redis_url, slack):
        said = slack.say(alice, dm, "hello")
        await slack.until(lambda: HELLO in texts(slack, dm.id))
        await slack.until(lambda: [s["status"] for s in slack.statuses(dm.id)][-1:] == [""])
    (answer,) = slack.sent(dm.id)
    assert "thread_ts" not in answer  # a DM's answers are not threaded
    statuses = slack.statuses(dm.id)
    assert statuses[0]["status"] == "is thinking…" and statuses[0]["thread_ts"] == said.ts
    assert all(d.acked and d.latency is not None and d.latency < 3 for d in said.deliveries)
    history = await redis.lrange(keys.history(f"slack:{slack.team_id}:{dm.id}"), 0, -1)
    assert b'"hello"' in b"".join(history)  # the person's text, as written


async def test_without_the_assistant_feature_a_reaction_is_the_sign_of_life(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    slack.assistant_unavailable("not_allowed_token_type")
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    config = slack_config(tmp_path, slack, allow=[alice.id], script={
        "rules": [{"on": "user", "match": "slow", "text": "Done slowly.", "delay": 0.5}],
    })  # fmt: skip
    async with running(config, redis_url, slack):
        said = slack.say(alice, dm, "slow please")
        await slack.until(lambda: slack.reactions(dm.id, said.ts))
        assert slack.reactions(dm.id, said.ts) == {"hourglass_flowing_sand": [slack.bot_user_id]}
        await slack.until(lambda: "Done slowly." in texts(slack, dm.id))
        await slack.until(lambda: not slack.reactions(dm.id, said.ts))  # removed at the end
    assert not slack.statuses()


async def test_a_stranger_is_told_their_id_once_and_ignored_in_channels(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice, mallory = slack.add_user("alice"), slack.add_user("mallory")
    general = slack.add_channel("general", members=[alice, mallory])
    dm = slack.dm(mallory)
    async with running(slack_config(tmp_path, slack, allow=[alice.id]), redis_url, slack):
        slack.say(mallory, general, f"<@{slack.bot_user_id}> hello?")
        slack.say(mallory, dm, "hello?")
        refusal = await slack.until(lambda: texts(slack, dm.id))
        slack.say(mallory, dm, "hello again?")
        slack.say(alice, slack.dm(alice), "hello")  # an allowed person, after them
        await slack.until(lambda: HELLO in texts(slack, slack.dm(alice).id))
    assert len(refusal) == 1 and len(texts(slack, dm.id)) == 1
    assert f"<@{mallory.id}>" in refusal[0] and mallory.id in refusal[0]
    assert "channels.slack.allowFrom" in refusal[0]
    assert not slack.sent(general.id)  # ignored in the channel, not even a refusal


async def test_a_mention_opens_a_thread_and_the_thread_needs_no_mention(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice, bob = slack.add_user("alice", real_name="Alice"), slack.add_user("bob")
    general = slack.add_channel("general", members=[alice, bob])
    async with running(slack_config(tmp_path, slack, allow=[alice.id, bob.id]), redis_url, slack):
        slack.say(alice, general, "hello, nobody mentioned the bot")
        said = slack.say(alice, general, f"<@{slack.bot_user_id}> hello")
        assert len(said.deliveries) == 2  # message and app_mention: one turn
        await slack.until(lambda: texts(slack, general.id, said.ts))
        slack.say(bob, general, "and what do you say to this?", thread_ts=said.ts)
        await slack.until(lambda: len(texts(slack, general.id, said.ts)) == 2)
        other = slack.say(bob, general, "a new top-level message")
        await slack.until(lambda: all(d.acked for d in other.deliveries))
    assert texts(slack, general.id, said.ts) == [
        HELLO,
        "You said: Bob: and what do you say to this?",
    ]
    assert all(m["thread_ts"] == said.ts for m in slack.sent(general.id))
    assert len(slack.sent(general.id)) == 2  # nothing for the unmentioned messages
    key = f"slack:{slack.team_id}:{general.id}:{said.ts}"
    history = b"".join(await redis.lrange(keys.history(key), 0, -1))
    assert b"Alice: hello" in history  # in channels the model knows who spoke


async def test_a_redelivered_event_and_an_edit(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    async with running(slack_config(tmp_path, slack, allow=[alice.id]), redis_url, slack):
        said = slack.say(alice, dm, "first words")
        await slack.until(lambda: "You said: first words" in texts(slack, dm.id))
        (delivery,) = said.deliveries
        slack.push_callback(delivery.payload)  # Slack's retry: the same event_id
        slack.edit(alice, dm, said.ts, "first words, corrected")
        await slack.until(
            lambda: "You said: (edited) first words, corrected" in texts(slack, dm.id)
        )
        # the bot's own message, as its event comes back (bolt drops it; no turn)
        answer = slack.sent(dm.id)[0]
        slack.push_event(own_message_event(dm, "echo", ts=answer["ts"]))
        last = slack.say(alice, dm, "last")
        await slack.until(lambda: "You said: last" in texts(slack, dm.id))
    assert texts(slack, dm.id) == [
        "You said: first words",
        "You said: (edited) first words, corrected",
        "You said: last",
    ]
    assert last.deliveries[0].acked


async def test_commands_as_text_in_a_thread_and_a_dm(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    general = slack.add_channel("general", members=[alice])
    dm = slack.dm(alice)
    async with running(slack_config(tmp_path, slack, allow=[alice.id]), redis_url, slack):
        said = slack.say(alice, general, f"<@{slack.bot_user_id}> hello")
        await slack.until(lambda: texts(slack, general.id, said.ts))
        slack.say(alice, general, "/help", thread_ts=said.ts)
        slack.say(alice, general, f"<@{slack.bot_user_id}> /new", thread_ts=said.ts)
        await slack.until(lambda: RESET in texts(slack, general.id, said.ts))
        slack.say(alice, dm, "/stop")
        await slack.until(lambda: NOTHING_TO_STOP in texts(slack, dm.id))
        command = slack.command(alice, dm, "/facio", "status")
        await slack.until(lambda: command.acked)
    in_thread = texts(slack, general.id, said.ts)
    help_text = next(t for t in in_thread if "/new: start a new conversation" in t)
    assert f"<@{slack.bot_user_id}>" in help_text and alice.id in help_text
    assert command.ack is not None and "write `/new`" in str(command.ack)
    key = f"slack:{slack.team_id}:{general.id}:{said.ts}"
    assert await redis.llen(keys.history(key)) == 0  # /new started the thread's session over


async def test_a_shared_file_is_saved_into_the_workspace(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    config = slack_config(tmp_path, slack, allow=[alice.id], maxFileSize=1000)
    async with running(config, redis_url, slack):
        report = slack.add_file("report.csv", b"a,b\n1,2\n", user=alice, mimetype="text/csv")
        chart = slack.add_file("chart.png", b"\x89PNG", user=alice, mimetype="image/png")
        said = slack.say(alice, dm, "please read this", files=[report, chart])
        await slack.until(lambda: any("report.csv" in t for t in texts(slack, dm.id)))
        big = slack.add_file("big.bin", None, user=alice, size=5000)
        slack.share_file(alice, dm, big)
        await slack.until(lambda: any("can't take that file" in t for t in texts(slack, dm.id)))
    folder = tmp_path / "ws" / "sessions" / session_name(f"slack:{slack.team_id}:{dm.id}")
    saved = folder / "uploads" / f"{said.ts}-report.csv"
    assert saved.read_bytes() == b"a,b\n1,2\n"
    assert f"[file saved at uploads/{said.ts}-report.csv]" in texts(slack, dm.id)[0]
    assert (folder / "uploads" / f"{said.ts}-2-chart.png").read_bytes() == b"\x89PNG"
    assert f"[photo saved at uploads/{said.ts}-2-chart.png]" in texts(slack, dm.id)[0]
    assert not list((folder / "uploads").glob("*big*"))


async def test_a_malformed_event_is_acknowledged_and_skipped(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    async with running(slack_config(tmp_path, slack, allow=[alice.id]), redis_url, slack):
        bad = slack.push_callback(event_callback({"type": "message", "channel": dm.id}))  # no ts
        odd = slack.push_event({"type": "reaction_added", "user": alice.id})
        await slack.until(lambda: bad.acked and odd.acked)
        slack.say(alice, dm, "hello")
        await slack.until(lambda: HELLO in texts(slack, dm.id))
    assert texts(slack, dm.id) == [HELLO]
