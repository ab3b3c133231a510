"""Bearer-token check of ``/api/v1``: the token holder is the operator.

The configured ``gateway.apiToken`` is compared in constant time
(``hmac.compare_digest`` on bytes, so a non-ASCII header cannot raise). An
empty configured token refuses everything: an API left without a token is
closed, not open (docs/design.md, deny by default). Neither token is ever logged.

A client address that presented a missing or wrong token ``SIGN_IN_LIMIT``
times within ``SIGN_IN_WINDOW`` seconds is answered 429 with ``Retry-After``
until its oldest failure ages out (:mod:`channels.api.ratelimit`). The
``public`` paths (the OpenAPI document) need no token.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from channels.api.ratelimit import FailureLimiter
from channels.boundary import json_error
from channels.context import context

__all__ = ["bearer_auth"]

_CHALLENGE = 'Bearer realm="facio"'


def _presented(request: web.Request) -> bytes | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip().encode("utf-8", "surrogateescape")


def _unauthorized(message: str) -> web.Response:
    response = json_error(401, message)
    response.headers["WWW-Authenticate"] = _CHALLENGE
    return response


def _too_many(retry_after: int) -> web.Response:
    response = json_error(429, "too many failed sign-in attempts", retry_after=retry_after)
    response.headers["Retry-After"] = str(retry_after)
    return response


def bearer_auth(limiter: FailureLimiter, public: Collection[str] = ()) -> Middleware:
    """The middleware: only ``Authorization: Bearer <gateway.apiToken>`` passes.

    ``public`` paths pass without a token on ``GET``/``HEAD``; failures are
    counted per client address by ``limiter``.
    """

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in public and request.method in ("GET", "HEAD"):
            return await handler(request)
        expected = context(request).config.gateway.api_token.get_secret_value().encode("utf-8")
        if not expected:
            return _unauthorized("the API is disabled: gateway.apiToken is empty")
        client = request.remote or "unknown"
        wait = limiter.retry_after(client)
        if wait is not None:
            return _too_many(wait)
        presented = _presented(request)
        if presented is None or not hmac.compare_digest(presented, expected):
            limiter.failed(client)
            return _unauthorized(
                "missing bearer token" if presented is None else "invalid bearer token"
            )
        return await handler(request)

    return check
