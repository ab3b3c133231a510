"""Scheduled turns: config ``cron`` jobs and the schedules people and agents make.

    expressions.py  Timing (cron / at / every, in a time zone), plan(): fire, skip, next
    record.py       ScheduleRecord and its Origin (where the turn goes, who made it)
    store.py        ScheduleStore: create (caps), list, cancel, the config's jobs
    scripts.py      the Lua scripts: create, cancel, advance, fire, sync
    scheduler.py    the fire loop every worker runs (exactly once, no leader)
    clock.py        the clock seam: SystemClock, ManualClock (tests), the test-only env clock
    tools.py        the agent's tools: schedule_create, schedule_list, schedule_cancel
    chat.py         what the chat commands /schedules and /unschedule say
    errors.py       ScheduleError and its kinds

The protocol and the keys are told in docs/schedules.md.
"""

from workers.schedules.clock import Clock, ManualClock, SystemClock, clock_from_env
from workers.schedules.errors import (
    ConfigScheduleError,
    InvalidScheduleError,
    ScheduleError,
    ScheduleLimitError,
    ScheduleNotFoundError,
)
from workers.schedules.expressions import Timing
from workers.schedules.record import Origin, ScheduleRecord
from workers.schedules.scheduler import Fired, Scheduler
from workers.schedules.store import Scheduled, ScheduleStore, timing_of

__all__ = [
    "Clock",
    "ConfigScheduleError",
    "Fired",
    "InvalidScheduleError",
    "ManualClock",
    "Origin",
    "ScheduleError",
    "ScheduleLimitError",
    "ScheduleNotFoundError",
    "ScheduleRecord",
    "ScheduleStore",
    "Scheduled",
    "Scheduler",
    "SystemClock",
    "Timing",
    "clock_from_env",
    "timing_of",
]
