"""/healthz and /metrics: no token, Redis up and down, counters that move."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from tests.integration.api.support import NOTE, api_config, post_message, running
from tests.integration.runtime.support import run_burst
from tests.redis_fixture import MakeRedis

SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+$')


def _parse(text: str) -> dict[str, float]:
    """Every line a comment or ``name{labels} value``; the samples by their full name."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        assert SAMPLE.match(line), line
        name, _, value = line.rpartition(" ")
        samples[name] = float(value)
    return samples


async def _metrics(client: aiohttp.ClientSession) -> dict[str, float]:
    async with client.get("/metrics", headers={"Authorization": ""}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return _parse(await response.text())


async def test_healthz_reports_redis_and_the_channels(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async def telegram() -> str:
        return "ok"

    async def slack() -> str:
        raise ConnectionError("socket mode is down")

    async with running(api_config(tmp_path), redis_url, token=None) as (gateway, client):
        async with client.get("/healthz") as response:
            assert response.status == 200
            assert await response.json() == {
                "status": "ok",
                "redis": "ok",
                "channels": {"api": "ok"},
            }
        gateway.add_health_check("telegram", telegram)
        gateway.add_health_check("slack", slack)
        async with client.get("/healthz") as response:
            assert response.status == 200
            body = await response.json()
        assert body["status"] == "degraded"
        assert body["channels"] == {
            "api": "ok",
            "telegram": "ok",
            "slack": "error: ConnectionError",
        }


async def test_healthz_is_503_when_redis_is_down(make_redis: MakeRedis, tmp_path: Path) -> None:
    server = make_redis(tmp_path / "data", appendonly=False)
    await server.start()
    async with running(api_config(tmp_path), server.url, token=None) as (_, client):
        async with client.get("/healthz") as response:
            assert response.status == 200
        await server.stop()
        async with client.get("/healthz") as response:
            assert response.status == 503
            body = await response.json()
        assert body["status"] == "error"
        assert body["redis"] != "ok" and "Error" in body["redis"]
        # the rest of the API says so too, as JSON
        headers = {"Authorization": "Bearer s3cret-token-for-tests"}
        async with client.get("/api/v1/sessions", headers=headers) as response:
            assert response.status == 503
            assert (await response.json())["error"] == "redis unavailable"
        metrics = await _metrics(client)
        assert metrics["facio_redis_up"] == 0
        # the failed request, and the outbox consumer finding Redis gone
        assert metrics["facio_errors_total"] >= 1


async def test_metrics_parse_and_move(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    config = api_config(tmp_path, approvalHold=0)
    async with running(config, redis_url) as (_, client):
        before = await _metrics(client)
        assert before["facio_turns_submitted_total"] == 0
        assert before["facio_queue_depth"] == 0
        assert before["facio_approvals_pending"] == 0
        assert before["facio_errors_total"] == 0

        await post_message(client, NOTE)
        await post_message(client, "hello")
        queued = await _metrics(client)
        assert queued["facio_turns_submitted_total"] == 2
        assert queued["facio_queue_depth"] == 2
        route = 'facio_http_requests_total{route="/api/v1/messages",status="202"}'
        assert queued[route] == 2
        assert queued['facio_http_requests_total{route="/metrics",status="200"}'] == 1

        await run_burst(config, redis_url)  # parks on the approval
        parked = await _metrics(client)
        assert parked["facio_approvals_pending"] == 1
        async with client.post("/api/v1/approvals/nope", json={"decision": "approve"}):
            pass
        async with client.get("/nope"):
            pass
        after = await _metrics(client)
        assert after['facio_approval_decisions_total{outcome="not_found"}'] == 1
        assert after['facio_http_requests_total{route="unmatched",status="404"}'] == 1
        assert after["facio_approval_latency_seconds_count"] == 0

        # Approval latency: creation to decision, for decisions made here.
        async with client.get("/api/v1/approvals") as response:
            (approval,) = (await response.json())["approvals"]
        await asyncio.sleep(0.2)
        decision = {"decision": "approve"}
        async with client.post(f"/api/v1/approvals/{approval['approval_id']}", json=decision):
            pass
        async with client.post(f"/api/v1/approvals/{approval['approval_id']}", json=decision):
            pass  # already decided: counted, not timed
        decided = await _metrics(client)
        assert decided['facio_approval_decisions_total{outcome="decided"}'] == 1
        assert decided['facio_approval_decisions_total{outcome="already_decided"}'] == 1
        assert decided["facio_approval_latency_seconds_count"] == 1
        assert 0.2 <= decided["facio_approval_latency_seconds_sum"] < 30
        assert decided['facio_approval_latency_seconds_bucket{le="30"}'] == 1
        assert decided['facio_approval_latency_seconds_bucket{le="+Inf"}'] == 1
