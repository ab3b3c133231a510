"""Approvals as buttons: the card, clicks by the right and the wrong people, the 3 s window,
double clicks, expiry, unknown buttons, and a click after a gateway restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from channels.chat.clicks import EXPIRED, FORBIDDEN, GONE, UNKNOWN_BUTTON
from tests.integration.discord_channel.support import (
    World,
    buttons,
    card_of,
    dc_config,
    running,
    texts,
    world,
)
from workers import keys

DEFERRED_UPDATE = 6
EPHEMERAL_MESSAGE = 4
DEFERRED_MESSAGE = 5


@pytest.fixture
def w() -> Iterator[World]:
    with world() as made:
        yield made


def _id(card: dict[str, Any], choice: str) -> str:
    return next(cid for _, cid in buttons(card) if cid.endswith(f":{choice}"))


def _ephemeral(w: World, user_id: int) -> list[str]:
    return [str(m["content"]) for m in w.fake.ephemerals(user_id)]


async def test_approve_edits_the_card_in_place_resumes_the_turn_and_a_second_click_is_told(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w), redis_url):
        fake.push_message(dm, w.alice, "remember to buy milk")
        card = await fake.until(lambda: card_of(fake, dm.id))
        assert [label for label, _ in buttons(card)] == [
            "✅ Approve",
            "❌ Reject",
            "🔁 Allow for session",
            "♾ Always allow",
        ]
        approval_id = _id(card, "approve").split(":")[1]
        assert all(
            len(cid) <= 100 and cid.startswith(f"ap:{approval_id}:") for _, cid in buttons(card)
        )
        assert "**`save_note`**" in card["content"] and '"text": "to buy milk"' in card["content"]
        assert "```json" in card["content"]

        click = fake.click(card, _id(card, "approve"), w.alice)
        answer = await fake.answered(click)
        assert answer.type == DEFERRED_UPDATE and answer.after < 3.0
        await fake.until(lambda: "Done, saved." in texts(fake, dm.id))
        edited = await fake.until(
            lambda: (
                (m := fake.message(int(card["id"])))["content"].endswith("✅ Approved by @alice")
                and m
            )
        )
        assert edited["components"] == []  # no buttons, not even disabled ones
        assert "save_note" in edited["content"]  # the card still says what ran
        assert [v.by for v in fake.history(int(card["id"]))] == ["create", "edit"]  # in place

        again = fake.click(card, _id(card, "reject"), w.alice, force=True)  # an old client
        told = await fake.answered(again)
        assert told.type == EPHEMERAL_MESSAGE
        assert _ephemeral(w, w.alice.id) == ["Already decided: ✅ Approved by @alice"]
    assert fake.message(int(card["id"]))["content"].endswith("✅ Approved by @alice")


async def test_a_foreign_clicker_is_refused_privately_and_an_approver_decides(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    async with running(dc_config(tmp_path, w), redis_url):
        fake.push_message(w.general, w.bob, f"{fake.bot.mention} remember the retro is on Friday")
        card = await fake.until(lambda: card_of(fake, w.general.id))
        assert "Asked by @bob" in card["content"]

        foreign = fake.click(card, _id(card, "approve"), w.mallory)
        refused = await fake.answered(foreign)
        assert refused.type == EPHEMERAL_MESSAGE and refused.data is not None
        assert refused.data["flags"] == 64
        assert _ephemeral(w, w.mallory.id) == [FORBIDDEN]
        assert fake.message(int(card["id"]))["components"]  # the card keeps its buttons

        decided = fake.click(card, _id(card, "session"), w.boss)
        assert (await fake.answered(decided)).type == DEFERRED_UPDATE
        await fake.until(lambda: "Done, saved." in texts(fake, w.general.id))
        await fake.until(
            lambda: fake.message(int(card["id"]))["content"].endswith(
                "✅ Allowed for this session by @boss"
            )
        )
    assert _ephemeral(w, w.mallory.id) == [FORBIDDEN]  # and nothing else went to Mallory


async def test_reject_ends_the_turn_and_says_so(w: World, redis_url: str, tmp_path: Path) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w), redis_url):
        fake.push_message(dm, w.alice, "remember nothing")
        card = await fake.until(lambda: card_of(fake, dm.id))
        fake.click(card, _id(card, "reject"), w.alice)
        await fake.until(
            lambda: fake.message(int(card["id"]))["content"].endswith("❌ Rejected by @alice")
        )
    assert "Done, saved." not in texts(fake, dm.id)
    assert not list((tmp_path / "ws").glob("notes/*"))  # the tool never ran


async def test_an_expired_or_unknown_approval_and_a_foreign_button_are_answered(
    w: World, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w, agent={"approvalHold": 0}), redis_url):
        fake.push_message(dm, w.alice, "remember the expiry")
        card = await fake.until(lambda: card_of(fake, dm.id))
        approval_id = _id(card, "approve").split(":")[1]
        await redis.hset(keys.approval(approval_id), "expires_at", "1")  # type: ignore[misc]
        expired = fake.click(card, _id(card, "approve"), w.alice)
        await fake.answered(expired)
        assert _ephemeral(w, w.alice.id) == [EXPIRED]

        fake.push_message(dm, w.alice, "remember the gone one")
        second = await fake.until(
            lambda: (c := card_of(fake, dm.id)) is not None and c["id"] != card["id"] and c
        )
        await redis.delete(keys.approval(_id(second, "approve").split(":")[1]))
        gone = fake.click(second, _id(second, "approve"), w.alice)
        await fake.answered(gone)
        await fake.until(lambda: GONE in _ephemeral(w, w.alice.id))
        # nothing else will ever edit a card whose approval is gone: its buttons go now
        await fake.until(lambda: fake.message(int(second["id"]))["components"] == [])

        strange = fake.push_message(dm, w.alice, "a message with a foreign button")
        odd = fake.click(_with_button(strange, "poll:1:yes"), "poll:1:yes", w.alice, force=True)
        await fake.answered(odd)
        assert UNKNOWN_BUTTON in _ephemeral(w, w.alice.id)


def _with_button(message: dict[str, Any], custom_id: str) -> dict[str, Any]:
    row = {"type": 1, "components": [{"type": 2, "style": 1, "label": "x", "custom_id": custom_id}]}
    return {**message, "components": [row]}


async def test_a_click_is_acknowledged_in_time_even_when_the_decision_is_late(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w), redis_url, click_deadline=0.0):
        fake.push_message(dm, w.alice, "remember it later")
        card = await fake.until(lambda: card_of(fake, dm.id))
        click = fake.click(card, _id(card, "approve"), w.alice)
        first = await fake.answered(click)
        assert first.type == DEFERRED_MESSAGE and first.data == {"flags": 64}
        await fake.until(lambda: "Approved: it runs once." in _ephemeral(w, w.alice.id))
        await fake.until(lambda: "Done, saved." in texts(fake, dm.id))


async def test_a_card_sent_before_a_restart_still_takes_its_click(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    config = dc_config(tmp_path, w, agent={"approvalHold": 0})  # parked: no worker holds it
    async with running(config, redis_url):
        fake.push_message(dm, w.alice, "remember across a restart")
        card = await fake.until(lambda: card_of(fake, dm.id))
    async with running(config, redis_url):
        click = fake.click(card, _id(card, "approve"), w.alice)
        assert (await fake.answered(click)).type == DEFERRED_UPDATE
        await fake.until(lambda: "Done, saved." in texts(fake, dm.id))
        await fake.until(
            lambda: fake.message(int(card["id"]))["content"].endswith("✅ Approved by @alice")
        )
    assert len(fake.identifies()) == 2
