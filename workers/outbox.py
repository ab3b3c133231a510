"""Where events go: a session's event stream, and the gateways' outbox when a gateway
renders them.

Every event goes to ``facio:events:{sk}`` (capped, and gone a day after the
session's last event; the HTTP API's SSE replays it) and stamps the session's
last activity (``facio:sessions:activity``). Events of channels a gateway
renders (Telegram, Slack, Discord…) also go to the session's outbox stream
(:func:`workers.keys.outbox_stream`), read by the gateways, rendered, then
acknowledged; events of the API, the terminal and cron sessions do not
(:data:`UNRENDERED`): nobody would read them there. Approval events
(``approval_request``, ``approval_decided``) of every session also go to
``facio:approvals:events``, capped and expiring the same way: the console's
live inbox reads that one stream instead of every session's.

A running turn publishes through its :class:`~workers.publisher.TurnPublisher`
(fenced by the turn's lease, batched with its history writes:
:mod:`workers.turn_writes`, which writes the same keys); a decision or an expiry
is published by the decide script itself (:data:`PUBLISH_LUA`, in
:mod:`workers.decision_effects`); :class:`Outbox` here is for anything else
published outside a turn.
"""

from __future__ import annotations

import json
import time

from redis.asyncio import Redis

from core import wire
from workers import keys, scripts
from workers.outbox_reader import MAX_AGE

OUTBOX_RETENTION = MAX_AGE
"""Seconds an entry stays in the outbox. Trimmed by age, not by count: a count
cap would cut entries a gateway that was down for a while has not read yet
(ten streaming turns fill 10,000 entries in minutes), while an entry older than
this would not be rendered anyway (workers.outbox_reader.MAX_AGE)."""
EVENTS_MAXLEN = 1_000
EVENTS_TTL = 24 * 3600
"""Seconds a session's event stream outlives its last event. It is a replay
buffer for SSE clients that reconnect, not a record (the history is): without
an expiry every idle session would keep up to EVENTS_MAXLEN events (~400 KB)
in Redis for good, ~8× its history after a few turns (docs/benchmarks.md)."""
UNRENDERED = frozenset({"api", "cli", "cron", ""})
"""Channels whose events no gateway renders (their clients read the session's stream)."""
APPROVAL_EVENTS_MAXLEN = 1_000
"""Entries ``facio:approvals:events`` keeps (about): a replay buffer for the
console's reconnects, not a record (decided approvals are indexed apart)."""
APPROVAL_EVENTS = (wire.ApprovalRequestEvent, wire.ApprovalDecidedEvent)


# One event, appended where it goes (see the module docstring); a Lua function so that
# other scripts publish in the same call as what they announce (workers.decision_effects).
# KEYS (from k): session stream, outbox stream ('' when no gateway renders it), approvals
#   feed ('' when it is no approval event), session activity
# ARGV (from a): outbox MINID (ms), now (seconds), session key
PUBLISH_LUA = f"""
local function publish(k, a, event)
  redis.call('XADD', KEYS[k], 'MAXLEN', '~', {EVENTS_MAXLEN}, '*', 'data', event)
  redis.call('EXPIRE', KEYS[k], {EVENTS_TTL})
  if KEYS[k + 1] ~= '' then
    redis.call('XADD', KEYS[k + 1], 'MINID', ARGV[a], '*', 'data', event)
  end
  if KEYS[k + 2] ~= '' then
    redis.call('XADD', KEYS[k + 2], 'MAXLEN', '~', {APPROVAL_EVENTS_MAXLEN}, '*', 'data', event)
    redis.call('EXPIRE', KEYS[k + 2], {EVENTS_TTL})
  end
  redis.call('ZADD', KEYS[k + 3], ARGV[a + 1], ARGV[a + 2])
end
"""
_PUBLISH = PUBLISH_LUA + "publish(1, 1, ARGV[4])\nreturn 1\n"


def publish_call(event: wire.Envelope) -> tuple[list[str], list[str], str]:
    """``publish``'s keys and arguments for ``event``, and the event's JSON."""
    now = time.time()
    rendered = event.channel not in UNRENDERED
    return (
        [
            keys.events(event.session_key),
            keys.outbox_stream(event.session_key) if rendered else "",
            keys.APPROVAL_EVENTS if isinstance(event, APPROVAL_EVENTS) else "",
            keys.SESSION_ACTIVITY,
        ],
        [str(int((now - OUTBOX_RETENTION) * 1000)), repr(now), event.session_key],
        json.dumps(event.to_wire(), ensure_ascii=False),
    )


class Outbox:
    """Appends wire events to the outbox and the session's event stream."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def publish(self, event: wire.Envelope) -> None:
        """Append ``event`` (its :meth:`~core.wire.Envelope.to_wire` JSON) to the session's
        stream, to its outbox stream when a gateway renders its channel, and to the
        approvals feed when it is an approval event: one script call."""
        call_keys, args, data = publish_call(event)
        await scripts.run(self.redis, _PUBLISH, call_keys, [*args, data])
