"""Starting arq jobs in one Redis call per poll, not four per job.

arq 0.28 starts each job it read from the queue with a WATCH transaction:
``WATCH in-progress``, ``EXISTS in-progress``, ``ZSCORE queue``, then
``MULTI PSETEX in-progress EXEC`` — four round trips per job, a fifth of a
worker's CPU per turn (docs/benchmarks.md, "Runtime cost"). :data:`CLAIM`
makes the same checks and the same write for a batch of jobs inside one
script, atomically, so two workers polling the same queue still start each
job once: a job already in progress, gone from the queue, or deferred to
later is skipped, exactly as arq skips it.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

__all__ = ["CLAIM", "claim"]

# KEYS: queue, then the in-progress key of each job   ARGV: now_ms, timeout_ms, job ids
# → per job its score (claimed: in progress now) or false (skipped)
CLAIM = """
local claimed = {}
for i = 2, #KEYS do
  local job = ARGV[i + 1]
  local score = false
  if redis.call('EXISTS', KEYS[i]) == 0 then
    score = redis.call('ZSCORE', KEYS[1], job)
    if score and tonumber(score) <= tonumber(ARGV[1]) then
      redis.call('PSETEX', KEYS[i], ARGV[2], '1')
    else
      score = false
    end
  end
  claimed[#claimed + 1] = score
end
return claimed
"""


async def claim(
    redis: Redis,
    queue: str,
    in_progress_prefix: str,
    job_ids: Sequence[str],
    now_ms: int,
    timeout_ms: int,
) -> list[int | None]:
    """Mark ``job_ids`` in progress where arq would start them; each one's score, or None."""
    if not job_ids:
        return []
    keys = [queue, *(in_progress_prefix + job_id for job_id in job_ids)]
    reply = await redis.register_script(CLAIM)(
        keys=keys, args=[str(now_ms), str(timeout_ms), *job_ids]
    )
    return [int(float(score)) if score else None for score in reply]
