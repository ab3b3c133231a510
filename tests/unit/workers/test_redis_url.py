"""Redis URLs shown to people (``facio up``'s banner) never show a password."""

from __future__ import annotations

import pytest

from workers.redis_server import display_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret@redis:6379/0", "redis://:***@redis:6379/0"),
        ("rediss://app:s3cret@cache.example.com/2", "rediss://app:***@cache.example.com/2"),
        ("redis://redis:6379/0", "redis://redis:6379/0"),
        ("unix:///srv/ws/.facio/redis/redis.sock", "unix:///srv/ws/.facio/redis/redis.sock"),
    ],
)
def test_passwords_are_masked(url: str, shown: str) -> None:
    assert display_url(url) == shown
    assert "s3cret" not in display_url(url)
