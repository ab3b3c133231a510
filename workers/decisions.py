"""Deciding an approval, wherever the click comes from (API, Telegram, Slack…).

The compare-and-set itself is the approval store's; what a decision means for
the rest of the runtime — "session" and "always" become permission rules, the
decision is announced, a parked turn is scheduled to resume on any worker —
happens in the same script call (:mod:`workers.decision_effects`), so nothing
the resumed turn publishes comes before the announcement, and no process
dying after the decision can leave it unannounced or its turn parked.
"""

from __future__ import annotations

from workers.approval_record import ApprovalRecord, DecideResult, Decision
from workers.approvals import ApprovalStore
from workers.decision_effects import effects_of
from workers.inbox import JobQueue

__all__ = ["decide", "expire_due"]


async def decide(
    approvals: ApprovalStore,
    queue: JobQueue,
    approval_id: str,
    decision: Decision,
    user_id: str,
    *,
    operator: bool = False,
) -> DecideResult:
    """Decide ``approval_id``; a decision (or the expiry a late one finds due) is
    announced, recorded as a rule and resumes its parked turn, in the same call."""
    record = await approvals.get(approval_id)
    effects = effects_of(record, decision, user_id, queue) if record is not None else None
    return await approvals.decide(
        approval_id, decision, user_id, operator=operator, effects=effects
    )


async def expire_due(approvals: ApprovalStore, queue: JobQueue) -> list[ApprovalRecord]:
    """Expire the approvals past due (a rejection), each announced and its parked turn
    resumed in the same call, so the person hears it; those this call expired."""
    return await approvals.expire_due(lambda record: effects_of(record, None, "", queue))
