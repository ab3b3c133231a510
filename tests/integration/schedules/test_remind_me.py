"""The "remind me" flow end to end: asked in a Telegram forum topic, approved with the card's
button, made by the agent's tool, fired by the worker, delivered into the same topic.

And a session nobody watches (``cron:<job>``): its approvals wait for the operator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from core.config import FacioConfig, parse_config
from core.tools.builtin.notes import notes_file
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import group_chat, message_update
from tests.integration.runtime.support import Background, wait_for
from tests.integration.telegram.support import ALICE, BOSS, GROUP, buttons, running, texts
from workers.approval_record import SCHEDULER_USER, DecideOutcome, Decision
from workers.approvals import ApprovalStore
from workers.decisions import decide
from workers.queue import ArqJobQueue
from workers.schedules import Origin, ScheduleStore, timing_of
from workers.worker import connect

SCRIPT: dict[str, Any] = {
    "rules": [
        {
            "on": "user",
            "match": r"remind me in (?P<n>\d+) seconds? to (?P<what>.+)",
            "text": "I'll set that up.",
            "toolCalls": [
                {
                    "name": "schedule_create",
                    "arguments": {
                        "prompt": "Remind the person to \\g<what>",
                        "in_seconds": "\\g<n>",
                    },
                }
            ],
        },
        {"on": "user", "match": r"^Remind the person to (?P<what>.+)", "text": "⏰ \\g<what>!"},
        {
            "on": "user",
            "match": r"^Write the nightly note",
            "text": "Saving.",
            "toolCalls": [{"name": "save_note", "arguments": {"text": "nightly"}}],
        },
        {
            "on": "tool",
            "tool": "schedule_create",
            "match": r"^Scheduled (?P<id>s[0-9a-f]+)",
            "text": "Reminder \\g<id> is set.",
        },
        {"on": "tool", "match": r"(?s)(?P<r>.*)", "text": "Tool said: \\g<r>"},
    ],
    "fallback": "?",
}
TOOLS = ["save_note", "schedule_create", "schedule_list", "schedule_cancel"]


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def _config(tmp_path: Path, telegram: dict[str, Any] | None = None) -> FacioConfig:
    script = tmp_path / "remind.json"
    script.write_text(json.dumps(SCRIPT))
    data: dict[str, Any] = {
        "workspace": "ws",
        "timezone": "Europe/Berlin",
        "bots": {
            "main": {"model": f"scripted:{script}", "tools": TOOLS, "allow": ["schedule_list"]}
        },
        "gateway": {"apiToken": "t"},
    }
    if telegram is not None:
        data["channels"] = {"telegram": telegram}
    return parse_config(data, base_dir=tmp_path, env={})


def _card(tg: FakeTelegram) -> dict[str, Any] | None:
    cards = [m for m in tg.sent(GROUP) if "Approval needed" in str(m["text"])]
    return cards[-1] if cards else None


async def test_a_reminder_asked_in_a_topic_is_approved_made_and_delivered_into_that_topic(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    telegram = {
        "enabled": True,
        "token": tg.token,
        "apiBase": tg.url,
        "allowFrom": ["100"],
        "approvers": ["@boss"],
        "groupPolicy": "open",
    }
    config = _config(tmp_path, telegram)
    forum = group_chat(GROUP, forum=True)
    topic = f"telegram:{GROUP}:topic:7"
    async with running(config, redis_url):
        tg.push(
            message_update(
                ALICE, "remind me in 1 second to call Ann", chat=forum, thread_id=7, topic=True
            )
        )
        card = await tg.until(lambda: _card(tg))
        assert "schedule_create" in str(card["text"])  # deny by default: it asks first
        assert card["message_thread_id"] == 7
        approve = next(data for label, data in buttons(card) if "Approve" in label)
        tg.click(ALICE, GROUP, int(card["message_id"]), approve)

        set_up = await tg.until(lambda: [t for t in texts(tg, GROUP) if t.startswith("Reminder s")])
        schedule_id = set_up[0].split()[1]
        reminder = await tg.until(
            lambda: [m for m in tg.sent(GROUP) if m["text"] == "⏰ call Ann!"]
        )

    assert reminder[0]["message_thread_id"] == 7  # delivered into the topic it was asked in
    delivered = [c.params for c in tg.calls("sendMessage") if c.params["text"] == "⏰ call Ann!"]
    assert [p.get("message_thread_id") for p in delivered] == [7]
    started = [e for e in await wait_for(redis, "turn_started", 2) if e.get("schedule_id")]
    assert [(e["schedule_id"], e["session_key"], e["user_id"]) for e in started] == [
        (schedule_id, topic, "100")  # Alice's turn: she decides its approvals
    ]
    assert started[0]["reply_to"]["thread_id"] == "7"
    assert await ScheduleStore(redis, config).get(schedule_id) is None  # a one-shot: done


async def test_in_a_session_nobody_watches_only_the_operator_decides(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    store = ScheduleStore(redis, config)
    await store.create(
        session_key="cron:nightly",
        prompt="Write the nightly note.",
        timing=timing_of(config, store.clock.now(), in_seconds=1),
        source="api",
        created_by="api",
        origin=Origin(channel="cron"),
    )
    pool = await connect(redis_url)
    approvals = ApprovalStore(pool)
    async with Background(config, redis_url):
        [request] = await wait_for(redis, "approval_request", timeout=15)
        approval_id = request["approval_id"]
        record = await approvals.get(approval_id)
        assert record is not None and record.deciders == ()  # no person: the operator only
        for someone in (SCHEDULER_USER, "100", BOSS["username"]):
            refused = await approvals.decide(approval_id, Decision.APPROVE, someone)
            assert refused.outcome is DecideOutcome.FORBIDDEN
        queue = ArqJobQueue(pool)
        decided = await decide(
            approvals, queue, approval_id, Decision.APPROVE, "api", operator=True
        )
        assert decided.decided
        finished = await wait_for(redis, "turn_finished", timeout=15)
    assert finished[0]["session_key"] == "cron:nightly"
    assert notes_file(tmp_path / "ws", "cron:nightly").read_text() == "- nightly\n"
    await pool.aclose()
