"""What a decision does besides changing the approval record, in the same script call.

An approval that leaves ``pending`` (decided, or expired) must be announced
(``approval_decided``: the card is edited, SSE clients hear it), a "session"
or "always" decision becomes a permission rule, and a parked turn is
resumed. Done after the compare-and-set, in calls of their own, two things
went wrong:

- order: the decide script rings the holder's doorbell, so a worker holding
  the approval resumed the turn and published its tool's output — sometimes
  its whole answer — before the decider's announcement landed: the session's
  stream said "approved" after the turn had ended;
- loss: a gateway killed (or a Redis restart) between the compare-and-set and
  the rest left the decision unannounced and a parked turn parked for good
  (a decided approval is no longer pending, so neither the sweeper nor a
  retried click ever looks at it again).

So the decide script (:mod:`workers.approvals`) runs these effects itself
when it changes the record — and only then: a second click, a refused or
late one, does nothing here. The caller reads the record first (its session
and tool give the keys) and hands over an :class:`Effects`; the
announcement for each possible change (decided by this caller, or expired
now) is built in Python, from the same wire model the rest of the runtime
publishes, and the script appends the one that applies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from core import wire
from workers import keys, outbox, scripts
from workers.approval_record import ApprovalRecord, Decision
from workers.inbox import EnqueueCall, JobQueue, schedule_call

__all__ = ["EFFECTS_LUA", "Effects", "announcement", "effects_of"]

EXPIRED = "expired"

# After a change (code 'decided' or 'expired_now'), when the caller passed effects:
# KEYS[5..8] publish's keys, KEYS[9] the rule's set ('' none), KEYS[10] parked ('' never
#   resume), KEYS[11..14] schedule's keys
# ARGV[7] the announcement if decided, ARGV[8] if expired now, ARGV[9] the tool's name,
#   ARGV[10..12] publish's arguments, ARGV[13..19] schedule's arguments
# → 1 when a parked turn was scheduled to resume, else 0
EFFECTS_LUA = (
    outbox.PUBLISH_LUA
    + scripts.SCHEDULE_LUA
    + """
local function effects(code)
  if #KEYS < 5 then return 0 end
  if code == 'decided' then
    publish(5, 10, ARGV[7])
    if KEYS[9] ~= '' then redis.call('SADD', KEYS[9], ARGV[9]) end
  else
    publish(5, 10, ARGV[8])
  end
  if KEYS[10] ~= '' and redis.call('EXISTS', KEYS[10]) == 1 then
    return schedule(11, 13)
  end
  return 0
end
"""
)


@dataclass(frozen=True)
class Effects:
    """The effects of one approval's change, as the decide script takes them."""

    session_key: str
    keys: list[str]
    args: list[str]
    queue: JobQueue | None = None
    resume: EnqueueCall | None = None
    """The drain job that resumes a parked turn (None: this change never resumes one)."""

    async def start(self, resumed: bool) -> None:
        """After the script: start the resume's job when it scheduled one without writing
        it (a queue that cannot stage its jobs for a script)."""
        resume, queue = self.resume, self.queue
        if resumed and queue is not None and resume is not None and resume.staged is None:
            await queue.enqueue_drain(self.session_key, resume.job_id)


def announcement(
    record: ApprovalRecord, decision: str, status: str, decided_by: str | None
) -> wire.ApprovalDecidedEvent:
    """``approval_decided`` for ``record``: addressed to the channel its session key
    names (``telegram:…`` → ``telegram``), whose adapter finds the card by the id."""
    return wire.ApprovalDecidedEvent(
        session_key=record.session_key,
        channel=record.session_key.partition(":")[0],
        bot=record.bot,
        ts=time.time(),
        turn_id=record.turn_id,
        agent_id=record.agent_id,
        approval_id=record.approval_id,
        tool_name=record.tool_name,
        decision=decision,
        status=status,
        decided_by=decided_by,
        idempotency_key=f"approval:{record.approval_id}:decided",
    )


def effects_of(
    record: ApprovalRecord,
    decision: Decision | None,
    who: str,
    queue: JobQueue | None,
) -> Effects:
    """The effects of deciding ``record`` as ``decision`` by ``who`` (None: it can only
    expire), or of its expiry; ``queue`` None: a parked turn is not resumed (its
    holder is the running turn itself)."""
    sk = record.session_key
    rule = ""
    if decision is Decision.SESSION:
        rule = keys.perm_session(sk)
    elif decision is Decision.ALWAYS:
        rule = keys.perm_always(record.bot)
    status = "rejected" if decision is Decision.REJECT else "approved"
    decided = announcement(record, decision.value if decision else "", status, who)
    expired = announcement(record, EXPIRED, EXPIRED, None)
    publish_keys, publish_args, decided_data = outbox.publish_call(decided)
    _, _, expired_data = outbox.publish_call(expired)
    resume = schedule_call(sk, queue) if queue is not None else None
    return Effects(
        sk,
        [
            *publish_keys,
            rule,
            keys.parked(sk) if resume is not None else "",
            *(resume.keys if resume is not None else ["", "", "", ""]),
        ],
        [
            decided_data,
            expired_data,
            record.tool_name,
            *publish_args,
            *(resume.args if resume is not None else ["", "", "", "", "", "", ""]),
        ],
        queue,
        resume,
    )
