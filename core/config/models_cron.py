"""`cron`: prompts posted to a session on a schedule."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from core.config.models_base import ConfigModel, Name

_FIELD_RE = re.compile(r"^[0-9*,/-]+$")
_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")


def _check_schedule(value: str) -> str:
    fields = value.split()
    if len(fields) != len(_FIELD_NAMES):
        raise ValueError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), "
            f"e.g. '0 8 * * *'; got {len(fields)} in {value!r}"
        )
    for field, what in zip(fields, _FIELD_NAMES, strict=True):
        if not _FIELD_RE.match(field):
            raise ValueError(
                f"{what} field {field!r} may only hold digits, '*', ',', '-' and '/' ({value!r})"
            )
    return value


Schedule = Annotated[str, AfterValidator(_check_schedule)]
"""A 5-field cron expression, checked for shape (not for ranges)."""


class CronJob(ConfigModel):
    """A prompt posted to a session on a schedule, as if a person sent it."""

    name: Name
    """Unique name of the job."""

    schedule: Schedule
    """Cron expression in the server's local time: minute hour day-of-month month day-of-week."""

    session: str = Field(default="", min_length=1)
    """Session key the prompt is posted to; defaults to `cron:<name>`."""

    prompt: str = Field(min_length=1)
    """The message posted to the agent."""

    bot: Name | None = None
    """The bot (a key of `bots`) that answers; unset: the session channel's bot."""

    @model_validator(mode="before")
    @classmethod
    def _default_session(cls, data: Any) -> Any:
        if isinstance(data, dict) and "session" not in data and isinstance(data.get("name"), str):
            return {**data, "session": f"cron:{data['name']}"}
        return data
