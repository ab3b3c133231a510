"""Approvals as inline buttons: the card, clicks by the right and the wrong people, expiry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from channels.chat.cards import STOPPED_LINE
from channels.chat.clicks import EXPIRED, FORBIDDEN, GONE, UNKNOWN_BUTTON
from core.tools.builtin.notes import notes_file
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import callback, group_chat, message_update
from tests.integration.telegram.support import (
    ALICE,
    BOB,
    BOSS,
    GROUP,
    MALLORY,
    buttons,
    running,
    texts,
    tg_config,
)
from workers import keys
from workers.approvals import ApprovalStore


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def _card(tg: FakeTelegram, chat_id: int) -> dict[str, object] | None:
    cards = [m for m in tg.sent(chat_id) if "Approval needed" in str(m["text"])]
    return cards[-1] if cards else None


def _data(card: dict[str, object], label: str) -> str:
    return next(data for text, data in buttons(card) if label in text)


async def _answer(tg: FakeTelegram, count: int) -> str:
    answers = await tg.until(lambda: tg.answers() if len(tg.answers()) >= count else None)
    return str(answers[count - 1].get("text", ""))


async def test_approve_edits_the_card_resumes_the_turn_and_a_second_click_is_told(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url) as gateway:
        tg.push(message_update(ALICE, "remember to buy milk"))
        card = await tg.until(lambda: _card(tg, 100))
        assert [label for label, _ in buttons(card)] == [
            "✅ Approve",
            "❌ Reject",
            "🔁 Allow for session",
            "♾ Always allow",
        ]
        approval_id = _data(card, "Approve").split(":")[1]
        assert all(
            len(data.encode()) <= 64 and data.startswith(f"ap:{approval_id}:")
            for _, data in buttons(card)
        )
        assert "save_note" in str(card["text"]) and '"text": "to buy milk"' in str(card["text"])
        assert {"type": "pre", "language": "json"}.items() <= card["entities"][1].items()  # type: ignore[index]
        assert texts(tg, 100)[0] == "I'll save that as a note."  # the step's text came first

        tg.click(ALICE, 100, int(card["message_id"]), _data(card, "Approve"))  # type: ignore[call-overload]
        assert await _answer(tg, 1) == "Approved: it runs once."
        await tg.until(lambda: "Done, saved." in texts(tg, 100))
        edited = tg.message(100, int(card["message_id"]))  # type: ignore[call-overload]
        assert str(edited["text"]).endswith("✅ Approved by @alice")
        assert "reply_markup" not in edited  # the buttons are gone
        assert "save_note" in str(edited["text"])  # the card still says what ran

        tg.click(ALICE, 100, int(card["message_id"]), _data(card, "Reject"))  # type: ignore[call-overload]
        assert await _answer(tg, 2) == "Already decided: ✅ Approved by @alice"
        # clicks are counted like API decisions: one decided (and timed), one too late
        metrics = gateway.metrics
        assert metrics.approval_decisions.value(outcome="decided") == 1
        assert metrics.approval_decisions.value(outcome="already_decided") == 1
        assert "facio_approval_latency_seconds_count 1" in metrics.render()
    note = notes_file(tmp_path / "ws", "telegram:100")
    assert "to buy milk" in note.read_text()


async def test_a_foreign_click_changes_nothing_then_the_owner_rejects(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(message_update(ALICE, "remember the password is hunter2"))
        card = await tg.until(lambda: _card(tg, 100))
        message_id = int(card["message_id"])  # type: ignore[call-overload]
        tg.click(MALLORY, 100, message_id, _data(card, "Approve"))
        assert await _answer(tg, 1) == FORBIDDEN
        assert [r.status for r in await ApprovalStore(redis).pending()] == ["pending"]
        assert buttons(tg.message(100, message_id))  # still clickable
        tg.push(callback(MALLORY, tg.message(100, message_id), "not-a-card"))
        assert await _answer(tg, 2) == UNKNOWN_BUTTON
        tg.click(ALICE, 100, message_id, _data(card, "Reject"))
        assert await _answer(tg, 3) == "Rejected."
        edited = await tg.until(
            lambda: str(tg.message(100, message_id)["text"]).endswith("❌ Rejected by @alice")
        )
        assert edited
    assert not notes_file(tmp_path / "ws", "telegram:100").exists()


async def test_in_a_group_an_approver_decides_for_someone_else(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    group = group_chat(GROUP)
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(message_update(BOB, "@facio_test_bot remember the standup moved", chat=group))
        card = await tg.until(lambda: _card(tg, GROUP))
        assert "Asked by @bob" in str(card["text"])
        message_id = int(card["message_id"])  # type: ignore[call-overload]
        tg.click(ALICE, GROUP, message_id, _data(card, "session"))  # allowed to talk, not to decide
        assert await _answer(tg, 1) == FORBIDDEN
        tg.click(BOSS, GROUP, message_id, _data(card, "session"))
        assert await _answer(tg, 2) == "Allowed for the rest of this session."
        await tg.until(
            lambda: str(tg.message(GROUP, message_id)["text"]).endswith(
                "✅ Allowed for this session by @boss"
            )
        )
        await tg.until(lambda: "Done, saved." in texts(tg, GROUP))
    sent = [c.params for c in tg.calls("sendMessage") if c.params["chat_id"] == GROUP]
    assert all(p["reply_parameters"]["message_id"] for p in sent)  # the card is in the group
    assert await redis.smembers(keys.perm_session(f"telegram:{GROUP}")) == {b"save_note"}


async def test_an_expired_approval_edits_its_card_and_late_clicks_are_told(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = tg_config(tmp_path, tg, agent={"approvalTimeout": 1.0, "approvalHold": 30})
    async with running(config, redis_url):
        tg.push(message_update(ALICE, "remember the milk"))
        card = await tg.until(lambda: _card(tg, 100))
        message_id = int(card["message_id"])  # type: ignore[call-overload]
        await tg.until(
            lambda: str(tg.message(100, message_id)["text"]).endswith(
                "⌛ Expired: nobody decided in time, so it was not run."
            )
        )
        assert "reply_markup" not in tg.message(100, message_id)
        tg.click(ALICE, 100, message_id, _data(card, "Approve"))
        assert await _answer(tg, 1) == EXPIRED


async def test_a_button_whose_approval_is_gone_loses_its_buttons(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(message_update(ALICE, "remember the vanished thing"))
        card = await tg.until(lambda: _card(tg, 100))
        approval_id = _data(card, "Approve").split(":")[1]
        await redis.delete(keys.approval(approval_id))  # the record expired out of Redis
        message_id = int(card["message_id"])  # type: ignore[call-overload]
        tg.click(ALICE, 100, message_id, _data(card, "Approve"))
        assert await _answer(tg, 1) == GONE
        await tg.until(lambda: "reply_markup" not in tg.message(100, message_id))
        tg.click(ALICE, 100, message_id, f"ap:{'x' * 16}:approve")  # never existed
        assert await _answer(tg, 2) == GONE


async def test_the_card_is_found_after_a_gateway_restart(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = tg_config(tmp_path, tg, agent={"approvalHold": 0})  # parks at once
    async with running(config, redis_url):
        tg.push(message_update(ALICE, "remember across restarts"))
        card = await tg.until(lambda: _card(tg, 100))
    message_id = int(card["message_id"])  # type: ignore[call-overload]
    saved = json.loads(json.dumps(tg.message(100, message_id)))
    assert buttons(saved)
    async with running(config, redis_url):  # a new gateway and worker
        tg.click(ALICE, 100, message_id, _data(card, "Always"))
        assert await _answer(tg, 1) == "Always allowed from now on."
        await tg.until(
            lambda: str(tg.message(100, message_id)["text"]).endswith("✅ Always allowed by @alice")
        )
        await tg.until(lambda: "Done, saved." in texts(tg, 100))
    assert await redis.smembers(keys.perm_always("main")) == {b"save_note"}


async def test_a_decision_over_the_api_shows_on_the_card_as_such(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url) as gateway:
        tg.push(message_update(ALICE, "remember the operator"))
        card = await tg.until(lambda: _card(tg, 100))
        approval_id = _data(card, "Approve").split(":")[1]
        url = f"{gateway.url}/api/v1/approvals/{approval_id}"
        headers = {"Authorization": "Bearer t"}
        async with (
            aiohttp.ClientSession() as client,
            client.post(url, json={"decision": "approve"}, headers=headers) as reply,
        ):
            assert reply.status == 200
        message_id = int(card["message_id"])  # type: ignore[call-overload]
        await tg.until(
            lambda: str(tg.message(100, message_id)["text"]).endswith("✅ Approved via the API")
        )
        await tg.until(lambda: "Done, saved." in texts(tg, 100))
        tg.click(ALICE, 100, message_id, _data(card, "Reject"))
        assert await _answer(tg, 1) == "Already decided: ✅ Approved via the API"


async def test_stop_while_a_card_waits_says_stopped_on_the_card_and_to_a_late_click(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(message_update(ALICE, "remember to stop"))
        card = await tg.until(lambda: _card(tg, 100))
        message_id = int(card["message_id"])  # type: ignore[call-overload]
        tg.push(message_update(ALICE, "/stop"))
        await tg.until(lambda: "⏹ Stopped." in texts(tg, 100))
        await tg.until(lambda: "reply_markup" not in tg.message(100, message_id))
        edited = tg.message(100, message_id)
        assert str(edited["text"]).endswith(STOPPED_LINE)
        tg.click(ALICE, 100, message_id, _data(card, "Approve"))
        assert await _answer(tg, 1) == "Already decided: " + STOPPED_LINE
    assert not notes_file(tmp_path / "ws", "telegram:100").exists()


async def test_a_card_of_long_emoji_arguments_shows_them_and_its_decision(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(message_update(ALICE, "remember " + "😀" * 2040))  # 4,089 units: one message
        card = await tg.until(lambda: _card(tg, 100))
        assert "😀😀😀" in str(card["text"])  # the arguments are on the card, not cut away
        message_id = int(card["message_id"])  # type: ignore[call-overload]
        tg.click(ALICE, 100, message_id, _data(card, "Approve"))
        assert await _answer(tg, 1) == "Approved: it runs once."
        await tg.until(lambda: "Done, saved." in texts(tg, 100))
        await tg.until(lambda: "reply_markup" not in tg.message(100, message_id))
        edited = tg.message(100, message_id)
        assert str(edited["text"]).endswith("✅ Approved by @alice")
