"""Long polling: ``getUpdates`` in a loop, one poller per bot token.

Telegram allows one ``getUpdates`` at a time per token; a second poller gets
409 Conflict. Among facio gateways that share a Redis, only the one holding
the polling lease (``facio:telegram:poller:{bot_id}``, a
:class:`~channels.runtime.Lease`) polls; the others stand
by and take over when it stops. A 409 therefore means a program outside this
deployment polls the token (or a webhook is set): it is retried a few times
(a restarted gateway's previous poll can linger for its timeout), then
polling stops and the channel's health says why — it is not retried forever.
A refused token (401) stops polling at once. Anything else — the network, a
5xx, a proxy answering an HTML page instead of JSON, even an error nobody
expected — is logged, shown in health, and retried with backoff: polling
never ends silently.

Updates are fetched raw (``GetRawUpdates``) and validated one by one, so a
malformed update — missing fields, a shape aiogram cannot read — is logged
and skipped instead of failing the whole batch and blocking the offset.
``allowed_updates`` is always sent explicitly. An update whose handling hit
a Redis error is not confirmed: polling backs off and Telegram sends it
again. An update without an ``update_id`` cannot be confirmed at all
(getUpdates confirms by id): it is logged and skipped, and a batch that
confirms nothing is followed by a pause, not by an immediate poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import DeleteWebhook
from aiogram.methods.base import TelegramMethod
from aiogram.types import Update
from pydantic import ValidationError
from redis.exceptions import RedisError

from channels.runtime import Lease
from channels.telegram.errors import (
    CALL_FAILURES,
    PollingConflict,
    TelegramChannelError,
    TelegramUnreachable,
    TokenRefused,
    map_error,
)

__all__ = ["ALLOWED_UPDATES", "LEASE_TTL", "POLL_TIMEOUT", "GetRawUpdates", "Poller"]

logger = logging.getLogger(__name__)

LEASE_TTL = 30.0
"""Seconds the polling lease outlives a gateway that stopped renewing it."""
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
POLL_TIMEOUT = 25
"""Seconds one getUpdates waits on Telegram's side for something to arrive."""
CONFLICT_LIMIT = 3
MAX_BACKOFF = 30.0


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
        lease: Lease,
        handle: Handle,
        *,
        timeout: int = POLL_TIMEOUT,
        conflict_limit: int = CONFLICT_LIMIT,
        retry_delay: float = 1.0,
        api_base: str = "the Telegram Bot API",
        replay: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``replay`` runs each time the lease is won, before the first poll: the
        updates a previous poller confirmed but did not finish are handled first."""
        self.bot = bot
        self.api_base = api_base
        self.handle = handle
        self.replay = replay
        self.timeout = timeout
        self.conflict_limit = conflict_limit
        self.retry_delay = retry_delay
        self.lease = lease
        """Held while polling: one poller per bot token among the gateways."""
        self.status = "starting"
        self.offset: int | None = None

    def _report(self, status: str) -> None:
        self.status = status

    async def run(self) -> None:
        """Stand by until the lease is ours, then poll until stopped or stopped for good."""
        try:
            while True:
                await self.lease.acquire(self._report)
                keeper = asyncio.create_task(self.lease.keep(), name="telegram-lease")
                poll = asyncio.create_task(self._poll(), name="telegram-poll")
                try:
                    done, _ = await asyncio.wait(
                        {keeper, poll}, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:  # also when run() itself is cancelled: no poll may outlive it
                    for task in (keeper, poll):
                        task.cancel()
                    results = await asyncio.gather(keeper, poll, return_exceptions=True)
                for task, result in zip((keeper, poll), results, strict=True):
                    self._check(task, result)
                if poll in done:
                    return  # polling stopped for good; status and log say why
                logger.warning("telegram: lost the polling lease; standing by")
                await self.lease.release()  # a no-op unless the keeper itself failed
        finally:
            await self.lease.release()

    def _check(self, task: asyncio.Task[None], result: BaseException | None) -> None:
        """No task ends with an exception unnoticed: log it and put it in the status."""
        if result is None or isinstance(result, asyncio.CancelledError):
            return
        what = "polling stopped" if task.get_name() == "telegram-poll" else "lease lost"
        self.status = f"{what}: {task.get_name()} failed ({type(result).__name__}); see the log"
        logger.error("telegram: %s", self.status, exc_info=result)

    def _backoff(self, failures: int) -> float:
        return float(min(self.retry_delay * 2 ** min(failures, 6), MAX_BACKOFF))

    async def _poll(self) -> None:
        await self._drop_webhook()
        if self.replay is not None:
            await self.replay()
        conflicts = 0
        failures = 0
        while True:
            method = GetRawUpdates(
                offset=self.offset, timeout=self.timeout, allowed_updates=ALLOWED_UPDATES
            )
            try:
                raw = await self.bot(method, request_timeout=self.timeout + 15)
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            except CALL_FAILURES as exc:
                error = map_error(exc, "getUpdates", self.bot.token)
                if isinstance(error, TokenRefused):
                    self._give_up(f"{error}; polling stopped")
                    return
                if isinstance(error, PollingConflict):
                    conflicts += 1
                    if conflicts >= self.conflict_limit:
                        self._give_up(
                            "another program is polling this bot token, or a webhook is set "
                            f"({error}); run one poller per token. Polling stopped"
                        )
                        return
                    logger.warning("telegram: %s; retrying", error)
                    await asyncio.sleep(self.retry_delay * conflicts)
                    continue
                failures += 1
                await self._failed(error, failures)
                continue
            except Exception as exc:  # the loop boundary: nothing may end polling unseen
                failures += 1
                logger.exception("telegram: getUpdates failed unexpectedly")
                self.status = f"getUpdates failed unexpectedly ({type(exc).__name__})"
                await asyncio.sleep(self._backoff(failures))
                continue
            conflicts = failures = 0
            self.status = "ok"
            if not await self._dispatch(raw):
                await asyncio.sleep(self.retry_delay)

    async def _failed(self, error: TelegramChannelError, failures: int) -> None:
        self.status = (
            f"cannot reach {self.api_base} ({error})"
            if isinstance(error, TelegramUnreachable)
            else f"getUpdates failed: {error}"
        )
        delay = self._backoff(failures)
        logger.warning("telegram: %s; retrying in %.0f s", error, delay)
        await asyncio.sleep(delay)

    async def _drop_webhook(self) -> None:
        """Polling mode: a webhook left from webhook mode would make every poll a 409."""
        try:
            await self.bot(DeleteWebhook(drop_pending_updates=False))
        except CALL_FAILURES as exc:
            error = map_error(exc, "deleteWebhook", self.bot.token)
            logger.warning("telegram: %s", error)

    def _give_up(self, why: str) -> None:
        self.status = why
        logger.error("telegram: %s", why)

    async def _dispatch(self, raw: list[dict[str, Any]]) -> bool:
        """Handle a batch in order; False when it confirmed nothing (so do not poll at once)."""
        before = self.offset
        for item in raw:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(update_id, int):
                logger.warning(
                    "telegram: an update without an update_id was skipped; it cannot be "
                    "confirmed (getUpdates confirms by update_id), so it may come again"
                )
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
                return False  # not confirmed: Telegram sends it again
            except TelegramChannelError as exc:
                logger.warning("telegram: handling update %s failed; skipped: %s", update_id, exc)
            except Exception:  # the loop boundary: one bad update must not stop the poller
                logger.exception("telegram: handling update %s failed; skipped", update_id)
            self.offset = update_id + 1
        return not raw or self.offset != before


def _summary(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']} ({exc.error_count()} problem(s))"
