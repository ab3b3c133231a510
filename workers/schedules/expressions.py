"""When a schedule runs: cron expressions, one-shot times and intervals, in a time zone.

Times are whole epoch seconds (UTC). A :class:`Timing` is exactly one of:

- ``cron``: a 5-field expression read in ``timezone`` by cronsim, which
  follows Debian's cron through daylight-saving changes: on a spring-forward
  night a run that falls into the skipped hour (``30 2 * * *``) fires once,
  at the jump (03:00); on a fall-back night a fixed-hour run fires once, at
  the first of the two 02:30s; runs with a wildcard hour (``*/30 * * * *``)
  follow real time through both passes of the repeated hour. cronsim can
  answer a time already past when started inside the repeated hour;
  :func:`cron_next` skips such answers, so a schedule never goes backwards.
- ``at``: once, at that instant. A local time without an offset is read in
  ``timezone``: one that does not exist (inside a spring-forward gap) is
  moved forward by the gap (02:30 → 03:30), an ambiguous one (fall-back) is
  the first.
- ``every``: every so many seconds of real time from ``start``; time zones
  and DST do not move it.

:func:`plan` decides what a due schedule does at ``now``: fire its latest
missed run if that is at most ``grace`` old (once, never a burst), skip the
rest, and the next run after ``now``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Self
from zoneinfo import ZoneInfo

from cronsim import CronSim
from pydantic import BaseModel, ConfigDict, model_validator

from core.config.models_cron import check_cron, check_timezone
from workers.schedules.errors import InvalidScheduleError

__all__ = [
    "Plan",
    "Timing",
    "cron_next",
    "format_time",
    "parse_at",
    "parse_cron",
    "plan",
    "zone",
]

MAX_STEPS = 100_000
"""Most cron runs walked through in one :func:`plan` (a guard: grace / period is far less)."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; InvalidScheduleError for an unknown one."""
    try:
        return ZoneInfo(check_timezone(name))
    except ValueError as exc:
        raise InvalidScheduleError(str(exc)) from exc


def parse_cron(expression: str) -> str:
    """The expression, normalized; InvalidScheduleError saying which field is wrong."""
    try:
        return check_cron(expression)
    except ValueError as exc:
        raise InvalidScheduleError(f"invalid cron expression: {exc}") from exc


def parse_at(text: str, timezone: str, now: float) -> int:
    """ISO 8601 ``text`` as epoch seconds (a naive time is read in ``timezone``).

    InvalidScheduleError when it is not a time, or not in the future.
    """
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidScheduleError(
            f"invalid time {text!r}: use ISO 8601, e.g. '2026-01-02T08:00' or "
            "'2026-01-02T08:00:00+01:00'"
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(timezone))
    epoch = math.ceil(when.timestamp())
    if epoch <= now:
        raise InvalidScheduleError(f"{text!r} is in the past (now is {format_time(now, timezone)})")
    return epoch


def cron_next(expression: str, timezone: str, after: float) -> int:
    """The first run of ``expression`` strictly after ``after`` (epoch seconds)."""
    runs = CronSim(expression, datetime.fromtimestamp(after, zone(timezone)))
    for _ in range(MAX_STEPS):
        when = int(next(runs).timestamp())
        if when > after:  # inside a repeated hour cronsim may answer an earlier time
            return when
    raise InvalidScheduleError(f"{expression!r} has no run after {format_time(after, timezone)}")


def format_time(epoch: float, timezone: str) -> str:
    """``2026-01-02 08:00 CET``: how a person reads a run time."""
    local = datetime.fromtimestamp(epoch, zone(timezone))
    return local.strftime("%Y-%m-%d %H:%M %Z").strip()


def iso_utc(epoch: float) -> str:
    """ISO 8601 in UTC, as the API shows ``next_run``."""
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class Timing(BaseModel):
    """When a schedule runs: exactly one of ``cron``, ``at``, ``every`` (with ``start``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cron: str | None = None
    at: int | None = None
    """Epoch seconds of the one run."""
    every: int | None = None
    """Seconds between runs."""
    start: int | None = None
    """Epoch seconds of an ``every`` schedule's first run; the others follow at whole intervals."""
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [name for name in ("cron", "at", "every") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"exactly one of cron, at, every; got {given or 'none'}")
        if self.every is not None and (self.every <= 0 or self.start is None):
            raise ValueError("every needs a positive interval and a start")
        return self

    @property
    def kind(self) -> Literal["cron", "at", "every"]:
        if self.cron is not None:
            return "cron"
        return "at" if self.at is not None else "every"

    def first(self, now: float) -> int:
        """The first run, made at ``now``: the one-shot's time, else the next run after now."""
        if self.at is not None:
            return self.at
        if self.every is not None and self.start is not None and self.start > now:
            return self.start
        following = self.next_after(now)
        assert following is not None  # only a one-shot has no next run
        return following

    def next_after(self, when: float) -> int | None:
        """The first run strictly after ``when``; None for a one-shot (it runs once)."""
        if self.cron is not None:
            return cron_next(self.cron, self.timezone, when)
        if self.every is not None and self.start is not None:
            if when < self.start:
                return self.start
            return self.start + (math.floor((when - self.start) / self.every) + 1) * self.every
        return None

    def describe(self) -> str:
        """``cron '0 8 * * 1-5' (Europe/Berlin)``, ``once at …``, ``every 3600 s``."""
        if self.cron is not None:
            return f"cron '{self.cron}' ({self.timezone})"
        if self.at is not None:
            return f"once at {format_time(self.at, self.timezone)}"
        return f"every {self.every} s"


@dataclass(frozen=True)
class Plan:
    """What a due schedule does now."""

    fire: int | None
    """The run to start now (its due time names the turn); None: none is recent enough."""
    next_run: int | None
    """The next run after now; None: the schedule is done (a one-shot)."""
    skipped_from: int | None
    """Runs from this time on (up to ``fire``, or all when nothing fires) were skipped."""


def _latest(timing: Timing, lower: int, now: float) -> int | None:
    """The latest run in ``[lower, now]``, if any."""
    if timing.every is not None and timing.start is not None:
        if now < timing.start:
            return None
        latest = timing.start + math.floor((now - timing.start) / timing.every) * timing.every
        return latest if latest >= lower else None
    found: int | None = None
    run = timing.next_after(lower - 1)
    for _ in range(MAX_STEPS):
        if run is None or run > now:
            break
        found, run = run, timing.next_after(run)
    return found


def plan(timing: Timing, due: int, now: float, grace: float) -> Plan:
    """Fire the latest run in ``[due, now]`` if it is at most ``grace`` old; skip older ones.

    After downtime a schedule fires once, for its latest missed run, or not at
    all when that run is older than ``grace``: never one turn per missed run.
    """
    if timing.at is not None:
        on_time = now - due <= grace
        return Plan(due if on_time else None, None, None if on_time else due)
    latest = _latest(timing, max(due, math.ceil(now - grace)), now)
    skipped = due if latest is None or latest > due else None
    return Plan(latest, timing.next_after(now), skipped)
