"""Helpers for the Telegram tests: a config on the fake Bot API, a gateway and a worker.

The gateway and the worker are the real ones (``channels.gateway.Gateway``,
an arq worker from ``workers.worker``) on the test Redis; only Telegram is
fake (:mod:`tests.fakes.telegram_server`), reached over loopback HTTP
through ``channels.telegram.apiBase``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from channels.gateway import Gateway
from channels.telegram import TelegramChannel
from core.config import FacioConfig, parse_config
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import user
from tests.integration.runtime.support import Background
from workers import keys

ALICE = user(100, "Alice", "alice")
BOB = user(200, "Bob", "bob")
BOSS = user(300, "Boss", "boss")
MALLORY = user(666, "Mallory", "mallory")
GROUP = -1001
LONG_CODE = "\n".join(f"    total_{i} = compute({i}) + offset  # step {i}" for i in range(45))

SCRIPT: dict[str, Any] = {
    "rules": [
        {"on": "user", "match": r"(?i)\bhello\b", "text": "Hi **there**! Ask me `anything`."},
        {
            "on": "user",
            "match": r"(?i)\blong\b",
            "text": ("Here is a **long** answer. " * 40 + "\n\n") * 2
            + "```python\ndef main():\n"
            + LONG_CODE
            + "\n```\n\n"
            + "The end of a long answer. " * 40,
        },
        {
            "on": "user",
            "match": r"(?i)\bremember (?P<what>.+)",
            "text": "I'll save that as a note.",
            "toolCalls": [{"name": "save_note", "arguments": {"text": "\\g<what>"}}],
        },
        {
            "on": "user",
            "match": r"(?i)\bthink\b",
            "thinking": "Weighing *pros* and cons.",
            "text": "Thought about it.",
        },
        {"on": "user", "match": r"(?i)\bslowly\b", "text": "Finally.", "delay": 30},
        {"on": "tool", "tool": "save_note", "match": r"(?s)^Saved", "text": "Done, saved."},
        {"on": "tool", "match": r"(?s)(?P<r>.*)", "text": "The note was not saved: \\g<r>"},
        {"on": "user", "match": r"(?s)(?P<all>.+)", "text": "You said: \\g<all>"},
    ],
    "chunkSize": 40,
}


def tg_config(
    tmp_path: Path,
    fake: FakeTelegram,
    *,
    agent: dict[str, Any] | None = None,
    script: dict[str, Any] | None = None,
    **telegram: Any,
) -> FacioConfig:
    """The scripted bot with Telegram enabled on ``fake``; ``telegram`` overrides keys."""
    script_path = tmp_path / "tg.json"
    script_path.write_text(json.dumps(script or SCRIPT), encoding="utf-8")
    settings: dict[str, Any] = {
        "enabled": True,
        "token": fake.token,
        "apiBase": fake.url,
        "allowFrom": ["100", "@bob"],
        "approvers": ["@boss"],
        "streamInterval": 0.2,
    }
    settings.update(telegram)
    data = {
        "workspace": "ws",
        "bots": {"main": {"preset": "demo", "model": f"scripted:{script_path}"}},
        "agent": agent or {},
        "channels": {"telegram": settings},
        "gateway": {"apiToken": "t"},
    }
    return parse_config(data, base_dir=tmp_path, env={})


@contextlib.asynccontextmanager
async def running(
    config: FacioConfig, redis_url: str, *, worker: bool = True, **options: Any
) -> AsyncIterator[Gateway]:
    """A gateway (with the Telegram channel) and, unless told not to, a worker.

    ``options`` go to the :class:`Gateway` (``channels=`` a factory, …).
    """
    async with Gateway(config, redis_url, host="127.0.0.1", port=0, **options) as gateway:
        if not worker:
            yield gateway
            return
        async with Background(config, redis_url) as background:
            try:
                yield gateway
            finally:
                await settled(gateway, background)


async def settled(gateway: Gateway, background: Background) -> None:
    """Let the worker's jobs finish before it is stopped.

    arq writes a job's result after the session closed; a cancel landing
    there escapes arq (its ``close`` then raises). A job holding an approval
    is safe to cancel (arq retries it): those are given only a moment.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2.0
    while await gateway.redis.zcard(keys.ACTIVE) and loop.time() < deadline:
        await asyncio.sleep(0.02)
    jobs = [job for job in background.worker.tasks.values() if not job.done()]
    if jobs:
        await asyncio.wait(jobs, timeout=1.0)


def channel_of(gateway: Gateway) -> TelegramChannel:
    found = [c for c in gateway.channels if isinstance(c, TelegramChannel)]
    assert found, "the gateway runs no Telegram channel"
    return found[0]


def texts(fake: FakeTelegram, chat_id: int) -> list[str]:
    """The bot's messages in ``chat_id`` as they read now."""
    return [str(m["text"]) for m in fake.sent(chat_id)]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, callback_data)`` of a message's inline keyboard."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]
