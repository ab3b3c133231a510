"""Errors of the model providers, mapped once from httpx and the HTTP status.

    ProviderError                      (core.errors.FacioError)
    ├── ProviderConnectionError        connect/read timeout, connection lost mid-stream
    ├── ProviderProtocolError          malformed JSON or SSE from the API
    └── ProviderStatusError            an HTTP error status (``status``, ``detail``)
        ├── AuthenticationError        401, 403
        ├── RateLimitError             429 (``retry_after`` seconds when the API said)
        ├── ServerError                5xx, 529
        └── BadRequestError            other 4xx

``retryable`` tells the retry loop what to try again: connection errors, 429
and 5xx, but only before any part of the answer was streamed.
"""

from __future__ import annotations

from core.errors import FacioError


class ProviderError(FacioError):
    retryable: bool = False


class ProviderConnectionError(ProviderError):
    retryable = True


class ProviderProtocolError(ProviderError):
    """The API answered something that is not its documented wire format."""


class ProviderStatusError(ProviderError):
    def __init__(self, status: int, detail: str, *, provider: str = "") -> None:
        self.status = status
        self.detail = detail
        self.provider = provider
        who = f"{provider}: " if provider else ""
        super().__init__(f"{who}HTTP {status}: {detail}")


class AuthenticationError(ProviderStatusError):
    pass


class RateLimitError(ProviderStatusError):
    retryable = True

    def __init__(
        self, status: int, detail: str, *, provider: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(status, detail, provider=provider)
        self.retry_after = retry_after


class ServerError(ProviderStatusError):
    retryable = True


class BadRequestError(ProviderStatusError):
    pass


def error_for_status(
    status: int, detail: str, *, provider: str = "", retry_after: float | None = None
) -> ProviderStatusError:
    """The one place an HTTP status becomes an error class."""
    if status in (401, 403):
        return AuthenticationError(status, detail, provider=provider)
    if status == 429:
        return RateLimitError(status, detail, provider=provider, retry_after=retry_after)
    if status >= 500:
        return ServerError(status, detail, provider=provider)
    return BadRequestError(status, detail, provider=provider)
