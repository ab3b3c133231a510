"""post_stream and RetryPolicy, with httpx.MockTransport for byte-exact control."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from core.providers.errors import (
    AuthenticationError,
    BadRequestError,
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    RateLimitError,
    ServerError,
)
from core.providers.http import error_from_payload, post_stream
from core.providers.retry import RetryPolicy, parse_retry_after
from tests.unit.providers.support import API_KEY, RecordingSleep, fast_retry

URL = "http://api.test/v1/stream"
Answer = httpx.Response | Exception


class ScriptedBody(httpx.AsyncByteStream):
    """A response body that yields chunks, may raise, may block, and tells if it was closed."""

    def __init__(self, *items: bytes | Exception, block: bool = False) -> None:
        self.items = items
        self.block = block
        self.sent = 0
        self.closed = False
        self.started = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for item in self.items:
            if isinstance(item, Exception):
                raise item
            self.sent += len(item)
            yield item
            self.started.set()
        if self.block:
            await asyncio.Event().wait()

    async def aclose(self) -> None:
        self.closed = True


def client_for(*answers: Answer) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), seen


def sse(*chunks: bytes | Exception, block: bool = False) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=ScriptedBody(*chunks, block=block),
    )


async def read_all(client: httpx.AsyncClient, retry: RetryPolicy) -> bytes:
    headers = {"authorization": f"Bearer {API_KEY}"}
    async with post_stream(
        client, URL, payload={"q": 1}, headers=headers, provider="acme", retry=retry
    ) as body:
        return b"".join([chunk async for chunk in body.aiter_bytes()])


def test_parse_retry_after() -> None:
    assert parse_retry_after(httpx.Headers({"retry-after": "7"})) == 7.0
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert parse_retry_after(httpx.Headers({"retry-after": "nan"})) is None
    assert parse_retry_after(httpx.Headers({})) is None
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 100 < (parse_retry_after(httpx.Headers({"retry-after": future})) or 0) <= 120
    past = format_datetime(datetime.now(UTC) - timedelta(days=1), usegmt=True)
    assert parse_retry_after(httpx.Headers({"retry-after": past})) == 0.0


def test_delay_honours_retry_after_capped_else_backs_off_with_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0, jitter=lambda: 1.0)
    limited = RateLimitError(429, "slow down", retry_after=4.0)
    assert policy.delay(0, limited) == 4.0
    assert policy.delay(0, RateLimitError(429, "x", retry_after=999.0)) == 30.0
    server = ServerError(500, "boom")
    assert [policy.delay(n, server) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    low = RetryPolicy(base_delay=0.5, jitter=lambda: 0.0)
    assert low.delay(2, server) == 1.0  # equal jitter: never less than half the ceiling


async def test_server_errors_are_retried_with_backoff(sleep: RecordingSleep) -> None:
    client, seen = client_for(
        httpx.Response(500, json={"error": {"message": "boom"}}),
        httpx.Response(529, json={"type": "error", "error": {"type": "overloaded_error"}}),
        sse(b"data: ok\n\n"),
    )
    async with client:
        assert await read_all(client, fast_retry(sleep)) == b"data: ok\n\n"
    assert len(seen) == 3
    assert sleep.delays == [0.375, 0.75]
    assert all(json.loads(r.content) == {"q": 1} for r in seen)
    assert seen[-1].headers["content-type"] == "application/json"


async def test_gives_up_after_max_retries(sleep: RecordingSleep) -> None:
    client, seen = client_for(*(httpx.Response(503, text="unavailable") for _ in range(3)))
    async with client:
        with pytest.raises(ServerError) as caught:
            await read_all(client, fast_retry(sleep, max_retries=2))
    assert len(seen) == 3 and len(sleep.delays) == 2
    assert caught.value.status == 503 and caught.value.detail == "unavailable"


async def test_429_with_http_date_is_capped_at_max_delay(sleep: RecordingSleep) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    client, _ = client_for(httpx.Response(429, headers={"retry-after": later}), sse(b"x"))
    async with client:
        await read_all(client, RetryPolicy(max_delay=5.0, sleep=sleep))
    assert sleep.delays == [5.0]


async def test_client_errors_are_not_retried(sleep: RecordingSleep) -> None:
    body = {"error": {"message": "bad 'model'", "type": "invalid_request_error"}}
    client, seen = client_for(httpx.Response(400, json=body))
    async with client:
        with pytest.raises(BadRequestError) as caught:
            await read_all(client, fast_retry(sleep))
    assert caught.value.detail == "invalid_request_error: bad 'model'"
    assert len(seen) == 1 and sleep.delays == []


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("closed"),
    ],
)
async def test_connection_failures_before_the_answer_are_retried(
    error: Exception, sleep: RecordingSleep
) -> None:
    client, seen = client_for(error, sse(b"fine"))
    async with client:
        assert await read_all(client, fast_retry(sleep)) == b"fine"
    assert len(seen) == 2


async def test_connection_failure_after_retries_is_a_connection_error(
    sleep: RecordingSleep,
) -> None:
    client, _ = client_for(httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    async with client:
        with pytest.raises(ProviderConnectionError) as caught:
            await read_all(client, fast_retry(sleep, max_retries=1))
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_unsupported_protocol_is_not_retried(sleep: RecordingSleep) -> None:
    client, seen = client_for(httpx.UnsupportedProtocol("ftp"))
    async with client:
        with pytest.raises(ProviderError) as caught:
            await read_all(client, fast_retry(sleep))
    assert not isinstance(caught.value, ProviderConnectionError)
    assert len(seen) == 1


async def test_failure_before_the_first_body_byte_is_retried(sleep: RecordingSleep) -> None:
    broken = ScriptedBody(httpx.ReadError("reset"))
    first = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=broken)
    client, seen = client_for(first, sse(b"a", b"b"))
    async with client:
        assert await read_all(client, fast_retry(sleep)) == b"ab"
    assert len(seen) == 2 and broken.closed


async def test_failure_after_body_bytes_is_not_retried(sleep: RecordingSleep) -> None:
    client, seen = client_for(sse(b"data: a\n\n", httpx.ReadError("reset")))
    async with client:
        with pytest.raises(ProviderConnectionError, match="mid-stream"):
            await read_all(client, fast_retry(sleep))
    assert len(seen) == 1 and sleep.delays == []


async def test_json_answer_to_a_stream_request(sleep: RecordingSleep) -> None:
    error = {"error": {"message": "quota", "type": "rate_limit_error"}}
    client, _ = client_for(httpx.Response(200, json=error), httpx.Response(200, json={"ok": 1}))
    async with client:
        with pytest.raises(RateLimitError):
            await read_all(client, fast_retry(sleep, max_retries=0))
        with pytest.raises(ProviderProtocolError):
            await read_all(client, fast_retry(sleep))


async def test_error_body_is_read_only_in_part(sleep: RecordingSleep) -> None:
    huge = ScriptedBody(*(b"x" * 1024 for _ in range(1024)))
    client, _ = client_for(httpx.Response(400, stream=huge))
    async with client:
        with pytest.raises(BadRequestError) as caught:
            await read_all(client, fast_retry(sleep))
    assert huge.sent <= 8192 + 1024 and huge.closed
    assert len(caught.value.detail) == 500


async def test_secrets_stay_out_of_logs_and_errors(
    sleep: RecordingSleep, caplog: pytest.LogCaptureFixture
) -> None:
    echo = {"error": {"message": f"Incorrect API key provided: {API_KEY}", "type": "x"}}
    client, _ = client_for(
        httpx.Response(429, headers={"retry-after": "2"}, json=echo),
        httpx.Response(401, json=echo),
    )
    caplog.set_level(logging.DEBUG)
    async with client:
        with pytest.raises(AuthenticationError) as caught:
            await read_all(client, fast_retry(sleep))
    assert API_KEY not in caplog.text
    assert API_KEY not in str(caught.value) and API_KEY not in repr(caught.value)
    assert "***" in caught.value.detail
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "acme" in warning.getMessage() and "HTTP 429" in warning.getMessage()
    assert "2.00 s" in warning.getMessage()


async def test_cancellation_closes_the_response() -> None:
    body = ScriptedBody(b"data: first\n\n", block=True)
    client, _ = client_for(
        httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    )
    async with client:
        task = asyncio.create_task(read_all(client, RetryPolicy()))
        await asyncio.wait_for(body.started.wait(), 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert body.closed


async def test_cancellation_during_backoff_propagates() -> None:
    failed = ScriptedBody(b"busy")
    sleeping = asyncio.Event()

    async def forever(delay: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()

    client, seen = client_for(httpx.Response(503, stream=failed), sse(b"never"))
    async with client:
        task = asyncio.create_task(read_all(client, RetryPolicy(sleep=forever)))
        await asyncio.wait_for(sleeping.wait(), 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert failed.closed and len(seen) == 1


def test_error_payloads_map_by_code_then_type() -> None:
    overloaded = error_from_payload({"type": "overloaded_error", "message": "Busy"}, provider="a")
    assert isinstance(overloaded, ServerError) and overloaded.status == 529
    assert overloaded.detail == "overloaded_error: Busy"
    coded = error_from_payload({"code": 502, "message": "upstream"}, provider="r")
    assert isinstance(coded, ServerError) and coded.status == 502
    by_code = error_from_payload({"code": "rate_limit_exceeded", "message": "m"}, provider="o")
    assert isinstance(by_code, RateLimitError)
    unknown = error_from_payload({"type": "mystery", "message": "?"}, provider="o")
    assert type(unknown) is ProviderError and not unknown.retryable
    assert str(error_from_payload("plain text", provider="o")) == "o: plain text"
    secret = error_from_payload({"message": f"key {API_KEY}"}, provider="o", secrets=(API_KEY,))
    assert API_KEY not in str(secret)
