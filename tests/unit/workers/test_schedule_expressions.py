"""When schedules run: cron in a time zone through DST, one-shots, intervals, and the
missed-run plan (fire once within the grace, never a burst)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workers.schedules.errors import InvalidScheduleError
from workers.schedules.expressions import Plan, Timing, format_time, parse_at, plan

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def utc(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp())  # type: ignore[misc]


def runs(timing: Timing, start: int, end: int) -> list[str]:
    """The runs in ``(start, end]`` as local times, as a person reads them."""
    found: list[str] = []
    when = timing.next_after(start)
    while when is not None and when <= end:
        found.append(format_time(when, timing.timezone))
        when = timing.next_after(when)
    return found


def test_cron_runs_in_its_time_zone() -> None:
    weekdays = Timing(cron="0 9 * * 1-5", timezone=BERLIN)
    # Friday 2026-01-02 → the next runs are Fri 9:00 CET, then Mon and Tue
    assert runs(weekdays, utc(2026, 1, 1, 12), utc(2026, 1, 6, 12)) == [
        "2026-01-02 09:00 CET",
        "2026-01-05 09:00 CET",
        "2026-01-06 09:00 CET",
    ]
    assert weekdays.next_after(utc(2026, 1, 2, 7, 59)) == utc(2026, 1, 2, 8, 0)  # 9:00 CET


def test_spring_forward_a_run_in_the_skipped_hour_fires_once_at_the_jump() -> None:
    night = (utc(2025, 3, 29, 22), utc(2025, 3, 31, 6))  # Berlin: 02:00 → 03:00 on the 30th
    assert runs(Timing(cron="30 2 * * *", timezone=BERLIN), *night) == [
        "2025-03-30 03:00 CEST",  # the skipped 02:30 runs once, at the jump
        "2025-03-31 02:30 CEST",
    ]
    hourly = runs(
        Timing(cron="0 * * * *", timezone=BERLIN), utc(2025, 3, 29, 23, 30), utc(2025, 3, 30, 2, 30)
    )
    assert hourly == ["2025-03-30 01:00 CET", "2025-03-30 03:00 CEST", "2025-03-30 04:00 CEST"]
    # New York jumps at 02:00 local too, on another date
    assert runs(
        Timing(cron="30 2 * * *", timezone=NEW_YORK), utc(2025, 3, 9, 0), utc(2025, 3, 9, 12)
    ) == ["2025-03-09 03:00 EDT"]


def test_fall_back_a_fixed_time_fires_once_and_wildcard_hours_follow_real_time() -> None:
    night = (utc(2025, 10, 25, 22), utc(2025, 10, 27, 6))  # Berlin: 03:00 → 02:00 on the 26th
    assert runs(Timing(cron="30 2 * * *", timezone=BERLIN), *night) == [
        "2025-10-26 02:30 CEST",  # the first 02:30 only, not the repeated one
        "2025-10-27 02:30 CET",
    ]
    half_hourly = runs(
        Timing(cron="*/30 * * * *", timezone=BERLIN),
        utc(2025, 10, 25, 23, 45),
        utc(2025, 10, 26, 2, 0),
    )
    assert half_hourly == [
        "2025-10-26 02:00 CEST",
        "2025-10-26 02:30 CEST",
        "2025-10-26 02:00 CET",
        "2025-10-26 02:30 CET",
        "2025-10-26 03:00 CET",
    ]


def test_inside_the_repeated_hour_the_next_run_never_goes_backwards() -> None:
    # cronsim, started at 02:10 of the second pass, answers the first pass's 02:30 (the past)
    second_pass = utc(2025, 10, 26, 1, 10)  # 02:10 CET
    daily = Timing(cron="30 2 * * *", timezone=BERLIN)
    assert daily.next_after(second_pass) == utc(2025, 10, 27, 1, 30)  # tomorrow 02:30 CET


def test_every_is_real_time_from_its_start() -> None:
    every = Timing(every=3600, start=utc(2025, 10, 26, 0, 0), timezone=BERLIN)
    assert every.next_after(utc(2025, 10, 25, 0, 0)) == utc(2025, 10, 26, 0, 0)
    assert every.next_after(utc(2025, 10, 26, 0, 0)) == utc(2025, 10, 26, 1, 0)  # through DST
    assert every.next_after(utc(2025, 10, 26, 2, 30)) == utc(2025, 10, 26, 3, 0)
    assert every.first(utc(2025, 10, 25, 0, 0)) == utc(2025, 10, 26, 0, 0)


def test_at_reads_local_times_in_the_zone_and_refuses_the_past() -> None:
    now = utc(2026, 1, 1, 12)
    assert parse_at("2026-01-02T08:00", BERLIN, now) == utc(2026, 1, 2, 7, 0)
    assert parse_at("2026-01-02T08:00:00+00:00", BERLIN, now) == utc(2026, 1, 2, 8, 0)
    assert parse_at("2026-01-02T08:00:00Z", BERLIN, now) == utc(2026, 1, 2, 8, 0)
    # a time in the spring-forward gap moves forward by the gap; an ambiguous one is the first
    assert parse_at("2026-03-29T02:30", BERLIN, now) == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    assert parse_at("2026-10-25T02:30", BERLIN, now) == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    with pytest.raises(InvalidScheduleError, match="in the past"):
        parse_at("2025-12-31T08:00", BERLIN, now)
    with pytest.raises(InvalidScheduleError, match="ISO 8601"):
        parse_at("tomorrow at 8", BERLIN, now)
    with pytest.raises(InvalidScheduleError, match="unknown time zone"):
        parse_at("2026-01-02T08:00", "Mars/Olympus", now)


def test_timing_is_exactly_one_kind() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Timing(cron="* * * * *", at=1)
    with pytest.raises(ValueError, match="exactly one"):
        Timing()
    assert Timing(at=5).kind == "at" and Timing(at=5).next_after(0) is None


MINUTE = 60
GRACE = 600.0


def test_a_run_on_time_fires_and_moves_to_the_next() -> None:
    every_minute = Timing(cron="* * * * *")
    due = utc(2026, 1, 1, 8, 0)
    assert plan(every_minute, due, due + 0.2, GRACE) == Plan(due, due + MINUTE, None)


def test_after_downtime_shorter_than_the_grace_the_latest_missed_run_fires_once() -> None:
    every_minute = Timing(cron="* * * * *")
    due = utc(2026, 1, 1, 8, 0)
    now = due + 5 * MINUTE + 20  # five runs missed
    decided = plan(every_minute, due, now, GRACE)
    assert decided == Plan(due + 5 * MINUTE, due + 6 * MINUTE, due)  # one turn, not six
    daily = Timing(cron="0 8 * * *")
    assert plan(daily, due, due + 300, GRACE) == Plan(due, due + 86400, None)


def test_after_downtime_longer_than_the_grace_nothing_fires() -> None:
    daily = Timing(cron="0 8 * * *")
    due = utc(2026, 1, 1, 8, 0)
    assert plan(daily, due, due + 3 * 3600, GRACE) == Plan(None, due + 86400, due)
    hourly_every = Timing(every=3600, start=due)
    now = due + 5 * 3600 + 1200  # the latest run is 20 min old
    assert plan(hourly_every, due, now, GRACE) == Plan(None, due + 6 * 3600, due)
    assert plan(hourly_every, due, due + 5 * 3600 + 300, GRACE) == Plan(
        due + 5 * 3600, due + 6 * 3600, due
    )


def test_a_one_shot_fires_within_the_grace_and_is_dropped_after_it() -> None:
    due = utc(2026, 1, 1, 8, 0)
    once = Timing(at=due)
    assert plan(once, due, due + GRACE, GRACE) == Plan(due, None, None)
    assert plan(once, due, due + GRACE + 1, GRACE) == Plan(None, None, due)


def test_plan_never_walks_more_than_the_grace() -> None:
    every_minute = Timing(cron="* * * * *")
    due = utc(2020, 1, 1, 0, 0)
    now = utc(2026, 1, 1, 8, 0, 30)  # six years of missed minutes
    assert plan(every_minute, due, now, GRACE) == Plan(now - 30, now + 30, due)
