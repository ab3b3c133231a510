"""Slack events → the chat layer's Incoming: session keys, threads, mentions, commands, edits."""

from __future__ import annotations

from typing import Any

import pytest

from channels.chat.platform import Person
from channels.slack.platform import target_of
from channels.slack.translate import incoming, parse_click, parse_message
from core import wire

BOT = "U0BOT"
ALICE = Person("U0ALICE", "alice", "Alice")


def _in(event: dict[str, Any], *, in_bot_thread: bool = False, edited: str = "") -> Any:
    return incoming(
        parse_message(event),
        ALICE,
        team="T1",
        bot_user_id=BOT,
        in_bot_thread=in_bot_thread,
        edited_ts=edited,
    )


def test_a_dm_is_its_own_session_answered_at_the_top_level() -> None:
    item = _in({"type": "message", "channel": "D1", "channel_type": "im", "ts": "1.1",
                "user": "U0ALICE", "text": "hi &amp; &lt;3"})  # fmt: skip
    assert item.session_key == "slack:T1:D1" and item.event_id == "T1:D1:1.1"
    assert item.text == "hi & <3" and item.addressed and not item.group
    assert item.target.thread == "" and item.target.reply_to == "1.1"


def test_a_dm_thread_is_a_session_of_its_own() -> None:
    item = _in({"type": "message", "channel": "D1", "channel_type": "im", "ts": "1.5",
                "thread_ts": "1.1", "user": "U0ALICE", "text": "more"})  # fmt: skip
    assert item.session_key == "slack:T1:D1:1.1" and item.target.thread == "1.1"


def test_a_top_level_mention_opens_a_thread_keyed_by_its_ts() -> None:
    mention = {"type": "app_mention", "channel": "C1", "ts": "2.2", "user": "U0ALICE",
               "text": f"<@{BOT}> /stop now"}  # fmt: skip
    item = _in(mention)
    assert item.session_key == "slack:T1:C1:2.2" and item.target.thread == "2.2"
    assert item.group and item.addressed and item.text == "/stop now"
    assert item.command is not None and item.command.name == "stop"
    same = _in({**mention, "type": "message", "channel_type": "channel"})
    assert same.event_id == item.event_id  # message + app_mention: one turn


def test_in_channels_a_thread_needs_a_mention_unless_it_is_the_bots() -> None:
    reply = {"type": "message", "channel": "C1", "channel_type": "channel", "ts": "3.3",
             "thread_ts": "2.2", "user": "U0ALICE", "text": "and then?"}  # fmt: skip
    assert not _in(reply).addressed
    assert _in(reply, in_bot_thread=True).addressed
    assert _in({**reply, "parent_user_id": BOT}).addressed
    assert not _in({**reply, "thread_ts": None}).addressed  # top level, no mention


def test_an_edit_is_a_new_event() -> None:
    item = _in({"type": "message", "channel": "D1", "channel_type": "im", "ts": "1.1",
                "user": "U0ALICE", "text": "fixed"}, edited="1.9")  # fmt: skip
    assert item.edited and item.event_id == "T1:D1:1.1:edited:1.9"


def test_files_and_malformed_events() -> None:
    image = {"id": "F1", "name": "a.png", "mimetype": "image/png", "size": 3,
             "url_private_download": "https://files.slack.com/x"}  # fmt: skip
    sheet = {"id": "F2", "name": "b.csv", "mimetype": "text/csv", "size": 9}
    item = _in({"type": "message", "subtype": "file_share", "channel": "D1", "ts": "1.1",
                "user": "U0ALICE", "files": [image, sheet]})  # fmt: skip
    photo, other = item.files
    assert photo.kind == "photo" and photo.size == 3 and photo.ref == image["url_private_download"]
    assert other.kind == "file" and other.name == "b.csv" and other.ref == "id:F2"
    with pytest.raises(ValueError):
        parse_message({"type": "message", "channel": "D1"})
    with pytest.raises(ValueError):
        parse_click({"type": "block_actions", "user": {"id": "U1"}, "actions": []})


def test_events_find_their_target() -> None:
    def event(session: str, **reply_to: str) -> wire.Envelope:
        return wire.ResponseEvent(session_key=session, turn_id="t", content="x", reply_to=reply_to)

    assert target_of(event("slack:T1:C1:2.2")) is not None
    found = target_of(event("slack:T1:C1:2.2"))
    assert found is not None and (found.chat, found.thread, found.group) == ("C1", "2.2", True)
    dm = target_of(event("slack:T1:D1"))
    assert dm is not None and (dm.chat, dm.thread, dm.group) == ("D1", "", False)
    where = target_of(event("x", channel="C9", thread_ts="5.5", ts="5.6", channel_type="channel"))
    assert where is not None and (where.chat, where.thread, where.reply_to) == ("C9", "5.5", "5.6")
    assert target_of(event("telegram:1")) is None and target_of(event("slack:T1")) is None
