"""Discord text (splitting, quoting, escaping) and where events go (session keys, reply_to)."""

from __future__ import annotations

import json

import pytest

from channels.chat.commands import Command
from channels.chat.intake import Incoming, IncomingFile
from channels.chat.platform import Person, Target
from channels.discord.adapter import bot_id_of
from channels.discord.platform import target_of
from channels.discord.text import MESSAGE_LIMIT, markdown_parts, plain_parts, quoted_part
from channels.discord.translate import dump, load
from core import wire


def test_markdown_is_kept_and_split_at_2000_without_breaking_a_code_block() -> None:
    code = "```python\n" + "\n".join(f"x_{i} = {i}" for i in range(300)) + "\n```"
    text = "**Intro** with `code`.\n\n" + code + "\n\nThe end."
    parts = [p.content for p in markdown_parts(text)]
    assert len(parts) > 1 and all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert parts[0].startswith("**Intro** with `code`.")
    assert all(p.count("```") % 2 == 0 for p in parts)
    assert all(p.startswith("```python") for p in parts[1:-1])
    assert markdown_parts("  \n") == []


def test_facio_words_are_shown_as_written() -> None:
    [part] = plain_parts("add it to channels.discord.allow_from *now*")
    assert part.content == "add it to channels.discord.allow\\_from \\*now\\*"


def test_thoughts_are_one_quote_cut_to_one_message() -> None:
    part = quoted_part("x" * 5000)
    assert part.content.startswith(">>> 💭 x") and len(part.content) == MESSAGE_LIMIT


def _event(session: str, **reply_to: str) -> wire.ResponseEvent:
    return wire.ResponseEvent(session_key=session, content="", reply_to=reply_to)


@pytest.mark.parametrize(
    ("event", "target"),
    [
        (_event("discord:dm:42", channel_id="42"), Target("42")),
        (
            _event("discord:7:42", channel_id="42", guild_id="7", message_id="9"),
            Target("42", "", "9", True),
        ),
        (
            _event("discord:7:42:thread:55", channel_id="55", guild_id="7", thread_id="55"),
            Target("55", "55", "", True),
        ),
        (_event("discord:dm:42"), Target("42")),  # a scheduled turn: no reply_to
        (_event("discord:7:42"), Target("42", group=True)),
        (_event("discord:7:42:thread:55"), Target("55", "55", group=True)),
        (_event("discord:dm:nope"), None),
        (_event("discord:7:42", channel_id="<#42>"), None),
        (_event("telegram:42"), None),
    ],
)
def test_where_an_event_goes(event: wire.ResponseEvent, target: Target | None) -> None:
    assert target_of(event) == target


def test_the_bot_id_is_read_from_the_token() -> None:
    assert bot_id_of("MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.secret") == "123456789012345678"
    odd = bot_id_of("not-a-token")
    assert odd.startswith("t") and odd == bot_id_of("not-a-token") and "not" not in odd


def test_a_message_kept_for_its_lane_reads_back_the_same() -> None:
    item = Incoming(
        event_id="42",
        person=Person("7", "alice", "Alice"),
        session_key="discord:1:2",
        target=Target("2", "", "42", True),
        reply_to={"channel_id": "2", "guild_id": "1", "message_id": "42"},
        text="see attached",
        lane="2",
        message="42",
        command=Command("new", "", True),
        files=(
            IncomingFile("http://cdn/a.txt", "a.txt", "text/plain", 3, "file"),
            IncomingFile("http://cdn/b.png", "b.png", "image/png", 5, "photo"),
        ),
    )
    assert load(dump(item)) == item
    # kept by a facio that saved one attachment per message
    kept = json.loads(dump(item))
    del kept["files"]
    kept["file"] = {"ref": "http://cdn/a.txt", "name": "a.txt", "mime_type": "text/plain",
                    "size": 3, "kind": "file"}  # fmt: skip
    assert load(json.dumps(kept)).files == item.files[:1]
    plain = Incoming("1", Person("7"), "discord:dm:3", Target("3"), {}, "hi", "3")
    assert load(dump(plain)) == plain
