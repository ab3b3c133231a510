"""The scheduler's clock: a seam, so tests drive time instead of sleeping through it.

:class:`Clock` is what the scheduler, the store and the agent's tools use for
"now" and for waiting. Production uses :class:`SystemClock`. Tests pass a
:class:`ManualClock` (shipped, like the scripted provider) and move it with
``advance``/``set``; a sleeper wakes when the time it waits for is reached.

Real processes (``facio worker``, ``facio up``) in end-to-end tests cannot
be handed an object, so :func:`clock_from_env` reads one environment
variable, ``FACIO_TEST_CLOCK`` — **test-only**, documented as such in
docs/schedules.md: ``"<scale>@<anchor>"`` runs the schedules' clock
``scale`` times faster than real time from the epoch second ``anchor`` (all
processes given the same value agree on the time). Unset, the real clock is
used; set but malformed, the process refuses to start. Only schedules read
this clock: leases, approvals and the outbox keep real time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from typing import Protocol

from core.errors import ConfigError

__all__ = ["CLOCK_ENV", "Clock", "ManualClock", "ScaledClock", "SystemClock", "clock_from_env"]

logger = logging.getLogger(__name__)

CLOCK_ENV = "FACIO_TEST_CLOCK"
"""Test-only: ``"<scale>@<anchor epoch seconds>"`` speeds the schedules' clock up."""


class Clock(Protocol):
    """Wall-clock time for schedules, and a way to wait for it."""

    def now(self) -> float:
        """Epoch seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` of this clock have passed."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class ScaledClock:
    """Real time sped up ``scale`` times from ``anchor`` (epoch seconds): test-only."""

    def __init__(self, scale: float, anchor: float) -> None:
        if scale <= 0:
            raise ValueError("the clock's scale must be above 0")
        self.scale = scale
        self.anchor = anchor

    def now(self) -> float:
        return self.anchor + (time.time() - self.anchor) * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) / self.scale)


class ManualClock:
    """A clock that moves only when told: the test double of :class:`Clock`.

    ``sleep`` returns once ``advance``/``set`` has moved the time to its end
    (``sleep(0)`` yields once). Time never goes backwards through ``set``.
    """

    def __init__(self, start: float) -> None:
        self._now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + seconds, future))
        try:
            await future
        finally:
            self._sleepers = [(t, f) for t, f in self._sleepers if f is not future]

    def set(self, when: float) -> None:
        """Move to ``when`` (epoch seconds) and wake the sleepers whose time came."""
        self._now = max(self._now, when)
        for deadline, future in self._sleepers:
            if deadline <= self._now and not future.done():
                future.set_result(None)

    def advance(self, seconds: float) -> None:
        self.set(self._now + seconds)


def clock_from_env(environ: Mapping[str, str] | None = None) -> Clock:
    """The real clock, unless the test-only ``FACIO_TEST_CLOCK`` is set (see above)."""
    value = (os.environ if environ is None else environ).get(CLOCK_ENV, "")
    if not value:
        return SystemClock()
    scale, at, anchor = value.partition("@")
    try:
        clock = ScaledClock(float(scale), float(anchor) if at else time.time())
    except ValueError as exc:
        raise ConfigError(
            f"{CLOCK_ENV}={value!r} is not '<scale>@<anchor epoch>' ({exc}); it is for tests "
            "only: unset it"
        ) from exc
    logger.warning(
        "%s is set: schedules run on a test clock, %g× real time (tests only)",
        CLOCK_ENV,
        clock.scale,
    )
    return clock
