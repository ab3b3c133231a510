"""Session histories and permission rules in Redis: core's store seams for the runtime.

Every worker and the gateway see the same histories and rules, so they live
in Redis behind the protocols the SDK's file stores implement
(:class:`core.sessions.SessionStore`, :class:`core.permissions.PermissionStore`).
The keys are those of docs/runtime.md ("Redis keys"), named in :mod:`workers.keys`.

Bytes, not text: the Redis client is shared with arq, which needs
``decode_responses=False``, so replies arrive as bytes and are decoded here
(UTF-8, strictly). A client made with ``decode_responses=True`` works too.

Histories are kept incrementally: a store remembers the sessions it read
lately (parsed; at most :data:`CACHED_SESSIONS` of them and about
:data:`CACHED_WEIGHT` bytes, by :func:`weight`) and reads only what was
appended since, so a turn costs the same whatever the history's length.
Appending never rewrites what is there; anything that does (a reset, a
replace) bumps the session's history *version* (``facio:histver:{sk}``) in
the same transaction, and a remembered history whose version changed is
read again whole.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from core.errors import CorruptSessionError, SessionStoreError
from core.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolResult,
    ToolStarted,
    UserMessage,
    message_from_json,
    message_to_json,
)
from workers import keys
from workers.codec import text
from workers.redis_calls import sadd, smembers


def _texts(values: Iterable[bytes | str]) -> set[str]:
    return {text(v) for v in values}


def _check_key(session_key: str) -> None:
    if not session_key:
        raise SessionStoreError("a session key must not be empty")


def _stage(pipe: Pipeline, session_key: str, items: list[str], *, replace: bool) -> None:
    key = keys.history(session_key)
    if replace:
        pipe.delete(key)
        pipe.incr(keys.histver(session_key))
    if items:
        pipe.rpush(key, *items)
    pipe.sadd(keys.SESSIONS, session_key)


async def forget_session(redis: Redis, session_key: str) -> None:
    """Reset a session at once: its history and its "allow for session" rules go,
    in one transaction. "Always" rules belong to the bot and stay."""
    _check_key(session_key)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(keys.history(session_key))
        pipe.incr(keys.histver(session_key))
        pipe.srem(keys.SESSIONS, session_key)
        pipe.zrem(keys.SESSION_ACTIVITY, session_key)
        pipe.delete(keys.perm_session(session_key))
        await pipe.execute()


CACHED_SESSIONS = 256
"""Histories a store remembers at most (the most recently used)."""
CACHED_WEIGHT = 128 * 1024 * 1024
"""And at most this much of them, by :func:`weight`: about their bytes in memory.
The most recent history is kept even when it alone weighs more."""
_OVERHEAD: dict[type, int] = {
    UserMessage: 550,
    AssistantMessage: 1000,
    ToolStarted: 500,
    ToolResult: 1000,
    ToolCall: 600,
}
"""What a parsed message (or tool call) takes beside its texts: its objects, in bytes
(measured with tracemalloc on CPython 3.11, pydantic 2.13)."""
_ITEM_OVERHEAD = 800
"""The same for a message read from Redis, weighed by its JSON's length (no second pass
over what was just parsed): between 450 and 1,000 beside the JSON, by kind."""


def weight(message: Message) -> int:
    """About the bytes ``message`` takes in memory once parsed: its texts and its objects."""
    heavy = _OVERHEAD[type(message)]
    if isinstance(message, AssistantMessage):
        heavy += len(message.content) + len(message.thinking)
        heavy += sum(len(c.arguments) + _OVERHEAD[ToolCall] for c in message.tool_calls)
    elif not isinstance(message, ToolStarted):
        heavy += len(message.content)
    return heavy


@dataclass
class _Cached:
    version: str
    messages: list[Message]
    weight: int


@dataclass(frozen=True)
class StagedLoad:
    """A history read queued on a pipeline: its results are the pipeline's at
    :attr:`at` and the next one (the version, then the items)."""

    session_key: str
    start: int
    """Where the read began: 0, or the length of the remembered history."""
    at: int


class RedisSessionStore:
    """Each history is the list ``facio:history:{sk}``, one JSON message per item.

    A batch of messages is one RPUSH, so it lands whole and concurrent
    appends never interleave inside one; MULTI/EXEC keeps the history and the
    ``facio:sessions`` index in step (isolation; Redis has no rollback, but
    the only command that can fail at run time, RPUSH on a key that is not
    a list, adds nothing). Reading is strict:
    an item that is not a message raises :class:`CorruptSessionError` naming
    the session and the item's index, and nothing is changed. Redis failures
    (connection lost, a key of the wrong type) raise :class:`SessionStoreError`.
    """

    def __init__(
        self, redis: Redis, *, cache_size: int = CACHED_SESSIONS, cache_weight: int = CACHED_WEIGHT
    ) -> None:
        self.redis = redis
        self.cache_size = cache_size
        self.cache_weight = cache_weight
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._weight = 0

    def stage_load(self, pipe: Pipeline, session_key: str, at: int) -> StagedLoad:
        """Queue the reads of a history on ``pipe`` (its results at ``at`` and ``at + 1``):
        only what came after the remembered part, when there is one."""
        _check_key(session_key)
        cached = self._cache.get(session_key)
        start = len(cached.messages) if cached is not None else 0
        pipe.get(keys.histver(session_key))
        pipe.lrange(keys.history(session_key), start, -1)
        return StagedLoad(session_key, start, at)

    async def finish_load(self, staged: StagedLoad, results: list[object]) -> list[Message]:
        """The history from the pipeline's results (read again whole if it was rewritten)."""
        sk = staged.session_key
        raw_version, items = results[staged.at], results[staged.at + 1]
        version = text(raw_version) if isinstance(raw_version, bytes | str) else ""
        cached = self._cache.get(sk)
        assert isinstance(items, list)
        added = sum(map(len, items)) + _ITEM_OVERHEAD * len(items)
        if staged.start == 0:
            messages = self._parse(sk, items, 0)
        elif cached is not None and cached.version == version:
            messages = cached.messages + self._parse(sk, items, staged.start)
            added += cached.weight
        else:  # rewritten (reset) since it was remembered: read it all again
            self.forget(sk)
            return await self.load(sk)
        self._keep(sk, _Cached(version, messages, added))
        return list(messages)

    def remember(self, session_key: str, version: str, messages: list[Message]) -> None:
        """Keep ``messages`` as the history of ``session_key`` at ``version``; the least
        recently used go while there are more than :attr:`cache_size` or they weigh
        more than :attr:`cache_weight`."""
        known = self._cache.get(session_key)
        if known is not None and known.version == version and len(messages) >= len(known.messages):
            # a turn's history: what was remembered and what the turn added
            heavy = known.weight + sum(map(weight, messages[len(known.messages) :]))
        else:
            heavy = sum(map(weight, messages))
        self._keep(session_key, _Cached(version, list(messages), heavy))

    def _keep(self, session_key: str, cached: _Cached) -> None:
        self.forget(session_key)
        self._cache[session_key] = cached
        self._weight += cached.weight
        while len(self._cache) > 1 and (
            len(self._cache) > self.cache_size or self._weight > self.cache_weight
        ):
            self._weight -= self._cache.popitem(last=False)[1].weight

    @property
    def remembered_weight(self) -> int:
        """What the remembered histories weigh (:func:`weight`)."""
        return self._weight

    def version_of(self, session_key: str) -> str | None:
        """The version of the remembered history, None when none is remembered."""
        cached = self._cache.get(session_key)
        return cached.version if cached is not None else None

    def forget(self, session_key: str) -> None:
        """Drop what is remembered of ``session_key`` (it was written elsewhere)."""
        known = self._cache.pop(session_key, None)
        if known is not None:
            self._weight -= known.weight

    def _parse(self, session_key: str, items: list[bytes | str], offset: int) -> list[Message]:
        messages: list[Message] = []
        for index, item in enumerate(items, start=offset):
            try:
                messages.append(message_from_json(item))
            except ValidationError as exc:
                self.forget(session_key)
                raise CorruptSessionError(
                    f"session {session_key!r}: item {index} of {keys.history(session_key)} is "
                    f"not a valid message ({exc.errors()[0]['msg']}); the history was not "
                    "loaded so that nothing is lost — repair or remove that item"
                ) from exc
        return messages

    async def load(self, session_key: str) -> list[Message]:
        _check_key(session_key)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                staged = self.stage_load(pipe, session_key, 0)
                results = await pipe.execute()
        except RedisError as exc:
            raise SessionStoreError(f"cannot read the history of {session_key!r}: {exc}") from exc
        return await self.finish_load(staged, results)

    async def append(self, session_key: str, messages: Sequence[Message]) -> None:
        _check_key(session_key)
        if not messages:
            return
        items = [message_to_json(m) for m in messages]  # before any write: all or nothing
        self.forget(session_key)
        await self._write(session_key, items, replace=False)

    async def replace(self, session_key: str, messages: Sequence[Message]) -> None:
        """Set the whole history; an empty one still counts as a session (as on disk)."""
        _check_key(session_key)
        items = [message_to_json(m) for m in messages]
        self.forget(session_key)
        await self._write(session_key, items, replace=True)

    @staticmethod
    def stage_append(pipe: Pipeline, session_key: str, messages: Sequence[Message]) -> None:
        """Queue an append on ``pipe``, so that a caller can make it one transaction
        with writes of its own (the runtime marks a turn's prompt appended with it)."""
        _check_key(session_key)
        _stage(pipe, session_key, [message_to_json(m) for m in messages], replace=False)

    async def _write(self, session_key: str, items: list[str], *, replace: bool) -> None:
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                _stage(pipe, session_key, items, replace=replace)
                await pipe.execute()
        except RedisError as exc:
            raise SessionStoreError(f"cannot write the history of {session_key!r}: {exc}") from exc

    async def delete(self, session_key: str) -> None:
        _check_key(session_key)
        self.forget(session_key)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(keys.history(session_key))
                pipe.incr(keys.histver(session_key))
                pipe.srem(keys.SESSIONS, session_key)
                await pipe.execute()
        except RedisError as exc:
            raise SessionStoreError(f"cannot delete the history of {session_key!r}: {exc}") from exc

    async def keys(self) -> list[str]:
        try:
            members = await smembers(self.redis, keys.SESSIONS)
        except RedisError as exc:
            raise SessionStoreError(f"cannot list sessions: {exc}") from exc
        try:
            return sorted(_texts(members))
        except UnicodeDecodeError as exc:
            raise CorruptSessionError(f"{keys.SESSIONS} holds a key that is not UTF-8") from exc


