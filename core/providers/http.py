"""Shared HTTP plumbing of the streaming providers: one POST, retried, errors mapped once.

:func:`post_stream` opens a streaming POST and hands the provider a
:class:`StreamingBody`. Everything that can go wrong on the wire becomes a
:class:`~core.providers.errors.ProviderError` here and nowhere else:

- an HTTP error status → :func:`~core.providers.errors.error_for_status`, with a
  short ``detail`` taken from the API's JSON error (or a bounded excerpt of the body);
- an ``httpx`` transport error → :class:`ProviderConnectionError` (timeouts,
  network errors, a peer that breaks the protocol) or, for problems no retry
  can fix (unsupported URL scheme, proxy refusal), a plain :class:`ProviderError`;
- an error object inside the stream → :meth:`StreamingBody.error_from_payload`.

Retries happen only while nothing of the answer has been read: the first chunk
of the body is read before the body is handed over, so a connection that
drops between the headers and the first byte is retried too. Once bytes were
streamed an error is final here; whether to run the turn again is the
caller's decision.

Secrets never leave this module: header values are not logged, and the values
of credential headers are masked in every error detail (some APIs echo the key
they were given).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from core.providers.errors import (
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ProviderStatusError,
    error_for_status,
)
from core.providers.retry import RetryPolicy, parse_retry_after
from core.providers.sse import SSEEvent, aiter_sse

__all__ = [
    "StreamingBody",
    "error_from_payload",
    "post_stream",
]

logger = logging.getLogger(__name__)

ERROR_BODY_LIMIT = 8192
"""Bytes of an error body read for its detail; the rest is not worth waiting for."""
DETAIL_LIMIT = 500
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key"})
_MASK = "***"

# The error ``type`` / ``code`` strings of the OpenAI and Anthropic APIs, for errors
# that arrive inside a 200 stream and so carry no HTTP status of their own.
_API_ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "api_error": 500,
    "server_error": 500,
    "overloaded_error": 529,
}


def error_from_payload(
    error: object, *, provider: str, secrets: tuple[str, ...] = ()
) -> ProviderError:
    """An error object the API sent (``{"type", "message", "code"}``), mapped once.

    A numeric HTTP-like ``code`` (OpenRouter, vLLM) or a known error ``type``
    (OpenAI, Anthropic) chooses the status class; anything else is a plain
    :class:`ProviderError`, not retried.
    """
    fields = error if isinstance(error, dict) else {"message": str(error)}
    kind = fields.get("type")
    code = fields.get("code")
    detail = _redact(_detail_of(fields) or "no message", secrets)
    status: int | None = None
    if isinstance(code, int) and 400 <= code <= 599:
        status = code
    elif isinstance(kind, str) and kind in _API_ERROR_STATUS:
        status = _API_ERROR_STATUS[kind]
    elif isinstance(code, str) and code in _API_ERROR_STATUS:
        status = _API_ERROR_STATUS[code]
    if status is None:
        return ProviderError(f"{provider}: {detail}")
    return error_for_status(status, detail, provider=provider)


def _detail_of(fields: Mapping[str, Any]) -> str | None:
    message = fields.get("message") or fields.get("detail")
    if not isinstance(message, str) or not message:
        return None
    kind = fields.get("type")
    text = f"{kind}: {message}" if isinstance(kind, str) and kind else message
    return text[:DETAIL_LIMIT]


def _detail_from_body(excerpt: bytes) -> str | None:
    """The message of an API's JSON error body, if it is one."""
    try:
        payload = json.loads(excerpt)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    inner = payload.get("error")
    if isinstance(inner, dict):
        return _detail_of(inner)
    if isinstance(inner, str) and inner:
        return inner[:DETAIL_LIMIT]
    return _detail_of(payload)


def _secrets_of(headers: Mapping[str, str]) -> tuple[str, ...]:
    found: list[str] = []
    for name, value in headers.items():
        if name.lower() not in _SECRET_HEADERS:
            continue
        scheme, _, token = value.partition(" ")
        found.append(value)
        if token and scheme.lower() in ("bearer", "basic"):
            found.append(token.strip())
    return tuple(s for s in found if len(s) >= 4)


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, _MASK)
    return text


def _transport_error(
    exc: httpx.TransportError, *, provider: str, what: str, secrets: tuple[str, ...]
) -> ProviderError:
    """The one mapping of httpx's transport errors."""
    reason = _redact(f"{type(exc).__name__}: {exc}".rstrip(": "), secrets)
    if isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError):
        return ProviderConnectionError(f"{provider}: {what}: {reason}")
    return ProviderError(f"{provider}: request failed: {reason}")


