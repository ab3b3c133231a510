"""``GET/POST /api/v1/schedules`` and ``DELETE /api/v1/schedules/{id}`` on a real gateway."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from core.config import parse_config
from tests.integration.api.support import TOKEN, running
from workers.schedules import ScheduleStore


def _config(tmp_path: Path, **schedules: Any) -> Any:
    data = {
        "workspace": "ws",
        "timezone": "Europe/Berlin",
        "bots": {"main": {"preset": "demo"}},
        "gateway": {"apiToken": TOKEN},
        "cron": [{"name": "digest", "schedule": "0 8 * * 1-5", "prompt": "Summarize."}],
        "schedules": schedules,
    }
    return parse_config(data, base_dir=tmp_path, env={})


async def _post(client: aiohttp.ClientSession, body: dict[str, Any]) -> tuple[int, Any]:
    async with client.post("/api/v1/schedules", json=body) as response:
        return response.status, await response.json()


async def test_create_list_and_delete(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    config = _config(tmp_path)
    await ScheduleStore(redis, config).sync_config()  # what a starting worker does
    async with running(config, redis_url) as (_gateway, client):
        status, made = await _post(
            client, {"session": "api:me", "prompt": "Weekday digest.", "cron": "0 9 * * 1-5"}
        )
        assert status == 201, made
        weekly = made["schedule_id"]
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7200))
        status, once = await _post(
            client, {"session": "cron:ops", "prompt": "Once.", "at": at, "timezone": "UTC"}
        )
        assert status == 201, once
        assert once["next_run"] == at
        status, hourly = await _post(
            client, {"session": "api:me", "prompt": "Tick.", "every": 3600}
        )
        assert status == 201, hourly

        async with client.get("/api/v1/schedules") as response:
            assert response.status == 200
            listed = (await response.json())["schedules"]
        by_id = {s["schedule_id"]: s for s in listed}
        assert set(by_id) == {weekly, once["schedule_id"], hourly["schedule_id"], "config:digest"}
        assert by_id[weekly]["cron"] == "0 9 * * 1-5"
        assert by_id[weekly]["timezone"] == "Europe/Berlin"  # the config's default
        assert by_id[weekly]["source"] == "api" and by_id[weekly]["created_by"] == "api"
        assert by_id[weekly]["next_run"].endswith(":00Z")
        assert by_id[once["schedule_id"]]["at"] == at
        assert by_id[hourly["schedule_id"]]["every"] == 3600
        digest = by_id["config:digest"]
        assert (digest["source"], digest["name"], digest["session_key"]) == (
            "config",
            "digest",
            "cron:digest",
        )
        assert [s["next_run"] for s in listed] == sorted(s["next_run"] for s in listed)

        async with client.get("/api/v1/schedules", params={"session": "api:me"}) as response:
            mine = {s["schedule_id"] for s in (await response.json())["schedules"]}
        assert mine == {weekly, hourly["schedule_id"]}

        async with client.delete(f"/api/v1/schedules/{weekly}") as response:
            assert response.status == 204
        async with client.delete(f"/api/v1/schedules/{weekly}") as response:
            assert response.status == 404
        async with client.delete("/api/v1/schedules/config:digest") as response:
            assert response.status == 409
            assert "config.json" in (await response.json())["error"]
        async with client.delete("/api/v1/schedules/no%20such") as response:
            assert response.status == 404


async def test_bad_requests_are_422_and_a_full_runtime_409(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(_config(tmp_path, maxPerSession=1), redis_url) as (_gateway, client):
        bad = [
            {"session": "api:me", "prompt": "p", "cron": "0 25 * * *"},
            {"session": "api:me", "prompt": "p", "at": "2001-01-01T00:00"},
            {"session": "api:me", "prompt": "p", "at": "next tuesday"},
            {"session": "api:me", "prompt": "p", "every": 5},
            {"session": "api:me", "prompt": "p", "cron": "* * * * *", "timezone": "Mars/Base"},
            {"session": "api:me", "prompt": "p"},
            {"session": "api:me", "prompt": "p", "cron": "* * * * *", "every": 60},
            {"session": "slack:T1:C1", "prompt": "p", "cron": "* * * * *"},  # not enabled
            {"session": "api:me", "prompt": "p", "cron": "* * * * *", "extra": 1},
        ]
        for body in bad:
            status, answer = await _post(client, body)
            assert status == 422, (body, answer)
            assert answer["error"]
        status, answer = await _post(client, {"session": "api:me", "prompt": "p", "every": 60})
        assert status == 201
        status, answer = await _post(client, {"session": "api:me", "prompt": "p", "every": 60})
        assert status == 409 and "limit of 1 schedules" in answer["error"]


async def test_the_schedules_api_needs_the_token(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(_config(tmp_path), redis_url, token="wrong") as (_gateway, client):
        async with client.get("/api/v1/schedules") as response:
            assert response.status == 401
        status, _ = await _post(client, {"session": "api:me", "prompt": "p", "every": 60})
        assert status == 401
