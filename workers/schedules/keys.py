"""Redis keys of schedules (the runtime's own are in :mod:`workers.keys`).

- ``facio:schedule:{id}`` (string): the schedule record, JSON (:class:`ScheduleRecord`)
- ``facio:schedules:due`` (zset id → epoch seconds): every live schedule by its next
  run; the source of truth for *when*, advanced by compare-and-set on the score
- ``facio:schedules:session:{sk}`` (set): the ids of a session's schedules
- ``facio:schedules:config`` (set): the ids of config ``cron`` jobs (kept out of the caps)

Fired turns are deduplicated like platform events, with
``facio:seen:{channel}:schedule:{id}:{due}``.
"""

from __future__ import annotations

from workers.keys import PREFIX

__all__ = ["CONFIG", "DUE", "record", "session"]

DUE = PREFIX + "schedules:due"
CONFIG = PREFIX + "schedules:config"


def record(schedule_id: str) -> str:
    return f"{PREFIX}schedule:{schedule_id}"


def session(session_key: str) -> str:
    return f"{PREFIX}schedules:session:{session_key}"