class StreamingBody:
    """A successful streaming answer; its transport errors arrive already mapped."""

    def __init__(
        self,
        response: httpx.Response,
        first: bytes,
        rest: AsyncGenerator[bytes, None],
        *,
        provider: str,
        secrets: tuple[str, ...],
    ) -> None:
        self.response = response
        self.provider = provider
        self._first = first
        self._rest = rest
        self._secrets = secrets

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body's chunks (read once)."""
        if self._first:
            yield self._first
        async for chunk in self._rest:
            yield chunk

    def events(self) -> AsyncIterator[SSEEvent]:
        """The body parsed as Server-Sent Events."""
        return aiter_sse(self.aiter_bytes())

    def json_data(self, data: str) -> dict[str, Any]:
        """An event's data as a JSON object, or :class:`ProviderProtocolError`."""
        try:
            value = json.loads(data)
        except ValueError as exc:
            excerpt = data[:120]
            raise ProviderProtocolError(
                f"{self.provider}: malformed JSON in event stream: {excerpt!r}"
            ) from exc
        if not isinstance(value, dict):
            raise ProviderProtocolError(
                f"{self.provider}: expected a JSON object in event stream, "
                f"got {type(value).__name__}"
            )
        return value

    def error_from_payload(self, error: object) -> ProviderError:
        """An error object sent inside the stream, mapped (see :func:`error_from_payload`)."""
        return error_from_payload(error, provider=self.provider, secrets=self._secrets)

    async def aclose(self) -> None:
        await self._rest.aclose()
        await self.response.aclose()


@asynccontextmanager
async def post_stream(
    client: httpx.AsyncClient,
    url: str,
    *,
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    provider: str,
    retry: RetryPolicy | None = None,
) -> AsyncIterator[StreamingBody]:
    """POST ``payload`` as JSON and stream the answer, retrying what is safe to retry.

    Retried (with :class:`RetryPolicy` backoff): 429 (honouring ``Retry-After``),
    5xx and 529, and connection errors before the first byte of the body.
    Cancellation propagates at once; the response is closed on every way out.

    Raises:
        ProviderError: the mapped failure, after the retries ran out.
    """
    policy = retry or RetryPolicy()
    secrets = _secrets_of(headers)
    attempt = 0
    while True:
        try:
            body = await _open(client, url, payload, headers, provider, secrets)
            break
        except ProviderError as error:
            if not error.retryable or attempt >= policy.max_retries:
                raise
            delay = policy.delay(attempt, error)
            logger.warning(
                "%s: %s; retry %d of %d in %.2f s",
                provider,
                _reason(error),
                attempt + 1,
                policy.max_retries,
                delay,
            )
            await policy.sleep(delay)
            attempt += 1
    try:
        yield body
    finally:
        await body.aclose()


def _reason(error: ProviderError) -> str:
    if isinstance(error, ProviderStatusError):
        return f"HTTP {error.status}"
    cause = error.__cause__
    return type(cause).__name__ if cause is not None else type(error).__name__


async def _open(
    client: httpx.AsyncClient,
    url: str,
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    provider: str,
    secrets: tuple[str, ...],
) -> StreamingBody:
    try:
        request = client.build_request("POST", url, json=payload, headers=dict(headers))
        response = await client.send(request, stream=True)
    except httpx.InvalidURL as exc:
        raise ProviderError(f"{provider}: invalid URL: {exc}") from exc
    except httpx.TransportError as exc:
        what = "connection failed"
        raise _transport_error(exc, provider=provider, what=what, secrets=secrets) from exc
    opened = False
    try:
        if response.status_code >= 400 or _is_json(response):
            raise await _error_for_response(response, provider, secrets)
        rest = _chunks(response, provider, secrets)
        first = await anext(rest, b"")
        opened = True
        return StreamingBody(response, first, rest, provider=provider, secrets=secrets)
    finally:
        if not opened:
            await response.aclose()


def _is_json(response: httpx.Response) -> bool:
    """A 2xx JSON answer to a streaming request: an error, or a proxy that ignored ``stream``."""
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("application/json")


async def _chunks(
    response: httpx.Response, provider: str, secrets: tuple[str, ...]
) -> AsyncGenerator[bytes, None]:
    try:
        async for chunk in response.aiter_bytes():
            yield chunk
    except httpx.TransportError as exc:
        what = "connection lost mid-stream"
        raise _transport_error(exc, provider=provider, what=what, secrets=secrets) from exc
    except httpx.DecodingError as exc:
        raise ProviderProtocolError(f"{provider}: undecodable body: {exc}") from exc


async def _error_for_response(
    response: httpx.Response, provider: str, secrets: tuple[str, ...]
) -> ProviderError:
    excerpt = await _read_excerpt(response, provider)
    status = response.status_code
    if status < 400:
        try:
            payload = json.loads(excerpt)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and "error" in payload:
            return error_from_payload(payload["error"], provider=provider, secrets=secrets)
        return ProviderProtocolError(f"{provider}: expected an event stream, got JSON")
    text = excerpt.decode("utf-8", errors="replace").strip()[:DETAIL_LIMIT]
    detail = _detail_from_body(excerpt) or text or response.reason_phrase
    retry_after = parse_retry_after(response.headers) if status == 429 else None
    return error_for_status(
        status, _redact(detail, secrets), provider=provider, retry_after=retry_after
    )


async def _read_excerpt(response: httpx.Response, provider: str) -> bytes:
    """Up to :data:`ERROR_BODY_LIMIT` bytes of the body; best effort, it only feeds a message."""
    data = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) >= ERROR_BODY_LIMIT:
                break
    except (httpx.TransportError, httpx.DecodingError) as exc:
        logger.debug("%s: error body unreadable: %s", provider, type(exc).__name__)
    return bytes(data[:ERROR_BODY_LIMIT])
