"""Approvals as Block Kit buttons: the card, clicks by the right and the wrong people, expiry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from channels.chat.clicks import EXPIRED, FORBIDDEN, GONE, UNKNOWN_BUTTON
from core.tools.builtin.notes import notes_file
from tests.fakes.slack_server import FakeSlack
from tests.integration.slack.support import card_of, running, slack_config, texts
from workers import keys
from workers.approvals import ApprovalStore

CHOICES = ["approve", "reject", "session", "always"]
_BUTTON = {"type": "button", "text": {"type": "plain_text", "text": "Click"}}


def _buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in card.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def _ephemerals(slack: FakeSlack, user: str) -> list[str]:
    return [e.text for e in slack.ephemerals(user=user)]


async def test_approve_updates_the_card_in_place_and_a_second_click_is_told(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    async with running(slack_config(tmp_path, slack, allow=[alice.id]), redis_url, slack) as gw:
        slack.say(alice, dm, "remember to buy milk")
        card = await slack.until(lambda: card_of(slack, dm.id))
        buttons = _buttons(card)
        assert [b["text"]["text"] for b in buttons] == [
            "✅ Approve",
            "❌ Reject",
            "🔁 Allow for session",
            "♾ Always allow",
        ]
        (approval,) = await ApprovalStore(redis).pending()
        assert [(b["action_id"], b["value"]) for b in buttons] == [
            (f"facio.approval.{c}", approval.approval_id) for c in CHOICES
        ]  # only the id and the choice
        sections = " ".join(b["text"]["text"] for b in card["blocks"] if b["type"] == "section")
        assert "*save_note*" in sections and '"text": "to buy milk"' in sections
        assert texts(slack, dm.id)[0] == "I'll save that as a note."

        click = slack.click(alice, dm, card["ts"], "facio.approval.approve")
        await slack.until(lambda: "Done, saved." in texts(slack, dm.id))
        assert click.acked and click.latency is not None and click.latency < 3
        decided = await slack.until(
            lambda: (
                (m := slack.message(dm.id, card["ts"])).text.endswith("Approved by @alice") and m
            )
        )
        assert not [b for b in decided.blocks if b["type"] == "actions"]  # buttons gone
        assert "save_note" in str(decided.blocks)  # the card still says what ran
        assert decided.versions[-1].via == "chat.update"  # the same message (same ts)
        assert not slack.ephemerals()  # the card says who decided: no extra message

        slack.click(alice, dm, card["ts"], "facio.approval.reject", version=0)  # an old render
        await slack.until(lambda: _ephemerals(slack, alice.id))
        assert _ephemerals(slack, alice.id) == ["Already decided: ✅ Approved by @alice"]
        assert gw.metrics.approval_decisions.value(outcome="decided") == 1
    note = notes_file(tmp_path / "ws", f"slack:{slack.team_id}:{dm.id}")
    assert "to buy milk" in note.read_text()


async def test_a_foreign_click_changes_nothing_and_an_approver_decides(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    bob, boss, mallory = slack.add_user("bob"), slack.add_user("boss"), slack.add_user("mallory")
    general = slack.add_channel("general", members=[bob, boss, mallory])
    config = slack_config(tmp_path, slack, allow=[bob.id, boss.id], approvers=["@boss"])
    async with running(config, redis_url, slack):
        said = slack.say(bob, general, f"<@{slack.bot_user_id}> remember the standup moved")
        card = await slack.until(lambda: card_of(slack, general.id))
        assert card["thread_ts"] == said.ts  # the card is in the thread
        assert "Asked by @bob" in str(card["blocks"])
        slack.click(mallory, general, card["ts"], "facio.approval.approve")
        await slack.until(lambda: _ephemerals(slack, mallory.id))
        assert _ephemerals(slack, mallory.id) == [FORBIDDEN]
        (ephemeral,) = slack.ephemerals(user=mallory.id)
        assert ephemeral.via == "response_url"
        assert [r.status for r in await ApprovalStore(redis).pending()] == ["pending"]
        assert _buttons(slack.sent(general.id, said.ts)[-1])  # still clickable
        slack.click(boss, general, card["ts"], "facio.approval.session")
        await slack.until(lambda: "Done, saved." in texts(slack, general.id, said.ts))
        await slack.until(
            lambda: slack.message(general.id, card["ts"]).text.endswith(
                "Allowed for this session by @boss"
            )
        )
    key = f"slack:{slack.team_id}:{general.id}:{said.ts}"
    assert await redis.smembers(keys.perm_session(key)) == {b"save_note"}


async def test_expired_gone_and_foreign_buttons_are_told_so(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    config = slack_config(
        tmp_path, slack, allow=[alice.id], agent={"approvalTimeout": 1.0, "approvalHold": 30}
    )
    async with running(config, redis_url, slack):
        slack.say(alice, dm, "remember the milk")
        card = await slack.until(lambda: card_of(slack, dm.id))
        await slack.until(lambda: "Expired" in slack.message(dm.id, card["ts"]).text)
        assert not _buttons(slack.message(dm.id, card["ts"]).wire())
        slack.click(alice, dm, card["ts"], "facio.approval.approve", version=0)  # an old render
        await slack.until(lambda: len(_ephemerals(slack, alice.id)) == 1)

        slack.say(alice, dm, "remember the vanished thing")
        second = await slack.until(
            lambda: (c := card_of(slack, dm.id)) is not None and c["ts"] != card["ts"] and c
        )
        (approval,) = await ApprovalStore(redis).pending()
        await redis.delete(keys.approval(approval.approval_id))  # expired out of Redis
        slack.click(alice, dm, second["ts"], "facio.approval.approve")
        await slack.until(lambda: len(_ephemerals(slack, alice.id)) == 2)
        await slack.until(lambda: not _buttons(slack.message(dm.id, second["ts"]).wire()))

        # buttons facio never made: another app's, and one of an approval that never was
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        posted = await client.chat_postMessage(channel=dm.id, text="others", blocks=[{
            "type": "actions", "elements": [
                {**_BUTTON, "action_id": "vote", "value": "yes"},
                {**_BUTTON, "action_id": "facio.approval.approve", "value": "x" * 16},
            ]}])  # fmt: skip
        slack.click(alice, dm, posted["ts"], "vote")
        await slack.until(lambda: len(_ephemerals(slack, alice.id)) == 3)
        slack.click(alice, dm, posted["ts"], "facio.approval.approve")
        await slack.until(lambda: len(_ephemerals(slack, alice.id)) == 4)
    assert _ephemerals(slack, alice.id) == [EXPIRED, GONE, UNKNOWN_BUTTON, GONE]
    assert "save_note" in str(slack.message(dm.id, second["ts"]).blocks)  # its text kept
    assert all(d.acked for d in slack.deliveries("interactive"))


async def test_a_card_clicked_after_a_gateway_restart_still_works(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    config = slack_config(tmp_path, slack, allow=[alice.id], agent={"approvalHold": 0})
    async with running(config, redis_url, slack):
        slack.say(alice, dm, "remember across restarts")
        card = await slack.until(lambda: card_of(slack, dm.id))
    async with running(config, redis_url, slack):  # a new gateway and worker
        slack.click(alice, dm, card["ts"], "facio.approval.always")
        await slack.until(lambda: "Done, saved." in texts(slack, dm.id))
        await slack.until(
            lambda: slack.message(dm.id, card["ts"]).text.endswith("Always allowed by @alice")
        )
    assert await redis.smembers(keys.perm_always("main")) == {b"save_note"}
