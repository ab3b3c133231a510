"""The Lua scripts of the session drain protocol (docs/runtime.md, rule 1).

Each script runs atomically in Redis. Enqueue and close look at the same two
keys — the inbox and ``sched`` — so a message can never fall between "the
inbox is empty, the drainer is finishing" and "a drain job already exists":
either the enqueue's RPUSH happened first (close sees it and the drainer
goes on) or close happened first (``sched`` is gone, so the enqueue's
``SET NX`` wins and schedules a new job).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

# The drain job itself: when a script decides the session needs one, it writes it
# into arq's queue as arq's enqueue_job would (the job key with its payload and
# expiry, the id in arq's sorted set) and rings the workers' doorbell, in the same
# call: queueing a turn is one round trip. With an empty job key the caller
# enqueues it afterwards instead.
# KEYS: job, arq_queue   ARGV (from the given index): payload, expires_ms, score, wake_channel
_START_JOB = """
local function start_job(k, a, job_id)
  if KEYS[k] == '' then return end
  redis.call('PSETEX', KEYS[k], ARGV[a + 1], ARGV[a])
  redis.call('ZADD', KEYS[k + 1], ARGV[a + 2], job_id)
  redis.call('PUBLISH', ARGV[a + 3], '1')
end
"""

# KEYS: seen, inbox, sched, active, job, arq_queue
# ARGV: item, job_id, now, session_key, seen_ttl, payload, expires_ms, score, wake_channel
# → -1 duplicate event (nothing queued), 1 queued and a drain scheduled, 0 queued
ENQUEUE = (
    _START_JOB
    + """
if KEYS[1] ~= '' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[5]) then return -1 end
end
redis.call('RPUSH', KEYS[2], ARGV[1])
if redis.call('SET', KEYS[3], ARGV[2], 'NX') then
  redis.call('ZADD', KEYS[4], ARGV[3], ARGV[4])
  start_job(5, 6, ARGV[2])
  return 1
end
return 0
"""
)

# Make sure a drain runs for the session: a Lua function, for the scripts that resume a
# session in the same call as what made it ready (workers.decision_effects).
# KEYS (from k): sched, active, job, arq_queue
# ARGV (from a): job_id, now, session_key, payload, expires_ms, score, wake_channel
# → 1 when this call scheduled a drain (nobody owned the session), else 0
SCHEDULE_LUA = (
    _START_JOB
    + """
local function schedule(k, a)
  if redis.call('SET', KEYS[k], ARGV[a], 'NX') then
    redis.call('ZADD', KEYS[k + 1], ARGV[a + 1], ARGV[a + 2])
    start_job(k + 2, a + 3, ARGV[a])
    return 1
  end
  return 0
end
"""
)
SCHEDULE = SCHEDULE_LUA + "return schedule(1, 1)\n"

# KEYS: sched, lease, arq_queue, inbox, parked, stop, job   ARGV: job_id, holder, ttl_ms
# → {1, head item or false, parked (0/1), stop key or false} lease held; {0} another
#   worker holds it; {-1} a newer job owns the session; {-2} the job is not in arq's
#   queue (another worker took it): nothing done
# This is where a drain job is claimed: workers start the jobs they read from
# arq's queue without arq's in-progress mark (workers.worker), and two that read
# the same one both come here; taking it off the queue (ZREM) lets one have it.
# Off the queue it stays: arq keeps a running job there until it ends and walks
# the whole queue on every poll, so a thousand turns waiting on a slow model would
# cost every poll thousands of calls. Recovery does not need it there: the lease
# does (a lost worker's session is rescheduled by the reaper). A job taken here
# that may not run (the session is another job's) is over: its payload goes.
ACQUIRE = """
if redis.call('ZREM', KEYS[3], ARGV[1]) == 0 then return {-2} end
local code = 1
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  code = -1
elseif not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  if redis.call('GET', KEYS[2]) == ARGV[2] then
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
  else
    code = 0
  end
end
if code ~= 1 then
  redis.call('DEL', KEYS[7])
  return {code}
end
return {1, redis.call('LINDEX', KEYS[4], 0), redis.call('EXISTS', KEYS[5]),
  redis.call('GET', KEYS[6])}
