"""The Lua scripts of schedules (docs/schedules.md, "Protocol").

Every change to a schedule is one script, and every decision a
compare-and-set: creating checks the caps and writes the record, its index
entries and its first run together; advancing and firing change a schedule
only while its due score is still the one the caller read, so of several
workers that saw the same due run exactly one moves it on; cancelling
removes the record and its score together, so a cancelled schedule can no
longer be fired (the fire finds no score).

:data:`FIRE` is :data:`ADVANCE`'s compare-and-set followed by the inbox's own
enqueue script (:data:`workers.scripts.ENQUEUE`, unchanged, with its keys
and arguments in the same places, ours after them): the run is advanced, its
turn queued and its drain job started in one atomic step.
"""

from __future__ import annotations

from workers.scripts import ENQUEUE

__all__ = ["ADVANCE", "CANCEL", "CREATE", "DROP", "FIRE", "SYNC"]

# KEYS: record, due, session index, config set
# ARGV: id, record json, first run, max per session, max total
# → 1 created, -1 the session is full, -2 the runtime is full, -3 the id is taken
# Config jobs are not counted against either cap.
CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -3 end
local total = redis.call('ZCARD', KEYS[2]) - redis.call('SCARD', KEYS[4])
if total >= tonumber(ARGV[5]) then return -2 end
local mine = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('SISMEMBER', KEYS[4], id) == 0 then mine = mine + 1 end
end
if mine >= tonumber(ARGV[4]) then return -1 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
"""

# KEYS: record, due, session index (of the record's session), config set
# ARGV: id, session key ("" = any: the operator), allow config ("1": a config sync)
# → 1 cancelled, 0 unknown (or not that session's), -1 a config job
CANCEL = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local record = cjson.decode(raw)
if ARGV[2] ~= '' and record['session_key'] ~= ARGV[2] then return 0 end
if ARGV[3] ~= '1' and record['source'] == 'config' then return -1 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
return 1
"""

_ADVANCE = """
local score = redis.call('ZSCORE', {due}, {id})
if not score or tonumber(score) ~= tonumber({expected}) then return -2 end
if {following} == '' then
  redis.call('ZREM', {due}, {id})
  redis.call('DEL', {record})
  redis.call('SREM', {index}, {id})
else
  redis.call('ZADD', {due}, {following}, {id})
end
"""

# KEYS: due, record, session index   ARGV: id, expected score, next run ("" = done: delete)
# → 0 advanced, -2 not at the expected score any more (another worker moved it, or cancelled)
ADVANCE = (
    _ADVANCE.format(
        due="KEYS[1]",
        record="KEYS[2]",
        index="KEYS[3]",
        id="ARGV[1]",
        expected="ARGV[2]",
        following="ARGV[3]",
    )
    + "return 0\n"
)

# KEYS: due   ARGV: id, expected score
# → 1 taken off the due list (its record stays, to inspect), 0 it had moved on meanwhile
DROP = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
"""

# KEYS: ENQUEUE's six (seen, inbox, sched, active, job, arq queue), then due, record,
#       session index
# ARGV: ENQUEUE's nine (workers.inbox.enqueue_call), then id, expected score, next run
# → -2 not at the expected score (nothing done); else ENQUEUE's answer: 1 queued and a
# drain scheduled, 0 queued, -1 this run was queued before (nothing queued)
FIRE = (
    _ADVANCE.format(
        due="KEYS[7]",
        record="KEYS[8]",
        index="KEYS[9]",
        id="ARGV[10]",
        expected="ARGV[11]",
        following="ARGV[12]",
    )
    + ENQUEUE
)

# KEYS: record, due, session index, config set, old session index
# ARGV: id, record json, fingerprint, first run
# → 1 written (new or changed: first run from now), 0 unchanged (its next run is kept)
SYNC = """
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw)['fingerprint'] == ARGV[3]
   and redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return 0
end
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return 1
"""
