"""What the chat commands ``/schedules`` and ``/unschedule ID`` answer, on any platform.

The chat layer (Telegram today, Slack and Discord later) parses the command
and sends the text these return; nothing here knows a platform:

    store = ScheduleStore(redis, config)
    reply = await list_for_session(store, inbound.session_key)
    reply = await unschedule(store, inbound.session_key, command.args, by=inbound.user_id)

A person sees and cancels the schedules of the conversation they write in,
and only those (an id from another conversation is "not found", so ids do
not leak across chats); config ``cron`` jobs are listed but only config.json
changes them.
"""

from __future__ import annotations

import logging

from workers.schedules.errors import ConfigScheduleError, ScheduleNotFoundError
from workers.schedules.expressions import format_time
from workers.schedules.store import Scheduled, ScheduleStore
from workers.schedules.tools import when_text

__all__ = ["NO_SCHEDULES", "UNSCHEDULE_USAGE", "list_for_session", "schedule_line", "unschedule"]

logger = logging.getLogger(__name__)

NO_SCHEDULES = "No schedules here. Ask me to remind you of something, or to do it regularly."
UNSCHEDULE_USAGE = "Use /unschedule ID, with an id that /schedules shows."
PROMPT_CHARS = 80


def schedule_line(item: Scheduled, now: float) -> str:
    """``s1a2b3c4d5 · next 2026-01-02 08:00 CET (in 13 h) · once · Remind me …``"""
    record = item.record
    prompt = " ".join(record.prompt.split())
    if len(prompt) > PROMPT_CHARS:
        prompt = prompt[: PROMPT_CHARS - 1] + "…"
    timing = record.timing
    how = "once" if timing.at is not None else timing.describe()
    owner = f" (config job {record.name})" if record.name else ""
    nxt = format_time(item.next_run, timing.timezone)
    return (
        f"{record.schedule_id} · next {nxt} ({when_text(item.next_run - now)}) · {how} · "
        f"{prompt}{owner}"
    )


async def list_for_session(store: ScheduleStore, session_key: str) -> str:
    """The reply to ``/schedules``: this conversation's schedules, soonest first."""
    found = await store.list(session_key)
    if not found:
        return NO_SCHEDULES
    now = store.clock.now()
    lines = [schedule_line(item, now) for item in found]
    return "\n".join(["Schedules here:", *lines, "", "Cancel one with /unschedule ID."])


async def unschedule(store: ScheduleStore, session_key: str, args: str, *, by: str) -> str:
    """The reply to ``/unschedule ID``: cancel one of this conversation's schedules.

    ``by`` (the person's user id) is logged; anyone allowed to talk in the
    conversation may cancel its schedules, as they could ask the agent to.
    """
    words = args.split()
    if len(words) != 1:
        return UNSCHEDULE_USAGE
    schedule_id = words[0]
    try:
        record = await store.cancel(schedule_id, session_key=session_key)
    except ScheduleNotFoundError:
        return f"No schedule {schedule_id} in this conversation. /schedules lists them."
    except ConfigScheduleError:
        return f"{schedule_id} is set in the server's config; only its operator can change it."
    logger.info("schedule %s of %s cancelled by %s", schedule_id, session_key, by)
    return f"Cancelled {schedule_id} ({record.timing.describe()}): it will not run again."
