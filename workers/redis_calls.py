"""redis-py calls with the types they really have, in one place.

redis-py 5 types most commands of its asyncio client as ``Awaitable[T] | T``
(the same methods serve the sync client), so awaiting one is a type error
for mypy. Rather than silence that at every call site, these wrappers say
once what an awaited call returns on ``redis.asyncio.Redis`` (bytes replies
with the shared client; str with a ``decode_responses`` one).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import cast

from redis.asyncio import Redis

__all__ = ["hdel", "hget", "hgetall", "hset", "lindex", "lrange", "sadd", "sismember", "smembers"]

Reply = bytes | str


async def hgetall(redis: Redis, key: str) -> dict[Reply, Reply]:
    return await cast(Awaitable[dict[Reply, Reply]], redis.hgetall(key))


async def hget(redis: Redis, key: str, field: str) -> Reply | None:
    return await cast(Awaitable[Reply | None], redis.hget(key, field))


async def hset(redis: Redis, key: str, field: str, value: str) -> int:
    return await cast(Awaitable[int], redis.hset(key, field, value))


async def hdel(redis: Redis, key: str, *fields: str) -> int:
    return await cast(Awaitable[int], redis.hdel(key, *fields))


async def lindex(redis: Redis, key: str, index: int) -> Reply | None:
    return await cast(Awaitable[Reply | None], redis.lindex(key, index))


async def lrange(redis: Redis, key: str, start: int, end: int) -> list[Reply]:
    return await cast(Awaitable[list[Reply]], redis.lrange(key, start, end))


async def smembers(redis: Redis, key: str) -> set[Reply]:
    return await cast(Awaitable[set[Reply]], redis.smembers(key))


async def sadd(redis: Redis, key: str, *members: str) -> int:
    return await cast(Awaitable[int], redis.sadd(key, *members))


async def sismember(redis: Redis, key: str, member: str) -> bool:
    return bool(await cast(Awaitable[int], redis.sismember(key, member)))
