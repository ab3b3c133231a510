"""The schedule record: what runs, where it goes, who made it (docs/schedules.md).

A record never changes after it is written (a config job whose definition
changed is written anew); *when* it runs next is its score in the ``due``
zset, not a field here, so advancing a schedule is one compare-and-set on
that score.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.inbound import Inbound
from workers.approval_record import SCHEDULER_USER
from workers.schedules.expressions import Timing, iso_utc

__all__ = ["Origin", "ScheduleRecord", "Source", "new_schedule_id"]

Source = Literal["config", "agent", "api"]


def new_schedule_id() -> str:
    """Short enough to type after ``/unschedule``; 40 random bits."""
    return "s" + secrets.token_hex(5)


class Origin(BaseModel):
    """Where a scheduled turn comes from and goes back to: the inbound fields it reuses.

    For a schedule made in a chat these are the chat's own (its reply target —
    a Telegram topic's thread id — its approvers, its bot) and the person who
    asked; for a config job or one made over the API the user is
    :data:`~workers.approval_record.SCHEDULER_USER`, who never decides an
    approval.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str
    user_id: str = SCHEDULER_USER
    user_name: str = ""
    reply_to: dict[str, str] = Field(default_factory=dict)
    approvers: tuple[str, ...] = ()
    bot: str = "main"

    @classmethod
    def of(cls, inbound: Inbound) -> Origin:
        """The origin of a schedule made during ``inbound``'s turn."""
        return cls(
            channel=inbound.channel,
            user_id=inbound.user_id,
            user_name=inbound.user_name,
            reply_to=dict(inbound.reply_to),
            approvers=inbound.approvers,
            bot=inbound.bot,
        )


class ScheduleRecord(BaseModel):
    """One schedule, as stored at ``facio:schedule:{id}`` (JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schedule_id: str = Field(default_factory=new_schedule_id, pattern=r"^[A-Za-z0-9:_-]{1,80}$")
    session_key: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    timing: Timing
    source: Source
    created_by: str
    """The person's user id (agent), ``api`` (the operator), ``config``."""
    created_at: float = 0.0
    name: str | None = None
    """The config job's name."""
    origin: Origin
    fingerprint: str = ""
    """Config jobs: a digest of the definition; a changed job is written anew."""

    def inbound(self, due: int, *, approvers: tuple[str, ...] | None = None) -> Inbound:
        """The turn's message for the run due at ``due``; ``approvers`` replace the stored
        ones (the scheduler passes the channel's current ones).

        Its event id names the schedule and the run, so a fire retried after a
        crash is dropped by the inbox's dedupe like a redelivered platform update.
        """
        origin = self.origin
        return Inbound(
            channel=origin.channel,
            session_key=self.session_key,
            user_id=origin.user_id,
            user_name=origin.user_name,
            text=self.prompt,
            event_id=f"schedule:{self.schedule_id}:{due}",
            reply_to=origin.reply_to,
            approvers=origin.approvers if approvers is None else approvers,
            bot=origin.bot,
        )

    def public(self, next_run: float | None) -> dict[str, Any]:
        """The API's view (docs/schedules.md): ``cron`` | ``at`` | ``every``, ``next_run``."""
        timing = self.timing
        view: dict[str, Any] = {
            "schedule_id": self.schedule_id,
            "session_key": self.session_key,
            "prompt": self.prompt,
            "timezone": timing.timezone,
            "next_run": iso_utc(next_run) if next_run is not None else None,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "source": self.source,
        }
        if timing.cron is not None:
            view["cron"] = timing.cron
        elif timing.at is not None:
            view["at"] = iso_utc(timing.at)
        else:
            view["every"] = timing.every
        if self.name is not None:
            view["name"] = self.name
        return view
