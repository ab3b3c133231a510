"""Redis key names of the runtime, in one place (see docs/runtime.md, "Redis keys")."""

from __future__ import annotations

import zlib

PREFIX = "facio:"
ACTIVE = PREFIX + "active"
OUTBOX = PREFIX + "outbox"
PENDING_APPROVALS = PREFIX + "approvals:pending"
WAKE_CHANNEL = PREFIX + "wake"
STOP_CHANNEL = PREFIX + "stop"
"""Pub/sub: a session whose running turn was asked to stop (workers.stops)."""
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


OUTBOX_PARTITIONS = 16
"""Outbox streams: a session's events all go to one (``outbox_stream``), so whoever
reads that stream renders them in order (workers.outbox_partitions)."""
GATEWAYS = PREFIX + "gateways"
"""Sorted set: gateway name → its last beat (the live ones share the partitions)."""


def outbox_partition(session_key: str) -> int:
    """Which outbox stream carries ``session_key``'s events (a stable hash of the key)."""
    return zlib.crc32(session_key.encode("utf-8", "surrogatepass")) % OUTBOX_PARTITIONS


def partition_stream(partition: int) -> str:
    """Partition 0 is ``facio:outbox`` itself (what gateways read before partitions)."""
    return OUTBOX if partition == 0 else f"{OUTBOX}:{partition}"


def outbox_stream(session_key: str) -> str:
    """The outbox stream of ``session_key``'s events."""
    return partition_stream(outbox_partition(session_key))


def outbox_lease(partition: int) -> str:
    return f"{OUTBOX}:lease:{partition}"


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


def histver(session_key: str) -> str:
    return f"{PREFIX}histver:{session_key}"


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
