"""allowFrom, group addressing, decider identities, session keys and targets."""

from __future__ import annotations

from typing import Any

from aiogram.types import Message, User

from channels.chat.access import AccessPolicy
from channels.chat.platform import Person
from channels.telegram.platform import chat_target, target_of
from channels.telegram.send import ChatTarget
from channels.telegram.translate import (
    addressed,
    parse_command,
    person,
    reply_to_of,
    session_key_of,
)
from core.wire import ResponseEvent
from tests.fakes.telegram_updates import group_chat, message_update, user

ME = User(id=7000001, is_bot=True, first_name="Bot", username="facio_test_bot")
POLICY = AccessPolicy(["100", "@Bob"], ["@boss", "300"])


def _message(person: dict[str, Any], text: str, **options: Any) -> Message:
    data = message_update(person, text, **options)
    return Message.model_validate(data.get("message") or data["edited_message"])


def _user(uid: int, username: str | None = None) -> Person:
    return person(User(id=uid, is_bot=False, first_name="X", username=username))


def test_allow_from_is_ids_and_case_insensitive_usernames_deny_by_default() -> None:
    assert POLICY.allowed(_user(100))
    assert POLICY.allowed(_user(5, "bob")) and POLICY.allowed(_user(6, "BOB"))
    assert not POLICY.allowed(_user(101, "alice"))
    assert not POLICY.allowed(_user(7))  # no username: only an id entry lets them in
    assert not AccessPolicy([], []).allowed(_user(100, "bob"))


def test_the_clicker_is_named_as_the_record_lists_them() -> None:
    deciders = ["100", "@boss", "300"]
    assert POLICY.identity(_user(100, "alice"), deciders) == "100"
    assert POLICY.identity(_user(999, "Boss"), deciders) == "@boss"
    assert POLICY.identity(_user(300), deciders) == "300"
    assert POLICY.identity(_user(666, "mallory"), deciders) == "666"  # refused by the script
    assert POLICY.identity(_user(666), ["@"]) == "666"


def test_in_groups_only_mentions_replies_and_commands_address_the_bot() -> None:
    alice, group = user(100, "Alice", "alice"), group_chat(-5)
    assert not addressed(_message(alice, "hello all", chat=group), ME)
    assert addressed(_message(alice, "hi @Facio_Test_Bot!", chat=group), ME)
    assert not addressed(_message(alice, "hi @other_bot", chat=group), ME)
    assert not addressed(_message(alice, "mail me@facio_test_bot.com", chat=group), ME)
    bot_message = {"message_id": 1, "date": 0, "chat": group, "from": ME.model_dump()}
    assert addressed(_message(alice, "and?", chat=group, reply_to=bot_message), ME)
    topic_start = {**bot_message, "forum_topic_created": {"name": "t", "icon_color": 1}}
    assert not addressed(_message(alice, "in topic", chat=group, reply_to=topic_start), ME)


def test_commands_for_us_and_for_others() -> None:
    alice = user(100, "Alice", "alice")
    command = parse_command(_message(alice, "/new"), ME)
    assert command is not None and command.name == "new" and command.mine
    command = parse_command(_message(alice, "/Stop@facio_test_bot now"), ME)
    assert command is not None and (command.name, command.args, command.mine) == (
        "stop",
        "now",
        True,
    )
    command = parse_command(_message(alice, "/new@other_bot"), ME)
    assert command is not None and not command.mine
    assert parse_command(_message(alice, "no /new here"), ME) is None


def test_a_command_ends_where_its_entity_ends_not_at_the_first_space() -> None:
    alice = user(100, "Alice", "alice")
    command = parse_command(_message(alice, "/stop\nplease, it is looping"), ME)
    assert command is not None and (command.name, command.args) == ("stop", "please, it is looping")
    command = parse_command(_message(alice, "/new@facio_test_bot\tfresh"), ME)
    assert command is not None and (command.name, command.mine) == ("new", True)


def test_session_keys_and_reply_targets() -> None:
    alice = user(100, "Alice", "alice")
    dm = _message(alice, "hi")
    assert session_key_of(dm) == "telegram:100"
    assert reply_to_of(dm) == {"chat_id": "100", "chat_type": "private"}
    forum = group_chat(-100, forum=True)
    topic = _message(alice, "hi", chat=forum, thread_id=7, topic=True, message_id=55)
    assert session_key_of(topic) == "telegram:-100:topic:7"
    assert reply_to_of(topic) == {
        "chat_id": "-100",
        "chat_type": "supergroup",
        "thread_id": "7",
        "message_id": "55",
    }
    thread_reply = _message(alice, "hi", chat=forum, thread_id=9)  # not a topic message
    assert session_key_of(thread_reply) == "telegram:-100"


def test_targets_come_from_reply_to_or_else_the_session_key() -> None:
    def event(session: str, **reply_to: str) -> ResponseEvent:
        return ResponseEvent(session_key=session, reply_to=reply_to, content="")

    def target(session: str, **reply_to: str) -> ChatTarget | None:
        found = target_of(event(session, **reply_to))
        return chat_target(found) if found is not None else None

    assert target("telegram:5", chat_id="5") == ChatTarget(5)
    assert target("telegram:-9", chat_id="-9", thread_id="3", message_id="4") == (
        ChatTarget(-9, 3, 4)
    )
    assert target("telegram:-9:topic:3") == ChatTarget(-9, 3)  # a cron turn
    assert target("api:x") is None
    assert target("telegram:abc") is None
    group = target_of(event("telegram:-9", chat_id="-9"))
    assert group is not None and group.group  # groups edit more slowly
    private = target_of(event("telegram:5", chat_id="5"))
    assert private is not None and not private.group
