"""DELETE /sessions/{key}: the history and the session's rules are gone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis
from yarl import URL

from core.messages import UserMessage
from tests.integration.api.support import api_config, post_message, running
from tests.integration.runtime.support import Background, run_burst
from workers import keys
from workers.stores import RedisPermissionStore, RedisSessionStore


async def test_deleting_a_session_resets_history_and_session_rules(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path)
    async with running(config, redis_url) as (_, client):
        await post_message(client, "hello")
        await post_message(client, "hello", session="api:other")
        await run_burst(config, redis_url)
        rules = RedisPermissionStore(redis, "main")
        await rules.add_session("api:t", "save_note")
        await rules.add_always("current_time")

        async with Background(config, redis_url):  # a worker does the reset
            async with client.delete(URL("/api/v1/sessions/api%3At", encoded=True)) as response:
                assert response.status == 204  # done before the answer
            async with client.get("/api/v1/sessions/api:t") as response:
                assert response.status == 404
            async with client.get("/api/v1/sessions") as response:
                assert await response.json() == {"sessions": ["api:other"]}
            assert not await redis.exists(keys.history("api:t"))
            assert await rules.load_session("api:t") == set()
            assert await rules.load_always() == {"current_time"}  # bot-wide rules stay
            async with client.delete("/api/v1/sessions/api:t") as response:
                assert response.status == 204  # idempotent

        # the session starts afresh
        await post_message(client, "hello")
        await run_burst(config, redis_url)
        async with client.get("/api/v1/sessions/api:t") as response:
            messages = (await response.json())["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"]


async def test_the_operator_reads_a_session_of_any_channel(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    await RedisSessionStore(redis).append("telegram:42:topic:7", [UserMessage(content="hi")])
    async with (
        running(api_config(tmp_path), redis_url) as (_, client),
        client.get("/api/v1/sessions/telegram:42:topic:7") as response,
    ):
        assert response.status == 200
        assert (await response.json())["messages"][0]["content"] == "hi"


async def test_without_a_worker_the_reset_is_queued_and_runs_when_one_comes(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path)
    async with running(config, redis_url) as (_, client):
        await post_message(client, "hello")
        await run_burst(config, redis_url)
        async with client.delete("/api/v1/sessions/api:t") as response:
            assert response.status == 202
            body = await response.json()
        assert body["reset"] == "queued" and body["turn_id"]
        async with client.get("/api/v1/sessions/api:t") as response:
            assert response.status == 200  # not yet: no worker has run the reset
        await run_burst(config, redis_url)
        async with client.get("/api/v1/sessions/api:t") as response:
            assert response.status == 404


async def test_deleting_stops_the_running_turn_first(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path, approvalHold=60)
    async with running(config, redis_url) as (_, client), Background(config, redis_url):
        await post_message(client, "remember to buy milk")  # waits for an approval, held
        for _ in range(200):
            async with client.get("/api/v1/approvals?status=pending") as response:
                if (await response.json())["approvals"]:
                    break
            await asyncio.sleep(0.02)
        async with client.delete("/api/v1/sessions/api:t") as response:
            assert response.status == 204
        async with client.get("/api/v1/sessions/api:t") as response:
            assert response.status == 404  # the stopped turn wrote nothing after the reset
        async with client.get("/api/v1/approvals?status=pending") as response:
            assert (await response.json())["approvals"] == []
