"""The errors of schedules, mapped once at each boundary (tool result, HTTP status, chat text).

ScheduleError (FacioError)
├── InvalidScheduleError     a bad cron expression, time, interval or zone (HTTP 422)
├── ScheduleLimitError       a per-session or global cap is reached (HTTP 409)
├── ScheduleNotFoundError    no such schedule, or not one of this session's (HTTP 404)
└── ConfigScheduleError      a config job: only config.json changes it (HTTP 409)
"""

from __future__ import annotations

from core.errors import FacioError

__all__ = [
    "ConfigScheduleError",
    "InvalidScheduleError",
    "ScheduleError",
    "ScheduleLimitError",
    "ScheduleNotFoundError",
]


class ScheduleError(FacioError):
    """A schedule cannot be made or changed; the message says why, for a person or a model."""


class InvalidScheduleError(ScheduleError):
    """The expression, time, interval or time zone is not valid."""


class ScheduleLimitError(ScheduleError):
    """The session or the whole runtime holds as many schedules as it may."""


class ScheduleNotFoundError(ScheduleError):
    """No schedule by that id (for a chat: none by that id in this session)."""


class ConfigScheduleError(ScheduleError):
    """The schedule is a config `cron` job: edit config.json to change or remove it."""