class RedisPermissionStore:
    """Rules of one bot: "always" in ``facio:perm:always:{bot}``, "session" per session.

    Both are Redis sets of tool names, so adding a rule twice is harmless and
    concurrent additions never lose one another. Redis failures propagate as
    :class:`redis.exceptions.RedisError` (the protocol names no error type).
    """

    def __init__(self, redis: Redis, bot: str) -> None:
        self.redis = redis
        self.bot = bot

    async def _members(self, key: str) -> set[str]:
        members = await smembers(self.redis, key)
        return _texts(members)

    async def load_always(self) -> set[str]:
        return await self._members(keys.perm_always(self.bot))

    async def add_always(self, tool_name: str) -> None:
        await sadd(self.redis, keys.perm_always(self.bot), tool_name)

    async def load_session(self, session_key: str) -> set[str]:
        return await self._members(keys.perm_session(session_key))

    async def add_session(self, session_key: str, tool_name: str) -> None:
        await sadd(self.redis, keys.perm_session(session_key), tool_name)

    async def clear_session(self, session_key: str) -> None:
        """Forget the session's rules (the session was reset)."""
        await self.redis.delete(keys.perm_session(session_key))


class PreloadedPermissions:
    """A bot's rules for one session, read with the turn's state (one round trip for
    everything a turn reads); a rule added during the turn still goes to Redis."""

    def __init__(self, rules: RedisPermissionStore, always: set[str], session: set[str]) -> None:
        self.rules = rules
        self.always = always
        self.session = session

    async def load_always(self) -> set[str]:
        return set(self.always)

    async def add_always(self, tool_name: str) -> None:
        await self.rules.add_always(tool_name)
        self.always.add(tool_name)

    async def load_session(self, session_key: str) -> set[str]:
        return set(self.session)

    async def add_session(self, session_key: str, tool_name: str) -> None:
        await self.rules.add_session(session_key, tool_name)
        self.session.add(tool_name)

    async def clear_session(self, session_key: str) -> None:
        await self.rules.clear_session(session_key)
        self.session.clear()


def texts(values: Iterable[bytes | str]) -> set[str]:
    """A Redis set reply as text."""
    return _texts(values)


__all__ = [
    "PreloadedPermissions",
    "RedisPermissionStore",
    "RedisSessionStore",
    "StagedLoad",
    "forget_session",
    "texts",
]
