"""`cron`, `schedules` and `timezone`: prompts posted to a session on a schedule.

Cron expressions are checked by cronsim (the library the runtime iterates
them with, Debian cron's semantics), time zones by ``zoneinfo``: an invalid
one is a config error at its key path (``cron.2.schedule``,
``cron.2.timezone``). The runtime that fires them is ``workers/schedules/``
(docs/schedules.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import AfterValidator, Field, model_validator

from core.config.models_base import ConfigModel, Name, PositiveSeconds, Seconds

__all__ = [
    "CronExpression",
    "CronJob",
    "SchedulesConfig",
    "TimeZoneName",
    "check_cron",
    "check_timezone",
]

CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")


def check_cron(value: str) -> str:
    """``value`` when it is a valid 5-field cron expression; ValueError saying why not.

    cronsim also reads a 6th (seconds) field; facio's expressions are the
    classic five, so the count is checked first.
    """
    fields = value.split()
    if len(fields) != len(CRON_FIELDS):
        raise ValueError(
            f"expected 5 fields ({' '.join(CRON_FIELDS)}), e.g. '0 8 * * 1-5'; "
            f"got {len(fields)} in {value!r}"
        )
    try:
        CronSim(" ".join(fields), datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise ValueError(f"{exc} in {value!r}") from exc
    return " ".join(fields)


def check_timezone(value: str) -> str:
    """``value`` when it names an IANA time zone (``Europe/Berlin``, ``UTC``)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from exc
    return value


CronExpression = Annotated[str, AfterValidator(check_cron)]
"""A 5-field cron expression (minute hour day-of-month month day-of-week)."""

TimeZoneName = Annotated[str, AfterValidator(check_timezone)]
"""An IANA time zone name."""


class CronJob(ConfigModel):
    """A prompt posted to a session on a schedule, as if a person sent it."""

    name: Name
    """Unique name of the job (its schedule id is `config:<name>`)."""

    schedule: CronExpression
    """Cron expression in the job's time zone: minute hour day-of-month month day-of-week."""

    session: str = Field(default="", min_length=1)
    """Session key the prompt is posted to; defaults to `cron:<name>`."""

    prompt: str = Field(min_length=1)
    """The message posted to the agent."""

    timezone: TimeZoneName | None = None
    """IANA time zone of `schedule` (`Europe/Berlin`); unset: the config's `timezone`."""

    bot: Name | None = None
    """The bot (a key of `bots`) that answers; unset: the session channel's bot."""

    @model_validator(mode="before")
    @classmethod
    def _default_session(cls, data: Any) -> Any:
        if isinstance(data, dict) and "session" not in data and isinstance(data.get("name"), str):
            return {**data, "session": f"cron:{data['name']}"}
        return data


class SchedulesConfig(ConfigModel):
    """Scheduled turns: config `cron` jobs and the ones people and agents make."""

    grace: Seconds = 3600
    """Seconds a missed run may be late and still fire (once) after downtime; older runs are
    skipped and logged, never fired in a burst."""

    max_per_session: int = Field(default=20, ge=0)
    """Most schedules one session may hold (made by the agent or over the API; config jobs
    are not counted)."""

    max_total: int = Field(default=1000, ge=0)
    """Most schedules in all (config jobs not counted)."""

    min_interval: PositiveSeconds = 60
    """Shortest `every` interval, in seconds, a schedule may repeat at."""
