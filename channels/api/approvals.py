"""``GET /api/v1/approvals`` and ``POST /api/v1/approvals/{id}``.

``GET`` lists the pending approvals (``status=pending``, the default) or the
newest decided and expired ones (``status=decided``, newest first, up to
``limit``): the console's inbox and its history.

Over the API the bearer holder is the operator (docs/design.md): it may decide
any approval, whoever the record lists as deciders. Deciding goes through
:func:`workers.decisions.decide`, the same path as a chat button, so rules
are recorded, the decision is announced and a parked turn resumes.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from channels.api.bodies import DecisionBody, read_body
from channels.boundary import json_error
from channels.context import context
from channels.inputs import MAX_SESSION_KEY, brief, text_value
from channels.runtime import (
    API_OPERATOR,
    ApprovalRecord,
    DecideOutcome,
    InvalidDecisionError,
    parse_decision,
)

__all__ = ["OPERATOR", "decide_approval", "list_approvals", "record_json"]

OPERATOR = API_OPERATOR
"""``decided_by`` of decisions made over the API."""

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_STATUS = {
    DecideOutcome.NOT_FOUND: 404,
    DecideOutcome.ALREADY_DECIDED: 409,
    DecideOutcome.EXPIRED: 410,
    DecideOutcome.FORBIDDEN: 403,
}
_MESSAGE = {
    DecideOutcome.NOT_FOUND: "unknown approval",
    DecideOutcome.ALREADY_DECIDED: "the approval was already decided",
    DecideOutcome.EXPIRED: "the approval expired",
    DecideOutcome.FORBIDDEN: "not allowed to decide this approval",
}


def record_json(record: ApprovalRecord) -> dict[str, Any]:
    """The public view of a record (who may decide stays internal)."""
    return {
        "approval_id": record.approval_id,
        "session_key": record.session_key,
        "turn_id": record.turn_id,
        "agent_id": record.agent_id,
        "tool_name": record.tool_name,
        "tool_args": record.tool_args,
        "status": record.status,
        "decision": record.decision.value if record.decision else None,
        "decided_by": record.decided_by,
        "decided_at": record.decided_at,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "requested_by": record.requested_by,
    }


DECIDED_LIMIT = 50
"""Decided approvals listed when ``limit`` is not given."""
MAX_DECIDED_LIMIT = 500
"""The most ``limit`` may ask for (the index keeps no more)."""


def _limit(request: web.Request) -> int | None:
    raw = request.query.get("limit", str(DECIDED_LIMIT))
    if not (raw.isascii() and raw.isdecimal() and len(raw) <= 6):  # int() of 5,000 digits
        return None  # raises, of "١٢" works: ASCII and short only
    if not 1 <= int(raw) <= MAX_DECIDED_LIMIT:
        return None
    return int(raw)


async def list_approvals(request: web.Request) -> web.Response:
    """Pending approvals, oldest first, or decided ones, newest first.

    ``?session=`` narrows to one session. ``status=decided`` lists records
    that left ``pending`` (approved, rejected, expired) from the index of the
    newest ones; ``limit`` (1–500, default 50) caps it before ``session``
    filters.
    """
    status = request.query.get("status", "pending")
    session = request.query.get("session") or None
    if session is not None:
        text_value(session, "session", max_length=MAX_SESSION_KEY)
    runtime = context(request).runtime
    if status == "pending":
        records = await runtime.pending_approvals(session)
    elif status == "decided":
        limit = _limit(request)
        if limit is None:
            return json_error(422, f"limit must be 1 to {MAX_DECIDED_LIMIT}")
        records = await runtime.decided_approvals(limit)
        records = [r for r in records if session in (None, r.session_key)]
    else:
        return json_error(422, "status must be pending or decided", requested=brief(status))
    return web.json_response({"approvals": [record_json(r) for r in records]})


async def decide_approval(request: web.Request) -> web.Response:
    """Decide as the operator: 200 with the record, 404/409/410/403, 422 for a bad word."""
    body = await read_body(request, DecisionBody)
    if isinstance(body, web.Response):
        return body
    try:
        decision = parse_decision(body.decision)
    except InvalidDecisionError as exc:
        return json_error(422, str(exc))
    approval_id = request.match_info["approval_id"]
    ctx = context(request)
    if not _ID.match(approval_id):
        ctx.metrics.approval_decisions.inc(outcome=DecideOutcome.NOT_FOUND.value)
        return json_error(404, _MESSAGE[DecideOutcome.NOT_FOUND], approval_id=brief(approval_id))
    result = await ctx.runtime.decide(approval_id, decision, OPERATOR, operator=True)
    ctx.metrics.record_decision(result)
    record = record_json(result.record) if result.record is not None else None
    if result.outcome is DecideOutcome.DECIDED:
        return web.json_response(record)
    return json_error(
        _STATUS[result.outcome], _MESSAGE[result.outcome], approval_id=approval_id, record=record
    )
