"""Redis key names of the runtime, in one place (see docs/runtime.md, "Redis keys")."""

from __future__ import annotations

PREFIX = "facio:"
ACTIVE = PREFIX + "active"
OUTBOX = PREFIX + "outbox"
PENDING_APPROVALS = PREFIX + "approvals:pending"
WAKE_CHANNEL = PREFIX + "wake"
DEAD_LETTERS = PREFIX + "dead"
"""Inbox items that could not be read, kept for a person to inspect."""
SESSIONS = PREFIX + "sessions"
"""Set of every session key with a stored history (for listing)."""
SESSION_ACTIVITY = PREFIX + "sessions:activity"
"""Zset session key → epoch seconds of its newest event (the console's "last activity")."""
APPROVAL_EVENTS = PREFIX + "approvals:events"
"""Stream of every session's approval events (``approval_request``, ``approval_decided``),
capped and expiring: the console's live inbox (``GET /api/v1/approvals/events``)."""
DECIDED_APPROVALS = PREFIX + "approvals:decided"
"""Zset approval id → when it left ``pending``: the newest decided or expired ones, capped."""
WORKERS = PREFIX + "workers"
"""Zset worker id → epoch seconds of its last heartbeat (workers alive)."""


def seen(channel: str, event_id: str) -> str:
    return f"{PREFIX}seen:{channel}:{event_id}"


def inbox(session_key: str) -> str:
    return f"{PREFIX}inbox:{session_key}"


def sched(session_key: str) -> str:
    return f"{PREFIX}sched:{session_key}"


def lease(session_key: str) -> str:
    return f"{PREFIX}lease:{session_key}"


def history(session_key: str) -> str:
    return f"{PREFIX}history:{session_key}"


def turn(turn_id: str) -> str:
    return f"{PREFIX}turn:{turn_id}"


def perm_always(bot: str) -> str:
    return f"{PREFIX}perm:always:{bot}"


def perm_session(session_key: str) -> str:
    return f"{PREFIX}perm:session:{session_key}"


def approval(approval_id: str) -> str:
    return f"{PREFIX}approval:{approval_id}"


def decided(approval_id: str) -> str:
    return f"{PREFIX}decided:{approval_id}"


def parked(session_key: str) -> str:
    return f"{PREFIX}parked:{session_key}"


def events(session_key: str) -> str:
    return f"{PREFIX}events:{session_key}"


def delivered(idempotency_key: str) -> str:
    return f"{PREFIX}delivered:{idempotency_key}"


def stop(session_key: str) -> str:
    return f"{PREFIX}stop:{session_key}"
