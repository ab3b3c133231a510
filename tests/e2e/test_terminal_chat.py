"""``facio chat`` driven on a pseudo-terminal, as a person would use it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from core.paths import session_name
from tests.e2e.support import (
    APPROVE,
    PROMPT,
    finish,
    note_file,
    say,
    slow_config,
    spawn_chat,
    unreachable_model_config,
)


def user_messages(workspace: Path, session: str = "cli:default") -> list[str]:
    """What the person said, read back from the session's JSONL history."""
    path = workspace / ".facio" / "sessions" / f"{session_name(session)}.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [m["content"] for m in lines if m["role"] == "user"]


def test_greeting_streams_the_answer_and_ctrl_d_exits_0(tmp_path: Path) -> None:
    chat = spawn_chat(tmp_path)
    assert "offline demo bot" in say(chat, "hello")
    chat.sendintr()  # at the idle prompt: a hint, and the chat goes on
    chat.expect_exact("/exit or Ctrl-D to quit")
    chat.expect_exact(PROMPT)
    out = say(chat, "think about lunch")
    assert "thinking: The person wants to see thinking" in out
    assert "I thought about it" in out
    chat.sendeof()
    assert finish(chat) == 0


def test_approve_once_runs_the_tool(tmp_path: Path) -> None:
    chat = spawn_chat(tmp_path)
    shown = say(chat, "remember to buy milk", until=APPROVE)
    assert "save_note" in shown
    assert '"text": "to buy milk"' in shown
    assert 'Done, I saved the note "to buy milk"' in say(chat, "y")
    assert "buy milk" in note_file(tmp_path).read_text(encoding="utf-8")
    chat.sendline("/exit")
    assert finish(chat) == 0


def test_reject_shows_the_rejection_and_runs_nothing(tmp_path: Path) -> None:
    chat = spawn_chat(tmp_path)
    say(chat, "remember to buy milk", until=APPROVE)
    assert "please answer y" in say(chat, "maybe", until=APPROVE)  # not a choice: re-asked
    out = say(chat, "n")
    assert "rejected: save_note will not run" in out
    assert "Rejected: I did not run save_note" in out
    assert not note_file(tmp_path).exists()
    chat.sendline("/quit")
    assert finish(chat) == 0


def test_always_allow_is_remembered_and_persisted(tmp_path: Path) -> None:
    chat = spawn_chat(tmp_path)
    say(chat, "remember to buy milk", until=APPROVE)
    assert "always allowed: save_note" in say(chat, "a")
    out = say(chat, "remember to buy eggs")  # no approval prompt this time
    assert APPROVE not in out
    assert 'Done, I saved the note "to buy eggs"' in out
    chat.sendline("/exit")
    assert finish(chat) == 0
    rules = json.loads((tmp_path / ".facio" / "permissions.json").read_text(encoding="utf-8"))
    assert "save_note" in rules["allow"]
    assert note_file(tmp_path).read_text(encoding="utf-8").count("buy") == 2


def test_session_allow_lasts_for_this_chat_only(tmp_path: Path) -> None:
    chat = spawn_chat(tmp_path)
    say(chat, "remember to buy milk", until=APPROVE)
    assert "allowed for this session: save_note" in say(chat, "s")
    out = say(chat, "remember to buy eggs")
    assert APPROVE not in out
    assert 'Done, I saved the note "to buy eggs"' in out
    say(chat, "/new")  # a new session does not inherit "allow for session"
    assert "save_note" in say(chat, "remember to buy flour", until=APPROVE)
    say(chat, "n")
    chat.sendline("/exit")
    assert finish(chat) == 0

    again = spawn_chat(tmp_path)  # a new chat process asks again
    assert "save_note" in say(again, "remember to buy bread", until=APPROVE)
    say(again, "n")
    again.sendeof()
    assert finish(again) == 0


def test_history_persists_across_chats_and_new_resets_it(tmp_path: Path) -> None:
    first = spawn_chat(tmp_path, "--session", "cli:work")
    say(first, "hello")
    say(first, "remember to call Ann", until=APPROVE)
    say(first, "y")
    first.sendeof()
    assert finish(first) == 0

    second = spawn_chat(tmp_path, "--session", "cli:work")
    assert "to call Ann" in say(second, "what are my notes?")
    assert user_messages(tmp_path, "cli:work") == [
        "hello",
        "remember to call Ann",
        "what are my notes?",
    ]
    assert "new conversation" in say(second, "/new")
    assert user_messages(tmp_path, "cli:work") == []
    say(second, "think about lunch")
    assert user_messages(tmp_path, "cli:work") == ["think about lunch"]
    second.sendline("/exit")
    assert finish(second) == 0
    assert not note_file(tmp_path).exists()  # another session's notes stay apart
    assert "call Ann" in note_file(tmp_path, "cli:work").read_text(encoding="utf-8")


def test_ctrl_c_cancels_a_running_turn_and_the_chat_goes_on(tmp_path: Path) -> None:
    chat = spawn_chat(tmp_path, config=slow_config(tmp_path, delay=5))
    chat.sendline("are you there?")
    chat.expect_exact("are you there?")  # echoed: the turn is under way
    time.sleep(0.3)
    interrupted = time.monotonic()
    chat.sendintr()
    chat.expect_exact("cancelled")
    assert time.monotonic() - interrupted < 3  # did not wait for the slow model
    chat.expect_exact(PROMPT)
    assert "The slow answer has arrived." in say(chat, "and now?")
    chat.sendline("/exit")
    assert finish(chat) == 0


def test_ctrl_c_at_the_approval_prompt_leaves_it_undecided(tmp_path: Path) -> None:
    chat = spawn_chat(tmp_path)
    say(chat, "remember to buy milk", until=APPROVE)
    chat.sendintr()
    chat.expect_exact("cancelled: save_note was neither approved nor rejected")
    chat.expect_exact(PROMPT)
    assert "offline demo bot" in say(chat, "hello")
    chat.sendeof()
    assert finish(chat) == 0
    assert not note_file(tmp_path).exists()


def test_unknown_command_and_help(tmp_path: Path) -> None:
    chat = spawn_chat(tmp_path)
    assert "unknown command /frobnicate" in say(chat, "/frobnicate")
    assert "/new" in say(chat, "/help")
    chat.sendeof()
    assert finish(chat) == 0


def test_a_provider_error_is_reported_and_the_chat_goes_on(tmp_path: Path) -> None:
    chat = spawn_chat(tmp_path / "ws", config=unreachable_model_config(tmp_path))
    chat.sendline("hello")
    chat.expect_exact("error: ")
    chat.expect_exact(PROMPT)
    assert "Traceback" not in str(chat.before)
    chat.sendline("hello again")
    chat.expect_exact("error: ")
    chat.expect_exact(PROMPT)
    chat.sendline("/exit")
    assert finish(chat) == 0
