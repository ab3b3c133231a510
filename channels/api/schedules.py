"""``GET/POST /api/v1/schedules`` and ``DELETE /api/v1/schedules/{id}`` (docs/schedules.md).

Thin: the runtime client (:mod:`channels.runtime`, over ``workers.schedules``)
does the work and its errors map to statuses here, once: a bad expression,
time, interval or zone is 422; a cap reached is 409; an unknown id is 404;
deleting a config ``cron`` job is 409 (it lives in config.json, and would
come back with the next worker that starts). The bearer holder is the
operator: a schedule made here runs as the scheduler, not as a person, so its
approvals are decided by the channel's approvers and the operator only.
"""

from __future__ import annotations

import re

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from channels.api.bodies import MAX_TEXT_CHARS, read_body
from channels.boundary import json_error
from channels.context import GatewayContext, context
from channels.inputs import MAX_SESSION_KEY, brief, text_value
from channels.runtime import (
    ConfigScheduleError,
    InvalidScheduleError,
    ScheduleLimitError,
    ScheduleNotFoundError,
)

__all__ = ["ScheduleBody", "create_schedule", "delete_schedule", "list_schedules"]

_ID = re.compile(r"^[A-Za-z0-9:_-]{1,80}$")
LOCAL_CHANNELS = ("api", "cron")
"""Session channels that need no chat platform: the API's own, and sessions nobody watches."""


class ScheduleBody(BaseModel):
    """``POST /api/v1/schedules``: exactly one of ``cron``, ``at``, ``every``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    session: str = Field(max_length=256, pattern=r"^[a-z]+:[^\x00-\x20\x7f]+$")
    """``api:<name>``, ``cron:<name>``, or a session of an enabled channel (``telegram:<chat>``)."""
    prompt: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    """What the agent is told at each run."""
    cron: str | None = None
    """A 5-field cron expression, read in ``timezone``."""
    at: str | None = None
    """One run at this ISO 8601 time (without an offset: local time in ``timezone``)."""
    every: int | None = Field(default=None, gt=0)
    """A run every so many seconds, the first one interval from now."""
    timezone: str | None = None
    """IANA time zone; default: the config's ``timezone``."""


async def list_schedules(request: web.Request) -> web.Response:
    """Every schedule by next run (``?session=`` narrows to one session)."""
    ctx = context(request)
    session = request.query.get("session") or None
    if session is not None:
        text_value(session, "session", max_length=MAX_SESSION_KEY)
    found = await ctx.runtime.list_schedules(ctx.config, session)
    return web.json_response({"schedules": [item.record.public(item.next_run) for item in found]})


def _session_refused(ctx: GatewayContext, session: str) -> str | None:
    channel = session.partition(":")[0]
    allowed = (*LOCAL_CHANNELS, *ctx.config.channels.enabled())
    if channel in allowed:
        return None
    return f"no channel {channel!r} for this session: use one of {', '.join(allowed)}"


async def create_schedule(request: web.Request) -> web.Response:
    """201 ``{"schedule_id", "next_run"}``; 422 for a bad request, 409 when a cap is reached."""
    body = await read_body(request, ScheduleBody)
    if isinstance(body, web.Response):
        return body
    ctx = context(request)
    refused = _session_refused(ctx, body.session)
    if refused is not None:
        return json_error(422, refused)
    try:
        made = await ctx.runtime.schedule(
            ctx.config,
            session_key=body.session,
            prompt=body.prompt,
            cron=body.cron,
            at=body.at,
            every=body.every,
            timezone=body.timezone,
        )
    except InvalidScheduleError as exc:
        return json_error(422, str(exc))
    except ScheduleLimitError as exc:
        return json_error(409, str(exc))
    view = made.record.public(made.next_run)
    return web.json_response(
        {"schedule_id": made.record.schedule_id, "next_run": view["next_run"]}, status=201
    )


async def delete_schedule(request: web.Request) -> web.Response:
    """204; 404 for an unknown id; 409 for a config job."""
    schedule_id = request.match_info["schedule_id"]
    if not _ID.match(schedule_id):
        return json_error(404, "unknown schedule", schedule_id=brief(schedule_id))
    ctx = context(request)
    try:
        await ctx.runtime.cancel_schedule(ctx.config, schedule_id)
    except ScheduleNotFoundError:
        return json_error(404, "unknown schedule", schedule_id=brief(schedule_id))
    except ConfigScheduleError as exc:
        return json_error(409, str(exc), schedule_id=brief(schedule_id))
    return web.Response(status=204)
