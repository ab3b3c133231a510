"""A turn's writes to Redis: fenced by its lease, batched into one script call.

Everything a running turn writes — the messages it adds to the session's
history, the fields of its turn hash, the events it publishes — goes through
one :class:`TurnWriter` and lands with one ``TURN_WRITE`` script call per
batch, atomically, and only while the worker still holds the session's lease.
A worker paused past its lease (SIGSTOP, a long GC, a VM migration) while
another took the session over can therefore neither add to the history nor
publish: its write is refused (:class:`LeaseLost`) and the turn stops
(docs/design.md rule 1: a session is processed by at most one worker).

A new approval record is stored by the same call as the ``approval_request``
event that shows it (and the turn-hash field that lets a retried step find
it again): a worker killed between storing the record and publishing it left
a pending approval that nobody had been asked, that the retry never found
(it asked the model again, and so made a new one) and that stayed "pending"
in the API and the console until it expired.

Batching: a model's answer (an assistant message) is not written on its own
but with the event that follows it (its ``response``), in one call; messages
that come before a side effect (a tool call marked started, a tool's result)
are written at once. A crash before such a batch lands loses only a model
answer, which the retried turn asks for again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from core import wire
from core.errors import FacioError
from core.messages import Message, message_to_json
from workers import keys
from workers.approval_record import ApprovalRecord
from workers.approvals import stored_record
from workers.inbox import job_key
from workers.outbox import (
    APPROVAL_EVENTS,
    APPROVAL_EVENTS_MAXLEN,
    EVENTS_MAXLEN,
    EVENTS_TTL,
    OUTBOX_RETENTION,
    UNRENDERED,
)
from workers.scripts import POP_NEXT
from workers.turn_state import TURN_TTL

__all__ = ["RENEW_AFTER", "LeaseLost", "PopNext", "TurnWriter"]

RENEW_AFTER = 60.0
"""Seconds after which a turn's end renews what its start set (the event stream's
expiry, the session's last activity): a turn shorter than that leaves them as its
start set them (a day's expiry; the activity to the minute)."""

# KEYS: lease, history, sessions, turn, events, outbox ('' for none), session activity,
#       approvals feed, pending approvals, the parked flag, inbox, sched, active, stop,
#       the drain job's payload ('' unless the turn ends), then one approval hash per new
#       record
# ARGV: owner, session_key, the batch as JSON, then (to end the turn: NEXT's step) the
#       inbox item the turn ran:
#   {"items": [...], "new": bool, "set": {..}, "del": [..], "events": [...], "expire": bool,
#    "unpark": bool,
#    "minid": "ms", "feed": [approval events...], "now": seconds,
#    "approvals": [{"fields": {..}, "gone_ms": "..", "expires": "..", "id": ".."}]}
# → 1 written, 0 the lease is not this owner's (nothing written); ending the turn:
#   NEXT's reply (workers.scripts), the writes made
TURN_WRITE = (
    POP_NEXT
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local batch = cjson.decode(ARGV[3])
if #batch.items > 0 then
  redis.call('RPUSH', KEYS[2], unpack(batch.items))
  if batch.new then redis.call('SADD', KEYS[3], ARGV[2]) end
end
local fields = {}
for name, value in pairs(batch.set) do
  fields[#fields + 1] = name
  fields[#fields + 1] = value
end
if #fields > 0 then
  redis.call('HSET', KEYS[4], unpack(fields))
  redis.call('EXPIRE', KEYS[4], tonumber(batch.turn_ttl))
end
if #batch.del > 0 then redis.call('HDEL', KEYS[4], unpack(batch.del)) end
for _, event in ipairs(batch.events) do
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', batch.maxlen, '*', 'data', event)
  if KEYS[6] ~= '' then
    redis.call('XADD', KEYS[6], 'MINID', batch.minid, '*', 'data', event)
  end
end
if batch.expire and #batch.events > 0 then
  redis.call('EXPIRE', KEYS[5], tonumber(batch.events_ttl))
  redis.call('ZADD', KEYS[7], batch.now, ARGV[2])
end
for _, event in ipairs(batch.feed) do
  redis.call('XADD', KEYS[8], 'MAXLEN', '~', batch.feed_maxlen, '*', 'data', event)
end
if #batch.feed > 0 then redis.call('EXPIRE', KEYS[8], tonumber(batch.events_ttl)) end
if batch.unpark then redis.call('DEL', KEYS[10]) end
for i, approval in ipairs(batch.approvals) do
  local record = {}
  for name, value in pairs(approval.fields) do
    record[#record + 1] = name
    record[#record + 1] = value
  end
  redis.call('HSET', KEYS[15 + i], unpack(record))
  redis.call('PEXPIREAT', KEYS[15 + i], approval.gone_ms)
  redis.call('ZADD', KEYS[9], approval.expires, approval.id)
end
if ARGV[4] then
  return pop_next(KEYS[1], KEYS[11], KEYS[12], KEYS[13], KEYS[10], KEYS[14], KEYS[15], ARGV[4],
    ARGV[2])
end
return 1
"""
)


class LeaseLost(FacioError):
    """The session's lease is no longer this worker's: nothing of the turn was written."""


@dataclass
class PopNext:
    """A drainer's request to a turn: when it ends normally, pop ``item`` (the inbox
    entry it ran) and read the next one, or close the session, with its last write
    (``NEXT``'s step in the same call, a round trip fewer per turn)."""

    item: str
    job_id: str
    sent: bool = False
    """The last write is on its way: let it land (stopping the turn now would leave
    the drainer unsure whether the turn left the inbox)."""
    reply: list[Any] | None = None
    """NEXT's reply, once the write landed."""
    read_at: float = 0.0
    """``time.monotonic()`` before the call (when the next turn's stop key was read)."""


@dataclass
class _Batch:
    items: list[str] = field(default_factory=list)
    new: bool = False
    set: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    feed: list[str] = field(default_factory=list)
    """The approval events among ``events`` (the console's feed)."""
    expire: bool = False
    unpark: bool = False
    approvals: list[ApprovalRecord] = field(default_factory=list)

    def empty(self) -> bool:
        return not (
            self.items or self.set or self.delete or self.events or self.approvals or self.unpark
        )


class TurnWriter:
    """The writes of one turn (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        session_key: str,
        turn_id: str,
        holder: str,
        channel: str,
        *,
        length: int,
    ) -> None:
        """``length``: the history's length as the turn found it (its first message makes
        the session known to the index of sessions)."""
        self.redis = redis
        self.session_key = session_key
        self.turn_id = turn_id
        self.holder = holder
        self.rendered = channel not in UNRENDERED
        self.length = length
        self.writes = 0
        """Script calls made (benchmarks, tests)."""
        self._batch = _Batch()
        self._pop: PopNext | None = None
        self._events_expired = False
        self._renewed_at = 0.0

    def add_messages(self, messages: Sequence[Message]) -> None:
        """Queue messages for the history (written with the next :meth:`flush`)."""
        if not messages:
            return
        if self.length == 0 and not self._batch.items:
            self._batch.new = True
        self._batch.items.extend(message_to_json(m) for m in messages)
        self.length += len(messages)

    def set_fields(self, **fields: str) -> None:
        self._batch.set.update(fields)

    def delete_fields(self, *names: str) -> None:
        self._batch.delete.extend(names)

    def unpark(self) -> None:
        """Clear the session's parked flag (a parked turn resumes) with the next write."""
        self._batch.unpark = True

    def pop_after(self, pop: PopNext) -> None:
        """End the turn with the next :meth:`flush` (see :class:`PopNext`)."""
        self._pop = pop

    def add_approval(self, record: ApprovalRecord) -> None:
        """Queue a new pending approval record: stored by the next :meth:`flush`, the one
        that publishes the ``approval_request`` showing it (see the module docstring)."""
        self._batch.approvals.append(record)

    def add_event(self, event: wire.Envelope, *, last: bool = False) -> None:
        """Queue an event; the session's stream expiry and its last activity are renewed
        with the turn's first event and with ``last`` (its end) when that comes more
        than :data:`RENEW_AFTER` seconds later, not with every one."""
        data = json.dumps(event.to_wire(), ensure_ascii=False)
        self._batch.events.append(data)
        if isinstance(event, APPROVAL_EVENTS):
            self._batch.feed.append(data)
        now = time.monotonic()
        if not self._events_expired or (last and now - self._renewed_at > RENEW_AFTER):
            self._batch.expire = True
            self._events_expired = True
            self._renewed_at = now

    @property
    def pending(self) -> bool:
        return not self._batch.empty()

    async def flush(self) -> None:
        """Write what is queued, in one call; :class:`LeaseLost` (nothing written) when
        the lease is not this turn's any more."""
        batch, self._batch = self._batch, _Batch()
        pop, self._pop = self._pop, None
        if batch.empty() and pop is None:
            return
        sk = self.session_key
        args = {
            "items": batch.items,
            "new": batch.new,
            "set": batch.set,
            "del": batch.delete,
            "events": batch.events,
            "expire": batch.expire,
            "unpark": batch.unpark,
            "turn_ttl": TURN_TTL,
            "events_ttl": EVENTS_TTL,
            "maxlen": EVENTS_MAXLEN,
            "minid": str(int((time.time() - OUTBOX_RETENTION) * 1000)),
            "feed": batch.feed,
            "feed_maxlen": APPROVAL_EVENTS_MAXLEN,
            "now": time.time(),
            "approvals": [_stored(record) for record in batch.approvals],
        }
        outbox = keys.outbox_stream(sk) if self.rendered else ""
        script_keys = [
            keys.lease(sk),
            keys.history(sk),
            keys.SESSIONS,
            keys.turn(self.turn_id),
            keys.events(sk),
            outbox,
            keys.SESSION_ACTIVITY,
            keys.APPROVAL_EVENTS,
            keys.PENDING_APPROVALS,
            keys.parked(sk),
            keys.inbox(sk),
            keys.sched(sk),
            keys.ACTIVE,
            keys.stop(sk),
            job_key(pop.job_id) if pop is not None else "",
            *(keys.approval(record.approval_id) for record in batch.approvals),
        ]
        batch_json = json.dumps(args, ensure_ascii=False, separators=(",", ":"))
        script_args = [self.holder, sk, batch_json]
        if pop is not None:
            script_args.append(pop.item)
            pop.sent, pop.read_at = True, time.monotonic()
        written = await self.redis.register_script(TURN_WRITE)(keys=script_keys, args=script_args)
        self.writes += 1
        if written == 0:
            raise LeaseLost(f"the lease of {sk} is no longer this worker's; the turn stops")
        if pop is not None:
            pop.reply = list(written)


def _stored(record: ApprovalRecord) -> dict[str, Any]:
    """A new record as the script stores it (what :meth:`ApprovalStore.create` writes)."""
    fields, gone_ms = stored_record(record)
    return {
        "fields": fields,
        "gone_ms": str(gone_ms),
        "expires": repr(record.expires_at),
        "id": record.approval_id,
    }