"""

# KEYS: inbox, sched, active, lease, parked, job   ARGV: job_id, session_key, park
# → 1 the inbox has more (go on), 0 closed, -1 not ours any more
# With park=1 the head turn waits for approvals: close even though the inbox
# holds it, and mark the session parked. Unless it goes on, the drain job ends
# here, and its payload (arq's job key) goes with it.
CLOSE = """
local ours = redis.call('GET', KEYS[2]) == ARGV[1]
if ours and ARGV[3] ~= '1' and redis.call('LLEN', KEYS[1]) > 0 then return 1 end
redis.call('DEL', KEYS[6])
if not ours then return -1 end
redis.call('DEL', KEYS[2], KEYS[4])
redis.call('ZREM', KEYS[3], ARGV[2])
if ARGV[3] == '1' then redis.call('SET', KEYS[5], '1') else redis.call('DEL', KEYS[5]) end
return 0
"""

# KEYS: lease, inbox, sched, active, parked, stop, job   ARGV: holder, item, session_key
# → {1, next item, stop key or false} popped, and the next turn waits; {0} popped, and
#   the session was closed (the inbox is empty), the drain job with it; {-1} not ours
#   any more (the lease changed hands, or the head is not the item this holder ran: a
#   drainer that lost its lease while it was paused must not pop the turn of the
#   worker that took over): nothing popped
# The finished turn leaves the inbox and the next one is read, or the session is
# closed, in one step between turns: the race CLOSE closes (a message arriving as
# the inbox empties) is closed here the same way, since both look at inbox and sched.
# Called with the lease checked, so ``sched`` is this job's: the lease's holder names
# the job, only ACQUIRE sets it and only while ``sched`` names that job, and nothing
# gives ``sched`` to another job without taking the lease away (CLOSE, HAND_BACK) or
# finding it gone (RESCHEDULE).
POP_NEXT = """
local function pop_next(lease, inbox, sched, active, parked, stop, job_key, item, session)
  local popped = redis.call('LPOP', inbox)
  if popped ~= item then
    if popped then redis.call('LPUSH', inbox, popped) end
    return {-1}
  end
  local head = redis.call('LINDEX', inbox, 0)
  if head then return {1, head, redis.call('GET', stop)} end
  redis.call('DEL', sched, lease, parked, job_key)
  redis.call('ZREM', active, session)
  return {0}
end
"""
"""Lua: NEXT's step after the lease check, shared with a turn's last write
(:mod:`workers.turn_writes`), which ends the turn and pops it in one call."""

NEXT = (
    POP_NEXT
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
return pop_next(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], ARGV[2], ARGV[3])
"""
)

# KEYS: sched, lease, active, arq_queue, arq_in_progress (of old_job)
# ARGV: old_job, new_job, now, session_key, min_age
# → 1 rescheduled under new_job (the caller enqueues it), 0 left alone
# The old job is presumed lost when no lease is held, it is not waiting for a
# worker, and it was scheduled at least min_age seconds ago (a job that just
# started has not taken its lease yet). arq keeps a job in its queue while it
# runs, with an in-progress key, until it finishes: queued without that key
# is waiting; queued with it but no lease is a dead worker's job. A lost job
# leaves arq's queue here, so arq never starts it again (days later, when its
# in-progress key expires).
RESCHEDULE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('ZREM', KEYS[3], ARGV[4])
  return 0
end
if current ~= ARGV[1] then return 0 end
if redis.call('ZSCORE', KEYS[4], ARGV[1]) and redis.call('EXISTS', KEYS[5]) == 0 then
  return 0
end
local since = redis.call('ZSCORE', KEYS[3], ARGV[4])
if since and tonumber(ARGV[3]) - tonumber(since) < tonumber(ARGV[5]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[5])
return 1
"""

# KEYS: sched, lease, active, job   ARGV: job_id, holder, new_job, now, session_key
# → 1 the session now belongs to new_job (the caller enqueues it), 0 not ours
# A worker shutting down gives its session back without waiting for the lease;
# its drain job ends here either way (its payload goes).
HAND_BACK = """
redis.call('DEL', KEYS[4])
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1
"""


async def run_list(
    redis: Redis, script: str, keys: Sequence[str], args: Sequence[str]
) -> list[Any]:
    """Run one of the scripts that answer a list (ACQUIRE, NEXT)."""
    reply = await redis.register_script(script)(keys=list(keys), args=list(args))
    return list(reply)


async def run(redis: Redis, script: str, keys: Sequence[str], args: Sequence[str]) -> int:
    """Run one of the scripts that answer an integer.

    ``register_script`` sends the script's SHA (EVALSHA) and loads the source
    only when the server does not know it yet, so the hot paths (enqueue,
    lease renewal) do not ship the Lua text on every call.
    """
    reply = await redis.register_script(script)(keys=list(keys), args=list(args))
    return int(reply)
