"""POST /messages: a queued turn that a real worker runs; bad input is refused."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis
from yarl import URL

from channels.api import MAX_TEXT_CHARS
from tests.integration.api.support import api_config, post_message, running
from tests.integration.runtime.support import run_burst
from workers import keys


async def test_a_message_becomes_a_turn_and_the_session_shows_it(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path)
    async with running(config, redis_url) as (_, client):
        first = await post_message(client, "hello")
        second = await post_message(client, "think about item 1")
        assert first["turn_id"] and first["turn_id"] != second["turn_id"]
        await run_burst(config, redis_url)
        async with client.get("/api/v1/sessions/api:t") as response:
            assert response.status == 200
            session = await response.json()
        assert session["session_key"] == "api:t"
        assert [m["role"] for m in session["messages"]] == ["user", "assistant"] * 2
        assert session["messages"][0]["content"] == "hello"
        assert session["messages"][1]["content"].startswith("Hi!")
        assert session["pending_approvals"] == []
        # percent-encoded key, as a client that quotes ':' sends it
        async with client.get(URL("/api/v1/sessions/api%3At", encoded=True)) as response:
            assert response.status == 200
            assert (await response.json())["session_key"] == "api:t"
        async with client.get("/api/v1/sessions") as response:
            assert await response.json() == {"sessions": ["api:t"]}


async def test_the_user_is_recorded_and_an_idempotency_key_queues_once(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path)
    async with running(config, redis_url) as (_, client):
        body = {"session": "api:t", "text": "hello", "user": "ada"}
        headers = {"Idempotency-Key": "req-1"}
        async with client.post("/api/v1/messages", json=body, headers=headers) as response:
            assert response.status == 202
        async with client.post("/api/v1/messages", json=body, headers=headers) as response:
            assert response.status == 200
            assert await response.json() == {"turn_id": None, "duplicate": True}
        await run_burst(config, redis_url)
        async with client.get("/api/v1/sessions/api:t") as response:
            messages = (await response.json())["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"]


async def test_bad_input_is_refused_with_a_json_error(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(api_config(tmp_path), redis_url) as (_, client):
        cases: list[tuple[object, int, str]] = [
            (b"{not json", 422, "not valid JSON"),
            (b"[1, 2]", 422, "JSON object"),
            ({"session": "api:t"}, 422, "text"),
            ({"session": "api:t", "text": ""}, 422, "text"),
            ({"session": "api:t", "text": 42}, 422, "text"),
            ({"session": "api:t", "text": "hi", "user": 7}, 422, "user"),
            ({"session": "api:t", "text": "hi", "extra": 1}, 422, "extra"),
            ({"session": "telegram:123", "text": "hi"}, 422, "session"),
            ({"session": "api:", "text": "hi"}, 422, "session"),
            ({"session": "api:a b", "text": "hi"}, 422, "session"),
            ({"session": "api:t", "text": "x" * (MAX_TEXT_CHARS + 1)}, 413, "longer"),
        ]
        for payload, status, mentions in cases:
            kwargs = {"data": payload} if isinstance(payload, bytes) else {"json": payload}
            async with client.post("/api/v1/messages", **kwargs) as response:
                assert response.status == status, (payload, await response.text())
                assert response.content_type == "application/json"
                assert mentions in await response.text(), payload
        huge = b'{"session": "api:t", "text": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        async with client.post("/api/v1/messages", data=huge) as response:
            assert response.status == 413  # aiohttp's body limit, answered as JSON
            assert "error" in await response.json()
        long_key = {"Idempotency-Key": "k" * 201}
        async with client.post(
            "/api/v1/messages", json={"session": "api:t", "text": "hi"}, headers=long_key
        ) as response:
            assert response.status == 422
        # nothing was queued by any of them
        assert not await redis.exists(keys.inbox("api:t"))


async def test_unknown_routes_and_methods_answer_json(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(api_config(tmp_path), redis_url) as (_, client):
        for path in ("/nope", "/api/v1/nope", "/api/v2/messages"):
            async with client.get(path) as response:
                assert response.status == 404
                assert (await response.json())["error"] == "not found"
        async with client.put("/api/v1/messages") as response:
            assert response.status == 405
            assert "POST" in response.headers["Allow"]
            assert "error" in await response.json()
        async with client.get("/api/v1/sessions/api:none") as response:
            assert response.status == 404
            assert (await response.json())["session_key"] == "api:none"
