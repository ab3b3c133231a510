"""Long polling: ``getUpdates`` in a loop, one poller per bot token.

Telegram allows one ``getUpdates`` at a time per token; a second poller gets
409 Conflict. Among facio gateways that share a Redis, only the one holding
the lease ``facio:telegram:poller:{bot_id}`` polls; the others stand by and
take over within :data:`LEASE_TTL` when it stops. A 409 therefore means a
program outside this deployment polls the token (or a webhook is set): it
is retried a few times (a restarted gateway's previous poll can linger for
its timeout), then polling stops and the channel's health says why — it is
not retried forever. A refused token (401) stops polling at once.

Updates are fetched raw (``GetRawUpdates``) and validated one by one, so a
malformed update — missing fields, a shape aiogram cannot read — is logged
and skipped instead of failing the whole batch and blocking the offset.
``allowed_updates`` is always sent explicitly. An update whose handling hit
a Redis error is not confirmed: polling backs off and Telegram sends it
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import DeleteWebhook
from aiogram.methods.base import TelegramMethod
from aiogram.types import Update
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from channels.telegram import keys

__all__ = ["ALLOWED_UPDATES", "LEASE_TTL", "GetRawUpdates", "Poller"]

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
POLL_TIMEOUT = 25
"""Seconds one getUpdates waits on Telegram's side for something to arrive."""
LEASE_TTL = 30.0
CONFLICT_LIMIT = 3
MAX_BACKOFF = 30.0

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class GetRawUpdates(TelegramMethod[list[dict[str, Any]]]):
    """``getUpdates`` returning the updates as JSON objects, validated by the caller."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


Handle = Callable[[Update], Awaitable[None]]


class Poller:
    """Polls while it holds the token's lease; :attr:`status` says how it goes."""

    def __init__(
        self,
        bot: Bot,
        redis: Redis,
        handle: Handle,
        *,
        timeout: int = POLL_TIMEOUT,
        lease_ttl: float = LEASE_TTL,
        conflict_limit: int = CONFLICT_LIMIT,
        retry_delay: float = 1.0,
        api_base: str = "the Telegram Bot API",
    ) -> None:
        self.bot = bot
        self.api_base = api_base
        self.redis = redis
        self.handle = handle
        self.timeout = timeout
        self.lease_ttl = lease_ttl
        self.conflict_limit = conflict_limit
        self.retry_delay = retry_delay
        self.owner = uuid.uuid4().hex
        self.key = keys.poller(bot.id)
        self.status = "starting"
        self.offset: int | None = None
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def run(self) -> None:
        """Stand by until the lease is ours, then poll until stopped or stopped for good."""
        try:
            while True:
                await self._acquire()
                keeper = asyncio.create_task(self._keep())
                poll = asyncio.create_task(self._poll())
                try:
                    done, _ = await asyncio.wait(
                        {keeper, poll}, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:  # also when run() itself is cancelled: no poll may outlive it
                    for task in (keeper, poll):
                        task.cancel()
                    await asyncio.gather(keeper, poll, return_exceptions=True)
                if poll in done:
                    return  # polling stopped for good (conflict, refused token)
                logger.warning("telegram: lost the polling lease; standing by")
        finally:
            with contextlib.suppress(RedisError):
                await self._release(keys=[self.key], args=[self.owner])

    async def _acquire(self) -> None:
        ttl = int(self.lease_ttl * 1000)
        while True:
            try:
                if await self.redis.set(self.key, self.owner, nx=True, px=ttl):
                    return
                self.status = "ok"  # standing by is healthy: another gateway polls
            except RedisError as exc:
                self.status = f"Redis unavailable: {type(exc).__name__}"
            await asyncio.sleep(self.lease_ttl / 6)

    async def _keep(self) -> None:
        """Renew the lease; return when it is lost."""
        ttl = str(int(self.lease_ttl * 1000))
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                if not await self._renew(keys=[self.key], args=[self.owner, ttl]):
                    return
            except RedisError:
                logger.warning("telegram: cannot renew the polling lease", exc_info=True)

    async def _poll(self) -> None:
        await self._drop_webhook()
        conflicts = 0
        failures = 0
        while True:
            method = GetRawUpdates(
                offset=self.offset, timeout=self.timeout, allowed_updates=ALLOWED_UPDATES
            )
            try:
                raw = await self.bot(method, request_timeout=self.timeout + 15)
            except TelegramUnauthorizedError:
                self._give_up("the Telegram token was refused (401 Unauthorized); polling stopped")
                return
            except TelegramConflictError as exc:
                conflicts += 1
                if conflicts >= self.conflict_limit:
                    self._give_up(
                        "another program is polling this bot token, or a webhook is set "
                        f"(Telegram: {exc.message}); run one poller per token. Polling stopped"
                    )
                    return
                logger.warning("telegram: getUpdates conflict (%s); retrying", exc.message)
                await asyncio.sleep(self.retry_delay * conflicts)
                continue
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            except TelegramAPIError as exc:
                failures += 1
                self.status = (
                    f"cannot reach {self.api_base} ({exc.message})"
                    if isinstance(exc, TelegramNetworkError | TelegramServerError)
                    else f"getUpdates failed: {exc.message}"
                )
                delay = min(self.retry_delay * 2 ** min(failures, 6), MAX_BACKOFF)
                logger.warning("telegram: getUpdates failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            conflicts = failures = 0
            self.status = "ok"
            await self._dispatch(raw)

    async def _drop_webhook(self) -> None:
        """Polling mode: a webhook left from webhook mode would make every poll a 409."""
        try:
            await self.bot(DeleteWebhook(drop_pending_updates=False))
        except TelegramAPIError as exc:
            logger.warning("telegram: deleteWebhook failed: %s", exc)

    def _give_up(self, why: str) -> None:
        self.status = why
        logger.error("telegram: %s", why)

    async def _dispatch(self, raw: list[dict[str, Any]]) -> None:
        for item in raw:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(update_id, int):
                logger.warning("telegram: an update without an update_id was skipped")
                continue
            try:
                update = Update.model_validate(item, context={"bot": self.bot})
            except ValidationError as exc:
                logger.warning(
                    "telegram: malformed update %s skipped: %s", update_id, _summary(exc)
                )
                self.offset = update_id + 1
                continue
            try:
                await self.handle(update)
            except RedisError:
                logger.warning("telegram: Redis failed on update %s; polling again", update_id)
                await asyncio.sleep(self.retry_delay)
                return  # not confirmed: Telegram sends it again
            except Exception:  # the loop boundary: one bad update must not stop the poller
                logger.exception("telegram: handling update %s failed; skipped", update_id)
            self.offset = update_id + 1


def _summary(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']} ({exc.error_count()} problem(s))"
