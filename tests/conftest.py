"""Fixtures shared by every test folder; each lives in its own module under tests/."""

from __future__ import annotations

from tests.redis_fixture import make_redis, redis, redis_server, redis_url

__all__ = ["make_redis", "redis", "redis_server", "redis_url"]
