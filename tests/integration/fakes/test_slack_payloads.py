"""The shapes of what the fake Slack sends: people's messages, edits, files, other bots."""

from __future__ import annotations

from typing import Any

from tests.fakes.slack_payloads import bot_message_event
from tests.fakes.slack_server import FakeSlack


def _events(slack: FakeSlack) -> list[dict[str, Any]]:
    return [d.payload["event"] for d in slack.deliveries("events_api")]


def test_a_dm_a_thread_an_edit_and_a_file_as_events(slack: FakeSlack) -> None:
    alice = slack.add_user("alice", user_id="U0ALICE01")
    dm = slack.dm(alice)
    first = slack.say(alice, dm, "hello")
    slack.say(alice, dm, "more", thread_ts=first.ts)
    slack.edit(alice, dm, first.ts, "hello!")
    notes = slack.add_file("notes.txt", b"n", user=alice, mimetype="text/plain")
    slack.share_file(alice, dm, notes, "the notes")
    plain, reply, edited, shared = _events(slack)
    assert plain["channel_type"] == "im" and plain["channel"] == dm.id == "D0ALICE01"
    assert plain["user"] == alice.id and plain["ts"] == plain["event_ts"] == first.ts
    assert "thread_ts" not in plain and plain["blocks"][0]["type"] == "rich_text"
    assert reply["thread_ts"] == first.ts and reply["parent_user_id"] == alice.id
    assert edited["subtype"] == "message_changed" and edited["message"]["text"] == "hello!"
    assert edited["previous_message"]["text"] == "hello" and edited["message"]["edited"]
    assert shared["subtype"] == "file_share" and shared["files"][0]["name"] == "notes.txt"
    assert all(d.payload["team_id"] == slack.team_id for d in slack.deliveries())


def test_no_events_from_where_the_bot_is_not_and_none_it_did_not_subscribe_to() -> None:
    with FakeSlack(subscriptions={"app_mention", "message.im"}) as slack:
        alice = slack.add_user("alice")
        general = slack.add_channel("general", members=[alice])
        elsewhere = slack.add_channel("elsewhere", members=[alice], bot_member=False)
        assert slack.say(alice, elsewhere, f"<@{slack.bot_user_id}> hi").deliveries == ()
        said = slack.say(alice, general, f"<@{slack.bot_user_id}> hi")
        (mention,) = said.deliveries
        assert mention.payload["event"]["type"] == "app_mention"
        assert "channel_type" not in mention.payload["event"]
        (in_dm,) = slack.say(alice, slack.dm(alice), f"<@{slack.bot_user_id}> hi").deliveries
        assert in_dm.payload["event"]["type"] == "message"  # no app_mention in a DM


def test_another_bots_message(slack: FakeSlack) -> None:
    general = slack.add_channel("general")
    event = bot_message_event("B0OTHER01", general, "beep", ts=slack.timestamps.next())
    delivery = slack.push_event(event)
    assert delivery.payload["event"]["subtype"] == "bot_message"
    assert "user" not in delivery.payload["event"] and delivery.event_id
