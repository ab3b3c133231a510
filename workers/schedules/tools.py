"""The agent's schedule tools: ``schedule_create``, ``schedule_list``, ``schedule_cancel``.

They run inside a worker's turn and read the turn's message from their
context (``ToolContext.origin``): a schedule made from a chat keeps that
chat's channel, reply target (a Telegram topic's thread id), approvers and
bot, and the person who asked, so its turn goes back there and that person
decides its approvals. Each acts on the turn's own session only.

Making one is a tool call like any other: the ``assistant`` preset allows
``schedule_list`` and asks for approval before ``schedule_create`` and
``schedule_cancel`` (deny by default). The SDK does not offer them
(:data:`bots.toolbox.RUNTIME_TOOLS`): nothing would fire the schedules.
"""

from __future__ import annotations

from bots.toolbox import RUNTIME_TOOLS
from core.errors import ToolError
from core.inbound import Inbound
from core.tools.tool import Tool, ToolContext
from workers.schedules.errors import ScheduleError
from workers.schedules.expressions import format_time
from workers.schedules.record import Origin
from workers.schedules.store import Scheduled, ScheduleStore, timing_of

__all__ = ["describe", "schedule_tools", "when_text"]


def when_text(delay: float) -> str:
    """``in 13 h``, ``in 5 min``, ``in 40 s``: how far off a run is."""
    if delay >= 2 * 86400:
        return f"in {delay / 86400:.0f} days"
    if delay >= 3600:
        return f"in {delay / 3600:.0f} h"
    if delay >= 60:
        return f"in {delay / 60:.0f} min"
    return f"in {max(delay, 0):.0f} s"


def describe(item: Scheduled, now: float) -> str:
    """One line: id, timing, next run, prompt."""
    record = item.record
    label = f" [config job {record.name}]" if record.name else ""
    nxt = format_time(item.next_run, record.timing.timezone)
    return (
        f"{record.schedule_id}{label}: {record.timing.describe()}; next {nxt} "
        f"({when_text(item.next_run - now)}): {record.prompt!r}"
    )


def _origin(context: ToolContext) -> Inbound:
    if context.origin is None:
        raise ToolError("schedules need the facio runtime (facio up or a worker)")
    return context.origin


def schedule_tools(store: ScheduleStore) -> dict[str, Tool]:
    """The three tools on ``store`` (the worker's Redis, config and clock)."""

    async def schedule_create(
        prompt: str,
        context: ToolContext,
        at: str | None = None,
        in_seconds: int | None = None,
        every_seconds: int | None = None,
        cron: str | None = None,
        timezone: str | None = None,
    ) -> str:
        """Schedule a turn in this conversation: at that time you are sent the prompt, and what
        you answer goes to the person here. For reminders ("remind me tomorrow at 8 to call
        Ann") and recurring tasks ("every weekday at 9, summarise my open tasks"). Give exactly
        one of at, in_seconds, every_seconds, cron. Use current_time first if you need today's
        date.

        Args:
            prompt: The instruction you will receive then, e.g. "Remind the person to call Ann."
            at: One run at this local date and time in ISO 8601, e.g. "2026-01-02T08:00".
            in_seconds: One run after this many seconds.
            every_seconds: A run every this many seconds (at least a minute).
            cron: Runs by a 5-field cron expression, e.g. "0 9 * * 1-5" (weekdays at 9:00).
            timezone: IANA time zone of at and cron, e.g. "Europe/Berlin"; default: the
                server's configured zone.
        """
        origin = _origin(context)
        now = store.clock.now()
        try:
            timing = timing_of(
                store.config,
                now,
                cron=cron,
                at=at,
                in_seconds=in_seconds,
                every=every_seconds,
                timezone=timezone,
            )
            made = await store.create(
                session_key=origin.session_key,
                prompt=prompt,
                timing=timing,
                source="agent",
                created_by=origin.user_id,
                origin=Origin.of(origin),
            )
        except ScheduleError as exc:
            raise ToolError(f"not scheduled: {exc}") from exc
        return f"Scheduled {describe(made, now)}. It runs in this conversation."

    async def schedule_list(context: ToolContext) -> str:
        """List the schedules of this conversation, with their ids and next runs."""
        origin = _origin(context)
        now = store.clock.now()
        found = await store.list(origin.session_key)
        if not found:
            return "No schedules in this conversation."
        return "\n".join(describe(item, now) for item in found)

    async def schedule_cancel(schedule_id: str, context: ToolContext) -> str:
        """Cancel one of this conversation's schedules; it will not run again.

        Args:
            schedule_id: Its id, as schedule_list shows it.
        """
        origin = _origin(context)
        try:
            record = await store.cancel(schedule_id.strip(), session_key=origin.session_key)
        except ScheduleError as exc:
            raise ToolError(f"not cancelled: {exc}") from exc
        return f"Cancelled {record.schedule_id} ({record.timing.describe()}): {record.prompt!r}."

    tools = [
        Tool(schedule_create, name="schedule_create"),
        Tool(schedule_list, name="schedule_list"),
        Tool(schedule_cancel, name="schedule_cancel"),
    ]
    assert {t.name for t in tools} == RUNTIME_TOOLS
    return {t.name: t for t in tools}
