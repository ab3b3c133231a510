"""The routes the console uses: the approvals feed, decided history, runtime, states, stop,
and the limit on failed sign-ins."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from channels.api.ratelimit import SIGN_IN_LIMIT
from tests.integration.api.support import (
    NOTE,
    TOKEN,
    api_config,
    events_of,
    post_message,
    read_frames,
    running,
)
from tests.integration.runtime.support import Background, run_burst, wait_for
from workers import keys


async def _get(client: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with client.get(url) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def _decide(client: aiohttp.ClientSession, approval_id: str, decision: str) -> int:
    async with client.post(
        f"/api/v1/approvals/{approval_id}", json={"decision": decision}
    ) as response:
        return response.status


async def test_the_approvals_feed_carries_every_sessions_requests_and_decisions(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path, approvalHold=0)
    async with (
        running(config, redis_url) as (_, client),
        client.get("/api/v1/approvals/events") as stream,
    ):
        assert stream.status == 200
        assert stream.headers["Content-Type"] == "text/event-stream"
        await post_message(client, NOTE, session="api:a")
        await post_message(client, "hello", session="api:b")  # no approval: not in the feed
        await post_message(client, "remember the keys", session="api:c")
        await run_burst(config, redis_url)
        frames = await read_frames(stream, until=None, limit=2)
        requests = events_of(frames)
        assert [e["type"] for e in requests] == ["approval_request"] * 2
        assert {e["session_key"] for e in requests} == {"api:a", "api:c"}
        first = requests[0]
        assert first["tool_name"] == "save_note" and first["user_id"] == "api"

        assert await _decide(client, first["approval_id"], "session") == 200
        (decided,) = events_of(await read_frames(stream, until="approval_decided"))
        assert decided["approval_id"] == first["approval_id"]
        assert decided["decision"] == "session" and decided["decided_by"] == "api"

        replay = {"Last-Event-ID": frames[0]["id"]}  # replays what came after it
        async with client.get("/api/v1/approvals/events", headers=replay) as again:
            kinds = [e["type"] for e in events_of(await read_frames(again, until=None, limit=2))]
            assert kinds == ["approval_request", "approval_decided"]
    assert await redis.ttl(keys.APPROVAL_EVENTS) > 0


async def test_decided_approvals_are_listed_newest_first_with_who_decided(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path, approvalHold=0)
    async with running(config, redis_url) as (_, client):
        for session in ("api:a", "api:b"):
            await post_message(client, NOTE, session=session)
        await run_burst(config, redis_url)
        pending = (await _get(client, "/api/v1/approvals"))["approvals"]
        assert [p["requested_by"] for p in pending] == ["api", "api"]
        assert (await _get(client, "/api/v1/approvals?status=decided"))["approvals"] == []
        assert await _decide(client, pending[0]["approval_id"], "approve") == 200
        assert await _decide(client, pending[1]["approval_id"], "reject") == 200

        decided = (await _get(client, "/api/v1/approvals?status=decided"))["approvals"]
        assert [d["approval_id"] for d in decided] == [p["approval_id"] for p in pending[::-1]]
        assert [d["status"] for d in decided] == ["rejected", "approved"]
        assert {d["decided_by"] for d in decided} == {"api"}
        newest, older = pending[1]["session_key"], pending[0]["session_key"]
        one = await _get(client, f"/api/v1/approvals?status=decided&limit=1&session={newest}")
        assert [d["session_key"] for d in one["approvals"]] == [newest]
        # limit picks the newest first, then session narrows: the older one is past it
        none = await _get(client, f"/api/v1/approvals?status=decided&limit=1&session={older}")
        assert none["approvals"] == []
        for bad in ("0", "501", "x", "-1"):
            async with client.get(f"/api/v1/approvals?status=decided&limit={bad}") as response:
                assert response.status == 422, bad


async def test_runtime_and_session_states_read_for_a_person(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path, approvalHold=0)
    async with running(config, redis_url) as (_, client):
        async with Background(config, redis_url):
            await post_message(client, NOTE, session="api:a")
            await post_message(client, "hello", session="api:b")
            await wait_for(redis, "approval_request")
            await wait_for(redis, "turn_finished")  # api:b's; api:a parks
            health = await _get(client, "/api/v1/runtime")
            assert health["workers_alive"] == 1
            assert health["workers"][0]["seconds_ago"] < 15
            assert health["redis"] == "ok" and health["channels"] == {"api": "ok"}
            assert health["approvals_pending"] == 1
            assert health["turns_submitted"] == 2
            assert health["errors"] == 0
            assert health["http_responses"]["2xx"] >= 2

            states = {
                s["session_key"]: s
                for s in (await _get(client, "/api/v1/runtime/sessions"))["sessions"]
            }
            assert states["api:a"]["state"] == "parked"
            assert states["api:a"]["pending_approvals"] == 1
            assert states["api:b"]["state"] == "idle"
            assert states["api:a"]["channel"] == "api"
            assert all(s["last_activity"] for s in states.values())
            session = await _get(client, "/api/v1/sessions/api:a")
            assert session["state"]["state"] == "parked"
        assert (await _get(client, "/api/v1/runtime"))["workers_alive"] == 0  # it left


async def test_stop_cancels_a_parked_turn(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    config = api_config(tmp_path, approvalHold=0)
    async with running(config, redis_url) as (_, client):
        await post_message(client, NOTE)
        await run_burst(config, redis_url)
        async with client.post("/api/v1/sessions/api%3At/stop") as response:
            assert response.status == 202
            assert await response.json() == {"session_key": "api:t", "stop": "requested"}
        await run_burst(config, redis_url)
        (finished,) = await wait_for(redis, "turn_finished")
        assert finished["cancelled"] is True
        assert (await _get(client, "/api/v1/sessions/api:t"))["state"]["state"] == "idle"
        assert (await _get(client, "/api/v1/approvals"))["approvals"] == []


async def test_failed_sign_ins_are_limited_per_address(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(api_config(tmp_path), redis_url, token=None) as (_, client):
        wrong = {"Authorization": "Bearer guess"}
        for _ in range(SIGN_IN_LIMIT):
            async with client.get("/api/v1/sessions", headers=wrong) as response:
                assert response.status == 401
        for headers in (wrong, {"Authorization": f"Bearer {TOKEN}"}, {}):
            async with client.get("/api/v1/sessions", headers=headers) as response:
                assert response.status == 429  # the right token too: no oracle
                assert 1 <= int(response.headers["Retry-After"]) <= 60
        async with client.get("/api/v1/openapi.json") as response:
            assert response.status == 200  # needs no sign-in
        async with client.get("/healthz") as response:
            assert response.status == 200


async def test_right_tokens_are_never_limited(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    async with running(api_config(tmp_path), redis_url) as (_, client):
        results = await asyncio.gather(
            *(client.get("/api/v1/sessions") for _ in range(SIGN_IN_LIMIT * 2))
        )
        assert {r.status for r in results} == {200}
        for r in results:
            r.release()
