"""The bearer check of /api/v1: no token, a wrong one, none configured; never logged."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.integration.api.support import TOKEN, api_config, running

ROUTES = [
    ("GET", "/api/v1/sessions"),
    ("POST", "/api/v1/messages"),
    ("GET", "/api/v1/sessions/api:t"),
    ("DELETE", "/api/v1/sessions/api:t"),
    ("GET", "/api/v1/sessions/api:t/events"),
    ("GET", "/api/v1/approvals"),
    ("POST", "/api/v1/approvals/abc"),
]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x", "Bearer ümlaut"],
)
async def test_a_missing_or_wrong_token_is_401_everywhere(
    redis: Redis, redis_url: str, tmp_path: Path, authorization: str | None
) -> None:
    async with running(api_config(tmp_path), redis_url, token=None) as (_, client):
        headers = {"Authorization": authorization} if authorization is not None else {}
        for method, path in ROUTES:
            async with client.request(method, path, headers=headers, json={}) as response:
                assert response.status == 401, (method, path)
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                body = await response.json()
                assert "token" in body["error"]


async def test_an_empty_configured_token_refuses_every_request(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(api_config(tmp_path, token=""), redis_url, token="") as (_, client):
        for method, path in ROUTES:
            async with client.request(method, path, json={}) as response:
                assert response.status == 401
                assert "apiToken is empty" in (await response.json())["error"]
        async with client.get("/healthz") as response:  # probes need no token
            assert response.status == 200


async def test_the_right_token_passes_and_no_token_is_logged(
    redis: Redis, redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(api_config(tmp_path), redis_url) as (_, client):
        async with client.get("/api/v1/sessions") as response:
            assert response.status == 200
            assert await response.json() == {"sessions": []}
        bad = {"Authorization": "Bearer not-the-token-either"}
        async with client.get("/api/v1/sessions", headers=bad) as response:
            assert response.status == 401
        async with client.post("/api/v1/messages", json={"session": "api:t", "text": "hi"}):
            pass
    assert caplog.records  # the access log and the gateway did log
    assert TOKEN not in caplog.text
    assert "not-the-token-either" not in caplog.text
