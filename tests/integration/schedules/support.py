"""Helpers for the schedule tests: a config, a queue that records drain jobs, a start time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.config import FacioConfig, parse_config
from core.inbound import Inbound

T0 = int(datetime(2026, 1, 5, 7, 59, 0, tzinfo=UTC).timestamp())
"""A Monday, one minute before 8:00 UTC: where the manual clocks start."""


def schedules_config(
    tmp_path: Path,
    *,
    cron: list[dict[str, Any]] | None = None,
    schedules: dict[str, Any] | None = None,
    **extra: Any,
) -> FacioConfig:
    data: dict[str, Any] = {
        "workspace": "ws",
        "bots": {"main": {"preset": "demo"}},
        "cron": cron or [],
        "schedules": schedules or {},
        **extra,
    }
    return parse_config(data, base_dir=tmp_path, env={})


class RecordingQueue:
    """A job queue that only remembers the drain jobs it was asked to start."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, str]] = []

    async def enqueue_drain(self, session_key: str, job_id: str) -> None:
        self.jobs.append((session_key, job_id))

    def stage(self, session_key: str, job_id: str) -> None:
        """No job for the script to write: :meth:`enqueue_drain` is called after it."""
        return None


def chat(session: str = "telegram:-1001:topic:7", user: str = "100", **extra: Any) -> Inbound:
    """A person's message in a Telegram forum topic: the origin of a schedule."""
    fields: dict[str, Any] = {
        "channel": "telegram",
        "session_key": session,
        "user_id": user,
        "user_name": "Alice",
        "text": "remind me",
        "reply_to": {"chat_id": "-1001", "thread_id": "7", "chat_type": "supergroup"},
        "approvers": ("@boss",),
    }
    fields.update(extra)
    return Inbound(**fields)
