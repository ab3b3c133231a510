"""Durable approvals in Redis: create, decide (first valid decision wins), wait, expire.

The record lives at ``keys.approval(id)`` (a hash, see
:class:`~workers.approval_record.ApprovalRecord`); while it is pending its id
is in ``keys.PENDING_APPROVALS`` scored by ``expires_at``. Deciding and
expiring go through one Lua script, so a decision and an expiry, or two
clicks, can never both win (docs/design.md rule 3). The script reads the Redis
server's clock (``TIME``), so every gateway and worker judges expiry by the
same clock; ``created_at``/``expires_at`` come from the creator's clock, which
is fine as long as host clocks agree to within seconds against timeouts of
minutes.

When a record leaves ``pending`` the script pushes one item (the decision, or
``"expired"``) on ``keys.decided(id)``. A holder blocks on that list to wake
in milliseconds (docs/runtime.md "Approvals"); the hash stays the source of
truth, the list is only the doorbell. It also indexes the id in
``keys.DECIDED_APPROVALS`` (the newest ``DECIDED_INDEX_SIZE``), so decided
approvals can be listed, newest first (:meth:`ApprovalStore.decided`).

Requires Redis >= 6.2 (``BLMOVE``, fractional block timeouts); the embedded
server is 6.2.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import redis.asyncio as aioredis

from workers import keys
from workers.approval_record import (
    ApprovalRecord,
    DecideOutcome,
    DecideResult,
    Decision,
)
from workers.decision_effects import EFFECTS_LUA, Effects

__all__ = [
    "DECIDED_INDEX_SIZE",
    "DECIDED_SIGNAL_TTL",
    "RECORD_RETENTION",
    "ApprovalStore",
    "stored_record",
]

RECORD_RETENTION = 7 * 24 * 3600
"""Seconds a record stays after ``expires_at``: inspectable after the decision, then gone."""

DECIDED_INDEX_SIZE = 500
"""How many of the newest decided (or expired) approvals ``keys.DECIDED_APPROVALS``
indexes, for the console's history; older records stay readable by id until
their retention ends, they are just not listed."""

DECIDED_SIGNAL_TTL = 3600
"""Seconds the ``decided:{id}`` doorbell lives. A waiter reads the hash before it
blocks, so the doorbell only has to outlive that read; an hour is generous."""

# One script for deciding and for expiring, so both take the same path.
# KEYS: approval hash, pending zset, decided list, index of decided approvals, then the
#       change's effects when the caller gives them (workers.decision_effects).
# ARGV: approval id, decision ("" = only expire if due), user id,
#       operator ("1"/"0"), decided-list TTL, how many decided ones the index keeps,
#       then the effects'.
# Returns {code, HGETALL-of-the-record-after, resumed} with code one of: not_found,
# expired_now (this call expired it), expired (it already was),
# already_decided, forbidden, decided, unchanged (expire-only mode, not due); resumed
# is 1 when the change's effects scheduled its parked turn.
_DECIDE_LUA = (
    EFFECTS_LUA
    + """
local rkey, pkey, dkey, hkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, decision, user, operator, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local keep = tonumber(ARGV[6])

if redis.call('EXISTS', rkey) == 0 then
  redis.call('ZREM', pkey, id)  -- a vanished record must not linger in the index
  return {'not_found', {}, 0}
end

local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000

local function ring(item)
  redis.call('ZREM', pkey, id)
  redis.call('LPUSH', dkey, item)
  redis.call('EXPIRE', dkey, ttl)
  redis.call('ZADD', hkey, now, id)
  redis.call('ZREMRANGEBYRANK', hkey, 0, -(keep + 1))
end
local status = redis.call('HGET', rkey, 'status')

if status == 'pending' and now >= tonumber(redis.call('HGET', rkey, 'expires_at')) then
  redis.call('HSET', rkey, 'status', 'expired')
  ring('expired')
  local resumed = effects('expired_now')
  return {'expired_now', redis.call('HGETALL', rkey), resumed}
end
if decision == '' then
  return {'unchanged', redis.call('HGETALL', rkey), 0}
end
if status == 'expired' then
  return {'expired', redis.call('HGETALL', rkey), 0}
end
if status ~= 'pending' then
  return {'already_decided', redis.call('HGETALL', rkey), 0}
end
if operator ~= '1' then
  local allowed = false
  for _, d in ipairs(cjson.decode(redis.call('HGET', rkey, 'deciders'))) do
    if d == user then allowed = true; break end
  end
  if not allowed then
    return {'forbidden', redis.call('HGETALL', rkey), 0}
  end
end

local new_status = 'approved'
if decision == 'reject' then new_status = 'rejected' end
redis.call('HSET', rkey, 'status', new_status, 'decision', decision, 'decided_by', user,
           'decided_at', t[1] .. '.' .. string.format('%06d', tonumber(t[2])))
