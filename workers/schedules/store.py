"""Schedules in Redis: make, read, list, cancel, and the config's ``cron`` jobs.

Shared by the gateway (the API), the workers (the agent's tools, the
scheduler) and the CLI; every change is one script of
:mod:`workers.schedules.scripts`. Records are JSON strings at
``facio:schedule:{id}``; the next run of each is its score in
``facio:schedules:due`` (keys in :mod:`workers.schedules.keys`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from redis.asyncio import Redis

from core.config import CronJob, FacioConfig
from core.config.models_cron import check_timezone
from workers import scripts as runtime_scripts
from workers.codec import text
from workers.schedules import keys, scripts
from workers.schedules.clock import Clock, SystemClock
from workers.schedules.errors import (
    ConfigScheduleError,
    InvalidScheduleError,
    ScheduleLimitError,
    ScheduleNotFoundError,
)
from workers.schedules.expressions import Timing, parse_at, parse_cron, zone
from workers.schedules.record import Origin, ScheduleRecord, Source

__all__ = ["ScheduleStore", "Scheduled", "SyncReport", "default_bot", "read_record", "timing_of"]

logger = logging.getLogger(__name__)

CONFIG_PREFIX = "config:"
"""Schedule ids of config jobs: ``config:<name>``."""
READ_CHUNK = 500


def read_record(schedule_id: str, raw: bytes | str | None) -> ScheduleRecord | None:
    """The record stored for ``schedule_id``; None when there is none or it is unreadable
    (logged: it is left alone, for a person to look at)."""
    if raw is None:
        return None
    try:
        return ScheduleRecord.model_validate_json(raw)
    except ValidationError as exc:
        logger.error("schedule %s is unreadable (%s); leaving it alone", schedule_id, exc)
        return None


def default_bot(config: FacioConfig) -> str:
    """The bot of sessions no channel owns (``api:``, ``cron:``): ``main``, else the first."""
    return "main" if "main" in config.bots else next(iter(config.bots))


def timing_of(
    config: FacioConfig,
    now: float,
    *,
    cron: str | None = None,
    at: str | None = None,
    in_seconds: float | None = None,
    every: float | None = None,
    timezone: str | None = None,
) -> Timing:
    """The :class:`Timing` a request asks for: exactly one of the four, in ``timezone``
    (default: the config's). InvalidScheduleError says what is wrong."""
    given = [n for n, v in (("cron", cron), ("at", at), ("in", in_seconds), ("every", every)) if v]
    if len(given) != 1:
        raise InvalidScheduleError(
            "give exactly one of: a cron expression, a time (at), a delay in seconds, or "
            f"an interval in seconds (every); got {', '.join(given) or 'none'}"
        )
    tz = timezone or config.timezone
    zone(tz)
    if cron:
        return Timing(cron=parse_cron(cron), timezone=tz)
    if at:
        return Timing(at=parse_at(at, tz, now), timezone=tz)
    if in_seconds:
        if in_seconds < 1:
            raise InvalidScheduleError("the delay must be at least 1 second")
        return Timing(at=math.ceil(now + in_seconds), timezone=tz)
    assert every is not None
    if every < config.schedules.min_interval:
        raise InvalidScheduleError(
            f"an interval must be at least {config.schedules.min_interval:g} seconds; got {every:g}"
        )
    seconds = math.ceil(every)
    return Timing(every=seconds, start=math.ceil(now) + seconds, timezone=tz)


@dataclass(frozen=True)
class Scheduled:
    """A schedule and its next run (epoch seconds)."""

    record: ScheduleRecord
    next_run: int


@dataclass(frozen=True)
class SyncReport:
    written: list[str]
    """Config jobs written (new, or changed: their next run counts from now)."""
    removed: list[str]
    """Config jobs gone from the config, cancelled."""


class ScheduleStore:
    """Schedules on ``redis`` under ``config``'s caps, timed by ``clock``."""

    def __init__(self, redis: Redis, config: FacioConfig, *, clock: Clock | None = None) -> None:
        self.redis = redis
        self.config = config
        self.clock: Clock = clock or SystemClock()

    async def create(
        self,
        *,
        session_key: str,
        prompt: str,
        timing: Timing,
        source: Source,
        created_by: str,
        origin: Origin,
    ) -> Scheduled:
        """Store a new schedule; ScheduleLimitError when a cap is reached."""
        now = self.clock.now()
        record = ScheduleRecord(
            session_key=session_key,
            prompt=prompt,
            timing=timing,
            source=source,
            created_by=created_by,
            created_at=now,
            origin=origin,
        )
        first = timing.first(now)
        limits = self.config.schedules
        done = await runtime_scripts.run(
            self.redis,
            scripts.CREATE,
            [keys.record(record.schedule_id), keys.DUE, keys.session(session_key), keys.CONFIG],
            [
                record.schedule_id,
                record.model_dump_json(),
                str(first),
                str(limits.max_per_session),
                str(limits.max_total),
            ],
        )
        if done == -1:
            raise ScheduleLimitError(
                f"this conversation has reached its limit of {limits.max_per_session} "
                "schedules: cancel one first"
            )
        if done == -2:
            raise ScheduleLimitError(
                f"facio has reached its limit of {limits.max_total} schedules in all: "
                "cancel one first"
            )
        if done != 1:  # 40 random bits: only a bug makes ids collide
            raise InvalidScheduleError(f"schedule id {record.schedule_id} is taken; try again")
        return Scheduled(record, first)

    async def get(self, schedule_id: str) -> ScheduleRecord | None:
        raw = await self.redis.get(keys.record(schedule_id))
        return read_record(schedule_id, raw)

    async def next_run(self, schedule_id: str) -> int | None:
        score = await self.redis.zscore(keys.DUE, schedule_id)
        return None if score is None else int(score)

    async def list(self, session_key: str | None = None) -> list[Scheduled]:
        """Schedules by next run, soonest first; all of them, or one session's."""
        if session_key is None:
            pairs = await self.redis.zrange(keys.DUE, 0, -1, withscores=True)
            due = [(text(i), int(s)) for i, s in pairs]
        else:
            ids = sorted(text(i) for i in await self.redis.smembers(keys.session(session_key)))  # type: ignore[misc]
            scores = await self.redis.zmscore(keys.DUE, ids) if ids else []
            due = sorted(
                ((i, int(s)) for i, s in zip(ids, scores, strict=True) if s is not None),
                key=lambda pair: pair[1],
            )
        found: list[Scheduled] = []
        for start in range(0, len(due), READ_CHUNK):
            chunk = due[start : start + READ_CHUNK]
            raws = await self.redis.mget([keys.record(i) for i, _ in chunk])
            for (schedule_id, score), raw in zip(chunk, raws, strict=True):
                record = read_record(schedule_id, raw)
                if record is not None:
                    found.append(Scheduled(record, score))
        return found

    async def cancel(self, schedule_id: str, *, session_key: str | None = None) -> ScheduleRecord:
        """Remove a schedule; with ``session_key``, only one of that session's.

        ScheduleNotFoundError for an unknown id (or another session's),
        ConfigScheduleError for a config job.
        """
        record = await self.get(schedule_id)
        if record is None or session_key not in (None, record.session_key):
            raise ScheduleNotFoundError(f"no schedule {schedule_id!r} here")
        done = await self._cancel(record, session_key=session_key or "", config=False)
        if done == -1:
            raise ConfigScheduleError(
                f"{schedule_id} is the config job {record.name!r}: change or remove it in "
                "config.json"
            )
        if done != 1:
            raise ScheduleNotFoundError(f"no schedule {schedule_id!r} here")
        return record

    async def _cancel(self, record: ScheduleRecord, *, session_key: str, config: bool) -> int:
        schedule_id = record.schedule_id
        return await runtime_scripts.run(
            self.redis,
            scripts.CANCEL,
            [
                keys.record(schedule_id),
                keys.DUE,
                keys.session(record.session_key),
                keys.CONFIG,
            ],
            [schedule_id, session_key, "1" if config else "0"],
        )

    async def sync_config(self) -> SyncReport:
        """Make Redis hold exactly the config's ``cron`` jobs.

        A job whose definition is unchanged keeps its next run (so a restart
        does not skip a run that came due while everything was down: the
        scheduler's grace decides); a new or changed one is written with its
        first run after now; one no longer in the config is cancelled.
        Every worker does this when it starts; the last one started wins.
        """
        now = self.clock.now()
        written: list[str] = []
        for job in self.config.cron:
            record = self.config_record(job, now)
            old = await self.get(record.schedule_id)
            done = await runtime_scripts.run(
                self.redis,
                scripts.SYNC,
                [
                    keys.record(record.schedule_id),
                    keys.DUE,
                    keys.session(record.session_key),
                    keys.CONFIG,
                    keys.session(old.session_key if old else record.session_key),
                ],
                [
                    record.schedule_id,
                    record.model_dump_json(),
                    record.fingerprint,
                    str(record.timing.first(now)),
                ],
            )
            if done == 1:
                written.append(record.schedule_id)
        wanted = {CONFIG_PREFIX + job.name for job in self.config.cron}
        removed: list[str] = []
        for schedule_id in sorted(text(i) for i in await self.redis.smembers(keys.CONFIG)):  # type: ignore[misc]
            if schedule_id in wanted:
                continue
            stale = await self.get(schedule_id)
            if stale is None:
                await self.redis.srem(keys.CONFIG, schedule_id)  # type: ignore[misc]
            elif await self._cancel(stale, session_key="", config=True) == 1:
                removed.append(schedule_id)
        if written or removed:
            logger.info("config cron jobs written %s, removed %s", written, removed)
        return SyncReport(written, removed)

    def operator_origin(self, session_key: str, user_name: str, bot: str | None = None) -> Origin:
        """The origin of a schedule the operator made (config, API) for ``session_key``.

        No person asked: the user is the scheduler, who never decides, so its
        approvals are the channel's ``approvers``' and the operator's (in a
        ``cron:``/``api:`` session, the operator's alone). The answer goes to
        the chat the session key names (the channel finds it from the key).
        """
        channel = session_key.partition(":")[0]
        settings = self.config.channels.enabled().get(channel)
        approvers: Sequence[str] = settings.approvers if settings is not None else ()
        return Origin(
            channel=channel,
            user_name=user_name,
            approvers=tuple(a.strip() for a in approvers if a.strip()),
            bot=bot or (settings.bot if settings is not None else default_bot(self.config)),
        )

    def config_record(self, job: CronJob, now: float) -> ScheduleRecord:
        """The record of a config ``cron`` job: the operator's, answered in its session's chat."""
        timing = Timing(
            cron=job.schedule, timezone=check_timezone(job.timezone or self.config.timezone)
        )
        origin = self.operator_origin(job.session, f"cron job {job.name}", job.bot)
        definition = json.dumps(
            [job.session, job.prompt, timing.model_dump(), origin.model_dump()], sort_keys=True
        )
        return ScheduleRecord(
            schedule_id=CONFIG_PREFIX + job.name,
            session_key=job.session,
            prompt=job.prompt,
            timing=timing,
            source="config",
            created_by="config",
            created_at=now,
            name=job.name,
            origin=origin,
            fingerprint=hashlib.sha256(definition.encode()).hexdigest()[:16],
        )