ring(decision)
local resumed = effects('decided')
return {'decided', redis.call('HGETALL', rkey), resumed}
"""
)


def stored_record(record: ApprovalRecord) -> tuple[dict[str, str], int]:
    """A new pending record as stored: its hash fields, and when the key goes (epoch ms,
    ``RECORD_RETENTION`` after ``expires_at``; ids are 96 random bits, so a fresh record
    never meets an old one)."""
    if record.status != "pending" or record.decision is not None:
        raise ValueError(f"a new record is pending, got status {record.status!r}")
    return record.to_hash(), math.ceil((record.expires_at + RECORD_RETENTION) * 1000)


_OUTCOMES = {
    "not_found": DecideOutcome.NOT_FOUND,
    "expired_now": DecideOutcome.EXPIRED,
    "expired": DecideOutcome.EXPIRED,
    "already_decided": DecideOutcome.ALREADY_DECIDED,
    "forbidden": DecideOutcome.FORBIDDEN,
    "decided": DecideOutcome.DECIDED,
}


class ApprovalStore:
    """Approval records in Redis, shared by gateways and workers.

    ``clock`` (epoch seconds) only stamps new records in :meth:`new_record`;
    expiry is judged by the Redis server's clock.
    """

    def __init__(self, redis: aioredis.Redis, *, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._clock = clock
        self._script = redis.register_script(_DECIDE_LUA)

    def new_record(
        self,
        *,
        session_key: str,
        turn_id: str,
        tool_call_id: str,
        tool_name: str,
        tool_args: dict[str, Any],
        deciders: Sequence[str],
        timeout: float,
        agent_id: str = "main",
        bot: str = "main",
        parkable: bool = True,
        requested_by: str | None = None,
    ) -> ApprovalRecord:
        """A fresh pending record with a new id, expiring ``timeout`` seconds from now.

        Does not store it: :meth:`create` does, and must run before any event
        shows its buttons, so a quick click never meets an unknown id.
        """
        now = self._clock()
        return ApprovalRecord(
            session_key=session_key,
            turn_id=turn_id,
            tool_call_id=tool_call_id,
            agent_id=agent_id,
            bot=bot,
            tool_name=tool_name,
            tool_args=tool_args,
            deciders=tuple(deciders),
            created_at=now,
            expires_at=now + timeout,
            parkable=parkable,
            requested_by=requested_by,
        )

    async def create(self, record: ApprovalRecord) -> None:
        """Store a new pending record and index it, atomically (MULTI); see
        :func:`stored_record`. A running turn stores its records with the event that
        shows them instead (:meth:`workers.turn_writes.TurnWriter.add_approval`).
        """
        fields, gone_at_ms = stored_record(record)
        key = keys.approval(record.approval_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.pexpireat(key, gone_at_ms)
            pipe.zadd(keys.PENDING_APPROVALS, {record.approval_id: record.expires_at})
            await pipe.execute()

    async def get(self, approval_id: str) -> ApprovalRecord | None:
        """The stored record, or None if unknown (or gone after retention)."""
        # redis-py types hgetall for both clients (dict | Awaitable); this one is async.
        raw = await cast(
            "Awaitable[dict[Any, Any]]", self._redis.hgetall(keys.approval(approval_id))
        )
        return ApprovalRecord.from_hash(raw) if raw else None

    async def decide(
        self,
        approval_id: str,
        decision: Decision,
        user_id: str,
        *,
        operator: bool = False,
        effects: Effects | None = None,
    ) -> DecideResult:
        """Decide a pending approval; the first valid decision wins.

        Atomic compare-and-set in one script (see the module docstring):
        unknown → ``NOT_FOUND``; pending but past ``expires_at`` (server clock)
        → marked expired, ``EXPIRED``; already expired → ``EXPIRED``; decided →
        ``ALREADY_DECIDED``; ``user_id`` not among the deciders and not
        ``operator`` → ``FORBIDDEN``; else ``DECIDED``. Only ``DECIDED`` and
        the expiry change anything. Empty ``deciders`` deny everyone but an
        operator (deny by default; the runtime always lists the turn's user).

        The record in the result is the one the script read after its own
        change, inside the same atomic step, so it cannot show a later
        writer's state mixed with this outcome (no second round trip).

        ``effects``: what a change (this decision, or the expiry it finds due)
        does besides, in the same call (:mod:`workers.decision_effects`).
        """
        code, record = await self._run(
            approval_id, Decision(decision).value, user_id, operator, effects
        )
        return DecideResult(_OUTCOMES[code], record, expired_now=code == "expired_now")

    async def expire_if_due(
        self, approval_id: str, effects: Effects | None = None
    ) -> ApprovalRecord | None:
        """Expire this record if it is pending and past due; return it as it stands.

        For a holder whose wait ran out (a non-parkable approval): it turns a
        stale "pending" into "expired" through the decide script, so a click
        arriving at the same moment either wins or gets ``EXPIRED``, never both.
        """
        _, record = await self._run(approval_id, "", "", False, effects)
        return record

    async def expire_due(
        self, effects_of: Callable[[ApprovalRecord], Effects] | None = None
    ) -> list[ApprovalRecord]:
        """Mark every pending record past its ``expires_at`` as expired; return those.

        Each goes through the decide script, so only the call that actually
        expired a record returns it: two sweepers never both report one, and a
        record decided a moment before is left alone. Records a click expired
        (the clicker got ``EXPIRED``) are not returned either. ``effects_of``
        gives each expiry's effects (the record is read first for them).
        """
        now = await self._server_time()
        due = await self._redis.zrangebyscore(keys.PENDING_APPROVALS, "-inf", now)
        expired: list[ApprovalRecord] = []
        for raw_id in due:
            approval_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            effects = None
            if effects_of is not None:
                found = await self.get(approval_id)
                effects = effects_of(found) if found is not None else None
            code, record = await self._run(approval_id, "", "", False, effects)
            if code == "expired_now" and record is not None:
                expired.append(record)
        return expired

    async def pending(self, *, session_key: str | None = None) -> list[ApprovalRecord]:
        """Pending records that can still be decided, oldest first.

        Records past ``expires_at`` that no sweeper has marked yet are left
        out: deciding them would only answer "expired".
        """
        now = await self._server_time()
        ids = await self._redis.zrangebyscore(keys.PENDING_APPROVALS, f"({now}", "+inf")
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for raw_id in ids:
                text = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
                pipe.hgetall(keys.approval(text))
            hashes = await pipe.execute()
        records = [ApprovalRecord.from_hash(h) for h in hashes if h]
        return sorted(
            (r for r in records if r.status == "pending" and session_key in (None, r.session_key)),
            key=lambda r: r.created_at,
        )

    async def decided(self, *, limit: int = 50) -> list[ApprovalRecord]:
        """The newest decided or expired records, newest first (gone ones left out)."""
        ids = await self._redis.zrevrange(keys.DECIDED_APPROVALS, 0, max(limit, 1) - 1)
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for raw_id in ids:
                text = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
                pipe.hgetall(keys.approval(text))
            hashes = await pipe.execute()
        return [ApprovalRecord.from_hash(h) for h in hashes if h]

    async def wait(self, approval_id: str, timeout: float) -> ApprovalRecord | None:
        """Block until the record leaves ``pending``; None on timeout or unknown id.

        Reads the hash first (a decision made before the call returns at
        once), then blocks on the ``decided:{id}`` doorbell and reads the hash
        again. The block is ``BLMOVE decided decided RIGHT LEFT``, a rotation
        of the list onto itself: it wakes like BLPOP but leaves the item in
        place, so every concurrent waiter wakes on one push (Redis serves each
        blocked client while the list is non-empty) and a later re-check is
        not starved. The returned record may be ``expired`` (a sweeper or a
        late click expired it); the caller looks at ``status``.

        Each block is cut shorter than the client's ``socket_timeout`` when it
        has one: redis-py 5.3.1 reads a blocking reply under that timeout and
        would raise ``TimeoutError`` (and drop the connection) otherwise. The
        blocked call holds one pooled connection for its duration.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        doorbell = keys.decided(approval_id)
        while True:
            record = await self.get(approval_id)
            if record is None or record.status != "pending":
                return record
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            block = max(min(remaining, self._block_cap()), 0.01)  # 0 would block forever
            await self._redis.blmove(doorbell, doorbell, block, "RIGHT", "LEFT")  # type: ignore[arg-type]

    def _block_cap(self) -> float:
        socket_timeout = self._redis.connection_pool.connection_kwargs.get("socket_timeout")
        if not socket_timeout:
            return math.inf
        return max(float(socket_timeout) - 1.0, float(socket_timeout) / 2)

    async def _server_time(self) -> float:
        seconds, micros = await self._redis.time()
        return float(seconds) + float(micros) / 1_000_000

    async def _run(
        self,
        approval_id: str,
        decision: str,
        user_id: str,
        operator: bool,
        effects: Effects | None = None,
    ) -> tuple[str, ApprovalRecord | None]:
        reply = await self._script(
            keys=[
                keys.approval(approval_id),
                keys.PENDING_APPROVALS,
                keys.decided(approval_id),
                keys.DECIDED_APPROVALS,
                *(effects.keys if effects is not None else ()),
            ],
            args=[
                approval_id,
                decision,
                user_id,
                "1" if operator else "0",
                DECIDED_SIGNAL_TTL,
                DECIDED_INDEX_SIZE,
                *(effects.args if effects is not None else ()),
            ],
        )
        raw_code, flat, resumed = reply
        if effects is not None:
            await effects.start(int(resumed) == 1)
        code = raw_code.decode() if isinstance(raw_code, bytes) else str(raw_code)
        if not flat:
            return code, None
        return code, ApprovalRecord.from_hash(dict(zip(flat[::2], flat[1::2], strict=True)))
